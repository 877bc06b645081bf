"""Stage 6, verify: confirm each candidate pair on the pixels, after aligning it.

A hash distance says two images *might* be the same picture; verification decides. The candidate says how the
two might be aligned (an orientation and a window of each frame); the two windows are resampled onto one grid,
nudged in scale and position where the window was only approximate (a crop rarely falls exactly on a window),
and compared twice, on grey levels and on fine detail (a band-pass of the grey image), each by normalised
correlation. Correlation ignores brightness and contrast (an affine change of grey levels), and grey levels
ignore colour, so such edits still match; two different photos of one scene (the next frame of a video, the
other half of a stereo pair) differ in their fine detail, so they do not.

Guarantees: `verify` is deterministic and never reads files, only thumbnails; an unconfirmed pair is never
reported as a duplicate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence, Set
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from itertools import islice

import numpy as np

from lookalike.platform.workers import ignore_interruptions, worker_context
from lookalike.stages.images import DIGEST_BYTES, ImageTable
from lookalike.stages.search import Candidate, Candidates
from lookalike.stages.signatures import Box, grey, orient, resample, resample_crossed, window_box

MAX_FAILURES_PER_IMAGE = 16
PARALLEL_FROM = 4096  # candidates from which verification runs on worker processes. Starting two costs about
# 75 ms (each imports NumPy: the forkserver holds only the decoders); the 480 photos' 357 candidates take 0.08 s
# in this process
VERIFY_CHUNK = 2048  # candidates verified at once on the workers: larger chunks keep them busier, and verify
# more candidates for nothing (those that a match earlier in the chunk made unnecessary)
VERIFY_TASK = 64  # candidates a worker is sent at a time, with the thumbnails they compare (about 1.5 MB);
# one task a worker, and one more, are on their way at once
LIKELY_MATCH = 4  # hash bits apart at most for a candidate not yet verified to be taken for a match when
# choosing what to verify on the workers (copies of one picture are mostly this close, look-alikes further)
WORTH_NUDGING = 0.8  # below this tone correlation no nudge of the windows will find a match
NUDGE_SHIFTS = (-0.04, 0.0, 0.04)  # fractions of the window
NUDGE_SCALES = (0.95, 1.0, 1.05)
_NUDGES = np.array([(scale, shift) for scale in NUDGE_SCALES for shift in NUDGE_SHIFTS])  # of one axis's span
COARSE_SIDE = 24
SMALLEST_GRID = 16


@dataclass(frozen=True, slots=True)
class Strictness:
    """How alike two images must be to be called the same picture: how far apart their hashes may be for the
    search to propose them, and how closely their aligned tones and details must correlate."""

    name: str
    radius: int  # perceptual hash bits
    tone: float
    detail: float


# Chosen on the accuracy benchmark's dev collection (benchmarks/accuracy, README "Accuracy"): "normal" keeps
# every look-alike pair apart while finding every edit kind; "strict" trades recall of heavy edits (crops,
# captions, letterboxes) for a wider margin; "loose" proposes and accepts more.
STRICTNESS = {level.name: level for level in (
    Strictness("strict", radius=8, tone=0.96, detail=0.75),
    Strictness("normal", radius=10, tone=0.90, detail=0.55),
    Strictness("loose", radius=12, tone=0.86, detail=0.45),
)}
NORMAL = STRICTNESS["normal"]
# Near misses offered as "similar" (never as duplicates) when the user asks: the same scene, a close shot.
SIMILAR = Strictness("similar", radius=12, tone=0.75, detail=0.25)


@dataclass(frozen=True, slots=True)
class Evidence:
    """How closely two aligned thumbnails agree: 1.0 is identical, 0 unrelated."""

    tone: float
    detail: float
    box_b: Box  # where, in b's frame, a's window was found

    def passes(self, strictness: Strictness) -> bool:
        return self.tone >= strictness.tone and self.detail >= strictness.detail


@dataclass(frozen=True, slots=True)
class Match:
    """A verified candidate: the same picture (`duplicate`), or only a similar one (offered with --similar)."""

    candidate: Candidate
    evidence: Evidence
    duplicate: bool = True


def verify_all(
    images: ImageTable,
    candidates: Candidates,
    apart: Set[tuple[int, int]] = frozenset(),
    on_progress: Callable[[int], None] = lambda _: None,
    *,
    strictness: Strictness = NORMAL,
    similar: bool = False,
    evidence: MutableMapping[Candidate, Evidence] | None = None,
    jobs: int = 1,
) -> list[Match]:
    """The candidates confirmed on the pixels, enough of them to link every set of copies together.

    A candidate is skipped when its two images are already linked through confirmed matches: the group stage
    checks every member against its keeper directly, so further links inside a linked set would be wasted work
    (a cluster of 30 copies has 435 pairs, and 29 links suffice). Pairs in `apart` (rows, lower first) are
    never confirmed. With `similar`, near misses are returned too, as matches that are not duplicates.

    Pairs are tried closest first, and an image whose hash has met `MAX_FAILURES_PER_IMAGE` candidates
    that all failed is tried no further: in a crowd of look-alikes (screenshots, scans of forms, flat
    graphics) its hash says little, and verifying every pair of the crowd would cost quadratic time.
    `evidence` holds what is known already (from the cache, or verified elsewhere by an engine) and receives
    what is verified here (`verified`); it is asked in the order of `closest_pairs_first`, skipped candidates
    left out (on worker processes, a chunk's candidates that its own matches make skippable are asked too).

    With `jobs` > 1 and PARALLEL_FROM candidates or more, the evidence is computed on `jobs` worker processes,
    VERIFY_CHUNK candidates at a time: those of a chunk that will not be skipped if the closest of them match
    (`_Tally.likely_needed`) are verified together, then the chunk is gone through in order as above, a
    candidate the guess left out verified here if it is needed after all. The matches are the same as on one
    process; a candidate the guess took for needed and a match made unnecessary is verified for nothing (5,619
    pairs verified instead of 5,302 on the dev accuracy collection) and its evidence kept.
    """
    tally = _Tally(len(images), apart, strictness, similar)
    parallel = jobs > 1 and len(candidates) >= PARALLEL_FROM
    with _Verifiers.started(jobs if parallel else 0) as workers:
        for chunk in _chunks(closest_pairs_first(candidates), VERIFY_CHUNK if parallel else 1):
            open_ = [candidate for candidate in chunk if not tally.skips(candidate)]  # as things stand
            on_progress(len(chunk) - len(open_))
            known = _looked_up(open_, evidence)
            known.update(_verified(images, tally.likely_needed(open_, known), strictness, evidence, workers))
            for candidate in open_:  # a candidate skipped already stays skipped
                on_progress(1)
                if tally.skips(candidate):
                    continue
                found = known.get(candidate)
                if found is None:  # taken for unnecessary, as a match assumed before it in the chunk failed
                    found = _verified(images, [candidate], strictness, evidence)[candidate]
                tally.add(candidate, found)
    return tally.matches


class _Tally:
    """`verify_all`'s account of the candidates tried so far: the matches, the linked sets, and each image's
    failures; and from it, whether a candidate is skipped. Once skipped, a candidate stays skipped."""

    def __init__(self, count: int, apart: Set[tuple[int, int]], strictness: Strictness, similar: bool) -> None:
        self.linked = Linked(count)
        self.failures = [0] * count  # a list: asked twice or more a candidate, one image at a time
        self.matches: list[Match] = []
        self.apart, self.strictness, self.similar = apart, strictness, similar

    def skips(self, candidate: Candidate) -> bool:
        low, high = _pair(candidate)
        return ((low, high) in self.apart or self.linked.together(low, high)
                or max(self.failures[low], self.failures[high]) >= MAX_FAILURES_PER_IMAGE)

    def likely_needed(self, open_: Sequence[Candidate], known: Mapping[Candidate, Evidence]) -> list[Candidate]:
        """The candidates of `open_` (none skipped as things stand) with no evidence `known` that will not be
        skipped if, besides those with evidence, those among them whose hashes are at most LIKELY_MATCH bits
        apart (copies, mostly) match. A guess made before any of them is verified: a candidate it leaves out may
        be needed after all."""
        assumed = Assumed(self.linked)
        needed = []
        for candidate in open_:
            pair = _pair(candidate)
            if assumed.together(*pair):
                continue
            found = known.get(candidate)
            if found is None:
                needed.append(candidate)
            if (found.passes(self.strictness) if found is not None else candidate.distance <= LIKELY_MATCH):
                assumed.join(*pair)
        return needed

    def add(self, candidate: Candidate, found: Evidence) -> None:
        low, high = _pair(candidate)
        if found.passes(self.strictness):
            self.matches.append(Match(candidate, found))
            self.linked.join(low, high)
            return
        self.failures[low] += 1
        self.failures[high] += 1
        if self.similar and found.passes(SIMILAR):
            self.matches.append(Match(candidate, found, duplicate=False))


def _pair(candidate: Candidate) -> tuple[int, int]:
    return min(candidate.a, candidate.b), max(candidate.a, candidate.b)


def verified(images: ImageTable, candidate: Candidate, strictness: Strictness,
             evidence: MutableMapping[Candidate, Evidence] | None) -> Evidence:
    """`verify`, answered from `evidence` when it holds the candidate, else computed and added to it."""
    found = evidence.get(candidate) if evidence is not None else None
    return found if found is not None else _verified(images, [candidate], strictness, evidence)[candidate]


def _looked_up(candidates: Sequence[Candidate],
               evidence: Mapping[Candidate, Evidence] | None) -> dict[Candidate, Evidence]:
    """What `evidence` holds of the candidates, asked in their order."""
    if evidence is None:
        return {}
    found = ((candidate, evidence.get(candidate)) for candidate in candidates)
    return {candidate: known for candidate, known in found if known is not None}


def _verified(images: ImageTable, candidates: Sequence[Candidate], strictness: Strictness,
              evidence: MutableMapping[Candidate, Evidence] | None,
              workers: _Verifiers | None = None) -> dict[Candidate, Evidence]:
    """`verify` of each candidate, here or on `workers`, added to `evidence`."""
    run = workers.evidence_of if workers is not None else evidence_of
    found = dict(zip(candidates, run(images, candidates, strictness), strict=True))
    if evidence is not None:
        evidence.update(found)
    return found


def evidence_of(images: ImageTable, candidates: Sequence[Candidate], strictness: Strictness) -> list[Evidence]:
    """`verify` of each candidate (a function a worker process or an engine's task runs)."""
    return [verify(images, candidate, strictness) for candidate in candidates]


def _on_rows_of_their_own(images: ImageTable, candidates: Sequence[Candidate]) -> tuple[ImageTable, list[Candidate]]:
    """The rows the candidates compare, as a table, and the candidates renumbered into it."""
    rows = sorted({row for candidate in candidates for row in (candidate.a, candidate.b)})
    position = {row: at for at, row in enumerate(rows)}
    return images.subset(rows), [replace(c, a=position[c.a], b=position[c.b]) for c in candidates]


def _chunks(candidates: Iterable[Candidate], size: int) -> Iterator[list[Candidate]]:
    candidates = iter(candidates)
    while chunk := list(islice(candidates, size)):
        yield chunk


class _Verifiers:
    """`jobs` worker processes computing `evidence_of`, VERIFY_TASK candidates a task, each task sent with the
    rows it compares as a table of their own (the thumbnails of a million images cannot all go to every
    worker)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.pool = ProcessPoolExecutor(jobs, mp_context=worker_context(deaf=True), initializer=ignore_interruptions)

    @staticmethod
    @contextmanager
    def started(jobs: int) -> Iterator[_Verifiers | None]:
        """Workers for the time of a `with` block, or None for no `jobs`."""
        if not jobs:
            yield None
            return
        workers = _Verifiers(jobs)
        try:
            yield workers
        finally:
            workers.pool.shutdown(cancel_futures=True)

    def evidence_of(self, images: ImageTable, candidates: Sequence[Candidate], strictness: Strictness
                    ) -> list[Evidence]:
        found: list[Evidence] = []
        on_their_way: deque[Future[list[Evidence]]] = deque()
        for part in _chunks(candidates, VERIFY_TASK):
            on_their_way.append(self.pool.submit(evidence_of, *_on_rows_of_their_own(images, part), strictness))
            if len(on_their_way) > self.jobs:
                found += on_their_way.popleft().result()
        while on_their_way:
            found += on_their_way.popleft().result()
        return found


def pair_keys(images: ImageTable, candidates: Candidates, strictness: Strictness) -> list[bytes]:
    """What each candidate's evidence depends on, by content rather than by row, to keep it across scans: the
    two content hashes, the alignment (a byte each: orientation, window_a, window_b) and the strictness's name.
    Made in NumPy: a re-scan reads the evidence of millions of candidates."""
    digests = images.content_hash.packed
    alignment = np.stack([candidates.orientation, candidates.window_a, candidates.window_b], axis=1)
    name = np.frombuffer(strictness.name.encode(), np.uint8)
    keys = np.concatenate([digests[candidates.a].view(np.uint8).reshape(len(candidates), DIGEST_BYTES),
                           digests[candidates.b].view(np.uint8).reshape(len(candidates), DIGEST_BYTES),
                           alignment.astype(np.uint8), np.broadcast_to(name, (len(candidates), len(name)))], axis=1)
    return keys.view(f"V{keys.shape[1]}").ravel().tolist()


def closest_pairs_first(candidates: Candidates) -> Candidates:
    """The order `verify_all` tries candidates in: pairs by their closest hypothesis; a pair's hypotheses stay
    in the search's order, simplest first. Sorting candidates already in this order keeps them in it. Sorted in
    NumPy, not through a dictionary of pairs: a re-scan may hold millions of candidates."""
    low, high = candidates.pairs()
    distance = candidates.distance
    by_pair = np.lexsort((distance, high, low))
    first = np.ones(len(candidates), bool)
    first[1:] = (low[by_pair][1:] != low[by_pair][:-1]) | (high[by_pair][1:] != high[by_pair][:-1])
    closest = np.empty(len(candidates), np.int64)
    closest[by_pair] = distance[by_pair][np.maximum.accumulate(np.where(first, np.arange(len(candidates)), 0))]
    return candidates[np.lexsort((np.arange(len(candidates)), high, low, closest))]


class Linked:
    """Which images are linked by confirmed matches (union-find with path halving)."""

    def __init__(self, count: int) -> None:
        self.parent = list(range(count))

    def root(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def together(self, a: int, b: int) -> bool:
        return self.root(a) == self.root(b)

    def join(self, a: int, b: int) -> None:
        self.parent[self.root(a)] = self.root(b)


def linked_sets(count: int, links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The sets of items (of `count`) that `links` (pairs) connect, directly or through others, each ascending,
    by their first item; an item in no link is in none."""
    linked, items = Linked(count), set()
    for a, b in links:
        linked.join(a, b)
        items |= {a, b}
    sets: dict[int, list[int]] = {}
    for item in sorted(items):
        sets.setdefault(linked.root(item), []).append(item)
    return list(sets.values())


class Assumed:
    """Links assumed on top of the confirmed ones (`Linked`), which stay as they are."""

    def __init__(self, linked: Linked) -> None:
        self.linked = linked
        self.parent: dict[int, int] = {}  # between roots of the confirmed links

    def root(self, item: int) -> int:
        item = self.linked.root(item)
        while item in self.parent:
            item = self.parent[item]
        return item

    def together(self, a: int, b: int) -> bool:
        return self.root(a) == self.root(b)

    def join(self, a: int, b: int) -> None:
        a, b = self.root(a), self.root(b)
        if a != b:
            self.parent[a] = b


def verify(images: ImageTable, candidate: Candidate, strictness: Strictness = NORMAL) -> Evidence:
    """Compare the candidate's windows, nudging b's window when the first alignment is close but not enough."""
    tone_a = grey(orient(images.thumbs[candidate.a], candidate.orientation)[None])[0]
    tone_b = grey(images.thumbs[candidate.b][None])[0]
    box_a = window_box(candidate.window_a, tuple(images.content_box[candidate.a]))
    box_b = window_box(candidate.window_b, tuple(images.content_box[candidate.b]))
    evidence = compare(tone_a, box_a, tone_b, box_b)
    if evidence.passes(strictness) or evidence.tone < WORTH_NUDGING:
        return evidence
    nudged = compare(tone_a, box_a, tone_b, _best_nudge(tone_a, box_a, tone_b, box_b))
    return max(evidence, nudged, key=lambda e: (e.passes(strictness), e.tone))


def compare(tone_a: np.ndarray, box_a: Box, tone_b: np.ndarray, box_b: Box) -> Evidence:
    """Correlate two grey windows on the finest grid both can fill."""
    shape = _common_grid(box_a, box_b, tone_a.shape[0])
    window_a, window_b = resample(tone_a, box_a, shape), resample(tone_b, box_b, shape)
    return Evidence(
        tone=_correlation(window_a, window_b),
        detail=_correlation(_band_pass(window_a), _band_pass(window_b)),
        box_b=box_b,
    )


def _common_grid(box_a: Box, box_b: Box, side: int) -> tuple[int, int]:
    """Rows and columns no finer than the smaller window has pixels, so neither is compared on made-up detail."""
    rows = min(box_a[3] - box_a[1], box_b[3] - box_b[1]) * side
    columns = min(box_a[2] - box_a[0], box_b[2] - box_b[0]) * side
    return max(SMALLEST_GRID, round(rows)), max(SMALLEST_GRID, round(columns))


def _best_nudge(tone_a: np.ndarray, box_a: Box, tone_b: np.ndarray, box_b: Box) -> Box:
    """The box near `box_b` whose content correlates best with a's window, on a coarse grid: each combination of
    a small change of scale and of position per axis (81 boxes, from 9 spans down and 9 across)."""
    grid = (COARSE_SIDE, COARSE_SIDE)
    left, top, right, bottom = box_b
    rows, columns = _nudged(top, bottom), _nudged(left, right)
    window_a = resample(tone_a, box_a, grid).reshape(-1)
    windows_b = resample_crossed(tone_b, rows, columns, grid).reshape(len(rows) * len(columns), -1)
    window_a = window_a - window_a.mean()
    windows_b = windows_b - windows_b.mean(axis=1, keepdims=True)
    scores = (windows_b @ window_a) / (np.linalg.norm(windows_b, axis=1) * np.linalg.norm(window_a) + 1e-9)
    row, column = divmod(int(np.argmax(scores)), len(columns))
    return float(columns[column, 0]), float(rows[row, 0]), float(columns[column, 1]), float(rows[row, 1])


def _nudged(start: float, end: float) -> np.ndarray:
    """(9, 2) spans around [start, end) of one axis: each combination of a small change of scale and of position."""
    length = end - start
    centre = (start + end) / 2 + _NUDGES[:, 1] * length
    half = length * _NUDGES[:, 0] / 2
    return np.stack([centre - half, centre + half], axis=1)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Normalised correlation of two windows: sums and dot products of flat vectors, as NumPy's mean and
    element-wise products take twice the time on 64 × 64 windows."""
    x, y = x.reshape(-1), y.reshape(-1)
    x = x - x.sum() / x.size
    y = y - y.sum() / y.size
    norm = float(np.sqrt(np.dot(x, x) * np.dot(y, y)))
    if norm < 1e-6:  # a flat image: only another flat image of any tone is "the same picture"
        return 1.0 if float(np.abs(x).max() + np.abs(y).max()) < 1e-3 else 0.0
    return float(np.dot(x, y)) / norm


def _band_pass(image: np.ndarray) -> np.ndarray:
    """Detail between the finest (noise, compression) and coarsest (tone) scales: a difference of box blurs."""
    rows, columns = image.shape
    fine = _blur_matrix(rows, 1) @ image @ _blur_matrix(columns, 1).T
    coarse = _blur_matrix(rows, 4) @ image @ _blur_matrix(columns, 4).T
    return fine - coarse


@cache
def _blur_matrix(size: int, radius: int) -> np.ndarray:
    """(size, size) box blur of width 2 * radius + 1 along one axis, edges repeated."""
    positions = np.clip(np.arange(size)[:, None] + np.arange(-radius, radius + 1)[None, :], 0, size - 1)
    matrix = np.zeros((size, size), np.float32)
    np.add.at(matrix, (np.repeat(np.arange(size), 2 * radius + 1), positions.reshape(-1)), 1.0 / (2 * radius + 1))
    return matrix
