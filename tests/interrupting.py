"""A scan run as a person runs it, its progress on a terminal, stopped by a signal at a chosen moment: what the
terminal showed until then, and whether any process of the scan outlives it. For tests/test_resume.py and
benchmarks/speed (interruptions)."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

MARKER = "LOOKALIKE_TEST_SCAN"  # in the environment of a scan and so of every process it starts
GRACE = 10.0  # seconds a scan's processes may take to end after it has: a liveness bound, not a speed
STAGES = "walk|exact|decode|signatures|search|verify|local|group"


@dataclass
class Stopped:
    code: int
    stderr: str  # what the terminal showed, escape codes removed
    shown: int  # images the decode bar showed as decoded when the signal was sent
    stage: str  # the last stage the terminal showed then
    seconds: float  # from its start to its end


def scan_command(root: Path | list[Path], cache: Path, report: Path | None = None, jobs: int = 2) -> list[str]:
    roots = [str(path) for path in (root if isinstance(root, list) else [root])]
    return [sys.executable, "-m", "lookalike", "scan", *roots, "--cache", str(cache), "--jobs", str(jobs),
            *(["--json", str(report), "-q"] if report else [])]


def stopped_scan(command: list[str], signum: int, delay: float, marker: str, again: float | None = None,
                 after: str | None = None) -> Stopped:
    """`command` (a scan), its progress shown on a terminal, sent `signum` `delay` seconds after it started, or
    after the terminal first showed the stage `after` (and once more `again` seconds later). SIGINT goes to the
    whole process group of the scan, as Ctrl-C on a terminal does; another signal, to the scan's process."""
    import pty

    terminal, its_end = pty.openpty()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=its_end,
                               env={**os.environ, MARKER: marker}, start_new_session=True)
    os.close(its_end)

    def send() -> None:
        if process.poll() is not None:
            return
        if signum == signal.SIGINT:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)

    shown, at_signal, launched = b"", None, time.monotonic()
    started = launched if after is None else None
    try:
        while True:
            if started is None and re.search(rf"{after} +[━╸╺]", plain(shown)):
                started = time.monotonic()
            if at_signal is None and started is not None and time.monotonic() - started >= delay:
                send()
                at_signal = len(shown)
            if again is not None and at_signal is not None and time.monotonic() - started >= delay + again:
                send()
                again = None
            if select.select([terminal], [], [], 0.005)[0]:
                try:
                    data = os.read(terminal, 65536)
                except OSError:  # the scan and all its processes closed the terminal
                    break
                if not data:
                    break
                shown += data
            elif process.poll() is not None and at_signal is not None:
                break
        code = process.wait(timeout=60)
    finally:
        os.close(terminal)
    seconds = time.monotonic() - launched
    before = plain(shown[:at_signal if at_signal is not None else len(shown)])
    decoded = [int(count) for count in re.findall(r"decode +[━╸╺ ]*(\d+)/\d+", before)]
    stages = re.findall(rf"({STAGES}) +[━╸╺]", before)
    return Stopped(code, plain(shown), max(decoded, default=0), stages[-1] if stages else "starting", seconds)


def plain(data: bytes) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", data.decode(errors="replace")).replace("\r", "\n")


def processes_with(marker: str) -> list[int]:
    """The processes alive (not zombies) whose environment holds the marker."""
    found = []
    for folder in Path("/proc").iterdir():
        if not folder.name.isdigit():
            continue
        try:
            if f"{MARKER}={marker}".encode() in (folder / "environ").read_bytes().split(b"\0"):
                found.append(int(folder.name))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def survivors(marker: str) -> list[int]:
    """The scan's processes still alive GRACE seconds after it ended (or none, as soon as none is)."""
    give_up = time.monotonic() + GRACE
    while (alive := processes_with(marker)) and time.monotonic() < give_up:
        time.sleep(0.05)
    return alive
