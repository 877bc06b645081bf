"""Grouping: every member matches its keeper directly; chains of likeness never merge different photos."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from lookalike.stages.decode import decode_bytes, decode_file
from lookalike.stages.group import build_groups
from lookalike.stages.images import ImageTable, table_of
from lookalike.stages.search import Candidate, Candidates, find_candidates
from lookalike.stages.signatures import WHOLE, WHOLE_BOX
from lookalike.stages.verify import NORMAL, Evidence, Match
from lookalike.stages.walk import FileRecord, FileRecords

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
    groups = build_groups(FileRecords(files), [0, 1, 2], images, [linked(0, 1), linked(1, 2)], searched(images))
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
    [group] = build_groups(FileRecords(files), [0, 1, 2], images, [linked(0, 1), linked(1, 2), linked(0, 2)],
                           searched(images))
    assert group.keeper == 1  # most pixels, although the smallest file
    files[1] = record("/x/big.jpg", 10)
    [group] = build_groups(FileRecords(files), [0, 0, 0], table_of([small]), [], searched(table_of([small])))
    assert group.kind == "exact" and group.keeper == 2  # same pixels and size: the oldest


def test_when_all_else_ties_the_alphabetically_first_path_is_kept(photos):
    same = table_of([decode_file(str(photos["coins"]))])
    files = [record("/x/b.jpg"), record("/x/a.jpg.jpg"), record("/x/a.jpg"), record("/w/z.jpg")]
    [group] = build_groups(FileRecords(files), [0, 0, 0, 0], same, [], searched(same))
    assert group.keeper == 3
    [group] = build_groups(FileRecords(files[:3]), [0, 0, 0], same, [], searched(same))
    assert group.keeper == 2  # before the longer path it starts


def test_pairs_a_person_said_are_different_stay_apart(photos):
    images = table_of([decode_file(str(photos["coins"]))] * 2)
    files = [record("/a.jpg"), record("/b.jpg")]
    assert build_groups(FileRecords(files), [0, 1], images, [linked(0, 1)], searched(images), apart={(0, 1)}) == []
    assert np.array_equal(images.hashes[0], images.hashes[1])


def test_a_copy_linked_only_through_another_is_verified_against_the_keeper_directly(photos):
    """Verification links just enough pairs to connect copies: the brightened copy was matched to the resized
    one only, yet it joins the keeper's group, having been verified against the keeper itself."""
    original = open_rgb(photos["chelsea"])
    copies = [original, original.resize((original.width // 2, original.height // 2)),
              ImageEnhance.Brightness(original).enhance(1.2)]
    images = table_of([decode_bytes(jpeg(image)) for image in copies])
    files = [record("/original.jpg", 3000), record("/resized.jpg", 2000), record("/brightened.jpg", 1000)]
    [group] = build_groups(FileRecords(files), [0, 1, 2], images, [linked(0, 1), linked(1, 2)], searched(images))
    assert [member.file for member in group.members] == [0, 1, 2]
    assert "brighter" in group.members[2].relation  # described from the keeper, not through the resized copy


class Known:
    """Relations as `_promoted` asks for them, `relation(keeper, image)`, and `confirmed(keeper, image)` where
    the pair is known one moment the other way round, `filtered(keeper, image)` where the image is also a filtered
    copy; none shows another moment."""

    def __init__(self, relation: Callable[[int, int], tuple | None],
                 confirmed: Callable[[int, int], tuple | None] | None = None,
                 filtered: Callable[[int, int], tuple | None] | None = None) -> None:
        self.relation, self.confirmed = relation, confirmed or relation
        self.filtered = filtered or self.confirmed  # where the image is a filtered copy (`group.FILTERED`)

    def __call__(self, keeper: int, image: int, confirmed: int = 0) -> tuple | None:
        from lookalike.stages.group import FILTERED

        return (self.filtered if confirmed == FILTERED else self.confirmed if confirmed else self.relation)(
            keeper, image)

    def two_moments(self, keeper: int, image: int) -> bool:
        return False

    def seen_finer(self, keeper: int, image: int, through: tuple) -> bool:
        return False


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def grey_picture(image: Image.Image, side: int = 128) -> np.ndarray:
    """A picture as grouping's moment check holds it: squashed to a square, grey."""
    return np.asarray(image.convert("L").resize((side, side), Image.Resampling.BILINEAR), np.float32)


def thumbnail(image: Image.Image, side: int = 64) -> np.ndarray:
    """A picture as the image table's thumbnail holds it: squashed to a square, RGB."""
    return np.asarray(image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR))


def seen(images: dict[int, Image.Image]) -> tuple[Callable[[int], np.ndarray], Callable[[int], np.ndarray],
                                                 Callable[[int], tuple[int, int]]]:
    """Each image's grey picture, its thumbnail and its size, as `_promoted` weighs them, by row."""
    greys, thumbs = ({row: made(image) for row, image in images.items()} for made in (grey_picture, thumbnail))
    return greys.__getitem__, thumbs.__getitem__, lambda row: images[row].size


def test_a_copy_showing_the_whole_picture_hands_the_keeper_to_the_file_the_rule_prefers(photos):
    """The most-matched image is a re-saved copy (image 1) of the original (image 0), which the keep rule
    prefers: the original is kept, the copy is its member, and a crop that matched only the copy is related
    to the original through it, its box carried onto the original's frame."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    crop_of_copy = (NEAR, "cropped to 25 % (top left)", 6, (0.0, 0.0, 0.5, 0.5),
                    ((0.5, 0.0, 0.0), (0.0, 0.5, 0.0)))
    mirrored = (NEAR, "mirrored", 2, (0.0, 0.0, 1.0, 1.0), ((-1.0, 0.0, 1.0), (0.0, 1.0, 0.0)))
    known = {(1, 0): mirrored, (0, 1): mirrored, (1, 2): crop_of_copy}
    photo = open_rgb(photos["chelsea"])
    scene, colour = grey_picture(photo), thumbnail(photo)
    keeper, related = _promoted(1, {0: mirrored, 2: crop_of_copy}, Known(lambda a, b: known.get((a, b))),
                                FilesOfImages([0, 1, 2]), lambda files: sorted(files), lambda image: scene,
                                lambda image: colour, lambda image: photo.size)
    assert keeper == 0 and related[1] == mirrored
    match, words, _, box, matrix = related[2]
    assert match == NEAR
    assert words == "cropped to 25 % (top left), of a copy (mirrored)"
    assert box == pytest.approx((0.5, 0.0, 1.0, 0.5))  # the copy's top left is the original's top right
    assert np.array(matrix) == pytest.approx(np.array([[-0.5, 0, 1], [0, 0.5, 0]]))


def test_a_keeper_the_rule_prefers_is_not_handed_to_a_part_of_its_picture(photos):
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    crop = (NEAR, "cropped to 25 % (top left)", 6, (0.0, 0.0, 0.5, 0.5), ((0.5, 0.0, 0.0), (0.0, 0.5, 0.0)))
    photo = open_rgb(photos["chelsea"])
    scene, colour = grey_picture(photo), thumbnail(photo)
    keeper, related = _promoted(1, {0: crop}, Known(lambda a, b: None), FilesOfImages([0, 1]),
                                lambda files: sorted(files), lambda image: scene, lambda image: colour,
                                lambda image: photo.size)
    assert keeper == 1 and related == {0: crop}


def with_band(image: Image.Image, share: float, colour: tuple[int, int, int]) -> Image.Image:
    """The image with a band of one colour, `share` of the new height, added below it, with text on it."""
    from PIL import ImageDraw

    band = round(image.height * share / (1 - share))
    canvas = Image.new("RGB", (image.width, image.height + band), colour)
    canvas.paste(image, (0, 0))
    ImageDraw.Draw(canvas).text((band // 2, image.height + band // 3), "Summer holidays, day 3", fill=(0, 0, 0))
    return canvas


def test_a_captioned_keeper_hands_its_place_to_the_picture_it_adds_a_band_to(photos):
    """The keeper the most copies matched is the photo with a band added below (it has more pixels, so the keep
    rule alone prefers it): the photo itself, which the band was added to, is kept instead; a crop of the photo
    does not make it the keeper, since the photo shows all that the crop shows."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    pictures = seen({0: photo, 1: with_band(photo, 0.18, (52, 201, 113)),
                     2: photo.crop((0, 0, photo.width // 2, photo.height))})
    photo_in_captioned = (NEAR, "cropped to 82 % (top)", 3, (0.0, 0.0, 1.0, 0.82), ((1.0, 0, 0), (0, 0.82, 0)))
    captioned_over_photo = (NEAR, "caption added", 3, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1 / 0.82, 0)))
    crop_in_photo = (NEAR, "cropped to 50 % (left)", 5, (0.0, 0.0, 0.5, 1.0), ((0.5, 0, 0), (0, 1.0, 0)))
    crop_in_captioned = (NEAR, "cropped to 41 % (top left)", 5, (0.0, 0.0, 0.5, 0.82), ((0.5, 0, 0), (0, 0.82, 0)))
    known = {(0, 1): captioned_over_photo, (0, 2): crop_in_photo}
    most_pixels_first = lambda files: sorted(files, key=lambda f: (f != 1, f))  # noqa: E731 (the captioned copy)
    keeper, related = _promoted(1, {0: photo_in_captioned, 2: crop_in_captioned}, Known(lambda a, b: known.get((a, b))),
                                FilesOfImages([0, 1, 2]), most_pixels_first, *pictures)
    assert keeper == 0
    assert related == {1: captioned_over_photo, 2: crop_in_photo}


def test_a_photo_with_flat_sky_is_not_taken_for_a_band_added_to_its_crop(photos):
    """A photo whose top is plain (sky, a wall) is not "a band added" to the crop that leaves it out when other
    copies show that part too: those copies see it as scene."""
    from lookalike.stages.group import _adds_around

    photo = open_rgb(photos["chelsea"])
    sky = photo.copy()
    sky.paste((200, 220, 240), (0, 0, photo.width, photo.height // 2))
    crop = (0.0, 0.5, 1.0, 1.0)
    whole, below = (0.0, 0.0, 1.0, 1.0), crop  # where each copy's frame lies in the photo's
    # With nothing else to go by, a plain half reads as a band added: the limit of what one picture tells.
    assert _adds_around(grey_picture(sky), crop, {0: whole, 1: below}, 0, 1)
    assert not _adds_around(grey_picture(sky), crop, {0: whole, 1: below, 2: whole, 3: whole}, 0, 1)
    assert not _adds_around(grey_picture(photo), crop, {0: whole, 1: below}, 0, 1)  # scene there


def test_the_photo_is_kept_from_a_framed_copy_of_its_captioned_copy(photos):
    """A frame added around a captioned copy of a photo: neither the framed nor the captioned copy is kept,
    though each has more pixels; the photo inside both is."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    captioned = with_band(photo, 0.18, (52, 201, 113))
    framed = Image.new("RGB", (captioned.width + 60, captioned.height + 60), (240, 240, 240))
    framed.paste(captioned, (30, 30))
    pictures = seen({0: photo, 1: framed, 2: captioned})
    x, y = 30 / framed.width, 30 / framed.height  # where the captioned copy starts in the framed one
    w, h = captioned.width / framed.width, captioned.height / framed.height
    captioned_in_framed = (NEAR, "cropped", 4, (x, y, x + w, y + h), ((w, 0, x), (0, h, y)))
    photo_in_framed = (NEAR, "cropped", 4, (x, y, x + w, y + h * 0.82), ((w, 0, x), (0, h * 0.82, y)))
    framed_over_photo = ((1 / w, 0, -x / w), (0, 1 / (h * 0.82), -y / (h * 0.82)))
    from_photo = {1: (NEAR, "border added", 4, (0.0, 0.0, 1.0, 1.0), framed_over_photo),
                  2: (NEAR, "caption added", 3, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1 / 0.82, 0)))}
    most_pixels_first = lambda files: sorted(files, key=lambda f: (f != 1, f != 2, f))  # noqa: E731
    keeper, related = _promoted(1, {0: photo_in_framed, 2: captioned_in_framed},
                                Known(lambda a, b: from_photo.get(b) if a == 0 else None),
                                FilesOfImages([0, 1, 2]), most_pixels_first, *pictures)
    assert keeper == 0
    assert related == from_photo


def kept_among(photo: Image.Image, filtered: Image.Image, resized: bool = True) -> tuple[int, dict]:
    """`_promoted`'s keeper and members among a filtered copy (image 0, which the keep rule prefers), the photo
    (1) and, when `resized`, a resized copy of it (2), each showing the whole frame of the others."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    images = {0: filtered, 1: photo, **({2: photo.resize((200, 150))} if resized else {})}
    whole = (NEAR, "recompressed", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    return _promoted(0, {image: whole for image in images if image}, Known(lambda a, b: whole),
                     FilesOfImages(list(images)), lambda files: sorted(files), *seen(images))


def test_a_filtered_copy_hands_the_keeper_to_the_original_whose_tones_the_others_share(photos):
    """A brighter copy with more contrast (image 0) that the keep rule prefers (re-saved more finely, say) shows
    the original's whole frame, as the original (1) and a re-saved copy (2) do: 1 and 2 share their tones and
    0 shares them with none, so the original is kept. With no other copy to tell, the rule decides."""
    photo = open_rgb(photos["chelsea"])
    filtered = ImageEnhance.Contrast(ImageEnhance.Brightness(photo).enhance(1.25)).enhance(1.3)
    keeper, related = kept_among(photo, filtered)
    assert keeper == 1 and set(related) == {0, 2}
    keeper, _ = kept_among(photo, filtered, resized=False)
    assert keeper == 0


def test_a_copy_saturated_or_faded_hands_the_keeper_to_the_original_whose_colours_the_others_share(photos):
    """A change of saturation keeps the grey picture, so only colour tells the filtered copy (image 0, which the
    keep rule prefers) from the original (1), whose colours a coarsely re-saved copy (2) shares."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    coarse = io.BytesIO()
    photo.save(coarse, "JPEG", quality=30)
    with Image.open(coarse) as decoded:
        resaved = decoded.convert("RGB")
    whole = (NEAR, "recompressed", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    rule = lambda files: sorted(files)  # noqa: E731 (the filtered copy first)
    for factor in (1.4, 0.6):
        pictures = seen({0: ImageEnhance.Color(photo).enhance(factor), 1: photo, 2: resaved})
        keeper, related = _promoted(0, {1: whole, 2: whole}, Known(lambda a, b: whole), FilesOfImages([0, 1, 2]), rule,
                                    *pictures)
        assert keeper == 1 and set(related) == {0, 2}


def test_the_original_is_kept_when_only_its_copy_with_text_matched_it_from_its_side(photos):
    """Text laid over a copy (image 0) can read as a changed moment from the original's side (1) and as an
    overlay from the copy's: the copy, which matched it, hands the keeper to the original the rule prefers, and
    is related to it by their alignment alone."""
    from PIL import ImageDraw

    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    texted = photo.copy()
    ImageDraw.Draw(texted).text((10, 10), "WHEN THE KEEPER IS A MEME", fill=(255, 255, 255))
    pictures = seen({0: texted, 1: photo, 2: photo.resize((200, 150))})
    whole = (NEAR, "text or overlay added", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    from_the_original = {(1, 2): whole}

    relations = Known(lambda a, b: from_the_original.get((a, b)), confirmed=lambda a, b: whole)
    rule = lambda files: sorted(files, key=lambda f: f != 1)  # noqa: E731 (the original first)
    keeper, related = _promoted(0, {1: whole, 2: whole}, relations, FilesOfImages([0, 1, 2]), rule, *pictures)
    assert keeper == 1 and related == {0: whole, 2: whole}


def test_a_pair_matched_one_way_is_not_one_moment_the_other_way_when_something_moved():
    from lookalike.stages.geometry import Moment
    from lookalike.stages.group import _accepted

    overlay_read_as_change = Moment(compared=250, changed=8, overlaid=2)
    assert not _accepted(overlay_read_as_change, confirmed=False)
    assert _accepted(overlay_read_as_change, confirmed=True)
    assert not _accepted(Moment(compared=118, changed=0, overlaid=0, moved=6), confirmed=True)  # a next frame


def test_a_copy_preferred_by_the_rule_that_does_not_relate_back_is_passed_over_for_the_original(photos):
    """The keeper (0, a smaller copy) matched a look-alike taken in (2, which the rule prefers) and the original
    (1): the look-alike does not relate back to the keeper, so the keeper's place goes to the original."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    pictures = seen({0: photo.resize((200, 150)), 1: photo, 2: photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)})
    whole = (NEAR, "recompressed", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))

    relations = Known(lambda a, b: None if a == 2 else whole)
    rule = lambda files: sorted(files, key=lambda f: (f != 2, f != 1))  # noqa: E731 (the look-alike first)
    keeper, related = _promoted(0, {1: whole, 2: whole}, relations, FilesOfImages([0, 1, 2]), rule, *pictures)
    assert keeper == 1 and related == {0: whole, 2: whole}


def test_a_copy_filtered_too_slightly_to_change_its_tone_band_is_passed_over_for_the_original(photos):
    """A copy a little brighter and flatter (image 0, which the rule prefers) still shares the bands of one tone
    with the original (1) and its resized copy (2), but lies farther from either than they lie from each
    other: the original is kept."""
    photo = open_rgb(photos["chelsea"])
    slightly = ImageEnhance.Contrast(ImageEnhance.Brightness(photo).enhance(1.05)).enhance(0.93)
    keeper, related = kept_among(photo, slightly)
    assert keeper == 1 and set(related) == {0, 2}


def test_a_preferred_copy_that_relates_back_only_through_another_copy_is_kept_with_the_keeper_through_it(photos):
    """The keeper (0, a screenshot, say) matched the original (1, which the rule prefers) and a mirrored copy (2),
    but the original does not find it from its side, and the mirrored copy does: the original is kept, and the
    old keeper is related to it through the mirrored copy, its frame carried onto the original's."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    pictures = seen({0: photo.resize((200, 150)), 1: photo, 2: photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)})
    whole = (NEAR, "resized to 44 %", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    mirrored = (NEAR, "mirrored", 2, (0.0, 0.0, 1.0, 1.0), ((-1.0, 0, 1.0), (0, 1.0, 0)))
    known = {(0, 1): whole, (0, 2): mirrored, (2, 0): mirrored, (1, 2): mirrored, (2, 1): mirrored}

    relations = Known(lambda a, b: known.get((a, b)))
    rule = lambda files: sorted(files, key=lambda f: (f != 1, f != 2))  # noqa: E731 (the original, then the mirror)
    keeper, related = _promoted(0, {1: whole, 2: mirrored}, relations, FilesOfImages([0, 1, 2]), rule, *pictures)
    assert keeper == 1 and set(related) == {0, 2}
    assert related[2] == mirrored
    match, words, _, box, matrix = related[0]
    assert match == NEAR and words == "mirrored, of a copy (mirrored)" and box == (0.0, 0.0, 1.0, 1.0)
    assert np.array(matrix) == pytest.approx(np.array([[1.0, 0, 0], [0, 1.0, 0]]))  # mirrored twice: as it was


def vignetted(image: Image.Image, strength: float) -> Image.Image:
    """The image darkened towards its corners, by `strength` of its brightness at them."""
    width, height = image.size
    rows, columns = np.mgrid[0:height, 0:width]
    radius = np.hypot((columns - width / 2) / (width / 2), (rows - height / 2) / (height / 2)) / np.sqrt(2)
    shade = 1 - strength * radius ** 2
    return Image.fromarray(np.clip(np.asarray(image, np.float64) * shade[..., None], 0, 255).astype(np.uint8))


def test_a_vignetted_keeper_hands_its_place_to_the_original_that_sees_its_edges_as_moved(photos):
    """The keeper (0) is a copy darkened towards its corners, which the original (1) and a resized copy (2)
    match from its side; seen from theirs, its darkened edges read as parts of the picture found elsewhere, but
    none a few pixels off: a filter, not another moment. The original, whose tones the other copy shares, is
    kept, and the vignetted copy is its member."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    pictures = seen({0: vignetted(photo, 0.7), 1: photo, 2: photo.resize((200, 150))})
    whole = (NEAR, "recompressed", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    darker = (NEAR, "darker", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    from_the_keeper = {(0, 1): whole, (0, 2): whole, (1, 2): whole, (2, 1): whole}
    relations = Known(lambda a, b: from_the_keeper.get((a, b)), confirmed=lambda a, b: from_the_keeper.get((a, b)),
                      filtered=lambda a, b: darker if b == 0 else from_the_keeper.get((a, b)))
    rule = lambda files: sorted(files, key=lambda f: f != 1)  # noqa: E731 (the original first)
    keeper, related = _promoted(0, {1: whole, 2: whole}, relations, FilesOfImages([0, 1, 2]), rule, *pictures)
    assert keeper == 1 and related == {0: darker, 2: whole}


def test_a_copy_stretched_one_way_hands_the_keeper_to_the_original_whose_shape_the_others_share(photos):
    """A copy made taller (image 0: more pixels, which the rule prefers) shows the whole frame of the original
    (1), as a resized (2) and a re-saved copy (3) do: those three are of one shape, the taller one of another,
    so the original is kept."""
    from lookalike.stages.group import NEAR, _promoted
    from lookalike.stages.images import FilesOfImages

    photo = open_rgb(photos["chelsea"])
    images = {0: photo.resize((photo.width, photo.height * 6 // 5), Image.Resampling.LANCZOS), 1: photo,
              2: photo.resize((photo.width * 2 // 3, photo.height * 2 // 3), Image.Resampling.LANCZOS), 3: photo}
    whole = (NEAR, "recompressed", 2, (0.0, 0.0, 1.0, 1.0), ((1.0, 0, 0), (0, 1.0, 0)))
    rule = lambda files: sorted(files)  # noqa: E731 (the taller copy first)
    keeper, related = _promoted(0, {1: whole, 2: whole, 3: whole}, Known(lambda a, b: whole),
                                FilesOfImages([0, 1, 2, 3]), rule, *seen(images))
    assert keeper == 1 and set(related) == {0, 2, 3}
