"""A whole scan: every edited copy of a photo lands in its photo's group, and nothing else does."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageEnhance

import lookalike
from lookalike import pipeline
from lookalike.cache import Cache
from lookalike.pipeline import ScanOptions

from .conftest import open_rgb, save

ISSUE_EDITS = {
    "byte copy": lambda im, path, original: shutil.copyfile(original, path.with_suffix(".jpg")),
    "metadata only": None,  # same JPEG data, a comment added: written by `metadata_copy`
    "resized to 16 %": lambda im, path, _: save(im.resize((im.width * 16 // 100, im.height * 16 // 100),
                                                          Image.Resampling.LANCZOS), path.with_suffix(".jpg")),
    "recompressed at quality 25": lambda im, path, _: save(im, path.with_suffix(".jpg"), quality=25),
    "as PNG": lambda im, path, _: save(im, path.with_suffix(".png")),
    "as WebP": lambda im, path, _: save(im, path.with_suffix(".webp"), quality=80),
    "brightened": lambda im, path, _: save(ImageEnhance.Brightness(im).enhance(1.3), path.with_suffix(".jpg")),
    "rotated 90": lambda im, path, _: save(im.transpose(Image.Transpose.ROTATE_270), path.with_suffix(".jpg")),
    "rotated 180": lambda im, path, _: save(im.transpose(Image.Transpose.ROTATE_180), path.with_suffix(".jpg")),
    "rotated 270": lambda im, path, _: save(im.transpose(Image.Transpose.ROTATE_90), path.with_suffix(".jpg")),
    "mirrored": lambda im, path, _: save(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), path.with_suffix(".jpg")),
}


def metadata_copy(original: Path, target: Path) -> None:
    """The same compressed image data with an extra JPEG comment segment: different bytes, same pixels."""
    data = original.read_bytes()
    comment = b"\xff\xfe\x00\x10edited by test"
    target.with_suffix(".jpg").write_bytes(data[:2] + comment + data[2:])


@pytest.fixture(scope="module")
def collection(tmp_path_factory, photos) -> tuple[Path, dict[Path, str]]:
    """Each demo photo with one copy per edit kind of issue 2, in folders of their own."""
    root = tmp_path_factory.mktemp("collection")
    truth = {}
    for name, original in photos.items():
        truth[Path(shutil.copyfile(original, root / f"{name}.jpg"))] = name
        image = open_rgb(original)
        for edit, make in ISSUE_EDITS.items():
            target = root / "copies" / edit / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if make is None:
                metadata_copy(original, target)
            else:
                make(image, target, original)
            truth[next(target.parent.glob(f"{name}.*"))] = name
    return root, truth


def pairs_of(groups) -> set[frozenset[str]]:
    return {frozenset(pair) for group in groups
            for pair in itertools.combinations([m["path"] for m in group["members"]], 2)}


def test_every_copy_is_found_and_no_photos_are_merged(collection, tmp_path):
    root, truth = collection
    report = lookalike.to_json(lookalike.scan([root], ScanOptions(cache=tmp_path / "cache.sqlite")))
    expected = {frozenset((str(a), str(b))) for a, b in itertools.combinations(truth, 2) if truth[a] == truth[b]}
    found = pairs_of(report["groups"])
    assert found == expected
    assert report["errors"] == []
    assert report["files"] == len(truth)


@pytest.mark.parametrize(("edit", "relation", "seen_from_the_copy"), [
    ("byte copy", "identical bytes", "identical bytes"),
    ("metadata only", "same pixels, different metadata", "same pixels, different metadata"),
    ("resized to 16 %", "resized to 16 %", None),
    ("rotated 90", "rotated 90° clockwise", "rotated 90° counter-clockwise"),
    ("rotated 270", "rotated 90° counter-clockwise", "rotated 90° clockwise"),
    ("rotated 180", "rotated 180°", "rotated 180°"),
    ("mirrored", "mirrored", "mirrored"),
    ("as PNG", "same pixels, converted to PNG", "same pixels, converted to JPEG"),  # a 512-px JPEG decoded whole
])
def test_members_say_how_they_relate_to_the_keeper(tmp_path, photos, edit, relation, seen_from_the_copy):
    original = Path(shutil.copyfile(photos["astronaut"], tmp_path / "original.jpg"))
    make = ISSUE_EDITS[edit]
    if make is None:
        metadata_copy(original, tmp_path / "copy")
    else:
        make(open_rgb(original), tmp_path / "copy", original)
    [group] = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))["groups"]
    [member] = group["members"][1:]
    if Path(group["keep"]) == original:
        assert member["relation"] == relation
    else:  # the copy won as keeper (a larger file): the original is described from the copy's side
        assert member["relation"] == seen_from_the_copy


def test_a_second_scan_decodes_nothing_and_verifies_nothing(collection, tmp_path):
    root, _ = collection
    options = ScanOptions(cache=tmp_path / "cache.sqlite")
    first, second = lookalike.scan([root], options), lookalike.scan([root], options)
    assert first.decoded > 0 and second.decoded == 0
    assert first.verified > 0 and second.verified == 0  # the evidence of every pair tried came from the cache
    with Cache(options.cache) as cache:  # signatures are kept too: a re-scan computes none
        rows = list(cache.image_rows(second.images.content_hash.tolist()))
        assert len(rows) == len(second.images) and all(row.signature for row in rows)
    assert lookalike.to_json(first)["groups"] == lookalike.to_json(second)["groups"]


def test_a_re_scan_reads_the_evidence_a_chunk_at_a_time_and_finds_the_same_groups(collection, tmp_path,
                                                                                    monkeypatch):
    root, _ = collection
    options = ScanOptions(cache=tmp_path / "cache.sqlite")
    monkeypatch.setattr(pipeline, "EVIDENCE_CHUNK", 32)  # several chunks, even from a small collection
    first = lookalike.scan([root], options)
    reads, read = [], Cache.evidence
    monkeypatch.setattr(Cache, "evidence", lambda cache, pairs: reads.append(len(pairs)) or read(cache, pairs))
    second = lookalike.scan([root], options)
    assert second.verified == 0  # every pair tried was answered by the cache...
    chunks = [size for size in reads if size > 1]
    assert len(chunks) > 1 and set(chunks[:-1]) == {32}
    assert len(reads) < first.verified  # ...in fewer reads than pairs: read one by one, there would be more
    assert lookalike.to_json(first)["groups"] == lookalike.to_json(second)["groups"]


def test_a_first_scan_asks_its_new_cache_for_no_evidence_until_it_has_stored_some(collection, tmp_path,
                                                                                   monkeypatch):
    root, _ = collection
    reads, read = [], Cache.evidence
    monkeypatch.setattr(Cache, "evidence", lambda cache, pairs: reads.append(len(pairs)) or read(cache, pairs))
    monkeypatch.setattr(pipeline, "KEEP_SECONDS", 0)  # evidence goes to the cache as it is found, and is held
    first = lookalike.scan([root], ScanOptions(cache=tmp_path / "first.sqlite"))
    assert first.verified > 0 and reads == []  # a new cache holds no evidence: nothing to ask
    with Cache(tmp_path / "first.sqlite") as kept:
        assert kept.db.execute("SELECT count(*) FROM evidence").fetchone() == (first.verified,)
    monkeypatch.setattr(pipeline, "EVIDENCE_CHUNK", 2)  # evidence goes to the cache while the scan goes on...
    storing = lookalike.scan([root], ScanOptions(cache=tmp_path / "storing.sqlite"))
    assert reads  # ...and from then on the cache is asked
    assert lookalike.to_json(storing)["groups"] == lookalike.to_json(first)["groups"]


def signature_chunks(root: Path, cache: Path, monkeypatch, chunk: int, last: int) -> tuple[list[int], dict]:
    """The sizes of the chunks of decoded images a scan computes signatures for, in order, and its report."""
    monkeypatch.setattr(pipeline, "SIGNATURE_CHUNK", chunk)
    monkeypatch.setattr(pipeline, "LAST_CHUNK", last)
    monkeypatch.setattr(pipeline, "KEEP_SECONDS", 3600)  # no chunk sent early for the time decoding took
    sizes, keep = [], pipeline._Scan._keep
    monkeypatch.setattr(pipeline._Scan, "_keep", lambda scan, records, contents, held: (
        held.decoded and sizes.append(len(held.decoded))) or keep(scan, records, contents, held))
    result = lookalike.scan([root], ScanOptions(cache=cache))
    assert sum(sizes) == result.decoded
    return sizes, lookalike.to_json(result)


def test_signatures_come_a_chunk_at_a_time_as_files_decode_and_the_last_chunk_is_small(collection, tmp_path,
                                                                                         monkeypatch):
    root, _ = collection
    sizes, chunked = signature_chunks(root, tmp_path / "a.sqlite", monkeypatch, chunk=8, last=0)
    assert len(sizes) > 2 and set(sizes[:-1]) == {8}
    # fewer files than a chunk: without a small last chunk, all would wait until the last decode
    sizes, whole = signature_chunks(root, tmp_path / "b.sqlite", monkeypatch, chunk=1000, last=3)
    assert len(sizes) == 2 and sizes[-1] <= 3
    assert chunked["groups"] == whole["groups"]


def test_a_changed_file_is_read_again(tmp_path, photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(photos["coins"], folder / "a.jpg")
    shutil.copy(photos["rocket"], folder / "b.jpg")
    options = ScanOptions(cache=tmp_path / "cache.sqlite")
    assert lookalike.scan([folder], options).groups == []
    shutil.copy(photos["coins"], folder / "b.jpg")  # b now holds the same picture as a
    rescan = lookalike.scan([folder], options)
    assert rescan.decoded == 0  # its bytes are a's, which the cache knows
    assert [g.kind for g in rescan.groups] == ["exact"]


def test_unreadable_files_are_reported_and_the_scan_goes_on(tmp_path, photos):
    shutil.copy(photos["coins"], tmp_path / "a.jpg")
    shutil.copy(photos["coins"], tmp_path / "b.jpg")
    data = photos["rocket"].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None)))
    assert [e["reason"] for e in report["errors"]] == ["damaged image: file is truncated"]
    assert len(report["groups"]) == 1


def test_similar_pictures_are_offered_apart_from_duplicates_only_when_asked(tmp_path, photos):
    """The same scene with something changed in a sixth of the frame is similar, never a duplicate."""
    image = open_rgb(photos["chelsea"])
    save(image, tmp_path / "before.png")
    changed = image.copy()
    strip = image.crop((0, 0, image.width * 15 // 100, image.height)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    changed.paste(strip, (image.width * 85 // 100, 0))
    save(changed, tmp_path / "after.png")
    plain = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1)))
    assert plain["groups"] == [] and "similar" not in plain
    asked = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1, similar=True)))
    assert asked["groups"] == []
    [pair] = asked["similar"]
    assert pair["kind"] == "similar"
    assert sorted(m["match"] for m in pair["members"]) == ["keeper", "similar"]


@pytest.mark.parametrize("level", ["strict", "normal", "loose"])
def test_every_strictness_finds_plain_copies_and_keeps_photos_apart(tmp_path, photos, level):
    for name in ("astronaut", "coffee", "rocket"):
        image = open_rgb(photos[name])
        save(image, tmp_path / f"{name}.png")
        save(image.resize((image.width // 2, image.height // 2)), tmp_path / f"{name}-small.jpg", quality=80)
    report = lookalike.to_json(lookalike.scan([tmp_path], ScanOptions(cache=None, jobs=1, strictness=level)))
    assert sorted(sorted(Path(m["path"]).name for m in g["members"]) for g in report["groups"]) == [
        [f"{name}-small.jpg", f"{name}.png"] for name in ("astronaut", "coffee", "rocket")]


def test_files_added_to_a_scanned_collection_are_searched_against_it_with_the_groups_of_a_fresh_scan(
        collection, tmp_path, photos):
    root, _ = collection
    scanned = tmp_path / "scanned"
    shutil.copytree(root, scanned)
    options = ScanOptions(cache=tmp_path / "cache.sqlite")
    lookalike.scan([scanned], options)
    for name, original in photos.items():  # new copies of old pictures, and a new picture's pair
        save(open_rgb(original).transpose(Image.Transpose.TRANSVERSE), scanned / "new" / f"{name}.jpg", quality=61)
    shutil.copytree(scanned / "new", scanned / "new again")
    again = lookalike.scan([scanned], options)
    assert again.decoded == len(photos)
    fresh = lookalike.scan([scanned], ScanOptions(cache=None))
    assert lookalike.to_json(again)["groups"] == lookalike.to_json(fresh)["groups"]
