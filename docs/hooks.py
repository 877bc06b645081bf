"""MkDocs hooks: the manual takes its tables from the files the benchmarks write.

`<!-- latest: GLOB -->` on a line of its own becomes the newest file matching GLOB (relative to the repository),
its headings moved below the section it is in, under a line naming the file: a benchmark that writes a new
results file is in the manual at the next build, with nothing pasted by hand. A build fails when no file matches,
unless the marker says `latest-if-any`: then the page says that the benchmark has not written one yet. Newest is
by the time of the last commit that touched the file (a fresh clone gives every file the same modified time),
then by name; files not committed yet come first. A `.txt` file is a benchmark's printed lines: each stays a line.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
LATEST = re.compile(r"^<!-- latest(?P<optional>-if-any)?: (?P<glob>\S+) -->$", re.MULTILINE)
HEADING = re.compile(r"^(#+) ", re.MULTILINE)


def on_page_markdown(markdown: str, **_: object) -> str:
    return LATEST.sub(lambda marker: _latest(marker, _level_at(markdown, marker.start())), markdown)


def _level_at(markdown: str, position: int) -> int:
    """The level of the section `position` is in (0 before any heading)."""
    headings = HEADING.findall(markdown[:position])
    return len(headings[-1]) if headings else 0


def _latest(marker: re.Match[str], level: int) -> str:
    found = newest(marker["glob"])
    if found is not None:
        return _included(found, level)
    if marker["optional"]:
        return f"*No results file yet (`{marker['glob']}`): the command above writes it.*"
    raise FileNotFoundError(f"no file matches {marker['glob']} (the manual includes the newest)")


def newest(glob: str) -> Path | None:
    """The newest file matching `glob` under the repository, if any."""
    matches = sorted(REPOSITORY.glob(glob))
    return max(matches, key=lambda path: (_committed_at(path), path.name)) if matches else None


def _committed_at(path: Path) -> float:
    found = subprocess.run(["git", "log", "-1", "--format=%ct", "--", path.name], cwd=path.parent,
                           capture_output=True, text=True, check=False).stdout.strip()
    return float(found) if found else float("inf")  # not committed: newer than anything committed


def _included(path: Path, level: int) -> str:
    text = HEADING.sub(lambda heading: f"{'#' * level}{heading[1]} ", path.read_text(encoding="utf-8"))
    if path.suffix == ".txt":  # a benchmark's printed lines: each a line of its own, and its tables as tables
        text = re.sub(r"^(?!\|)(.+)$", r"\1  ", text, flags=re.MULTILINE)
    return f"*From `{path.relative_to(REPOSITORY).as_posix()}`, as the benchmark wrote it:*\n\n{text}"
