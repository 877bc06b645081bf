"""Beyond one machine: the same scan on the local engine and on a local Ray, and the sharded join.

    python -m benchmarks.ray.run [--workdir artifacts/speed] [--jobs N] [--hashes N] [--shards N] [--quick]

Measured, each in its own subprocess: Ray's start-up (ray.init of a local Ray with --jobs CPUs); the speed
benchmark's collection of real photos (benchmarks/speed/run.py builds it, in the same work folder) scanned
cold (no cache) with `--engine local -j N` and with `--engine ray` on a local Ray of N CPUs, with the stage
times of each report and whether the two reports' groups are the same; and the candidate join of --hashes
clustered hashes with themselves (benchmarks/speed/clustered_hashes.py, radius 10) by `hamming_join` in one
process and by the Ray engine's join in --shards shards, with whether the pairs are the same. A local Ray has
no more CPUs than the machine, so on one machine this measures Ray's overhead, not its speed-up: the shards
and batches are what spread over a cluster's machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from benchmarks.speed.run import QUICK, REPO, Sizes, build_collection, code_version, lookalike_scan, measure

RAY_START = """
import time, ray
start = time.perf_counter()
ray.init(num_cpus={jobs}, include_dashboard=False)
print(time.perf_counter() - start)
"""

JOIN = """
import json, time, ray, numpy as np
from benchmarks.speed.clustered_hashes import clustered_hashes
from lookalike.engines.ray_engine import RayEngine
from lookalike.stages.search import hamming_join
hashes = clustered_hashes({hashes}, seed=0)
hamming_join(hashes[:1000], hashes[:1000], 10)  # compiles the kernels before the clock starts
start = time.perf_counter()
here = hamming_join(hashes, hashes, 10)
one = time.perf_counter() - start
ray.init(num_cpus={jobs}, include_dashboard=False, log_to_driver=False)
RayEngine(shards={shards}).join(hashes[:1000], hashes[:1000], 10)  # starts the workers
start = time.perf_counter()
sharded = RayEngine(shards={shards}).join(hashes, hashes, 10)
print(json.dumps({{"one": one, "sharded": time.perf_counter() - start, "pairs": len(here),
                  "same": bool(np.array_equal(here, sharded))}}))
"""


def main() -> None:
    args = arguments()
    sizes = QUICK if args.quick else Sizes()
    collection = args.workdir / ("quick" if args.quick else "full") / "collection"
    build_collection(collection, sizes)
    files = sum(1 for path in collection.iterdir() if not path.name.startswith("."))
    print(f"code: {code_version()}; {os.cpu_count()} CPUs, --jobs {args.jobs}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    python = [sys.executable, "-c"]
    start_up = float(measure([*python, RAY_START.format(jobs=args.jobs)]).output.split()[-1])
    print(f"ray.init (local Ray, {args.jobs} CPUs): {start_up:.1f} s", flush=True)
    local, local_report = lookalike_scan(collection, None, args.jobs)
    on_ray, ray_report = lookalike_scan(collection, None, args.jobs, "--engine", "ray")
    same = local_report["groups"] == ray_report["groups"] and local_report["errors"] == ray_report["errors"]
    for name, run, report in (("local", local, local_report), ("ray", on_ray, ray_report)):
        stages = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in report["seconds"].items())
        print(f"scan {files} photos, --engine {name}: {run.seconds:.1f} s wall, peak {run.peak_mb:.0f} MB "
              f"(driver); stages: {stages}", flush=True)
    print(f"same groups and errors: {same}", flush=True)
    join = json.loads(measure([*python, JOIN.format(hashes=args.hashes, jobs=args.jobs, shards=args.shards)],
                              cwd=REPO).output.splitlines()[-1])
    print(f"join of {args.hashes:,} hashes with themselves, radius 10, {join['pairs']:,} pairs: hamming_join "
          f"{join['one']:.1f} s, Ray engine in {args.shards} shards {join['sharded']:.1f} s; same pairs: "
          f"{join['same']}", flush=True)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "artifacts/speed", help="inputs go here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="CPUs for each engine")
    parser.add_argument("--hashes", type=int, default=1_000_000, help="hashes in the join")
    parser.add_argument("--shards", type=int, default=16, help="shards of the join on Ray")
    parser.add_argument("--quick", action="store_true", help="small inputs, to check the benchmark itself")
    return parser.parse_args()


if __name__ == "__main__":
    main()
