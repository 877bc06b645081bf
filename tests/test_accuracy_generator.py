"""The accuracy benchmark's random edits say truly where the original's picture is in each copy: the pixels
at the recorded place are the original's, and elsewhere they are not."""

from __future__ import annotations

import io
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks/accuracy"))
import edits
import random_edits


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, b resized to a's size."""
    b = b.resize(a.size, Image.Resampling.BILINEAR)
    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean())


def in_pixels(box: random_edits.Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = size
    return (round(box[0] * width), round(box[1] * height), round(box[2] * width), round(box[3] * height))


def shifted(box: random_edits.Box, by: float) -> random_edits.Box:
    """The same box moved right by `by` of the frame, or left where it would leave the frame."""
    step = by if box[2] + by <= 1 else -by
    return (box[0] + step, box[1], box[2] + step, box[3])


@pytest.fixture(scope="module")
def coffee(photos) -> edits.Original:
    return edits.load(photos["coffee"])


@pytest.mark.parametrize("seed", range(6))
def test_a_crops_recorded_box_holds_its_pixels(coffee, seed):
    drawn = random_edits.make_copy(coffee, "crop", random.Random(seed))
    copy = decoded(drawn.data)
    right = coffee.image.crop(in_pixels(drawn.box, coffee.image.size))
    wrong = coffee.image.crop(in_pixels(shifted(drawn.box, 0.08), coffee.image.size))
    assert (drawn.box[2] - drawn.box[0]) * (drawn.box[3] - drawn.box[1]) >= random_edits.MIN_CROP_AREA - 0.01
    assert difference(copy, right) < 4
    assert difference(copy, wrong) > 3 * difference(copy, right)


@pytest.mark.parametrize("seed", range(12))
def test_a_caption_laid_over_leaves_the_recorded_box_untouched(coffee, seed):
    rng = random.Random(seed)
    drawn = random_edits.make_copy(coffee, "caption", rng)
    copy = decoded(drawn.data)
    step = drawn.steps[0]
    if step["placed"] == "added":
        assert drawn.box == random_edits.FULL
        top = copy.height - coffee.image.height if step["where"] == "top" else 0
        picture = copy.crop((0, top, copy.width, top + coffee.image.height))
        assert difference(picture, coffee.image) < 4
        return
    box = in_pixels(drawn.box, coffee.image.size)
    assert difference(copy.crop(box), coffee.image.crop(box)) < 4
    band = (0, 0, copy.width, box[1]) if step["where"] == "top" else (0, box[3], copy.width, copy.height)
    assert difference(copy.crop(band), coffee.image.crop(band)) > 10


@pytest.mark.parametrize("seed", range(4))
def test_a_screenshot_shows_the_whole_photo_where_it_says(coffee, seed):
    drawn = random_edits.make_copy(coffee, "screenshot", random.Random(seed))
    copy = decoded(drawn.data)
    step = drawn.steps[0]
    photo = copy.crop(step["photo_at"])
    assert drawn.box == random_edits.FULL
    assert 0.24 <= step["photo_share"] <= 0.81
    assert difference(photo, coffee.image) < 6


@pytest.mark.parametrize("seed", range(4))
def test_a_straightened_copy_is_the_turned_centre_inside_its_box(coffee, seed):
    drawn = random_edits.make_copy(coffee, "straighten", random.Random(seed))
    copy = decoded(drawn.data)
    degrees = drawn.steps[0]["degrees"]
    assert 1 <= abs(degrees) <= 8
    left, top, right, bottom = drawn.box
    assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1
    # Turning the original's box by the same angle and keeping its middle gives the copy back.
    box = coffee.image.crop(in_pixels(drawn.box, coffee.image.size)).rotate(degrees, Image.Resampling.BICUBIC)
    middle = (box.width - copy.width) / 2, (box.height - copy.height) / 2
    again = box.crop(
        (round(middle[0]), round(middle[1]), round(middle[0]) + copy.width, round(middle[1]) + copy.height)
    )
    assert difference(copy, again) < 6
    assert difference(copy, coffee.image.crop((0, 0, copy.width, copy.height))) > 3 * difference(copy, again)


def test_families_are_dealt_evenly_with_combined_edits_for_every_original():
    hands = random_edits.deal_families(40, seed=3)
    counts = Counter(family for hand in hands for family in hand)
    singles = [counts[family] for family in random_edits.FAMILIES]
    assert all(8 <= len(hand) <= 12 and 1 <= hand.count(random_edits.COMBINED) <= 2 for hand in hands)
    assert max(singles) - min(singles) <= 1
