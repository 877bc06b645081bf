"""Every kind of edited copy of issue 3 is found, explained, and kept apart from other photos.

Each test writes one edited copy of a real photo next to its original and three other photos, scans the
folder, and checks that exactly the original and the copy are grouped, with the relation that says what
was done.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.stages.decode import picture
from lookalike.stages.geometry import moment_check

from .conftest import open_rgb

Edit = Callable[[Image.Image], Image.Image]
pillow_heif.register_heif_opener()  # to write HEIC copies, whichever test runs first


def cropped(left: float, top: float, right: float, bottom: float) -> Edit:
    return lambda im: im.crop((round(im.width * left), round(im.height * top),
                               round(im.width * (1 - right)), round(im.height * (1 - bottom))))


def caption_bar(image: Image.Image) -> Image.Image:
    edited = image.copy()
    band = image.height // 10
    draw = ImageDraw.Draw(edited)
    draw.rectangle((0, image.height - band, image.width, image.height), fill="black")
    draw.text((8, image.height - band + 4), "Summer 2019, day 3", fill="white", font_size=band * 0.6)
    return edited


def watermark(image: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", image.size)
    ImageDraw.Draw(layer).text((image.width // 4, image.height * 0.9), "(c) someone", fill=(255, 255, 255, 140),
                               font_size=image.height // 14)
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


EDITS: dict[str, tuple[Edit, str]] = {
    "cropped 5 % off each side": (cropped(0.05, 0.05, 0.05, 0.05), "cropped to 90 % (centre)"),
    "one third off the right": (cropped(0, 0, 1 / 3, 0), "cropped to 67 % (left)"),
    "one third off the top": (cropped(0, 1 / 3, 0, 0), "cropped to 67 % (bottom)"),
    "caption bar": (caption_bar, "caption or overlay at bottom"),
    "watermark": (watermark, ""),
    "white border": (lambda im: ImageOps.expand(im, border=im.width // 20, fill="white"), "border added"),
    "letterbox": (lambda im: ImageOps.expand(im, border=(0, im.height // 8), fill="black"), "border added"),
    "squashed by 20 %": (lambda im: im.resize((im.width * 8 // 10, im.height)), "aspect ratio changed"),
    "contrast": (lambda im: ImageEnhance.Contrast(im).enhance(1.4), "more contrast"),
    "saturation": (lambda im: ImageEnhance.Color(im).enhance(1.5), ""),
    "grayscale": (lambda im: im.convert("L"), "grayscale"),
    "mild blur": (lambda im: im.filter(ImageFilter.GaussianBlur(1.2)), ""),
    "resized to 16 %": (lambda im: im.resize((im.width * 16 // 100, im.height * 16 // 100)), "resized to 16 %"),
}
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket"]


def scan_pair(folder: Path, photos: dict[str, Path], name: str, write_copy: Callable[[Path], Path]) -> list:
    for other in PHOTOS:
        shutil.copy(photos[other], folder / f"{other}.jpg")
    copy = write_copy(folder / "copy")
    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=None, jobs=1)))
    assert [sorted(Path(m["path"]).name for m in g["members"]) for g in report["groups"]] == [
        sorted([f"{name}.jpg", copy.name])]
    return report["groups"][0]["members"]


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_edited_copy_is_found_with_its_relation(tmp_path, photos, name, edit):
    make, relation = EDITS[edit]

    def write_copy(path: Path) -> Path:
        target = path.with_suffix(".jpg")
        make(open_rgb(photos[name])).save(target, quality=80)  # smaller than the original: it stays the keeper
        return target

    members = scan_pair(tmp_path, photos, name, write_copy)
    assert Path(members[0]["path"]).name == f"{name}.jpg"
    assert relation in members[1]["relation"], members


@pytest.mark.parametrize(("container", "suffix"), [("HEIF", ".heic"), ("WEBP", ".webp"), ("PNG", ".png")])
def test_format_conversions_are_found(tmp_path, photos, container, suffix):
    def write_copy(path: Path) -> Path:
        target = path.with_suffix(suffix)
        open_rgb(photos["rocket"]).save(target, format=container)
        return target

    members = scan_pair(tmp_path, photos, "rocket", write_copy)
    assert any("converted to" in m["relation"] for m in members[1:])


def test_heic_converted_back_to_jpeg_is_found(tmp_path, photos):
    def write_copy(path: Path) -> Path:
        heic = io.BytesIO()
        open_rgb(photos["chelsea"]).save(heic, format="HEIF")
        target = path.with_suffix(".jpg")
        Image.open(heic).convert("RGB").save(target, quality=85)
        return target

    scan_pair(tmp_path, photos, "chelsea", write_copy)


def test_exif_orientation_instead_of_turned_pixels(tmp_path, photos):
    def write_copy(path: Path) -> Path:
        exif = Image.Exif()
        exif[0x0112] = 8  # "rotate 90° counter-clockwise to display"
        target = path.with_suffix(".jpg")
        open_rgb(photos["coffee"]).transpose(Image.Transpose.ROTATE_270).save(target, quality=90, exif=exif)
        return target

    members = scan_pair(tmp_path, photos, "coffee", write_copy)
    assert "rotated" not in members[1]["relation"]  # shown upright, like the original


@pytest.mark.parametrize("name", ["chelsea", "astronaut", "coffee"])
def test_a_different_moment_of_one_shot_stays_apart(tmp_path, photos, name):
    """The next frame of a burst: the same camera and scene, but part of the picture moved. Geometry matches
    the two (most features stay put), so only what changed inside the picture can tell them apart."""
    image = open_rgb(photos[name])
    image.save(tmp_path / "first.png")
    width, height = image.size
    box = (int(width * 0.3), int(height * 0.25), int(width * 0.6), int(height * 0.65))
    moved = image.copy()
    moved.paste(image.crop(box), (box[0] + int(width * 0.15), box[1] + int(height * 0.05)))
    moved.save(tmp_path / "next.png")
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))
    assert report["groups"] == []


SMALL_MOVES = {  # a part of 4 % of the frame (left, top, right, bottom) moved by (dx, dy), as fractions
    "centre part moved right": ((0.3, 0.25, 0.5, 0.45), (0.08, 0.0)),
    "lower right part moved": ((0.55, 0.5, 0.75, 0.75), (-0.06, 0.04)),
    "lower left part moved": ((0.1, 0.6, 0.3, 0.8), (0.1, -0.05)),
}


def next_frame(image: Image.Image, move: str) -> Image.Image:
    """The image with one of SMALL_MOVES' parts pasted where it moved to."""
    (left, top, right, bottom), (dx, dy) = SMALL_MOVES[move]
    width, height = image.size
    box = (round(width * left), round(height * top), round(width * right), round(height * bottom))
    moved = image.copy()
    moved.paste(image.crop(box), (box[0] + round(width * dx), box[1] + round(height * dy)))
    return moved


@pytest.mark.parametrize("move", SMALL_MOVES)
@pytest.mark.parametrize("name", ["chelsea", "astronaut", "coffee", "coins"])
def test_a_small_part_that_moved_is_a_different_moment(tmp_path, photos, name, move):
    """A small part of the picture moved (someone stepped aside): too few blocks change to count, but what the
    changed part shows is found elsewhere in the other frame, so it moved rather than being laid over."""
    image = open_rgb(photos[name])
    image.save(tmp_path / "first.png")
    next_frame(image, move).save(tmp_path / "next.jpg", quality=90)
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))
    assert report["groups"] == []


def test_a_next_frame_only_a_thumbnail_matches_stays_out_of_the_group(tmp_path, photos):
    """A 48-pixel thumbnail of the photo is too small to show the part that moved, so it matches the next frame
    too; the photo shows the part a few pixels off its place. The photo keeps the thumbnail, and the next frame
    is not brought in through it: what the finest picture shows moved is not undone by a coarser one."""
    image = open_rgb(photos["astronaut"])
    image.save(tmp_path / "photo.png")
    next_frame(image, "centre part moved right").save(tmp_path / "next.jpg", quality=90)
    image.thumbnail((48, 48))
    image.save(tmp_path / "small.jpg", quality=90)
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))
    assert [[Path(m["path"]).name for m in group["members"]] for group in report["groups"]] == [
        ["photo.png", "small.jpg"]]


@pytest.mark.parametrize("name", ["chelsea", "astronaut"])
@pytest.mark.parametrize("move", SMALL_MOVES)
def test_a_next_frame_only_a_screenshot_matches_stays_out_of_the_group(tmp_path, photos, name, move):
    """A phone screenshot shows the photo on a fifth of its screen, too small to show the part that moved, so it
    matches the next frame too; the photo, compared with the next frame on all of its picture, does not. The
    photo keeps the screenshot, and the next frame is not brought in through it."""
    from .test_families import in_a_tall_screenshot

    image = open_rgb(photos[name])
    image.save(tmp_path / "photo.png")
    next_frame(image, move).save(tmp_path / "next.jpg", quality=90)
    in_a_tall_screenshot(image).save(tmp_path / "screenshot.jpg", quality=90)
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))
    assert [[Path(m["path"]).name for m in group["members"]] for group in report["groups"]] == [
        ["photo.png", "screenshot.jpg"]]


@pytest.mark.parametrize("by", [3, 8])
def test_a_part_that_slid_a_few_pixels_is_a_different_moment(photos, by):
    """On the moment check's picture, a part of the cat slid sideways by a few pixels: it changes too little for
    its blocks to count as changed, but each block of it is found, moved by the same amount, in the other one."""
    with Image.open(photos["chelsea"]) as image:
        first = np.asarray(Image.open(io.BytesIO(picture(image.convert("RGB")))).convert("RGB"))
    slid = first.copy()
    slid[60:84, 50:74] = first[60:84, 50 + by:74 + by]
    moment = moment_check(first, slid, np.array([[1.0, 0, 0], [0, 1, 0]]))
    assert moment.moved and not moment.same


def _moment_picture(image: Image.Image) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(picture(image))).convert("RGB"))


PASTED_NEARBY = {  # a part (left, top, right, bottom) pasted (dx, dy) away; white text of a height: fractions
    "chelsea": ((0.6, 0.65, 0.8, 0.85), (0.06, 0.0), 0.05),
    "hubble_deep_field": ((0.3, 0.3, 0.5, 0.5), (-0.05, 0.04), 0.08),
}


@pytest.mark.parametrize("name", PASTED_NEARBY)
def test_a_part_pasted_nearby_is_moved_where_text_is_laid_over(photos, name):
    """A part of the picture pasted a few pixels off its place changes blocks that read as laid over (pulled
    towards white or black, as text is), but their content is found beside their place in the other picture: a
    next frame. Text written on the same picture is found nowhere: an edit."""
    image = open_rgb(photos[name])
    width, height = image.size
    (left, top, right, bottom), (dx, dy), text = PASTED_NEARBY[name]
    box = (round(width * left), round(height * top), round(width * right), round(height * bottom))
    pasted = image.copy()
    pasted.paste(image.crop(box), (box[0] + round(width * dx), box[1] + round(height * dy)))
    texted = image.copy()
    ImageDraw.Draw(texted).text((width * 0.2, height * 0.8), "Summer 2019", fill="white", font_size=height * text)
    same_place = np.array([[1.0, 0, 0], [0, 1, 0]])
    first = _moment_picture(image)
    moved = moment_check(first, _moment_picture(pasted), same_place)
    overlaid = moment_check(first, _moment_picture(texted), same_place)
    assert moved.moved and not moved.same
    assert overlaid.overlaid and overlaid.same
