"""Look-alikes that are different pictures: made from real photos, they share most pixels but show a
different moment, so no tool may group them.

- burst: frames made from one photo, each with a part of the picture moved (a patch pasted elsewhere, or a
  region's content shifted) and the camera shifted a little. The photo itself is left out of the collection:
  its first frame would be a crop of it.
- next frame: the same made from an original, which stays in the collection with its copies.
- backdrop: the centres of different photos on one plain white or black canvas, at the same place and size,
  as product shots on a studio background or objects on a dark field.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

ATTEMPTS = 20
VISIBLE_CHANGE = 12  # mean grey levels over the moved part, what an eye sees at once
Region = tuple[int, int, int, int]


@dataclass(frozen=True)
class Frame:
    data: bytes
    steps: dict[str, object]


def jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def random_region(rng: random.Random, size: tuple[int, int]) -> Region:
    width, height = size
    region_w, region_h = round(rng.uniform(0.15, 0.35) * width), round(rng.uniform(0.15, 0.35) * height)
    left, top = rng.randrange(width - region_w + 1), rng.randrange(height - region_h + 1)
    return (left, top, left + region_w, top + region_h)


def offset(rng: random.Random, size: tuple[int, int], region: Region) -> tuple[int, int]:
    """A move of 4-12 % of the frame that keeps the region inside it."""
    width, height = size
    while True:
        dx = round(rng.choice((-1, 1)) * rng.uniform(0.04, 0.12) * width)
        dy = round(rng.uniform(-0.12, 0.12) * height)
        if region[0] + dx >= 0 and region[2] + dx <= width and region[1] + dy >= 0 and region[3] + dy <= height:
            return dx, dy


def moved(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, object]]:
    """The picture with one part moved: a patch pasted elsewhere, or a region showing what was beside it.
    A move that changes nothing to see (sky over sky) would make a true copy: drawn again."""
    for _ in range(ATTEMPTS):
        region = random_region(rng, image.size)
        dx, dy = offset(rng, image.size, region)
        shifted = (region[0] + dx, region[1] + dy, region[2] + dx, region[3] + dy)
        frame = image.copy()
        mode = rng.choice(("paste", "shift"))
        if mode == "paste":
            frame.paste(image.crop(region), shifted[:2])
        else:
            frame.paste(image.crop(shifted), region[:2])
        changed = shifted if mode == "paste" else region
        change = float(
            np.abs(np.asarray(frame.crop(changed), np.int16) - np.asarray(image.crop(changed), np.int16)).mean()
        )
        if change >= VISIBLE_CHANGE:
            break
    return frame, {"moved": mode, "region": region, "by": (dx, dy), "change": round(change, 1)}


def shot(picture: Image.Image, steps: dict[str, object], window: tuple[int, int], rng: random.Random) -> Frame:
    """What the camera saw of the scene: a window at a position of its own (the camera shifted), as a JPEG
    of the scene's full size, as a camera writes every frame."""
    width, height = picture.size
    left, top = rng.randrange(width - window[0] + 1), rng.randrange(height - window[1] + 1)
    cut = picture.crop((left, top, left + window[0], top + window[1])).resize(picture.size, Image.Resampling.BICUBIC)
    quality = rng.randrange(85, 96)
    return Frame(jpeg(cut, quality), {**steps, "camera_at": (left, top), "window": window, "quality": quality})


def camera_window(size: tuple[int, int], rng: random.Random) -> tuple[int, int]:
    margin = rng.uniform(0.02, 0.05)
    return round(size[0] * (1 - margin)), round(size[1] * (1 - margin))


def burst(image: Image.Image, rng: random.Random) -> list[Frame]:
    """Two or three frames of one shot a moment apart."""
    window = camera_window(image.size, rng)
    frames = [shot(image, {"moved": "nothing"}, window, rng)]  # the first frame keeps the scene as it is
    frames += [shot(*moved(image, rng), window, rng) for _ in range(rng.choice((1, 2)))]
    return frames


def next_frame(image: Image.Image, rng: random.Random) -> Frame:
    """The frame after a photo: a part of it moved and the camera shifted."""
    return shot(*moved(image, rng), camera_window(image.size, rng), rng)


def backdrop(images: list[Image.Image], rng: random.Random) -> list[Frame]:
    """Each photo's centre on the same plain canvas, at the same place and size."""
    colour = rng.choice(((255, 255, 255), (0, 0, 0), (245, 245, 245), (8, 8, 8)))
    canvas_size = rng.choice(((800, 800), (1000, 750), (750, 1000)))
    share = rng.uniform(0.35, 0.6)
    place_size = (round(canvas_size[0] * share), round(canvas_size[1] * share))
    at = (rng.randrange(canvas_size[0] - place_size[0]), rng.randrange(canvas_size[1] - place_size[1]))
    centre = rng.uniform(0.5, 0.8)
    frames = []
    for image in images:
        width, height = image.size
        cut_w, cut_h = width * centre, height * centre
        box = ((width - cut_w) / 2, (height - cut_h) / 2, (width + cut_w) / 2, (height + cut_h) / 2)
        canvas = Image.new("RGB", canvas_size, colour)
        canvas.paste(image.crop(tuple(round(v) for v in box)).resize(place_size, Image.Resampling.LANCZOS), at)
        frames.append(
            Frame(
                jpeg(canvas, 92),
                {"canvas": canvas_size, "colour": colour, "at": at, "size": place_size, "centre": round(centre, 4)},
            )
        )
    return frames
