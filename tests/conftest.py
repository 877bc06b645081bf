"""Shared fixtures: real photographs (the public-domain demo images shipped in the package) and helpers that
write edited copies of them with Pillow, so every test works on real decoded images."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
