"""Resolving inside a real photo library (tests/library.py): companions are recognised and travel with their
image through every action and back, the best copy is the keeper, a RAW+JPEG pair is left."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

import lookalike
from lookalike import report
from lookalike.pipeline import ScanOptions, scan
from lookalike.stages.companions import PAIR, names_of

from .library import build_library
from .resolving import run_lookalike, snapshot

ACTIONS = ("trash", "review-folders", "move", "hardlink", "symlink")


@pytest.fixture
def library(tmp_path, photos):
    root = tmp_path / "library"
    keepers = build_library(root, photos)
    return root, keepers, report.to_json(scan([root], ScanOptions(cache=None)))


def test_the_conventions_are_recognised_whatever_the_case():
    listing = ["img_1234.XMP", "IMG_1234.JPG.xmp", "IMG_1234.aae", "IMG_1234.mov", "IMG_1234.JPG.json",
               "IMG_1234.JPG.supplemental-metad.json", "IMG_1234.CR2", "IMG_1234.JPG", "IMG_12345.xmp", "notes.json"]
    assert names_of("IMG_1234.JPG", listing) == {
        "img_1234.XMP": "XMP sidecar", "IMG_1234.JPG.xmp": "XMP sidecar", "IMG_1234.aae": "Apple edits",
        "IMG_1234.mov": "Live Photo motion", "IMG_1234.JPG.json": "Takeout metadata",
        "IMG_1234.JPG.supplemental-metad.json": "Takeout metadata", "IMG_1234.CR2": PAIR}
    assert "IMG_1234.mov" not in names_of("IMG_1234.PNG", listing)  # a Live Photo is a HEIC or a JPEG


def test_companions_are_neither_images_nor_errors_and_the_best_copy_is_kept(library):
    root, keepers, document = library
    assert document["errors"] == []
    assert {g["keep"] for g in document["groups"]} == set(keepers.values())
    reasons = {g["keep"]: g["reason"] for g in document["groups"]}
    assert "enlargements" in reasons[keepers["coins"]]
    assert "JPEG quality 92 against 60" in reasons[keepers["resaved"]]
    assert "GPS position" in reasons[keepers["placed"]]
    assert "XMP sidecar" in reasons[keepers["coffee"]]
    members = {m["path"]: m for g in document["groups"] for m in g["members"]}
    assert not any(path.lower().endswith((".xmp", ".aae", ".mov", ".json")) for path in members)
    assert {c["kind"] for c in members[keepers["astronaut"]]["companions"]} == {"Apple edits", "Live Photo motion"}
    shared = next(c for c in members[str(root / "backup/camera/IMG_0005.JPG")]["companions"] if c["kind"] != PAIR)
    assert shared["shared_with"] == [str(root / "backup/camera/IMG_0005.DNG")]


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_carries_companions_orphans_none_and_undo_restores_the_tree(action, library, tmp_path):
    root, keepers, document = library
    before = snapshot(root)
    plan = lookalike.plan(document, action, to=tmp_path / "moved" if action == "move" else None)
    assert str(root / "camera/IMG_0005.JPG") in {skip.path for skip in plan.skips}  # the keeper's pair
    outcome = lookalike.apply(plan)
    expected = ("RAW+JPEG", "not identical to its keeper") if "link" in action else ("RAW+JPEG",)
    assert not [skip for skip in outcome.skipped if not any(words in skip.reason for words in expected)]
    assert all(os.path.exists(path) for path in keepers.values())
    for group in document["groups"]:
        for member in group["members"]:
            for companion in member["companions"]:
                images = [member["path"], *companion["shared_with"]]
                beside_an_image = any(os.path.lexists(image) for image in images)  # a link is its image too
                assert os.path.exists(companion["path"]) == beside_an_image, companion["path"]
    for step in outcome.done:
        for fate in step.carried:
            assert fate.destination is None or os.path.exists(fate.destination)
    lookalike.undo(outcome.journal)
    assert snapshot(root) == before


def test_delete_takes_companions_with_their_image(library):
    root, _, document = library
    outcome = lookalike.apply(lookalike.plan(document, "delete"))
    assert outcome.done
    assert (root / "apple/IMG_0003.AAE").exists()  # the keeper's companions stay
    assert not (root / "backup/IMG_0003.HEIC").exists()
    assert not (root / "backup/camera/IMG_0005.xmp").exists()  # shared, and both its images went
    assert (root / "camera/IMG_0005.xmp").exists()


def test_a_format_rule_resolves_a_raw_jpeg_pair(library):
    root, _, document = library
    plan = lookalike.plan(document, "trash", keep="format:RAW")
    assert str(root / "camera/IMG_0005.JPG") in {step.file.path for step in plan.steps}
    shared = next(step for step in plan.steps if step.file.path == str(root / "camera/IMG_0005.JPG"))
    assert [fate.goes for fate in shared.companions] == [False]  # the xmp stays with the kept DNG


def test_plan_warns_of_what_a_copy_has_that_its_keeper_lacks(library):
    root, _, document = library
    plan = lookalike.plan(document, "trash")
    warnings = {step.file.path: step.warnings for step in plan.steps}
    assert "has a GPS position its keeper lacks" in warnings[str(root / "phone/carried.jpg")]


def test_carry_metadata_writes_a_sidecar_beside_the_keeper_and_undo_removes_it(library, tmp_path):
    root, keepers, document = library
    before = snapshot(root)
    report_file = tmp_path / "report.json"
    with open(report_file, "w") as stream:
        report.write_json(document, stream)
    shown = run_lookalike("plan", str(report_file), "--action", "trash", "--carry-metadata")
    assert "warning: it a GPS position its keeper lacks" in shown.stdout
    assert "XMP sidecar" in shown.stdout and "goes with it" in shown.stdout
    assert "stays: it goes with the last" in shown.stdout
    done = run_lookalike("apply", str(report_file), "--action", "trash", "--carry-metadata",
                         "--journal", str(tmp_path / "journal.jsonl"))
    assert done.returncode == 0, done.stderr
    sidecar = Path(keepers["carried"] + ".xmp").read_text(encoding="utf-8")
    assert 'exif:GPSLatitude="48,51.49164' in sidecar and 'exif:DateTimeOriginal="2021-06-01T12:00:00"' in sidecar
    with Image.open(keepers["carried"]) as image:
        assert image.getexif().get_ifd(0x8825) == {}  # the image itself is untouched
    assert run_lookalike("undo", str(tmp_path / "journal.jsonl")).returncode == 0
    assert snapshot(root) == before


def test_the_review_page_shows_the_keepers_reason_and_the_warnings(library, tmp_path):
    from lookalike.review import Review

    _, keepers, document = library
    review = Review(document, tmp_path / "cache.sqlite")
    shown = [review.group(index) for index in range(len(document["groups"]))]
    carried = next(group for group in shown if group["members"][0]["path"] == keepers["carried"])
    assert carried["reason"] == "least recompressed (JPEG quality 95 against 80)"
    assert "has a GPS position its keeper lacks" in carried["members"][1]["warnings"]
    apple = next(group for group in shown if group["members"][0]["path"] == keepers["astronaut"])
    assert apple["members"][0]["companions"] == ["Apple edits: IMG_0003.AAE", "Live Photo motion: IMG_0003.MOV"]
