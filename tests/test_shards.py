"""The sharded candidate join finds exactly the pairs of the one-machine join, however it is cut."""

from __future__ import annotations

import time

import numpy as np
import pytest

from benchmarks.speed.clustered_hashes import clustered_hashes
from lookalike.engines.shards import plan_shards, sharded_join, sharded_pairs
from lookalike.stages.search import hamming_join, hamming_pairs


@pytest.mark.parametrize("radius", [0, 3, 10])
def test_sixteen_shards_find_the_pairs_of_hamming_pairs(radius):
    hashes = clustered_hashes(20_000, seed=0)
    expected = hamming_pairs(hashes, radius)
    assert len(expected) > 500
    assert np.array_equal(sharded_pairs(hashes, radius, 16), expected)


@pytest.mark.parametrize("shards", [1, 5, 64])
def test_a_join_of_two_sets_in_any_number_of_shards_finds_the_pairs_of_hamming_join(shards):
    hashes = clustered_hashes(12_000, seed=1)
    queries, index = hashes[:3_000], hashes[3_000:]
    assert np.array_equal(sharded_join(queries, index, 10, shards), hamming_join(queries, index, 10))


def test_shards_are_cut_by_substring_and_prefix():
    plan = plan_shards(10, 20_000, 20_000, 16)
    assert len(plan.shards) >= 16
    assert {shard.substring for shard in plan.shards} == set(range(len(plan.substrings)))


def test_empty_input_and_bad_arguments():
    assert sharded_pairs(np.empty(0, np.uint64), 4, 16).shape == (0, 2)
    with pytest.raises(ValueError, match="shards"):
        sharded_pairs(clustered_hashes(10), 4, 0)


@pytest.mark.slow
def test_a_million_hashes_in_sixteen_shards():
    hashes = clustered_hashes(1_000_000, seed=2)
    start = time.perf_counter()
    expected = hamming_pairs(hashes, 10)
    one_join = time.perf_counter() - start
    start = time.perf_counter()
    sharded = sharded_pairs(hashes, 10, 16)
    all_shards = time.perf_counter() - start
    print(f"\n1 M hashes, radius 10, {len(expected):,} pairs: hamming_pairs {one_join:.1f} s, "
          f"16 shards one after another {all_shards:.1f} s")
    assert np.array_equal(sharded, expected)
