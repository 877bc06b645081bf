"""The walk stage finds image files by content, once per file, and reports what it cannot use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lookalike.stages.walk import FileRecord, FileRecords, Problem, WalkOptions, walk


def found(root: Path, **options) -> tuple[list[str], dict[str, str]]:
    records, problems = [], {}
    for item in walk([str(root)], WalkOptions(**options)):
        if isinstance(item, FileRecord):
            records.append(os.path.relpath(item.path, root))
        else:
            assert isinstance(item, Problem)
            problems[os.path.relpath(item.path, root)] = item.reason
    return records, problems


def test_images_are_recognised_by_content_not_name(tmp_path, photos):
    shutil.copy(photos["chelsea"], tmp_path / "cat.jpg")
    shutil.copy(photos["chelsea"], tmp_path / "cat.data")  # an image with an unexpected name
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "fake.jpg").write_text("hello, I am text")
    records, problems = found(tmp_path)
    assert records == ["cat.data", "cat.jpg"]
    assert problems == {"fake.jpg": "not an image: text"}


def test_hidden_files_are_included_unless_excluded(tmp_path, photos):
    (tmp_path / ".hidden").mkdir()
    shutil.copy(photos["coins"], tmp_path / ".hidden" / "coins.jpg")
    shutil.copy(photos["coins"], tmp_path / ".dot.jpg")
    assert found(tmp_path)[0] == [".dot.jpg", ".hidden/coins.jpg"]
    assert found(tmp_path, exclude=[".*"])[0] == []


def test_include_and_exclude_globs(tmp_path, photos):
    for folder in ("keep", "skip"):
        (tmp_path / folder).mkdir()
        shutil.copy(photos["coins"], tmp_path / folder / "coins.jpg")
        shutil.copy(photos["coins"], tmp_path / folder / "coins.jpeg")
    assert found(tmp_path, exclude=["skip"])[0] == ["keep/coins.jpeg", "keep/coins.jpg"]
    assert found(tmp_path, include=["*.jpg"])[0] == ["keep/coins.jpg", "skip/coins.jpg"]


def test_hard_links_are_one_file(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    os.link(tmp_path / "a.jpg", tmp_path / "b.jpg")
    assert found(tmp_path)[0] == ["a.jpg"]


def test_a_file_reached_by_a_followed_link_or_by_two_roots_is_one_file(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")  # met first, through the link
    assert found(tmp_path, follow_symlinks=True)[0] == ["a.jpg"]
    twice = [item.path for item in walk([str(tmp_path), str(tmp_path / "b.jpg")])]
    assert twice == [str(tmp_path / "b.jpg")]


def test_symlinks_are_not_followed_unless_asked_and_loops_end(tmp_path, photos):
    (tmp_path / "real").mkdir()
    shutil.copy(photos["coins"], tmp_path / "real" / "coins.jpg")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "loop").symlink_to(tmp_path)
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    records, problems = found(tmp_path)
    assert records == ["real/coins.jpg"]
    assert problems == {"dangling.jpg": "dangling symbolic link"}
    records, problems = found(tmp_path, follow_symlinks=True)
    assert records == ["link/coins.jpg"]  # the same file through the link, reported once


def test_special_files_are_reported_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")  # opening a FIFO for reading would block forever
    records, problems = found(tmp_path)
    assert records == []
    assert problems == {"pipe.jpg": "not a regular file: a FIFO (named pipe)"}


def test_empty_files_and_unreadable_folders_are_reported(tmp_path, photos):
    (tmp_path / "empty.png").touch()
    assert found(tmp_path)[1] == {"empty.png": "empty file (0 bytes)"}


def test_a_folder_named_like_an_image_is_walked(tmp_path, photos):
    (tmp_path / "album.jpg").mkdir()
    shutil.copy(photos["coins"], tmp_path / "album.jpg" / "coins.jpg")
    assert found(tmp_path)[0] == ["album.jpg/coins.jpg"]


def test_names_with_any_bytes_survive(tmp_path, photos):
    name = b"caf\xe9 \n photo.jpg"  # Latin-1, not UTF-8, with a newline
    shutil.copy(photos["coins"], os.path.join(os.fsencode(tmp_path), name))
    records = [item for item in walk([str(tmp_path)]) if isinstance(item, FileRecord)]
    assert [os.fsencode(os.path.basename(r.path)) for r in records] == [name]


def test_a_file_known_unchanged_is_not_opened_again_and_a_changed_one_is(tmp_path, photos):
    shutil.copy(photos["chelsea"], tmp_path / "cat.jpg")
    path = str(tmp_path / "cat.jpg")
    [sniffed] = walk([str(tmp_path)])
    assert sniffed.format == "JPEG"
    remembered = FileRecord(path, sniffed.device, sniffed.inode, sniffed.size, sniffed.mtime_ns, "remembered")
    known = {path: remembered}
    [record] = walk([str(tmp_path)], known=known.get)
    assert record == remembered  # trusted as it was ("remembered"): the walk did not read the file's first bytes
    os.utime(path, ns=(sniffed.mtime_ns, sniffed.mtime_ns + 1))
    [record] = walk([str(tmp_path)], known=known.get)
    assert record.format == "JPEG" and record.mtime_ns == sniffed.mtime_ns + 1


def test_the_walk_records_held_as_columns_are_the_records_walked(tmp_path, photos):
    (tmp_path / "a b").mkdir()
    shutil.copy(photos["coins"], tmp_path / "a b" / "coins.jpg")
    shutil.copy(photos["rocket"], os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9.png"))  # not UTF-8
    shutil.copy(photos["rocket"], tmp_path / "rocket.jpg")
    walked = [item for item in walk([str(tmp_path)]) if isinstance(item, FileRecord)]
    records = FileRecords(walked)
    assert list(records) == walked and len(records) == 3
    assert records[-1] == walked[-1] and records[1:] == walked[1:]
    assert list(records.paths([2, 0])) == [walked[2].path, walked[0].path]
    assert list(records.take([2, 0])) == [walked[2], walked[0]]
    assert records.identities().tolist() == [list(record.identity) for record in walked]
