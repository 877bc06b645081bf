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

`decode_all` runs the decoding in worker processes, each limited to `WORKER_MEMORY` bytes of data, so that a
decompression bomb that lies in its header fails its own file ("decoding needs more than the 1536 MB a worker
may use") instead of exhausting the machine; a worker that hangs longer than `timeout` on one file, or dies
inside a C library, is killed and replaced, and only that file is reported.
"""

from __future__ import annotations

import ctypes
import io
import os
import resource
import signal
import sys
import time
import warnings
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

import xxhash
from PIL import Image, UnidentifiedImageError

from lookalike.exact import content_hash
from lookalike.formats import SNIFFED_RAW_FORMATS, extension_of, format_name, raw_format, sniff_format
from lookalike.walk import HEAD, Problem, describe_open_error, open_regular
from lookalike.workers import ignore_interruptions, worker_context

if TYPE_CHECKING:
    from types import ModuleType

    import rawpy

THUMB = 64
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_TIMEOUT = 60.0
WORKER_MEMORY = 1536 * 2**20  # bytes of data one worker may hold: a 100-megapixel image and the file's bytes
RAW_INSTALL = 'pip install "lookalike[raw]"'
_TOO_BIG = f"refused: decoding needs more than the {WORKER_MEMORY // 2**20} MB a worker may use"
REDUCING_GAP = 3.0
HASH_BLOCK = 2**16  # bytes of pixels hashed at a time
PREVIEW_MIN_SIDE = 4 * THUMB  # an embedded RAW preview smaller than this (a contact-sheet thumbnail) is not used

try:  # HEIC/HEIF: an optional plugin, a hard dependency of the package but tolerated if missing
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_INSTALL_HINT = ""
except ImportError:  # pragma: no cover - depends on the environment
    HEIF_INSTALL_HINT = " (HEIC support needs: pip install pillow-heif)"

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit, before decoding, in one place: `_check_pixels`
warnings.simplefilter("ignore", Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # "Corrupt EXIF data": the file's problem

_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_DATE_TAKEN = 0x9003
_MAKE = 0x010F
_MODEL = 0x0110
_JPEG_FORMATS = ("JPEG", "MPO")
_ISO_MEDIA_FORMATS = ("HEIC", "HEIF", "AVIF")
_TRANSPOSE_OF_ORIENTATION = {  # EXIF orientation: what shows the stored pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_OF_LIBRAW_FLIP = {3: 3, 5: 8, 6: 6}


@dataclass(frozen=True, slots=True)
class Decoded:
    """What the rest of the pipeline needs to know about one image's content."""

    content_hash: bytes
    pixel_hash: bytes
    width: int
    height: int
    format: str
    thumb: bytes  # THUMB × THUMB RGB pixels, row by row (`images.thumb_from_bytes` makes it an array)
    taken: str | None
    camera: str | None


class _Refused(Exception):
    """A file that is not decoded on purpose; its message is the whole reason."""


def decode_file(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Decoded | Problem:
    """Decode one file into a `Decoded`, or say why it cannot be."""
    try:
        with open_regular(path) as handle:
            if os.fstat(handle.fileno()).st_size > WORKER_MEMORY:  # a worker could not even hold its bytes
                return Problem(path, _TOO_BIG)
            data = handle.read()
    except OSError as error:
        return Problem(path, describe_open_error(error))
    except MemoryError:
        return Problem(path, _TOO_BIG)
    try:
        return decode_bytes(data, max_pixels, extension_of(path))
    except _Refused as refusal:
        return Problem(path, str(refusal))
    except MemoryError:
        return Problem(path, _TOO_BIG)
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
        image.draft("RGB", (2 * THUMB, 2 * THUMB))
        _check_pixels(stored_size, stored_size if image.info.get("progressive") else image.size, max_pixels)
    else:
        _check_pixels(stored_size, stored_size, max_pixels)
    exif = image.getexif()
    if orientation is None:
        orientation = exif.get(_ORIENTATION)
    if not isinstance(orientation, int) or orientation not in _TRANSPOSE_OF_ORIENTATION:
        orientation = 1  # none, or a damaged tag: as stored
    turn = _TRANSPOSE_OF_ORIENTATION.get(orientation)
    width, height = reversed(stored_size) if orientation in (5, 6, 7, 8) else stored_size
    image.load()
    shown = _as_rgb(_cmyk_as_stored(image))
    if turn is not None:
        shown = shown.transpose(turn)
    return Decoded(
        content_hash=digest,
        pixel_hash=_pixel_hash(shown),
        width=width,
        height=height,
        format=image_format or format_name(image.format),
        thumb=thumbnail(shown),
        taken=_text(exif.get_ifd(_EXIF_IFD).get(_DATE_TAKEN)),
        camera=_text(" ".join(str(exif.get(tag, "")).strip() for tag in (_MAKE, _MODEL)).strip()),
    )


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
    return image.resize((THUMB, THUMB), Image.Resampling.HAMMING, reducing_gap=REDUCING_GAP).tobytes()


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
    import numpy as np  # only for these rare images: a worker that decodes none never loads NumPy (50 ms)

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
    return Decoded(decoded.content_hash, decoded.pixel_hash, width, height, raw_kind, decoded.thumb, taken, None)


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


def needs_install(reason: str) -> bool:
    """Whether a failure's reason is a missing optional package: not the file's fault, so not to be
    remembered against the file (after the install, the next scan must try it again)."""
    return "pip install" in reason


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


# --- the worker pool ---------------------------------------------------------------------------------------

BATCH = 16
AHEAD = BATCH // 4  # files a worker has left when, while full batches remain, it is sent its next batch
HOLD = 0.25  # seconds a worker may hold answers before sending them; the time limit allows for it
_READY = "ready"


@dataclass
class _Worker:
    """One worker process, the files sent to it that it has not answered yet (in order), and its deadline.
    `on_file` is shared with the process: the index of the file it is on, or was on last."""

    process: BaseProcess
    connection: Connection
    on_file: ctypes.c_int64
    started: bool = False
    batch: deque[int] = field(default_factory=deque)
    deadline: float = float("inf")


def decode_all(
    paths: Sequence[str],
    jobs: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_progress: Callable[[int], None] = lambda _: None,
    work: Callable[[str, int], object] = decode_file,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[tuple[int, Decoded | Problem]]:
    """Decode `paths` on `jobs` worker processes, yielding (index into paths, result) in index order.

    `work(path, max_pixels)` is what a worker does with each file: `decode_file` unless told otherwise (a
    module-level function, so that it can be sent to the workers). A file on which a worker spends more than
    `timeout` seconds, or during which it dies, gets a `Problem`; the worker is replaced and the files it was
    sent but had not answered are handed out again. Batches of up to BATCH files keep the traffic low (only
    thumbnails come back); a worker gets its next one before it runs out (`_hand_out`), and they shrink towards
    the end (`batches`), so that no worker is left with a long batch while the others idle. Answers come back a
    few at a time (`_worker_main`): each message wakes this process, which shares the cores with the workers.
    """
    finished: dict[int, Decoded | Problem] = {}
    next_out = 0
    for index, result in _run_pool(paths, jobs, max_pixels, work, timeout):
        finished[index] = result
        on_progress(1)
        while next_out in finished:
            yield next_out, finished.pop(next_out)
            next_out += 1


def _run_pool(paths: Sequence[str], jobs: int, max_pixels: int, work: Callable[[str, int], object],
              timeout: float) -> Iterator[tuple[int, Decoded | Problem]]:
    """(index, result) for every path, as the workers finish them."""
    pending = batches(len(paths), jobs)
    context = worker_context()
    workers: list[_Worker] = []
    try:
        while pending or any(worker.batch for worker in workers):
            _hand_out(pending, paths, workers, jobs, timeout, lambda: _start_worker(context, work, max_pixels))
            busy = [worker for worker in workers if worker.batch]
            ready = wait([worker.connection for worker in busy],
                         timeout=max(0.0, min(worker.deadline for worker in busy) - time.monotonic()))
            for worker in busy:
                yield from _collect(worker, worker.connection in ready, paths, pending, workers, timeout)
    finally:
        for worker in workers:  # all killed at once, then each waited for
            _kill(worker)
        for worker in workers:
            _stop(worker)


def batches(count: int, jobs: int) -> deque[range]:
    """Consecutive batches of `count` files: BATCH files, until a batch would be more than a quarter of each
    worker's share of what is left; then that quarter, down to single files."""
    pending, start = deque(), 0
    while start < count:
        size = max(1, min(BATCH, (count - start) // (4 * jobs)))
        pending.append(range(start, start + size))
        start += size
    return pending


def _hand_out(pending: deque[Sequence[int]], paths: Sequence[str], workers: list[_Worker], jobs: int,
              timeout: float, start: Callable[[], _Worker]) -> None:
    """Give each worker its next batch, starting workers up to `jobs` while batches wait.

    While full batches remain, a worker gets its next batch when it has AHEAD files left, so that it still
    has work while the scanning process is away from the pool (signatures and the cache take 60 ms a chunk,
    and a worker that finished its batch then waited for them). Once batches shrink, only an idle worker
    gets one: no worker holds files that another, idle, could decode.
    """
    ahead = AHEAD if pending and len(pending[0]) == BATCH else 0
    for worker in [worker for worker in workers if len(worker.batch) <= ahead]:
        if pending:
            _assign(worker, pending, paths, workers, timeout)
    while pending and len(workers) < jobs:
        worker = start()
        workers.append(worker)
        _assign(worker, pending, paths, workers, timeout)


def _assign(worker: _Worker, pending: deque[Sequence[int]], paths: Sequence[str], workers: list[_Worker],
            timeout: float) -> None:
    """Send `worker` the next batch. If it died, the batch waits for another worker; one that died idle is
    dropped here, one that died busy is found by `_collect`, which blames its file."""
    batch = pending.popleft()
    try:
        worker.connection.send([(index, paths[index]) for index in batch])
    except OSError as error:
        if not worker.started:
            raise RuntimeError("a decoding worker process could not start") from error
        pending.appendleft(batch)
        if not worker.batch:
            _stop(worker)
            workers.remove(worker)
        return
    if not worker.batch:
        worker.deadline = time.monotonic() + timeout + HOLD
    worker.batch.extend(batch)


def _collect(worker: _Worker, ready: bool, paths: Sequence[str], pending: deque[Sequence[int]],
             workers: list[_Worker], timeout: float) -> Iterator[tuple[int, Decoded | Problem]]:
    """The next message of a `ready` worker (its connection readable): a result, or that it started; if it died
    or overran its deadline, its file's problem, and it is gone. One message at a time: asking a connection
    whether it holds another costs a selector of its own, more than going round the loop again."""
    if ready:
        try:
            message = worker.connection.recv()
        except (EOFError, OSError):
            yield from _replace(worker, paths, pending, workers, _death_reason(worker))
            return
        worker.deadline = time.monotonic() + timeout + HOLD
        if message == _READY:  # the time limit is for decoding, not for starting a process
            worker.started = True
        else:
            for index, result in message:
                worker.batch.popleft()
                yield index, result
    if worker.batch and time.monotonic() > worker.deadline:
        yield from _replace(worker, paths, pending, workers, f"decoding took longer than {timeout:g} s")


def _replace(worker: _Worker, paths: Sequence[str], pending: deque[Sequence[int]], workers: list[_Worker],
             reason: str) -> Iterator[tuple[int, Problem]]:
    """Stop `worker`, blame the file it was on, and queue the rest of its files again (first in line): those
    after it, and those before it whose answers it held."""
    _stop(worker)
    workers.remove(worker)
    if not worker.started:
        raise RuntimeError(f"a decoding worker process could not start ({reason})")
    culprit = worker.on_file.value
    if culprit in worker.batch:
        worker.batch.remove(culprit)
    else:  # it died between files: the first it has not answered stands for them
        culprit = worker.batch.popleft()
    if worker.batch:
        pending.appendleft(worker.batch)
    yield culprit, Problem(paths[culprit], reason)


def _death_reason(worker: _Worker) -> str:
    worker.process.join(5)
    code = worker.process.exitcode
    if code is not None and code < 0:
        return f"decoder crashed (signal {-code}, {signal.Signals(-code).name})"
    return f"decoder crashed (exit code {code})"


def _start_worker(context, work: Callable[[str, int], object], max_pixels: int) -> _Worker:
    ours, theirs = context.Pipe()
    on_file = context.RawValue(ctypes.c_int64, -1)
    process = context.Process(target=_worker_main, args=(theirs, on_file, work, max_pixels), daemon=True)
    process.start()
    theirs.close()  # so that the worker's death reads as end of file here
    return _Worker(process, ours, on_file)


def _kill(worker: _Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()


def _stop(worker: _Worker) -> None:
    _kill(worker)
    worker.process.join()
    worker.connection.close()


def _worker_main(connection: Connection, on_file: ctypes.c_int64, work: Callable[[str, int], object],
                 max_pixels: int) -> None:
    """A worker's life: answer each file of each batch, in order, until told to stop or orphaned.

    Answers are sent together: when AHEAD files of the batch are left (so that the next batch is sent in
    time), at its end, and once they have been held for HOLD seconds. So a file that is started has waited
    less than HOLD since the last message, and one that takes longer than the time limit keeps the next
    message from coming within timeout + HOLD of the last. Which file a worker that dies was on is in
    `on_file`, written before each file."""
    ignore_interruptions()
    _silence_stderr()  # C libraries print their complaints about a file; the file's Problem says it instead
    _limit_memory(WORKER_MEMORY)
    try:
        connection.send(_READY)
        while True:
            batch = connection.recv()
            answers, held_since = [], time.monotonic()
            for done, (index, path) in enumerate(batch, 1):
                on_file.value = index
                answers.append((index, _answer(work, path, max_pixels)))
                if len(batch) - done in (0, AHEAD) or time.monotonic() - held_since >= HOLD:
                    connection.send(answers)
                    answers, held_since = [], time.monotonic()
    except (EOFError, OSError):  # the parent is gone (finished, interrupted or killed): so is this worker
        return


def _answer(work: Callable[[str, int], object], path: str, max_pixels: int) -> object:
    try:
        return work(path, max_pixels)
    except MemoryError:
        return Problem(path, _TOO_BIG)
    except Exception as error:  # `work` should not raise; if it does, the file says why
        return Problem(path, describe_decode_error(error))


def _silence_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _limit_memory(limit: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
