"""Companions: the files that belong with an image, recognised by the names photo software gives them.

Beside an image `IMG_1234.EXT` in the same folder, names compared case-insensitively:

    kind                 names                                        written by
    XMP sidecar          IMG_1234.xmp, IMG_1234.EXT.xmp               Lightroom, Capture One (the first), darktable,
                                                                      digiKam (the second)
    Apple edits          IMG_1234.AAE                                 Apple Photos exports
    Live Photo motion    IMG_1234.MOV, beside a HEIC, HEIF or JPEG    iPhone
    Takeout metadata     IMG_1234.EXT.json,                           Google Takeout (which cuts long names short:
                         IMG_1234.EXT.supplemental-metadata.json      any start of "supplemental-metadata" counts)
    RAW+JPEG pair        IMG_1234.CR2 (any RAW) beside IMG_1234.JPG   cameras shooting RAW+JPEG
                         and the other way round

A companion goes wherever its image goes (moved, trashed, deleted; it stays beside an image replaced by a
link), unless another image it belongs to stays: `IMG_1234.xmp` beside `IMG_1234.CR2` and `IMG_1234.JPG`
belongs to both. The other half of a RAW+JPEG pair is listed but never carried: it is an image of its own,
with its own fate. None of these files is an image, so the walk passes them over (neither images nor errors).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from lookalike.stages.exact import hash_file
from lookalike.stages.formats import IMAGE_EXTENSIONS, RAW_EXTENSIONS, extension_of
from lookalike.stages.keep import Companion

XMP, AAE, LIVE, TAKEOUT, PAIR = "XMP sidecar", "Apple edits", "Live Photo motion", "Takeout metadata", "RAW+JPEG pair"
KINDS = (XMP, AAE, LIVE, TAKEOUT, PAIR)
CARRIED = (XMP, AAE, LIVE, TAKEOUT)  # those that go with their image
LIVE_PHOTO_EXTENSIONS = (".heic", ".heif", ".jpg", ".jpeg")
JPEG_EXTENSIONS = (".jpg", ".jpeg")
SUPPLEMENTAL = "supplemental-metadata"


class Listing:
    """A folder's names, found by their lower case: each image's companions looked up, not searched for."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names: dict[str, list[str]] = defaultdict(list)
        for name in names:
            self.names[name.lower()].append(name)


def names_of(image: str, listing: Iterable[str] | Listing) -> dict[str, str]:
    """The companions of the image named `image` among the names of its folder: name → kind."""
    listed = listing if isinstance(listing, Listing) else Listing(listing)
    stem, extension = os.path.splitext(image)
    stem, whole, extension = stem.lower(), image.lower(), extension.lower()
    wanted = {f"{stem}.xmp": XMP, f"{whole}.xmp": XMP, f"{stem}.aae": AAE, f"{whole}.json": TAKEOUT}
    if extension in LIVE_PHOTO_EXTENSIONS:
        wanted[f"{stem}.mov"] = LIVE
    wanted.update((f"{stem}{partner}", PAIR) for partner in _pair_partners(extension))
    # `IMG.jpg.supplemental-metadata.json`, or Takeout's cut of it to three letters or more
    wanted.update((f"{whole}.{SUPPLEMENTAL[:length]}.json", TAKEOUT) for length in range(3, len(SUPPLEMENTAL) + 1))
    return {name: kind for lower, kind in wanted.items() if lower != whole for name in listed.names.get(lower, ())}


def _pair_partners(extension: str) -> Iterable[str]:
    """The extensions of the other half of a RAW+JPEG pair whose one half has `extension`."""
    if extension in RAW_EXTENSIONS:
        return JPEG_EXTENSIONS
    return RAW_EXTENSIONS if extension in JPEG_EXTENSIONS else ()


def find(images: Iterable[str]) -> dict[str, tuple[Companion, ...]]:
    """The companions of each of these image files (absolute paths), each folder listed once, each companion
    hashed once. Folders that cannot be listed and companions that cannot be read give none."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in images:
        by_folder[os.path.dirname(path)].append(path)
    found: dict[str, tuple[Companion, ...]] = {}
    for folder, paths in by_folder.items():
        try:
            listing = Listing(os.listdir(folder))
        except OSError:
            continue
        claims = _claims(folder, listing)
        for path in paths:
            found[path] = tuple(companion for companion in (
                _companion(folder, name, kind, claims[name] - {path})
                for name, kind in names_of(os.path.basename(path), listing).items()) if companion is not None)
    return found


def _claims(folder: str, listing: Listing) -> dict[str, set[str]]:
    """Every image of the folder (by its name) that each companion name belongs to."""
    claims: dict[str, set[str]] = defaultdict(set)
    for name in (name for names in listing.names.values() for name in names):
        if extension_of(name) in IMAGE_EXTENSIONS:
            for companion in names_of(name, listing):
                claims[companion].add(os.path.join(folder, name))
    return claims


def _companion(folder: str, name: str, kind: str, others: set[str]) -> Companion | None:
    path = os.path.join(folder, name)
    try:
        found = os.lstat(path)
        if not os.path.isfile(path) or os.path.islink(path):
            return None
        digest = hash_file(path).hex() if kind in CARRIED else ""  # a RAW+JPEG partner is never moved
        return Companion(path, kind, found.st_size, found.st_mtime_ns, digest, tuple(sorted(others)))
    except OSError:
        return None
