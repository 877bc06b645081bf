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
(NUMBA_NUM_THREADS), over blocks of queries; queries are visited in substring
order so that consecutive probes hit neighbouring table entries.  Memory is,
per searched substring of b bits, 12 bytes per hash plus a 4 * 2**b byte
offset table, then 16 bytes per pair found.  The kernels are compiled on
first use and cached (numba cache=True).
"""

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from math import comb
from types import ModuleType

import numpy as np

from lookalike.images import ImageTable
from lookalike.signatures import ABOVE_CAPTION, CONTENT, WHOLE, WHOLE_BOX, WINDOWS

HASH_BITS = 64
# A dense offset table over 2**24 substring values is 64 MiB; wider substrings are never worth it.
MAX_SUBSTRING_BITS = 24
# Relative costs (measured) of one bucket probe, one candidate check and one table entry.
PROBE_COST = 1.0
CANDIDATE_COST = 0.3
TABLE_ENTRY_COST = 0.3
BLOCKS_PER_THREAD = 16
MIN_BLOCK = 1024
# Below this many query × index pairs, NumPy compares them all (about 3 ns a pair) sooner than numba loads its
# compiled kernels (0.4 s, more than half of a small collection's search).
BRUTE_FORCE_PAIRS = 30_000_000
BRUTE_FORCE_BLOCK = 1 << 18  # pairs compared at once


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
    codes = _probe_block(_SortedBy(queries, substring), _SortedBy(index, substring), range(len(queries)), radius,
                         *_prior_checks(prior), self_join=False)
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
    # A self-join probes each unordered pair of substring values from one side only.
    share = 0.5 if self_join else 1.0
    cost = 0.0
    for substring in split:
        probes = n_queries * substring.probes * share
        candidates = probes * n_index / 2**substring.bits
        tables = (1 if self_join else 2) * 2**substring.bits + n_queries + n_index
        cost += PROBE_COST * probes + CANDIDATE_COST * candidates + TABLE_ENTRY_COST * tables
    return cost


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
    codes = []
    with ThreadPoolExecutor(threads) as pool:
        for position, substring in enumerate(substrings):  # one at a time: a substring's tables are 16 B a hash
            sides = [index] if self_join else [index, queries]
            table, *rest = pool.map(_SortedBy, sides, [substring] * len(sides))
            sorted_queries = rest[0] if rest else table
            shifts, masks, radii = _prior_checks(substrings[:position])
            probe = partial(_probe_block, sorted_queries, table, radius=radius, prior_shifts=shifts,
                            prior_masks=masks, prior_radii=radii, self_join=self_join)
            codes += pool.map(probe, _blocks(len(queries), threads * BLOCKS_PER_THREAD))
    return np.concatenate(codes)


def _compared_codes(queries: np.ndarray, index: np.ndarray, radius: int, self_join: bool) -> np.ndarray:
    """`_match_codes` by comparing every query with every index entry, a block of queries at a time."""
    codes = [np.empty(0, dtype=np.int64)]
    block = max(1, BRUTE_FORCE_BLOCK // len(index))
    for start in range(0, len(queries), block):
        query_ids, index_ids = np.nonzero(np.bitwise_count(queries[start:start + block, None] ^ index) <= radius)
        query_ids += start
        if self_join:
            query_ids, index_ids = query_ids[query_ids < index_ids], index_ids[query_ids < index_ids]
        codes.append(query_ids * len(index) + index_ids)
    return np.concatenate(codes)


def _sorted_pairs(codes: np.ndarray, n_second: int) -> np.ndarray:
    codes.sort()
    pairs = np.empty((len(codes), 2), dtype=np.int64)
    np.divmod(codes, n_second, out=(pairs[:, 0], pairs[:, 1]))
    return pairs


def _blocks(n: int, count: int) -> Iterator[range]:
    size = max(MIN_BLOCK, -(-n // count))
    return (range(start, min(start + size, n)) for start in range(0, n, size))


class _SortedBy:
    """Hashes stably sorted by one substring, with the offset of every substring value's bucket."""

    def __init__(self, hashes: np.ndarray, substring: Substring) -> None:
        self.substring = substring
        keys = (hashes >> np.uint64(substring.shift)) & np.uint64((1 << substring.bits) - 1)
        self.offsets, self.ids = _kernels().counting_sort(keys, 1 << substring.bits)
        self.hashes = hashes[self.ids]


def _probe_block(
    queries: _SortedBy,
    table: _SortedBy,
    block: range,
    radius: int,
    prior_shifts: np.ndarray,
    prior_masks: np.ndarray,
    prior_radii: np.ndarray,
    self_join: bool,
) -> np.ndarray:
    substring = table.substring
    flips, group_starts = _flip_masks(substring.bits, substring.radius)
    return _kernels().probe_kernel(
        queries.hashes,
        queries.ids,
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
    from lookalike import search_kernels

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
    queries, index = _queries(images, everyone), _index(images, everyone)
    if new is None:
        pairs = join(queries.hashes, index.hashes, radius)
        return _candidates(queries, index, pairs[:, 0], pairs[:, 1])
    new_queries, new_entries = np.isin(queries.owner, new), np.isin(index.owner, new)
    with_new_query = _joined(join, queries.hashes, np.flatnonzero(new_queries), index.hashes,
                             np.arange(len(index.hashes)), radius)
    with_new_entry = _joined(join, queries.hashes, np.flatnonzero(~new_queries), index.hashes,
                             np.flatnonzero(new_entries), radius)
    pairs = np.concatenate([with_new_query, with_new_entry])
    return _candidates(queries, index, pairs[:, 0], pairs[:, 1])


def _joined(join: Callable[[np.ndarray, np.ndarray, int], np.ndarray], queries: np.ndarray, query_ids: np.ndarray,
            index: np.ndarray, index_ids: np.ndarray, radius: int) -> np.ndarray:
    """`join` of the chosen queries and index entries, as positions in the whole `queries` and `index`."""
    pairs = join(queries[query_ids], index[index_ids], radius)
    return np.stack([query_ids[pairs[:, 0]], index_ids[pairs[:, 1]]], axis=1)


def candidates_between(images: ImageTable, a: int, b: int, radius: int) -> Candidates:
    """Every alignment of images a and b that `find_candidates` could propose within `radius`, closest first."""
    rows = np.array([a, b])
    queries, index = _queries(images, rows), _index(images, rows)
    query_rows, index_rows = np.divmod(np.arange(len(queries.hashes) * len(index.hashes)), len(index.hashes))
    near = np.bitwise_count(queries.hashes[query_rows] ^ index.hashes[index_rows]) <= radius
    return _candidates(queries, index, query_rows[near], index_rows[near])


# The simplest explanation first: whole frames, then a border, then crops, then a caption band.
WINDOW_RANK = np.array([{WHOLE: 0, CONTENT: 1, ABOVE_CAPTION: 3}.get(window, 2) for window in range(len(WINDOWS))])


@dataclass(frozen=True, slots=True)
class _Hashes:
    """Hashes to search, each with the image it belongs to, the orientation and the window it was taken in
    (the last three as narrow integers: a million images have 16 million hashes)."""

    hashes: np.ndarray
    owner: np.ndarray
    orientation: np.ndarray
    window: np.ndarray


def _queries(images: ImageTable, rows: np.ndarray) -> _Hashes:
    """Each image's whole frame in all orientations, and its part above a caption band, upright."""
    n, orientations = len(rows), images.hashes.shape[1]
    return _Hashes(
        hashes=np.concatenate([images.hashes[rows].T.reshape(-1), images.windows[rows, ABOVE_CAPTION]]),
        owner=np.concatenate([np.tile(rows, orientations), rows]).astype(np.int32),
        orientation=np.concatenate([np.repeat(np.arange(orientations), n), np.zeros(n, np.int64)]).astype(np.int8),
        window=np.concatenate([np.full(n * orientations, WHOLE), np.full(n, ABOVE_CAPTION)]).astype(np.int8),
    )


def _index(images: ImageTable, rows: np.ndarray) -> _Hashes:
    """Every window of every image, upright; content windows only where there is a border to remove."""
    n, count = len(rows), images.windows.shape[1]
    bordered = (images.content_box[rows] != np.array(WHOLE_BOX, np.float32)).any(axis=1)
    window = np.repeat(np.arange(count), n)
    keep = (window != CONTENT) | np.tile(bordered, count)
    return _Hashes(
        hashes=images.windows[rows].T.reshape(-1)[keep],
        owner=np.tile(rows, count)[keep].astype(np.int32),
        orientation=np.zeros(int(keep.sum()), np.int8),
        window=window[keep].astype(np.int8),
    )


def _candidates(queries: _Hashes, index: _Hashes, query_rows: np.ndarray, index_rows: np.ndarray) -> Candidates:
    """Matched hashes → candidates: different images, compatible windows, closest hypotheses per pair."""
    a, b = queries.owner[query_rows], index.owner[index_rows]
    query_window, index_window = queries.window[query_rows], index.window[index_rows]
    compatible = np.where(query_window == WHOLE, index_window != ABOVE_CAPTION, index_window == ABOVE_CAPTION)
    keep = (a != b) & compatible
    query_rows, index_rows, a, b = query_rows[keep], index_rows[keep], a[keep], b[keep]
    query_window, index_window = query_window[keep], index_window[keep]
    distances = np.bitwise_count(queries.hashes[query_rows] ^ index.hashes[index_rows]).astype(np.int64)
    complexity = np.maximum(WINDOW_RANK[query_window], WINDOW_RANK[index_window])
    low, high = np.minimum(a, b), np.maximum(a, b)
    order = np.lexsort((index_rows, query_rows, distances, complexity, high, low))  # the same for any join order
    key = np.stack([low, high, complexity])[:, order]
    first = np.ones(len(order), bool)
    first[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    chosen = order[first]
    query, entry = query_rows[chosen], index_rows[chosen]
    return Candidates.of([a[chosen], b[chosen], queries.orientation[query], queries.window[query],
                          index.window[entry], distances[chosen]])
