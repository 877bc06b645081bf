"""A generated photo library with the companions real ones have (Lightroom, darktable, Apple, Google Takeout,
RAW+JPEG), and the copies a keeper must be chosen among (an enlargement, a lower quality, a copy without GPS)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image

from .conftest import open_rgb
from .hostile import dng_bytes

XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/></rdf:RDF></x:xmpmeta>')
ORIGINAL_TIME = 1_500_000_000  # originals are older than their copies, as in a real library


def _jpeg(image: Image.Image, quality: int = 92, exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def _camera_exif(gps: bool) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Lookalike", "Camera"
    exif.get_ifd(0x8769)[0x9003] = "2021:06:01 12:00:00"
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.5), 3: "E", 4: (2.0, 17.0, 40.2)})
    return exif


def _write(root: Path, relative: str, data: bytes, copy: bool = False) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    moment = ORIGINAL_TIME + (1000 if copy else 0)
    os.utime(path, (moment, moment))
    return str(path)


def build_library(root: Path, photos: dict[str, Path]) -> dict[str, str]:
    """Write the library; return each expected keeper's path by the name of its picture."""
    coffee, chelsea, coins, rocket, astronaut, hubble = (open_rgb(photos[name]) for name in (
        "coffee", "chelsea", "coins", "rocket", "astronaut", "hubble_deep_field"))
    keepers = {}
    lightroom = _jpeg(coffee, exif=_camera_exif(gps=False))
    keepers["coffee"] = _write(root, "lightroom/IMG_0001.JPG", lightroom)
    _write(root, "lightroom/IMG_0001.xmp", XMP)  # Lightroom's name: the stem
    _write(root, "backup/IMG_0001.JPG", lightroom, copy=True)
    darktable = _jpeg(hubble)
    keepers["hubble"] = _write(root, "darktable/IMG_0002.JPG", darktable)
    _write(root, "darktable/IMG_0002.JPG.xmp", XMP)  # darktable's name: the whole name
    _write(root, "backup/IMG_0002.JPG", darktable, copy=True)
    heic = io.BytesIO()
    pillow_heif.from_pillow(astronaut.resize((256, 256))).save(heic, quality=80)
    keepers["astronaut"] = _write(root, "apple/IMG_0003.HEIC", heic.getvalue())
    _write(root, "apple/IMG_0003.AAE", b"<?xml version='1.0'?><plist><dict/></plist>")
    _write(root, "apple/IMG_0003.MOV", b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + bytes(2000))  # Live Photo
    _write(root, "backup/IMG_0003.HEIC", heic.getvalue(), copy=True)
    takeout = _jpeg(rocket.resize((300, 200)))
    keepers["rocket"] = _write(root, "Takeout/Google Photos/Photos from 2021/IMG_0004.jpg", takeout)
    _write(root, "Takeout/Google Photos/Photos from 2021/IMG_0004.jpg.supplemental-metadata.json",
           b'{"title": "IMG_0004.jpg", "photoTakenTime": {"timestamp": "1622548800"}}')
    _write(root, "Takeout/Google Photos/Photos from 2021/IMG_0004.jpg.json", b'{"title": "IMG_0004.jpg"}')
    _write(root, "backup/IMG_0004.jpg", takeout, copy=True)
    raw, paired = dng_bytes(chelsea.resize((200, 134))), _jpeg(chelsea.resize((200, 134)))
    keepers["chelsea raw"] = _write(root, "camera/IMG_0005.DNG", raw)
    _write(root, "camera/IMG_0005.JPG", paired)  # the pair: left by default
    _write(root, "camera/IMG_0005.xmp", XMP)  # shared by the DNG and the JPEG
    for name, data in (("IMG_0005.DNG", raw), ("IMG_0005.JPG", paired), ("IMG_0005.xmp", XMP)):
        _write(root, f"backup/camera/{name}", data, copy=True)
    keepers["coins"] = _write(root, "photos/coins.png", _png(coins))
    _write(root, "exports/coins large.png", _png(coins.resize((2 * coins.width, 2 * coins.height),
                                                              Image.Resampling.BICUBIC)), copy=True)
    resaved, placed, carried = (_scene(seed) for seed in (1, 2, 3))
    keepers["resaved"] = _write(root, "photos/resaved.jpg", _jpeg(resaved, quality=92))
    _write(root, "web/resaved.jpg", _jpeg(resaved, quality=60), copy=True)
    keepers["placed"] = _write(root, "phone/placed.jpg", _jpeg(placed, exif=_camera_exif(gps=True)), copy=True)
    _write(root, "shared/placed.jpg", _jpeg(placed))  # the same pixels without the camera's metadata, older
    keepers["carried"] = _write(root, "originals/carried.jpg", _jpeg(carried, quality=95))
    _write(root, "phone/carried.jpg", _jpeg(carried, quality=80, exif=_camera_exif(gps=True)), copy=True)
    return keepers


def _scene(seed: int) -> Image.Image:
    """A picture of its own: smooth shapes of random colours, and a camera's grain."""
    chance = np.random.default_rng(seed)
    shapes = Image.fromarray(chance.integers(0, 256, (6, 9, 3), dtype=np.uint8)).resize((360, 240),
                                                                                    Image.Resampling.BICUBIC)
    grain = chance.normal(0, 6, (240, 360, 3))
    return Image.fromarray(np.clip(np.asarray(shapes, np.float64) + grain, 0, 255).astype(np.uint8))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
