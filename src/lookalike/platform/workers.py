"""How the workers (decoding, verification) start, set up in one place; and what every worker does first.

Where the system has multiprocessing's forkserver (`platforms.start_method`), the workers are forked from it: it
imports `lookalike.stages.decode` and `lookalike.engines.pool` once, and every worker is a fork of it that starts in
milliseconds. Only the standard library is imported here, so that a command can start it (`start_early`) before
importing the rest of the library: the two imports then run side by side on two cores instead of one after the
other. The decoders find local features with OpenCV, which the forkserver imports once (0.16 s) rather than each
worker at its first file. Under spawn (Windows, or when
`LOOKALIKE_START_METHOD` says so) each worker is a new interpreter that imports what it needs itself.
"""

from __future__ import annotations

import copy
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from lookalike.platform.platforms import start_method

PRELOADED = ["lookalike.stages.decode", "lookalike.engines.pool", "cv2", "numba"]  # the decoders, their own loop,
# and what only workers import where they find features (OpenCV) and fit them (numba, for `geometry.fit`)


def worker_context(deaf: bool = False) -> BaseContext:
    """The context workers start from; `deaf`: one whose processes start `deaf_to_interruptions`, for a pool
    that starts them itself, whenever it does (`concurrent.futures.ProcessPoolExecutor`, at its submits)."""
    context = get_context(start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(PRELOADED)
    if not deaf:
        return context
    context = copy.copy(context)  # the shared context stays as it is
    context.Process = _DEAF_PROCESSES[context.get_start_method()]
    return context


def _deaf_start(process: BaseProcess) -> None:
    with deaf_to_interruptions():
        type(process).__bases__[0].start(process)


def _deaf(process: type[BaseProcess]) -> type[BaseProcess]:
    name = f"Deaf{process.__name__}"
    return type(name, (process,), {"start": _deaf_start, "__module__": __name__, "__qualname__": name})


# Made at import and kept here, where pickle finds them in a spawned worker: its process object is sent to it.
_DEAF_PROCESSES = {method: _deaf(get_context(method).Process) for method in get_all_start_methods()}
globals().update({process.__name__: process for process in _DEAF_PROCESSES.values()})


def start_early() -> None:
    """Start the forkserver now, where workers come from one; it imports its modules while the caller goes on."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with deaf_to_interruptions():
            forkserver.ensure_running()


def ignore_interruptions() -> None:
    """A worker's first act: Ctrl-C reaches the whole process group, and the parent decides what it stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def deaf_to_interruptions() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C from their first instruction, as an ignored signal stays ignored in
    a new program (a spawned worker, the forkserver): one that came while they imported would print a traceback
    there. This process, meanwhile, ignores it too (the few milliseconds of a start); elsewhere than in the main
    thread, which alone may set a signal's handler, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
