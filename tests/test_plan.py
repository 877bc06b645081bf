"""plan: keep rules that chain, reference folders, scope by folder; a plan touches nothing and says why it
leaves a file alone."""

from __future__ import annotations

import json
import os

import pytest

import lookalike
from lookalike.resolution.planning import describe

from .resolving import member, report_of, snapshot, write


def group_of(tmp_path, *specs):
    """One group of real files: (relative path, bytes, mtime in s, width, height, format) each, keeper first."""
    members = []
    for number, (name, data, mtime, width, height, image_format) in enumerate(specs):
        path = write(tmp_path / name, data)
        os.utime(path, (mtime, mtime))
        members.append(member(path, "keeper" if number == 0 else "near", width, height, image_format))
    return report_of([tmp_path], [members])


def kept(report, **options) -> str:
    """The path of the one file the plan keeps."""
    plan = lookalike.plan(report, "trash", **options)
    paths = {m["path"] for m in report["groups"][0]["members"]}
    left = paths - {step.file.path for step in plan.steps} - {skip.path for skip in plan.skips}
    assert len(left) == 1
    return os.path.basename(left.pop())


@pytest.fixture
def varied(tmp_path):
    return group_of(tmp_path,
                    ("report-keeper.jpg", b"k" * 300, 2000, 200, 200, "JPEG"),
                    ("big/file.png", b"b" * 900, 3000, 100, 100, "PNG"),
                    ("old.jpg", b"o" * 100, 1000, 50, 50, "JPEG"),
                    ("new.webp", b"n" * 200, 4000, 300, 300, "WEBP"))


@pytest.mark.parametrize(("rules", "keeper"), [
    ("", "report-keeper.jpg"),
    ("most-pixels", "new.webp"),
    ("largest-file", "file.png"),
    ("oldest", "old.jpg"),
    ("newest", "new.webp"),
    ("shortest-path", "old.jpg"),
    ("path:*/big/*", "file.png"),
    ("format:jpeg", "report-keeper.jpg"),
    ("format:JPEG,oldest", "old.jpg"),
    ("format:JPEG,largest-file", "report-keeper.jpg"),
    ("path:*.nothing,newest", "new.webp"),
])
def test_keep_rules_chain_and_the_report_keeper_breaks_ties(varied, rules, keeper):
    assert kept(varied, keep=rules) == keeper


def test_an_unknown_rule_is_named(varied):
    with pytest.raises(ValueError, match="unknown keep rule 'biggest'"):
        lookalike.plan(varied, "trash", keep="largest-file,biggest")


def test_reference_files_are_never_touched_and_win_as_keepers(tmp_path):
    report = group_of(tmp_path,
                      ("a.jpg", b"a" * 500, 1000, 400, 400, "JPEG"),
                      ("archive/b.jpg", b"b" * 100, 1000, 10, 10, "JPEG"),
                      ("archive/c.jpg", b"c" * 100, 1000, 20, 20, "JPEG"))
    plan = lookalike.plan(report, "trash", keep="most-pixels", reference=[tmp_path / "archive"])
    assert [os.path.basename(step.file.path) for step in plan.steps] == ["a.jpg"]
    assert {step.keeper.path for step in plan.steps} == {str(tmp_path / "archive" / "c.jpg")}
    assert [(os.path.basename(skip.path), skip.reason) for skip in plan.skips] == [("b.jpg", "in a reference folder")]


def test_scope_within_and_across_folders(tmp_path):
    report = group_of(tmp_path,
                      ("one/a.jpg", b"a" * 500, 1000, 100, 100, "JPEG"),
                      ("one/b.jpg", b"b" * 500, 1000, 100, 100, "JPEG"),
                      ("two/c.jpg", b"c" * 500, 1000, 100, 100, "JPEG"),
                      ("two/d.jpg", b"d" * 500, 1000, 100, 100, "JPEG"),
                      ("three/e.jpg", b"e" * 500, 1000, 100, 100, "JPEG"))

    def acted(scope):
        plan = lookalike.plan(report, "trash", scope=scope)
        return sorted(os.path.relpath(step.file.path, tmp_path) for step in plan.steps)

    assert acted(None) == ["one/b.jpg", "three/e.jpg", "two/c.jpg", "two/d.jpg"]
    assert acted("within-folders") == ["one/b.jpg", "two/d.jpg"]
    assert acted("across-folders") == ["three/e.jpg", "two/c.jpg", "two/d.jpg"]


def test_a_plan_touches_nothing_and_says_why_it_leaves_files_alone(tmp_path):
    folder = tmp_path / "photos"
    keeper, copy, edited, later = (write(folder / name, data) for name, data in
                                   (("a.jpg", b"x" * 50), ("b.jpg", b"x" * 50), ("c.jpg", b"y" * 40),
                                    ("d.jpg", b"x" * 50)))
    report = report_of([folder], [[member(keeper, "keeper"), member(copy, "bytes"), member(edited, "near"),
                                   member(later, "bytes")]])
    later.write_bytes(b"grown since the scan")
    before = snapshot(tmp_path)
    plan = lookalike.plan(report, "hardlink")
    assert snapshot(tmp_path) == before
    assert [step.file.path for step in plan.steps] == [str(copy)]
    assert {os.path.basename(skip.path): skip.reason for skip in plan.skips} == {
        "c.jpg": "not identical to its keeper: a link would lose its own pixels or metadata",
        "d.jpg": "changed since the scan (size differs)"}
    assert describe(plan) == "1 files to replace by hard links (50 B); 2 left alone"


def test_a_report_that_lists_a_file_twice_or_lacks_fields_is_refused(tmp_path):
    path = write(tmp_path / "a.jpg", b"x")
    twice = report_of([tmp_path], [[member(path, "keeper"), member(path, "bytes")]])
    with pytest.raises(ValueError, match="listed twice"):
        lookalike.plan(twice, "trash")
    broken = json.loads(json.dumps(twice))
    del broken["groups"][0]["members"][1]["content_hash"]
    with pytest.raises(ValueError, match="not a lookalike report"):
        lookalike.plan(broken, "trash")
    with pytest.raises(ValueError, match="--to"):
        lookalike.plan(report_of([tmp_path], []), "move")
