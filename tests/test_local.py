"""Copies that show part of a picture, or the picture as part of a larger frame: found by local features,
fitted by RANSAC, and described by what was fitted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageOps

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.stages.geometry import MIN_INLIERS, fit, frame_box
from lookalike.stages.local_features import extract, search_words, surround_box, unpack
from lookalike.stages.search_kernels import two_nearest

from .conftest import open_rgb
from .test_families import in_a_tall_screenshot


def crop_top_right(image: Image.Image) -> Image.Image:  # 62 % of the width, 70 % of the height: 43 % of it
    width, height = image.size
    return image.crop((round(width * 0.38), 0, width, round(height * 0.7)))


def in_a_screenshot(image: Image.Image) -> Image.Image:  # the photo fills a quarter of a phone's screen
    width, height = image.size
    screen = Image.new("RGB", (2 * width, 2 * height), (245, 245, 245))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 2 * width, height // 6), fill=(30, 30, 30))  # a status and title bar
    for line in range(6):
        draw.rectangle((width // 10, height * 3 // 2 + line * 20, width * 3 // 2, height * 3 // 2 + line * 20 + 8),
                       fill=(120, 120, 120))  # lines of text below the photo
    screen.paste(image, (width // 2, height // 3))
    return screen


def straightened(image: Image.Image) -> Image.Image:  # turned 5° and cropped to hide the corners
    width, height = image.size
    turned = image.rotate(5, Image.Resampling.BICUBIC)
    return turned.crop((round(width * 0.12), round(height * 0.12), round(width * 0.88), round(height * 0.88)))


@pytest.mark.parametrize(("edit", "words", "box"), [
    (crop_top_right, "cropped to 43 % (top right)", (0.38, 0.0, 1.0, 0.7)),
    (in_a_screenshot, "inside a larger picture (25 % of it)", (0.0, 0.0, 1.0, 1.0)),
    (straightened, "straightened 5°", None),
])
@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_a_partial_copy_is_found_and_described(tmp_path, photos, name, edit, words, box):
    original = open_rgb(photos[name])
    original.save(tmp_path / "original.png")
    edit(original).save(tmp_path / "copy.jpg", quality=85)
    [group] = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))["groups"]
    [member] = [m for m in group["members"] if m["match"] != "keeper"]
    seen_from_the_original = group["keep"].endswith("original.png")
    if seen_from_the_original:
        assert words in member["relation"]
        if box is not None:
            assert member["box"] == pytest.approx(box, abs=0.03)
    else:  # the screenshot has more pixels, so it is kept: the original is what it shows, cropped
        assert "cropped to 25 %" in member["relation"]


def sampled_through(matrix: list[list[float]], member: np.ndarray, keeper: np.ndarray) -> tuple[float, float]:
    """Mean grey difference between the member's pixels and the keeper's at the points `matrix` carries them
    to, and between the same pixels and the keeper's at the same fractions (no alignment)."""
    fractions = np.stack(np.meshgrid(np.linspace(0.1, 0.9, 24), np.linspace(0.1, 0.9, 24)), axis=-1).reshape(-1, 2)
    carried = fractions @ np.array(matrix)[:, :2].T + np.array(matrix)[:, 2]

    def at(image: np.ndarray, points: np.ndarray) -> np.ndarray:
        rows = np.clip((points[:, 1] * image.shape[0]).astype(int), 0, image.shape[0] - 1)
        columns = np.clip((points[:, 0] * image.shape[1]).astype(int), 0, image.shape[1] - 1)
        return image[rows, columns]

    own = at(member, fractions)
    return float(np.abs(own - at(keeper, carried)).mean()), float(np.abs(own - at(keeper, fractions)).mean())


def test_the_fitted_matrix_carries_each_copy_onto_its_original(tmp_path, photos):
    original = open_rgb(photos["chelsea"])
    original.save(tmp_path / "original.png")
    copies = {"crop": crop_top_right(original), "straightened": straightened(original),
              "turned": original.transpose(Image.Transpose.ROTATE_90),
              "mirrored": original.transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize(
                  (original.width // 2, original.height // 2))}
    for name, copy in copies.items():
        copy.save(tmp_path / f"{name}.jpg", quality=90)
    [group] = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))["groups"]
    assert group["keep"].endswith("original.png")
    keeper = np.asarray(original.convert("L").filter(ImageFilter.BoxBlur(2)), np.float64)
    members = {m["path"].rsplit("/", 1)[-1].removesuffix(".jpg"): m for m in group["members"][1:]}
    assert sorted(members) == sorted(copies)
    for name, member in members.items():
        pixels = np.asarray(copies[name].convert("L").filter(ImageFilter.BoxBlur(2)), np.float64)
        aligned, unaligned = sampled_through(member["matrix"], pixels, keeper)
        assert aligned < 8 and unaligned > 3 * aligned, name  # blurred: a pixel off costs little
        assert frame_box(np.array(member["matrix"])) == pytest.approx(member["box"], abs=1e-3)


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coins", "rocket"])  # textured where the part moves
def test_a_part_that_moved_shows_as_a_second_motion_of_the_features(photos, name):
    """A person who stepped aside: the features on them agree on one shift of their own, away from the fit
    of the rest. A recompressed copy's unfitted matches agree on nothing."""
    image = open_rgb(photos[name])
    width, height = image.size
    box = (round(width * 0.3), round(height * 0.3), round(width * 0.55), round(height * 0.6))
    moved = image.copy()
    moved.paste(image.crop(box), (box[0] + round(width * 0.1), box[1] + round(height * 0.05)))
    original = unpack(extract(image))
    assert fit(original, unpack(extract(as_jpeg(moved, 90)))).two_moments
    assert not fit(original, unpack(extract(as_jpeg(image, 60)))).two_moments


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "rocket"])
def test_a_picture_inside_an_interface_has_features_of_its_own(photos, name):
    """A photo shown across most of a phone's screen, a fifth of it, is found inside the interface, and its features
    found there, at the resolution its original's are: the screenshot queries with many of the words its
    original is indexed by (the frame's own features share 0 to 5), and they fit where the photo is shown,
    upright and mirrored."""
    original = open_rgb(photos[name])
    shot = in_a_tall_screenshot(original)
    height = 0.85 * original.height / original.width * 9 / 19.5
    shown, mirror_shown = (0.03, 0.15, 0.88, 0.15 + height), (0.12, 0.15, 0.97, 0.15 + height)
    grey = shot.convert("L")
    grey.thumbnail((320, 320))
    assert surround_box(np.asarray(grey)) == pytest.approx(shown, abs=0.02)
    indexed, _, _ = search_words(extract(original))
    _, queries, _ = search_words(blob := extract(shot))
    assert len(np.intersect1d(np.frombuffer(indexed, np.uint32), np.frombuffer(queries, np.uint32))) >= 20
    upright = fit(unpack(blob), unpack(extract(original)))
    assert frame_box(upright.matrix) == pytest.approx(shown, abs=0.02)
    mirrored = fit(unpack(blob, mirrored=True), unpack(extract(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT))),
                   mirrored=True)
    assert frame_box(mirrored.matrix) == pytest.approx(mirror_shown, abs=0.02)


def test_a_photo_has_no_surround(photos):
    """A photo's edge has no one colour along most of it, and a blank frame shows no picture: their features
    are the frame's alone."""
    for name in ("astronaut", "chelsea", "coffee", "coins", "rocket"):
        grey = open_rgb(photos[name]).convert("L")
        grey.thumbnail((320, 320))
        assert surround_box(np.asarray(grey)) is None, name
    assert surround_box(np.full((240, 320), 255, np.uint8)) is None


def as_jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "coins"])
def test_a_mirrored_crop_fits_the_mirror_image_features(photos, name):
    """The mirror image's descriptors, computed at the original's corners mirrored, fit a mirrored copy about as
    well as features found on the mirror image's own pixels."""
    original = open_rgb(photos[name])
    mirror_image = original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    copy = unpack(extract(as_jpeg(crop_top_right(mirror_image), 85)))
    fitted = fit(unpack(extract(original), mirrored=True), copy, mirrored=True)
    found_on_its_own = fit(unpack(extract(mirror_image)), copy)
    assert fitted.inliers >= 0.8 * found_on_its_own.inliers >= MIN_INLIERS
    assert frame_box(fitted.matrix) == pytest.approx((0.38, 0.0, 1.0, 0.7), abs=0.02)


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee", "coins", "rocket"])
def test_a_thumbnail_turned_and_framed_fits_its_original(photos, name):
    """A thumbnail 64 pixels a side has too few pixels for ORB's patches: it is enlarged to find features, and
    fits its original at the scales the original shows them."""
    original = open_rgb(photos[name])
    thumb = original.copy()
    thumb.thumbnail((64, 64), Image.Resampling.LANCZOS)
    thumb = ImageOps.expand(thumb.rotate(90, expand=True), border=6, fill=(255, 255, 255))
    fitted = fit(unpack(extract(original)), unpack(extract(as_jpeg(thumb, 85))))
    assert fitted.inliers >= MIN_INLIERS
    assert fitted.angle == pytest.approx(90, abs=3)


@pytest.mark.parametrize(("name", "other"), [("astronaut", "chelsea"), ("coffee", "coffee"), ("coins", "astronaut")])
def test_each_descriptors_two_nearest_are_those_opencv_finds(photos, name, other):
    """`fit`'s matching: each descriptor's nearest and second nearest of the other image's, by Hamming distance,
    as OpenCV's batchDistance finds them, for a copy and for two different photos."""
    import cv2

    queries = unpack(extract(as_jpeg(crop_top_right(open_rgb(photos[name])), 70))).descriptors
    found = unpack(extract(open_rgb(photos[other])), mirrored=True).descriptors
    distances, nearest = two_nearest(np.ascontiguousarray(queries).view(np.uint64), found.view(np.uint64))
    expected, expected_nearest = cv2.batchDistance(queries, found, cv2.CV_32S, normType=cv2.NORM_HAMMING, K=2)
    assert len(queries) > 100 and (distances == expected).all()
    assert (nearest[:, 0] == expected_nearest[:, 0]).all()


def test_fits_and_moment_checks_on_worker_processes_group_as_in_one_process(tmp_path, photos):
    """With two jobs the local fits and grouping's moment checks run on worker processes, a batch at a time:
    the same groups, relations, boxes and matrices as with one job, where they run in the scanning process."""
    for name in ("astronaut", "chelsea", "coffee"):
        original = open_rgb(photos[name])
        original.save(tmp_path / f"{name}.png")
        crop_top_right(original).save(tmp_path / f"{name}-crop.jpg", quality=85)
        in_a_screenshot(original).save(tmp_path / f"{name}-screenshot.jpg", quality=85)
        straightened(original).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / f"{name}-turned.jpg")
        as_jpeg(original, 60).save(tmp_path / f"{name}-recompressed.jpg")
    reports = [lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=jobs))) for jobs in (1, 2)]
    alone, on_workers = ({key: value for key, value in report.items() if key not in ("seconds", "peak_mb", "work")}
                         for report in reports)  # work: a chunk's fits that its own matches make needless are done
    assert on_workers == alone
    assert len(alone["groups"]) == 3 and reports[0]["work"]["fitted"] > 0
