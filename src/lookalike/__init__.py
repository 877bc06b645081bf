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
    "ignore": "not_duplicates", "ignored": "not_duplicates", "pairs_of_files": "not_duplicates",
    "pairs_of_group": "not_duplicates",
    "ScanOptions": "pipeline", "ScanResult": "pipeline", "Stage": "pipeline", "scan": "pipeline",
    "Action": "planning", "Plan": "planning", "Scope": "planning", "Skip": "planning", "Step": "planning",
    "plan": "planning",
    "to_json": "report",
    "Outcome": "resolve", "apply": "resolve", "undo": "resolve",
}
__all__ = ["Action", "Outcome", "Plan", "ScanOptions", "ScanResult", "Scope", "Skip", "Stage", "Step", "apply",
           "ignore", "ignored", "pairs_of_files", "pairs_of_group", "plan", "scan", "to_json", "undo"]

if TYPE_CHECKING:
    from lookalike.not_duplicates import ignore, ignored, pairs_of_files, pairs_of_group
    from lookalike.pipeline import ScanOptions, ScanResult, Stage, scan
    from lookalike.planning import Action, Plan, Scope, Skip, Step, plan
    from lookalike.report import to_json
    from lookalike.resolve import Outcome, apply, undo


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
    return getattr(import_module(f"lookalike.{_HOME[name]}"), name)
