"""lookalike: find duplicate and near-duplicate images in large collections, explain every match,
resolve them safely.

    >>> import lookalike
    >>> result = lookalike.scan(["~/Pictures"])
    >>> report = lookalike.to_json(result)
"""

from lookalike.pipeline import ScanOptions, ScanResult, Stage, scan
from lookalike.report import to_json

__all__ = ["ScanOptions", "ScanResult", "Stage", "scan", "to_json"]
