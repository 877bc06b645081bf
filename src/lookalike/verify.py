"""Stage 6, verify: confirm each candidate pair on the pixels, after aligning its orientation.

A hash distance says two images *might* be the same picture; verification decides. The thumbnails of the two
images are put in the same orientation and compared twice, on grey levels and on fine detail (a band-pass of
the grey image), each by normalised correlation. Correlation ignores brightness and contrast (an affine change
of grey levels), and grey levels ignore colour, so such edits still match; two different photos of the same
scene differ in their fine detail, so they do not.

Guarantees: `verify` is symmetric up to orientation (comparing b with a in the inverse orientation gives the
same scores) and deterministic; it never reads files, only thumbnails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookalike.signatures import grey, orient

MIN_TONE_CORRELATION = 0.90
MIN_DETAIL_CORRELATION = 0.55


@dataclass(frozen=True, slots=True)
class Candidate:
    """Image b may be image a in orientation k (as `signatures.ORIENTATIONS[k]`), `distance` bits apart."""

    a: int
    b: int
    orientation: int
    distance: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """How closely two aligned thumbnails agree: 1.0 is identical, 0 unrelated."""

    tone: float
    detail: float

    @property
    def confirmed(self) -> bool:
        return self.tone >= MIN_TONE_CORRELATION and self.detail >= MIN_DETAIL_CORRELATION


def compare(thumb_a: np.ndarray, thumb_b: np.ndarray, orientation: int) -> Evidence:
    """Correlate `thumb_b` with `thumb_a` turned into `orientation`."""
    tone_a, tone_b = grey(np.stack([orient(thumb_a, orientation), thumb_b]))
    return Evidence(
        tone=_correlation(tone_a, tone_b),
        detail=_correlation(_band_pass(tone_a), _band_pass(tone_b)),
    )


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    norm = float(np.sqrt((x * x).sum() * (y * y).sum()))
    if norm < 1e-6:  # a flat image: only another flat image of any tone is "the same picture"
        return 1.0 if float(np.abs(x).max() + np.abs(y).max()) < 1e-3 else 0.0
    return float((x * y).sum() / norm)


def _band_pass(image: np.ndarray) -> np.ndarray:
    """Detail between the finest (noise, compression) and coarsest (tone) scales: a difference of blurs."""
    return _box_blur(image, 1) - _box_blur(image, 4)


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(image, radius, mode="edge")
    summed = padded.cumsum(axis=0).cumsum(axis=1)
    summed = np.pad(summed, ((1, 0), (1, 0)))
    width = 2 * radius + 1
    total = summed[width:, width:] - summed[:-width, width:] - summed[width:, :-width] + summed[:-width, :-width]
    return total / (width * width)
