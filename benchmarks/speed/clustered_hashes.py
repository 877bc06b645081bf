"""Synthetic 64-bit perceptual hashes that cluster the way a real photo library does.

Uniformly random hashes are the easy case for a Hamming search: almost nothing is
near anything else.  A real library is not like that, and `clustered_hashes`
models four things that make the search harder:

* Biased bits.  A pHash bit compares a DCT coefficient with the median, and some
  coefficients are usually above it: each bit position gets its own probability
  of being 1, drawn from [0.3, 0.7].  Biased bits make substring buckets of a
  multi-index search fuller than on uniform data (about 3x for 21-bit
  substrings).
* Near-duplicate clusters (40 % of images by default).  Bursts, edits, resizes
  and re-encodes of one picture: a centre drawn like any other hash, and members
  at Hamming distance 0..12 from it, skewed toward small distances
  (P(d) proportional to 0.6**d), so two members of a cluster are usually
  within a radius of 8 of each other.  Cluster sizes are heavy-tailed
  (1 + Zipf(2.5), so at least 2 and at most 1000): mostly pairs and small bursts, a few huge
  groups such as near-blank frames or a sticker sent a thousand times.
* Exact duplicates (5 %).  Byte-identical copies of other images hash
  identically; they are chosen among all other images, so big clusters get
  copied too.
* Background (the rest): unrelated photos with independent biased bits.

The output is shuffled and fully determined by (n, seed).
"""

import numpy as np

HASH_BITS = 64
MAX_MEMBER_DISTANCE = 12
DISTANCE_DECAY = 0.6
ZIPF_EXPONENT = 2.5
MAX_CLUSTER_SIZE = 1000


def clustered_hashes(
    n: int,
    seed: int = 0,
    cluster_fraction: float = 0.40,
    duplicate_fraction: float = 0.05,
) -> np.ndarray:
    """Return `n` uint64 hashes of a synthetic photo library (see the module doc)."""
    rng = np.random.default_rng(seed)
    bit_probabilities = rng.uniform(0.3, 0.7, HASH_BITS)
    n_duplicates = int(n * duplicate_fraction)
    n_clustered = min(int(n * cluster_fraction), n - n_duplicates)
    cluster_sizes = _cluster_sizes(rng, n_clustered)
    centres = _biased_hashes(rng, len(cluster_sizes), bit_probabilities)
    members = _flip_bits(rng, np.repeat(centres, cluster_sizes), _member_distances(rng, n_clustered))
    background = _biased_hashes(rng, n - n_duplicates - n_clustered, bit_probabilities)
    originals = np.concatenate([members, background])
    duplicates = originals[rng.integers(0, len(originals), n_duplicates)] if len(originals) else originals
    return rng.permutation(np.concatenate([originals, duplicates]))


def _cluster_sizes(rng: np.random.Generator, total: int) -> np.ndarray:
    """Heavy-tailed cluster sizes (each >= 2, except perhaps the last) summing to `total`."""
    sizes = np.minimum(1 + rng.zipf(ZIPF_EXPONENT, total // 2 + 1), MAX_CLUSTER_SIZE)
    ends = np.cumsum(sizes)
    n_clusters = int(np.searchsorted(ends, total)) + 1
    sizes = sizes[:n_clusters]
    sizes[-1] -= ends[n_clusters - 1] - total
    return sizes[sizes > 0]


def _biased_hashes(rng: np.random.Generator, n: int, bit_probabilities: np.ndarray) -> np.ndarray:
    hashes = np.zeros(n, dtype=np.uint64)
    for bit, probability in enumerate(bit_probabilities):
        hashes |= (rng.random(n) < probability).astype(np.uint64) << np.uint64(bit)
    return hashes


def _member_distances(rng: np.random.Generator, n: int) -> np.ndarray:
    distances = np.arange(MAX_MEMBER_DISTANCE + 1)
    weights = DISTANCE_DECAY**distances
    return rng.choice(distances, size=n, p=weights / weights.sum())


def _flip_bits(rng: np.random.Generator, hashes: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Flip exactly `distances[i]` distinct random bits of `hashes[i]`."""
    flips = np.zeros(len(hashes), dtype=np.uint64)
    short = np.flatnonzero(distances > 0)
    while len(short):
        flips[short] |= np.uint64(1) << rng.integers(0, HASH_BITS, len(short), dtype=np.uint64)
        short = short[np.bitwise_count(flips[short]) < distances[short]]
    return hashes ^ flips
