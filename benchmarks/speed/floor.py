"""The decode floor: every file of a folder read and decoded as small as lookalike asks Pillow for, in a pool of
`--jobs` processes doing nothing else. For JPEGs that is DCT scaling to the smallest scale that keeps 320 pixels
a side; other formats are decoded in full, as lookalike decodes them (pillow-heif would decode an embedded HEIC
thumbnail instead, were it asked to).

    python benchmarks/speed/floor.py FOLDER [--jobs N]

A module of its own that imports Pillow and nothing else: NumPy starts BLAS threads that spin for about 0.1 s of
CPU in each process that loads it, and the forkserver imports the main module again, so a floor run from the
benchmark's own script (which needs NumPy to build its inputs) took 0.1 to 0.2 s longer than this, on 1.8 s.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
from pathlib import Path

from PIL import Image


def register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def decode(path: str) -> int:
    with open(path, "rb") as handle:
        data = handle.read()
    with Image.open(io.BytesIO(data)) as image:
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (320, 320))  # as lookalike asks: local_features.FEATURE_SIDE
        image.load()
        return image.width * image.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    paths = sorted(str(p) for p in args.folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    with multiprocessing.get_context("forkserver").Pool(args.jobs, initializer=register_heif) as pool:
        pixels = sum(pool.imap_unordered(decode, paths, chunksize=16))
    print(json.dumps({"files": len(paths), "pixels": pixels}))


if __name__ == "__main__":
    main()
