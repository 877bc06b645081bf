"""The table of distinct images a scan works on: one row per distinct content, columns as NumPy arrays.

Guarantees: every column has one entry per row, in the same order; rows are never reordered once built, so a
row index names one image for the whole scan. Byte-identical files share one row. Thumbnails are not columns:
a scan of a million images cannot hold them all, so the table reaches them through `thumbs[row]`, which may
read them from the cache when they are asked for (verification asks for few).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

import numpy as np

from lookalike.decode import THUMB, Decoded
from lookalike.signatures import ORIENTATIONS, WINDOWS, signatures

SIGNATURE_BYTES = 8 * len(ORIENTATIONS) + 8 * len(WINDOWS) + 4 * 4  # hashes, window hashes, content box
SIGNATURE_CHUNK = 1024  # thumbnails per batch: bounds the float copies to about 50 MB
TABLE_CHUNK = 65536  # image rows held as Python objects at once while the table is stacked


class Thumbnails(Protocol):
    """(THUMB, THUMB, 3) uint8 RGB thumbnails by image row: an array, a dict, or `cache.CachedThumbnails`."""

    def __getitem__(self, row: int) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One distinct image as the table needs it: what decoding found, and its signature (`signatures_of`)."""

    content_hash: bytes
    pixel_hash: bytes
    width: int
    height: int
    format: str
    taken: str | None
    camera: str | None
    signature: bytes


@dataclass(frozen=True, slots=True)
class ImageTable:
    content_hash: np.ndarray  # (N,) object: `exact.content_hash` of the file's bytes
    pixel_hash: np.ndarray  # (N,) object: 16-byte hash of the decoded pixels (as far as decoded)
    width: np.ndarray  # (N,) int32, as displayed
    height: np.ndarray  # (N,) int32, as displayed
    format: np.ndarray  # (N,) str
    hashes: np.ndarray  # (N, 8) uint64: pHash in each orientation, see signatures.ORIENTATIONS
    windows: np.ndarray  # (N, len(WINDOWS)) uint64: pHash of each window, upright, see signatures.WINDOWS
    content_box: np.ndarray  # (N, 4) float32: the frame inside any uniform border, as fractions
    thumbs: Thumbnails
    taken: list[str | None]
    camera: list[str | None]

    def __len__(self) -> int:
        return len(self.content_hash)


def signatures_of(decoded: Sequence[Decoded]) -> list[bytes]:
    """Each decoded image's signatures as bytes (hashes, window hashes, content box), computed in batches."""
    blobs: list[bytes] = []
    for start in range(0, len(decoded), SIGNATURE_CHUNK):
        chunk = decoded[start:start + SIGNATURE_CHUNK]
        blobs += [row.tobytes() for row in _packed(*signatures(np.stack([d.thumb for d in chunk])))]
    return blobs


def _packed(hashes: np.ndarray, windows: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, SIGNATURE_BYTES) uint8: each image's hashes, window hashes and content box, the layout `_columns`
    reads back."""
    return np.concatenate([hashes.view(np.uint8), windows.view(np.uint8), boxes.view(np.uint8)], axis=1)


def row_of(decoded: Decoded, signature: bytes) -> ImageRow:
    return ImageRow(decoded.content_hash, decoded.pixel_hash, decoded.width, decoded.height, decoded.format,
                    decoded.taken, decoded.camera, signature)


def table_of(decoded: Sequence[Decoded]) -> ImageTable:
    """The table of images decoded here, thumbnails held in memory."""
    thumbs = np.stack([d.thumb for d in decoded]) if decoded else np.zeros((0, THUMB, THUMB, 3), np.uint8)
    return table_from_rows([row_of(d, s) for d, s in zip(decoded, signatures_of(decoded), strict=True)], thumbs)


def table_from_rows(rows: Iterable[ImageRow], thumbs: Thumbnails) -> ImageTable:
    """Stack image rows into a table, TABLE_CHUNK at a time; `thumbs[i]` must be the thumbnail of row i."""
    rows = iter(rows)
    parts = []
    while chunk := list(islice(rows, TABLE_CHUNK)):
        parts.append(_columns(chunk))
    parts = parts or [_columns([])]
    columns = {name: _concatenated([part[name] for part in parts]) for name in _columns([])}
    return ImageTable(**columns, thumbs=thumbs)


def _columns(rows: list[ImageRow]) -> dict[str, np.ndarray | list]:
    packed = np.frombuffer(b"".join(row.signature for row in rows), np.uint8).reshape(len(rows), SIGNATURE_BYTES)
    hashes_end = 8 * len(ORIENTATIONS)
    windows_end = hashes_end + 8 * len(WINDOWS)
    return {
        "content_hash": _digests([row.content_hash for row in rows]),
        "pixel_hash": _digests([row.pixel_hash for row in rows]),
        "width": np.array([row.width for row in rows], dtype=np.int32),
        "height": np.array([row.height for row in rows], dtype=np.int32),
        "format": np.array([row.format for row in rows], dtype=str),
        "hashes": packed[:, :hashes_end].copy().view(np.uint64),
        "windows": packed[:, hashes_end:windows_end].copy().view(np.uint64),
        "content_box": packed[:, windows_end:].copy().view(np.float32),
        "taken": [row.taken for row in rows],
        "camera": [row.camera for row in rows],
    }


def _concatenated(parts: list) -> np.ndarray | list:
    if isinstance(parts[0], list):
        return [value for part in parts for value in part]
    return np.concatenate(parts)


def signature_of(images: ImageTable, row: int) -> bytes:
    """One image's signatures as bytes, as `signatures_of` makes them."""
    rows = slice(row, row + 1)
    return _packed(images.hashes[rows], images.windows[rows], images.content_box[rows]).tobytes()


class RowIndex:
    """The row of each content hash in a table, by binary search in a packed sorted copy of the column, so
    that a million rows need no dictionary."""

    def __init__(self, images: ImageTable) -> None:
        self.column = np.frombuffer(b"".join(images.content_hash), "V16")
        self.order = np.argsort(self.column)

    def rows(self, content_hashes: Sequence[bytes]) -> np.ndarray:
        """The row of each content hash, or -1 for one that is not in the table."""
        wanted = np.frombuffer(b"".join(content_hashes), "V16")
        if len(self.column) == 0:
            return np.full(len(wanted), -1, np.int64)
        found = np.minimum(np.searchsorted(self.column, wanted, sorter=self.order), len(self.column) - 1)
        rows = self.order[found]
        return np.where(self.column[rows] == wanted, rows, -1)


def files_of_images(image_of_file: Sequence[int]) -> dict[int, list[int]]:
    """The files of each image row, in file order, keyed in the order rows first appear."""
    files: dict[int, list[int]] = {}
    for file, image in enumerate(image_of_file):
        files.setdefault(int(image), []).append(file)
    return files


def _digests(digests: list[bytes]) -> np.ndarray:
    """Digests as Python bytes in an object array: NumPy's fixed-width "S" strings drop trailing zero bytes."""
    column = np.empty(len(digests), dtype=object)
    column[:] = digests
    return column
