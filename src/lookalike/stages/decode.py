"""Stage 3, decode: turn each image file into a small canonical thumbnail, as cheaply as its format allows.

Guarantees, for every file given:
- it is read once, from disk into memory, and its bytes are hashed on the way (`content_hash`); it is opened
  with `walk.open_regular`, so a FIFO or device that took its place is never read;
- the format is decided by content: JPEG (baseline, progressive, CMYK and YCCK), PNG, GIF, WebP, TIFF, BMP,
  MPO, HEIC/HEIF, AVIF through Pillow and pillow-heif; camera RAW (CR2, CR3, RAF, ORF, RW2 by content, the
  TIFF-based NEF, ARW, DNG, PEF... by extension, confirmed by LibRaw) through the optional rawpy, from the
  embedded preview when it is large enough and shows the whole frame, else from a half-size development;
- JPEGs are decoded with DCT scaling (libjpeg's 1/2 .. 1/8), never at full size when a thumbnail is wanted;
- the thumbnail is what a viewer shows: EXIF orientation applied, first frame of an animation or first page of
  a TIFF, transparency flattened onto white, CMYK inverted only when an Adobe marker says it is stored
  inverted, any bit depth or colour space turned into 8-bit RGB, squashed to THUMB × THUMB;
- `pixel_hash` is a 128-bit hash of that 8-bit RGB picture as decoded (a JPEG at its DCT-scaled size) and of
  its size: two files have the same one when, and barring a 128-bit collision only when, they decode to the
  same pixels, whatever their formats;
- `width` and `height` are the displayed size (after orientation), not the thumbnail's;
- an image whose decoding would hold more than `max_pixels` pixels is refused from its header, before any pixel
  is decoded. Counted is what the decoder must hold: a baseline JPEG is decoded at 1/8 of its sides, so it may
  have up to 64 × max_pixels pixels; a progressive JPEG keeps coefficients for every pixel and counts in full;
- anything that goes wrong becomes a `Problem` with a plain reason; nothing raises.

`pool.decode_all` runs `decode_file` in worker processes, each limited to `WORKER_MEMORY` bytes of data, so
that a decompression bomb that lies in its header fails its own file ("decoding needs more than the 1536 MB a
worker may use") instead of exhausting the machine; a worker that hangs longer than `timeout` on one file, or
dies inside a C library, is killed and replaced, and only that file is reported. Only the workers (and the
review page) import this module: what the scanning process needs of this stage, `Decoded` and the limits, is
in `decoded`, which needs no imaging library.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import warnings
from array import array
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import xxhash
from PIL import Image, ImageChops, ImageStat, UnidentifiedImageError

from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, PICTURE, RAW_INSTALL, THUMB, TOO_BIG, WORKER_MEMORY, Decoded
from lookalike.stages.exact import content_hash
from lookalike.stages.formats import SNIFFED_RAW_FORMATS, extension_of, format_name, raw_format, sniff_format
from lookalike.stages.local_features import FEATURE_SIDE, extract
from lookalike.stages.walk import HEAD, Problem, describe_open_error, open_regular

if TYPE_CHECKING:
    from types import ModuleType

    import rawpy

REDUCING_GAP = 3.0
PICTURE_QUALITY = 90
HASH_BLOCK = 2**16  # bytes of pixels hashed at a time
DETAIL_MIN_SIDE = 16
DETAIL_SCALE = 1.25  # `detail` measures the top fifth of the frequencies: an enlargement by this much has none there
MEASURED_SIDE = 768  # pixels a side of the middle of a picture that `detail` and `grain` measure
GRAIN_BLOCK = 8  # pixels on a side of the blocks `grain` compares
GRAIN_SHARE = 0.1  # `grain` is this quantile of the blocks' fine energy: the flattest parts of the picture
PREVIEW_MIN_SIDE = 4 * THUMB  # an embedded RAW preview smaller than this (a contact-sheet thumbnail) is not used

try:  # HEIC/HEIF: an optional plugin, a hard dependency of the package but tolerated if missing
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_INSTALL_HINT = ""
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_INSTALL_HINT = " (HEIC support needs: pip install pillow-heif)"


def _register_plugins() -> None:
    """Pillow's plugins for the formats lookalike reads, loaded with this module: once, in the forkserver, rather
    than by each worker at its first file (Pillow then loads five, and at the first WebP all forty-five: 35 ms)."""
    Image.preinit()
    for plugin in ("MpoImagePlugin", "TiffImagePlugin", "WebPImagePlugin"):
        importlib.import_module(f"PIL.{plugin}")


_register_plugins()
Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit, before decoding, in one place: `_check_pixels`
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # "Corrupt EXIF data": the file's problem

_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_DATE_TAKEN = 0x9003
_MAKE = 0x010F
_MODEL = 0x0110
_GPS_IFD = 0x8825
# libjpeg's quality-50 tables (Annex K of the JPEG standard), summed: a table of `q` sums to this scaled by
# libjpeg's factor (200 - 2q) % for q >= 50, 5000 / q % below
_STANDARD_TABLE_SUMS = (3688, 5505)
_JPEG_FORMATS = ("JPEG", "MPO")
_ISO_MEDIA_FORMATS = ("HEIC", "HEIF", "AVIF")
_TRANSPOSE_OF_ORIENTATION = {  # EXIF orientation: what shows the stored pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_OF_LIBRAW_FLIP = {3: 3, 5: 8, 6: 6}


class _Refused(Exception):
    """A file that is not decoded on purpose; its message is the whole reason."""


def decode_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded | Problem:
    """Decode one file into a `Decoded`, or say why it cannot be."""
    try:
        with open_regular(path) as handle:
            if os.fstat(handle.fileno()).st_size > WORKER_MEMORY:  # a worker could not even hold its bytes
                return Problem(path, TOO_BIG)
            data = handle.read()
    except OSError as error:
        return Problem(path, describe_open_error(error))
    except MemoryError:
        return Problem(path, TOO_BIG)
    try:
        return decode_bytes(data, max_pixels, extension_of(path))
    except _Refused as refusal:
        return Problem(path, str(refusal))
    except MemoryError:
        return Problem(path, TOO_BIG)
    except Exception as error:  # a decoder's bug on one file must not stop the scan
        return Problem(path, describe_decode_error(error))


def decode_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, extension: str = "") -> Decoded:
    """Decode a file's bytes; `extension` (".nef") tells a TIFF-based camera RAW from a TIFF."""
    sniffed = sniff_format(data[:HEAD])
    raw_kind = raw_format(sniffed, extension)
    if raw_kind is not None:
        decoded = _decode_raw(data, raw_kind, max_pixels)
        if decoded is not None:
            return decoded
    with Image.open(io.BytesIO(data)) as image:
        # pillow-heif calls HEIC, HEIF and AVIF all "HEIF"; the file's brand tells them apart
        image_format = sniffed if sniffed in _ISO_MEDIA_FORMATS else None
        return _decode_image(image, content_hash(data), max_pixels, image_format)


def _decode_image(image: Image.Image, digest: bytes, max_pixels: int, image_format: str | None = None,
                  orientation: int | None = None) -> Decoded:
    """Decode an opened image; `orientation` (EXIF's 1-8) replaces its own (a RAW preview turns as its RAW)."""
    stored_size = image.size
    if image.format in _JPEG_FORMATS:
        image.draft("RGB", (FEATURE_SIDE, FEATURE_SIDE))
        _check_pixels(stored_size, stored_size if image.info.get("progressive") else image.size, max_pixels)
    else:
        _check_pixels(stored_size, stored_size, max_pixels)
    exif = image.getexif()
    orientation = _orientation(exif if orientation is None else {_ORIENTATION: orientation})
    width, height = reversed(stored_size) if orientation in (5, 6, 7, 8) else stored_size
    shown = _shown(image, orientation)
    middle = _centre(shown).convert("L") if shown.size == (width, height) else None  # at full size only
    return Decoded(
        content_hash=digest,
        pixel_hash=_pixel_hash(shown),
        width=width,
        height=height,
        format=image_format or format_name(image.format),
        thumb=thumbnail(shown),
        taken=_text(exif.get_ifd(_EXIF_IFD).get(_DATE_TAKEN)),
        camera=_text(" ".join(str(exif.get(tag, "")).strip() for tag in (_MAKE, _MODEL)).strip()),
        features=extract(shown),
        picture=picture(shown),
        quality=jpeg_quality(image),
        gps=gps_position(exif),
        detail=detail(middle) if middle is not None else None,
        grain=grain(middle) if middle is not None else None,
    )


def _orientation(exif: Mapping[int, object]) -> int:
    """EXIF's orientation (1-8) of an image; 1, as stored, for none or a damaged tag."""
    orientation = exif.get(_ORIENTATION)
    return orientation if isinstance(orientation, int) and orientation in _TRANSPOSE_OF_ORIENTATION else 1


def _shown(image: Image.Image, orientation: int) -> Image.Image:
    """The opened image's pixels, 8-bit RGB, turned upright as its `orientation` says."""
    image.load()
    shown = _as_rgb(_cmyk_as_stored(image))
    turn = _TRANSPOSE_OF_ORIENTATION.get(orientation)
    return shown if turn is None else shown.transpose(turn)


def measured_at_full_size(data: bytes, max_pixels: int) -> tuple[float | None, float | None, bytes] | None:
    """`detail`, `grain` and the pixel hash of an image's bytes decoded at their full size, as `decode_bytes`
    gives them for a picture it does not decode smaller (`measures`); None over `max_pixels`."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > max_pixels:
            return None
        shown = _shown(image, _orientation(image.getexif()))
    middle = _centre(shown).convert("L")
    return detail(middle), grain(middle), _pixel_hash(shown)


def stored_rgb(data: bytes, max_pixels: int) -> np.ndarray | None:
    """An image's pixels as stored (not turned upright), (height, width, 3) uint8 RGB as a program saving them
    again takes them; None over `max_pixels`."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > max_pixels:
            return None
        return np.asarray(_as_rgb(image))


def _centre(image: Image.Image) -> Image.Image:
    """The middle of a picture, at most MEASURED_SIDE pixels a side, at its own resolution: what `detail` and
    `grain` measure is per pixel, and the whole of a 12-megapixel picture would cost over a second."""
    width, height = image.size
    side_w, side_h = min(width, MEASURED_SIDE), min(height, MEASURED_SIDE)
    left, top = (width - side_w) // 2, (height - side_h) // 2
    return image.crop((left, top, left + side_w, top + side_h)) if (side_w, side_h) != (width, height) else image


def detail(image: Image.Image) -> float | None:
    """How much of the picture lies in the top fifth of its frequencies: the mean grey difference (0-255) between
    it and itself shrunk by DETAIL_SCALE and enlarged back (Lanczos). An enlargement by 1.25 or more has nothing
    there but what resampling leaves, so that copies of one picture tell an enlargement by it (`keep`). None for a
    picture too small to say."""
    grey = image.convert("L")
    if min(grey.size) < DETAIL_MIN_SIDE:
        return None
    shrunk = grey.resize((round(grey.width / DETAIL_SCALE), round(grey.height / DETAIL_SCALE)),
                         Image.Resampling.LANCZOS)
    back = shrunk.resize(grey.size, Image.Resampling.LANCZOS)
    return round(ImageStat.Stat(ImageChops.difference(grey, back)).mean[0], 3)


def grain(image: Image.Image) -> float | None:
    """The fine energy of the flattest parts of the picture: the GRAIN_SHARE quantile, over blocks of GRAIN_BLOCK
    pixels, of the mean absolute Laplacian of the grey image (grey levels). A photo's sky or wall is nearly flat;
    noise added to a copy lies on them too, so the copy's grain is far above its original's (`keep`). None for a
    picture too small to say."""
    import cv2  # in the workers, which find features with it too

    grey = np.asarray(image.convert("L"), np.float32)
    # the 4-neighbour Laplacian, inside the border, and its block means, by OpenCV: NumPy's took twice as long
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_CONSTANT))[1:-1, 1:-1] / 4
    rows, columns = (side // GRAIN_BLOCK for side in laplacian.shape)
    if min(rows, columns) < 2:
        return None
    blocks = cv2.resize(laplacian[:rows * GRAIN_BLOCK, :columns * GRAIN_BLOCK], (columns, rows),
                        interpolation=cv2.INTER_AREA)
    return round(float(np.quantile(blocks, GRAIN_SHARE)), 3)


def jpeg_quality(image: Image.Image) -> int | None:
    """The quality (1-100) a JPEG was last saved at, as libjpeg's scale of its standard tables: estimated from
    the sums of the luminance and chrominance quantisation tables, so any table order will do; None when the
    image is not a JPEG. A camera's or editor's own tables give the libjpeg quality of the same coarseness."""
    tables = getattr(image, "quantization", None)
    if not tables:
        return None
    scales = [100 * sum(table) / standard
              for table, standard in zip(tables.values(), _STANDARD_TABLE_SUMS, strict=False)]
    scale = sum(scales) / len(scales)
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return max(1, min(100, round(quality)))


def gps_position(exif: Image.Exif) -> str | None:
    """EXIF's GPS position as "latitude,longitude" in signed decimal degrees, or None (absent or damaged)."""
    try:
        gps = exif.get_ifd(_GPS_IFD)
        latitude, longitude = _degrees(gps[2], gps.get(1)), _degrees(gps[4], gps.get(3))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return f"{latitude:.6f},{longitude:.6f}"


def _degrees(value: tuple, reference: object) -> float:
    degrees, minutes, seconds = (float(part) for part in value)
    sign = -1 if str(reference).strip("\x00 ").upper() in ("S", "W") else 1
    return sign * (degrees + minutes / 60 + seconds / 3600)


def as_shown(image: Image.Image) -> Image.Image:
    """An opened image as a viewer shows it (8-bit RGB, EXIF orientation applied), for the review page."""
    turn = _TRANSPOSE_OF_ORIENTATION.get(image.getexif().get(_ORIENTATION))  # a damaged tag: as stored
    shown = _as_rgb(_cmyk_as_stored(image))
    return shown.transpose(turn) if turn is not None else shown


def thumbnail(image: Image.Image) -> bytes:
    """An upright RGB image's thumbnail: THUMB × THUMB by Pillow's HAMMING filter (a Hamming-windowed sinc as
    narrow as BILINEAR's); a side of 2 × REDUCING_GAP × THUMB or more is first box-reduced by a whole factor, to
    no less than REDUCING_GAP × THUMB. Measured on the speed benchmark's photos, 0.53 ms a file against LANCZOS's
    0.93, with the same precision and recall on the dev and holdout accuracy collections, where BICUBIC lost up
    to a point of recall and BILINEAR up to two (on crops and captions), and a gap of 2.5 lost crops."""
    return _squashed(image, THUMB).tobytes()


def picture(image: Image.Image) -> bytes:
    """The picture the moment check compares (`geometry.moment_check`): PICTURE × PICTURE, squashed as the
    thumbnail is, as a JPEG of quality PICTURE_QUALITY (a tenth of its pixels' bytes)."""
    out = io.BytesIO()
    _squashed(image, PICTURE).save(out, "JPEG", quality=PICTURE_QUALITY)
    return out.getvalue()


def _squashed(image: Image.Image, side: int) -> Image.Image:
    """The image squashed to side × side as `thumbnail` says."""
    return image.resize((side, side), Image.Resampling.HAMMING, reducing_gap=REDUCING_GAP)


def _check_pixels(stored: tuple[int, int], decoded: tuple[int, int], max_pixels: int) -> None:
    """Refuse an image whose decoding holds more than `max_pixels` pixels (its `decoded` size)."""
    pixels = decoded[0] * decoded[1]
    if pixels <= max_pixels:
        return
    width, height = stored
    scaled = "" if decoded == stored else f" ({_megapixels(pixels)} decoded at {decoded[0]}×{decoded[1]})"
    raise _Refused(
        f"refused: {width}×{height} is {_megapixels(width * height)} megapixels{scaled}, over the limit of "
        f"{_megapixels(max_pixels)} (a decompression bomb, or raise --max-pixels)"
    )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 100e6 else f"{pixels / 1e6:.3g}"


def _cmyk_as_stored(image: Image.Image) -> Image.Image:
    """Pillow reads every CMYK JPEG as Adobe-inverted; one without an Adobe marker is stored plain: undo."""
    if image.mode == "CMYK" and image.format in _JPEG_FORMATS and "adobe" not in image.info:
        return Image.eval(image, lambda value: 255 - value)
    return image


def _as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB as a viewer would show it: high bit depths scaled down, transparency over white.

    Each step drops the previous full-size copy, so the peak is about two copies of the image.
    """
    if image.mode.startswith("I") or image.mode == "F":
        image = _scale_to_8bit(image)
    if image.mode in ("P", "PA", "RGBa", "La"):
        transparent = image.mode != "P" or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image)
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    import numpy as np  # only for these rare images

    values = np.asarray(image).astype(np.float32)
    peak = float(values.max()) if values.size else 0.0
    if image.mode.startswith("I;16") or peak > 255:
        top = 65535.0
    else:
        top = 1.0 if image.mode == "F" and peak <= 1.0 else 255.0
    values *= 255.0 / top
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(np.rint(values).astype(np.uint8), mode="L")


def _pixel_hash(image: Image.Image) -> bytes:
    """XXH3-128 of the shape and the RGB bytes, which runs at memory speed: 30 times SHA-256 with the CPU's SHA
    instructions. Not a cryptographic hash: a collision is as unlikely as any 128-bit hash's by chance, but could
    be made on purpose. The bytes come a block at a time from Pillow's raw encoder, as in `tobytes` but without
    joining the blocks into a copy of the image (`_getencoder` is private: were it to change, every decode
    would fail, loudly)."""
    width, height = image.size
    digest = xxhash.xxh3_128(array("q", (height, width, 3)).tobytes())  # 8-byte integers, as cached hashes have it
    encoder = Image._getencoder("RGB", "raw", "RGB")
    encoder.setimage(image.im, (0, 0, width, height))
    try:
        status = 0
        while not status:
            _, status, block = encoder.encode(max(HASH_BLOCK, 4 * width))
            digest.update(block)
    finally:
        encoder.cleanup()
    if status < 0:
        raise RuntimeError(f"Pillow's raw encoder failed ({status})")
    return digest.digest()


@cache
def _rawpy() -> ModuleType | None:
    """rawpy, the optional extra lookalike[raw], or None; imported when the first RAW file comes, not by every
    worker at its start (16 ms, on the way to the first decode)."""
    try:
        import rawpy
    except ImportError:
        return None
    return rawpy


def _decode_raw(data: bytes, raw_kind: str, max_pixels: int) -> Decoded | None:
    """Decode a camera RAW file, or None when LibRaw says it is not one (a TIFF named like a RAW)."""
    rawpy = _rawpy()
    if rawpy is None:
        raise _Refused(f"camera RAW ({raw_kind}) needs the optional rawpy package: {RAW_INSTALL}")
    with rawpy.RawPy() as raw:
        try:
            raw.open_buffer(io.BytesIO(data))
        except rawpy.LibRawFileUnsupportedError:
            if sniff_format(data[:HEAD]) in SNIFFED_RAW_FORMATS:
                raise  # a RAW by its content, not only by its name: a damaged one
            return None
        sizes = raw.sizes
        _check_pixels((sizes.raw_width, sizes.raw_height), (sizes.raw_width, sizes.raw_height), max_pixels)
        decoded = _develop(raw, sizes, data, raw_kind, max_pixels)
        taken = _raw_taken(raw)
    width, height = (sizes.height, sizes.width) if sizes.flip in (5, 6) else (sizes.width, sizes.height)
    return Decoded(decoded.content_hash, decoded.pixel_hash, width, height, raw_kind, decoded.thumb, taken, None,
                   features=decoded.features, picture=decoded.picture)


def _develop(raw: rawpy.RawPy, sizes: rawpy.ImageSizes, data: bytes, raw_kind: str, max_pixels: int) -> Decoded:
    """The RAW's picture: its embedded preview turned as the RAW says, or else a half-size development."""
    digest = content_hash(data)
    preview = _usable_preview(raw, sizes, len(data))
    if preview is not None:
        with preview:
            return _decode_image(preview, digest, max_pixels, raw_kind, _ORIENTATION_OF_LIBRAW_FLIP.get(sizes.flip, 1))
    raw.unpack()
    developed = Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8))
    return _decode_image(developed, digest, max_pixels, raw_kind)


def _raw_taken(raw: rawpy.RawPy) -> str | None:
    """When the RAW was taken, written like EXIF's DateTimeOriginal."""
    timestamp = raw.other.timestamp
    if timestamp is None or timestamp.timestamp() <= 0:
        return None
    return timestamp.strftime("%Y:%m:%d %H:%M:%S")


def _usable_preview(raw: rawpy.RawPy, sizes: rawpy.ImageSizes, file_size: int) -> Image.Image | None:
    """The embedded preview, opened, when it shows the whole frame large enough; else None.

    An uncompressed preview is checked against the file's size before a pixel of it is touched: LibRaw hands
    over an array as large as the preview's header claims, and reading past what the file holds crashes.
    """
    rawpy = _rawpy()
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        preview = Image.open(io.BytesIO(thumb.data))
        size = preview.size
    else:
        size = (thumb.data.shape[1], thumb.data.shape[0])
        if thumb.data.nbytes > file_size:
            return None
    short, long = sorted(size)
    frame_short, frame_long = sorted((sizes.width, sizes.height))
    if short < PREVIEW_MIN_SIDE or abs(short / long - frame_short / frame_long) >= 0.02:
        return None
    return preview if thumb.format == rawpy.ThumbFormat.JPEG else Image.fromarray(thumb.data)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip("\x00 ") if value is not None else ""
    return text or None


def describe_decode_error(error: Exception) -> str:
    """A decoder's exception in the words of a report: what is wrong with the file, not with the code."""
    if isinstance(error, UnidentifiedImageError):
        return f"not a readable image: unknown or unsupported format{HEIF_INSTALL_HINT}"
    first = error.args[0] if error.args else ""
    message = (first.decode("utf-8", "replace") if isinstance(first, bytes) else str(error)).strip()  # LibRaw: bytes
    if isinstance(error, EOFError) or "truncated" in message.lower():
        return "damaged image: file is truncated"
    rawpy = sys.modules.get("rawpy")  # loaded if the error is LibRaw's
    if rawpy is not None and isinstance(error, rawpy.LibRawError):
        message = f"LibRaw: {message or type(error).__name__}"
    return f"damaged image: {message or type(error).__name__}"
