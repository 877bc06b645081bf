"""The system trash of macOS and Windows, on Linux: the Recycle Bin's folders and `$I` records written as Windows
writes them, the Finder's trash stood in for by the freedesktop trash that send2trash really moves files to;
apply journals where each file went and undo puts it back, or says how to by hand."""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import pytest

from lookalike import report
from lookalike.pipeline import ScanOptions, scan
from lookalike.resolution import resolve, trash
from lookalike.resolution.planning import plan
from lookalike.stages.exact import hash_file

from .library import build_library
from .resolving import keeper_and_copy, snapshot, write

SID = "S-1-5-21-3623811015-3361044348-30300820-1013"


def recycle(path: Path, recycle_bin: Path, version: int, name: str = "$RK2X8QL.jpg") -> tuple[Path, Path]:
    """Do what the Recycle Bin does to `path`: move it to `$R…` in the user's folder and record it in `$I…`."""
    folder = recycle_bin / SID
    folder.mkdir(parents=True, exist_ok=True)
    original = str(path)
    header = struct.pack("<qqq", version, path.stat().st_size, 133_000_000_000_000_000)
    if version == 1:
        record = header + original.encode("utf-16-le").ljust(520, b"\0")
    else:
        record = header + struct.pack("<i", len(original) + 1) + (original + "\0").encode("utf-16-le")
    info = write(folder / ("$I" + name[2:]), record)
    path.rename(folder / name)
    return folder / name, info


@pytest.mark.parametrize("version", [1, 2])
def test_undo_takes_a_file_back_from_the_recycle_bin_and_its_record_goes(tmp_path, monkeypatch, version):
    monkeypatch.setattr(trash, "SYSTEM", "win32")
    _, copy, _ = keeper_and_copy(tmp_path / "photos")
    digest = hash_file(str(copy))
    bin_folder = tmp_path / "$Recycle.Bin"
    write(bin_folder / SID / "$RAAAAAA.jpg", b"y" * 500)  # another file trashed from the same path, other bytes
    write(bin_folder / SID / "$IAAAAAA.jpg", (bin_folder / SID / "$RAAAAAA.jpg").read_bytes())  # not a record
    (bin_folder / "S-1-5-21-other").mkdir()
    trashed, info = recycle(copy, bin_folder, version)
    where = trash.find_in_recycle_bins(str(copy), digest, [str(bin_folder)])
    assert where == trash.Trashed(str(trashed), str(info))
    trash.take_back_from_system(str(copy), digest, where)
    assert hash_file(str(copy)) == digest and not trashed.exists() and not info.exists()
    trash.take_back_from_system(str(copy), digest, where)  # again (an undo cut off and run again): nothing to do


def test_a_network_share_is_never_sent_to_the_recycle_bin(monkeypatch):
    monkeypatch.setattr(trash, "SYSTEM", "win32")
    assert "delete it for good" in trash.refusal("\\\\nas\\photos\\a.jpg")
    assert trash.refusal("C:\\Photos\\a.jpg") is None


@pytest.fixture
def finder(tmp_path, monkeypatch) -> Path:
    """macOS's way with Linux's trash: send2trash moves files into `$XDG_DATA_HOME/Trash/files`, which is also
    what ~/.Trash (the Finder's trash) is here, and lookalike finds them there as it does in the Finder's."""
    monkeypatch.setattr(trash, "SYSTEM", "darwin")
    files = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    files.mkdir(parents=True)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".Trash").symlink_to(files)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return files


LINUX_TRASH = pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="Linux's trash stands in for the Finder's")


@LINUX_TRASH
def test_apply_trash_journals_where_the_system_trash_put_each_file_and_undo_puts_it_back(tmp_path, finder):
    keeper, copy, report = keeper_and_copy(tmp_path / "photos")
    write(finder / "b.jpg", b"an older b.jpg, trashed before")  # so the trash names ours "b 1.jpg"
    outcome = resolve.apply(plan(report, "trash"))
    assert [step.file.path for step in outcome.done] == [str(copy)] and not copy.exists()
    [done] = [json.loads(line) for line in outcome.journal.read_text().splitlines() if '"done"' in line]
    assert done["trashed"][0]["file"] == str(tmp_path / "home" / ".Trash" / "b 1.jpg")
    undone = resolve.undo(outcome.journal)
    assert [step.file.path for step in undone.done] == [str(copy)] and not undone.skipped
    assert copy.read_bytes() == keeper.read_bytes() and not (finder / "b 1.jpg").exists()
    assert (finder / "b.jpg").exists()  # the other file stays in the trash


@LINUX_TRASH
def test_undo_says_how_to_restore_by_hand_what_is_no_longer_in_the_trash(tmp_path, finder):
    _, copy, report = keeper_and_copy(tmp_path / "photos")
    outcome = resolve.apply(plan(report, "trash"))
    (finder / "b.jpg").unlink()  # the trash was emptied
    [skip] = resolve.undo(outcome.journal).skipped
    assert skip.path == str(copy)
    assert skip.reason == f"not found in the trash: {trash.BY_HAND['darwin']}"


@LINUX_TRASH
def test_companions_go_to_the_system_trash_with_their_image_and_come_back(tmp_path, finder, photos):
    root = tmp_path / "library"
    build_library(root, photos)
    before = snapshot(root)
    outcome = resolve.apply(plan(report.to_json(scan([root], ScanOptions(cache=None))), "trash"))
    carried = [json.loads(line) for line in outcome.journal.read_text().splitlines() if '"carried":[0' in line]
    assert carried and len(outcome.done) > len(carried)  # some images took companions along, some none
    assert all(where is not None for line in outcome.journal.read_text().splitlines() if '"done"' in line
               for where in json.loads(line)["trashed"])  # each found in the trash
    undone = resolve.undo(outcome.journal)
    assert not undone.skipped and snapshot(root) == before
