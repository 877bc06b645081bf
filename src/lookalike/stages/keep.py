"""Keep rules: which member of a group stays where it is, and why.

The default rule, used by the scan to choose each group's keeper, prefers in turn:
1. the copy the others are derived from: the most pixels of picture, where a copy that is an enlargement of
   another (more pixels, far less detail for its scale, `decode.detail`), has noise added (grain on the flat
   parts another copy of no more pixels has flat, `decode.grain`) or is marked `derived` (a crop, overlay or
   screenshot of another member) counts as no more than what it was made from;
2. the least recompressed: the highest JPEG quality (estimated from the quantisation tables); a losslessly
   stored picture ranks above any JPEG, a WebP, HEIC or AVIF as a JPEG of quality 75, a lossless file with
   the same pixels as a lossy one as that one (it was converted from it: nothing lost, nothing gained), a
   JPEG re-saved from another member's JPEG or converted from its WebP, HEIC or AVIF just below that one,
   and a WebP, HEIC or AVIF that may have been saved from a member's JPEG of its size just below the lowest
   such (`requantized.saved_from_jpegs`);
3. the camera's metadata (date taken, camera, GPS position), then companions (sidecars, Live Photo motion);
4. the oldest file (a copy is made after its original), then the largest, then the first path.

Rules given by a person chain: the first rule decides, the next one breaks its ties, and so on; files in a
reference folder win before any rule, and the order of the report (its keeper first) breaks the ties that
remain, so with no rule the report's keeper stays.

    best  most-detail  best-quality  most-metadata  most-pixels  largest-file  oldest  newest  shortest-path
    path:GLOB  format:NAME
"""

from __future__ import annotations

import bisect
import fnmatch
import math
import os
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lookalike.stages.formats import RAW_EXTENSIONS

ENLARGED_AREA = 1.2  # a copy with at least this many times another's pixels may be an enlargement of it
ENLARGED_MAX_AREA = 16.0  # ... and at most this many (a thumbnail has more detail a pixel than any photo)
ENLARGED_DETAIL = 0.9  # ... and is, when its detail is below this fraction of the other's over the scale ** 1.5
# (a reduction of a photo keeps about as much detail a pixel; an enlargement loses it the faster the larger)
DETAIL_PER_AREA = 0.75  # that is, over the area ratio ** 0.75
ENLARGED_ASPECT = 1.15  # frames whose shapes (width / height) differ by less than this factor or so are alike
GRAIN_RATIO = 2.0  # a copy has noise added when its grain is above this many times another's of no more pixels
GRAIN_MARGIN = 2.0  # ... plus this many grey levels (flat parts that are only nearly flat differ by less)
SAME_SIZE = 0.02  # pixel counts this close (relative) are the same size: a border's rounding, not a resize
LOSSLESS_QUALITY = 101  # ranks a losslessly stored picture above any JPEG quality
LOSSY_CODEC_QUALITY = 75  # a WebP, HEIC or AVIF, whose quality is not estimated: ranked as a JPEG of the codecs'
# usual default quality, so that a lossy conversion does not outrank the JPEG it was made from
LOSSY_CODECS = frozenset({"WEBP", "HEIC", "HEIF", "AVIF"})


@dataclass(frozen=True, slots=True)
class Companion:
    """A file that belongs with an image: a sidecar, a Live Photo's motion, a Takeout record, a RAW's JPEG."""

    path: str
    kind: str  # one of companions.KINDS
    size: int
    mtime_ns: int
    content_hash: str  # hex, as `exact.hash_file`
    shared_with: tuple[str, ...] = ()  # the other images it belongs to (one XMP for IMG.CR2 and IMG.JPG)


@dataclass(frozen=True, slots=True)
class Earlier:
    """What a JPEG was saved from, as its coefficients show (`requantized`)."""

    quality: int | None = None  # the lowest quality of another member's JPEG whose coarser table it carries
    converted_from: str | None = None  # the format of another member's lossy file whose pixels it rounds


@dataclass(frozen=True, slots=True)
class Scanned:
    """A file as the scan saw it: enough to recognise it later, to rank it, and to carry what belongs with it."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str  # hex `exact.content_hash` of the bytes, as `lookalike.stages.exact.hash_file`
    width: int
    height: int
    format: str
    pixels: int = 0  # of picture, inside any uniform border; 0: width × height
    quality: int | None = None  # JPEG quality, see `decode.jpeg_quality`
    detail: float | None = None  # see `decode.detail`
    taken: str | None = None
    camera: str | None = None
    gps: str | None = None
    companions: tuple[Companion, ...] = field(default=())
    derived: bool = False  # a crop, overlay or screenshot of another member (a relation flag)
    grain: float | None = None  # see `decode.grain`
    pixel_hash: str = ""  # hex hash of the decoded pixels; "" unknown
    earlier_quality: int | None = None  # re-saved (a JPEG) or saved (a WebP, HEIC, AVIF) from another's JPEG of this
    # quality, at the lowest (`requantized`)
    converted_from: str | None = None  # a JPEG converted from another's file of this format (`requantized`)

    @property
    def picture_pixels(self) -> int:
        return self.pixels or self.width * self.height

    @property
    def metadata(self) -> tuple[str, ...]:
        """Which of the camera's metadata the file has."""
        present = (("date taken", self.taken), ("camera", self.camera), ("GPS position", self.gps))
        return tuple(name for name, value in present if value)


KeepRule = Callable[[Sequence[Scanned]], list]  # each file's key: lower sorts first, the better keeper


def _each(key: Callable[[Scanned], object]) -> KeepRule:
    return lambda files: [key(file) for file in files]


def enlargements(files: Sequence[Scanned]) -> list[bool]:
    """Whether each file is an enlargement of another of about its shape (ENLARGED_ASPECT: a crop's detail a
    pixel is that of the part it keeps): ENLARGED_AREA to ENLARGED_MAX_AREA times its pixels, and less detail
    than ENLARGED_DETAIL times the other's over the area ratio ** DETAIL_PER_AREA; for a file with grain, not of
    one whose flattest parts are perfectly flat (grain 0: a screen's interface, a border), whose lettering and
    edges are no detail of the picture. Files sorted by pixels, with a sliding maximum of detail × pixels **
    DETAIL_PER_AREA of those in range for each band of shapes, so that a group of thousands is not compared pair
    by pair."""
    order = sorted(range(len(files)), key=lambda i: files[i].picture_pixels)
    weighed = [None if file.detail is None else file.detail * file.picture_pixels ** DETAIL_PER_AREA
               for file in files]
    shape = [_shape(file.width, file.height) for file in files]
    textured = [file.grain is not None and file.grain > 0 for file in files]
    found = [False] * len(files)
    windows: defaultdict[tuple[bool, int], deque[int]] = defaultdict(deque)  # by (of a textured file, shape):
    # files, their weighed details decreasing
    added = 0
    for i in order:
        pixels = files[i].picture_pixels
        while added < len(order) and files[order[added]].picture_pixels * ENLARGED_AREA <= pixels:
            j = order[added]
            if weighed[j] is not None:
                for of_textured in (False, True) if files[j].grain != 0 else (False,):
                    _push(windows[of_textured, shape[j]], j, weighed)
            added += 1
        most = 0.0
        for band in (shape[i] - 1, shape[i], shape[i] + 1):
            window = windows[textured[i], band]
            while window and files[window[0]].picture_pixels * ENLARGED_MAX_AREA < pixels:
                window.popleft()
            most = max(most, weighed[window[0]] if window else 0.0)
        found[i] = weighed[i] is not None and weighed[i] < ENLARGED_DETAIL * most
    return found


def _push(window: deque[int], j: int, weighed: Sequence[float | None]) -> None:
    """File j into a sliding-maximum window of weighed details, those it outweighs dropped."""
    while window and weighed[window[-1]] <= weighed[j]:
        window.pop()
    window.append(j)


def to_measure(pixels: Sequence[int], widths: Sequence[int], heights: Sequence[int], measured: Sequence[bool],
               lossless: Sequence[bool]) -> list[int]:
    """Of copies of one picture (pixels of picture, frame sizes), the unmeasured ones (no `detail`, nor a pixel
    hash of their full size) that the rule weighs against another: one that `enlargements` would (of about its
    shape, ENLARGED_AREA to ENLARGED_MAX_AREA times its pixels or the other way round), or a `lossless` one of its
    frame size, which may hold its pixels (`_qualities`). By shape, then pixels, so that thousands are not
    compared pair by pair."""
    shapes: defaultdict[int, list[int]] = defaultdict(list)
    for i, (width, height) in enumerate(zip(widths, heights, strict=True)):
        shapes[_shape(width, height)].append(pixels[i])
    for band in shapes.values():
        band.sort()
    lossless_frames = Counter((min(w, h), max(w, h)) for w, h, free in zip(widths, heights, lossless, strict=True)
                              if free)

    def has_partner(i: int) -> bool:
        frame = (min(widths[i], heights[i]), max(widths[i], heights[i]))
        if lossless_frames[frame] > lossless[i]:
            return True
        for band in (shapes.get(_shape(widths[i], heights[i]) + step, []) for step in (-1, 0, 1)):
            for low, high in ((pixels[i] * ENLARGED_AREA, pixels[i] * ENLARGED_MAX_AREA),
                              (pixels[i] / ENLARGED_MAX_AREA, pixels[i] / ENLARGED_AREA)):
                if bisect.bisect_left(band, low) < bisect.bisect_right(band, high):
                    return True
        return False

    return [i for i in range(len(pixels)) if not measured[i] and has_partner(i)]


def _shape(width: int, height: int) -> int:
    """Frames whose shapes differ by less than ENLARGED_ASPECT or so share this number, or have the next."""
    return round(math.log(max(width, 1) / max(height, 1)) / math.log(ENLARGED_ASPECT))


def grainy(files: Sequence[Scanned]) -> list[bool]:
    """Whether each file has noise added: grain above GRAIN_RATIO times, plus GRAIN_MARGIN, the typical grain (the
    lower median) of the files with no more pixels. A smaller copy has, if anything, more grain a pixel than its
    original; a blurred or coarsely saved copy, or one whose flat parts are an added border, has less, and the
    median is not moved by a few of them. Files by pixels, the grains of those up to each kept sorted as they come:
    a group of thousands is not sorted once a file."""
    order = sorted(range(len(files)), key=lambda i: files[i].picture_pixels)
    found = [False] * len(files)
    grains: list[float] = []  # of the files with no more pixels than the one weighed, sorted
    start = 0
    for i in order:
        while start < len(order) and files[order[start]].picture_pixels <= files[i].picture_pixels * (1 + SAME_SIZE):
            if (grain := files[order[start]].grain) is not None:
                bisect.insort(grains, grain)
            start += 1
        typical = grains[(len(grains) - 1) // 2] if grains else math.inf
        found[i] = files[i].grain is not None and files[i].grain > GRAIN_RATIO * typical + GRAIN_MARGIN
    return found


def _original_pixels(files: Sequence[Scanned]) -> list:
    """Criterion 1: minus the pixels each copy truly holds (an enlarged, noisy or derived one: none it adds), in
    SAME_SIZE steps. Files of one frame size (turned or not) hold as many as the one of them with the most: a
    border found in one and not in another (text laid over it, a filter) is no reason to prefer either."""
    enlarged, noisy = enlargements(files), grainy(files)
    most: dict[tuple[int, int], int] = {}
    for file in files:
        frame = _frame(file)
        most[frame] = max(most.get(frame, 0), file.picture_pixels)
    return [0 if enlarged[i] or noisy[i] or file.derived else -round(math.log(most[_frame(file)] or 1) / SAME_SIZE)
            for i, file in enumerate(files)]


def _frame(file: Scanned) -> tuple[int, int]:
    return min(file.width, file.height), max(file.width, file.height)


def _qualities(files: Sequence[Scanned]) -> list:
    """Criterion 2: minus each file's quality (`_quality`); a lossless file with the same pixels as a lossy one
    has the best such one's."""
    own = [_quality(file) for file in files]
    lossy: dict[str, int] = {}
    for file, quality in zip(files, own, strict=True):
        if file.pixel_hash and quality > -LOSSLESS_QUALITY:
            lossy[file.pixel_hash] = min(quality, lossy.get(file.pixel_hash, 0))
    return [lossy.get(file.pixel_hash, quality) if quality == -LOSSLESS_QUALITY else quality
            for file, quality in zip(files, own, strict=True)]


def _quality(file: Scanned) -> float:
    own = file.quality or (LOSSLESS_QUALITY if lossless(file.format, file.quality) else LOSSY_CODEC_QUALITY)
    converted = LOSSY_CODEC_QUALITY if file.converted_from is not None else None
    earlier = min((rank for rank in (file.earlier_quality, converted) if rank is not None), default=None)
    if earlier is not None:  # no better than what it was made from, nor than its own: just below it
        return 0.5 - min(earlier, own)
    return -own


def lossless(format_name: str, quality: int | None) -> bool:
    """Whether a file of this format and JPEG quality (None: not a JPEG) stores its picture losslessly."""
    return quality is None and format_name.upper() not in LOSSY_CODECS


def _metadata(file: Scanned) -> int:
    return -len(file.metadata)


def _companions(file: Scanned) -> int:
    return -len(file.companions)


# The keys of a file's own fields: of a Scanned, or of arrays of those fields, each file's key at once
def _oldest(file: Any) -> Any:
    return file.mtime_ns


def _largest(file: Any) -> Any:
    return -file.size


def _path(file: Any) -> Any:
    return file.path


FILE_RULES: tuple[tuple[Callable[[Any], Any], str], ...] = (
    (_oldest, "oldest"),
    (_largest, "largest-file"),
    (_path, "first-path"),
)  # the last rules of BEST: all that tells apart files of one content (PICTURE_RULES) with no companions
BEST: tuple[tuple[KeepRule, str], ...] = (
    (_original_pixels, "most-detail"),
    (_qualities, "best-quality"),
    (_each(_metadata), "most-metadata"),
    (_each(_companions), "most-companions"),
    *((_each(key), name) for key, name in FILE_RULES),
)


PICTURE_RULES = 3  # the first rules of BEST weigh what the bytes hold: files of one content tie on them


def best_keys(files: Sequence[Scanned]) -> list[tuple]:
    """Each file's key under the default rule: the lowest is the best keeper. Byte-identical files (one content
    hash) tie on the rules that weigh the picture: those are not worked out for them (a scan of 100,000 files
    may have tens of thousands of such groups)."""
    hashes = {file.content_hash for file in files}
    same_bytes = len(hashes) == 1 and "" not in hashes
    columns = [[0] * len(files) if same_bytes and number < PICTURE_RULES else rule(files)
               for number, (rule, _) in enumerate(BEST)]
    return list(zip(*columns, strict=True))


def best_first(files: Sequence[Scanned]) -> list[int]:
    """Indices of `files`, the best keeper first, under the default rule."""
    keys = best_keys(files)
    return sorted(range(len(files)), key=keys.__getitem__)


NAMED_RULES: dict[str, KeepRule] = {
    "best": best_keys,
    "most-detail": _original_pixels,
    "best-quality": _qualities,
    "most-metadata": _each(lambda file: (_metadata(file), _companions(file))),
    "most-pixels": _each(lambda file: -file.width * file.height),
    "largest-file": _each(_largest),
    "oldest": _each(_oldest),
    "newest": _each(lambda file: -file.mtime_ns),
    "shortest-path": _each(lambda file: len(os.fsencode(file.path))),
}


def parse_rules(text: str) -> list[KeepRule]:
    """`most-pixels,path:*/originals/*` → rules; a ValueError names what is not a rule."""
    return [_rule(part.strip()) for part in text.split(",") if part.strip()]


def names_a_format(text: str) -> bool:
    """Whether rules `text` choose by format (`format:RAW`): the person has said which of a RAW+JPEG pair stays."""
    return any(part.strip().startswith("format:") for part in text.split(","))


def _rule(name: str) -> KeepRule:
    if name in NAMED_RULES:
        return NAMED_RULES[name]
    kind, _, value = name.partition(":")
    if kind == "path" and value:
        return _each(lambda file: not fnmatch.fnmatchcase(file.path, value))
    if kind == "format" and value:
        return _each(lambda file: not _is_format(file.format, value))
    raise ValueError(f"unknown keep rule {name!r} (rules: {', '.join(NAMED_RULES)}, path:GLOB, format:NAME)")


RAW_NAME = "RAW"  # `format:RAW` names every camera RAW format


def _is_format(file_format: str, wanted: str) -> bool:
    if wanted.upper() == RAW_NAME:
        return file_format.upper() in RAW_EXTENSIONS.values()
    return file_format.lower() == wanted.lower()


def choose_keeper(files: Sequence[Scanned], rules: Sequence[KeepRule], is_reference: Callable[[str], bool]) -> int:
    """The index in `files` (in report order) of the file to keep."""
    columns = [rule(files) for rule in rules]
    return min(range(len(files)),
               key=lambda i: (not is_reference(files[i].path), *(column[i] for column in columns), i))


def keeper_reason(files: Sequence[Scanned], keeper: int) -> str:
    """Why `files[keeper]` is the best keeper under the default rule, against the runner-up, in words."""
    if len(files) < 2:
        return "the only copy"
    keys = best_keys(files)
    runner_up = min((i for i in range(len(files)) if i != keeper), key=keys.__getitem__)
    kept, other = files[keeper], files[runner_up]
    if keys[runner_up] < keys[keeper]:  # grouping kept the picture the others match, not the rule's first choice
        preferred = _reason(BEST[_first_difference(keys, runner_up, keeper)][1], other, kept, files)
        return (f"the picture the other copies match; the keep rule alone would keep "
                f"{os.path.basename(other.path)} ({preferred})")
    if keys[runner_up] == keys[keeper]:
        return ALL_TIED
    return _reason(BEST[_first_difference(keys, keeper, runner_up)][1], kept, other, files)


def _first_difference(keys: Sequence[tuple], a: int, b: int) -> int:
    """The first criterion of the default rule on which files a and b differ."""
    return next(criterion for criterion, (x, y) in enumerate(zip(keys[a], keys[b], strict=True)) if x != y)


def _stored(file: Scanned) -> str:
    """How a file's picture is stored, as criterion 2 weighs it: "JPEG quality 90", "a PNG"."""
    return f"{file.format} quality {file.quality}" if file.quality is not None else f"a {file.format}"


def _reason(criterion: str, kept: Scanned, other: Scanned, files: Sequence[Scanned]) -> str:
    if criterion == "most-detail":
        if any(enlargements(files)) and other.picture_pixels > kept.picture_pixels:
            return "the original: copies with more pixels are enlargements of it (less detail)"
        if any(grainy(files)) and other.picture_pixels >= kept.picture_pixels * (1 - SAME_SIZE):
            return "the original: copies with as many pixels have noise added (grain where it is flat)"
        return f"most pixels of picture ({kept.picture_pixels:,} against {other.picture_pixels:,})"
    if criterion == "best-quality":
        if other.earlier_quality is not None and other.quality is None:
            return (f"least recompressed ({_stored(kept)}; the other, a {other.format}, holds no more than a JPEG of "
                    f"its size of quality {other.earlier_quality}, which it may have been saved from)")
        if other.earlier_quality is not None:
            return (f"least recompressed (JPEG quality {kept.quality}; the other, of quality {other.quality}, "
                    f"was re-saved from a JPEG of quality {other.earlier_quality})")
        if other.converted_from is not None:
            return (f"least recompressed ({_stored(kept)}; the other, JPEG quality {other.quality}, was converted "
                    f"from a {other.converted_from})")
        if kept.format == other.format and kept.quality is not None and other.quality is not None:
            return f"least recompressed ({kept.format} quality {kept.quality} against {other.quality})"
        return f"least recompressed ({_stored(kept)} against {_stored(other)})"
    if criterion == "most-metadata":
        missing = [name for name in kept.metadata if name not in other.metadata]
        return f"has the camera's metadata ({', '.join(missing or kept.metadata)})"
    if criterion == "most-companions":
        return f"has its companions ({', '.join(sorted({c.kind for c in kept.companions}))})"
    return file_reason(criterion)


ALL_TIED = "identical to the others in every respect the rule weighs (the first path)"


def file_reason(criterion: str) -> str:
    """Why the keeper, where it differs from the runner-up first on `criterion`, one of FILE_RULES'."""
    return {"largest-file": "the largest file", "oldest": "the oldest file"}.get(criterion, "the first path")


def scanned_of_member(member: dict[str, Any]) -> Scanned:
    """A report member (`report` JSON) as a `Scanned`; KeyError, TypeError or ValueError when it is not one."""
    return Scanned(member["path"], int(member["size"]), int(member["mtime_ns"]), str(member["content_hash"]),
                   int(member["width"]), int(member["height"]), str(member["format"]), int(member.get("pixels", 0)),
                   member.get("quality"), member.get("detail"), member.get("taken"), member.get("camera"),
                   member.get("gps"), tuple(Companion(**{**c, "shared_with": tuple(c.get("shared_with", ()))})
                                            for c in member.get("companions", ())),
                   grain=member.get("grain"), pixel_hash=str(member.get("pixel_hash", "")),
                   earlier_quality=member.get("earlier_quality"), converted_from=member.get("converted_from"))
