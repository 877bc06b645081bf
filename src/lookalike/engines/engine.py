"""Where the heavy stages run: on this machine (the default) or on a Ray cluster.

An engine decides only where work runs, never what it computes: every engine runs the same stage functions
(`pool.decode_all`, `images.signatures_of`, `search.hamming_join`, `verify.verify_all`) and must return what
they return (`decode_all` the same answers, in any order), so a scan gives the same report on any engine. Ray is
imported only when the Ray engine is asked for, so the local engine needs nothing beyond the package's own
dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping, Sequence, Set
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lookalike.engines.pool import decode_all
from lookalike.platform.platforms import install_hint
from lookalike.stages.decoded import Decoded
from lookalike.stages.images import ImageTable, signatures_of
from lookalike.stages.search import Candidate, Candidates, hamming_join
from lookalike.stages.verify import Evidence, Match, Strictness, verify_all
from lookalike.stages.walk import Problem

LOCAL, RAY = "local", "ray"
ENGINES = (LOCAL, RAY)
RAY_INSTALL = 'pip install "lookalike[ray]"'


class Engine(Protocol):
    """The stage functions a scan hands to its engine; each has the signature of the function it stands for."""

    def decode_all(self, paths: Sequence[str], jobs: int, max_pixels: int, on_progress: Callable[[int], None],
                   work: Callable[[str, int], object] | None = ..., timeout: float = ...
                   ) -> Iterator[tuple[int, Decoded | Problem]]: ...

    def signatures_of(self, decoded: Sequence[Decoded]) -> list[bytes]: ...

    def join(self, queries: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray: ...

    def verify_all(self, images: ImageTable, candidates: Candidates, apart: Set[tuple[int, int]],
                   on_progress: Callable[[int], None], *, strictness: Strictness, similar: bool,
                   evidence: MutableMapping[Candidate, Evidence] | None = None, jobs: int = 1) -> list[Match]: ...


@dataclass(frozen=True, slots=True)
class LocalEngine:
    """This machine: decoding in `jobs` worker processes, the rest in this process."""

    decode_all = staticmethod(decode_all)
    signatures_of = staticmethod(signatures_of)
    join = staticmethod(hamming_join)
    verify_all = staticmethod(verify_all)


def engine_named(name: str, address: str | None = None) -> Engine:
    """The engine called `name` (one of ENGINES); `address` is the Ray cluster's (None: Ray's own default)."""
    if name == LOCAL:
        if address is not None:
            raise ValueError("an address is for --engine ray")
        return LocalEngine()
    if name != RAY:
        raise ValueError(f"unknown engine {name!r}: expected one of {', '.join(ENGINES)}")
    try:
        from lookalike.engines.ray_engine import RayEngine
    except ImportError as error:
        raise ValueError(f"the ray engine needs Ray ({error}): {install_hint('ray', RAY_INSTALL)}") from error
    return RayEngine(address)
