"""`--method bytes` groups identical files, decoding nothing, as jdupes does; `--method pixels` groups images
whose decoded pixels are identical, without a perceptual search."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

import lookalike
from lookalike import report
from lookalike.pipeline import BYTES, PIXELS, ScanOptions
from lookalike.stages.exact import BLOCK
from lookalike.stages.keep import best_first, keeper_reason, scanned_of_member
from tests.conftest import open_rgb, save

NOBODY = 65534
SECOND = 10**9


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def generated_tree(root: Path, photos: dict[str, Path]) -> list[Path]:
    """Files with copies, same-size files that differ (at the start, in the middle, at the end), hard links,
    empty files and photos; returns the files made unreadable (each has a readable twin)."""
    rng = random.Random(28)
    for number in range(60):
        size = rng.choice([10, 100, BLOCK - 1, BLOCK, 2 * BLOCK, 2 * BLOCK + 1, 5 * BLOCK, 300_000])
        data = rng.randbytes(size)
        write(root / "photos" / f"{number % 4}" / f"file {number}.bin", data)
        for copy in range(number % 3):  # none, one or two copies
            write(root / "backup" / f"{copy}" / f"file {number}.bin", data)
    middle, ends = rng.randbytes(5 * BLOCK), rng.randbytes(BLOCK)
    for name, changed in (("start", 0), ("middle", 2 * BLOCK), ("end", 7 * BLOCK - 1)):
        data = bytearray(ends + middle + ends)
        data[changed] ^= 1
        write(root / "same size" / f"{name}.bin", bytes(data))
    write(root / "same size" / "unchanged.bin", ends + middle + ends)
    small = rng.randbytes(1000)
    write(root / "same size" / "small a.bin", small)
    write(root / "same size" / "small b.bin", small[:-1] + bytes([small[-1] ^ 1]))
    linked = write(root / "links" / "a.bin", rng.randbytes(3 * BLOCK))
    os.link(linked, root / "links" / "b.bin")  # two names of one file, and a copy
    shutil.copyfile(linked, root / "links" / "c.bin")
    os.link(linked, root / "links" / "0 first name.bin")  # sorts first: the walk's name of the file
    alone = write(root / "links" / "alone.bin", rng.randbytes(2 * BLOCK))
    os.link(alone, root / "links" / "alone again.bin")  # one file, two names: not a duplicate
    for number in range(3):
        write(root / "empty" / f"{number}.bin", b"")
    shutil.copyfile(photos["coins"], root / "photos" / "coins.jpg")
    shutil.copyfile(photos["coins"], root / "backup" / "coins.jpg")
    unreadable = [shutil.copyfile(photos["rocket"], root / name) for name in ("rocket.jpg", "rocket copy.jpg")]
    shutil.copyfile(photos["rocket"], root / "rocket again.jpg")
    os.chmod(unreadable[1], 0)
    twin = write(root / "backup" / "unreadable twin.bin", rng.randbytes(4 * BLOCK))
    os.chmod(shutil.copyfile(twin, root / "photos" / "unreadable.bin"), 0)
    return [Path(unreadable[1]), root / "photos" / "unreadable.bin"]


@contextmanager
def unprivileged() -> Iterator[None]:
    """Run as nobody when root, for whom no file is unreadable."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder that nobody may walk and write in (the test's own folder is root's alone)."""
    with tempfile.TemporaryDirectory(prefix="lookalike-bytes-") as folder:
        os.chmod(folder, 0o777)
        yield Path(folder)


@pytest.fixture
def tree(photos, open_folder) -> tuple[Path, list[Path]]:
    """The generated tree, in `open_folder`."""
    root = open_folder / "tree"
    unreadable = generated_tree(root, photos)
    for path in root.rglob("*"):
        if path not in unreadable:
            path.chmod(0o755 if path.is_dir() else 0o644)
    return root, unreadable


def jdupes_groups(root: Path) -> list[list[str]]:
    """`jdupes -r`'s groups of paths, run as the scan is (`unprivileged`)."""
    user = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}
    listed = subprocess.run(["jdupes", "-r", str(root)], capture_output=True, text=True, check=True, **user)
    return [block.splitlines() for block in listed.stdout.strip().split("\n\n") if block]


def inodes(groups: list[list[str]]) -> set[frozenset[tuple[int, int]]]:
    """Each group as the set of files it holds: a file by its device and inode, whatever its names."""
    return {frozenset((st.st_dev, st.st_ino) for st in map(os.stat, group)) for group in groups}


def groups_of(result) -> list[list[str]]:
    return [[result.files[member.file].path for member in group.members] for group in result.groups]


@pytest.mark.skipif(shutil.which("jdupes") is None, reason="jdupes is not installed (Debian: apt-get install jdupes)")
def test_the_bytes_method_finds_the_groups_of_jdupes(tree):
    root, unreadable = tree
    with unprivileged():
        result = lookalike.scan([root], ScanOptions(cache=None, method=BYTES, all_files=True))
    ours, theirs = groups_of(result), jdupes_groups(root)
    assert inodes(ours) == inodes(theirs) and len(ours) == 43  # jdupes, too, lists a file once under its names
    assert ([str(root / "links" / name) for name in ("0 first name.bin", "c.bin")] in ours
            and [str(root / "same size" / "middle.bin")] not in ours)  # the walk's name: the first in order
    assert {problem.path: problem.reason for problem in result.problems} == {
        str(path): "cannot read: permission denied" for path in unreadable}
    assert all(group.kind == "exact" and all(m.match in ("keeper", "bytes") for m in group.members)
               for group in result.groups)
    assert result.decoded == 0 and len(result.files) == 134  # every readable file but the empty ones, once


def test_each_bytes_keeper_and_reason_is_the_keep_rules_of_its_members(tree):
    """Ranked for all groups at once, each group's keeper and reason are those the keep rule gives its members."""
    root, _ = tree
    for number, path in enumerate(sorted(path for path in root.rglob("*") if path.is_file())):
        os.utime(path, ns=(SECOND * (number * 7 % 4), SECOND * (number * 7 % 4)))  # copies of one date too
    document = report.to_json(lookalike.scan([root], ScanOptions(cache=None, method=BYTES, all_files=True)))
    for group in document["groups"]:
        files = [scanned_of_member(member) for member in group["members"]]
        assert best_first(files)[0] == 0 and group["reason"] == keeper_reason(files, 0)
    assert {group["reason"] for group in document["groups"]} == {"the oldest file", "the first path"}


def test_without_all_files_only_images_are_compared(tree):
    root, unreadable = tree
    with unprivileged():
        result = lookalike.scan([root], ScanOptions(cache=None, method=BYTES, jobs=1))
    assert groups_of(result) == [[str(root / "photos" / "coins.jpg"), str(root / "backup" / "coins.jpg")],
                                 [str(root / "rocket.jpg"), str(root / "rocket again.jpg")]]  # the oldest kept
    assert {problem.path for problem in result.problems} == set(map(str, unreadable))  # not sniffed: reported
    document = report.to_json(result)
    assert {member["format"] for group in document["groups"] for member in group["members"]} == {"JPEG"}
    assert document["work"]["decoded"] == 0


def test_the_cache_answers_unchanged_files_without_reading_them(open_folder, photos):
    for folder in ("a", "b"):
        shutil.copyfile(photos["coins"], write(open_folder / folder / "coins.jpg", b""))
        write(open_folder / folder / "notes.txt", b"the same notes")
        os.chmod(open_folder / folder, 0o755)
    options = ScanOptions(cache=open_folder / "cache.sqlite", method=BYTES, all_files=True)
    with unprivileged():
        first = lookalike.scan([open_folder / "a", open_folder / "b"], options)
    for path in (open_folder / "a" / "coins.jpg", open_folder / "a" / "notes.txt"):
        os.chmod(path, 0)  # a file read now would be reported
    with unprivileged():
        again = lookalike.scan([open_folder / "a", open_folder / "b"], options)
    assert groups_of(again) == groups_of(first) and len(first.groups) == 2 and again.problems == []


def test_one_reading_thread_finds_what_several_find(tree):
    root, _ = tree
    with unprivileged():
        alone, several = (groups_of(lookalike.scan([root], ScanOptions(cache=None, method=BYTES, all_files=True,
                                                                         read_threads=threads)))
                          for threads in (1, 8))
    assert alone == several and len(alone) == 43


def test_a_bytes_report_is_planned_applied_and_undone(tmp_path, photos):
    for folder in ("photos", "backup"):
        shutil.copyfile(photos["chelsea"], write(tmp_path / folder / "cat.jpg", b""))
        write(tmp_path / folder / "notes.txt", b"the same notes")
    result = lookalike.scan([tmp_path], ScanOptions(cache=None, method=BYTES, all_files=True))
    (tmp_path / "report.json").write_text(json.dumps(report.to_json(result)))
    lookalike_command = [sys.executable, "-m", "lookalike"]
    applied = subprocess.run([*lookalike_command, "apply", str(tmp_path / "report.json"), "--action", "trash"],
                             capture_output=True, text=True, check=True)
    assert "trash: 2 files done" in applied.stdout
    assert sorted(p.name for folder in ("photos", "backup") for p in (tmp_path / folder).iterdir()) == [
        "cat.jpg", "notes.txt"]
    subprocess.run([*lookalike_command, "undo"], capture_output=True, text=True, check=True)
    assert len([p for folder in ("photos", "backup") for p in (tmp_path / folder).iterdir()]) == 4


def test_the_pixels_method_groups_identical_pixels_only(tmp_path, photos):
    picture = open_rgb(photos["astronaut"])
    save(picture, tmp_path / "astronaut.png")
    save(picture, tmp_path / "astronaut.webp", lossless=True)  # a lossless re-encode: the same pixels
    save(picture, tmp_path / "astronaut.tiff")
    with Image.open(tmp_path / "astronaut.png") as image:
        image.save(tmp_path / "astronaut tagged.png", pnginfo=_text_chunk("a caption"))  # metadata only
    shutil.copyfile(tmp_path / "astronaut.png", tmp_path / "astronaut copy.png")
    changed = picture.copy()
    changed.putpixel((100, 100), (0, 0, 0))
    save(changed, tmp_path / "astronaut one pixel.png")  # alike, not identical
    save(picture, tmp_path / "astronaut.jpg", quality=95)  # lossy: not the same pixels
    os.utime(tmp_path / "astronaut.tiff", ns=(10**18, 10**18))  # the oldest: kept among equals
    result = lookalike.scan([tmp_path], ScanOptions(cache=None, method=PIXELS, jobs=1))
    [group] = result.groups
    members = {os.path.basename(result.files[m.file].path): m.match for m in group.members}
    assert members == {"astronaut.tiff": "keeper", "astronaut.png": "pixels", "astronaut copy.png": "pixels",
                       "astronaut tagged.png": "pixels", "astronaut.webp": "pixels"}
    assert group.kind == "near"


def _text_chunk(text: str):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Description", text)
    return info


def test_a_bytes_report_is_reviewed(tmp_path, photos):
    from lookalike.review import Review

    for folder in ("photos", "backup"):
        shutil.copyfile(photos["chelsea"], write(tmp_path / folder / "cat.jpg", b""))
    result = lookalike.scan([tmp_path], ScanOptions(cache=None, method=BYTES))
    review = Review(report.to_json(result), tmp_path / "cache.sqlite")
    [shown] = review.page()["groups"]
    members = review.group(shown["index"])["members"]
    assert shown["kind"] == "exact" and [m["match"] for m in members] == ["keeper", "bytes"]


def test_options_of_other_methods_are_refused(tmp_path, photos):
    shutil.copyfile(photos["chelsea"], tmp_path / "cat.jpg")
    for options in (["--all-files"], ["--method", "bytes", "--similar"], ["--method", "pixels", "--strictness",
                                                                            "loose"]):
        refused = subprocess.run([sys.executable, "-m", "lookalike", "scan", str(tmp_path), "--no-cache", *options],
                                 capture_output=True, text=True)
        assert refused.returncode == 2 and "goes with --method" in refused.stderr, options
        assert len(refused.stderr.strip().splitlines()) == 1
