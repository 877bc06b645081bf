"""The trash, in a way that can be undone: where the freedesktop.org trash specification applies (Linux, BSD),
lookalike moves the file itself, so it knows the slot the file went to and can put it back; on macOS and Windows
send2trash hands the file to the system (the Finder's trash, the Recycle Bin), which does not say where it put
it, so lookalike looks for it there afterwards (`find_in_system_trash`) and undo puts back what it finds.

Guarantees (freedesktop): the file goes to the trash of its own file system (`$XDG_DATA_HOME/Trash` when that
is on the same device, else `$topdir/.Trash/$uid` or `$topdir/.Trash-$uid`) by one rename, so it is never
copied; its `.trashinfo` is written whole (by a rename) before the file moves, so a file manager can always
restore it too; a slot is never shared with another trashed file.

Guarantees (system trash): a file is found there only by its bytes (the content hash the scan took) and, in the
Recycle Bin, by the original path Windows records for it; undo moves it back by one rename and refuses to
overwrite a file that took its place; what it cannot find, it says how to restore by hand.
"""

from __future__ import annotations

import errno
import ntpath
import os
import stat
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes

from send2trash import send2trash

from lookalike.resolution import fileops
from lookalike.stages.exact import hash_file

INFO_SUFFIX = ".trashinfo"
SYSTEM = sys.platform
RECYCLE_BIN = "$Recycle.Bin"
BY_HAND = {  # the systems whose own trash send2trash uses, and how to restore by hand what undo cannot find
    "darwin": "open the Trash in the Finder, select the file and choose File > Put Back",
    "win32": "open the Recycle Bin, right-click the file and choose Restore",
}


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a trashed file lives: the file itself and its info file."""

    file: str
    info: str
    info_path: str  # the "Path=" value: absolute in the home trash, relative to the top folder elsewhere


def slot_for(path: str) -> Slot | None:
    """A free slot in the trash of `path`'s file system; None where the system trash is used instead."""
    if SYSTEM in BY_HAND:
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


@dataclass(frozen=True, slots=True)
class Trashed:
    """Where the system trash put a file: the file, and (Recycle Bin) the `$I` file recording where it was."""

    file: str
    info: str | None = None


def put(path: str, slot: Slot | None) -> None:
    """Send `path` to the trash at `slot` (None: the system trash), or finish doing so after an interruption."""
    if slot is None:
        if os.path.lexists(path):
            send2trash(path)
        return  # gone already: trashed before an interruption (`find_in_system_trash` looks for it)
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


def refusal(path: str) -> str | None:
    """Why the trash must not take `path`: Windows deletes for good, unasked, a file on a network share (a UNC
    path), which has no Recycle Bin."""
    if SYSTEM == "win32" and ntpath.splitdrive(path)[0][:2] in ("\\\\", "//"):
        return "on a network share, which has no Recycle Bin: Windows would delete it for good"
    return None


def find_in_system_trash(path: str, content_hash: bytes) -> Trashed | None:
    """Where the system trash holds the file that was at `path` with these bytes, if it can be found."""
    if SYSTEM == "win32":
        bins = [ntpath.join(ntpath.splitdrive(path)[0] + "\\", RECYCLE_BIN)]
        return find_in_recycle_bins(path, content_hash, bins)
    if SYSTEM == "darwin":
        return find_in_trash_folders(path, content_hash, _finder_trashes(path))
    return None


def take_back_from_system(path: str, content_hash: bytes, where: Trashed | None) -> None:
    """Put back a file the system trash holds (`where` it was found when trashed, or where it is found now)."""
    if os.path.lexists(path):
        if _holds(path, content_hash):
            return  # never left, or put back already
        raise FileExistsError(errno.EEXIST, "another file took its place; it stays in the trash", path)
    if where is None or not _holds(where.file, content_hash):
        where = find_in_system_trash(path, content_hash)
    if where is None:
        raise OSError(f"not found in the trash: {BY_HAND.get(SYSTEM, 'restore it by hand')}")
    os.rename(where.file, path)
    if where.info is not None:
        fileops.remove_if_present(where.info)


def find_in_recycle_bins(path: str, content_hash: bytes, bins: list[str]) -> Trashed | None:
    """The Recycle Bin entry for `path`: a `$I` file under one of `bins` (one folder per user) naming `path`,
    whose `$R` file has these bytes. Folders of other users, which cannot be read, are passed over. The newest
    records are read first: right after the file was trashed, its own is the first."""
    for info in _entries(bins, "$I"):
        if recorded_path(info) == path:
            folder, name = os.path.split(info)
            trashed = os.path.join(folder, "$R" + name[2:])
            if _holds(trashed, content_hash):
                return Trashed(trashed, info)
    return None


def recorded_path(info: str) -> str | None:
    """The original path a Recycle Bin `$I` file records: version 1 (Vista to 8.1) holds it in 520 bytes of
    UTF-16 after a 24-byte header, version 2 (Windows 10 on) as a length in characters, then the characters."""
    try:
        data = Path(info).read_bytes()
        version = struct.unpack_from("<q", data)[0]
        if version == 1:
            raw = data[24:24 + 520]
        elif version == 2:
            (length,) = struct.unpack_from("<i", data, 24)
            raw = data[28:28 + 2 * length]
        else:
            return None
        return raw.decode("utf-16-le").split("\0", 1)[0]
    except (OSError, struct.error, UnicodeDecodeError):
        return None


def find_in_trash_folders(path: str, content_hash: bytes, folders: list[str]) -> Trashed | None:
    """The newest file in one of `folders` (the Finder's trashes) with these bytes and `path`'s name, or its
    name with what the Finder adds to keep names apart ("photo 2.jpg", "photo 10.31.04.jpg")."""
    stem, extension = os.path.splitext(os.path.basename(path))
    found = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name == stem + extension or (entry.name.startswith(stem + " ") and entry.name.endswith(extension)):
                found.append(entry)
    found.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_ctime, reverse=True)
    return next((Trashed(entry.path) for entry in found if _holds(entry.path, content_hash)), None)


def _finder_trashes(path: str) -> list[str]:
    """The Finder's trash for `path`: the home folder's, and that of the volume `path` is on."""
    folder = os.path.dirname(os.path.abspath(path))
    device = _device_of(folder)
    return [os.path.expanduser("~/.Trash"), os.path.join(_top_folder(folder, device), ".Trashes", str(os.getuid()))]


def _entries(bins: list[str], prefix: str) -> Iterator[str]:
    for root in bins:
        try:
            users = [entry.path for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for user in users:
            try:
                found = [entry for entry in os.scandir(user) if entry.name.startswith(prefix)]
                found.sort(key=lambda entry: entry.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
            except OSError:  # another user's folder
                continue
            yield from (entry.path for entry in found)


def _holds(path: str, content_hash: bytes) -> bool:
    try:
        return os.path.isfile(path) and not os.path.islink(path) and hash_file(path) == content_hash
    except OSError:
        return False
