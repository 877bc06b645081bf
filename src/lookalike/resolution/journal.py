"""The journal of one `apply`: a JSON-lines file that holds the whole plan first, then one line per event.

Guarantees: a step's "begin" line (with everything needed to finish or reverse it, such as its trash slot) is
on disk, fsync'ed, before the step touches any file, and so is every folder lookalike is about to create; a
line cut off by a crash is ignored, and the file is cut back to its last whole line before more is written.
Paths keep any bytes (lone surrogates, JSON `\\udcXX` escapes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from platformdirs import user_state_dir

FORMAT = 1


def journal_folder() -> Path:
    return Path(user_state_dir("lookalike")) / "journals"


def new_journal_path(action: str) -> Path:
    return journal_folder() / f"{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}-{action}.jsonl"


def last_journal() -> Path | None:
    """The journal of the most recent apply in the default folder."""
    found = sorted(journal_folder().glob("*.jsonl")) if journal_folder().is_dir() else []
    return found[-1] if found else None


class Journal:
    """An open journal; `header` is its first line, `events` every whole line after it."""

    def __init__(self, path: Path, header: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.path, self.header, self.events = path, header, events
        self._stream = open(path, "ab")  # noqa: SIM115 (closed by close())

    @classmethod
    def create(cls, path: str | os.PathLike[str], header: dict[str, Any]) -> Journal:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as stream:
            stream.write(_line({"lookalike-journal": FORMAT, **header}))
            stream.flush()
            os.fsync(stream.fileno())
        return cls(path, header, [])

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Journal:
        path = Path(path)
        data = path.read_bytes()
        whole = data[:data.rfind(b"\n") + 1]
        if len(whole) < len(data):
            with open(path, "r+b") as stream:
                stream.truncate(len(whole))
        lines = list(_parse(whole))
        if not lines or lines[0].get("lookalike-journal") != FORMAT:
            raise ValueError(f"{path} is not a lookalike journal")
        header = {key: value for key, value in lines[0].items() if key != "lookalike-journal"}
        return cls(path, header, lines[1:])

    def write(self, event: dict[str, Any], durable: bool = True) -> None:
        """Append `event`; with `durable` it is on disk when this returns (write-ahead lines)."""
        self._stream.write(_line(event))
        self._stream.flush()
        if durable:
            os.fsync(self._stream.fileno())
        self.events.append(event)

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue  # a line torn by a crash mid-write
