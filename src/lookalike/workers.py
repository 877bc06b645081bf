"""The process the workers (decoding, verification) are forked from, multiprocessing's forkserver, set up in one
place; and what every worker does first.

It imports `lookalike.decode` and `lookalike.pool` once, and every worker is a fork of it that starts in
milliseconds. Only the standard library is imported here, so that a command can start it (`start_early`) before
importing the rest of the library: the two imports then run side by side on two cores instead of one after the
other. The decoders need no NumPy, and the forkserver does not load it: it is ready in two thirds of the time (the
first decode waits for it); a verification worker imports NumPy itself.
"""

from __future__ import annotations

import signal
from multiprocessing import forkserver, get_context
from multiprocessing.context import ForkServerContext

PRELOADED = ["lookalike.decode", "lookalike.pool"]  # the decoders, and the decoding workers' own loop


def worker_context() -> ForkServerContext:
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def start_early() -> None:
    """Start the forkserver now; it imports its modules while the caller goes on."""
    worker_context()
    forkserver.ensure_running()


def ignore_interruptions() -> None:
    """A worker's first act: Ctrl-C reaches the whole process group, and the parent decides what it stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
