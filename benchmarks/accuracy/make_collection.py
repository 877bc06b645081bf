"""Build a labelled collection of near-duplicate photos from the real photos of the corpus.

usage: make_collection.py OUT --corpus DIR [--split dev|holdout] [--seed N] [--originals K]

OUT/images/ receives, for K originals drawn from one split of the corpus, the original and one copy per
edit kind (edits.py); every other photo of that split untouched, as distractors; and both members of the
split's look-alike pairs, untouched. OUT/labels.json gives each file its group and how it was made.
README.md explains the split, the natural groups and the label format.
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
import random_edits
from PIL import Image

REPO_PARENT = Path(__file__).resolve().parents[3]
DEFAULT_LOOKALIKE_PAIRS = REPO_PARENT / "shared/corpus/dev-lookalike-pairs.tsv"
HOLDOUT_PERCENT = 50
SMALL_SIDE = 200
SAME_ASPECT_TOLERANCE = 0.02
IMAGES = "images"
UNTOUCHED_KINDS = ("original", "unique", "natural-copy")
BURST = "burst"  # a different moment made from an original: its own group, a look-alike of the original
VIDEO_FRAME = "video-frame"  # consecutive frames of one real video: each its own group, all look-alikes
DEFAULT_VIDEO = Path("/usr/share/doc/labelme-examples/examples/video_annotation/data_annotated")


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


@dataclass(frozen=True)
class Target:
    corpus: Path
    images: Path  # OUT/images
    seed: int
    edit_set: str = "regression"  # "random": random_edits' families, drawn anew for each original and seed


@dataclass(frozen=True)
class EditJob:
    source: str
    group: str
    target: Target


@dataclass
class Plan:
    originals: list[Source]
    untouched: list[Source]  # distractors and look-alike pair members
    lookalike_pairs: list[LookalikePair]


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


def plan_collection(corpus: Path, pairs_file: Path, split: str, seed: int, originals: int) -> Plan:
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
    untouched = [source for source in in_split if source not in chosen]
    print(
        f"{split}: {len(in_split)} of {len(sources)} sources ({tiles} detail tiles left out), "
        f"{len(candidates)} could be originals, {len(chosen)} chosen; {len(pairs_in_split)} look-alike pairs",
        file=sys.stderr,
    )
    return Plan(sorted(chosen, key=lambda source: source.key), untouched, pairs_in_split)


def file_name(seed: int, source: str, edit: str, suffix: str) -> str:
    # Opaque names, so that neither a tool nor the order of a folder listing can see the labels.
    return hashlib.sha256(f"{seed}\0{source}\0{edit}".encode()).hexdigest()[:16] + suffix


def write_original_and_edits(job: EditJob) -> list[LabelledFile]:
    original = edits.load(job.target.corpus / job.source)
    outputs = {"original": (original.data, original.suffix)}
    if job.target.edit_set == "random":
        rng = random.Random(f"{job.target.seed}\0{job.source}")
        outputs |= random_edits.copies(original, rng)
        outputs[BURST] = random_edits.burst(original, rng)
    else:
        outputs |= {kind: edit(original) for kind, edit in edits.EDITS.items()}
    files = []
    for kind, (data, suffix) in outputs.items():
        name = file_name(job.target.seed, job.source, kind, suffix)
        (job.target.images / name).write_bytes(data)
        group = f"{job.group}-{BURST}" if kind == BURST else job.group
        files.append(LabelledFile(name, group, kind, job.source))
    return files


def copy_video_frames(target: Target, folder: Path) -> list[LabelledFile]:
    """Consecutive frames of a real video, each a picture of its own."""
    frames = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    files = []
    for number, frame in enumerate(frames):
        name = file_name(target.seed, str(frame), VIDEO_FRAME, ".jpg")
        shutil.copyfile(frame, target.images / name)
        files.append(LabelledFile(name, f"v{number:04d}", VIDEO_FRAME, str(frame)))
    return files


def copy_photo(target: Target, path: str, group: str, edit: str) -> LabelledFile:
    name = file_name(target.seed, path, edit, Path(path).suffix.lower())
    shutil.copyfile(target.corpus / path, target.images / name)
    return LabelledFile(name, group, edit, path)


def copy_natural_copies(target: Target, source: Source, group: str) -> list[LabelledFile]:
    return [copy_photo(target, photo.path, group, "natural-copy") for photo in source.copies]


def copy_untouched(target: Target, source: Source, group: str) -> list[LabelledFile]:
    main_edit = "original" if source.copies else "unique"
    return [copy_photo(target, source.main.path, group, main_edit), *copy_natural_copies(target, source, group)]


def write_files(plan: Plan, target: Target) -> list[LabelledFile]:
    keys = sorted(source.key for source in plan.originals + plan.untouched)
    group_of = {key: f"g{number:04d}" for number, key in enumerate(keys, start=1)}
    files = [file for source in plan.untouched for file in copy_untouched(target, source, group_of[source.key])]
    for source in plan.originals:
        files += copy_natural_copies(target, source, group_of[source.key])
    biggest_first = sorted(plan.originals, key=lambda source: -source.main.area)  # no worker idles at the end
    jobs = [EditJob(source.key, group_of[source.key], target) for source in biggest_first]
    with multiprocessing.Pool() as pool:
        for written in pool.imap_unordered(write_original_and_edits, jobs):
            files += written
    if target.edit_set == "random":
        files += copy_video_frames(target, target.corpus.parent / "labelme" / str(DEFAULT_VIDEO).lstrip("/"))
    return sorted(files, key=lambda file: file.name)


def share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / max(whole, 1):.0f} %)"


def summary(plan: Plan, files: list[LabelledFile]) -> dict[str, object]:
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
        "lookalike_pairs": len(plan.lookalike_pairs),
    }


def labels_document(args: argparse.Namespace, plan: Plan, files: list[LabelledFile]) -> dict[str, object]:
    name_of_untouched = {file.source: file.name for file in files if file.edit in UNTOUCHED_KINDS}
    return {
        "version": 1,
        "corpus": str(args.corpus.resolve()),
        "split": args.split,
        "seed": args.seed,
        "edit_kinds": ["original", "natural-copy", *edit_kinds(args.set), "unique"],
        "summary": summary(plan, files),
        "files": {
            f"{IMAGES}/{file.name}": {"group": file.group, "edit": file.edit, "source": file.source} for file in files
        },
        "lookalike_pairs": [
            {
                "relation": pair.relation,
                "a": f"{IMAGES}/{name_of_untouched[pair.path_a]}",
                "b": f"{IMAGES}/{name_of_untouched[pair.path_b]}",
            }
            for pair in plan.lookalike_pairs
        ] + hard_negatives(files),
    }


def edit_kinds(edit_set: str) -> list[str]:
    if edit_set == "regression":
        return list(edits.EDITS)
    return [*random_edits.FAMILIES, "recompressed", "combined-1", "combined-2"]


def hard_negatives(files: list[LabelledFile]) -> list[dict[str, str]]:
    """Each burst with its original, and every two video frames: different moments, never to be grouped."""
    original_of = {file.source: file.name for file in files if file.edit == "original"}
    pairs = [{"relation": BURST, "a": f"{IMAGES}/{original_of[file.source]}", "b": f"{IMAGES}/{file.name}"}
             for file in files if file.edit == BURST]
    frames = [file.name for file in files if file.edit == VIDEO_FRAME]
    pairs += [{"relation": VIDEO_FRAME, "a": f"{IMAGES}/{a}", "b": f"{IMAGES}/{b}"}
              for i, a in enumerate(frames) for b in frames[i + 1:]]
    return pairs


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
    parser.add_argument("--split", choices=("dev", "holdout"), default="dev")
    parser.add_argument("--seed", type=int, default=0, help="which originals are drawn from the split")
    parser.add_argument("--originals", type=int, default=100, help="how many photos get edited copies")
    parser.add_argument("--lookalike-pairs", type=Path, default=DEFAULT_LOOKALIKE_PAIRS)
    parser.add_argument("--set", choices=("random", "regression"), default="random",
                        help="random: every edit's parameters drawn anew (random_edits.py); regression: the fixed "
                             "edit kinds of edits.py")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    images = prepare_output(args.out)
    plan = plan_collection(args.corpus, args.lookalike_pairs, args.split, args.seed, args.originals)
    files = write_files(plan, Target(args.corpus.resolve(), images, args.seed, args.set))
    document = labels_document(args, plan, files)
    (args.out / "labels.json").write_text(json.dumps(document, indent=1) + "\n")
    print(json.dumps(document["summary"], indent=1), file=sys.stderr)
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
