"""The review page in a real browser (Debian's chromium driven by Playwright): open a scan, zoom, mark copies
by keyboard and mouse, plan, apply, check the files on disk, undo, check again. Saves artifacts/review.png."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import lookalike
from lookalike.pipeline import ScanOptions
from lookalike.stages.exact import hash_file

from .conftest import open_rgb, save
from .reviewing import reviewing, serving
from .test_local import crop_top_right, straightened

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent.parent / "artifacts"

INSTALLABLE = shutil.which("apt-get") is not None  # Debian, Ubuntu: scripts/test installs it (elsewhere: skipped)

sync_api = pytest.importorskip("playwright.sync_api")
if not os.path.exists(CHROMIUM) and not (os.environ.get("CI") and INSTALLABLE):
    pytest.skip("chromium is not installed (./scripts/test installs it with apt-get)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_compare_zoom_mark_apply_and_undo_in_the_browser(browser, tmp_path, photos):
    with reviewing(tmp_path, photos) as (server, report, _):
        page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)  # lets wait_for_function poll
        expect = sync_api.expect
        page.goto(server.url)
        expect(page.locator("#group-list li")).to_have_count(2)
        expect(page).to_have_url(server.url.split("?")[0])  # the token left the address bar
        group = next(g for g in report["groups"] if g["kind"] == "near")
        paths = [m["path"] for m in group["members"]]
        coins = page.locator("#group-list button", has_text="coins")
        coins.click()
        expect(coins).to_have_attribute("aria-current", "true")
        panels = page.locator(".member")
        expect(panels).to_have_count(3)
        page.wait_for_function("[...document.querySelectorAll('.viewport img')].every(i => i.complete && "
                               "i.naturalWidth > 0)")

        page.keyboard.press("+")
        page.get_by_role("button", name="Zoom in").click()
        expect(page.locator("#zoom-level")).to_have_text("156%")
        transforms = page.eval_on_selector_all(".viewport .top", "images => images.map(i => i.style.transform)")
        assert len(set(transforms)) == 1 and "scale(1.5625)" in transforms[0]  # every copy zoomed alike

        page.keyboard.press("ArrowRight")
        page.keyboard.press("r")  # copy 2 (the byte copy in backup/) by keyboard
        panels.nth(2).get_by_label("Keep").check()  # and the smaller copy kept, by mouse
        expect(panels.nth(1)).to_have_class(re.compile(r"\bmark-remove\b"))
        expect(panels.nth(2)).to_have_class(re.compile(r"\bmark-keep\b"))
        page.select_option("#mode", "diff")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review.png"))

        page.select_option("#action", "trash")
        page.get_by_role("button", name="Plan marked groups (P)").click()
        dialog = page.locator("dialog")
        expect(dialog).to_contain_text("1 files to send to the trash")
        expect(dialog).to_contain_text(f"{paths[1]} → keeping {paths[2]}")
        dialog.get_by_role("button", name="Apply (1 files)").click()
        expect(dialog).to_contain_text("1 files done")
        assert not os.path.exists(paths[1]) and os.path.exists(paths[0]) and os.path.exists(paths[2])
        assert hash_file(str(tmp_path / "data" / "Trash" / "files" / "coins.jpg")).hex() == group["members"][1][
            "content_hash"]
        expect(page.locator("#group-list li.state-resolved")).to_have_count(1)

        dialog.get_by_role("button", name="Undo").click()
        expect(dialog).to_contain_text("1 files put back")
        assert hash_file(paths[1]).hex() == group["members"][1]["content_hash"]
        assert not any((tmp_path / "data" / "Trash" / "files").iterdir())
        expect(page.locator("#group-list li.state-resolved")).to_have_count(0)
        page.close()


def test_scripts_test_installs_chromium_when_missing():
    assert shutil.which("chromium") or not (os.environ.get("CI") and INSTALLABLE)


def contained(viewport: dict, width: int, height: int) -> tuple[float, float, float, float]:
    """Where object-fit: contain shows a picture of `width` × `height` in a viewport's box (x, y, width, height)."""
    scale = min(viewport["width"] / width, viewport["height"] / height)
    return (viewport["x"] + (viewport["width"] - width * scale) / 2, viewport["y"] + (viewport["height"] - height *
            scale) / 2, width * scale, height * scale)


def brightness(page, area: tuple[float, float, float, float], margin: float = 4) -> float:
    """Mean grey level of a screenshot of `area`, less a margin where an edge's resampling shows."""
    x, y, width, height = area
    shot = page.screenshot(clip={"x": x + margin, "y": y + margin, "width": width - 2 * margin,
                                 "height": height - 2 * margin})
    return float(np.asarray(Image.open(io.BytesIO(shot)).convert("L"), np.float64).mean())


def test_the_keeper_outlines_where_a_copy_lies_and_the_difference_is_aligned(browser, tmp_path, photos):
    original = open_rgb(photos["chelsea"])
    save(original, tmp_path / "photos" / "chelsea.png")
    save(crop_top_right(original), tmp_path / "photos" / "chelsea-crop.jpg", quality=90)
    save(straightened(original), tmp_path / "photos" / "chelsea-straightened.jpg", quality=90)
    cache = tmp_path / "cache.sqlite"
    report = lookalike.to_json(lookalike.scan([tmp_path / "photos"], ScanOptions(cache=cache, jobs=1)))
    [group] = report["groups"]
    keeper, *copies = group["members"]
    assert keeper["path"].endswith("chelsea.png") and all(copy["matrix"] for copy in copies)
    with serving(report, cache, tmp_path) as server:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
        page.goto(server.url)
        page.wait_for_function("document.querySelectorAll('.viewport img').length === 5 && [...document."
                               "querySelectorAll('.viewport img')].every(i => i.complete && i.naturalWidth > 0)")
        viewports = page.locator(".viewport")
        outline = page.locator(".viewport .outline .line")
        for number, copy in enumerate(copies, start=1):
            page.keyboard.press("ArrowRight")  # selects the copy, and may scroll its panel into view
            shown = contained(viewports.nth(0).bounding_box(), keeper["width"], keeper["height"])
            left, top, right, bottom = copy["box"]
            expected = (shown[0] + left * shown[2], shown[1] + top * shown[3], (right - left) * shown[2],
                        (bottom - top) * shown[3])
            drawn = outline.bounding_box()  # with its line, 2 px wide: 1 px outside the box on each side
            drawn = (drawn["x"] + 1, drawn["y"] + 1, drawn["width"] - 2, drawn["height"] - 2)
            assert drawn == pytest.approx(expected, abs=1.5), number
        page.keyboard.press("+")  # zoomed about the centre: the outline goes with the keeper's picture
        centre = (shown[0] + shown[2] / 2, shown[1] + shown[3] / 2)
        drawn = outline.bounding_box()
        assert drawn["x"] + 1 == pytest.approx(centre[0] + (expected[0] - centre[0]) * 1.25, abs=1.5)
        assert drawn["width"] - 2 == pytest.approx(expected[2] * 1.25, abs=1.5)
        page.keyboard.press("0")

        page.select_option("#mode", "diff")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review-aligned.png"))
        pictures = [contained(viewports.nth(n).bounding_box(), copy["width"], copy["height"])
                    for n, copy in enumerate(copies, start=1)]
        aligned = [brightness(page, picture) for picture in pictures]
        page.eval_on_selector_all(".viewport .base", "bases => bases.forEach(b => { b.classList.remove('aligned'); "
                                  "b.style.transform = ''; b.style.clipPath = ''; })")  # the difference as it was
        unaligned = [brightness(page, picture) for picture in pictures]
        for dark, bright in zip(aligned, unaligned, strict=True):
            assert dark < 10 and bright > 3 * dark, (aligned, unaligned)  # measured: 2-3 against 31-38
        page.keyboard.press("+")  # zoomed, the keeper realigned: still dark, where the copy's picture fills the view
        for picture in pictures:
            x, y, width, height = picture
            assert brightness(page, (x + width / 4, y + height / 4, width / 2, height / 2)) < 10
        page.close()
