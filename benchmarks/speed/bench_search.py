"""Speed and memory of the candidate search against all-pairs alternatives, on clustered hashes.

    python benchmarks/speed/bench_search.py [--n 1000000] [--radius 8] [--random] [--baseline REV]
                                            [--rounds 3] [--interruptions 5]

Each method runs in its own subprocess on the same hashes (saved to a temporary .npy file), so its peak
resident memory is its own: the interpreter, its libraries, the hashes and the search.

* lookalike: `lookalike.stages.search.hamming_pairs` on all n hashes.  Its first call, on a handful of hashes,
  loads (or compiles) the numba kernels and is timed separately.
* lookalike at REV (--baseline, a git revision): the same, with the package as it was at REV, so that a change
  is timed against what it changes in the same run (with --rounds R, each R times in turns: the median run).
* faiss IndexBinaryFlat range search, and a NumPy brute force in blocks: both compare every pair, so they
  run on a random sample of query hashes against all n, and their all-pairs time is extrapolated
  (faiss: n queries; NumPy: n*(n-1)/2 comparisons, each pair once).  The table says so.

Interruptions (--interruptions K): K times, the search of each lookalike is sent SIGINT at a random moment, and
the time from the signal to the end of its process is printed (Ctrl-C in a scan stops its search in that time).

Exactness: on the NumPy sample, the pairs lookalike reports that involve a sampled hash must be exactly
those the brute force finds, and the same for faiss.
"""

import argparse
import json
import os
import random
import resource
import signal
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
        sources = {"lookalike": None}
        if args.baseline:
            sources[f"lookalike at {args.baseline}"] = _checkout(args.baseline, folder / "baseline")
        runs = [{name: _run_worker("lookalike", folder, args, src) for name, src in sources.items()}
                for _ in range(args.rounds)]  # taken in turns, so that a change in the machine's load hits both
        results = {name: _median_run([run[name] for run in runs]) for name in sources}
        results |= {name: _run_worker(name, folder, args) for name in WORKERS if name != "lookalike"}
        _print_table(args, results)
        for name, src in sources.items() if args.interruptions else ():
            stops = [_interrupted(folder, args, src, results[name]["seconds"]) for _ in range(args.interruptions)]
            print(f"{name}: SIGINT to the exception out of the search, {len(stops)} times: "
                  f"{', '.join(f'{stop:.2f} s ({raised})' for stop, raised in stops)}; "
                  f"longest {max(stop for stop, _ in stops):.2f} s")
        _check_exactness(folder, results)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of hashes")
    parser.add_argument("--radius", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="uniformly random hashes instead of clustered ones")
    parser.add_argument("--sample", type=int, default=2000, help="query hashes for the NumPy brute force")
    parser.add_argument("--faiss-sample", type=int, default=10_000, help="query hashes for faiss")
    parser.add_argument("--baseline", metavar="REV", help="also time lookalike as it was at this git revision")
    parser.add_argument("--rounds", type=int, default=1, metavar="R",
                        help="time each lookalike R times, in turns, and keep the run of median time")
    parser.add_argument("--interruptions", type=int, default=0, metavar="K",
                        help="interrupt each lookalike's search K times, and print how long it took to stop")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def _command(name: str, folder: Path, args: argparse.Namespace) -> list[str]:
    return [sys.executable, __file__, "--worker", name, "--folder", str(folder), "--radius", str(args.radius)]


def _environment(src: Path | None) -> dict[str, str]:
    """This environment, or one that imports lookalike from `src` (a baseline's checkout) before the installed one."""
    return dict(os.environ) if src is None else {**os.environ, "PYTHONPATH": str(src)}


def _run_worker(name: str, folder: Path, args: argparse.Namespace, src: Path | None = None) -> dict:
    finished = subprocess.run(_command(name, folder, args), capture_output=True, text=True, env=_environment(src))
    if finished.returncode:
        sys.exit(f"{name} failed:\n{finished.stderr}")
    return json.loads(finished.stdout.splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def _checkout(revision: str, folder: Path) -> Path:
    """The `src` folder of the repository at `revision`, written under `folder`."""
    folder.mkdir()
    repository = Path(__file__).resolve().parents[2]
    archive = subprocess.run(["git", "-C", str(repository), "archive", revision, "src"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _interrupted(folder: Path, args: argparse.Namespace, src: Path | None, search_seconds: float) -> tuple[float, str]:
    """Seconds from a SIGINT, sent at a random moment of a search, to the search raising an exception (the clock
    is the system's monotonic one, which both processes read), and which exception."""
    process = subprocess.Popen([*_command("lookalike", folder, args), "--repeat"], stdout=subprocess.PIPE,
                               text=True, env=_environment(src))
    process.stdout.readline()  # the kernels are loaded: what follows is searching
    time.sleep(random.uniform(0, min(search_seconds, 5.0)))
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    stopped = json.loads(process.communicate()[0].splitlines()[-1])
    return stopped["stopped"] - sent, stopped["as"]


# --- workers: each runs in its own process and returns a JSON-able summary ---------------------------------


def _lookalike(args: argparse.Namespace) -> dict:
    from lookalike.stages.search import hamming_pairs, plan_substrings, substring_join

    hashes = np.load(args.folder / "hashes.npy")
    plan = plan_substrings(args.radius, len(hashes), len(hashes), self_join=True)
    started = time.perf_counter()
    substring_join(hashes[:10], hashes[:10], args.radius, plan[0])  # through the kernels, as a small search is not
    first_call = time.perf_counter() - started
    if args.repeat:  # searched until interrupted (`_interrupted`), which it is told when
        print("searching", flush=True)
        try:
            while True:
                hamming_pairs(hashes, args.radius)
        except (KeyboardInterrupt, SystemError) as error:  # SystemError: numba's, from a KeyboardInterrupt
            return {"stopped": time.monotonic(), "as": type(error).__name__}
    started, cpu_started = time.perf_counter(), time.process_time()
    pairs = hamming_pairs(hashes, args.radius)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    np.save(args.folder / f"lookalike-{os.getpid()}.npy", pairs)
    return {
        "saved": f"lookalike-{os.getpid()}.npy",
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
        label = labels.get(name, f"{labels['lookalike']} at {args.baseline}").format(**result)
        ratio = result["seconds"] / ours["seconds"]
        print(f"{label:<72} {result['seconds']:>9.2f} {result['cpu']:>9.2f} {result['peak_mb']:>14.0f} {ratio:>12.2f}x")


def _check_exactness(folder: Path, results: dict[str, dict]) -> None:
    sample = np.load(folder / "numpy_sample.npy")
    truth = np.load(folder / "numpy.npy")
    n = len(np.load(folder / "hashes.npy", mmap_mode="r"))
    checks = {name: _sampled_codes(np.load(folder / result["saved"]), sample, n)
              for name, result in results.items() if name.startswith("lookalike")}
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
