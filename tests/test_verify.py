"""Verification confirms edited copies on the pixels and refuses different photos."""

from __future__ import annotations

import itertools

import pytest
from PIL import ImageEnhance, ImageFilter, ImageOps

from lookalike.stages import verify as verification
from lookalike.stages.decode import decode_file
from lookalike.stages.images import table_of
from lookalike.stages.search import Candidate, find_candidates
from lookalike.stages.signatures import WHOLE
from lookalike.stages.verify import NORMAL, SIMILAR, Evidence, verify, verify_all

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


def test_verifying_on_worker_processes_confirms_the_same_matches(tmp_path, photos, monkeypatch):
    paths = []
    for name, path in photos.items():  # sets of copies, whose later pairs are skipped, and different photos
        image = open_rgb(path)
        paths += [path, *(save(EDITS[edit](image), tmp_path / f"{name} {edit}.jpg", quality=40)
                          for edit in ("brighter", "grayscale", "resized to 16 %"))]
    images = table_of([decode_file(str(path)) for path in paths])
    candidates = find_candidates(images, SIMILAR.radius)
    apart = {(0, 1)}  # a person said so
    here: dict = {}
    alone = verify_all(images, candidates, apart, similar=True, evidence=here)
    monkeypatch.setattr(verification, "PARALLEL_FROM", 0)  # a few small chunks and tasks, even for these
    monkeypatch.setattr(verification, "VERIFY_CHUNK", 8)
    monkeypatch.setattr(verification, "VERIFY_TASK", 3)
    sent, send = [], verification._Verifiers.evidence_of
    monkeypatch.setattr(verification._Verifiers, "evidence_of",
                        lambda workers, images, chunk, strictness: sent.append(len(chunk))
                        or send(workers, images, chunk, strictness))
    there: dict = {}
    on_workers = verify_all(images, candidates, apart, similar=True, evidence=there, jobs=2)
    assert sum(sent) > 0  # the workers verified; the rest were verified here when a guess was wrong
    assert on_workers == alone
    assert {match.duplicate for match in alone} == {True, False}
    assert all(there[candidate] == evidence for candidate, evidence in here.items())  # and some more
