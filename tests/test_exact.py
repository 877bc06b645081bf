"""The exact stage finds byte-identical files, reading in full only files that might have a twin."""

from __future__ import annotations

import shutil

import numpy as np

from lookalike.stages.exact import find_identical, hash_file
from lookalike.stages.walk import FileRecord, FileRecords, walk


def records_under(folder) -> FileRecords:
    return FileRecords(item for item in walk([str(folder)]) if isinstance(item, FileRecord))


def test_identical_bytes_get_the_same_content_hash(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    shutil.copy(photos["rocket"], tmp_path / "c.jpg")
    records = records_under(tmp_path)
    hashes, problems = find_identical(records, known=np.zeros(3, bool))
    assert problems == []
    assert hashes[0] == hashes[1] == hash_file(str(tmp_path / "a.jpg"))
    assert 2 not in hashes  # no other file of its size: never read in full


def test_same_size_and_same_ends_but_different_middle(tmp_path):
    head, tail = b"\xff\xd8\xff" + b"h" * 40_000, b"t" * 40_000
    (tmp_path / "a.jpg").write_bytes(head + b"A" * 1000 + tail)
    (tmp_path / "b.jpg").write_bytes(head + b"B" * 1000 + tail)
    hashes, _ = find_identical(records_under(tmp_path), known=np.zeros(2, bool))
    assert hashes[0] != hashes[1]


def test_a_known_file_is_not_read_again_and_its_new_twin_is_hashed_in_full(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    records = records_under(tmp_path)
    (tmp_path / "a.jpg").unlink()  # reading the known file now would report it
    hashes, problems = find_identical(records, known=np.array([True, False]))
    assert problems == [] and 0 not in hashes  # the cache holds its hash
    assert hashes[1] == hash_file(records[1].path)


def test_a_file_that_vanishes_is_reported(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    records = records_under(tmp_path)
    (tmp_path / "b.jpg").unlink()
    _, problems = find_identical(records, known=np.zeros(2, bool))
    assert [p.reason for p in problems] == ["cannot read: no such file or directory"]
