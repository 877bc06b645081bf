"""The cache: what earlier scans learnt, in one SQLite file, so that a re-scan reads only what changed.

Two facts are kept apart:
- `files`: a path, as last seen (device, inode, size, mtime), had these bytes (their content hash);
- `images`: bytes with this content hash decode to this image (size, format, signatures; its thumbnail is in
  `thumbs`, apart, so that reading the images of a re-scan does not wade through thumbnails).
A file is trusted to be unchanged only when all four of device, inode, size and mtime (in nanoseconds) are as
recorded; anything else sends it back through walking, hashing and decoding. Images are keyed by content, so
a renamed or copied file is not decoded again. Work on images is kept by content too: `evidence`, what
verification found for a pair in one alignment (a re-scan verifies only pairs it has not seen), and
`searched` and `candidates`, the contents last searched together at each radius and every candidate found
between contents (a re-scan searches only what is new), with `search_runs` and `search_done`, how far a search
that has not finished got (the next goes on from there). So are "not duplicates" decisions, which survive
renames.

Guarantees: the schema carries a version; a cache written by another version has everything but the "not
duplicates" decisions emptied, never misread. Every write is in a transaction (`transaction`), which SQLite
commits atomically: a scan killed at any moment, even the machine losing power, leaves a cache the next scan
reads as it is, holding every transaction committed before (less, after a power loss, the last few). The scan
never waits on the disk to copy its writes into the database: SQLite's write-ahead log is checkpointed by a
thread of its own (`_Checkpoints`), beside the writing.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from platformdirs import user_cache_dir

from lookalike.stages.decoded import Decoded
from lookalike.stages.geometry import MOMENT_RULE, Fit, Moment
from lookalike.stages.images import DIGEST_BYTES, Digests, ImageRow, picture_from_bytes, thumb_from_bytes
from lookalike.stages.local_features import Features, search_words, unpack
from lookalike.stages.requantized import Conversion
from lookalike.stages.search import Candidates
from lookalike.stages.verify import Evidence
from lookalike.stages.walk import FileRecord, FileRecords, shared

SIGNATURE_VERSION = "21"
# Everything but the user's "not duplicates" decisions: emptied when the version changes.
VERSIONED_TABLES = ("files", "images", "thumbs", "features", "failures", "evidence", "searched", "candidates",
                    "search_runs", "search_done", "fits", "moments", "lattices", "conversions")
CANDIDATE_CHUNK = 65536
BOX = struct.Struct("4d")  # a `Box` as stored: four float64 in the machine's order
FIT = struct.Struct("6dqdq")  # a `Fit` as stored: matrix, inliers, angle, second motion (mirrored: in its key)
MOMENT = struct.Struct("6q")  # a `Moment` as stored: compared, changed, overlaid, aligned, moved, slid
FITS, MOMENTS = "fits", "moments"  # the local stage's tables: `geometry.fitted`, and the moment checks of fits
CONVERSIONS = "conversions"  # the resaves stage's: a JPEG's coefficients against another file's (`requantized`)
CONVERSION = struct.Struct("q3d")  # a `Conversion` as stored: compared, inside, spread, distance
LOOKUP_CHUNK = 500  # contents looked up at once by has_images and image_rows
THUMBS_HELD = 1024  # reads held at once by each `_HeldReads`: 12 MB of thumbnails, 48 MB of pictures
KEYS_PER_QUERY = 32766  # keys per SELECT ... IN (...) at most: the variables SQLite allows since 3.32 (999 before)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER,
    content_hash BLOB NOT NULL, format TEXT);
CREATE TABLE IF NOT EXISTS images (
    content_hash BLOB PRIMARY KEY, pixel_hash BLOB, width INTEGER, height INTEGER, format TEXT,
    taken TEXT, camera TEXT, signature BLOB, quality INTEGER, gps TEXT,
    detail REAL, grain REAL);
CREATE TABLE IF NOT EXISTS thumbs (content_hash BLOB PRIMARY KEY, thumb BLOB);
CREATE TABLE IF NOT EXISTS features (content_hash BLOB PRIMARY KEY, features BLOB, words BLOB, query_words BLOB,
                                     mirrored_words BLOB, picture BLOB);
CREATE TABLE IF NOT EXISTS failures (
    path BLOB PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER, reason TEXT);
CREATE TABLE IF NOT EXISTS evidence (
    pair BLOB PRIMARY KEY, tone REAL, detail REAL, box_b BLOB);
CREATE TABLE IF NOT EXISTS searched (radius INTEGER, content_hash BLOB, PRIMARY KEY (radius, content_hash));
CREATE TABLE IF NOT EXISTS candidates (
    radius INTEGER, a BLOB, b BLOB, orientation INTEGER, window_a INTEGER, window_b INTEGER, distance INTEGER);
CREATE TABLE IF NOT EXISTS fits (pair BLOB PRIMARY KEY, fit BLOB);
CREATE TABLE IF NOT EXISTS moments (pair BLOB PRIMARY KEY, moment BLOB);
CREATE TABLE IF NOT EXISTS lattices (content_hash BLOB PRIMARY KEY, lattice BLOB);
CREATE TABLE IF NOT EXISTS conversions (pair BLOB PRIMARY KEY, conversion BLOB);
CREATE TABLE IF NOT EXISTS search_runs (radius INTEGER PRIMARY KEY, contents BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS search_done (
    radius INTEGER, part INTEGER, content_hash BLOB, PRIMARY KEY (radius, part, content_hash));
CREATE TABLE IF NOT EXISTS not_duplicates (
    a BLOB NOT NULL, b BLOB NOT NULL, PRIMARY KEY (a, b), CHECK (a < b));
"""


def default_cache_path() -> Path:
    return Path(user_cache_dir("lookalike")) / "cache.sqlite"


class UnusableCache(Exception):
    """The cache file could not be opened as lookalike's database; the message says why and what to do."""


class Cache:
    """An open cache database. Use as a context manager, or call `close`. One that is `durable` survives a
    crash of the machine (less its last transactions); a scan's throwaway cache need not be, and is never
    flushed to the disk."""

    def __init__(self, path: str | os.PathLike[str], durable: bool = True) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.db = sqlite3.connect(path)
        self.keys_per_query = min(KEYS_PER_QUERY, self.db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        self._in_transaction = False
        self._checkpoints = _Checkpoints(self.path)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'NORMAL' if durable else 'OFF'}")
            self.db.execute("PRAGMA wal_autocheckpoint=0")  # `_Checkpoints` does them
            self.db.executescript(SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as error:  # not a database, a damaged one, or one another process locks
            self.close()
            raise UnusableCache(f"the cache {self.path} cannot be used ({error}); a damaged one can be moved "
                                "aside, and --no-cache or another --cache scans without it") from error

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._checkpoints.stop()
        self.db.close()  # the last connection: checkpoints what is left of the log, and removes it

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction for every write made inside, committed (or rolled back) on leaving: the next
        scan finds all of them or none, whenever this one is killed. Then the log is due a checkpoint."""
        if self._in_transaction:  # the writes join the transaction under way
            yield
            return
        self._in_transaction = True
        try:
            with self.db:
                yield
        finally:
            self._in_transaction = False
        self._checkpoints.due()

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'signature_version'").fetchone()
        if row is None or row[0] != SIGNATURE_VERSION:
            with self.transaction():
                for table in VERSIONED_TABLES:  # their columns may have changed with the version
                    self.db.execute(f"DROP TABLE {table}")
                self.db.executescript(SCHEMA)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('signature_version', ?)", (SIGNATURE_VERSION,))
        rule = self.db.execute("SELECT value FROM meta WHERE key = 'moment_rule'").fetchone()
        if rule is None or rule[0] != MOMENT_RULE:  # the moment checks alone changed: their verdicts are stale
            with self.transaction():
                self.db.execute(f"DELETE FROM {MOMENTS}")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('moment_rule', ?)", (MOMENT_RULE,))

    # files: path → content hash

    def files_under(self, roots: Sequence[str]) -> CachedFiles:
        """Every file cached at or under the roots (absolute paths), as last scanned, with its content hash.

        One range of the index per root: for a re-scan, far cheaper than looking the paths up one by one.
        """
        chunks = []
        for root in roots:
            rows = self._under(root, "SELECT path, device, inode, size, mtime_ns, format, content_hash FROM files")
            while chunk := rows.fetchmany(CANDIDATE_CHUNK):
                chunks.append(CachedFiles.of_rows(chunk))
        return CachedFiles.concatenate(chunks)

    def _under(self, root: str, select: str) -> sqlite3.Cursor:
        """`select` (from a table keyed by path) of the rows at or under `root`: one range of the index."""
        top = os.fsencode(root)
        below = top.rstrip(b"/") + b"/"
        return self.db.execute(f"{select} WHERE path = ? OR (path >= ? AND path < ?)", (top, below, below[:-1] + b"0"))

    def _rows_by_key(self, select: str, keys: Sequence[object]) -> dict[object, tuple]:
        """Rows of `select ... WHERE key` IN each chunk of `keys`, by key (the first column): one query per
        `keys_per_query` keys instead of one per key, which made a re-scan of 100 k files spend seconds here."""
        rows = {}
        for start in range(0, len(keys), self.keys_per_query):
            chunk = keys[start:start + self.keys_per_query]
            for row in self.db.execute(f"{select} IN ({', '.join('?' * len(chunk))})", chunk):
                rows[row[0]] = row[1:]
        return rows

    def file_rows(self) -> Iterator[tuple[bytes, int, int, int, int, bytes]]:
        """Every cached file: (path as bytes, device, inode, size, mtime_ns, content hash), by path."""
        yield from self.db.execute("SELECT path, device, inode, size, mtime_ns, content_hash FROM files ORDER BY path")

    def remember_contents(self, records: Iterable[tuple[FileRecord, bytes]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                                ((os.fsencode(r.path), r.device, r.inode, r.size, r.mtime_ns, digest, r.format)
                                 for r, digest in records))

    def remember_file_rows(self, rows: Iterable[tuple[bytes, int, int, int, int, bytes]]) -> None:
        """Rows as `file_rows` gives them."""
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO files (path, device, inode, size, mtime_ns, content_hash) "
                                "VALUES (?, ?, ?, ?, ?, ?)", rows)

    # images: content hash → decoded image

    def has_images(self, content_hashes: np.ndarray) -> np.ndarray:
        """Whether the cache has an image for each content ("V16" content hashes)."""
        found = np.zeros(len(content_hashes), bool)
        for start in range(0, len(content_hashes), LOOKUP_CHUNK):
            chunk = content_hashes[start:start + LOOKUP_CHUNK].tolist()
            have = self._rows_by_key("SELECT content_hash FROM images WHERE content_hash", chunk)
            found[start:start + len(chunk)] = [digest in have for digest in chunk]
        return found

    def image_rows(self, content_hashes: Sequence[bytes]) -> Iterator[ImageRow]:
        """What the image table needs of each content, in the order given (all must be cached), a chunk at a
        time so that a million of them are never all Python objects at once; thumbnails stay on disk."""
        for start in range(0, len(content_hashes), LOOKUP_CHUNK):
            chunk = content_hashes[start:start + LOOKUP_CHUNK]
            rows = self._rows_by_key("SELECT content_hash, pixel_hash, width, height, format, taken, camera, "
                                     "signature, quality, gps, detail, grain FROM images WHERE content_hash", chunk)
            yield from (ImageRow(digest, *rows[digest]) for digest in chunk)

    def images(self, content_hashes: Iterable[bytes]) -> dict[bytes, Decoded]:
        """The cached contents as decoding gave them, thumbnails included, by content hash."""
        rows = self._rows_by_key("SELECT content_hash, pixel_hash, width, height, format, thumb, taken, camera, "
                                 "quality, gps, detail, grain FROM images JOIN thumbs USING (content_hash) "
                                 "WHERE content_hash",
                                 list(content_hashes))
        found = {}
        for digest, row in rows.items():
            found[digest] = Decoded(digest, *row)
        return found

    def thumbnail(self, content_hash: bytes) -> np.ndarray:
        (thumb,) = self.db.execute("SELECT thumb FROM thumbs WHERE content_hash = ?", (content_hash,)).fetchone()
        return thumb_from_bytes(thumb)

    def image_hashes(self) -> list[bytes]:
        """The content hash of every cached image, sorted."""
        return [row[0] for row in self.db.execute("SELECT content_hash FROM images ORDER BY content_hash")]

    def remember_images(self, decoded: Sequence[Decoded], signatures: Sequence[bytes]) -> None:
        """Decoded images with their signatures (`images.signatures_of`), in the same order."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((d.content_hash, d.pixel_hash, d.width, d.height, d.format, d.taken, d.camera, signature,
                  d.quality, d.gps, d.detail, d.grain)
                 for d, signature in zip(decoded, signatures, strict=True)),
            )
            self.db.executemany("INSERT OR REPLACE INTO thumbs VALUES (?, ?)",
                                ((d.content_hash, d.thumb) for d in decoded))
            self.db.executemany("INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?)",
                                ((d.content_hash, d.features, *search_words(d.features), d.picture)
                                 for d in decoded))

    def features(self, content_hash: bytes) -> bytes:
        """An image's packed local features (`local_features.extract`); empty when none were found."""
        row = self.db.execute("SELECT features FROM features WHERE content_hash = ?", (content_hash,)).fetchone()
        return row[0] if row is not None else b""

    def picture(self, content_hash: bytes) -> np.ndarray | None:
        """An image's picture for the moment check (`images.picture_from_bytes`); None when none is cached."""
        row = self.db.execute("SELECT picture FROM features WHERE content_hash = ?", (content_hash,)).fetchone()
        return picture_from_bytes(row[0]) if row is not None and row[0] else None

    def words(self, content_hashes: Sequence[bytes], queried: bool = False) -> Iterator[tuple[bytes, ...]]:
        """Each image's indexed words of `local_features.search_words` (uint32 bytes), as a 1-tuple, or when
        `queried` the two it queries with, in the order given."""
        columns = "query_words, mirrored_words" if queried else "words"
        for start in range(0, len(content_hashes), LOOKUP_CHUNK):
            chunk = content_hashes[start:start + LOOKUP_CHUNK]
            rows = self._rows_by_key(f"SELECT content_hash, {columns} FROM features WHERE content_hash", chunk)
            yield from (rows.get(digest, (b"",) * (1 + queried)) for digest in chunk)

    # searched, candidates: what searches at a radius found, so that the next one need search only what is new

    def search_state(self, radius: int, contents: Digests) -> SearchState:
        """How far searches at `radius` got for `contents`, those of one scan: see `SearchState`."""
        base = [row[0] for row in self.db.execute("SELECT content_hash FROM searched WHERE radius = ?", (radius,))]
        run = _run_key(contents)
        row = self.db.execute("SELECT contents FROM search_runs WHERE radius = ?", (radius,)).fetchone()
        done: dict[int, list[bytes]] = {}
        if row is not None and row[0] == run:
            for part, content in self.db.execute("SELECT part, content_hash FROM search_done WHERE radius = ?",
                                                 (radius,)):
                done.setdefault(part, []).append(content)
        return SearchState(base, done, run)

    def candidates(self, radius: int) -> Iterator[list[tuple[bytes, bytes, int, int, int, int]]]:
        """Every candidate searches at `radius` found, in chunks: (a, b, orientation, window_a, window_b,
        distance), a and b as content hashes; a pair may have several of one kind, found from either image."""
        rows = self.db.execute("SELECT a, b, orientation, window_a, window_b, distance FROM candidates "
                               "WHERE radius = ?", (radius,))
        while chunk := rows.fetchmany(CANDIDATE_CHUNK):
            yield chunk

    def remember_searched(self, radius: int, state: SearchState, contents: Digests, part: int, rows: np.ndarray,
                          found: Candidates) -> None:
        """A block of the search at `radius` of `contents` (one scan's, whose `state` this is): the contents at
        `rows` were searched as the search's part `part` (a code of the caller's) asks, and gave `found` (rows of
        `contents`)."""
        with self.transaction():
            self.db.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?)",
                                _candidate_rows(radius, contents, found))
            self.db.execute("DELETE FROM search_done WHERE radius = ? AND radius NOT IN "
                            "(SELECT radius FROM search_runs WHERE contents = ?)", (radius, state.run))
            self.db.execute("INSERT OR REPLACE INTO search_runs VALUES (?, ?)", (radius, state.run))
            self.db.executemany("INSERT OR IGNORE INTO search_done VALUES (?, ?, ?)",
                                zip(repeat(radius), repeat(part), contents.packed[rows].tolist()))

    def searched_together(self, radius: int, contents: Digests, prune: bool) -> None:
        """The search at `radius` of `contents` is finished: they replace the contents searched together. With
        `prune` (some of those before are not among them), the candidates of the others go."""
        with self.transaction():
            self.db.execute("DELETE FROM search_runs WHERE radius = ?", (radius,))
            self.db.execute("DELETE FROM search_done WHERE radius = ?", (radius,))
            self.db.execute("DELETE FROM searched WHERE radius = ?", (radius,))
            self.db.executemany("INSERT INTO searched VALUES (?, ?)", zip(repeat(radius), contents.tolist()))
            if prune:
                self.db.execute("DELETE FROM candidates WHERE radius = ?1 AND (a NOT IN (SELECT content_hash FROM "
                                "searched WHERE radius = ?1) OR b NOT IN (SELECT content_hash FROM searched "
                                "WHERE radius = ?1))", (radius,))

    # evidence: what verification found for a pair of contents, aligned one way

    def evidence(self, pairs: Sequence[bytes]) -> dict[bytes, Evidence]:
        """Cached evidence of each pair key (`verify.pair_keys`) that has some, by key; the others are left out."""
        rows = self._rows_by_key("SELECT pair, tone, detail, box_b FROM evidence WHERE pair", pairs)
        return {pair: Evidence(tone, detail, BOX.unpack(box_b)) for pair, (tone, detail, box_b) in rows.items()}

    def has_evidence(self) -> bool:
        """Whether any evidence is cached (none in a new cache)."""
        return self.db.execute("SELECT EXISTS (SELECT 1 FROM evidence)").fetchone()[0] == 1

    def remember_evidence(self, found: Iterable[tuple[bytes, Evidence]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO evidence VALUES (?, ?, ?, ?)",
                                ((pair, e.tone, e.detail, BOX.pack(*e.box_b))
                                 for pair, e in found))

    # fits, moments, conversions: what the local, resaves and group stages found for a pair of contents
    # (`local_keys`)

    def local(self, table: str, pairs: Sequence[bytes]) -> dict:
        """The cached values of each pair key of FITS (a `Fit`, or None: none fits), MOMENTS (a `Moment`) or
        CONVERSIONS (a `Conversion`, or None: not read) that has one, by key; the others are left out."""
        _, unpacked = _LOCAL_VALUES[table]
        rows = self._rows_by_key(f"SELECT pair, {table[:-1]} FROM {table} WHERE pair", pairs)
        return {pair: unpacked(pair, value) for pair, (value,) in rows.items()}

    def has_local(self, table: str) -> bool:
        """Whether FITS, MOMENTS or CONVERSIONS holds anything (none does in a new cache)."""
        return self.db.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0] == 1

    def remember_local(self, table: str, found: Iterable[tuple[bytes, object]]) -> None:
        packed, _ = _LOCAL_VALUES[table]
        with self.transaction():
            self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
                                ((pair, packed(value)) for pair, value in found))

    # lattices: JPEGs' coefficient counts (`requantized.Lattice`), b"" for a JPEG that has none

    def lattices(self, content_hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """The cached lattice of each content that has one, by content hash; the others are left out."""
        rows = self._rows_by_key("SELECT content_hash, lattice FROM lattices WHERE content_hash", content_hashes)
        return {content: blob for content, (blob,) in rows.items()}

    def remember_lattices(self, found: Iterable[tuple[bytes, bytes]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO lattices VALUES (?, ?)", found)

    def remember_measures(self, found: Iterable[tuple[bytes, float | None, float | None, bytes]]) -> None:
        """(content hash, detail, grain, pixel hash) of images measured at full size after the scan decoded them
        smaller."""
        with self.transaction():
            self.db.executemany("UPDATE images SET detail = ?, grain = ?, pixel_hash = ? WHERE content_hash = ?",
                                ((detail, grain, pixel_hash, content) for content, detail, grain, pixel_hash in found))

    # failures: files that could not be decoded, until they change

    def known_failures(self, roots: Sequence[str], records: FileRecords) -> dict[int, str]:
        """Why each record that failed before, unchanged since, cannot be read, by record index (the records
        are under `roots`)."""
        failed = {}
        for root in roots:
            for path, *identity, reason in self._under(root, "SELECT path, device, inode, size, mtime_ns, reason "
                                                             "FROM failures"):
                failed[os.fsdecode(path)] = (tuple(identity), reason)
        if not failed:  # nothing to look each record's path up in (a path costs 0.5 us)
            return {}
        return {index: row[1] for index in range(len(records))
                if (row := failed.get(records.path(index))) is not None and row[0] == records[index].identity}

    def remember_failures(self, failures: Iterable[tuple[FileRecord, str]]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?, ?, ?)",
                ((os.fsencode(r.path), r.device, r.inode, r.size, r.mtime_ns, reason) for r, reason in failures),
            )

    # not duplicates: pairs of contents a person said are different pictures

    def mark_not_duplicates(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO not_duplicates VALUES (?, ?)",
                                (tuple(sorted(pair)) for pair in pairs if pair[0] != pair[1]))

    def forget_not_duplicates(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        with self.transaction():
            self.db.executemany("DELETE FROM not_duplicates WHERE a = ? AND b = ?",
                                (tuple(sorted(pair)) for pair in pairs))

    def not_duplicates(self) -> set[tuple[bytes, bytes]]:
        return {(a, b) for a, b in self.db.execute("SELECT a, b FROM not_duplicates")}


def local_keys(contents: Digests, rows: np.ndarray) -> list[bytes]:
    """The cache's key of each (a, b, mirrored) of image rows `rows` ((k, 3)) whose contents are `contents`:
    a's content hash, b's, and a byte for mirrored. Made in NumPy, as `verify.pair_keys`."""
    digests = contents.packed.view(np.uint8).reshape(len(contents), DIGEST_BYTES)
    keys = np.concatenate([digests[rows[:, 0]], digests[rows[:, 1]], rows[:, 2:].astype(np.uint8)], axis=1)
    return keys.view(f"V{keys.shape[1]}").ravel().tolist()


def _packed_fit(found: Fit | None) -> bytes | None:
    return None if found is None else FIT.pack(*found.matrix.ravel().tolist(), found.inliers, found.angle,
                                               found.moved)


def _unpacked_fit(pair: bytes, value: bytes | None) -> Fit | None:
    """The fit stored for a pair key (`local_keys`), whose last byte says whether it is onto a's mirror image."""
    if value is None:
        return None
    *matrix, inliers, angle, moved = FIT.unpack(value)
    return Fit(np.array(matrix).reshape(2, 3), bool(pair[-1]), inliers, angle, moved)


def _packed_moment(moment: Moment) -> bytes:
    return MOMENT.pack(moment.compared, moment.changed, moment.overlaid, moment.aligned, moment.moved, moment.slid)


def _unpacked_moment(_: bytes, value: bytes) -> Moment:
    compared, changed, overlaid, aligned, moved, slid = MOMENT.unpack(value)
    return Moment(compared, changed, overlaid, bool(aligned), moved, slid)


def _packed_conversion(found: Conversion | None) -> bytes | None:
    return None if found is None else CONVERSION.pack(found.compared, found.inside, found.spread, found.distance)


def _unpacked_conversion(_: bytes, value: bytes | None) -> Conversion | None:
    return None if value is None else Conversion(*CONVERSION.unpack(value))


_LOCAL_VALUES: dict[str, tuple[Callable[[Any], bytes | None], Callable[[bytes, Any], Any]]] = {
    FITS: (_packed_fit, _unpacked_fit), MOMENTS: (_packed_moment, _unpacked_moment),
    CONVERSIONS: (_packed_conversion, _unpacked_conversion)}


@dataclass(frozen=True, slots=True)
class SearchState:
    """How far the searches at a radius got for one scan's contents: all pairs among `base` were searched; and of
    the search of exactly these contents (`run`, their key), the contents `done` in each of its parts (by the
    caller's code of the part)."""

    base: list[bytes]
    done: dict[int, list[bytes]]
    run: bytes


def _run_key(contents: Digests) -> bytes:
    """One key for a set of contents, whatever their order."""
    return hashlib.blake2b(np.sort(contents.packed).tobytes(), digest_size=16).digest()


class _Checkpoints:
    """Checkpoints of a database's write-ahead log, run by a thread of their own on a connection of their own.

    A checkpoint copies the log into the database and flushes it to the disk: 50 ms for the 6 MB a cold scan
    of 480 photos writes, here. Run by SQLite itself, one would stall a commit every 4 MB of log; run here, the
    writer goes on meanwhile (the flush releases the GIL). Passive: a checkpoint never waits for the writer or
    the readers, and one due while another runs is done after it, once.
    """

    def __init__(self, path: Path) -> None:
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, args=(path,), name="lookalike cache checkpoints",
                                        daemon=True)  # were the cache never closed, its log is still safe
        self._thread.start()

    def due(self) -> None:
        self._due.set()

    def stop(self) -> None:
        """Wait for the checkpoint under way, if any; then stop."""
        self._stopping = True
        self._due.set()
        self._thread.join()

    def _run(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            while self._due.wait() and not self._stopping:
                self._due.clear()
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            return  # the log then grows until the closing connection checkpoints it: nothing is lost
        finally:
            db.close()


def _candidate_rows(radius: int, contents: Digests, candidates: Candidates) -> Iterator[tuple]:
    """The rows of the candidates table, made a chunk of columns at a time: a Candidate object and two digest
    lookups a row took 0.72 s for the dev collection's 70,816 candidates, against 0.21 s in all now."""
    for start in range(0, len(candidates), CANDIDATE_CHUNK):
        chunk = candidates[start:start + CANDIDATE_CHUNK]
        yield from zip(repeat(radius), contents.packed[chunk.a].tolist(), contents.packed[chunk.b].tolist(),
                       chunk.orientation.tolist(), chunk.window_a.tolist(), chunk.window_b.tolist(),
                       chunk.distance.tolist())


class _HeldReads:
    """What `read` gives for each image row's content hash, read when asked for (only while the cache is open);
    the last THUMBS_HELD read are held."""

    def __init__(self, read: Callable[[bytes], Any], content_hashes: Sequence[bytes]) -> None:
        self.content_hashes = content_hashes
        self._read = lru_cache(maxsize=THUMBS_HELD)(read)

    def __getitem__(self, row: int) -> Any:
        return self._read(self.content_hashes[row])


class CachedThumbnails(_HeldReads):
    """`images.Thumbnails` read from a cache's thumbs table. Verification and grouping come back to the same
    images again and again (each read is a query, and a cold scan of 480 photos made 500 of them for 150 images)."""

    def __init__(self, cache: Cache, content_hashes: Sequence[bytes]) -> None:
        super().__init__(cache.thumbnail, content_hashes)


class CachedPictures(_HeldReads):
    """`images.Pictures`, the moment check's pictures (`Cache.picture`), read from a cache's features table."""

    def __init__(self, cache: Cache, content_hashes: Sequence[bytes]) -> None:
        super().__init__(cache.picture, content_hashes)


class CachedFeatures:
    """`geometry.FeaturesOf` read from a cache's features table when asked for; the last THUMBS_HELD are held."""

    def __init__(self, cache: Cache, content_hashes: Sequence[bytes]) -> None:
        self.content_hashes = content_hashes
        self._read = lru_cache(maxsize=THUMBS_HELD)(lambda row, mirrored: unpack(cache.features(
            self.content_hashes[row]), mirrored))

    def __call__(self, row: int, mirrored: bool) -> Features:
        return self._read(row, mirrored)


class CachedFiles:
    """The cache's records of the files under some roots, looked up by path. Held as columns keyed by the
    path's `hash`, not as records: a million paths and records would take half a gigabyte. Two paths with one
    hash are never confused: what a lookup finds is trusted only for a file whose device, inode, size and
    mtime are as recorded, which makes it the same file."""

    def __init__(self, keys: np.ndarray, identities: np.ndarray, formats: np.ndarray, digests: np.ndarray) -> None:
        self.keys = keys  # (N,) int64, sorted: the `hash` of each path
        self.identities = identities  # (N, 4) int64: device, inode, size and mtime (ns), as SQLite holds them
        self.formats = formats  # (N,) object: the sniffed format of each file, one object per format
        self.digests = digests  # (N,) "V16": content hashes

    @staticmethod
    def of_rows(rows: Sequence[tuple[bytes, int, int, int, int, str | None, bytes]]) -> CachedFiles:
        """From rows of the `files` table: path, device, inode, size, mtime_ns, format, content hash."""
        paths, devices, inodes, sizes, mtimes, formats, digests = zip(*rows, strict=True)
        return CachedFiles(np.array([hash(os.fsdecode(path)) for path in paths], np.int64),
                           np.array([devices, inodes, sizes, mtimes], np.int64).T.copy(),
                           np.array([shared(name) for name in formats], object), Digests.of(digests).packed)

    @staticmethod
    def concatenate(parts: Sequence[CachedFiles]) -> CachedFiles:
        if not parts:
            return CachedFiles(np.zeros(0, np.int64), np.zeros((0, 4), np.int64), np.zeros(0, object),
                               Digests.of([]).packed)
        keys = np.concatenate([part.keys for part in parts])
        order = np.argsort(keys, kind="stable")
        return CachedFiles(keys[order], *(np.concatenate([getattr(part, name) for part in parts])[order]
                                          for name in ("identities", "formats", "digests")))

    def _row(self, path: str) -> int | None:
        if not len(self.keys):  # a first scan's: asked for every file walked
            return None
        key = hash(path)
        at = int(np.searchsorted(self.keys, key))
        return at if at < len(self.keys) and self.keys[at] == key else None

    def record(self, path: str) -> FileRecord | None:
        """The file at `path` as last scanned (`walk.KnownFiles`), if the cache has it."""
        row = self._row(path)
        if row is None:
            return None
        device, inode, size, mtime_ns = self.identities[row].tolist()
        return FileRecord(path, device, inode, size, mtime_ns, self.formats[row])

    def contents_of(self, records: FileRecords) -> tuple[np.ndarray, np.ndarray]:
        """Each record's content hash ("V16"), and whether the cache knows it: whether the file is unchanged
        since it was cached. Looked up CANDIDATE_CHUNK records at a time, in NumPy."""
        digests, known = np.zeros(len(records), f"V{DIGEST_BYTES}"), np.zeros(len(records), bool)
        identities = records.identities()
        for start in range(0, len(records) if len(self.keys) else 0, CANDIDATE_CHUNK):
            chunk = range(start, min(start + CANDIDATE_CHUNK, len(records)))
            keys = np.array([hash(records.path(index)) for index in chunk], np.int64)
            rows = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
            same = (self.keys[rows] == keys) & (self.identities[rows] == identities[chunk.start:chunk.stop]).all(axis=1)
            digests[chunk.start:chunk.stop][same] = self.digests[rows[same]]
            known[chunk.start:chunk.stop] = same
        return digests, known
