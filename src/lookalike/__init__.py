"""lookalike: find duplicate and near-duplicate images in large collections, explain every match,
resolve them safely.

    >>> import lookalike
    >>> result = lookalike.scan(["~/Pictures"])
    >>> report = lookalike.to_json(result)
    >>> plan = lookalike.plan(report, "trash", keep="most-pixels,oldest")
    >>> outcome = lookalike.apply(plan)      # journaled: lookalike.undo(outcome.journal) puts it all back
"""

from lookalike.not_duplicates import ignore, ignored, pairs_of_files, pairs_of_group
from lookalike.pipeline import ScanOptions, ScanResult, Stage, scan
from lookalike.planning import Action, Plan, Scope, Skip, Step, plan
from lookalike.report import to_json
from lookalike.resolve import Outcome, apply, undo

__all__ = ["Action", "Outcome", "Plan", "ScanOptions", "ScanResult", "Scope", "Skip", "Stage", "Step", "apply",
           "ignore", "ignored", "pairs_of_files", "pairs_of_group", "plan", "scan", "to_json", "undo"]
