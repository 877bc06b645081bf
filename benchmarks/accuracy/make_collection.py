"""Build a labelled collection of near-duplicate photos from the real photos of the corpus.

usage: make_collection.py OUT --corpus DIR [--set random|regression] [--split dev|holdout] [--seed N]
                          [--originals K] [--video DIR]

OUT/images/ receives, for K originals drawn from one split of the corpus, the original and its copies:
in the random set, 8-12 copies of edit families drawn with random parameters (random_edits.py) plus the
hard negatives (negatives.py: bursts, photos on one backdrop; and real video frames); in the regression
set, one copy per fixed edit kind (edits.py). Every other photo of that split goes in untouched, as
distractors, and so do both members of the split's look-alike pairs. OUT/labels.json gives each file its
group and how it was made. README.md explains the split, the families and the label format.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import edits
import negatives
import random_edits
from PIL import Image

REPO_PARENT = Path(__file__).resolve().parents[3]
DEFAULT_LOOKALIKE_PAIRS = REPO_PARENT / "shared/corpus/dev-lookalike-pairs.tsv"
DEFAULT_VIDEO = REPO_PARENT / "corpus/labelme/usr/share/doc/labelme-examples/examples/video_annotation/data_annotated"
VIDEO_SOURCE = "labelme-examples/video_annotation"
HOLDOUT_PERCENT = 50
SMALL_SIDE = 200
SAME_ASPECT_TOLERANCE = 0.02
IMAGES = "images"
UNTOUCHED_KINDS = ("original", "unique", "natural-copy")
NEXT_FRAME = "next-frame"  # an original's next moment: its own picture, a look-alike of the original
NEGATIVE_KINDS = ("burst-frame", "backdrop", NEXT_FRAME)
NEGATIVE_MIN_SIDE = 160  # a burst's moved part and a backdrop's centre stay visible


@dataclass(frozen=True)
class Photo:
    path: str  # relative to the corpus folder, as in manifest.tsv
    width: int
    height: int
    natural_group: str

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def aspect(self) -> float:
        return self.width / self.height


@dataclass
class Source:
    """A photo of the corpus with the corpus files that already are resized copies of it."""

    main: Photo
    copies: list[Photo] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.main.path

    @property
    def photos(self) -> list[Photo]:
        return [self.main, *self.copies]


@dataclass(frozen=True)
class LookalikePair:
    relation: str
    path_a: str
    path_b: str


@dataclass(frozen=True)
class LabelledFile:
    name: str  # file name inside OUT/images
    group: str
    edit: str
    source: str  # corpus path it was made from
    box: random_edits.Box | None = None  # the original's frame the copy shows (random set)
    steps: tuple[dict[str, object], ...] = ()  # the edits drawn (random set, negatives)


@dataclass(frozen=True)
class Target:
    corpus: Path
    images: Path  # OUT/images
    seed: int


@dataclass(frozen=True)
class EditJob:
    source: str
    group: str
    target: Target
    path: Path  # the file to edit
    families: tuple[str, ...] = ()  # random set: the family of each copy; empty: the fixed kinds
    next_frame: bool = True  # random set: make the moment after it too


@dataclass
class Plan:
    originals: list[Source]
    untouched: list[Source]  # distractors and look-alike pair members
    lookalike_pairs: list[LookalikePair]
    bursts: list[Source] = field(default_factory=list)  # each made into frames, itself left out
    backdrops: list[list[Source]] = field(default_factory=list)  # each set's centres on one canvas


@dataclass(frozen=True)
class NegativePair:
    relation: str
    name_a: str
    name_b: str


def read_manifest(corpus: Path) -> list[Photo]:
    lines = (corpus / "manifest.tsv").read_text().splitlines()[1:]
    rows = [line.split("\t") for line in lines if line]
    return [Photo(path, int(width), int(height), group) for path, width, height, group, _category in rows]


def read_lookalike_pairs(pairs_file: Path) -> list[LookalikePair]:
    lines = pairs_file.read_text().splitlines()[1:]
    return [LookalikePair(*line.split("\t")) for line in lines if line]


def is_resized_copy(member: Photo, main: Photo) -> bool:
    # Natural groups hold two kinds of members (looked at one by one): same-aspect thumbnails of the
    # photo (monument thumbnails, wallpaper screenshots), which are copies, and small square tiles cut
    # out of the photo (gcompris "details"), which show a small part of it and are no duplicates.
    return abs(member.aspect - main.aspect) <= SAME_ASPECT_TOLERANCE * main.aspect


def build_sources(photos: list[Photo]) -> tuple[list[Source], int]:
    """The corpus as sources, and how many detail tiles were left out."""
    sources = [Source(photo) for photo in photos if not photo.natural_group]
    members_by_group: dict[str, list[Photo]] = defaultdict(list)
    for photo in photos:
        if photo.natural_group:
            members_by_group[photo.natural_group].append(photo)
    tiles = 0
    for members in members_by_group.values():
        main = max(members, key=lambda photo: photo.area)
        copies = [member for member in members if member is not main and is_resized_copy(member, main)]
        tiles += len(members) - 1 - len(copies)
        sources.append(Source(main, copies))
    return sorted(sources, key=lambda source: source.key), tiles


def split_of(key: str) -> str:
    bucket = int(hashlib.sha256(key.encode()).hexdigest(), 16) % 100
    return "holdout" if bucket < HOLDOUT_PERCENT else "dev"


def split_by_path(sources: list[Source], pairs: list[LookalikePair]) -> dict[str, str]:
    """Split of every photo: a whole source goes to one split, and so do the sources of look-alike pairs."""
    source_of_path = {photo.path: source.key for source in sources for photo in source.photos}
    parent = {source.key: source.key for source in sources}

    def root(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    for pair in pairs:
        root_a, root_b = root(source_of_path[pair.path_a]), root(source_of_path[pair.path_b])
        parent[max(root_a, root_b)] = min(root_a, root_b)
    return {path: split_of(root(key)) for path, key in source_of_path.items()}


def is_plain_still(path: Path) -> bool:
    """No transparent pixel and a single frame: flattening or picking a frame would be a second edit."""
    with Image.open(path) as image:
        if getattr(image, "n_frames", 1) > 1:
            return False
        if "A" not in image.getbands() and "transparency" not in image.info:
            return True
        return image.convert("RGBA").getextrema()[3][0] == 255


def plan_collection(
    corpus: Path, pairs_file: Path, split: str, seed: int, originals: int, with_negatives: bool
) -> Plan:
    sources, tiles = build_sources(read_manifest(corpus))
    pairs = read_lookalike_pairs(pairs_file)
    split_of_path = split_by_path(sources, pairs)
    in_split = [source for source in sources if split_of_path[source.key] == split]
    pairs_in_split = [pair for pair in pairs if split_of_path[pair.path_a] == split]
    pair_paths = {path for pair in pairs_in_split for path in (pair.path_a, pair.path_b)}
    candidates = [
        source
        for source in in_split
        if pair_paths.isdisjoint(photo.path for photo in source.photos) and is_plain_still(corpus / source.key)
    ]
    chosen = random.Random(seed).sample(candidates, min(originals, len(candidates)))
    bursts, backdrops = draw_negatives(candidates, chosen, seed, originals) if with_negatives else ([], [])
    left_out = {source.key for source in chosen + bursts + [member for group in backdrops for member in group]}
    untouched = [source for source in in_split if source.key not in left_out]
    print(
        f"{split}: {len(in_split)} of {len(sources)} sources ({tiles} detail tiles left out), "
        f"{len(candidates)} could be originals, {len(chosen)} chosen; {len(pairs_in_split)} look-alike pairs; "
        f"{len(bursts)} bursts and {len(backdrops)} backdrops made from others",
        file=sys.stderr,
    )
    return Plan(sorted(chosen, key=lambda source: source.key), untouched, pairs_in_split, bursts, backdrops)


def draw_negatives(
    candidates: list[Source], chosen: list[Source], seed: int, originals: int
) -> tuple[list[Source], list[list[Source]]]:
    """Photos for bursts and backdrops: alone in the corpus (a copy of one would be a copy of a frame)."""
    usable = [
        source
        for source in candidates
        if source not in chosen
        and not source.copies
        and min(source.main.width, source.main.height) >= NEGATIVE_MIN_SIDE
    ]
    rng = random.Random(f"negatives\0{seed}")
    rng.shuffle(usable)
    bursts = usable[: max(3, originals // 5)]
    rest = usable[len(bursts) :]
    backdrops = []
    for _ in range(max(2, originals // 10)):
        size = rng.choice((2, 3))
        if len(rest) < size:
            break
        backdrops.append(rest[:size])
        rest = rest[size:]
    return bursts, backdrops


def file_name(seed: int, source: str, edit: str, suffix: str) -> str:
    # Opaque names, so that neither a tool nor the order of a folder listing can see the labels.
    return hashlib.sha256(f"{seed}\0{source}\0{edit}".encode()).hexdigest()[:16] + suffix


def write_original_and_edits(job: EditJob) -> list[LabelledFile]:
    original = edits.load(job.path)
    name = file_name(job.target.seed, job.source, "original", original.suffix)
    (job.target.images / name).write_bytes(original.data)
    files = [LabelledFile(name, job.group, "original", job.source)]
    if not job.families:
        for kind, edit in edits.EDITS.items():
            data, suffix = edit(original)
            files.append(write_file(job, kind, data, suffix, kind))
        return files
    rng = random.Random(f"{job.target.seed}\0{job.source}")
    for index, family in enumerate(job.families):
        drawn = random_edits.make_copy(original, family, rng)
        files.append(write_file(job, f"{family}-{index}", drawn.data, drawn.suffix, family, drawn))
    if not job.next_frame:
        return files
    frame = negatives.next_frame(original.image, rng)
    name = file_name(job.target.seed, job.source, NEXT_FRAME, ".jpg")
    (job.target.images / name).write_bytes(frame.data)
    files.append(LabelledFile(name, f"{job.group}-next", NEXT_FRAME, job.source, None, (frame.steps,)))
    return files


def write_file(
    job: EditJob, key: str, data: bytes, suffix: str, kind: str, drawn: random_edits.Drawn | None = None
) -> LabelledFile:
    name = file_name(job.target.seed, job.source, key, suffix)
    (job.target.images / name).write_bytes(data)
    if drawn is None:
        return LabelledFile(name, job.group, kind, job.source)
    return LabelledFile(name, job.group, kind, job.source, drawn.box, tuple(drawn.steps))


def write_negatives(plan: Plan, target: Target) -> tuple[list[LabelledFile], list[NegativePair]]:
    """Bursts and backdrops: every file a picture of its own, every pair among a set a look-alike."""
    sets: list[tuple[str, str, list[tuple[str, negatives.Frame]]]] = []
    for source in plan.bursts:
        rng = random.Random(f"{target.seed}\0burst\0{source.key}")
        image = edits.load(target.corpus / source.key).image
        sets.append(("burst", "burst-frame", [(source.key, frame) for frame in negatives.burst(image, rng)]))
    for members in plan.backdrops:
        rng = random.Random(f"{target.seed}\0backdrop\0{members[0].key}")
        images = [edits.load(target.corpus / source.key).image for source in members]
        frames = negatives.backdrop(images, rng)
        sets.append(("same-backdrop", "backdrop", [(s.key, f) for s, f in zip(members, frames, strict=True)]))
    files: list[LabelledFile] = []
    pairs: list[NegativePair] = []
    for number, (relation, kind, frames) in enumerate(sets):
        names = []
        for index, (source, frame) in enumerate(frames):
            name = file_name(target.seed, source, f"{kind}-{index}", ".jpg")
            (target.images / name).write_bytes(frame.data)
            files.append(LabelledFile(name, f"n{number:03d}-{index}", kind, source, None, (frame.steps,)))
            names.append(name)
        pairs += [NegativePair(relation, a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    return files, pairs


def copy_photo(target: Target, path: str, group: str, edit: str) -> LabelledFile:
    name = file_name(target.seed, path, edit, Path(path).suffix.lower())
    shutil.copyfile(target.corpus / path, target.images / name)
    return LabelledFile(name, group, edit, path)


def copy_natural_copies(target: Target, source: Source, group: str) -> list[LabelledFile]:
    return [copy_photo(target, photo.path, group, "natural-copy") for photo in source.copies]


def copy_untouched(target: Target, source: Source, group: str) -> list[LabelledFile]:
    main_edit = "original" if source.copies else "unique"
    return [copy_photo(target, source.main.path, group, main_edit), *copy_natural_copies(target, source, group)]


def video_jobs(video: Path, target: Target) -> list[EditJob]:
    """Each frame of the video an original with four or five copies (of its own deck of families)."""
    frames = sorted(video.glob("*.jpg"))
    hands = random_edits.deal_families(len(frames), target.seed, 4, 5, deck_name="video")
    return [
        EditJob(f"{VIDEO_SOURCE}/{frame.name}", f"v{index:02d}", target, frame, tuple(hand), next_frame=False)
        for index, (frame, hand) in enumerate(zip(frames, hands, strict=True))
    ]


def write_files(plan: Plan, target: Target, dealt: list[list[str]], extra_jobs: list[EditJob]) -> list[LabelledFile]:
    keys = sorted(source.key for source in plan.originals + plan.untouched)
    group_of = {key: f"g{number:04d}" for number, key in enumerate(keys, start=1)}
    files = [file for source in plan.untouched for file in copy_untouched(target, source, group_of[source.key])]
    for source in plan.originals:
        files += copy_natural_copies(target, source, group_of[source.key])
    biggest_first = sorted(plan.originals, key=lambda source: -source.main.area)  # no worker idles at the end
    families = {source.key: tuple(hand) for source, hand in zip(plan.originals, dealt, strict=False)}
    jobs = [
        EditJob(source.key, group_of[source.key], target, target.corpus / source.key, families.get(source.key, ()))
        for source in biggest_first
    ]
    jobs += extra_jobs
    with multiprocessing.Pool() as pool:
        for written in pool.imap_unordered(write_original_and_edits, jobs):
            files += written
    return sorted(files, key=lambda file: file.name)


def share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / max(whole, 1):.0f} %)"


def summary(plan: Plan, files: list[LabelledFile], pairs: list[NegativePair]) -> dict[str, object]:
    group_sizes = Counter(file.group for file in files)
    untouched_photos = [photo for source in plan.untouched for photo in source.photos]
    return {
        "files": len(files),
        "groups": len(group_sizes),
        "groups_with_copies": sum(size > 1 for size in group_sizes.values()),
        "true_pairs": sum(size * (size - 1) // 2 for size in group_sizes.values()),
        "originals": len(plan.originals),
        "originals_under_200px": share(
            sum(min(source.main.width, source.main.height) < SMALL_SIDE for source in plan.originals),
            len(plan.originals),
        ),
        "untouched_photos_under_200px": share(
            sum(min(photo.width, photo.height) < SMALL_SIDE for photo in untouched_photos), len(untouched_photos)
        ),
        "lookalike_pairs": len(plan.lookalike_pairs) + len(pairs),
        "files_by_edit": dict(sorted(Counter(file.edit for file in files).items())),
        "lookalike_pairs_by_relation": dict(
            sorted(
                Counter([pair.relation for pair in plan.lookalike_pairs] + [pair.relation for pair in pairs]).items()
            )
        ),
    }


def edit_kinds(set_name: str) -> list[str]:
    if set_name == "regression":
        return ["original", "natural-copy", *edits.EDITS, "unique"]
    return ["original", "natural-copy", *random_edits.FAMILIES, random_edits.COMBINED, "unique", *NEGATIVE_KINDS]


def file_label(file: LabelledFile) -> dict[str, object]:
    label: dict[str, object] = {"group": file.group, "edit": file.edit, "source": file.source}
    if file.box is not None:
        label["box"] = file.box
    if file.steps:
        label["steps"] = list(file.steps)
    return label


def frame_pairs(files: list[LabelledFile]) -> list[NegativePair]:
    """Each original with its next frame; every two frames of the video."""
    original_of = {file.source: file.name for file in files if file.edit == "original"}
    pairs = [
        NegativePair("next-frame", original_of[file.source], file.name) for file in files if file.edit == NEXT_FRAME
    ]
    frames = sorted(name for source, name in original_of.items() if source.startswith(VIDEO_SOURCE))
    return pairs + [NegativePair("video-frames", a, b) for i, a in enumerate(frames) for b in frames[i + 1 :]]


def labels_document(
    args: argparse.Namespace, plan: Plan, files: list[LabelledFile], pairs: list[NegativePair]
) -> dict[str, object]:
    name_of_untouched = {file.source: file.name for file in files if file.edit in UNTOUCHED_KINDS}
    corpus_pairs = [
        NegativePair(p.relation, name_of_untouched[p.path_a], name_of_untouched[p.path_b]) for p in plan.lookalike_pairs
    ]
    return {
        "version": 2,
        "set": args.set,
        "corpus": str(args.corpus.resolve()),
        "split": args.split,
        "seed": args.seed,
        "edit_kinds": edit_kinds(args.set),
        "summary": summary(plan, files, pairs),
        "files": {f"{IMAGES}/{file.name}": file_label(file) for file in files},
        "lookalike_pairs": [
            {"relation": pair.relation, "a": f"{IMAGES}/{pair.name_a}", "b": f"{IMAGES}/{pair.name_b}"}
            for pair in corpus_pairs + pairs
        ],
    }


def prepare_output(out: Path) -> Path:
    """OUT/images, empty. Refuses an OUT that holds anything else than an earlier collection."""
    if out.exists() and any(child.name not in ("images", "labels.json") for child in out.iterdir()):
        sys.exit(f"{out} holds other files than a collection; choose an empty or new folder")
    images = out / IMAGES
    shutil.rmtree(images, ignore_errors=True)
    images.mkdir(parents=True)
    return images


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the collection to")
    parser.add_argument("--corpus", type=Path, required=True, help="folder made by fetch-dev-photos.sh")
    parser.add_argument(
        "--set",
        choices=("random", "regression"),
        default="random",
        help="random: families with drawn parameters and hard negatives; regression: the fixed kinds",
    )
    parser.add_argument("--split", choices=("dev", "holdout"), default="dev")
    parser.add_argument("--seed", type=int, default=0, help="which originals are drawn from the split")
    parser.add_argument("--originals", type=int, default=100, help="how many photos get edited copies")
    parser.add_argument("--lookalike-pairs", type=Path, default=DEFAULT_LOOKALIKE_PAIRS)
    parser.add_argument(
        "--video", type=Path, default=DEFAULT_VIDEO, help="folder of consecutive video frames (*.jpg), random set only"
    )
    args = parser.parse_args()
    if args.set == "random" and not any(args.video.glob("*.jpg")):
        parser.error(f"no video frames in {args.video}: run run.sh, which fetches labelme-examples, or pass --video")
    return args


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    images = prepare_output(args.out)
    random_set = args.set == "random"
    plan = plan_collection(args.corpus, args.lookalike_pairs, args.split, args.seed, args.originals, random_set)
    target = Target(args.corpus.resolve(), images, args.seed)
    dealt = random_edits.deal_families(len(plan.originals), args.seed) if random_set else []
    files = write_files(plan, target, dealt, video_jobs(args.video, target) if random_set else [])
    negative_files, pairs = write_negatives(plan, target) if random_set else ([], [])
    files = sorted(files + negative_files, key=lambda file: file.name)
    pairs += frame_pairs(files)
    document = labels_document(args, plan, files, pairs)
    (args.out / "labels.json").write_text(json.dumps(document, indent=1) + "\n")
    print(json.dumps(document["summary"], indent=1), file=sys.stderr)
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
