"""What differs between Linux, macOS and Windows for lookalike's processes, one function per concern, each with
its fallback.

- How workers start (`start_method`): multiprocessing's forkserver where the system has it (Linux, macOS), spawn
  where not (Windows); `LOOKALIKE_START_METHOD` (`forkserver` or `spawn`) chooses, so Windows's way runs anywhere.
- A worker's memory limit (`limit_memory`): `RLIMIT_DATA` where `resource` exists and the kernel enforces it
  (not macOS, which accepts and ignores it; not Windows, which has no `resource`); elsewhere the limit is not set
  and `memory_limit_enforced` says so, and only the pixel limit refuses a decompression bomb.
- Peak resident memory (`peak_resident_mb`): `getrusage` on POSIX, `GetProcessMemoryInfo` on Windows (ctypes);
  None, for "unknown", where neither answers.
- How a file is opened to read (`READ_FLAGS`): without blocking on a FIFO where there are FIFOs, and in binary
  mode on Windows, whose `os.open` otherwise translates line ends and stops at Ctrl-Z.
- Why a worker died (`describe_exit`): a negative exit code is a signal on POSIX; on Windows a crash ends the
  process with its exception's NTSTATUS as the exit code.

Only the standard library is imported, and nothing Unix-only at module level: the forkserver and every spawned
worker import this first, on every system.
"""

from __future__ import annotations

import os
import signal
import sys
from functools import cache
from types import ModuleType

START_METHOD_VARIABLE = "LOOKALIKE_START_METHOD"
START_METHODS = ("forkserver", "spawn")
WINDOWS = sys.platform == "win32"
READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NTSTATUS = {0xC0000005: "access violation", 0xC00000FD: "stack overflow", 0xC0000409: "stack buffer overrun",
             0xC0000374: "heap corruption", 0xC000001D: "illegal instruction"}  # a crashing decoder's, on Windows


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
    return sys.platform != "darwin" and _resource() is not None


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
        return _peak_working_set_mb()
    resource = _resource()
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB elsewhere


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


def _peak_working_set_mb() -> float | None:
    """The peak working set (Windows's resident memory) of this process, from psapi's GetProcessMemoryInfo."""
    import ctypes
    from ctypes import wintypes

    class Counters(ctypes.Structure):
        _fields_ = [("cb", wintypes.DWORD), ("PageFaultCount", wintypes.DWORD)] + [
            (name, ctypes.c_size_t) for name in ("PeakWorkingSetSize", "WorkingSetSize", "QuotaPeakPagedPoolUsage",
                                                 "QuotaPagedPoolUsage", "QuotaPeakNonPagedPoolUsage",
                                                 "QuotaNonPagedPoolUsage", "PagefileUsage", "PeakPagefileUsage")]

    counters = Counters(cb=ctypes.sizeof(Counters))
    kernel32, psapi = ctypes.WinDLL("kernel32"), ctypes.WinDLL("psapi")
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    if not psapi.GetProcessMemoryInfo(kernel32.GetCurrentProcess(), ctypes.byref(counters), counters.cb):
        return None
    return counters.PeakWorkingSetSize / 2**20
