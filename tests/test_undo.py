"""undo, and crashes: `lookalike apply` killed with SIGKILL at random points over a few hundred groups; after
each kill `undo` restores the exact tree (even when it is killed itself and run again) and a resumed `apply`
completes the plan. Nothing is lost or duplicated."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import lookalike
from lookalike.resolution.journal import journal_folder, last_journal
from lookalike.stages.exact import hash_file

from .resolving import keeper_and_copy, many_groups, run_lookalike, snapshot, stored

GROUPS = 200


def kill_midway(args: list[str], journal: Path, marker: bytes, count: int) -> None:
    """Run `lookalike ARGS` and SIGKILL it once `journal` (or the newest journal in that folder) holds `count`
    lines with `marker`."""
    process = subprocess.Popen([sys.executable, "-m", "lookalike", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        found = max(journal.glob("*.jsonl"), default=None) if journal.is_dir() else journal
        if found and found.exists() and found.read_bytes().count(marker) >= count:
            process.kill()
            break
        time.sleep(0.002)
    _, errors = process.communicate(timeout=120)
    assert process.returncode == -9, f"not killed midway: {process.returncode} {errors.decode()}"


def lines_with(journal: Path, marker: bytes) -> int:
    return journal.read_bytes().count(marker)


@pytest.mark.parametrize("action", ["trash", "review-folders", "hardlink", "symlink"])  # move is as review-folders
def test_killed_apply_is_undone_or_resumed_and_nothing_is_lost(action, tmp_path):
    chance = random.Random(action)
    root = tmp_path / "tree"
    report = many_groups(root, GROUPS, seed=len(action))
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report))
    original, contents = snapshot(root), stored(root)
    plan = lookalike.plan(report, action)
    places = [root, tmp_path / "data" / "Trash" / "files"]
    keepers = {g["keep"]: g["members"][0]["content_hash"] for g in report["groups"]}

    def nothing_lost() -> None:
        assert set(stored(*places, but_scratch=True)) == set(contents)
        assert all(hash_file(path).hex() == digest for path, digest in keepers.items())

    def midway(steps: int) -> int:
        """A kill point in the first half: a later one can land after the last step, on a fast machine."""
        return chance.randrange(1, max(2, steps // 2 + 1))

    def apply_killed(journal: Path) -> None:
        """Apply, killed midway; to the default journal folder when `journal` is a folder."""
        where = [] if journal.is_dir() else ["--journal", str(journal)]
        kill_midway(["apply", str(report_file), "--action", action, *where, "-q"], journal, b'"begin"',
                    midway(len(plan.steps)))
        nothing_lost()

    def restored() -> bool:
        trash = tmp_path / "data" / "Trash"
        return snapshot(root) == original and all(not any(os.scandir(trash / part))
                                                  for part in ("files", "info") if (trash / part).exists())

    undone_first = tmp_path / "undone-first.jsonl"
    apply_killed(undone_first)
    kill_midway(["undo", str(undone_first), "-q"], undone_first, b'"undone"',
                midway(lines_with(undone_first, b'"begin"')))
    nothing_lost()
    assert not lookalike.undo(undone_first).skipped
    assert restored()

    journals = journal_folder()
    journals.mkdir(parents=True, exist_ok=True)
    apply_killed(journals)
    outcome = lookalike.apply(lookalike.plan(report_file, action))  # the same apply again: it resumes
    assert len(outcome.done) == len(plan.steps) and outcome.skipped == plan.skips
    assert outcome.journal == last_journal() and len(list(journals.iterdir())) == 1
    nothing_lost()
    removed = Counter(step.file.content_hash for step in plan.steps)
    assert stored(root) == (contents if action == "review-folders" else contents - removed)
    assert not lookalike.undo().skipped
    assert restored()


def test_undo_without_a_journal_undoes_the_last_apply(tmp_path):
    _, copy, report = keeper_and_copy(tmp_path / "photos")
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report))
    for args in (["apply", str(report_file), "--action", "trash", "-q"], ["undo"]):
        done = run_lookalike(*args)
        assert done.returncode == 0, done.stderr
        assert copy.exists() == (args == ["undo"])
    assert "1 files put back" in done.stdout


def test_undo_leaves_a_file_that_took_the_place_of_one_it_moved(tmp_path):
    _, copy, report = keeper_and_copy(tmp_path / "photos")
    outcome = lookalike.apply(lookalike.plan(report, "trash"))
    copy.write_bytes(b"a new picture")
    restored = lookalike.undo(outcome.journal)
    assert copy.read_bytes() == b"a new picture"
    assert "took its place" in restored.skipped[0].reason
    assert list((tmp_path / "data" / "Trash" / "files").iterdir()) == [tmp_path / "data" / "Trash" / "files" / "b.jpg"]
