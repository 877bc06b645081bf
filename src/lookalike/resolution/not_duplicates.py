""""Not duplicates": a person's word that files are different pictures, kept in the cache by content hash.

Guarantees: the decision is keyed by the files' contents, so it holds after renames and moves and for every
copy of those bytes; later scans never put any two of those contents in one group (the `verify` stage skips
the pair and `group` never joins them); forgetting it brings the pair back on the next scan.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from itertools import combinations
from typing import Any

from lookalike.cache import Cache, default_cache_path
from lookalike.stages.exact import hash_file

Pair = tuple[bytes, bytes]


def pairs_of_files(paths: Sequence[str | os.PathLike[str]]) -> list[Pair]:
    """Every pair among the contents of `paths` (read now)."""
    return _pairs([hash_file(os.fspath(path)) for path in paths])


def pairs_of_group(report: dict[str, Any], number: int) -> list[Pair]:
    """Every pair among the contents of group `number` (from 1, as in the CSV) of `report`."""
    groups = report["groups"]
    if not 1 <= number <= len(groups):
        raise ValueError(f"the report has groups 1 to {len(groups)}, not {number}")
    return _pairs([bytes.fromhex(member["content_hash"]) for member in groups[number - 1]["members"]])


def ignore(pairs: Sequence[Pair], cache: str | os.PathLike[str] | None = None, forget: bool = False) -> None:
    """Remember (or, with `forget`, no longer remember) that each pair's contents are not the same picture."""
    with Cache(cache or default_cache_path()) as database:
        if forget:
            database.forget_not_duplicates(pairs)
        else:
            database.mark_not_duplicates(pairs)


def ignored(cache: str | os.PathLike[str] | None = None) -> list[Pair]:
    """The pairs of contents remembered as not duplicates (`lookalike ignore --list`)."""
    with Cache(cache or default_cache_path()) as database:
        return sorted(database.not_duplicates())


def _pairs(contents: list[bytes]) -> list[Pair]:
    distinct = sorted(set(contents))
    if len(distinct) < 2:
        raise ValueError("these files have the same bytes: they are duplicates whatever anyone says")
    return list(combinations(distinct, 2))
