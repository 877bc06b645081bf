"""A scan interrupted by Ctrl-C or killed at any point, then run again: the second scan goes on where the first
stopped and reports what an uninterrupted scan reports, no worker process outlives its scan, and a cache killed
in the middle of its writes is read as it is."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from lookalike import pipeline
from lookalike.cache import Cache
from lookalike.pipeline import Progress, ScanOptions, Stage, scan

from .conftest import open_rgb
from .interrupting import scan_command, stopped_scan, survivors

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists() or os.name != "posix",
                                reason="reads the process table in /proc and drives the scan through a terminal")

UNSTABLE = ("seconds", "peak_mb", "work")  # what differs between two scans of the same files with the same result


def build_collection(root: Path, photos: dict[str, Path], count: int) -> None:
    """`count` real pictures (crops of the demo photos, each its own), a smaller copy of one in ten, a byte copy of
    one in twenty-five, and two files that do not decode."""
    sources = [open_rgb(path) for path in photos.values()]
    rng = random.Random(0)
    root.mkdir(parents=True)
    for number in range(count):
        source = sources[number % len(sources)]
        width, height = source.size
        left, top = rng.randrange(width * 2 // 3), rng.randrange(height * 2 // 3)
        picture = source.crop((left, top, left + width // 3, top + height // 3)).resize((160, 120))
        picture.save(root / f"p{number:04d}.jpg", quality=90)
        if number % 10 == 0:
            picture.resize((120, 90), Image.Resampling.LANCZOS).save(root / f"p{number:04d} small.jpg", quality=80)
        if number % 25 == 0:
            shutil.copyfile(root / f"p{number:04d}.jpg", root / f"p{number:04d} copy.jpg")
    (root / "truncated.jpg").write_bytes((root / "p0001.jpg").read_bytes()[:300])
    (root / "not a picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(500))


def finished_scan(root: Path, cache: Path, report: Path) -> dict:
    done = subprocess.run(scan_command(root, cache, report, jobs=2), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(report.read_text())


def stable(report: dict) -> dict:
    return {key: value for key, value in report.items() if key not in UNSTABLE}


def interrupt_and_resume(tmp_path: Path, photos: dict[str, Path], count: int, rounds: int, seed: int) -> None:
    """`rounds` scans sent SIGINT and as many sent SIGKILL, each at a random point of its own stretch of an
    uninterrupted scan's time (so that the points cover it, from the start to the last stage), each then scanned
    again with the cache it left."""
    root = tmp_path / "photos"
    build_collection(root, photos, count)
    started = time.monotonic()
    reference = finished_scan(root, tmp_path / "reference.sqlite", tmp_path / "reference.json")
    duration = time.monotonic() - started
    assert len(reference["groups"]) > 10 and len(reference["errors"]) == 2 and reference["work"]["verified"] > 0
    rng = random.Random(seed)
    for signum in (signal.SIGINT, signal.SIGKILL):
        for number in range(rounds):
            delay = duration * (number + rng.random()) / rounds
            cache, marker = tmp_path / f"{signum.name}-{number}.sqlite", uuid.uuid4().hex
            stopped = stopped_scan(scan_command(root, cache, jobs=2), signum, delay, marker)
            where = f"seed {seed}, {signum.name} after {delay:.2f} s, in {stopped.stage}: {stopped.stderr[-500:]}"
            assert survivors(marker) == [], where
            if stopped.code == 0:  # the scan ended before the signal came
                continue
            if stopped.code != -signal.SIGINT:  # which it is while Python starts, before any of lookalike runs
                assert "Traceback" not in stopped.stderr, where
            resumed = finished_scan(root, cache, tmp_path / "resumed.json")
            assert stable(resumed) == stable(reference), where
            kept = reference["work"]["decoded"] - resumed["work"]["decoded"]  # images not decoded again
            assert kept >= 0, where
            if signum is signal.SIGINT:
                if stopped.code == -signal.SIGINT:
                    assert stopped.stage == "starting", where
                    continue
                assert stopped.code == 130, where
                said = re.search(r"interrupted: (\d+) of (\d+) images decoded and kept in the cache; run the same "
                                 r"command to go on", stopped.stderr.replace("\n", "").replace(",", ""))
                if said is None:  # before decoding; or before the scan began, while the command started
                    assert ("interrupted: the files' hashes read so far are kept" in stopped.stderr
                            or stopped.stderr.strip() == "lookalike: interrupted"), where
                    continue
                finished, needed = int(said[1]), int(said[2])
                assert needed == reference["work"]["decoded"] + len(reference["errors"]), where
                assert kept <= finished <= kept + len(reference["errors"]), where  # failures are kept too
                assert finished >= stopped.shown, where  # all that was shown decoded is kept: nothing is lost
            else:
                assert stopped.code == -signal.SIGKILL, where
                # Lost: what the terminal showed decoded and the cache did not keep. That is at most the one chunk
                # the scan holds before writing it, one for all its workers (SIGNATURE_CHUNK files, fewer when
                # KEEP_SECONDS pass first). What the workers had in hand (in flight, at most pool.BATCH +
                # pool.AHEAD files each) was never shown, and is decoded again too.
                assert stopped.shown - kept <= pipeline.SIGNATURE_CHUNK, where


def test_scans_interrupted_or_killed_at_random_points_go_on_where_they_stopped(tmp_path, photos):
    interrupt_and_resume(tmp_path, photos, count=150, rounds=5, seed=random.randrange(10**6))


@pytest.mark.slow
def test_many_more_interruptions_of_a_larger_scan(tmp_path, photos):
    interrupt_and_resume(tmp_path, photos, count=600, rounds=20, seed=random.randrange(10**6))


def test_a_second_ctrl_c_ends_the_scan_at_once_and_what_was_kept_stays_sound(tmp_path, photos):
    root = tmp_path / "photos"
    build_collection(root, photos, 150)
    reference = finished_scan(root, tmp_path / "reference.sqlite", tmp_path / "reference.json")
    marker, cache = uuid.uuid4().hex, tmp_path / "cache.sqlite"
    stopped = stopped_scan(scan_command(root, cache, jobs=2), signal.SIGINT, 1.2, marker, again=0.01)
    assert stopped.code in (-signal.SIGINT, 130), stopped.stderr  # killed by the second, or done with the first
    assert "Traceback" not in stopped.stderr
    assert survivors(marker) == []
    assert stable(finished_scan(root, cache, tmp_path / "resumed.json")) == stable(reference)


@pytest.mark.slow
def test_a_scan_on_ray_interrupted_while_decoding_keeps_what_the_workers_returned(tmp_path, photos):
    pytest.importorskip("ray", reason='Ray is not installed here (pip install "lookalike[ray]")')
    root = tmp_path / "photos"
    build_collection(root, photos, 600)
    reference = finished_scan(root, tmp_path / "reference.sqlite", tmp_path / "reference.json")
    marker, cache = uuid.uuid4().hex, tmp_path / "cache.sqlite"
    on_ray = [*scan_command(root, cache, jobs=2), "--engine", "ray"]
    stopped = stopped_scan(on_ray, signal.SIGINT, 0.5, marker, after="decode")
    assert stopped.code == 130, stopped.stderr
    said = re.search(r"interrupted: (\d+) of (\d+) images", stopped.stderr.replace(",", ""))
    assert said is not None and int(said[1]) >= stopped.shown, stopped.stderr
    assert survivors(marker) == []
    resumed = finished_scan(root, cache, tmp_path / "resumed.json")
    assert stable(resumed) == stable(reference)
    assert reference["work"]["decoded"] - resumed["work"]["decoded"] >= int(said[1]) - len(reference["errors"])


WRITER = """
import sys
from lookalike.cache import Cache
with Cache(sys.argv[1]) as cache:
    for number in range(10**6):
        rows = [(f"/photos/{number}/{i}.jpg".encode(), 1, i, 1000, number, number.to_bytes(16, "big"))
                for i in range(int(sys.argv[2]))]
        cache.remember_file_rows(rows)
        print(number, flush=True)
"""


def test_a_cache_killed_during_its_writes_is_read_as_it_is_and_holds_whole_transactions(tmp_path, photos):
    """kill -9 of a process committing large transactions one after the other, its checkpoints running beside:
    the cache opens, is sound, and holds each transaction whole or not at all; and a scan then uses it."""
    path, rows = tmp_path / "cache.sqlite", 20000
    rng = random.Random()
    for _ in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(rows)], stdout=subprocess.PIPE,
                                  text=True)
        writer.stdout.readline()  # a first transaction is in
        time.sleep(rng.uniform(0, 0.5))
        writer.kill()
        writer.wait()
        with Cache(path) as cache:
            assert cache.db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            counts = cache.db.execute("SELECT mtime_ns, count(*) FROM files GROUP BY mtime_ns").fetchall()
        assert counts and all(count == rows for _, count in counts)  # whole transactions, numbered from 0 on
        assert [number for number, _ in counts] == list(range(len(counts)))
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM files")
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photos["coins"], folder / "a.jpg")
    shutil.copy(photos["coins"], folder / "b.jpg")
    assert [group.kind for group in scan([folder], ScanOptions(cache=path)).groups] == ["exact"]


class Recorder(Progress):
    """Each stage's total, what it counted as done, and what the cache answered."""

    def __init__(self) -> None:
        self.totals: dict[Stage, int | None] = {}
        self.done: dict[Stage, int] = {}
        self.answers: dict[Stage, int] = {}

    @contextmanager
    def stage(self, stage: Stage, total: int | None):
        self.totals[stage], self.done[stage], self.answers[stage] = total, 0, 0
        yield lambda count: self.done.__setitem__(stage, self.done[stage] + count)

    def answered(self, stage: Stage, count: int) -> None:
        self.answers[stage] += count


def test_the_progress_of_a_resumed_scan_counts_only_the_work_left(tmp_path, photos):
    root = tmp_path / "photos"
    build_collection(root, photos, 40)
    later = [path for path in root.iterdir() if path.name >= "p0020"]  # half the pictures, after a first scan
    aside = tmp_path / "aside"
    aside.mkdir()
    for path in later:
        path.rename(aside / path.name)
    options = ScanOptions(cache=tmp_path / "cache.sqlite", jobs=2)
    first = scan([root], options)
    assert first.verified > 0
    for path in later:
        (aside / path.name).rename(root / path.name)
    recorder = Recorder()
    second = scan([root], options, recorder)
    new_failures = len(second.problems) - len(first.problems)
    assert recorder.totals[Stage.DECODE] == recorder.done[Stage.DECODE] == second.decoded + new_failures  # the new
    assert recorder.answers[Stage.EXACT] == len(first.files)  # unchanged: answered
    assert recorder.done[Stage.EXACT] == recorder.totals[Stage.EXACT] - recorder.answers[Stage.EXACT]
    assert recorder.answers[Stage.VERIFY] > 0  # pairs of the first files: their evidence is known
    assert recorder.done[Stage.VERIFY] == recorder.totals[Stage.VERIFY] - recorder.answers[Stage.VERIFY]
