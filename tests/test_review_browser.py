"""The review page in a real browser (Debian's chromium driven by Playwright): open a scan, zoom, mark copies
by keyboard and mouse, plan, apply, check the files on disk, undo, check again. Saves artifacts/review.png."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from lookalike.exact import hash_file

from .reviewing import reviewing

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
        transforms = page.eval_on_selector_all(".viewport img", "images => images.map(i => i.style.transform)")
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
