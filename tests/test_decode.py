"""The decode stage makes a canonical thumbnail of what a viewer shows, as cheaply as the format allows."""

from __future__ import annotations

import pickle
import zlib

import numpy as np
import pytest
from PIL import Image

from lookalike.engines.pool import decode_all
from lookalike.stages.decode import decode_file
from lookalike.stages.decoded import THUMB, Decoded
from lookalike.stages.images import thumb_from_bytes
from lookalike.stages.walk import Problem

from .conftest import open_rgb, save
from .hostile import png_bytes


def test_jpeg_reports_its_full_size_but_decodes_small(tmp_path, photos):
    big = open_rgb(photos["astronaut"]).resize((2400, 2400))
    path = save(big, tmp_path / "big.jpg", quality=90)
    decoded = decode_file(str(path))
    assert isinstance(decoded, Decoded)
    assert (decoded.width, decoded.height, decoded.format) == (2400, 2400, "JPEG")
    assert len(decoded.thumb) == THUMB * THUMB * 3


def test_exif_orientation_is_applied(tmp_path, photos):
    upright = open_rgb(photos["rocket"])  # landscape
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    stored = save(upright.transpose(Image.Transpose.ROTATE_90), tmp_path / "tagged.jpg", quality=95, exif=exif)
    plain = save(upright, tmp_path / "plain.jpg", quality=95)
    tagged, reference = decode_file(str(stored)), decode_file(str(plain))
    assert (tagged.width, tagged.height) == (upright.width, upright.height)
    difference = thumb_from_bytes(tagged.thumb).astype(int) - thumb_from_bytes(reference.thumb)
    assert np.abs(difference).mean() < 4


def test_transparency_is_flattened_onto_white(tmp_path):
    transparent = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    decoded = decode_file(str(save(transparent, tmp_path / "clear.png")))
    assert (thumb_from_bytes(decoded.thumb) == 255).all()


def test_sixteen_bit_greys_are_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    thumb = thumb_from_bytes(decode_file(str(save(Image.fromarray(ramp), tmp_path / "deep.png"))).thumb)
    assert thumb[0, 0, 0] < 10 and thumb[0, -1, 0] > 245


def test_animations_give_their_first_frame(tmp_path):
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("blue", "red", "green")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    thumb = thumb_from_bytes(decode_file(str(path)).thumb)
    assert thumb[..., 2].mean() > 200 and thumb[..., 0].mean() < 50


def test_truncated_and_bogus_files_become_problems(tmp_path, photos):
    data = photos["coffee"].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "noise.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    cut, noise = decode_file(str(tmp_path / "cut.jpg")), decode_file(str(tmp_path / "noise.png"))
    assert isinstance(cut, Problem) and cut.reason == "damaged image: file is truncated"
    assert isinstance(noise, Problem) and noise.reason.startswith(("damaged image", "not a readable image"))


def test_decompression_bombs_are_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_bytes(20_000, 20_000, zlib.compress(bytes(1024))))  # the header claims, the data lacks
    refused = decode_file(str(path), max_pixels=100_000_000)
    assert isinstance(refused, Problem)
    assert refused.reason.startswith("refused: 20000×20000 is 400 megapixels")


def test_worker_processes_give_the_same_results(tmp_path, photos):
    paths = [str(path) for path in photos.values()] * 6
    alone = dict(decode_all(paths, jobs=1))
    pooled = dict(decode_all(paths, jobs=2))
    assert sorted(alone) == sorted(pooled) == list(range(len(paths)))
    assert all(alone[i].content_hash == pooled[i].content_hash for i in alone)
    assert all(alone[i].thumb == pooled[i].thumb for i in alone)


def test_a_decoded_image_comes_back_from_pickling_as_it_went(photos):
    decoded = decode_file(str(photos["rocket"]))
    assert pickle.loads(pickle.dumps(decoded)) == decoded  # as it comes from a worker


def test_same_pixels_in_another_lossless_format_hash_alike(tmp_path, photos):
    picture = open_rgb(photos["chelsea"])
    as_png = decode_file(str(save(picture, tmp_path / "cat.png")))
    as_webp = decode_file(str(save(picture, tmp_path / "cat.webp", lossless=True)))
    retouched = picture.copy()
    retouched.putpixel((picture.width - 1, picture.height - 1), (0, 0, 0))
    touched = decode_file(str(save(retouched, tmp_path / "touched.png")))
    assert as_png.pixel_hash == as_webp.pixel_hash and as_png.content_hash != as_webp.content_hash
    assert touched.pixel_hash != as_png.pixel_hash


def test_a_large_image_is_hashed_whole(tmp_path, photos):
    """Its pixels reach the hash in many blocks: every block counts, the last one too."""
    picture = open_rgb(photos["astronaut"]).resize((1600, 1200))
    as_png = decode_file(str(save(picture, tmp_path / "big.png")))
    as_bmp = decode_file(str(save(picture, tmp_path / "big.bmp")))
    picture.putpixel((picture.width - 1, picture.height - 1), (1, 2, 3))
    touched = decode_file(str(save(picture, tmp_path / "touched.png")))
    assert as_png.pixel_hash == as_bmp.pixel_hash != touched.pixel_hash


def test_the_pixel_hash_is_of_the_shown_pixels_and_their_shape(tmp_path):
    """An opaque RGBA image shows what its RGB twin shows; the same bytes in another shape are another image."""
    pixels = np.random.default_rng(7).integers(0, 256, (12, 8, 3), dtype=np.uint8)
    rgb = decode_file(str(save(Image.fromarray(pixels), tmp_path / "rgb.png")))
    opaque = np.dstack([pixels, np.full((12, 8), 255, np.uint8)])
    rgba = decode_file(str(save(Image.fromarray(opaque), tmp_path / "rgba.png")))
    reshaped = decode_file(str(save(Image.fromarray(pixels.reshape(8, 12, 3)), tmp_path / "reshaped.png")))
    assert rgb.pixel_hash == rgba.pixel_hash != reshaped.pixel_hash
    clear = decode_file(str(save(Image.new("RGBA", (8, 12), (9, 9, 9, 0)), tmp_path / "clear.png")))
    white = decode_file(str(save(Image.new("RGB", (8, 12), "white"), tmp_path / "white.bmp")))
    assert clear.pixel_hash == white.pixel_hash



def test_a_jpegs_quality_is_estimated_from_its_quantisation_tables(tmp_path, photos):
    picture = open_rgb(photos["coffee"])
    for quality in (40, 60, 75, 90, 97):
        picture.save(tmp_path / f"q{quality}.jpg", quality=quality)
        decoded = decode_file(str(tmp_path / f"q{quality}.jpg"))
        assert abs(decoded.quality - quality) <= 1
    picture.save(tmp_path / "lossless.png")
    assert decode_file(str(tmp_path / "lossless.png")).quality is None


def test_a_gps_position_is_read_from_exif(tmp_path, photos):
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 29.5), 3: "W", 4: (2.0, 17.0, 40.2)})
    open_rgb(photos["coffee"]).save(tmp_path / "placed.jpg", exif=exif)
    open_rgb(photos["coffee"]).save(tmp_path / "bare.jpg")
    assert decode_file(str(tmp_path / "placed.jpg")).gps == "48.858194,-2.294500"
    assert decode_file(str(tmp_path / "bare.jpg")).gps is None


def test_an_enlargement_has_less_detail_than_its_original(tmp_path, photos):
    picture = open_rgb(photos["coins"])
    width, height = picture.size
    save(picture, tmp_path / "original.png")
    save(picture.resize((2 * width, 2 * height), Image.Resampling.BICUBIC), tmp_path / "enlarged.png")
    save(picture.resize((width // 2, height // 2), Image.Resampling.LANCZOS), tmp_path / "halved.png")
    original, enlarged, halved = (decode_file(str(tmp_path / f"{name}.png")) for name in
                                  ("original", "enlarged", "halved"))
    assert enlarged.detail < 0.5 * original.detail
    assert original.detail > 0.5 * halved.detail
    save(picture.resize((4 * width, 4 * height)), tmp_path / "large.jpg", quality=90)
    assert decode_file(str(tmp_path / "large.jpg")).detail is None  # a JPEG decoded at a quarter: not measured


@pytest.mark.slow
def test_a_200_megapixel_progressive_jpeg_is_read_within_the_workers_limit(tmp_path):
    """Phones sold now take 16,320 × 12,240 photos; a progressive JPEG keeps coefficients for every pixel."""
    path = tmp_path / "phone.jpg"
    Image.linear_gradient("L").resize((16320, 12240)).convert("RGB").save(path, quality=80, progressive=True)
    [(_, decoded)] = list(decode_all([str(path)], jobs=1))
    assert isinstance(decoded, Decoded) and (decoded.width, decoded.height) == (16320, 12240)
