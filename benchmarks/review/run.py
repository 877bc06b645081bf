"""How fast the review page opens on a 10,000-group scan, in Debian's chromium driven by Playwright.

    .venv/bin/python benchmarks/review/run.py [--groups 10000] [--folder DIR]

Builds the collection once (GROUPS small distinct JPEGs, each with a byte copy in another folder) and its
report, serves it with `lookalike.review`, and prints: the time to build the review (ordering the groups), the
groups API with and without a filter, and in the browser the time from navigation to the first page of
groups listed, to the first group's copies shown, and to the visible thumbnails loaded (the page's own clock,
the browser already started), with a cold and a warm preview cache. Not a test: numbers vary with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from lookalike.review import Previews, Review, ReviewServer
from lookalike.stages.exact import hash_file

CHROMIUM = "/usr/bin/chromium"
VISIBLE = ("[...document.querySelectorAll('#group-list img, .viewport img')]"  # the images on screen
           ".filter(i => i.getBoundingClientRect().top < innerHeight)")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build_collection(root: Path, groups: int) -> dict:
    """`groups` exact groups of real JPEGs (random 48×48 pictures), and the report a scan would write."""
    chance = np.random.default_rng(0)
    members = []
    for number in range(groups):
        original = root / "photos" / f"{number // 500}" / f"img{number}.jpg"
        copy = root / "backup" / f"{number // 500}" / f"img{number}.jpg"
        for folder in (original.parent, copy.parent):
            folder.mkdir(parents=True, exist_ok=True)
        pixels = chance.integers(0, 256, (48, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).resize((480, 360)).save(original, quality=90)
        shutil.copyfile(original, copy)
        members.append([_member(original, "keeper"), _member(copy, "bytes")])
    return {"version": 1, "roots": [str(root)], "files": 2 * groups, "errors": [], "seconds": {},
            "groups": [{"kind": "exact", "keep": pair[0]["path"], "reclaimable": pair[1]["size"], "members": pair}
                       for pair in members]}


def _member(path: Path, match: str) -> dict:
    found = os.stat(path)
    return {"path": str(path), "match": match, "relation": "keeper" if match == "keeper" else "identical bytes",
            "distance": 0, "size": found.st_size, "width": 480, "height": 360, "format": "JPEG",
            "mtime_ns": found.st_mtime_ns, "content_hash": hash_file(str(path)).hex(), "taken": None,
            "camera": None}


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure_api(server: ReviewServer) -> dict[str, float]:
    def fetch(query: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/groups?{query}&token={server.token}") as r:
            json.load(r)
    return {"groups API, first page": min(timed(lambda: fetch("offset=0")) for _ in range(5)),
            "groups API, folder filter": min(timed(lambda: fetch("folder=backup/19")) for _ in range(5))}


def measure_browser(server: ReviewServer, label: str) -> dict[str, float]:
    """Milliseconds from the start of navigation (the page's own clock), with the browser already running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)  # lets wait_for_function poll
        page.goto("about:blank")
        page.goto(server.url)
        page.wait_for_function("performance.getEntriesByName('group-shown').length")
        page.wait_for_function(f"{VISIBLE}.every(i => i.complete && performance.getEntriesByName(i.src).length)")
        listed, shown, thumbs, full = page.evaluate(f"""() => {{
            const mark = (name) => performance.getEntriesByName(name)[0].startTime;
            const loaded = (images) => Math.max(...images.map((i) =>
                performance.getEntriesByName(i.src)[0].responseEnd));
            return [mark('groups-listed'), mark('group-shown'), loaded({VISIBLE}.filter(i => i.closest('li'))),
                    loaded([...document.querySelectorAll('.viewport img')])];
        }}""")
        browser.close()
    return {f"first page listed ({label})": listed / 1000, f"first group shown ({label})": shown / 1000,
            f"visible thumbnails loaded ({label})": thumbs / 1000,
            f"first group's previews loaded ({label})": full / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, help="Keep the collection here (default: a temporary folder).")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lookalike-review-bench-") as temporary:
        root = arguments.folder or Path(temporary)
        report_file = root / f"report-{arguments.groups}.json"
        if report_file.exists():
            report = json.loads(report_file.read_text())
        else:
            print(f"building {arguments.groups:,} groups in {root} ...", flush=True)
            report = build_collection(root, arguments.groups)
            report_file.write_text(json.dumps(report))
        results: dict[str, float] = {}
        start = time.perf_counter()
        review = Review(report)
        results["review built (groups ordered)"] = time.perf_counter() - start
        previews = root / f"previews-{os.getpid()}"
        server = ReviewServer(review, previews=Previews(previews))
        with server.running():
            results |= measure_api(server)
            results |= measure_browser(server, "cold previews")
            results |= measure_browser(server, "warm previews")
        shutil.rmtree(previews)
    print(f"review page, {arguments.groups:,} groups, {os.cpu_count()} cores")
    for name, seconds in results.items():
        print(f"  {name:<46} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
