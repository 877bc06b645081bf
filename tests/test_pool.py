"""The decoding workers: a file that hangs or crashes its decoder costs that file, never the scan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from lookalike.engines.pool import BATCH, Workers, batches, decode_all, run_task
from lookalike.platform.platforms import WINDOWS, memory_limit_enforced
from lookalike.stages.decoded import WORKER_MEMORY, Decoded
from lookalike.stages.walk import Problem

from .conftest import open_rgb
from .hostile import (
    HANG_TRIGGER,
    SLOW_SECONDS,
    SLOW_TRIGGER,
    greedy_decoder,
    hanging_decoder,
    lying_preview_dng,
    naive_raw_decoder,
    raising_decoder,
    slow_decoder,
)

SEGFAULT = "access violation, exception 0xC0000005" if WINDOWS else "signal 11, SIGSEGV"


def copies(tmp_path, photos, names: list[str]) -> list[str]:
    paths = []
    for number, name in enumerate(names):
        path = tmp_path / f"{number:02d}-{name}.jpg"
        shutil.copy(photos["coins"], path)
        paths.append(str(path))
    return paths


def test_a_decoder_crashing_in_c_code_costs_one_file_and_the_rest_are_decoded(tmp_path, photos):
    paths = copies(tmp_path, photos, ["ok"] * 40)
    hostile = lying_preview_dng(open_rgb(photos["chelsea"]).resize((64, 44)))
    for position in (5, 36):
        paths[position] = str(tmp_path / f"{position:02d}-hostile.dng")
        (tmp_path / f"{position:02d}-hostile.dng").write_bytes(hostile)
    progress = []
    results = list(decode_all(paths, jobs=2, work=naive_raw_decoder, on_progress=progress.append))
    assert sorted(index for index, _ in results) == list(range(len(paths)))  # every file, once
    assert sum(progress) == len(paths)
    for index, result in results:
        if index in (5, 36):
            assert result == Problem(paths[index], f"decoder crashed ({SEGFAULT})")
        else:
            assert isinstance(result, Decoded)


def test_a_worker_that_crashes_holding_its_next_batch_costs_one_file(tmp_path, photos):
    paths = copies(tmp_path, photos, ["ok"] * 200)  # full batches at first: each worker gets its next one early
    hostile = tmp_path / "hostile.dng"
    hostile.write_bytes(lying_preview_dng(open_rgb(photos["chelsea"]).resize((64, 44))))
    paths[BATCH - 2] = str(hostile)  # the first worker's next batch is on its way when it reaches this file,
    results = list(decode_all(paths, jobs=2, work=naive_raw_decoder))  # and it holds the answers since its last
    assert sorted(index for index, _ in results) == list(range(len(paths)))
    failed = [index for index, result in results if not isinstance(result, Decoded)]
    assert failed == [BATCH - 2]


def test_lookalikes_own_decoder_does_not_believe_the_lying_preview(tmp_path, photos):
    path = tmp_path / "hostile.dng"
    path.write_bytes(lying_preview_dng(open_rgb(photos["chelsea"]).resize((64, 44))))
    [(_, result)] = decode_all([str(path)], jobs=1)
    assert isinstance(result, Decoded) and result.format == "DNG"  # developed from the sensor data instead


def test_a_hanging_decoder_is_stopped_at_the_time_limit(tmp_path, photos):
    names = ["ok"] * 3 + [HANG_TRIGGER] + ["ok"] * 20
    paths = copies(tmp_path, photos, names)
    results = dict(decode_all(paths, jobs=1, work=hanging_decoder, timeout=2))
    assert results[3] == Problem(paths[3], "decoding took longer than 2 s")
    assert all(isinstance(results[i], Decoded) for i in range(len(paths)) if i != 3)


def test_the_time_limit_is_for_one_file_not_for_the_answers_a_worker_sends_together(tmp_path, photos):
    paths = copies(tmp_path, photos, [SLOW_TRIGGER] * 3 + ["ok"] * 9)  # the first batch: the three slow files
    timeout = 2 * SLOW_SECONDS - 0.2  # under the time the first batch takes, over each file's
    results = dict(decode_all(paths, jobs=1, work=slow_decoder, timeout=timeout))
    assert all(isinstance(results[i], Decoded) for i in range(len(paths)))


def test_a_decoder_that_raises_gets_a_problem(tmp_path, photos):
    paths = copies(tmp_path, photos, ["a", "b"])
    reasons = [result.reason for _, result in decode_all(paths, jobs=1, work=raising_decoder)]
    assert reasons == ["damaged image: a decoder bug"] * 2


@pytest.mark.skipif(not memory_limit_enforced(), reason="this system does not enforce a worker's memory limit")
def test_a_decoder_that_wants_too_much_memory_gets_a_problem(tmp_path, photos):
    paths = copies(tmp_path, photos, ["a"])
    [(_, greedy)] = decode_all(paths[:1], jobs=1, work=greedy_decoder)
    assert greedy == Problem(paths[0], f"refused: decoding needs more than the {WORKER_MEMORY // 2**20} MB a worker "
                                       "may use")


def test_files_go_out_in_batches_that_shrink_towards_the_end_so_the_workers_finish_together():
    handed_out = [list(batch) for batch in batches(1000, jobs=2)]
    assert [file for batch in handed_out for file in batch] == list(range(1000))  # every file once, in order
    sizes = [len(batch) for batch in handed_out]
    assert sizes[0] == BATCH and max(sizes) == BATCH
    assert sizes == sorted(sizes, reverse=True) and sizes[-8:] == [1] * 8  # the last a file each
    assert [list(batch) for batch in batches(3, jobs=2)] == [[0], [1], [2]]


def test_no_files_no_workers():
    assert list(decode_all([], jobs=4)) == []


def imported_by(statement: str) -> str:
    return subprocess.run([sys.executable, "-c", f"import sys; {statement}; print(sorted(sys.modules))"],
                          capture_output=True, text=True, check=True).stdout


def test_a_decoding_worker_imports_the_decoder_not_the_whole_library():
    imported = imported_by("import lookalike.stages.decode")
    assert "lookalike.stages.decode" in imported and "lookalike.pipeline" not in imported and "rich" not in imported
    # each worker imports the `lookalike` script again, which imports the command's module
    assert "lookalike.cli" not in imported_by("from lookalike.__main__ import main")


def test_the_package_offers_every_name_it_lists():
    import lookalike

    assert all(callable(getattr(lookalike, name)) for name in lookalike.__all__)


def test_workers_answer_run_after_run_from_the_same_processes():
    """A stage's many small runs of tasks (grouping's) start the workers once; each run answers every task."""
    with Workers(2, work=run_task) as workers:
        runs = [dict(workers.run([os.getpid] * count)) for count in (1, 40, 3)]
        started = {worker.process.pid for worker in workers.workers}
    assert [sorted(answers) for answers in runs] == [[0], list(range(40)), [0, 1, 2]]
    assert {pid for answers in runs for pid in answers.values()} <= started and len(started) == 2
    assert workers.workers == []  # stopped at the end of the block
