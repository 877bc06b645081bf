"""The Ray engine: the heavy stages of a scan on a Ray cluster, with the same results as on this machine.

- decode: Ray Data `map_batches` over the file list; each batch runs `pool.decode_all` on its worker, so a
  file that hangs or crashes its decoder is killed and reported there exactly as on one machine. The workers
  read the files by their paths: the files must be on a filesystem every node mounts at the same path.
- signatures: Ray Data `map_batches` of `images.signatures_of` over the decoded thumbnails; the workers send
  back only the signatures.
- join: the shards of `shards.sharded_join` (one per multi-index-hashing chunk key) as Ray tasks.
- verify: the evidence (`verify.verify`) of every candidate not already known computed on the workers, in
  chunks, with the thumbnails of the images involved sent once; this process then
  runs `verify.verify_all`'s sequential pass over that evidence (closest first, pairs already linked and
  crowded images skipped), so the matches are the local engine's, with no verifying here.

Results come back in order (decoded files as their batches finish, so that the driver keeps each batch's at
once) and every stage returns what its local function returns. Ray is connected on first use: to the running
cluster of this process, else the one at `address` (or RAY_ADDRESS), else a new local one.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence, Set
from dataclasses import dataclass, replace

import numpy as np
import ray
import ray.data

from lookalike.engines.pool import decode_all
from lookalike.engines.shards import Shard, ShardPlan, shard_pairs, sharded_join
from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT, Decoded
from lookalike.stages.images import ImageTable, signatures_of
from lookalike.stages.search import Candidate, Candidates
from lookalike.stages.verify import NORMAL, Evidence, Match, Strictness, evidence_of, verify_all
from lookalike.stages.walk import Problem

# A batch starts one decoding process on its worker (about 0.4 s): enough files to pay for it, few enough that
# the batches share the files out evenly.
FILES_PER_BATCH = range(64, 257)
SHARDS_PER_CPU = 4
CHUNKS_PER_CPU = 4


@dataclass(frozen=True, slots=True)
class RayEngine:
    address: str | None = None  # None: RAY_ADDRESS, or a local Ray started for this process
    shards: int | None = None  # shards of the join; None: SHARDS_PER_CPU per CPU of the cluster

    def decode_all(self, paths: Sequence[str], jobs: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                   on_progress: Callable[[int], None] = lambda _: None,
                   work: Callable[[str, int], object] | None = None,
                   timeout: float = DEFAULT_TIMEOUT) -> Iterator[tuple[int, Decoded | Problem]]:
        """`pool.decode_all`; `jobs` is not used: the cluster's CPUs decide how many files decode at once."""
        if not paths:
            return
        self._connect()
        files = [{"position": i, "path": os.fsencode(path)} for i, path in enumerate(paths)]
        batch = min(max(self._batch(len(files)), FILES_PER_BATCH.start), FILES_PER_BATCH.stop - 1)
        answers = _mapped(files, _decode_batch, batch, False, work=work, max_pixels=max_pixels, timeout=timeout)
        for position, result in _unpickled(answers, "position", "result"):
            on_progress(1)
            yield position, result

    def signatures_of(self, decoded: Sequence[Decoded]) -> list[bytes]:
        """`images.signatures_of`, a batch of thumbnails at a time on the workers."""
        if not decoded:
            return []
        self._connect()
        images = [{"position": i, "decoded": pickle.dumps(d)} for i, d in enumerate(decoded)]
        signatures = _mapped(images, _signature_batch, self._batch(len(decoded)), True)
        return [signature for _, signature in _unpickled(signatures, "position", "signature")]

    def join(self, queries: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray:
        """`search.hamming_join`, one Ray task per shard; the hashes go to the object store once."""
        self._connect()
        return sharded_join(queries, index, radius, self.shards or SHARDS_PER_CPU * _cpus(), _run_on_ray)

    def verify_all(self, images: ImageTable, candidates: Candidates,
                   apart: Set[tuple[int, int]] = frozenset(),
                   on_progress: Callable[[int], None] = lambda _: None, *, strictness: Strictness = NORMAL,
                   similar: bool = False,
                   evidence: MutableMapping[Candidate, Evidence] | None = None, jobs: int = 1) -> list[Match]:
        """`verify.verify_all`: the evidence not already known computed on the workers, in chunks, then the
        same sequential pass as on one machine (closest first, linked pairs and crowded images skipped) over it.
        `jobs` is not used: the cluster's CPUs decide how many candidates are verified at once."""
        evidence = {} if evidence is None else evidence
        unknown = [candidate for candidate in candidates if candidate not in evidence]
        if unknown:
            self._connect()
            rows = {row for candidate in unknown for row in (candidate.a, candidate.b)}
            images_ref = ray.put(replace(images, thumbs={row: images.thumbs[row] for row in rows}))
            size = self._batch(len(unknown))
            chunks = [unknown[start:start + size] for start in range(0, len(unknown), size)]
            pending = [_evidence_of.remote(images_ref, chunk, strictness) for chunk in chunks]
            for chunk, answers in zip(chunks, pending, strict=True):
                evidence.update(zip(chunk, ray.get(answers), strict=True))
                on_progress(len(chunk))
        return verify_all(images, candidates, apart, strictness=strictness, similar=similar, evidence=evidence)

    def _connect(self) -> None:
        if not ray.is_initialized():
            ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the scan shows its own progress
        logging.getLogger("ray.data").setLevel(logging.ERROR)

    @staticmethod
    def _batch(count: int) -> int:
        return max(1, -(-count // (CHUNKS_PER_CPU * _cpus())))


def _cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _decode_batch(batch: dict[str, np.ndarray], work: Callable[[str, int], object] | None, max_pixels: int,
                  timeout: float) -> dict[str, np.ndarray]:
    paths = [os.fsdecode(bytes(path)) for path in batch["path"]]
    results = [pickle.dumps(result) for _, result in decode_all(paths, 1, max_pixels, work=work, timeout=timeout)]
    return {"position": batch["position"], "result": np.array(results, dtype=object)}


def _signature_batch(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    signatures = signatures_of([pickle.loads(blob) for blob in batch["decoded"]])
    return {"position": batch["position"], "signature": np.array([pickle.dumps(s) for s in signatures], dtype=object)}


def _mapped(rows: list[dict[str, object]], function: Callable[..., dict[str, np.ndarray]], batch_size: int,
            in_order: bool, **options: object) -> ray.data.Dataset:
    """Ray Data `map_batches(function)` over `rows`, whose output keeps the rows' order if `in_order`.

    A dataset keeps the DataContext of its creation, so the order is asked for while creating it; without it,
    batches come back in the order they finish (seen on a loaded machine), not in the rows' order.
    """
    options_of_all = ray.data.DataContext.get_current().execution_options
    before, options_of_all.preserve_order = options_of_all.preserve_order, in_order
    try:
        return ray.data.from_items(rows).map_batches(function, batch_size=batch_size, fn_kwargs=options)
    finally:
        options_of_all.preserve_order = before


def _unpickled(answers: ray.data.Dataset, key: str, blob: str) -> Iterator[tuple[int, object]]:
    """(key, unpickled blob) of each row, as the batches come back."""
    for batch in answers.iter_batches(batch_size=None, batch_format="numpy"):
        for position, data in zip(batch[key], batch[blob], strict=True):
            yield int(position), pickle.loads(data)


def _run_on_ray(plan: ShardPlan, shards: Sequence[Shard], queries: np.ndarray,
                index: np.ndarray) -> Iterable[np.ndarray]:
    queries_ref, index_ref = ray.put(queries), ray.put(index)
    return ray.get([_shard_pairs.remote(plan, shard, queries_ref, index_ref) for shard in shards])


_shard_pairs = ray.remote(shard_pairs)


_evidence_of = ray.remote(evidence_of)
