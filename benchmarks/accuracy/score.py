"""Run duplicate finders on a collection made by make_collection.py and score them against its labels.

usage: score.py COLLECTION [--tool NAME|all] [--peers-python PATH]

Every tool's answer becomes groups: lookalike's groups as they are; the peers' duplicate pairs joined
into connected groups, because acting on pairs (keep one, remove the rest) treats them that way. A group
of n files asserts its n(n-1)/2 pairs. Ground truth: all pairs of files that share a label group.
Besides pairwise precision and recall: recall and precision per edit family, the look-alike pairs (hard
negatives) put in one group, and the share of groups holding a member that is not a copy of the keeper.
README.md defines each column.
"""

from __future__ import annotations

import argparse
import dataclasses
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
BOX_AGREES = 0.8  # intersection over union of a reported box with the recorded one
# Kinds whose frame is their original's, fraction for fraction: a box in theirs is a box in the original's.
SAME_FRAME_KINDS = frozenset(
    (
        "original",
        "natural-copy",
        "format",
        "recompress",
        "resize",
        "thumbnail",
        "filter",
        "noise",
        "watermark",
        "overlay-text",
    )
)
Box = tuple[float, float, float, float]


class ToolUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Labels:
    group_of: dict[str, str]  # file (relative to the collection) -> label group
    edit_of: dict[str, str]
    edit_kinds: list[str]
    lookalike_pairs: list[tuple[str, str, str]]  # relation, a, b
    box_of: dict[str, Box]  # random copies: the part of their original's frame they show


@dataclass(frozen=True)
class ToolAnswer:
    links: list[tuple[str, str]]  # files the tool puts together, relative to the collection (keeper first)
    unread: int  # files the tool could not read
    seconds: float
    keepers: frozenset[str] | None = None  # the files the tool would keep; None: it names none (pairs only)
    boxes: dict[str, Box] | None = None  # member -> where its frame lies in its keeper's, as the tool says


@dataclass(frozen=True)
class GroupCheck:
    groups: int  # groups of two files or more
    bad: int  # groups holding a member that is not a copy of the keeper
    lost: int  # such members: what deleting all but the keeper would lose


@dataclass(frozen=True)
class Score:
    tool: str
    predicted_pairs: int
    true_positives: int
    true_pairs: int
    lookalikes_merged: dict[str, tuple[int, int]]  # relation -> (pairs in one group, pairs)
    largest_group: int
    unread: int
    seconds: float
    found_by_kind: dict[str, tuple[int, int]]  # kind -> (found, total)
    placed_by_kind: dict[str, tuple[int, int]]  # kind -> (copies of their keeper, files put under a keeper)
    boxes_by_kind: dict[str, tuple[int, int]]  # kind -> (boxes that agree, copies with a box compared)
    keepers_by_kind: dict[str, tuple[int, int]]  # kind -> (groups kept by a file of that kind, groups)
    group_check: GroupCheck
    # groups that hold an original: kind -> (those kept by a file of that kind, all of them); a keeper with the
    # same pixels as an original of its group counts as "original"
    original_keepers: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)

    @property
    def merged(self) -> tuple[int, int]:
        return sum(m for m, _ in self.lookalikes_merged.values()), sum(n for _, n in self.lookalikes_merged.values())

    @property
    def bad_group_share(self) -> float | None:
        return self.group_check.bad / self.group_check.groups if self.group_check.groups else None

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
        lookalike_pairs=[(pair["relation"], pair["a"], pair["b"]) for pair in document["lookalike_pairs"]],
        box_of={name: tuple(label["box"]) for name, label in files.items() if "box" in label},
    )


def run_lookalike(collection: Path) -> ToolAnswer:
    search_path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    executable = shutil.which("lookalike", path=search_path)
    if executable is None:
        raise ToolUnavailable("no `lookalike` command on PATH nor beside this Python")
    with tempfile.TemporaryDirectory() as scratch:
        report_file = Path(scratch) / "report.json"
        command = [executable, "scan", str(collection / IMAGES), "--json", str(report_file), "--no-cache", "-q"]
        started = time.monotonic()
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        try:
            report = json.loads(report_file.read_text())
        except (OSError, json.JSONDecodeError):
            raise ToolUnavailable(
                f"`{shlex.join(command)}` exited {finished.returncode}: {last_line(finished.stderr)}"
            ) from None
    root = collection.resolve()
    # "similar" lists look-alikes that are never acted on: not groups.
    groups = [[relative_to(root, member["path"]) for member in group["members"]] for group in report["groups"]]
    links = [(members[0], member) for members in groups for member in members[1:]]
    boxes = {
        relative_to(root, member["path"]): tuple(member["box"])
        for group in report["groups"]
        for member in group["members"][1:]
        if member.get("box")
    }
    return ToolAnswer(links, len(report["errors"]), seconds, frozenset(members[0] for members in groups), boxes)


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


def score(tool: str, labels: Labels, answer: ToolAnswer, collection: Path | None = None) -> Score:
    unknown = {file for link in answer.links for file in link} - labels.group_of.keys()
    if unknown:
        raise ValueError(f"{tool} reported {len(unknown)} files that are not in the collection, e.g. {min(unknown)}")
    predicted = connected_groups(labels.group_of, answer.links)
    predicted_sizes = Counter(predicted.values())
    true_sizes = Counter(labels.group_of.values())
    overlap = Counter((predicted[file], group) for file, group in labels.group_of.items())
    group_check, placed_by_kind = judge_groups(labels, predicted, answer.keepers)
    return Score(
        tool=tool,
        predicted_pairs=pairs_within(predicted_sizes.values()),
        true_positives=pairs_within(overlap.values()),
        true_pairs=pairs_within(true_sizes.values()),
        lookalikes_merged=lookalikes_merged(labels, predicted),
        largest_group=max(predicted_sizes.values()),
        unread=answer.unread,
        seconds=answer.seconds,
        found_by_kind=found_by_kind(labels, predicted, overlap),
        placed_by_kind=placed_by_kind,
        boxes_by_kind=boxes_by_kind(labels, answer),
        keepers_by_kind=keepers_by_kind(labels, answer),
        group_check=group_check,
        original_keepers=original_keepers(labels, answer, collection),
    )


def overlap_share(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, each first clipped to the frame (0 to 1): the part of the
    original's frame a copy shows, whether the copy adds a border, a band or a screen around it or not."""
    a, b = (tuple(min(1.0, max(0.0, side)) for side in box) for box in (a, b))
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union > 0 else 0.0


def boxes_by_kind(labels: Labels, answer: ToolAnswer) -> dict[str, tuple[int, int]]:
    """Per edit kind, of the copies the tool puts with a box under a keeper that has their original's frame
    (the original, or a copy that only resized, filtered or wrote on it), those whose box agrees with the
    recorded one. Under any other keeper the two boxes are in different frames: not compared."""
    if not answer.boxes:
        return {}
    agree: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    for keeper, member in answer.links:
        box = answer.boxes.get(member)
        same_frame = labels.edit_of[keeper] in SAME_FRAME_KINDS and labels.group_of[keeper] == labels.group_of[member]
        if box is None or member not in labels.box_of or not same_frame:
            continue
        kind = labels.edit_of[member]
        checked[kind] += 1
        agree[kind] += overlap_share(box, labels.box_of[member]) >= BOX_AGREES
    return {kind: (agree[kind], checked[kind]) for kind in labels.edit_kinds if checked[kind]}


def keepers_by_kind(labels: Labels, answer: ToolAnswer) -> dict[str, tuple[int, int]]:
    """Which kind of file the tool keeps: the original, or a copy that will be kept while the original goes."""
    if not answer.keepers:
        return {}
    kinds = Counter(labels.edit_of[keeper] for keeper in answer.keepers)
    return {kind: (kinds[kind], len(answer.keepers)) for kind in labels.edit_kinds if kinds[kind]}


def original_keepers(labels: Labels, answer: ToolAnswer, collection: Path | None) -> dict[str, tuple[int, int]]:
    """Of the groups that hold an original, the kind of file each keeps; a keeper with the same pixels as one
    of the group's originals (a lossless conversion, `collection` given) counts as the original."""
    if not answer.keepers:
        return {}
    members: dict[str, set[str]] = {keeper: {keeper} for keeper in answer.keepers}
    for keeper, member in answer.links:
        members[keeper].add(member)
    kinds: Counter[str] = Counter()
    for keeper, files in members.items():
        originals = [file for file in files if labels.edit_of[file] == "original"]
        if not originals:
            continue
        same = collection is not None and any(same_pixels(collection / keeper, collection / o) for o in originals)
        kinds["original" if same else labels.edit_of[keeper]] += 1
    total = sum(kinds.values())
    return {kind: (kinds[kind], total) for kind in labels.edit_kinds if kinds[kind]}


def same_pixels(a: Path, b: Path) -> bool:
    import numpy as np
    from PIL import Image

    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    with Image.open(a) as first, Image.open(b) as second:
        return first.size == second.size and np.array_equal(np.asarray(first.convert("RGB")),
                                                            np.asarray(second.convert("RGB")))


def lookalikes_merged(labels: Labels, predicted: dict[str, str]) -> dict[str, tuple[int, int]]:
    merged: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for relation, a, b in labels.lookalike_pairs:
        total[relation] += 1
        merged[relation] += predicted[a] == predicted[b]
    return {relation: (merged[relation], total[relation]) for relation in sorted(total)}


def judge_groups(
    labels: Labels, predicted: dict[str, str], keepers: frozenset[str] | None
) -> tuple[GroupCheck, dict[str, tuple[int, int]]]:
    """Groups that hold a file which is not a copy of the keeper, and per edit kind the files a group puts
    under a keeper with how many of them are copies of it. A tool that names no keeper (pairs only) is given
    the kindest one: a file of the label group most of the group belongs to."""
    members: dict[str, list[str]] = {}
    for file, group in predicted.items():
        members.setdefault(group, []).append(file)
    groups = bad = lost = 0
    right: Counter[str] = Counter()
    placed: Counter[str] = Counter()
    for files in members.values():
        if len(files) < 2:
            continue
        groups += 1
        label_counts = Counter(labels.group_of[file] for file in files)
        named = [file for file in files if keepers is not None and file in keepers]
        keeper_label = labels.group_of[named[0]] if named else label_counts.most_common(1)[0][0]
        strangers = len(files) - label_counts[keeper_label]
        bad += strangers > 0
        lost += strangers
        for file in files:
            if file not in named:
                placed[labels.edit_of[file]] += 1
                right[labels.edit_of[file]] += labels.group_of[file] == keeper_label
    by_kind = {kind: (right[kind], placed[kind]) for kind in labels.edit_kinds if placed[kind]}
    return GroupCheck(groups, bad, lost), by_kind


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


def markdown_table(header: list[str], rows: list[list[str]], left: int = 1) -> str:
    """A Markdown table: the first `left` columns aligned left, the others right."""
    aligns = ["---"] * left + ["---:"] * (len(header) - left)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, aligns, *rows])


def summary_table(scores: list[Score]) -> str:
    header = ["tool", "pairs", "precision", "recall", "F1", "look-alikes merged", "bad groups", "largest group",
              "unread", "time"]
    rows = [[s.tool, f"{s.predicted_pairs:,}", percent(s.precision), percent(s.recall), percent(s.f1),
             f"{s.merged[0]} of {s.merged[1]}",
             f"{s.group_check.bad} of {s.group_check.groups} ({percent(s.bad_group_share)})",
             f"{s.largest_group:,}", str(s.unread), f"{s.seconds:.0f} s"] for s in scores]
    return markdown_table(header, rows)


def kind_table(scores: list[Score]) -> str:
    """Recall per kind, and beside it the precision: of the files of that kind put under a keeper, the share
    that are copies of it."""
    rows = []
    for kind in scores[0].found_by_kind:
        total = scores[0].found_by_kind[kind][1]
        cells = [kind, str(total)]
        for s in scores:
            right, placed = s.placed_by_kind.get(kind, (0, 0))
            cells += [percent(s.found_by_kind[kind][0] / total), percent(right / placed if placed else None)]
        rows.append(cells)
    header = ["edit kind", "files", *(column for s in scores for column in (f"{s.tool} recall", "precision"))]
    return markdown_table(header, rows)


def alone_table(scores: list[Score], totals: Counter[str]) -> str:
    """Files that are pictures of their own (distractors, hard negatives): how many a group put under the
    keeper of another picture."""
    kinds = sorted(kind for kind in totals if kind not in scores[0].found_by_kind)
    rows = [[kind, str(totals[kind]),
             *(f"{s.placed_by_kind.get(kind, (0, 0))[1] - s.placed_by_kind.get(kind, (0, 0))[0]:,}" for s in scores)]
            for kind in kinds]
    return markdown_table(["kind", "files", *(f"{s.tool} put in a group" for s in scores)], rows)


def box_table(scores: list[Score]) -> str:
    """For the tools that report boxes: per kind, the copies under a keeper of their original's frame whose box
    agrees."""
    with_boxes = [s for s in scores if s.boxes_by_kind]
    if not with_boxes:
        return "(no tool reported boxes)"

    def agreeing(s: Score, kind: str) -> str:
        agree, checked = s.boxes_by_kind.get(kind, (0, 0))
        return f"{agree} of {checked} ({percent(agree / checked if checked else None)})"

    kinds = list(dict.fromkeys(kind for s in with_boxes for kind in s.boxes_by_kind))
    rows = [[kind, *(agreeing(s, kind) for s in with_boxes)] for kind in kinds]
    return markdown_table(["edit kind", *(f"{s.tool} boxes that agree" for s in with_boxes)], rows)


def original_kept_line(scores: list[Score]) -> str:
    """How often each tool keeps the original where the group holds it."""
    parts = []
    for s in scores:
        total = next(iter(s.original_keepers.values()), (0, 0))[1]
        if total:
            kept = s.original_keepers.get("original", (0, total))[0]
            parts.append(f"{s.tool}: the original (or the same pixels) in {kept} of {total} ({percent(kept / total)})")
    return "Groups that hold their original, kept by it: " + ("; ".join(parts) or "(no tool named keepers)")


def keeper_table(scores: list[Score]) -> str:
    with_keepers = [s for s in scores if s.keepers_by_kind]
    if not with_keepers:
        return "(no tool named keepers)"
    kinds = list(dict.fromkeys(kind for s in with_keepers for kind in s.keepers_by_kind))
    rows = [[kind, *(f"{s.keepers_by_kind.get(kind, (0, 0))[0]}" for s in with_keepers)] for kind in kinds]
    return markdown_table(["kind of the keeper", *(f"{s.tool} groups" for s in with_keepers)], rows)


def lookalike_table(scores: list[Score]) -> str:
    rows = [[relation, str(scores[0].lookalikes_merged[relation][1]),
             *(str(s.lookalikes_merged[relation][0]) for s in scores)] for relation in scores[0].lookalikes_merged]
    return markdown_table(["look-alike relation", "pairs", *(s.tool for s in scores)], rows)


def report(collection: Path, labels: Labels, scores: list[Score]) -> str:
    return "\n".join(
        (
            f"{collection}: {len(labels.group_of):,} files, {scores[0].true_pairs:,} true pairs\n",
            summary_table(scores),
            "\nPer edit kind, share of files grouped with their original (for originals: with a copy), and the "
            "precision: of the files of that kind put under a keeper, the share that are copies of it:\n",
            kind_table(scores),
            "\nPictures of their own, put in a group under the keeper of another picture:\n",
            alone_table(scores, Counter(labels.edit_of.values())),
            "\nLook-alike pairs (different pictures) put in one group:\n",
            lookalike_table(scores),
            f"\nBoxes: copies put with a box under a keeper of their original's frame, and those whose box agrees "
            f"with the recorded part of it (intersection over union >= {BOX_AGREES}, both clipped to the frame):\n",
            box_table(scores),
            "\nWhat each group keeps (the kind of its keeper):\n",
            keeper_table(scores),
            "\n" + original_kept_line(scores),
        )
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path, help="folder made by make_collection.py")
    parser.add_argument("--tool", choices=(*TOOLS, "all"), default="all")
    parser.add_argument(
        "--peers-python",
        default=os.environ.get(PEERS_PYTHON_VARIABLE),
        help=f"Python of the environment that has the peer tools (default: ${PEERS_PYTHON_VARIABLE})",
    )
    parser.add_argument("--save", type=Path, help="also write the scores as JSON here, for results.py")
    return parser.parse_args()


def score_tools(collection: Path, tools: Iterable[str], peers_python: str | None) -> tuple[Labels, list[Score]]:
    labels = load_labels(collection)
    scores = []
    for tool in tools:
        print(f"running {tool} ...", file=sys.stderr)
        try:
            answer = run_lookalike(collection) if tool == "lookalike" else run_peer(tool, collection, peers_python)
        except ToolUnavailable as reason:
            print(f"skipped {tool}: {reason}", file=sys.stderr)
            continue
        scores.append(score(tool, labels, answer, collection))
    return labels, scores


def main() -> None:
    args = parse_args()
    labels, scores = score_tools(args.collection, TOOLS if args.tool == "all" else (args.tool,), args.peers_python)
    if not scores:
        sys.exit("no tool could be run")
    print(report(args.collection, labels, scores))
    if args.save:
        args.save.write_text(json.dumps(saved(args.collection, labels, scores), indent=1) + "\n")


def saved(collection: Path, labels: Labels, scores: list[Score]) -> dict[str, object]:
    document = json.loads((collection / "labels.json").read_text())
    return {
        "collection": {key: document[key] for key in ("set", "split", "seed")} | {"files": len(labels.group_of)},
        "originals": document["summary"]["originals"],
        "edit_kinds": labels.edit_kinds,
        "file_counts": dict(Counter(labels.edit_of.values())),
        "scores": [dataclasses.asdict(s) for s in scores],
    }


def loaded(record: dict[str, object]) -> Score:
    """A Score written by `saved`, as it was (JSON has lists where the Score has tuples)."""
    pairs = {
        key: {name: tuple(value) for name, value in record[key].items()}
        for key in ("lookalikes_merged", "found_by_kind", "placed_by_kind", "boxes_by_kind", "keepers_by_kind",
                    "original_keepers")
        if key in record
    }
    return Score(**{**record, **pairs, "group_check": GroupCheck(**record["group_check"])})


if __name__ == "__main__":
    main()
