"""Previews for the review page: a file of the scan drawn as a JPEG of bounded size, made once per content.

Guarantees:
- a preview is made only from bytes whose content hash (`lookalike.stages.exact.content_hash`) is the one the scan
  recorded, read through `walk.open_regular` (never a FIFO or device): a file that changed, vanished, or was
  replaced by a link to something else gives None, never another file's pixels;
- an image larger than the scan's pixel limit is not decoded;
- previews are stored by content hash and size in the user's cache folder and written whole (temporary name,
  then rename), so each is made once and reused by every later review, also of another copy of those bytes.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from PIL import Image
from platformdirs import user_cache_dir

from lookalike.stages.decode import as_shown
from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, WORKER_MEMORY
from lookalike.stages.exact import content_hash
from lookalike.stages.walk import open_regular

SIZES = {"thumb": 256, "full": 2048}  # longest side in pixels, by the name the page asks for
QUALITY = 88


def default_preview_folder() -> Path:
    return Path(user_cache_dir("lookalike")) / "previews"


class Previews:
    """Preview files under `folder`, made on first request."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_preview_folder()

    def path_of(self, content_hash_hex: str, size: str) -> Path:
        return self.folder / content_hash_hex[:2] / f"{content_hash_hex}-{SIZES[size]}.jpg"

    def get(self, path: str, content_hash_hex: str, size: str) -> Path | None:
        """The preview of the file at `path` if it still holds the scanned bytes, else None."""
        target = self.path_of(content_hash_hex, size)
        if target.exists():
            return target
        data = _scanned_bytes(path, content_hash_hex)
        picture = data and _render(data, SIZES[size])
        if picture is None:
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".lookalike-", suffix=".tmp",
                                         delete=False) as scratch:
            scratch.write(picture)
        os.replace(scratch.name, target)
        return target


def _scanned_bytes(path: str, content_hash_hex: str) -> bytes | None:
    try:
        with open_regular(path) as handle:
            if os.fstat(handle.fileno()).st_size > WORKER_MEMORY:
                return None
            data = handle.read()
    except OSError:
        return None
    return data if content_hash(data).hex() == content_hash_hex else None


def _render(data: bytes, longest: int) -> bytes | None:
    """JPEG bytes of the image in `data`, shown as a viewer shows it, at most `longest` pixels a side."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > DEFAULT_MAX_PIXELS:
                return None
            image.draft("RGB", (longest, longest))  # JPEG: decode at the smallest DCT scale that is large enough
            shown = as_shown(image)
            shown.thumbnail((longest, longest), Image.Resampling.LANCZOS, reducing_gap=3.0)
            out = io.BytesIO()
            shown.save(out, "JPEG", quality=QUALITY)
            return out.getvalue()
    except Exception:  # a decoder's failure on one file: the page shows "no preview", the server stays up
        return None
