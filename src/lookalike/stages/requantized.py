"""Re-saved JPEGs: which JPEG copy was decoded from another JPEG and saved again at a finer quality.

A JPEG's luminance coefficients are multiples of its quantisation table's steps. When a JPEG is decoded and
saved again with finer steps, its coefficients stay near multiples of the earlier, coarser steps too: the
multiples of the new step that fall between them stay all but empty. A copy that shows this was made from a
JPEG with that table (or from one of its quality) and holds no more than that one, however fine its own table.
A copy mirrored or turned moves the earlier blocks off its own grid, by its sides' remainders of 8 pixels: the
DCT of blocks on that shifted grid still clusters at multiples of the earlier steps, blurred by the new save.

Guarantees:
- evidence is looked for only between JPEGs of one picture size whose earlier blocks fall on their own grid or
  on one shifted as a mirror or a turn shifts it (re-saved, mirrored, turned, text laid on): a copy shifted
  otherwise (a band added above, a crop) shows none and is ranked as before; so does a copy whose own steps
  are no finer;
- `lattice_file` (a worker function for `pool.decode_all`) reads one JPEG; everything else is NumPy; a file it
  cannot read gives no evidence and no error: the scan read it once already.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lookalike.stages.images import ImageTable
from lookalike.stages.verify import linked_sets
from lookalike.stages.walk import open_regular

POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (2, 1), (1, 2), (2, 2), (0, 3), (3, 0))  # low frequencies
STEPS = 64  # multiples of a step counted: beyond, too few coefficients to tell
CARRIED = 0.5  # a copy carries a table when the steps it leaves out hold under this share of what is expected
EXPECTED_MIN = 20  # ... and at least this many coefficients were expected there
COARSER = 1.05  # an earlier step must be this much coarser than the copy's own to leave any multiple out
PERIODIC = 0.1  # ... or, on a shifted grid, when its coefficients' mean cosine of the earlier steps is above this
# (a photo saved once: 0.01 at most; copies mirrored or turned after one save: 0.16 to 0.57, on the dev split)
PERIODIC_STEPS = 40  # steps up to this are looked at on shifted grids: coarser ones are left out
SHIFTS = 3  # shifted grids: by the width's remainder, the height's, or both
SAMPLED_BLOCKS = 4096  # blocks of a shifted grid looked at, spread over the picture
LATTICE_MAX_PIXELS = 50_000_000  # a larger JPEG is not decoded at full size for this: no evidence
_TABLE_END = 8 * 8 * 2  # bytes of a stored lattice: its table as uint16, its counts as int32, then its periodicity
_COUNTS_END = _TABLE_END + len(POSITIONS) * STEPS * 4
LATTICE_BYTES = _COUNTS_END + SHIFTS * len(POSITIONS) * (PERIODIC_STEPS + 1) * 2
_DCT = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
                 for u in range(8)], np.float32)


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


def lattice_file(path: str, max_pixels: int) -> Lattice | None:
    """The `Lattice` of the JPEG at `path`, from its luminance decoded at full size; None for a file that is no
    longer such a JPEG or is too large (a worker function for `pool.decode_all`: the scanning process never
    loads Pillow). Nothing is reported: without it the file is only ranked as before."""
    from PIL import Image

    try:
        with open_regular(path) as handle, Image.open(io.BytesIO(handle.read())) as image:
            tables = getattr(image, "quantization", None)
            if not tables or image.width * image.height > min(max_pixels, LATTICE_MAX_PIXELS):
                return None
            image.draft("YCbCr", image.size)  # the decoder's own luminance, not converted to RGB and back
            luma = np.asarray(image.getchannel(0), np.float32)
            table = np.asarray(tables[0], np.float64).reshape(8, 8)
    except Exception:  # no evidence from this file; the scan goes on
        return None
    periodicity = np.zeros((SHIFTS, len(POSITIONS), PERIODIC_STEPS + 1), np.float32)
    for shift, (right, down) in enumerate(_shifts(luma.shape[1], luma.shape[0])):
        periodicity[shift] = _periodicity(_coefficients(luma[down:, right:], SAMPLED_BLOCKS))
    return Lattice(table, _counts(_coefficients(luma), table), periodicity)


def _shifts(width: int, height: int) -> list[tuple[int, int]]:
    """Where a mirror or a turn puts an earlier save's blocks on a grid of `width` × `height` pixels: shifted
    right by the width's remainder of 8, down by the height's, or both (the unshifted grid left out)."""
    return [(right, down) for right, down in ((width % 8, 0), (0, height % 8), (width % 8, height % 8))
            if right or down]


def _coefficients(luma: np.ndarray, most: int | None = None) -> np.ndarray:
    """(blocks, 8, 8): the DCT of each whole 8 × 8 block of the luminance, as the JPEG's encoder took it; of
    `most` blocks spread over it at most."""
    rows, columns = luma.shape[0] // 8 * 8, luma.shape[1] // 8 * 8
    blocks = (luma[:rows, :columns] - 128).reshape(rows // 8, 8, columns // 8, 8).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, 8, 8)
    if most is not None and len(blocks) > most:
        blocks = blocks[np.linspace(0, len(blocks) - 1, most).astype(np.int64)]
    return np.matmul(np.matmul(_DCT, blocks), _DCT.T)  # the same sums as einsum("ux,bxy,vy->buv"), 10 times faster


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


def _counts(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
    counts = np.zeros((len(POSITIONS), STEPS), np.int64)
    for row, (u, v) in enumerate(POSITIONS):
        steps = np.abs(np.rint(coefficients[:, u, v] / table[u, v])).astype(np.int64)
        counts[row] = np.bincount(steps[(steps > 0) & (steps < STEPS)], minlength=STEPS)
    return counts


def carries(copy: Lattice, earlier: np.ndarray) -> bool:
    """Whether `copy`'s coefficients lie on the coarser lattice of the `earlier` table, as it is or transposed
    (a quarter turn moves each block's frequencies across its diagonal), on its own grid or a shifted one."""
    return any(_left_out_share(copy, table) < CARRIED or _shifted_periodicity(copy, table) > PERIODIC
               for table in (earlier, earlier.T))


def _shifted_periodicity(copy: Lattice, earlier: np.ndarray) -> float:
    """The highest, over the shifted grids, mean at POSITIONS of the periodicity of `earlier`'s steps there,
    where a step is coarser than the copy's own (finer, it would not outlast the new save)."""
    usable = [(row, int(earlier[u, v])) for row, (u, v) in enumerate(POSITIONS)
              if copy.table[u, v] * COARSER < earlier[u, v] <= PERIODIC_STEPS and earlier[u, v] >= 3]
    if not usable:
        return 0.0
    rows, steps = np.array([row for row, _ in usable]), np.array([step for _, step in usable])
    return float(copy.periodicity[:, rows, steps].mean(axis=1).max())


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


def resaved(pairs: Iterable[tuple[int, int]], qualities: Mapping[int, int], lattices: Mapping[int, Lattice],
            ) -> dict[int, int]:
    """Of the images in `pairs` (rows, two JPEGs each), those re-saved from the other of a pair: row -> the
    lowest quality of a JPEG whose table it carries."""
    found: dict[int, int] = {}
    for a, b in pairs:
        finer, coarser = (a, b) if qualities[a] > qualities[b] else (b, a)
        if qualities[finer] > qualities[coarser] and finer in lattices and coarser in lattices \
                and carries(lattices[finer], lattices[coarser].table):
            found[finer] = min(qualities[coarser], found.get(finer, qualities[coarser]))
    return found
