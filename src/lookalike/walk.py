"""Stage 1, walk: find the image files under the roots.

Guarantees:
- every regular file reached is either yielded as a `FileRecord` (it looks like an image by its first bytes),
  reported as a `Problem` (it claims to be an image by its name but is not one, or cannot be read), or
  silently passed over (it is neither an image by content nor by name);
- a file reached through several hard links is yielded once (the first path in sorted walk order);
- FIFOs, sockets and devices are never opened; symlinks are not followed unless asked, and a symlink loop is
  never walked twice;
- paths are `str` in the file system encoding with surrogate escapes, so any bytes survive losslessly.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lookalike.formats import IMAGE_EXTENSIONS, sniff_format


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A regular file that looks like an image, identified as the file system sees it."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    format: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that should have been read but could not be, and why, in words a user understands."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class WalkOptions:
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    follow_symlinks: bool = False


SPECIAL_FILE_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def walk(roots: Sequence[str], options: WalkOptions = WalkOptions()) -> Iterator[FileRecord | Problem]:
    """Yield image files and problems under `roots`, depth first, in sorted order within each folder."""
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        root = os.path.abspath(root)
        try:
            st = os.stat(root)
        except OSError as error:
            yield Problem(root, f"cannot open: {describe_os_error(error)}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, root, options, seen_files, seen_dirs)
        else:
            yield from _visit_file(root, root, st, options, seen_files, explicit=True)


def _walk_dir(
    root: str,
    folder: str,
    options: WalkOptions,
    seen_files: set[tuple[int, int]],
    seen_dirs: set[tuple[int, int]],
) -> Iterator[FileRecord | Problem]:
    try:
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen_dirs:
            return  # a symlink loop, or a folder reached twice through links
        seen_dirs.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        yield Problem(folder, f"cannot read folder: {describe_os_error(error)}")
        return
    for entry in entries:
        relative = os.path.relpath(entry.path, root)
        if _matches(relative, entry.name, options.exclude):
            continue
        try:
            is_link = entry.is_symlink()
            if is_link and not options.follow_symlinks:
                if not os.path.exists(entry.path):
                    yield Problem(entry.path, "dangling symbolic link")
                continue
            st = os.stat(entry.path)
        except OSError as error:
            yield Problem(entry.path, _link_or_file_error(entry.path, error))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(root, entry.path, options, seen_files, seen_dirs)
        elif not options.include or _matches(relative, entry.name, options.include):
            yield from _visit_file(entry.path, root, st, options, seen_files, explicit=False)


def _visit_file(
    path: str,
    root: str,
    st: os.stat_result,
    options: WalkOptions,
    seen_files: set[tuple[int, int]],
    explicit: bool,
) -> Iterator[FileRecord | Problem]:
    named_like_image = has_image_extension(path)
    special = SPECIAL_FILE_KINDS.get(stat.S_IFMT(st.st_mode))
    if special is not None:
        if named_like_image or explicit:
            yield Problem(path, f"not a regular file: {special}")
        return
    identity = (st.st_dev, st.st_ino)
    if identity in seen_files:
        return  # another name of a file already yielded (hard link)
    seen_files.add(identity)
    if st.st_size == 0:
        if named_like_image or explicit:
            yield Problem(path, "empty file (0 bytes)")
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
    except OSError as error:
        yield Problem(path, f"cannot open: {describe_os_error(error)}")
        return
    image_format = sniff_format(head)
    if image_format is not None:
        yield FileRecord(path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, image_format)
    elif named_like_image or explicit:
        yield Problem(path, f"not an image: {describe_content(head)}")


def has_image_extension(path: str) -> bool:
    return os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def _matches(relative: str, name: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(relative, glob) or fnmatch.fnmatch(name, glob) for glob in globs)


def _link_or_file_error(path: str, error: OSError) -> str:
    if os.path.islink(path):
        if error.errno == 40:  # ELOOP
            return "symbolic link loop"
        return "dangling symbolic link"
    return f"cannot open: {describe_os_error(error)}"


def describe_os_error(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def describe_content(head: bytes) -> str:
    """Name what a file that is not an image seems to be, from its first bytes."""
    if not head.strip(b"\x00"):
        return "only zero bytes"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary content"
    return "text"
