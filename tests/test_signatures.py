"""Perceptual hashes of all eight orientations come from one DCT, and match the hashes of turned pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lookalike.stages.decode import decode_file
from lookalike.stages.images import thumb_from_bytes, thumbs_of
from lookalike.stages.signatures import (
    INVERSE,
    ORIENTATIONS,
    grey,
    orient,
    perceptual_hashes,
    resample,
    resample_crossed,
)

from .conftest import open_rgb, save


@pytest.fixture(scope="module")
def thumbs(photos) -> np.ndarray:
    return thumbs_of([decode_file(str(path)) for path in photos.values()])


@pytest.mark.parametrize("k", range(8))
def test_the_kth_hash_is_the_hash_of_the_kth_orientation(thumbs, k):
    turned = np.stack([orient(thumb, k) for thumb in thumbs])
    assert (perceptual_hashes(turned)[:, 0] == perceptual_hashes(thumbs)[:, k]).all()


@pytest.mark.parametrize("k", range(8))
def test_inverse_undoes_each_orientation(thumbs, k):
    assert (orient(orient(thumbs[0], k), INVERSE[k]) == thumbs[0]).all()


@pytest.mark.parametrize(("pillow_method", "name"), [
    (Image.Transpose.ROTATE_270, "rotated 90° clockwise"),
    (Image.Transpose.ROTATE_90, "rotated 90° counter-clockwise"),
    (Image.Transpose.ROTATE_180, "rotated 180°"),
    (Image.Transpose.FLIP_LEFT_RIGHT, "mirrored"),
])
def test_orientation_names_say_what_was_done_to_the_pixels(tmp_path, photos, pillow_method, name):
    image = open_rgb(photos["rocket"])
    original = decode_file(str(save(image, tmp_path / "a.png")))
    turned = decode_file(str(save(image.transpose(pillow_method), tmp_path / "b.png")))
    k = next(k for k, orientation in enumerate(ORIENTATIONS) if orientation.name == name)
    difference = np.abs(orient(thumb_from_bytes(original.thumb), k).astype(int) - thumb_from_bytes(turned.thumb))
    assert difference.mean() < 0.5 and difference.max() <= 8  # resampling before or after turning


def test_different_photos_are_far_apart(thumbs):
    hashes = perceptual_hashes(thumbs)[:, 0]
    distances = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    assert distances[~np.eye(len(hashes), dtype=bool)].min() > 16


def test_a_resampled_whole_frame_on_its_own_grid_is_the_image(thumbs):
    tones = grey(thumbs[:1])[0]
    assert (resample(tones, (0.0, 0.0, 1.0, 1.0), tones.shape) == tones).all()


def test_crossed_spans_resample_as_the_boxes_they_make(thumbs):
    tones = grey(thumbs[:1])[0]
    rows = np.array([(0.0, 1.0), (0.1, 0.7), (0.3, 0.95)])
    columns = np.array([(0.05, 0.9), (0.2, 0.6)])
    crossed = resample_crossed(tones, rows, columns, (24, 20))
    for (top, bottom), row in zip(rows, crossed, strict=True):
        for (left, right), window in zip(columns, row, strict=True):
            assert np.allclose(window, resample(tones, (left, top, right, bottom), (24, 20)), atol=1e-3)
