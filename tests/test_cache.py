"""The cache file: SQLite's write-ahead log is copied into the database beside the writing, and nothing is lost."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from lookalike.cache import Cache

FILES = [(f"/photos/{number}.jpg".encode(), 1, number, 1000, 1, number.to_bytes(16, "big")) for number in range(20000)]


def files_in_the_database_file(path: Path) -> int:
    """Rows of `files` in the database file itself, read as though it had no log (SQLite's immutable mode)."""
    with closing(sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)) as db:
        try:
            return db.execute("SELECT count(*) FROM files").fetchone()[0]
        except sqlite3.DatabaseError:  # the table not there yet, or a page caught mid-copy
            return 0


def test_writes_reach_the_database_file_while_the_cache_is_open_without_the_writer_checkpointing(tmp_path):
    path = tmp_path / "cache.sqlite"
    with Cache(path) as cache:
        assert cache.db.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        cache.remember_file_rows(FILES)
        give_up = time.monotonic() + 60  # a liveness bound, not a speed: the copy takes milliseconds
        while files_in_the_database_file(path) < len(FILES) and time.monotonic() < give_up:
            time.sleep(0.01)
        assert files_in_the_database_file(path) == len(FILES)


def test_closing_leaves_every_write_in_the_database_file_and_no_log(tmp_path):
    path = tmp_path / "cache.sqlite"
    with Cache(path) as cache:
        for start in range(0, len(FILES), 1000):  # many transactions, each followed by a checkpoint
            cache.remember_file_rows(FILES[start:start + 1000])
    assert not path.with_name("cache.sqlite-wal").exists()
    assert files_in_the_database_file(path) == len(FILES)
    with Cache(path) as reopened:
        assert list(reopened.file_rows()) == sorted(FILES)


def test_a_cached_fit_comes_back_with_every_field(tmp_path):
    """A warm re-scan judges a pair by its cached fit: the second motion must survive the cache, or a burst
    frame fitted once would be grouped the next time."""
    import numpy as np

    from lookalike.cache import FITS
    from lookalike.stages.geometry import Fit

    found = Fit(np.array([[0.5, 0.0, 0.25], [0.0, 0.5, 0.125]]), True, 42, 3.5, moved=9)
    pair = b"\x01" * 16 + b"\x02" * 16 + b"\x01"  # two content hashes, then mirrored
    with Cache(tmp_path / "cache.sqlite") as cache:
        cache.remember_local(FITS, [(pair, found)])
    with Cache(tmp_path / "cache.sqlite") as cache:
        [(key, back)] = cache.local(FITS, [pair]).items()
    assert key == pair and back.two_moments
    assert (back.mirrored, back.inliers, back.angle, back.moved) == (True, 42, 3.5, 9)
    assert np.array_equal(back.matrix, found.matrix)


def test_moment_checks_cached_under_another_rule_are_dropped_and_nothing_else(tmp_path):
    """A new release that judges moments otherwise checks every pair again, but decodes nothing again."""
    from lookalike.cache import MOMENTS
    from lookalike.stages.geometry import Moment

    pair = b"\x01" * 16 + b"\x02" * 16 + b"\x00"
    path = tmp_path / "cache.sqlite"
    with Cache(path) as cache:
        cache.remember_file_rows(FILES[:10])
        cache.remember_local(MOMENTS, [(pair, Moment(200, 1, 0))])
    with Cache(path) as cache:
        assert cache.local(MOMENTS, [pair]) == {pair: Moment(200, 1, 0)}
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE meta SET value = 'an earlier rule' WHERE key = 'moment_rule'")
    with Cache(path) as cache:
        assert cache.local(MOMENTS, [pair]) == {}
        assert list(cache.file_rows()) == sorted(FILES[:10])
