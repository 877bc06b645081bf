"""Keep rules: which member of a group stays where it is.

Rules chain: the first rule decides, the next one breaks its ties, and so on; files in a reference folder win
before any rule, and the order of the report (its keeper first) breaks the ties that remain, so with no rule
the report's keeper stays.

    most-pixels  largest-file  oldest  newest  shortest-path  path:GLOB  format:NAME
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scanned:
    """A file as the scan saw it: enough to recognise it later and to rank it."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str  # hex `exact.content_hash` of the bytes, as `lookalike.exact.hash_file`
    width: int
    height: int
    format: str


KeepRule = Callable[[Scanned], object]  # lower sorts first: the better keeper

NAMED_RULES: dict[str, KeepRule] = {
    "most-pixels": lambda file: -file.width * file.height,
    "largest-file": lambda file: -file.size,
    "oldest": lambda file: file.mtime_ns,
    "newest": lambda file: -file.mtime_ns,
    "shortest-path": lambda file: len(os.fsencode(file.path)),
}


def parse_rules(text: str) -> list[KeepRule]:
    """`most-pixels,path:*/originals/*` → rules; a ValueError names what is not a rule."""
    return [_rule(part.strip()) for part in text.split(",") if part.strip()]


def _rule(name: str) -> KeepRule:
    if name in NAMED_RULES:
        return NAMED_RULES[name]
    kind, _, value = name.partition(":")
    if kind == "path" and value:
        return lambda file: not fnmatch.fnmatchcase(file.path, value)
    if kind == "format" and value:
        return lambda file: file.format.lower() != value.lower()
    raise ValueError(f"unknown keep rule {name!r} (rules: {', '.join(NAMED_RULES)}, path:GLOB, format:NAME)")


def choose_keeper(files: Sequence[Scanned], rules: Sequence[KeepRule], is_reference: Callable[[str], bool]) -> int:
    """The index in `files` (in report order) of the file to keep."""
    return min(range(len(files)),
               key=lambda i: (not is_reference(files[i].path), *(rule(files[i]) for rule in rules), i))
