"""One review: a loaded report, the order the page shows its groups in, and resolution through the engine.

Guarantees:
- every file operation is a `lookalike.plan` applied with `lookalike.apply` and journaled (undo with
  `lookalike.undo`); this module moves, deletes and links nothing itself;
- a person's marks become a report of the marked groups alone, each with the chosen keeper first and only the
  members marked for removal after it, so the engine's own guard (a group's keeper is never a step) is the
  last-copy guard; a group with every member marked for removal is refused before any plan is made;
- files are named to the outside world by group and member index only; `member` is the one way back to a path;
- "not duplicates" goes to the same store as `lookalike ignore` (the cache, by content hash); a report written
  before reports held the date taken and camera gets them from the cache, when it knows those bytes.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from lookalike.cache import Cache, default_cache_path
from lookalike.resolution import not_duplicates, planning, resolve
from lookalike.resolution.planning import Action, Plan
from lookalike.stages.keep import scanned_of_member

ACTIONS = (Action.TRASH, Action.REVIEW_FOLDERS, Action.HARDLINK, Action.SYMLINK)  # those undo fully puts back
KINDS = ("exact", "near")
OPEN, RESOLVED, IGNORED = "open", "resolved", "not duplicates"


@dataclass(slots=True)
class _Pending:
    plan: Plan
    groups: list[int]  # the report's group index of each group of the plan's report, in order


@dataclass(slots=True)
class _Applied:
    outcome: resolve.Outcome
    groups: list[int]
    undone: bool = False


@dataclass(slots=True)
class Review:
    report: dict[str, Any]
    cache: str | os.PathLike[str] | None = None  # where "not duplicates" is kept (None: the default cache)
    order: list[int] = field(init=False)  # group indices, most reclaimable first
    state: dict[int, str] = field(default_factory=dict)
    plans: dict[str, _Pending] = field(default_factory=dict)
    journals: list[_Applied] = field(default_factory=list)

    def __post_init__(self) -> None:
        groups = self.report["groups"]
        self.order = sorted(range(len(groups)), key=lambda index: (-groups[index]["reclaimable"], index))

    # reading

    def page(self, kind: str = "", folder: str = "", offset: int = 0, limit: int = 50) -> dict[str, Any]:
        shown = self.shown(kind, folder)
        return {"total": len(shown), "offset": offset, "groups": [self._summary(i) for i in
                                                                    shown[offset:offset + limit]]}

    def shown(self, kind: str = "", folder: str = "") -> list[int]:
        """Group indices in page order, of `kind` (all when empty) with a member whose folder contains `folder`."""
        groups = self.report["groups"]
        return [index for index in self.order if (not kind or groups[index]["kind"] == kind)
                and (not folder or any(folder in os.path.dirname(m["path"]) for m in groups[index]["members"]))]

    def _summary(self, index: int) -> dict[str, Any]:
        group = self.report["groups"][index]
        return {"index": index, "kind": group["kind"], "reclaimable": group["reclaimable"],
                "members": len(group["members"]), "keep": _shown_path(group["keep"]),
                "state": self.state.get(index, OPEN)}

    def group(self, index: int) -> dict[str, Any]:
        group = self._group(index)
        members = group["members"]
        exif = self._exif_from_cache([m["content_hash"] for m in members if "taken" not in m])
        keeper = scanned_of_member(members[0])
        return {**self._summary(index), "reason": group.get("reason", ""),
                "members": [{**_member_view(m, exif), "warnings": list(planning.lacking(scanned_of_member(m), keeper))
                             if number else []} for number, m in enumerate(members)]}

    def _exif_from_cache(self, content_hashes: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """Date taken and camera by content hash, for a report written before it held them."""
        if not content_hashes:
            return {}
        with Cache(self.cache or default_cache_path()) as cache:
            found = cache.images(bytes.fromhex(digest) for digest in content_hashes)
        return {digest.hex(): (image.taken, image.camera) for digest, image in found.items()}

    def member(self, index: int, number: int) -> dict[str, Any]:
        """The report's member `number` of group `index`; KeyError when there is none."""
        members = self._group(index)["members"]
        if not 0 <= number < len(members):
            raise KeyError(number)
        return members[number]

    def _group(self, index: int) -> dict[str, Any]:
        groups = self.report["groups"]
        if not 0 <= index < len(groups):
            raise KeyError(index)
        return groups[index]

    # resolving

    def plan_marked(self, action: str, marks: dict[int, dict[str, list[int]]]) -> dict[str, Any]:
        """A plan for the groups a person marked: {group: {"keep": [member...], "remove": [member...]}}."""
        chosen = [(index, self._marked_members(index, mark)) for index, mark in sorted(marks.items())]
        return self._plan(action, [(index, members) for index, members in chosen if len(members) > 1])

    def _marked_members(self, index: int, mark: dict[str, list[int]]) -> list[dict[str, Any]]:
        """The keeper (first kept, else the report's keeper unless marked) and then the members to remove."""
        members = self._group(index)["members"]
        remove, keep = sorted(set(mark.get("remove", ()))), list(mark.get("keep", ()))
        if not set(remove + keep) <= set(range(len(members))):
            raise ValueError(f"group {index + 1} has copies 0 to {len(members) - 1} only")
        kept = [number for number in keep + list(range(len(members))) if number not in remove]
        if not kept:
            raise ValueError(f"group {index + 1}: every copy is marked for removal; keep at least one")
        return [members[kept[0]], *(members[number] for number in remove)]

    def plan_bulk(self, action: str, keep: str, kind: str = "", folder: str = "") -> dict[str, Any]:
        """A plan for every open group shown with `kind` and `folder`, each keeper chosen by the `keep` rules."""
        groups = self.report["groups"]
        chosen = [(i, groups[i]["members"]) for i in self.shown(kind, folder) if self.state.get(i, OPEN) == OPEN]
        return self._plan(action, chosen, keep)

    def _plan(self, action: str, chosen: list[tuple[int, list[dict[str, Any]]]], keep: str = "") -> dict[str, Any]:
        if Action(action) not in ACTIONS:
            raise ValueError(f"the review page does not {action}: use `lookalike apply` for it")
        groups = self.report["groups"]
        partial = {**self.report, "groups": [_group_of(groups[index]["kind"], members) for index, members in chosen]}
        plan = planning.plan(partial, action, keep=keep)
        key = secrets.token_hex(8)
        numbers = [index for index, _ in chosen]  # the report's index of each group of `partial`
        self.plans[key] = _Pending(plan, numbers)
        return {"id": key, "action": plan.action.value, "summary": planning.describe(plan),
                "steps": [_step_view(step, numbers) for step in plan.steps],
                "skips": [{"group": numbers[skip.group - 1], **_skip_view(skip)} for skip in plan.skips]}

    def apply(self, key: str) -> dict[str, Any]:
        pending = self.plans.pop(key, None)
        if pending is None:
            raise ValueError("no such plan (already applied?): make the plan again")
        outcome = resolve.apply(pending.plan)
        touched = sorted({pending.groups[step.group - 1] for step in outcome.done})
        self.state.update(dict.fromkeys(touched, RESOLVED))
        self.journals.append(_Applied(outcome, touched))
        return self._journal_view(len(self.journals) - 1)

    def undo(self, number: int) -> dict[str, Any]:
        if not 0 <= number < len(self.journals) or self.journals[number].undone:
            raise ValueError("no such journal to undo")
        applied = self.journals[number]
        restored = resolve.undo(applied.outcome.journal)
        applied.undone = True
        for index in applied.groups:
            self.state.pop(index, None)
        return {**self._journal_view(number), "restored": len(restored.done),
                "not_restored": [_skip_view(skip) for skip in restored.skipped]}

    def journal_list(self) -> list[dict[str, Any]]:
        return [self._journal_view(number) for number in range(len(self.journals))]

    def _journal_view(self, number: int) -> dict[str, Any]:
        applied = self.journals[number]
        outcome = applied.outcome
        return {"number": number, "journal": _shown_path(os.fspath(outcome.journal)), "action": outcome.action.value,
                "done": [_shown_path(step.file.path) for step in outcome.done],
                "skipped": [_skip_view(skip) for skip in outcome.skipped], "undone": applied.undone}

    def not_duplicates(self, index: int) -> None:
        not_duplicates.ignore(not_duplicates.pairs_of_group(self.report, index + 1), self.cache)
        self.state[index] = IGNORED


def _group_of(kind: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": kind, "keep": members[0]["path"], "reclaimable": sum(m["size"] for m in members[1:]),
            "members": members}


def _member_view(member: dict[str, Any], exif: dict[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    fields = ("match", "relation", "distance", "size", "width", "height", "format", "mtime_ns")
    taken, camera = exif.get(member["content_hash"], (member.get("taken"), member.get("camera")))
    return {"path": _shown_path(member["path"]), "taken": taken, "camera": camera,
            "quality": member.get("quality"), "gps": member.get("gps"),
            "box": member.get("box"), "matrix": member.get("matrix"),  # where it lies in the keeper, when fitted
            "companions": [f"{c['kind']}: {os.path.basename(_shown_path(c['path']))}"
                           for c in member.get("companions", ())],
            **{name: member[name] for name in fields}}


def _step_view(step: planning.Step, groups: list[int]) -> dict[str, Any]:
    return {"group": groups[step.group - 1], "path": _shown_path(step.file.path),
            "keeper": _shown_path(step.keeper.path), "destination": step.destination and _shown_path(step.destination)}


def _skip_view(skip: planning.Skip) -> dict[str, Any]:
    return {"path": _shown_path(skip.path), "reason": skip.reason}


def _shown_path(path: str) -> str:
    """A path as text a page can show: bytes that are not UTF-8 as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
