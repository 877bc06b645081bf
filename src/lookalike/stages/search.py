"""Candidate search: every pair of 64-bit hashes within a Hamming radius.

Guarantees
----------
`hamming_pairs` and `hamming_join` are exact: they return every pair whose
Hamming distance is <= radius, each pair once, nothing else, as an int64 array
of shape (k, 2) sorted lexicographically.  Identical hashes are ordinary
matches (distance 0), so a cluster of c equal hashes yields c*(c-1)/2 pairs.

Algorithm (multi-index hashing)
-------------------------------
The 64 bits are cut into m substrings.  If two hashes are within radius
r = s*m + a (0 <= a < m), then one of the first a+1 substrings is within s,
or one of the others is within s-1 (pigeonhole: otherwise the distance would
be at least r+1).  Each searched substring gets a table of the hashes sorted
by that substring (counting sort, so a dense offset array finds a bucket in
O(1)); every query probes the buckets of all substring values within the
substring's radius and checks the full 64-bit distance of what it finds.  A
pair is reported only by the first substring that can find it, so it is
reported once.  m is chosen by a cost model from r and the input sizes.  A search
small enough (BRUTE_FORCE_PAIRS) compares all pairs in NumPy instead, which is
faster than loading the kernels.

The probing runs in numba kernels that release the GIL, one thread per core
(NUMBA_NUM_THREADS), over blocks of queries; queries are visited in the order of
the substring's top bits, so that consecutive probes hit neighbouring table
entries.  Memory is, one substring at a time, 12 bytes per indexed hash plus a
4 * 2**b byte offset table for a substring of b bits, and 4 bytes per query (its
place in that order: the queries themselves are read where they are), then 24
bytes per pair found.  The kernels are compiled on first use and cached (numba
cache=True).
"""

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from math import comb
from types import ModuleType

import numpy as np

from lookalike.stages.images import ImageTable
from lookalike.stages.signatures import (
    ABOVE_CAPTION,
    BOTTOM,
    CENTRE,
    CONTENT,
    LEFT,
    RIGHT,
    TOP,
    WHOLE,
    WHOLE_BOX,
    WINDOWS,
)

HASH_BITS = 64
# A dense offset table over 2**24 substring values is 64 MiB; wider substrings are never worth it.
MAX_SUBSTRING_BITS = 24
# Relative costs (measured) of one bucket probe, one candidate check and one table entry.
PROBE_COST = 1.0
CANDIDATE_COST = 0.3
TABLE_ENTRY_COST = 0.3
BLOCKS_PER_THREAD = 16
MIN_BLOCK = 1024
# Estimated cost (the units above) of one block of queries at most: about 40 ms of one core, so that a Ctrl-C, seen
# once the blocks running end (the queued ones are dropped), stops the search at once however many hashes it has.
MAX_BLOCK_COST = 2**20
# Below this many query × index pairs, NumPy compares them all (1.5 to 2 ns a pair on two cores: 0.4 s for these)
# sooner than numba is imported and loads its compiled kernels (0.45 to 0.6 s before the first probe). A frame is
# searched against six windows in eight orientations, so this is up to about 2,300 images.
BRUTE_FORCE_PAIRS = 250_000_000
BRUTE_FORCE_BLOCK = 1 << 18  # pairs compared at once
PROBE_ORDER_BITS = 18  # the queries are probed in the order of this many top bits of the substring


def hamming_pairs(hashes: np.ndarray, radius: int) -> np.ndarray:
    """All (i, j), i < j, with popcount(hashes[i] ^ hashes[j]) <= radius."""
    hashes = _as_hashes(hashes)
    codes = _match_codes(hashes, hashes, _checked_radius(radius), self_join=True)
    return _sorted_pairs(codes, len(hashes))


def hamming_join(queries: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray:
    """All (qi, ii) with popcount(queries[qi] ^ index[ii]) <= radius."""
    queries, index, radius = _as_hashes(queries), _as_hashes(index), _checked_radius(radius)
    if len(queries) <= len(index):
        return _sorted_pairs(_match_codes(queries, index, radius, self_join=False), len(index))
    # Probing costs per probing hash, so the smaller side probes a table of the larger one.
    index_ids, query_ids = np.divmod(_match_codes(index, queries, radius, self_join=False), len(queries))
    return _sorted_pairs(query_ids * len(index) + index_ids, len(index))


@dataclass(frozen=True)
class Substring:
    """Bits [shift, shift + bits) of a hash, searched for values up to `radius` bit flips away."""

    shift: int
    bits: int
    radius: int

    @property
    def probes(self) -> int:
        return _ball_size(self.bits, self.radius)


def plan_substrings(radius: int, n_queries: int, n_index: int, self_join: bool) -> list[Substring]:
    """The searched substrings of the cheapest split of 64 bits for this search."""
    fewest = -(-HASH_BITS // MAX_SUBSTRING_BITS)
    splits = (_split(count, radius) for count in range(fewest, HASH_BITS + 1))
    return min(splits, key=lambda split: _estimated_cost(split, n_queries, n_index, self_join))


def substring_join(queries: np.ndarray, index: np.ndarray, radius: int, substring: Substring,
                   prior: Sequence[Substring] = ()) -> np.ndarray:
    """One substring's share of `hamming_join`, unsorted, in this thread: the pairs within `radius` whose bits of
    `substring` differ in at most its radius and that no substring of `prior` finds within its own radius.

    A join cut into parts that can run anywhere (`shards.py`) calls this for each part.
    """
    queries, index, radius = _as_hashes(queries), _as_hashes(index), _checked_radius(radius)
    if len(queries) == 0 or len(index) == 0:
        return np.empty((0, 2), dtype=np.int64)
    codes = _probe_block(queries, _probe_order(queries, substring), _SortedBy(index, substring), range(len(queries)),
                         radius, *_prior_checks(prior), self_join=False)
    pairs = np.empty((len(codes), 2), dtype=np.int64)
    np.divmod(codes, len(index), out=(pairs[:, 0], pairs[:, 1]))
    return pairs


def _prior_checks(prior: Sequence[Substring]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shifts, masks and radii of the substrings that find a pair before the one probing."""
    return (np.array([s.shift for s in prior], dtype=np.uint64),
            np.array([(1 << s.bits) - 1 for s in prior], dtype=np.uint64),
            np.array([s.radius for s in prior], dtype=np.int64))


def _split(count: int, radius: int) -> list[Substring]:
    base_radius, extra = divmod(radius, count)
    widths = [HASH_BITS // count + (i < HASH_BITS % count) for i in range(count)]
    shifts = np.cumsum([0, *widths[:-1]])
    substrings = [
        Substring(int(shift), width, base_radius if i <= extra else base_radius - 1)
        for i, (shift, width) in enumerate(zip(shifts, widths, strict=True))
    ]
    return [substring for substring in substrings if substring.radius >= 0]


def _estimated_cost(split: list[Substring], n_queries: int, n_index: int, self_join: bool) -> float:
    cost = 0.0
    for substring in split:
        tables = (1 if self_join else 2) * 2**substring.bits + n_queries + n_index
        cost += n_queries * _query_cost(substring, n_index, self_join) + TABLE_ENTRY_COST * tables
    return cost


def _query_cost(substring: Substring, n_index: int, self_join: bool) -> float:
    """The estimated cost of probing one query's buckets of `substring` and checking what they hold."""
    probes = substring.probes * (0.5 if self_join else 1.0)  # a self-join probes each pair of values once
    return PROBE_COST * probes + CANDIDATE_COST * probes * n_index / 2**substring.bits


def _ball_size(bits: int, radius: int) -> int:
    return sum(comb(bits, flips) for flips in range(radius + 1))


def _as_hashes(hashes: np.ndarray) -> np.ndarray:
    hashes = np.asarray(hashes)
    if hashes.ndim != 1 or not np.issubdtype(hashes.dtype, np.integer):
        raise ValueError(f"expected a 1-D integer array of hashes, got {hashes.dtype} {hashes.shape}")
    if len(hashes) >= 2**31:
        raise ValueError("at most 2**31 - 1 hashes")
    return np.ascontiguousarray(hashes.astype(np.uint64, copy=False))


def _checked_radius(radius: int) -> int:
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    return min(int(radius), HASH_BITS)


def _match_codes(queries: np.ndarray, index: np.ndarray, radius: int, self_join: bool) -> np.ndarray:
    """Unsorted codes query_id * len(index) + index_id of all matches (i < j in a self-join)."""
    if len(queries) == 0 or len(index) == 0:
        return np.empty(0, dtype=np.int64)
    if len(queries) * len(index) <= BRUTE_FORCE_PAIRS:
        return _compared_codes(queries, index, radius, self_join)
    substrings = plan_substrings(radius, len(queries), len(index), self_join)
    threads = os.cpu_count() or 1
    with ThreadPoolExecutor(threads) as pool:
        search = partial(_substring_codes, pool, threads, queries, index, radius, self_join=self_join)
        return np.concatenate([search(substrings[:position + 1]) for position in range(len(substrings))])


def _substring_codes(pool: ThreadPoolExecutor, threads: int, queries: np.ndarray, index: np.ndarray, radius: int,
                     substrings: Sequence[Substring], self_join: bool) -> np.ndarray:
    """`_match_codes` of the last of `substrings`, the others searched before it. Its table and the queries'
    order are made here, one substring at a time, and are gone before the next substring's."""
    *prior, substring = substrings
    # Sorted off the main thread, where a Ctrl-C lands: numba makes a KeyboardInterrupt raised while it calls a
    # kernel a SystemError. Waiting for a thread is interrupted cleanly.
    sorting = pool.submit(_SortedBy, index, substring)
    query_order = None if self_join else pool.submit(_probe_order, queries, substring).result()
    table = sorting.result()
    shifts, masks, radii = _prior_checks(prior)
    probe = partial(_probe_block, queries, query_order, table, radius=radius, prior_shifts=shifts, prior_masks=masks,
                    prior_radii=radii, self_join=self_join)
    size = _block_size(len(queries), threads * BLOCKS_PER_THREAD, _query_cost(substring, len(index), self_join))
    return np.concatenate(list(pool.map(probe, _blocks(len(queries), size))))


def _compared_codes(queries: np.ndarray, index: np.ndarray, radius: int, self_join: bool) -> np.ndarray:
    """`_match_codes` by comparing every query with every index entry, a block of queries at a time, the blocks
    on one thread per core (NumPy lets go of the GIL while it compares: half the time on two cores)."""
    block = max(1, BRUTE_FORCE_BLOCK // len(index))
    compare = partial(_compared_block, queries, index, radius, self_join, block)
    starts = range(0, len(queries), block)
    if len(starts) == 1:
        return compare(0)
    with ThreadPoolExecutor(min(len(starts), os.cpu_count() or 1)) as pool:
        return np.concatenate(list(pool.map(compare, starts)))


def _compared_block(queries: np.ndarray, index: np.ndarray, radius: int, self_join: bool, block: int,
                    start: int) -> np.ndarray:
    query_ids, index_ids = np.nonzero(np.bitwise_count(queries[start:start + block, None] ^ index) <= radius)
    query_ids += start
    if self_join:
        query_ids, index_ids = query_ids[query_ids < index_ids], index_ids[query_ids < index_ids]
    return query_ids * len(index) + index_ids


def _sorted_pairs(codes: np.ndarray, n_second: int) -> np.ndarray:
    codes.sort()
    pairs = np.empty((len(codes), 2), dtype=np.int64)
    np.divmod(codes, n_second, out=(pairs[:, 0], pairs[:, 1]))
    return pairs


def _block_size(n: int, count: int, query_cost: float) -> int:
    """Queries a block: `n` shared into `count` blocks, but none costing more than MAX_BLOCK_COST."""
    return max(MIN_BLOCK, min(-(-n // count), int(MAX_BLOCK_COST / max(query_cost, 1.0))))


def _blocks(n: int, size: int) -> Iterator[range]:
    return (range(start, min(start + size, n)) for start in range(0, n, size))


class _SortedBy:
    """Hashes stably sorted by one substring, with the offset of every substring value's bucket."""

    def __init__(self, hashes: np.ndarray, substring: Substring) -> None:
        self.substring = substring
        self.offsets, self.ids = _order_by(hashes, substring)
        self.hashes = hashes[self.ids]


def _order_by(hashes: np.ndarray, substring: Substring) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, order): `order` (int32) stably sorts the hashes by the substring; bucket v is
    order[offsets[v]:offsets[v + 1]]."""
    return _kernels().counting_sort(hashes, np.uint64(substring.shift), np.uint64((1 << substring.bits) - 1))


def _probe_order(queries: np.ndarray, substring: Substring) -> np.ndarray:
    """The order to probe the queries in: by the substring's top PROBE_ORDER_BITS bits, so that consecutive
    queries probe neighbouring buckets (hit the cache) without an offset table as large as the index's."""
    coarse = max(0, substring.bits - PROBE_ORDER_BITS)
    return _order_by(queries, Substring(substring.shift + coarse, substring.bits - coarse, substring.radius))[1]


def _probe_block(
    queries: np.ndarray,
    query_order: np.ndarray | None,
    table: _SortedBy,
    block: range,
    radius: int,
    prior_shifts: np.ndarray,
    prior_masks: np.ndarray,
    prior_radii: np.ndarray,
    self_join: bool,
) -> np.ndarray:
    """The kernel's codes for the queries at positions `block` of their order by the substring (in a self-join,
    `table` is the queries' own)."""
    substring = table.substring
    flips, group_starts = _flip_masks(substring.bits, substring.radius)
    return _kernels().probe_kernel(
        queries,
        table.ids if self_join else query_order,
        block.start,
        block.stop,
        table.offsets,
        table.hashes,
        table.ids,
        np.uint64(substring.shift),
        np.uint64((1 << substring.bits) - 1),
        flips,
        group_starts,
        radius,
        prior_shifts,
        prior_masks,
        prior_radii,
        self_join,
    )


def _kernels() -> ModuleType:
    """The numba kernels, imported on first use (importing numba costs a quarter of a second)."""
    from lookalike.stages import search_kernels

    return search_kernels


@cache
def _flip_masks(bits: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """All masks of <= radius set bits among `bits`, grouped by highest set bit.

    Returns (masks, group_starts): masks[0] == 0, and masks[group_starts[p]:group_starts[p + 1]]
    are the masks whose highest set bit is p.
    """
    if radius == 0 or bits == 0:
        return np.zeros(1, dtype=np.uint64), np.ones(bits + 1, dtype=np.int64)
    groups = [np.uint64(1 << top) | _flip_masks(top, radius - 1)[0] for top in range(bits)]
    masks = np.concatenate([np.zeros(1, dtype=np.uint64), *groups])
    group_starts = np.cumsum([1] + [len(group) for group in groups])
    return masks, group_starts


@dataclass(frozen=True, slots=True)
class Candidate:
    """Window `window_a` of image a turned by `orientation` may show window `window_b` of image b."""

    a: int
    b: int
    orientation: int
    window_a: int
    window_b: int
    distance: int  # perceptual hash bits apart


CANDIDATE_COLUMNS = ("a", "b", "orientation", "window_a", "window_b", "distance")
_ITERATION_CHUNK = 65536


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """Candidates as columns, one row per `Candidate`: a million images can give millions of candidates,
    too many for an object each. Iterating makes one `Candidate` at a time."""

    a: np.ndarray  # int32 image rows
    b: np.ndarray  # int32
    orientation: np.ndarray  # int8, and so are the windows and the distance
    window_a: np.ndarray
    window_b: np.ndarray
    distance: np.ndarray

    @staticmethod
    def of(columns: Sequence[Sequence[int]] | None = None) -> "Candidates":
        """Candidates from six columns in the order of CANDIDATE_COLUMNS (none: no candidates)."""
        columns = columns if columns is not None else [()] * len(CANDIDATE_COLUMNS)
        return Candidates(*(np.asarray(column, np.int32 if name in "ab" else np.int8)
                            for name, column in zip(CANDIDATE_COLUMNS, columns, strict=True)))

    @staticmethod
    def of_each(candidates: Sequence[Candidate]) -> "Candidates":
        """The candidates given, as columns."""
        return Candidates.of([[getattr(candidate, name) for candidate in candidates] for name in CANDIDATE_COLUMNS])

    def __len__(self) -> int:
        return len(self.a)

    def __iter__(self) -> Iterator[Candidate]:
        for start in range(0, len(self), _ITERATION_CHUNK):
            rows = slice(start, start + _ITERATION_CHUNK)
            yield from map(Candidate, *(getattr(self, name)[rows].tolist() for name in CANDIDATE_COLUMNS))

    def __getitem__(self, rows: np.ndarray) -> "Candidates":
        return Candidates(*(getattr(self, name)[rows] for name in CANDIDATE_COLUMNS))

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Each candidate's image rows, lower first."""
        return np.minimum(self.a, self.b), np.maximum(self.a, self.b)

    def in_order(self) -> "Candidates":
        """In the order `find_candidates` gives: by pair (lower row first), then the simplest kind of
        alignment first; ties keep their order."""
        low, high = self.pairs()
        return self[np.lexsort((np.maximum(WINDOW_RANK[self.window_a], WINDOW_RANK[self.window_b]), high, low))]

    @staticmethod
    def concatenate(parts: Sequence["Candidates"]) -> "Candidates":
        parts = [Candidates.of(), *parts]
        return Candidates(*(np.concatenate([getattr(part, name) for part in parts]) for name in CANDIDATE_COLUMNS))


def find_candidates(images: ImageTable, radius: int,
                    join: Callable[[np.ndarray, np.ndarray, int], np.ndarray] = hamming_join,
                    new: np.ndarray | None = None) -> Candidates:
    """Pairs of images that may show the same picture, each with the alignment under which its hashes met.

    Searched: the whole frame of each image, in each orientation, against every window of every other image
    (crops, and the content inside borders), and the part above a bottom caption band against the same part
    (captions and overlays). A pair appears once per kind of alignment (whole frames, a border, a crop, a
    caption band), with its closest hypothesis of that kind, the simplest kind first (`Candidates.in_order`).
    `join` is `hamming_join` or what an engine runs in its place. With `new` (image rows), only the pairs
    with at least one new image are searched: the caller knows the pairs among the others.
    """
    everyone = np.arange(len(images))
    pairings = [(everyone, everyone)] if new is None else [(new, everyone), (np.setdiff1d(everyone, new), new)]
    return closest_of_each_kind(Candidates.concatenate(
        [_found(images, query_rows, index_rows, radius, join) for query_rows, index_rows in pairings]))


@dataclass(frozen=True, slots=True)
class SearchPart:
    """Images `rows`, searched against images `partners`: the partners' whole frames against the rows' windows
    when `framed`, else the rows' frames against the partners' windows; and the caption bands of both, either
    way. Each side's images may be among the other's."""

    rows: np.ndarray
    partners: np.ndarray
    framed: bool


def frames_probe(images: ImageTable, frames_of: int, windows_of: int) -> bool:
    """Whether the frames of `frames_of` images are fewer hashes than the windows of `windows_of` images: the
    join probes with the fewer, and a search cut into blocks had best cut those."""
    return images.hashes.shape[1] * frames_of <= len(_FRAMED) * windows_of


def searched_blocks(images: ImageTable, parts: Sequence[SearchPart], radius: int,
                    join: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
                    block: int) -> Iterator[tuple[np.ndarray, Candidates]]:
    """A search cut into blocks that each stand alone: of each part, `block` of its rows at a time, those rows and
    the closest hypothesis of each kind the block's images meet a partner under. `closest_of_each_kind` of all
    the blocks is what `find_candidates` finds when the parts cover the pairs it searches (each pair of images
    needs its frames searched both ways: as the rows' and as the partners'), whichever blocks an earlier search
    found. The rows should be the side with the fewer hashes to probe with: each block builds the tables of its
    partners again."""
    for part in parts:
        for start in range(0, len(part.rows), block):
            rows = part.rows[start:start + block]
            frames, windows = (part.partners, rows) if part.framed else (rows, part.partners)
            found = [_matches(queries, index, join(queries.hashes, index.hashes, radius))
                     for queries, index in _frame_searches(images, frames, windows)]
            bands, partner_bands = _window_grid(images, rows, ABOVE_CAPTION), _window_grid(images, part.partners,
                                                                                           ABOVE_CAPTION)
            captions = _matches(bands, partner_bands, join(bands.hashes, partner_bands.hashes, radius))
            # The search finds caption bands from both images of a pair: so do the blocks, whichever probes.
            found += [captions, Candidates(captions.b, captions.a, *(getattr(captions, name)
                                                                     for name in CANDIDATE_COLUMNS[2:]))]
            yield rows, closest_of_each_kind(Candidates.concatenate(found))


def closest_of_each_kind(found: Candidates) -> Candidates:
    """The closest hypothesis of each kind of alignment of each pair of images among `found`, `in_order`: the
    same whichever order they were found in."""
    low, high = found.pairs()
    complexity = np.maximum(WINDOW_RANK[found.window_a], WINDOW_RANK[found.window_b])
    ties = (found.b, found.window_b, found.a, found.orientation)  # broken the same way for any join order
    order = np.lexsort((*ties, found.distance, complexity, high, low))
    key = np.stack([low, high, complexity])[:, order]
    first = np.ones(len(order), bool)
    first[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    return found[order[first]]


class CandidatesByPair:
    """Candidates `in_order`, looked up by pair of images: a binary search over the pairs' codes."""

    def __init__(self, candidates: Candidates) -> None:
        low, high = candidates.pairs()
        self._codes = _pair_code(low, high)
        self._candidates = candidates

    def between(self, a: int, b: int, radius: int) -> Candidates:
        """The candidates of images a and b within `radius`, the simplest alignment first."""
        code = _pair_code(np.array([min(a, b)]), np.array([max(a, b)]))
        start, stop = np.searchsorted(self._codes, np.concatenate([code, code + 1]))
        found = self._candidates[start:stop]
        return found[found.distance <= radius]


def _pair_code(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """One int64 per pair of image rows (lower first), ordered as the pairs are."""
    return low.astype(np.int64) << 32 | high


# The simplest explanation first: whole frames, then a border, then crops, then a caption band.
WINDOW_RANK = np.array([{WHOLE: 0, CONTENT: 1, ABOVE_CAPTION: 3}.get(window, 2) for window in range(len(WINDOWS))])
_FRAMED = np.array([WHOLE, CENTRE, LEFT, RIGHT, TOP, BOTTOM])  # the windows a whole frame is searched against


@dataclass(frozen=True, slots=True)
class _Grid:
    """The hashes of images `rows`, `width` a piece, image after image: hash p is of image rows[p // width],
    turned by orientations[p % width], in window windows[p % width]. Whose each hash is, is worked out when
    asked, not held: a million images have 16 million hashes."""

    hashes: np.ndarray  # (len(rows) * width,) uint64
    rows: np.ndarray
    orientations: np.ndarray  # (width,)
    windows: np.ndarray  # (width,)

    def owners(self, positions: np.ndarray) -> np.ndarray:
        return self.rows[positions // len(self.windows)].astype(np.int32)

    def slots(self, positions: np.ndarray) -> np.ndarray:
        return positions % len(self.windows)


def _searches(images: ImageTable, query_rows: np.ndarray, index_rows: np.ndarray) -> Iterator[tuple[_Grid, _Grid]]:
    """What is searched against what: `_frame_searches`; and the part above a caption band, upright, against the
    same part. Each made when its turn comes, so that only one search's copies are held."""
    yield from _frame_searches(images, query_rows, index_rows)
    yield _window_grid(images, query_rows, ABOVE_CAPTION), _window_grid(images, index_rows, ABOVE_CAPTION)


def _frame_searches(images: ImageTable, query_rows: np.ndarray,
                    index_rows: np.ndarray) -> Iterator[tuple[_Grid, _Grid]]:
    """Each query image's whole frame, in every orientation, against the framed windows of each index image and
    its content where it has a border to remove."""
    frames = _Grid(_taken(images.hashes, query_rows).reshape(-1), query_rows,
                   np.arange(images.hashes.shape[1]), np.full(images.hashes.shape[1], WHOLE))
    yield frames, _Grid(images.windows[index_rows[:, None], _FRAMED].reshape(-1), index_rows,
                        np.zeros(len(_FRAMED), np.int64), _FRAMED)
    bordered = index_rows[(images.content_box[index_rows] != np.array(WHOLE_BOX, np.float32)).any(axis=1)]
    yield frames, _window_grid(images, bordered, CONTENT)


def _window_grid(images: ImageTable, rows: np.ndarray, window: int) -> _Grid:
    return _Grid(images.windows[rows, window], rows, np.zeros(1, np.int64), np.full(1, window))


def _taken(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """array[rows], not copied when the rows are all of them in order (a million images' hashes are 64 MB)."""
    return array if len(rows) == len(array) and (rows == np.arange(len(array))).all() else array[rows]


def _found(images: ImageTable, query_rows: np.ndarray, index_rows: np.ndarray, radius: int,
           join: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> Candidates:
    """Every hypothesis under which the hashes of a query image and of another, index, image meet within
    `radius`."""
    return Candidates.concatenate([_matches(queries, index, join(queries.hashes, index.hashes, radius))
                                   for queries, index in _searches(images, query_rows, index_rows)])


def _matches(queries: _Grid, index: _Grid, pairs: np.ndarray) -> Candidates:
    """Matched hashes (positions in `queries`, `index`) → candidates, those between an image and itself left out."""
    a, b = queries.owners(pairs[:, 0]), index.owners(pairs[:, 1])
    different = a != b
    pairs, a, b = pairs[different], a[different], b[different]
    query_slots, index_slots = queries.slots(pairs[:, 0]), index.slots(pairs[:, 1])
    distances = np.bitwise_count(queries.hashes[pairs[:, 0]] ^ index.hashes[pairs[:, 1]])
    return Candidates.of([a, b, queries.orientations[query_slots], queries.windows[query_slots],
                          index.windows[index_slots], distances])
