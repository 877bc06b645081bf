"""What the search and the local stage leave in the cache: a search interrupted keeps the blocks it finished, and the
next scan searches only the rest; a second scan fits no pair of local features again. Either way the report is
an uninterrupted first scan's."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lookalike import pipeline, to_json
from lookalike.engines.engine import LocalEngine
from lookalike.pipeline import ScanInterrupted, ScanOptions, Stage, scan
from lookalike.stages import geometry
from lookalike.stages.search import hamming_join

from .conftest import open_rgb
from .test_local import crop_top_right, in_a_screenshot, straightened
from .test_resume import Recorder, build_collection

JOINS_PER_BLOCK = 3  # frames against windows, frames against content, caption bands against caption bands


class Joins:
    """The local engine, counting its joins; with `stop_after`, the join after that many is interrupted (as by
    Ctrl-C) before it starts."""

    def __init__(self, stop_after: int | None = None) -> None:
        local = LocalEngine()
        self.decode_all, self.signatures_of, self.verify_all = local.decode_all, local.signatures_of, local.verify_all
        self.calls, self.stop_after = 0, stop_after

    def join(self, queries: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray:
        if self.calls == self.stop_after:
            raise KeyboardInterrupt
        self.calls += 1
        return hamming_join(queries, index, radius)


def stable(result: pipeline.ScanResult) -> dict:
    return {key: value for key, value in to_json(result).items() if key not in ("seconds", "peak_mb", "work")}


def test_an_interrupted_search_keeps_its_finished_blocks_and_the_next_scan_searches_only_the_rest(
        tmp_path, photos, monkeypatch):
    root, block, finished = tmp_path / "photos", 8, 3
    build_collection(root, photos, 40)
    monkeypatch.setattr(pipeline, "SEARCH_BLOCK", block)
    monkeypatch.setattr(pipeline, "SEARCH_BLOCKS", 100)  # blocks of 8, however many
    options = ScanOptions(cache=tmp_path / "cache.sqlite", jobs=2, similar=True)  # similar: more candidates
    reference = scan([root], replace(options, cache=tmp_path / "reference.sqlite"))
    images = len(reference.images)
    assert images > 5 * block and len(reference.groups) > 3
    with pytest.raises(ScanInterrupted) as interrupted:  # in the fourth block, once its first join is done
        scan([root], replace(options, engine=Joins(stop_after=finished * JOINS_PER_BLOCK + 1)))
    assert interrupted.value.stage is Stage.SEARCH

    recorder, joins = Recorder(), Joins()
    resumed = scan([root], replace(options, engine=joins), recorder)
    assert recorder.totals[Stage.SEARCH] == images
    assert recorder.answers[Stage.SEARCH] == finished * block  # the blocks finished are not searched again
    assert recorder.done[Stage.SEARCH] == images - finished * block
    assert joins.calls == JOINS_PER_BLOCK * math.ceil((images - finished * block) / block)
    assert stable(resumed) == stable(reference)

    again = Joins()
    assert stable(scan([root], replace(options, engine=again))) == stable(reference)
    assert again.calls == 0  # all of it searched together now


def test_a_second_scan_fits_no_pair_again_and_reports_what_the_first_did(tmp_path, photos, monkeypatch):
    for name in ("chelsea", "astronaut"):
        original = open_rgb(photos[name])
        original.save(tmp_path / f"{name}.png")
        for edit in (crop_top_right, in_a_screenshot, straightened):
            edit(original).save(tmp_path / f"{name} {edit.__name__}.jpg", quality=85)
    open_rgb(photos["coffee"]).save(tmp_path / "coffee.jpg")
    fits = []
    fit = geometry.fit
    monkeypatch.setattr(geometry, "fit", lambda *arguments: fits.append(arguments) or fit(*arguments))
    options = ScanOptions(cache=tmp_path / "cache.sqlite", jobs=1)
    first = scan([tmp_path], options)
    assert first.fitted == len(fits) > 0
    assert any("straightened" in member.relation for group in first.groups for member in group.members)
    fits.clear()
    second = scan([tmp_path], options)
    assert fits == [] and second.fitted == 0
    assert stable(second) == stable(first)


def test_a_second_scan_checks_no_moment_again(tmp_path, photos, monkeypatch):
    """Grouping's moment checks (is the copy the same moment as its keeper?) are kept in the cache: a re-scan of
    a folder of copies groups them as before without aligning one pair again."""
    for name in ("chelsea", "astronaut"):
        original = open_rgb(photos[name])
        original.save(tmp_path / f"{name}.png")
        for edit in (crop_top_right, in_a_screenshot, straightened):
            edit(original).save(tmp_path / f"{name} {edit.__name__}.jpg", quality=85)
        original.resize((original.width // 2, original.height // 2)).save(tmp_path / f"{name} half.jpg")
    checks = []
    check = geometry.moment_check
    monkeypatch.setattr(geometry, "moment_check", lambda *arguments: checks.append(arguments) or check(*arguments))
    options = ScanOptions(cache=tmp_path / "cache.sqlite", jobs=1)
    first = scan([tmp_path], options)
    assert checks and len(first.groups) == 2
    checks.clear()
    second = scan([tmp_path], options)
    assert checks == []
    assert stable(second) == stable(first)


@pytest.mark.parametrize("added", [0.25, 0.75])  # fewer new images than others, and more: cut on either side
def test_a_search_of_added_images_interrupted_goes_on_and_finds_what_a_first_scan_does(
        tmp_path, photos, monkeypatch, added):
    root, aside, block, finished = tmp_path / "photos", tmp_path / "aside", 8, 3  # blocks: the third in the
    # second part when a quarter is added (2 blocks of the new against all, then of the new against the others)
    build_collection(root, photos, 40)
    monkeypatch.setattr(pipeline, "SEARCH_BLOCK", block)
    monkeypatch.setattr(pipeline, "SEARCH_BLOCKS", 100)
    options = ScanOptions(cache=tmp_path / "cache.sqlite", jobs=2, similar=True)
    reference = scan([root], replace(options, cache=tmp_path / "reference.sqlite"))
    later = sorted(root.iterdir())[-round(added * len(list(root.iterdir()))):]
    aside.mkdir()
    for path in later:
        path.rename(aside / path.name)
    scan([root], options)
    for path in later:
        (aside / path.name).rename(root / path.name)
    with pytest.raises(ScanInterrupted):
        scan([root], replace(options, engine=Joins(stop_after=finished * JOINS_PER_BLOCK + 1)))
    recorder, joins = Recorder(), Joins()
    resumed = scan([root], replace(options, engine=joins), recorder)
    answered = recorder.answers[Stage.SEARCH]
    assert answered >= finished and recorder.done[Stage.SEARCH] == recorder.totals[Stage.SEARCH] - answered > 0
    assert joins.calls > 0
    assert stable(resumed) == stable(reference)
