"""The process the decoding workers are forked from (multiprocessing's forkserver), set up in one place.

It imports `lookalike.decode` once, and every worker is a fork of it that starts in milliseconds. Only the
standard library is imported here, so that a command can start it (`start_early`) before importing the
rest of the library: the two imports then run side by side on two cores instead of one after the other.
"""

from __future__ import annotations

from multiprocessing import forkserver, get_context
from multiprocessing.context import ForkServerContext

PRELOADED = ["lookalike.decode"]


def worker_context() -> ForkServerContext:
    context = get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


def start_early() -> None:
    """Start the forkserver now; it imports its modules while the caller goes on."""
    worker_context()
    forkserver.ensure_running()
