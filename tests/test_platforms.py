"""What differs between systems (`platforms.py`), and lookalike run as Windows would run it: workers spawned, and
the Unix-only modules unimportable in every process, through a real scan, plan, apply --action trash, undo,
review and demo."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lookalike.platform import platforms
from lookalike.platform.platforms import START_METHOD_VARIABLE, describe_exit, install_hint, start_method
from lookalike.platform.workers import worker_context
from lookalike.stages.exact import hash_file

from .conftest import open_rgb, save

UNIX_ONLY = ("resource", "fcntl", "pwd", "grp", "termios")
# installed first in every process (the command's via -c, each spawned worker's via sitecustomize)
BLOCKER = f"""import sys

class _Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {UNIX_ONLY!r}:
            raise ImportError(f"no module named {{name!r}} (blocked: Windows has none)")
        return None

sys.meta_path.insert(0, _Unimportable())
for _name in {UNIX_ONLY!r}:
    sys.modules.pop(_name, None)
"""


def test_a_crash_reads_as_a_signal_on_posix_and_as_an_exception_code_on_windows():
    assert describe_exit(-11, windows=False) == "signal 11, SIGSEGV"
    assert describe_exit(0xC0000005, windows=True) == "access violation, exception 0xC0000005"
    assert describe_exit(-1073741819, windows=True) == "access violation, exception 0xC0000005"  # signed, the same
    assert describe_exit(-1073741571, windows=True) == "stack overflow, exception 0xC00000FD"
    assert describe_exit(3, windows=True) == describe_exit(3, windows=False) == "exit code 3"


def test_an_extra_without_wheels_for_windows_on_arm_says_so_instead_of_a_pip_command_that_fails():
    command = 'pip install "lookalike[ray]"'
    assert install_hint("ray", command, "win32", "AMD64") == command
    assert install_hint("ray", command, "linux", "aarch64") == command
    assert "no wheels for this system" in install_hint("ray", command, "win32", "ARM64")


def test_files_are_opened_with_the_flags_the_system_has(monkeypatch):
    for posix_only in ("O_NONBLOCK", "O_CLOEXEC"):  # as on Windows, which has O_BINARY instead
        monkeypatch.delattr(os, posix_only)
    monkeypatch.setattr(os, "O_BINARY", 0x8000, raising=False)
    spec = importlib.util.spec_from_file_location("platforms_as_on_windows", platforms.__file__)
    as_on_windows = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(as_on_windows)  # a copy: the imported module keeps this system's flags
    assert as_on_windows.READ_FLAGS == os.O_RDONLY | 0x8000


def test_the_start_method_is_forkserver_where_there_is_one_unless_told(monkeypatch):
    monkeypatch.delenv(START_METHOD_VARIABLE, raising=False)
    assert start_method() == ("spawn" if sys.platform == "win32" else "forkserver")
    monkeypatch.setenv(START_METHOD_VARIABLE, "spawn")
    assert start_method() == "spawn"
    done = subprocess.run([sys.executable, "-c", "from lookalike.platform.workers import worker_context\n"
                           "print(worker_context().get_start_method())"], capture_output=True, text=True)
    assert done.stdout == "spawn\n", done.stderr


def test_spawned_workers_of_a_pool_that_starts_them_itself_ignore_ctrl_c_from_their_first_instruction(monkeypatch):
    """A Ctrl-C that came while a spawned verification worker imported would print a traceback there: the
    worker is to ignore it from its start, before any initializer runs, whenever the pool starts it."""
    monkeypatch.setenv(START_METHOD_VARIABLE, "spawn")
    for deaf in (False, True):
        with ProcessPoolExecutor(1, mp_context=worker_context(deaf=deaf)) as pool:
            at_start = pool.submit(signal.getsignal, signal.SIGINT).result()
        assert (at_start == signal.SIG_IGN) is deaf
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process hears it again


def test_a_start_method_there_is_not_is_a_bad_argument(tmp_path):
    done = lookalike_without_unix_modules(tmp_path, {START_METHOD_VARIABLE: "fork"}, "scan", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"Error: {START_METHOD_VARIABLE}='fork' is not a start method here: use "
                                   f"forkserver or spawn")


def test_scan_plan_trash_undo_review_and_demo_run_spawned_without_the_unix_only_modules(tmp_path, photos):
    folder = tmp_path / "photos"
    coffee, chelsea, rocket = (save(open_rgb(photos[name]), folder / f"{name}.jpg", quality=92)
                               for name in ("coffee", "chelsea", "rocket"))
    copy = folder / "backup" / "coffee.jpg"
    copy.parent.mkdir()
    copy.write_bytes(coffee.read_bytes())
    smaller = save(open_rgb(photos["chelsea"]).resize((300, 200)), folder / "chelsea-small.jpg", quality=85)
    before = {path: hash_file(path) for path in (coffee, chelsea, rocket, copy, smaller)}
    environment = {START_METHOD_VARIABLE: "spawn"}
    child = subprocess.run([sys.executable, "-c", "import resource"], capture_output=True, text=True,
                           env=blocked_environment(tmp_path, environment))  # as a spawned worker starts
    assert "ImportError: no module named 'resource' (blocked" in child.stderr

    report = tmp_path / "report.json"
    run = [("scan", str(folder), "--json", str(report), "--cache", str(tmp_path / "cache.db"), "-j", "2"),
           ("plan", str(report), "--action", "trash"), ("apply", str(report), "--action", "trash", "-q")]
    outputs = []
    for args in run:
        done = lookalike_without_unix_modules(tmp_path, environment, *args)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    assert json.loads(report.read_text())["worker_memory_mb"] is None  # without `resource`, not enforced: said so
    assert json.loads(report.read_text())["peak_mb"] == {}  # and peak memory unknown: left out, not made up
    assert "decoding workers' memory is not limited on this system" in outputs[0]
    groups = json.loads(report.read_text())["groups"]
    assert sorted(sorted(Path(m["path"]).name for m in group["members"]) for group in groups) == [
        ["chelsea-small.jpg", "chelsea.jpg"], ["coffee.jpg", "coffee.jpg"]]
    assert json.loads(report.read_text())["errors"] == []
    assert not copy.exists() and not smaller.exists() and coffee.exists() and chelsea.exists() and rocket.exists()

    done = lookalike_without_unix_modules(tmp_path, environment, "undo")
    assert done.returncode == 0, done.stderr
    assert {path: hash_file(path) for path in before} == before

    review = subprocess.Popen([sys.executable, "-c", lookalike_statement("review", str(report), "--no-browser", "-q")],
                              stdout=subprocess.PIPE, text=True, env=blocked_environment(tmp_path, environment))
    try:
        url = review.stdout.readline().split()[2]
        with urllib.request.urlopen(url.replace("/?", "/api/groups?"), timeout=30) as answer:
            assert json.loads(answer.read())["total"] == 2
    finally:
        review.kill()
        review.wait()
        review.stdout.close()

    done = lookalike_without_unix_modules(tmp_path, environment, "demo", "--folder", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "near keep" in done.stdout and "could not be read" not in done.stdout


def test_every_module_imports_without_the_unix_only_modules(tmp_path):
    # but Ray's engine: Ray's own psutil imports `resource` for its Linux backend (Windows has another)
    statement = ("import pkgutil, importlib, lookalike\n"
                 "names = [m.name for m in pkgutil.walk_packages(lookalike.__path__, 'lookalike.')]\n"
                 "for name in names:\n"
                 "    if name != 'lookalike.engines.ray_engine': importlib.import_module(name)\n"
                 "print(len(names))")
    done = python_without_unix_modules(tmp_path, f"{BLOCKER}\n{statement}")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 33  # every module was found


def lookalike_without_unix_modules(tmp_path: Path, environment: dict[str, str], *args: str
                                   ) -> subprocess.CompletedProcess:
    return python_without_unix_modules(tmp_path, lookalike_statement(*args), environment)


def lookalike_statement(*args: str) -> str:
    """The blocker, then `lookalike ARGS` through the command's own entry point."""
    return f"{BLOCKER}\nfrom lookalike.__main__ import main; sys.argv[1:] = {list(args)!r}; main()"


def python_without_unix_modules(tmp_path: Path, statement: str, environment: dict[str, str] | None = None
                                ) -> subprocess.CompletedProcess:
    """`statement` (which installs the blocker first, or not) run by a Python in whose every child process
    `resource`, `fcntl`, `pwd`, `grp` and `termios` are unimportable."""
    return subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True,
                          timeout=300, env=blocked_environment(tmp_path, environment or {}))


def blocked_environment(tmp_path: Path, environment: dict[str, str]) -> dict[str, str]:
    """This process's environment and `environment`, with a sitecustomize on PYTHONPATH that installs the blocker
    in every Python started with it."""
    site = tmp_path / "blocked-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **environment, "PYTHONPATH": path, "XDG_CACHE_HOME": str(tmp_path / "cache")}

