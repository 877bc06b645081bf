"""Verification confirms edited copies on the pixels and refuses different photos."""

from __future__ import annotations

import itertools

import pytest
from PIL import ImageEnhance, ImageFilter, ImageOps

from lookalike.decode import decode_file
from lookalike.images import table_of
from lookalike.search import Candidate
from lookalike.signatures import WHOLE
from lookalike.verify import NORMAL, Evidence, verify

from .conftest import open_rgb, save

EDITS = {
    "resized to 16 %": lambda im: im.resize((max(1, im.width * 16 // 100), max(1, im.height * 16 // 100))),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.35),
    "more contrast": lambda im: ImageEnhance.Contrast(im).enhance(1.4),
    "less saturated": lambda im: ImageEnhance.Color(im).enhance(0.4),
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "mildly blurred": lambda im: im.filter(ImageFilter.GaussianBlur(1.5)),
}


def compare(*paths, orientation: int = 0) -> Evidence:
    """Verify image 1 as image 0 in `orientation`, whole frames."""
    images = table_of([decode_file(str(path)) for path in paths])
    return verify(images, Candidate(0, 1, orientation, WHOLE, WHOLE, distance=0))


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_edited_copies_are_confirmed(tmp_path, photos, name, edit):
    image = open_rgb(photos[name])
    copy = save(EDITS[edit](image), tmp_path / "copy.jpg", quality=25)
    evidence = compare(photos[name], copy)
    assert evidence.passes(NORMAL), evidence


def test_different_photos_are_refused(photos):
    for a, b in itertools.combinations(photos, 2):
        for k in range(8):
            assert not compare(photos[a], photos[b], orientation=k).passes(NORMAL), (a, b, k)


def test_a_shifted_view_of_the_same_scene_is_refused(tmp_path, photos):
    """Like a stereo pair or the next video frame: the same scene, a slightly different picture."""
    image = open_rgb(photos["chelsea"])
    left = image.crop((0, 0, image.width - 24, image.height))
    right = image.crop((24, 0, image.width, image.height))
    assert not compare(save(left, tmp_path / "left.png"), save(right, tmp_path / "right.png")).passes(NORMAL)
