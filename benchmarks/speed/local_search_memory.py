"""Memory and time of the local candidate search (`feature_search.local_candidates`) as the number of images
grows, on visual words of a real photo's sizes: what the million-file rows of run.py do not show, since its tiny
PNGs have no features.

    python benchmarks/speed/local_search_memory.py [IMAGES ...]

Each image gets as many distinct random words as a photo of the speed collection has on average (250 indexed,
740 queried upright and as many mirrored: 1.0, 3.0 and 3.0 kB in its cache): the words held for all images, and
the peak above them while the candidates are found, each run in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

INDEXED, QUERIED = 250, 740  # distinct words an image indexes and queries with (speed collection, 2026-12-08)


def one(images: int) -> dict[str, float]:
    import numpy as np

    from lookalike.stages.feature_search import local_candidates

    rng = np.random.default_rng(0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def drawn(count: int) -> np.ndarray:
        return np.unique(rng.integers(0, 1 << 25, count).astype(np.uint32))

    words = [drawn(INDEXED) for _ in range(images)]
    held = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def queried(start: int, stop: int) -> list[tuple[np.ndarray, np.ndarray]]:  # as the scan reads them
        return [(drawn(QUERIED), drawn(QUERIED)) for _ in range(start, stop)]

    started = time.perf_counter()
    local_candidates(words, queried)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"images": images, "held_mb": (held - before) / 1024, "search_mb": (peak - held) / 1024,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", type=int, nargs="*", default=[10_000, 40_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    print("| images | words held | peak above them while searching | time | at 1,000,000 images |")
    print("|---|---|---|---|---|")
    last = None
    for images in sorted(args.images):
        found = json.loads(subprocess.run([sys.executable, __file__, "--one", str(images)], capture_output=True,
                                          text=True, check=True).stdout)
        total = found["held_mb"] + found["search_mb"]
        # from the growth since the last size: the search's chunk of queries costs the same at any size
        grown = None if last is None else total + (total - last[1]) / (images - last[0]) * (1e6 - images)
        million = "" if grown is None else f"{grown / 1024:,.1f} GB"
        print(f"| {images:,} | {found['held_mb']:,.0f} MB | {found['search_mb']:,.0f} MB | {found['seconds']:.1f} s "
              f"| {million} |")
        last = (images, total)


if __name__ == "__main__":
    main()
