"""Grouping: every member matches its keeper directly; chains of likeness never merge different photos."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from lookalike.stages.decode import decode_bytes, decode_file
from lookalike.stages.group import build_groups
from lookalike.stages.images import ImageTable, table_of
from lookalike.stages.search import Candidate, Candidates, find_candidates
from lookalike.stages.signatures import WHOLE, WHOLE_BOX
from lookalike.stages.verify import NORMAL, Evidence, Match
from lookalike.stages.walk import FileRecord

from .conftest import open_rgb


def record(path: str, size: int = 1000, mtime_ns: int = 0) -> FileRecord:
    return FileRecord(path, 1, hash(path), size, mtime_ns, "JPEG")


def searched(images: ImageTable) -> Candidates:
    """What the search proposes: a member not linked to its keeper is verified against it under these."""
    return find_candidates(images, NORMAL.radius)


def linked(a: int, b: int) -> Match:
    return Match(Candidate(a, b, 0, WHOLE, WHOLE, 4), Evidence(0.95, 0.7, WHOLE_BOX))


def test_a_chain_of_likeness_does_not_merge_different_photos(photos):
    """a~b and b~c were both confirmed, but a and c are different photos: no group holds both."""
    images = table_of([decode_file(str(photos[name])) for name in ("astronaut", "astronaut", "rocket")])
    files = [record("/a.jpg", 3000), record("/b.jpg", 2000), record("/c.jpg", 1000)]
    groups = build_groups(files, [0, 1, 2], images, [linked(0, 1), linked(1, 2)], searched(images))
    for group in groups:
        assert {0, 2} - {member.file for member in group.members}, "a and c grouped together"
    assert [[m.file for m in g.members] for g in groups] == [[0, 1]]


def test_the_keeper_has_most_pixels_then_largest_file_then_oldest(tmp_path, photos):
    small = decode_file(str(photos["coins"]))
    big = decode_file(str(photos["coins"]))
    big = type(big)(**{**{f: getattr(big, f) for f in big.__slots__}, "width": 2000, "height": 1600,
                         "content_hash": bytes(16)})  # another file's: one content is one row
    images = table_of([small, big, small])
    files = [record("/x/small.jpg", 5000), record("/x/big.jpg", 10), record("/x/old.jpg", 5000, mtime_ns=-1)]
    [group] = build_groups(files, [0, 1, 2], images, [linked(0, 1), linked(1, 2), linked(0, 2)],
                           searched(images))
    assert group.keeper == 1  # most pixels, although the smallest file
    files[1] = record("/x/big.jpg", 10)
    [group] = build_groups(files, [0, 0, 0], table_of([small]), [], searched(table_of([small])))
    assert group.kind == "exact" and group.keeper == 2  # same pixels and size: the oldest


def test_when_all_else_ties_the_alphabetically_first_path_is_kept(photos):
    same = table_of([decode_file(str(photos["coins"]))])
    files = [record("/x/b.jpg"), record("/x/a.jpg.jpg"), record("/x/a.jpg"), record("/w/z.jpg")]
    [group] = build_groups(files, [0, 0, 0, 0], same, [], searched(same))
    assert group.keeper == 3
    [group] = build_groups(files[:3], [0, 0, 0], same, [], searched(same))
    assert group.keeper == 2  # before the longer path it starts


def test_pairs_a_person_said_are_different_stay_apart(photos):
    images = table_of([decode_file(str(photos["coins"]))] * 2)
    files = [record("/a.jpg"), record("/b.jpg")]
    assert build_groups(files, [0, 1], images, [linked(0, 1)], searched(images), apart={(0, 1)}) == []
    assert np.array_equal(images.hashes[0], images.hashes[1])


def test_a_copy_linked_only_through_another_is_verified_against_the_keeper_directly(photos):
    """Verification links just enough pairs to connect copies: the brightened copy was matched to the resized
    one only, yet it joins the keeper's group, having been verified against the keeper itself."""
    original = open_rgb(photos["chelsea"])
    copies = [original, original.resize((original.width // 2, original.height // 2)),
              ImageEnhance.Brightness(original).enhance(1.2)]
    images = table_of([decode_bytes(jpeg(image)) for image in copies])
    files = [record("/original.jpg", 3000), record("/resized.jpg", 2000), record("/brightened.jpg", 1000)]
    [group] = build_groups(files, [0, 1, 2], images, [linked(0, 1), linked(1, 2)], searched(images))
    assert [member.file for member in group.members] == [0, 1, 2]
    assert "brighter" in group.members[2].relation  # described from the keeper, not through the resized copy


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_a_copy_showing_the_whole_picture_hands_the_keeper_to_the_file_the_rule_prefers():
    """The most-matched image is a re-saved copy (image 1) of the original (image 0), which the keep rule
    prefers: the original is kept, the copy is its member, and a crop that matched only the copy is related
    to the original through it, its box carried onto the original's frame."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    crop_of_copy = (NEAR, "cropped to 25 % (top left)", 6, (0.0, 0.0, 0.5, 0.5),
                    ((0.5, 0.0, 0.0), (0.0, 0.5, 0.0)))
    mirrored = (NEAR, "mirrored", 2, (0.0, 0.0, 1.0, 1.0), ((-1.0, 0.0, 1.0), (0.0, 1.0, 0.0)))
    known = {(1, 0): mirrored, (0, 1): mirrored, (1, 2): crop_of_copy}
    keeper, related = _promoted(1, {0: mirrored, 2: crop_of_copy}, lambda a, b: known.get((a, b)),
                                FilesOfImages([0, 1, 2]), lambda files: sorted(files))
    assert keeper == 0 and related[1] == mirrored
    match, words, _, box, matrix = related[2]
    assert match == NEAR
    assert words == "cropped to 25 % (top left), of a copy (mirrored)"
    assert box == pytest.approx((0.5, 0.0, 1.0, 0.5))  # the copy's top left is the original's top right
    assert np.array(matrix) == pytest.approx(np.array([[-0.5, 0, 1], [0, 0.5, 0]]))


def test_a_keeper_the_rule_prefers_is_not_handed_to_a_part_of_its_picture():
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    crop = (NEAR, "cropped to 25 % (top left)", 6, (0.0, 0.0, 0.5, 0.5), ((0.5, 0.0, 0.0), (0.0, 0.5, 0.0)))
    keeper, related = _promoted(1, {0: crop}, lambda a, b: None, FilesOfImages([0, 1]), lambda files: sorted(files))
    assert keeper == 1 and related == {0: crop}
