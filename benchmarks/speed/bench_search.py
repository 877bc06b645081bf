"""Speed and memory of the candidate search against all-pairs alternatives, on clustered hashes.

    python benchmarks/speed/bench_search.py [--n 1000000] [--radius 8] [--random]

Each method runs in its own subprocess on the same hashes (saved to a temporary .npy file), so its peak
resident memory is its own: the interpreter, its libraries, the hashes and the search.

* lookalike: `lookalike.stages.search.hamming_pairs` on all n hashes.  Its first call, on a handful of hashes,
  loads (or compiles) the numba kernels and is timed separately.
* faiss IndexBinaryFlat range search, and a NumPy brute force in blocks: both compare every pair, so they
  run on a random sample of query hashes against all n, and their all-pairs time is extrapolated
  (faiss: n queries; NumPy: n*(n-1)/2 comparisons, each pair once).  The table says so.

Exactness: on the NumPy sample, the pairs lookalike reports that involve a sampled hash must be exactly
those the brute force finds, and the same for faiss.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from clustered_hashes import clustered_hashes

BRUTE_FORCE_BLOCK = 16


def main() -> None:
    args = _arguments()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return
    rng = np.random.default_rng(args.seed)
    hashes = rng.integers(0, 2**64, args.n, dtype=np.uint64) if args.random else clustered_hashes(args.n, args.seed)
    sample = np.sort(rng.choice(args.n, min(args.faiss_sample, args.n), replace=False))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        np.save(folder / "hashes.npy", hashes)
        np.save(folder / "faiss_sample.npy", sample)
        np.save(folder / "numpy_sample.npy", np.sort(sample[rng.permutation(len(sample))[: args.sample]]))
        results = {name: _run_worker(name, folder, args) for name in WORKERS}
        _print_table(args, results)
        _check_exactness(folder, results)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of hashes")
    parser.add_argument("--radius", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="uniformly random hashes instead of clustered ones")
    parser.add_argument("--sample", type=int, default=2000, help="query hashes for the NumPy brute force")
    parser.add_argument("--faiss-sample", type=int, default=10_000, help="query hashes for faiss")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def _run_worker(name: str, folder: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", name, "--folder", str(folder), "--radius", str(args.radius)]
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode:
        sys.exit(f"{name} failed:\n{finished.stderr}")
    return json.loads(finished.stdout.splitlines()[-1])


# --- workers: each runs in its own process and returns a JSON-able summary ---------------------------------


def _lookalike(args: argparse.Namespace) -> dict:
    from lookalike.stages.search import hamming_pairs, plan_substrings

    hashes = np.load(args.folder / "hashes.npy")
    started = time.perf_counter()
    hamming_pairs(hashes[:10], args.radius)
    first_call = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    pairs = hamming_pairs(hashes, args.radius)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    np.save(args.folder / "lookalike.npy", pairs)
    plan = plan_substrings(args.radius, len(hashes), len(hashes), self_join=True)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "pairs": len(pairs),
        "peak_mb": _peak_rss_mb(),
        "first_call": first_call,
        "plan": ", ".join(f"bits {s.shift}-{s.shift + s.bits - 1} within {s.radius}" for s in plan),
    }


def _faiss(args: argparse.Namespace) -> dict:
    try:
        import faiss
    except ImportError:
        return {"skipped": "faiss is not installed (pip install faiss-cpu)"}
    hashes = np.load(args.folder / "hashes.npy")
    sample = np.load(args.folder / "faiss_sample.npy")
    started, cpu_started = time.perf_counter(), time.process_time()
    index = faiss.IndexBinaryFlat(64)
    index.add(hashes.view(np.uint8).reshape(-1, 8))
    # faiss keeps distances strictly below the range radius.
    limits, _, found = index.range_search(hashes[sample].view(np.uint8).reshape(-1, 8), args.radius + 1)
    scale = len(hashes) / len(sample)
    seconds, cpu = (time.perf_counter() - started) * scale, (time.process_time() - cpu_started) * scale
    queries = np.repeat(sample, np.diff(limits).astype(np.int64))
    np.save(args.folder / "faiss.npy", _match_codes(queries, found, len(hashes)))
    return {"seconds": seconds, "cpu": cpu, "sample": len(sample), "peak_mb": _peak_rss_mb()}


def _numpy(args: argparse.Namespace) -> dict:
    hashes = np.load(args.folder / "hashes.npy")
    sample = np.load(args.folder / "numpy_sample.npy")
    started, cpu_started = time.perf_counter(), time.process_time()
    queries, found = [], []
    for block in np.array_split(sample, max(1, len(sample) // BRUTE_FORCE_BLOCK)):
        rows, columns = np.nonzero(np.bitwise_count(hashes[block, None] ^ hashes[None, :]) <= args.radius)
        queries.append(block[rows])
        found.append(columns)
    scale = (len(hashes) - 1) / 2 / len(sample)
    seconds, cpu = (time.perf_counter() - started) * scale, (time.process_time() - cpu_started) * scale
    np.save(args.folder / "numpy.npy", _match_codes(np.concatenate(queries), np.concatenate(found), len(hashes)))
    return {"seconds": seconds, "cpu": cpu, "sample": len(sample), "peak_mb": _peak_rss_mb()}


WORKERS = {"lookalike": _lookalike, "faiss": _faiss, "numpy": _numpy}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _match_codes(queries: np.ndarray, found: np.ndarray, n: int) -> np.ndarray:
    """Sorted codes query * n + other of the matches of sampled queries, a hash's match with itself left out."""
    other = queries != found
    return np.sort(queries[other].astype(np.int64) * n + found[other])


# --- report ---------------------------------------------------------------------------------------------------


def _print_table(args: argparse.Namespace, results: dict[str, dict]) -> None:
    data = "uniformly random" if args.random else "clustered (benchmarks/speed/clustered_hashes.py)"
    ours = results["lookalike"]
    print(f"{args.n:,} {data} 64-bit hashes, all pairs within radius {args.radius}: {ours['pairs']:,} pairs")
    print(f"lookalike plan: {ours['plan']}; first call (numba cache load or compile): {ours['first_call']:.2f} s\n")
    print(f"{'method':<72} {'time (s)':>9} {'CPU (s)':>9} {'peak RSS (MB)':>14} {'vs lookalike':>13}")
    labels = {
        "lookalike": "lookalike.stages.search.hamming_pairs",
        "faiss": "faiss IndexBinaryFlat range search, extrapolated from {sample:,} queries",
        "numpy": "NumPy blocked brute force, extrapolated from {sample:,} queries",
    }
    for name, result in results.items():
        if "skipped" in result:
            print(f"{labels[name].split(',')[0]:<72} skipped: {result['skipped']}")
            continue
        label = labels[name].format(**result)
        ratio = result["seconds"] / ours["seconds"]
        print(f"{label:<72} {result['seconds']:>9.2f} {result['cpu']:>9.2f} {result['peak_mb']:>14.0f} {ratio:>12.1f}x")


def _check_exactness(folder: Path, results: dict[str, dict]) -> None:
    sample = np.load(folder / "numpy_sample.npy")
    truth = np.load(folder / "numpy.npy")
    n = len(np.load(folder / "hashes.npy", mmap_mode="r"))
    pairs = np.load(folder / "lookalike.npy")
    checks = {"lookalike": _sampled_codes(pairs, sample, n)}
    if "skipped" not in results["faiss"]:
        faiss_codes = np.load(folder / "faiss.npy")
        checks["faiss"] = faiss_codes[np.isin(faiss_codes // n, sample)]
    print()
    for name, codes in checks.items():
        verdict = "exact" if np.array_equal(codes, truth) else "DIFFERS"
        print(f"{name} on the {len(sample):,} sampled hashes vs brute force: {verdict} ({len(truth):,} matches)")
    if not all(np.array_equal(codes, truth) for codes in checks.values()):
        sys.exit(1)


def _sampled_codes(pairs: np.ndarray, sample: np.ndarray, n: int) -> np.ndarray:
    """The pairs that involve a sampled hash, as codes sampled * n + other (both ways round when both are)."""
    first, second = pairs[:, 0], pairs[:, 1]
    from_first, from_second = np.isin(first, sample), np.isin(second, sample)
    codes = [first[from_first] * n + second[from_first], second[from_second] * n + first[from_second]]
    return np.sort(np.concatenate(codes))


if __name__ == "__main__":
    main()
