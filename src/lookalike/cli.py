"""The `lookalike` command: a thin layer over the library. Each command parses, calls one function, reports.

Exit codes: 0 done (files that could not be read are listed in the report, not fatal), 1 fatal error,
2 usage error (a bad argument or option), 130 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lookalike import report
from lookalike.cache import Cache, UnusableCache, default_cache_path
from lookalike.engines.engine import ENGINES, LOCAL, engine_named
from lookalike.pipeline import BYTES, HISTOGRAM, METHODS, PHASH, Progress, ScanInterrupted, ScanOptions, Stage, scan
from lookalike.platform.platforms import install_hint
from lookalike.resolution import not_duplicates, planning, resolve
from lookalike.stages.decoded import DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT
from lookalike.stages.histogram import DEFAULT_THRESHOLD
from lookalike.stages.verify import STRICTNESS

EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

if TYPE_CHECKING:
    from rich.console import Console


def _console(stderr: bool = False) -> Console:
    """Rich's console, imported when first wanted: a quiet scan never loads rich, a sixth of its start."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True) if stderr else Console(highlight=False, soft_wrap=True)


VERSIONED = (("lookalike", "lookalike"), ("Pillow", "pillow"), ("pillow-heif", "pillow-heif"), ("NumPy", "numpy"),
             ("OpenCV", "opencv-python-headless"), ("numba", "numba"), ("rawpy (raw)", "rawpy"),
             ("pyarrow (parquet)", "pyarrow"), ("Ray (ray)", "ray"))  # shown, distribution name


def versions() -> list[tuple[str, str]]:
    """What `--version` shows: lookalike's version and its libraries', extras included ("not installed")."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for shown, distribution in VERSIONED:
        try:
            found.append((shown, version(distribution)))
        except PackageNotFoundError:
            found.append((shown, "not installed"))
    return found


def _print_versions(context: click.Context, _: click.Parameter, wanted: bool) -> None:
    if not wanted or context.resilient_parsing:
        return
    for shown, installed in versions():
        click.echo(f"{shown} {installed}")
    context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_versions,
              help="Show the versions of lookalike and of the libraries it reads images with, and exit.")
def app() -> None:
    """Find duplicate and near-duplicate images, explain every match, resolve them safely."""


class BarProgress(Progress):
    """Progress bars with ETA on stderr, one per stage."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichBar

        self.bars = RichBar(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                            transient=True)
        self.running: tuple[Any, int | None] | None = None  # the running stage's bar and total

    @contextmanager
    def stage(self, stage: Stage, total: int | None) -> Iterator[Callable[[int], None]]:
        with self.bars:
            task = self.bars.add_task(stage.value, total=total)
            self.running = task, total
            yield lambda count: self.bars.advance(task, count)

    def answered(self, stage: Stage, count: int) -> None:
        task, total = self.running
        if total is not None:
            self.running = task, total - count
            self.bars.update(task, total=total - count)


def _progress(quiet: bool) -> Progress:
    if quiet or not sys.stderr.isatty():
        return Progress()
    return BarProgress(_console(stderr=True))


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary.")


@app.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_out", metavar="FILE", help="Write the JSON report to FILE (- for stdout).")
@click.option("--csv", "csv_out", metavar="FILE", help="Write a CSV report to FILE (- for stdout).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching GLOB (repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files and folders matching GLOB (repeatable).")
@click.option("--follow-symlinks", is_flag=True, help="Follow symbolic links (loops are detected).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="Worker processes for decoding.")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=default_cache_path(),
              show_default=True, help="Cache database.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True,
              help="Refuse images whose decoding holds more pixels than this (decompression bombs; a JPEG "
                   "counts at the 1/8 scale it is decoded at, unless progressive).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Give up on a file whose decoding takes longer than this (it is reported).")
@click.option("--method", type=click.Choice(METHODS), default=PHASH, show_default=True,
              help="phash: perceptual hashes confirmed on the pixels; histogram: the original script's RMS of "
                   "800×600 colour histograms over all pairs; pixels: identical decoded pixels only; bytes: "
                   "identical files only, nothing decoded.")
@click.option("--all-files", is_flag=True, help="--method bytes: files of any kind, not only images.")
@click.option("--read-threads", type=click.IntRange(min=1), metavar="N",
              help="Files read at once to compare their bytes (default: one at a time on each spinning disk, "
                   "4 on other devices).")
@click.option("--strictness", type=click.Choice(list(STRICTNESS)), default="normal", show_default=True,
              help="How alike images must be to be called duplicates: strict finds fewer heavy edits (crops, "
                   "captions), loose proposes more.")
@click.option("--similar", is_flag=True,
              help="Also list pictures that look alike but are not the same (separately, never to resolve).")
@click.option("--threshold", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="--method histogram: RMS below which two images are duplicates.")
@click.option("--engine", type=click.Choice(ENGINES), default=LOCAL, show_default=True,
              help="Where decoding, hashing, search and verification run: this machine, or a Ray cluster "
                   "(files on storage every node mounts at the same path; needs lookalike[ray]).")
@click.option("--address", metavar="ADDR", help="--engine ray: the cluster's address (default: RAY_ADDRESS, "
                                                "else a Ray started on this machine).")
@quiet_option
def scan_command(paths: tuple[Path, ...], json_out: str | None, csv_out: str | None, include: tuple[str, ...],
                 exclude: tuple[str, ...], follow_symlinks: bool, jobs: int, cache: Path, no_cache: bool,
                 max_pixels: int, timeout: float, method: str, all_files: bool, read_threads: int | None,
                 strictness: str, similar: bool, threshold: float, engine: str, address: str | None,
                 quiet: bool) -> None:
    """Scan PATHS for exact and near-duplicate images."""
    for option, its_method in (("threshold", HISTOGRAM), ("all_files", BYTES), ("strictness", PHASH),
                               ("similar", PHASH)):
        _refuse_unless(method, option, its_method)
    try:
        chosen_engine = engine_named(engine, address)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    options = ScanOptions(include=include, exclude=exclude, follow_symlinks=follow_symlinks, jobs=jobs,
                          cache=None if no_cache else cache, max_pixels=max_pixels, timeout=timeout, method=method,
                          strictness=strictness, similar=similar, threshold=threshold, engine=chosen_engine,
                          all_files=all_files, read_threads=read_threads)
    _scan_and_report(list(paths), options, json_out, csv_out, quiet)


def _refuse_unless(method: str, option: str, its_method: str) -> None:
    """An option of one method given with another method would be silently ignored: refuse it."""
    context = click.get_current_context()
    if method != its_method and context.get_parameter_source(option) == click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError(f"--{option.replace('_', '-')} goes with --method {its_method}")


def _scan_and_report(paths: list[Path], options: ScanOptions, json_out: str | None, csv_out: str | None,
                     quiet: bool) -> dict[str, Any]:
    with _second_interrupt_stops_at_once():
        result = scan(paths, options, _progress(quiet))
        try:
            document = report.to_json(result)
            for target, writer in ((json_out, report.write_json), (csv_out, report.write_csv)):
                if target is not None:
                    with report.open_text_out(target) as stream:
                        writer(document, stream)
        except KeyboardInterrupt:  # the scan was done and kept: a re-run reports it from the cache at once
            raise ScanInterrupted(None, len(result.images), len(result.images), options.cache is not None) from None
    if not quiet:
        _print_summary(document, to_stdout=json_out != "-" and csv_out != "-")
    return document


@contextmanager
def _second_interrupt_stops_at_once() -> Iterator[None]:
    """The first Ctrl-C stops the scan, which keeps what it finished; a second one, the process, at once."""
    def first(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the system ends the process, wherever it is
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted_message(interrupted: ScanInterrupted) -> str:
    """What a scan stopped by Ctrl-C did, and what to do next."""
    if not interrupted.kept:
        return "interrupted: without a cache nothing was kept"
    if interrupted.images_needed is None:
        return "interrupted: the files' hashes read so far are kept in the cache; run the same command to go on"
    return (f"interrupted: {interrupted.images_kept:,} of {interrupted.images_needed:,} images decoded and kept in the "
            "cache; run the same command to go on")


def _print_summary(document: dict[str, Any], to_stdout: bool) -> None:
    console = _console(stderr=not to_stdout)
    for group in document["groups"][:20]:
        console.print(f"[bold]{group['kind']}[/] keep {_shown(group['keep'])}")
        for member in group["members"][1:]:
            console.print(f"    {_shown(member['path'])}  [dim]{member['relation']}[/]")
    if len(document["groups"]) > 20:
        console.print(f"... and {len(document['groups']) - 20:,} more groups (use --json or --csv for all)")
    for line in report.summary_lines(document):
        console.print(line)


def _shown(path: str) -> str:
    """A path as a terminal can show it: undecodable bytes as \\xNN, markup escaped."""
    from rich.markup import escape

    return escape(os.fsencode(path).decode("utf-8", "backslashreplace"))


@app.command("demo")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path),
              help="Build the demo collection here (default: a temporary folder, removed afterwards).")
@quiet_option
def demo_command(folder: Path | None, quiet: bool) -> None:
    """Build a small demo collection (originals and edited copies) and scan it."""
    with tempfile.TemporaryDirectory(prefix="lookalike-demo-") as temporary:
        target = folder or Path(temporary)
        from lookalike.demo import make_demo_collection  # Pillow, which a scan leaves to its workers

        truth = make_demo_collection(target)
        print(f"demo collection: {len(truth)} files in {target}", flush=True)
        _scan_and_report([target], ScanOptions(cache=None), None, None, quiet)


def _resolve_options(command: Callable[..., None]) -> Callable[..., None]:
    """The arguments and options `plan` and `apply` share."""
    options = [
        click.argument("report_file", metavar="REPORT", type=click.Path(exists=True, dir_okay=False)),
        click.option("--action", required=True, type=click.Choice([action.value for action in planning.Action]),
                     help="What to do with each redundant copy."),
        click.option("--to", type=click.Path(file_okay=False), help="--action move: the folder to move into."),
        click.option("--keep", default="", metavar="RULES",
                     help="Which file stays, rules chained by commas: best, most-detail, best-quality, "
                          "most-metadata, most-pixels, largest-file, oldest, newest, shortest-path, path:GLOB, "
                          "format:NAME (format:RAW for any camera RAW; default: the report's keeper)."),
        click.option("--reference", multiple=True, type=click.Path(file_okay=False),
                     help="Files in this folder are never touched and win as keepers (repeatable)."),
        click.option("--within-folders", "scope", flag_value=planning.Scope.WITHIN_FOLDERS.value,
                     help="Resolve each folder's copies on their own, one keeper per folder."),
        click.option("--across-folders", "scope", flag_value=planning.Scope.ACROSS_FOLDERS.value,
                     help="Only copies in another folder than their keeper's are redundant."),
        click.option("--carry-metadata", is_flag=True,
                     help="Write the date taken, camera and GPS position a removed copy has and its keeper lacks "
                          "into an XMP sidecar beside the keeper (never into the image); undone with the rest."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _make_plan(report_file: str, action: str, to: str | None, keep: str, reference: tuple[str, ...],
               scope: str | None, carry_metadata: bool) -> planning.Plan:
    if to is not None and action != planning.Action.MOVE:
        raise click.UsageError("--to is for --action move only")
    try:
        return planning.plan(report_file, action, keep=keep, reference=reference, scope=scope, to=to,
                             carry_metadata=carry_metadata)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


def _print_plan(plan: planning.Plan) -> None:
    console = _console()
    for step in plan.steps:
        target = step.destination if step.action in planning.MOVES else step.keeper.path
        arrow = "→" if step.action in (*planning.MOVES, *planning.LINKS) else "keeping"
        console.print(f"{step.action.value} {_shown(step.file.path)} {arrow} {_shown(target)}")
        for fate in step.companions:
            where = f"goes with it{f' → {_shown(fate.destination)}' if fate.destination else ''}" if fate.goes else (
                f"stays: {_shown(fate.reason)}")
            console.print(f"    {fate.companion.kind} {_shown(fate.companion.path)} {where}")
        for warning in step.warnings:
            console.print(f"    [yellow]warning[/]: it {_shown(warning.removeprefix('has '))}"
                          if warning.startswith("has ") else f"    [yellow]warning[/]: {_shown(warning)}")
        if step.carry is not None:
            console.print(f"    carried into {_shown(step.carry.path)}")
    for skip in plan.skips:
        console.print(f"skip {_shown(skip.path)}: {_shown(skip.reason)}")
    console.print(planning.describe(plan))


@app.command("plan")
@_resolve_options
def plan_command(report_file: str, action: str, to: str | None, keep: str, reference: tuple[str, ...],
                 scope: str | None, carry_metadata: bool) -> None:
    """Show what `apply` would do to the groups of REPORT, file by file, with totals. Touches nothing."""
    _print_plan(_make_plan(report_file, action, to, keep, reference, scope, carry_metadata))


@app.command("apply")
@_resolve_options
@click.option("--dry-run", is_flag=True, help="Only show what would happen (same as `lookalike plan`).")
@click.option("--journal", type=click.Path(dir_okay=False, path_type=Path),
              help="Journal file; an unfinished one is resumed (default: a new one in your state folder, or "
                   "the last one when it is an unfinished apply of the same report and action).")
@click.option("--yes", is_flag=True, help="Confirm --action delete: files are deleted for good.")
@quiet_option
def apply_command(report_file: str, action: str, to: str | None, keep: str, reference: tuple[str, ...],
                  scope: str | None, carry_metadata: bool, dry_run: bool, journal: Path | None, yes: bool,
                  quiet: bool) -> None:
    """Resolve the groups of REPORT: keep one file of each, act on the redundant copies. Undo with `undo`."""
    plan = _make_plan(report_file, action, to, keep, reference, scope, carry_metadata)
    if dry_run:
        _print_plan(plan)
        return
    if plan.action is planning.Action.DELETE and not yes:
        raise click.UsageError("--action delete cannot be undone: add --yes, or use --action trash")
    try:
        outcome = resolve.apply(plan, journal)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    _print_outcome(outcome, "done", quiet)


@app.command("undo")
@click.argument("journal", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@quiet_option
def undo_command(journal: Path | None, quiet: bool) -> None:
    """Put back every file an apply touched, from its JOURNAL (default: the last apply)."""
    try:
        outcome = resolve.undo(journal)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    _print_outcome(outcome, "put back", quiet)


def _print_outcome(outcome: resolve.Outcome, verb: str, quiet: bool) -> None:
    console = _console()
    if not quiet:
        for skip in outcome.skipped:
            console.print(f"left alone {_shown(skip.path)}: {_shown(skip.reason)}")
    size = report.human_bytes(sum(step.file.size for step in outcome.done))
    console.print(f"{outcome.action.value}: {len(outcome.done):,} files {verb} ({size}), "
                  f"{len(outcome.skipped):,} left alone; journal {_shown(str(outcome.journal))}")


@app.command("ignore")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--group", type=click.IntRange(min=1), metavar="N", help="Group N (from 1) of the REPORT given.")
@click.option("--list", "list_pairs", is_flag=True, help="List the pairs remembered as not duplicates.")
@click.option("--forget", is_flag=True, help="Forget that these files are not duplicates.")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=default_cache_path(),
              show_default=True, help="Cache database.")
def ignore_command(paths: tuple[str, ...], group: int | None, list_pairs: bool, forget: bool, cache: Path) -> None:
    """Remember that PATHS (or group N of a REPORT) are not duplicates: later scans do not group them."""
    if list_pairs:
        pairs = not_duplicates.ignored(cache)
        for first, second in pairs:
            print(first.hex(), second.hex())
        print(f"{len(pairs):,} pairs of contents are not duplicates")
        return
    try:
        if group is not None:
            if len(paths) != 1:
                raise click.UsageError("--group N takes one REPORT")
            with open(paths[0], encoding="utf-8") as stream:
                pairs = not_duplicates.pairs_of_group(report.read_json(stream), group)
        elif len(paths) < 2:
            raise click.UsageError("give two or more files, or --group N REPORT")
        else:
            pairs = not_duplicates.pairs_of_files(paths)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    not_duplicates.ignore(pairs, cache, forget=forget)
    print(f"{'forgot' if forget else 'remembered'} {len(pairs):,} pairs as not duplicates")


@app.command("review")
@click.argument("sources", metavar="REPORT.json | PATH...", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (default: any free one).")
@click.option("--no-browser", is_flag=True, help="Print the page's address; do not open a browser.")
@click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=default_cache_path(),
              show_default=True, help="Cache database (scan, and where \"not duplicates\" is kept).")
@quiet_option
def review_command(sources: tuple[Path, ...], port: int, no_browser: bool, cache: Path, quiet: bool) -> None:
    """Compare and resolve groups in a local web page: a REPORT.json, or PATHS scanned first. Ctrl+C stops."""
    from lookalike.review import Review, ReviewServer  # the web stack loads only for this command

    if len(sources) == 1 and sources[0].is_file() and sources[0].suffix.lower() == ".json":
        try:
            with open(sources[0], encoding="utf-8") as stream:
                document = report.read_json(stream)
        except ValueError as error:
            raise click.UsageError(f"{sources[0]}: {error}") from error
    else:
        document = _scan_and_report(list(sources), ScanOptions(cache=cache), None, None, quiet)
    server = ReviewServer(Review(document, cache), port)
    print(f"review at {server.url}  (Ctrl+C to stop)", flush=True)
    server.run(open_browser=not no_browser)


@app.group("signatures")
def signatures_group() -> None:
    """Move a cache's signatures (hashes, thumbnails, file contents) in and out as Parquet tables."""


parquet_option = click.option("--parquet", "folder", required=True, type=click.Path(file_okay=False, path_type=Path),
                              metavar="DIR", help="Folder of images.parquet and files.parquet.")
cache_option = click.option("--cache", type=click.Path(dir_okay=False, path_type=Path), default=default_cache_path(),
                            show_default=True, help="Cache database.")


@signatures_group.command("export")
@parquet_option
@click.option("--cache", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=default_cache_path(),
              show_default=True, help="Cache database.")
def export_command(folder: Path, cache: Path) -> None:
    """Write the cache's images (hashes, thumbnails) and files to Parquet tables in DIR."""
    parquet = _parquet_module()
    with Cache(cache) as opened:
        counts = parquet.export_parquet(opened, folder)
    print(f"exported {counts.images:,} images and {counts.files:,} files to {folder}")


@signatures_group.command("import")
@parquet_option
@cache_option
def import_command(folder: Path, cache: Path) -> None:
    """Add the images and files of DIR's Parquet tables (from `signatures export`) to the cache."""
    parquet = _parquet_module()
    with Cache(cache) as opened:
        try:
            counts = parquet.import_parquet(folder, opened)
        except ValueError as error:
            raise click.UsageError(str(error)) from error
    print(f"imported {counts.images:,} images and {counts.files:,} files into {cache}")


def _parquet_module():
    try:
        from lookalike import parquet
    except ImportError as error:
        hint = install_hint("pyarrow", 'pip install "lookalike[parquet]"')
        raise click.UsageError(f"Parquet needs pyarrow ({error}): {hint}") from error
    return parquet

def main() -> None:
    """Entry point: usage errors become one line and exit code 2."""
    try:
        code = app.main(standalone_mode=False, prog_name="lookalike")
        sys.exit(code or 0)
    except click.exceptions.NoArgsIsHelpError as error:
        print(error.format_message(), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "lookalike"
        print(f"{command}: error: {error.format_message()}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt) as error:
        scan_stopped = error.__cause__ if isinstance(error, click.exceptions.Abort) else error  # click's wrapping
        print(_interrupted_message(scan_stopped) if isinstance(scan_stopped, ScanInterrupted)
              else "lookalike: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as error:
        print(f"lookalike: error: {error.format_message()}", file=sys.stderr)
        sys.exit(error.exit_code)
    except (OSError, UnusableCache) as error:
        print(f"lookalike: error: {error}", file=sys.stderr)
        sys.exit(EXIT_FATAL)
