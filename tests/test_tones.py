"""Tones of aligned copies: a filter changes them, re-saving, resizing, cropping and a caption band do not; a
change of saturation keeps the grey picture's tones and changes the colours."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from lookalike.stages.tones import colour_change, same_colour, same_tone, tone_change

from .conftest import open_rgb

IDENTITY = np.array([[1.0, 0, 0], [0, 1.0, 0]])


def grey(image: Image.Image, side: int = 128) -> np.ndarray:
    return np.asarray(image.convert("L").resize((side, side), Image.Resampling.BILINEAR), np.float32)


def vignetted(image: Image.Image, strength: float) -> Image.Image:
    rows, columns = np.mgrid[0:image.height, 0:image.width]
    radius = np.hypot(rows / image.height - 0.5, columns / image.width - 0.5) / np.hypot(0.5, 0.5)
    shade = 1 - strength * radius[..., None] ** 2
    return Image.fromarray((np.asarray(image, np.float32) * shade).clip(0, 255).astype(np.uint8))


def test_filters_change_tones(photos):
    photo = open_rgb(photos["astronaut"])
    for filtered in (ImageEnhance.Brightness(photo).enhance(1.2), ImageEnhance.Contrast(photo).enhance(0.75),
                     vignetted(photo, 0.5)):
        assert not same_tone(tone_change(grey(photo), grey(filtered), IDENTITY))


def test_copies_made_without_a_filter_keep_their_tones(photos):
    photo = open_rgb(photos["astronaut"])
    smaller = photo.resize((photo.width // 3, photo.height // 3), Image.Resampling.LANCZOS)
    texted = photo.copy()
    ImageDraw.Draw(texted).text((20, photo.height - 40), "Summer holidays, day 3", fill=(255, 255, 255))
    for copy in (smaller, texted):
        assert same_tone(tone_change(grey(photo), grey(copy), IDENTITY))
    left = photo.crop((0, 0, photo.width // 2, photo.height))  # the crop's frame is the left half of the photo's
    assert same_tone(tone_change(grey(photo), grey(left), np.array([[0.5, 0, 0], [0, 1.0, 0]])))


def thumb(image: Image.Image, side: int = 64) -> np.ndarray:
    return np.asarray(image.resize((side, side), Image.Resampling.BILINEAR))


def test_a_change_of_saturation_keeps_the_grey_tones_and_changes_the_colours(photos):
    photo = open_rgb(photos["astronaut"])
    coarse = io.BytesIO()
    photo.save(coarse, "JPEG", quality=30)
    with Image.open(coarse) as decoded:
        resaved = decoded.convert("RGB")
    smaller = photo.resize((photo.width // 3, photo.height // 3), Image.Resampling.LANCZOS)
    for copy in (resaved, smaller):
        assert same_colour(colour_change(thumb(photo), thumb(copy), IDENTITY))
    for factor in (1.4, 0.6):
        filtered = ImageEnhance.Color(photo).enhance(factor)
        assert same_tone(tone_change(grey(photo), grey(filtered), IDENTITY))
        assert not same_colour(colour_change(thumb(photo), thumb(filtered), IDENTITY))


def test_pictures_that_hardly_overlap_are_not_compared(photos):
    photo = grey(open_rgb(photos["astronaut"]))
    assert tone_change(photo, photo, np.array([[0.1, 0, 0.95], [0, 0.1, 0.95]])) is None
    colour = thumb(open_rgb(photos["astronaut"]))
    assert colour_change(colour, colour, np.array([[0.1, 0, 0.95], [0, 0.1, 0.95]])) is None
