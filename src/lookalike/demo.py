"""The demo collection: a few public-domain photos shipped with the package, and edited copies made on the fly.

Guarantees: `make_demo_collection(folder)` writes the same files every time and returns, for each file it
wrote, the name of the photo it derives from (its ground truth), so the demo doubles as a smoke test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

Edit = Callable[[Image.Image, Path], None]


def _save_jpeg(quality: int) -> Edit:
    return lambda image, target: image.save(target.with_suffix(".jpg"), quality=quality)


def _resized(fraction: float) -> Edit:
    def edit(image: Image.Image, target: Path) -> None:
        size = (round(image.width * fraction), round(image.height * fraction))
        image.resize(size, Image.Resampling.LANCZOS).save(target.with_suffix(".jpg"), quality=80)

    return edit


def _transposed(method: Image.Transpose) -> Edit:
    return lambda image, target: image.transpose(method).save(target.with_suffix(".jpg"), quality=80)


# Copies are saved at a lower quality than the originals, as sharing and exporting usually do, so the
# originals (larger files) are the keepers.
EDITS: dict[str, Edit] = {
    "recompressed": _save_jpeg(30),
    "resized-40": _resized(0.4),
    "rotated-90": _transposed(Image.Transpose.ROTATE_270),  # Pillow names turns counter-clockwise
    "mirrored": _transposed(Image.Transpose.FLIP_LEFT_RIGHT),
    "as-webp": lambda image, target: image.save(target.with_suffix(".webp"), quality=80),
    "brighter": lambda image, target: ImageEnhance.Brightness(image).enhance(1.3).save(
        target.with_suffix(".jpg"), quality=80),
    "grayscale": lambda image, target: ImageOps.grayscale(image).save(target.with_suffix(".jpg"), quality=80),
}

EDITED_PHOTOS = {"astronaut": list(EDITS), "chelsea": ["resized-40", "mirrored", "brighter"],
                 "coffee": ["rotated-90", "as-webp"], "rocket": []}


def demo_photos() -> list[Path]:
    folder = files("lookalike") / "demo_images"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".jpg"))


def make_demo_collection(folder: Path) -> dict[Path, str]:
    """Write originals, byte copies and edited copies under `folder`; return each file's original's name."""
    truth: dict[Path, str] = {}
    for photo in demo_photos():
        name = photo.stem
        originals = folder / "originals"
        originals.mkdir(parents=True, exist_ok=True)
        truth[Path(shutil.copyfile(photo, originals / photo.name))] = name
        edited = EDITED_PHOTOS.get(name)
        if edited is not None:
            backup = folder / "backup" / "2019"
            backup.mkdir(parents=True, exist_ok=True)
            truth[Path(shutil.copyfile(photo, backup / photo.name))] = name
        with Image.open(photo) as image:
            image.load()
            for edit_name in edited or ():
                target = folder / "edited" / f"{name}-{edit_name}"
                target.parent.mkdir(parents=True, exist_ok=True)
                EDITS[edit_name](image, target)
                written = next(target.parent.glob(target.name + ".*"))
                truth[written] = name
    return truth
