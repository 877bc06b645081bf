"""Plans: from a report and a person's choices to the exact list of file operations, before any is done.

Guarantees:
- every group keeps at least one member in place: the keeper of each group (or of each folder's share of it,
  with --within-folders) is never a step, and no step is planned for a group whose keeper is missing or
  changed;
- files in a reference folder are never a step;
- a file is planned only if it still has the size and modified time the scan saw, nothing is in the way of
  its destination, and two steps never share a destination; anything else is a `Skip` with a reason;
- a link replaces a file only when its bytes are the keeper's (a linked copy must lose nothing);
- every companion of a file acted on (`companions`) has a fate: it goes with its image (moved beside it,
  trashed, deleted), or stays, with the reason (another image it belongs to stays; its image stays as a
  link); a companion several files share goes with the last of them, and only when all of them go;
- the other half of a keeper's RAW+JPEG pair is left, unless the keep rules choose by format;
- planning reads only metadata and touches nothing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

from lookalike import report as reports
from lookalike.platform.platforms import CASE_BLIND
from lookalike.resolution import trash
from lookalike.resolution.sidecars import sidecar_path, xmp_packet
from lookalike.stages.companions import CARRIED, PAIR, XMP
from lookalike.stages.exact import hash_file
from lookalike.stages.keep import Companion, Scanned, choose_keeper, names_a_format, parse_rules, scanned_of_member
from lookalike.stages.walk import describe_os_error

EXACT_FOLDER = "exact duplicates"
MAYBE_FOLDER = "maybe duplicates"


class Action(StrEnum):
    """What `apply` does with each redundant copy (`--action`)."""

    REVIEW_FOLDERS = "review-folders"
    TRASH = "trash"
    MOVE = "move"
    HARDLINK = "hardlink"
    SYMLINK = "symlink"
    DELETE = "delete"


MOVES = (Action.REVIEW_FOLDERS, Action.MOVE)
LINKS = (Action.HARDLINK, Action.SYMLINK)


class Scope(StrEnum):
    """Which copies count as redundant: `--within-folders` or `--across-folders` (default: every copy)."""

    WITHIN_FOLDERS = "within-folders"  # each folder's share of a group keeps its own keeper
    ACROSS_FOLDERS = "across-folders"  # only copies in another folder than the keeper's are redundant


@dataclass(frozen=True, slots=True)
class Fate:
    """What becomes of one companion of a file acted on."""

    companion: Companion
    goes: bool  # with its image; else it stays where it is
    destination: str | None = None  # where a move puts it
    reason: str = ""  # why it stays


@dataclass(frozen=True, slots=True)
class Carry:
    """An XMP sidecar written beside a keeper before a step, with what the step's file has and the keeper lacks."""

    path: str
    data: str  # the sidecar's text (UTF-8)


@dataclass(frozen=True, slots=True)
class Step:
    """One file `apply` acts on: its group, the action, the file and its keeper, and where it goes."""

    group: int  # the group's number in the report, from 1
    action: Action
    file: Scanned
    keeper: Scanned
    destination: str | None = None  # for moves
    companions: tuple[Fate, ...] = ()
    warnings: tuple[str, ...] = ()  # what the file has that its keeper lacks
    carry: Carry | None = None  # --carry-metadata

    @property
    def carried(self) -> list[Fate]:
        return [fate for fate in self.companions if fate.goes]


@dataclass(frozen=True, slots=True)
class Skip:
    """A file a plan or apply leaves alone, with the reason."""

    group: int
    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What an action would do to a report's groups: the steps, file by file, and the files left alone."""

    action: Action
    steps: list[Step]
    skips: list[Skip]
    report: str | None = None  # the report file the plan was made from

    @property
    def bytes(self) -> int:
        return sum(step.file.size + sum(fate.companion.size for fate in step.carried) for step in self.steps)


def plan(report: dict[str, Any] | str | os.PathLike[str], action: Action | str, *, keep: str = "",
         reference: Sequence[str | os.PathLike[str]] = (), scope: Scope | str | None = None,
         to: str | os.PathLike[str] | None = None, carry_metadata: bool = False) -> Plan:
    """What `action` would do to the groups of `report` (a report dict or JSON file); ValueError on bad input.

    With `carry_metadata`, the camera's metadata a removed copy has and its keeper lacks is written into an XMP
    sidecar beside the keeper (never into the image), by the first step of that copy; a keeper that has a
    sidecar already is not written to (the step says so)."""
    document, source = _load(report)
    action, scope = Action(action), Scope(scope) if scope else None
    if action is Action.MOVE and to is None:
        raise ValueError("move needs a folder to move to (--to DIR)")
    folders = [os.path.abspath(os.fspath(folder)) for folder in reference]
    planner = _Planner(action, document.get("roots", []), to and os.path.abspath(os.fspath(to)),
                       lambda path: any(is_within(path, folder) for folder in folders), carry_metadata)
    rules, by_format = parse_rules(keep), names_a_format(keep)
    for number, group in enumerate(_groups(document), start=1):
        for share in _shares(group, scope):
            keeper = share[choose_keeper(share, rules, planner.is_reference)]
            pairs = {c.path for c in keeper.companions if c.kind == PAIR}
            for file in share:
                if file is keeper:
                    continue
                if file.path in pairs and not by_format:
                    planner.skips.append(Skip(number, file.path, PAIRED))
                else:
                    planner.decide(number, file, keeper, scope)
    return Plan(action, planner.with_companions(), planner.skips, source)


PAIRED = "the other half of its keeper's RAW+JPEG pair: one shot, not a copy (--keep format:RAW resolves it)"


class _Planner:
    def __init__(self, action: Action, roots: list[str], to: str | None, is_reference: Callable[[str], bool],
                 carry_metadata: bool = False):
        self.action, self.roots, self.to, self.is_reference = action, roots, to, is_reference
        self.carry_metadata = carry_metadata and action not in LINKS  # a link keeps the copy's name, not its EXIF
        self.carried_to: set[str] = set()  # keepers a sidecar is written beside
        self.steps: list[Step] = []
        self.skips: list[Skip] = []
        self.destinations: set[str] = set()
        self.keeper_problems: dict[str, str | None] = {}

    def decide(self, number: int, file: Scanned, keeper: Scanned, scope: Scope | None) -> None:
        destination = destination_of(self.action, file, keeper, self.roots, self.to)
        reason = self._reason_to_leave(file, keeper, scope, destination)
        if reason is None:
            warnings, carry = lacking(file, keeper), self._carry(file, keeper)
            if carry is None and self.carry_metadata and _missing_metadata(file, keeper):
                warnings += ("its metadata is not carried: its keeper has an XMP sidecar, or one is written "
                             "from another copy",)
            self.steps.append(Step(number, self.action, file, keeper, destination, warnings=warnings, carry=carry))
            if destination is not None:
                self.destinations.add(destination)
        else:
            self.skips.append(Skip(number, file.path, reason))

    def _carry(self, file: Scanned, keeper: Scanned) -> Carry | None:
        missing = _missing_metadata(file, keeper)
        path = sidecar_path(keeper.path)
        if (not self.carry_metadata or not missing or keeper.path in self.carried_to or os.path.lexists(path)
                or any(companion.kind == XMP for companion in keeper.companions)):
            return None
        self.carried_to.add(keeper.path)
        return Carry(path, xmp_packet(*(getattr(file, name) if name in missing else None
                                        for name in ("taken", "camera", "gps"))).decode())

    def with_companions(self) -> list[Step]:
        """The steps with each companion's fate; a step whose companion cannot go where it must is a skip."""
        leaving = {step.file.path: index for index, step in enumerate(self.steps)}
        steps = []
        for index, step in enumerate(self.steps):
            fates = tuple(self._fate(index, step, companion, leaving) for companion in step.file.companions
                          if companion.kind in CARRIED)
            blocked = next((fate for fate in fates if fate.goes and fate.destination is not None and
                            (os.path.lexists(fate.destination) or fate.destination in self.destinations)), None)
            if blocked is not None:
                self.skips.append(Skip(step.group, step.file.path,
                                       f"its companion would go to {blocked.destination!r}, which is taken"))
                continue
            self.destinations.update(fate.destination for fate in fates if fate.destination is not None)
            steps.append(dataclasses.replace(step, companions=fates))
        return steps

    def _fate(self, index: int, step: Step, companion: Companion, leaving: dict[str, int]) -> Fate:
        if step.action in LINKS:
            return Fate(companion, False, reason="its image stays, as a link to its keeper")
        staying = [path for path in companion.shared_with if path not in leaving]
        if staying:
            return Fate(companion, False, reason=f"it belongs to {staying[0]!r} too, which stays")
        if any(leaving[path] > index for path in companion.shared_with):
            return Fate(companion, False, reason="it goes with the last of the images it belongs to")
        destination = None if step.destination is None else os.path.join(os.path.dirname(step.destination),
                                                                          os.path.basename(companion.path))
        return Fate(companion, True, destination)

    def _reason_to_leave(self, file: Scanned, keeper: Scanned, scope: Scope | None,
                         destination: str | None) -> str | None:
        if self.is_reference(file.path):
            return "in a reference folder"
        if scope is Scope.ACROSS_FOLDERS and os.path.dirname(file.path) == os.path.dirname(keeper.path):
            return "in the keeper's folder (--across-folders)"
        if keeper.path not in self.keeper_problems:
            self.keeper_problems[keeper.path] = changed_since_scan(keeper, read_bytes=False)
        if self.keeper_problems[keeper.path] is not None:
            return f"its keeper {keeper.path!r} is {self.keeper_problems[keeper.path]}"
        if self.action in MOVES and destination is None:
            return "not under any scanned folder"
        if destination in self.destinations:
            return f"another file goes to {destination!r}"
        return changed_since_scan(file, read_bytes=False) or obstacle(self.action, file, keeper, destination)


def destination_of(action: Action, file: Scanned, keeper: Scanned, roots: Sequence[str],
                   to: str | None, paths: ModuleType = os.path) -> str | None:
    """Where a move puts `file`: under its scan root's review folder, or its whole path under `to` (a drive
    letter or a UNC server and share as folders: `C:\\Photos\\a.jpg` to `TO\\C\\Photos\\a.jpg`). `paths` is
    the path flavour (`ntpath` for Windows's)."""
    if action is Action.MOVE and to is not None:
        drive, rest = paths.splitdrive(file.path)
        return paths.join(to, drive.replace(":", "").lstrip("\\/"), rest.lstrip("\\/"))
    if action is Action.REVIEW_FOLDERS:
        containing = [root for root in roots if is_within(file.path, root, paths)]
        if containing:
            root = max(containing, key=len)
            folder = EXACT_FOLDER if file.content_hash == keeper.content_hash else MAYBE_FOLDER
            return paths.join(root, folder, paths.relpath(file.path, root))
    return None


def changed_since_scan(file: Scanned, read_bytes: bool) -> str | None:
    """Why `file` is no longer the file the scan saw (size, modified time, and with `read_bytes` the content)."""
    try:
        found = os.stat(file.path)
        if found.st_size != file.size:
            return "changed since the scan (size differs)"
        if found.st_mtime_ns != file.mtime_ns:
            return "changed since the scan (modified time differs)"
        if read_bytes and hash_file(file.path).hex() != file.content_hash:
            return "changed since the scan (content differs)"
    except FileNotFoundError:
        return "missing (moved or deleted since the scan)"
    except OSError as error:
        return f"unreadable: {describe_os_error(error)}"
    return None


def obstacle(action: Action, file: Scanned, keeper: Scanned, destination: str | None) -> str | None:
    """What stands in the way of the step, on the disk as it is now."""
    if os.path.samefile(file.path, keeper.path):
        return "the same file as its keeper (a link to it)"
    if destination is not None and os.path.lexists(destination):
        return f"{destination!r} exists already"
    if action in LINKS and file.content_hash != keeper.content_hash:
        return "not identical to its keeper: a link would lose its own pixels or metadata"
    if action is Action.HARDLINK and os.stat(file.path).st_dev != os.stat(keeper.path).st_dev:
        return "on another file system than its keeper: cannot hard link"
    if action is Action.TRASH:
        return trash.refusal(file.path)
    return None


def is_within(path: str, folder: str, paths: ModuleType = os.path, case_blind: bool = CASE_BLIND) -> bool:
    """Whether `path` is `folder` or inside it, its names compared as the system's file systems do by default:
    regardless of case on Windows (NTFS) and macOS (APFS), and on Windows with either slash."""
    path, folder = paths.normcase(path), paths.normcase(folder)
    if case_blind:
        path, folder = path.casefold(), folder.casefold()
    return path == folder or path.startswith(folder.rstrip(paths.sep) + paths.sep)


def _load(report: dict[str, Any] | str | os.PathLike[str]) -> tuple[dict[str, Any], str | None]:
    if isinstance(report, dict):
        return report, None
    with open(report, encoding="utf-8") as stream:
        return reports.read_json(stream), os.path.abspath(os.fspath(report))


def _missing_metadata(file: Scanned, keeper: Scanned) -> list[str]:
    """The `Scanned` fields of the camera's metadata that `file` has and `keeper` lacks."""
    return [name for name in ("taken", "camera", "gps") if getattr(file, name) and not getattr(keeper, name)]


def lacking(file: Scanned, keeper: Scanned) -> tuple[str, ...]:
    """What `file` has that `keeper` lacks, in words: the camera's metadata, and companions of each kind."""
    kinds = {companion.kind for companion in keeper.companions}
    return (*(f"has a {name} its keeper lacks" for name in file.metadata if name not in keeper.metadata),
            *(f"has a companion its keeper lacks: {c.kind} {os.path.basename(c.path)!r}" for c in file.companions
              if c.kind in CARRIED and c.kind not in kinds))


def _groups(document: dict[str, Any]) -> list[list[Scanned]]:
    """The report's groups as files, keeper first; ValueError when the report is not one lookalike writes."""
    try:
        groups = [[scanned_of_member(m) for m in group["members"]] for group in document["groups"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a lookalike report: a group or member lacks {error}") from error
    seen: set[str] = set()
    for file in (file for group in groups for file in group):
        if file.path in seen:
            raise ValueError(f"not a lookalike report: {file.path!r} is listed twice")
        seen.add(file.path)
    return groups


def _shares(group: list[Scanned], scope: Scope | None) -> list[list[Scanned]]:
    """The parts of a group resolved on their own: one per folder with --within-folders, else the group."""
    if scope is not Scope.WITHIN_FOLDERS:
        return [group]
    by_folder: dict[str, list[Scanned]] = {}
    for file in group:
        by_folder.setdefault(os.path.dirname(file.path), []).append(file)
    return [share for share in by_folder.values() if len(share) > 1]


def describe(plan: Plan) -> str:
    """One line of totals: how many files, how many bytes, how many left alone."""
    verb = {Action.REVIEW_FOLDERS: "to move into review folders", Action.TRASH: "to send to the trash",
            Action.MOVE: "to move", Action.HARDLINK: "to replace by hard links",
            Action.SYMLINK: "to replace by symbolic links", Action.DELETE: "to delete for good"}[plan.action]
    return (f"{len(plan.steps):,} files {verb} ({reports.human_bytes(plan.bytes)}); "
            f"{len(plan.skips):,} left alone")
