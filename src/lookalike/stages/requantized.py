"""Re-saved JPEGs: which JPEG copy was decoded from another JPEG and saved again at a finer quality, or
converted from a WebP, HEIC or AVIF copy; and which such copy was saved from a JPEG.

A JPEG's luminance coefficients are multiples of its quantisation table's steps. When a JPEG is decoded and
saved again with finer steps, its coefficients stay near multiples of the earlier, coarser steps too: the
multiples of the new step that fall between them stay all but empty. A copy that shows this was made from a
JPEG with that table (or from one of its quality) and holds no more than that one, however fine its own table.
A copy mirrored or turned moves the earlier blocks off its own grid, by its sides' remainders of 8 pixels: the
DCT of blocks on that shifted grid still clusters at multiples of the earlier steps, blurred by the new save.

A JPEG converted from a lossy file of another codec holds that file's pixels rounded to its own steps: the DCT of
the other file's luminance lies within half a step of the JPEG's coefficients, spread evenly over that half. A
lossy file made from the JPEG lies close to the JPEG's coefficients too, but bunched near them (the JPEG's
lattice outlasts a fine save) or spread beyond half a step (a coarse one): neither reads as a conversion. A
lossy file bunched near a JPEG's lattice was saved from it; one that no JPEG of its size was converted from, and
that close ones were not converted from either, may have been saved from any of them, and holds no more.

Guarantees:
- evidence is looked for only between JPEGs of one picture size whose earlier blocks fall on their own grid or
  on one shifted as a mirror or a turn shifts it (re-saved, mirrored, turned, text laid on): a copy shifted
  otherwise (a band added above, a crop) shows none and is ranked as before; so does a copy whose own steps
  are no finer;
- a conversion is looked for only between a JPEG and a WebP, HEIC or AVIF of one stored size, matched, up to
  PARTNERS of them a JPEG, of thumbnails within THUMB_CLOSE: a turned, resized or filtered copy shows none; a
  lossy file that a JPEG was converted from is ranked below none but those it is bunched near;
- `lattice_file` and `conversions_file` (worker functions for `pool.decode_all`) read one JPEG, or a file and
  JPEGs; everything else is NumPy; a file they cannot read gives no evidence and no error: the scan
  read it once already.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

import numpy as np

from lookalike.stages.images import ImageTable
from lookalike.stages.keep import LOSSY_CODECS, Earlier
from lookalike.stages.signatures import grey
from lookalike.stages.verify import linked_sets
from lookalike.stages.walk import open_regular

POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (2, 1), (1, 2), (2, 2), (0, 3), (3, 0))  # low frequencies
_POSITION_ROWS = [8 * u + v for u, v in POSITIONS]  # their rows of the 2-D DCT's matrix
STEPS = 64  # multiples of a step counted: beyond, too few coefficients to tell
CARRIED = 0.5  # a copy carries a table when the steps it leaves out hold under this share of what is expected
EXPECTED_MIN = 20  # ... and at least this many coefficients were expected there
COARSER = 1.05  # an earlier step must be this much coarser than the copy's own to leave any multiple out
PERIODIC = 0.1  # ... or, on a shifted grid, when its coefficients' mean cosine of the earlier steps is above this
# (a photo saved once: 0.01 at most; copies mirrored or turned after one save: 0.16 to 0.57, on the dev split)
PERIODIC_ACROSS = 0.05  # ... on the grid shifted both ways (last of the SHIFTS), where an earlier block straddles
# four of the copy's, not two, and its lattice outlasts the new save half as well (dev: turned 180 degrees 0.072 to
# 0.6; not re-saved 0.037 at most)
PERIODIC_STEPS = 40  # steps up to this are looked at on shifted grids: coarser ones are left out
SHIFTS = 3  # shifted grids: by the width's remainder, the height's, or both
SAMPLED_BLOCKS = 4096  # blocks of a shifted grid looked at, spread over the picture
LATTICE_MAX_PIXELS = 50_000_000  # a larger JPEG is not decoded at full size for this: no evidence
_TABLE_END = 8 * 8 * 2  # bytes of a stored lattice: its table as uint16, its counts as int32, then its periodicity
_COUNTS_END = _TABLE_END + len(POSITIONS) * STEPS * 4
LATTICE_BYTES = _COUNTS_END + SHIFTS * len(POSITIONS) * (PERIODIC_STEPS + 1) * 2
CONVERTED_INSIDE = 0.94  # a JPEG converted from another file: this share of its coefficients within half a step
# of the other's (dev split: 0.946 to 1 when converted; 0.93 at most for a copy made alongside, of quality >= 75)
CONVERTED_SPREAD = 0.3  # ... of which this share beyond a quarter step: rounding spreads them evenly (0.5); a
# lossy copy made from the JPEG bunches them near its lattice (0.23 at most on the dev split)
CONVERTED_COMPARED = 1000  # coefficients compared at least: fewer tell nothing
MADE_FROM_DISTANCE = 8.0  # a lossy file this close (RMS grey levels) to a JPEG not converted from it may have been
# saved from it (dev split: saved from a JPEG 2 to 4.7, copies edited on top up to 7.9; other edits 12 and up)
CONVERTED_BLOCKS = 16384  # blocks compared at most, spread over the picture
PARTNERS = 4  # lossy files a JPEG is compared with at most: those of the closest thumbnails
THUMB_CLOSE = 1.5  # ... within this mean difference of their thumbnails' grey levels (converted: 0.1 to 1.2 on
# the dev split; a filtered copy's, 2 and up)
PATH_SEPARATOR = "\0"  # between the paths of a `conversions_file` item: no path holds it
JPEGS_A_READ = 8  # JPEGs compared with one other file in one `conversions_file` item at most
_DCT = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
                 for u in range(8)], np.float32)
_DCT_2D = np.kron(_DCT, _DCT)  # a flattened block's 2-D DCT, rows then columns


@dataclass(frozen=True, slots=True)
class Lattice:
    """A JPEG's luminance quantisation table; at each of POSITIONS, how many of its blocks hold each multiple
    1 .. STEPS - 1 of the step there (by size); and on each grid shifted as a mirror or a turn would shift an
    earlier one, the mean cosine of each step 0 .. PERIODIC_STEPS of the DCT coefficients there (0: not known)."""

    table: np.ndarray  # (8, 8) float64, in natural order
    counts: np.ndarray  # (len(POSITIONS), STEPS) int64; column 0 unused
    periodicity: np.ndarray  # (SHIFTS, len(POSITIONS), PERIODIC_STEPS + 1) float32

    def tobytes(self) -> bytes:
        return (self.table.astype(np.uint16).tobytes() + self.counts.astype(np.int32).tobytes()
                + self.periodicity.astype(np.float16).tobytes())

    @classmethod
    def frombytes(cls, blob: bytes) -> Lattice:
        table = np.frombuffer(blob[:_TABLE_END], np.uint16).reshape(8, 8).astype(np.float64)
        counts = np.frombuffer(blob[_TABLE_END:_COUNTS_END], np.int32).reshape(len(POSITIONS), STEPS)
        periodicity = np.frombuffer(blob[_COUNTS_END:], np.float16).reshape(SHIFTS, len(POSITIONS), -1)
        return cls(table, counts.astype(np.int64), periodicity.astype(np.float32))


@dataclass(frozen=True, slots=True)
class Conversion:
    """How a JPEG's coefficients lie around another file's: of `compared` (AC, of at least one step, where the
    step is 2 or more), the share within half a step of the other's DCT (`inside`), and of those the share
    beyond a quarter step (`spread`); and the RMS difference of the two (`distance`, grey levels)."""

    compared: int
    inside: float
    spread: float
    distance: float

    @property
    def converted(self) -> bool:
        """Whether the JPEG was converted from the other file: its coefficients round the other's."""
        return self._within_half_steps and self.spread >= CONVERTED_SPREAD

    @property
    def bunched(self) -> bool:
        """Whether the other file was saved from the JPEG: close to its coefficients, bunched near them."""
        return self._within_half_steps and self.spread < CONVERTED_SPREAD

    @property
    def _within_half_steps(self) -> bool:
        return self.compared >= CONVERTED_COMPARED and self.inside >= CONVERTED_INSIDE

    @property
    def apart(self) -> bool:
        """Whether the JPEG was not converted from the other file, though close to it: either may have been
        saved from the other, or both from a third."""
        return (self.compared >= CONVERTED_COMPARED and self.inside < CONVERTED_INSIDE
                and self.distance <= MADE_FROM_DISTANCE)


def lattice_file(path: str, max_pixels: int) -> Lattice | None:
    """The `Lattice` of the JPEG at `path`, from its luminance decoded at full size; None for a file that is no
    longer such a JPEG or is too large (a worker function for `pool.decode_all`: the scanning process never
    loads Pillow). Nothing is reported: without it the file is only ranked as before."""
    read = _jpeg_luma(path, max_pixels)
    if read is None:
        return None
    luma, table = read
    periodicity = np.zeros((SHIFTS, len(POSITIONS), PERIODIC_STEPS + 1), np.float32)
    for shift, (right, down) in enumerate(_shifts(luma.shape[1], luma.shape[0])):
        periodicity[shift] = _periodicity(_coefficients(luma[down:, right:], SAMPLED_BLOCKS))
    return Lattice(table, _counts(_low_frequencies(luma), table), periodicity)


def _jpeg_luma(path: str, max_pixels: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The luminance of the JPEG at `path` as its decoder reads it (not converted to RGB and back), and its
    luminance table; None when it is no JPEG, too large or unreadable."""
    from PIL import Image

    try:
        with open_regular(path) as handle, Image.open(io.BytesIO(handle.read())) as image:
            tables = getattr(image, "quantization", None)
            if not tables or image.width * image.height > min(max_pixels, LATTICE_MAX_PIXELS):
                return None
            image.draft("L", image.size)  # the decoder's own luminance: its chrominance is not even decoded
            return np.asarray(image.getchannel(0), np.float32), np.asarray(tables[0], np.float64).reshape(8, 8)
    except Exception:  # no evidence from this file; the scan goes on
        return None


def conversions_file(item: str, max_pixels: int) -> list[Conversion | None]:
    """The `Conversion` of each JPEG against another file, read at full size as stored: `item` holds the other
    file's path, then the JPEGs', joined by PATH_SEPARATOR (a worker function for `pool.decode_all`: the other
    file is decoded once). None for a JPEG when either cannot be read, or their sizes differ."""
    from lookalike.stages.decode import stored_rgb

    other_path, *jpeg_paths = item.split(PATH_SEPARATOR)
    try:
        with open_regular(other_path) as handle:
            other = stored_rgb(handle.read(), min(max_pixels, LATTICE_MAX_PIXELS))
    except Exception:  # no evidence from this file; the scan goes on
        return [None] * len(jpeg_paths)
    if other is None:
        return [None] * len(jpeg_paths)
    # the luminance as libjpeg takes it, of the sampled blocks only: a whole picture's costs more than the rest
    theirs = _dct(np.rint(grey(_blocks(other, CONVERTED_BLOCKS))))
    found = []
    for path in jpeg_paths:
        jpeg = _jpeg_luma(path, max_pixels)
        found.append(None if jpeg is None or jpeg[0].shape != other.shape[:2]
                     else conversion(_coefficients(jpeg[0], CONVERTED_BLOCKS), theirs, jpeg[1]))
    return found


def conversion(ours: np.ndarray, theirs: np.ndarray, table: np.ndarray) -> Conversion:
    """Where a JPEG's coefficients (`ours`, blocks × 8 × 8) lie against the DCT of the same blocks of another
    picture's luminance (`theirs`), in steps of the JPEG's luminance `table`."""
    steps = table.reshape(64)
    ours, theirs = np.rint(ours.reshape(-1, 64) / steps), theirs.reshape(-1, 64) / steps
    compared = (np.abs(ours) >= 1) & (steps >= 2)
    compared[:, 0] = False
    apart = theirs - ours
    offsets = np.abs(apart)[compared]
    inside = offsets <= 0.5
    distance = float(np.sqrt(np.mean(np.square(apart * steps)))) if len(apart) else 0.0  # orthonormal: pixels'
    return Conversion(len(offsets), float(inside.mean()) if len(offsets) else 0.0,
                      float((offsets[inside] > 0.25).mean()) if inside.any() else 0.0, distance)


def _shifts(width: int, height: int) -> list[tuple[int, int]]:
    """Where a mirror or a turn puts an earlier save's blocks on a grid of `width` × `height` pixels: shifted
    right by the width's remainder of 8, down by the height's, or both (the unshifted grid left out: the grid
    shifted both ways is the last, or none)."""
    return [(right, down) for right, down in ((width % 8, 0), (0, height % 8), (width % 8, height % 8))
            if right or down]


def _coefficients(luma: np.ndarray, most: int | None = None) -> np.ndarray:
    """(blocks, 8, 8): the DCT of each whole 8 × 8 block of the luminance, as the JPEG's encoder took it; of
    `most` blocks spread over it at most."""
    return _dct(_blocks(luma, most))


def _low_frequencies(luma: np.ndarray) -> np.ndarray:
    """(blocks, len(POSITIONS)): the DCT coefficients at POSITIONS of each whole 8 × 8 block of the luminance, as
    `_coefficients` has them; the others, not counted, would cost six times as much."""
    return _level_shifted(_blocks(luma)) @ _DCT_2D[_POSITION_ROWS].T


def _blocks(plane: np.ndarray, most: int | None = None) -> np.ndarray:
    """(blocks, 8, 8, ...): each whole 8 × 8 block of `plane` (rows, columns, ...), row by row; of `most` blocks
    spread over it at most (the same ones for any plane of its size)."""
    rows, columns, rest = plane.shape[0] // 8, plane.shape[1] // 8, plane.shape[2:]
    blocks = plane[:rows * 8, :columns * 8].reshape(rows, 8, columns, 8, *rest).swapaxes(1, 2)
    blocks = blocks.reshape(rows * columns, 8, 8, *rest)
    if most is not None and len(blocks) > most:
        blocks = blocks[np.linspace(0, len(blocks) - 1, most).astype(np.int64)]
    return blocks


def _dct(blocks: np.ndarray) -> np.ndarray:
    """The DCT of each of (blocks, 8, 8) luminance blocks, as a JPEG's encoder takes it (level-shifted)."""
    return (_level_shifted(blocks) @ _DCT_2D.T).reshape(-1, 8, 8)  # one matrix product


def _level_shifted(blocks: np.ndarray) -> np.ndarray:
    """(blocks, 64): each 8 × 8 block flattened, less 128, as a JPEG's encoder takes it before its DCT."""
    return blocks.reshape(-1, 64) - np.float32(128)


def _periodicity(coefficients: np.ndarray) -> np.ndarray:
    """(len(POSITIONS), PERIODIC_STEPS + 1): at each position, the mean cosine of 2π × coefficient / step over the
    coefficients of at least half a step, for each step (0 where fewer than EXPECTED_MIN are)."""
    steps = np.arange(1, PERIODIC_STEPS + 1, dtype=np.float32)
    found = np.zeros((len(POSITIONS), PERIODIC_STEPS + 1), np.float32)
    for row, (u, v) in enumerate(POSITIONS):
        values = np.abs(coefficients[:, u, v])[:, None]
        counted = values >= steps / 2
        sums = np.where(counted, np.cos(2 * np.pi * values / steps), 0).sum(axis=0)
        numbers = counted.sum(axis=0)
        found[row, 1:] = np.where(numbers >= EXPECTED_MIN, sums / np.maximum(numbers, 1), 0)
    return found


def _counts(low: np.ndarray, table: np.ndarray) -> np.ndarray:
    """How many coefficients at each of POSITIONS (`low`, as `_low_frequencies` gives them) lie nearest each
    multiple of the table's step, below STEPS (none: 0)."""
    counts = np.zeros((len(POSITIONS), STEPS), np.int64)
    for row, (u, v) in enumerate(POSITIONS):
        steps = np.abs(np.rint(low[:, row] / table[u, v])).astype(np.int64)
        counts[row] = np.bincount(steps[(steps > 0) & (steps < STEPS)], minlength=STEPS)
    return counts


def carries(copy: Lattice, earlier: np.ndarray) -> bool:
    """Whether `copy`'s coefficients lie on the coarser lattice of the `earlier` table, as it is or transposed
    (a quarter turn moves each block's frequencies across its diagonal), on its own grid or a shifted one."""
    return any(_left_out_share(copy, table) < CARRIED or bool((_shifted_periodicity(copy, table) > _PERIODIC).any())
               for table in (earlier, earlier.T))


_PERIODIC = np.array([PERIODIC] * (SHIFTS - 1) + [PERIODIC_ACROSS])  # of each shifted grid (`_shifts`)


def _shifted_periodicity(copy: Lattice, earlier: np.ndarray) -> np.ndarray:
    """On each shifted grid, the mean at POSITIONS of the periodicity of `earlier`'s steps there, where a step is
    coarser than the copy's own (finer, it would not outlast the new save)."""
    usable = [(row, int(earlier[u, v])) for row, (u, v) in enumerate(POSITIONS)
              if copy.table[u, v] * COARSER < earlier[u, v] <= PERIODIC_STEPS and earlier[u, v] >= 3]
    if not usable:
        return np.zeros(SHIFTS)
    rows, steps = np.array([row for row, _ in usable]), np.array([step for _, step in usable])
    return copy.periodicity[:, rows, steps].mean(axis=1)


def _left_out_share(copy: Lattice, earlier: np.ndarray) -> float:
    """How many coefficients fall on the multiples of the copy's steps that `earlier`'s lattice leaves out, over
    how many a smooth spread of its counts (each count the mean of it and its neighbours) would put there; 1
    (no evidence) when too few would."""
    multiples = np.arange(STEPS)
    seen = expected = 0.0
    for row, (u, v) in enumerate(POSITIONS):
        step, coarse = copy.table[u, v], earlier[u, v]
        if coarse <= step * COARSER:
            continue
        values = multiples * step
        left_out = (np.abs(values - coarse * np.rint(values / coarse)) > step / 2 + 0.5) & (multiples > 0)
        counts = copy.counts[row].astype(np.float64)
        smooth = np.convolve(counts, np.ones(3) / 3, "same")
        seen, expected = seen + counts[left_out].sum(), expected + smooth[left_out].sum()
    return seen / expected if expected >= EXPECTED_MIN else 1.0


def jpeg_pairs(images: ImageTable, links: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pairs of image rows, lower first, of two JPEGs of one size (turned or not) and different qualities
    that `links` (pairs of rows matched) connect, directly or through others: grouping may relate any two."""
    classes: dict[tuple[int, int, int], list[int]] = {}
    for number, rows in enumerate(linked_sets(len(images), links)):
        for row in (row for row in rows if images.quality[row] is not None):
            sides = sorted((int(images.width[row]), int(images.height[row])))
            classes.setdefault((number, *sides), []).append(row)
    return sorted((min(a, b), max(a, b)) for rows in classes.values() for i, a in enumerate(rows) for b in rows[i + 1:]
                  if images.quality[a] != images.quality[b])


def converted_pairs(images: ImageTable, links: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """(JPEG row, row) of a JPEG and a lossy file of another codec (LOSSY_CODECS) of its stored size that `links`
    connect, directly or through others, whose thumbnails are within THUMB_CLOSE: up to PARTNERS a JPEG, the
    closest first."""
    pairs = []
    for rows in linked_sets(len(images), links):
        by_size: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        for row in rows:
            jpeg = images.quality[row] is not None
            if jpeg or str(images.format[row]).upper() in LOSSY_CODECS:
                by_size.setdefault((int(images.width[row]), int(images.height[row])), ([], []))[not jpeg].append(row)
        for jpegs, others in by_size.values():
            if not others:
                continue
            lumas = {row: grey(images.thumbs[row]) for row in (*jpegs, *others)}
            for row in jpegs:
                apart = np.array([np.abs(lumas[row] - lumas[other]).mean() for other in others])
                pairs += [(row, others[i]) for i in np.argsort(apart, kind="stable")[:PARTNERS]
                          if apart[i] <= THUMB_CLOSE]
    return pairs


def resaved(pairs: Iterable[tuple[int, int]], qualities: Mapping[int, int], lattices: Mapping[int, Lattice],
            conversions: Mapping[tuple[int, int], Conversion], formats: Mapping[int, str]) -> dict[int, Earlier]:
    """Of the images in `pairs` (rows, two JPEGs each) and in `conversions` (JPEG row, row of another codec),
    those re-saved from the other of a pair: row -> the lowest quality of a JPEG whose table it carries or that
    it may have been saved from (`saved_from_jpegs`), the format of a file it was converted from. `qualities`
    holds those of the JPEGs of both."""
    found: dict[int, Earlier] = {}
    for a, b in pairs:
        finer, coarser = (a, b) if qualities[a] > qualities[b] else (b, a)
        if qualities[finer] > qualities[coarser] and finer in lattices and coarser in lattices \
                and carries(lattices[finer], lattices[coarser].table):
            earlier = found.get(finer, Earlier())
            quality = min(qualities[coarser], earlier.quality or qualities[coarser])
            found[finer] = Earlier(quality, earlier.converted_from)
    for (jpeg, other), measured in sorted(conversions.items()):
        if measured.converted and found.get(jpeg, Earlier()).converted_from is None:
            found[jpeg] = Earlier(found.get(jpeg, Earlier()).quality, formats[other])
    for other, quality in saved_from_jpegs(conversions, qualities, set(found)).items():
        found[other] = Earlier(quality)
    return found


def saved_from_jpegs(conversions: Mapping[tuple[int, int], Conversion], qualities: Mapping[int, int],
                     derived: Set[int]) -> dict[int, int]:
    """Lossy files of another codec (rows) -> the lowest quality of the JPEGs (`conversions`' partners of it) it
    may have been saved from: those it is bunched near, or, when no JPEG was converted from it, also the close
    ones that were not (`Conversion.apart`); but none of the `derived` JPEGs, re-saved or converted from another
    member's file, which tell of no original."""
    partners: dict[int, list[tuple[int, Conversion]]] = {}
    for (jpeg, other), measured in conversions.items():
        partners.setdefault(other, []).append((jpeg, measured))
    found = {}
    for other, measured in partners.items():
        original = any(conversion.converted for _, conversion in measured)  # a JPEG was made from it
        sources = [qualities[jpeg] for jpeg, conversion in measured if jpeg not in derived
                   and (conversion.bunched or (conversion.apart and not original))]
        if sources:
            found[other] = min(sources)
    return found
