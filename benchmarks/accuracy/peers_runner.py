"""Run one peer tool on a folder of images; runs in the peers' own environment, started by score.py.

usage: peers_runner.py TOOL IMAGE_DIR RESULT_JSON

RESULT_JSON receives {"pairs": [[NAME, NAME], ...], "unread": N}: the pairs of file names (inside
IMAGE_DIR) that the tool calls duplicates, and how many files it could not read. The result goes to a
file, not stdout, because the tools and their worker processes print on stdout.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

Pairs = list[tuple[str, str]]
HISTOGRAM_SIZE = (800, 600)
HISTOGRAM_RMS_LIMIT = 500


def import_torchvision() -> None:
    """Import torchvision beside the CPU torch of the peers' environment.

    torchvision from PyPI is built against CUDA torch, so beside CPU torch its C extension cannot load.
    torchvision runs without it, except that it registers fake kernels for two of the extension's
    operators unconditionally; declaring the two first lets it import. imagededup imports torchvision
    for its CNN method; the hashing methods measured here use neither torch nor torchvision.
    """
    import torch

    try:
        import torchvision
    except RuntimeError:
        for name in [name for name in sys.modules if name.startswith("torchvision")]:
            del sys.modules[name]
        for operator in ("nms", "qnms"):
            torch.library.define(
                f"torchvision::{operator}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"
            )
        import torchvision  # noqa: F401


def imagededup_pairs(method_name: str, image_dir: Path) -> tuple[Pairs, int]:
    import_torchvision()
    from imagededup import methods

    hasher = getattr(methods, method_name)(verbose=False)
    encodings = hasher.encode_images(image_dir=str(image_dir))
    duplicates = hasher.find_duplicates(encoding_map=encodings, max_distance_threshold=10)
    pairs = [(name, other) for name, others in duplicates.items() for other in others]
    return pairs, len(image_names(image_dir)) - len(encodings)


def difpy_pairs(similarity: str, image_dir: Path) -> tuple[Pairs, int]:
    import difPy

    repository = difPy.build(str(image_dir), show_progress=False)
    search = difPy.search(repository, similarity=similarity, show_progress=False)
    pairs = [(Path(path).name, Path(match).name) for path, matches in search.result.items() for match, _mse in matches]
    return pairs, repository.stats["invalid_files"]["count"]


def rgb_histogram(path: Path) -> list[int] | None:
    try:
        with Image.open(path) as image:
            return image.convert("RGB").resize(HISTOGRAM_SIZE, Image.Resampling.LANCZOS).histogram()
    except Exception:  # the original script skips whatever Pillow cannot open, so do we
        return None


def histogram_pairs(image_dir: Path) -> tuple[Pairs, int]:
    """The original script's rule, vectorised: RMS of the 768-bin RGB histograms below 500."""
    names = image_names(image_dir)
    with multiprocessing.Pool() as pool:
        histograms = pool.map(rgb_histogram, [image_dir / name for name in names], chunksize=8)
    readable = [(name, h) for name, h in zip(names, histograms, strict=True) if h is not None]
    counts = np.array([h for _name, h in readable], dtype=np.float64)
    squares = (counts * counts).sum(axis=1)
    squared_distances = np.maximum(squares[:, None] + squares[None, :] - 2 * counts @ counts.T, 0)
    close = np.sqrt(squared_distances / counts.shape[1]) < HISTOGRAM_RMS_LIMIT
    first, second = np.nonzero(np.triu(close, k=1))
    pairs = [(readable[i][0], readable[j][0]) for i, j in zip(first, second, strict=True)]
    return pairs, len(names) - len(readable)


def image_names(image_dir: Path) -> list[str]:
    return sorted(name for name in os.listdir(image_dir) if (image_dir / name).is_file())


RUNNERS: dict[str, Callable[[Path], tuple[Pairs, int]]] = {
    "imagededup-phash": lambda image_dir: imagededup_pairs("PHash", image_dir),
    "imagededup-dhash": lambda image_dir: imagededup_pairs("DHash", image_dir),
    "histogram": histogram_pairs,
    "difpy": lambda image_dir: difpy_pairs("duplicates", image_dir),
    "difpy-similar": lambda image_dir: difpy_pairs("similar", image_dir),
}


def main() -> None:
    tool, image_dir, result_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    pairs, unread = RUNNERS[tool](image_dir)
    result_file.write_text(json.dumps({"pairs": pairs, "unread": unread}))


if __name__ == "__main__":
    main()
