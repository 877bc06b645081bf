"""lookalike: find duplicate and near-duplicate images in large collections, explain every match,
resolve them safely.

    >>> import lookalike
    >>> result = lookalike.scan(["~/Pictures"])
    >>> report = lookalike.to_json(result)
    >>> plan = lookalike.plan(report, "trash", keep="most-pixels,oldest")
    >>> outcome = lookalike.apply(plan)      # journaled: lookalike.undo(outcome.journal) puts it all back

The names below are imported when first used, not with the package: a decoding worker imports only
`lookalike.stages.decode` and what it needs, not the whole library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

_HOME = {
    "ignore": "resolution.not_duplicates", "ignored": "resolution.not_duplicates",
    "pairs_of_files": "resolution.not_duplicates", "pairs_of_group": "resolution.not_duplicates",
    "ScanOptions": "pipeline", "ScanResult": "pipeline", "Stage": "pipeline", "scan": "pipeline",
    "Action": "resolution.planning", "Plan": "resolution.planning", "Scope": "resolution.planning",
    "Skip": "resolution.planning", "Step": "resolution.planning", "plan": "resolution.planning",
    "to_json": "report",
    "Outcome": "resolution.resolve", "apply": "resolution.resolve", "undo": "resolution.resolve",
}
__all__ = ["Action", "Outcome", "Plan", "ScanOptions", "ScanResult", "Scope", "Skip", "Stage", "Step", "apply",
           "ignore", "ignored", "pairs_of_files", "pairs_of_group", "plan", "scan", "to_json", "undo"]

if TYPE_CHECKING:
    from lookalike.pipeline import ScanOptions, ScanResult, Stage, scan
    from lookalike.report import to_json
    from lookalike.resolution.not_duplicates import ignore, ignored, pairs_of_files, pairs_of_group
    from lookalike.resolution.planning import Action, Plan, Scope, Skip, Step, plan
    from lookalike.resolution.resolve import Outcome, apply, undo


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
    return getattr(import_module(f"lookalike.{_HOME[name]}"), name)
