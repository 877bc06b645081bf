""""Not duplicates", end to end: `lookalike ignore` writes the decision into the cache database and the next scan
of real images does not group those files again; `--forget` brings them back."""

from __future__ import annotations

import json
import os
import shutil

import lookalike
from lookalike.pipeline import ScanOptions

from .conftest import open_rgb, save
from .resolving import run_lookalike


def groups_found(folder, cache) -> list[set[str]]:
    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=cache, jobs=1)))
    return [{os.path.basename(m["path"]) for m in group["members"]} for group in report["groups"]]


def test_ignored_files_are_not_grouped_again_until_forgotten(tmp_path, photos):
    folder, cache = tmp_path / "photos", tmp_path / "cache.sqlite"
    coins = open_rgb(photos["coins"])
    save(coins, folder / "coins.jpg", quality=95)
    save(coins.resize((coins.width // 2, coins.height // 2)), folder / "coins-small.jpg", quality=80)
    shutil.copyfile(photos["rocket"], folder / "rocket.jpg")
    shutil.copyfile(photos["rocket"], folder / "rocket-copy.jpg")
    report = lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=cache, jobs=1)))
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report))
    number = 1 + next(i for i, g in enumerate(report["groups"]) if g["keep"].endswith("coins.jpg"))

    done = run_lookalike("ignore", "--group", str(number), str(report_file), "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "remembered 1 pairs as not duplicates"
    assert groups_found(folder, cache) == [{"rocket.jpg", "rocket-copy.jpg"}]

    listed = run_lookalike("ignore", "--list", "--cache", str(cache))
    assert listed.stdout.splitlines()[-1] == "1 pairs of contents are not duplicates"

    lookalike.ignore(lookalike.pairs_of_files([folder / "coins-small.jpg", folder / "coins.jpg"]), cache, forget=True)
    assert lookalike.ignored(cache) == []
    assert len(groups_found(folder, cache)) == 2

    lookalike.ignore(lookalike.pairs_of_files([folder / "coins.jpg", folder / "coins-small.jpg"]), cache)
    assert groups_found(folder, cache) == [{"rocket.jpg", "rocket-copy.jpg"}]


def test_identical_bytes_cannot_be_called_different(tmp_path, photos):
    shutil.copyfile(photos["rocket"], tmp_path / "a.jpg")
    shutil.copyfile(photos["rocket"], tmp_path / "b.jpg")
    done = run_lookalike("ignore", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"), "--cache",
                         str(tmp_path / "cache.sqlite"))
    assert done.returncode == 2 and "same bytes" in done.stderr
