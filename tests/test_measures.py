"""Measures at full size: a large JPEG, decoded at a fraction of its size, is measured again when the keep rule
weighs it against a copy of another size or a lossless copy, so that neither its enlargement nor a lossless
conversion of it is kept over it."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image, ImageOps

import lookalike
from lookalike import report
from lookalike.cache import Cache
from lookalike.pipeline import ScanOptions
from lookalike.stages.decode import decode_file
from lookalike.stages.measures import measured_file

from .conftest import open_rgb, save


def mosaic(photos: dict[str, Path]) -> Image.Image:
    """A 1200 × 798 photo with detail at its full size: nine 400 × 266 tiles of three photos, some mirrored."""
    tiles = [open_rgb(photos[name]).resize((400, 266)) for name in ("chelsea", "coffee", "rocket")]
    canvas = Image.new("RGB", (1200, 798))
    for row in range(3):
        for column in range(3):
            tile = tiles[(row + column) % 3]
            canvas.paste(ImageOps.mirror(tile) if row == 1 else ImageOps.flip(tile) if row == 2 else tile,
                         (400 * column, 266 * row))
    return canvas


def test_a_large_jpeg_is_measured_at_full_size_in_a_worker(tmp_path, photos):
    path = save(mosaic(photos), tmp_path / "large.jpg", quality=90)
    assert decode_file(str(path)).detail is None  # decoded at half its size
    detail, grain, pixel_hash = measured_file(str(path), 10**9)
    assert detail > 1 and grain is not None
    with Image.open(path) as decoded:
        png = save(decoded.convert("RGB"), tmp_path / "large.png")
    assert pixel_hash == decode_file(str(png)).pixel_hash  # of the full-size pixels, as a PNG of them has
    assert measured_file(str(path), 1000) is None  # over the limit: no measure, no error
    assert measured_file(str(tmp_path / "gone.jpg"), 10**9) is None


def test_an_enlargement_of_a_large_jpeg_saved_more_finely_is_not_kept(tmp_path, photos):
    picture = mosaic(photos)
    original = save(picture, tmp_path / "photos" / "original.jpg", quality=85)
    save(picture.resize((1560, 1037), Image.Resampling.BICUBIC), tmp_path / "photos" / "enlarged.jpg", quality=95)
    options = ScanOptions(cache=tmp_path / "cache.sqlite")
    document = report.to_json(lookalike.scan([tmp_path / "photos"], options))
    (group,) = document["groups"]
    assert group["keep"] == str(original)
    assert "enlargements" in group["reason"]
    with Cache(tmp_path / "cache.sqlite") as cache:  # remembered: a second scan reads nothing again
        assert all(detail is not None for (detail,) in cache.db.execute("SELECT detail FROM images"))
    assert report.to_json(lookalike.scan([tmp_path / "photos"], options))["groups"][0]["keep"] == str(original)


def test_a_lossless_conversion_of_a_large_jpeg_ranks_as_the_jpeg(tmp_path, photos):
    """The PNG holds the JPEG's pixels at full size: nothing lost, nothing gained, so the older JPEG stays."""
    jpeg = save(mosaic(photos), tmp_path / "photos" / "original.jpg", quality=85)
    with Image.open(jpeg) as decoded:
        save(decoded.convert("RGB"), tmp_path / "photos" / "converted.png")
    os.utime(jpeg, ns=(10**18, 10**18))
    os.utime(tmp_path / "photos" / "converted.png", ns=(2 * 10**18, 2 * 10**18))
    document = report.to_json(lookalike.scan([tmp_path / "photos"], ScanOptions(cache=None)))
    (group,) = document["groups"]
    assert group["keep"] == str(jpeg)
    (member,) = [m for m in group["members"] if m["path"] != str(jpeg)]
    assert member["relation"] == "same pixels, converted to PNG"
