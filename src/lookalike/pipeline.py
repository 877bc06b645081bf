"""The scan pipeline: its stages, in the order data flows through them, and the function that runs them.

    walk → exact → decode → signatures → search → verify → local → group        (then report, at the edge)
    walk → exact → decode → signatures → histogram → compare → group    (--method histogram)
    walk → exact → decode → signatures → group                          (--method pixels)
    walk → exact → group                                                (--method bytes)

Each stage is a module of the same name. Data flows one way: file records from `walk` (held as columns, not as a
million objects), content hashes from `exact`, thumbnails from `decode`, an `ImageTable` of perceptual hashes from
`signatures`, candidate pairs from `search`, confirmed matches from `verify`; `local` finds and fits, by local
features, the pairs no hash can propose (crops, screenshots, straightened copies); groups from `group`. The cache sits
beside the pipeline: it answers for files that did not change, so they skip `exact` and `decode`, and for pairs
already verified. Thumbnails stream from `decode` to `signatures` in chunks and on into the cache, which holds
them for the rest of the scan: memory holds signatures, not pixels. The histogram method (the original script's
definition of equal, `histogram.py`) takes each content's histogram in `histogram` and compares all pairs in
`compare`; it ignores "not duplicates" decisions, as the original knows none. The pixels method groups images
whose decoded pixels are the same, and the bytes method, which decodes nothing, files whose bytes are: with
`all_files`, files of any kind.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from lookalike.cache import (
    KEYS_PER_QUERY,
    Cache,
    CachedFeatures,
    CachedPictures,
    CachedThumbnails,
    default_cache_path,
)
from lookalike.companions import find as find_companions
from lookalike.decoded import DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT, Decoded, needs_install
from lookalike.engine import Engine, LocalEngine
from lookalike.exact import find_identical
from lookalike.feature_search import local_candidates
from lookalike.geometry import LocalMatch, verify_local
from lookalike.group import Group, build_groups, identical_groups, keeper_among_identical, keeper_order, similar_groups
from lookalike.histogram import DEFAULT_THRESHOLD, ClosePairs, Histogram, close_pairs, histogram_file, histogram_groups
from lookalike.images import Digests, FilesOfImages, ImageTable, RowIndex, table_from_rows, table_of_contents
from lookalike.keep import Companion
from lookalike.platforms import peak_resident_mb
from lookalike.search import Candidate, Candidates, find_candidates
from lookalike.verify import (
    SIMILAR,
    STRICTNESS,
    Evidence,
    Linked,
    Match,
    Strictness,
    closest_pairs_first,
    pair_keys,
)
from lookalike.walk import FileRecords, Problem, WalkOptions, check_unchanged, walk


class Stage(Enum):
    WALK = "walk"
    EXACT = "exact"
    DECODE = "decode"
    SIGNATURES = "signatures"
    SEARCH = "search"
    VERIFY = "verify"
    LOCAL = "local"
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
METHODS = (PHASH, HISTOGRAM, PIXELS, BYTES)


@dataclass(frozen=True, slots=True)
class ScanOptions:
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
    companions: dict[str, tuple[Companion, ...]] = field(default_factory=dict)  # of each group member, by path


class Progress:
    """How the pipeline tells the outside world how far it has got; silent unless overridden."""

    @contextmanager
    def stage(self, stage: Stage, total: int | None) -> Iterator[Callable[[int], None]]:
        yield lambda _: None


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

    @contextmanager
    def _stage(self, stage: Stage, total: int | None = None) -> Iterator[Callable[[int], None]]:
        start = time.perf_counter()
        with self.progress.stage(stage, total) as advance:
            yield advance
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
        if self.options.method == BYTES:
            return self.identical_files()
        files, digests = self.readable_files()
        images, image_of_file = self.table(digests)
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
            local = self.local(images, matches)
            groups = self.group(files, image_of_file, images, [*matches, *local], candidates)
            similar = similar_groups(files, image_of_file, images, matches, groups) if self.options.similar else None
            self.evidence.store()  # what verify and group found that the cache did not know
        found = find_companions(files[m.file].path for group in groups for m in group.members)
        order = keeper_order(files, image_of_file, images, found)
        groups = [keeper_among_identical(group, order) for group in groups]
        return ScanResult(self.roots, files, image_of_file, images, groups, similar, self.problems, self.seconds,
                          self.peak_mb, decoded=self.decoded,
                          verified=self.evidence.computed if self.evidence is not None else 0, companions=found)

    def identical_files(self) -> ScanResult:
        """--method bytes: the files whose bytes another file has, grouped; nothing is decoded, and a file no
        other file has the size of is not read (its row is -1)."""
        records = self.walk()
        contents = self.exact(records)
        if self.options.cache is not None:  # a throwaway cache's contents would be read by nothing
            self._remember_contents(records, contents)
        readable = np.flatnonzero(~contents.failed)
        files, known, digests = records.take(readable.tolist()), contents.known[readable], contents.digest[readable]
        with self._stage(Stage.GROUP):
            _, first, content_of_file = np.unique(digests[known], return_index=True, return_inverse=True)
            formats = [files[i].format or "" for i in np.flatnonzero(known)[first].tolist()]
            images = table_of_contents(Digests(digests[known][first]), formats)
            image_of_file = np.full(len(files), -1, np.int64)
            image_of_file[known] = content_of_file.reshape(-1)
            groups = identical_groups(files, image_of_file, images)
        return ScanResult(self.roots, files, image_of_file, images, groups, None, self.problems, self.seconds,
                          self.peak_mb, decoded=0, verified=0)

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
            for found in walk(self.roots, options, self.cached_files.record):
                if isinstance(found, Problem):
                    self.problems.append(found)
                else:
                    records.append(found)
                    advance(1)
        return records

    def exact(self, records: FileRecords) -> _Contents:
        """Content hashes: from the cache for unchanged files, by the hash funnel for possible twins."""
        with self._stage(Stage.EXACT, len(records)) as advance:
            self.known_failures = self.cache.known_failures(self.roots, records)
            digest, cached = self.cached_files.contents_of(records)
            del self.cached_files
            hashes, problems = find_identical(records, cached, advance, self.options.read_threads)
            known = cached.copy()
            for index, found in hashes.items():
                digest[index], known[index] = found, True
        self.problems += problems
        unreadable = {problem.path for problem in problems}
        failed = np.array([record.path in unreadable for record in records], bool) if unreadable else (
            np.zeros(len(records), bool))
        return _Contents(digest, known, cached, failed)

    def decode(self, records: FileRecords, contents: _Contents) -> _Contents:
        """`contents` completed: each readable file's content hash, all of whose images the cache then holds.

        Contents the cache knows are not decoded; every other content is decoded exactly once, whichever of its
        files comes first standing for its byte-identical copies. Decoded images go on to `signatures` a chunk
        at a time, as they arrive.
        """
        failed = contents.failed
        failed[list(self.known_failures)] = True
        failures = [(records[i], reason) for i, reason in self.known_failures.items()]
        imaged = np.zeros(len(records), bool)
        imaged[contents.known] = self.cache.has_images(contents.digest[contents.known])
        pending = np.flatnonzero(~failed & ~imaged)
        hashed = pending[contents.known[pending]]
        _, first = np.unique(contents.digest[hashed], return_index=True)  # the first file of each content
        to_decode = np.sort(np.concatenate([pending[~contents.known[pending]], hashed[first]]))
        failed_contents: dict[bytes, str] = {}
        fresh: list[Decoded] = []
        with self._stage(Stage.DECODE, len(to_decode)) as advance:
            paths = records.paths(to_decode)
            for position, result in self.options.engine.decode_all(paths, self.options.jobs, self.options.max_pixels,
                                                                   advance, timeout=self.options.timeout):
                index = to_decode[position]
                if not isinstance(result, Problem):
                    result = check_unchanged(records[index]) or result
                if isinstance(result, Problem):
                    failed[index] = True
                    failures.append((records[index], result.reason))
                    if contents.known[index]:
                        failed_contents[contents.digest[index].tobytes()] = result.reason
                    continue
                contents.digest[index], contents.known[index] = result.content_hash, True
                fresh.append(result)
                left = len(to_decode) - position - 1
                if len(fresh) == SIGNATURE_CHUNK or (len(fresh) > LAST_CHUNK and left < LAST_CHUNK):
                    self.signatures(fresh)
                    fresh = []
            self.signatures(fresh)
        self.seconds[Stage.DECODE] -= self.seconds.get(Stage.SIGNATURES, 0.0)  # signatures ran inside decode
        for index in self._copies_of(contents, failed_contents).tolist():  # what its first file could not be
            failed[index] = True
            failures.append((records[index], failed_contents[contents.digest[index].tobytes()]))
        self.problems += [Problem(record.path, reason) for record, reason in failures]
        self.cache.remember_failures((record, reason) for record, reason in failures[len(self.known_failures):]
                                     if not needs_install(reason))
        self._remember_contents(records, contents)
        return contents

    def _remember_contents(self, records: FileRecords, contents: _Contents) -> None:
        """Into the cache: the content hash of each readable file this scan found."""
        new = np.flatnonzero(contents.known & ~contents.cached & ~contents.failed)
        self.cache.remember_contents((records[i], contents.digest[i].tobytes()) for i in new.tolist())

    @staticmethod
    def _copies_of(contents: _Contents, failed_contents: dict[bytes, str]) -> np.ndarray:
        """The files, not yet failed, with one of these contents."""
        if not failed_contents:
            return np.zeros(0, np.int64)
        alike = np.isin(contents.digest, Digests.of(list(failed_contents)).packed)
        return np.flatnonzero(alike & contents.known & ~contents.failed)

    def signatures(self, decoded: list[Decoded]) -> None:
        """Signatures of freshly decoded images, computed in one batch, into the cache with their thumbnails."""
        with self._timed(Stage.SIGNATURES):
            self.cache.remember_images(decoded, self.options.engine.signatures_of(decoded))
            self.decoded += len(decoded)

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
        """Candidate pairs; those among contents the last search at this radius covered come from the cache."""
        radius = max(self._strictness.radius, SIMILAR.radius) if self.options.similar else self._strictness.radius
        with self._stage(Stage.SEARCH, len(images)):
            searched = np.zeros(len(images), bool)
            last = self.row_index.rows(self.cache.searched(radius))
            searched[last[last >= 0]] = True
            if not searched.any():
                candidates = find_candidates(images, radius, self.options.engine.join)
            else:
                new = np.flatnonzero(~searched)
                fresh = [find_candidates(images, radius, self.options.engine.join, new)] if len(new) else []
                candidates = Candidates.concatenate([self._known_candidates(radius), *fresh]).in_order()
            if not searched.all() or len(last) != len(images):
                self.cache.remember_search(radius, images.content_hash, candidates)
            return candidates

    def _known_candidates(self, radius: int) -> Candidates:
        """The last search's candidates between images of this scan, by row."""
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
            self.evidence = _EvidenceMemo(self.cache, images, self._strictness, candidates)
            matches = self.options.engine.verify_all(images, candidates, self.apart, advance,
                                                     strictness=self._strictness, similar=self.options.similar,
                                                     evidence=self.evidence, jobs=self.options.jobs)
            self.evidence.read_alone()
            return matches

    def local(self, images: ImageTable, matches: list[Match]) -> list[LocalMatch]:
        """Pairs of images that share local features, fitted, but for those the matches link already."""
        self.features_of = CachedFeatures(self.cache, images.content_hash)
        with self._stage(Stage.LOCAL, len(images)) as advance:
            words, mirrored = [], []
            for upright, mirror in self.cache.words(images.content_hash.tolist()):
                words.append(np.frombuffer(upright, np.uint32))
                mirrored.append(np.frombuffer(mirror, np.uint32))
            candidates = local_candidates(words, mirrored)
            linked = Linked(len(images))
            for match in matches:
                if match.duplicate:
                    linked.join(match.candidate.a, match.candidate.b)
            allowed = [pair for pair in candidates.tolist() if (min(pair[:2]), max(pair[:2])) not in self.apart]
            return verify_local(self.features_of, np.array(allowed, np.int64).reshape(-1, 3), linked, advance)

    def group(self, files: FileRecords, image_of_file: np.ndarray, images: ImageTable,
              matches: list[Match | LocalMatch], candidates: Candidates) -> list[Group]:
        with self._stage(Stage.GROUP, len(matches)):
            return build_groups(files, image_of_file, images, matches, candidates, self._strictness, self.apart,
                                self.evidence, self.features_of, CachedPictures(self.cache, images.content_hash))

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
            paths = [files[files_of_image[row][0]].path for row in rows]
            for position, result in self.options.engine.decode_all(paths, self.options.jobs, self.options.max_pixels,
                                                                   advance, work=histogram_file,
                                                                   timeout=self.options.timeout):
                row = rows[position]
                if isinstance(result, Histogram) and result.content_hash != images.content_hash[row]:
                    result = Problem(paths[position], "changed while being scanned")
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


@dataclass(frozen=True, slots=True)
class _Contents:
    """What the scan knows of each walked file's bytes, by record index, as arrays: there may be a million."""

    digest: np.ndarray  # (N,) "V16": the content hash, where `known`
    known: np.ndarray  # (N,) bool
    cached: np.ndarray  # (N,) bool: known from the cache, not to be stored again
    failed: np.ndarray  # (N,) bool: unreadable or not decodable: out of the scan


class _EvidenceMemo(MutableMapping[Candidate, Evidence]):
    """Verification's memo (`verify.verified`) over the cache. Evidence found by earlier scans is read
    EVIDENCE_CHUNK candidates of `order` (the order verification asks in) at a time, in one query or a few: a
    candidate not in the chunk held brings the chunks after it until one holds it, and one in none of them
    (asked out of order) is read alone, as is every candidate after `read_alone`. Reading only moves on, so the
    order is read once at most, candidates never asked for (verification skips some) included. Evidence found
    now goes to the cache EVIDENCE_CHUNK at a time (`found` holds what has not gone yet). At most a chunk each
    way is held, so a scan with millions of candidates holds only the thumbnails it compares. A cache that holds
    no evidence at all (a first scan's) is not asked, until this scan has stored some."""

    def __init__(self, cache: Cache, images: ImageTable, strictness: Strictness, order: Candidates) -> None:
        self.cache, self.images, self.strictness, self.order = cache, images, strictness, order
        self.found: dict[Candidate, Evidence] = {}
        self.chunk: dict[Candidate, Evidence | None] = {}  # what the cache held for one chunk of the order
        self.chunk_end = 0  # where in the order the chunk held ends
        self.computed = 0  # evidence found by this scan, stored or not
        self.nothing_cached = not cache.has_evidence()  # reads would find nothing: a first scan of the dev
        # collection made 2,510 queries (0.3 s), one for each pair of a keeper and a member not linked by a match

    def keys(self, candidates: Sequence[Candidate]) -> list[bytes]:
        return pair_keys(self.images, Candidates.of_each(candidates), self.strictness)

    def store(self) -> None:
        """Send what was found to the cache."""
        self.cache.remember_evidence(zip(self.keys(list(self.found)), self.found.values(), strict=True))
        self.found.clear()
        self.nothing_cached = False

    def __getitem__(self, candidate: Candidate) -> Evidence:
        found = self.found.get(candidate) or self._cached(candidate)
        if found is None:
            raise KeyError(candidate)
        return found

    def _cached(self, candidate: Candidate) -> Evidence | None:
        """The cache's evidence of a candidate: from the chunk held, else from the next chunk, else alone."""
        if self.nothing_cached:
            return None
        while candidate not in self.chunk and self.chunk_end < len(self.order):
            self._read_next_chunk()
        if candidate in self.chunk:
            return self.chunk[candidate]
        [key] = self.keys([candidate])
        return self.cache.evidence([key]).get(key)

    def read_alone(self) -> None:
        """Read no chunk more: what is asked from now on is out of the order (group's keepers and members)."""
        self.chunk, self.chunk_end = {}, len(self.order)

    def _read_next_chunk(self) -> None:
        start, self.chunk_end = self.chunk_end, min(self.chunk_end + EVIDENCE_CHUNK, len(self.order))
        chunk = self.order[start:self.chunk_end]
        candidates, keys = list(chunk), pair_keys(self.images, chunk, self.strictness)
        known = self.cache.evidence(keys)
        self.chunk = {candidate: known.get(key) for candidate, key in zip(candidates, keys, strict=True)}

    def __setitem__(self, candidate: Candidate, evidence: Evidence) -> None:
        self.computed += candidate not in self.found
        self.found[candidate] = evidence
        if candidate in self.chunk:  # the chunk stays true once `found` has gone to the cache
            self.chunk[candidate] = evidence
        if len(self.found) >= EVIDENCE_CHUNK:
            self.store()

    def __delitem__(self, candidate: Candidate) -> None:
        del self.found[candidate]

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.found)

    def __len__(self) -> int:
        return len(self.found)
