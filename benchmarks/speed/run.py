"""The speed benchmark: one command builds its inputs, then measures every method on the same files, in one run.

    python benchmarks/speed/run.py [--workdir artifacts/speed] [--jobs N] [--quick]

Inputs, built on the first run and reused (the corpus must be fetched first:
../shared/corpus/fetch-dev-photos.sh ../corpus/dev):
- `collection/`: one flat folder of real photos from the corpus in the formats a library holds: 12 MP JPEGs
  (corpus photos enlarged to 4000×3000, as a phone writes them), the corpus JPEGs and WebPs as they are, PNGs
  and HEICs converted from corpus photos, and edited copies (resized, recompressed) of some;
- `phone/`: 12 MP JPEGs as a phone writes them, corpus photos enlarged to 4000×3000 with a sensor's noise (about
  2.5 MB each, where the collection's enlarged ones are half a megabyte), a fifth of them with an edited copy: a
  floor that costs what a real photo's decoding costs (`--phone-only`: its rounds alone);
- `collection-and-negatives/`: those files and the negative of each, in its format: twice the files, for the
  same cold / floor at twice the size (DOUBLED_ROUNDS rounds);
- `tiny/`: 100,000 generated 32×32 PNGs (random coarse colours and noise, all different): not photos, but
  100 k real files on disk, for the re-scan of 100 k unchanged files and for memory per file;
- `files/`: 100,000 generated files of random bytes, a quarter of them copies (`build_files`), for `--method
  bytes --all-files` against the file deduplicators;
- `small-files/`: 20,000 more of the tiny PNGs, for interruptions.

Measured, each in its own subprocess, on the same files: lookalike cold (empty cache) and warm (same cache,
nothing changed); the decode floor (floor.py: every file read and decoded as small as lookalike asks Pillow for,
in a pool of as many processes, doing nothing else) and cold / floor, over COLD_ROUNDS alternating rounds of both
(`--cold-only`: those rounds and nothing else, to repeat them); the original script as written
(benchmarks/peers/original_script.py) on a subset, extrapolated to all pairs; `--method histogram`; imagededup's
PHash where the peers' environment has it; bench_search.py (hamming_pairs against faiss and NumPy on 1 M clustered
hashes); the warm re-scan of the 100 k tiny files, and memory extrapolated from them to 1 M; `--method bytes`
against `jdupes -r` and `rmlint` (Debian's) in interleaved rounds, on the photos and on `files/` (`--bytes-only`:
those alone), and its warm re-scans of `files/` beside `jdupes -r`, all written to benchmarks/speed/bytes-DATE.txt
too, with the machine and its load (the README quotes it); interruptions (`--interruptions-only`: those alone):
cold scans of the photos and of `small-files/` stopped by SIGINT and by SIGKILL at random points (INTERRUPTIONS of
each, over the uninterrupted scan's time), each then run again on the cache it left, against the uninterrupted scan.
Peak memory is the ru_maxrss that wait4 reports for the subprocess: the largest single process of its tree,
not the sum over worker processes. CPU is the whole tree's, user and system: this script adopts the processes a
command leaves behind (`adopt_orphans`: the forkserver and the workers it forks are not the command's children to
wait for) and adds up what every process of the tree used, so that cold / floor can be told apart into work done
(the CPU ratio) and cores left idle (CPU over wall time: "cores busy").
Cold scans with the workers spawned (LOOKALIKE_START_METHOD=spawn, Windows's way) and forked from the
forkserver, in START_METHOD_ROUNDS interleaved rounds (`--start-methods-only`: those alone): their ratio, and
whether both found the same groups.
"Cold" means an empty lookalike cache, not an empty OS page cache: the collection is read once before the first
method, so every method reads files the OS has cached. lookalike runs as `pip install .` leaves it, its bytecode
compiled (`compile_lookalike`). Each run's table is written to benchmarks/speed/KIND-DATE.txt too (speed, bytes,
interruptions, start-methods, phone, million; none for --quick): the README and the manual quote those files.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import ctypes
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps

from lookalike.stages.exact import spinning_disk

pillow_heif.register_heif_opener()  # the collection's HEICs are written here

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))  # for tests.interrupting: a scan stopped as a person stops it, the same as the tests'
from tests.interrupting import scan_command, stopped_scan, survivors  # noqa: E402

ORIGINAL_SCRIPT = REPO / "benchmarks/peers/original_script.py"
PEERS_RUNNER = REPO / "benchmarks/accuracy/peers_runner.py"
PEERS_PYTHON = Path(os.environ.get("LOOKALIKE_PEERS_PYTHON", "/work/venvs/peers/bin/python"))
CORPUS = Path(os.environ.get("LOOKALIKE_DEV_CORPUS", REPO.parent / "corpus/dev"))
COLD_ROUNDS = 15  # of the floor and a cold scan: the ratio is the median round's, the times are medians. Single
# rounds range from 0.96 to 1.35 × on this machine (quartiles 1.08 and 1.23 over 30), and medians of 9 ranged from
# 1.13 to 1.20 within an hour
DOUBLED_ROUNDS = 5  # of the floor and a cold scan of the photos and their negatives: twice the files, so the
# start-up and the stages after the last decode weigh half as much, and costs that come with more files show
# (numba's 0.5 s load did, at 960 files, before d5429e5)
PHONE_ROUNDS = 5  # of the floor and a cold scan of the phone-size JPEGs
PHONE_NOISE = 4.0  # grey levels of a sensor's noise on the phone-size JPEGs (a phone's 12 MP JPEG is 2-5 MB)
START_METHOD_ROUNDS = 9  # of a cold scan under forkserver and one under spawn, alternately first
BYTES_ROUNDS = 5  # of `--method bytes`, jdupes and rmlint: few, since the times are not what this benchmark is for
INTERRUPTIONS = 5  # scans stopped by each signal, per collection
ORIGINAL_RUN = (4566, 3 * 3600 + 18 * 60 + 36)  # the StackOverflow post: photos, seconds (23:51:05 → 03:09:41)


@dataclass(frozen=True)
class Sizes:
    large_jpegs: int = 40
    small_jpegs: int = 150
    webps: int = 150
    pngs: int = 60
    heics: int = 40
    edited: int = 40
    phone: int = 60
    tiny: int = 100_000
    files: int = 100_000
    small_files: int = 20_000
    original_subset: int = 60
    hashes: int = 1_000_000


QUICK = Sizes(large_jpegs=4, small_jpegs=20, webps=20, pngs=6, heics=4, edited=6, phone=5, tiny=5_000, files=5_000,
              small_files=2_000, original_subset=20, hashes=100_000)


PR_SET_CHILD_SUBREAPER = 36  # prctl(2): orphaned descendants are reparented to this process, not to init
ORPHANS_GRACE = 10.0  # seconds a command's orphans may take to end after it has


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_mb: float
    output: str
    cpu_seconds: float  # user and system, of the command's whole tree where `adopt_orphans` holds, else its own


def adopt_orphans() -> None:
    """Be the reaper of what measured commands leave behind (Linux), so that `measure` counts their CPU: a
    process pool's forkserver is not waited for by the command that started it, nor its workers by the command."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)


def measure(command: list[str], **options) -> Measured:
    """Run `command`: wall time, the peak RSS and the CPU that wait4 reports for it and for each orphan it leaves
    (`adopt_orphans`); raise with its stderr if it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, **options)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        usages = [usage, *_orphans_ended(time.monotonic() + ORPHANS_GRACE)]
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, command))} failed ({process.returncode}):\n{err.read()[-3000:]}")
        return Measured(seconds, max(u.ru_maxrss for u in usages) / 1024, out.read(),
                        sum(u.ru_utime + u.ru_stime for u in usages))


def _orphans_ended(deadline: float) -> Iterator[resource.struct_rusage]:
    """The usage of each orphan of the last command, as it ends: the forkserver ends when its command has, and
    any worker it had not waited for with it. Commands are measured one at a time, so every child left is one."""
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:  # none left
            return
        if pid:
            yield usage
        elif time.monotonic() > deadline:
            raise RuntimeError(f"processes of the last command were still running {ORPHANS_GRACE:g} s after it")
        else:
            time.sleep(0.002)


# --- inputs ---------------------------------------------------------------------------------------------


def corpus_photos() -> list[Path]:
    manifest = CORPUS / "manifest.tsv"
    if not manifest.exists():
        sys.exit(f"no photo corpus at {CORPUS}: run ../shared/corpus/fetch-dev-photos.sh {CORPUS} first")
    with open(manifest, newline="") as rows:
        return sorted(CORPUS / row["path"] for row in csv.DictReader(rows, delimiter="\t"))


def build_collection(folder: Path, sizes: Sizes) -> None:
    if (folder / ".complete").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    photos = corpus_photos()
    jpegs = [p for p in photos if p.suffix.lower() in (".jpg", ".jpeg")]
    webps = [p for p in photos if p.suffix.lower() == ".webp"]
    tasks = [("large", p, folder / f"large-{i:04d}.jpg") for i, p in enumerate(jpegs[: sizes.large_jpegs])]
    tasks += [("copy", p, folder / f"jpeg-{i:04d}{p.suffix.lower()}") for i, p in enumerate(jpegs[-sizes.small_jpegs:])]
    tasks += [("copy", p, folder / f"webp-{i:04d}.webp") for i, p in enumerate(webps[: sizes.webps])]
    tasks += [("png", p, folder / f"png-{i:04d}.png") for i, p in enumerate(webps[-sizes.pngs:])]
    tasks += [("heic", p, folder / f"heic-{i:04d}.heic") for i, p in enumerate(webps[-sizes.pngs - sizes.heics:
                                                                                     -sizes.pngs])]
    tasks += [(edit, p, folder / f"edited-{i:04d}-{edit}.jpg") for i, p in enumerate(jpegs[: sizes.edited])
              for edit in ["resized" if i % 2 else "recompressed"]]
    with multiprocessing.Pool() as pool:
        pool.starmap(_make_file, tasks, chunksize=4)
    (folder / ".complete").touch()


def build_phone(folder: Path, sizes: Sizes) -> None:
    """`sizes.phone` phone-size JPEGs of corpus photos (the last ones: not the collection's large JPEGs), and an
    edited copy of every fifth."""
    if (folder / ".complete").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    jpegs = [p for p in corpus_photos() if p.suffix.lower() in (".jpg", ".jpeg")][-sizes.phone:]
    tasks = [("phone", p, folder / f"phone-{i:04d}.jpg") for i, p in enumerate(jpegs)]
    tasks += [(edit, folder / f"phone-{i:04d}.jpg", folder / f"phone-{i:04d}-{edit}.jpg")
              for i in range(0, len(jpegs), 5) for edit in ["resized" if i % 10 else "recompressed"]]
    with multiprocessing.Pool() as pool:
        pool.starmap(_make_file, [task for task in tasks if task[0] == "phone"], chunksize=2)
        pool.starmap(_make_file, [task for task in tasks if task[0] != "phone"], chunksize=2)
    (folder / ".complete").touch()


def _make_file(kind: str, source: Path, target: Path) -> None:
    if kind == "copy":
        shutil.copyfile(source, target)
        return
    with Image.open(source) as opened:
        image = opened.convert("RGB")
    if kind == "large":
        image.resize((4000, 3000), Image.Resampling.LANCZOS).save(target, quality=90)
    elif kind == "phone":
        pixels = np.asarray(image.resize((4000, 3000), Image.Resampling.LANCZOS), np.float32)
        pixels += np.random.default_rng(int.from_bytes(target.name.encode()) % 2**32).normal(
            0, PHONE_NOISE, pixels.shape).astype(np.float32)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target, quality=92)
    elif kind == "png":
        image.save(target)
    elif kind == "heic":
        image.save(target, quality=80)
    elif kind == "resized":
        image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS).save(target, quality=85)
    else:
        image.save(target, quality=40)


def build_negatives(collection: Path, folder: Path) -> None:
    """The collection's files and, beside each, its negative in the same format: twice as many files, each
    negative a picture of its own (a copy of nothing), as costly to decode as its original."""
    if (folder / ".complete").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with multiprocessing.Pool() as pool:
        pool.starmap(_make_negative, [(path, folder) for path in sorted(collection.iterdir())
                                      if not path.name.startswith(".")], chunksize=4)
    (folder / ".complete").touch()


def _make_negative(source: Path, folder: Path) -> None:
    shutil.copyfile(source, folder / source.name)
    with Image.open(source) as opened:
        image_format, negative = opened.format, ImageOps.invert(opened.convert("RGB"))
    options = {"JPEG": {"quality": 90}, "WEBP": {"quality": 80}, "HEIF": {"quality": 80}}.get(image_format, {})
    negative.save(folder / f"negative-{source.name}", format=image_format, **options)


def build_tiny(folder: Path, count: int) -> None:
    build_by_thousands(folder, count, _make_tiny)


def build_by_thousands(folder: Path, count: int, make: Callable[[Path, int, int], None]) -> None:
    """`make(folder, start, stop)` for each thousand of `count` files, in a pool of processes, unless done before."""
    if (folder / ".complete").exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with multiprocessing.Pool() as pool:
        pool.starmap(make, [(folder, start, min(start + 1000, count)) for start in range(0, count, 1000)])
    (folder / ".complete").touch()


def _make_tiny(folder: Path, start: int, stop: int) -> None:
    """32×32 PNGs, all different: a random 8×8 colour grid enlarged, plus noise, the file's number in one pixel.

    Random coarse colours give random perceptual hashes (a drawn shape would make thousands of candidate pairs,
    a benchmark of verification instead of re-scanning).
    """
    subfolder = folder / f"{start // 1000:03d}"
    subfolder.mkdir(exist_ok=True)
    for number in range(start, stop):
        rng = np.random.default_rng(number)
        coarse = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        pixels = np.asarray(coarse.resize((32, 32), Image.Resampling.BICUBIC)).astype(np.int16)
        pixels = np.clip(pixels + rng.integers(-24, 25, pixels.shape), 0, 255).astype(np.uint8)
        pixels[0, 0] = [number >> 16 & 255, number >> 8 & 255, number & 255]
        Image.fromarray(pixels).save(subfolder / f"{number:06d}.png", compress_level=1)


def build_files(folder: Path, count: int) -> None:
    """`count` files of any kind, as a backup holds them: random bytes of lognormal sizes (median 4 kB, a few of
    megabytes), 1,000 to a folder and its mirror in `backup/`; a quarter are copies (in the mirror, of a file of
    the folder, some copied twice), and one in twenty has the size and first bytes of another but not its last byte."""
    build_by_thousands(folder, count, _make_files)


def _make_files(folder: Path, start: int, stop: int) -> None:
    rng = np.random.default_rng(start)
    originals, backup = folder / f"{start // 1000:03d}", folder / "backup" / f"{start // 1000:03d}"
    originals.mkdir(parents=True)
    backup.mkdir(parents=True)
    written: list[Path] = []
    for number in range(start, stop):
        kind = rng.random()
        if written and kind < 0.25:
            source = written[int(rng.integers(len(written)))]
            shutil.copyfile(source, backup / f"{number:06d}.bin")
            continue
        if written and kind > 0.95:
            data = bytearray(written[int(rng.integers(len(written)))].read_bytes())
            data[-1] ^= 1
        else:
            data = bytearray(rng.bytes(int(min(2**22, max(1, rng.lognormal(np.log(4096), 1.5))))))
        written.append(originals / f"{number:06d}.bin")
        written[-1].write_bytes(data)


# --- what is measured -----------------------------------------------------------------------------------


def lookalike_scan(folder: Path, cache: Path | None, jobs: int, *extra: str, start_method: str | None = None
                   ) -> tuple[Measured, dict]:
    """A scan of `folder`; `start_method` (LOOKALIKE_START_METHOD) chooses how its workers start."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-m", "lookalike", "scan", str(folder), "--json", str(report), "-q", "-j",
                   str(jobs), *(["--cache", str(cache)] if cache else ["--no-cache"]), *extra]
        environment = {**os.environ, **({"LOOKALIKE_START_METHOD": start_method} if start_method else {})}
        run = measure(command, env=environment)
        return run, json.loads(report.read_text())


def compile_lookalike() -> None:
    """Compile lookalike's modules to bytecode, as `pip install .` does. An editable install under
    PYTHONDONTWRITEBYTECODE (set on some machines, this one among them) compiles every module again at each
    start: 0.1 s of a cold scan of the collection, which users of an installed lookalike do not pay."""
    import lookalike

    compileall.compile_dir(Path(lookalike.__file__).parent, quiet=1)


def _median_seconds(runs: list[Measured]) -> float:
    return statistics.median(run.seconds for run in runs)


def read_all(folder: Path) -> None:
    """Read every file once, so that the OS caches them for whichever method runs first (reused inputs were
    maybe written long ago and evicted since)."""
    for path in folder.iterdir():
        path.read_bytes()


def decode_floor(folder: Path, jobs: int) -> Measured:
    return measure([sys.executable, str(HERE / "floor.py"), str(folder), "--jobs", str(jobs)])


def original_on_subset(folder: Path, count: int) -> dict:
    """The original script as written on `count` files of the collection (symlinks in a flat folder)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    subset = files[:: max(1, len(files) // count)][:count]
    with tempfile.TemporaryDirectory() as scratch:
        for path in subset:
            os.symlink(path.resolve(), Path(scratch) / path.name)  # a relative --workdir would leave it dangling
        result_file = Path(scratch).parent / f"original-{os.getpid()}.json"
        run = measure([sys.executable, str(ORIGINAL_SCRIPT), scratch, "--json", str(result_file)])
        result = json.loads(result_file.read_text())
        result_file.unlink()
    result.update(peak_mb=run.peak_mb, wall=run.seconds, total_files=len(files))
    return result


def imagededup(folder: Path) -> Measured | str:
    if not PEERS_PYTHON.exists():
        return f"not installed ({PEERS_PYTHON} missing)"
    with tempfile.TemporaryDirectory() as scratch:
        try:
            return measure([str(PEERS_PYTHON), str(PEERS_RUNNER), "imagededup-phash", str(folder),
                            str(Path(scratch) / "pairs.json")])
        except RuntimeError as error:
            return f"failed: {str(error).splitlines()[-1]}"


def search_benchmark(count: int) -> Measured:
    return measure([sys.executable, str(HERE / "bench_search.py"), "--n", str(count), "--radius", "8"])


def read_tree(folder: Path) -> None:
    """Read every file under `folder` once, into the OS's cache (as `read_all`, in subfolders too)."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def listed_groups(text: str) -> set[frozenset[str]]:
    """The groups of paths of jdupes' and rmlint's fdupes format: one path a line, a blank line between groups."""
    return {frozenset(block.splitlines()) for block in text.strip().split("\n\n") if block.strip()}


def report_groups(report: dict) -> set[frozenset[str]]:
    return {frozenset(member["path"] for member in group["members"]) for group in report["groups"]}


class Transcript:
    """What a benchmark prints, kept as well, for the file it writes (which the README quotes)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)


def bytes_rounds(folder: Path, what: str, rounds: int, said: Transcript, *extra: str
                 ) -> list[tuple[str, str, str, str]]:
    """`--method bytes` (no cache) against `jdupes -r` and `rmlint` (duplicate files only, in jdupes' format),
    BYTES_ROUNDS rounds of the three in turn, the first of a round a different one each time, on a warm page
    cache: the times are medians, the ratio the median round's, to the faster peer of that round (wall time,
    and CPU: user and system, which a busy machine inflates less)."""
    read_tree(folder)
    peers = {"jdupes -r": ["jdupes", "-r", "-q", str(folder)],
             "rmlint -T df": ["rmlint", "-T", "df", "-o", "fdupes", str(folder)]}
    missing = [name for name, command in peers.items() if shutil.which(command[0]) is None]
    if missing:
        return [(f"{name} (Debian package)", what, "not installed", "") for name in missing]
    runs: dict[str, list[Measured]] = {"lookalike": [], **{name: [] for name in peers}}
    groups: dict[str, set[frozenset[str]]] = {}
    decoded = 0
    with tempfile.TemporaryDirectory() as scratch:
        report_file = Path(scratch) / "report.json"
        commands = {"lookalike": [sys.executable, "-m", "lookalike", "scan", str(folder), "--method", "bytes",
                                  *extra, "--no-cache", "-q", "--json", str(report_file)], **peers}
        names = list(commands)
        for number in range(rounds):
            for name in names[number % 3:] + names[:number % 3]:
                runs[name].append(measure(commands[name], cwd=scratch))
                if name == "lookalike":
                    report = json.loads(report_file.read_text())
                    groups[name], decoded = report_groups(report), max(decoded, report["work"]["decoded"])
                else:
                    groups[name] = listed_groups(runs[name][-1].output)
            said.say(f"bytes, {what}, round {number + 1}: " + ", ".join(
                f"{name} {runs[name][-1].seconds:.2f} s (CPU {runs[name][-1].cpu_seconds:.2f} s)" for name in names)
                + f"; load average {os.getloadavg()[0]:.1f}")
    ratios = [ours.seconds / min(jdupes.seconds, rmlint.seconds)
              for ours, jdupes, rmlint in zip(*runs.values(), strict=True)]
    cpu = statistics.median(ours.cpu_seconds / min(jdupes.cpu_seconds, rmlint.cpu_seconds)
                            for ours, jdupes, rmlint in zip(*runs.values(), strict=True))
    agree = ", ".join(f"{name} {'the same' if groups[name] == groups['lookalike'] else 'OTHER'} groups"
                      for name in peers)
    said.say(f"bytes, {what}: lookalike / the faster peer, round by round: "
             + ", ".join(f"{ratio:.2f}" for ratio in ratios) + f" (median {statistics.median(ratios):.2f}; CPU "
             f"{cpu:.2f}); {agree}; decoded {decoded}")
    rows = [(f"lookalike scan --method bytes {' '.join(extra)} (no cache)".replace("  ", " "), what,
             f"{_median_seconds(runs['lookalike']):.2f} s (= {statistics.median(ratios):.2f} × the faster peer, CPU "
             f"{cpu:.2f} ×; {len(groups['lookalike']):,} groups; decoded {decoded})",
             f"{max(r.peak_mb for r in runs['lookalike']):.0f} MB")]
    rows += [(name, what, f"{_median_seconds(runs[name]):.3f} s ({agree.split(', ')[index]})", "")
             for index, name in enumerate(peers)]  # no memory: a child's ru_maxrss counts this process's, from
    return rows  # before its exec, and these two use less than this benchmark does


def bytes_rescan(folder: Path, cache: Path, what: str, rounds: int, said: Transcript
                 ) -> list[tuple[str, str, str, str]]:
    """`--method bytes --all-files` with a cache, first empty, then `rounds` times as that scan left it (nothing
    changed), each beside a run of `jdupes -r` (first in every other round): a busy machine slows both, so the
    ratio says what the time alone cannot."""
    cache.unlink(missing_ok=True)
    cold, _ = lookalike_scan(folder, cache, 1, "--method", "bytes", "--all-files")
    warms, peers = [], []
    jdupes = ["jdupes", "-r", "-q", str(folder)] if shutil.which("jdupes") else None
    for number in range(rounds):
        if jdupes and number % 2:
            peers.append(measure(jdupes))
        warm, report = lookalike_scan(folder, cache, 1, "--method", "bytes", "--all-files")
        warms.append(warm)
        if jdupes and not number % 2:
            peers.append(measure(jdupes))
        said.say(f"bytes warm re-scan, round {number + 1}: {warm.seconds:.2f} s (CPU {warm.cpu_seconds:.2f} s)"
                 + (f", jdupes -r {peers[-1].seconds:.2f} s" if peers else "")
                 + f"; load average {os.getloadavg()[0]:.1f}; stages: {stage_line(report)}")
    beside = (f" (= {statistics.median(w.seconds / p.seconds for w, p in zip(warms, peers, strict=True)):.2f} × "
              f"jdupes -r's cold run in the same round)" if peers else "")
    return [("lookalike scan --method bytes --all-files, cold (empty cache)", what, f"{cold.seconds:.2f} s",
             f"{cold.peak_mb:.0f} MB"),
            ("lookalike scan --method bytes --all-files, warm re-scan (target < 5 s)", f"{what}, unchanged",
             f"{_median_seconds(warms):.2f} s{beside}", f"{max(w.peak_mb for w in warms):.0f} MB")]


def identical_files(collection: Path, files: Path, work: Path, jobs: int, written: Path | None
                    ) -> list[tuple[str, str, str, str]]:
    """The rows of `--method bytes` against the file deduplicators, on the photos and on `files`; what they
    printed and the rows go to `written` too (benchmarks/speed/bytes-DATE.txt; none for --quick)."""
    said = Transcript()
    said.say(f"--method bytes rounds from {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; "
             f"load average {' '.join(f'{load:.1f}' for load in os.getloadavg())} (1, 5, 15 min); the files' device "
             f"is {'' if spinning_disk(os.stat(files).st_dev) else 'not '}called rotational (lookalike reads "
             f"{'one file at a time' if spinning_disk(os.stat(files).st_dev) else 'several files at once'})")
    photos = f"{files_in(collection)} photos, {megabytes_in(collection):.0f} MB"
    count = sum(1 for path in files.rglob("*") if path.is_file() and not path.name.startswith("."))
    tree = f"{count:,} files with copies (generated), {sum(p.stat().st_size for p in files.rglob('*')) / 1e6:,.0f} MB"
    rows = [*bytes_rounds(collection, photos, BYTES_ROUNDS, said),
            *bytes_rounds(files, tree, BYTES_ROUNDS, said, "--all-files"),
            *bytes_rescan(files, work / "files-cache.sqlite", tree, BYTES_ROUNDS, said)]
    said.say(f"load average at the end: {' '.join(f'{load:.1f}' for load in os.getloadavg())}")
    if written is not None:
        written.write_text("\n".join([*said.lines, "", *table_lines(rows, jobs)]) + "\n")
        print(f"written to {written}", flush=True)
    return rows


def machine() -> str:
    """The processor, its cores and the system, in a few words."""
    model = ""
    if Path("/proc/cpuinfo").exists():
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return f"{model or platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def interruptions(folder: Path, what: str, work: Path, jobs: int) -> list[tuple[str, str, str, str]]:
    """Cold scans of `folder` stopped by SIGINT and by SIGKILL, INTERRUPTIONS of each at random points spread over
    an uninterrupted scan's time, each then scanned again with the cache it left. Printed for each: where it was
    stopped, the images it kept, those the terminal had shown decoded but the cache lost (the redone decoding
    that can be seen; what the workers had in hand at the moment is redone too), whether the second scan's report
    is the uninterrupted one's, the processes left, and the stopped and second scans' time against the
    uninterrupted one's."""
    cache = work / "interrupted-cache.sqlite"
    cache.unlink(missing_ok=True)
    whole, reference = lookalike_scan(folder, cache, jobs)
    rng, rows = random.Random(), []
    for signum in (signal.SIGINT, signal.SIGKILL):
        lost, ratios, same, left = [], [], True, 0
        for number in range(INTERRUPTIONS):
            delay = whole.seconds * (number + rng.random()) / INTERRUPTIONS
            cache.unlink(missing_ok=True)
            marker = f"{os.getpid()}-{signum.name}-{number}"
            stopped = stopped_scan(scan_command(folder, cache, jobs=jobs), signum, delay, marker)
            alive = survivors(marker)
            list(_orphans_ended(time.monotonic() + ORPHANS_GRACE))  # the stopped scan's, adopted: not the next's
            resumed, report = lookalike_scan(folder, cache, jobs)
            kept = reference["work"]["decoded"] - report["work"]["decoded"]
            lost.append(max(0, stopped.shown - kept))
            ratios.append((stopped.seconds + resumed.seconds) / whole.seconds)
            alike = stable_report(report) == stable_report(reference)
            same &= alike
            left += len(alive)
            print(f"interrupted, {what}: {signum.name} at {delay:.2f} s (in {stopped.stage}, {stopped.shown:,} shown "
                  f"decoded): {kept:,} images kept, {lost[-1]:,} shown but lost; the second scan decoded "
                  f"{report['work']['decoded']:,}; stopped + second scan = {ratios[-1]:.2f} × the uninterrupted "
                  f"{whole.seconds:.2f} s; report {'the same' if alike else 'OTHER'}"
                  f"; {len(alive)} processes left; load average {os.getloadavg()[0]:.1f}", flush=True)
        rows.append((f"lookalike scan stopped by {signum.name} at random, then again ({INTERRUPTIONS} times)", what,
                     f"{statistics.median(ratios):.2f} × the uninterrupted scan (median); reports "
                     f"{'the same' if same else 'OTHER'}; at most {max(lost):,} images shown decoded were lost; "
                     f"{left} processes left", ""))
    return rows


def stable_report(report: dict) -> dict:
    """A report less what differs between two scans with the same result: times, memory, the work done."""
    return {key: value for key, value in report.items() if key not in ("seconds", "peak_mb", "work")}


# --- the table ------------------------------------------------------------------------------------------


def stage_line(report: dict) -> str:
    """Seconds per stage, the work done, and the scanning process's peak memory (MB) by the end of each stage."""
    stages = ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in report["seconds"].items())
    peaks = ", ".join(f"{stage} {mb:,.0f}" for stage, mb in report["peak_mb"].items())
    return (f"{stages} (decoded {report['work']['decoded']:,}, verified {report['work']['verified']:,}); "
            f"peak MB by the end of: {peaks}")


def cold_rounds(collection: Path, cache: Path, jobs: int, rounds: int = COLD_ROUNDS
                ) -> tuple[list[Measured], list[Measured], float, dict]:
    """`rounds` of the decode floor and a cold scan (an empty cache at `cache`), so that a slow spell of the
    machine slows both alike: the floors, the scans, the median round's ratio and the last report. The floor
    goes first in even rounds and second in odd ones: a floor right after a scan took 2 % longer than one right
    after a floor (1.84 against 1.80 s, medians of 60 runs in random order), and what ran before a scan made no
    difference to it, so a floor always right after a scan would be slowed alone."""
    read_all(collection)  # into the OS's cache: neither may pay for reading from disk
    floors, colds = [], []
    for number in range(rounds):
        if number % 2 == 0:
            floors.append(decode_floor(collection, jobs))
        cache.unlink(missing_ok=True)
        cold, report = lookalike_scan(collection, cache, jobs)
        colds.append(cold)
        if number % 2 == 1:
            floors.append(decode_floor(collection, jobs))
    ratios = [cold.seconds / floor.seconds for floor, cold in zip(floors, colds, strict=True)]
    print("cold / floor, round by round (wall, then the CPU of every process): " + ", ".join(
        f"{c.seconds:.2f} / {f.seconds:.2f} s ({c.cpu_seconds:.2f} / {f.cpu_seconds:.2f} s)"
        for f, c in zip(floors, colds, strict=True)))
    quartiles = ", ".join(f"{q:.3f}" for q in statistics.quantiles(ratios))
    print(f"cold / floor: median {statistics.median(ratios):.3f} × (quartiles {quartiles}); CPU "
          f"{cpu_ratio(floors, colds):.3f} ×; cores busy {cores_busy(colds):.2f} and {cores_busy(floors):.2f}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return floors, colds, statistics.median(ratios), report


def start_method_rounds(collection: Path, cache: Path, jobs: int, rounds: int = START_METHOD_ROUNDS
                        ) -> list[tuple[str, str, str, str]]:
    """`rounds` of a cold scan with its workers forked from the forkserver and one with them spawned (as on
    Windows), each first in every other round; the median round's ratio, and whether every scan found the same
    groups."""
    print(f"start-method rounds from {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)  # a shared machine: how busy it was is part of the figure
    read_all(collection)
    runs: dict[str, list[Measured]] = {"forkserver": [], "spawn": []}
    groups: list[set[frozenset[str]]] = []
    for number in range(rounds):
        for method in (("forkserver", "spawn") if number % 2 == 0 else ("spawn", "forkserver")):
            cache.unlink(missing_ok=True)
            run, report = lookalike_scan(collection, cache, jobs, start_method=method)
            runs[method].append(run)
            groups.append(report_groups(report))
    forks, spawns = runs["forkserver"], runs["spawn"]
    ratios = [spawn.seconds / fork.seconds for fork, spawn in zip(forks, spawns, strict=True)]
    same = all(found == groups[0] for found in groups)  # every scan, either way, found the same groups
    print("spawn / forkserver cold scans, round by round (wall, then CPU): " + ", ".join(
        f"{s.seconds:.2f} / {f.seconds:.2f} s ({s.cpu_seconds:.2f} / {f.cpu_seconds:.2f} s)"
        for f, s in zip(forks, spawns, strict=True)))
    quartiles = ", ".join(f"{q:.3f}" for q in statistics.quantiles(ratios))
    cpu = statistics.median(s.cpu_seconds / f.cpu_seconds for f, s in zip(forks, spawns, strict=True))
    print(f"spawn / forkserver: median {statistics.median(ratios):.3f} × (quartiles {quartiles}); CPU {cpu:.3f} ×; "
          f"same groups: {same} ({len(groups[0])}); load average {os.getloadavg()[0]:.1f} at "
          f"{time.strftime('%H:%M', time.gmtime())} UTC", flush=True)
    what = f"{files_in(collection)} photos, cold"
    return [("lookalike scan, workers from the forkserver", what, f"{_median_seconds(forks):.2f} s", ""),
            ("lookalike scan, workers spawned (as on Windows)", what,
             f"{_median_seconds(spawns):.2f} s (= {statistics.median(ratios):.2f} × forkserver; CPU {cpu:.2f} ×; "
             f"{'same' if same else 'OTHER'} groups)", "")]


def cpu_ratio(floors: list[Measured], colds: list[Measured]) -> float:
    """The median round's ratio of the CPU the cold scan used to the CPU the floor used: what lookalike does
    beyond decoding, whatever the cores did meanwhile."""
    return statistics.median(c.cpu_seconds / f.cpu_seconds for f, c in zip(floors, colds, strict=True))


def cores_busy(runs: list[Measured]) -> float:
    """How many cores a run kept busy on average (its CPU over its wall time), the median run's."""
    return statistics.median(run.cpu_seconds / run.seconds for run in runs)


def files_in(folder: Path) -> int:
    return sum(1 for path in folder.iterdir() if not path.name.startswith("."))


def megabytes_in(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.iterdir()) / 1e6


def phone_rounds(phone: Path, work: Path, jobs: int) -> list[tuple[str, str, str, str]]:
    """The floor and cold scans of the phone-size JPEGs, as table rows."""
    floors, colds, ratio, report = cold_rounds(phone, work / "phone-cache.sqlite", jobs, PHONE_ROUNDS)
    print(f"cold stages, phone-size JPEGs: {stage_line(report)}", flush=True)
    return cold_rows(floors, colds, ratio, f"{files_in(phone)} phone-size JPEGs (12 MP, a sensor's noise), "
                     f"{megabytes_in(phone):.0f} MB", jobs)


def cold_rows(floors: list[Measured], colds: list[Measured], ratio: float, what: str,
              jobs: int) -> list[tuple[str, str, str, str]]:
    return [(f"decode floor ({jobs} processes, DCT-scaled JPEG)", what,
             f"{_median_seconds(floors):.2f} s ({cores_busy(floors):.2f} cores busy)",
             f"{max(floor.peak_mb for floor in floors):.0f} MB"),
            ("lookalike scan, cold (empty cache)", what,
             f"{_median_seconds(colds):.2f} s (= {ratio:.2f} × floor; CPU {cpu_ratio(floors, colds):.2f} × the "
             f"floor's; {cores_busy(colds):.2f} cores busy)", f"{max(cold.peak_mb for cold in colds):.0f} MB")]


def main() -> None:
    args = arguments()
    adopt_orphans()
    compile_lookalike()
    if args.million_only:  # to prepare the --million inputs ahead of a full run
        print_table(million_files(args.workdir / "million", args.jobs), args.jobs, results_file(args, "million"))
        return
    sizes = QUICK if args.quick else Sizes()
    work = args.workdir / ("quick" if args.quick else "full")
    started = time.perf_counter()
    collection, doubled, tiny = work / "collection", work / "collection-and-negatives", work / "tiny"
    build_collection(collection, sizes)
    if args.start_methods_only:
        print_table(start_method_rounds(collection, work / "collection-cache.sqlite", args.jobs), args.jobs,
                    results_file(args, "start-methods"))
        return
    phone = work / "phone"
    build_phone(phone, sizes)
    if args.phone_only:
        print_table(phone_rounds(phone, work, args.jobs), args.jobs, results_file(args, "phone"))
        return
    build_files(work / "files", sizes.files)
    bytes_record = None if args.quick else HERE / f"bytes-{time.strftime('%Y-%m-%d', time.gmtime())}.txt"
    if args.bytes_only:
        print_table(identical_files(collection, work / "files", work, args.jobs, bytes_record), args.jobs)
        return
    build_tiny(work / "small-files", sizes.small_files)
    photos, small_files = f"{files_in(collection)} photos", f"{sizes.small_files:,} tiny PNGs (generated)"
    if args.interruptions_only:
        print_table([*interruptions(collection, photos, work, args.jobs),
                     *interruptions(work / "small-files", small_files, work, args.jobs)], args.jobs,
                    results_file(args, "interruptions"))
        return
    build_negatives(collection, doubled)
    build_tiny(tiny, sizes.tiny)
    print(f"inputs ready in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}",
          flush=True)
    rows: list[tuple[str, str, str, str]] = []
    files = files_in(collection)
    what = f"{files} photos, {megabytes_in(collection):.0f} MB"

    cache = work / "collection-cache.sqlite"
    floors, colds, ratio, report = cold_rounds(collection, cache, args.jobs)
    if args.cold_only:
        return
    rows += cold_rows(floors, colds, ratio, what, args.jobs)
    rows += phone_rounds(phone, work, args.jobs)
    rows += start_method_rounds(collection, cache, args.jobs)
    print(f"cold stages: {stage_line(report)}", flush=True)
    warm, report = lookalike_scan(collection, cache, args.jobs)
    rows.append(("lookalike scan, warm (nothing changed)", what, f"{warm.seconds:.1f} s", f"{warm.peak_mb:.0f} MB"))
    floors, colds, ratio, report = cold_rounds(doubled, work / "negatives-cache.sqlite", args.jobs, DOUBLED_ROUNDS)
    rows += cold_rows(floors, colds, ratio, f"{files_in(doubled)} files: the photos and their negatives, "
                      f"{megabytes_in(doubled):.0f} MB", args.jobs)
    print(f"cold stages, photos and negatives: {stage_line(report)}", flush=True)
    histogram, report = lookalike_scan(collection, None, args.jobs, "--method", "histogram")
    rows.append(("lookalike scan --method histogram (no cache)", what, f"{histogram.seconds:.1f} s",
                 f"{histogram.peak_mb:.0f} MB"))
    print(f"histogram stages: {stage_line(report)}", flush=True)

    original = original_on_subset(collection, sizes.original_subset)
    per_file = original["seconds"]["resize"] / original["images"]
    per_pair = original["seconds"]["compare"] / max(1, original["combinations"])
    rows.append((f"original script as written, {original['images']} files", f"{original['combinations']:,} pairs",
                 f"{original['wall']:.1f} s (resize {original['seconds']['resize']:.1f}, compare "
                 f"{original['seconds']['compare']:.1f})", f"{original['peak_mb']:.0f} MB"))
    for label, count in ((what, files), (f"{ORIGINAL_RUN[0]:,} photos (the post's)", ORIGINAL_RUN[0])):
        pairs = count * (count - 1) // 2
        rows.append(("original script, extrapolated", f"{label}: {pairs:,} pairs",
                     f"{per_file * count + per_pair * pairs:,.0f} s ({per_pair * 1e6:.0f} µs per pair)", ""))
    rows.append(("original script, as reported in the post", f"{ORIGINAL_RUN[0]:,} photos",
                 f"{ORIGINAL_RUN[1]:,} s", ""))

    peer = imagededup(collection)
    rows.append(("imagededup PHash (peers' venv)", what, *((f"{peer.seconds:.1f} s", f"{peer.peak_mb:.0f} MB")
                                                         if isinstance(peer, Measured) else (peer, ""))))

    tiny_cache = work / "tiny-cache.sqlite"
    tiny_cache.unlink(missing_ok=True)
    tiny_cold, report = lookalike_scan(tiny, tiny_cache, args.jobs)
    rows.append(("lookalike scan, cold", f"{sizes.tiny:,} tiny PNGs (generated)", f"{tiny_cold.seconds:.1f} s",
                 f"{tiny_cold.peak_mb:.0f} MB"))
    print(f"tiny cold stages: {stage_line(report)}", flush=True)
    tiny_warm, report = lookalike_scan(tiny, tiny_cache, args.jobs)
    rows.append(("lookalike scan, warm re-scan (target ≤ 10 s)", f"{sizes.tiny:,} tiny PNGs, unchanged",
                 f"{tiny_warm.seconds:.1f} s", f"{tiny_warm.peak_mb:.0f} MB"))
    print(f"tiny warm stages: {stage_line(report)}", flush=True)
    rows.append(added_files(tiny, tiny_cache, sizes.tiny, args.jobs))
    baseline = measure([sys.executable, "-c", "import lookalike.cli"])
    per_file_mb = (tiny_warm.peak_mb - baseline.peak_mb) / sizes.tiny
    rows.append(("memory at 1,000,000 files (target ≤ 1 GB)",
                 f"extrapolated linearly from the warm {sizes.tiny:,}-file re-scan", "",
                 f"{baseline.peak_mb + per_file_mb * 1e6:,.0f} MB ({per_file_mb * 1e3:.1f} kB per file)"))

    rows += identical_files(collection, work / "files", work, args.jobs, bytes_record)
    rows += [*interruptions(collection, photos, work, args.jobs),
             *interruptions(work / "small-files", small_files, work, args.jobs)]
    search = search_benchmark(sizes.hashes)
    if args.million:
        rows += million_files(args.workdir / "million", args.jobs)
    print_table(rows, args.jobs, results_file(args, "speed"), "\n\nbench_search.py (hamming_pairs against faiss and "
                f"NumPy brute force):\n\n```\n{search.output.strip()}\n```\n")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the machine slows every line)")


def added_files(tiny: Path, cache: Path, count: int, jobs: int) -> tuple[str, str, str, str]:
    """A re-scan after adding 1,000 new files to the scanned ones: only the new are decoded and searched against
    the rest. The new files are removed afterwards, so the inputs stay as built."""
    added = tiny / "added"
    shutil.rmtree(added, ignore_errors=True)
    added.mkdir()
    _make_tiny(added, count, count + 1000)  # numbered after the others: different pictures
    try:
        run, report = lookalike_scan(tiny, cache, jobs)
    finally:
        shutil.rmtree(added)
    print(f"added 1,000 stages: {stage_line(report)}", flush=True)
    return ("lookalike scan after adding 1,000 new files", f"{count:,} tiny PNGs scanned before",
            f"{run.seconds:.1f} s (decoded {report['work']['decoded']:,})", f"{run.peak_mb:.0f} MB")


def million_files(work: Path, jobs: int) -> list[tuple[str, str, str, str]]:
    """The warm re-scan of 1,000,000 real files, measured, not extrapolated: its inputs take 4 GB and, the
    first time, a cold scan of about half an hour, so it runs only with --million (and reuses both)."""
    tiny, cache = work / "tiny", work / "tiny-cache.sqlite"
    build_tiny(tiny, 1_000_000)
    rows = []
    if not (work / ".scanned").exists():
        cache.unlink(missing_ok=True)
        cold, report = lookalike_scan(tiny, cache, jobs)
        rows.append(("lookalike scan, cold", "1,000,000 tiny PNGs (generated)", f"{cold.seconds:,.0f} s",
                     f"{cold.peak_mb:,.0f} MB"))
        print(f"million cold stages: {stage_line(report)}", flush=True)
        (work / ".scanned").touch()
    warm, report = lookalike_scan(tiny, cache, jobs)
    rows.append(("lookalike scan, warm re-scan (memory target ≤ 1 GB)", "1,000,000 tiny PNGs, unchanged",
                 f"{warm.seconds:.1f} s", f"{warm.peak_mb:,.0f} MB"))
    print(f"million warm stages: {stage_line(report)}", flush=True)
    return rows


def print_table(rows: list[tuple[str, str, str, str]], jobs: int, written: Path | None = None, after: str = "") -> None:
    """Print the table, and write it with the date, the machine and the command to `written` (the manual and
    the README quote that file)."""
    table = "\n".join(table_lines(rows, jobs)) + after
    print("\n" + table)
    if written is not None:
        written.write_text(f"{written.stem} from {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on {machine()}; "
                           f"load average {os.getloadavg()[0]:.1f} at the end\ncommand: python benchmarks/speed/run.py "
                           f"{' '.join(sys.argv[1:])}\n\n{table}\n", encoding="utf-8")
        print(f"\nwritten to {written.relative_to(REPO)}")


def table_lines(rows: list[tuple[str, str, str, str]], jobs: int) -> list[str]:
    return [f"{os.cpu_count()} cores, --jobs {jobs}, Python {sys.version.split()[0]}, lookalike {code_version()}", "",
            "| what | on | time | peak memory |", "|---|---|---|---|", *("| " + " | ".join(row) + " |" for row in rows)]


def results_file(args: argparse.Namespace, kind: str) -> Path | None:
    """Where a run's table goes: benchmarks/speed/KIND-DATE.txt, as the bytes rounds' (none for --quick)."""
    return None if args.quick else HERE / f"{kind}-{time.strftime('%Y-%m-%d', time.gmtime())}.txt"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "src")
    return git("rev-parse", "--short", "HEAD") + (" with uncommitted changes in src/" if dirty else "")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=REPO / "artifacts/speed", help="inputs and caches go here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--quick", action="store_true", help="small inputs, to check the benchmark itself")
    parser.add_argument("--million", action="store_true",
                        help="also measure a re-scan of 1,000,000 files (4 GB of inputs; half an hour the first time)")
    parser.add_argument("--million-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold-only", action="store_true", help="only the rounds of the decode floor and cold scans")
    parser.add_argument("--phone-only", action="store_true",
                        help="only the rounds of the decode floor and cold scans of the phone-size JPEGs")
    parser.add_argument("--start-methods-only", action="store_true",
                        help="only the rounds of cold scans with the workers forked from the forkserver and spawned")
    parser.add_argument("--bytes-only", action="store_true",
                        help="only --method bytes against jdupes and rmlint, and its re-scan")
    parser.add_argument("--interruptions-only", action="store_true",
                        help="only the scans stopped by SIGINT and SIGKILL, and their second scans")
    return parser.parse_args()


if __name__ == "__main__":
    main()
