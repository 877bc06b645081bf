"""Apply a plan, resume it after a crash, undo it: every file operation goes through the journal.

Guarantees:
- before a file is touched, its size, modified time and content hash are checked against the scan, and so are
  its keeper's; a file that differs is skipped with the reason, never acted on;
- a step's "begin" line is durable in the journal before the step starts (write-ahead) and "done" follows it;
  every operation (see `fileops`, `trash`) can be finished or reversed from the disk alone, so after a kill at
  any instant `apply` with the same journal completes the plan and `undo` puts every file back where it was,
  with its bytes; nothing is lost or duplicated either way;
- a step's companions (see `planning.Fate`) go with it and come back with it: checked like the file, in its
  "begin" line (a trash slot each), moved or trashed after it and put back before it; a companion shared with
  an image that is still in place when the step begins stays;
- `undo` removes the folders apply created, when they are empty again; a journal that was undone is not
  applied again.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lookalike.resolution import fileops, trash
from lookalike.resolution.journal import Journal, last_journal, new_journal_path
from lookalike.resolution.planning import (
    LINKS,
    MOVES,
    Action,
    Carry,
    Fate,
    Plan,
    Skip,
    Step,
    changed_since_scan,
    obstacle,
)
from lookalike.stages.keep import Companion, Scanned
from lookalike.stages.walk import describe_os_error


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an apply or undo did: the files done, those left alone with the reason, and its journal."""

    journal: Path
    action: Action
    done: list[Step]  # applied (or, for undo, put back)
    skipped: list[Skip]  # left alone, or (for undo) could not be put back, with the reason


def apply(plan: Plan, journal: str | os.PathLike[str] | None = None) -> Outcome:
    """Carry out `plan`, writing `journal` (default: a new one in the user's state folder).

    An unfinished journal (given, or the last one when it was for the same report and action) is resumed: its
    own plan is completed and `plan` is not used.
    """
    path = Path(journal) if journal is not None else _resumable(plan) or new_journal_path(plan.action)
    book = Journal.open(path) if path.exists() else Journal.create(path, _header(plan))
    with book:
        if book.header["action"] != plan.action:
            raise ValueError(f"{path} is a journal of {book.header['action']!r}, not of {plan.action.value!r}")
        if _was_undone(book):
            raise ValueError(f"{path} was undone; make a new plan to apply again")
        return _Run(book).apply()


def undo(journal: str | os.PathLike[str] | None = None) -> Outcome:
    """Put back every file the journal's apply touched (default: the last apply's journal)."""
    path = Path(journal) if journal is not None else last_journal()
    if path is None:
        raise ValueError("no journal to undo: nothing was applied yet")
    with Journal.open(path) as book:
        book.write({"undo": datetime.now().isoformat(timespec="seconds")})
        return _Run(book).undo()


class _Run:
    def __init__(self, book: Journal) -> None:
        self.book = book
        self.action = Action(book.header["action"])
        self.steps = [_step(record) for record in book.header["steps"]]
        self.begun = {event["begin"]: event for event in book.events if "begin" in event}
        self.keeper_problems: dict[str, str | None] = {}

    def apply(self) -> Outcome:
        settled = {event.get("done", event.get("failed")) for event in self.book.events}
        for index, step in enumerate(self.steps):
            if index in settled:
                continue
            if index in self.begun:
                self._carry_out(index, step, self.begun[index])
            else:
                self._start(index, step)
        return self._outcome("done", "failed")

    def _start(self, index: int, step: Step) -> None:
        try:
            reason = (self._keeper_problem(step.keeper) or changed_since_scan(step.file, read_bytes=True)
                      or obstacle(step.action, step.file, step.keeper, step.destination)
                      or _companion_problem(step))
            begin = None if reason else {"begin": index, **self._prepare(step)}
        except OSError as error:
            reason = describe_os_error(error)
        if reason:
            self.book.write({"failed": index, "reason": reason}, durable=False)
            return
        self.book.write(begin)
        self.begun[index] = begin
        self._carry_out(index, step, begin)

    def _carry_out(self, index: int, step: Step, begin: dict[str, Any]) -> None:
        try:
            where = _perform(step, begin)
        except OSError as error:
            self.book.write({"failed": index, "reason": describe_os_error(error)}, durable=False)
            return
        self.book.write({"done": index, **where}, durable=False)

    def _keeper_problem(self, keeper: Scanned) -> str | None:
        if keeper.path not in self.keeper_problems:
            problem = changed_since_scan(keeper, read_bytes=True)
            self.keeper_problems[keeper.path] = problem and f"its keeper {keeper.path!r} is {problem}"
        return self.keeper_problems[keeper.path]

    def _prepare(self, step: Step) -> dict[str, Any]:
        """What the step's journal line must hold to finish or reverse it; makes (and logs) missing folders."""
        if step.action in MOVES:
            self._make_folders(os.path.dirname(step.destination))
        carried = [index for index, fate in enumerate(step.companions) if fate.goes and not any(
            os.path.lexists(path) for path in fate.companion.shared_with)]  # one of its images stayed after all
        if step.action is Action.TRASH:
            slot = trash.slot_for(step.file.path)
            slots = [trash.slot_for(step.companions[index].companion.path) for index in carried]
            return {"slot": slot and asdict(slot), "carried": carried, "slots": [s and asdict(s) for s in slots]}
        if step.action in LINKS:
            return {"mode": os.stat(step.file.path).st_mode & 0o7777}  # its companions stay beside the link
        return {"carried": carried}

    def _make_folders(self, folder: str) -> None:
        missing = []
        while not os.path.isdir(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for folder in reversed(missing):
            self.book.write({"mkdir": folder})
            os.makedirs(folder, exist_ok=True)

    def undo(self) -> Outcome:
        undone = {event["undone"] for event in self.book.events if "undone" in event}
        finished = {event["done"]: event for event in self.book.events if "done" in event}
        for index in sorted(set(self.begun) - undone, reverse=True):
            try:
                _reverse(self.steps[index], {**self.begun[index], **finished.get(index, {})})
            except OSError as error:
                self.book.write({"not-undone": index, "reason": describe_os_error(error)}, durable=False)
                continue
            self.book.write({"undone": index}, durable=False)
        for event in reversed(self.book.events):
            if "mkdir" in event:
                with contextlib.suppress(OSError):  # not empty (someone put a file there since), or gone
                    os.rmdir(event["mkdir"])
        return self._outcome("undone", "not-undone")

    def _outcome(self, done_key: str, failed_key: str) -> Outcome:
        done = {event[done_key] for event in self.book.events if done_key in event}
        failed = [Skip(self.steps[event[failed_key]].group, self.steps[event[failed_key]].file.path,
                       event["reason"]) for event in self.book.events if failed_key in event]
        if done_key == "done":
            failed = [Skip(**skip) for skip in self.book.header["skips"]] + failed
        return Outcome(self.book.path, self.action, [self.steps[i] for i in sorted(done)], failed)


def _perform(step: Step, begin: dict[str, Any]) -> dict[str, Any]:
    """Carry out the step; what its "done" line must say besides: where the system trash put each file."""
    path = step.file.path
    if step.carry is not None:  # before the copy goes: what it carries is never only in the trash
        fileops.write_new(step.carry.path, step.carry.data.encode())
    if step.action in MOVES:
        fileops.move(path, step.destination, bytes.fromhex(step.file.content_hash))
    elif step.action is Action.TRASH:
        trash.put(path, _slot(begin.get("slot")))
    elif step.action in LINKS:
        fileops.replace_with_link(path, step.keeper.path, symbolic=step.action is Action.SYMLINK)
    elif os.path.lexists(path):
        os.unlink(path)
    carried = _carried(step, begin)
    for fate, slot in carried:
        companion = fate.companion
        if step.action in MOVES:
            fileops.move(companion.path, fate.destination, bytes.fromhex(companion.content_hash))
        elif step.action is Action.TRASH:
            trash.put(companion.path, _slot(slot))
        elif os.path.lexists(companion.path):
            os.unlink(companion.path)
    if step.action is not Action.TRASH or begin.get("slot"):
        return {}
    gone = [(path, step.file.content_hash), *((f.companion.path, f.companion.content_hash) for f, _ in carried)]
    found = [trash.find_in_system_trash(path, bytes.fromhex(digest)) for path, digest in gone]
    return {"trashed": [where and asdict(where) for where in found]}  # the file's, then each companion's


def _reverse(step: Step, begin: dict[str, Any]) -> None:
    trashed = begin.get("trashed") or [None] * (len(begin.get("carried", ())) + 1)
    for (fate, slot), where in reversed(list(zip(_carried(step, begin), trashed[1:], strict=True))):
        _put_back(step.action, fate.companion.path, fate.destination, fate.companion.content_hash, slot, where)
    _put_back(step.action, step.file.path, step.destination, step.file.content_hash, begin.get("slot"), trashed[0])
    if step.action in LINKS:
        fileops.restore_from_link(step.file.path, step.keeper.path, step.action is Action.SYMLINK,
                                  bytes.fromhex(step.file.content_hash), begin["mode"], step.file.mtime_ns)
    if step.carry is not None:
        fileops.remove_written(step.carry.path, step.carry.data.encode())


def _put_back(action: Action, path: str, destination: str | None, content_hash: str,
              slot: dict[str, Any] | None, trashed: dict[str, Any] | None) -> None:
    """Undo a move, a trashing or a deletion of `path` (a link is undone by `restore_from_link`); `trashed` is
    where the system trash put it, as apply found it."""
    if action in MOVES:
        fileops.move(destination, path, bytes.fromhex(content_hash))
    elif action is Action.TRASH:
        if slot is None:
            trash.take_back_from_system(path, bytes.fromhex(content_hash), trashed and trash.Trashed(**trashed))
        else:
            trash.take_back(path, _slot(slot))
    elif action is Action.DELETE and not os.path.lexists(path):
        raise OSError("deleted for good: cannot be put back")


def _carried(step: Step, begin: dict[str, Any]) -> list[tuple[Fate, dict[str, Any] | None]]:
    """The companions the step's "begin" line says go with it, each with its trash slot (for trash)."""
    carried = [step.companions[index] for index in begin.get("carried", ())]
    return list(zip(carried, begin.get("slots", [None] * len(carried)), strict=True))


def _companion_problem(step: Step) -> str | None:
    """Why a companion that is to go with the step cannot: changed or gone since the scan."""
    for fate in step.carried:
        companion = fate.companion
        found = Scanned(companion.path, companion.size, companion.mtime_ns, companion.content_hash, 0, 0, "")
        problem = changed_since_scan(found, read_bytes=True)
        if problem is not None and not any(os.path.lexists(path) for path in companion.shared_with):
            return f"its companion {companion.path!r} is {problem}"
    return None


def _slot(record: dict[str, Any] | None) -> trash.Slot | None:
    return trash.Slot(**record) if record else None


def _header(plan: Plan) -> dict[str, Any]:
    return {"action": plan.action.value, "report": plan.report,
            "created": datetime.now().isoformat(timespec="seconds"),
            "steps": [asdict(step) for step in plan.steps], "skips": [asdict(skip) for skip in plan.skips]}


def _step(record: dict[str, Any]) -> Step:
    fates = tuple(Fate(_companion(fate["companion"]), fate["goes"], fate["destination"], fate["reason"])
                  for fate in record.get("companions", ()))
    carry = record.get("carry")
    return Step(record["group"], Action(record["action"]), _scanned(record["file"]), _scanned(record["keeper"]),
                record["destination"], fates, tuple(record.get("warnings", ())), carry and Carry(**carry))


def _scanned(record: dict[str, Any]) -> Scanned:
    return Scanned(**{**record, "companions": tuple(_companion(c) for c in record.get("companions", ()))})


def _companion(record: dict[str, Any]) -> Companion:
    return Companion(**{**record, "shared_with": tuple(record.get("shared_with", ()))})


def _was_undone(book: Journal) -> bool:
    return any("undo" in event for event in book.events)


def _resumable(plan: Plan) -> Path | None:
    """The last journal, when it is an unfinished apply of the same report and action."""
    path = last_journal()
    if path is None or plan.report is None:
        return None
    with Journal.open(path) as book:
        settled = sum(1 for event in book.events if "done" in event or "failed" in event)
        same = book.header["report"] == plan.report and book.header["action"] == plan.action
        return path if same and not _was_undone(book) and settled < len(book.header["steps"]) else None
