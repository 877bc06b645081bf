"""Which dependency installs from a wheel where: every requirement in pyproject.toml (the package's and each
extra's), on Windows, macOS and Linux (x86-64 and arm64), for Python 3.11 to 3.13, checked against PyPI.

One question to the index per package (its simple JSON page, all files of all releases); a release counts for a
system and a Python when one of its wheels carries a tag that pip would install there (`packaging.tags`, as pip
computes them). A cell is the newest such release, `*` when it is older than the package's newest (the newest
dropped that system), `-` when no release within the bounds has a wheel there.

    .venv/bin/python scripts/check_wheels.py > scripts/wheels-$(date +%F).txt
"""

from __future__ import annotations

import json
import tomllib
import urllib.request
from datetime import date
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

PYTHONS = [(3, 11), (3, 12), (3, 13)]
MANYLINUX = [f"manylinux_2_{minor}" for minor in range(28, 4, -1)] + ["manylinux2014", "manylinux2010",
                                                                     "manylinux1"]  # glibc 2.28 and older
SYSTEMS = {  # name: the platform tags pip accepts there
    "win_amd64": ["win_amd64"],
    "win_arm64": ["win_arm64"],
    "macos_x86_64": list(mac_platforms((13, 0), "x86_64")),  # macOS 13 (Ventura), the oldest Apple supports
    "macos_arm64": list(mac_platforms((13, 0), "arm64")),
    "linux_x86_64": [f"{tag}_x86_64" for tag in MANYLINUX],
    "linux_aarch64": [f"{tag}_aarch64" for tag in MANYLINUX],
}
INDEX = "https://pypi.org/simple/{}/"


def requirements() -> list[tuple[str, Requirement]]:
    """(where it is required: "core" or the extra's name, requirement), each package once, first where named."""
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    found, seen = [], set()
    groups = [("core", project["dependencies"]), *project["optional-dependencies"].items()]
    for extra, listed in groups:
        for text in listed:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) not in seen:
                seen.add(canonicalize_name(requirement.name))
                found.append((extra, requirement))
    return found


def wheels_by_version(name: str) -> dict[Version, set[Tag] | None]:
    """Every release's wheel tags (None: a release with files but no wheel), yanked files left out."""
    request = urllib.request.Request(INDEX.format(canonicalize_name(name)),
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    releases: dict[Version, set[Tag] | None] = {}
    for file in files:
        if file.get("yanked"):
            continue
        if file["filename"].endswith(".whl"):
            _, version, _, tags = parse_wheel_filename(file["filename"])
            releases[version] = (releases.get(version) or set()) | set(tags)
        else:
            version = _sdist_version(file["filename"])
            if version is not None:
                releases.setdefault(version, None)
    return releases


def _sdist_version(filename: str) -> Version | None:
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    try:
        return Version(stem.rsplit("-", 1)[-1])
    except InvalidVersion:
        return None


def supported(python: tuple[int, int], platforms: list[str]) -> set[Tag]:
    return {*cpython_tags(python, platforms=platforms), *compatible_tags(python, platforms=platforms)}


def cell(requirement: Requirement, releases: dict[Version, set[Tag] | None], tags: set[Tag]) -> str:
    allowed = sorted((v for v in releases if not v.is_prerelease and v in requirement.specifier), reverse=True)
    for version in allowed:
        if releases[version] and releases[version] & tags:
            return str(version) + ("" if version == allowed[0] else "*")
    return "-"


def main() -> None:
    print(f"Wheels on PyPI for lookalike's requirements, {date.today().isoformat()} (scripts/check_wheels.py)")
    print("cell: newest release within the bounds with a wheel there; * older than the newest; - none\n")
    header = ["package", "needed by", "python", *SYSTEMS]
    rows, missing = [], []
    for extra, requirement in requirements():
        releases = wheels_by_version(requirement.name)
        for python in PYTHONS:
            row = [str(requirement), extra, "{}.{}".format(*python)]
            for system in SYSTEMS:
                needed = requirement.marker is None or requirement.marker.evaluate(
                    {"sys_platform": "win32" if system.startswith("win") else "darwin" if system.startswith("mac")
                     else "linux", "python_version": row[2], "extra": extra})
                row.append(cell(requirement, releases, supported(python, SYSTEMS[system])) if needed else "n/a")
                if row[-1] == "-":
                    missing.append(f"{requirement.name} ({extra}): {system}, Python {row[2]}")
            rows.append(row)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    print(f"\n{len(missing)} of {len(rows) * len(SYSTEMS)} have no wheel:")
    for where in missing:
        print(f"  {where}")


if __name__ == "__main__":
    main()
