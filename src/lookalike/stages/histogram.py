"""The original definition of equal (`--method histogram`): the 800×600 LANCZOS resize's histogram, RMS.

This is the method of the StackOverflow script lookalike started from: resize every image to 800×600 with
LANCZOS (Pillow's old ANTIALIAS), take Pillow's `Image.histogram()`, and compare every pair by
RMS = sqrt(sum((h1 - h2)²) / bins); RMS == 0 is an exact duplicate, RMS < threshold (500) a maybe duplicate.

Guarantees:
- the same decisions as the original script on the files both can read: the histogram is taken exactly as
  the original takes it (the image as opened: no EXIF rotation, no mode conversion, full-size decode), and
  a pair's RMS is the original's value to the last bit (see `rms_of`), so RMS == 0 and RMS < threshold are
  decided as the original decides them;
- all pairs are compared with blocked matrix products, |a - b|² = |a|² + |b|² - 2 a·b in float64, never a
  Python loop per pair. Histogram counts are integers of at most 800 × 600, so every product and partial sum
  is an integer below 2⁵³ and the float64 arithmetic is exact on IEEE hardware; even so, every pair within
  rounding reach of RMS 0 or of the threshold is recomputed in integers before it is decided;
- the files put in groups are exactly the files the original flags (those in some pair with RMS < threshold):
  a group is a connected set of such pairs, its keeper chosen by the usual rule (`group.keeper_order`), and
  each member's `distance` is its RMS to the keeper — which can exceed the threshold when the member is
  linked to the keeper only through other members (its relation then says so).

Images of other modes than RGB: the original converts nothing, so an L or P image has 256 bins, LA 512, RGBA
and CMYK 1024, and images with as many bins are compared bin by bin whatever the bins mean. Between images
with different bin counts the original's `map` stops at the shorter histogram (RGBA against RGB compares the
R, G and B bins; an L image is compared with the red channel of an RGB one) and divides by the bin count of
whichever image its threads happened to list first, so its decision on such a pair changes from run to run.
lookalike compares the same bins and divides by their number, the mean the formula asks for: the larger of
the original's two possible values, so every pair lookalike flags is flagged by the original in every run,
and a pair the original flags only when its threads list the longer histogram first is not.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.stages.exact import content_hash
from lookalike.stages.group import KEEPER, NEAR, SAME_BYTES, Group, Member, keeper_order
from lookalike.stages.images import FilesOfImages, ImageTable
from lookalike.stages.walk import FileRecords, Problem

SIZE = (800, 600)
DEFAULT_THRESHOLD = 500.0
BLOCK_ENTRIES = 4_000_000  # pairs per matrix product block: 32 MB of float64
UNIT_ROUNDOFF = 2.0**-53


@dataclass(frozen=True, slots=True)
class Histogram:
    """The original's histogram of one file's content."""

    content_hash: bytes
    counts: np.ndarray  # (bins,) int64: Pillow's histogram of the 800×600 resize, 256 bins per band


@dataclass(frozen=True, slots=True)
class ClosePairs:
    """Pairs of histograms (first < second) with RMS below the threshold, and their RMS."""

    first: np.ndarray  # (P,) int64
    second: np.ndarray  # (P,) int64
    rms: np.ndarray  # (P,) float64

    def __len__(self) -> int:
        return len(self.rms)


def histogram_file(path: str, max_pixels: int) -> Histogram | Problem:
    """The original's histogram of the file at `path` (a worker function for `pool.decode_all`)."""
    from PIL import Image  # here: the worker that runs this has Pillow loaded; the scanning process never does

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                return Problem(path, f"refused: {image.width}×{image.height} is over --max-pixels")
            counts = image.resize(SIZE, Image.Resampling.LANCZOS).histogram()
    except Exception as error:  # the original skips whatever Pillow cannot resize as a "bad image"
        return Problem(path, f"cannot take the histogram: {error or type(error).__name__}")
    return Histogram(content_hash(data), np.asarray(counts, dtype=np.int64))


def rms_of(squares: np.ndarray | int, bins: int) -> np.ndarray:
    """The original's RMS from the exact sum of squared differences: sqrt(sum / bins), rounded as it rounds.

    IEEE division and square root are correctly rounded in NumPy as in Python's `math.sqrt(int / int)`, and
    the sum converts to float64 exactly (it is below 2⁵³), so the result is the original's to the last bit.
    """
    return np.sqrt(np.asarray(squares, dtype=np.float64) / bins)


def exact_rms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS of histogram `a` (bins,) against each row of `b` (N, bins'), computed in integers."""
    compared = min(len(a), b.shape[1])
    squares = ((b[:, :compared] - a[:compared]) ** 2).sum(axis=1)
    return rms_of(squares, compared)


def close_pairs(histograms: Mapping[int, np.ndarray], threshold: float = DEFAULT_THRESHOLD,
                block_entries: int = BLOCK_ENTRIES) -> ClosePairs:
    """Every pair of keys (first < second) whose histograms' RMS is below `threshold`, by blocked products."""
    by_bins: dict[int, list[int]] = defaultdict(list)
    for key, counts in histograms.items():
        by_bins[len(counts)].append(key)
    found = []
    sizes = sorted(by_bins)
    for position, bins_a in enumerate(sizes):
        keys_a = np.array(by_bins[bins_a], dtype=np.int64)
        stack_a = np.stack([histograms[key] for key in by_bins[bins_a]])
        for bins_b in sizes[position:]:
            keys_b = np.array(by_bins[bins_b], dtype=np.int64)
            stack_b = stack_a if bins_b == bins_a else np.stack([histograms[key][:bins_a] for key in by_bins[bins_b]])
            for a, b, rms in _close_in_blocks(stack_a, stack_b, threshold, bins_a == bins_b, block_entries):
                found.append((np.minimum(keys_a[a], keys_b[b]), np.maximum(keys_a[a], keys_b[b]), rms))
    if not found:
        empty = np.zeros(0, np.int64)
        return ClosePairs(empty, empty, np.zeros(0, np.float64))
    first, second, rms = (np.concatenate(column) for column in zip(*found, strict=True))
    order = np.lexsort((second, first))
    return ClosePairs(first[order], second[order], rms[order])


def _close_in_blocks(a: np.ndarray, b: np.ndarray, threshold: float, same: bool,
                     block_entries: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(rows of a, rows of b, RMS) below `threshold`; `same`: a is b, and only pairs a < b are wanted.

    `a` and `b` hold the compared bins only, `bins` of them.
    """
    bins = a.shape[1]
    float_a, float_b = a.astype(np.float64), b.astype(np.float64)
    norms_a, norms_b = (float_a**2).sum(axis=1), (float_b**2).sum(axis=1)
    limit = threshold * threshold * bins
    step = max(1, block_entries // max(1, len(b)))
    for start in range(0, len(a), step):
        stop = min(start + step, len(a))
        columns = slice(start if same else 0, len(b))
        squares = norms_a[start:stop, None] + norms_b[None, columns] - 2.0 * (float_a[start:stop] @
                                                                             float_b[columns].T)
        # how far rounding could have moved a sum of squares, were the arithmetic not exact
        reach = 4.0 * bins * UNIT_ROUNDOFF * (norms_a[start:stop].max() + norms_b[columns].max()) + 1.0
        near = squares < limit + reach
        if same:
            near &= np.arange(start, stop)[:, None] < np.arange(columns.start, len(b))[None, :]
        rows, cols = np.nonzero(near)
        cols += columns.start
        rows += start
        estimate = squares[near]
        rms = rms_of(np.maximum(estimate, 0.0), bins)
        doubtful = (estimate < reach) | (np.abs(estimate - limit) < reach)
        if doubtful.any():
            exact = ((a[rows[doubtful]] - b[cols[doubtful]]) ** 2).sum(axis=1)
            rms[doubtful] = rms_of(exact, bins)
        keep = rms < threshold
        yield rows[keep], cols[keep], rms[keep]


def histogram_groups(files: FileRecords, image_of_file: Sequence[int], images: ImageTable,
                     histograms: Mapping[int, np.ndarray], pairs: ClosePairs,
                     threshold: float = DEFAULT_THRESHOLD) -> list[Group]:
    """Groups of the files the original flags: connected sets of `pairs` of image rows (from `close_pairs`).

    `histograms` maps an image row to its histogram; every file's row must have one. Byte-identical files share
    a row and are an RMS-0 pair of their own, as the original finds them.
    """
    files_of_image = FilesOfImages(image_of_file)
    rank = keeper_order(files, image_of_file, images)
    groups = [_group_of(component, files_of_image, histograms, rank, threshold)
              for component in _components(pairs.first, pairs.second, files_of_image)]
    groups.sort(key=lambda group: files.path(group.keeper))
    return groups


def _components(first: np.ndarray, second: np.ndarray,
                files_of_image: FilesOfImages) -> list[list[int]]:
    """Connected sets of image rows, linked by the pairs or held by several files, by label propagation."""
    nodes = np.unique(np.concatenate([first, second, files_of_image.shared()]))
    if not len(nodes):
        return []
    a, b = np.searchsorted(nodes, first), np.searchsorted(nodes, second)
    label = np.arange(len(nodes))
    while True:
        previous = label.copy()
        np.minimum.at(label, a, label[b])
        np.minimum.at(label, b, label[a])
        label = label[label]  # pointer jumping: chains collapse in logarithmically many rounds
        if np.array_equal(label, previous):
            break
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.r_[True, label[order][1:] != label[order][:-1]])
    return [nodes[members].tolist() for members in np.split(order, starts[1:])]


def _group_of(component: list[int], files_of_image: FilesOfImages, histograms: Mapping[int, np.ndarray],
              rank: Callable[[Sequence[int]], list[int]], threshold: float) -> Group:
    keeper_file = rank([file for image in component for file in files_of_image[image]])[0]
    keeper_image = next(image for image in component if keeper_file in files_of_image[image])
    members = [Member(keeper_file, KEEPER, "", 0.0)]
    members += [Member(file, SAME_BYTES, "identical bytes", 0.0)
                for file in files_of_image[keeper_image] if file != keeper_file]
    others = [image for image in component if image != keeper_image]
    by_bins: dict[int, list[int]] = defaultdict(list)
    for image in others:
        by_bins[len(histograms[image])].append(image)
    distance: dict[int, float] = {}
    for same_bins in by_bins.values():
        rms = exact_rms(histograms[keeper_image], np.stack([histograms[image] for image in same_bins]))
        distance.update(zip(same_bins, rms.tolist(), strict=True))
    for image in others:
        members += [Member(file, NEAR, describe_rms(distance[image], threshold), distance[image])
                    for file in files_of_image[image]]
    kind = "exact" if all(member.distance == 0 for member in members) else "near"
    return Group(kind, tuple(members))


def describe_rms(rms: float, threshold: float) -> str:
    words = f"histogram RMS {rms:.1f}"
    if rms >= threshold:
        return words + f" (over {threshold:g}: linked to the keeper through other members)"
    return words

