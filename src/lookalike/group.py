"""Stage 7, group: gather confirmed matches into groups, choose a keeper, say how each member relates to it.

Guarantees:
- every member of a group matches the group's keeper directly (confirmed on the pixels), never only through a
  chain of other members: a~b and b~c with a≁c never put a and c in one group;
- each file is in at most one group, and a group has at least two files;
- `exact` groups hold byte-identical files only; `near` groups hold at least two different contents;
- the keeper is the file with the most pixels, then the largest file, then the oldest, then the first path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass

import numpy as np

from lookalike.images import ImageTable
from lookalike.signatures import INVERSE, ORIENTATIONS
from lookalike.verify import Candidate, Evidence, compare
from lookalike.walk import FileRecord

KEEPER = "keeper"
SAME_BYTES = "bytes"
SAME_PIXELS = "pixels"
NEAR = "near"


@dataclass(frozen=True, slots=True)
class Member:
    file: int  # index into the scan's files
    match: str  # KEEPER, SAME_BYTES, SAME_PIXELS or NEAR
    relation: str  # in words, relative to the keeper
    distance: float  # perceptual hash bits apart from the keeper, in the best orientation (RMS: --method histogram)


@dataclass(frozen=True, slots=True)
class Group:
    kind: str  # "exact" or "near"
    members: tuple[Member, ...]  # the keeper first

    @property
    def keeper(self) -> int:
        return self.members[0].file


@dataclass(frozen=True, slots=True)
class Match:
    """A confirmed candidate: image b is image a in `orientation`."""

    candidate: Candidate
    evidence: Evidence


def build_groups(
    files: Sequence[FileRecord],
    image_of_file: Sequence[int],
    images: ImageTable,
    matches: Iterable[Match],
    apart: Set[tuple[int, int]] = frozenset(),
) -> list[Group]:
    """Groups of files that are the same picture; `image_of_file[f]` is file f's row in `images`.

    `apart` holds pairs of rows (lower, higher) a person said are different pictures: never grouped together.
    """
    files_of_image: dict[int, list[int]] = defaultdict(list)
    for file, image in enumerate(image_of_file):
        files_of_image[image].append(file)
    links = _links(matches)
    rank = keeper_rank(files, image_of_file, images)
    groups: list[Group] = []
    for component in _components(files_of_image, links):
        groups.extend(_split_at_keepers(component, files_of_image, image_of_file, links, images, rank, apart))
    groups.sort(key=lambda group: files[group.keeper].path)
    return groups


def _links(matches: Iterable[Match]) -> dict[int, dict[int, Match]]:
    links: dict[int, dict[int, Match]] = defaultdict(dict)
    for match in matches:
        links[match.candidate.a][match.candidate.b] = match
        links[match.candidate.b][match.candidate.a] = match
    return links


def _components(files_of_image: dict[int, list[int]], links: dict[int, dict[int, Match]]) -> Iterable[set[int]]:
    """Connected sets of images worth grouping: linked to another image, or held by several files."""
    seen: set[int] = set()
    for start in sorted(files_of_image):
        if start in seen or (start not in links and len(files_of_image[start]) < 2):
            continue
        component, frontier = {start}, [start]
        while frontier:
            for neighbour in links.get(frontier.pop(), ()):
                if neighbour not in component:
                    component.add(neighbour)
                    frontier.append(neighbour)
        seen |= component
        yield component


def _split_at_keepers(
    component: set[int],
    files_of_image: dict[int, list[int]],
    image_of_file: Sequence[int],
    links: dict[int, dict[int, Match]],
    images: ImageTable,
    rank: Callable[[int], tuple],
    apart: Set[tuple[int, int]],
) -> Iterable[Group]:
    """Take the best keeper, keep the images that match it directly, and start over with the rest."""
    remaining = set(component)
    while remaining:
        keeper_file = max((f for image in remaining for f in files_of_image[image]), key=rank)
        keeper_image = image_of_file[keeper_file]
        members = [Member(keeper_file, KEEPER, "", 0)]
        members += [Member(f, SAME_BYTES, "identical bytes", 0)
                    for f in sorted(files_of_image[keeper_image]) if f != keeper_file]
        remaining.discard(keeper_image)
        for image in sorted(remaining):
            if (min(keeper_image, image), max(keeper_image, image)) in apart:
                continue
            relation = _relate(keeper_image, image, links, images)
            if relation is not None:
                remaining.discard(image)
                members += [Member(f, *relation) for f in sorted(files_of_image[image])]
        if len(members) > 1:
            kind = "exact" if all(m.match in (KEEPER, SAME_BYTES) for m in members) else "near"
            yield Group(kind, tuple(members))
        remaining = _still_linked(remaining, links, files_of_image)


def _still_linked(
    remaining: set[int], links: dict[int, dict[int, Match]], files_of_image: dict[int, list[int]]
) -> set[int]:
    """The images left that can still form a group: linked to another one left, or held by several files."""
    return {image for image in remaining
            if len(files_of_image[image]) > 1 or any(other in remaining for other in links.get(image, ()))}


def _relate(
    keeper: int, image: int, links: dict[int, dict[int, Match]], images: ImageTable
) -> tuple[str, str, int] | None:
    """(match, relation, distance) of `image` to `keeper`, or None when they are not the same picture."""
    if images.pixel_hash[keeper] == images.pixel_hash[image]:
        return SAME_PIXELS, describe_same_pixels(images, keeper, image), 0
    orientation, distance = _orientation_from(keeper, image, links, images)
    evidence = compare(images.thumbs[keeper], images.thumbs[image], orientation)
    if not evidence.confirmed:
        return None
    return NEAR, describe_edit(images, keeper, image, orientation), distance


def _orientation_from(
    keeper: int, image: int, links: dict[int, dict[int, Match]], images: ImageTable
) -> tuple[int, int]:
    """The orientation that turns keeper into image, and the hash distance in it."""
    match = links.get(keeper, {}).get(image)
    if match is not None:
        candidate = match.candidate
        if candidate.a == keeper:
            return candidate.orientation, candidate.distance
        return INVERSE[candidate.orientation], candidate.distance
    distances = np.bitwise_count(images.hashes[keeper] ^ images.hashes[image][0])
    orientation = int(np.argmin(distances))
    return orientation, int(distances[orientation])


def keeper_rank(
    files: Sequence[FileRecord], image_of_file: Sequence[int], images: ImageTable
) -> Callable[[int], tuple]:
    def rank(file: int) -> tuple:
        image = image_of_file[file]
        record = files[file]
        pixels = int(images.width[image]) * int(images.height[image])
        return pixels, record.size, -record.mtime_ns, _reversed(record.path)

    return rank


def _reversed(path: str) -> tuple[int, ...]:
    """A key under which the alphabetically first path ranks highest."""
    return tuple(-ord(character) for character in path)


def describe_same_pixels(images: ImageTable, keeper: int, image: int) -> str:
    if images.format[keeper] != images.format[image]:
        return f"same pixels, converted to {images.format[image]}"
    return "same pixels, different metadata"


def describe_edit(images: ImageTable, keeper: int, image: int, orientation: int) -> str:
    """The edits that turn the keeper into `image`, in words, most telling first."""
    parts = [ORIENTATIONS[orientation].name]
    parts.append(_describe_scale(images, keeper, image, orientation))
    if images.format[keeper] != images.format[image]:
        parts.append(f"converted to {images.format[image]}")
    parts.extend(_describe_tone(images.thumbs[keeper], images.thumbs[image]))
    parts = [part for part in parts if part]
    return ", ".join(parts) if parts else "recompressed"


def _describe_scale(images: ImageTable, keeper: int, image: int, orientation: int) -> str:
    keeper_width, keeper_height = int(images.width[keeper]), int(images.height[keeper])
    if ORIENTATIONS[orientation].transpose:
        keeper_width, keeper_height = keeper_height, keeper_width
    width_ratio = int(images.width[image]) / keeper_width
    height_ratio = int(images.height[image]) / keeper_height
    if abs(width_ratio / height_ratio - 1) > 0.03:
        return f"resized to {width_ratio:.0%} × {height_ratio:.0%} (aspect ratio changed)".replace("%", " %")
    side = (width_ratio * height_ratio) ** 0.5
    if abs(side - 1) < 0.015:
        return ""
    word = "resized" if side < 1 else "enlarged"
    return f"{word} to {side * 100:.0f} %"


def _describe_tone(keeper: np.ndarray, image: np.ndarray) -> list[str]:
    keeper_pixels = keeper.astype(np.float32)
    image_pixels = image.astype(np.float32)
    words = []
    if _colourfulness(image_pixels) < 2 and _colourfulness(keeper_pixels) >= 8:
        words.append("grayscale")
    brightness = image_pixels.mean() - keeper_pixels.mean()
    if abs(brightness) > 12:
        words.append("brighter" if brightness > 0 else "darker")
    contrast = (image_pixels.std() + 1) / (keeper_pixels.std() + 1)
    if abs(np.log(contrast)) > 0.15:
        words.append("more contrast" if contrast > 1 else "less contrast")
    return words


def _colourfulness(pixels: np.ndarray) -> float:
    """Mean distance of each pixel from its own grey: 0 for a grey image."""
    return float(np.abs(pixels - pixels.mean(axis=-1, keepdims=True)).mean())
