"""The candidate search of a scan cut into blocks (as the pipeline keeps them) against the same search in one go.

    python benchmarks/speed/bench_search_blocks.py [--images 200000] [--blocks 2 4 7] [--rounds 2]

A table of `--images` synthetic images (clustered hashes, benchmarks/speed/clustered_hashes.py, for the frames in
eight orientations and for the windows) is searched at radius 8 by `search.find_candidates` and by
`search.searched_blocks` in each number of blocks, in turns; printed: wall and CPU time of each, the ratio to the
one search measured in the same round, and whether the candidates are the same.
"""

import argparse
import time
from functools import partial

import numpy as np
from clustered_hashes import clustered_hashes

from lookalike.stages import search
from lookalike.stages.images import Digests, ImageTable
from lookalike.stages.signatures import WHOLE_BOX, WINDOWS


def synthetic_images(n: int) -> ImageTable:
    hashes = clustered_hashes(n * 8, 0).reshape(n, 8)
    windows = clustered_hashes(n * len(WINDOWS), 1).reshape(n, len(WINDOWS))
    windows[:, 0] = hashes[:, 0]  # the whole frame's window is the upright frame
    none = Digests(np.zeros(n, "V16"))
    return ImageTable(none, none, np.zeros(n), np.zeros(n), np.zeros(n, object), hashes, windows,
                      np.tile(np.array(WHOLE_BOX, np.float32), (n, 1)), None, [], [], [], [], [])


def timed(function):
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 7])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    images = synthetic_images(args.images)
    everyone = np.arange(len(images))
    search.hamming_join(images.hashes[:30000, 0], images.windows[:30000, 0], 8)  # the kernels are loaded
    for _ in range(args.rounds):
        whole, seconds, cpu = timed(lambda: search.find_candidates(images, 8))
        print(f"{args.images:,} images, one search: {seconds:.2f} s, CPU {cpu:.2f} s, {len(whole):,} candidates")
        for blocks in args.blocks:
            found, block_seconds, block_cpu = timed(partial(in_blocks, images, everyone, -(-len(images) // blocks)))
            same = all(np.array_equal(getattr(whole, name), getattr(found, name)) for name in search.CANDIDATE_COLUMNS)
            print(f"  in {blocks} blocks: {block_seconds:.2f} s ({block_seconds / seconds:.2f} ×), "
                  f"CPU {block_cpu:.2f} s ({block_cpu / cpu:.2f} ×); candidates {'the same' if same else 'OTHER'}")


def in_blocks(images: ImageTable, everyone: np.ndarray, size: int) -> search.Candidates:
    parts = [search.SearchPart(everyone, everyone, framed=True)]
    return search.closest_of_each_kind(search.Candidates.concatenate(
        [part for _, part in search.searched_blocks(images, parts, 8, search.hamming_join, size)]))


if __name__ == "__main__":
    main()
