"""Helpers for the tests of `lookalike review`: a small real collection with its scan, and raw HTTP requests."""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.review import Previews, Review, ReviewServer

from .conftest import open_rgb, save


def review_collection(root: Path, photos: dict[str, Path], cache: Path) -> dict:
    """Coins with a byte copy and a smaller copy (a near group), rocket with a byte copy (an exact group)."""
    coins = open_rgb(photos["coins"])
    save(coins, root / "originals" / "coins.jpg", quality=95)
    save(coins.resize((coins.width // 2, coins.height // 2)), root / "edited" / "coins-small.jpg", quality=85)
    save(open_rgb(photos["rocket"]), root / "originals" / "rocket.jpg", quality=95)
    (root / "backup").mkdir()
    for name in ("coins.jpg", "rocket.jpg"):
        shutil.copyfile(root / "originals" / name, root / "backup" / name)
    report = lookalike.to_json(lookalike.scan([root], ScanOptions(cache=cache, jobs=1)))
    assert sorted(g["kind"] for g in report["groups"]) == ["exact", "near"]
    return report


@contextmanager
def reviewing(folder: Path, photos: dict[str, Path]) -> Iterator[tuple[ReviewServer, dict, Path]]:
    """A running review of a fresh collection under `folder`: the server, the report, the cache file."""
    cache = folder / "cache.sqlite"
    report = review_collection(folder / "photos", photos, cache)
    with serving(report, cache, folder) as server:
        yield server, report, cache


@contextmanager
def serving(report: dict, cache: Path, folder: Path) -> Iterator[ReviewServer]:
    """A running review of `report`, its previews made under `folder`."""
    server = ReviewServer(Review(report, cache), previews=Previews(folder / "previews"))
    with server.running():
        yield server


def request(url: str, path: str, method: str = "GET", headers: dict[str, str] | None = None,
            body: bytes | None = None) -> tuple[int, bytes]:
    """Send `path` exactly as given (no normalising of ../ or %2e), as a hostile client would."""
    host = url.split("//", 1)[1].split("/", 1)[0]
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
