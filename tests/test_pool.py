"""The decoding workers: a file that hangs or crashes its decoder costs that file, never the scan."""

from __future__ import annotations

import shutil

from lookalike.decode import WORKER_MEMORY, Decoded, decode_all
from lookalike.walk import Problem

from .hostile import CRASH_TRIGGER, HANG_TRIGGER, crashing_decoder, greedy_decoder, hanging_decoder, raising_decoder


def copies(tmp_path, photos, names: list[str]) -> list[str]:
    paths = []
    for number, name in enumerate(names):
        path = tmp_path / f"{number:02d}-{name}.jpg"
        shutil.copy(photos["coins"], path)
        paths.append(str(path))
    return paths


def test_a_crashing_decoder_costs_one_file_and_the_rest_are_decoded(tmp_path, photos):
    names = ["ok"] * 5 + [CRASH_TRIGGER] + ["ok"] * 30 + [CRASH_TRIGGER] + ["ok"] * 3
    paths = copies(tmp_path, photos, names)
    progress = []
    results = list(decode_all(paths, jobs=2, work=crashing_decoder, on_progress=progress.append))
    assert [index for index, _ in results] == list(range(len(paths)))  # every file, in order
    assert sum(progress) == len(paths)
    for (_, result), name in zip(results, names, strict=True):
        if name == CRASH_TRIGGER:
            assert isinstance(result, Problem) and result.reason == "decoder crashed (signal 11, SIGSEGV)"
        else:
            assert isinstance(result, Decoded)


def test_a_hanging_decoder_is_stopped_at_the_time_limit(tmp_path, photos):
    names = ["ok"] * 3 + [HANG_TRIGGER] + ["ok"] * 20
    paths = copies(tmp_path, photos, names)
    results = dict(decode_all(paths, jobs=1, work=hanging_decoder, timeout=2))
    assert results[3] == Problem(paths[3], "decoding took longer than 2 s")
    assert all(isinstance(results[i], Decoded) for i in range(len(paths)) if i != 3)


def test_a_decoder_that_raises_or_wants_too_much_memory_gets_a_problem(tmp_path, photos):
    paths = copies(tmp_path, photos, ["a", "b"])
    reasons = [result.reason for _, result in decode_all(paths, jobs=1, work=raising_decoder)]
    assert reasons == ["damaged image: a decoder bug"] * 2
    [(_, greedy)] = decode_all(paths[:1], jobs=1, work=greedy_decoder)
    assert greedy == Problem(paths[0], f"refused: decoding needs more than the {WORKER_MEMORY // 2**20} MB a worker "
                                       "may use")


def test_no_files_no_workers():
    assert list(decode_all([], jobs=4)) == []
