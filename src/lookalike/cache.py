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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

from lookalike.decode import THUMB, Decoded
from lookalike.walk import FileRecord

SIGNATURE_VERSION = "2"
LOOKUP_CHUNK = 500  # keys per SELECT ... IN (...), below the 999 variables old SQLite builds allow

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER,
    content_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    content_hash BLOB PRIMARY KEY, pixel_hash BLOB, width INTEGER, height INTEGER, format TEXT,
    thumb BLOB, taken TEXT, camera TEXT, signature BLOB);
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
                self.db.execute("DROP TABLE images")  # its columns may have changed with the version
                self.db.executescript(SCHEMA)
                self.db.execute("DELETE FROM failures")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('signature_version', ?)", (SIGNATURE_VERSION,))

    # files: path → content hash

    def known_contents(self, records: Sequence[FileRecord]) -> dict[int, bytes]:
        """Content hashes of the records that are unchanged since they were cached, by record index."""
        return self._unchanged("files", "content_hash", records)

    def _unchanged(self, table: str, column: str, records: Sequence[FileRecord]) -> dict[int, object]:
        """`column` of `table` for each record whose path is there with the same device, inode, size and mtime."""
        paths = [os.fsencode(record.path) for record in records]
        rows = self._rows_by_key(f"SELECT path, device, inode, size, mtime_ns, {column} FROM {table} WHERE path", paths)
        found = {}
        for index, (record, path) in enumerate(zip(records, paths, strict=True)):
            row = rows.get(path)
            if row is not None and row[:4] == (record.device, record.inode, record.size, record.mtime_ns):
                found[index] = row[4]
        return found

    def _rows_by_key(self, select: str, keys: Sequence[object]) -> dict[object, tuple]:
        """Rows of `select ... WHERE key` IN each chunk of `keys`, by key (the first column): one query per
        LOOKUP_CHUNK keys instead of one per key, which made a re-scan of 100 k files spend seconds here."""
        rows = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start:start + LOOKUP_CHUNK]
            for row in self.db.execute(f"{select} IN ({', '.join('?' * len(chunk))})", chunk):
                rows[row[0]] = row[1:]
        return rows

    def file_rows(self) -> Iterator[tuple[bytes, int, int, int, int, bytes]]:
        """Every cached file: (path as bytes, device, inode, size, mtime_ns, content hash), by path."""
        yield from self.db.execute("SELECT path, device, inode, size, mtime_ns, content_hash FROM files ORDER BY path")

    def remember_contents(self, records: Iterable[tuple[FileRecord, bytes]]) -> None:
        self.remember_file_rows((os.fsencode(r.path), r.device, r.inode, r.size, r.mtime_ns, digest)
                                for r, digest in records)

    def remember_file_rows(self, rows: Iterable[tuple[bytes, int, int, int, int, bytes]]) -> None:
        """Rows as `file_rows` gives them."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)

    # images: content hash → decoded image

    def images(self, content_hashes: Iterable[bytes]) -> dict[bytes, Decoded]:
        rows = self._rows_by_key("SELECT content_hash, pixel_hash, width, height, format, thumb, taken, camera "
                                 "FROM images WHERE content_hash", list(content_hashes))
        found = {}
        for digest, (pixel_hash, width, height, image_format, thumb, taken, camera) in rows.items():
            found[digest] = Decoded(digest, pixel_hash, width, height, image_format,
                                    np.frombuffer(thumb, np.uint8).reshape(THUMB, THUMB, 3), taken, camera)
        return found

    def image_hashes(self) -> list[bytes]:
        """The content hash of every cached image, sorted."""
        return [row[0] for row in self.db.execute("SELECT content_hash FROM images ORDER BY content_hash")]

    def remember_images(self, decoded: Iterable[Decoded]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO images (content_hash, pixel_hash, width, height, format, thumb, taken, camera) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((d.content_hash, d.pixel_hash, d.width, d.height, d.format, d.thumb.tobytes(), d.taken,
                  d.camera) for d in decoded),
            )

    def signatures(self, content_hashes: Iterable[bytes]) -> dict[bytes, bytes]:
        """The signatures (`images.signature_of`) stored for these contents, where there are any."""
        rows = self._rows_by_key("SELECT content_hash, signature FROM images WHERE content_hash",
                                 list(content_hashes))
        return {digest: signature for digest, (signature,) in rows.items() if signature is not None}

    def remember_signatures(self, signatures: Iterable[tuple[bytes, bytes]]) -> None:
        with self.db:
            self.db.executemany("UPDATE images SET signature = ? WHERE content_hash = ?",
                                ((signature, digest) for digest, signature in signatures))

    # failures: files that could not be decoded, until they change

    def known_failures(self, records: Sequence[FileRecord]) -> dict[int, str]:
        return self._unchanged("failures", "reason", records)

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
