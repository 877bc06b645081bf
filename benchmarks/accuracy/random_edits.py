"""Edits with parameters drawn at random, one family at a time or several combined.

Every family draws all its parameters from the ranges of issue 23 (README.md lists them), so no detector
can match a fixed parameter. A copy is built by steps applied in a fixed order (what a person or an app
does first comes first: cut, then write on, then filter, then frame, then turn and resize, then save), and
records for a scorer where the original's picture is: `box`, the part of the original's frame that the
copy shows, as fractions (left, top, right, bottom) of the original's width and height.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import edits
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

Box = tuple[float, float, float, float]
FULL: Box = (0.0, 0.0, 1.0, 1.0)
MIN_CROP_AREA = 0.4
CROP_ASPECTS = {"square": 1.0, "4:5": 4 / 5, "9:16": 9 / 16, "16:9": 16 / 9, "3:4": 3 / 4, "4:3": 4 / 3}
CAPTIONS = (
    "Summer holidays, day 3",
    "Look who came to visit!",
    "best day ever",
    "Grandma's 80th birthday",
    "Throwback to last year",
    "When you finally get the weekend off",
)
MEME_LINES = ("WHEN THE PHOTO", "IS A DUPLICATE", "NOBODY:", "ME AT 3 AM", "ONE DOES NOT SIMPLY", "DELETE IT")
WATERMARKS = ("(c) J. Smith Photography", "shared via PhotoApp", "SAMPLE", "www.example.com", "@traveller")
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")


@dataclass(frozen=True)
class Copy:
    """A copy while it is being made: its picture, the original's box it shows, what was done."""

    image: Image.Image
    box: Box = FULL
    steps: tuple[dict[str, object], ...] = ()
    save_as: tuple[str, dict[str, object]] | None = None  # None: the original's own format

    def then(self, image: Image.Image, step: dict[str, object], box: Box | None = None) -> Copy:
        return replace(self, image=image, box=self.box if box is None else box, steps=(*self.steps, step))


Step = Callable[[random.Random, Copy], Copy]


def rounded(value: float) -> float:
    return round(value, 4)


def within(box: Box, part: Box) -> Box:
    """`part` (fractions of the copy as it is) in fractions of the original, while the copy is a cut of it."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    return (
        rounded(left + part[0] * width),
        rounded(top + part[1] * height),
        rounded(left + part[2] * width),
        rounded(top + part[3] * height),
    )


def random_colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def contrasting(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


def font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(size)))


# --- cut ------------------------------------------------------------------------------------------------


def crop(rng: random.Random, copy: Copy) -> Copy:
    """Any axis-aligned rectangle keeping at least 40 % of the area, of a drawn aspect, anywhere."""
    width, height = copy.image.size
    aspect_names = list(CROP_ASPECTS) + ["free"] * 3
    while True:
        name = rng.choice(aspect_names)
        aspect = CROP_ASPECTS.get(name) or (width / height) * math.exp(rng.uniform(-0.6, 0.6))
        # The largest crop of this aspect fills the width or the height.
        largest = min(1.0, height * aspect / width) * min(1.0, width / (height * aspect))
        if largest >= MIN_CROP_AREA + 0.02:
            break
    area = rng.uniform(MIN_CROP_AREA, min(largest, 0.97))
    crop_width = min(width, math.sqrt(area * width * height * aspect))
    crop_height = min(height, area * width * height / crop_width)
    left = rng.uniform(0, width - crop_width)
    top = rng.uniform(0, height - crop_height)
    pixels = (round(left), round(top), round(left + crop_width), round(top + crop_height))
    part = (pixels[0] / width, pixels[1] / height, pixels[2] / width, pixels[3] / height)
    step = {"edit": "crop", "aspect": name, "area": rounded(area), "pixels": pixels}
    return copy.then(copy.image.crop(pixels), step, within(copy.box, part))


def straighten(rng: random.Random, copy: Copy) -> Copy:
    """Rotate by 1-8 degrees either way, then keep the largest centred rectangle of the same aspect."""
    angle = rng.choice((-1, 1)) * rng.uniform(1, 8)
    width, height = copy.image.size
    cos, sin = math.cos(math.radians(abs(angle))), math.sin(math.radians(abs(angle)))
    scale = min(width / (width * cos + height * sin), height / (width * sin + height * cos))
    rotated = copy.image.rotate(angle, resample=Image.Resampling.BICUBIC)
    inner_w, inner_h = width * scale, height * scale
    pixels = (
        round((width - inner_w) / 2),
        round((height - inner_h) / 2),
        round((width + inner_w) / 2),
        round((height + inner_h) / 2),
    )
    # The kept rectangle, turned back onto the original, spans this much of it around the centre.
    half_w = min(0.5, (inner_w * cos + inner_h * sin) / 2 / width)
    half_h = min(0.5, (inner_w * sin + inner_h * cos) / 2 / height)
    step = {"edit": "straighten", "degrees": rounded(angle), "kept_scale": rounded(scale)}
    return copy.then(
        rotated.crop(pixels), step, within(copy.box, (0.5 - half_w, 0.5 - half_h, 0.5 + half_w, 0.5 + half_h))
    )


# --- write on -------------------------------------------------------------------------------------------


def caption(rng: random.Random, copy: Copy) -> Copy:
    """A band of any colour, up to 20 % of the height, at the top or bottom, added below/above or laid over."""
    width, height = copy.image.size
    share = rng.uniform(0.03, 0.20)
    where = rng.choice(("top", "bottom"))
    placed = rng.choice(("added", "over"))
    colour = random_colour(rng)
    band = max(4, round(share * height))
    if placed == "added":
        canvas = Image.new("RGB", (width, height + band), colour)
        canvas.paste(copy.image, (0, band if where == "top" else 0))
        band_top, box = (0 if where == "top" else height), copy.box
    else:
        canvas = copy.image.copy()
        band_top = 0 if where == "top" else height - band
        ImageDraw.Draw(canvas).rectangle((0, band_top, width, band_top + band - 1), fill=colour)
        shown = (0, band / height, 1, 1) if where == "top" else (0, 0, 1, 1 - band / height)
        box = within(copy.box, shown)
    text = rng.choice(CAPTIONS)
    ImageDraw.Draw(canvas).text(
        (band * 0.4, band_top + band / 2),
        text,
        fill=contrasting(colour),
        font=font(band * rng.uniform(0.45, 0.7)),
        anchor="lm",
    )
    step = {
        "edit": "caption",
        "height": rounded(band / height),
        "where": where,
        "placed": placed,
        "colour": colour,
        "text": text,
    }
    return copy.then(canvas, step, box)


def overlay_text(rng: random.Random, copy: Copy) -> Copy:
    """Meme text at the top and/or bottom, or a camera's date stamp in a corner."""
    image = copy.image.copy()
    width, height = image.size
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.6:
        size = height * rng.uniform(0.06, 0.13)
        lines = rng.choice((("top",), ("bottom",), ("top", "bottom")))
        texts = []
        for where in lines:
            text = rng.choice(MEME_LINES)
            y = size * 0.7 if where == "top" else height - size * 0.7
            draw.text(
                (width / 2, y),
                text,
                fill="white",
                font=font(size),
                anchor="mm",
                stroke_width=max(1, round(size / 12)),
                stroke_fill="black",
            )
            texts.append(text)
        step: dict[str, object] = {
            "edit": "overlay-text",
            "kind": "meme",
            "size": rounded(size / height),
            "lines": list(lines),
            "text": texts,
        }
    else:
        size = height * rng.uniform(0.03, 0.07)
        corner = rng.choice(("top-left", "top-right", "bottom-left", "bottom-right"))
        text = f"'{rng.randrange(95, 125) % 100:02d} {rng.randrange(1, 13):2d} {rng.randrange(1, 29):2d}"
        x = size if corner.endswith("left") else width - size
        y = size if corner.startswith("top") else height - size
        anchor = ("l" if corner.endswith("left") else "r") + ("t" if corner.startswith("top") else "s")
        colour = rng.choice(((255, 140, 0), (255, 200, 40), (255, 60, 30)))
        draw.text((x, y), text, fill=colour, font=font(size), anchor=anchor)
        step = {"edit": "overlay-text", "kind": "date-stamp", "size": rounded(size / height), "corner": corner}
    return copy.then(image, step)


def watermark(rng: random.Random, copy: Copy) -> Copy:
    """Semi-transparent text or logo of any size, anywhere."""
    width, height = copy.image.size
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    opacity = rng.uniform(0.2, 0.6)
    colour = (*rng.choice(((255, 255, 255), (0, 0, 0), random_colour(rng))), round(255 * opacity))
    size = rng.uniform(0.05, 0.4) * min(width, height)
    x, y = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
    kind = rng.choice(("text", "logo"))
    if kind == "text":
        text = rng.choice(WATERMARKS)
        draw.text((x, y), text, fill=colour, font=font(size * 0.35), anchor="mm")
    else:
        text = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
        radius = size / 2
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=max(1, round(size / 12)))
        draw.text((x, y), text, fill=colour, font=font(size * 0.45), anchor="mm")
    angle = rng.choice((0, 0, rng.uniform(-45, 45)))
    if angle:
        layer = layer.rotate(angle, center=(x, y))
    image = Image.alpha_composite(copy.image.convert("RGBA"), layer).convert("RGB")
    step = {
        "edit": "watermark",
        "kind": kind,
        "text": text,
        "opacity": rounded(opacity),
        "size": rounded(size / min(width, height)),
        "at": (rounded(x / width), rounded(y / height)),
        "degrees": rounded(angle),
    }
    return copy.then(image, step)


# --- filter ---------------------------------------------------------------------------------------------


def vignetted(image: Image.Image, strength: float, reach: float) -> Image.Image:
    width, height = image.size
    ys, xs = np.ogrid[-1 : 1 : complex(0, height), -1 : 1 : complex(0, width)]
    distance = np.sqrt(xs**2 + ys**2) / math.sqrt(2)
    gain = 1 - strength * np.clip((distance - (1 - reach)) / reach, 0, 1) ** 2
    pixels = np.asarray(image, dtype=np.float32) * gain[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def colour_filter(rng: random.Random, copy: Copy) -> Copy:
    """A tint, a saturation change, a vignette, or a brightness and contrast change."""
    kind = rng.choice(("tint", "saturation", "vignette", "tone"))
    image = copy.image
    if kind == "tint":
        colour, amount = random_colour(rng), rng.uniform(0.1, 0.35)
        image = Image.blend(image, Image.new("RGB", image.size, colour), amount)
        step: dict[str, object] = {"colour": colour, "amount": rounded(amount)}
    elif kind == "saturation":
        factor = rng.choice((rng.uniform(0, 0.6), rng.uniform(1.4, 2.2)))
        image = ImageEnhance.Color(image).enhance(factor)
        step = {"factor": rounded(factor)}
    elif kind == "vignette":
        strength, reach = rng.uniform(0.3, 0.8), rng.uniform(0.4, 0.8)
        image = vignetted(image, strength, reach)
        step = {"strength": rounded(strength), "reach": rounded(reach)}
    else:
        brightness, contrast = rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.5)
        image = ImageEnhance.Contrast(ImageEnhance.Brightness(image).enhance(brightness)).enhance(contrast)
        step = {"brightness": rounded(brightness), "contrast": rounded(contrast)}
    return copy.then(image, {"edit": "filter", "kind": kind, **step})


def noise(rng: random.Random, copy: Copy) -> Copy:
    """Strong Gaussian noise, in colour or in brightness only."""
    sigma = rng.uniform(10, 30)
    per_channel = rng.random() < 0.5
    generator = np.random.default_rng(rng.randrange(2**32))
    pixels = np.asarray(copy.image, dtype=np.float32)
    shape = pixels.shape if per_channel else (*pixels.shape[:2], 1)
    noisy = pixels + generator.normal(0, sigma, shape).astype(np.float32)
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return copy.then(image, {"edit": "noise", "sigma": rounded(sigma), "colour": per_channel})


# --- frame ----------------------------------------------------------------------------------------------


def border(rng: random.Random, copy: Copy) -> Copy:
    """A border of any colour, even or uneven, up to 15 % of the shorter side; sometimes with a fine inner line."""
    width, height = copy.image.size
    shorter = min(width, height)
    even = rng.random() < 0.5
    if even:
        sides = [max(1, round(rng.uniform(0.01, 0.15) * shorter))] * 4
    else:
        sides = [round(rng.uniform(0, 0.15) * shorter) for _ in range(4)]
        sides[rng.randrange(4)] = max(2, sides[0], round(0.03 * shorter))  # never no border at all
    left, top, right, bottom = sides
    colour = random_colour(rng)
    canvas = Image.new("RGB", (width + left + right, height + top + bottom), colour)
    canvas.paste(copy.image, (left, top))
    line = rng.random() < 0.3
    if line:
        ImageDraw.Draw(canvas).rectangle(
            (left - 2, top - 2, left + width + 1, top + height + 1),
            outline=contrasting(colour),
            width=max(1, min(sides) // 3),
        )
    step = {"edit": "border", "even": even, "sides": sides, "colour": colour, "inner_line": line}
    return copy.then(canvas, step)


@dataclass(frozen=True)
class Screen:
    name: str
    aspect: float  # width / height of the whole screen
    dark: bool
    status: float  # status bar height, share of the screen height
    bottom: float  # navigation or button bar height
    photo_top: float  # where the photo's area starts, below a title bar


def screen_for(rng: random.Random) -> Screen:
    name = rng.choice(("phone", "phone", "desktop", "tablet"))
    aspect = {
        "phone": rng.choice((9 / 16, 9 / 19.5, 9 / 20)),
        "desktop": rng.choice((16 / 9, 16 / 10)),
        "tablet": rng.choice((3 / 4, 4 / 3)),
    }[name]
    status = rng.uniform(0.025, 0.045)
    return Screen(name, aspect, rng.random() < 0.5, status, rng.uniform(0.05, 0.09), status + rng.uniform(0.04, 0.08))


def draw_interface(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    screen: Screen,
    size: tuple[int, int],
    photo_box: tuple[int, int, int, int],
) -> None:
    """Status bar, title, buttons and lines of text around the photo, as an app or a browser shows them."""
    width, height = size
    ink = (235, 235, 235) if screen.dark else (30, 30, 30)
    faint = (90, 90, 90) if screen.dark else (200, 200, 200)
    bar = round(screen.status * height)
    draw.rectangle((0, 0, width, bar), fill=(0, 0, 0) if screen.dark else (245, 245, 245))
    draw.text(
        (bar * 0.6, bar / 2),
        f"{rng.randrange(24)}:{rng.randrange(60):02d}",
        fill=ink,
        font=font(bar * 0.6),
        anchor="lm",
    )
    for icon in range(3):  # signal, wifi, battery
        x = width - bar * (1 + 1.2 * icon)
        draw.rectangle((x - bar * 0.4, bar * 0.3, x + bar * 0.3, bar * 0.7), fill=ink)
    title_y = (bar + photo_box[1]) / 2
    draw.text(
        (bar, title_y),
        rng.choice(("Photos", "Messages", "Gallery", "Feed")),
        fill=ink,
        font=font(max(8, (photo_box[1] - bar) * 0.45)),
        anchor="lm",
    )
    bottom = round(screen.bottom * height)
    buttons = rng.randrange(3, 6)
    for index in range(buttons):
        x = width * (index + 0.5) / buttons
        radius = bottom * 0.25
        draw.ellipse(
            (x - radius, height - bottom / 2 - radius, x + radius, height - bottom / 2 + radius),
            outline=ink,
            width=max(1, round(radius / 5)),
        )
    line_height = max(4, round(height * 0.012))
    y = photo_box[3] + line_height * 2
    while y + line_height < height - bottom - line_height and y < photo_box[3] + line_height * 14:
        draw.rectangle((bar, y, bar + rng.uniform(0.3, 0.9) * (width - 2 * bar), y + line_height), fill=faint)
        y += line_height * 2


def screenshot(rng: random.Random, copy: Copy) -> Copy:
    """The photo inside a phone, tablet or desktop screenshot: 25-80 % of the screen's area, with interface."""
    width, height = copy.image.size
    aspect = width / height
    while True:
        screen = screen_for(rng)
        # The photo must fit in the screen's width and between its bars.
        room = 1 - screen.photo_top - screen.bottom - 0.05
        largest = min(0.8, 0.96 * screen.aspect / aspect, room**2 * aspect / screen.aspect * 0.96)
        if largest >= 0.27:
            break
    share = rng.uniform(0.25, largest)
    shown_width = rng.uniform(0.6, 1.1) * width
    screen_area = shown_width * (shown_width / aspect) / share
    screen_width = math.sqrt(screen_area * screen.aspect)
    if max(screen_width, screen_width / screen.aspect) > 2400:  # screens are at most this large
        shown_width *= 2400 / max(screen_width, screen_width / screen.aspect)
        screen_width = math.sqrt(shown_width * (shown_width / aspect) / share * screen.aspect)
    size = (round(screen_width), round(screen_width / screen.aspect))
    shown = (max(1, round(shown_width)), max(1, round(shown_width / aspect)))
    background = (18, 18, 18) if screen.dark else (255, 255, 255)
    canvas = Image.new("RGB", size, background)
    free_x = size[0] - shown[0]
    left = round(free_x / 2) if screen.name == "phone" else round(rng.uniform(0.2, 0.8) * free_x)
    top = round(
        screen.photo_top * size[1]
        + rng.uniform(0, 0.3) * max(0, size[1] * (1 - screen.photo_top - screen.bottom) - shown[1])
    )
    canvas.paste(copy.image.resize(shown, Image.Resampling.BICUBIC), (left, top))
    draw_interface(ImageDraw.Draw(canvas), rng, screen, size, (left, top, left + shown[0], top + shown[1]))
    step = {
        "edit": "screenshot",
        "screen": screen.name,
        "dark": screen.dark,
        "size": size,
        "photo_share": rounded(shown[0] * shown[1] / (size[0] * size[1])),
        "photo_at": (left, top, left + shown[0], top + shown[1]),
    }
    return copy.then(canvas, step)


# --- turn, resize, save ---------------------------------------------------------------------------------


def quarter_turn(rng: random.Random, copy: Copy) -> Copy:
    degrees = rng.choice((90, 180, 270))
    transpose = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    return copy.then(copy.image.transpose(transpose[degrees]), {"edit": "turn", "clockwise": degrees})


def mirror(rng: random.Random, copy: Copy) -> Copy:
    axis = "left-right" if rng.random() < 0.8 else "top-bottom"
    flip = Image.Transpose.FLIP_LEFT_RIGHT if axis == "left-right" else Image.Transpose.FLIP_TOP_BOTTOM
    return copy.then(copy.image.transpose(flip), {"edit": "mirror", "axis": axis})


def resize(rng: random.Random, copy: Copy) -> Copy:
    """Smaller or larger, and sometimes squashed by up to a fifth."""
    scale = rng.choice((rng.uniform(0.25, 0.9), rng.uniform(1.1, 1.6)))
    squash = rng.uniform(0.8, 1.2) if rng.random() < 0.3 else 1.0
    width, height = copy.image.size
    size = (max(1, round(width * scale * squash)), max(1, round(height * scale)))
    resample = rng.choice((Image.Resampling.LANCZOS, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC))
    step = {"edit": "resize", "scale": rounded(scale), "squash": rounded(squash), "resample": resample.name}
    return copy.then(copy.image.resize(size, resample), step)


def thumbnail(rng: random.Random, copy: Copy) -> Copy:
    longest = rng.randrange(64, 161)
    width, height = copy.image.size
    factor = longest / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return copy.then(copy.image.resize(size, Image.Resampling.LANCZOS), {"edit": "thumbnail", "longest": longest})


def recompress(rng: random.Random, copy: Copy) -> Copy:
    quality = rng.randrange(10, 31)
    step = {"edit": "recompress", "quality": quality}
    return replace(copy.then(copy.image, step), save_as=("JPEG", {"quality": quality}))


def convert(rng: random.Random, copy: Copy) -> Copy:
    image_format = rng.choice(FORMATS)
    options: dict[str, object] = {}
    if image_format in ("JPEG", "WEBP", "HEIF"):
        options["quality"] = rng.randrange(50, 96)
    return replace(
        copy.then(copy.image, {"edit": "format", "to": image_format, **options}), save_as=(image_format, options)
    )


# Families in the order their steps apply when combined. The first seven change what is shown.
FAMILIES: dict[str, Step] = {
    "crop": crop,
    "straighten": straighten,
    "caption": caption,
    "overlay-text": overlay_text,
    "watermark": watermark,
    "filter": colour_filter,
    "noise": noise,
    "border": border,
    "screenshot": screenshot,
    "thumbnail": thumbnail,
    "turn": quarter_turn,
    "mirror": mirror,
    "resize": resize,
    "recompress": recompress,
    "format": convert,
}
COMBINED = "combined"
# What a combined edit draws from: at most one edit of each stage, in this order.
STAGES = (
    ("crop", "straighten"),
    ("caption", "overlay-text", "watermark"),
    ("filter", "noise"),
    ("border", "screenshot"),
    ("turn", "mirror"),
    ("resize", "thumbnail"),
    ("recompress", "format"),
)


@dataclass
class Drawn:
    family: str
    data: bytes
    suffix: str
    box: Box
    steps: list[dict[str, object]] = field(default_factory=list)


def combined_steps(rng: random.Random) -> list[str]:
    """Two to four edits from different stages, at least one of them changing what is shown. Never a
    thumbnail of a screenshot: the photo would be a few dozen pixels, not what anyone keeps."""
    while True:
        stages = rng.sample(range(len(STAGES)), rng.randrange(2, 5))
        names = [rng.choice(STAGES[stage]) for stage in sorted(stages)]
        if min(stages) <= 3 and not {"screenshot", "thumbnail"} <= set(names):
            return names


def make_copy(original: edits.Original, family: str, rng: random.Random) -> Drawn:
    names = combined_steps(rng) if family == COMBINED else [family]
    copy = Copy(original.image)
    for name in names:
        copy = FAMILIES[name](rng, copy)
    if copy.save_as is None:
        data, suffix = edits.encode_like(original, copy.image)
    else:
        data, suffix = edits.encode(copy.image, copy.save_as[0], **copy.save_as[1])
    return Drawn(family, data, suffix, copy.box, list(copy.steps))


def deal_families(
    originals: int, seed: int, low: int = 8, high: int = 12, deck_name: str = "families"
) -> list[list[str]]:
    """Families for each original's copies: every family about as often across the collection, one or two
    combined edits per original, no family twice for one original while others remain. Decks of other
    names are shuffled apart."""
    rng = random.Random(f"{deck_name}\0{seed}")
    counts = [rng.randrange(low, high + 1) for _ in range(originals)]
    deck: list[str] = []
    dealt = []
    for count in counts:
        combined = rng.choice((1, 2))
        hand: list[str] = []
        for _ in range(count - combined):
            if not deck:
                deck = list(FAMILIES)
                rng.shuffle(deck)
            pick = next((family for family in deck if family not in hand), deck[0])
            deck.remove(pick)
            hand.append(pick)
        dealt.append(hand + [COMBINED] * combined)
    return dealt
