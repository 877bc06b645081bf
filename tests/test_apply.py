"""apply: every action on real files of a real scan removes exactly the redundant copies, keeps every group's
keeper in place, never acts on a file that changed since the scan, and undo restores the exact tree."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.resolution import fileops
from lookalike.stages.exact import hash_file

from .conftest import open_rgb, save
from .resolving import keeper_and_copy, member, report_of, run_lookalike, snapshot, stored, write

ODD_NAME = b"r\xe9sum\xe9 astronaut.jpg"  # Latin-1, not UTF-8


@pytest.fixture(scope="module")
def scanned_collection(tmp_path_factory, photos) -> tuple[Path, dict]:
    """Real photos with byte copies, edited copies and a name that is not UTF-8, and their scan report."""
    root = tmp_path_factory.mktemp("collection") / "photos"
    for name in ("coins", "rocket", "astronaut"):
        save(open_rgb(photos[name]), root / "originals" / f"{name}.jpg", quality=95)
    (root / "backup" / "2019").mkdir(parents=True)
    for name in ("coins", "rocket"):
        shutil.copyfile(root / "originals" / f"{name}.jpg", root / "backup" / "2019" / f"{name}.jpg")
    shutil.copyfile(root / "originals" / "astronaut.jpg", os.path.join(os.fsencode(root / "backup"), ODD_NAME))
    coins = open_rgb(photos["coins"])
    save(coins.resize((coins.width // 2, coins.height // 2)), root / "edited" / "coins-small.jpg", quality=85)
    save(open_rgb(photos["astronaut"]).transpose(Image.Transpose.ROTATE_90), root / "edited" / "astronaut-turned.jpg")
    report = lookalike.to_json(lookalike.scan([root], ScanOptions(cache=None, jobs=1)))
    assert len(report["groups"]) == 3
    return root, report


def copy_of(collection: tuple[Path, dict], target: Path) -> tuple[Path, dict]:
    """The collection copied to `target` (times kept), with its report pointing there."""
    root, report = collection
    shutil.copytree(root, target)
    text = json.dumps(report).replace(json.dumps(str(root))[1:-1], json.dumps(str(target))[1:-1])
    return target, json.loads(text)


def redundant(report: dict, same_bytes_only: bool = False) -> set[str]:
    return {m["path"] for g in report["groups"] for m in g["members"][1:]
            if not same_bytes_only or m["content_hash"] == g["members"][0]["content_hash"]}


def keepers_in_place(report: dict) -> bool:
    return all(hash_file(g["keep"]).hex() == g["members"][0]["content_hash"] for g in report["groups"])


@pytest.mark.parametrize("action", ["review-folders", "trash", "move", "hardlink", "symlink", "delete"])
def test_each_action_removes_exactly_the_redundant_copies_and_undo_restores_the_tree(action, scanned_collection,
                                                                                     tmp_path):
    root, report = copy_of(scanned_collection, tmp_path / "photos")
    before, contents_before = snapshot(root), stored(root)
    plan = lookalike.plan(report, action, to=tmp_path / "moved" if action == "move" else None)
    outcome = lookalike.apply(plan, tmp_path / "journal.jsonl")

    linking = action in ("hardlink", "symlink")
    acted = {step.file.path for step in outcome.done}
    assert acted == redundant(report, same_bytes_only=linking)
    assert {skip.path for skip in outcome.skipped} == redundant(report) - acted
    assert all("not identical" in skip.reason for skip in outcome.skipped)
    assert keepers_in_place(report)
    removed = _contents_of(report, acted)
    if action == "review-folders":
        assert stored(root) == contents_before
        assert stored(root / "exact duplicates", root / "maybe duplicates") == removed
    else:
        assert stored(root) == contents_before - removed
    if action == "trash":
        assert stored(tmp_path / "data" / "Trash" / "files") == removed
    if action == "move":
        assert stored(tmp_path / "moved") == removed
    for path in acted:
        keeper = next(g["keep"] for g in report["groups"] if path in {m["path"] for m in g["members"]})
        assert os.path.lexists(path) == linking
        if linking:
            assert os.path.samefile(path, keeper) and os.path.islink(path) == (action == "symlink")

    restored = lookalike.undo(outcome.journal)
    if action == "delete":
        assert len(restored.skipped) == len(acted) and all("for good" in s.reason for s in restored.skipped)
        return
    assert not restored.skipped
    assert snapshot(root) == before


def _contents_of(report: dict, paths: set[str]) -> Counter:
    return Counter(m["content_hash"] for g in report["groups"] for m in g["members"] if m["path"] in paths)


def test_review_folders_keep_relative_paths_by_kind(scanned_collection, tmp_path):
    root, report = copy_of(scanned_collection, tmp_path / "photos")
    outcome = lookalike.apply(lookalike.plan(report, "review-folders"))
    moved = {os.path.relpath(step.destination, root) for step in outcome.done}
    assert moved == {"exact duplicates/backup/2019/coins.jpg", "exact duplicates/backup/2019/rocket.jpg",
                     os.fsdecode(b"exact duplicates/backup/" + ODD_NAME), "maybe duplicates/edited/coins-small.jpg",
                     "maybe duplicates/edited/astronaut-turned.jpg"}
    assert os.path.exists(os.path.join(os.fsencode(root), b"exact duplicates/backup/" + ODD_NAME))


def test_a_file_changed_since_the_scan_is_skipped_with_the_reason(tmp_path):
    folder = tmp_path / "photos"
    keeper, copy, touched, rewritten = (write(folder / name, b"x" * 500) for name in "abcd")
    report = report_of([folder], [[member(keeper, "keeper"), member(copy, "bytes"), member(touched, "bytes"),
                                   member(rewritten, "bytes")]])
    os.utime(touched, ns=(0, 10**18))
    mtime = os.stat(rewritten).st_mtime_ns
    rewritten.write_bytes(b"y" * 500)  # same size, and the old time put back: only the bytes tell
    os.utime(rewritten, ns=(mtime, mtime))

    outcome = lookalike.apply(lookalike.plan(report, "trash"))
    assert [step.file.path for step in outcome.done] == [str(copy)]
    reasons = {skip.path: skip.reason for skip in outcome.skipped}
    assert reasons == {str(touched): "changed since the scan (modified time differs)",
                       str(rewritten): "changed since the scan (content differs)"}
    assert touched.exists() and rewritten.read_bytes() == b"y" * 500


def test_a_group_whose_keeper_changed_is_left_whole(tmp_path):
    keeper, copy, report = keeper_and_copy(tmp_path / "photos")
    plan = lookalike.plan(report, "delete")
    keeper.unlink()  # gone between plan and apply: its copy is now the last one
    outcome = lookalike.apply(plan)
    assert not outcome.done and "missing" in outcome.skipped[0].reason
    assert copy.read_bytes() == b"x" * 500


def test_a_finished_journal_applied_again_does_nothing_more(tmp_path):
    *_, report = keeper_and_copy(tmp_path / "photos")
    plan = lookalike.plan(report, "trash")
    first = lookalike.apply(plan, tmp_path / "j.jsonl")
    again = lookalike.apply(plan, tmp_path / "j.jsonl")
    assert len(first.done) == len(again.done) == 1
    lookalike.undo(tmp_path / "j.jsonl")
    with pytest.raises(ValueError, match="undone"):
        lookalike.apply(plan, tmp_path / "j.jsonl")


def test_a_move_across_file_systems_copies_verifies_then_deletes(tmp_path):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second file system (/dev/shm)")
    source = write(tmp_path / "a.jpg", b"photo bytes" * 100)
    os.utime(source, ns=(10**18, 10**18))
    digest = hash_file(str(source))
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        target = os.path.join(other, "a.jpg")
        fileops.move(str(source), target, digest)
        assert not source.exists() and hash_file(target) == digest and os.stat(target).st_mtime_ns == 10**18
        fileops.move(target, str(source), digest)
        assert source.read_bytes() == b"photo bytes" * 100 and not os.path.exists(target)


def test_cli_plan_prints_each_step_and_totals_and_delete_needs_yes(tmp_path):
    keeper, copy, report = keeper_and_copy(tmp_path / "photos")
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report))
    planned = run_lookalike("plan", str(report_file), "--action", "review-folders")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines() == [
        f"review-folders {copy} → {tmp_path / 'photos' / 'exact duplicates' / 'b.jpg'}",
        "1 files to move into review folders (500 B); 0 left alone"]
    refused = run_lookalike("apply", str(report_file), "--action", "delete")
    assert refused.returncode == 2 and "--yes" in refused.stderr and copy.exists()
    deleted = run_lookalike("apply", str(report_file), "--action", "delete", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert not copy.exists() and keeper.exists()
