"""The default keep rule on real photos decoded by the real decoder: an enlargement, a copy with noise added
and a lossless conversion of a JPEG each lose to the original, and a crop or a screenshot is no enlargement's
source."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.stages.decode import decode_file
from lookalike.stages.keep import Scanned, best_first, enlargements, grainy, keeper_reason

from .conftest import open_rgb, save


def scanned(path: Path, mtime_ns: int) -> Scanned:
    """A file as the scan ranks it, its modification time set to `mtime_ns`."""
    os.utime(path, ns=(mtime_ns, mtime_ns))
    decoded = decode_file(str(path))
    return Scanned(str(path), path.stat().st_size, mtime_ns, "", decoded.width, decoded.height, decoded.format,
                   quality=decoded.quality, detail=decoded.detail, taken=decoded.taken, camera=decoded.camera,
                   gps=decoded.gps, grain=decoded.grain, pixel_hash=decoded.pixel_hash.hex())


def noised(picture: Image.Image, sigma: float, seed: int) -> Image.Image:
    noise = np.random.default_rng(seed).normal(0, sigma, (picture.height, picture.width, 1))
    return Image.fromarray(np.clip(np.asarray(picture, np.float64) + noise, 0, 255).astype(np.uint8))


def test_an_enlargement_by_a_third_loses_to_its_original_and_a_crop_is_not_one(tmp_path, photos):
    picture = open_rgb(photos["coffee"])
    width, height = picture.size
    original = scanned(save(picture, tmp_path / "original.png"), 3)
    enlarged = scanned(save(picture.resize((width * 4 // 3, height * 4 // 3), Image.Resampling.BICUBIC),
                            tmp_path / "enlarged.png"), 1)
    halved = scanned(save(picture.resize((width // 2, height // 2), Image.Resampling.LANCZOS),
                          tmp_path / "halved.png"), 2)
    assert enlargements([original, enlarged, halved]) == [False, True, False]
    files = [enlarged, original, halved]
    assert best_first(files)[0] == 1
    assert "enlargements" in keeper_reason(files[:2], 1)
    cropped = scanned(save(picture.crop((0, 0, width * 2 // 3, height)), tmp_path / "cropped.png"), 1)
    assert enlargements([original, cropped]) == [False, False]  # another shape: its detail is of another part


def test_a_copy_with_noise_added_loses_to_its_original(tmp_path, photos):
    picture = open_rgb(photos["astronaut"])
    files = [scanned(save(noised(picture, 12, 0), tmp_path / "noisy.jpg", quality=95), 1),
             scanned(save(picture, tmp_path / "original.jpg", quality=90), 2)]
    assert grainy(files) == [True, False]
    assert best_first(files)[0] == 1
    assert "noise added" in keeper_reason(files, 1)


def test_smoothed_copies_do_not_make_a_grainy_original_look_noisy(tmp_path, photos):
    """A photo with a camera's grain beside a blurred copy, one saved at quality 25 and one framed in white, which
    have little: the original and its faithful copy are no noisier than each other, only the copy with noise
    added is."""
    from PIL import ImageFilter, ImageOps

    picture = noised(open_rgb(photos["coffee"]), 5, 0)
    copies = {"original.jpg": (picture, 90), "mirrored.jpg": (ImageOps.mirror(picture), 90),
              "blurred.jpg": (picture.filter(ImageFilter.GaussianBlur(2)), 90), "coarse.jpg": (picture, 25),
              "framed.jpg": (ImageOps.expand(picture, 40, (255, 255, 255)), 90),
              "noisy.jpg": (noised(picture, 20, 1), 95)}
    files = [scanned(save(image, tmp_path / name, quality=quality), number)
             for number, (name, (image, quality)) in enumerate(copies.items())]
    assert dict(zip(copies, grainy(files), strict=True)) == {
        "original.jpg": False, "mirrored.jpg": False, "blurred.jpg": False, "coarse.jpg": False,
        "framed.jpg": False, "noisy.jpg": True}
    assert Path(files[best_first(files)[0]].path).name == "original.jpg"


def test_a_lossless_conversion_of_a_jpeg_ranks_as_the_jpeg_and_the_older_stays(tmp_path, photos):
    jpeg = save(open_rgb(photos["rocket"]), tmp_path / "rocket.jpg", quality=85)
    with Image.open(jpeg) as decoded:
        png = save(decoded.convert("RGB"), tmp_path / "rocket.png")
    files = [scanned(png, 2), scanned(jpeg, 1)]
    assert files[0].pixel_hash == files[1].pixel_hash
    assert best_first(files)[0] == 1
    assert keeper_reason(files, 1) == "the oldest file"


def test_a_keeper_the_rule_does_not_prefer_says_so(tmp_path, photos):
    """Grouping keeps the picture the other copies match; when the keep rule alone would keep another file,
    the reason says which and why, rather than claiming the rule's criterion for the keeper."""
    picture = open_rgb(photos["chelsea"])
    older = scanned(save(picture, tmp_path / "older.png"), 1)
    newer = scanned(save(picture, tmp_path / "newer.png"), 2)
    assert keeper_reason([older, newer], 0) == "the oldest file"
    assert keeper_reason([newer, older], 0) == ("the picture the other copies match; the keep rule alone would "
                                                "keep older.png (the oldest file)")


def test_the_photo_is_kept_rather_than_its_copy_with_a_caption_band_added(tmp_path, photos):
    """The captioned copy has the most pixels, but they are the photo's and a band's: the photo is kept."""
    from lookalike import scan

    from .test_group import with_band

    picture = open_rgb(photos["chelsea"])
    width, height = picture.size
    copies = {"captioned.jpg": with_band(picture, 0.16, (199, 187, 206)),
              "cropped.jpg": picture.crop((0, 0, width * 3 // 5, height)),
              "mirrored.jpg": picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
              "smaller.jpg": picture.resize((width * 7 // 10, height * 7 // 10), Image.Resampling.LANCZOS)}
    for name, image in {"original.jpg": picture, **copies}.items():
        save(image, tmp_path / name, quality=88)
    result = scan([tmp_path])
    [group] = result.groups
    members = {Path(result.files[m.file].path).name: m for m in group.members}
    assert Path(result.files[group.keeper].path).name == "original.jpg"
    assert members.keys() == {"original.jpg", *copies}


def test_copies_of_one_frame_size_hold_as_many_pixels_and_the_older_is_kept(tmp_path, photos):
    """Text laid over a photo's plain margin hides the margin from the border finder, so the copy seems to
    hold more pixels of picture: copies of one frame size (turned or not) rank as holding the same, and the
    older file, the photo, is kept."""
    from dataclasses import replace

    picture = open_rgb(photos["coffee"])
    photo = scanned(save(picture, tmp_path / "photo.png"), 1)
    with_text = scanned(save(picture, tmp_path / "with text.png"), 2)
    turned = scanned(save(picture.transpose(Image.Transpose.ROTATE_90), tmp_path / "turned.png"), 3)
    margin_found = replace(photo, pixels=photo.width * photo.height * 8 // 10)
    files = [with_text, turned, margin_found]
    assert best_first(files)[0] == 2
    assert keeper_reason(files, 2) == "the oldest file"


def test_a_lossless_original_is_kept_over_a_jpeg_made_from_it_and_the_reason_names_both(tmp_path, photos):
    picture = open_rgb(photos["coffee"])
    files = [scanned(save(picture, tmp_path / "copy.jpg", quality=80), 1),
             scanned(save(picture, tmp_path / "original.png"), 2)]
    assert best_first(files)[0] == 1
    assert keeper_reason(files, 1) == "least recompressed (a PNG against JPEG quality 80)"
def test_a_screenshot_of_a_photo_is_no_evidence_that_the_photo_is_an_enlargement(tmp_path, photos):
    """A screenshot holds the photo smaller, among a screen's flat interface and sharp lettering, whose detail
    is not the photo's: the photo, with more pixels, is not an enlargement of it."""
    from PIL import ImageDraw

    picture = open_rgb(photos["coffee"])
    width, height = picture.size
    screen = Image.new("RGB", (width * 9 // 10, height * 9 // 10), (246, 246, 246))
    smaller = picture.resize((width * 9 // 20, height * 9 // 20), Image.Resampling.LANCZOS)
    screen.paste(smaller, (width // 5, height // 5))
    draw = ImageDraw.Draw(screen)
    for line in range(0, height * 9 // 10, 14):
        draw.text((6, line), "Photos  Albums  Shared  Search  Edit  Share", fill=(20, 20, 20))
    original = scanned(save(picture, tmp_path / "original.png"), 2)
    screenshot = scanned(save(screen, tmp_path / "screenshot.png"), 1)
    assert screenshot.grain == 0 and original.grain > 0
    assert enlargements([original, screenshot]) == [False, False]
    assert best_first([screenshot, original])[0] == 1


def straightened(picture: Image.Image, degrees: float, border: int, colour: tuple[int, int, int]) -> Image.Image:
    """The picture turned a little, cut to the part the turn leaves whole, enlarged by a third and framed."""
    width, height = picture.size
    turned = picture.rotate(degrees, Image.Resampling.BICUBIC)
    kept = 1 / (abs(np.cos(np.radians(degrees))) + abs(np.sin(np.radians(degrees))) * max(width, height) / min(
        width, height))
    inner_w, inner_h = round(width * kept), round(height * kept)
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    cut = turned.crop((left, top, left + inner_w, top + inner_h)).resize((inner_w * 4 // 3, inner_h * 4 // 3),
                                                                        Image.Resampling.LANCZOS)
    framed = Image.new("RGB", (cut.width + 2 * border, cut.height + 2 * border), colour)
    framed.paste(cut, (border, border))
    return framed


def test_the_photo_is_kept_rather_than_its_straightened_copy_framed_round_its_frame(tmp_path, photos):
    """A copy straightened, enlarged and framed has the most pixels, and its frame, border and all, spans the
    photo's frame and every copy's: but its picture, inside the frame, is the turned middle of the photo's. The
    photo, whose picture holds every copy's picture, is kept."""
    from lookalike import scan

    picture = open_rgb(photos["chelsea"])
    width, height = picture.size
    copies = {"straightened.jpg": straightened(picture, 3, 24, (40, 200, 90)),
              "resaved.jpg": picture,
              "smaller.jpg": picture.resize((width * 7 // 10, height * 7 // 10), Image.Resampling.LANCZOS),
              "cropped.jpg": picture.crop((0, 0, width * 3 // 5, height))}
    save(picture, tmp_path / "original.jpg", quality=92)
    for name, image in copies.items():
        save(image, tmp_path / name, quality=80)
    result = scan([tmp_path])
    [group] = result.groups
    members = {Path(result.files[m.file].path).name for m in group.members}
    assert Path(result.files[group.keeper].path).name == "original.jpg"
    assert members == {"original.jpg", *copies}
