"""What differs between Linux, macOS and Windows for lookalike's processes, one function per concern, each with
its fallback.

- How workers start (`start_method`): multiprocessing's forkserver where the system has it (Linux, macOS), spawn
  where not (Windows); `LOOKALIKE_START_METHOD` (`forkserver` or `spawn`) chooses, so Windows's way runs anywhere.
- A worker's memory limit (`limit_memory`): `RLIMIT_DATA` where `resource` exists and the kernel enforces it
  (not macOS, which accepts and ignores it; not Windows, which has no `resource`); elsewhere the limit is not set
  and `memory_limit_enforced` says so, and only the pixel limit refuses a decompression bomb.
- Peak resident memory (`peak_resident_mb`): `getrusage` on POSIX, the peak working set from psutil on Windows;
  None, for "unknown", where neither answers.
- How a file is opened to read (`READ_FLAGS`): without blocking on a FIFO where there are FIFOs, and in binary
  mode on Windows, whose `os.open` otherwise translates line ends and stops at Ctrl-Z.
- Why a worker died (`describe_exit`): a negative exit code is a signal on POSIX; on Windows a crash ends the
  process with its exception's NTSTATUS as the exit code.
- Whether names that differ only in case name one file (`CASE_BLIND`): by default on Windows and macOS.
- What to install where PyPI has no wheel of an extra's package (`install_hint`): Ray and pyarrow on Windows on
  Arm (scripts/check_wheels.py).

Only the standard library is imported at module level, and nothing Unix-only: the forkserver and every spawned
worker import this first, on every system.
"""

from __future__ import annotations

import os
import platform as _platform
import signal
import sys
from functools import cache
from types import ModuleType

START_METHOD_VARIABLE = "LOOKALIKE_START_METHOD"
START_METHODS = ("forkserver", "spawn")
WINDOWS, MACOS = sys.platform == "win32", sys.platform == "darwin"
CASE_BLIND = WINDOWS or MACOS  # names that differ only in case are one file there by default (NTFS, APFS)
WITHOUT_WHEELS = {("win32", "ARM64"): ("ray", "pyarrow")}  # (system, machine): packages PyPI has no wheels for
READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NTSTATUS = {0xC0000005: "access violation", 0xC00000FD: "stack overflow", 0xC0000409: "stack buffer overrun",
             0xC0000374: "heap corruption", 0xC000001D: "illegal instruction",
             0xC0000017: "out of memory"}  # a crashing decoder's, on Windows


def start_method() -> str:
    """`LOOKALIKE_START_METHOD` if set, else forkserver where the system has it, else spawn."""
    import multiprocessing

    available = multiprocessing.get_all_start_methods()
    chosen = os.environ.get(START_METHOD_VARIABLE)
    if chosen:
        if chosen not in START_METHODS or chosen not in available:
            offered = " or ".join(method for method in START_METHODS if method in available)
            raise ValueError(f"{START_METHOD_VARIABLE}={chosen!r} is not a start method here: use {offered}")
        return chosen
    return "forkserver" if "forkserver" in available else "spawn"


def memory_limit_enforced() -> bool:
    """Whether `limit_memory` holds a worker to its limit on this system."""
    return not MACOS and _resource() is not None


def limit_memory(limit: int) -> None:
    """Hold this process to `limit` bytes of data (heap and anonymous mappings), where the system enforces it."""
    if not memory_limit_enforced():
        return
    resource = _resource()
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def peak_resident_mb() -> float | None:
    """This process's peak resident memory so far, in MiB; None where the system does not say."""
    if WINDOWS:
        import psutil  # a dependency on Windows only, which has no getrusage

        return psutil.Process().memory_info().peak_wset / 2**20
    resource = _resource()
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if MACOS else peak / 2**10  # bytes on macOS, KiB elsewhere


def describe_exit(code: int | None, windows: bool = WINDOWS) -> str:
    """Why a worker whose multiprocessing `exitcode` is `code` died, in a few words."""
    if windows and code is not None and (status := code & 0xFFFFFFFF) in _NTSTATUS:  # unsigned, however reported
        return f"{_NTSTATUS[status]}, exception 0x{status:08X}"
    if not windows and code is not None and code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:  # a signal Python has no name for
            return f"signal {-code}"
    return f"exit code {code}"


@cache
def _resource() -> ModuleType | None:
    """The POSIX `resource` module, or None where there is none."""
    try:
        import resource
    except ImportError:
        return None
    return resource


def install_hint(package: str, command: str, system: str = sys.platform, machine: str = _platform.machine()) -> str:
    """How to install `package` for an extra (`command`), or why that cannot work on this system and machine."""
    if package in WITHOUT_WHEELS.get((system, machine), ()):
        return f"{package} has no wheels for this system and machine: install an x86-64 Python to use it"
    return command
