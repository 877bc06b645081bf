"""Run duplicate finders on a collection made by make_collection.py and score them against its labels.

usage: score.py COLLECTION [--tool NAME|all] [--peers-python PATH]

Every tool's answer becomes groups: lookalike's groups as they are; the peers' duplicate pairs joined
into connected groups, because acting on pairs (keep one, remove the rest) treats them that way. A group
of n files asserts its n(n-1)/2 pairs. Ground truth: all pairs of files that share a label group.
README.md defines each column.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = ("imagededup-phash", "imagededup-dhash", "histogram", "difpy", "difpy-similar")
TOOLS = ("lookalike", *PEERS)
PEERS_PYTHON_VARIABLE = "LOOKALIKE_PEERS_PYTHON"
IMAGES = "images"


class ToolUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Labels:
    group_of: dict[str, str]  # file (relative to the collection) -> label group
    edit_of: dict[str, str]
    edit_kinds: list[str]
    lookalike_pairs: list[tuple[str, str]]


@dataclass(frozen=True)
class ToolAnswer:
    links: list[tuple[str, str]]  # files the tool puts together, relative to the collection
    unread: int  # files the tool could not read
    seconds: float


@dataclass(frozen=True)
class Score:
    tool: str
    predicted_pairs: int
    true_positives: int
    true_pairs: int
    lookalikes_merged: int
    lookalike_pairs: int
    largest_group: int
    unread: int
    seconds: float
    found_by_kind: dict[str, tuple[int, int]]  # kind -> (found, total)
    groups: int = 0  # groups of two files or more the tool reported
    mixed_groups: int = 0  # of them, those holding files of two pictures: what a bulk delete loses

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else None

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs

    @property
    def f1(self) -> float | None:
        precision = self.precision
        if not precision or not self.recall:
            return None
        return 2 * precision * self.recall / (precision + self.recall)


def load_labels(collection: Path) -> Labels:
    document = json.loads((collection / "labels.json").read_text())
    files = document["files"]
    return Labels(
        group_of={name: label["group"] for name, label in files.items()},
        edit_of={name: label["edit"] for name, label in files.items()},
        edit_kinds=document["edit_kinds"],
        lookalike_pairs=[(pair["a"], pair["b"]) for pair in document["lookalike_pairs"]],
    )


def run_lookalike(collection: Path) -> ToolAnswer:
    search_path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    executable = shutil.which("lookalike", path=search_path)
    if executable is None:
        raise ToolUnavailable("no `lookalike` command on PATH nor beside this Python")
    command = [executable, "scan", str(collection / IMAGES), "--json", "-", "--no-cache"]
    started = time.monotonic()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    try:
        report = json.loads(finished.stdout)
    except json.JSONDecodeError:
        raise ToolUnavailable(
            f"`{shlex.join(command)}` exited {finished.returncode}: {last_line(finished.stderr)}"
        ) from None
    root = collection.resolve()
    links = [
        (relative_to(root, group["members"][0]["path"]), relative_to(root, member["path"]))
        for group in report["groups"]
        for member in group["members"][1:]
    ]
    return ToolAnswer(links, len(report["errors"]), seconds)


def relative_to(root: Path, path: str) -> str:
    return Path(path).resolve().relative_to(root).as_posix()


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no message)"


def run_peer(tool: str, collection: Path, peers_python: str | None) -> ToolAnswer:
    if not peers_python:
        raise ToolUnavailable(f"no peers environment: pass --peers-python or set {PEERS_PYTHON_VARIABLE}")
    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "result.json"
        command = [peers_python, str(HERE / "peers_runner.py"), tool, str(collection / IMAGES), str(result_file)]
        started = time.monotonic()
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        if finished.returncode != 0:
            raise ToolUnavailable(f"peers runner exited {finished.returncode}: {last_line(finished.stderr)}")
        result = json.loads(result_file.read_text())
    links = [(f"{IMAGES}/{a}", f"{IMAGES}/{b}") for a, b in result["pairs"]]
    return ToolAnswer(links, result["unread"], seconds)


def connected_groups(files: Iterable[str], links: list[tuple[str, str]]) -> dict[str, str]:
    """Each file's group representative: files linked directly or through others share one."""
    parent = {file: file for file in files}

    def root(file: str) -> str:
        while parent[file] != file:
            parent[file] = parent[parent[file]]
            file = parent[file]
        return file

    for a, b in links:
        parent[root(a)] = root(b)
    return {file: root(file) for file in parent}


def pairs_within(sizes: Iterable[int]) -> int:
    return sum(size * (size - 1) // 2 for size in sizes)


def score(tool: str, labels: Labels, answer: ToolAnswer) -> Score:
    unknown = {file for link in answer.links for file in link} - labels.group_of.keys()
    if unknown:
        raise ValueError(f"{tool} reported {len(unknown)} files that are not in the collection, e.g. {min(unknown)}")
    predicted = connected_groups(labels.group_of, answer.links)
    predicted_sizes = Counter(predicted.values())
    true_sizes = Counter(labels.group_of.values())
    overlap = Counter((predicted[file], group) for file, group in labels.group_of.items())
    return Score(
        tool=tool,
        predicted_pairs=pairs_within(predicted_sizes.values()),
        true_positives=pairs_within(overlap.values()),
        true_pairs=pairs_within(true_sizes.values()),
        lookalikes_merged=sum(predicted[a] == predicted[b] for a, b in labels.lookalike_pairs),
        lookalike_pairs=len(labels.lookalike_pairs),
        largest_group=max(predicted_sizes.values()),
        unread=answer.unread,
        seconds=answer.seconds,
        found_by_kind=found_by_kind(labels, predicted, overlap),
        groups=sum(size > 1 for size in predicted_sizes.values()),
        mixed_groups=len({tool_group for (tool_group, group), count in overlap.items()
                          if count < predicted_sizes[tool_group]}),
    )


def found_by_kind(
    labels: Labels, predicted: dict[str, str], overlap: Counter[tuple[str, str]]
) -> dict[str, tuple[int, int]]:
    """Per edit kind: copies that share a tool group with their group's original, and originals that
    share one with at least one of their copies. Sharing a group with another copy only does not count:
    an orientation-tagged copy stores the same pixels as the rotated-270 one, and a tool blind to the tag
    pairs those two while missing both."""
    original_of = {group: file for file, group in labels.group_of.items() if labels.edit_of[file] == "original"}
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for file, group in labels.group_of.items():
        if group not in original_of:
            continue
        kind = labels.edit_of[file]
        total[kind] += 1
        if file == original_of[group]:
            found[kind] += overlap[(predicted[file], group)] >= 2
        else:
            found[kind] += predicted[file] == predicted[original_of[group]]
    return {kind: (found[kind], total[kind]) for kind in labels.edit_kinds if total[kind]}


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def summary_table(scores: list[Score]) -> str:
    lines = [
        "| tool | pairs | precision | recall | F1 | look-alikes merged | mixed groups | largest group | unread "
        "| time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {s.tool} | {s.predicted_pairs:,} | {percent(s.precision)} | {percent(s.recall)} | {percent(s.f1)} "
        f"| {s.lookalikes_merged} of {s.lookalike_pairs} | {s.mixed_groups} of {s.groups} "
        f"| {s.largest_group:,} | {s.unread} | {s.seconds:.0f} s |"
        for s in scores
    ]
    return "\n".join(lines)


def kind_table(scores: list[Score]) -> str:
    kinds = list(scores[0].found_by_kind)
    lines = [
        "| edit kind | files | " + " | ".join(s.tool for s in scores) + " |",
        "| --- | ---: |" + " ---: |" * len(scores),
    ]
    for kind in kinds:
        total = scores[0].found_by_kind[kind][1]
        cells = [percent(s.found_by_kind[kind][0] / total) for s in scores]
        lines.append(f"| {kind} | {total} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path, help="folder made by make_collection.py")
    parser.add_argument("--tool", choices=(*TOOLS, "all"), default="all")
    parser.add_argument(
        "--peers-python",
        default=os.environ.get(PEERS_PYTHON_VARIABLE),
        help=f"Python of the environment that has the peer tools (default: ${PEERS_PYTHON_VARIABLE})",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    labels = load_labels(args.collection)
    scores = []
    for tool in TOOLS if args.tool == "all" else (args.tool,):
        print(f"running {tool} ...", file=sys.stderr)
        try:
            if tool == "lookalike":
                answer = run_lookalike(args.collection)
            else:
                answer = run_peer(tool, args.collection, args.peers_python)
        except ToolUnavailable as reason:
            print(f"skipped {tool}: {reason}", file=sys.stderr)
            continue
        scores.append(score(tool, labels, answer))
    if not scores:
        sys.exit("no tool could be run")
    print(f"{args.collection}: {len(labels.group_of):,} files, {scores[0].true_pairs:,} true pairs\n")
    print(summary_table(scores))
    print("\nPer edit kind, share of files grouped with their original (for originals: with a copy):\n")
    print(kind_table(scores))


if __name__ == "__main__":
    main()
