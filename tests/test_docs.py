"""The README and the manual say what the code does: the manual builds with warnings as errors, its pages name
every stage, option and reason the code has, the examples are real output, and no relative link is broken.

Links to other sites are not followed: this machine reaches no web site, so only the README's and the manual's
own files and anchors are checked (the manual's by `mkdocs build --strict`, the README's here)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import unicodedata
from pathlib import Path

import click
import pytest

from lookalike.cli import app
from lookalike.pipeline import Stage

from .conftest import REPORT_SCHEMA
from .reasons import reasons

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS = REPOSITORY / "docs"
README = (REPOSITORY / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"!?\[(?:[^\]]|\][^(])*\]\((?P<target>[^)\s]+)\)")
sys.path.insert(0, str(DOCS))
from hooks import newest  # noqa: E402  (the manual's own choice of the newest results file)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def flat(text: str) -> str:
    """Text as a reader sees it: code marks gone, each run of spaces and line ends one space."""
    return " ".join(text.replace("`", "").split())


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    built = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(built)],
                          cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return built


def test_the_manual_builds_with_warnings_as_errors_and_has_every_page(site):
    for name in ("guide", "report", "formats", "how-it-works", "benchmarks", "troubleshooting", "cli", "api"):
        assert (site / name / "index.html").is_file()
    assert (site / "review.png").is_file()


def test_the_command_reference_has_every_command_and_option_of_the_cli(site):
    reference = (site / "cli" / "index.html").read_text(encoding="utf-8")
    commands = [(name, command) for name, command in app.commands.items()]
    commands += [(f"{name} {sub}", subcommand) for name, command in app.commands.items()
                 if isinstance(command, click.Group) for sub, subcommand in command.commands.items()]
    for name, command in commands:
        assert f"lookalike {name}" in reference, name
        for parameter in command.params:
            for option in getattr(parameter, "opts", []) if isinstance(parameter, click.Option) else []:
                assert option in reference, f"lookalike {name} {option}"


def test_the_api_reference_shows_the_docstrings(site):
    reference = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("pipeline.scan", "pipeline.ScanOptions", "pipeline.ScanResult", "pipeline.ScanInterrupted",
                 "report.to_json", "resolution.planning.plan", "resolution.resolve.apply", "resolution.resolve.undo"):
        assert f'id="lookalike.{name}"' in reference, name
    assert "Find exact and near-duplicate images under" in reference  # scan's own docstring


def test_the_benchmark_page_includes_the_newest_results_file_of_each_kind(site):
    shown = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    for kind in ("accuracy/results/random-holdout-*.md", "accuracy/results/regression-holdout-*.md",
                 "speed/start-methods-*.txt", "speed/bytes-*.txt"):
        included = newest(f"benchmarks/{kind}")
        assert f"benchmarks/{kind.split('*')[0]}" in shown
        assert included.relative_to(REPOSITORY).as_posix() in shown
        first_row = next(line for line in included.read_text().splitlines() if line.startswith("| ") and "---" not in
                         line)
        assert first_row.split("|")[1].strip() in shown


def test_the_troubleshooting_page_names_every_reason_the_code_gives():
    shown = flat(page("troubleshooting.md"))
    found = reasons()
    assert len(found) > 50 and "vanished during the scan" in found  # the reader of the source still finds them
    assert [reason for reason in found if flat(reason) not in shown] == []


def test_how_it_works_describes_every_stage_of_the_pipeline():
    headings = re.findall(r"^### (\S+)$", page("how-it-works.md"), re.MULTILINE)
    assert [stage.value for stage in Stage if stage.value not in headings] == []


def test_the_report_page_example_follows_the_schema():
    example = re.search(r"## An example\s+```json\n(.*?)\n```", page("report.md"), re.DOTALL)[1]
    assert list(REPORT_SCHEMA.iter_errors(json.loads(example))) == []


def test_the_readme_is_short_and_opens_with_the_two_quick_start_commands():
    assert len(README.splitlines()) < 200
    first_block = re.search(r"```\w*\n(.*?)```", README, re.DOTALL)[1].splitlines()
    assert first_block == ["python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/lookalike demo",
                           "./scripts/test"]
    assert "./scripts/test" in (REPOSITORY / ".ci" / "run").read_text()  # the command CI runs


def test_the_readme_has_no_commit_hashes_outside_results_file_names():
    words = re.sub(r"\S*results/\S*", "", README)
    assert re.findall(r"\b[0-9a-f]{7,40}\b", words) == []


def test_the_readme_demo_is_the_real_output_of_its_command(tmp_path):
    (block,) = _console_blocks(README)
    assert block.startswith("$ lookalike demo --folder ~/demo\n")
    _run_console(block, tmp_path)


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="the example's cache and state folders are the XDG "
                    "ones, which macOS and Windows do not use")
def test_the_guide_s_plan_apply_and_undo_examples_are_real_output(tmp_path):
    subprocess.run([*LOOKALIKE, "demo", "--folder", str(tmp_path / "demo"), "-q"], check=True, timeout=300)
    resolve, undo = _console_blocks(page("guide.md"))
    for block in (resolve, undo):
        _run_console(block, tmp_path)


LOOKALIKE = [sys.executable, "-m", "lookalike"]


def _console_blocks(markdown: str) -> list[str]:
    return re.findall(r"```console\n(.*?)```", markdown, re.DOTALL)


def _run_console(block: str, folder: Path) -> None:
    """Run each `$ lookalike ...` of a console example in `folder` (~/demo being folder/demo, the user's cache and
    state folders under it) and compare what it prints with the lines shown: `...` stands for any lines, and times,
    which vary from run to run, and the journal's time stamp are not compared."""
    environment = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "XDG_STATE_HOME": str(folder / "state")}
    for command, shown in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block, re.MULTILINE):
        words = [word.replace("~/demo", str(folder / "demo")) for word in shlex.split(command)]
        assert words[0] == "lookalike"
        done = subprocess.run([*LOOKALIKE, *words[1:]], cwd=folder, env=environment, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        printed = done.stdout.replace(str(folder / "demo"), "~/demo").replace(str(folder / "state"), "~/.local/state")
        printed = printed.replace(os.sep, "/")  # the example's paths are written as on Linux and macOS
        assert re.fullmatch(_pattern(shown), _comparable(printed)), f"$ {command}\n{printed}"


def _comparable(output: str) -> str:
    output = re.sub(r"\d+\.\d+ s\b", "T s", output.strip())
    return re.sub(r"\d{8}-\d{6}-\d{6}", "STAMP", output)


def _pattern(shown: str) -> str:
    lines = _comparable(shown).splitlines()
    return "\n".join(r"(?:.*\n)*?.*" if line == "..." else re.escape(line) for line in lines)


def test_the_readme_figures_are_rows_of_the_newest_results_file_it_names():
    results = re.search(r"^## Results$(.*?)^## ", README, re.DOTALL | re.MULTILINE)[1]
    named = re.findall(r"\]\((benchmarks/[^)]+\.(?:md|txt))\)", results)
    assert named, "the results section names the files its figures come from"
    rows = [line for line in results.splitlines() if line.startswith("|")]
    texts = {name: (REPOSITORY / name).read_text(encoding="utf-8") for name in named}
    assert rows and all(any(row in text for text in texts.values()) for row in rows)
    for name, text in texts.items():
        kind = re.sub(r"-(?:[0-9a-f]+|\d{4}-\d{2}-\d{2})\.(md|txt)$", r"-*.\1", name)  # by commit, or by date
        assert newest(kind) == REPOSITORY / name, f"{name} is not the newest of {kind}"
        date, cores = re.search(r"\d{4}-\d{2}-\d{2}", text)[0], re.search(r"(\d+) cores", text)[1]
        said = flat(results)[flat(results).index(name):]  # the sentence that names the file says when and where
        assert f"measured {date} on an " in said[:200] and f"with {cores} cores" in said[:300], name
    speed = newest("benchmarks/speed/speed-*.txt")
    assert speed is None or speed.relative_to(REPOSITORY).as_posix() in results


def test_the_readme_relative_links_and_anchors_resolve():
    broken = []
    for target in LINK.findall(README):
        if re.match(r"[a-z]+:", target):
            continue  # another site: not reachable from here
        path, _, anchor = target.partition("#")
        linked = REPOSITORY / path if path else REPOSITORY / "README.md"
        if not linked.exists() or (anchor and anchor not in _anchors(linked.read_text(encoding="utf-8"))):
            broken.append(target)
    assert broken == []


def _anchors(markdown: str) -> set[str]:
    """The anchors GitHub and MkDocs give a Markdown file's headings (code blocks left out)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    return {_slug(heading) for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def _slug(heading: str) -> str:
    words = unicodedata.normalize("NFKD", heading.replace("`", "")).lower()
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", words).strip())


def test_every_command_and_option_the_readme_and_the_manual_show_exists():
    shown = [README, *(path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md")))]
    unknown = []
    for text in shown:
        for block in re.findall(r"```(?:sh|console)\n(.*?)```", text, re.DOTALL):
            for line in block.splitlines():
                words = line.removeprefix("$ ").split("#")[0].split()
                if words[:1] == ["lookalike"]:
                    unknown += _unknown_options(words[1:])
    assert unknown == []


def _unknown_options(words: list[str]) -> list[str]:
    """The words of `lookalike WORDS` that name a command or an option the CLI does not have."""
    command: click.Command = app
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        if words[0] not in command.commands:
            return [words[0]]
        command, words = command.commands[words[0]], words[1:]
    known = {option for parameter in command.params for option in getattr(parameter, "opts", [])} | {"-h", "--help"}
    return [word.split("=")[0] for word in words if word.startswith("-") and word.split("=")[0] not in known]
