"""The command line: a thin layer over the library, with one-line errors and documented exit codes."""

from __future__ import annotations

import json
import os
import pstats
import shutil
import subprocess
import sys
from importlib.metadata import version


def lookalike(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lookalike", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_scan_writes_json_to_stdout(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    done = lookalike("scan", str(tmp_path), "--json", "-", "--no-cache", "-q")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["groups"][0]["kind"] == "exact"


def test_csv_and_summary(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    done = lookalike("scan", str(tmp_path), "--csv", str(tmp_path / "out.csv"), "--cache",
                     str(tmp_path / "c.sqlite"))
    assert done.returncode == 0, done.stderr
    assert "1 groups (1 exact, 0 near)" in done.stdout
    assert "decoded 1 images and verified 0 pairs" in done.stdout  # two files, one content
    assert (tmp_path / "out.csv").read_text().splitlines()[0].startswith("group,kind,path,match,relation")


def test_bad_arguments_get_one_line_and_exit_2(tmp_path):
    for args in (["scan", str(tmp_path / "missing")], ["scan", str(tmp_path), "--jobs", "0"], ["frobnicate"],
                 ["scan", str(tmp_path), "--threshold", "100"]):  # a histogram option without that method
        done = lookalike(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "error" in done.stderr


def test_a_damaged_cache_gets_one_line_that_says_what_to_do_and_exit_1(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    damaged = tmp_path / "cache.sqlite"
    damaged.write_bytes(b"not a database, whatever it once was" * 100)
    done = lookalike("scan", str(tmp_path), "--cache", str(damaged))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"lookalike: error: the cache {damaged} cannot be used (file is not a database); a damaged one can be "
        "moved aside, and --no-cache or another --cache scans without it"]
    assert damaged.read_bytes().startswith(b"not a database")  # left as it was


def test_a_scan_under_a_profiler_leaves_it_the_time_to_write_its_report(tmp_path, photos):
    """A scan exits without the interpreter's teardown, except when a profiler waits to report after it."""
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    profile = tmp_path / "scan.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "lookalike", "scan",
                           str(tmp_path), "--no-cache", "-q"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "decode_all" in {name for _, _, name in pstats.Stats(str(profile)).stats}


def test_demo_runs_and_finds_its_copies():
    done = lookalike("demo", "-q")
    assert done.returncode == 0, done.stderr
    done = lookalike("demo")
    assert "4 groups (1 exact, 3 near): 16 redundant copies" in done.stdout


def test_version_names_the_libraries_images_are_read_with():
    done = lookalike("--version")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"lookalike {version('lookalike')}"
    assert f"Pillow {version('pillow')}" in lines and f"NumPy {version('numpy')}" in lines
    assert any(line.startswith("pillow-heif ") for line in lines)
    assert any(line.startswith("rawpy (raw) ") for line in lines)  # an extra: its version or "not installed"


def test_shell_completion_is_click_s():
    """`_LOOKALIKE_COMPLETE=bash_source lookalike` prints the script a shell sources to complete commands."""
    done = subprocess.run([sys.executable, "-m", "lookalike"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "_LOOKALIKE_COMPLETE": "bash_source"})
    assert "_lookalike_completion" in done.stdout, done.stderr
