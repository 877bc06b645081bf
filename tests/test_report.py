"""Reports: the JSON format of version 1, CSV, and file names with any bytes, kept losslessly."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys

import lookalike
from lookalike import report
from lookalike.pipeline import ScanOptions
from lookalike.stages.decoded import WORKER_MEMORY


def scanned(folder):
    return lookalike.to_json(lookalike.scan([folder], ScanOptions(cache=None, jobs=1)))


def test_json_has_the_documented_shape(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    document = scanned(tmp_path)
    assert document["version"] == 1 and document["roots"] == [str(tmp_path)] and document["files"] == 2
    [group] = document["groups"]
    assert group["kind"] == "exact" and group["keep"] == str(tmp_path / "a.jpg")
    assert [m["path"] for m in group["members"]] == [str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")]
    for member in group["members"]:
        assert {"path", "relation", "distance", "size", "width", "height"} <= member.keys()
        assert (member["width"], member["height"]) == (384, 303)
    assert group["members"][1]["relation"] == "identical bytes"
    assert group["reclaimable"] == os.path.getsize(photos["coins"])


def test_json_says_how_much_memory_the_scan_held_by_the_end_of_each_stage(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    document = scanned(tmp_path)
    peaks = list(document["peak_mb"].values())
    assert document["peak_mb"].keys() == document["seconds"].keys()
    assert peaks == sorted(peaks) and peaks[0] > 10  # a peak only grows; Python and NumPy alone take more
    enforced = sys.platform not in ("darwin", "win32")  # RLIMIT_DATA: macOS ignores it, Windows has none
    assert document["worker_memory_mb"] == (WORKER_MEMORY // 2**20 if enforced else None)


def test_names_that_are_not_utf8_survive_json_and_csv(tmp_path, photos):
    name = b"\xff\xfe odd\nname.jpg"
    raw_folder = os.fsencode(tmp_path)
    for prefix in (b"1", b"2"):
        shutil.copy(photos["coins"], os.path.join(raw_folder, prefix + name))
    document = scanned(tmp_path)
    text = io.StringIO()
    report.write_json(document, text)
    text.getvalue().encode("ascii")  # plain ASCII JSON, whatever the names
    paths = [m["path"] for m in json.loads(text.getvalue())["groups"][0]["members"]]
    assert sorted(os.fsencode(p) for p in paths) == [os.path.join(raw_folder, p + name) for p in (b"1", b"2")]
    target = tmp_path / "report.csv"
    with report.open_text_out(str(target)) as stream:
        report.write_csv(document, stream)
    with open(target, encoding="utf-8", errors="surrogateescape", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(os.fsencode(row["path"]) for row in rows) == [os.path.join(raw_folder, p + name)
                                                                  for p in (b"1", b"2")]


def test_a_content_hash_ending_in_a_zero_byte_is_reported_whole(tmp_path, photos):
    """NumPy's fixed-width bytes drop trailing NULs; the report must still hold all 16 bytes of the hash."""
    from PIL import Image

    from lookalike.stages.exact import hash_file

    picture = Image.open(photos["rocket"]).convert("RGB").resize((64, 48))
    for shade in range(5000):
        picture.putpixel((0, 0), (shade % 256, shade // 256, 0))
        picture.save(tmp_path / "a.png")
        if hash_file(str(tmp_path / "a.png")).endswith(b"\0"):
            break
    shutil.copy(tmp_path / "a.png", tmp_path / "b.png")
    members = scanned(tmp_path)["groups"][0]["members"]
    assert [m["content_hash"] for m in members] == [hash_file(str(tmp_path / "a.png")).hex()] * 2
