"""Crash-safe file operations for resolving duplicates: each can be cut off at any instant and then finished, or
reversed, by calling it again; what to do next is read from the disk, never remembered.

Guarantees:
- a file is never absent from every place at once: a move is one rename within a file system, and copy → fsync
  → verify → rename into place → delete the source across file systems; a file replaced by a link is
  replaced by renaming the link, made under a temporary name, over it;
- nothing of anyone else's is overwritten: a move whose destination holds other bytes is refused;
- temporary names are `.lookalike-<16 hex>.tmp` beside their target: a file by that name is ours, from an
  operation cut off before it finished, and is removed when the operation runs again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from pathlib import Path

from lookalike.stages.exact import hash_file

ERROR_PRIVILEGE_NOT_HELD = 1314  # Windows: what creating a symbolic link fails with, unprivileged
SYMLINK_PRIVILEGE = ("Windows lets only administrators, or anyone in Developer Mode, make symbolic links: use "
                     "--action hardlink, or turn Developer Mode on")


def temporary_name(path: str) -> str:
    """The one temporary name lookalike uses for writing `path`."""
    digest = hashlib.blake2b(os.fsencode(path), digest_size=8).hexdigest()
    return os.path.join(os.path.dirname(path), f".lookalike-{digest}.tmp")


def move(source: str, destination: str, content_hash: bytes) -> None:
    """Move `source` (whose bytes hash to `content_hash`) to `destination`, or finish an interrupted move."""
    remove_if_present(temporary_name(destination))
    if not os.path.lexists(source):
        if os.path.lexists(destination):
            return  # already moved
        raise FileNotFoundError(errno.ENOENT, "the file is gone", source)
    if os.path.lexists(destination):
        if not _is_copy_of(destination, source, content_hash):
            raise FileExistsError(errno.EEXIST, "another file is in the way", destination)
        os.unlink(source)  # a copy across file systems that was complete and verified
        return
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        _move_across_file_systems(source, destination, content_hash)


def _move_across_file_systems(source: str, destination: str, content_hash: bytes) -> None:
    temporary = temporary_name(destination)
    _copy_durably(source, temporary)
    if hash_file(temporary) != content_hash:
        os.unlink(temporary)
        raise OSError(errno.EIO, "the copy does not match the original", destination)
    os.rename(temporary, destination)
    sync_folder(os.path.dirname(destination))
    os.unlink(source)


def _copy_durably(source: str, target: str) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1024 * 1024)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, target)


def _is_copy_of(candidate: str, original: str, content_hash: bytes) -> bool:
    if os.path.islink(candidate) or os.path.samefile(candidate, original):
        return False
    return hash_file(candidate) == content_hash


def replace_with_link(path: str, keeper: str, symbolic: bool) -> None:
    """Replace `path` by a hard or symbolic link to `keeper`; `path` exists at every instant."""
    temporary = temporary_name(path)
    remove_if_present(temporary)
    if is_link_to(path, keeper, symbolic):
        return
    if symbolic:
        _symlink(keeper, temporary)
    else:
        os.link(keeper, temporary)
    os.rename(temporary, path)


def _symlink(target: str, path: str) -> None:
    try:
        os.symlink(target, path)
    except OSError as error:
        if getattr(error, "winerror", None) == ERROR_PRIVILEGE_NOT_HELD:
            raise OSError(SYMLINK_PRIVILEGE) from error
        raise


def is_link_to(path: str, keeper: str, symbolic: bool) -> bool:
    if symbolic:
        return os.path.islink(path) and os.readlink(path) == keeper
    return os.path.lexists(path) and not os.path.islink(path) and os.path.samefile(path, keeper)


def restore_from_link(path: str, keeper: str, symbolic: bool, content_hash: bytes, mode: int,
                      mtime_ns: int) -> None:
    """Undo `replace_with_link`: put a copy of the keeper's bytes back at `path`, with its mode and time."""
    temporary = temporary_name(path)
    remove_if_present(temporary)
    if not is_link_to(path, keeper, symbolic):
        return  # never replaced, or already restored
    _copy_durably(keeper, temporary)
    os.chmod(temporary, mode)
    os.utime(temporary, ns=(mtime_ns, mtime_ns))
    if hash_file(temporary) != content_hash:
        os.unlink(temporary)
        raise OSError(errno.EIO, "the keeper's bytes changed since, cannot restore the copy", path)
    os.rename(temporary, path)


def sync_folder(folder: str) -> None:
    """Make renames in `folder` durable (POSIX; Windows cannot open folders)."""
    if os.name == "nt":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_if_present(path: str) -> None:
    """Remove `path` if it is there (a temporary file of an operation that was cut off)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_new(path: str, data: bytes) -> None:
    """Write a new file whole (under a temporary name, then renamed), or finish doing so; a file of other bytes
    in its place is left alone (FileExistsError)."""
    remove_if_present(temporary_name(path))
    if os.path.lexists(path):
        if os.path.islink(path) or Path(path).read_bytes() != data:
            raise FileExistsError(errno.EEXIST, "another file is in the way", path)
        return
    with open(temporary_name(path), "xb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())
    os.rename(temporary_name(path), path)
    sync_folder(os.path.dirname(path))


def remove_written(path: str, data: bytes) -> None:
    """Undo `write_new`: remove the file if it still holds `data`; one changed since is kept (OSError)."""
    remove_if_present(temporary_name(path))
    if not os.path.lexists(path):
        return
    if os.path.islink(path) or Path(path).read_bytes() != data:
        raise OSError(errno.EEXIST, "changed since lookalike wrote it; it stays", path)
    os.unlink(path)
