"""The edits applied to each original photo: one function per kind, each giving the new file's bytes.

Pixel edits are saved in the original's own format (JPEG quality 90, WebP quality 80, anything else PNG)
so that each copy differs from its original by one edit only. The format edits say their format in
their name; `recompressed-q25` is always a JPEG.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pillow_heif
from PIL import ExifTags, Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps, PngImagePlugin

pillow_heif.register_heif_opener()

Encoded = tuple[bytes, str]  # file content and suffix

SAVE_AS: dict[str, tuple[str, dict[str, object]]] = {
    "JPEG": (".jpg", {"quality": 90}),
    "WEBP": (".webp", {"quality": 80}),
    # Fastest settings where they change only the file size (PNG) or the encoder's effort (HEIC), for a
    # collection that builds in a minute or two.
    "PNG": (".png", {"compress_level": 1}),
    "HEIF": (".heic", {"quality": 80, "enc_params": {"preset": "ultrafast"}}),
}
CAPTION = "Summer holidays 2019 - day 3"
WATERMARK = "(c) lookalike benchmark"
EXIF_DESCRIPTION = "edited by the lookalike accuracy benchmark"
EXIF_DATE = "2001:02:03 04:05:06"
ROTATE_90_CLOCKWISE_TO_VIEW = 6  # EXIF orientation value


@dataclass
class Original:
    data: bytes  # the file exactly as it is in the corpus
    suffix: str
    format: str  # Pillow's name for the file's format

    @cached_property
    def stored(self) -> Image.Image:
        """The pixels as stored in the file (no orientation applied), in the file's own mode."""
        image = Image.open(io.BytesIO(self.data))
        image.load()
        return image

    @cached_property
    def image(self) -> Image.Image:
        """The picture as a viewer shows it: EXIF orientation applied, RGB."""
        return ImageOps.exif_transpose(self.stored).convert("RGB")

    @cached_property
    def heic(self) -> bytes:
        return encode(self.image, "HEIF")[0]


def load(path: Path) -> Original:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image_format = image.format or "PNG"
    return Original(data, path.suffix.lower(), image_format)


def encode(image: Image.Image, image_format: str, **options: object) -> Encoded:
    suffix, defaults = SAVE_AS[image_format]
    buffer = io.BytesIO()
    image.save(buffer, image_format, **{**defaults, **options})
    return buffer.getvalue(), suffix


def encode_like(original: Original, image: Image.Image, **options: object) -> Encoded:
    image_format = original.format if original.format in SAVE_AS else "PNG"
    return encode(image, image_format, **options)


# --- pixel edits: picture in, picture out ---------------------------------------------------------------


def scaled(image: Image.Image, factor_x: float, factor_y: float) -> Image.Image:
    width, height = image.size
    size = (max(1, round(width * factor_x)), max(1, round(height * factor_y)))
    return image.resize(size, Image.Resampling.LANCZOS)


def cropped(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    width, height = image.size
    box = (round(width * left), round(height * top), width - round(width * right), height - round(height * bottom))
    return image.crop(box)


def font_for_band(band_height: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(band_height * 0.6)))


def caption_bar(image: Image.Image) -> Image.Image:
    edited = image.copy()
    width, height = edited.size
    band = max(1, height // 10)
    draw = ImageDraw.Draw(edited)
    draw.rectangle((0, height - band, width, height), fill="black")
    draw.text((band // 3, height - band / 2), CAPTION, fill="white", font=font_for_band(band), anchor="lm")
    return edited


def watermark(image: Image.Image) -> Image.Image:
    width, height = image.size
    band = max(1, height // 10)
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (width / 2, height - band / 2), WATERMARK, fill=(255, 255, 255, 140), font=font_for_band(band), anchor="mm"
    )
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def white_border(image: Image.Image) -> Image.Image:
    return ImageOps.expand(image, border=max(1, round(0.05 * min(image.size))), fill="white")


def black_letterbox(image: Image.Image) -> Image.Image:
    bar = max(1, round(image.height / 8))
    return ImageOps.expand(image, border=(0, bar, 0, bar), fill="black")


def mild_blur(image: Image.Image) -> Image.Image:
    # Scaled to the picture so that "mild" looks the same on a thumbnail and on a 4-megapixel photo.
    return image.filter(ImageFilter.GaussianBlur(radius=max(1.0, 0.003 * max(image.size))))


PIXEL_EDITS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized-40": lambda image: scaled(image, 0.4, 0.4),
    "resized-16": lambda image: scaled(image, 0.16, 0.16),
    "rotated-90": lambda image: image.transpose(Image.Transpose.ROTATE_270),  # Pillow turns anticlockwise
    "rotated-180": lambda image: image.transpose(Image.Transpose.ROTATE_180),
    "rotated-270": lambda image: image.transpose(Image.Transpose.ROTATE_90),
    "mirrored": lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "cropped-5": lambda image: cropped(image, 0.05, 0.05, 0.05, 0.05),
    "cropped-third": lambda image: cropped(image, 0, 0, 1 / 3, 0),
    "caption-bar": caption_bar,
    "watermark": watermark,
    "border-white": white_border,
    "letterbox-black": black_letterbox,
    "squashed-20": lambda image: scaled(image, 0.8, 1.0),
    "brightness": lambda image: ImageEnhance.Brightness(image).enhance(1.3),
    "contrast": lambda image: ImageEnhance.Contrast(image).enhance(1.4),
    "saturation": lambda image: ImageEnhance.Color(image).enhance(1.5),
    "grayscale": lambda image: image.convert("L"),
    "blur": mild_blur,
}


# --- file edits: original in, new file out -------------------------------------------------------------


def changed_exif(image: Image.Image) -> Image.Exif:
    exif = image.getexif()
    exif[ExifTags.Base.ImageDescription] = EXIF_DESCRIPTION
    exif[ExifTags.Base.DateTime] = EXIF_DATE
    return exif


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with_new_metadata(data: bytes, exif: bytes) -> bytes:
    """The same JPEG bytes with its EXIF replaced and a comment added: not one pixel re-encoded."""
    kept_segments: list[bytes] = []
    position = 2  # after the start-of-image marker
    while data[position + 1] != 0xDA:  # up to the start of scan, every segment carries its length
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position:end]
        if not (segment[1] == 0xE1 and segment[4:10] == b"Exif\0\0"):
            kept_segments.append(segment)
        position = end
    leading_app0 = [segment for segment in kept_segments[:1] if segment[1] == 0xE0]
    new_segments = [jpeg_segment(0xE1, exif), jpeg_segment(0xFE, EXIF_DESCRIPTION.encode())]
    rest = kept_segments[len(leading_app0) :]
    return data[:2] + b"".join(leading_app0 + new_segments + rest) + data[position:]


def metadata_changed(original: Original) -> Encoded:
    """Same pixels, different EXIF and comment (PNG: a text chunk; WebP: re-saved lossless)."""
    exif = changed_exif(original.stored)
    if original.format == "JPEG":
        return jpeg_with_new_metadata(original.data, exif.tobytes()), original.suffix
    if original.format == "WEBP":
        return encode(original.stored, "WEBP", lossless=True, exact=True, exif=exif)
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", EXIF_DESCRIPTION)
    return encode(original.stored, "PNG", pnginfo=text, exif=exif)


def orientation_tag_instead_of_rotation(original: Original) -> Encoded:
    """Pixels stored turned a quarter anticlockwise, with the tag that tells viewers to turn them back."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = ROTATE_90_CLOCKWISE_TO_VIEW
    return encode_like(original, original.image.transpose(Image.Transpose.ROTATE_90), exif=exif)


def heic_to_jpeg(original: Original) -> Encoded:
    with Image.open(io.BytesIO(original.heic)) as decoded:
        return encode(decoded.convert("RGB"), "JPEG")


def pixel_edit(edit: Callable[[Image.Image], Image.Image]) -> Callable[[Original], Encoded]:
    return lambda original: encode_like(original, edit(original.image))


EDITS: dict[str, Callable[[Original], Encoded]] = {
    "byte-copy": lambda original: (original.data, original.suffix),
    "metadata": metadata_changed,
    "recompressed-q25": lambda original: encode(original.image, "JPEG", quality=25),
    "converted-png": lambda original: encode(original.image, "PNG"),
    "converted-webp": lambda original: encode(original.image, "WEBP"),
    "converted-heic": lambda original: (original.heic, SAVE_AS["HEIF"][0]),
    "heic-to-jpeg": heic_to_jpeg,
    "exif-orientation": orientation_tag_instead_of_rotation,
    **{kind: pixel_edit(edit) for kind, edit in PIXEL_EDITS.items()},
}
