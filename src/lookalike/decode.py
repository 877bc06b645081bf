"""Stage 3, decode: turn each image file into a small canonical thumbnail, as cheaply as its format allows.

Guarantees, for every file given:
- it is read once, from disk into memory, and its bytes are hashed on the way (`content_hash`);
- JPEGs are decoded with DCT scaling (libjpeg's 1/2 .. 1/8), never at full size when a thumbnail is wanted;
- the thumbnail is what a viewer shows: EXIF orientation applied, first frame of an animation, transparency
  flattened onto white, any bit depth or colour space turned into 8-bit RGB, squashed to THUMB × THUMB;
- `width` and `height` are the displayed size (after orientation), not the thumbnail's;
- an image over `max_pixels` is refused from its header, before any pixel is decoded;
- anything that goes wrong becomes a `Problem` with a plain reason; nothing raises.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lookalike.exact import content_hash
from lookalike.formats import format_name
from lookalike.walk import Problem, describe_os_error

THUMB = 64
DEFAULT_MAX_PIXELS = 200_000_000

try:  # HEIC/HEIF/AVIF: an optional plugin, a hard dependency of the package but tolerated if missing
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_INSTALL_HINT = ""
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_INSTALL_HINT = " (HEIC/AVIF support needs: pip install pillow-heif)"

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit, before decoding, in one place: `_check_pixels`
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

_EXIF_IFD = 0x8769
_DATE_TAKEN = 0x9003
_MAKE = 0x010F
_MODEL = 0x0110


@dataclass(frozen=True, slots=True)
class Decoded:
    """What the rest of the pipeline needs to know about one image's content."""

    content_hash: bytes
    pixel_hash: bytes
    width: int
    height: int
    format: str
    thumb: np.ndarray  # (THUMB, THUMB, 3) uint8, RGB
    taken: str | None
    camera: str | None


def decode_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded | Problem:
    """Decode one file into a `Decoded`, or say why it cannot be."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return Problem(path, f"cannot read: {describe_os_error(error)}")
    try:
        return decode_bytes(data, max_pixels)
    except _Refused as refusal:
        return Problem(path, str(refusal))
    except UnidentifiedImageError:
        return Problem(path, f"not a readable image: unknown or unsupported format{HEIF_INSTALL_HINT}")
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as error:
        return Problem(path, f"damaged image: {_describe_decode_error(error)}")
    except MemoryError:
        return Problem(path, "damaged image: decoding needed more memory than available")


def decode_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded:
    with Image.open(io.BytesIO(data)) as image:
        _check_pixels(image, max_pixels)
        stored_size = image.size
        image_format = format_name(image.format)
        if image_format == "JPEG":
            image.draft("RGB", (2 * THUMB, 2 * THUMB))
        exif = image.getexif()
        shown = ImageOps.exif_transpose(_as_rgb(image))
        width, height = _displayed_size(stored_size, exif)
        pixels = np.asarray(shown)
        thumb = np.asarray(shown.resize((THUMB, THUMB), Image.Resampling.LANCZOS))
    return Decoded(
        content_hash=content_hash(data),
        pixel_hash=content_hash(np.array(pixels.shape).tobytes() + pixels.tobytes()),
        width=width,
        height=height,
        format=image_format,
        thumb=thumb,
        taken=_text(exif.get_ifd(_EXIF_IFD).get(_DATE_TAKEN)),
        camera=_text(" ".join(str(exif.get(tag, "")).strip() for tag in (_MAKE, _MODEL)).strip()),
    )


class _Refused(Exception):
    pass


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise _Refused(
            f"refused: {width}×{height} is {width * height / 1e6:.0f} megapixels, over the limit of "
            f"{max_pixels / 1e6:.0f} (a decompression bomb, or raise --max-pixels)"
        )


def _as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB as a viewer would show it: high bit depths scaled down, transparency over white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        image = _scale_to_8bit(image)
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
    scaled = np.clip(values * (255.0 / top), 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _displayed_size(stored: tuple[int, int], exif: Image.Exif) -> tuple[int, int]:
    width, height = stored
    if exif.get(0x0112) in (5, 6, 7, 8):  # orientations that swap the axes
        return height, width
    return width, height


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ") if value is not None else ""
    return text or None


def _describe_decode_error(error: Exception) -> str:
    message = str(error).strip()
    if "truncated" in message.lower() or isinstance(error, EOFError):
        return "file is truncated"
    return message or type(error).__name__


BATCH = 16


def decode_all(
    paths: Sequence[str],
    jobs: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_progress: Callable[[int], None] = lambda _: None,
    work: Callable[[str, int], object] = decode_file,
) -> Iterator[tuple[int, Decoded | Problem]]:
    """Decode `paths` on `jobs` worker processes, yielding (index into paths, result) as they finish.

    `work(path, max_pixels)` is what a worker does with each file: `decode_file` unless told otherwise (a
    module-level function, so that it can be sent to the workers).
    """
    batches = [range(start, min(start + BATCH, len(paths))) for start in range(0, len(paths), BATCH)]
    if jobs <= 1 or len(paths) <= BATCH:
        for batch in batches:
            yield from zip(batch, _decode_batch([paths[i] for i in batch], max_pixels, work), strict=True)
            on_progress(len(batch))
        return
    context = get_context("forkserver")
    context.set_forkserver_preload(["lookalike.decode"])
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = [(batch, pool.submit(_decode_batch, [paths[i] for i in batch], max_pixels, work))
                   for batch in batches]
        for batch, future in futures:
            yield from zip(batch, future.result(), strict=True)
            on_progress(len(batch))


def _decode_batch(paths: list[str], max_pixels: int, work: Callable[[str, int], object]) -> list:
    return [work(path, max_pixels) for path in paths]
