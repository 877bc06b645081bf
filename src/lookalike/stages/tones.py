"""Tones of aligned copies: how one copy's brightness, contrast, vignette and colourfulness differ from another's.

A filter (brighter, more contrast, a tone curve, a vignette, more or less saturated) is applied to one copy; the
copies made from the original without it (resized, re-saved, cropped, captioned) keep the original's tones. So
among copies of one frame, the one whose tones the most others share is the original, however finely a filtered
copy was re-saved. A change of saturation keeps the grey picture: colour tells it.

Guarantees: `tone_change` and `colour_change` compare only where both pictures show picture, by quantiles and
region means, so that a caption band or text laid over part of the picture moves them little; deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import cache

import numpy as np

from lookalike.stages.geometry import channel_mean, thumb_matrix, warped_onto

SAME_TONE = (6.0, 0.1, 0.08)  # brightness (grey levels), log contrast, log vignette: within these, one tone
OVERLAP_MIN = 1 / 16  # share of the picture both must show to be compared
CENTRE, EDGE = 0.5, 0.85  # radii (of half the side) inside which a picture is its centre, beyond which its edge
REGION_MIN = 50  # pixels a centre or an edge must have to weigh a vignette
DARK = 8.0  # grey levels added before ratios of brightness: a black corner is not infinitely darker
STRIDE = 2  # one pixel in this many, each way, weighs the quantiles: as telling, a quarter of the work
SAME_COLOUR = 0.15  # log ratio of colourfulness within which two copies are of one colour (dev split: copies
# made without a filter 0.12 at most, a coarse re-save's; saturation filters 0.25 and up)
TONE_NEAR = 0.5  # bands' widths: a candidate whose nearest tone is this much farther than another's was filtered
# (dev split: a faithful copy of the original 0.06 from it; a brightened copy 0.72 from its nearest)
COLOURLESS = 2.0  # added before ratios of colourfulness: a nearly grey picture is not infinitely more colourful


def tone_change(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> np.ndarray | None:
    """b's tones against a's (grey pictures, square, of one side, float32; `matrix`: fractions of b's frame →
    fractions of a's) where both show picture: (median difference, log ratio of the 10-90 % spreads, log ratio of
    the edge's brightness ratio to the centre's). None when they overlap too little."""
    side = a.shape[0]
    warped, inside = warped_onto(b, thumb_matrix(np.asarray(matrix, np.float64)[:2], side), side)
    if inside.sum() < OVERLAP_MIN * side * side:
        return None
    sampled = inside[::STRIDE, ::STRIDE]
    low_a, middle_a, high_a = np.percentile(a[::STRIDE, ::STRIDE][sampled], (10, 50, 90))
    low_b, middle_b, high_b = np.percentile(warped[::STRIDE, ::STRIDE][sampled], (10, 50, 90))
    contrast = np.log((high_b - low_b + 4) / (high_a - low_a + 4))
    centre_of, edge_of = _regions(side)
    centre, edge = inside & centre_of, inside & edge_of
    vignette = 0.0
    if centre.sum() >= REGION_MIN and edge.sum() >= REGION_MIN:
        vignette = (np.log((warped[edge].mean() + DARK) / (a[edge].mean() + DARK))
                    - np.log((warped[centre].mean() + DARK) / (a[centre].mean() + DARK)))
    return np.array([middle_b - middle_a, contrast, vignette])


@cache
def _regions(side: int) -> tuple[np.ndarray, np.ndarray]:
    """The centre and the edge of a picture of `side` pixels a side, as masks."""
    rows, columns = np.mgrid[0:side, 0:side]
    radius = np.hypot(rows - side / 2 + 0.5, columns - side / 2 + 0.5) / (side / 2)
    return radius < CENTRE, radius > EDGE


def same_tone(change: np.ndarray | None) -> bool:
    return change is not None and bool(np.all(np.abs(change) <= SAME_TONE))


def colour_change(a: np.ndarray, b: np.ndarray, matrix: np.ndarray) -> float | None:
    """The log ratio of b's colourfulness to a's (RGB pictures, square, of one side; `matrix` as `tone_change`'s)
    where both show picture; None when they overlap too little."""
    side = a.shape[0]
    warped, inside = warped_onto(colourfulness(b), thumb_matrix(np.asarray(matrix, np.float64)[:2], side), side)
    if inside.sum() < OVERLAP_MIN * side * side:
        return None
    return float(np.log((warped[inside].mean() + COLOURLESS) / (colourfulness(a)[inside].mean() + COLOURLESS)))


def colourfulness(picture: np.ndarray) -> np.ndarray:
    """Each pixel's mean distance of its channels from their mean (0 where it is grey), as float32."""
    channels = picture.astype(np.float32)
    return channel_mean(np.abs(channels - channel_mean(channels)[..., None]))


def same_colour(change: float | None) -> bool:
    return change is not None and abs(change) <= SAME_COLOUR


def most_shared_tone(candidates: Sequence[int], images: Sequence[int], onto: Mapping[int, Mapping[int, np.ndarray]],
                     picture: Callable[[int], np.ndarray], colour: Callable[[int], np.ndarray]) -> list[int]:
    """The candidates of the tone the most of `images` share (`onto[c][i]`: i's frame onto c's; `picture`: an
    image's grey picture, `colour` its RGB one): those of another tone are left out, unless as many share theirs;
    so are those whose nearest tone among the images lies TONE_NEAR farther than another's (a filter too slight
    to leave the bands of one tone still moves a copy away from all the others, which keep theirs)."""

    def changes(candidate: int, image: int) -> tuple[np.ndarray | None, float | None]:
        matrix = onto[candidate][image]
        return (tone_change(picture(candidate), picture(image), matrix),
                colour_change(colour(candidate), colour(image), matrix))

    found = {(candidate, image): changes(candidate, image)
             for candidate in candidates for image in images if image != candidate}
    alike = {pair: same_tone(tone) and same_colour(shade) for pair, (tone, shade) in found.items()}
    shared = {candidate: sum(alike[candidate, image] for image in images if image != candidate)
              for candidate in candidates}
    most = max(shared.values(), default=0)
    best = [candidate for candidate in candidates if shared[candidate] == most]
    kept = [candidate for candidate in candidates
            if candidate in best or all(alike[other, candidate] for other in best)]
    nearest = {candidate: min((_apart(*found[candidate, image]) for image in images if image != candidate),
                              default=math.inf) for candidate in kept}
    closest = min(nearest.values(), default=math.inf)
    return [candidate for candidate in kept if nearest[candidate] <= closest + TONE_NEAR]


def _apart(tone: np.ndarray | None, shade: float | None) -> float:
    """How far two copies' tones lie apart, in the widths of one tone's bands (SAME_TONE, SAME_COLOUR)."""
    if tone is None or shade is None:
        return math.inf
    return float(max(np.max(np.abs(tone) / np.array(SAME_TONE)), abs(shade) / SAME_COLOUR))
