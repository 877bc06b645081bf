"""The table of distinct images a scan works on: one row per distinct content, columns as NumPy arrays.

Guarantees: every column has one entry per row, in the same order; rows are never reordered once built, so a
row index names one image for the whole scan. Byte-identical files share one row. Thumbnails are not columns:
a scan of a million images cannot hold them all, so the table reaches them through `thumbs[row]`, which may
read them from the cache when they are asked for (verification asks for few).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol, overload

import numpy as np

from lookalike.stages.decoded import THUMB, Decoded
from lookalike.stages.signatures import ORIENTATIONS, WINDOWS, signatures

DIGEST_BYTES = 16  # content and pixel hashes
SIGNATURE_BYTES = 8 * len(ORIENTATIONS) + 8 * len(WINDOWS) + 4 * 4  # hashes, window hashes, content box
SIGNATURE_CHUNK = 1024  # thumbnails per batch: bounds the float copies to about 50 MB
TABLE_CHUNK = 8192  # image rows held as Python objects at once while the table is filled


def thumb_from_bytes(blob: bytes) -> np.ndarray:
    """A thumbnail as an array, from its bytes (`Decoded.thumb`, the cache's), without a copy."""
    return np.frombuffer(blob, np.uint8).reshape(THUMB, THUMB, 3)


def picture_from_bytes(blob: bytes) -> np.ndarray | None:
    """The moment check's picture (`Decoded.picture`) as a (PICTURE, PICTURE, 3) RGB array; None without one."""
    if not blob:
        return None
    import cv2

    return np.ascontiguousarray(cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)[..., ::-1])


def thumbs_of(decoded: Sequence[Decoded]) -> np.ndarray:
    """(N, THUMB, THUMB, 3) uint8: the thumbnails of these decoded images, in one array."""
    return np.frombuffer(b"".join(d.thumb for d in decoded), np.uint8).reshape(-1, THUMB, THUMB, 3)


class Thumbnails(Protocol):
    """(THUMB, THUMB, 3) uint8 RGB thumbnails by image row: an array, a dict, or `cache.CachedThumbnails`."""

    def __getitem__(self, row: int) -> np.ndarray: ...


class Pictures(Protocol):
    """The moment check's (PICTURE, PICTURE, 3) uint8 RGB pictures by image row (`cache.CachedPictures`): None
    for an image without one."""

    def __getitem__(self, row: int) -> np.ndarray | None: ...


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
    quality: int | None = None  # as `Decoded`'s
    gps: str | None = None
    detail: float | None = None
    grain: float | None = None


class Digests(Sequence[bytes]):
    """16-byte digests packed in one NumPy array, each read back as `bytes`: a million digests as Python
    objects would take 57 MB instead of 16."""

    def __init__(self, packed: np.ndarray) -> None:
        self.packed = packed  # (N,) "V16"

    @staticmethod
    def of(digests: Sequence[bytes]) -> Digests:
        joined = b"".join(digests)
        if len(joined) != DIGEST_BYTES * len(digests):
            raise ValueError(f"digests must be {DIGEST_BYTES} bytes long")
        return Digests(np.frombuffer(joined, f"V{DIGEST_BYTES}"))

    def __len__(self) -> int:
        return len(self.packed)

    def put(self, row: int, digest: bytes) -> None:
        """Replace one digest (copying the array first when it is read-only: one read from the cache's bytes)."""
        if not self.packed.flags.writeable:
            self.packed = self.packed.copy()
        self.packed[row] = np.frombuffer(digest, f"V{DIGEST_BYTES}")[0]

    @overload
    def __getitem__(self, rows: int) -> bytes: ...

    @overload
    def __getitem__(self, rows: slice) -> Digests: ...

    def __getitem__(self, rows: int | slice) -> bytes | Digests:
        return Digests(self.packed[rows]) if isinstance(rows, slice) else self.packed[rows].tobytes()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.tolist())

    def tolist(self) -> list[bytes]:
        return self.packed.tolist()


@dataclass(frozen=True, slots=True)
class ImageTable:
    content_hash: Digests  # `exact.content_hash` of the file's bytes
    pixel_hash: Digests  # hash of the decoded pixels (as far as decoded)
    width: np.ndarray  # (N,) int32, as displayed
    height: np.ndarray  # (N,) int32, as displayed
    format: np.ndarray  # (N,) object: str, one object per format
    hashes: np.ndarray  # (N, 8) uint64: pHash in each orientation, see signatures.ORIENTATIONS
    windows: np.ndarray  # (N, len(WINDOWS)) uint64: pHash of each window, upright, see signatures.WINDOWS
    content_box: np.ndarray  # (N, 4) float32: the frame inside any uniform border, as fractions
    thumbs: Thumbnails
    taken: list[str | None]
    camera: list[str | None]
    quality: list[int | None]  # JPEG quality estimated from the quantisation tables, None: not a JPEG
    gps: list[str | None]
    detail: list[float | None]  # `decode.detail`, None: not decoded at full size
    grain: list[float | None]  # `decode.grain`, likewise

    def __len__(self) -> int:
        return len(self.content_hash)

    def picture_pixels(self, row: int) -> int:
        """Pixels of picture: a border or letterbox adds pixels but shows nothing more."""
        left, top, right, bottom = self.content_box[row]
        return round(int(self.width[row]) * int(self.height[row]) * float(right - left) * float(bottom - top))

    def subset(self, rows: Sequence[int]) -> ImageTable:
        """A table of these rows only, in this order, their thumbnails read now and held."""
        picked = np.asarray(rows, np.int64)
        thumbs = np.stack([self.thumbs[row] for row in rows]) if rows else np.zeros((0, THUMB, THUMB, 3), np.uint8)
        return ImageTable(
            content_hash=Digests(self.content_hash.packed[picked]), pixel_hash=Digests(self.pixel_hash.packed[picked]),
            width=self.width[picked], height=self.height[picked], format=self.format[picked],
            hashes=self.hashes[picked], windows=self.windows[picked], content_box=self.content_box[picked],
            thumbs=thumbs, taken=[self.taken[row] for row in rows], camera=[self.camera[row] for row in rows],
            quality=[self.quality[row] for row in rows], gps=[self.gps[row] for row in rows],
            detail=[self.detail[row] for row in rows], grain=[self.grain[row] for row in rows],
        )


def signatures_of(decoded: Sequence[Decoded]) -> list[bytes]:
    """Each decoded image's signatures as bytes (hashes, window hashes, content box), computed in batches."""
    blobs: list[bytes] = []
    for start in range(0, len(decoded), SIGNATURE_CHUNK):
        chunk = decoded[start:start + SIGNATURE_CHUNK]
        blobs += [row.tobytes() for row in _packed(*signatures(thumbs_of(chunk)))]
    return blobs


def _packed(hashes: np.ndarray, windows: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N, SIGNATURE_BYTES) uint8: each image's hashes, window hashes and content box, the layout `_fill`
    reads back."""
    return np.concatenate([hashes.view(np.uint8), windows.view(np.uint8), boxes.view(np.uint8)], axis=1)


def row_of(decoded: Decoded, signature: bytes) -> ImageRow:
    return ImageRow(decoded.content_hash, decoded.pixel_hash, decoded.width, decoded.height, decoded.format,
                    decoded.taken, decoded.camera, signature, decoded.quality, decoded.gps,
                    decoded.detail, decoded.grain)


def table_of(decoded: Sequence[Decoded]) -> ImageTable:
    """The table of images decoded here, thumbnails held in memory."""
    rows = [row_of(d, s) for d, s in zip(decoded, signatures_of(decoded), strict=True)]
    return table_from_rows(rows, len(rows), thumbs_of(decoded))


def table_of_contents(content_hashes: Digests, formats: Sequence[str]) -> ImageTable:
    """A table of contents that were never decoded (--method bytes), each with the format sniffed from its first
    bytes ("" if not sniffed): no pixels known (0 × 0, pixel hash all zeros), no signatures, no thumbnails."""
    count = len(content_hashes)
    return ImageTable(content_hash=content_hashes, pixel_hash=Digests(np.zeros(count, f"V{DIGEST_BYTES}")),
                      width=np.zeros(count, np.int32), height=np.zeros(count, np.int32),
                      format=np.array([sys.intern(name) for name in formats], object),
                      hashes=np.zeros((count, len(ORIENTATIONS)), np.uint64),
                      windows=np.zeros((count, len(WINDOWS)), np.uint64),
                      content_box=np.tile(np.array([0, 0, 1, 1], np.float32), (count, 1)), thumbs={},
                      taken=[None] * count, camera=[None] * count, quality=[None] * count, gps=[None] * count,
                      detail=[None] * count, grain=[None] * count)


def table_from_rows(rows: Iterable[ImageRow], count: int, thumbs: Thumbnails) -> ImageTable:
    """The table of `count` image rows, filled TABLE_CHUNK rows at a time into columns allocated once;
    `thumbs[i]` must be the thumbnail of row i."""
    columns = _empty_columns(count)
    rows, filled = iter(rows), 0
    while chunk := list(islice(rows, TABLE_CHUNK)):
        _fill(columns, slice(filled, filled + len(chunk)), chunk)
        filled += len(chunk)
    if filled != count:
        raise ValueError(f"{filled} image rows for a table of {count}")
    return ImageTable(content_hash=Digests(columns.pop("content_hash")), pixel_hash=Digests(columns.pop("pixel_hash")),
                      **columns, thumbs=thumbs)


def _empty_columns(count: int) -> dict[str, np.ndarray | list]:
    return {
        "content_hash": np.empty(count, f"V{DIGEST_BYTES}"),
        "pixel_hash": np.empty(count, f"V{DIGEST_BYTES}"),
        "width": np.empty(count, np.int32),
        "height": np.empty(count, np.int32),
        "format": np.empty(count, object),
        "hashes": np.empty((count, len(ORIENTATIONS)), np.uint64),
        "windows": np.empty((count, len(WINDOWS)), np.uint64),
        "content_box": np.empty((count, 4), np.float32),
        "taken": [None] * count,
        "camera": [None] * count,
        "quality": [None] * count,
        "gps": [None] * count,
        "detail": [None] * count,
        "grain": [None] * count,
    }


def _fill(columns: dict[str, np.ndarray | list], rows: slice, chunk: list[ImageRow]) -> None:
    """Write a chunk of image rows into the columns, unpacking each signature (`_packed`'s layout)."""
    packed = np.frombuffer(b"".join(row.signature for row in chunk), np.uint8).reshape(len(chunk), SIGNATURE_BYTES)
    hashes_end = 8 * len(ORIENTATIONS)
    windows_end = hashes_end + 8 * len(WINDOWS)
    columns["content_hash"][rows] = Digests.of([row.content_hash for row in chunk]).packed
    columns["pixel_hash"][rows] = Digests.of([row.pixel_hash for row in chunk]).packed
    columns["width"][rows] = [row.width for row in chunk]
    columns["height"][rows] = [row.height for row in chunk]
    columns["format"][rows] = [sys.intern(row.format) for row in chunk]
    columns["hashes"][rows] = packed[:, :hashes_end].copy().view(np.uint64)
    columns["windows"][rows] = packed[:, hashes_end:windows_end].copy().view(np.uint64)
    columns["content_box"][rows] = packed[:, windows_end:].copy().view(np.float32)
    columns["taken"][rows] = [row.taken for row in chunk]
    columns["camera"][rows] = [row.camera for row in chunk]
    columns["quality"][rows] = [row.quality for row in chunk]
    columns["gps"][rows] = [row.gps for row in chunk]
    columns["detail"][rows] = [row.detail for row in chunk]
    columns["grain"][rows] = [row.grain for row in chunk]


def signature_of(images: ImageTable, row: int) -> bytes:
    """One image's signatures as bytes, as `signatures_of` makes them."""
    rows = slice(row, row + 1)
    return _packed(images.hashes[rows], images.windows[rows], images.content_box[rows]).tobytes()


class RowIndex:
    """The row of each content hash in a table, by binary search in a packed sorted copy of the column, so
    that a million rows need no dictionary."""

    def __init__(self, images: ImageTable) -> None:
        self.column = images.content_hash.packed
        self.order = np.argsort(self.column)

    def rows(self, content_hashes: Sequence[bytes]) -> np.ndarray:
        """The row of each content hash, or -1 for one that is not in the table."""
        wanted = Digests.of(content_hashes).packed
        if len(self.column) == 0:
            return np.full(len(wanted), -1, np.int64)
        found = np.minimum(np.searchsorted(self.column, wanted, sorter=self.order), len(self.column) - 1)
        rows = self.order[found]
        return np.where(self.column[rows] == wanted, rows, -1)


class FilesOfImages(Mapping[int, list[int]]):
    """The files of each image row that has any, in file order, rows ascending: held as one array of files
    sorted by row, because a million lists would take a hundred megabytes."""

    def __init__(self, image_of_file: Sequence[int]) -> None:
        image_of_file = np.asarray(image_of_file, np.int64)
        self.files = np.argsort(image_of_file, kind="stable")
        rows = image_of_file[self.files]
        self.rows, self.starts, counts = np.unique(rows, return_index=True, return_counts=True)
        self.ends = self.starts + counts

    def __getitem__(self, row: int) -> list[int]:
        at = int(np.searchsorted(self.rows, row))
        if at == len(self.rows) or self.rows[at] != row:
            raise KeyError(row)
        return self.files[self.starts[at]:self.ends[at]].tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.rows.tolist())

    def __len__(self) -> int:
        return len(self.rows)

    def shared(self) -> np.ndarray:
        """The rows held by more than one file."""
        return self.rows[self.ends - self.starts > 1]

    def shared_files(self) -> list[list[int]]:
        """The files of each row (not negative) held by more than one file, rows ascending."""
        held = (self.ends - self.starts > 1) & (self.rows >= 0)
        files = self.files.tolist()
        return [files[start:end] for start, end in zip(self.starts[held].tolist(), self.ends[held].tolist(),
                                                       strict=True)]


