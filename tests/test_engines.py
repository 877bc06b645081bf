"""The Ray engine gives the local engine's results: same groups, same errors, same pairs from the join.

One Ray session (2 CPUs, as CI has) serves the whole module, since starting Ray takes seconds. Where Ray
cannot be installed the Ray tests are skipped and say so; the local engine needs no Ray.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.speed.clustered_hashes import clustered_hashes
from lookalike import report
from lookalike.demo import make_demo_collection
from lookalike.engines.engine import LocalEngine, engine_named
from lookalike.pipeline import ScanOptions, scan
from lookalike.stages.search import hamming_join


@pytest.fixture(scope="module")
def ray_engine():
    ray = pytest.importorskip("ray", reason='Ray is not installed here (pip install "lookalike[ray]")')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield engine_named("ray")
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The demo collection (originals, edited copies, byte copies) and a file that is not an image."""
    root = tmp_path_factory.mktemp("collection")
    make_demo_collection(root)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG after all")
    return root


def scanned(folder, engine, cache, **options) -> dict:
    document = report.to_json(scan([folder], ScanOptions(jobs=2, cache=cache, engine=engine, **options)))
    # how long, how much memory, how much work: Ray verifies every pair up front
    for measure in ("seconds", "peak_mb", "work"):
        del document[measure]
    return document


def test_the_ray_engine_finds_the_groups_and_errors_of_the_local_engine(ray_engine, folder, tmp_path):
    local = scanned(folder, LocalEngine(), tmp_path / "local.sqlite")
    on_ray = scanned(folder, ray_engine, tmp_path / "ray.sqlite")
    assert len(local["groups"]) >= 3 and len(local["errors"]) == 1
    assert on_ray == local
    assert scanned(folder, ray_engine, tmp_path / "ray.sqlite") == local  # again, from the cache
    with sqlite3.connect(tmp_path / "local.sqlite") as one, sqlite3.connect(tmp_path / "ray.sqlite") as other:
        for table in ("files", "images", "thumbs", "failures"):
            query = f"SELECT * FROM {table} ORDER BY 1"
            assert one.execute(query).fetchall() == other.execute(query).fetchall(), table


def test_loose_and_similar_matches_are_the_same_on_ray(ray_engine, folder):
    options = {"strictness": "loose", "similar": True}
    assert scanned(folder, ray_engine, None, **options) == scanned(folder, LocalEngine(), None, **options)


def test_the_ray_join_in_sixteen_shards_is_exact(ray_engine):
    from lookalike.engines.ray_engine import RayEngine

    hashes = clustered_hashes(20_000, seed=3)
    queries, index = hashes[:8_000], hashes[8_000:]
    pairs = RayEngine(shards=16).join(queries, index, 10)
    assert len(pairs) > 1000
    assert np.array_equal(pairs, hamming_join(queries, index, 10))


def test_scan_on_ray_from_the_command_line(ray_engine, folder, tmp_path):
    from lookalike.cli import app

    out = tmp_path / "report.json"
    app.main(["scan", str(folder), "--engine", "ray", "--no-cache", "-q", "--json", str(out)], standalone_mode=False)
    assert json.loads(out.read_text())["groups"] == scanned(folder, LocalEngine(), None)["groups"]


def test_engine_names_are_checked():
    with pytest.raises(ValueError, match="unknown engine"):
        engine_named("spark")
    with pytest.raises(ValueError, match="--engine ray"):
        engine_named("local", "ray://head:10001")


def test_without_ray_the_ray_engine_is_a_usage_error_with_the_install_command(tmp_path):
    without_ray = ("import sys; sys.modules['ray'] = None; sys.argv = ['lookalike', *sys.argv[1:]]; "
                   "from lookalike.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", without_ray, "scan", str(tmp_path), "--engine", "ray"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert 'pip install "lookalike[ray]"' in done.stderr and len(done.stderr.strip().splitlines()) == 1
