"""`--method histogram` makes the original script's decisions: the script itself (benchmarks/peers) is run on the
same folder, and its flagged files and RMS values are compared with lookalike's groups and distances."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

import lookalike
from lookalike.pipeline import HISTOGRAM, ScanOptions
from lookalike.stages.histogram import close_pairs, exact_rms

from .conftest import open_rgb, save

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("LOOKALIKE_DEV_CORPUS", REPO.parent / "corpus" / "dev"))
THRESHOLD = 500


def load_original():
    spec = importlib.util.spec_from_file_location("original_script", REPO / "benchmarks/peers/original_script.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


original = load_original()


def original_rms(h1: list[int], h2: list[int]) -> float:
    """The original's RMS with the shorter histogram listed first: the order lookalike decides by."""
    return original.calc_rms(*sorted((h1, h2), key=len))


# --- the blocked products against the original's pure-Python RMS --------------------------------------


def random_histograms(rng: np.random.Generator) -> dict[int, np.ndarray]:
    """Histograms of 256, 512, 768 and 1024 bins, with exact copies and pairs at and around RMS 500."""
    histograms = {i: rng.integers(0, 1200, size=rng.choice([256, 512, 768, 768, 1024])) for i in range(60)}
    base = histograms[0] if len(histograms[0]) == 768 else rng.integers(0, 1200, size=768)
    histograms[100] = base + 500  # RMS exactly 500: not flagged (the original wants < 500)
    nudged = base + 500
    nudged[0] -= 1
    histograms[101] = nudged  # just under 500 from base
    histograms[102] = base.copy()  # RMS 0
    histograms[103] = base
    histograms[104] = base + 499
    histograms[105] = base[:256].copy()  # same first bins as base, fewer of them: RMS 0 across lengths
    return histograms


@pytest.mark.parametrize("block_entries", [1, 7, 100, 4_000_000])
def test_close_pairs_are_the_pairs_the_original_flags(block_entries):
    histograms = random_histograms(np.random.default_rng(1))
    pairs = close_pairs(histograms, THRESHOLD, block_entries)
    found = {(int(a), int(b)): float(rms) for a, b, rms in zip(pairs.first, pairs.second, pairs.rms, strict=True)}
    expected = {}
    for a, b in itertools.combinations(sorted(histograms), 2):
        rms = original_rms(histograms[a].tolist(), histograms[b].tolist())
        if rms < THRESHOLD:
            expected[(a, b)] = rms
    assert found == expected  # the same pairs, and the same RMS to the last bit
    assert (103, 100) not in found and (100, 103) not in found
    assert found[(101, 103)] < THRESHOLD and found[(102, 103)] == 0 and found[(103, 105)] == 0


def test_exact_rms_is_the_originals():
    rng = np.random.default_rng(2)
    keeper = rng.integers(0, 5000, size=768)
    others = rng.integers(0, 5000, size=(5, 768))
    assert exact_rms(keeper, others).tolist() == [original.calc_rms(keeper.tolist(), row.tolist()) for row in others]


# --- whole scans against the script, run on the same folder --------------------------------------------


def assert_same_decisions(folder: Path) -> None:
    run = original.main(str(folder))
    histograms = run["histograms"]
    listed = list(histograms)  # the order the original's threads happened to produce
    position = {name: index for index, name in enumerate(listed)}
    run_rms = {}
    for name_a, name_b, rms, _ in run["decisions"]:
        assert position[name_a] < position[name_b]
        run_rms[frozenset((name_a, name_b))] = rms
    decided_by_order, expected = set(), {}
    for a, b in itertools.combinations(listed, 2):
        rms = original_rms(histograms[a], histograms[b])
        if rms < THRESHOLD:
            expected[frozenset((a, b))] = rms
        if (rms < THRESHOLD) != (original.calc_rms(histograms[a], histograms[b]) < THRESHOLD):
            decided_by_order.add(frozenset((a, b)))  # images of different modes: see lookalike.stages.histogram
    assert set(run_rms) - decided_by_order == set(expected) - decided_by_order

    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=None, jobs=2, method=HISTOGRAM)))
    grouped = {Path(member["path"]).name for group in report["groups"] for member in group["members"]}
    assert grouped == {name for pair in expected for name in pair}
    assert {Path(error["path"]).name for error in report["errors"]} == set(os.listdir(folder)) - set(histograms)
    for group in report["groups"]:
        keeper = Path(group["keep"]).name
        distances = [member["distance"] for member in group["members"][1:]]
        for member in group["members"][1:]:
            assert member["distance"] == original_rms(histograms[keeper], histograms[Path(member["path"]).name])
        assert group["kind"] == ("exact" if not any(distances) else "near")
    group_of = {Path(m["path"]).name: number for number, group in enumerate(report["groups"])
                for m in group["members"]}
    assert all(len({group_of[name] for name in pair}) == 1 for pair, rms in run_rms.items() if rms == 0)


EDITS = {
    "copy": lambda image, original, target: shutil.copyfile(original, target.with_suffix(".jpg")),
    "recompressed": lambda image, original, target: save(image, target.with_suffix(".jpg"), quality=40),
    "resized": lambda image, original, target: save(image.resize((image.width // 2, image.height // 2)),
                                                   target.with_suffix(".jpg")),
    "mirrored": lambda image, original, target: save(ImageOps.mirror(image), target.with_suffix(".jpg")),
    "brighter": lambda image, original, target: save(ImageEnhance.Brightness(image).enhance(1.2),
                                                     target.with_suffix(".jpg")),
    "grey": lambda image, original, target: save(ImageOps.grayscale(image), target.with_suffix(".jpg")),
    "png": lambda image, original, target: save(image, target.with_suffix(".png")),
    "rgba": lambda image, original, target: save(image.convert("RGBA"), target.with_suffix(".png")),
}


def write_copies(original: Path, folder: Path, edits: list[str]) -> None:
    image = open_rgb(original)
    for edit in edits:
        EDITS[edit](image, original, folder / f"{original.stem}-{edit}")


def test_the_demo_photos_and_their_copies_get_the_originals_decisions(tmp_path, photos):
    for number, (name, path) in enumerate(sorted(photos.items())):
        shutil.copyfile(path, tmp_path / f"{name}.jpg")
        write_copies(tmp_path / f"{name}.jpg", tmp_path, [*list(EDITS)[number % 2::2], "copy", "grey"])
    (tmp_path / "noise.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    assert len(os.listdir(tmp_path)) >= 30
    assert_same_decisions(tmp_path)


def dev_photos(count: int) -> list[Path]:
    manifest = CORPUS / "manifest.tsv"
    if not manifest.exists():
        pytest.skip(f"no photo corpus at {CORPUS}: run ../shared/corpus/fetch-dev-photos.sh {CORPUS}")
    with open(manifest, newline="") as rows:
        paths = sorted(CORPUS / row["path"] for row in csv.DictReader(rows, delimiter="\t"))
    return paths[:: max(1, len(paths) // count)][:count]


@pytest.mark.slow
def test_200_real_photos_and_edited_copies_get_the_originals_decisions(tmp_path):
    photos = dev_photos(200)
    for number, path in enumerate(photos):
        target = tmp_path / f"{number:03d}-{path.name}"
        shutil.copyfile(path, target)
        if number % 10 == 0:
            with Image.open(target) as probe:
                convertible = probe.mode in ("RGB", "L", "RGBA", "P")
            if convertible:
                write_copies(target, tmp_path, ["copy", "recompressed", "resized", "mirrored", "grey"])
    assert_same_decisions(tmp_path)


def test_the_command_line_takes_the_method_and_the_threshold(tmp_path, photos):
    shutil.copyfile(photos["astronaut"], tmp_path / "astronaut.jpg")
    save(ImageOps.mirror(open_rgb(photos["astronaut"])), tmp_path / "astronaut-mirrored.jpg", quality=95)

    def scan(*options: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lookalike", "scan", str(tmp_path), "--no-cache", "-q",
                               "--json", "-", "--method", "histogram", *options], capture_output=True, text=True,
                              timeout=300)

    [group] = json.loads(scan().stdout)["groups"]
    [copy] = group["members"][1:]
    assert copy["relation"] == f"histogram RMS {copy['distance']:.1f}" and 0 < copy["distance"] < THRESHOLD
    assert json.loads(scan("--threshold", f"{copy['distance']}").stdout)["groups"] == []  # RMS < threshold only
    refused = scan("--threshold", "0")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_a_folder_without_duplicates_gives_no_groups(tmp_path, photos):
    for name in ("coins", "rocket"):
        shutil.copyfile(photos[name], tmp_path / f"{name}.jpg")
    result = lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1, method=HISTOGRAM, threshold=1))
    assert result.groups == [] and len(result.files) == 2
