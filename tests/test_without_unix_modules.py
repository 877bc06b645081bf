"""Windows's lot on Linux: with `resource`, `fcntl`, `pwd`, `grp` and `termios` unimportable (in every process,
the spawned workers too) and the workers started by spawn, every module imports and the commands a person runs
(scan, plan, apply --action trash, undo, review, demo) work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from .reviewing import request, review_collection

UNIX_ONLY = ("resource", "fcntl", "pwd", "grp", "termios")
BLOCKER = f"""
import sys

class _AsOnWindows:
    def find_spec(self, name, path=None, target=None):
        if name in {UNIX_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _AsOnWindows())
for name in {UNIX_ONLY!r}:
    sys.modules.pop(name, None)
"""


@pytest.fixture
def windows_like(tmp_path) -> dict[str, str]:
    """An environment whose every Python process (through `sitecustomize`) cannot import the Unix-only modules,
    and whose workers are spawned."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), *sys.path]),
            "LOOKALIKE_START_METHOD": "spawn", "XDG_CACHE_HOME": str(tmp_path / "cache")}


def lookalike(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "lookalike", *args], capture_output=True, text=True, timeout=300,
                          env=environment)
    assert done.returncode == 0, done.stderr
    return done


def test_every_module_imports_without_the_unix_only_modules(windows_like):
    # but Ray's: its Linux wheel's psutil needs `resource` (its Windows wheel brings psutil's Windows backend)
    check = ("import pkgutil, importlib, sys, lookalike\n"
             "for module in pkgutil.walk_packages(lookalike.__path__, 'lookalike.'):\n"
             "    if module.name != 'lookalike.ray_engine':\n"
             "        importlib.import_module(module.name)\n"
             f"print(sorted(set(sys.modules) & set({UNIX_ONLY!r})))\n"
             "import resource")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=windows_like)
    assert done.stdout == "[]\n" and "No module named 'resource'" in done.stderr  # the blocker does block


def test_scan_plan_trash_undo_review_and_demo_run_without_them(windows_like, tmp_path, photos):
    root = tmp_path / "photos"
    review_collection(root, photos, tmp_path / "first.sqlite")
    before = {path: path.read_bytes() for path in root.rglob("*.jpg")}
    lookalike(windows_like, "scan", str(root), "--json", str(tmp_path / "report.json"), "-q")
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(g["kind"] for g in report["groups"]) == ["exact", "near"] and not report["errors"]
    assert report["worker_memory_mb"] is None and report["peak_mb"] == {}  # not enforced, not known: said so
    assert "3 files to send to the trash" in lookalike(windows_like, "plan", str(tmp_path / "report.json"),
                                              "--action", "trash").stdout
    lookalike(windows_like, "apply", str(tmp_path / "report.json"), "--action", "trash")
    assert len(list(root.rglob("*.jpg"))) == 2
    lookalike(windows_like, "undo")
    assert {path: path.read_bytes() for path in root.rglob("*.jpg")} == before
    served = subprocess.Popen([sys.executable, "-m", "lookalike", "review", str(tmp_path / "report.json"),
                               "--no-browser", "-q"], stdout=subprocess.PIPE, text=True, env=windows_like)
    try:
        url = served.stdout.readline().split()[2]
        status, body = request(url, "/api/groups?" + url.split("?")[1])
        served.send_signal(signal.SIGINT)
        assert served.wait(timeout=30) == 130
    finally:
        served.kill()
        served.wait()
        served.stdout.close()
    assert status == 200 and json.loads(body)["total"] == 2
    assert "copies" in lookalike(windows_like, "demo").stdout


def test_the_start_method_is_checked(tmp_path):
    environment = {**os.environ, "LOOKALIKE_START_METHOD": "fork"}
    done = subprocess.run([sys.executable, "-m", "lookalike", "scan", str(tmp_path)], capture_output=True,
                          text=True, env=environment)
    assert done.returncode == 2 and done.stderr.strip().endswith("LOOKALIKE_START_METHOD='fork': this system "
                                                                 "offers forkserver, spawn")


def test_the_workers_are_spawned_when_asked():
    environment = {**os.environ, "LOOKALIKE_START_METHOD": "spawn"}
    done = subprocess.run([sys.executable, "-c", "from lookalike.workers import worker_context\n"
                           "print(worker_context().get_start_method())"], capture_output=True, text=True,
                          env=environment)
    assert done.stdout == "spawn\n"
