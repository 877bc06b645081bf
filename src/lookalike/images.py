"""The table of distinct images a scan works on: one row per distinct content, columns as NumPy arrays.

Guarantees: every column has one entry per row, in the same order; rows are never reordered once built, so a
row index names one image for the whole scan. Byte-identical files share one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.decode import THUMB, Decoded
from lookalike.signatures import content_box, perceptual_hashes, window_hashes


@dataclass(frozen=True, slots=True)
class ImageTable:
    content_hash: np.ndarray  # (N,) object: 16-byte BLAKE2b of the file's bytes
    pixel_hash: np.ndarray  # (N,) object: 16-byte BLAKE2b of the decoded pixels (as far as decoded)
    width: np.ndarray  # (N,) int32, as displayed
    height: np.ndarray  # (N,) int32, as displayed
    format: np.ndarray  # (N,) str
    hashes: np.ndarray  # (N, 8) uint64: pHash in each orientation, see signatures.ORIENTATIONS
    windows: np.ndarray  # (N, len(WINDOWS)) uint64: pHash of each window, upright, see signatures.WINDOWS
    content_box: np.ndarray  # (N, 4) float32: the frame inside any uniform border, as fractions
    thumbs: np.ndarray  # (N, THUMB, THUMB, 3) uint8
    taken: list[str | None]
    camera: list[str | None]

    def __len__(self) -> int:
        return len(self.content_hash)


def table_of(decoded: Sequence[Decoded]) -> ImageTable:
    """Stack decoded images into a table, computing the perceptual hashes of all of them in one batch."""
    thumbs = np.stack([d.thumb for d in decoded]) if decoded else np.zeros((0, THUMB, THUMB, 3), np.uint8)
    content_boxes = np.array([content_box(thumb) for thumb in thumbs], dtype=np.float32).reshape(-1, 4)
    return ImageTable(
        content_hash=_digests([d.content_hash for d in decoded]),
        pixel_hash=_digests([d.pixel_hash for d in decoded]),
        width=np.array([d.width for d in decoded], dtype=np.int32),
        height=np.array([d.height for d in decoded], dtype=np.int32),
        format=np.array([d.format for d in decoded], dtype=str),
        hashes=perceptual_hashes(thumbs),
        windows=window_hashes(thumbs, content_boxes),
        content_box=content_boxes,
        thumbs=thumbs,
        taken=[d.taken for d in decoded],
        camera=[d.camera for d in decoded],
    )


def _digests(digests: list[bytes]) -> np.ndarray:
    """Digests as Python bytes in an object array: NumPy's fixed-width "S" strings drop trailing zero bytes."""
    column = np.empty(len(digests), dtype=object)
    column[:] = digests
    return column
