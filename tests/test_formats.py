"""Every real-world format is read by content, and shows the picture a viewer shows."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from lookalike.stages.decode import decode_bytes, decode_file, thumbnail
from lookalike.stages.decoded import Decoded
from lookalike.stages.formats import sniff_format
from lookalike.stages.images import thumb_from_bytes
from lookalike.stages.walk import Problem

from .conftest import open_rgb
from .hostile import _encoded, dng_bytes, readable_singles, same_picture_files

FORMATS = {b"baseline.jpg": "JPEG", b"progressive.jpeg": "JPEG", b"cmyk adobe.jpg": "JPEG", b"cmyk plain.jpg": "JPEG",
           b"ycck.jpg": "JPEG", b"exif rotated.jpg": "JPEG", b"sixteen-bit.png": "PNG", b"sixteen-bit.tif": "TIFF",
           b"palette.png": "PNG", b"lossy.webp": "WebP", b"lossless.webp": "WebP", b"animated.webp": "WebP",
           b"animated.gif": "GIF", b"two pages.tiff": "TIFF", b"-leading dash.bmp": "BMP", b"stereo.mpo": "MPO",
           b"phone.heic": "HEIC", b"browser.avif": "AVIF"}


@pytest.fixture(scope="module")
def coffee(photos) -> Image.Image:
    return open_rgb(photos["coffee"])


@pytest.fixture(scope="module")
def written(coffee) -> dict[bytes, bytes]:
    return same_picture_files(coffee)


def pixels(thumb: bytes) -> np.ndarray:
    return thumb_from_bytes(thumb).astype(int)


def thumb_difference(a: Decoded, b: Decoded) -> float:
    return float(np.abs(pixels(a.thumb) - pixels(b.thumb)).mean())


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_shows_the_same_picture(written, coffee, name):
    reference = decode_bytes(written[b"baseline.jpg"])
    decoded = decode_bytes(written[name], extension=os.path.splitext(name.decode())[1])
    assert decoded.format == FORMATS[name]
    assert (decoded.width, decoded.height) == coffee.size
    # colours the right way round (CMYK not inverted), the first frame or page, the orientation applied
    assert thumb_difference(decoded, reference) < 4, name


def test_cmyk_without_an_adobe_marker_is_not_inverted_as_pillow_alone_inverts_it(written):
    plain, adobe = decode_bytes(written[b"cmyk plain.jpg"]), decode_bytes(written[b"cmyk adobe.jpg"])
    assert thumb_difference(plain, adobe) < 2
    pillow_alone = Image.open(io.BytesIO(written[b"cmyk plain.jpg"])).convert("RGB").resize((64, 64))
    assert np.abs(np.asarray(pillow_alone, int) - pixels(plain.thumb)).mean() > 40


def test_images_with_transparency_or_sixteen_bit_greys_are_read(photos):
    others = [open_rgb(photos[name]) for name in ("rocket", "coins", "hubble_deep_field", "astronaut")]
    decoded = {name: decode_bytes(data, extension=os.path.splitext(name.decode())[1])
               for name, data in readable_singles(*others).items()}
    # the alpha ramps from clear at the top to opaque at the bottom: white shows through at the top
    alpha = pixels(decoded[b"grey with alpha.png"].thumb)
    assert alpha[0].mean() > 250 > alpha[-1].mean()
    palette = Image.open(io.BytesIO(readable_singles(*others)[b"palette with transparency.png"])).convert("RGBA")
    assert palette.getchannel("A").getextrema()[0] == 0  # some pixels are transparent
    shown = Image.alpha_composite(Image.new("RGBA", palette.size, "white"), palette).convert("RGB")
    expected = pixels(thumbnail(shown))
    assert np.abs(pixels(decoded[b"palette with transparency.png"].thumb) - expected).mean() < 2
    grey = pixels(thumbnail(others[2].convert("L").convert("RGB")))[..., 0]
    assert np.abs(pixels(decoded[b"sixteen-bit grey.png"].thumb)[..., 0] - grey).mean() < 2
    assert (decoded[b"really a tiff.nef"].width, decoded[b"really a tiff.nef"].height) == others[3].size[::-1]


def test_a_camera_raw_reads_like_the_jpeg_beside_it(tmp_path, photos):
    chelsea = open_rgb(photos["chelsea"])
    jpeg = decode_bytes(_encoded(chelsea, "JPEG", quality=90))
    developed = decode_bytes(dng_bytes(chelsea), extension=".dng")
    from_preview = decode_bytes(dng_bytes(chelsea, preview=chelsea.resize((600, 400))), extension=".DNG")
    assert developed.format == from_preview.format == "DNG"
    assert (developed.width, developed.height) == (400, 266)  # the sensor's size, not the preview's
    assert np.corrcoef(pixels(developed.thumb).ravel(), pixels(jpeg.thumb).ravel())[0, 1] > 0.9
    assert thumb_difference(from_preview, jpeg) < 4  # the preview is the camera's own rendering


def test_tiff_based_raws_are_told_from_tiffs_by_libraw(photos):
    tiff = _encoded(open_rgb(photos["rocket"]), "TIFF")
    assert sniff_format(tiff) == sniff_format(dng_bytes(open_rgb(photos["rocket"]))) == "TIFF"
    assert decode_bytes(tiff, extension=".nef").format == "TIFF"  # named like a RAW, read as what it is
    assert decode_bytes(dng_bytes(open_rgb(photos["rocket"])), extension=".nef").format == "NEF"


def test_a_raw_without_rawpy_says_how_to_install_it(tmp_path, photos):
    path = tmp_path / "IMG_0001.DNG"
    path.write_bytes(dng_bytes(open_rgb(photos["chelsea"])))
    script = ("import sys; sys.modules['rawpy'] = None\n"  # as if the optional extra were not installed
              "from lookalike.stages.decode import decode_file\n"
              f"print(decode_file({str(path)!r}).reason)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == 'camera RAW (DNG) needs the optional rawpy package: pip install "lookalike[raw]"'


def test_a_jpeg_is_refused_by_the_pixels_it_decodes(tmp_path, photos):
    path = tmp_path / "big.jpg"
    open_rgb(photos["coffee"]).resize((1600, 1600)).save(path, quality=80)
    assert isinstance(decode_file(str(path), max_pixels=200_000), Decoded)  # decoded at 1/4: 400 × 400
    refused = decode_file(str(path), max_pixels=10_000)
    assert isinstance(refused, Problem)
    assert refused.reason.startswith("refused: 1600×1600 is 2.56 megapixels (0.16 decoded at 400×400), over")
    open_rgb(photos["coffee"]).resize((1600, 1600)).save(path, quality=80, progressive=True)
    assert decode_file(str(path), max_pixels=200_000).reason.startswith("refused: 1600×1600 is 2.56 megapixels, over")


def test_a_raw_turned_by_the_camera_shows_upright_from_its_preview_and_from_its_sensor_data(photos):
    chelsea = open_rgb(photos["chelsea"]).resize((600, 400))
    stored = chelsea.transpose(Image.Transpose.ROTATE_90)  # the camera held sideways; orientation 6 undoes it
    upright = decode_bytes(_encoded(chelsea, "JPEG", quality=90))
    developed = decode_bytes(dng_bytes(stored, orientation=6), extension=".dng")
    from_preview = decode_bytes(dng_bytes(stored, preview=stored, orientation=6), extension=".dng")
    assert (developed.width, developed.height) == (from_preview.width, from_preview.height) == (600, 400)
    assert np.corrcoef(pixels(developed.thumb).ravel(), pixels(upright.thumb).ravel())[0, 1] > 0.9
    assert thumb_difference(from_preview, upright) < 4
