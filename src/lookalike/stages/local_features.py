"""Local features: ORB keypoints and descriptors of an image and of its mirror image, packed as bytes.

A crop, a screenshot, a straightened or captioned copy shows part of a picture, or the picture as part of a
larger frame: no hash of the whole frame matches it, but the corners and edges inside the picture are the same
points. ORB finds them on a grey copy of the image at most FEATURE_SIDE pixels a side, with a 256-bit
descriptor each that turns with the image (so quarter turns and straightening match) but not with a mirror
image: the mirror image gets descriptors of its own, at the same corners mirrored.

Guarantees: `extract` is deterministic; `unpack(extract(image), mirrored)` gives at most FEATURES points in
fractions of the frame (x of the width, y of the height) of the image or its mirror image, strongest first, with
their descriptors, then at most FEATURES more inside `surround_box`; `words` gives each descriptor's visual
words, the keys of the inverted index (`feature_search`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import cv2
    from PIL import Image

FEATURE_SIDE = 320  # pixels on the longer side of the grey image features are found on, at most
ENLARGED_UNDER = FEATURE_SIDE // 2  # pixels on the longer side under which an image is enlarged to FEATURE_SIDE ...
ENLARGED_FROM = 64  # ... down to this: two of ORB's 31-pixel patches, less than which holds no corners to enlarge
FEATURES = 384  # at most, per orientation
INDEXED = 128  # the strongest features of an image whose words go into the inverted index (queries: all)
WORD_BITS = 24  # bits of a descriptor one visual word is made of
WORD_TABLES = 2  # words per descriptor, from disjoint choices of bits
DESCRIPTOR_BYTES = 32
_HEADER = struct.Struct("<HHHH")  # frame width and height, features upright, features mirrored
_POSITION_SCALE = 64  # a keypoint's coordinates are stored in 1/64 pixel


@dataclass(frozen=True, slots=True)
class Features:
    """One orientation's local features: points in fractions of the frame, their descriptors, the frame's size."""

    points: np.ndarray  # (N, 2) float32: x as a fraction of the width, y of the height
    descriptors: np.ndarray  # (N, 32) uint8
    width: int  # of the frame the features were found on, in pixels
    height: int

    def __len__(self) -> int:
        return len(self.points)


def extract(image: Image.Image) -> bytes:
    """The features of an upright RGB image and of its mirror image, packed (`unpack` reads them): those of the
    frame, then, when the picture sits inside an interface or a border (`surround_box`), those of that box at
    the frame's resolution, where the picture's corners are found as its original shows them."""
    grey_image = image.convert("L")
    grey = np.asarray(_feature_image(grey_image))
    height, width = grey.shape
    parts = _features(grey)
    box = surround_box(grey)
    if box is not None:
        inside = _box_features(grey_image, box, grey.shape)
        parts = [(np.concatenate([points, more_points]), np.concatenate([descriptors, more]))
                 for (points, descriptors), (more_points, more) in zip(parts, inside, strict=True)]
    packed = [(np.round(np.maximum(points, 0) * _POSITION_SCALE).astype(np.uint16), descriptors)
              for points, descriptors in parts]
    header = _HEADER.pack(width, height, len(packed[0][0]), len(packed[1][0]))
    return header + b"".join(points.tobytes() + descriptors.tobytes() for points, descriptors in packed)


def _feature_image(grey: Image.Image) -> Image.Image:
    """A grey image at most FEATURE_SIDE pixels a side; one from ENLARGED_FROM to ENLARGED_UNDER enlarged to
    FEATURE_SIDE, as ORB's patches and border leave a thumbnail of 100 pixels a few corners, none at the scales
    its original shows them (a larger one keeps its pixels: a crop of a small photo matches it at the same scale;
    an icon's enlarged blur would give 10 kB of features that match nothing)."""
    from PIL import Image

    if not ENLARGED_FROM <= max(grey.size) < ENLARGED_UNDER:
        small = grey.copy()
        small.thumbnail((FEATURE_SIDE, FEATURE_SIDE), Image.Resampling.BILINEAR)
        return small
    scale = FEATURE_SIDE / max(grey.size)
    return grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))),
                       Image.Resampling.BICUBIC)


def _features(grey: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The strongest features of a grey image and of its mirror image: points (N, 2) in pixels, descriptors."""
    keypoints, descriptors = _strongest(*_detector().detectAndCompute(grey, None))
    return [(_positions(found), described) for found, described in
            ((keypoints, descriptors), _mirrored(grey, keypoints))]


def _box_features(grey_image: Image.Image, box: tuple[float, float, float, float],
                  shape: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """`_features` of `box` of a grey image at FEATURE_SIDE, their points in pixels of the frame's feature image
    of `shape` (rows, columns); the mirror image's in the box mirrored."""
    left, top, right, bottom = box
    inside = grey_image.crop((round(left * grey_image.width), round(top * grey_image.height),
                              round(right * grey_image.width), round(bottom * grey_image.height)))
    inside = _feature_image(inside)
    height, width = shape
    scale = np.array([(right - left) * width / inside.width, (bottom - top) * height / inside.height])
    return [((points + 0.5) * scale - 0.5 + np.array([x * width, top * height]), descriptors)
            for (points, descriptors), x in zip(_features(np.asarray(inside)), (left, 1 - right), strict=True)]


SURROUND_SHARE = 0.5  # a row or column with this share of the surround's colour or more is interface, not picture
SURROUND_LEVEL = 10  # grey levels a pixel may be off the surround's colour and be of it
SURROUND_EDGE = 0.3  # share of the frame's edge pixels that must be of one colour for a surround
SMALLEST_BOX = 0.15  # of the frame's width and of its height, at least
LARGEST_BOX = 0.9  # of the frame's area, at most: beyond it the frame's own features see the picture well


def surround_box(grey: np.ndarray, outside: float = 0.0) -> tuple[float, float, float, float] | None:
    """The box (left, top, right, bottom, fractions of the frame) of a picture shown inside a flat surround with
    things on it (a screenshot's interface, a border, a caption band): the longest run of rows where the
    surround's colour, the commonest on the frame's edge, is rare, then the same for columns inside those rows;
    None when there is no such surround, the box is most of the frame, or less than `outside` of what lies
    outside it is of the surround's colour."""
    height, width = grey.shape
    edge = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    counts = np.bincount(edge, minlength=256)
    colour = int(np.argmax(counts))
    if counts[colour] < SURROUND_EDGE * len(edge):
        return None
    of_surround = np.abs(grey.astype(np.int16) - colour) <= SURROUND_LEVEL
    top, bottom = _longest_run(of_surround.mean(axis=1) < SURROUND_SHARE)
    if bottom - top < SMALLEST_BOX * height:
        return None
    left, right = _longest_run(of_surround[top:bottom].mean(axis=0) < SURROUND_SHARE)
    box = (left / width, top / height, right / width, bottom / height)
    if box[2] - box[0] < SMALLEST_BOX or (box[2] - box[0]) * (box[3] - box[1]) > LARGEST_BOX:
        return None
    if outside:
        around = np.ones_like(of_surround)
        around[top:bottom, left:right] = False
        if of_surround[around].mean() < outside:
            return None
    return box


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """The start and end (exclusive) of the longest run of Trues; (0, 0) for none."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    if not len(starts):
        return 0, 0
    longest = int(np.argmax(ends - starts))
    return int(starts[longest]), int(ends[longest])


def _strongest(keypoints: Sequence[cv2.KeyPoint], descriptors: np.ndarray | None) -> tuple[list, np.ndarray]:
    """At most FEATURES keypoints and their descriptors, strongest first."""
    if descriptors is None or not keypoints:
        return [], np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
    order = np.argsort([-point.response for point in keypoints], kind="stable")[:FEATURES]
    return [keypoints[i] for i in order], descriptors[order]


def _mirrored(grey: np.ndarray, keypoints: list) -> tuple[list, np.ndarray]:
    """The mirror image's features at the mirrored keypoints: FAST corners and the pyramid are mirror-symmetric,
    so only the descriptors (whose sampling pattern is not) need computing again."""
    import cv2

    if not keypoints:
        return [], np.zeros((0, DESCRIPTOR_BYTES), np.uint8)
    right = grey.shape[1] - 1
    turned = [cv2.KeyPoint(right - point.pt[0], point.pt[1], point.size, (180 - point.angle) % 360, point.response,
                           point.octave, point.class_id) for point in keypoints]
    return _strongest(*_detector().compute(np.ascontiguousarray(grey[:, ::-1]), turned))


def _positions(keypoints: list) -> np.ndarray:
    """(N, 2) float32 positions in pixels."""
    return np.array([point.pt for point in keypoints], np.float32).reshape(-1, 2)


@cache
def _detector() -> object:
    import cv2  # only where features are found: the scanning process reads them without OpenCV

    # A low FAST threshold and a small border find features on small and low-contrast images too.
    return cv2.ORB_create(nfeatures=FEATURES, scaleFactor=1.3, nlevels=6, edgeThreshold=15, fastThreshold=10)


def unpack(blob: bytes, mirrored: bool = False) -> Features:
    """The features of the image (or of its mirror image) from `extract`'s bytes; none from empty bytes."""
    if not blob:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8), 1, 1)
    width, height, upright, mirror = _HEADER.unpack_from(blob)
    start = _HEADER.size
    if mirrored:
        start += upright * (4 + DESCRIPTOR_BYTES)
    count = mirror if mirrored else upright
    points = np.frombuffer(blob, np.uint16, 2 * count, start).reshape(count, 2).astype(np.float32)
    # OpenCV puts a pixel's centre at its index: half a pixel in, which a turned or mirrored frame counts back
    points = (points / _POSITION_SCALE + 0.5) / np.array([width, height], np.float32)
    descriptors = np.frombuffer(blob, np.uint8, DESCRIPTOR_BYTES * count, start + 4 * count)
    return Features(points, descriptors.reshape(count, DESCRIPTOR_BYTES), width, height)


def words(descriptors: np.ndarray) -> np.ndarray:
    """The distinct visual words of (N, 32) descriptors, sorted uint32: WORD_TABLES words a descriptor, each
    WORD_BITS fixed bits of it (a locality-sensitive hash: descriptors a few bits apart often share one)."""
    bits = np.unpackbits(descriptors, axis=1)
    found = [(bits[:, positions].astype(np.uint32) << _SHIFTS).sum(axis=1, dtype=np.uint32)
             | np.uint32(table << WORD_BITS) for table, positions in enumerate(_word_bits())]
    return np.unique(np.concatenate(found))


_SHIFTS = np.arange(WORD_BITS, dtype=np.uint32)


@cache
def _word_bits() -> list[np.ndarray]:
    """WORD_TABLES disjoint sets of WORD_BITS bit positions, fixed once (a seeded draw, the same everywhere)."""
    positions = np.random.default_rng(20261206).permutation(8 * DESCRIPTOR_BYTES)
    return [positions[t * WORD_BITS:(t + 1) * WORD_BITS] for t in range(WORD_TABLES)]


def search_words(blob: bytes) -> tuple[bytes, bytes, bytes]:
    """An image's visual words as uint32 bytes: those of its INDEXED strongest features (the inverted index's
    keys), and of all its features and all its mirror image's (what it queries with). A copy with text or a band
    laid over it has its strongest corners there, not in the picture its original indexes."""
    upright, mirror = unpack(blob), unpack(blob, mirrored=True)
    return (words(upright.descriptors[:INDEXED]).tobytes(), words(upright.descriptors).tobytes(),
            words(mirror.descriptors).tobytes())
