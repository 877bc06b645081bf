"""Edits as people make them: every parameter drawn at random from its family's range, a new draw per
original and seed, some edits combined. Nothing here is a constant a detector could learn: crops keep any
rectangle of at least 40 % of the area, bands are any height up to 20 %, screenshots put the photo anywhere
at a quarter to two thirds of the canvas, and so on (the README's table gives every range).

`copies(original, rng)` gives each family's copy as (bytes, suffix); `burst(original, rng)` a different
moment of the same shot (a region of the picture moved, the camera nudged), which must never be grouped.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import numpy as np
from edits import SAVE_AS, Encoded, Original, encode, encode_like, font_for_band
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

WORDS = ("Summer", "holidays", "best day ever", "2019", "WHEN YOU SEE IT", "me and the team", "happy birthday",
         "do not forget", "sunset", "our trip", "at last", "who else", "Monday again")
ASPECTS = (1.0, 4 / 5, 9 / 16, 16 / 9, 3 / 2, 2 / 3)  # square, portrait, stories, widescreen, 3:2, 2:3


def colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def text(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, rng.randint(1, 3)))


def crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """Any axis-aligned rectangle keeping 40 % of the area or more; half the time of a common aspect."""
    width, height = image.size
    while True:
        area = rng.uniform(0.4, 0.95)
        aspect = rng.choice(ASPECTS) if rng.random() < 0.5 else rng.uniform(0.5, 2.0)
        aspect *= 1 if rng.random() < 0.5 else width / height  # relative to the frame or absolute
        w = (area * width * height * aspect) ** 0.5
        h = w / aspect
        if w <= width and h <= height:
            break
    left, top = rng.uniform(0, width - w), rng.uniform(0, height - h)
    return image.crop((round(left), round(top), round(left + w), round(top + h)))


def caption(image: Image.Image, rng: random.Random) -> Image.Image:
    """A band of any height up to 20 % at the top or the bottom, any colour, with text; added or laid over."""
    width, height = image.size
    band = max(4, round(height * rng.uniform(0.04, 0.2)))
    at_top = rng.random() < 0.5
    fill = colour(rng)
    if rng.random() < 0.5:  # the band extends the canvas
        canvas = Image.new("RGB", (width, height + band), fill)
        canvas.paste(image, (0, band if at_top else 0))
        y = 0 if at_top else height
    else:  # the band covers part of the picture
        canvas = image.copy()
        y = 0 if at_top else height - band
        ImageDraw.Draw(canvas).rectangle((0, y, width, y + band), fill=fill)
    ink = (255, 255, 255) if sum(fill) < 384 else (0, 0, 0)
    ImageDraw.Draw(canvas).text((width * rng.uniform(0.02, 0.3), y + band * 0.15), text(rng),
                                font=font_for_band(band), fill=ink)
    return canvas


def overlay_text(image: Image.Image, rng: random.Random) -> Image.Image:
    """Meme text at the top and/or bottom, or a date stamp in a corner."""
    copy = image.copy()
    draw = ImageDraw.Draw(copy)
    width, height = image.size
    if rng.random() < 0.5:
        size = max(8, round(height * rng.uniform(0.03, 0.06)))
        stamp = f"{rng.randint(1995, 2024)}/{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}"
        draw.text((width * rng.choice((0.03, 0.6)), height * rng.choice((0.03, 0.9))), stamp,
                  font=font_for_band(size * 2), fill=(255, rng.randint(80, 200), 0))
        return copy
    size = max(10, round(height * rng.uniform(0.08, 0.14)))
    for y in rng.sample((0.03, 0.82), rng.randint(1, 2)):
        draw.text((width * rng.uniform(0.02, 0.2), height * y), text(rng).upper(), font=font_for_band(size * 2),
                  fill=(255, 255, 255), stroke_width=max(1, size // 12), stroke_fill=(0, 0, 0))
    return copy


def watermark(image: Image.Image, rng: random.Random) -> Image.Image:
    """Semi-transparent text or a logo-like shape, anywhere."""
    width, height = image.size
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    opacity = rng.randint(60, 160)
    x, y = width * rng.uniform(0.02, 0.6), height * rng.uniform(0.02, 0.85)
    if rng.random() < 0.6:
        size = max(10, round(height * rng.uniform(0.05, 0.12)))
        draw.text((x, y), "(c) " + text(rng), font=font_for_band(size * 2), fill=(*colour(rng), opacity))
    else:
        side = min(width, height) * rng.uniform(0.1, 0.25)
        draw.ellipse((x, y, x + side, y + side), fill=(*colour(rng), opacity))
        draw.rectangle((x + side * 0.3, y + side * 0.3, x + side * 0.7, y + side * 0.7), fill=(*colour(rng), opacity))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def border(image: Image.Image, rng: random.Random) -> Image.Image:
    """A frame of any colour and width, even or uneven."""
    short = min(image.size)
    sides = [round(short * rng.uniform(0.01, 0.15)) for _ in range(4)]
    if rng.random() < 0.5:
        sides = [sides[0]] * 4
    return ImageOps.expand(image, border=tuple(sides), fill=colour(rng))


def screenshot(image: Image.Image, rng: random.Random) -> Image.Image:
    """The photo on a larger canvas (a quarter to two thirds of its area) with bars, buttons and text lines."""
    width, height = image.size
    share = rng.uniform(0.25, 0.66)
    canvas_w = round(width / share ** 0.5 * rng.uniform(0.85, 1.0))
    canvas_h = round(width * height / share / canvas_w)
    canvas_h = max(canvas_h, height + 8)
    canvas_w = max(canvas_w, width)
    background = rng.choice(((250, 250, 250), (18, 18, 18), colour(rng)))
    canvas = Image.new("RGB", (canvas_w, canvas_h), background)
    draw = ImageDraw.Draw(canvas)
    ink = (30, 30, 30) if sum(background) > 384 else (220, 220, 220)
    bar = round(canvas_h * rng.uniform(0.03, 0.08))
    draw.rectangle((0, 0, canvas_w, bar), fill=colour(rng))
    left, top = rng.randint(0, canvas_w - width), rng.randint(bar, max(bar, canvas_h - height))
    canvas.paste(image, (left, top))
    for _ in range(rng.randint(2, 6)):  # text lines and buttons around the photo
        y = rng.choice((rng.uniform(bar, max(bar + 1, top)), rng.uniform(min(top + height, canvas_h - 1), canvas_h)))
        x = rng.uniform(0, canvas_w * 0.5)
        if rng.random() < 0.5:
            draw.rectangle((x, y, x + canvas_w * rng.uniform(0.1, 0.4), y + bar * 0.4), fill=ink)
        else:
            draw.text((x, y), text(rng), font=font_for_band(max(8, bar)), fill=ink)
    return canvas


def straighten(image: Image.Image, rng: random.Random) -> Image.Image:
    """Turned by 1 to 8 degrees either way and cropped to hide the corners."""
    angle = rng.uniform(1, 8) * rng.choice((-1, 1))
    width, height = image.size
    turned = image.rotate(angle, Image.Resampling.BICUBIC)
    t = abs(np.tan(np.radians(angle)))
    margin_x, margin_y = (height * t) / 2 + 2, (width * t) / 2 + 2
    return turned.crop((round(margin_x), round(margin_y), round(width - margin_x), round(height - margin_y)))


def colour_filter(image: Image.Image, rng: random.Random) -> Image.Image:
    """A tint, a saturation change or a vignette, of random strength."""
    kind = rng.choice(("tint", "saturation", "vignette"))
    if kind == "saturation":
        return ImageEnhance.Color(image).enhance(rng.choice((rng.uniform(0.0, 0.6), rng.uniform(1.4, 2.2))))
    pixels = np.asarray(image).astype(np.float32)
    if kind == "tint":
        gains = np.array([rng.uniform(0.7, 1.3) for _ in range(3)], np.float32)
        return Image.fromarray(np.clip(pixels * gains + rng.uniform(-20, 20), 0, 255).astype(np.uint8))
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    radius = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) * 2
    strength = rng.uniform(0.3, 0.8)
    return Image.fromarray(np.clip(pixels * (1 - strength * radius)[..., None], 0, 255).astype(np.uint8))


def noise(image: Image.Image, rng: random.Random) -> Image.Image:
    pixels = np.asarray(image).astype(np.float32)
    grain = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(10, 30), pixels.shape)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))


def thumbnail(image: Image.Image, rng: random.Random) -> Image.Image:
    copy = image.copy()
    side = rng.randint(64, 160)
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


PixelEdit = Callable[[Image.Image, random.Random], Image.Image]
FAMILIES: dict[str, PixelEdit] = {
    "crop": crop, "caption": caption, "text": overlay_text, "watermark": watermark, "border": border,
    "screenshot": screenshot, "straighten": straighten, "filter": colour_filter, "noise": noise,
    "thumbnail": thumbnail,
}
TURNS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270,
         Image.Transpose.FLIP_LEFT_RIGHT)


def save_as_any(image: Image.Image, rng: random.Random, original: Original) -> Encoded:
    """In the original's format, or converted to another (JPEG at any quality among them)."""
    kind = rng.choice(("same", "same", "JPEG", "PNG", "WEBP", "HEIF"))
    if kind == "same":
        return encode_like(original, image)
    if kind == "JPEG":
        return encode(image, "JPEG", quality=rng.randint(40, 95))
    return encode(image, kind, **SAVE_AS[kind][1])


def combined(image: Image.Image, rng: random.Random) -> tuple[str, Image.Image]:
    """Two or three families one after another, then a quarter turn or a mirror image and a resize."""
    picked = rng.sample(sorted(set(FAMILIES) - {"thumbnail"}), rng.randint(2, 3))
    for family in picked:
        image = FAMILIES[family](image, rng)
    turn = rng.choice(TURNS)
    if turn is not None:
        image = image.transpose(turn)
    factor = rng.uniform(0.5, 1.0)
    image = image.resize((max(16, round(image.width * factor)), max(16, round(image.height * factor))),
                         Image.Resampling.LANCZOS)
    return "combined", image


def copies(original: Original, rng: random.Random) -> dict[str, Encoded]:
    """One copy per family, each with its own random parameters, plus a heavy recompression and two combined
    edits; every pixel edit saved in a format drawn at random."""
    image = original.image
    found: dict[str, Encoded] = {}
    for family, edit in FAMILIES.items():
        found[family] = save_as_any(edit(image, rng), rng, original)
    found["recompressed"] = encode(image, "JPEG", quality=rng.randint(10, 30))
    for number in (1, 2):
        _, edited = combined(image, rng)
        found[f"combined-{number}"] = save_as_any(edited, rng, original)
    return found


def burst(original: Original, rng: random.Random) -> Encoded:
    """A different moment of the same shot: a region (a tenth to a quarter of the picture) moved by 5 to 15 %
    of the frame, the camera nudged by up to 2 %: another photo, never a duplicate."""
    image = original.image
    width, height = image.size
    w, h = round(width * rng.uniform(0.3, 0.5)), round(height * rng.uniform(0.3, 0.5))
    left, top = rng.randint(0, width - w), rng.randint(0, height - h)
    moved = image.copy()
    dx = round(width * rng.uniform(0.05, 0.15)) * rng.choice((-1, 1))
    dy = round(height * rng.uniform(0.0, 0.08)) * rng.choice((-1, 1))
    moved.paste(image.crop((left, top, left + w, top + h)), (left + dx, top + dy))
    nudge_x, nudge_y = round(width * rng.uniform(0, 0.02)), round(height * rng.uniform(0, 0.02))
    margin_x, margin_y = round(width * 0.02), round(height * 0.02)
    moved = moved.crop((nudge_x, nudge_y, width - margin_x + nudge_x, height - margin_y + nudge_y))
    buffer = io.BytesIO()
    moved.resize(image.size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=rng.randint(80, 95))
    return buffer.getvalue(), ".jpg"
