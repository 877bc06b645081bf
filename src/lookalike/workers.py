"""How the workers (decoding, verification) start, set up in one place; and what every worker does first.

Where the system has multiprocessing's forkserver (`system.start_method`), the workers are forked from it: it
imports `lookalike.decode` and `lookalike.pool` once, and every worker is a fork of it that starts in
milliseconds; under spawn (Windows), each worker is a new interpreter that imports them itself. Only the
standard library is imported here, so that a command can start the forkserver (`start_early`) before importing
the rest of the library: the two imports then run side by side on two cores instead of one after the other.
The decoders need no NumPy, and the forkserver does not load it: it is ready in two thirds of the time (the first
decode waits for it); a verification worker imports NumPy itself.
"""

from __future__ import annotations

import signal
from multiprocessing import get_context
from multiprocessing.context import BaseContext

from lookalike.system import start_method

PRELOADED = ["lookalike.decode", "lookalike.pool"]  # the decoders, and the decoding workers' own loop


def worker_context() -> BaseContext:
    context = get_context(start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOADED)
    return context


def start_early() -> None:
    """Start the forkserver now, where workers come from one; it imports its modules while the caller goes on."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def ignore_interruptions() -> None:
    """A worker's first act: Ctrl-C reaches the whole process group, and the parent decides what it stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
