"""Paths as Windows has them, on `ntpath` semantics where the rule is pure logic: drive letters, UNC shares,
either slash, names that differ only in case, long paths; reports that carry them losslessly; and symbolic links
where Windows refuses them."""

from __future__ import annotations

import csv
import errno
import io
import ntpath
import os
import posixpath

import pytest

from lookalike.report import read_json, write_csv, write_json
from lookalike.resolution import fileops, resolve
from lookalike.resolution.planning import EXACT_FOLDER, MAYBE_FOLDER, Action, destination_of, is_within, plan
from lookalike.stages.exact import hash_file
from lookalike.stages.keep import Scanned

from .resolving import keeper_and_copy

LONG = "C:\\Photos\\" + "\\".join(["a folder name of some length"] * 12) + "\\IMG_0001.JPG"  # past MAX_PATH


def scanned(path: str, content_hash: str = "aa") -> Scanned:
    return Scanned(path, 1, 1, content_hash, 10, 10, "JPEG")


@pytest.mark.parametrize(("path", "folder", "inside"), [
    ("C:\\Photos\\Originals\\a.jpg", "C:\\Photos\\Originals", True),
    ("C:\\Photos\\Originals\\a.jpg", "c:/photos/originals/", True),  # another case, forward slashes
    ("C:\\Photos\\Originals2\\a.jpg", "C:\\Photos\\Originals", False),  # a sibling that shares the prefix
    ("D:\\Photos\\Originals\\a.jpg", "C:\\Photos\\Originals", False),  # the same folder on another drive
    ("C:\\Photos\\a.jpg", "C:\\", True),
    ("\\\\server\\share\\Photos\\a.jpg", "\\\\SERVER\\Share\\photos", True),
    ("\\\\server\\share\\Photos\\a.jpg", "\\\\server\\other\\Photos", False),
    (LONG, "C:\\Photos", True),
])
def test_a_reference_folder_holds_its_files_whatever_the_case_and_slashes(path, folder, inside):
    assert is_within(path, folder, ntpath, case_blind=True) is inside


def test_case_counts_where_the_file_system_tells_names_apart():
    assert not is_within("/photos/Originals/a.jpg", "/photos/originals", posixpath, case_blind=False)
    assert is_within("/photos/Originals/a.jpg", "/photos/originals", posixpath, case_blind=True)  # APFS


@pytest.mark.parametrize(("path", "moved"), [
    ("C:\\Photos\\2019\\a.jpg", "E:\\Review\\C\\Photos\\2019\\a.jpg"),
    ("\\\\nas\\photos\\2019\\a.jpg", "E:\\Review\\nas\\photos\\2019\\a.jpg"),
    (LONG, "E:\\Review\\C" + LONG[2:]),
])
def test_a_move_to_another_drive_keeps_the_whole_path_with_the_drive_or_share_as_a_folder(path, moved):
    assert destination_of(Action.MOVE, scanned(path), scanned(path), [], "E:\\Review", ntpath) == moved


def test_review_folders_sit_in_the_files_own_root_found_whatever_the_case():
    roots = ["C:\\Photos", "C:\\Photos\\Phone"]
    file, keeper = scanned("C:\\PHOTOS\\Phone\\2019\\a.jpg"), scanned("C:\\Photos\\b.jpg")
    assert (destination_of(Action.REVIEW_FOLDERS, file, keeper, roots, None, ntpath)
            == f"C:\\Photos\\Phone\\{EXACT_FOLDER}\\2019\\a.jpg")
    edited = scanned("\\\\nas\\share\\x\\a.jpg", "bb")
    assert (destination_of(Action.REVIEW_FOLDERS, edited, keeper, ["\\\\nas\\share"], None, ntpath)
            == f"\\\\nas\\share\\{MAYBE_FOLDER}\\x\\a.jpg")


def test_windows_paths_go_through_the_json_and_csv_reports_byte_for_byte():
    paths = ["C:\\Photos\\été\\IMG_0001.JPG", "\\\\nas\\share\\Photos\\a \"quoted\", name.jpg", LONG,
             "D:\\odd\\\udcff.jpg"]  # an undecodable byte kept as a lone surrogate
    members = [{"path": path, "match": "keeper" if n == 0 else "bytes", "relation": "", "distance": 0, "size": 1,
                "width": 1, "height": 1, "format": "JPEG"} for n, path in enumerate(paths)]
    report = {"version": 1, "roots": ["C:\\Photos"], "groups": [{"kind": "exact", "members": members}]}
    text = io.StringIO()
    write_json(report, text)
    assert [m["path"] for m in read_json(io.StringIO(text.getvalue()))["groups"][0]["members"]] == paths
    table = io.StringIO(newline="")
    write_csv(report, table)
    assert [row[2] for row in csv.reader(io.StringIO(table.getvalue()))][1:] == paths


def test_a_symbolic_link_windows_refuses_the_unprivileged_leaves_the_copy_with_what_to_do(tmp_path, monkeypatch):
    def unprivileged(target, path):  # what os.symlink raises on Windows without Developer Mode or an administrator
        refused = OSError(errno.EPERM, "A required privilege is not held by the client", path)
        refused.winerror = fileops.ERROR_PRIVILEGE_NOT_HELD
        raise refused

    monkeypatch.setattr(os, "symlink", unprivileged)
    keeper, copy, report = keeper_and_copy(tmp_path / "photos")
    before = hash_file(str(copy))
    outcome = resolve.apply(plan(report, Action.SYMLINK), tmp_path / "journal.jsonl")
    assert outcome.done == [] and [skip.reason for skip in outcome.skipped] == [fileops.SYMLINK_PRIVILEGE]
    assert hash_file(str(copy)) == before and not copy.is_symlink() and keeper.exists()
    assert sorted(path.name for path in copy.parent.iterdir()) == ["a.jpg", "b.jpg"]  # no temporary left behind
