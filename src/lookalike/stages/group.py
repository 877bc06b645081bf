"""Stage 7, group: gather confirmed matches into groups, choose a keeper, say how each member relates to it.

Guarantees:
- every member of a group matches the group's keeper directly (confirmed on the pixels), never only through a
  chain of other members: a~b and b~c with a≁c never put a and c in one group;
- each file is in at most one group, and a group has at least two files;
- `exact` groups hold byte-identical files only; `near` groups hold at least two different contents;
- the keeper is the best copy under `keep`'s default rule (the original rather than an enlargement, the least
  recompressed, the one with the camera's metadata; then the largest file, the oldest, the first path).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence, Set
from dataclasses import MISSING, dataclass, field, fields
from functools import partial
from typing import Any

import numpy as np

from lookalike.stages.geometry import (
    FeaturesOf,
    Fit,
    FitMemo,
    LocalMatch,
    Moment,
    MomentMemo,
    MomentTask,
    RunTasks,
    Task,
    channel_mean,
    clipped,
    compared_share,
    fit_task,
    frame_box,
    frame_extent,
    inverted,
    run_all,
    window_matrix,
)
from lookalike.stages.images import FilesOfImages, ImageTable, Pictures
from lookalike.stages.keep import ALL_TIED, FILE_RULES, Companion, Earlier, Scanned, best_first, file_reason
from lookalike.stages.search import Candidate, Candidates, CandidatesByPair
from lookalike.stages.signatures import (
    ABOVE_CAPTION,
    CONTENT,
    INVERSE,
    ORIENTATIONS,
    WHOLE,
    WHOLE_BOX,
    WINDOWS,
    Box,
    content_boxes,
    orient,
    resample,
    window_box,
)
from lookalike.stages.tones import most_shared_tone
from lookalike.stages.verify import NORMAL, Evidence, Match, Strictness, verified
from lookalike.stages.walk import FileRecords

KEEPER = "keeper"
SAME_BYTES = "bytes"
SAME_PIXELS = "pixels"
NEAR = "near"
SIMILAR_MATCH = "similar"
Affine = tuple[tuple[float, ...], ...]  # the rows of a (2, 3) matrix


@dataclass(frozen=True, slots=True)
class Member:
    file: int  # index into the scan's files
    match: str  # KEEPER, SAME_BYTES, SAME_PIXELS or NEAR
    relation: str  # in words, relative to the keeper
    distance: float  # perceptual hash bits apart from the keeper, in the best orientation (RMS: --method histogram)
    box: Box | None = None  # where the member's frame lies in the keeper's, as fractions of it, when fitted
    matrix: Affine | None = None  # (2, 3) rows carrying fractions of the member's frame onto the keeper's, when fitted


@dataclass(frozen=True, slots=True)
class Group:
    kind: str  # "exact" or "near"
    members: tuple[Member, ...]  # the keeper first
    reason: str | None = None  # why the keeper, where grouping worked it out: of files of one content and no
    # companions, which differ in what FILE_RULES weigh alone; None: `keep.keeper_reason` tells

    @property
    def keeper(self) -> int:
        return self.members[0].file


def build_groups(
    files: FileRecords,
    image_of_file: Sequence[int],
    images: ImageTable,
    matches: Iterable[Match],
    candidates: Candidates,
    strictness: Strictness = NORMAL,
    apart: Set[tuple[int, int]] = frozenset(),
    evidence: MutableMapping[Candidate, Evidence] | None = None,
    features_of: FeaturesOf | None = None,
    pictures: Pictures | None = None,
    fits: FitMemo | None = None,
    moments: MomentMemo | None = None,
    resaved: Mapping[int, Earlier] | None = None,
    window_moments: WindowMomentMemo | None = None,
    run: RunTasks | None = None,
) -> list[Group]:
    """Groups of files that are the same picture; `image_of_file[f]` is file f's row in `images`.

    Only duplicate matches link images. A member not linked to its keeper by a match is verified against it
    directly, at `strictness`, under the alignments the search proposed for the pair (`candidates`, in the
    search's order). `apart` holds pairs of rows (lower, higher) a person said are different pictures: never
    grouped together. `evidence` is verification's memo (`verify.verified`), `fits` the local fits' (`fitted`),
    `moments` the moment checks' of those fits, by keeper, member and mirrored, `window_moments` those of matches
    of windows; `resaved` the JPEGs re-saved from another's (`keeper_order`). `run` runs the fits and moment
    checks of the pairs weighed together (a keeper's against the others) at once, elsewhere (`_Relations.ahead`);
    the groups are the same without it.
    """
    files_of_image = FilesOfImages(image_of_file)
    links = _links(match for match in matches if match.duplicate)
    rank = keeper_order(files, image_of_file, images, resaved=resaved)
    direct = _DirectMatches(images, CandidatesByPair(candidates), strictness, evidence, features_of, pictures,
                            {} if fits is None else fits, {} if moments is None else moments,
                            {} if window_moments is None else window_moments, run)
    groups: list[Group] = []
    worth_grouping = {*links, *files_of_image.shared().tolist()}  # linked, or held by several files
    for component in _components(worth_grouping, links):
        groups.extend(_split_at_keepers(component, files_of_image, image_of_file, links, rank, apart, direct))
    groups.sort(key=lambda group: files.path(group.keeper))
    return groups


def identical_groups(
    files: FileRecords,
    image_of_file: Sequence[int],
    images: ImageTable,
    by_pixels: bool = False,
    apart: Set[tuple[int, int]] = frozenset(),
) -> list[Group]:
    """Groups of byte-identical files (--method bytes) or, `by_pixels`, of files whose images have the same
    `pixel_hash` (--method pixels): no search, no verification, the keeper chosen as `build_groups` does. A file
    whose row is negative (never read: no other file has its size) is in none; `apart` as in `build_groups`."""
    files_of_image = FilesOfImages(image_of_file)
    if not by_pixels:  # each content held by several files is one group: nothing to split, nothing to verify
        return _identical_bytes(files, files_of_image.shared_files())
    rank = keeper_order(files, image_of_file, images)
    _, same_pixels = np.unique(images.pixel_hash.packed, return_inverse=True)
    by_hash: dict[int, set[int]] = defaultdict(set)
    for row, pixels in enumerate(same_pixels.tolist()):
        by_hash[pixels].add(row)
    worth_grouping = set(files_of_image.shared().tolist())
    components = (rows for rows in by_hash.values() if len(rows) > 1 or not rows.isdisjoint(worth_grouping))
    never = _DirectMatches(images, CandidatesByPair(Candidates.of()), NORMAL, None)  # no pair but equal pixels
    groups = [group for component in components
              for group in _split_at_keepers(component, files_of_image, image_of_file, {}, rank, apart, never)]
    groups.sort(key=lambda group: files.path(group.keeper))
    return groups


@dataclass(frozen=True)
class _FileColumns:
    """The fields `keep.FILE_RULES` weigh, of many files, as arrays: each rule's key of every file at once."""

    mtime_ns: np.ndarray
    size: np.ndarray
    path: np.ndarray  # each path's rank among them, which sorts as the paths do


def _identical_bytes(files: FileRecords, held: list[list[int]]) -> list[Group]:
    """A group of the files of each content `held` (lists of files, ascending), by their keepers' paths. Files of
    one content with no companions tie on every rule of `keep.BEST` but FILE_RULES: those rank them and say why
    the keeper, for all groups at once in NumPy (a scan of 100,000 files may have tens of thousands of groups)."""
    counts = np.array([len(same) for same in held], np.int64)
    flat = [file for same in held for file in same]
    paths = [files.path(file) for file in flat]
    path_rank = np.empty(len(paths), np.int64)
    path_rank[sorted(range(len(paths)), key=paths.__getitem__)] = np.arange(len(paths))
    identities = files.identities()[flat]
    keys = [key(_FileColumns(identities[:, 3], identities[:, 2], path_rank)) for key, _ in FILE_RULES]
    order = np.lexsort([*reversed(keys), np.repeat(np.arange(len(held)), counts)])  # by group, then by the rules
    starts = np.cumsum(counts) - counts
    keepers, runners_up = order[starts], order[starts + 1]
    differs = np.array([key[keepers] != key[runners_up] for key in keys]).reshape(len(keys), len(held))
    first = np.where(differs.any(axis=0), differs.argmax(axis=0), -1).tolist()
    reasons = [file_reason(FILE_RULES[rule][1]) if rule >= 0 else ALL_TIED for rule in first]
    keeper_files = [flat[at] for at in keepers.tolist()]
    return [Group("exact", _identical_members([keeper_files[number], *(f for f in held[number]
                                                                        if f != keeper_files[number])]),
                  reasons[number])
            for number in np.argsort(path_rank[keepers], kind="stable").tolist()]


GREYS_HELD = 512  # grey pictures held by grouping: 32 MB


@dataclass
class _DirectMatches:
    """Verification of a pair of images the matches do not link, under the alignments the search proposed."""

    images: ImageTable
    candidates: CandidatesByPair
    strictness: Strictness
    evidence: MutableMapping[Candidate, Evidence] | None
    features_of: FeaturesOf | None = None
    pictures: Pictures | None = None  # the moment check's pictures by row; the thumbnails where there are none
    fits: FitMemo = field(default_factory=dict)
    moments: MomentMemo = field(default_factory=dict)
    window_moments: WindowMomentMemo = field(default_factory=dict)
    run: RunTasks | None = None
    matched: dict[tuple[int, int], Match | None] = field(default_factory=dict)
    greys: dict[int, np.ndarray] = field(default_factory=dict)  # `grey_picture`s, each made once
    deferred: dict[tuple[int, tuple], tuple[MutableMapping, tuple, Task]] | None = None  # while `_Relations.ahead`
    # goes round: the tasks the pairs wait for, by memo and key

    def compared(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """The two images' pictures for the moment check, or their thumbnails unless both have one."""
        if self.pictures is not None:
            picture_a, picture_b = self.pictures[a], self.pictures[b]
            if picture_a is not None and picture_b is not None:
                return picture_a, picture_b
        return self.images.thumbs[a], self.images.thumbs[b]

    def size(self, image: int) -> tuple[int, int]:
        """The image's width and height in pixels."""
        return int(self.images.width[image]), int(self.images.height[image])

    def grey_picture(self, image: int) -> np.ndarray:
        """The image's picture for the moment check (its thumbnail when it has none), grey, as float32."""
        if image not in self.greys:
            if len(self.greys) >= GREYS_HELD:  # grouping goes a set of copies at a time: the oldest is done with
                del self.greys[next(iter(self.greys))]
            picture = self.pictures[image] if self.pictures is not None else None
            self.greys[image] = channel_mean((self.images.thumbs[image] if picture is None else picture).astype(
                np.float32))
        return self.greys[image]

    def worked_out(self, memo: MutableMapping, key: tuple, make: Callable[[], Task]) -> Any:
        """memo[key]; when it holds none, the answer of the task `make` makes, kept there; but while `deferred`
        is a dict, the task is put there instead, and the answer is _DEFERRED."""
        found = memo.get(key, _DEFERRED)
        if found is not _DEFERRED:
            return found
        if self.deferred is not None:
            self.deferred[id(memo), key] = (memo, key, make())
            return _DEFERRED
        found = memo[key] = make()()
        return found

    def local_fit(self, keeper: int, image: int) -> Fit | None:
        """The fit of the image's features onto the keeper's (or its mirror image's) with the most inliers."""
        if self.features_of is None:
            return None
        fits = [self.worked_out(self.fits, (keeper, image, mirrored),
                                partial(fit_task, self.features_of, keeper, image, mirrored))
                for mirrored in (False, True)]
        _settled(*fits)
        return max((f for f in fits if f is not None), key=lambda f: f.inliers, default=None)

    def same_moment(self, keeper: int, image: int, fitted: Fit) -> Moment:
        """`moment_check` of the keeper and the image aligned by `fitted` (theirs, from `local_fit`)."""
        return _settled(self.worked_out(self.moments, (keeper, image, fitted.mirrored),
                                        partial(self._fit_moment_task, keeper, image, fitted)))

    def _fit_moment_task(self, keeper: int, image: int, fitted: Fit) -> MomentTask:
        """`same_moment`'s check, as a task."""
        keeper_picture, picture = self.compared(keeper, image)
        return MomentTask(keeper_picture[:, ::-1] if fitted.mirrored else keeper_picture, picture, fitted.matrix,
                          coarsest(self.images, keeper, image, len(picture)))

    def match(self, a: int, b: int) -> Match | None:
        """The first alignment of a and b that verification confirms, if any; each pair is verified once."""
        pair = (min(a, b), max(a, b))
        if pair not in self.matched:
            self.matched[pair] = self._first_confirmed(*pair)
        return self.matched[pair]

    def _first_confirmed(self, a: int, b: int) -> Match | None:
        for candidate in self.candidates.between(a, b, self.strictness.radius):
            found = verified(self.images, candidate, self.strictness, self.evidence)
            if found.passes(self.strictness):
                return Match(candidate, found)
        return None


_DEFERRED = object()  # what `_DirectMatches.worked_out` answers for a task it put aside


class _Deferred(Exception):
    """A pair's relation waits for a task put aside (`_Relations.ahead`)."""


def _settled(*answers: Any) -> Any:
    """The first answer, once none is _DEFERRED; else _Deferred is raised."""
    if any(answer is _DEFERRED for answer in answers):
        raise _Deferred
    return answers[0]


def _identical_members(ranked: Sequence[int]) -> tuple[Member, ...]:
    """Byte-identical files as members: the first of them (in keeper order) the keeper, the others by index."""
    return (Member(ranked[0], KEEPER, "", 0),
            *(Member(f, SAME_BYTES, "identical bytes", 0) for f in sorted(ranked[1:])))


def matched_rows(match: Match | LocalMatch) -> tuple[int, int]:
    """The image rows a match links."""
    return (match.a, match.b) if isinstance(match, LocalMatch) else (match.candidate.a, match.candidate.b)


def _links(matches: Iterable[Match | LocalMatch]) -> dict[int, dict[int, Match | LocalMatch]]:
    links: dict[int, dict[int, Match | LocalMatch]] = defaultdict(dict)
    for match in matches:
        a, b = matched_rows(match)
        links[a][b] = match
        links[b][a] = match
    return links


def _components(starts: Iterable[int], links: dict[int, dict[int, Match | LocalMatch]]) -> Iterable[set[int]]:
    """The connected sets of images (through `links`) that hold the `starts`."""
    seen: set[int] = set()
    for start in sorted(starts):
        if start in seen:
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
    files_of_image: FilesOfImages,
    image_of_file: Sequence[int],
    links: dict[int, dict[int, Match | LocalMatch]],
    rank: Callable[[Sequence[int]], list[int]],
    apart: Set[tuple[int, int]],
    direct: _DirectMatches,
) -> Iterable[Group]:
    """Take the keeper that the most images match directly, keep those images, and start over with the rest.

    The original of a set of copies is what every copy was made from, so it matches more of them than any copy
    does (a crop misses another crop, a captioned copy a clean one); `rank` (the keep rule) breaks ties. The rest
    are tried against each other again even without a link among them: verification links only enough pairs to
    connect a set of copies, so two copies may be linked only through the keeper that both failed to match.
    """
    remaining = set(component)
    relations = _Relations(links, direct, apart)
    while remaining:
        keeper_image = _best_keeper(remaining, relations, files_of_image, rank)
        remaining.discard(keeper_image)
        related = relations.of(keeper_image, remaining)
        first = keeper_image
        keeper_image, related = _promoted(keeper_image, related, relations, files_of_image, rank,
                                          direct.grey_picture, direct.images.thumbs.__getitem__, direct.size)
        remaining -= related.keys() | {keeper_image}
        if keeper_image != first:  # the keeper handed on may match images the first one did not
            related |= relations.of(keeper_image, remaining)
            remaining -= related.keys()
        members = list(_identical_members(rank(files_of_image[keeper_image])))
        for image, relation in sorted(related.items()):
            members += [Member(f, *relation) for f in sorted(files_of_image[image])]
        if len(members) > 1:
            kind = "exact" if all(m.match in (KEEPER, SAME_BYTES) for m in members) else "near"
            yield Group(kind, tuple(members))
        if len(remaining) == 1 and len(files_of_image[next(iter(remaining))]) == 1:
            break  # a lone image left: nothing to group it with


Relation = tuple[str, str, int, Box | None, Affine | None]  # match, in words, distance, box, matrix (`Member`)
WHOLE_MARGIN = 0.02  # a box this close to the whole frame, on every side, shows all of the keeper's picture


def _promoted(keeper: int, related: dict[int, Relation], relations: _Relations, files_of_image: FilesOfImages,
              rank: Callable[[Sequence[int]], list[int]], picture: Callable[[int], np.ndarray],
              colour: Callable[[int], np.ndarray], size: Callable[[int], tuple[int, int]],
              ) -> tuple[int, dict[int, Relation]]:
    """The keeper and its members' relations, the keeper handed to the image the keep rule prefers among those that
    hold the most of the others' frames (re-saved, resized, turned, with noise or a filter: the original, or the one
    a cropped keeper was cut from; not a copy with a border the container test missed, nor a copy straightened and
    framed round: `_holds`), once the images that only add around another's picture (a band, a border, a screen's
    interface: `_containers`) are left out: a copy that matched more members than its original does is then kept as
    a member of it; one of them that does not relate back to the keeper, directly or through another of them, is
    passed over for the next. Members the new keeper does not match directly are related through the old one, but
    for those it shows a part of its picture slid in (`_Relations.two_moments`) or compares more closely than the
    old one did (`_Relations.seen_finer`): they leave the group; the old one itself, which the new one matched from
    its side, is related to it even where the moment check seen from the new one doubts it (text laid over one copy
    reads differently from either side; a keeper of another tone than the copies holding as much, filtered, may read
    as parts moved). A copy stretched one way is passed over for those of the shape most of them share
    (`_most_shared_shape`). `picture`: an image's grey picture (`_DirectMatches.grey_picture`), `colour`: its RGB
    thumbnail, `size`: its width and height in pixels. A set of more than PROMOTED_MOST images keeps its keeper."""
    images = [keeper, *related]
    if len(images) > PROMOTED_MOST:
        return keeper, related
    to_keeper = {image: _matrix(relation) for image, relation in related.items()}
    to_keeper[keeper] = np.eye(3)
    from_keeper = {image: np.linalg.inv(matrix) for image, matrix in to_keeper.items()}
    onto = {image: {other: from_keeper[image] @ matrix for other, matrix in to_keeper.items()}
            for image in images}  # each image's frame: every other's onto it
    extents = {image: {other: frame_extent(matrix) for other, matrix in frames.items()}
               for image, frames in onto.items()}  # once: the container test weighs each against all others
    inner = [image for image in images if image not in _containers(images, extents, picture)]
    held = {image: sum(_holds(image, other, onto, extents, picture) for other in inner) for image in inner}
    most = max(held.values(), default=0)
    if not inner or (len(inner) > 1 and most < 2):  # no frame holds another's
        return keeper, related
    holding = [image for image in inner if held[image] == most]
    toned = holding
    if len(holding) > 1:  # a filtered copy of the original's frame does not hold more than the original
        toned = most_shared_tone(holding, images, onto, picture, colour)
    filtered = keeper in holding and keeper not in toned
    candidates = _most_shared_shape(toned, size)
    best, back = _related_back(_best_image_order(candidates, files_of_image, rank), keeper, relations, filtered)
    if back is None:
        return keeper, related
    handed = {keeper: back}
    for image, relation in related.items():
        if image == best:
            continue
        direct = relations(best, image)
        if direct is None and (relations.two_moments(best, image) or relations.seen_finer(best, image, relation)):
            continue  # another moment, which a coarser copy hid from the old keeper: left for another group
        handed[image] = direct or _through(relation, back)
    return best, handed


PROMOTED_MOST = 200  # images of a set weighed pair by pair for its keeper
SAME_SHAPE = 1.06  # frames whose shapes (longer side over shorter) differ by less than this factor are alike


def _most_shared_shape(candidates: Sequence[int], size: Callable[[int], tuple[int, int]]) -> list[int]:
    """The candidates of the shape (turned or not) the most of them share (`size`: an image's width and height):
    each shows the others' whole frame, so one of another shape was stretched one way."""
    shapes = {candidate: max(size(candidate)) / max(min(size(candidate)), 1) for candidate in candidates}
    alike = {candidate: sum(max(shape, other) <= SAME_SHAPE * min(shape, other) for other in shapes.values())
             for candidate, shape in shapes.items()}
    most = max(alike.values(), default=0)
    return [candidate for candidate in candidates if alike[candidate] == most]


def _related_back(ranked: Sequence[int], keeper: int, relations: _Relations,
                  filtered: bool = False) -> tuple[int, Relation | None]:
    """The first of `ranked` that is the keeper, or that relates back to it (a copy the keeper matched may not
    be one moment with it, seen from its side: a next frame taken in) directly or through another of `ranked`
    that does and that it relates to (a copy shown small in a screenshot may be found only in its own
    handedness), and that relation (None: the keeper). `filtered`: the keeper is a copy of another tone."""
    before = list(itertools.takewhile(lambda image: image != keeper, ranked))
    for best in before:
        if (back := _back(relations, best, keeper, filtered)) is not None:
            return best, back
        for via in before:
            if via != best and (back := _back(relations, via, keeper, filtered)) is not None \
                    and (to_via := relations(best, via)) is not None:
                return best, _through(back, to_via)
    return keeper, None


def _back(relations: _Relations, image: int, keeper: int, filtered: bool) -> Relation | None:
    """The image's relation to the keeper that matched it, seen from its side (`_related_back`)."""
    return relations(image, keeper) or relations(image, keeper, confirmed=FILTERED if filtered else ONE_WAY)


def _containers(images: Sequence[int], extents: Mapping[int, Mapping[int, Box]],
                picture: Callable[[int], np.ndarray]) -> set[int]:
    """The images that only add around another's picture, which lies inside their frame (`_adds_around`);
    `extents[image][other]` is other's frame carried onto image's (`frame_extent`)."""
    return {image for image in images
            if any(other != image and _within(extents[image][other], WHOLE_BOX)
                   and _adds_around(picture(image), clipped(extents[image][other]), extents[image], image, other)
                   for other in images)}


ADDED_SHARE = 0.45  # a frame whose pixels around another's picture are mostly one colour only adds around it
ADDED_TONE = 4  # grey levels from that colour: a band, a bar or a frame with text on it, not scene
ADDED_AREA = 0.98  # ... when that picture leaves at least this much of the frame around it
ADDED_MARGIN = 1  # pixels of the moment check's picture left out along the box's edges (resampled, blended)


def _holds(image: int, other: int, onto: Mapping[int, Mapping[int, np.ndarray]],
           extents: Mapping[int, Mapping[int, Box]], picture: Callable[[int], np.ndarray]) -> bool:
    """Whether the image's frame holds the other's; not a frame turned a little against it (straightened) that
    its own picture, inside any flat border, lies within: a copy straightened, cut from the other's frame and
    framed round spans that frame with its border alone."""
    if not _within(extents[image][other], WHOLE_BOX):
        return False
    if not _tilted(onto[image][other]):
        return True
    shown = np.vstack([window_matrix(_shown_box(picture(image)), WHOLE_BOX), [0, 0, 1]])  # its picture's box
    return not _within(frame_extent(onto[other][image] @ shown), WHOLE_BOX)


TILTED = 0.012  # the tangent of the least turn (0.7 degrees) that tells a straightened copy (`describe_fit`)


def _tilted(matrix: np.ndarray) -> bool:
    """Whether a matrix between two frames (fractions) turns one against the other other than by quarter turns:
    the tangent of its turn, whatever the frames' shapes, is the root of its skew entries' product over its
    diagonal ones' (or the other way round for a quarter turn)."""
    diagonal, skew = abs(matrix[0, 0] * matrix[1, 1]), abs(matrix[0, 1] * matrix[1, 0])
    return bool(min(diagonal, skew) > TILTED ** 2 * max(diagonal, skew))


def _shown_box(grey: np.ndarray) -> Box:
    """Where a grey picture shows picture: inside any flat border (`content_boxes`)."""
    left, top, right, bottom = content_boxes(np.round(grey).astype(np.uint8)[None, :, :, None])[0].tolist()
    return left, top, right, bottom


def _matrix(relation: Relation) -> np.ndarray:
    """The (3, 3) matrix carrying fractions of a member's frame onto the keeper's."""
    return np.vstack([relation[4] or _IDENTITY, [0, 0, 1]])


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _within(inner: Box, outer: Box) -> bool:
    return (outer[0] <= inner[0] + WHOLE_MARGIN and outer[1] <= inner[1] + WHOLE_MARGIN
            and outer[2] >= inner[2] - WHOLE_MARGIN and outer[3] >= inner[3] - WHOLE_MARGIN)


def _adds_around(grey: np.ndarray, box: Box, in_image: Mapping[int, Box], image: int, inner: int) -> bool:
    """Whether an image (its `grey` picture) is the picture at `box` with something added around it (a caption
    band, a border, a screen's interface): most of its pixels outside the box are one colour, and the group's
    other copies inside its frame (`in_image`: their frames' extents in the image's; `inner`: the one at `box`)
    mostly show nothing there either. Where they do, it is scene, of which the copy at `box` is a crop; a copy whose
    frame holds more than the image's shows nothing of the image's own."""
    if _area(box) >= ADDED_AREA:
        return False
    others = [frame for other, frame in in_image.items() if other not in (image, inner) and _within(frame, WHOLE_BOX)]
    if others and 2 * sum(not _within(other, box) for other in others) >= len(others):
        return False
    rows, columns = grey.shape
    x, y = np.arange(columns) + 0.5, np.arange(rows) + 0.5
    inside_x = (x >= box[0] * columns - ADDED_MARGIN) & (x <= box[2] * columns + ADDED_MARGIN)
    inside_y = (y >= box[1] * rows - ADDED_MARGIN) & (y <= box[3] * rows + ADDED_MARGIN)
    around = grey[~(inside_y[:, None] & inside_x[None, :])]
    if around.size < grey.size * (1 - ADDED_AREA):
        return False
    counts = np.bincount(np.clip(around, 0, 255).astype(np.int64), minlength=256)
    tones = np.convolve(counts, np.ones(2 * ADDED_TONE + 1), "same")
    return bool(tones.max() >= ADDED_SHARE * around.size)


def _through(relation: Relation, copy: Relation) -> Relation:
    """A member's relation to a copy (`copy`: that copy's relation to the keeper), as a relation to the keeper."""
    match, words, distance, _, _ = relation
    to_keeper = _matrix(copy) @ _matrix(relation)
    return match, f"{words}, of a copy ({copy[1]})", distance, frame_box(to_keeper[:2]), _rows(to_keeper[:2])


_IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


KEEPER_TRIES = 4  # images tried as a component's keeper: the best under the keep rule, then the most linked


def _best_keeper(remaining: set[int], relations: _Relations, files_of_image: FilesOfImages,
                 rank: Callable[[Sequence[int]], list[int]]) -> int:
    """The image of `remaining` that the most others match directly, the best under `rank` among equals. Tried:
    the best under `rank` (enough when it matches all the others), then the images verification linked most."""
    if len(remaining) == 1:  # byte-identical files (--method bytes): their one image, unranked
        return next(iter(remaining))
    images = sorted(remaining)
    ranked = _best_image_order(images, files_of_image, rank)
    if len(images) < 3:
        return ranked[0]
    linked = sorted(ranked[1:], key=lambda image: -len(relations.links.get(image, {}).keys() & remaining))
    best, most = ranked[0], -1
    for image in [ranked[0], *linked[:KEEPER_TRIES - 1]]:
        matched = len(relations.of(image, [other for other in images if other != image]))
        if matched > most or (matched == most and ranked.index(image) < ranked.index(best)):
            best, most = image, matched
        if image == ranked[0] and matched == len(images) - 1:
            break
    return best


def _best_image_order(images: Sequence[int], files_of_image: FilesOfImages,
                      rank: Callable[[Sequence[int]], list[int]]) -> list[int]:
    """`images`, the one holding the best file under `rank` first."""
    image_of = {f: image for image in images for f in files_of_image[image]}
    return list(dict.fromkeys(image_of[f] for f in rank(list(image_of))))


ALONE, ONE_WAY, FILTERED = 0, 1, 2  # how a pair is known one moment: by its own check; matched the other way
# round (then nothing may have moved); that, and the image a copy filtered, whose changed tones may read as parts
# moved far (then nothing may have slid a few pixels)


class _Relations:
    """`_relate` of ordered pairs of images, each worked out once; None for pairs a person said are apart."""

    def __init__(self, links: dict[int, dict[int, Match | LocalMatch]], direct: _DirectMatches,
                 apart: Set[tuple[int, int]]) -> None:
        self.links, self.direct, self.apart = links, direct, apart
        self.known: dict[tuple[int, int, int], Relation | object | None] = {}

    def __call__(self, keeper: int, image: int, confirmed: int = ALONE) -> Relation | None:
        """`_relate` of the pair; `confirmed`: how the pair's moment is known to be one (`_accepted`)."""
        found = self._known(keeper, image, confirmed)
        return None if found is _TWO_MOMENTS else found

    def of(self, keeper: int, images: Iterable[int]) -> dict[int, Relation]:
        """The relations of the images (in sorted order) that relate to the keeper, worked out together (`ahead`)."""
        images = sorted(images)
        self.ahead((keeper, image) for image in images)
        return {image: relation for image in images if (relation := self(keeper, image)) is not None}

    def two_moments(self, keeper: int, image: int) -> bool:
        """Whether the image, aligned on the keeper, shows a part of its picture a few pixels off its place:
        another moment, not merely no match."""
        return self._known(keeper, image, False) is _TWO_MOMENTS

    def seen_finer(self, keeper: int, image: int, through: Relation) -> bool:
        """Whether the keeper, fitted to an image it does not relate, compares FINER times more of their
        pictures than the copy the image is related to by `through` did, and the image, as keeper, does not relate
        it either (text laid over one reads differently from either side): a copy that shows the picture small
        (a screenshot, a thumbnail) cannot see what a next frame changed, and the keeper looked closer."""
        fitted = self.direct.local_fit(keeper, image)
        return (fitted is not None and compared_share(fitted.matrix) >= FINER * compared_share(_matrix(through)[:2])
                and self(image, keeper) is None)

    def _known(self, keeper: int, image: int, confirmed: int) -> Relation | object | None:
        if (min(keeper, image), max(keeper, image)) in self.apart:
            return None
        if (keeper, image, confirmed) not in self.known:
            self.known[keeper, image, confirmed] = _relate(keeper, image, self.links, self.direct, confirmed)
        return self.known[keeper, image, confirmed]

    def ahead(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Work out the relations of these (keeper, image) pairs, each as far as what is known takes it, the
        fits and moment checks they then wait for run together on the direct matches' `run`, and again until
        none waits: the same relations as one at a time, their checks on other processes, a batch at a time."""
        direct = self.direct
        if direct.run is None:
            return
        waiting = list(dict.fromkeys(pairs))
        while waiting:
            direct.deferred = {}
            try:
                waiting = [pair for pair in waiting if not self._worked_out(pair)]
                deferred = list(direct.deferred.values())
            finally:
                direct.deferred = None
            answers = run_all(direct.run, [task for _, _, task in deferred])
            for (memo, key, _), answer in zip(deferred, answers, strict=True):
                memo[key] = answer

    def _worked_out(self, pair: tuple[int, int]) -> bool:
        """Whether the pair's relation is known now, not waiting for a task put aside."""
        try:
            self(*pair)
        except _Deferred:
            return False
        return True


FINER = 1.5  # times the share of two pictures a comparison sees that makes it the better judge of a pair
_TWO_MOMENTS = object()  # what `_relate` answers for an image that shows a part of the keeper's picture moved


def _relate(keeper: int, image: int, links: dict[int, dict[int, Match | LocalMatch]],
            direct: _DirectMatches, confirmed: int = ALONE) -> Relation | object | None:
    """(match, relation, distance) of `image` to `keeper`; None when nothing shows them the same picture,
    _TWO_MOMENTS when their fit finds a second motion, or their moment check a part of the picture slid a few
    pixels (`Moment.slid`): two moments of it. A pair `confirmed` one moment (the other way round) is one unless
    something moved (`_accepted`)."""
    images = direct.images
    if images.pixel_hash[keeper] == images.pixel_hash[image]:
        return SAME_PIXELS, describe_same_pixels(images, keeper, image), 0, None, None
    link = links.get(keeper, {}).get(image)
    match = link if isinstance(link, Match) else direct.match(keeper, image) if link is None else None
    if match is not None and _accepted(_window_moment(direct, match), confirmed):
        to_keeper, distance = _window_to_keeper(images, keeper, match), match.candidate.distance
        return NEAR, describe_edit(images, keeper, match), distance, frame_box(to_keeper), _rows(to_keeper)
    fitted = direct.local_fit(keeper, image)
    if fitted is None:
        return None
    if fitted.two_moments:
        return _TWO_MOMENTS
    moment = direct.same_moment(keeper, image, fitted)
    if not _accepted(moment, confirmed):
        return _TWO_MOMENTS if moment.slid else None
    to_keeper = _fitted_to_keeper(fitted)
    return (NEAR, describe_fit(images, keeper, image, fitted, moment), _hash_distance(images, keeper, image),
            frame_box(to_keeper), _rows(to_keeper))


def _accepted(moment: Moment, confirmed: int) -> bool:
    """Whether a pair's moment check lets it be one picture: it passes, or the pair is `confirmed` one moment the
    other way round and nothing moved (an overlay's blocks may read as changed from one side, a move does not),
    or, the image a filtered copy, nothing slid."""
    if moment.same:
        return True
    return bool(confirmed) and moment.aligned and not (moment.slid if confirmed == FILTERED else moment.moved)


WindowMomentMemo = MutableMapping[tuple[int, ...], Moment]  # by rows a and b, orientation, window of a, of b


def _window_moment(direct: _DirectMatches, match: Match) -> Moment:
    """`moment_check` of a match of the search's windows, a's picture turned as the candidate says; from
    `direct.window_moments` when it holds it, put in it when not."""
    candidate = match.candidate
    key = (candidate.a, candidate.b, candidate.orientation, candidate.window_a, candidate.window_b)
    return _settled(direct.worked_out(direct.window_moments, key, partial(_window_moment_task, direct, match)))


def _window_moment_task(direct: _DirectMatches, match: Match) -> MomentTask:
    """`_window_moment`'s check, as a task."""
    candidate, images = match.candidate, direct.images
    picture_a, picture_b = direct.compared(candidate.a, candidate.b)
    return MomentTask(np.ascontiguousarray(orient(picture_a, candidate.orientation)), picture_b,
                      _windows_matrix(images, match), coarsest(images, candidate.a, candidate.b, len(picture_b)))


def coarsest(images: ImageTable, a: int, b: int, side: int) -> float:
    """Pixels of the smaller side of the two images per two pixels of a picture `side` pixels a side: such a
    picture shows all the detail of an image with twice its pixels or more, and only what interpolation makes
    of a smaller one."""
    return min(int(images.width[a]), int(images.height[a]), int(images.width[b]), int(images.height[b])) / (2 * side)


def _window_to_keeper(images: ImageTable, keeper: int, match: Match) -> np.ndarray:
    """The matrix carrying the member's frame onto the keeper's (fractions), for a match of the search's windows:
    b's window onto a's window in a's frame turned as the candidate says, then that frame turned back."""
    candidate = match.candidate
    b_to_a = _unturned(candidate.orientation) @ np.vstack([_windows_matrix(images, match), [0, 0, 1]])
    return b_to_a[:2] if candidate.a == keeper else inverted(b_to_a[:2])


def _windows_matrix(images: ImageTable, match: Match) -> np.ndarray:
    """The matrix carrying b's matched window onto a's window in a's frame turned as the candidate says."""
    box_a = window_box(match.candidate.window_a, tuple(images.content_box[match.candidate.a]))
    return window_matrix(box_a, match.evidence.box_b)


def _hash_distance(images: ImageTable, a: int, b: int) -> int:
    """Perceptual hash bits between image b upright and image a in its closest orientation."""
    return int(np.bitwise_count(images.hashes[a] ^ images.hashes[b][0]).min())


MIRRORED = 1  # ORIENTATIONS[1]: the columns flipped, nothing else


def _unturned(k: int) -> np.ndarray:
    """The (3, 3) matrix carrying fractions of a frame in orientation k (`orient`) onto the frame's own."""
    orientation = ORIENTATIONS[k]
    flip_x = np.array([[-1, 0, 1], [0, 1, 0], [0, 0, 1]]) if orientation.flip_columns else np.eye(3)
    flip_y = np.array([[1, 0, 0], [0, -1, 1], [0, 0, 1]]) if orientation.flip_rows else np.eye(3)
    swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]]) if orientation.transpose else np.eye(3)
    return swap @ flip_y @ flip_x  # undone in the reverse order of `orient`'s


def _fitted_to_keeper(fitted: Fit) -> np.ndarray:
    """The fit's matrix onto the keeper's own frame: a mirrored fit carries the member onto its mirror image."""
    return (_unturned(MIRRORED) @ np.vstack([fitted.matrix, [0, 0, 1]]))[:2] if fitted.mirrored else fitted.matrix


def _rows(matrix: np.ndarray) -> Affine:
    return tuple(tuple(float(value) for value in row) for row in matrix)


QUARTER_TURNS = ("", "rotated 90° clockwise", "rotated 180°", "rotated 90° counter-clockwise")


def describe_fit(images: ImageTable, keeper: int, member: int, fitted: Fit, moment: Moment) -> str:
    """What a member fitted to its keeper by local features is, in words: turned, straightened, cropped,
    shown inside a larger picture, resized, converted, overlaid."""
    turn = -fitted.angle  # the fit carries the member onto the keeper; the member is the keeper turned back
    quarters = round(turn / 90)
    parts = ["mirrored" if fitted.mirrored else "", QUARTER_TURNS[quarters % 4]]
    tilt = turn - 90 * quarters
    if abs(tilt) >= 0.7:
        parts.append(f"straightened {abs(tilt):.0f}°")
    shown, occupied = fitted.shown(), fitted.occupied()
    if shown < 0.95:
        parts.append(f"cropped to {_percent(shown)} ({_where(frame_box(_fitted_to_keeper(fitted)))})")
    if occupied < 0.7:
        parts.append(f"inside a larger picture ({_percent(occupied)} of it)")
    elif occupied < 0.95:
        parts.append("border added")
    parts.append(_fitted_scale(images, keeper, member, fitted))
    if images.format[keeper] != images.format[member]:
        parts.append(f"converted to {images.format[member]}")
    if moment.overlaid:
        parts.append("text or overlay added")
    parts = [part for part in parts if part]
    return ", ".join(parts) if parts else "recompressed"


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def _where(box: Box) -> str:
    """Which part of the frame a box is in: "top right", "left", "centre"."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    vertical = "top" if y < 0.42 else "bottom" if y > 0.58 else ""
    horizontal = "left" if x < 0.42 else "right" if x > 0.58 else ""
    return " ".join(word for word in (vertical, horizontal) if word) or "centre"


def _fitted_scale(images: ImageTable, keeper: int, member: int, fitted: Fit) -> str:
    """Resizing: the member's pixels per keeper's pixel, from the fit on the two images' own pixels."""
    keeper_size = np.array([int(images.width[keeper]), int(images.height[keeper])], np.float64)
    member_size = np.array([int(images.width[member]), int(images.height[member])], np.float64)
    on_pixels = np.diag(keeper_size) @ fitted.matrix[:, :2] @ np.diag(1 / member_size)
    side = 1 / float(np.sqrt(abs(np.linalg.det(on_pixels))))
    if abs(side - 1) < 0.05:
        return ""
    return f"{'resized' if side < 1 else 'enlarged'} to {side * 100:.0f} %"


def similar_groups(
    files: FileRecords,
    image_of_file: Sequence[int],
    images: ImageTable,
    matches: Iterable[Match],
    duplicates: Sequence[Group],
) -> list[Group]:
    """Pictures that are alike but not the same (near misses of verification), one group per connected set.

    Pairs already in one duplicate group are left out. Each image is stood for by its best file; these groups
    are offered for a look, never for resolving.
    """
    group_of_image = {image_of_file[m.file]: number for number, g in enumerate(duplicates) for m in g.members}
    links = _links(match for match in matches if not match.duplicate and
                   group_of_image.get(match.candidate.a, -1) != group_of_image.get(match.candidate.b, -2))
    files_of_image = FilesOfImages(image_of_file)
    rank = keeper_order(files, image_of_file, images)
    groups = []
    for component in _components(links, links):
        best = rank([rank(files_of_image[image])[0] for image in sorted(component)])
        keeper = image_of_file[best[0]]
        members = [Member(best[0], KEEPER, "", 0)]
        for file in best[1:]:
            members.append(Member(file, SIMILAR_MATCH, "similar, not the same picture",
                                  _hash_distance(images, keeper, image_of_file[file])))
        groups.append(Group("similar", tuple(members)))
    return groups


def keeper_order(
    files: FileRecords, image_of_file: Sequence[int], images: ImageTable,
    companions: Mapping[str, tuple[Companion, ...]] | None = None, resaved: Mapping[int, Earlier] | None = None,
) -> Callable[[Sequence[int]], list[int]]:
    """A function that puts files (indices into `files`) in keeper order, the best first (`keep.best_first`),
    weighing each file's `companions` (by path) and the JPEGs saved from another's file (`resaved`: row -> what
    it was saved from, `requantized.resaved`) when given."""
    made: dict[int, Scanned] = {}

    def order(candidates: Sequence[int]) -> list[int]:
        pictures: dict[int, list] = {}
        for f in candidates:
            if f not in made:
                made[f] = scanned_in_table(files, f, images, int(image_of_file[f]), companions, resaved, pictures)
        return [candidates[i] for i in best_first([made[f] for f in candidates])]

    return order


def scanned_in_table(files: FileRecords, file: int, images: ImageTable, image: int,
                     companions: Mapping[str, tuple[Companion, ...]] | None = None,
                     resaved: Mapping[int, Earlier] | None = None, pictures: dict[int, list] | None = None,
                     ) -> Scanned:
    """File `file` as the keeper rule weighs it: its record, its image's row, its companions (by path), what it
    was saved from (`resaved`, by row: `requantized`). `pictures` holds what was read
    of each row already, for the files of a group that share one (reading a row costs 15 us)."""
    picture = None if pictures is None else pictures.get(image)
    if picture is None:
        picture = _picture_in_table(images, image)
        if pictures is not None:
            pictures[image] = picture
    values = picture.copy()
    weighed = files.weighed(file)
    values[:len(FILE_FIELDS)] = weighed
    values[_COMPANIONS_AT] = companions.get(weighed[0], ()) if companions else ()
    earlier = resaved.get(image) if resaved else None
    if earlier is not None:
        values[_EARLIER_AT], values[_CONVERTED_AT] = earlier.quality, earlier.converted_from
    return Scanned(*values)


_SCANNED_FIELDS = [field.name for field in fields(Scanned)]
FILE_FIELDS = tuple(_SCANNED_FIELDS[:3])  # a Scanned's fields from its file (`FileRecords.weighed`), not its row
_SCANNED_DEFAULTS = {field.name: field.default for field in fields(Scanned) if field.default is not MISSING}
_COMPANIONS_AT = _SCANNED_FIELDS.index("companions")
_EARLIER_AT, _CONVERTED_AT = _SCANNED_FIELDS.index("earlier_quality"), _SCANNED_FIELDS.index("converted_from")


def _picture_in_table(images: ImageTable, image: int) -> list:
    """The fields of the `Scanned` of a file of the image's row, as `scanned_in_table` makes it, but the file's."""
    width, height = int(images.width[image]), int(images.height[image])
    named = {**_SCANNED_DEFAULTS, "path": "", "size": 0, "mtime_ns": 0,
             "content_hash": images.content_hash[image].hex(), "width": width, "height": height,
             "format": str(images.format[image]), "pixels": images.picture_pixels(image),
             "quality": images.quality[image], "detail": images.detail[image], "taken": images.taken[image],
             "camera": images.camera[image], "gps": images.gps[image], "grain": images.grain[image],
             "pixel_hash": images.pixel_hash[image].hex()}
    return [named[name] for name in _SCANNED_FIELDS]  # a field of `Scanned` with no default not named here: KeyError


def keeper_among_identical(group: Group, order: Callable[[Sequence[int]], list[int]]) -> Group:
    """`group` with the best of its keeper and the keeper's byte-identical copies (under `order`) as its keeper:
    what the rule weighs beyond the bytes (companions, the path) may rank a copy above the keeper, and a copy of
    the same bytes relates to every other member as the keeper does."""
    identical = [m.file for m in group.members if m.match in (KEEPER, SAME_BYTES)]
    best = order(identical)[0]
    if best == group.keeper:
        return group
    members = [Member(best, KEEPER, "", 0) if m.file == best else
               Member(m.file, SAME_BYTES, "identical bytes", 0) if m.match == KEEPER else m for m in group.members]
    members.sort(key=lambda m: m.match != KEEPER)
    return Group(group.kind, tuple(members))


def describe_same_pixels(images: ImageTable, keeper: int, image: int) -> str:
    if images.format[keeper] != images.format[image]:
        return f"same pixels, converted to {images.format[image]}"
    return "same pixels, different metadata"


def describe_edit(images: ImageTable, keeper: int, match: Match) -> str:
    """The edits that turn the keeper into the other image of `match`, in words, most telling first."""
    candidate = match.candidate
    keeper_is_a = candidate.a == keeper
    member = candidate.b if keeper_is_a else candidate.a
    parts = [*_describe_geometry(candidate, keeper_is_a), _describe_scale(images, match, keeper_is_a)]
    if images.format[keeper] != images.format[member]:
        parts.append(f"converted to {images.format[member]}")
    keeper_colours, member_colours = _aligned_colours(images, match, keeper_is_a)
    parts.extend(_describe_tone(keeper_colours, member_colours))
    if candidate.window_a != ABOVE_CAPTION and _bottom_band_differs(keeper_colours, member_colours):
        parts.append(WINDOWS[ABOVE_CAPTION].name)
    parts = [part for part in parts if part]
    return ", ".join(parts) if parts else "recompressed"


def _bottom_band_differs(keeper: np.ndarray, member: np.ndarray) -> bool:
    """A caption bar or watermark: the bottom band differs far more than the rest, once tones are matched."""
    keeper_grey, member_grey = keeper.sum(axis=-1) / 3, member.sum(axis=-1) / 3
    keeper_offset, member_offset = keeper_grey - _mean(keeper_grey), member_grey - _mean(member_grey)
    spread = float((keeper_offset * keeper_offset).sum())
    slope = float((keeper_offset * member_offset).sum()) / spread if spread else 0.0  # least squares
    residual = np.abs(member_offset - slope * keeper_offset).sum(axis=1) / keeper.shape[1]
    band = max(1, round(len(residual) * (1 - WINDOWS[ABOVE_CAPTION].box[3])))
    return _mean(residual[-band:]) > max(12.0, 4 * _mean(residual[:-band]))


def _describe_geometry(candidate: Candidate, keeper_is_a: bool) -> list[str]:
    """Window a of a turned by k shows window b of b: say what the member is, seen from the keeper."""
    if candidate.window_a == ABOVE_CAPTION:
        return [WINDOWS[ABOVE_CAPTION].name]
    if keeper_is_a:  # the member b shows the keeper turned, inside a larger frame
        turned = ORIENTATIONS[candidate.orientation].name
        if candidate.window_b == CONTENT:
            return [turned, "border added"]
        if candidate.window_b != WHOLE:
            return [turned, f"uncropped (the keeper is {WINDOWS[candidate.window_b].name})"]
        return [turned]
    return [ORIENTATIONS[INVERSE[candidate.orientation]].name, WINDOWS[candidate.window_b].name]


def _describe_scale(images: ImageTable, match: Match, keeper_is_a: bool) -> str:
    """Resizing, from the sizes in pixels of the two matched windows."""
    candidate = match.candidate
    width_a, height_a = int(images.width[candidate.a]), int(images.height[candidate.a])
    if ORIENTATIONS[candidate.orientation].transpose:
        width_a, height_a = height_a, width_a
    box_a = window_box(candidate.window_a, tuple(images.content_box[candidate.a]))
    box_b = match.evidence.box_b
    shown_a = (width_a * (box_a[2] - box_a[0]), height_a * (box_a[3] - box_a[1]))
    shown_b = (int(images.width[candidate.b]) * (box_b[2] - box_b[0]),
               int(images.height[candidate.b]) * (box_b[3] - box_b[1]))
    keeper_shown, member_shown = (shown_a, shown_b) if keeper_is_a else (shown_b, shown_a)
    width_ratio, height_ratio = member_shown[0] / keeper_shown[0], member_shown[1] / keeper_shown[1]
    if abs(width_ratio / height_ratio - 1) > 0.06:
        return f"resized to {width_ratio:.0%} × {height_ratio:.0%} (aspect ratio changed)".replace("%", " %")
    side = (width_ratio * height_ratio) ** 0.5
    if abs(side - 1) < 0.03:
        return ""
    word = "resized" if side < 1 else "enlarged"
    return f"{word} to {side * 100:.0f} %"


def _aligned_colours(images: ImageTable, match: Match, keeper_is_a: bool) -> tuple[np.ndarray, np.ndarray]:
    """The keeper's and the member's matched windows, in colour, on one grid."""
    candidate = match.candidate
    box_a = window_box(candidate.window_a, tuple(images.content_box[candidate.a]))
    grid = (COLOUR_GRID, COLOUR_GRID)
    window_a = _colour_window(orient(images.thumbs[candidate.a], candidate.orientation), box_a, grid)
    window_b = _colour_window(images.thumbs[candidate.b], match.evidence.box_b, grid)
    return (window_a, window_b) if keeper_is_a else (window_b, window_a)


def _colour_window(thumb: np.ndarray, box: Box, grid: tuple[int, int]) -> np.ndarray:
    """`resample` of each channel of an RGB thumbnail, the three as one batch: (rows, columns, 3)."""
    return resample(thumb.transpose(2, 0, 1), box, grid).transpose(1, 2, 0)


COLOUR_GRID = 32


def _describe_tone(keeper_pixels: np.ndarray, image_pixels: np.ndarray) -> list[str]:
    words = []
    if _colourfulness(image_pixels) < 2 and _colourfulness(keeper_pixels) >= 8:
        words.append("grayscale")
    brightness = _mean(image_pixels) - _mean(keeper_pixels)
    if abs(brightness) > 12:
        words.append("brighter" if brightness > 0 else "darker")
    contrast = (_deviation(image_pixels) + 1) / (_deviation(keeper_pixels) + 1)
    if abs(np.log(contrast)) > 0.15:
        words.append("more contrast" if contrast > 1 else "less contrast")
    return words


def _colourfulness(pixels: np.ndarray) -> float:
    """Mean distance of each pixel from its own grey: 0 for a grey image."""
    return _mean(np.abs(pixels - pixels.sum(axis=-1, keepdims=True) / 3))


def _mean(values: np.ndarray) -> float:
    """The mean of all the values: NumPy's `mean` takes longer checking its arguments than adding up a window."""
    return float(values.sum()) / values.size


def _deviation(values: np.ndarray) -> float:
    """The standard deviation of all the values (as `_mean`, NumPy's `std` is slow on small windows)."""
    offsets = (values - _mean(values)).reshape(-1)
    return float(np.sqrt(np.dot(offsets, offsets) / offsets.size))
