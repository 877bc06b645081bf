"""What differs between Linux, macOS and Windows for lookalike's processes, each in one function with its fallback.

- How worker processes start (`start_method`): multiprocessing's forkserver where the system has it (Linux,
  macOS), else spawn (Windows); `LOOKALIKE_START_METHOD` chooses one, so that Windows's way runs on Linux too.
- A worker's memory limit (`limit_memory`): `RLIMIT_DATA`, which Linux enforces; macOS accepts it and ignores it,
  and Windows has no such limit, so there the limit is reported as not enforced (`memory_limit_enforced`) and
  only the pixel limit refuses decompression bombs.
- Peak resident memory (`peak_resident_mb`): `getrusage` (KiB on Linux, bytes on macOS); on Windows the peak
  working set, from psutil; None (not reported) where neither is to be had.
- How a dead worker's exit code reads (`describe_exit`): a signal on POSIX, an NTSTATUS code on Windows.
- Whether names that differ only in case name one file (`CASE_BLIND`): by default on Windows and macOS.
- What to install where PyPI has no wheel of an extra's package (`install_hint`): Ray and pyarrow on Windows on
  Arm (scripts/check_wheels.py).

Only the standard library is imported here (the forkserver's and every worker's first imports come through it),
and nothing Unix-only at module level: `resource` is imported where it is used, on the systems that have it.
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
_NTSTATUS = {  # the exceptions a crashing decoder ends with on Windows
    0xC0000005: "access violation",
    0xC000001D: "illegal instruction",
    0xC0000017: "out of memory",
    0xC00000FD: "stack overflow",
    0xC0000409: "stack buffer overrun",
    0xC0000374: "heap corruption",
}


def start_method() -> str:
    """How worker processes start: `LOOKALIKE_START_METHOD` if set, else forkserver where it exists, else spawn."""
    import multiprocessing

    chosen = os.environ.get(START_METHOD_VARIABLE, "")
    available = multiprocessing.get_all_start_methods()
    if chosen:
        if chosen not in START_METHODS or chosen not in available:
            offered = ", ".join(method for method in START_METHODS if method in available)
            raise ValueError(f"{START_METHOD_VARIABLE}={chosen!r}: this system offers {offered}")
        return chosen
    return "forkserver" if "forkserver" in available else "spawn"


def memory_limit_enforced() -> bool:
    """Whether `limit_memory` holds a worker to its limit on this system (Linux: yes; macOS, Windows: no)."""
    return not (WINDOWS or MACOS) and _resource() is not None


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
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20
    resource = _resource()
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if MACOS else peak / 2**10  # bytes on macOS, KiB elsewhere


@cache
def _resource() -> ModuleType | None:
    """The POSIX `resource` module, or None where there is none."""
    try:
        import resource
    except ImportError:
        return None
    return resource


def describe_exit(code: int | None, windows: bool = WINDOWS) -> str:
    """Why a worker that died with exit code `code` (multiprocessing's `exitcode`) died, in a few words."""
    status = None if code is None else code & 0xFFFFFFFF  # an NTSTATUS is unsigned; some report it signed
    if windows and status in _NTSTATUS:
        return f"{_NTSTATUS[status]}, exception 0x{status:08X}"
    if not windows and code is not None and code < 0:
        try:
            return f"signal {-code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def install_hint(package: str, command: str, system: str = sys.platform, machine: str = _platform.machine()) -> str:
    """How to install `package` for an extra (`command`), or why that cannot work on this system and machine."""
    if package in WITHOUT_WHEELS.get((system, machine), ()):
        return f"{package} has no wheels for this system and machine: install an x86-64 Python to use it"
    return command
