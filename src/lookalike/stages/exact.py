"""Stage 2, exact: find byte-identical files by the size → partial hash → full hash funnel.

Guarantees: two files get the same `content_id` only when their bytes are identical (16 bytes of SHA-256
over the whole file); a file is read in full only when another file has its size and its first and last blocks
(or, up to 2 × BLOCK bytes, its size), or when a file whose hash is known (from the cache) has its size; a known
file is never read again. A file that cannot be read here is reported and dropped, not guessed at; files are
opened as `walk.open_regular` opens them, so a FIFO that took a file's place since the walk is never read.

Reads go by device (`_Reader`): several threads at once where seeks cost nothing (SSDs, the page cache), one
file at a time in inode order on a spinning disk, where two reads at once would make the heads seek between them.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import cache
from typing import TYPE_CHECKING

import xxhash

from lookalike.stages.walk import FileRecords, Problem, describe_os_error, regular_descriptor, sized_descriptor

if TYPE_CHECKING:
    import numpy as np

BLOCK = 16 * 1024
CHUNK = 1024 * 1024
READ_THREADS = 4  # threads reading at once on a device that is not a spinning disk: see `_Reader`
READ_CHUNK = 64  # files one thread reads in a row: a task per file would cost more than reading a small one


def content_hash(data: bytes) -> bytes:
    """The identity of a file's bytes: the first 16 bytes of their SHA-256, which CPUs compute in hardware
    (2.3 times BLAKE2b's speed here, 1 GB/s)."""
    return hashlib.sha256(data).digest()[:16]


def hash_file(path: str) -> bytes:
    """`content_hash` of a file, read a chunk at a time: by descriptor, since a file object would cost more than
    reading a small file does."""
    descriptor, size = sized_descriptor(path)
    try:
        digest, read = hashlib.sha256(), 0
        # No more than the size it was opened with, and a byte: a 1 MB buffer for a 4 kB file costs twice its read
        while chunk := os.read(descriptor, wanted := CHUNK if read > size else min(CHUNK, size - read + 1)):
            digest.update(chunk)
            read += len(chunk)
            if len(chunk) < wanted:  # a short read: the end, on a regular file, without the empty read that would
                break  # say so (a syscall a file); a file grown since it was opened is read to its new end
    finally:
        os.close(descriptor)
    return digest.digest()[:16]


def partial_hash(path: str, size: int) -> bytes:
    """Hash of the first and the last block: cheap, and tells most same-size files apart. XXH3, not SHA-256: it
    only sorts files into those to hash in full (0.6 us for 32 kB against SHA-256's 25), and is kept nowhere."""
    descriptor = regular_descriptor(path)
    try:
        ends = xxhash.xxh3_128(os.read(descriptor, BLOCK))
        if size > 2 * BLOCK:
            os.lseek(descriptor, -BLOCK, os.SEEK_END)
            ends.update(os.read(descriptor, BLOCK))
    finally:
        os.close(descriptor)
    return ends.digest()


def find_identical(
    records: FileRecords,
    known: np.ndarray,
    on_progress: Callable[[int], None] = lambda _: None,
    threads: int | None = None,
    on_hashed: Callable[[dict[int, bytes]], None] = lambda _: None,
) -> tuple[dict[int, bytes], list[Problem]]:
    """Full content hashes for every file that might have a byte-identical twin among `records`.

    `known[i]` says whether record i's content hash is known already (from the cache): such files are not
    read, and not in the answer. Returns the other hashes by record index and the files that could not be
    read; `on_hashed` is given them as they come, a few at a time, so that they can be kept before the end.
    `threads` read at once (1: one file at a time, by device and inode); None: as `_Reader` chooses.
    """
    identities = records.identities()
    sizes = identities[:, 2]
    ends_first, in_full = _funnel(sizes, known)
    first = [i for bucket in ends_first for i in bucket]
    on_progress(len(records) - len(first) - len(in_full))
    reader = _Reader(records, identities, threads)
    ends = reader.hash_all(first, partial_hash)
    twins = [i for bucket in ends_first for same in _buckets((i for i in bucket if i in ends), ends.__getitem__)
             for i in same]
    on_progress(len(first) - len(twins))
    full = reader.hash_all(sorted(in_full + twins), lambda path, _: hash_file(path), on_progress, on_hashed)
    return full, reader.problems


def _funnel(sizes: np.ndarray, known: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """The files to read, by record index: buckets of same-size files to compare by their first and last blocks
    first, and the files to hash in full at once: those whose ends are the whole of them (up to 2 × BLOCK), and
    those of a size a known file has (a known file's ends are not kept). Files of a size no other file has are
    in neither. In NumPy, since a million files may have hundreds of thousands of sizes."""
    import numpy as np  # here, not above: the decoding workers import this module and need no NumPy

    order = np.argsort(sizes, kind="stable")  # walk order within each size
    ordered = sizes[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    counts = np.diff(np.append(starts, len(ordered)))
    shared = np.repeat(counts > 1, counts)
    any_known = np.repeat(np.logical_or.reduceat(known[order], starts) if len(order) else counts > 0, counts)
    unknown = shared & ~known[order]
    whole = unknown & (any_known | (ordered <= 2 * BLOCK))
    ends = unknown & ~whole
    buckets = np.split(order[ends], np.flatnonzero(np.diff(ordered[ends])) + 1) if ends.any() else []
    return [bucket.tolist() for bucket in buckets], np.sort(order[whole]).tolist()


class _Reader:
    """Hashes files, reading them by device: READ_THREADS at once on an SSD or a device Linux does not call
    rotational (and on every device elsewhere), one at a time in inode order on each spinning disk (where inode
    order roughly follows the data's, and reading two files at once makes the heads seek between them). Told
    a number of `threads`, it uses that many for every device (1: all in this order, device by device)."""

    def __init__(self, records: FileRecords, identities: np.ndarray, threads: int | None) -> None:
        self.records, self.threads, self.identities = records, threads, identities
        self.problems: list[Problem] = []

    def hash_all(self, indices: Sequence[int], hasher: Callable[[str, int], bytes],
                 on_progress: Callable[[int], None] = lambda _: None,
                 on_hashed: Callable[[dict[int, bytes]], None] = lambda _: None) -> dict[int, bytes]:
        """`hasher(path, size)` of each of these records, by index; a file that cannot be read is one of
        `problems`."""
        hashes: dict[int, bytes] = {}
        for found, problems in self._chunks_hashed(indices, hasher):
            hashes.update(found)
            self.problems += problems
            on_hashed(found)
            on_progress(len(found) + len(problems))
        return hashes

    def _chunks_hashed(self, indices: Sequence[int], hasher: Callable[[str, int], bytes]
                       ) -> Iterator[tuple[dict[int, bytes], list[Problem]]]:
        """`_hash_each` of each READ_CHUNK of every lane's files, in the order given (so that problems come in a
        stable order): in this thread when one file is read at a time (handing chunks to a thread cost 0.05 s
        for 100,000 files), else in a pool of threads for each lane."""
        lanes = [(threads, [order[start:start + READ_CHUNK] for start in range(0, len(order), READ_CHUNK)])
                 for threads, order in self._lanes(indices)]
        if [threads for threads, _ in lanes] == [1]:
            yield from (self._hash_each(chunk, hasher) for chunk in lanes[0][1])
            return
        with ExitStack() as pools:
            tasks = []
            for threads, chunks in lanes:
                pool = pools.enter_context(ThreadPoolExecutor(threads, thread_name_prefix="lookalike reads"))
                tasks += [pool.submit(self._hash_each, chunk, hasher) for chunk in chunks]
            try:
                for task in tasks:
                    yield task.result()
            except BaseException:  # interrupted: the pools' ends wait only for the reads under way
                for task in tasks:
                    task.cancel()
                raise

    def _lanes(self, indices: Sequence[int]) -> list[tuple[int, list[int]]]:
        """(threads, files in the order they read them) of each lane of reads; in NumPy, as `_funnel`."""
        import numpy as np

        chosen = np.asarray(indices, np.int64)
        devices, inodes = self.identities[chosen, 0], self.identities[chosen, 1]
        on_disk = chosen[np.lexsort((inodes, devices))]  # by device, then inode
        if self.threads is not None:
            return [(self.threads, (on_disk if self.threads == 1 else chosen).tolist())]
        # sorted(set(...)), not np.unique, whose plain call imports numpy.ma (15 ms)
        spinning = {device: spinning_disk(device) for device in sorted(set(devices.tolist()))}
        lanes = [(1, on_disk[self.identities[on_disk, 0] == device].tolist())
                 for device, rotational in spinning.items() if rotational]
        others = chosen[~np.isin(devices, [device for device, rotational in spinning.items() if rotational])]
        return [*([(READ_THREADS, others.tolist())] if len(others) else []), *lanes]

    def _hash_each(self, indices: Iterable[int], hasher: Callable[[str, int], bytes]
                   ) -> tuple[dict[int, bytes], list[Problem]]:
        hashes: dict[int, bytes] = {}
        problems: list[Problem] = []
        path, sizes = self.records.path, self.identities[:, 2]
        for i in indices:
            try:
                hashes[i] = hasher(path(i), int(sizes[i]))
            except OSError as error:
                problems.append(Problem(path(i), f"cannot read: {describe_os_error(error)}"))
        return hashes, problems


@cache
def spinning_disk(device: int) -> bool:
    """Whether Linux says the block device of `st_dev` (or the disk of a partition) is rotational. False where it
    cannot tell: other systems, and file systems on no one block device (network, overlay, tmpfs)."""
    if not sys.platform.startswith("linux"):
        return False
    folder = f"/sys/dev/block/{os.major(device)}:{os.minor(device)}"
    for flag in (f"{folder}/queue/rotational", f"{folder}/../queue/rotational"):
        try:
            with open(flag) as text:
                return text.read().strip() == "1"
        except OSError:
            continue
    return False


def _buckets(items: Iterable[int], key: Callable[[int], object]) -> Iterable[list[int]]:
    """Groups of two or more items sharing a key."""
    groups: dict[object, list[int]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return (group for group in groups.values() if len(group) > 1)
