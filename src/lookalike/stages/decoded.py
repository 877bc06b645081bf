"""What the decode stage gives the rest of the pipeline, and the limits it decodes within.

`Decoded` is one distinct content as decoding found it (`decode.decode_file` makes it, in a worker process).
This module needs nothing beyond the standard library: the scanning process, which only receives `Decoded`
records and sets the limits, never loads Pillow. The thumbnail, the local features and the picture travel as
bytes (`images.thumb_from_bytes`, `local_features.unpack` and `images.picture_from_bytes` make arrays of them).
"""

from __future__ import annotations

from dataclasses import dataclass

THUMB = 64  # the thumbnail's side
PICTURE = 128  # the side of the picture the moment check compares, twice the thumbnail's
DEFAULT_MAX_PIXELS = 250_000_000  # a 200-megapixel phone photo (16,320 × 12,240), within WORKER_MEMORY
DEFAULT_TIMEOUT = 60.0  # seconds one file may take to decode
WORKER_MEMORY = 1536 * 2**20  # bytes of data one worker may hold: a 100-megapixel image and the file's bytes
TOO_BIG = f"refused: decoding needs more than the {WORKER_MEMORY // 2**20} MB a worker may use"
RAW_INSTALL = 'pip install "lookalike[raw]"'


@dataclass(frozen=True, slots=True)
class Decoded:
    """What the rest of the pipeline needs to know about one image's content."""

    content_hash: bytes
    pixel_hash: bytes
    width: int
    height: int
    format: str
    thumb: bytes  # THUMB × THUMB RGB pixels, row by row
    taken: str | None
    camera: str | None
    quality: int | None = None  # JPEG quality (1-100) estimated from the quantisation tables; None: not a JPEG
    gps: str | None = None  # "latitude,longitude" in signed decimal degrees, from EXIF
    detail: float | None = None  # `decode.detail` of a picture decoded at its full size; None: decoded smaller
    grain: float | None = None  # `decode.grain`, likewise
    features: bytes = b""  # `local_features.extract`: ORB features of the image and its mirror image
    picture: bytes = b""  # `decode.picture`: PICTURE × PICTURE RGB pixels as a JPEG, for the moment check


def needs_install(reason: str) -> bool:
    """Whether a failure's reason is a missing optional package: not the file's fault, so not to be
    remembered against the file (after the install, the next scan must try it again)."""
    return "pip install" in reason
