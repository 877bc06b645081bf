"""Geometric verification: fit a similarity between two images' local features, then ask whether the aligned
pictures are one moment or two.

`fit` matches b's features to a's (nearest descriptor, Lowe's ratio test) and fits a similarity (rotation,
uniform scale, shift) by RANSAC, or an affine map when a resize changed the aspect ratio; a copy that shows the
same picture, cropped, framed, straightened or overlaid, has MIN_INLIERS or more matches that agree with one.
Geometry alone does not tell a copy from the next frame of a burst, so `moment_check` warps the larger of the two
pictures onto the smaller with the fit (set right to a fraction of a pixel), matches tones with a smooth model (so
a tint, a saturation change or a vignette is explained) and looks at what is left, block by block: changes that
are an overlay (pixels pulled towards white or black, one flat colour, a band across the top or bottom: text, a
logo, a caption) are edits; a changed part the other picture shows elsewhere moved, and changed content anywhere
else is a different moment.

Guarantees: both functions are deterministic; `fit` returns None unless MIN_INLIERS matches agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from lookalike.stages.local_features import Features, surround_box
from lookalike.stages.signatures import WHOLE_BOX, Box, content_boxes
from lookalike.stages.verify import Assumed, Linked

MOMENT_RULE = "8"  # named anew whenever `moment_check` may judge a pair otherwise: cached moments are then stale
MIN_INLIERS = 15
RATIO = 0.8  # a match is kept when its descriptor is this much closer than the second nearest
REPROJECTION = 3.0  # pixels of the feature frame an inlier may be off the fitted similarity
RANSAC_ITERATIONS = 1000
MAX_SHIFT = 2.0  # picture pixels the fit may be off by and be set right by the moment check
SQUASH_GAIN = 1.1  # an affine fit replaces the similarity when it has this many times its inliers ...
MAX_SQUASH = 1.4  # ... and stretches one way at most this many times more than the other
SECOND_MOTION = 8  # unfitted matches that agree on one other shift nearby: a part of the picture that moved
MAX_SCALE = 16.0  # a thumbnail of 20 px a side against a 320-px feature frame, and no further
BLOCKS = 16  # compared blocks a side of the picture, whatever its size
CHANGED_LEVEL = 16.0  # mean grey levels a block may differ by, after tones are matched, and be unchanged
MOMENT_SHARE = 0.02  # share of the compared blocks with content that may change without being an overlay
OVERLAY_SHARE = 0.6  # share of a changed block's changed pixels that must look overlaid for the block to be
FLAT_OVERLAY = 12.0  # grey levels: the spread of one flat colour laid over the picture
GREY_SPREAD = 24.0  # channels apart at most in a grey pixel
FIT_STRIDE = 4  # one pixel in this many fits the tone model
WATERMARK_SPREAD = 0.12  # how much the opacity of a semi-transparent overlay may vary inside one block
BAND_SHARE = 0.22  # a caption or meme text lies across the top or bottom fifth of a picture ...
BAND_WIDTH = 0.5  # ... and covers at least this share of one of its rows
MOVED_MIN_BLOCKS = 2  # changed blocks side by side that may show a part of the picture moved
MOVED_FIT = 0.25  # a changed part fits elsewhere with at most this share of its squared difference in place ...
MOVED_TEXTURE = 0.5  # ... and of its own variance: found there, not merely as flat as something there
FLAT_PART = 4.0  # grey levels: a part flatter than this would be found anywhere
SHIFT_LEVEL = 8.0  # grey levels left in a block, below what counts as changed, that may show a small move
SHIFT_REACH = 24  # picture pixels around its place a block is looked for
SHIFT_AWAY = 3.0  # picture pixels a block must be found off its place to have moved: more than a fit is off by
SHIFT_FIT = 0.3  # a moved block fits there with at most this share of its squared difference in place ...
SHIFT_TEXTURE = 0.25  # ... and of its own variance ...
SHIFT_FLOOR = 4.0  # ... and within twice the pair's median block residual, at least this many grey levels
SHIFT_AGREE = 2.0  # picture pixels two neighbouring blocks' moves may differ by and be one move
SHIFTED_BLOCKS = 3  # moved blocks fewer than this are noise
SURROUND_AROUND = 0.8  # share of a surround of the surround's colour for the moment check to leave it out (a
# photo with a flat ground has a surround box too, across what a next frame changed)
COPIED_MATCH = 0.75  # normalised correlation at which a changed block is found a few pixels off in the other picture
COPIED_GAIN = 0.3  # ... this much better than in place ...
COPIED_BLOCKS = 2  # blocks found moved fewer than this are noise (a letter that looks like the picture beside it)
COPIED_OWN = 0.1  # ... and this much better than anywhere near it in its own picture (an edge or a stripe is not)


@dataclass(frozen=True, slots=True)
class Fit:
    """A similarity (or an affine map of a resize that changed the aspect ratio) carrying b's frame onto a's frame
    (or onto a's mirror image's, `mirrored`)."""

    matrix: np.ndarray  # (2, 3): fractions of b's frame (x of the width, y of the height) → fractions of a's
    mirrored: bool
    inliers: int
    angle: float  # degrees b is turned by, seen on a's pixels (positive: clockwise)
    moved: int = 0  # the most unfitted matches that agree on one other shift, near each other (`_second_motion`)

    @property
    def two_moments(self) -> bool:
        """Whether a part of the picture moved: the pair is two moments however well the rest fits."""
        return self.moved >= SECOND_MOTION

    def shown(self) -> float:
        """The share of a's frame that b shows."""
        return _overlap(self.matrix)

    def occupied(self) -> float:
        """The share of b's frame that a's picture fills."""
        return _overlap(inverted(self.matrix))


_UNIT_CORNERS = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)


def frame_box(matrix: np.ndarray) -> Box:
    """The bounding box of a frame carried by `matrix` into another, clipped to that frame, in its fractions."""
    return clipped(frame_extent(matrix))


def clipped(extent: Box) -> Box:
    """A box (`frame_extent`) clipped to the frame it is in."""
    left, top, right, bottom = (min(max(side, 0.0), 1.0) for side in extent)
    return left, top, right, bottom


def frame_extent(matrix: np.ndarray) -> Box:
    """The bounding box of a frame carried by `matrix` ((2, 3) or (3, 3)) into another, in its fractions, not
    clipped: beyond 0 and 1 where the frame holds more than the other's."""
    corners = _apply(matrix[:2], _UNIT_CORNERS)
    low, high = corners.min(axis=0), corners.max(axis=0)
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def _overlap(matrix: np.ndarray) -> float:
    """The area of the unit square carried by `matrix` that lies inside the unit square."""
    import cv2

    carried = _apply(matrix, _UNIT_CORNERS).astype(np.float32)
    area, _ = cv2.intersectConvexConvex(carried, _UNIT_CORNERS.astype(np.float32))
    return float(area)


def compared_share(matrix: np.ndarray) -> float:
    """The share of the smaller of two pictures that both show, aligned by `matrix` (one frame onto the other):
    how much of the pictures a moment check compares."""
    return min(_overlap(matrix), _overlap(inverted(matrix)))


def fit(a: Features, b: Features, mirrored: bool = False) -> Fit | None:
    """The similarity that carries b's matched features onto a's, or None when fewer than MIN_INLIERS agree.
    `a` is the image's own features, or its mirror image's when `mirrored`."""
    import cv2

    if len(a) < MIN_INLIERS or len(b) < MIN_INLIERS:
        return None
    from lookalike.stages.search_kernels import two_nearest

    # each of b's descriptors' two nearest of a's (a third of the time of OpenCV's batchDistance, its same answer)
    distances, nearest = two_nearest(_as_words64(b.descriptors), _as_words64(a.descriptors))
    good = np.flatnonzero(distances[:, 0] < RATIO * distances[:, 1])  # the nearest is then the only one so near
    if len(good) < MIN_INLIERS:
        return None
    size_a, size_b = np.array([a.width, a.height], np.float64), np.array([b.width, b.height], np.float64)
    points_b = b.points[good] * size_b
    points_a = a.points[nearest[good, 0]] * size_a
    cv2.setRNGSeed(0)  # RANSAC draws samples at random: the same pair gives the same fit every time
    pixels, inliers = cv2.estimateAffinePartial2D(points_b, points_a, method=cv2.RANSAC,
                                                  ransacReprojThreshold=REPROJECTION, maxIters=RANSAC_ITERATIONS)
    if pixels is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    pixels, inliers = _squashed(points_b, points_a, pixels, inliers)
    if not 1 / MAX_SCALE < _scale(pixels) < MAX_SCALE:  # a degenerate fit: the inliers are one clump of points
        return None
    angle = float(np.degrees(np.arctan2(pixels[1, 0], pixels[0, 0])))
    matrix = np.diag(1 / size_a) @ np.hstack([pixels[:, :2] @ np.diag(size_b), pixels[:, 2:]])
    moved = _second_motion(points_b, points_a - _apply(pixels, points_b), inliers.ravel() > 0, max(size_b))
    return Fit(matrix, mirrored, int(inliers.sum()), angle, moved)


def _as_words64(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors (N, 32) uint8 as rows of 4 uint64, as `two_nearest` takes them."""
    return np.ascontiguousarray(descriptors).view(np.uint64)


def _second_motion(points: np.ndarray, offsets: np.ndarray, inliers: np.ndarray, side: float) -> int:
    """The most matches the fit leaves out that agree on one other shift (to REPROJECTION pixels) within a
    quarter of the frame of each other: a part of the picture seen somewhere else, as a person who moved."""
    away = ~inliers & (np.linalg.norm(offsets, axis=1) > 2 * REPROJECTION)
    points, offsets = points[away], offsets[away]
    if not len(points):
        return 0
    agree = ((np.linalg.norm(offsets[:, None] - offsets[None], axis=-1) < REPROJECTION)
             & (np.linalg.norm(points[:, None] - points[None], axis=-1) < side / 4))
    return int(agree.sum(axis=1).max())


def _scale(matrix: np.ndarray) -> float:
    """How much a (2, 3) matrix enlarges: the square root of its area ratio."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def _squashed(points_b: np.ndarray, points_a: np.ndarray, similarity: np.ndarray,
              inliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The similarity, or an affine map that stretches one way more than the other (a resize that changed the
    aspect ratio) when that explains clearly more of the matches, up to MAX_SQUASH."""
    import cv2

    affine, affine_inliers = cv2.estimateAffine2D(points_b, points_a, method=cv2.RANSAC,
                                                  ransacReprojThreshold=REPROJECTION, maxIters=RANSAC_ITERATIONS)
    if affine is None or int(affine_inliers.sum()) < SQUASH_GAIN * int(inliers.sum()):
        return similarity, inliers
    stretch = np.linalg.svd(affine[:, :2], compute_uv=False)
    if stretch[0] > MAX_SQUASH * stretch[1]:
        return similarity, inliers
    return affine, affine_inliers


@dataclass(frozen=True, slots=True)
class Moment:
    """What is left once b is aligned onto a and tones are matched."""

    compared: int  # blocks with picture in both
    changed: int  # blocks whose content changed (not an overlay)
    overlaid: int  # blocks changed by an overlay: text, a logo, a band
    aligned: bool = True  # False when the two hardly overlap once aligned: nothing could be compared
    moved: int = 0  # blocks showing what the other picture shows elsewhere, looked for only in one moment otherwise
    slid: int = 0  # of those, the blocks found a few pixels off their place (not as a part found far away)

    @property
    def same(self) -> bool:
        # one changed block is noise however few blocks were compared (a photo small inside a screenshot)
        return self.aligned and not self.moved and self.changed <= max(MOMENT_SHARE * self.compared, 1)


def moment_check(thumb_a: np.ndarray, thumb_b: np.ndarray, matrix: np.ndarray, coarsest: float = 1.0) -> Moment:
    """Align pictures a and b (square, of one side, × 3, uint8: thumbnails or the cache's pictures) with `matrix`
    (fractions of b's frame → fractions of a's, as `Fit.matrix`) and count the blocks that changed, b's changes
    laid over a's picture as overlays. The larger picture is warped onto the smaller, whose own pixels hold the
    detail both have. `coarsest`: pixels of the smaller image per picture pixel; below 1 (an image smaller than
    its picture) both are blurred to it. A flat border or an interface round either picture (`_shown_boxes`) is
    not compared: a copy cropped and framed, or shown in a screenshot, has it where its original has picture."""
    side = thumb_a.shape[0]
    pixels = thumb_matrix(matrix, side)
    scale = _scale(pixels)
    if not 1 / MAX_SCALE < scale < MAX_SCALE:
        return Moment(0, 0, 0, aligned=False)
    if scale > 1:  # b shows a's picture smaller: compare on b's thumbnail
        return _aligned_moment(thumb_b, thumb_a, thumb_matrix(inverted(matrix), side), coarsest, overlay_first=True)
    return _aligned_moment(thumb_a, thumb_b, pixels, coarsest, overlay_first=False)


def _aligned_moment(thumb_a: np.ndarray, thumb_b: np.ndarray, pixels: np.ndarray, coarsest: float,
                    overlay_first: bool) -> Moment:
    """`moment_check` with b warped onto a by `pixels` (thumbnail pixels, shrinking b or keeping its size); the
    overlays are looked for in a's pixels when `overlay_first`, else in b's."""
    import cv2

    side = thumb_a.shape[0]
    scale = _scale(pixels)
    a, b = thumb_a.astype(np.float32), thumb_b.astype(np.float32)
    if scale < 0.87:  # b shrunk onto a: b's finer detail is not in a
        b = cv2.GaussianBlur(b, (0, 0), 0.6 * (1 / scale - 1))
    if coarsest < 0.9:  # an enlarged thumbnail has none of the detail the other's has
        sigma = 0.6 * (1 / max(coarsest, 0.1) - 1)
        a, b = cv2.GaussianBlur(a, (0, 0), sigma), cv2.GaussianBlur(b, (0, 0), sigma)
    framed = _shown_boxes(np.stack([thumb_a, thumb_b]))
    warped, inside = warped_onto(b, pixels, side, framed[1])
    inside &= _box_mask(framed[0], side)  # a border or an interface is no evidence either way
    if inside.sum() < 4 * (side // BLOCKS) ** 2:
        return Moment(0, 0, 0, aligned=False)
    pixels = _refined(a, warped, inside, pixels)
    warped = _warped(b, pixels, side)
    residual = _tone_residual(a, warped, inside, pixels, side)
    return _count_blocks(a, warped, residual, inside, overlay_first)


def channel_mean(colours: np.ndarray) -> np.ndarray:
    """The mean of the last axis's three channels, as `colours.mean(axis=-1)` has it, in a tenth of its time."""
    return (colours[..., 0] + colours[..., 1] + colours[..., 2]) / 3


def warped_onto(b: np.ndarray, pixels: np.ndarray, side: int, box: Box = WHOLE_BOX) -> tuple[np.ndarray, np.ndarray]:
    """Picture b warped by `pixels` onto a picture of `side` pixels a side, and where it shows b's picture inside
    `box` (fractions of b's frame; a pixel in from its edges, where resampling blends in what lies beyond them)."""
    import cv2

    shown = _box_mask(box, b.shape[0]).astype(np.uint8)
    inside = cv2.warpAffine(shown, pixels, (side, side), flags=cv2.INTER_NEAREST)
    return _warped(b, pixels, side), cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0


def _shown_boxes(pictures: np.ndarray) -> list[Box]:
    """Where each of two pictures (2, S, S, 3) shows its picture: inside any flat border (`content_boxes`, of the
    grey picture: a JPEG's chroma smears a coloured border) and any interface around it (`surround_box`), unless
    both have one: two screenshots may be fitted by their interfaces, which then must be compared."""
    grey = np.round(channel_mean(pictures.astype(np.float32))).astype(np.uint8)
    surrounds = [surround_box(picture, SURROUND_AROUND) for picture in grey]
    if all(surrounds):
        surrounds = [None, None]
    boxes = []
    for border, surround in zip(content_boxes(grey[..., None]).tolist(), surrounds, strict=True):
        surround = surround or WHOLE_BOX
        boxes.append((max(border[0], surround[0]), max(border[1], surround[1]),
                      min(border[2], surround[2]), min(border[3], surround[3])))
    return boxes


def _box_mask(box: Box, side: int) -> np.ndarray:
    """(side, side) bool: the pixels of a square picture inside `box` (fractions of its frame)."""
    left, top, right, bottom = (round(float(edge) * side) for edge in box)
    mask = np.zeros((side, side), bool)
    mask[top:bottom, left:right] = True
    return mask


def _warped(b: np.ndarray, pixels: np.ndarray, side: int) -> np.ndarray:
    import cv2

    return cv2.warpAffine(b, pixels, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _refined(a: np.ndarray, warped: np.ndarray, inside: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """`pixels` shifted by what is left between a and b warped onto it (phase correlation of the grey pictures,
    to a fraction of a pixel): features found at 320 pixels place b to a pixel or so of the 128-pixel picture."""
    import cv2

    grey_a, grey_b = channel_mean(a), channel_mean(warped)
    mean_a, mean_b = grey_a[inside].mean(), grey_b[inside].mean()
    window = cv2.createHanningWindow(grey_a.shape[::-1], cv2.CV_32F) * inside
    (dx, dy), _ = cv2.phaseCorrelate(((grey_b - mean_b) * inside).astype(np.float32),
                                     ((grey_a - mean_a) * inside).astype(np.float32), window)
    if abs(dx) > MAX_SHIFT or abs(dy) > MAX_SHIFT:
        return pixels
    return pixels + np.array([[0, 0, dx], [0, 0, dy]])


def thumb_matrix(matrix: np.ndarray, side: int) -> np.ndarray:
    """`matrix` on thumbnail pixels (centres at (i + 0.5) / side)."""
    to_fractions = np.array([[1 / side, 0, 0.5 / side], [0, 1 / side, 0.5 / side], [0, 0, 1]])
    to_pixels = np.array([[side, 0, -0.5], [0, side, -0.5], [0, 0, 1]])
    return (to_pixels @ np.vstack([matrix, [0, 0, 1]]) @ to_fractions)[:2]


def _tone_residual(a: np.ndarray, b: np.ndarray, inside: np.ndarray, pixels: np.ndarray, side: int) -> np.ndarray:
    """b minus the best smooth tone mapping of a onto it, per pixel (grey levels, mean over channels): each
    channel as gain × a + offset, the gain varying smoothly over b's frame (a vignette, a graduated filter),
    fitted twice, the second time without the pixels the first fit explains worst (an overlay)."""
    rows, columns = np.nonzero(inside)
    at = rows * side + columns  # the pixels inside, as indices into the flattened picture (faster than a mask)
    rows, columns = rows.astype(np.float32), columns.astype(np.float32)
    inverse = inverted(pixels)  # a's pixels → b's pixels: where in b's frame
    u = (inverse[0, 0] * columns + inverse[0, 1] * rows + inverse[0, 2]) / side - 0.5
    v = (inverse[1, 0] * columns + inverse[1, 1] * rows + inverse[1, 2]) / side - 0.5
    basis = np.stack([np.ones_like(u), u, v, u * u + v * v], axis=-1)  # the gain's terms, at each pixel inside
    x, y = (np.take(image.reshape(-1, 3), at, axis=0).T.astype(np.float64) for image in (a, b))  # (channel, pixel)
    sampled_x, sampled_y = x[:, ::FIT_STRIDE], y[:, ::FIT_STRIDE]  # five numbers a channel need few pixels
    sample = np.concatenate([basis[None, ::FIT_STRIDE] * sampled_x[..., None], np.ones((*sampled_x.shape, 1))],
                            axis=-1)  # (channel, pixel, 5)
    keep = np.ones(sampled_y.shape, bool)
    for _ in range(2):  # least squares by the normal equations, the three channels at once
        kept = (sample * keep[..., None]).transpose(0, 2, 1)
        normal = kept @ sample
        normal += np.eye(5) * (1e-9 * np.trace(normal, axis1=1, axis2=2) + 1e-9)[:, None, None]  # a flat channel
        coefficients = np.linalg.solve(normal, kept @ sampled_y[..., None])[..., 0]
        error = np.abs((sample @ coefficients[..., None])[..., 0] - sampled_y)
        keep = error <= np.percentile(error, 85, axis=1, keepdims=True)
    fitted = (coefficients[:, :4] @ basis.T) * x + coefficients[:, 4:]
    residual = np.zeros(side * side, np.float32)
    residual[at] = channel_mean((y - fitted).T)
    return residual.reshape(side, side)


def _count_blocks(a: np.ndarray, b: np.ndarray, residual: np.ndarray, inside: np.ndarray,
                  overlay_first: bool) -> Moment:
    side = a.shape[0]
    blocks, block = BLOCKS, side // BLOCKS

    def tiled(values: np.ndarray) -> np.ndarray:
        return values.reshape(blocks, block, blocks, block, *values.shape[2:]).swapaxes(1, 2).reshape(
            blocks * blocks, block * block, *values.shape[2:])

    full = tiled(inside).all(axis=1)
    grey_b = channel_mean(b)
    errors, grey_a, colours_b = tiled(np.abs(residual)), tiled(channel_mean(a)), tiled(b)
    content = full & ((grey_a.std(axis=1) > 3) | (tiled(grey_b).std(axis=1) > 3)
                      | (errors.mean(axis=1) > CHANGED_LEVEL))
    changed = content & (errors.mean(axis=1) > CHANGED_LEVEL)
    colours_a = tiled(a)
    overlaid = np.zeros(len(changed), bool)
    over, under = (colours_a, colours_b) if overlay_first else (colours_b, colours_a)
    overlaid[changed] = _overlaid(over[changed], under[changed], errors[changed])
    banded = _banded(changed, content, blocks)
    overlaid |= banded
    moment = _moment(content, changed, overlaid, np.zeros_like(changed))
    if not moment.same:  # two moments already, whatever moved: no need to look for moves
        return moment
    slid = _shifted(grey_b - residual, grey_b, errors.mean(axis=1), content)
    # a band across the picture is an edit, whose letters look like each other: not a part that moved
    moved = _moved(grey_b - residual, grey_b, (changed & ~banded).reshape(blocks, blocks), inside) | slid
    moment = _moment(content, changed, overlaid, moved, slid)
    if not moment.same:
        return moment
    slid |= _copied(grey_b - residual, grey_b, content & (errors.mean(axis=1) > SHIFT_LEVEL))
    return _moment(content, changed, overlaid, moved | slid, slid)


def _moment(content: np.ndarray, changed: np.ndarray, overlaid: np.ndarray, moved: np.ndarray,
            slid: np.ndarray | None = None) -> Moment:
    return Moment(int(content.sum()), int((changed & ~overlaid & ~moved).sum()), int((overlaid & ~moved).sum()),
                  moved=int(moved.sum()), slid=0 if slid is None else int(slid.sum()))


def _banded(changed: np.ndarray, content: np.ndarray, blocks: int) -> np.ndarray:
    """The changed blocks of a band laid across the top or the bottom of the picture (a caption, meme text): in
    the rows from the first or last compared row to the farthest one mostly changed, within BAND_SHARE of them."""
    changed, content = changed.reshape(blocks, blocks), content.reshape(blocks, blocks)
    rows = np.flatnonzero(content.any(axis=1))
    banded = np.zeros_like(changed)
    if not len(rows):
        return banded.reshape(-1)
    height = max(1, int(np.ceil(BAND_SHARE * (rows[-1] - rows[0] + 1))))
    wide = changed.sum(axis=1) >= BAND_WIDTH * np.maximum(content.sum(axis=1), 1)
    top = np.flatnonzero(wide[rows[0]:rows[0] + height])
    if len(top):
        banded[rows[0]:rows[0] + top[-1] + 1] = changed[rows[0]:rows[0] + top[-1] + 1]
    bottom = np.flatnonzero(wide[rows[-1] + 1 - height:rows[-1] + 1])
    if len(bottom):
        start = rows[-1] + 1 - height + bottom[0]
        banded[start:rows[-1] + 1] = changed[start:rows[-1] + 1]
    return banded.reshape(-1)


def _moved(a: np.ndarray, b: np.ndarray, changed: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Which changed blocks belong to a part of the picture that moved: a connected run of them whose content in
    one image (grey, `a` with b's tones) the other shows elsewhere, as a burst frame shows a person who stepped
    aside. An overlay is new content, found nowhere. (blocks × blocks) bool, flattened."""
    import cv2

    count, regions = cv2.connectedComponents(changed.astype(np.uint8), connectivity=4)
    moved = np.zeros(changed.shape, bool)
    side = a.shape[0]
    block = side // BLOCKS
    for region in range(1, count):
        rows, columns = np.nonzero(regions == region)
        top, bottom = rows.min() * block, (rows.max() + 1) * block
        left, right = columns.min() * block, (columns.max() + 1) * block
        if len(rows) < MOVED_MIN_BLOCKS or bottom - top >= side or right - left >= side:
            continue
        if inside[top:bottom, left:right].all() and any(
                _found_elsewhere(image, part[top:bottom, left:right], (top, left))
                for image, part in ((a, b), (b, a))):
            moved[regions == region] = True
    return moved.reshape(-1)


def _shifted(a: np.ndarray, b: np.ndarray, levels: np.ndarray, searched: np.ndarray) -> np.ndarray:
    """Which blocks show what the other picture shows a few pixels away: a part that moved by less than the
    connected regions of `_moved` can tell, or too little changed for a block to count as changed. Each
    `searched` block left with more than SHIFT_LEVEL (`levels`: its mean residual) is looked for, with half a
    block around it and its mean removed, within SHIFT_REACH pixels in the other picture (both ways); it moved
    when it fits at least SHIFT_AWAY off far better than in place, about as well as the pair's blocks fit
    (SHIFT_FLOOR), far better than unrelated texture would (SHIFT_TEXTURE), and a 4-neighbour block moved by
    about as much. Fewer than SHIFTED_BLOCKS such blocks are noise. (blocks × blocks) bool, flattened."""
    side = a.shape[0]
    block = side // BLOCKS
    margin = block // 2
    floor = max(2 * float(np.median(levels[searched])) if searched.any() else 0.0, SHIFT_FLOOR)
    shifts = np.full((BLOCKS, BLOCKS, 2, 2), np.nan)  # (rows, columns) of a block's move, found from b or from a
    for index in np.flatnonzero(searched & (levels > SHIFT_LEVEL)):
        row, column = divmod(int(index), BLOCKS)
        top, left, size = row * block - margin, column * block - margin, block + 2 * margin
        if top < 0 or left < 0 or top + size > side or left + size > side:
            continue
        for way, (source, target) in enumerate(((b, a), (a, b))):
            shifts[row, column, way] = _shift(source[top:top + size, left:left + size], target, (top, left), floor)
    padded = np.pad(shifts, ((1, 1), (1, 1), (0, 0), (0, 0)), constant_values=np.nan)
    agreed = np.zeros((BLOCKS, BLOCKS), bool)
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        neighbour = padded[1 + dy:1 + dy + BLOCKS, 1 + dx:1 + dx + BLOCKS]
        agreed |= (np.abs(shifts - neighbour) <= SHIFT_AGREE).all(axis=-1).any(axis=-1)  # NaN agrees with nothing
    return (agreed if agreed.sum() >= SHIFTED_BLOCKS else np.zeros_like(agreed)).reshape(-1)


def _shift(patch: np.ndarray, image: np.ndarray, at: tuple[int, int], floor: float) -> tuple[float, float]:
    """The shift (rows, columns) by which `patch`, taken from `at` in the other picture, moved in `image`, as
    `_shifted` tells it; NaNs when it did not."""
    import cv2

    size = patch.shape[0]
    template = np.ascontiguousarray(patch, np.float32)
    own = float(template.var()) * template.size
    if own < FLAT_PART ** 2 * template.size:
        return np.nan, np.nan
    region, rows, columns = _near(image, at, size)
    # the squared difference of the patch and each window, both less their means: |p|^2 + |w|^2 - 2 p.w
    cross = cv2.matchTemplate(region, template, cv2.TM_CCOEFF)
    height, width = cross.shape
    sums, squares = (cv2.boxFilter(values, -1, (size, size), normalize=False, anchor=(0, 0),
                                   borderType=cv2.BORDER_CONSTANT)[:height, :width] for values in (region, region ** 2))
    differences = own + squares - sums ** 2 / template.size - 2 * cross
    in_place = float(differences[-rows[0, 0], -columns[0, 0]])
    differences[np.hypot(rows, columns) < SHIFT_AWAY] = np.inf
    best = np.unravel_index(int(np.argmin(differences)), differences.shape)
    found = float(differences[best])
    if found < SHIFT_FIT * in_place and found < SHIFT_TEXTURE * own and found < floor ** 2 * template.size:
        return float(rows[best[0], 0]), float(columns[0, best[1]])
    return np.nan, np.nan


def _copied(a: np.ndarray, b: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Which changed blocks show content the other picture holds a few pixels away (within SHIFT_REACH): a part
    pasted or shifted from nearby, as the next frame of a shot shows, where an overlay is content found nowhere.
    A block, with half a block around it, counts when it correlates with the other picture off its place
    (COPIED_MATCH) far better than in place (COPIED_GAIN) and than with its own picture near it (COPIED_OWN): an
    edge, a stripe or a flat part is found off its place in any picture. (blocks × blocks) bool, flattened."""
    side = a.shape[0]
    block = side // BLOCKS
    margin = block // 2
    copied = np.zeros(BLOCKS * BLOCKS, bool)
    for index in np.flatnonzero(changed):
        row, column = divmod(int(index), BLOCKS)
        top, left, size = row * block - margin, column * block - margin, block + 2 * margin
        if top < 0 or left < 0 or top + size > side or left + size > side:
            continue
        for source, target in ((b, a), (a, b)):
            patch = source[top:top + size, left:left + size]
            if patch.std() < FLAT_PART:
                continue
            in_place, found = _correlations(patch, target, (top, left))
            if (found >= COPIED_MATCH and found - in_place >= COPIED_GAIN
                    and found - _correlations(patch, source, (top, left))[1] >= COPIED_OWN):
                copied[index] = True
                break
    return copied if copied.sum() >= COPIED_BLOCKS else np.zeros_like(copied)


def _correlations(patch: np.ndarray, image: np.ndarray, at: tuple[int, int]) -> tuple[float, float]:
    """The normalised correlation of `patch` with `image` at `at`, and the best within SHIFT_REACH pixels of it
    and at least SHIFT_AWAY off it."""
    import cv2

    region, rows, columns = _near(image, at, patch.shape[0])
    correlation = cv2.matchTemplate(region, np.ascontiguousarray(patch, np.float32), cv2.TM_CCOEFF_NORMED)
    in_place = float(correlation[-rows[0, 0], -columns[0, 0]])
    correlation[np.hypot(rows, columns) < SHIFT_AWAY] = -1.0
    return in_place, float(correlation.max())


def _near(image: np.ndarray, at: tuple[int, int], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of `image` a patch of `size` pixels taken from `at` is looked for in (within SHIFT_REACH pixels,
    float32), and the offsets from `at`, rows and columns, of each place `cv2.matchTemplate` tries in it."""
    side = image.shape[0]
    top, left = max(at[0] - SHIFT_REACH, 0), max(at[1] - SHIFT_REACH, 0)
    bottom, right = min(at[0] + size + SHIFT_REACH, side), min(at[1] + size + SHIFT_REACH, side)
    region = np.ascontiguousarray(image[top:bottom, left:right], np.float32)
    rows, columns = np.ogrid[top - at[0]:bottom - size + 1 - at[0], left - at[1]:right - size + 1 - at[1]]
    return region, rows, columns


def _found_elsewhere(image: np.ndarray, part: np.ndarray, at: tuple[int, int]) -> bool:
    """Whether `part`, taken from `at` in the other image, fits `image` more than a block away from `at`."""
    import cv2

    if part.std() < FLAT_PART or ((part < 40) | (part > 215)).mean() >= 0.5:
        return False  # flat, or mostly white or black: as like a band or text laid over as a moved part
    squared = cv2.matchTemplate(image.astype(np.float32), part.astype(np.float32), cv2.TM_SQDIFF)
    in_place = float(squared[at])
    rows, columns = np.ogrid[0:squared.shape[0], 0:squared.shape[1]]
    block = image.shape[0] // BLOCKS
    away = (np.abs(rows - at[0]) > block) | (np.abs(columns - at[1]) > block)
    best = float(squared[away].min()) if away.any() else np.inf
    return best < MOVED_FIT * in_place and best < MOVED_TEXTURE * float(part.var()) * part.size


def _overlaid(member: np.ndarray, original: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Whether each changed block's changed pixels look laid over the picture: white or black (text and its
    outline), one flat colour (a band, a logo), or the picture pulled towards white or black by one amount (a
    semi-transparent watermark). Blocks × pixels (× channels) in, one bool a block out."""
    strong = errors > CHANGED_LEVEL
    count = strong.sum(axis=1)
    weights = strong / np.maximum(count, 1)[:, None]  # the mean over a block's strong pixels

    def mean(values: np.ndarray) -> np.ndarray:
        return np.einsum("bp,bp...->b...", weights, values)

    def deviation(values: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(mean(values * values) - mean(values) ** 2, 0))

    spread_m, spread_o = member.max(axis=2) - member.min(axis=2), original.max(axis=2) - original.min(axis=2)
    # white, black and the greys where their edges blend (text and its outline), unless the picture is grey too
    grey = (spread_m < GREY_SPREAD) & (spread_o >= GREY_SPREAD)
    extreme = (member.min(axis=2) > 215) | (member.max(axis=2) < 40) | grey
    found = (mean(extreme.astype(np.float32)) >= OVERLAY_SHARE) | (deviation(member).max(axis=1) < FLAT_OVERLAY)
    for target in (255.0, 0.0):
        pull = target - original
        alpha = ((member - original) * pull).sum(axis=2) / np.maximum((pull * pull).sum(axis=2), 1.0)
        found |= (mean(alpha) > 0.2) & (deviation(alpha) < WATERMARK_SPREAD)
    return found & (count >= 2)


@dataclass(frozen=True, slots=True)
class LocalMatch:
    """A candidate of the local search confirmed by `fit`: image b's features onto image a's (or a's mirror
    image's). Whether the two are one moment is decided when a group is made, keeper against member."""

    a: int
    b: int
    fit: Fit
    duplicate: bool = True


FeaturesOf = Callable[[int, bool], Features]  # an image row's features, or its mirror image's
FitMemo = MutableMapping[tuple[int, int, bool], Fit | None]  # `fitted` by its rows a, b and mirrored
MomentMemo = MutableMapping[tuple[int, int, bool], Moment]  # `moment_check`s of fits, by their rows and mirrored
Task = Callable[[], object]  # work on arrays alone, which pickles: it may run in another process
RunTasks = Callable[[Sequence[Task]], Iterable[tuple[int, object]]]  # (index, answer) of tasks run elsewhere (on
# worker processes), in any order; a task it gives no answer for is run here
_UNKNOWN = object()
Answer = TypeVar("Answer")
LOCAL_CHUNK = 256  # candidates ahead whose fits are run together elsewhere, those needed if every fit confirms


@dataclass(frozen=True, slots=True)
class FitTask:
    """`fit` of one pair's features, a `Task`."""

    a: Features
    b: Features
    mirrored: bool

    def __call__(self) -> Fit | None:
        return fit(self.a, self.b, self.mirrored)


@dataclass(frozen=True, slots=True)
class MomentTask:
    """`moment_check` of two pictures, a `Task`."""

    thumb_a: np.ndarray
    thumb_b: np.ndarray
    matrix: np.ndarray
    coarsest: float

    def __call__(self) -> Moment:
        return moment_check(self.thumb_a, self.thumb_b, self.matrix, self.coarsest)


def fit_task(features_of: FeaturesOf, a: int, b: int, mirrored: bool) -> FitTask:
    """The `fit` of image row b's features onto row a's (or its mirror image's), as a task."""
    return FitTask(features_of(a, mirrored), features_of(b, False), mirrored)


def run_all(run: RunTasks, tasks: Sequence[Callable[[], Answer]]) -> list[Answer]:
    """Each task's answer, in order: from `run`, or worked out here where `run` gave none."""
    answers: list[Any] = [_UNKNOWN] * len(tasks)
    for index, answer in run(tasks):
        answers[index] = answer
    return [task() if answer is _UNKNOWN else answer for task, answer in zip(tasks, answers, strict=True)]


def fitted(features_of: FeaturesOf, a: int, b: int, mirrored: bool, memo: FitMemo | None = None) -> Fit | None:
    """`fit` of image row b's features onto row a's (or its mirror image's), taken from `memo` when it holds it,
    put in it when not."""
    found = _UNKNOWN if memo is None else memo.get((a, b, mirrored), _UNKNOWN)
    if found is _UNKNOWN:
        found = fit_task(features_of, a, b, mirrored)()
        if memo is not None:
            memo[a, b, mirrored] = found
    return found


def verify_local(features_of: FeaturesOf, candidates: np.ndarray, linked: Linked,
                 on_progress: Callable[[int], None] = lambda _: None, fits: FitMemo | None = None,
                 run: RunTasks | None = None) -> list[LocalMatch]:
    """The candidates (rows a, b, mirrored) that `fit` confirms, but for pairs already `linked` (directly or
    through other links): those need no second proof, and a set of copies needs only enough links to connect.
    Each confirmed pair joins `linked`. `fits` is a memo of `fitted`. With `run`, a fit that is needed and not
    known has those of the next LOCAL_CHUNK candidates that will be needed if each fit confirms run there with it
    (`_fit_ahead`): the same matches and the same fits, those that fail in turn bringing the next run."""
    fits = {} if fits is None and run is not None else fits
    found = []
    candidates = candidates.tolist()
    for position, (a, b, mirrored) in enumerate(candidates):
        on_progress(1)
        if linked.together(a, b):
            continue
        if run is not None and fits is not None and (a, b, bool(mirrored)) not in fits:
            _fit_ahead(features_of, candidates[position:position + LOCAL_CHUNK], linked, fits, run)
        confirmed = fitted(features_of, a, b, bool(mirrored), fits)
        if _confirms(confirmed):
            found.append(LocalMatch(a, b, confirmed))
            linked.join(a, b)
    return found


def _confirms(found: Fit | None) -> bool:
    return found is not None and not found.two_moments


def _fit_ahead(features_of: FeaturesOf, candidates: list[list[int]], linked: Linked, fits: FitMemo,
               run: RunTasks) -> None:
    """The fits `verify_local` will need of these candidates if each fit it lacks confirms, run together by `run`,
    into `fits`: every one is needed (a fit that fails links less than assumed, never more)."""
    assumed, keys = Assumed(linked), []
    for a, b, mirrored in candidates:
        key = (a, b, bool(mirrored))
        if assumed.together(a, b) or (key in fits and not _confirms(fits[key])):
            continue
        if key not in fits:
            keys.append(key)
        assumed.join(a, b)
    for key, answer in zip(keys, run_all(run, [fit_task(features_of, *key) for key in keys]), strict=True):
        fits[key] = answer


def window_matrix(box_a: Box, box_b: Box) -> np.ndarray:
    """The (2, 3) matrix carrying window `box_b` of b's frame onto window `box_a` of a's, axis by axis."""
    scale_x = (box_a[2] - box_a[0]) / max(box_b[2] - box_b[0], 1e-9)
    scale_y = (box_a[3] - box_a[1]) / max(box_b[3] - box_b[1], 1e-9)
    return np.array([[scale_x, 0, box_a[0] - box_b[0] * scale_x], [0, scale_y, box_a[1] - box_b[1] * scale_y]])


def inverted(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
