"""Perceptual hashes of all eight orientations come from one DCT, and match the hashes of turned pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lookalike.decode import decode_file
from lookalike.signatures import INVERSE, ORIENTATIONS, orient, perceptual_hashes

from .conftest import open_rgb, save


@pytest.fixture(scope="module")
def thumbs(photos) -> np.ndarray:
    return np.stack([decode_file(str(path)).thumb for path in photos.values()])


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
    difference = np.abs(orient(original.thumb, k).astype(int) - turned.thumb.astype(int))
    assert difference.mean() < 0.5 and difference.max() <= 8  # resampling before or after turning


def test_different_photos_are_far_apart(thumbs):
    hashes = perceptual_hashes(thumbs)[:, 0]
    distances = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    assert distances[~np.eye(len(hashes), dtype=bool)].min() > 16
