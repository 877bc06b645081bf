"""The trash, in a way that can be undone: where the freedesktop.org trash specification applies (Linux, BSD),
lookalike moves the file itself, so it knows the slot the file went to and can put it back; elsewhere (macOS,
Windows) send2trash hands the file to the system, which gives nothing back to restore from.

Guarantees (freedesktop): the file goes to the trash of its own file system (`$XDG_DATA_HOME/Trash` when that
is on the same device, else `$topdir/.Trash/$uid` or `$topdir/.Trash-$uid`) by one rename, so it is never
copied; its `.trashinfo` is written whole (by a rename) before the file moves, so a file manager can always
restore it too; a slot is never shared with another trashed file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from send2trash import send2trash

from lookalike import fileops

INFO_SUFFIX = ".trashinfo"
UNDOABLE = sys.platform not in ("darwin", "win32")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a trashed file lives: the file itself and its info file."""

    file: str
    info: str
    info_path: str  # the "Path=" value: absolute in the home trash, relative to the top folder elsewhere


def slot_for(path: str) -> Slot | None:
    """A free slot in the trash of `path`'s file system; None where the system trash is used instead."""
    if not UNDOABLE:
        return None
    trash, top = _trash_folder(path)
    name = os.path.basename(path)
    stem, extension = os.path.splitext(name)
    counter = 0
    while True:
        slot = Slot(os.path.join(trash, "files", name), os.path.join(trash, "info", name + INFO_SUFFIX),
                    path if top is None else os.path.relpath(path, top))
        if not os.path.lexists(slot.file) and not os.path.lexists(slot.info):
            return slot
        counter += 1
        name = f"{stem} {counter}{extension}"


def put(path: str, slot: Slot | None) -> None:
    """Send `path` to the trash at `slot`, or finish doing so after an interruption."""
    if slot is None:
        send2trash(path)
        return
    if os.path.lexists(slot.file) and not os.path.lexists(path):
        return  # already there
    if os.path.lexists(slot.info) and not _is_ours(slot):
        raise FileExistsError(errno.EEXIST, "the trash slot was taken meanwhile", slot.info)
    for folder in (os.path.dirname(slot.file), os.path.dirname(slot.info)):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    _write_info(slot)
    if os.path.lexists(slot.file):
        raise FileExistsError(errno.EEXIST, "the trash slot was taken meanwhile", slot.file)
    os.rename(path, slot.file)


def take_back(path: str, slot: Slot) -> None:
    """Undo `put`: the file returns to `path` and its info file goes; nothing happens if it never left."""
    fileops.remove_if_present(fileops.temporary_name(slot.info))
    ours = _is_ours(slot)
    if not os.path.lexists(path):
        if not ours:
            raise FileNotFoundError(errno.ENOENT, "it is no longer in the trash", slot.file)
        os.rename(slot.file, path)
    elif ours and os.path.lexists(slot.file):
        raise FileExistsError(errno.EEXIST, "another file took its place; it stays in the trash", path)
    if ours:
        os.unlink(slot.info)


def _write_info(slot: Slot) -> None:
    """Write the info file whole or not at all: a torn one could not be told from another program's."""
    temporary = fileops.temporary_name(slot.info)
    fileops.remove_if_present(temporary)
    with open(temporary, "w", encoding="ascii") as info:
        info.write(f"[Trash Info]\nPath={quote(os.fsencode(slot.info_path))}\n"
                   f"DeletionDate={datetime.now().strftime('%Y-%m-%dT%H:%M:%S')}\n")
    os.rename(temporary, slot.info)


def _is_ours(slot: Slot) -> bool:
    try:
        lines = Path(slot.info).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    paths = [unquote_to_bytes(line[len("Path="):]) for line in lines if line.startswith("Path=")]
    return paths == [os.fsencode(slot.info_path)]


def _trash_folder(path: str) -> tuple[str, str | None]:
    """The trash for `path`, and the top folder its info paths are relative to (None: absolute paths)."""
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    home_trash = os.path.join(data_home, "Trash")
    device = os.lstat(path).st_dev
    if _device_of(home_trash) == device:
        return home_trash, None
    top = _top_folder(os.path.dirname(os.path.abspath(path)), device)
    shared = os.path.join(top, ".Trash")
    try:
        mode = os.lstat(shared).st_mode
    except FileNotFoundError:
        mode = 0
    if stat.S_ISDIR(mode) and mode & stat.S_ISVTX:
        return os.path.join(shared, str(os.getuid())), top
    return os.path.join(top, f".Trash-{os.getuid()}"), top


def _device_of(path: str) -> int:
    """The device of `path`, or of its nearest existing ancestor."""
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return os.stat(path).st_dev


def _top_folder(folder: str, device: int) -> str:
    """The highest folder above `folder` on the same device: its file system's mount point."""
    while (parent := os.path.dirname(folder)) != folder and os.stat(parent).st_dev == device:
        folder = parent
    return folder
