"""The candidate search is exact: it returns what comparing every pair would return, nothing more or less."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from benchmarks.speed.clustered_hashes import clustered_hashes
from lookalike.stages import search
from lookalike.stages.decode import decode_file
from lookalike.stages.images import table_of
from lookalike.stages.search import find_candidates, hamming_join, hamming_pairs

from .conftest import open_rgb, save


@pytest.fixture(autouse=True, params=["multi-index hashing", "all pairs compared"])
def way(request, monkeypatch):
    """Every test runs both ways a search can go: through the index, and (small searches) comparing all pairs."""
    monkeypatch.setattr(search, "BRUTE_FORCE_PAIRS", 0 if request.param == "multi-index hashing" else 10**12)


def all_pairs_within(hashes: np.ndarray, radius: int) -> np.ndarray:
    """The reference: compare every pair."""
    distances = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    return np.argwhere(np.triu(distances <= radius, k=1))


def all_matches_within(queries: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray:
    return np.argwhere(np.bitwise_count(queries[:, None] ^ index[None, :]) <= radius)


def random_hashes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, n, dtype=np.uint64)


def low_entropy_hashes(n: int, seed: int) -> np.ndarray:
    """Hashes that differ only in a few scattered bits: every substring bucket is crowded."""
    varying_bits = np.uint64(0x8000_0400_0020_0101)
    return random_hashes(n, seed) & varying_bits | np.uint64(0x1234_5678_9ABC_DEF0)


@pytest.mark.parametrize("radius", [0, 1, 2, 4, 8, 12, 16])
@pytest.mark.parametrize("make", [clustered_hashes, random_hashes, low_entropy_hashes])
def test_pairs_are_exactly_those_within_the_radius(make, radius):
    hashes = make(1500, 7)
    assert np.array_equal(hamming_pairs(hashes, radius), all_pairs_within(hashes, radius))


def test_pairs_come_as_sorted_int64_rows_with_i_below_j():
    pairs = hamming_pairs(clustered_hashes(2000, 3), 8)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2 and len(pairs) > 0
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert np.array_equal(pairs, pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))])


def test_identical_hashes_are_all_paired_with_each_other():
    hashes = np.full(400, 0xDEAD_BEEF_0BAD_CAFE, dtype=np.uint64)
    pairs = hamming_pairs(hashes, 0)
    assert len(pairs) == 400 * 399 // 2
    assert np.array_equal(pairs, all_pairs_within(hashes, 0))


def test_radius_zero_finds_exact_duplicates_only():
    hashes = np.array([5, 7, 5, 4, 7, 5], dtype=np.uint64)
    assert hamming_pairs(hashes, 0).tolist() == [[0, 2], [0, 5], [1, 4], [2, 5]]


def test_radius_64_pairs_everything():
    hashes = random_hashes(50, 1)
    assert len(hamming_pairs(hashes, 64)) == 50 * 49 // 2


@pytest.mark.parametrize("hashes", [np.array([], dtype=np.uint64), np.array([42], dtype=np.uint64)])
def test_fewer_than_two_hashes_have_no_pairs(hashes):
    pairs = hamming_pairs(hashes, 16)
    assert pairs.shape == (0, 2) and pairs.dtype == np.int64


def test_signed_hashes_are_read_as_their_64_bits():
    hashes = clustered_hashes(1000, 5)
    assert np.array_equal(hamming_pairs(hashes.view(np.int64), 6), hamming_pairs(hashes, 6))


def test_a_negative_radius_is_refused():
    with pytest.raises(ValueError, match="radius"):
        hamming_pairs(random_hashes(10, 0), -1)


@pytest.mark.parametrize("n_queries, n_index", [(300, 1200), (1200, 300)])
@pytest.mark.parametrize("radius", [0, 3, 8, 16])
def test_join_is_exactly_the_matches_within_the_radius(n_queries, n_index, radius):
    hashes = clustered_hashes(n_queries + n_index, 11)
    queries, index = hashes[:n_queries], hashes[n_queries:]
    assert np.array_equal(hamming_join(queries, index, radius), all_matches_within(queries, index, radius))


def test_join_matches_each_query_with_its_own_copy():
    hashes = clustered_hashes(800, 2)
    matches = hamming_join(hashes, hashes, 0)
    assert {(i, i) for i in range(800)} <= set(map(tuple, matches.tolist()))


def test_join_with_an_empty_side_is_empty():
    empty, some = np.array([], dtype=np.uint64), np.arange(5, dtype=np.uint64)
    assert hamming_join(empty, some, 8).shape == (0, 2)
    assert hamming_join(some, empty, 8).shape == (0, 2)


def test_orientation_variants_find_their_canonical_hash():
    """Searching the 8 orientation variants of each image against the canonical hashes, as the pipeline does."""
    canonical = clustered_hashes(500, 4)
    rng = np.random.default_rng(0)
    variants = np.concatenate([canonical ^ rng.integers(0, 2**64, dtype=np.uint64) for _ in range(7)] + [canonical])
    assert np.array_equal(hamming_join(variants, canonical, 8), all_matches_within(variants, canonical, 8))


near_copies = st.lists(
    st.tuples(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 63), max_size=10), st.integers(1, 4)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(near_copies, st.integers(0, 20))
def test_pairs_match_brute_force_on_any_group_of_near_copies(originals, radius):
    """Each original comes with a few copies, each with some of the listed bits flipped."""
    rng = np.random.default_rng(len(originals))
    hashes = np.array(
        [
            original ^ sum(1 << bit for bit in set(bits) if rng.random() < 0.5)
            for original, bits, copies in originals
            for _ in range(copies)
        ],
        dtype=np.uint64,
    )
    assert np.array_equal(hamming_pairs(hashes, radius), all_pairs_within(hashes, radius))


def test_a_search_for_new_images_finds_exactly_the_full_search_s_pairs_that_involve_them(photos, tmp_path):
    paths = []
    for name, path in photos.items():
        image = open_rgb(path)
        paths += [path, save(image.transpose(Image.Transpose.ROTATE_90), tmp_path / f"{name}-turned.jpg"),
                  save(image.crop((0, 0, image.width * 3 // 4, image.height)), tmp_path / f"{name}-cropped.jpg")]
    images = table_of([decode_file(str(path)) for path in paths])
    everything = find_candidates(images, 10)
    new = np.array([1, 3, 5, 9])  # a turned copy, an original, a cropped copy, another original's copy
    with_new = [c for c in everything if c.a in new or c.b in new]
    assert len(with_new) >= 3 and len(everything) > len(with_new)
    assert list(find_candidates(images, 10, new=new)) == with_new
