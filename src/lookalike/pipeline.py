"""The scan pipeline: its stages, in the order data flows through them, and the function that runs them.

    walk → exact → decode → signatures → search → verify → local → measures → resaves → group  (then report)
    walk → exact → decode → signatures → histogram → compare → group    (--method histogram)
    walk → exact → decode → signatures → group                          (--method pixels)
    walk → exact → group                                                (--method bytes)

Each stage is a module of the same name. Data flows one way: file records from `walk` (held as columns, not as a
million objects), content hashes from `exact`, thumbnails from `decode`, an `ImageTable` of perceptual hashes from
`signatures`, candidate pairs from `search`, confirmed matches from `verify`; `local` finds and fits, by local
features, the pairs no hash can propose (crops, screenshots, straightened copies); `measures` and `resaves`
read again, in the workers, what the keep rule needs of matched copies; groups from `group`. The cache sits
beside the pipeline: it answers for files that did not change, so they skip `exact` and `decode`, and for pairs
already verified. Thumbnails stream from `decode` to `signatures` in chunks and on into the cache, which holds
them for the rest of the scan: memory holds signatures, not pixels. Each stage sends its finished work to the
cache as it goes, a chunk or KEEP_SECONDS at a time, each in a transaction of its own: a scan interrupted or
killed at any point loses only its last seconds of work, and the next one goes on from there (`ScanInterrupted`
says how far it got). The histogram method (the original script's
definition of equal, `histogram.py`) takes each content's histogram in `histogram` and compares all pairs in
`compare`; it ignores "not duplicates" decisions, as the original knows none. The pixels method groups images
whose decoded pixels are the same, and the bytes method, which decodes nothing, files whose bytes are: with
`all_files`, files of any kind.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lookalike.cache import (
    CONVERSIONS,
    FITS,
    KEYS_PER_QUERY,
    MOMENTS,
    Cache,
    CachedFeatures,
    CachedPictures,
    CachedThumbnails,
    SearchState,
    default_cache_path,
    local_keys,
)
from lookalike.engines.engine import Engine, LocalEngine
from lookalike.engines.pool import Workers, run_task
from lookalike.platform.platforms import peak_resident_mb
from lookalike.stages.companions import find as find_companions
from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT, Decoded, needs_install
from lookalike.stages.exact import find_identical
from lookalike.stages.feature_search import local_candidates
from lookalike.stages.geometry import LocalMatch, RunTasks, verify_local
from lookalike.stages.group import (
    Group,
    build_groups,
    identical_groups,
    keeper_among_identical,
    keeper_order,
    matched_rows,
    similar_groups,
)
from lookalike.stages.histogram import (
    DEFAULT_THRESHOLD,
    ClosePairs,
    Histogram,
    close_pairs,
    histogram_file,
    histogram_groups,
)
from lookalike.stages.images import Digests, FilesOfImages, ImageTable, RowIndex, table_from_rows, table_of_contents
from lookalike.stages.keep import Companion, Earlier, lossless, to_measure
from lookalike.stages.measures import measured_file
from lookalike.stages.requantized import (
    JPEGS_A_READ,
    LATTICE_BYTES,
    PATH_SEPARATOR,
    Conversion,
    Lattice,
    conversions_file,
    converted_pairs,
    jpeg_pairs,
    lattice_file,
    resaved,
)
from lookalike.stages.search import (
    Candidate,
    Candidates,
    SearchPart,
    closest_of_each_kind,
    frames_probe,
    searched_blocks,
)
from lookalike.stages.verify import (
    SIMILAR,
    STRICTNESS,
    Evidence,
    Linked,
    Match,
    Strictness,
    closest_pairs_first,
    linked_sets,
    pair_keys,
)
from lookalike.stages.walk import FileRecord, FileRecords, Problem, WalkOptions, check_unchanged, walk_into


class Stage(Enum):
    """The stages of a scan, in the order data flows through them; the report's "seconds" and "peak_mb" are by these."""

    WALK = "walk"
    EXACT = "exact"
    DECODE = "decode"
    SIGNATURES = "signatures"
    SEARCH = "search"
    VERIFY = "verify"
    LOCAL = "local"
    MEASURES = "measures"
    RESAVES = "resaves"
    HISTOGRAM = "histogram"
    COMPARE = "compare"
    GROUP = "group"


PHASH, HISTOGRAM, PIXELS, BYTES = "phash", "histogram", "pixels", "bytes"
SIGNATURE_CHUNK = 256  # decoded thumbnails sent on to signatures and the cache at once: few, so that this
# work goes on while the workers decode rather than after them
LAST_CHUNK = 32  # at most this many thumbnails wait for signatures once the last file is decoded: nothing
# overlaps that chunk (the 224 left of 480 photos took 50 ms after the last decode)
EVIDENCE_CHUNK = 2 * KEYS_PER_QUERY  # verified pairs held at once, on their way to or from the cache: two
# SELECTs' worth where SQLite allows KEYS_PER_QUERY variables (65,536 made a third SELECT of 4 keys)
SEARCH_BLOCK = 65536  # images searched at once at least, their candidates then sent to the cache (the search
# of 100,000 images took 6 s of CPU), ...
SEARCH_BLOCKS = 4  # ... and blocks of a part of the search at most: each block builds and sweeps the tables of the
# other side again, 6 to 10 % more CPU a block more (benchmarks/speed/bench_search_blocks.py), so a larger search
# interrupted loses up to a quarter of it
METHODS = (PHASH, HISTOGRAM, PIXELS, BYTES)
WALK_STEP = 256  # files walked between two moves of the walk's progress bar: a move costs more than a file
KEEP_SECONDS = 1.0  # at most this long between two writes of a stage's finished work to the cache, whatever its
# chunks: what a killed scan loses


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """How to scan: the options of `lookalike scan`, with its defaults (`cache`: the user's cache file; None: no
    cache). `method` is one of METHODS, `strictness` one of `verify.STRICTNESS`, `engine` from `engine_named`."""

    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    follow_symlinks: bool = False
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    cache: str | os.PathLike[str] | None = field(default_factory=default_cache_path)  # None: no cache
    max_pixels: int = DEFAULT_MAX_PIXELS
    timeout: float = DEFAULT_TIMEOUT  # seconds one file may take to decode before it is given up
    strictness: str = "normal"  # one of verify.STRICTNESS: how alike two images must be to be duplicates
    similar: bool = False  # also report pictures that are alike but not the same, apart from the duplicates
    method: str = PHASH  # one of METHODS
    threshold: float = DEFAULT_THRESHOLD  # RMS below which --method histogram calls two images duplicates
    engine: Engine = field(default_factory=LocalEngine)  # where decode, signatures, search and verify run
    all_files: bool = False  # --method bytes: files of any kind, not only images
    read_threads: int | None = None  # threads hashing files at once (`exact.find_identical`); None: by device


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan found: the files and images it read, the groups (keeper first), the files it could not use
    (`problems`), and each stage's time and memory. `report.to_json` turns it into the JSON report."""

    roots: list[str]
    files: FileRecords  # every readable image file (any file: BYTES with all_files), in walk order
    image_of_file: np.ndarray  # (len(files),) int: each file's row in `images`; BYTES: -1 for a file not read
    # (no other file has its size)
    images: ImageTable
    groups: list[Group]
    similar: list[Group] | None  # with ScanOptions.similar: alike but not the same picture; never to resolve
    problems: list[Problem]
    seconds: dict[Stage, float]
    peak_mb: dict[Stage, float]  # the process's peak resident memory by the end of each stage, where known
    decoded: int  # files decoded by this scan (not answered by the cache)
    verified: int  # pairs verified by this scan (not answered by the cache)
    fitted: int = 0  # pairs of images whose local features this scan fitted (not answered by the cache)
    companions: dict[str, tuple[Companion, ...]] = field(default_factory=dict)  # of each group member, by path
    resaved: dict[int, Earlier] = field(default_factory=dict)  # image rows of JPEGs saved from another's file


class Progress:
    """How the pipeline tells the outside world how far it has got; silent unless overridden."""

    @contextmanager
    def stage(self, stage: Stage, total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda _: None

    def answered(self, stage: Stage, count: int) -> None:
        """`count` of the running stage's `total` were answered by the cache: they are not work to come (nor
        counted as done), so that a resumed scan's progress and ETA are those of what is left."""


class ScanInterrupted(KeyboardInterrupt):
    """A scan stopped by KeyboardInterrupt (Ctrl-C), raised once what it had finished was in the cache."""

    def __init__(self, stage: Stage | None, images_kept: int, images_needed: int | None, kept: bool) -> None:
        super().__init__(stage, images_kept, images_needed, kept)
        self.stage = stage  # the stage it was in
        self.images_kept = images_kept  # of the images the scan needs, those the cache holds (or that failed)
        self.images_needed = images_needed  # None: not known yet (interrupted before decoding)
        self.kept = kept  # False: the scan had no cache (`ScanOptions.cache` None), and kept nothing


def scan(roots: Sequence[str | os.PathLike[str]], options: ScanOptions = ScanOptions(),
         progress: Progress | None = None) -> ScanResult:
    """Find exact and near-duplicate images under `roots`."""
    with _open_cache(options.cache) as cache:
        roots = [os.path.abspath(os.fspath(root)) for root in roots]
        return _Scan(roots, options, progress or Progress(), cache).run()


@contextmanager
def _open_cache(path: str | os.PathLike[str] | None) -> Iterator[Cache]:
    if path is not None:
        with Cache(path) as cache:
            yield cache
        return
    with (tempfile.TemporaryDirectory(prefix="lookalike-") as folder,
          Cache(Path(folder) / "scan.sqlite", durable=False) as cache):
        yield cache


@contextmanager
def _counted_as_written() -> Iterator[None]:
    """A Ctrl-C that comes inside is raised once the block is done: what the block writes to the cache and what
    the scan counts of it (the "kept" of an interrupted scan's message) happen both or neither. Where signals do
    not reach (outside the main thread), a plain block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda _, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, caught[0])
        elif caught and previous != signal.SIG_IGN:
            signal.raise_signal(signal.SIGINT)  # the default action: the process ends


class _Scan:
    """One run of the pipeline; each method is one stage, called in order by `run`."""

    def __init__(self, roots: list[str], options: ScanOptions, progress: Progress, cache: Cache) -> None:
        self.roots, self.options, self.progress, self.cache = roots, options, progress, cache
        self.seconds: dict[Stage, float] = {}
        self.peak_mb: dict[Stage, float] = {}
        self.problems: list[Problem] = []
        self._strictness = STRICTNESS[options.strictness]
        self.decoded = 0
        self.evidence: _EvidenceMemo | None = None  # verification's, once verify has run
        self.fits: _LocalMemo | None = None  # the local fits', once the local stage has run
        self.moments: _LocalMemo | None = None  # the moment checks' of those fits
        self.window_moments: _LocalMemo | None = None  # grouping's moment checks of matches of windows
        self.running: Stage | None = None
        self.images_needed: int | None = None  # distinct images the scan needs, once decode knows
        self.images_kept = 0  # of those, the ones the cache holds, or that could not be decoded
        self.failures: list[tuple[FileRecord, str]] = []  # files that could not be decoded, with the reason

    @contextmanager
    def _stage(self, stage: Stage, total: int | None = None) -> Iterator[_Advance]:
        start = time.perf_counter()
        self.running = stage
        with self.progress.stage(stage, total) as advance:
            yield _Advance(advance, lambda count: self.progress.answered(stage, count))
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        if (peak := peak_resident_mb()) is not None:  # unknown on a system that does not say
            self.peak_mb[stage] = peak

    @contextmanager
    def _timed(self, stage: Stage) -> Iterator[None]:
        """Count time towards `stage` while another stage runs (which then gives that time back)."""
        start = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def run(self) -> ScanResult:
        try:
            return self._run()
        except KeyboardInterrupt:
            self._store_memos()
            raise ScanInterrupted(self.running, self.images_kept, self.images_needed,
                                  self.options.cache is not None) from None

    def _store_memos(self) -> None:
        for memo in (self.evidence, self.fits, self.moments, self.window_moments):
            if memo is not None:
                memo.store()

    def _run(self) -> ScanResult:
        if self.options.method == BYTES:
            return self.identical_files()
        files, digests = self.readable_files()
        images, image_of_file = self.table(digests)
        resaved: dict[int, Earlier] = {}
        if self.options.method == HISTOGRAM:
            histograms = self.histograms(files, image_of_file, images)
            kept = [f for f in range(len(files)) if int(image_of_file[f]) in histograms]
            files, image_of_file = files.take(kept), image_of_file[kept]
            groups = self.histogram_group(files, image_of_file, images, histograms, self.compare(histograms))
            similar = None
        elif self.options.method == PIXELS:
            groups, similar = self.same_pixels(files, image_of_file, images), None
        else:
            candidates = self.search(images)
            matches = self.verify(images, candidates)
            with self._tasks() as run:
                local = self.local(images, matches, run)
                self.measures(files, image_of_file, images, [*matches, *local])
                resaved = self.resaves(files, image_of_file, images, [*matches, *local])
                groups = self.group(files, image_of_file, images, [*matches, *local], candidates, resaved, run)
            similar = similar_groups(files, image_of_file, images, matches, groups) if self.options.similar else None
            self._store_memos()  # what verify, local and group found that the cache did not know
        found = find_companions(files[m.file].path for group in groups for m in group.members)
        order = keeper_order(files, image_of_file, images, found, resaved)
        groups = [keeper_among_identical(group, order) for group in groups]
        return ScanResult(self.roots, files, image_of_file, images, groups, similar, self._problems(), self.seconds,
                          self.peak_mb, decoded=self.decoded,
                          verified=self.evidence.computed if self.evidence is not None else 0,
                          fitted=self.fits.computed if self.fits is not None else 0, companions=found,
                          resaved=resaved)

    @contextmanager
    def _tasks(self) -> Iterator[RunTasks | None]:
        """Where the local and group stages run their fits and moment checks: on `jobs` worker processes, started
        once for both, when the first are due; with one job, None: in this process, which has nothing else to do
        meanwhile. A task a worker fails on is given no answer, and runs here."""
        if self.options.jobs < 2:
            yield None
            return
        with Workers(self.options.jobs, self.options.max_pixels, run_task, self.options.timeout) as workers:
            yield lambda tasks: ((index, answer) for index, answer in workers.run(tasks)
                                 if not isinstance(answer, Problem))

    def identical_files(self) -> ScanResult:
        """--method bytes: the files whose bytes another file has, grouped; nothing is decoded, and a file no
        other file has the size of is not read (its row is -1)."""
        records = self.walk()
        contents = self.exact(records)
        readable = np.flatnonzero(~contents.failed)
        files = records.take(readable.tolist()) if len(readable) < len(records) else records
        known, digests = contents.known[readable], contents.digest[readable]
        with self._stage(Stage.GROUP):
            _, first, content_of_file = np.unique(digests[known], return_index=True, return_inverse=True)
            formats = [found or "" for found in files.formats(np.flatnonzero(known)[first].tolist())]
            images = table_of_contents(Digests(digests[known][first]), formats)
            image_of_file = np.full(len(files), -1, np.int64)
            image_of_file[known] = content_of_file.reshape(-1)
            groups = identical_groups(files, image_of_file, images)
        return ScanResult(self.roots, files, image_of_file, images, groups, None, self._problems(), self.seconds,
                          self.peak_mb, decoded=0, verified=0)

    def _problems(self) -> list[Problem]:
        """By path: in the same order whichever scan found each (a resumed one knows some from the cache)."""
        return sorted(self.problems, key=lambda problem: problem.path)

    def readable_files(self) -> tuple[FileRecords, np.ndarray]:
        """The image files that could be read, and their content hashes, all of whose images the cache holds."""
        records = self.walk()
        contents = self.decode(records, self.exact(records))
        readable = np.flatnonzero(contents.known & ~contents.failed)
        return records.take(readable.tolist()), contents.digest[readable]

    def walk(self) -> FileRecords:
        records = FileRecords()
        with self._stage(Stage.WALK) as advance:
            self.cached_files = self.cache.files_under(self.roots)
            options = WalkOptions(self.options.include, self.options.exclude, self.options.follow_symlinks,
                                  all_files=self.options.all_files)
            for problem in walk_into(records, self.roots, options, self.cached_files.record):
                if problem is not None:
                    self.problems.append(problem)
                elif not len(records) % WALK_STEP:  # a file's record appended
                    advance(WALK_STEP)
            advance(len(records) % WALK_STEP)
        return records

    def exact(self, records: FileRecords) -> _Contents:
        """Content hashes: from the cache for unchanged files, by the hash funnel for possible twins; those
        found go to the cache as they come."""
        with self._stage(Stage.EXACT, len(records)) as advance:
            self.known_failures = self.cache.known_failures(self.roots, records)
            digest, cached = self.cached_files.contents_of(records)
            del self.cached_files
            advance.answered(int(cached.sum()))
            contents = _Contents(digest, cached.copy(), cached.copy(), np.zeros(len(records), bool))
            held: dict[int, bytes] = {}
            due = _Every(KEEP_SECONDS)

            def keep(found: dict[int, bytes]) -> None:
                held.update(found)
                if due():
                    self._remember_hashes(records, contents, held)

            try:
                _, problems = find_identical(records, cached, advance, self.options.read_threads, keep)
            finally:
                self._remember_hashes(records, contents, held)
        self.problems += problems
        unreadable = {problem.path for problem in problems}
        if unreadable:
            contents.failed[:] = [record.path in unreadable for record in records]
        return contents

    def _remember_hashes(self, records: FileRecords, contents: _Contents, held: dict[int, bytes]) -> None:
        """The content hashes `held` (by record index) into `contents` and the cache; none are held then."""
        if not held:
            return
        indices = np.fromiter(held, np.int64, len(held))
        contents.digest[indices], contents.known[indices] = Digests.of(list(held.values())).packed, True
        new = self._to_remember(contents, indices)
        with _counted_as_written():
            with self.cache.transaction():
                self.cache.remember_contents(self._file_rows(records, contents, new))
            contents.cached[new] = True
            held.clear()

    def decode(self, records: FileRecords, contents: _Contents) -> _Contents:
        """`contents` completed: each readable file's content hash, all of whose images the cache then holds.

        Contents the cache knows are not decoded; every other content is decoded exactly once, whichever of its
        files comes first standing for its byte-identical copies. Decoded images go on to `signatures` a chunk
        at a time, as they arrive.
        """
        failed = contents.failed
        failed[list(self.known_failures)] = True
        self.failures = [(records[i], reason) for i, reason in self.known_failures.items()]
        imaged = np.zeros(len(records), bool)
        imaged[contents.known] = self.cache.has_images(contents.digest[contents.known])
        pending = np.flatnonzero(~failed & ~imaged)
        hashed = pending[contents.known[pending]]
        _, first = np.unique(contents.digest[hashed], return_index=True)  # the first file of each content
        to_decode = np.sort(np.concatenate([pending[~contents.known[pending]], hashed[first]]))
        self.images_kept = len(np.unique(contents.digest[imaged]))
        self.images_needed = self.images_kept + len(to_decode)
        held = _Decoding()
        with self._stage(Stage.DECODE, len(to_decode)) as advance:
            paths = records.paths(to_decode)
            try:
                answers = self.options.engine.decode_all(paths, self.options.jobs, self.options.max_pixels, advance,
                                                         timeout=self.options.timeout)
                for received, (position, result) in enumerate(answers, 1):
                    index = to_decode[position]
                    if not isinstance(result, Problem):
                        result = check_unchanged(records[index]) or result
                    held.finished += 1
                    if isinstance(result, Problem):
                        failed[index] = True
                        held.failures.append((records[index], result.reason))
                        if contents.known[index]:
                            held.failed_contents[contents.digest[index].tobytes()] = result.reason
                        continue
                    contents.digest[index], contents.known[index] = result.content_hash, True
                    held.decoded.append(result)
                    held.files.append(index)
                    left = len(to_decode) - received
                    if (len(held.decoded) == SIGNATURE_CHUNK or (len(held.decoded) > LAST_CHUNK and left < LAST_CHUNK)
                            or held.due()):
                        self._keep(records, contents, held)
            finally:
                self._keep(records, contents, held)  # interrupted too: what was finished is kept
        self.seconds[Stage.DECODE] -= self.seconds.get(Stage.SIGNATURES, 0.0)  # signatures ran inside decode
        self.problems += [Problem(record.path, reason) for record, reason in self.failures]
        return contents

    def _keep(self, records: FileRecords, contents: _Contents, held: _Decoding) -> None:
        """What decoding finished into the cache, in one transaction: the images with their signatures, the content
        hashes decoding found, and the failures, those of the byte-identical copies of a failed file included."""
        if not held.finished:
            return
        copies = self._copies_of(contents, held.failed_contents)  # what their first file could not be
        failures = held.failures + [(records[i], held.failed_contents[contents.digest[i].tobytes()])
                                    for i in copies.tolist()]
        new = self._to_remember(contents, np.array(held.files, np.int64))
        with _counted_as_written():
            with self._timed(Stage.SIGNATURES), self.cache.transaction():
                self.cache.remember_images(held.decoded, self.options.engine.signatures_of(held.decoded))
                self.cache.remember_contents(self._file_rows(records, contents, new))
                self.cache.remember_failures((record, reason) for record, reason in failures
                                             if not needs_install(reason))
            contents.cached[new], contents.failed[copies] = True, True
            self.failures += failures
            self.decoded += len(held.decoded)
            self.images_kept += held.finished - sum(needs_install(reason) for _, reason in held.failures)
            held.clear()

    def _to_remember(self, contents: _Contents, indices: np.ndarray) -> np.ndarray:
        """Those of the files at `indices` whose content hash is to go to the cache: known and readable, not
        there already; none for a throwaway cache, whose files are read by nothing."""
        if self.options.cache is None:
            return indices[:0]
        return indices[contents.known[indices] & ~contents.cached[indices] & ~contents.failed[indices]]

    @staticmethod
    def _file_rows(records: FileRecords, contents: _Contents, indices: np.ndarray) -> Iterator[
            tuple[FileRecord, bytes]]:
        return ((records[i], contents.digest[i].tobytes()) for i in indices.tolist())

    @staticmethod
    def _copies_of(contents: _Contents, failed_contents: dict[bytes, str]) -> np.ndarray:
        """The files, not yet failed, with one of these contents."""
        if not failed_contents:
            return np.zeros(0, np.int64)
        alike = np.isin(contents.digest, Digests.of(list(failed_contents)).packed)
        return np.flatnonzero(alike & contents.known & ~contents.failed)

    def table(self, contents: np.ndarray) -> tuple[ImageTable, np.ndarray]:
        """One table row per distinct content ("V16" content hashes, one per file), in the order of the files,
        read from the cache; and each file's row."""
        with self._stage(Stage.SIGNATURES):
            _, first, content_of_file = np.unique(contents, return_index=True, return_inverse=True)
            by_appearance = np.argsort(first)
            row_of_content = np.empty(len(first), np.int64)
            row_of_content[by_appearance] = np.arange(len(first))
            distinct = Digests(contents[first[by_appearance]])
            images = table_from_rows(self.cache.image_rows(distinct), len(distinct),
                                     CachedThumbnails(self.cache, distinct))
            self.row_index = RowIndex(images)  # for the contents the cache names: searched, candidates, decisions
        return images, row_of_content[content_of_file]

    def search(self, images: ImageTable) -> Candidates:
        """Candidate pairs. Those among contents searched together before, and those of the blocks an unfinished
        search of these same contents finished, come from the cache; the rest is searched a block at a time
        (`_search_parts`), each block's candidates to the cache as it is done."""
        radius = max(self._strictness.radius, SIMILAR.radius) if self.options.similar else self._strictness.radius
        with self._timed(Stage.SEARCH):
            state = self.cache.search_state(radius, images.content_hash)
            parts, in_base = self._search_parts(images, state)
        total = sum(len(part.rows) for part, _ in parts)
        left = sum(int((~finished).sum()) for _, finished in parts)
        with self._stage(Stage.SEARCH, total or len(images)) as advance:
            advance.answered((total or len(images)) - left)
            advance((total or len(images)) - left)  # done, as answered
            found = [self._known_candidates(radius)] if len(state.base) or len(state.done) else []
            for code, (part, finished) in enumerate(parts):
                part = replace(part, rows=part.rows[~finished])
                block = max(SEARCH_BLOCK, -(-len(part.rows) // SEARCH_BLOCKS))
                for rows, part_found in searched_blocks(images, [part], radius, self.options.engine.join, block):
                    left -= len(rows)
                    with self.cache.transaction():
                        self.cache.remember_searched(radius, state, images.content_hash, code, rows, part_found)
                        if not left:
                            self.cache.searched_together(radius, images.content_hash,
                                                         prune=len(state.base) > int(in_base.sum()))
                    found.append(part_found)
                    advance(len(rows))
            return closest_of_each_kind(Candidates.concatenate(found))

    def _search_parts(self, images: ImageTable,
                      state: SearchState) -> tuple[list[tuple[SearchPart, np.ndarray]], np.ndarray]:
        """The parts of the search these images need, each with which of its rows an unfinished search of them
        finished, in a fixed order (a part's place is its code in the cache); and which rows were searched together
        before. Each new image against all; the new against the others too, their frames both ways: cut on the side
        with the fewer hashes to probe with (`SearchPart`), the other side's part empty."""
        in_base = np.zeros(len(images), bool)
        base_rows = self.row_index.rows(state.base)
        in_base[base_rows[base_rows >= 0]] = True
        new, old = np.flatnonzero(~in_base), np.flatnonzero(in_base)
        by_new = bool(len(new)) and frames_probe(images, len(new), len(old))
        parts = [SearchPart(new, np.arange(len(images)), framed=True),
                 SearchPart(new if by_new else new[:0], old, framed=False),
                 SearchPart(old if len(new) and not by_new else old[:0], new, framed=True)]
        finished = []
        for code, part in enumerate(parts):
            done = np.zeros(len(images), bool)
            rows = self.row_index.rows(state.done.get(code, []))
            done[rows[rows >= 0]] = True
            finished.append(done[part.rows])
        return list(zip(parts, finished, strict=True)), in_base

    def _known_candidates(self, radius: int) -> Candidates:
        """The candidates earlier searches found between images of this scan, by row."""
        parts = []
        for known in self.cache.candidates(radius):
            columns = list(zip(*known, strict=True))
            a, b = self.row_index.rows(columns[0]), self.row_index.rows(columns[1])
            parts.append(Candidates.of([a, b, *columns[2:]])[(a >= 0) & (b >= 0)])
        return Candidates.concatenate(parts)

    def verify(self, images: ImageTable, candidates: Candidates) -> list[Match]:
        """The confirmed matches; evidence the cache holds for a pair in the same alignment is not computed again."""
        self.apart = self._not_duplicates(images)
        with self._stage(Stage.VERIFY, len(candidates)) as advance:
            candidates = closest_pairs_first(candidates)  # verify_all's order, for the memo to read ahead in
            self.evidence = _EvidenceMemo(self.cache, images, self._strictness, candidates, advance.answered)
            matches = self.options.engine.verify_all(images, candidates, self.apart, advance,
                                                     strictness=self._strictness, similar=self.options.similar,
                                                     evidence=self.evidence, jobs=self.options.jobs)
            self.evidence.read_alone()
            return matches

    def local(self, images: ImageTable, matches: list[Match], run: RunTasks | None) -> list[LocalMatch]:
        """Pairs of images that share local features, fitted, but for those the matches link already."""
        self.features_of = CachedFeatures(self.cache, images.content_hash)
        with self._stage(Stage.LOCAL, len(images)) as advance:
            contents = images.content_hash.tolist()
            indexed = [np.frombuffer(words, np.uint32) for words, in self.cache.words(contents)]

            def queried(start: int, stop: int) -> list[tuple[np.ndarray, np.ndarray]]:
                return [(np.frombuffer(upright, np.uint32), np.frombuffer(mirror, np.uint32))
                        for upright, mirror in self.cache.words(contents[start:stop], queried=True)]

            candidates = local_candidates(indexed, queried)
            linked = Linked(len(images))
            for match in matches:
                if match.duplicate:
                    linked.join(match.candidate.a, match.candidate.b)
            allowed = [pair for pair in candidates.tolist() if (min(pair[:2]), max(pair[:2])) not in self.apart]
            allowed = np.array(allowed, np.int64).reshape(-1, 3)
            self.fits = _LocalMemo(self.cache, FITS, images, allowed, advance.answered)
            self.moments = _LocalMemo(self.cache, MOMENTS, images, allowed[:0])
            found = verify_local(self.features_of, allowed, linked, advance, self.fits, run)
            self.fits.read_alone()
            return found

    def measures(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
                 matches: list[Match | LocalMatch]) -> None:
        """Measures at full size, into `images` and the cache, the pictures decoded at a fraction of it that
        the keep rule weighs against a copy they match (`keep.to_measure`): either may be an enlargement of the
        other, or a lossless copy may hold the same pixels."""
        components = linked_sets(len(images), [matched_rows(match) for match in matches if match.duplicate])
        wanted = [component[i] for component in components
                  for i in to_measure([images.picture_pixels(row) for row in component],
                                      [int(images.width[row]) for row in component],
                                      [int(images.height[row]) for row in component],
                                      [images.detail[row] is not None for row in component],
                                      [lossless(str(images.format[row]), images.quality[row]) for row in component])]
        found = []
        with self._stage(Stage.MEASURES, len(wanted)) as advance:
            for position, result in self._read_rows(files, image_of_file, wanted, measured_file, advance):
                if isinstance(result, tuple):
                    row = wanted[position]
                    images.detail[row], images.grain[row], pixel_hash = result
                    images.pixel_hash.put(row, pixel_hash)
                    found.append((images.content_hash[row], *result))
        self.cache.remember_measures(found)

    def _read_rows(self, files: FileRecords, image_of_file: np.ndarray, rows: list[int],
                   work: Callable[[str, int], Any], advance: _Advance) -> Iterator[tuple[int, Any]]:
        """(index into `rows`, what `work` made of it) for each image row, read in the workers from its first
        file, as the answers come."""
        files_of_image = FilesOfImages(image_of_file)
        return self._read([files[files_of_image[row][0]].path for row in rows], work, advance)

    def _read(self, items: list[str], work: Callable[[str, int], Any], advance: _Advance,
              ) -> Iterator[tuple[int, Any]]:
        return self.options.engine.decode_all(items, self.options.jobs, self.options.max_pixels, advance, work=work,
                                              timeout=self.options.timeout)

    def resaves(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
                matches: list[Match | LocalMatch]) -> dict[int, Earlier]:
        """The image rows of JPEGs re-saved from the JPEG of another they match, or converted from its WebP, HEIC
        or AVIF (`requantized.resaved`)."""
        links = [matched_rows(match) for match in matches if match.duplicate]
        pairs, converting = jpeg_pairs(images, links), converted_pairs(images, links)
        rows = sorted({row for pair in pairs for row in pair})
        with self._stage(Stage.RESAVES, len(rows) + len(converting)) as advance:
            lattices = self._lattices(files, image_of_file, images, rows, advance)
            conversions = self._conversions(files, image_of_file, images, converting, advance)
        jpegs = {*rows, *(jpeg for jpeg, _ in converting)}
        return resaved(pairs, {row: images.quality[row] for row in jpegs}, lattices, conversions,
                       {row: str(images.format[row]) for _, row in converting})

    def _lattices(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable, rows: list[int],
                  advance: _Advance) -> dict[int, Lattice]:
        """The `Lattice` of each JPEG row that has one: from the cache, or read in the workers and remembered."""
        known = {content: blob for content, blob in self.cache.lattices([images.content_hash[row] for row in rows]
                                                                       ).items() if len(blob) in (0, LATTICE_BYTES)}
        advance.answered(len(known))
        wanted = [row for row in rows if images.content_hash[row] not in known]
        found = {}
        for position, result in self._read_rows(files, image_of_file, wanted, lattice_file, advance):
            found[images.content_hash[wanted[position]]] = result.tobytes() if isinstance(result, Lattice) else b""
        self.cache.remember_lattices(found.items())
        blobs = {**known, **found}
        return {row: Lattice.frombytes(blob) for row in rows if (blob := blobs[images.content_hash[row]])}

    def _conversions(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
                     pairs: list[tuple[int, int]], advance: _Advance) -> dict[tuple[int, int], Conversion]:
        """The `Conversion` of each (JPEG row, row) pair that has one: from the cache, or read in the workers and
        remembered."""
        keys = local_keys(images.content_hash, np.array(pairs, np.int64).reshape(-1, 2))
        measured = self.cache.local(CONVERSIONS, keys)
        advance.answered(len(measured))
        by_other: dict[int, list[int]] = {}
        for i, key in enumerate(keys):
            if key not in measured:
                by_other.setdefault(pairs[i][1], []).append(i)
        reads = [wanted[start:start + JPEGS_A_READ] for wanted in by_other.values()
                 for start in range(0, len(wanted), JPEGS_A_READ)]  # indices into pairs, of one other file each
        files_of_image = FilesOfImages(image_of_file)
        path = {row: files[files_of_image[row][0]].path for read in reads for i in read for row in pairs[i]}
        items = [PATH_SEPARATOR.join([path[pairs[read[0]][1]], *(path[pairs[i][0]] for i in read)]) for read in reads]
        found = {}
        for position, results in self._read(items, conversions_file, advance):
            read = reads[position]
            advance(len(read) - 1)
            answers = results if isinstance(results, list) else [None] * len(read)  # a Problem: no evidence
            found.update((keys[i], answer) for i, answer in zip(read, answers, strict=True))
        self.cache.remember_local(CONVERSIONS, found.items())
        measured.update(found)
        return {pair: measured[key] for pair, key in zip(pairs, keys, strict=True) if measured[key] is not None}

    def group(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
              matches: list[Match | LocalMatch], candidates: Candidates, resaved: dict[int, Earlier],
              run: RunTasks | None) -> list[Group]:
        self.window_moments = _LocalMemo(self.cache, MOMENTS, images, np.zeros((0, 5), np.int64))
        self.window_moments.read_alone()
        with self._stage(Stage.GROUP, len(matches)):
            return build_groups(files, image_of_file, images, matches, candidates, self._strictness, self.apart,
                                self.evidence, self.features_of, CachedPictures(self.cache, images.content_hash),
                                self.fits, self.moments, resaved, self.window_moments, run)

    def same_pixels(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable) -> list[Group]:
        """--method pixels: the files whose decoded pixels another file's are, grouped."""
        apart = self._not_duplicates(images)
        with self._stage(Stage.GROUP, len(files)):
            return identical_groups(files, image_of_file, images, by_pixels=True, apart=apart)

    def histograms(self, files: FileRecords, image_of_file: np.ndarray,
                   images: ImageTable) -> dict[int, np.ndarray]:
        """The original's histogram of each image row, taken in the worker processes from one of its files."""
        files_of_image = FilesOfImages(image_of_file)
        rows = list(files_of_image)
        histograms = {}
        with self._stage(Stage.HISTOGRAM, len(rows)) as advance:
            for position, result in self._read_rows(files, image_of_file, rows, histogram_file, advance):
                row = rows[position]
                if isinstance(result, Histogram) and result.content_hash != images.content_hash[row]:
                    result = Problem(files[files_of_image[row][0]].path, "changed while being scanned")
                if isinstance(result, Problem):
                    self.problems += [Problem(files[f].path, result.reason) for f in files_of_image[row]]
                else:
                    histograms[row] = result.counts
        return histograms

    def compare(self, histograms: dict[int, np.ndarray]) -> ClosePairs:
        with self._stage(Stage.COMPARE, len(histograms)):
            return close_pairs(histograms, self.options.threshold)

    def histogram_group(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
                        histograms: dict[int, np.ndarray], pairs: ClosePairs) -> list[Group]:
        with self._stage(Stage.GROUP, len(pairs)):
            return histogram_groups(files, image_of_file, images, histograms, pairs, self.options.threshold)

    def _not_duplicates(self, images: ImageTable) -> set[tuple[int, int]]:
        """Pairs of image rows, (lower, higher), that a person said are not the same picture."""
        pairs = list(self.cache.not_duplicates())
        rows = self.row_index.rows([digest for pair in pairs for digest in pair]).reshape(-1, 2)
        return {(min(a, b), max(a, b)) for a, b in rows.tolist() if a >= 0 and b >= 0}


class _Advance:
    """A stage's progress, less the work the cache answered (`answered`): the stage reports that as done too,
    and it is not counted, so that the rate and ETA are those of the work done."""

    def __init__(self, advance: Callable[[int], None], answer: Callable[[int], None]) -> None:
        self.advance, self.answer = advance, answer
        self.owed = 0  # answered, not yet reported as done by the stage

    def answered(self, count: int) -> None:
        if count:
            self.owed += count
            self.answer(count)

    def __call__(self, count: int) -> None:
        taken = min(count, self.owed)
        self.owed -= taken
        if count > taken:
            self.advance(count - taken)


class _Every:
    """When called: whether `seconds` have passed since it last said so (or since it was made)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.next = seconds, time.monotonic() + seconds

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self.next:
            return False
        self.next = now + self.seconds
        return True


@dataclass
class _Decoding:
    """What decoding finished that has not gone to the cache yet."""

    decoded: list[Decoded] = field(default_factory=list)
    files: list[int] = field(default_factory=list)  # the record index of each of `decoded`
    failures: list[tuple[FileRecord, str]] = field(default_factory=list)
    failed_contents: dict[bytes, str] = field(default_factory=dict)  # the reasons of failed files' contents
    finished: int = 0  # files decoded or failed
    due: _Every = field(default_factory=lambda: _Every(KEEP_SECONDS))

    def clear(self) -> None:
        self.decoded, self.files, self.failures, self.failed_contents, self.finished = [], [], [], {}, 0
        self.due = _Every(KEEP_SECONDS)


@dataclass(frozen=True, slots=True)
class _Contents:
    """What the scan knows of each walked file's bytes, by record index, as arrays: there may be a million."""

    digest: np.ndarray  # (N,) "V16": the content hash, where `known`
    known: np.ndarray  # (N,) bool
    cached: np.ndarray  # (N,) bool: known to the cache (from it, or stored since): not to be stored again
    failed: np.ndarray  # (N,) bool: unreadable or not decodable: out of the scan


_MISSING = object()  # what a memo's cache holds for a key it has nothing for


Key, Value = TypeVar("Key"), TypeVar("Value")


class _CachedMemo(MutableMapping[Key, Value]):
    """A memo over the cache (verification's, the local fits', their moment checks'). What earlier scans found
    is read EVIDENCE_CHUNK keys of an `order` (the order the stage asks in, `_chunk`) at a time, in one query or
    a few: a key not in the chunk held brings the chunks after it until one holds it, and one in none of them
    (asked out of order) is read alone, as is every key after `read_alone`. Reading only moves on, so the order
    is read once at most, keys never asked for (verification skips some) included. What is found now goes to the
    cache what KEEP_SECONDS found at a time, and is held until EVIDENCE_CHUNK of it is (`found`). At most a chunk
    each way is held, so a scan with millions of candidates holds only the thumbnails it compares. A cache that
    holds nothing for this memo (a first scan's) is not asked, until this scan has let go of some it found
    (`store`). Subclasses say how keys are made, read and written."""

    def __init__(self, length: int, on_answered: Callable[[int], None], nothing_cached: bool) -> None:
        self.length = length  # of the order
        self.on_answered = on_answered  # told how many of the order the cache answers, as chunks are read
        self.due = _Every(KEEP_SECONDS)
        self.found: dict[Key, Value] = {}
        self.unsent: dict[Key, None] = {}  # of `found`, what has not gone to the cache yet, in order
        self.chunk: dict[Key, object] = {}  # what the cache held for one chunk of the order, or _MISSING
        self.chunk_end = 0  # where in the order the chunk held ends
        self.computed = 0  # found by this scan, stored or not
        self.nothing_cached = nothing_cached  # reads would find nothing: a first scan of the dev collection
        # made 2,510 queries (0.3 s), one for each pair of a keeper and a member not linked by a match

    def _keys(self, items: Sequence[Key]) -> list[bytes]:
        """The cache's key of each item."""
        raise NotImplementedError

    def _chunk(self, start: int, stop: int) -> tuple[list[Key], list[bytes]]:
        """Items [start, stop) of the order, with their keys."""
        raise NotImplementedError

    def _read(self, keys: Sequence[bytes]) -> dict[bytes, Value]:
        raise NotImplementedError

    def _write(self, found: Iterable[tuple[bytes, Value]]) -> None:
        raise NotImplementedError

    def store(self) -> None:
        """Send what was found to the cache, and hold it no more."""
        self.keep()
        self.found.clear()
        self.nothing_cached = False

    def keep(self) -> None:
        """Send what was found since last sent to the cache, and hold it still: a first scan's memo then goes on
        answering without asking the cache, as it would had nothing been sent."""
        sent = [item for item in self.unsent if item in self.found]
        with _counted_as_written():
            if sent:
                self._write(zip(self._keys(sent), (self.found[item] for item in sent), strict=True))
            self.unsent = {}

    def __getitem__(self, item: Key) -> Value:
        found = self.found.get(item, _MISSING)
        if found is _MISSING:
            found = self._cached(item)
        if found is _MISSING:
            raise KeyError(item)
        return found

    def _cached(self, item: Key) -> object:
        """What the cache holds for an item (or _MISSING): from the chunk held, else from the next chunk, else
        alone."""
        if self.nothing_cached:
            return _MISSING
        while item not in self.chunk and self.chunk_end < self.length:
            self._read_next_chunk()
        if item in self.chunk:
            return self.chunk[item]
        [key] = self._keys([item])
        return self._read([key]).get(key, _MISSING)

    def read_alone(self) -> None:
        """Read no chunk more: what is asked from now on is out of the order (group's keepers and members)."""
        self.chunk, self.chunk_end = {}, self.length

    def _read_next_chunk(self) -> None:
        start, self.chunk_end = self.chunk_end, min(self.chunk_end + EVIDENCE_CHUNK, self.length)
        items, keys = self._chunk(start, self.chunk_end)
        known = self._read(keys)
        self.chunk = {item: known.get(key, _MISSING) for item, key in zip(items, keys, strict=True)}
        self.on_answered(len(known))

    def __setitem__(self, item: Key, value: Value) -> None:
        self.computed += item not in self.found
        self.found[item] = value
        self.unsent[item] = None
        if item in self.chunk:  # the chunk stays true once `found` has gone to the cache
            self.chunk[item] = value
        if len(self.found) >= EVIDENCE_CHUNK:
            self.store()
        elif self.due():
            self.keep()

    def __delitem__(self, item: Key) -> None:
        del self.found[item]

    def __iter__(self) -> Iterator[Key]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)


class _EvidenceMemo(_CachedMemo[Candidate, Evidence]):
    """Verification's memo (`verify.verified`) over the cache; `order` is the order verification asks in."""

    def __init__(self, cache: Cache, images: ImageTable, strictness: Strictness, order: Candidates,
                 on_answered: Callable[[int], None]) -> None:
        super().__init__(len(order), on_answered, not cache.has_evidence())
        self.cache, self.images, self.strictness, self.order = cache, images, strictness, order

    def _keys(self, items: Sequence[Candidate]) -> list[bytes]:
        return pair_keys(self.images, Candidates.of_each(items), self.strictness)

    def _chunk(self, start: int, stop: int) -> tuple[list[Candidate], list[bytes]]:
        chunk = self.order[start:stop]
        return list(chunk), pair_keys(self.images, chunk, self.strictness)

    def _read(self, keys: Sequence[bytes]) -> dict[bytes, Evidence]:
        return self.cache.evidence(keys)

    def _write(self, found: Iterable[tuple[bytes, Evidence]]) -> None:
        self.cache.remember_evidence(found)


class _LocalMemo(_CachedMemo[tuple[int, ...], Value]):
    """A memo of the local stage's over the cache, keyed by rows a and b and mirrored (`geometry.fitted`), or
    for grouping's moment checks of matches of windows by rows a and b, orientation and windows; `order` holds
    such keys, the order the stage asks in. `table` is the cache's: FITS or MOMENTS."""

    def __init__(self, cache: Cache, table: str, images: ImageTable, order: np.ndarray,
                 on_answered: Callable[[int], None] = lambda _: None) -> None:
        super().__init__(len(order), on_answered, not cache.has_local(table))
        self.cache, self.table, self.contents, self.order = cache, table, images.content_hash, order

    def _keys(self, items: Sequence[tuple[int, ...]]) -> list[bytes]:
        return local_keys(self.contents, np.array(items, np.int64).reshape(len(items), -1)) if items else []

    def _chunk(self, start: int, stop: int) -> tuple[list[tuple[int, ...]], list[bytes]]:
        rows = self.order[start:stop]
        return [(a, b, bool(mirrored)) for a, b, mirrored in rows.tolist()], local_keys(self.contents, rows)

    def _read(self, keys: Sequence[bytes]) -> dict[bytes, Value]:
        return self.cache.local(self.table, keys)

    def _write(self, found: Iterable[tuple[bytes, Value]]) -> None:
        self.cache.remember_local(self.table, found)
