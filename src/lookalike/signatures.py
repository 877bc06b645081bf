"""Stage 4, signatures: perceptual hashes of thumbnails, computed in batches with NumPy.

The perceptual hash is pHash: the 8×8 lowest frequencies of the 2-D DCT of a 32×32 grey image, one bit per
coefficient (above the block's median or not). Mirroring an image only flips the signs of its odd-frequency
DCT coefficients and transposing it transposes them, so the hashes of all eight orientations of an image
(the dihedral group: rotations by 90° and mirror images) come from one DCT, without touching pixels again.

Guarantees: `perceptual_hashes(thumbs)[i, k]` is the pHash of `orient(thumbs[i], k)` (up to rounding in the
grey conversion), so a copy rotated or mirrored by orientation k matches its original's k-th hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

HASH_SIDE = 8
GREY_SIDE = 32


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


def grey(thumbs: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB → (N, S, S) float32 luma (ITU-R 601, as Pillow's "L")."""
    return thumbs.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def perceptual_hashes(thumbs: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 thumbnails → (N, 8) uint64: the pHash of each thumbnail in each orientation."""
    coefficients = low_frequencies(_shrink(grey(thumbs), GREY_SIDE))
    variants = np.stack([_orient_coefficients(coefficients, k) for k in range(len(ORIENTATIONS))], axis=1)
    return pack_bits(variants > np.median(variants, axis=(2, 3), keepdims=True))


def low_frequencies(images: np.ndarray) -> np.ndarray:
    """(N, G, G) → (N, 8, 8): the lowest-frequency block of each image's orthonormal 2-D DCT-II."""
    basis = _dct_basis(images.shape[-1])[:HASH_SIDE]
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
    """Box-average (N, S, S) down to (N, side, side); S must be a multiple of side."""
    n, s, _ = images.shape
    factor = s // side
    return images.reshape(n, side, factor, side, factor).mean(axis=(2, 4))


@cache
def _dct_basis(n: int) -> np.ndarray:
    frequencies = np.arange(n)[:, None]
    positions = np.arange(n)[None, :]
    basis = np.cos(np.pi * (2 * positions + 1) * frequencies / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)
