"""The pool of decoding workers: worker processes that decode files handed out in batches, and answer a few at
a time, each within its own memory and time limits.

Guarantees: every file given gets one answer, yielded as soon as it is in (one file that takes long holds no
other back from the caller, who may be keeping them against an interruption); a file on which a worker overruns
the time limit, or dies (a crash inside a C library, a decompression bomb past the memory limit), gets a
`Problem` that says so, and only that file: the worker is replaced and its other files are handed out again.
Workers are forked from the forkserver, which has the decoders loaded, or spawned (`workers.py`); this process
only hands out paths (or tasks: `Workers`, `run_task`) and receives answers, and never imports the decoders.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from types import ModuleType
from typing import Any

from lookalike.platform.platforms import describe_exit, limit_memory
from lookalike.platform.workers import deaf_to_interruptions, ignore_interruptions, worker_context
from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT, TOO_BIG, WORKER_MEMORY, Decoded
from lookalike.stages.walk import Problem

BATCH = 16
AHEAD = BATCH // 4  # files a worker has left when, while full batches remain, it is sent its next batch
HOLD = 0.25  # seconds a worker may hold answers before sending them; the time limit allows for it
_READY = "ready"


@dataclass
class _Worker:
    """One worker process, the files sent to it that it has not answered yet (in order), and its deadline.
    `on_file` is shared with the process: the index of the file it is on, or was on last."""

    process: BaseProcess
    connection: Connection
    on_file: ctypes.c_int64
    started: bool = False
    batch: deque[int] = field(default_factory=deque)
    deadline: float = float("inf")


def decode_all(
    paths: Sequence[str],
    jobs: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_progress: Callable[[int], None] = lambda _: None,
    work: Callable[[str, int], object] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[tuple[int, Decoded | Problem]]:
    """Decode `paths` on `jobs` worker processes, yielding (index into paths, result) for each as it comes in.

    `work(path, max_pixels)` is what a worker does with each file: `decode.decode_file` unless told otherwise (a
    module-level function, so that it can be sent to the workers; the default is found by the workers, which
    have the decoders loaded, so that this process never imports them). A file on which a worker spends more than
    `timeout` seconds, or during which it dies, gets a `Problem`; the worker is replaced and the files it was
    sent but had not answered are handed out again. Batches of up to BATCH files keep the traffic low (only
    thumbnails come back); a worker gets its next one before it runs out (`_hand_out`), and they shrink towards
    the end (`batches`), so that no worker is left with a long batch while the others idle. Answers come back a
    few at a time (`_worker_main`): each message wakes this process, which shares the cores with the workers.
    """
    with Workers(jobs, max_pixels, work, timeout) as workers:
        for index, result in workers.run(paths):
            on_progress(1)
            yield index, result


class Workers:
    """`jobs` worker processes doing `work` (as in `decode_all`) on one run of items after another: started as
    the first run needs them and kept until `close`, so that a stage that hands out many small runs (grouping's
    checks of a keeper's pairs) starts its processes once. An item is anything `work` takes that pickles."""

    def __init__(self, jobs: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                 work: Callable[[Any, int], object] | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.jobs, self.timeout = jobs, timeout
        context = worker_context()
        self.start = lambda: _start_worker(context, work, max_pixels)
        self.workers: list[_Worker] = []

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run(self, items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """(index into items, result) for every item, as the workers finish them; a run left before its end (an
        interruption) stops the workers, whose batches it no longer waits for."""
        pending = batches(len(items), self.jobs)
        try:
            while pending or any(worker.batch for worker in self.workers):
                _hand_out(pending, items, self.workers, self.jobs, self.timeout, self.start)
                busy = [worker for worker in self.workers if worker.batch]
                ready = wait([worker.connection for worker in busy],
                             timeout=max(0.0, min(worker.deadline for worker in busy) - time.monotonic()))
                for worker in busy:
                    yield from _collect(worker, worker.connection in ready, items, pending, self.workers,
                                        self.timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the workers: all killed at once, then each waited for."""
        for worker in self.workers:
            _kill(worker)
        for worker in self.workers:
            _stop(worker)
        self.workers = []


def run_task(task: Callable[[], object], _max_pixels: int) -> object:
    """A `work` for `Workers` whose items are tasks: each called, its answer sent back."""
    return task()


def batches(count: int, jobs: int) -> deque[range]:
    """Consecutive batches of `count` files: BATCH files, until a batch would be more than a quarter of each
    worker's share of what is left; then that quarter, down to single files."""
    pending, start = deque(), 0
    while start < count:
        size = max(1, min(BATCH, (count - start) // (4 * jobs)))
        pending.append(range(start, start + size))
        start += size
    return pending


def _hand_out(pending: deque[Sequence[int]], paths: Sequence[str], workers: list[_Worker], jobs: int,
              timeout: float, start: Callable[[], _Worker]) -> None:
    """Give each worker its next batch, starting workers up to `jobs` while batches wait.

    While full batches remain, a worker gets its next batch when it has AHEAD files left, so that it still
    has work while the scanning process is away from the pool (signatures and the cache take 60 ms a chunk,
    and a worker that finished its batch then waited for them). Once batches shrink, only an idle worker
    gets one: no worker holds files that another, idle, could decode.
    """
    ahead = AHEAD if pending and len(pending[0]) == BATCH else 0
    for worker in [worker for worker in workers if len(worker.batch) <= ahead]:
        if pending:
            _assign(worker, pending, paths, workers, timeout)
    while pending and len(workers) < jobs:
        worker = start()
        workers.append(worker)
        _assign(worker, pending, paths, workers, timeout)


def _assign(worker: _Worker, pending: deque[Sequence[int]], paths: Sequence[str], workers: list[_Worker],
            timeout: float) -> None:
    """Send `worker` the next batch. If it died, the batch waits for another worker; one that died idle is
    dropped here, one that died busy is found by `_collect`, which blames its file."""
    batch = pending.popleft()
    try:
        worker.connection.send([(index, paths[index]) for index in batch])
    except OSError as error:
        if not worker.started:
            raise RuntimeError("a decoding worker process could not start") from error
        pending.appendleft(batch)
        if not worker.batch:
            _stop(worker)
            workers.remove(worker)
        return
    if not worker.batch:
        worker.deadline = time.monotonic() + timeout + HOLD
    worker.batch.extend(batch)


def _collect(worker: _Worker, ready: bool, paths: Sequence[str], pending: deque[Sequence[int]],
             workers: list[_Worker], timeout: float) -> Iterator[tuple[int, Decoded | Problem]]:
    """The next message of a `ready` worker (its connection readable): a result, or that it started; if it died
    or overran its deadline, its file's problem, and it is gone. One message at a time: asking a connection
    whether it holds another costs a selector of its own, more than going round the loop again."""
    if ready:
        try:
            message = worker.connection.recv()
        except (EOFError, OSError):
            yield from _replace(worker, paths, pending, workers, _death_reason(worker))
            return
        worker.deadline = time.monotonic() + timeout + HOLD
        if message == _READY:  # the time limit is for decoding, not for starting a process
            worker.started = True
        else:
            for index, result in message:
                worker.batch.popleft()
                yield index, result
    if worker.batch and time.monotonic() > worker.deadline:
        yield from _replace(worker, paths, pending, workers, f"decoding took longer than {timeout:g} s")


def _replace(worker: _Worker, paths: Sequence[str], pending: deque[Sequence[int]], workers: list[_Worker],
             reason: str) -> Iterator[tuple[int, Problem]]:
    """Stop `worker`, blame the file it was on, and queue the rest of its files again (first in line): those
    after it, and those before it whose answers it held."""
    _stop(worker)
    workers.remove(worker)
    if not worker.started:
        raise RuntimeError(f"a decoding worker process could not start ({reason})")
    culprit = worker.on_file.value
    if culprit in worker.batch:
        worker.batch.remove(culprit)
    else:  # it died between files: the first it has not answered stands for them
        culprit = worker.batch.popleft()
    if worker.batch:
        pending.appendleft(worker.batch)
    yield culprit, Problem(paths[culprit], reason)


def _death_reason(worker: _Worker) -> str:
    worker.process.join(5)
    return f"decoder crashed ({describe_exit(worker.process.exitcode)})"


def _start_worker(context: BaseContext, work: Callable[[str, int], object] | None, max_pixels: int) -> _Worker:
    ours, theirs = context.Pipe()
    on_file = context.RawValue(ctypes.c_int64, -1)
    process = context.Process(target=_worker_main, args=(theirs, on_file, work, max_pixels), daemon=True)
    with deaf_to_interruptions():
        process.start()
    theirs.close()  # so that the worker's death reads as end of file here
    return _Worker(process, ours, on_file)


def _kill(worker: _Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()


def _stop(worker: _Worker) -> None:
    _kill(worker)
    worker.process.join()
    worker.connection.close()


def _worker_main(connection: Connection, on_file: ctypes.c_int64, work: Callable[[str, int], object] | None,
                 max_pixels: int) -> None:
    """A worker's life: answer each file of each batch, in order, until told to stop or orphaned.

    Answers are sent together: when AHEAD files of the batch are left (so that the next batch is sent in
    time), at its end, and once they have been held for HOLD seconds. So a file that is started has waited
    less than HOLD since the last message, and one that takes longer than the time limit keeps the next
    message from coming within timeout + HOLD of the last. Which file a worker that dies was on is in
    `on_file`, written before each file."""
    ignore_interruptions()
    _silence_stderr()  # C libraries print their complaints about a file; the file's Problem says it instead
    limit_memory(WORKER_MEMORY)
    work = work or _decoders().decode_file
    try:
        connection.send(_READY)
        while True:
            batch = connection.recv()
            answers, held_since = [], time.monotonic()
            for done, (index, path) in enumerate(batch, 1):
                on_file.value = index
                answers.append((index, _answer(work, path, max_pixels)))
                if len(batch) - done in (0, AHEAD) or time.monotonic() - held_since >= HOLD:
                    connection.send(answers)
                    answers, held_since = [], time.monotonic()
    except (EOFError, OSError):  # the parent is gone (finished, interrupted or killed): so is this worker
        return


def _answer(work: Callable[[str, int], object], path: str, max_pixels: int) -> object:
    try:
        return work(path, max_pixels)
    except MemoryError:
        return Problem(path, TOO_BIG)
    except Exception as error:  # `work` should not raise; if it does, the file says why
        return Problem(path, _decoders().describe_decode_error(error))


def _decoders() -> ModuleType:
    """`lookalike.stages.decode`, imported by a worker (a forkserver, where there is one, has loaded it already)."""
    from lookalike.stages import decode

    return decode


def _silence_stderr() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
