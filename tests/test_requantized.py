"""Re-saved JPEGs: a JPEG decoded and saved again at a finer quality still carries its source's coarser
quantisation, and loses the keeper's place to that source."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from lookalike.stages.requantized import PATH_SEPARATOR, Lattice, carries, conversions_file, lattice_file

from .conftest import open_rgb, save


def lattice(path: Path) -> Lattice:
    found = lattice_file(str(path), 10**9)
    assert isinstance(found, Lattice), found
    return found


def resaved(source: Path, target: Path, edit=lambda image: image, **options) -> Path:
    """The JPEG at `source` decoded, edited, and saved again."""
    return save(edit(open_rgb(source)), target, **options)


def test_a_jpeg_saved_again_at_a_finer_quality_carries_its_source_s_table(tmp_path, photos):
    original = save(open_rgb(photos["chelsea"]), tmp_path / "original.jpg", quality=75)
    finer = resaved(original, tmp_path / "finer.jpg", quality=95)
    assert carries(lattice(finer), lattice(original).table)


def test_a_photo_saved_once_does_not_carry_a_coarser_copy_s_table(tmp_path, photos):
    original = save(open_rgb(photos["chelsea"]), tmp_path / "original.jpg", quality=92)
    for quality in (30, 50, 70, 85):
        coarser = resaved(original, tmp_path / f"q{quality}.jpg", quality=quality)
        assert not carries(lattice(original), lattice(coarser).table), quality


def test_mirrored_turned_and_captioned_over_copies_carry_it_and_one_off_the_grid_does_not(tmp_path, photos):
    picture = open_rgb(photos["astronaut"])  # 512 × 512: whole blocks, so a mirror or a turn keeps the grid
    original = save(picture, tmp_path / "original.jpg", quality=80)

    def text_laid_on(image: Image.Image) -> Image.Image:
        ImageDraw.Draw(image).rectangle((0, 440, 512, 512), fill=(30, 30, 30))
        ImageDraw.Draw(image).text((20, 460), "Throwback to last year", fill=(250, 250, 250))
        return image

    def moved_down(image: Image.Image) -> Image.Image:  # bands of 5 pixels above, 2 below: blocks off the grid
        canvas = Image.new("RGB", (image.width, image.height + 7), (255, 255, 255))
        canvas.paste(image, (0, 5))
        return canvas

    table = lattice(original).table
    for name, edit in {"mirrored": lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                       "turned": lambda image: image.transpose(Image.Transpose.ROTATE_90),
                       "captioned": text_laid_on}.items():
        assert carries(lattice(resaved(original, tmp_path / f"{name}.jpg", edit, quality=95)), table), name
    assert not carries(lattice(resaved(original, tmp_path / "moved.jpg", moved_down, quality=95)), table)


def test_a_mirror_or_a_turn_of_a_photo_of_odd_sides_carries_it_on_a_shifted_grid(tmp_path, photos):
    """509 × 510 pixels: mirrored, the earlier blocks start 5 pixels across; turned, 6 pixels down."""
    original = save(open_rgb(photos["astronaut"]).crop((0, 0, 509, 510)), tmp_path / "original.jpg", quality=80)
    table = lattice(original).table
    for turn in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180):
        copy = lattice(resaved(original, tmp_path / f"{turn.name}.jpg", lambda image, turn=turn: image.transpose(turn),
                               quality=95))
        assert carries(copy, table), turn.name
    coarser = lattice(resaved(original, tmp_path / "coarser.jpg", quality=50))
    assert not carries(lattice(original), coarser.table)


def test_a_photo_turned_half_round_carries_it_on_the_grid_shifted_both_ways(tmp_path, photos):
    """301 × 211 pixels, turned 180°: each earlier block straddles four of the copy's, and its lattice shows
    about half as strongly as a mirror's."""
    original = save(open_rgb(photos["chelsea"]).crop((0, 0, 301, 211)), tmp_path / "original.jpg", quality=85)
    turned = resaved(original, tmp_path / "turned.jpg", lambda image: image.transpose(Image.Transpose.ROTATE_180),
                     quality=90)
    assert carries(lattice(turned), lattice(original).table)
    assert not carries(lattice(original), lattice(resaved(original, tmp_path / "coarser.jpg", quality=60)).table)


def test_what_is_not_a_jpeg_has_no_lattice(tmp_path, photos):
    png = save(open_rgb(photos["coffee"]), tmp_path / "coffee.png")
    assert not isinstance(lattice_file(str(png), 10**9), Lattice)
    assert not isinstance(lattice_file(str(tmp_path / "missing.jpg"), 10**9), Lattice)


def test_the_original_is_kept_rather_than_its_copies_saved_again_at_a_finer_quality(tmp_path, photos):
    """Copies saved at quality 95 from a quality-80 photo rank below it, and the report says why."""
    from lookalike import scan
    from lookalike.report import to_json

    original = save(open_rgb(photos["astronaut"]), tmp_path / "IMG_0001.jpg", quality=80)
    resaved(original, tmp_path / "mirrored.jpg", lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            quality=95)
    resaved(original, tmp_path / "exported.jpg", quality=95)
    result = scan([tmp_path])
    [group] = to_json(result)["groups"]
    assert Path(group["keep"]).name == "IMG_0001.jpg"
    assert {Path(m["path"]).name: m["earlier_quality"] for m in group["members"]} == {
        "IMG_0001.jpg": None, "mirrored.jpg": 80, "exported.jpg": 80}
    assert "re-saved from a JPEG of quality 80" in group["reason"]


def coefficients_against(jpeg: Path, other: Path):
    """Where `jpeg`'s coefficients lie around the DCT of `other`'s pixels, as the scan's worker measures it."""
    [measured] = conversions_file(f"{other}{PATH_SEPARATOR}{jpeg}", 10**9)
    assert measured is not None
    return measured


def heif_available() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def test_a_jpeg_converted_from_a_webp_rounds_its_pixels_and_a_webp_made_from_a_jpeg_does_not(tmp_path, photos):
    webp = save(open_rgb(photos["chelsea"]), tmp_path / "original.webp", quality=80)
    converted = resaved(webp, tmp_path / "converted.jpg", quality=90)
    assert coefficients_against(converted, webp).converted

    jpeg = save(open_rgb(photos["chelsea"]), tmp_path / "original.jpg", quality=90)
    for quality in (60, 80, 95):
        made = resaved(jpeg, tmp_path / f"made-{quality}.webp", quality=quality)
        assert not coefficients_against(jpeg, made).converted, quality


def test_a_heic_made_from_a_jpeg_original_leaves_the_jpeg_its_own_source(tmp_path, photos):
    heif_available()
    jpeg = save(open_rgb(photos["astronaut"]), tmp_path / "original.jpg", quality=90)
    for quality in (50, 80, 95):
        made = resaved(jpeg, tmp_path / f"made-{quality}.heic", quality=quality)
        assert not coefficients_against(jpeg, made).converted, quality


def test_the_webp_original_is_kept_rather_than_a_jpeg_converted_from_it(tmp_path, photos):
    """A JPEG of quality 90 made from a WebP ranks below it, however fine its own steps, and the report says
    why; a HEIC made from a JPEG original does not take the JPEG's place."""
    from lookalike import scan
    from lookalike.report import to_json

    heif_available()
    webp = save(open_rgb(photos["chelsea"]), tmp_path / "webp" / "IMG_0002.webp", quality=80)
    resaved(webp, tmp_path / "webp" / "converted.jpg", quality=90)
    jpeg = save(open_rgb(photos["astronaut"]), tmp_path / "jpeg" / "IMG_0003.jpg", quality=90)
    resaved(jpeg, tmp_path / "jpeg" / "made.heic", quality=80)
    groups = {Path(group["keep"]).parent.name: group for group in to_json(scan([tmp_path]))["groups"]}
    assert {Path(m["path"]).name: m["converted_from"] for m in groups["webp"]["members"]} == {
        "IMG_0002.webp": None, "converted.jpg": "WebP"}
    assert Path(groups["webp"]["keep"]).name == "IMG_0002.webp"
    assert "was converted from a WebP" in groups["webp"]["reason"]
    assert Path(groups["jpeg"]["keep"]).name == "IMG_0003.jpg"
    assert all(m["converted_from"] is None for m in groups["jpeg"]["members"])


def test_a_webp_made_from_a_coarse_jpeg_lies_apart_from_it_and_a_fine_heic_bunches_near_it(tmp_path, photos):
    """Neither was converted to the JPEG; the WebP's pixels lie close to it, but not within half its steps; the
    fine HEIC's lie bunched near its coefficients."""
    heif_available()
    jpeg = save(open_rgb(photos["chelsea"]), tmp_path / "original.jpg", quality=60)
    webp = coefficients_against(jpeg, resaved(jpeg, tmp_path / "made.webp", quality=80))
    assert webp.apart and not webp.converted and not webp.bunched
    heic = coefficients_against(jpeg, resaved(jpeg, tmp_path / "made.heic", quality=95))
    assert heic.bunched and not heic.converted


def test_a_coarse_jpeg_original_is_kept_rather_than_a_webp_or_heic_made_from_it(tmp_path, photos):
    """A WebP or HEIC of the JPEG's size that it was not converted from may have been saved from it and ranks
    below it, though a lossy codec's file otherwise ranks as a JPEG of quality 75; a WebP original keeps its
    place from a JPEG of quality 40 converted from it."""
    from lookalike import scan
    from lookalike.report import to_json

    heif_available()
    jpeg = save(open_rgb(photos["astronaut"]), tmp_path / "jpeg" / "IMG_0004.jpg", quality=60)
    resaved(jpeg, tmp_path / "jpeg" / "made.webp", quality=80)
    resaved(jpeg, tmp_path / "jpeg" / "made.heic", quality=90)
    webp = save(open_rgb(photos["chelsea"]), tmp_path / "webp" / "IMG_0005.webp", quality=80)
    resaved(webp, tmp_path / "webp" / "converted.jpg", quality=40)
    groups = {Path(group["keep"]).parent.name: group for group in to_json(scan([tmp_path]))["groups"]}
    assert Path(groups["jpeg"]["keep"]).name == "IMG_0004.jpg"
    assert {Path(m["path"]).name: m["earlier_quality"] for m in groups["jpeg"]["members"]} == {
        "IMG_0004.jpg": None, "made.webp": 60, "made.heic": 60}
    assert "may have been saved from" in groups["jpeg"]["reason"]
    assert Path(groups["webp"]["keep"]).name == "IMG_0005.webp"
    assert {Path(m["path"]).name: m["converted_from"] for m in groups["webp"]["members"]} == {
        "IMG_0005.webp": None, "converted.jpg": "WebP"}


def test_a_webp_copy_of_a_webp_original_is_not_ranked_above_it_by_a_fine_jpeg_converted_from_the_original(
        tmp_path, photos):
    """The JPEG of quality 92 was converted from the WebP original, not from the WebP copy with a date stamp,
    which lies close to it and so may have been saved from it: that ranks the copy no higher than its own codec
    does, just below the original."""
    from lookalike import scan
    from lookalike.report import to_json

    picture = open_rgb(photos["chelsea"])
    webp = save(picture, tmp_path / "IMG_0006.webp", quality=80)
    resaved(webp, tmp_path / "converted.jpg", quality=92)

    def stamped(image: Image.Image) -> Image.Image:
        ImageDraw.Draw(image).text((8, image.height - 16), "2019-07-14", fill=(255, 160, 0))
        return image

    resaved(webp, tmp_path / "stamped.webp", stamped, quality=80)
    [group] = to_json(scan([tmp_path]))["groups"]
    assert Path(group["keep"]).name == "IMG_0006.webp"
    assert {Path(m["path"]).name: m["converted_from"] for m in group["members"]} == {
        "IMG_0006.webp": None, "converted.jpg": "WebP", "stamped.webp": None}


def test_a_jpeg_converted_from_a_copy_does_not_make_the_webp_original_look_saved_from_it(tmp_path, photos):
    """The JPEG was converted from a HEIC copy of the WebP original: it lies close to the original without being
    converted from it, but a JPEG made from another member tells of no original, and the older WebP stays."""
    from lookalike import scan
    from lookalike.report import to_json

    heif_available()
    webp = save(open_rgb(photos["chelsea"]), tmp_path / "IMG_0007.webp", quality=80)
    heic = resaved(webp, tmp_path / "copy.heic", quality=90)
    resaved(heic, tmp_path / "from the copy.jpg", quality=90)
    [group] = to_json(scan([tmp_path]))["groups"]
    assert {Path(m["path"]).name: (m["earlier_quality"], m["converted_from"]) for m in group["members"]} == {
        "IMG_0007.webp": (None, None), "copy.heic": (None, None), "from the copy.jpg": (None, "HEIC")}
    assert Path(group["keep"]).name == "IMG_0007.webp"
