"""Helpers for the tests of plan, apply, undo: hand-built reports over real files, and what a tree holds."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from lookalike.stages.exact import hash_file


def member(path: str | os.PathLike[str], match: str, width: int = 100, height: int = 100,
           image_format: str = "JPEG") -> dict:
    """A report member for a real file, with its real size, time and content hash, and no metadata; its pixels
    are told apart by its bytes (identical bytes, identical pixels)."""
    path = os.fspath(path)
    found = os.stat(path)
    digest = hash_file(path).hex()
    return {"path": path, "match": match, "relation": match, "distance": 0, "size": found.st_size,
            "width": width, "height": height, "format": image_format, "mtime_ns": found.st_mtime_ns,
            "content_hash": digest, "taken": None, "camera": None, "quality": None, "gps": None, "detail": None,
            "grain": None, "pixel_hash": digest, "pixels": width * height, "companions": [], "box": None,
            "matrix": None}


def report_of(roots: list[str | os.PathLike[str]], groups: list[list[dict]]) -> dict:
    """A version 1 report, as report.schema.json has it; each group's first member is its keeper."""
    return {"version": 1, "roots": [os.fspath(root) for root in roots], "files": sum(map(len, groups)),
            "groups": [{"kind": "exact" if all(m["match"] in ("keeper", "bytes") for m in group) else "near",
                        "keep": group[0]["path"], "reason": "the first path",
                        "reclaimable": sum(m["size"] for m in group[1:]), "members": group} for group in groups],
            "errors": [], "seconds": {}, "peak_mb": {}, "worker_memory_mb": None,
            "work": {"decoded": 0, "verified": 0, "fitted": 0}}


def keeper_and_copy(folder: Path) -> tuple[Path, Path, dict]:
    """Two files with the same bytes and their report: the smallest group there is."""
    keeper, copy = write(folder / "a.jpg", b"x" * 500), write(folder / "b.jpg", b"x" * 500)
    return keeper, copy, report_of([folder], [[member(keeper, "keeper"), member(copy, "bytes")]])


def run_lookalike(*args: str) -> subprocess.CompletedProcess:
    """The command line in a process of its own, with this process's environment."""
    return subprocess.run([sys.executable, "-m", "lookalike", *args], capture_output=True, text=True, timeout=120)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def many_groups(root: Path, count: int, seed: int = 0) -> dict:
    """`count` groups of real files: a keeper, an identical copy elsewhere, and every third a different copy."""
    chance = random.Random(seed)
    groups = []
    for number in range(count):
        data = chance.randbytes(chance.randrange(200, 3000))
        keeper = write(root / "photos" / f"{number // 50}" / f"img{number}.jpg", data)
        copy = write(root / "backup" / f"{number // 50}" / f"img{number}.jpg", data)
        group = [member(keeper, "keeper"), member(copy, "bytes")]
        if number % 3 == 0:
            group.append(member(write(root / "edited" / f"img{number}-small.jpg", data[: len(data) // 2]), "near"))
        groups.append(group)
    return report_of([root], groups)


def snapshot(root: str | os.PathLike[str]) -> dict[bytes, tuple]:
    """Every path under `root` (as bytes) → its kind and, for a file, its bytes' hash and modified time."""
    found: dict[bytes, tuple] = {}
    for folder, folders, files in os.walk(os.fsencode(root)):
        for name in folders:
            found[os.path.join(folder, name)] = ("folder",)
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                found[path] = ("link", os.readlink(path))
            else:
                found[path] = ("file", hash_file(os.fsdecode(path)), os.stat(path).st_mtime_ns)
    return found


def stored(*roots: str | os.PathLike[str], but_scratch: bool = False) -> Counter:
    """The contents held under `roots`: one count per distinct regular file (hard links count once).

    `but_scratch` leaves out lookalike's temporary files (`.lookalike-*.tmp`), such as a copy a kill cut short.
    """
    seen: set[tuple[int, int]] = set()
    contents: Counter = Counter()
    for root in roots:
        for folder, _, files in os.walk(os.fsencode(root)):
            for name in files:
                if but_scratch and name.startswith(b".lookalike-") and name.endswith(b".tmp"):
                    continue
                path = os.path.join(folder, name)
                found = os.lstat(path)
                if not os.path.islink(path) and (found.st_dev, found.st_ino) not in seen:
                    seen.add((found.st_dev, found.st_ino))
                    contents[hash_file(os.fsdecode(path)).hex()] += 1
    return contents
