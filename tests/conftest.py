"""Shared fixtures: real photographs (the public-domain demo images shipped in the package) and helpers that
write edited copies of them with Pillow, so every test works on real decoded images."""

from __future__ import annotations

import json
import os
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from lookalike.demo import demo_photos


@pytest.fixture(autouse=True)
def own_trash_and_journals(tmp_path, monkeypatch):
    """Every test gets its own trash and journal folders: none touches the user's."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    if sys.platform not in ("darwin", "win32"):  # send2trash read XDG_DATA_HOME once, when it was imported
        from send2trash import plat_other

        monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(tmp_path / "data"))
        monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(tmp_path / "data" / "Trash"))
        monkeypatch.setattr(plat_other, "HOMETRASH", str(tmp_path / "data" / "Trash"))


REPORT_SCHEMA = jsonschema.Draft202012Validator(json.loads((files("lookalike") / "report.schema.json").read_text()))


@pytest.fixture(autouse=True)
def reports_follow_the_schema(tmp_path):
    """After each test, every JSON report under its tmp_path (a JSON object with "version" and "groups", written by
    lookalike or by the test) must validate against the schema the package ships."""
    yield
    for path in tmp_path.rglob("*.json"):
        if path.is_file() and (document := _report_in(path)) is not None:
            failures = sorted(REPORT_SCHEMA.iter_errors(document), key=lambda error: list(error.absolute_path))
            assert not failures, f"{path} does not follow report.schema.json: " + "; ".join(
                f"{'/'.join(map(str, failure.absolute_path))}: {failure.message}" for failure in failures[:5])


def _report_in(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (ValueError, OSError):
        return None  # not JSON, or not readable: not a report
    return document if isinstance(document, dict) and {"version", "groups"} <= document.keys() else None


@pytest.fixture(scope="session")
def photos() -> dict[str, Path]:
    """The demo photos by name: astronaut, chelsea, coffee, coins, hubble_deep_field, rocket."""
    return {path.stem: path for path in demo_photos()}


def open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def save(image: Image.Image, path: Path, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path
