"""Re-saved JPEGs: which JPEG copy was decoded from another JPEG and saved again at a finer quality.

A JPEG's luminance coefficients are multiples of its quantisation table's steps. When a JPEG is decoded and
saved again with finer steps, its coefficients stay near multiples of the earlier, coarser steps too: the
multiples of the new step that fall between them stay all but empty. A copy that shows this was made from a
JPEG with that table (or from one of its quality) and holds no more than that one, however fine its own table.

Guarantees:
- evidence is looked for only between JPEGs of one picture size whose 8-pixel blocks fall on one another
  (re-saved, mirrored or turned with sides of whole blocks, text laid on): a copy shifted off the grid (a band
  added above, a crop) shows none and is ranked as before; so does a copy whose own steps are no finer;
- `lattice_file` (a worker function for `pool.decode_all`) reads one JPEG; everything else is NumPy; a file it
  cannot read gives no evidence and no error: the scan read it once already.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from lookalike.stages.images import ImageTable

POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (2, 1), (1, 2), (2, 2), (0, 3), (3, 0))  # low frequencies
STEPS = 64  # multiples of a step counted: beyond, too few coefficients to tell
CARRIED = 0.5  # a copy carries a table when the steps it leaves out hold under this share of what is expected
EXPECTED_MIN = 20  # ... and at least this many coefficients were expected there
COARSER = 1.05  # an earlier step must be this much coarser than the copy's own to leave any multiple out
LATTICE_MAX_PIXELS = 50_000_000  # a larger JPEG is not decoded at full size for this: no evidence
_DCT = np.array([[np.sqrt((1 if u == 0 else 2) / 8) * np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)]
                 for u in range(8)], np.float32)


@dataclass(frozen=True, slots=True)
class Lattice:
    """A JPEG's luminance quantisation table and, at each of POSITIONS, how many of its blocks hold each
    multiple 1 .. STEPS - 1 of the step there (by size)."""

    table: np.ndarray  # (8, 8) float64, in natural order
    counts: np.ndarray  # (len(POSITIONS), STEPS) int64; column 0 unused

    def tobytes(self) -> bytes:
        return self.table.astype(np.uint16).tobytes() + self.counts.astype(np.int32).tobytes()

    @classmethod
    def frombytes(cls, blob: bytes) -> Lattice:
        table = np.frombuffer(blob[:128], np.uint16).reshape(8, 8).astype(np.float64)
        return cls(table, np.frombuffer(blob[128:], np.int32).reshape(len(POSITIONS), STEPS).astype(np.int64))


def lattice_file(path: str, max_pixels: int) -> Lattice | None:
    """The `Lattice` of the JPEG at `path`, from its luminance decoded at full size; None for a file that is no
    longer such a JPEG or is too large (a worker function for `pool.decode_all`: the scanning process never
    loads Pillow). Nothing is reported: without it the file is only ranked as before."""
    from PIL import Image

    try:
        with open(path, "rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
            tables = getattr(image, "quantization", None)
            if not tables or image.width * image.height > min(max_pixels, LATTICE_MAX_PIXELS):
                return None
            image.draft("YCbCr", image.size)  # the decoder's own luminance, not converted to RGB and back
            luma = np.asarray(image.getchannel(0), np.float32)
            table = np.asarray(tables[0], np.float64).reshape(8, 8)
    except Exception:  # no evidence from this file; the scan goes on
        return None
    return Lattice(table, _counts(_coefficients(luma), table))


def _coefficients(luma: np.ndarray) -> np.ndarray:
    """(blocks, 8, 8): the DCT of each whole 8 × 8 block of the luminance, as the JPEG's encoder took it."""
    rows, columns = luma.shape[0] // 8 * 8, luma.shape[1] // 8 * 8
    blocks = (luma[:rows, :columns] - 128).reshape(rows // 8, 8, columns // 8, 8).transpose(0, 2, 1, 3)
    return np.einsum("ux,abxy,vy->abuv", _DCT, blocks, _DCT, optimize=True).reshape(-1, 8, 8)


def _counts(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
    counts = np.zeros((len(POSITIONS), STEPS), np.int64)
    for row, (u, v) in enumerate(POSITIONS):
        steps = np.abs(np.rint(coefficients[:, u, v] / table[u, v])).astype(np.int64)
        counts[row] = np.bincount(steps[(steps > 0) & (steps < STEPS)], minlength=STEPS)
    return counts


def carries(copy: Lattice, earlier: np.ndarray) -> bool:
    """Whether `copy`'s coefficients lie on the coarser lattice of the `earlier` table, as it is or transposed
    (a quarter turn moves each block's frequencies across its diagonal)."""
    return any(_left_out_share(copy, table) < CARRIED for table in (earlier, earlier.T))


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
    parent: dict[int, int] = {}

    def root(row: int) -> int:
        while parent.setdefault(row, row) != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    for a, b in links:
        parent[root(a)] = root(b)
    classes: dict[tuple[int, int, int], list[int]] = {}
    for row in [row for row in parent if images.quality[row] is not None]:
        sides = sorted((int(images.width[row]), int(images.height[row])))
        classes.setdefault((root(row), *sides), []).append(row)
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
