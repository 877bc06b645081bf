"""A scan of the whole hostile corpus through the command line: it finishes, reports every broken file and
only those, groups the duplicates hidden among odd names and formats, and stays within its memory."""

from __future__ import annotations

import csv
import ctypes
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from lookalike import report, scan
from lookalike.pipeline import Progress, ScanOptions, Stage

from .conftest import open_rgb
from .hostile import Corpus, build_corpus, dng_bytes

MEMORY_BUDGET = 2 * 10**9  # bytes of resident memory the scan (its largest process) may reach
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _obey_file_permissions() -> None:
    """Run as root without the capabilities that bypass file permissions, as an ordinary user meets them."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop the capabilities that bypass file permissions")


def scan_in_a_process(args: list[str], folder: Path) -> tuple[int, str, int]:
    """Run `lookalike scan ARGS`; return its exit code, its standard error, and the peak resident memory of
    its largest process (the scan or one of its workers), in bytes."""
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "lookalike", "scan", *args], stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL,
                                   preexec_fn=_obey_file_permissions if os.geteuid() == 0 else None)
        watchdog = threading.Timer(600, process.kill)  # a scan blocked on a FIFO would otherwise hang the suite
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, (folder / "stderr").read_text(errors="replace"), usage.ru_maxrss * 1024


@contextmanager
def locked(corpus: Corpus):
    """An unreadable file and an unreadable folder in the corpus, for as long as the context lasts."""
    secret = corpus.root / "locked" / "secret.jpg"
    closed = corpus.root / "locked" / "closed folder"
    closed.mkdir(parents=True)
    shutil.copy(corpus.same_picture[0], secret)
    shutil.copy(corpus.same_picture[0], closed / "inside.jpg")
    os.chmod(secret, 0)
    os.chmod(closed, 0)
    corpus.broken[secret] = "cannot open: permission denied"
    corpus.broken[closed] = "cannot read folder: permission denied"
    try:
        yield
    finally:
        os.chmod(closed, 0o755)


def test_the_hostile_corpus_is_scanned_to_the_end(tmp_path, photos):
    corpus = build_corpus(tmp_path / "corpus", photos)
    with locked(corpus):
        code, stderr, peak = scan_in_a_process([str(corpus.root), "--json", str(tmp_path / "report.json"), "--csv",
                                                str(tmp_path / "report.csv"), "--no-cache", "--jobs", "2"], tmp_path)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert peak < MEMORY_BUDGET
    with open(tmp_path / "report.json", encoding="utf-8", errors="surrogateescape") as stream:
        document = report.read_json(stream)

    errors = {Path(error["path"]): error["reason"] for error in document["errors"]}
    assert set(errors) == set(corpus.broken)  # every broken file, and no valid one
    for path, reason in errors.items():
        assert reason.startswith(corpus.broken[path]), (path, reason)
    assert document["files"] == len(corpus.readable)

    groups = [{Path(member["path"]) for member in group["members"]} for group in document["groups"]]
    assert set(corpus.same_picture) in groups  # one picture in 20 formats, under names of any bytes
    assert set(corpus.raw_pair) in groups  # the DNG and the JPEG beside it
    assert len(groups) == 2

    with open(tmp_path / "report.csv", "rb") as stream:  # the CSV holds the names' bytes unchanged
        rows = list(csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")))
    assert {os.fsencode(row["path"]) for row in rows} == {os.fsencode(path) for group in groups for path in group}


class Meddler(Progress):
    """A progress observer that changes one file and deletes another as the decode stage starts."""

    def __init__(self, changed: Path, deleted: Path) -> None:
        self.changed, self.deleted = changed, deleted

    @contextmanager
    def stage(self, stage: Stage, total: int | None):
        if stage is Stage.DECODE:
            with open(self.changed, "ab") as handle:
                handle.write(b"appended while the scan ran")
            self.deleted.unlink()
        yield lambda _: None


def test_files_that_change_or_vanish_during_the_scan_are_reported(tmp_path, photos):
    for name in ("coins", "rocket", "coffee"):
        shutil.copy(photos[name], tmp_path / f"{name}.jpg")
    result = scan([tmp_path], ScanOptions(cache=None, jobs=1),
                  Meddler(tmp_path / "rocket.jpg", tmp_path / "coffee.jpg"))
    assert {problem.path: problem.reason for problem in result.problems} == {
        str(tmp_path / "rocket.jpg"): "changed during the scan",
        str(tmp_path / "coffee.jpg"): "vanished during the scan",
    }
    assert [record.path for record in result.files] == [str(tmp_path / "coins.jpg")]


def test_a_raw_read_without_rawpy_is_read_once_rawpy_is_installed(tmp_path, photos):
    camera = tmp_path / "camera"
    camera.mkdir()
    (camera / "IMG_0002.DNG").write_bytes(dng_bytes(open_rgb(photos["coffee"])))
    blocker = tmp_path / "without rawpy" / "rawpy"  # an importable rawpy that is not there, for every process
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('rawpy is not installed')\n")
    args = ["scan", str(camera), "--json", "-", "--cache", str(tmp_path / "cache.sqlite"), "-q"]
    without = subprocess.run([sys.executable, "-m", "lookalike", *args], capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(blocker.parent)}, check=True)
    [error] = json.loads(without.stdout)["errors"]
    assert error["reason"] == 'camera RAW (DNG) needs the optional rawpy package: pip install "lookalike[raw]"'
    with_rawpy = subprocess.run([sys.executable, "-m", "lookalike", *args], capture_output=True, text=True,
                                check=True)
    assert json.loads(with_rawpy.stdout)["errors"] == []  # the failure was not remembered against the file


def test_a_folder_of_nothing_but_broken_files_is_scanned(tmp_path):
    (tmp_path / "empty.jpg").touch()
    (tmp_path / "text.png").write_text("not a picture")
    result = scan([tmp_path], ScanOptions(cache=None, jobs=1))
    assert (len(result.files), len(result.groups), len(result.problems)) == (0, 0, 2)
