"""Stage 1, walk: find the image files under the roots (every file, with `WalkOptions.all_files`).

Guarantees:
- every regular file reached is either yielded as a `FileRecord` (it looks like an image by its first bytes),
  reported as a `Problem` (it claims to be an image by its name but is not one, or cannot be read), or
  silently passed over (it is neither an image by content nor by name); with `all_files`, every regular file
  that is not empty is yielded, unread (its `format` None unless the caller knew it);
- a file reached through several hard links is yielded once (the first path in sorted walk order);
- FIFOs, sockets and devices are never opened, not even when one takes a regular file's place during the scan
  (`open_regular`); symlinks are not followed unless asked, a symlink loop is never walked twice, and one that
  is not followed is reported as a loop or as dangling when it leads nowhere;
- folders are walked with an explicit stack, so no nesting depth exhausts Python's recursion limit;
- `check_unchanged` tells, later in the scan, whether a file is still the one the walk found;
- a file the caller already knows (`KnownFiles`: the cache) with the same device, inode, size and mtime is
  not opened again: its known record is yielded as it is (with `all_files`, none is asked about: none is read);
- paths are `str` in the file system encoding with surrogate escapes, so any bytes survive losslessly.
- `FileRecords` holds many records as columns and gives back records equal to those it was given.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fnmatch
import os
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, TypeVar, overload

from lookalike.platform.platforms import READ_FLAGS
from lookalike.stages.formats import IMAGE_EXTENSIONS, extension_of, sniff_format

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()  # os.fsencode's, without
# its checks: FileRecords encodes and decodes a name for every file


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A regular file that looks like an image, identified as the file system sees it."""

    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    format: str | None  # None for a file never sniffed: walked with `all_files`, or told to the cache

    @property
    def identity(self) -> tuple[int, int, int, int]:
        """Device, inode, size and mtime: a file with all four as recorded is taken to be unchanged."""
        return self.device, self.inode, self.size, self.mtime_ns


class _Lazy(Sequence[T]):
    """A sequence whose items are made when they are asked for, by `_item` (an index in range, not negative)."""

    def _item(self, index: int) -> T:
        raise NotImplementedError

    def __iter__(self) -> Iterator[T]:
        return (self._item(index) for index in range(len(self)))

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self._item(index % len(self))


class FileRecords(_Lazy[FileRecord]):
    """The records of many files, in the order appended, held as columns: a million `FileRecord` objects take
    about 290 MB, these columns about 60 (each folder's path is held once, each file's name as UTF-8 bytes).
    Indexing makes a `FileRecord` equal to the one appended; `path`, `identities` and `take` make none."""

    def __init__(self, records: Iterable[FileRecord] = ()) -> None:
        self._folders: list[str] = []  # only ever appended to: `take` shares it
        self._folder_index: dict[str, int] = {}
        self._formats: list[str | None] = []  # likewise
        self._names = bytearray()
        self._name_ends = array("q")
        self._folder_of = array("i")
        self._format_of = array("b")
        self._identities = array("q")  # device, inode, size, mtime_ns of each file in turn
        for record in records:
            self.append(record)

    def append(self, record: FileRecord) -> None:
        path = record.path
        cut = path.rfind(os.sep) + 1
        self.add(self.folder(path[:cut]), path[cut:], record.format,
                 (record.device, record.inode, record.size, record.mtime_ns))

    def folder(self, folder: str) -> int:
        """The number of `folder` (a path up to and with its last separator), for `add`."""
        index = self._folder_index.get(folder)
        if index is None:
            index = self._folder_index[folder] = len(self._folders)
            self._folders.append(folder)
        return index

    def add(self, folder: int, name: str, file_format: str | None, identity: Sequence[int]) -> None:
        """`append` a record without making it: file `name` of folder number `folder` (the walk's way)."""
        if file_format not in self._formats:
            self._formats.append(file_format)
        self._add(name.encode(_FS_ENCODING, _FS_ERRORS), folder, self._formats.index(file_format), identity)

    def _add(self, name: bytes | bytearray, folder: int, file_format: int, identity: Sequence[int]) -> None:
        self._names += name
        self._name_ends.append(len(self._names))
        self._folder_of.append(folder)
        self._format_of.append(file_format)
        self._identities.extend(identity)

    def __len__(self) -> int:
        return len(self._name_ends)

    @overload
    def __getitem__(self, index: int) -> FileRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[FileRecord]: ...

    def __getitem__(self, index: int | slice) -> FileRecord | list[FileRecord]:
        if index.__class__ is int and 0 <= index < len(self._name_ends):  # grouping and the report ask a record
            return self._item(index)  # at a time, for every file of every group: no more checks than needed
        return super().__getitem__(index)

    def _item(self, index: int) -> FileRecord:
        device, inode, size, mtime_ns = self._identities[4 * index:4 * index + 4]
        return FileRecord(self.path(index), device, inode, size, mtime_ns, self._formats[self._format_of[index]])

    def path(self, index: int) -> str:
        """The path of record `index` (not negative)."""
        ends = self._name_ends
        name = self._names[ends[index - 1] if index else 0:ends[index]]
        return self._folders[self._folder_of[index]] + name.decode(_FS_ENCODING, _FS_ERRORS)

    def weighed(self, index: int) -> tuple[str, int, int]:
        """The path, size and mtime_ns of record `index` (not negative), without making the record: what the keeper
        rule weighs of every member of every group."""
        return self.path(index), self._identities[4 * index + 2], self._identities[4 * index + 3]

    def formats(self, indices: Iterable[int]) -> list[str | None]:
        """The format of each of these records, as `FileRecord.format`, without making the records."""
        formats, format_of = self._formats, self._format_of
        return [formats[format_of[index]] for index in indices]

    def paths(self, indices: Sequence[int]) -> Sequence[str]:
        """The paths of these records, each made when it is asked for."""
        return _Paths(self, indices)

    def identities(self) -> np.ndarray:
        """(len, 4) int64: each record's `identity`."""
        import numpy as np  # here, not above: the decoding workers import this module and need no NumPy

        return np.frombuffer(self._identities, np.int64).reshape(-1, 4).copy()

    def take(self, indices: Iterable[int]) -> FileRecords:
        """These records, in this order."""
        taken = FileRecords()
        taken._folders, taken._folder_index, taken._formats = self._folders, self._folder_index, self._formats
        for index in indices:
            taken._add(self._name(index), self._folder_of[index], self._format_of[index], self._identity(index))
        return taken

    def _name(self, index: int) -> bytearray:
        return self._names[self._name_ends[index - 1] if index else 0:self._name_ends[index]]

    def _identity(self, index: int) -> array[int]:
        return self._identities[4 * index:4 * index + 4]


class _Paths(_Lazy[str]):
    def __init__(self, records: FileRecords, indices: Sequence[int]) -> None:
        self._records, self._indices = records, indices

    def __len__(self) -> int:
        return len(self._indices)

    def _item(self, index: int) -> str:
        return self._records.path(int(self._indices[index]))


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
    all_files: bool = False  # every file, not only images: none is opened (--method bytes --all-files)


SPECIAL_FILE_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}

HEAD = 64

KnownFiles = Callable[[str], "FileRecord | None"]
"""The record a caller holds for a path, as the file was when last seen, if any."""


class NotRegularFile(OSError):
    """A path that was a regular file when found is something else (a FIFO, a device...) when opened."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"not a regular file: {kind}")
        self.kind = kind


def open_regular(path: str) -> BinaryIO:
    """Open `path` for reading without ever blocking: a FIFO or device in its place raises `NotRegularFile`."""
    return os.fdopen(regular_descriptor(path), "rb")


def read_head(path: str) -> bytes:
    """The first HEAD bytes of a regular file (as `open_regular`, without a file object: the walk sniffs every
    file it does not know)."""
    descriptor = regular_descriptor(path)
    try:
        return os.read(descriptor, HEAD)
    finally:
        os.close(descriptor)


def regular_descriptor(path: str) -> int:
    """A descriptor of `path` for reading, as `open_regular` opens it."""
    return sized_descriptor(path)[0]


def sized_descriptor(path: str) -> tuple[int, int]:
    """`regular_descriptor` and the size of the file it reads, as it was opened."""
    descriptor = os.open(path, READ_FLAGS)
    st = os.fstat(descriptor)
    if not stat.S_ISREG(st.st_mode):
        os.close(descriptor)
        raise NotRegularFile(_kind_of(st.st_mode))
    return descriptor, st.st_size


def _unknown(_: str) -> None:
    return None


def walk(roots: Sequence[str], options: WalkOptions = WalkOptions(),
         known: KnownFiles = _unknown) -> Iterator[FileRecord | Problem]:
    """Yield image files and problems under `roots`, depth first, in sorted order within each folder."""
    records = FileRecords()
    for found in walk_into(records, roots, options, known):
        yield records[len(records) - 1] if found is None else found


def walk_into(records: FileRecords, roots: Sequence[str], options: WalkOptions = WalkOptions(),
              known: KnownFiles = _unknown) -> Iterator[Problem | None]:
    """`walk`, each file's record appended to `records` rather than yielded (None is yielded instead): no
    `FileRecord` is made for a file the caller does not know, nor its path split again (100,000 files: 0.1 s)."""
    if options.all_files:  # every file is taken unread: what the caller knows of it would change nothing
        known = _unknown
    seen_files = _SeenFiles(every_file=options.follow_symlinks or len(roots) > 1)
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        root = os.path.abspath(root)
        try:
            st = os.stat(root)
        except OSError as error:
            yield Problem(root, f"cannot open: {describe_os_error(error)}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_tree(records, root, options, seen_files, seen_dirs, known)
        else:
            cut = root.rfind(os.sep) + 1
            visited = _visit_file(records, records.folder(root[:cut]), root[cut:], root, st, seen_files, known(root),
                                  explicit=True, all_files=options.all_files)
            if visited is not False:
                yield None if visited is True else visited


class _SeenFiles:
    """The files met so far, so that each is yielded once, whatever its number of names. In one tree walked
    without following symlinks, only a file with several hard links can be met twice: only those are held,
    unless `every_file` (symlinks followed, or several roots), since a million files would take 60 MB."""

    def __init__(self, every_file: bool) -> None:
        self.every_file = every_file
        self.identities: set[int] = set()  # device << 64 | inode: one int, not a tuple of two

    def first_visit(self, st: os.stat_result) -> bool:
        identity = st.st_dev << 64 | st.st_ino
        if identity in self.identities:
            return False
        if self.every_file or st.st_nlink > 1:
            self.identities.add(identity)
        return True


def _walk_tree(
    records: FileRecords,
    root: str,
    options: WalkOptions,
    seen_files: _SeenFiles,
    seen_dirs: set[tuple[int, int]],
    known: KnownFiles,
) -> Iterator[Problem | None]:
    listings: list[tuple[int, str, Iterator[os.DirEntry[str]]]] = []
    problem = _enter(records, root, listings, seen_dirs)
    if problem is not None:
        yield problem
    exclude, include, follow_symlinks, all_files = options.exclude, options.include, options.follow_symlinks, \
        options.all_files
    while listings:
        folder, path, entries = listings[-1]
        with _FolderAt(path) as at:
            for entry in entries:  # a folder's entries in turn, until a subfolder is pushed in its place
                if exclude and _matches(root, entry, exclude):
                    continue
                found = _stat_entry(entry, follow_symlinks, at.descriptor)
                if found is None:
                    continue
                if isinstance(found, Problem):
                    yield found
                elif stat.S_ISDIR(found.st_mode):
                    problem = _enter(records, entry.path, listings, seen_dirs)
                    if problem is not None:
                        yield problem
                    break
                elif not include or _matches(root, entry, include):
                    visited = _visit_file(records, folder, entry.name, entry.path, found, seen_files,
                                          known(entry.path), False, all_files)
                    if visited is not False:
                        yield None if visited is True else visited
            else:
                listings.pop()


def _enter(records: FileRecords, folder: str, listings: list[tuple[int, str, Iterator[os.DirEntry[str]]]],
           seen_dirs: set[tuple[int, int]]) -> Problem | None:
    """Push `folder`'s sorted listing onto `listings`, with its number in `records`, unless it was walked already
    (a loop, or a link)."""
    try:
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen_dirs:
            return None
        seen_dirs.add((st.st_dev, st.st_ino))
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        return Problem(folder, f"cannot read folder: {describe_os_error(error)}")
    listings.append((records.folder(os.path.join(folder, "")), folder, iter(entries)))
    return None


_STAT_AT = os.stat in os.supports_dir_fd and hasattr(os, "O_DIRECTORY")  # not on Windows


class _FolderAt:
    """A descriptor of a folder whose entries are being walked, to stat each by its name rather than by its whole
    path, which the system would resolve folder by folder (100,000 files: 0.32 -> 0.2 s); None where it cannot
    open one. Closed whenever the walk goes into a subfolder, so that one descriptor is open however deep."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.descriptor: int | None = None

    def __enter__(self) -> _FolderAt:
        if _STAT_AT:
            with contextlib.suppress(OSError):  # the entries' own stats say what went wrong, by path
                self.descriptor = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        return self

    def __exit__(self, *_: object) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)


def _stat_entry(entry: os.DirEntry[str], follow_symlinks: bool, folder: int | None
                ) -> os.stat_result | Problem | None:
    """What `entry` is, as walked: its stat, a problem, or None for a symlink passed over. `folder`: a descriptor
    of its folder (`_FolderAt`), or None to stat it by path."""
    try:
        name = entry.path if folder is None else entry.name
        if entry.is_symlink() and not follow_symlinks:
            os.stat(name, dir_fd=folder)  # only to tell a loop or a dangling link from a good one
            return None
        return os.stat(name, dir_fd=folder)
    except OSError as error:
        return Problem(entry.path, _link_or_file_error(entry.path, error))


def _visit_file(
    records: FileRecords,
    folder: int,
    name: str,
    path: str,
    st: os.stat_result,
    seen_files: _SeenFiles,
    known: FileRecord | None,
    explicit: bool,
    all_files: bool = False,
) -> Problem | bool:
    """What the walk makes of a file it reached (`name`, in folder number `folder` of `records`, at `path`): its
    record appended to `records` (True), a problem, or False for one passed over. A plain function, not a
    generator, and the name looked at only where it decides: this runs for every file."""
    if not stat.S_ISREG(st.st_mode):
        if explicit or has_image_extension(path):
            return Problem(path, f"not a regular file: {_kind_of(st.st_mode)}")
        return False
    if not seen_files.first_visit(st):
        return False  # another name of a file already yielded (hard link)
    if st.st_size == 0:
        return Problem(path, "empty file (0 bytes)") if explicit or has_image_extension(path) else False
    identity = _identity(st)
    if known is not None and known.format is not None and known.identity == identity:
        records.add(folder, name, known.format, identity)  # the known record, as it is
        return True
    if all_files:
        records.add(folder, name, None, identity)
        return True
    try:
        head = read_head(path)
    except OSError as error:
        if explicit or not isinstance(error, NotRegularFile) or has_image_extension(path):
            return Problem(path, describe_open_error(error))
        return False
    image_format = sniff_format(head)
    if image_format is not None:
        records.add(folder, name, image_format, identity)
        return True
    if explicit or has_image_extension(path):
        return Problem(path, f"not an image: {describe_content(head)}")
    return False


_SHARED: dict = {}


def shared(value: T) -> T:
    """One object for each of the few distinct values of a column, not one per file: the cache's million-row
    column of formats otherwise holds a million copies of "JPEG"."""
    return _SHARED.setdefault(value, value)


def has_image_extension(path: str) -> bool:
    return extension_of(path) in IMAGE_EXTENSIONS


def _matches(root: str, entry: os.DirEntry[str], globs: Sequence[str]) -> bool:
    relative = os.path.relpath(entry.path, root)
    return any(fnmatch.fnmatch(relative, glob) or fnmatch.fnmatch(entry.name, glob) for glob in globs)


def _kind_of(mode: int) -> str:
    return SPECIAL_FILE_KINDS.get(stat.S_IFMT(mode), "not a file or folder")


def _link_or_file_error(path: str, error: OSError) -> str:
    if os.path.islink(path):
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if error.errno == errno.ENOENT:
            return "dangling symbolic link"
    return describe_open_error(error)


def describe_open_error(error: OSError) -> str:
    """Why a file found by the walk cannot be opened now, in plain words."""
    if isinstance(error, NotRegularFile):
        return str(error)
    if isinstance(error, FileNotFoundError):
        return "vanished during the scan"
    return f"cannot open: {describe_os_error(error)}"


def describe_os_error(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else str(error)


def describe_content(head: bytes) -> str:
    """Name what a file that is not an image seems to be, from its first bytes."""
    if not head.strip(b"\x00"):
        return "only zero bytes"
    try:  # not final: a character cut at the end of `head` is still text
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "unknown binary content"
    return "text"


def check_unchanged(record: FileRecord) -> Problem | None:
    """A problem if the file at `record.path` is no longer the one the walk found (gone, replaced or modified)."""
    try:
        st = os.stat(record.path)
    except OSError as error:
        return Problem(record.path, describe_open_error(error))
    if _identity(st) != record.identity:
        return Problem(record.path, "changed during the scan")
    return None


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
