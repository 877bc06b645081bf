"""Local candidate search: pairs of images that share visual words, through an inverted index, never all pairs.

Each image is indexed by the words of its strongest local features (`local_features.search_words`). A query is
an image, or its mirror image, with the words of all its features, and votes for every indexed image that holds
one of them; a pair with MIN_VOTES votes or more is a candidate, at most TOP_PER_IMAGE a query, most votes first.
Words held by more than MAX_POSTING images (textures every photo has: grass, sky, noise) vote for nothing. The
index is sorted arrays (4 bytes a word and 4 an image), and queries are read and voted QUERY_CHUNK images at a
time (an image queries with three times the words it indexes), so memory grows with the number of images and
their indexed words, not with the number of pairs.

Guarantees: deterministic; each (a, b, mirrored) is given once, with a < b when not mirrored, in sorted order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

MIN_VOTES = 3  # words shared; a true pair shares 2 to 50 (screenshots fewest), look-alikes 0 to 2
TOP_PER_IMAGE = 3
MAX_POSTING = 32
QUERY_CHUNK = 4096


Queried = Callable[[int, int], Sequence[tuple[np.ndarray, np.ndarray]]]  # images start to stop: the words each
# and its mirror image query with


def local_candidates(words: Sequence[np.ndarray], queried: Queried) -> np.ndarray:
    """(k, 3) int64 rows (a, b, mirrored): image a (its mirror image when mirrored) may show part of image b's
    picture or b part of a's; `words[i]` are image i's indexed sorted uint32 words, `queried(start, stop)` the
    words that images start to stop and their mirror images query with."""
    index = _Index.of(words)
    found = [np.zeros((0, 3), np.int64)]
    for start in range(0, len(words), QUERY_CHUNK):
        chunk = queried(start, min(start + QUERY_CHUNK, len(words)))
        for mirrored in (False, True):
            found.append(index.voted([query[mirrored] for query in chunk], start, mirrored))
    return np.unique(np.concatenate(found), axis=0)


def _flattened(words: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(w) for w in words], np.int64)
    flat = np.concatenate([np.zeros(0, np.uint32), *words])
    return flat, np.repeat(np.arange(len(words), dtype=np.int32), lengths)


class _Index:
    """The inverted index: each distinct word (sorted `keys`) and the run of `postings` (images) holding it."""

    def __init__(self, keys: np.ndarray, starts: np.ndarray, counts: np.ndarray, postings: np.ndarray) -> None:
        self.keys, self.starts, self.counts, self.postings = keys, starts, counts, postings

    @staticmethod
    def of(words: Sequence[np.ndarray]) -> _Index:
        """The index of each image's words, sorted as one array of (word, image) codes, 8 bytes a posting while
        it is built, and kept in 4-byte arrays but for the runs' starts past 2**32 postings."""
        index_words, index_images = _flattened(words)
        codes = index_words.astype(np.uint64) << np.uint64(32) | index_images.astype(np.uint64)
        del index_words, index_images
        codes.sort()
        sorted_words, postings = (codes >> np.uint64(32)).astype(np.uint32), codes.astype(np.uint32).view(np.int32)
        del codes
        first = np.ones(len(sorted_words), bool)
        first[1:] = sorted_words[1:] != sorted_words[:-1]
        starts = np.flatnonzero(first).astype(np.uint32 if len(postings) < 2 ** 32 else np.int64)
        counts = np.diff(starts, append=len(postings)).astype(np.int32)
        return _Index(sorted_words[starts], starts, counts, postings)

    def voted(self, chunk: Sequence[np.ndarray], start: int, mirrored: bool) -> np.ndarray:
        """The candidates of one chunk of queries (images start, start + 1, ...)."""
        query_words, query_images = _flattened(chunk)
        if not len(self.keys) or not len(query_words):
            return np.zeros((0, 3), np.int64)
        at = np.minimum(np.searchsorted(self.keys, query_words), len(self.keys) - 1)
        hit = (self.keys[at] == query_words) & (self.counts[at] <= MAX_POSTING)
        at, query_images = at[hit], query_images[hit] + start
        lengths = self.counts[at]
        ends = np.cumsum(lengths)
        offsets = np.repeat(self.starts[at] - ends + lengths, lengths) + np.arange(ends[-1] if len(ends) else 0)
        queries, images = np.repeat(query_images, lengths), self.postings[offsets]
        keep = queries != images  # both ways: a query's words are not the words it is indexed by
        codes, votes = np.unique(queries[keep].astype(np.int64) * (1 << 32) + images[keep], return_counts=True)
        enough = votes >= MIN_VOTES
        return _top(codes[enough] >> 32, codes[enough] & 0xFFFFFFFF, votes[enough], mirrored)


def _top(a: np.ndarray, b: np.ndarray, votes: np.ndarray, mirrored: bool) -> np.ndarray:
    """At most TOP_PER_IMAGE candidates for each image (on either side), most votes first."""
    order = np.lexsort((b, a, -votes))
    a, b = a[order], b[order]
    keep = np.zeros(len(a), bool)
    taken: dict[int, int] = {}
    for position, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if taken.get(x, 0) < TOP_PER_IMAGE or taken.get(y, 0) < TOP_PER_IMAGE:
            keep[position] = True
            taken[x], taken[y] = taken.get(x, 0) + 1, taken.get(y, 0) + 1
    low, high = (np.minimum(a, b), np.maximum(a, b)) if not mirrored else (a, b)
    return np.stack([low[keep], high[keep], np.full(int(keep.sum()), int(mirrored))], axis=1).astype(np.int64)
