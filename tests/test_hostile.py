"""Broken and hostile files are reported, each with a plain reason, and never stop, hang or crash the scan."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookalike.stages.decode import decode_bytes, decode_file
from lookalike.stages.decoded import Decoded
from lookalike.stages.formats import IMAGE_EXTENSIONS, sniff_format
from lookalike.stages.walk import FileRecord, NotRegularFile, Problem, has_image_extension, open_regular, walk

from .conftest import open_rgb
from .hostile import _encoded, broken_files, odd, special_files


def walked(roots, **options) -> tuple[list[str], dict[str, str]]:
    from lookalike.stages.walk import WalkOptions

    records, problems = [], {}
    for item in walk([str(root) for root in roots], WalkOptions(**options)):
        if isinstance(item, FileRecord):
            records.append(item.path)
        else:
            problems[item.path] = item.reason
    return records, problems


def test_special_files_and_links_are_reported_never_opened(tmp_path):
    expected = {str(path): reason for path, reason in special_files(tmp_path).items()}
    for follow in (False, True):
        records, problems = walked([tmp_path], follow_symlinks=follow)
        assert records == []
        assert problems == expected  # the folder loop "back up" is walked once at most, and says nothing


def test_devices_given_as_roots_are_reported_not_read():
    assert walked(["/dev/null", "/dev/zero"])[1] == {"/dev/null": "not a regular file: a character device",
                                                     "/dev/zero": "not a regular file: a character device"}


def test_a_fifo_in_a_files_place_is_never_opened_for_reading(tmp_path):
    os.mkfifo(tmp_path / "was a file.jpg")  # opening it for reading, blocking, would wait forever
    with pytest.raises(NotRegularFile, match="a FIFO"):
        open_regular(str(tmp_path / "was a file.jpg"))
    assert decode_file(str(tmp_path / "was a file.jpg")) == Problem(str(tmp_path / "was a file.jpg"),
                                                                    "not a regular file: a FIFO (named pipe)")


def test_nesting_deeper_than_pythons_recursion_limit_is_walked(tmp_path, photos):
    folders = [tmp_path / "d"]
    for _ in range(1100):  # deeper than Python's recursion limit (1000), shorter than PATH_MAX
        folders[-1].mkdir()
        folders.append(folders[-1] / "d")
    deep = folders[-2]
    shutil.copy(photos["coins"], deep / "coins.jpg")
    try:
        assert walked([tmp_path])[0] == [str(deep / "coins.jpg")]
    finally:  # bottom up: a recursive removal would hit the recursion limit too
        (deep / "coins.jpg").unlink()
        for folder in reversed(folders[:-1]):
            folder.rmdir()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything; the end-to-end scan tests this as nobody")
def test_unreadable_files_and_folders_are_reported(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "locked.jpg")
    (tmp_path / "closed").mkdir()
    os.chmod(tmp_path / "locked.jpg", 0)
    os.chmod(tmp_path / "closed", 0)
    try:
        assert walked([tmp_path])[1] == {str(tmp_path / "locked.jpg"): "cannot open: permission denied",
                                         str(tmp_path / "closed"): "cannot read folder: permission denied"}
    finally:
        os.chmod(tmp_path / "closed", stat.S_IRWXU)


def test_broken_files_get_the_reason_they_deserve(tmp_path, photos):
    photo = open_rgb(photos["astronaut"])
    for name, (data, reason) in broken_files(_encoded(photo, "JPEG"), _encoded(photo, "PNG")).items():
        path = odd(tmp_path, name)
        path.write_bytes(data)
        found = list(walk([str(path)]))
        [item] = found
        if isinstance(item, FileRecord):
            item = decode_file(str(path))
        assert isinstance(item, Problem) and item.reason.startswith(reason), (name, item)


file_names = st.binary(min_size=1, max_size=60).filter(lambda name: b"/" not in name and b"\0" not in name
                                                       and name not in (b".", b".."))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(file_names, st.tuples(st.sampled_from([*sorted(IMAGE_EXTENSIONS), "", ".txt"]),
                                                   st.binary(max_size=80)), min_size=1, max_size=8))
def test_the_walk_accounts_for_every_file_whatever_its_name_and_bytes(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("names")
    written = {}
    for name, (extension, content) in files.items():
        path = os.path.join(os.fsencode(folder), name + extension.encode())
        if os.path.exists(path):
            continue
        with open(path, "wb") as handle:
            handle.write(content)
        written[path] = content
    records, problems = walked([folder])
    for path, content in written.items():
        shown = os.fsdecode(path)
        if content and sniff_format(content) is not None:
            assert shown in records
        elif has_image_extension(shown):
            assert problems.get(shown)
        else:
            assert shown not in records and shown not in problems
    assert set(records).isdisjoint(problems)


def valid_files(photo) -> list[tuple[str, bytes]]:
    small = photo.resize((48, 32))
    return [(".jpg", _encoded(small, "JPEG")), (".jpg", _encoded(small, "JPEG", progressive=True)),
            (".png", _encoded(small, "PNG")), (".gif", _encoded(small, "GIF")), (".webp", _encoded(small, "WEBP")),
            (".tif", _encoded(small, "TIFF", compression="tiff_lzw")), (".bmp", _encoded(small, "BMP")),
            (".heic", _encoded(small, "HEIF")), (".dng", _encoded(small, "TIFF"))]


@pytest.fixture(scope="module")
def seeds(photos) -> list[tuple[str, bytes]]:
    return valid_files(open_rgb(photos["chelsea"]))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns of the damage it survives
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_images_never_raise_from_the_decoder(seeds, data):
    extension, seed = data.draw(st.sampled_from(seeds))
    damaged = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    try:
        result = decode_bytes(bytes(damaged), max_pixels=4_000_000, extension=extension)
    except Exception as error:  # decode_bytes may raise: decode_file turns it into a reason
        from lookalike.stages.decode import describe_decode_error

        assert describe_decode_error(error)
    else:
        assert isinstance(result, Decoded)


MAGIC = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"II*\x00", b"RIFF\0\0\0\0WEBP", b"\0\0\0\x18ftypheic"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns of the damage it survives
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=300), magic=st.sampled_from(MAGIC))
def test_random_bytes_behind_any_magic_become_a_problem(tmp_path_factory, content, magic):
    path = tmp_path_factory.mktemp("random") / "random.jpg"
    path.write_bytes(magic + content)
    result = decode_file(str(path), max_pixels=4_000_000)
    assert isinstance(result, Decoded | Problem)
    if isinstance(result, Problem):
        assert result.reason and "\n" not in result.reason


def test_text_is_text_even_when_a_character_is_cut_at_the_sniffed_length(tmp_path):
    (tmp_path / "notes.jpg").write_bytes(("x" * 63 + "élan").encode())  # byte 64 is half of "é"
    assert walked([tmp_path])[1] == {str(tmp_path / "notes.jpg"): "not an image: text"}


def test_a_file_named_only_by_its_extension_is_named_like_an_image(tmp_path):
    (tmp_path / ".jpeg").write_text("text")  # a name another tool froze on
    assert walked([tmp_path])[1] == {str(tmp_path / ".jpeg"): "not an image: text"}


def test_a_file_larger_than_a_worker_may_hold_is_refused_unread(tmp_path):
    path = tmp_path / "sparse.jpg"
    with open(path, "wb") as handle:  # 8 GB on paper, a few bytes on disk
        handle.write(b"\xff\xd8\xff\xe0")
        handle.truncate(8 * 2**30)
    assert decode_file(str(path)).reason.startswith("refused: decoding needs more than the")
