"""A hostile corpus, made on the spot: every format lookalike must read, every broken or hostile file it must
report, and the odd names and special files a real disk holds.

Everything is written by real encoders (Pillow, pillow-heif) or, where no encoder writes such a file (a camera
DNG, a YCCK JPEG, decompression bombs, header-only files), byte by byte after the format's specification. The
decoders that misbehave on purpose (`naive_raw_decoder`, `hanging_decoder`, ...) live here too, at module level,
so that they can be sent to worker processes through `decode_all(..., work=...)`.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.stages.decode import decode_file
from lookalike.stages.walk import Problem

# --- TIFF and DNG, by hand -----------------------------------------------------------------------------------

_TIFF_FORMATS = {1: "B", 2: "s", 3: "H", 4: "I", 5: "I", 10: "i"}
_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 10: 8}
STRIP, NEXT_IFD = "offset of this IFD's strip", "offset of the next IFD"
Entries = dict[int, tuple[int, object]]  # tag: (TIFF type, values, or STRIP / NEXT_IFD)


def tiff_bytes(ifds: list[tuple[Entries, bytes]]) -> bytes:
    """A little-endian TIFF file of `ifds` (entries, strip data): IFD0 first, each followed by its data."""
    offsets, position = [], 8
    for entries, _ in ifds:
        offsets.append(position)
        position += _ifd_length(entries)
    strip_offsets = []
    for _, strip in ifds:
        strip_offsets.append(position)
        position += len(strip)
    out = bytearray(b"II*\0" + struct.pack("<I", offsets[0]))
    for number, (entries, _) in enumerate(ifds):
        out += _ifd_bytes(entries, offsets[number], strip_offsets[number],
                          offsets[number + 1] if number + 1 < len(ifds) else 0)
    for _, strip in ifds:
        out += strip
    return bytes(out)


def _count(kind: int, values: object) -> int:
    if values in (STRIP, NEXT_IFD):
        return 1
    return len(values) + 1 if kind == 2 else len(values)


def _packed_length(kind: int, values: object) -> int:
    return _TIFF_SIZES[kind] * _count(kind, values)


def _ifd_length(entries: Entries) -> int:
    extra = sum(-(-_packed_length(k, v) // 2) * 2 for k, v in entries.values() if _packed_length(k, v) > 4)
    return 2 + 12 * len(entries) + 4 + extra


def _pack(kind: int, values: object) -> bytes:
    if kind == 2:
        return values.encode("ascii") + b"\0"
    if kind in (5, 10):
        flat = [part for pair in values for part in pair]
        return struct.pack(f"<{len(flat)}{_TIFF_FORMATS[kind]}", *flat)
    return struct.pack(f"<{len(values)}{_TIFF_FORMATS[kind]}", *values)


def _ifd_bytes(entries: Entries, offset: int, strip_offset: int, next_ifd: int) -> bytes:
    body, extra = bytearray(struct.pack("<H", len(entries))), bytearray()
    extra_at = offset + 2 + 12 * len(entries) + 4
    for tag in sorted(entries):
        kind, values = entries[tag]
        values = [strip_offset] if values == STRIP else [next_ifd] if values == NEXT_IFD else values
        packed = _pack(kind, values)
        if len(packed) <= 4:
            body += struct.pack("<HHI", tag, kind, _count(kind, values)) + packed.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, kind, _count(kind, values), extra_at + len(extra))
            extra += packed + b"\0" * (len(packed) % 2)
    return bytes(body + struct.pack("<I", 0) + extra)


_XYZ_TO_LINEAR_SRGB = [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]


def dng_bytes(image: Image.Image, preview: Image.Image | None = None, preview_rows: int | None = None,
              orientation: int = 1) -> bytes:
    """A camera DNG of `image`: a 16-bit RGGB Bayer mosaic of its linear light, as a sensor records it, with
    camera tags and a colour matrix for linear sRGB; `preview`, if given, is the embedded 8-bit preview, and
    `preview_rows` what its header claims instead of its true height (a lie LibRaw believes); `orientation` is
    the EXIF orientation the camera records (6: turn 90° clockwise to show it upright)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    height, width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    linear = np.rint(rgb[:height, :width] ** 2.2 * 65535).astype("<u2")
    mosaic = np.empty((height, width), "<u2")
    for row, column, channel in ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 2)):
        mosaic[row::2, column::2] = linear[row::2, column::2, channel]
    camera: Entries = {
        271: (2, "Lookalike"), 272: (2, "Synthetic"), 274: (3, [orientation]),
        50706: (1, [1, 4, 0, 0]), 50707: (1, [1, 1, 0, 0]), 50708: (2, "Lookalike Synthetic"),
        50721: (10, [(round(v * 10000), 10000) for row in _XYZ_TO_LINEAR_SRGB for v in row]),
        50778: (3, [21]), 50728: (5, [(1, 1)] * 3),
    }
    sensor: Entries = {
        254: (4, [0]), 256: (4, [width]), 257: (4, [height]), 258: (3, [16]), 259: (3, [1]), 262: (3, [32803]),
        273: (4, STRIP), 277: (3, [1]), 278: (4, [height]), 279: (4, [mosaic.nbytes]), 284: (3, [1]),
        33421: (3, [2, 2]), 33422: (1, [0, 1, 1, 2]), 50717: (4, [65535]),
    }
    if preview is None:
        return tiff_bytes([({**camera, **sensor}, mosaic.tobytes())])
    small = np.asarray(preview.convert("RGB"))
    shown: Entries = {
        254: (4, [1]), 256: (4, [small.shape[1]]), 257: (4, [preview_rows or small.shape[0]]), 258: (3, [8, 8, 8]),
        259: (3, [1]), 262: (3, [2]), 273: (4, STRIP), 277: (3, [3]), 278: (4, [small.shape[0]]),
        279: (4, [small.nbytes]), 284: (3, [1]), 330: (4, NEXT_IFD), **camera,
    }
    return tiff_bytes([(shown, small.tobytes()), (sensor, mosaic.tobytes())])


# --- JPEG variants no encoder writes ----------------------------------------------------------------------------

def _with_adobe_transform(jpeg: bytes, transform: int | None) -> bytes:
    """`jpeg` with its Adobe APP14 colour transform byte set to `transform`, or the segment dropped (None)."""
    start = jpeg.index(b"Adobe") - 4  # marker (2 bytes), length (2 bytes), "Adobe"
    assert jpeg[start:start + 2] == b"\xff\xee", "Pillow writes an Adobe segment for CMYK"
    length = struct.unpack(">H", jpeg[start + 2:start + 4])[0]
    if transform is None:
        return jpeg[:start] + jpeg[start + 2 + length:]
    return jpeg[:start + 15] + bytes([transform]) + jpeg[start + 16:]


def cmyk_jpeg(image: Image.Image, adobe: bool = True) -> bytes:
    """A CMYK JPEG of `image`: Adobe-inverted with its marker, as Photoshop writes it, or plain without one."""
    cmyk = image.convert("CMYK")
    if not adobe:  # Pillow inverts what it writes; give it the inverse so the stored values are plain
        cmyk = Image.eval(cmyk, lambda value: 255 - value)
    out = io.BytesIO()
    cmyk.save(out, "JPEG", quality=92)
    return out.getvalue() if adobe else _with_adobe_transform(out.getvalue(), None)


def ycck_jpeg(image: Image.Image) -> bytes:
    """A YCCK JPEG (Adobe transform 2): the inverted C, M, Y stored as YCbCr, and K, as print workflows write."""
    cmyk = np.asarray(image.convert("CMYK"))
    ycc = np.asarray(Image.fromarray(np.ascontiguousarray(cmyk[..., :3]), "RGB").convert("YCbCr"))
    stored = np.dstack([ycc, 255 - cmyk[..., 3]])
    out = io.BytesIO()
    Image.fromarray(255 - stored, "CMYK").save(out, "JPEG", quality=92)  # Pillow inverts on the way out
    return _with_adobe_transform(out.getvalue(), 2)


def with_orientation(image: Image.Image, orientation: int, **options) -> bytes:
    """`image` stored turned so that EXIF `orientation` shows it upright again."""
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.transpose(undo[orientation]).save(out, "JPEG", exif=exif, **options)
    return out.getvalue()


# --- bombs and broken headers -----------------------------------------------------------------------------------

def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, idat: bytes, colour_type: int = 2, depth: int = 8) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _sixteen_bit(image: Image.Image) -> np.ndarray:
    """`image`'s RGB as 16-bit samples, big-endian, with detail below 8 bits a scanner would record."""
    return (np.asarray(image.convert("RGB"), np.uint16) * 257).astype(">u2")


def png16_bytes(image: Image.Image) -> bytes:
    """A 16-bit RGB PNG (no Pillow encoder writes one)."""
    samples = _sixteen_bit(image)
    rows = b"".join(b"\0" + row.tobytes() for row in samples)
    return png_bytes(image.width, image.height, zlib.compress(rows), colour_type=2, depth=16)


def tiff16_bytes(image: Image.Image) -> bytes:
    """A 16-bit RGB TIFF, little-endian (no Pillow encoder writes one)."""
    samples = _sixteen_bit(image).astype("<u2")
    entries: Entries = {256: (4, [image.width]), 257: (4, [image.height]), 258: (3, [16, 16, 16]), 259: (3, [1]),
                        262: (3, [2]), 273: (4, STRIP), 277: (3, [3]), 278: (4, [image.height]),
                        279: (4, [samples.nbytes]), 284: (3, [1])}
    return tiff_bytes([(entries, samples.tobytes())])


def png_pixel_bomb() -> bytes:
    """100 000 × 100 000 pixels claimed, a few bytes of data: refused from the header."""
    return png_bytes(100_000, 100_000, zlib.compress(b"\0" * 1024))


def png_zlib_bomb() -> bytes:
    """A 64 × 64 image whose zlib stream inflates to 256 MB: the decoder must stop when the image is full."""
    compressor = zlib.compressobj(9)
    chunk = b"\0" * 2**20
    stream = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    return png_bytes(64, 64, stream)


def gif_bomb() -> bytes:
    """A GIF whose logical screen and frame claim 65 535 × 65 535 pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x08\x02\x4c\x01\x00"
    return screen + frame + b"\x3b"


def tiff_bomb() -> bytes:
    """A TIFF claiming 1 000 000 × 1 000 000 8-bit grey pixels in one tiny strip."""
    entries: Entries = {256: (4, [1_000_000]), 257: (4, [1_000_000]), 258: (3, [8]), 259: (3, [1]), 262: (3, [1]),
                        273: (4, STRIP), 277: (3, [1]), 278: (4, [1_000_000]), 279: (4, [16])}
    return tiff_bytes([(entries, b"\0" * 16)])


def jpeg_header(width: int, height: int, progressive: bool) -> bytes:
    """A JPEG that claims `width` × `height` and stops right after its frame header."""
    sof = b"\xff\xc2" if progressive else b"\xff\xc0"
    frame = struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof + frame + b"\xff\xd9"


# --- decoders that misbehave on purpose (sent to workers through `decode_all(..., work=...)`) ----------------

HANG_TRIGGER = "hang-me"
SLOW_TRIGGER = "slow"
SLOW_SECONDS = 0.6


def lying_preview_dng(image: Image.Image) -> bytes:
    """A DNG whose embedded preview claims 55,340 rows it does not hold (found by fuzzing lookalike's decoder):
    LibRaw believes it and hands over an array larger than the file, which crashes whoever reads it."""
    return dng_bytes(image, preview=image, preview_rows=55_340)


def naive_raw_decoder(path: str, max_pixels: int) -> object:
    """`decode_file`, except that a DNG's preview is taken as LibRaw hands it over, unchecked, as a naive
    decoder would: on `lying_preview_dng` that is a real segmentation fault inside C code."""
    import rawpy

    if path.endswith(".dng"):
        with rawpy.imread(path) as raw:
            return Image.fromarray(raw.extract_thumb().data).size
    return decode_file(path, max_pixels)


def hanging_decoder(path: str, max_pixels: int) -> object:
    """`decode_file`, except that a file named *hang-me* never finishes."""
    if HANG_TRIGGER in os.path.basename(path):
        while True:
            time.sleep(1)
    return decode_file(path, max_pixels)


def slow_decoder(path: str, max_pixels: int) -> object:
    """`decode_file`, except that a file named *slow* takes SLOW_SECONDS."""
    if SLOW_TRIGGER in os.path.basename(path):
        time.sleep(SLOW_SECONDS)
    return decode_file(path, max_pixels)


def raising_decoder(path: str, max_pixels: int) -> Problem:
    raise RuntimeError("a decoder bug")


# --- the corpus ------------------------------------------------------------------------------------------------

@dataclass
class Corpus:
    """What was written under `root`, and what a scan must say about it."""

    root: Path
    same_picture: list[Path] = field(default_factory=list)  # all one picture in many formats: one group
    raw_pair: list[Path] = field(default_factory=list)  # a DNG and the JPEG "the camera wrote beside it"
    readable: list[Path] = field(default_factory=list)  # every valid image, the above included
    broken: dict[Path, str] = field(default_factory=dict)  # path: the start of the reason it must be given
    passed_over: list[Path] = field(default_factory=list)  # neither an image by name nor by content


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def odd(folder: Path, name: bytes) -> Path:
    """A path whose last part is any bytes the file system allows."""
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))


def same_picture_files(photo: Image.Image) -> dict[bytes, bytes]:
    """One photo written in every format lookalike reads, under odd names: file name: content."""
    other = photo.transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("L")
    return {
        b"baseline.jpg": _encoded(photo, "JPEG", quality=92),
        b"identical copy with\nnewline.jpg": _encoded(photo, "JPEG", quality=92),
        b"progressive.jpeg": _encoded(photo, "JPEG", quality=90, progressive=True),
        b"cmyk adobe.jpg": cmyk_jpeg(photo),
        b"cmyk plain.jpg": cmyk_jpeg(photo, adobe=False),
        b"ycck.jpg": ycck_jpeg(photo),
        b"exif rotated.jpg": with_orientation(photo, 6, quality=92),
        b"caf\xe9 latin-1.png": _encoded(photo, "PNG"),
        b"sixteen-bit.png": png16_bytes(photo),
        b"sixteen-bit.tif": tiff16_bytes(photo),
        b"palette.png": _encoded(photo.quantize(256), "PNG"),
        b"lossy.webp": _encoded(photo, "WEBP", quality=85),
        b"lossless.webp": _encoded(photo, "WEBP", lossless=True),
        b"animated.webp": _encoded(photo, "WEBP", save_all=True, append_images=[other], duration=100),
        b"animated.gif": _encoded(photo, "GIF", save_all=True, append_images=[other], duration=100),
        b"two pages.tiff": _encoded(photo, "TIFF", save_all=True, append_images=[other]),
        b"-leading dash.bmp": _encoded(photo, "BMP"),
        b"stereo.mpo": _encoded(photo, "MPO", save_all=True, append_images=[photo]),
        b"phone.heic": _encoded(photo, "HEIF", quality=90),
        b"browser.avif": _encoded(photo, "AVIF", quality=90),
        b"no extension at all": _encoded(photo, "PNG", compress_level=1),
        b"named like a folder.jpg/inside.png": _encoded(photo, "PNG", optimize=True),
    }


def readable_singles(rocket: Image.Image, coins: Image.Image, hubble: Image.Image,
                     astronaut: Image.Image) -> dict[bytes, bytes]:
    """Valid images of four other pictures, one each: grey+alpha, palette with transparency, 16-bit grey, and
    a TIFF named like a camera RAW."""
    alpha = Image.linear_gradient("L").resize(rocket.size)
    clear = coins.quantize(64)
    clear.info["transparency"] = 0
    return {
        b"grey with alpha.png": _encoded(Image.merge("LA", (rocket.convert("L"), alpha)), "PNG"),
        b"palette with transparency.png": _encoded(clear, "PNG", transparency=0),
        b"sixteen-bit grey.png": _encoded(Image.fromarray(np.asarray(hubble.convert("L"), np.uint16) * 257), "PNG"),
        b"really a tiff.nef": _encoded(astronaut.transpose(Image.Transpose.ROTATE_90), "TIFF"),
    }


def broken_files(photo_jpeg: bytes, photo_png: bytes) -> dict[bytes, tuple[bytes, str]]:
    """Files that claim to be images but cannot be read: name: (content, start of the reason)."""
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    return {
        b"empty.png": (b"", "empty file"),
        b"half.jpg": (photo_jpeg[: len(photo_jpeg) // 2], "damaged image: file is truncated"),
        b"half.png": (photo_png[: len(photo_png) // 2], "damaged image"),
        b"noise.jpg": (noise, "not an image: unknown binary content"),
        b"noise after magic.jpg": (b"\xff\xd8\xff" + noise, "not a readable image"),
        b"zeros.gif": (b"\0" * 512, "not an image: only zero bytes"),
        b"letter.jpg": ("Dear reader, this is text, née plain. ".encode() * 4, "not an image: text"),
        b"header only.png": (png_bytes(64, 64, b"")[:33], "not a readable image"),
        b"header only.jpg": (jpeg_header(640, 480, progressive=False), "damaged image"),
        b"header only.gif": (b"GIF89a" + struct.pack("<HHBBB", 64, 64, 0, 0, 0), "not a readable image"),
        b"header only.webp": (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "damaged image"),
        b"pixel bomb.png": (png_pixel_bomb(), "refused: 100000×100000"),
        b"gif bomb.gif": (gif_bomb(), "refused: 65535×65535"),
        b"tiff bomb.tif": (tiff_bomb(), "refused: 1000000×1000000"),
        b"progressive bomb.jpg": (jpeg_header(65000, 65000, progressive=True), "refused: 65000×65000"),
        b"broken tiff named like a raw.nef": (_encoded(Image.new("RGB", (4, 4)), "TIFF")[:40], "damaged image"),
    }


def special_files(folder: Path) -> dict[Path, str]:
    """A FIFO, a socket, dangling links and link loops, all named like images: path: the reason."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    os.mkfifo(folder / "pipe.jpg")
    made[folder / "pipe.jpg"] = "not a regular file: a FIFO (named pipe)"
    made.update(_socket(folder / "socket.png"))
    (folder / "dangling.jpg").symlink_to(folder / "nowhere.jpg")
    made[folder / "dangling.jpg"] = "dangling symbolic link"
    (folder / "loop-a.jpg").symlink_to(folder / "loop-b.jpg")
    (folder / "loop-b.jpg").symlink_to(folder / "loop-a.jpg")
    made[folder / "loop-a.jpg"] = made[folder / "loop-b.jpg"] = "symbolic link loop"
    (folder / "back up").symlink_to(folder)  # a folder loop: never followed forever
    return made


def _socket(path: Path) -> dict[Path, str]:
    here = os.getcwd()
    try:  # a socket's address is limited to about 100 bytes: bind it by a short relative name
        os.chdir(path.parent)
        server = socket.socket(socket.AF_UNIX)
        server.bind(path.name)
        server.close()
    finally:
        os.chdir(here)
    return {path: "not a regular file: a socket"}


def build_corpus(root: Path, photos: dict[str, Path]) -> Corpus:
    """Write the whole hostile corpus under `root` (which must not exist yet or be empty)."""
    corpus = Corpus(root)
    coffee = _open(photos["coffee"])
    for name, data in same_picture_files(coffee).items():
        corpus.same_picture.append(_write(odd(root / "formats", name), data))
    chelsea = _open(photos["chelsea"])
    corpus.raw_pair = [_write(root / "camera" / "IMG_0001.DNG", dng_bytes(chelsea)),
                       _write(root / "camera" / "IMG_0001.JPG", _encoded(chelsea, "JPEG", quality=90))]
    others = (_open(photos[name]) for name in ("rocket", "coins", "hubble_deep_field", "astronaut"))
    singles = [_write(odd(root / "singles", name), data) for name, data in readable_singles(*others).items()]
    singles.append(_write(root / "singles" / "zlib bomb.png", png_zlib_bomb()))  # valid: a black square
    noise = Image.fromarray(np.random.default_rng(3).integers(0, 256, (44, 64, 3), dtype=np.uint8))
    singles.append(_write(root / "singles" / "lying preview.dng", lying_preview_dng(noise)))  # valid sensor data
    corpus.readable = corpus.same_picture + corpus.raw_pair + singles
    photo_jpeg, photo_png = photos["astronaut"].read_bytes(), _encoded(_open(photos["astronaut"]), "PNG")
    for name, (data, reason) in broken_files(photo_jpeg, photo_png).items():
        corpus.broken[_write(odd(root / "broken", name), data)] = reason
    corpus.broken.update(special_files(root / "special"))
    corpus.passed_over = [_write(root / "other" / "notes.txt", b"just notes"),
                          _write(root / "other" / "random.bin", bytes(range(256)) * 8)]
    return corpus


def _open(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def greedy_decoder(path: str, max_pixels: int) -> object:
    """A decoder that wants 8 GB, as a bomb that lies in its header makes a C library want."""
    return len(bytearray(8 * 2**30))
