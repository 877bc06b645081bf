"""The table of distinct images a scan works on: one row per distinct content, columns as NumPy arrays.

Guarantees: every column has one entry per row, in the same order; rows are never reordered once built, so a
row index names one image for the whole scan. Byte-identical files share one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lookalike.decode import THUMB, Decoded
from lookalike.signatures import ORIENTATIONS, WINDOWS, content_box, perceptual_hashes, window_hashes


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


SIGNATURE_BYTES = 8 * 8 + 8 * 8 + 4 * 4  # hashes, window hashes, content box


def table_of(decoded: Sequence[Decoded], known: Mapping[bytes, bytes] | None = None) -> ImageTable:
    """Stack decoded images into a table, computing the signatures of all of them in one batch.

    `known` holds signatures already computed (`signature_of`), by content hash: those are not recomputed.
    """
    thumbs = np.stack([d.thumb for d in decoded]) if decoded else np.zeros((0, THUMB, THUMB, 3), np.uint8)
    hashes, windows, content_boxes = _signatures(thumbs, [(known or {}).get(d.content_hash) for d in decoded])
    return ImageTable(
        content_hash=_digests([d.content_hash for d in decoded]),
        pixel_hash=_digests([d.pixel_hash for d in decoded]),
        width=np.array([d.width for d in decoded], dtype=np.int32),
        height=np.array([d.height for d in decoded], dtype=np.int32),
        format=np.array([d.format for d in decoded], dtype=str),
        hashes=hashes,
        windows=windows,
        content_box=content_boxes,
        thumbs=thumbs,
        taken=[d.taken for d in decoded],
        camera=[d.camera for d in decoded],
    )


def files_of_images(image_of_file: Sequence[int]) -> dict[int, list[int]]:
    """The files of each image row, in file order, keyed in the order rows first appear."""
    files: dict[int, list[int]] = {}
    for file, image in enumerate(image_of_file):
        files.setdefault(int(image), []).append(file)
    return files


def signature_of(images: ImageTable, row: int) -> bytes:
    """One image's signatures as bytes, for the cache: they depend only on its thumbnail."""
    return images.hashes[row].tobytes() + images.windows[row].tobytes() + images.content_box[row].tobytes()


def _signatures(thumbs: np.ndarray, known: list[bytes | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, windows, content boxes) of every thumbnail, unpacked where known, computed in one batch where not."""
    hashes = np.zeros((len(thumbs), len(ORIENTATIONS)), np.uint64)
    windows = np.zeros((len(thumbs), len(WINDOWS)), np.uint64)
    boxes = np.zeros((len(thumbs), 4), np.float32)
    missing = [row for row, blob in enumerate(known) if blob is None or len(blob) != SIGNATURE_BYTES]
    for row, blob in enumerate(known):
        if blob is not None and len(blob) == SIGNATURE_BYTES:
            hashes[row] = np.frombuffer(blob, np.uint64, len(ORIENTATIONS))
            windows[row] = np.frombuffer(blob, np.uint64, len(WINDOWS), offset=8 * len(ORIENTATIONS))
            boxes[row] = np.frombuffer(blob, np.float32, 4, offset=8 * (len(ORIENTATIONS) + len(WINDOWS)))
    if missing:
        fresh = thumbs[missing]
        boxes[missing] = np.array([content_box(thumb) for thumb in fresh], dtype=np.float32).reshape(-1, 4)
        hashes[missing] = perceptual_hashes(fresh)
        windows[missing] = window_hashes(fresh, boxes[missing])
    return hashes, windows, boxes


def _digests(digests: list[bytes]) -> np.ndarray:
    """Digests as Python bytes in an object array: NumPy's fixed-width "S" strings drop trailing zero bytes."""
    column = np.empty(len(digests), dtype=object)
    column[:] = digests
    return column
