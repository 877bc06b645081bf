"""The `lookalike` command (and `python -m lookalike`).

Only the standard library is imported before the command runs: a decoding worker imports this module again
(multiprocessing re-runs the main script in each child), and must not import the whole command with it.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
from typing import NoReturn

DECODING_COMMANDS = ("scan", "demo")
# NumPy's OpenBLAS keeps a thread spinning after it loads and after every product it shares out, about 0.1 s of
# CPU each time (2.2 s → 2.13 s for a cold scan of 480 photos on 2 cores, where the decoding workers need that
# CPU); told to sleep at once, its threads still share the large products (`--method histogram`).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
YOUNG_OBJECTS = 100_000  # objects made between two collections of the youngest generation: with CPython's 700,
# a scan of 100,000 files (--method bytes) collected 433 times, 0.3 s of its 3.9 s, for objects that live to its end


def main() -> None:
    try:
        _main()
    except KeyboardInterrupt:  # before the command could take Ctrl-C over: while importing, or starting
        print("lookalike: interrupted", file=sys.stderr)
        _leave(130)


def _main() -> None:
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
    from lookalike.platform.platforms import start_method

    try:
        start_method()  # a bad LOOKALIKE_START_METHOD is a bad argument: said before any work
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(2)
    decoding = len(sys.argv) > 1 and sys.argv[1] in DECODING_COMMANDS
    if decoding and not _decodes_nothing(sys.argv[2:]):
        from lookalike.platform.workers import start_early

        start_early()  # its imports overlap the command's
    from lookalike.cli import main as run_command

    if not decoding:
        run_command()
        return
    try:
        run_command()
    except SystemExit as finished:
        if sys.getprofile() is not None or sys.gettrace() is not None:
            raise  # a profiler or debugger reports once the command is over: leave it the time
        _leave(int(finished.code or 0))


def _decodes_nothing(arguments: list[str]) -> bool:
    """Whether a scan's arguments ask for `--method bytes`, which starts no worker: its forkserver would import
    the decoders, on a core the scan could use, for nothing. Read as click reads them; a wrong guess only starts
    the forkserver later or in vain."""
    for at, argument in enumerate(arguments):
        if argument == "--":
            break
        if argument == "--method=bytes" or (argument == "--method" and arguments[at + 1:at + 2] == ["bytes"]):
            return True
    return False


def _leave(code: int) -> NoReturn:
    """Exit with `code` as `sys.exit` would, less the interpreter's teardown, which frees the modules one by one:
    60 ms here after a scan has imported NumPy, Pillow and the rest, 2 % of a cold scan of 480 photos. The exit
    handlers still run (an engine's shutdown among them) and the output is flushed; the files a scan writes are
    closed by then, and the operating system reclaims the rest."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed: by the command (`--json -`), or by the reader
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
