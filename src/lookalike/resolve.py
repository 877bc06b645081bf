"""Apply a plan, resume it after a crash, undo it: every file operation goes through the journal.

Guarantees:
- before a file is touched, its size, modified time and content hash are checked against the scan, and so are
  its keeper's; a file that differs is skipped with the reason, never acted on;
- a step's "begin" line is durable in the journal before the step starts (write-ahead) and "done" follows it;
  every operation (see `fileops`, `trash`) can be finished or reversed from the disk alone, so after a kill at
  any instant `apply` with the same journal completes the plan and `undo` puts every file back where it was,
  with its bytes; nothing is lost or duplicated either way;
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

from lookalike import fileops, trash
from lookalike.journal import Journal, last_journal, new_journal_path
from lookalike.keep import Scanned
from lookalike.planning import LINKS, MOVES, Action, Plan, Skip, Step, changed_since_scan, obstacle
from lookalike.walk import describe_os_error


@dataclass(frozen=True, slots=True)
class Outcome:
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
                      or obstacle(step.action, step.file, step.keeper, step.destination))
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
        if step.action is Action.TRASH:
            slot = trash.slot_for(step.file.path)
            return {"slot": slot and asdict(slot)}
        if step.action in LINKS:
            return {"mode": os.stat(step.file.path).st_mode & 0o7777}
        return {}

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
    """Carry out the step; what its "done" line must say besides (where the system trash put the file)."""
    path = step.file.path
    if step.action in MOVES:
        fileops.move(path, step.destination, bytes.fromhex(step.file.content_hash))
    elif step.action is Action.TRASH:
        slot = _slot(begin)
        trash.put(path, slot)
        if slot is None:
            where = trash.find_in_system_trash(path, bytes.fromhex(step.file.content_hash))
            return {"trashed": where and asdict(where)}
    elif step.action in LINKS:
        fileops.replace_with_link(path, step.keeper.path, symbolic=step.action is Action.SYMLINK)
    elif os.path.lexists(path):
        os.unlink(path)
    return {}


def _reverse(step: Step, begin: dict[str, Any]) -> None:
    path = step.file.path
    if step.action in MOVES:
        fileops.move(step.destination, path, bytes.fromhex(step.file.content_hash))
    elif step.action is Action.TRASH:
        slot = _slot(begin)
        if slot is None:
            where = begin.get("trashed")
            trash.take_back_from_system(path, bytes.fromhex(step.file.content_hash), where and trash.Trashed(**where))
        else:
            trash.take_back(path, slot)
    elif step.action in LINKS:
        fileops.restore_from_link(path, step.keeper.path, step.action is Action.SYMLINK,
                                  bytes.fromhex(step.file.content_hash), begin["mode"], step.file.mtime_ns)
    elif not os.path.lexists(path):
        raise OSError("deleted for good: cannot be put back")


def _slot(begin: dict[str, Any]) -> trash.Slot | None:
    return trash.Slot(**begin["slot"]) if begin.get("slot") else None


def _header(plan: Plan) -> dict[str, Any]:
    return {"action": plan.action.value, "report": plan.report,
            "created": datetime.now().isoformat(timespec="seconds"),
            "steps": [asdict(step) for step in plan.steps], "skips": [asdict(skip) for skip in plan.skips]}


def _step(record: dict[str, Any]) -> Step:
    return Step(record["group"], Action(record["action"]), Scanned(**record["file"]), Scanned(**record["keeper"]),
                record["destination"])


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
