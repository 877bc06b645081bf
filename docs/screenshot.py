"""Take the manual's and the README's picture of the review page: `lookalike review` on the demo collection, in
Debian's chromium driven by Playwright, the astronaut's group open.

    .venv/bin/python docs/screenshot.py [docs/review.png]

The PNG is made small with Pillow (a palette of 256 colours), so that the repository stays light.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LOADED = "[...document.querySelectorAll('.viewport img')].every(i => i.complete && i.naturalWidth > 0)"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "review.png")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "demo"
        subprocess.run([sys.executable, "-m", "lookalike", "demo", "--folder", str(folder), "-q"], check=True)
        review = subprocess.Popen([sys.executable, "-m", "lookalike", "review", str(folder), "--no-browser", "-q",
                                   "--cache", str(Path(scratch) / "cache.sqlite")], stdout=subprocess.PIPE, text=True)
        try:
            url = next(line for line in review.stdout if line.startswith("review at ")).split()[2]
            shoot(url, target)
        finally:
            review.terminate()
            review.wait()
    with Image.open(target) as shot:
        shot.convert("RGB").quantize(256).save(target, optimize=True)
    print(f"{target}: {target.stat().st_size // 1024} KB")


def shoot(url: str, target: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720}, bypass_csp=True)
        page.goto(url)
        page.locator("#group-list button", has_text="astronaut").first.click()
        page.wait_for_function(LOADED)
        page.screenshot(path=str(target))
        browser.close()


if __name__ == "__main__":
    main()
