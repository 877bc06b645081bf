"""The `lookalike` command: a thin layer over the library. Each command parses, calls one function, reports.

Exit codes: 0 done (files that could not be read are listed in the report, not fatal), 1 fatal error,
2 usage error (a bad argument or option), 130 interrupted.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichBar

from lookalike import report
from lookalike.cache import default_cache_path
from lookalike.decode import DEFAULT_MAX_PIXELS
from lookalike.demo import make_demo_collection
from lookalike.pipeline import Progress, ScanOptions, Stage, scan

EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

err = Console(stderr=True, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lookalike")
def app() -> None:
    """Find duplicate and near-duplicate images, explain every match, resolve them safely."""


class BarProgress(Progress):
    """Progress bars with ETA on stderr, one per stage."""

    def __init__(self, console: Console) -> None:
        self.bars = RichBar(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                            transient=True)

    @contextmanager
    def stage(self, stage: Stage, total: int | None) -> Iterator[Callable[[int], None]]:
        with self.bars:
            task = self.bars.add_task(stage.value, total=total)
            yield lambda count: self.bars.advance(task, count)


def _progress(quiet: bool) -> Progress:
    if quiet or not sys.stderr.isatty():
        return Progress()
    return BarProgress(err)


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
              help="Refuse images with more pixels than this (decompression bombs).")
@quiet_option
def scan_command(paths: tuple[Path, ...], json_out: str | None, csv_out: str | None, include: tuple[str, ...],
                 exclude: tuple[str, ...], follow_symlinks: bool, jobs: int, cache: Path, no_cache: bool,
                 max_pixels: int, quiet: bool) -> None:
    """Scan PATHS for exact and near-duplicate images."""
    options = ScanOptions(include=include, exclude=exclude, follow_symlinks=follow_symlinks, jobs=jobs,
                          cache=None if no_cache else cache, max_pixels=max_pixels)
    _scan_and_report(list(paths), options, json_out, csv_out, quiet)


def _scan_and_report(paths: list[Path], options: ScanOptions, json_out: str | None, csv_out: str | None,
                     quiet: bool) -> dict[str, Any]:
    result = scan(paths, options, _progress(quiet))
    document = report.to_json(result)
    for target, writer in ((json_out, report.write_json), (csv_out, report.write_csv)):
        if target is not None:
            with report.open_text_out(target) as stream:
                writer(document, stream)
    if not quiet:
        _print_summary(document, to_stdout=json_out != "-" and csv_out != "-")
    return document


def _print_summary(document: dict[str, Any], to_stdout: bool) -> None:
    console = Console(highlight=False, soft_wrap=True) if to_stdout else err
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
        truth = make_demo_collection(target)
        print(f"demo collection: {len(truth)} files in {target}", flush=True)
        _scan_and_report([target], ScanOptions(cache=None), None, None, quiet)


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
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("lookalike: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as error:
        print(f"lookalike: error: {error.format_message()}", file=sys.stderr)
        sys.exit(error.exit_code)
    except OSError as error:
        print(f"lookalike: error: {error}", file=sys.stderr)
        sys.exit(EXIT_FATAL)
