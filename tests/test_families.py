"""Copies as people make them, one of each family of edits, at parameters of their own: each is grouped with
its original. Pictures that only share a backdrop are not.

Each test writes the original, an edited copy and two other photos, scans the folder and checks that exactly
the original and the copy are grouped.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

import lookalike
from lookalike.pipeline import ScanOptions

from .conftest import open_rgb

Edit = Callable[[Image.Image], Image.Image]


def crop(left: float, top: float, right: float, bottom: float) -> Edit:
    """The part of the frame from (left, top) to (right, bottom), as fractions."""
    return lambda im: im.crop((round(im.width * left), round(im.height * top),
                               round(im.width * right), round(im.height * bottom)))


def caption(share: float, colour: tuple[int, int, int], top: bool) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        band = round(image.height * share / (1 - share))
        canvas = Image.new("RGB", (image.width, image.height + band), colour)
        canvas.paste(image, (0, band if top else 0))
        ImageDraw.Draw(canvas).text((image.width // 12, (0 if top else image.height) + band // 4),
                                    "when it finally stops raining", fill="white", font_size=band * 0.45)
        return canvas
    return edit


def meme_text(image: Image.Image) -> Image.Image:
    image = image.copy()
    draw = ImageDraw.Draw(image)
    size = image.height * 0.1
    for text, y in (("NOBODY:", image.height * 0.03), ("ME ON MONDAY", image.height * 0.85)):
        draw.text((image.width * 0.08, y), text, fill="white", font_size=size, stroke_width=2, stroke_fill="black")
    return image


def logo(image: Image.Image) -> Image.Image:  # semi-transparent, off-centre
    layer = Image.new("RGBA", image.size)
    draw = ImageDraw.Draw(layer)
    box = (image.width * 0.55, image.height * 0.15, image.width * 0.85, image.height * 0.4)
    draw.ellipse(box, outline=(255, 255, 255, 110), width=max(2, image.width // 80))
    draw.text((box[0] + image.width * 0.06, box[1] + image.height * 0.07), "JK", fill=(255, 255, 255, 110),
              font_size=image.height * 0.1)
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def uneven_frame(image: Image.Image) -> Image.Image:
    width = image.width
    return ImageOps.expand(image, border=(width // 16, width // 40, width // 8, width // 25), fill=(176, 40, 92))


def in_a_phone_screenshot(image: Image.Image) -> Image.Image:  # the photo fills a third of the screen
    screen_w = round(image.width * 1.1)
    screen_h = round(image.width * 1.1 * 16 / 9)
    scale = min(screen_w / image.width, np.sqrt(screen_w * screen_h / 3 / (image.width * image.height)))
    photo = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    screen = Image.new("RGB", (screen_w, screen_h), (18, 18, 22))
    draw = ImageDraw.Draw(screen)
    draw.text((screen_w * 0.05, screen_h * 0.01), "9:41", fill="white", font_size=screen_h * 0.02)
    draw.text((screen_w * 0.05, screen_h * 0.06), "Photos from Sam", fill="white", font_size=screen_h * 0.03)
    top = round(screen_h * 0.3)
    screen.paste(photo, ((screen_w - photo.width) // 2, top))
    for i in range(3):
        draw.rounded_rectangle((screen_w * (0.1 + 0.3 * i), screen_h * 0.88, screen_w * (0.3 + 0.3 * i),
                                screen_h * 0.93), radius=8, fill=(70, 70, 80))
    return screen


def in_a_tall_screenshot(image: Image.Image) -> Image.Image:  # 85 % of a 9:19.5 screen's width, light interface
    screen_w = image.width
    screen_h = round(screen_w * 19.5 / 9)
    photo = image.resize((round(screen_w * 0.85), round(image.height * screen_w * 0.85 / image.width)),
                         Image.Resampling.LANCZOS)
    screen = Image.new("RGB", (screen_w, screen_h), (250, 250, 250))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, screen_w, screen_h * 0.04), fill=(235, 235, 240))
    draw.text((screen_w * 0.04, screen_h * 0.01), "14:05", fill=(20, 20, 20), font_size=screen_h * 0.02)
    draw.text((screen_w * 0.04, screen_h * 0.07), "Shared album", fill=(20, 20, 20), font_size=screen_h * 0.03)
    top = round(screen_h * 0.15)
    screen.paste(photo, (round(screen_w * 0.03), top))
    for line in range(6):
        y = top + photo.height + screen_h * (0.03 + 0.035 * line)
        draw.text((screen_w * 0.04, y), "Liked by Sam and 12 others " * (1 + line % 2), fill=(60, 60, 60),
                  font_size=screen_h * 0.018)
    return screen


def framed(width: float, colour: tuple[int, int, int]) -> Edit:
    return lambda image: ImageOps.expand(image, border=round(image.width * width), fill=colour)


def straightened(degrees: float) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        turned = image.rotate(degrees, Image.Resampling.BICUBIC)
        cut = np.sin(np.radians(abs(degrees))) * 1.1
        return turned.crop((round(image.width * cut), round(image.height * cut),
                            round(image.width * (1 - cut)), round(image.height * (1 - cut))))
    return edit


def tint_and_vignette(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, np.float64) * np.array([1.08, 0.98, 0.85])
    rows, columns = np.mgrid[0:image.height, 0:image.width]
    radius = np.hypot((columns / image.width - 0.5) * 2, (rows / image.height - 0.5) * 2) / np.sqrt(2)
    pixels *= (1 - 0.55 * radius**2)[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def strong_noise(image: Image.Image) -> Image.Image:
    noise = np.random.default_rng(11).normal(0, 18, (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.asarray(image, np.float64) + noise, 0, 255).astype(np.uint8))


def recompressed(quality: int) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        return Image.open(buffer).convert("RGB")
    return edit


def thumbnail(longest: int) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        small = image.copy()
        small.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        return small
    return edit


def combined(*edits: Edit) -> Edit:
    def edit(image: Image.Image) -> Image.Image:
        for step in edits:
            image = step(image)
        return image
    return edit


def mirrored(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


UNGROUPED = pytest.mark.xfail(strict=True, reason="the moment check counts 5 of 246 blocks changed at the text's "
                              "edges, one more than it allows")


def family(words: str, name: str, edit: Edit, *marks: pytest.MarkDecorator) -> object:
    return pytest.param(name, edit, id=words, marks=marks)


FAMILIES = [
    family("a square crop of the left, 56 % of the frame", "chelsea", crop(0.0, 0.0, 0.66, 0.85)),
    family("a 9:16 crop off-centre, 42 %", "coffee", crop(0.3, 0.0, 0.72, 1.0)),
    family("a 16:9 crop of the bottom, 62 %", "astronaut", crop(0.1, 0.3, 0.9, 1.0)),
    family("a teal caption band, 18 % on top", "chelsea", caption(0.18, (20, 110, 120), top=True)),
    family("a white caption band, 9 % below", "astronaut", caption(0.09, (250, 250, 250), top=False)),
    family("meme text over the picture", "coffee", meme_text, UNGROUPED),
    family("a semi-transparent logo", "rocket", logo),
    family("an uneven coloured frame", "astronaut", uneven_frame),
    family("inside a phone screenshot", "chelsea", in_a_phone_screenshot),
    family("inside a tall screenshot, a quarter of it", "astronaut", in_a_tall_screenshot),
    family("cropped, then inside a tall screenshot", "chelsea", combined(crop(0.15, 0.1, 0.85, 0.9),
                                                                         in_a_tall_screenshot)),
    family("cropped, then inside a dark screenshot", "coffee", combined(crop(0.0, 0.2, 0.7, 1.0),
                                                                        in_a_phone_screenshot)),
    family("straightened by 6°", "coffee", straightened(6)),
    family("straightened by 5°, then framed", "chelsea", combined(straightened(5), framed(0.05, (40, 170, 180)))),
    family("cropped, then framed", "astronaut", combined(crop(0.1, 0.2, 0.8, 0.9), framed(0.04, (230, 200, 40)))),
    family("straightened by -2°", "astronaut", straightened(-2)),
    family("a warm tint and a vignette", "chelsea", tint_and_vignette),
    family("strong noise", "astronaut", strong_noise),
    family("recompressed at quality 12", "coffee", recompressed(12)),
    family("a thumbnail of 90 px", "rocket", thumbnail(90)),
    family("cropped, mirrored and captioned", "astronaut",
           combined(crop(0.2, 0.1, 0.95, 0.8), mirrored, caption(0.12, (30, 30, 30), top=False)),
           pytest.mark.xfail(strict=True, reason="4 of 127 blocks count as changed at 128 px: the edges of the "
                             "caption and of the crop")),
    family("framed, turned and shown small", "coffee",
           combined(uneven_frame, lambda im: im.transpose(Image.Transpose.ROTATE_270), thumbnail(160))),
]
OTHERS = ["coins", "hubble_deep_field", "rocket", "chelsea"]


def groups_of(folder: Path) -> list[list[str]]:
    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=None, jobs=1)))
    return [sorted(Path(m["path"]).name for m in g["members"]) for g in report["groups"]]


@pytest.mark.parametrize(("name", "edit"), FAMILIES)
def test_each_family_of_copies_is_grouped_with_its_original(tmp_path, photos, name, edit):
    original = open_rgb(photos[name])
    original.save(tmp_path / "original.jpg", quality=92)
    edit(original).save(tmp_path / "copy.jpg", quality=88)
    for other in [o for o in OTHERS if o != name][:2]:
        open_rgb(photos[other]).save(tmp_path / f"{other}.jpg", quality=92)
    assert groups_of(tmp_path) == [["copy.jpg", "original.jpg"]]


def centre(image: Image.Image, share: float) -> Image.Image:
    return crop((1 - share) / 2, (1 - share) / 2, (1 + share) / 2, (1 + share) / 2)(image)


@pytest.mark.parametrize(("backdrop", "share"), [((255, 255, 255), 0.5), ((0, 0, 0), 0.3)])
def test_different_pictures_on_one_backdrop_stay_apart(tmp_path, photos, backdrop, share):
    """Product shots on one studio background, or small objects on a dark field: the same place, size and
    backdrop, but different pictures."""
    for name in ("chelsea", "coffee", "astronaut"):
        picture = centre(open_rgb(photos[name]), 0.6).resize((300, 300))
        canvas = Image.new("RGB", (round(300 / share), round(300 / share)), backdrop)
        canvas.paste(picture, ((canvas.width - 300) // 2, (canvas.height - 300) // 2))
        canvas.save(tmp_path / f"{name}.jpg", quality=90)
    assert groups_of(tmp_path) == []
