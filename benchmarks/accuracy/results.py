"""Write one results file from the scores of several seeds (score.py --save), with the date, the machine and
the commit of the lookalike measured.

usage: results.py FOLDER SCORES.json... [--command TEXT]

The file is FOLDER/SET-SPLIT-COMMIT.md: one per set, split and commit measured.

Per tool: each seed's figures and all seeds pooled (pairs, files and groups added up over the collections),
recall and precision per edit family pooled with the lowest and highest seed, look-alike pairs merged.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

from score import (
    BOX_AGREES,
    GroupCheck,
    Score,
    alone_table,
    box_table,
    keeper_table,
    kind_table,
    loaded,
    lookalike_table,
    markdown_table,
    original_kept_line,
    percent,
    summary_table,
)


def added(pairs: list[dict[str, tuple[int, int]]]) -> dict[str, tuple[int, int]]:
    keys = dict.fromkeys(key for counts in pairs for key in counts)
    return {key: (sum(c.get(key, (0, 0))[0] for c in pairs), sum(c.get(key, (0, 0))[1] for c in pairs)) for key in keys}


def pooled(tool: str, scores: list[Score]) -> Score:
    return Score(
        tool=tool,
        predicted_pairs=sum(s.predicted_pairs for s in scores),
        true_positives=sum(s.true_positives for s in scores),
        true_pairs=sum(s.true_pairs for s in scores),
        lookalikes_merged=added([s.lookalikes_merged for s in scores]),
        largest_group=max(s.largest_group for s in scores),
        unread=sum(s.unread for s in scores),
        seconds=sum(s.seconds for s in scores),
        found_by_kind=added([s.found_by_kind for s in scores]),
        placed_by_kind=added([s.placed_by_kind for s in scores]),
        boxes_by_kind=added([s.boxes_by_kind for s in scores]),
        keepers_by_kind=added([s.keepers_by_kind for s in scores]),
        original_keepers=added([s.original_keepers for s in scores]),
        group_check=GroupCheck(*(sum(getattr(s.group_check, f) for s in scores) for f in ("groups", "bad", "lost"))),
    )


def spread_table(by_tool: dict[str, list[Score]]) -> str:
    """Recall per edit family, lowest and highest over the seeds."""
    first = next(iter(by_tool.values()))
    kinds = list(dict.fromkeys(kind for s in first for kind in s.found_by_kind))
    rows = []
    for kind in kinds:
        cells = [kind]
        for scores in by_tool.values():
            shares = [s.found_by_kind[kind][0] / s.found_by_kind[kind][1] for s in scores if kind in s.found_by_kind]
            cells.append(f"{percent(min(shares))} to {percent(max(shares))}")
        rows.append(cells)
    return markdown_table(["edit kind", *(f"{tool} lowest to highest" for tool in by_tool)], rows)


def tool_commit() -> tuple[str, bool]:
    """The last commit that changed the source of the lookalike this Python imports (benchmark commits leave
    the tool as it is), and whether the source differs from it now."""
    spec = importlib.util.find_spec("lookalike")
    if spec is None or spec.origin is None:
        return "none", False
    folder = Path(spec.origin).parent

    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(folder), *words], capture_output=True, text=True, check=False).stdout

    commit = git("log", "-1", "--format=%h", "--abbrev=10", "--", ".").strip() or "unknown"
    return commit, bool(git("status", "--porcelain", "--", ".").strip())


def document(records: list[dict], command: str, commit: tuple[str, bool]) -> str:
    by_tool: dict[str, list[Score]] = {}
    seeds = []
    for record in records:
        seed = record["collection"]["seed"]
        seeds.append(seed)
        for raw in record["scores"]:
            score = loaded(raw)
            by_tool.setdefault(score.tool, []).append(replace(score, tool=f"{score.tool}, seed {seed}"))
    totals: Counter[str] = Counter()
    for record in records:
        totals.update(record["file_counts"])
    first = records[0]["collection"]
    all_seeds = [pooled(f"{tool}, all seeds", scores) for tool, scores in by_tool.items()]
    rows = [row for scores, total in zip(by_tool.values(), all_seeds, strict=True) for row in [*scores, total]]
    files = ", ".join(f"seed {r['collection']['seed']}: {r['collection']['files']:,}" for r in records)
    return "\n".join(
        (
            f"# Accuracy, {first['set']} set, {first['split']} split, seeds {', '.join(map(str, seeds))}",
            "",
            f"- date: {datetime.date.today().isoformat()}; machine: {platform.machine()}, {os.cpu_count()} cores",
            f"- lookalike measured: its source as of commit {commit[0]}"
            f"{', with uncommitted changes' if commit[1] else ''}",
            f"- collections: {records[0]['originals']} originals each; files {files}",
            f"- command: `{command}`",
            "",
            summary_table(rows),
            "",
            "Per edit kind, all seeds pooled: share of files grouped with their original (for originals: with a copy), "
            "and the precision: of the files of that kind put under a keeper, the share that are copies of it:",
            "",
            kind_table(all_seeds),
            "",
            "Recall per edit kind, lowest and highest seed:",
            "",
            spread_table(by_tool),
            "",
            "Pictures of their own, all seeds: put in a group under the keeper of another picture:",
            "",
            alone_table(all_seeds, totals),
            "",
            "Look-alike pairs (different pictures) put in one group, all seeds:",
            "",
            lookalike_table(all_seeds),
            "",
            "Boxes, all seeds: copies put with a box under a keeper of their original's frame, and those whose "
            f"box agrees with the recorded part of it (intersection over union >= {BOX_AGREES}, both clipped):",
            "",
            box_table(all_seeds),
            "",
            "What each group keeps (the kind of its keeper), all seeds:",
            "",
            keeper_table(all_seeds),
            "",
            original_kept_line(all_seeds),
            "",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where to write the markdown file")
    parser.add_argument("scores", type=Path, nargs="+", help="files written by score.py --save, one per seed")
    parser.add_argument("--command", default="", help="the command that made the scores, quoted in the file")
    args = parser.parse_args()
    records = [json.loads(path.read_text()) for path in args.scores]
    commit = tool_commit()
    first = records[0]["collection"]
    out = args.folder / f"{first['set']}-{first['split']}-{commit[0]}{'-changed' if commit[1] else ''}.md"
    args.folder.mkdir(parents=True, exist_ok=True)
    out.write_text(document(records, args.command, commit))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
