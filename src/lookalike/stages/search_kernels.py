"""The compiled inner loops of the searches (numba): hashes near each other (the search stage) and each descriptor's
nearest descriptors (`geometry.fit`). Kept apart so that importing `lookalike.stages.search`, and so every command,
does not pay numba's import: they are loaded on the first search or fit.

Guarantees: each function does exactly what its docstring says, on the arrays its caller gives it; the kernels
release the GIL so `search` runs them on one thread per core.
"""

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def counting_sort(hashes: np.ndarray, shift: np.uint64, key_mask: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, order): order stably sorts `hashes` by key (hash >> shift) & key_mask; bucket v is
    order[offsets[v]:offsets[v + 1]]. The keys are taken on the fly rather than held (8 bytes a hash), and the
    offsets fill in place (no copy of them)."""
    offsets = np.zeros(int(key_mask) + 2, dtype=np.int32)
    for value in hashes:
        offsets[((value >> shift) & key_mask) + np.uint64(1)] += 1
    for key in range(len(offsets) - 1):
        offsets[key + 1] += offsets[key]
    order = np.empty(len(hashes), dtype=np.int32)
    for i, value in enumerate(hashes):  # offsets[key] is where bucket key fills next...
        key = (value >> shift) & key_mask
        order[offsets[key]] = i
        offsets[key] += 1
    for key in range(len(offsets) - 1, 0, -1):  # ...and ends up where bucket key + 1 starts
        offsets[key] = offsets[key - 1]
    offsets[0] = 0
    return offsets, order


@numba.njit(inline="always")
def _popcount(x: np.uint64) -> np.int64:
    # LLVM turns this idiom into a single popcnt instruction.
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(nogil=True, cache=True)
def two_nearest(queries: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distances, indices), (n, 2) int32 each: the Hamming distances of each of the n `queries` to its nearest
    and second nearest of `found` and their rows (the first of equals nearest; -1 and 2**30 where `found` has
    fewer than two), as OpenCV's batchDistance(K=2) gives them; descriptors are 256 bits, 4 uint64 a row."""
    distances = np.full((len(queries), 2), 1 << 30, dtype=np.int32)
    indices = np.full((len(queries), 2), -1, dtype=np.int32)
    for i in range(len(queries)):
        q0, q1, q2, q3 = queries[i, 0], queries[i, 1], queries[i, 2], queries[i, 3]
        first, second, first_at, second_at = 1 << 30, 1 << 30, -1, -1
        for j in range(len(found)):
            distance = (_popcount(q0 ^ found[j, 0]) + _popcount(q1 ^ found[j, 1])
                        + _popcount(q2 ^ found[j, 2]) + _popcount(q3 ^ found[j, 3]))
            if distance < second:
                if distance < first:
                    second, second_at, first, first_at = first, first_at, distance, j
                else:
                    second, second_at = distance, j
        distances[i, 0], distances[i, 1], indices[i, 0], indices[i, 1] = first, second, first_at, second_at
    return distances, indices


@numba.njit(nogil=True, cache=True)
def probe_kernel(
    query_hashes: np.ndarray,
    query_ids: np.ndarray,
    start: int,
    stop: int,
    offsets: np.ndarray,
    table_hashes: np.ndarray,
    table_ids: np.ndarray,
    shift: np.uint64,
    key_mask: np.uint64,
    flips: np.ndarray,
    group_starts: np.ndarray,
    radius: int,
    prior_shifts: np.ndarray,
    prior_masks: np.ndarray,
    prior_radii: np.ndarray,
    self_join: bool,
) -> np.ndarray:
    """Codes query_id * len(table) + table_id of the matches this substring is first to find, for the
    queries query_hashes[query_ids[start:stop]] (the ids put them in the substring's order).

    In a self-join the queries are the table itself; a bucket at a different value is probed
    only from the smaller value (the highest flipped bit is 0 in the query), and the query's own
    bucket only past the query, so every unordered pair is met once.
    """
    n_table = np.int64(len(table_hashes))
    codes = np.empty(max(1024, stop - start), dtype=np.int64)
    n_codes = 0
    bits = len(group_starts) - 1
    for position in range(start, stop):
        query_id = np.int64(query_ids[position])
        query = query_hashes[query_id]
        key = (query >> shift) & key_mask
        for group in range(-1, bits):
            if group == -1:
                first, last = 0, 1
            elif self_join and (key >> np.uint64(group)) & np.uint64(1):
                continue
            else:
                first, last = group_starts[group], group_starts[group + 1]
            for flip in flips[first:last]:
                probe = key ^ flip
                bucket_start = offsets[probe]
                if self_join and flip == 0:
                    bucket_start = position + 1
                for slot in range(bucket_start, offsets[probe + np.uint64(1)]):
                    difference = query ^ table_hashes[slot]
                    if _popcount(difference) > radius:
                        continue
                    if _found_earlier(difference, prior_shifts, prior_masks, prior_radii):
                        continue
                    table_id = np.int64(table_ids[slot])
                    if n_codes == len(codes):
                        codes = _grown(codes)
                    if self_join and table_id < query_id:
                        codes[n_codes] = table_id * n_table + query_id
                    else:
                        codes[n_codes] = query_id * n_table + table_id
                    n_codes += 1
    return codes[:n_codes].copy()


@numba.njit(inline="always")
def _found_earlier(
    difference: np.uint64, prior_shifts: np.ndarray, prior_masks: np.ndarray, prior_radii: np.ndarray
) -> bool:
    for i in range(len(prior_shifts)):
        if _popcount((difference >> prior_shifts[i]) & prior_masks[i]) <= prior_radii[i]:
            return True
    return False


@numba.njit(inline="always")
def _grown(codes: np.ndarray) -> np.ndarray:
    grown = np.empty(2 * len(codes), dtype=codes.dtype)
    grown[: len(codes)] = codes
    return grown


# --- candidate pairs of images: which hashes are searched against which --------------------------------
