"""Stage 4, signatures: perceptual hashes of thumbnails, computed in batches with NumPy.

The perceptual hash is pHash: the 8×8 lowest frequencies of the 2-D DCT of a 32×32 grey image, one bit per
coefficient (above the block's median or not). Mirroring an image only flips the signs of its odd-frequency
DCT coefficients and transposing it transposes them, so the hashes of all eight orientations of an image
(the dihedral group: rotations by 90° and mirror images) come from one DCT, without touching pixels again.

Crops and borders move the picture inside the frame, so one hash of the whole frame cannot match them. Each
image also gets the hashes of a few windows (`WINDOWS`): the centre, each two-thirds side, the part above a
bottom caption band, and its content inside any uniform border. A crop's whole-frame hash matches its
original's window hash; a bordered copy's content hash matches its original's whole-frame hash.

Guarantees: `perceptual_hashes(thumbs)[i, k]` is the pHash of `orient(thumbs[i], k)` (up to rounding in the
grey conversion), so a copy rotated or mirrored by orientation k matches its original's k-th hash;
`signatures(thumbs)[1][i, w]` is the pHash of window w of thumbnail i, upright.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

HASH_SIDE = 8
GREY_SIDE = 32
SHARED_BOXES = 256  # interpolation matrices kept for `resample`: each pair at most 2 × 64 × 64 float32


@dataclass(frozen=True, slots=True)
class Orientation:
    """A rigid change of orientation: transpose first, then flip rows and/or columns."""

    transpose: bool
    flip_rows: bool
    flip_columns: bool
    name: str  # what a copy in this orientation is, relative to its original


ORIENTATIONS = (
    Orientation(False, False, False, ""),
    Orientation(False, False, True, "mirrored"),
    Orientation(False, True, False, "flipped upside down"),
    Orientation(False, True, True, "rotated 180°"),
    Orientation(True, False, False, "mirrored and rotated 90° counter-clockwise"),
    Orientation(True, False, True, "rotated 90° clockwise"),
    Orientation(True, True, False, "rotated 90° counter-clockwise"),
    Orientation(True, True, True, "mirrored and rotated 90° clockwise"),
)
INVERSE = (0, 1, 2, 3, 4, 6, 5, 7)  # orientation k undone by INVERSE[k]: only the quarter turns differ


def orient(pixels: np.ndarray, k: int) -> np.ndarray:
    """`pixels` (rows, columns, ...) in orientation k."""
    orientation = ORIENTATIONS[k]
    if orientation.transpose:
        pixels = pixels.swapaxes(0, 1)
    if orientation.flip_rows:
        pixels = pixels[::-1]
    if orientation.flip_columns:
        pixels = pixels[:, ::-1]
    return pixels


Box = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of the frame


@dataclass(frozen=True, slots=True)
class Window:
    """A part of the frame that a copy may show on its own; `box` is None for the image's own content box."""

    name: str  # what a copy showing only this window is, relative to its original
    box: Box | None


WINDOWS = (
    Window("", (0.0, 0.0, 1.0, 1.0)),
    Window("cropped to 90 % (centre)", (0.05, 0.05, 0.95, 0.95)),
    Window("cropped to 67 % (left)", (0.0, 0.0, 2 / 3, 1.0)),
    Window("cropped to 67 % (right)", (1 / 3, 0.0, 1.0, 1.0)),
    Window("cropped to 67 % (top)", (0.0, 0.0, 1.0, 2 / 3)),
    Window("cropped to 67 % (bottom)", (0.0, 1 / 3, 1.0, 1.0)),
    Window("caption or overlay at bottom", (0.0, 0.0, 1.0, 0.88)),
    Window("border removed", None),
)
WHOLE, CENTRE, LEFT, RIGHT, TOP, BOTTOM, ABOVE_CAPTION, CONTENT = range(len(WINDOWS))
WHOLE_BOX: Box = (0.0, 0.0, 1.0, 1.0)
FIXED_BOXES = tuple(window.box for window in WINDOWS if window.box is not None)  # all windows but CONTENT


def window_box(window: int, content_box: Box) -> Box:
    box = WINDOWS[window].box
    return content_box if box is None else box


def grey(thumbs: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB → (...) float32 luma (ITU-R 601, as Pillow's "L")."""
    return thumbs.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def perceptual_hashes(thumbs: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 thumbnails → (N, 8) uint64: the pHash of each thumbnail in each orientation."""
    return _oriented_hashes(grey(thumbs))


def signatures(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, S, S, 3) uint8 thumbnails → their hashes ((N, 8) uint64, as `perceptual_hashes`), window hashes
    ((N, len(WINDOWS)) uint64: each window's pHash, upright) and content boxes ((N, 4), `content_boxes`)."""
    tones = grey(thumbs)
    boxes = content_boxes(thumbs)
    return _oriented_hashes(tones), _window_hashes(tones, boxes), boxes


def _oriented_hashes(tones: np.ndarray) -> np.ndarray:
    if len(tones) == 0:  # a scan in which no file could be read
        return np.zeros((0, len(ORIENTATIONS)), np.uint64)
    coefficients = low_frequencies(_shrink(tones, GREY_SIDE))
    variants = np.stack([_orient_coefficients(coefficients, k) for k in range(len(ORIENTATIONS))], axis=1)
    return pack_bits(_above_median(variants))


def _window_hashes(tones: np.ndarray, content_boxes: np.ndarray) -> np.ndarray:
    """(N, len(WINDOWS)) pHashes: each window resampled to GREY_SIDE × GREY_SIDE, then its DCT's lowest
    frequencies. Both are matrix products on each side, so each side's two matrices are multiplied first and
    the crop is never made (a fifth of the arithmetic).

    The products are each image's own small ones, never one large product over the chunk: BLAS splits a
    large one among threads, which then spin while the scan goes on, and rounds it differently depending on
    the chunk's size and the number of threads."""
    if len(tones) == 0:
        return np.zeros((0, len(WINDOWS)), np.uint64)
    fixed_down, fixed_across = _fixed_window_matrices(tones.shape[-2:])
    content_down, content_across = _low_frequency_matrices(content_boxes, tones.shape[-2:])
    fixed = fixed_down @ tones[:, None] @ fixed_across.transpose(0, 2, 1)  # (N, len(FIXED_BOXES), 8, 8)
    content = content_down @ tones @ content_across.transpose(0, 2, 1)  # (N, 8, 8)
    return np.insert(pack_bits(_above_median(fixed)), CONTENT, pack_bits(_above_median(content)), axis=1)


def _low_frequency_matrices(boxes: np.ndarray, size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(M, 8, rows) down and (M, 8, columns) across: the DCT's lowest frequencies of (M, 4) boxes."""
    down, across = _box_matrices(boxes.astype(np.float64), (GREY_SIDE, GREY_SIDE), size)
    basis = _low_basis(GREY_SIDE)
    return basis @ down, basis @ across


@cache
def _fixed_window_matrices(size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`_low_frequency_matrices` of FIXED_BOXES: the same for every image, made once."""
    down, across = _low_frequency_matrices(np.array(FIXED_BOXES), size)
    return _read_only(down), _read_only(across)


def _above_median(blocks: np.ndarray) -> np.ndarray:
    """(..., 8, 8) → (..., 8, 8) booleans: which coefficients are above their block's median.

    The median as `np.median` takes it (the mean of the two middle values), without its check for NaN, which
    cannot occur here: that check's first call imports `numpy.ma`, some 80 ms of a scan's time."""
    values = blocks.reshape(*blocks.shape[:-2], -1)
    middle = values.shape[-1] // 2
    medians = np.partition(values, (middle - 1, middle), axis=-1)[..., middle - 1:middle + 1].mean(axis=-1)
    return blocks > medians[..., None, None]


def content_boxes(thumbs: np.ndarray, tolerance: int = 12) -> np.ndarray:
    """(N, S, S, 3) → (N, 4) float32: the part of each frame inside a uniform border (white, black or any flat
    colour: the colour of the corner, all round), or the whole frame when there is none or nothing is inside."""
    count, rows, columns, channels = thumbs.shape
    pixel_rows = thumbs.reshape(count, rows, columns * channels)
    # The corner's colour repeated along a whole row: NumPy is many times slower broadcasting three values.
    corner = np.tile(thumbs[:, 0, 0], columns)[:, None, :]
    difference = np.maximum(pixel_rows, corner) - np.minimum(pixel_rows, corner)  # |pixel - corner|, in uint8
    flat_rows = difference.max(axis=2) <= tolerance
    flat_columns = difference.max(axis=1).reshape(count, columns, channels).max(axis=2) <= tolerance
    top, bottom = _run_lengths(flat_rows), _run_lengths(flat_rows[:, ::-1])
    left, right = _run_lengths(flat_columns), _run_lengths(flat_columns[:, ::-1])
    boxes = np.stack([left / columns, top / rows, 1 - right / columns, 1 - bottom / rows], axis=1)
    flat = (top + bottom >= rows - 4) | (left + right >= columns - 4)  # a flat image: no content inside it
    boxes[flat] = WHOLE_BOX
    return boxes.astype(np.float32)


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """(N, L) → (N,): how many leading entries are True, plus one for the blended edge pixel when any are."""
    counts = np.where(flags.all(axis=1), flags.shape[1], flags.argmin(axis=1))
    return counts + (counts > 0)


def resample(image: np.ndarray, box: Box, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear samples of `box` (fractions of the frame) of a grey `image` on a grid of `shape` (rows, columns);
    of each image of a stack (N, rows in, columns in) at once: (N, rows, columns)."""
    if box == WHOLE_BOX and shape == image.shape[-2:]:  # every sample on its pixel: the products would copy it
        return image.astype(np.float32)
    down, across = _shared_box_matrices(box, shape, image.shape[-2:])
    resampled = _on_both_sides(down, image, across)
    return resampled[0] if image.ndim == 2 else resampled


def resample_crossed(image: np.ndarray, rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`resample` of a grey image's boxes made of each of M spans down (M, 2: top, bottom) with each of K spans
    across (K, 2: left, right): (M, K, rows, columns). Two matrix products in all, not two a box."""
    down = _interpolation(rows[:, 0], rows[:, 1], shape[0], image.shape[0])  # (M, rows, rows in)
    across = _interpolation(columns[:, 0], columns[:, 1], shape[1], image.shape[1])  # (K, columns, columns in)
    narrowed = (down @ image.astype(np.float32, copy=False)).reshape(-1, image.shape[1])  # (M × rows, columns in)
    crossed = narrowed @ across.reshape(-1, image.shape[1]).T  # (M × rows, K × columns)
    return crossed.reshape(len(rows), shape[0], len(columns), shape[1]).transpose(0, 2, 1, 3)


def _box_matrices(boxes: np.ndarray, shape: tuple[int, int], size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The interpolation matrices that sample (M, 4) boxes of an image of `size` (rows, columns) on a grid of
    `shape`: (M, rows out, rows in) down and (M, columns out, columns in) across."""
    rows, columns = size
    return (_interpolation(boxes[:, 1], boxes[:, 3], shape[0], rows),
            _interpolation(boxes[:, 0], boxes[:, 2], shape[1], columns))


@lru_cache(maxsize=SHARED_BOXES)
def _shared_box_matrices(box: Box, shape: tuple[int, int], size: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """`_box_matrices` of one box, kept: verification and grouping resample the same windows again and again."""
    down, across = _box_matrices(np.array([box], dtype=np.float64), shape, size)
    return _read_only(down), _read_only(across)


def _on_both_sides(down: np.ndarray, images: np.ndarray, across: np.ndarray) -> np.ndarray:
    """down @ image @ acrossᵀ, float32: (1, r, R) and (1, c, C) matrices; an image (R, C) or a stack (N, R, C)."""
    images = images.astype(np.float32, copy=False)
    if images.ndim == 3:  # the same matrices for many images: two products, not 2 N small ones
        # The two products np.tensordot makes, on the same layouts, without its overhead (more than the products)
        count, rows, columns = images.shape
        narrowed = np.dot(images.reshape(-1, columns), across[0].T).reshape(count, rows, -1)  # (N, R, c)
        flat = np.dot(down[0], narrowed.transpose(1, 0, 2).reshape(rows, -1))  # (r, N × c)
        return flat.reshape(len(flat), count, -1).transpose(1, 0, 2)
    return (down @ images @ across.transpose(0, 2, 1)).astype(np.float32)


def _read_only(array: np.ndarray) -> np.ndarray:
    """An array that a cache hands out to every caller: no caller may change it."""
    array.flags.writeable = False
    return array


def _interpolation(start: np.ndarray, end: np.ndarray, count: int, size: int) -> np.ndarray:
    """(M, count, size) matrices of linear interpolation weights: row i samples position i of each span."""
    fractions = (np.arange(count) + 0.5) / count
    positions = np.clip((start[:, None] + fractions[None, :] * (end - start)[:, None]) * size - 0.5, 0, size - 1)
    lower = np.floor(positions).astype(np.intp)
    upper = np.minimum(lower + 1, size - 1)
    weight = (positions - lower).astype(np.float32)
    matrices = np.zeros((len(start), count, size), np.float32)
    spans, samples = np.indices(lower.shape)
    matrices[spans, samples, lower] = 1 - weight  # each (span, sample) once per statement: no need for add.at
    matrices[spans, samples, upper] += weight  # at the last pixel upper == lower, and the weights add up to 1
    return matrices


def low_frequencies(images: np.ndarray) -> np.ndarray:
    """(N, G, G) → (N, 8, 8): the lowest-frequency block of each image's orthonormal 2-D DCT-II."""
    basis = _low_basis(images.shape[-1])
    return basis @ images @ basis.T


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(..., 8, 8) booleans → (...) uint64, first row's first bit as the most significant."""
    packed = np.packbits(bits.reshape(*bits.shape[:-2], 64), axis=-1)
    return packed.view(">u8")[..., 0].astype(np.uint64)


def _orient_coefficients(coefficients: np.ndarray, k: int) -> np.ndarray:
    orientation = ORIENTATIONS[k]
    if orientation.transpose:
        coefficients = coefficients.swapaxes(-1, -2)
    odd = np.arange(HASH_SIDE) % 2 == 1
    if orientation.flip_rows:
        coefficients = np.where(odd[:, None], -coefficients, coefficients)
    if orientation.flip_columns:
        coefficients = np.where(odd[None, :], -coefficients, coefficients)
    return coefficients


def _shrink(images: np.ndarray, side: int) -> np.ndarray:
    """Box-average (N, S, S) down to (N, side, side), halving the sides: S must be side times a power of two.

    Each 2 × 2 block is added in pairs of pairs, the order in which NumPy's mean over the block's two axes
    adds them (at a tenth of its time): the hashes stay bit for bit those that earlier scans cached."""
    while images.shape[-1] > side:
        images = ((images[:, ::2, ::2] + images[:, ::2, 1::2]) + (images[:, 1::2, ::2] + images[:, 1::2, 1::2])) / 4
    return images


def _low_basis(n: int) -> np.ndarray:
    """The HASH_SIDE lowest-frequency rows of the n-point DCT basis."""
    return _dct_basis(n)[:HASH_SIDE]


@cache
def _dct_basis(n: int) -> np.ndarray:
    frequencies = np.arange(n)[:, None]
    positions = np.arange(n)[None, :]
    basis = np.cos(np.pi * (2 * positions + 1) * frequencies / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)
