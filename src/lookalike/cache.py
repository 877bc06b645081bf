"""The cache: what earlier scans learnt, in one SQLite file, so that a re-scan reads only what changed.

Two facts are kept apart:
- `files`: a path, as last seen (device, inode, size, mtime), had these bytes (their content hash);
- `images`: bytes with this content hash decode to this image (size, format, thumbnail, hashes).
A file is trusted to be unchanged only when all four of device, inode, size and mtime (in nanoseconds) are
as recorded; anything else sends it back through hashing and decoding. Images are keyed by content, so a
renamed or copied file is not decoded again. "Not duplicates" decisions are kept by content too, so they
survive renames.

Guarantees: the schema carries a version; a cache written by another signature version is emptied, never
misread. Every write is in a transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

from lookalike.decode import THUMB, Decoded
from lookalike.walk import FileRecord

SIGNATURE_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER,
    content_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    content_hash BLOB PRIMARY KEY, pixel_hash BLOB, width INTEGER, height INTEGER, format TEXT,
    thumb BLOB, taken TEXT, camera TEXT);
CREATE TABLE IF NOT EXISTS failures (
    path BLOB PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS not_duplicates (
    a BLOB NOT NULL, b BLOB NOT NULL, PRIMARY KEY (a, b), CHECK (a < b));
"""


def default_cache_path() -> Path:
    return Path(user_cache_dir("lookalike")) / "cache.sqlite"


class Cache:
    """An open cache database. Use as a context manager, or call `close`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._check_version()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'signature_version'").fetchone()
        if row is None or row[0] != SIGNATURE_VERSION:
            with self.db:
                self.db.execute("DELETE FROM images")
                self.db.execute("DELETE FROM failures")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('signature_version', ?)", (SIGNATURE_VERSION,))

    # files: path → content hash

    def known_contents(self, records: Sequence[FileRecord]) -> dict[int, bytes]:
        """Content hashes of the records that are unchanged since they were cached, by record index."""
        known = {}
        for index, record in enumerate(records):
            row = self.db.execute(
                "SELECT content_hash FROM files WHERE path = ? AND device = ? AND inode = ? AND size = ? "
                "AND mtime_ns = ?",
                (os.fsencode(record.path), record.device, record.inode, record.size, record.mtime_ns),
            ).fetchone()
            if row is not None:
                known[index] = row[0]
        return known

    def remember_contents(self, records: Iterable[tuple[FileRecord, bytes]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                ((os.fsencode(r.path), r.device, r.inode, r.size, r.mtime_ns, digest) for r, digest in records),
            )

    # images: content hash → decoded image

    def images(self, content_hashes: Iterable[bytes]) -> dict[bytes, Decoded]:
        found = {}
        for digest in content_hashes:
            row = self.db.execute(
                "SELECT pixel_hash, width, height, format, thumb, taken, camera FROM images "
                "WHERE content_hash = ?", (digest,)
            ).fetchone()
            if row is not None:
                pixel_hash, width, height, image_format, thumb, taken, camera = row
                found[digest] = Decoded(digest, pixel_hash, width, height, image_format,
                                        np.frombuffer(thumb, np.uint8).reshape(THUMB, THUMB, 3), taken, camera)
        return found

    def remember_images(self, decoded: Iterable[Decoded]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((d.content_hash, d.pixel_hash, d.width, d.height, d.format, d.thumb.tobytes(), d.taken,
                  d.camera) for d in decoded),
            )

    # failures: files that could not be decoded, until they change

    def known_failures(self, records: Sequence[FileRecord]) -> dict[int, str]:
        failures = {}
        for index, record in enumerate(records):
            row = self.db.execute(
                "SELECT reason FROM failures WHERE path = ? AND device = ? AND inode = ? AND size = ? "
                "AND mtime_ns = ?",
                (os.fsencode(record.path), record.device, record.inode, record.size, record.mtime_ns),
            ).fetchone()
            if row is not None:
                failures[index] = row[0]
        return failures

    def remember_failures(self, failures: Iterable[tuple[FileRecord, str]]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                ((os.fsencode(r.path), r.device, r.inode, r.size, r.mtime_ns, reason) for r, reason in failures),
            )

    # not duplicates: pairs of contents a person said are different pictures

    def mark_not_duplicates(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO not_duplicates VALUES (?, ?)",
                                (tuple(sorted(pair)) for pair in pairs if pair[0] != pair[1]))

    def forget_not_duplicates(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM not_duplicates WHERE a = ? AND b = ?",
                                (tuple(sorted(pair)) for pair in pairs))

    def not_duplicates(self) -> set[tuple[bytes, bytes]]:
        return {(a, b) for a, b in self.db.execute("SELECT a, b FROM not_duplicates")}
