"""Signatures as Parquet: a cache's images and files as two tables other pipelines can read and join.

`export_parquet(cache, folder)` writes `images.parquet` (one row per distinct content: content hash, pixel
hash, width, height, format, the pHash in each of the 8 orientations, the window hashes, the content box,
the RGB thumbnail's bytes, date taken, camera) and `files.parquet` (path as bytes, device, inode, size,
mtime_ns, content hash). `import_parquet(folder, cache)` writes both into a cache, so a scan there decodes
none of those contents again; files are trusted only where device, inode, size and mtime all still match,
as for any cached file, so on another machine they are hashed again but not decoded.

Guarantees: a row's hashes are `images.table_of` of its thumbnail, so a join of these tables finds what a
scan's search would; the tables carry the signature version, and an import refuses another version (its
hashes would not be comparable) or a malformed table before writing anything. An import recomputes each
batch's hashes from its thumbnails and stops at a batch whose hashes differ, before writing that batch.
Files are written whole under a temporary name and then renamed, so an interrupted export leaves no half table.
Tables are written and read BATCH rows at a time, so memory stays bounded on caches of millions of images.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lookalike.cache import SIGNATURE_VERSION, Cache
from lookalike.stages.decoded import THUMB, Decoded
from lookalike.stages.images import signature_of, table_of
from lookalike.stages.signatures import ORIENTATIONS, WINDOWS

IMAGES, FILES = "images.parquet", "files.parquet"
BATCH = 4096
VERSION_KEY = b"lookalike.signature_version"
THUMB_BYTES = THUMB * THUMB * 3

IMAGES_SCHEMA = pa.schema([
    ("content_hash", pa.binary()),
    ("pixel_hash", pa.binary()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("format", pa.string()),
    ("hashes", pa.list_(pa.uint64(), len(ORIENTATIONS))),  # pHash in each orientation, signatures.ORIENTATIONS
    ("windows", pa.list_(pa.uint64(), len(WINDOWS))),  # pHash of each window, upright, signatures.WINDOWS
    ("content_box", pa.list_(pa.float32(), 4)),  # left, top, right, bottom of the content inside any border
    ("thumb", pa.binary(THUMB_BYTES)),  # THUMB × THUMB × 3 RGB bytes, row by row
    ("taken", pa.string()),
    ("camera", pa.string()),
    ("quality", pa.int16()),  # JPEG quality estimated from the quantisation tables; null: not a JPEG
    ("gps", pa.string()),
    ("detail", pa.float64()),  # decode.detail; null: not decoded at full size
    ("grain", pa.float64()),  # decode.grain; likewise
], metadata={VERSION_KEY: SIGNATURE_VERSION.encode(), b"lookalike.thumb_side": str(THUMB).encode()})

FILES_SCHEMA = pa.schema([
    ("path", pa.binary()),  # the path's bytes as the file system has them (any encoding)
    ("device", pa.int64()),
    ("inode", pa.int64()),
    ("size", pa.int64()),
    ("mtime_ns", pa.int64()),
    ("content_hash", pa.binary()),
], metadata={VERSION_KEY: SIGNATURE_VERSION.encode()})


@dataclass(frozen=True, slots=True)
class Counts:
    images: int
    files: int


def export_parquet(cache: Cache, folder: str | os.PathLike[str]) -> Counts:
    """Write the cache's images and files to FOLDER/images.parquet and FOLDER/files.parquet."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = _write(folder / IMAGES, IMAGES_SCHEMA, _image_batches(cache))
    files = _write(folder / FILES, FILES_SCHEMA, _file_batches(cache))
    return Counts(images, files)


def import_parquet(folder: str | os.PathLike[str], cache: Cache) -> Counts:
    """Write FOLDER's images.parquet and files.parquet (as `export_parquet` writes them) into `cache`."""
    images, files = (_checked(Path(folder) / name, schema) for name, schema in ((IMAGES, IMAGES_SCHEMA),
                                                                                (FILES, FILES_SCHEMA)))
    for batch in images.iter_batches(BATCH):
        _import_images(batch, cache)
    for batch in files.iter_batches(BATCH):
        columns = batch.to_pydict()
        cache.remember_file_rows(zip(columns["path"], columns["device"], columns["inode"], columns["size"],
                                     columns["mtime_ns"], columns["content_hash"], strict=True))
    return Counts(images.metadata.num_rows, files.metadata.num_rows)


def _image_batches(cache: Cache) -> Iterator[pa.RecordBatch]:
    hashes = cache.image_hashes()
    for start in range(0, len(hashes), BATCH):
        chunk = hashes[start:start + BATCH]
        found = cache.images(chunk)
        table = table_of([found[digest] for digest in chunk])
        yield pa.record_batch([
            pa.array(list(table.content_hash), pa.binary()),
            pa.array(list(table.pixel_hash), pa.binary()),
            pa.array(table.width),
            pa.array(table.height),
            pa.array(table.format.tolist(), pa.string()),
            _fixed_lists(table.hashes, pa.uint64()),
            _fixed_lists(table.windows, pa.uint64()),
            _fixed_lists(table.content_box, pa.float32()),
            pa.array([thumb.tobytes() for thumb in table.thumbs], pa.binary(THUMB_BYTES)),
            pa.array(table.taken, pa.string()),
            pa.array(table.camera, pa.string()),
            pa.array(table.quality, pa.int16()),
            pa.array(table.gps, pa.string()),
            pa.array(table.detail, pa.float64()),
            pa.array(table.grain, pa.float64()),
        ], schema=IMAGES_SCHEMA)


def _file_batches(cache: Cache) -> Iterator[pa.RecordBatch]:
    rows = cache.file_rows()
    while chunk := list(islice(rows, BATCH)):
        columns = list(zip(*chunk, strict=True))
        yield pa.record_batch([pa.array(column, field.type) for column, field in zip(columns, FILES_SCHEMA,
                                                                                      strict=True)],
                              schema=FILES_SCHEMA)


def _fixed_lists(values: np.ndarray, value_type: pa.DataType) -> pa.FixedSizeListArray:
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), value_type), values.shape[1])


def _write(path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    partial = path.with_name(f".{path.name}.partial")
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _checked(path: Path, schema: pa.Schema) -> pq.ParquetFile:
    """The Parquet file at `path`, after checking it is a table of this signature version with `schema`."""
    try:
        table = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise ValueError(f"{path}: not a readable Parquet file ({error})") from error
    version = (table.schema_arrow.metadata or {}).get(VERSION_KEY, b"none").decode()
    if version != SIGNATURE_VERSION:
        raise ValueError(f"{path}: signatures of version {version}, this lookalike computes version "
                         f"{SIGNATURE_VERSION}; export them again with this version")
    if not table.schema_arrow.remove_metadata().equals(schema.remove_metadata()):
        raise ValueError(f"{path}: columns are not those of a lookalike {path.stem} table")
    return table


def _import_images(batch: pa.RecordBatch, cache: Cache) -> None:
    """Write one batch of images, with signatures recomputed from the thumbnails and checked against the table's."""
    table = table_of(_decoded(batch))
    for column in ("hashes", "windows", "content_box"):
        theirs = batch.column(column).flatten().to_numpy().reshape(getattr(table, column).shape)
        if not np.array_equal(theirs, getattr(table, column)):
            raise ValueError(f"{column} in the table are not those of its thumbnails: not written by this lookalike "
                             f"(or changed since); nothing from this batch of {batch.num_rows} images was written")
    cache.remember_images(_decoded(batch), [signature_of(table, row) for row in range(len(table))])


def _decoded(batch: pa.RecordBatch) -> list[Decoded]:
    columns = batch.to_pydict()
    return [Decoded(*fields) for fields in zip(
                columns["content_hash"], columns["pixel_hash"], columns["width"], columns["height"],
                columns["format"], columns["thumb"], columns["taken"], columns["camera"], columns["quality"],
                columns["gps"], columns["detail"], columns["grain"], strict=True)]
