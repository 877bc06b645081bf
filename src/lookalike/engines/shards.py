"""The candidate join cut into shards that can run anywhere: one shard per multi-index-hashing chunk key.

Guarantees: `sharded_join` returns exactly what `search.hamming_join` returns, and `sharded_pairs` exactly what
`search.hamming_pairs` returns (same pairs, same order), however many shards; each shard needs only its own
hashes, so shards can run on other processes or machines (`join_shard` is what a worker runs).

How: the 64 bits are cut into the substrings `search.plan_substrings` chooses. Two hashes within the radius
agree on some substring within that substring's radius (pigeonhole); the first such substring owns the pair.
A shard is one substring and one value of its top `prefix_bits` bits (the join key): its index side is the
index hashes with that prefix, its query side every query whose prefix is within the substring's radius of it,
so a shard sees every pair its substring owns. Each shard probes only its substring (`search.substring_join`),
only the values with its prefix, and keeps only the pairs its substring owns, so every pair is found by exactly
one shard and the shards together do the work of one `hamming_join`, plus building their tables. Queries are
copied to a fraction `ball(prefix_bits, radius) / 2**prefix_bits` of their substring's shards: more shards
spread the work thinner and copy each query to more of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lookalike.stages.search import HASH_BITS, Substring, plan_substrings, substring_join


@dataclass(frozen=True, slots=True)
class Shard:
    """The hashes whose substring `substring` (a position in the plan) starts with the bits `prefix`."""

    substring: int
    prefix: int


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """How one join is cut: the search's substrings, and how many top bits of each make a shard's key."""

    radius: int
    substrings: tuple[Substring, ...]
    prefix_bits: int

    @property
    def shards(self) -> list[Shard]:
        return [Shard(t, p) for t in range(len(self.substrings)) for p in range(1 << self.prefix_bits)]


def plan_shards(radius: int, n_queries: int, n_index: int, shards: int) -> ShardPlan:
    """At least `shards` shards (fewer only when the substrings are too short to be cut that finely)."""
    if shards < 1 or radius < 0:
        raise ValueError(f"shards must be >= 1 and radius >= 0, got {shards} and {radius}")
    radius = min(radius, HASH_BITS)
    substrings = tuple(plan_substrings(radius, n_queries, n_index, self_join=False))
    per_substring = -(-shards // len(substrings))
    prefix_bits = min((per_substring - 1).bit_length(), *(s.bits for s in substrings))
    return ShardPlan(radius, substrings, prefix_bits)


def shard_members(plan: ShardPlan, shard: Shard, queries: np.ndarray,
                  index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the queries and of the index hashes that `shard` joins."""
    substring = plan.substrings[shard.substring]
    query_distance = np.bitwise_count(_prefixes(plan, substring, queries) ^ np.uint64(shard.prefix))
    return (np.flatnonzero(query_distance <= substring.radius),
            np.flatnonzero(_prefixes(plan, substring, index) == np.uint64(shard.prefix)))


def join_shard(plan: ShardPlan, shard: Shard, queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The pairs (query position, index position) within the radius that this shard owns, unsorted.

    `queries` and `index` are the shard's own hashes (see `shard_members`); positions are into them. A query
    whose prefix is d bits from the shard's probes the rest of the substring within the substring's radius
    less d, so each shard probes only its share of the substring's ball, and the shards of a substring
    together probe it once.
    """
    substring = plan.substrings[shard.substring]
    rest = Substring(substring.shift, substring.bits - plan.prefix_bits, substring.radius)
    prefix_distance = np.bitwise_count(_prefixes(plan, substring, queries) ^ np.uint64(shard.prefix))
    parts = [np.empty((0, 2), dtype=np.int64)]
    for distance in range(substring.radius + 1):
        members = np.flatnonzero(prefix_distance == distance)
        pairs = substring_join(queries[members], index, plan.radius, replace(rest, radius=substring.radius - distance),
                               plan.substrings[:shard.substring])
        parts.append(np.stack([members[pairs[:, 0]], pairs[:, 1]], axis=1))
    return np.concatenate(parts)


RunShards = Callable[[ShardPlan, Sequence[Shard], np.ndarray, np.ndarray], Iterable[np.ndarray]]


def sharded_join(queries: np.ndarray, index: np.ndarray, radius: int, shards: int,
                 run: RunShards | None = None) -> np.ndarray:
    """`hamming_join(queries, index, radius)` computed shard by shard.

    `run(plan, shards, queries, index)` yields `shard_pairs` of each shard, wherever it runs them; by default
    the shards run one after another here.
    """
    queries, index = np.asarray(queries, dtype=np.uint64), np.asarray(index, dtype=np.uint64)
    plan = plan_shards(radius, len(queries), len(index), shards)
    return merged_pairs(list((run or run_here)(plan, plan.shards, queries, index)), len(index))


def run_here(plan: ShardPlan, shards: Sequence[Shard], queries: np.ndarray, index: np.ndarray) -> Iterable[np.ndarray]:
    return (shard_pairs(plan, shard, queries, index) for shard in shards)


def sharded_pairs(hashes: np.ndarray, radius: int, shards: int) -> np.ndarray:
    """`hamming_pairs(hashes, radius)` computed shard by shard: the join of the hashes with themselves, i < j."""
    pairs = sharded_join(hashes, hashes, radius, shards)
    return pairs[pairs[:, 0] < pairs[:, 1]]


def shard_pairs(plan: ShardPlan, shard: Shard, queries: np.ndarray, index: np.ndarray) -> np.ndarray:
    """`join_shard` on all the hashes, in global positions: what one worker does with its shard."""
    query_ids, index_ids = shard_members(plan, shard, queries, index)
    pairs = join_shard(plan, shard, queries[query_ids], index[index_ids])
    return np.stack([query_ids[pairs[:, 0]], index_ids[pairs[:, 1]]], axis=1).reshape(-1, 2)


def merged_pairs(parts: list[np.ndarray], n_index: int) -> np.ndarray:
    """The shards' pairs as one array sorted like `hamming_join`'s."""
    codes = np.concatenate([part[:, 0] * n_index + part[:, 1] for part in parts]) if parts else np.empty(0, np.int64)
    codes.sort()
    pairs = np.empty((len(codes), 2), dtype=np.int64)
    np.divmod(codes, max(n_index, 1), out=(pairs[:, 0], pairs[:, 1]))
    return pairs


def _prefixes(plan: ShardPlan, substring: Substring, hashes: np.ndarray) -> np.ndarray:
    shift = substring.shift + substring.bits - plan.prefix_bits
    return (hashes >> np.uint64(shift)) & np.uint64((1 << plan.prefix_bits) - 1)
