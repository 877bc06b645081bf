"""Signatures as Parquet: exported from one cache, imported into another, a scan there decodes nothing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from lookalike import report
from lookalike.cache import Cache
from lookalike.demo import make_demo_collection
from lookalike.pipeline import ScanOptions, scan
from lookalike.stages.decode import decode_file

pa = pytest.importorskip("pyarrow", reason='pyarrow is not installed here (pip install "lookalike[parquet]")')
pq = pytest.importorskip("pyarrow.parquet")
from lookalike.parquet import VERSION_KEY, export_parquet, import_parquet  # noqa: E402 - needs pyarrow


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """The demo collection, scanned once into a cache."""
    root = tmp_path_factory.mktemp("collection")
    make_demo_collection(root)
    cache = root.parent / f"{root.name}.sqlite"
    return root, cache, scan([root], ScanOptions(jobs=2, cache=cache))


def test_an_imported_cache_answers_a_scan_without_decoding(scanned, tmp_path):
    root, cache, first = scanned
    with Cache(cache) as source:
        counts = export_parquet(source, tmp_path / "tables")
    assert (counts.images, counts.files) == (len(first.images), len(first.files))
    with Cache(tmp_path / "imported.sqlite") as target:
        assert import_parquet(tmp_path / "tables", target) == counts
    again = scan([root], ScanOptions(jobs=2, cache=tmp_path / "imported.sqlite"))
    assert again.decoded == 0
    assert report.to_json(again)["groups"] == report.to_json(first)["groups"]


def test_the_tables_hold_the_scan_s_hashes_and_files(scanned, tmp_path):
    _, cache, first = scanned
    with Cache(cache) as source:
        export_parquet(source, tmp_path)
    images = pq.read_table(tmp_path / "images.parquet").to_pydict()
    row_of = {digest: row for row, digest in enumerate(first.images.content_hash.tolist())}
    rows = [row_of[digest] for digest in images["content_hash"]]
    assert np.array_equal(np.array(images["hashes"], np.uint64), first.images.hashes[rows])
    assert np.array_equal(np.array(images["windows"], np.uint64), first.images.windows[rows])
    decoded = {d.content_hash: d.thumb for d in (decode_file(record.path) for record in first.files)}
    assert images["thumb"] == [decoded[digest] for digest in images["content_hash"]]
    files = pq.read_table(tmp_path / "files.parquet").to_pydict()
    assert sorted(files["path"]) == sorted(record.path.encode() for record in first.files)


def test_another_signature_version_is_refused_and_nothing_is_written(scanned, tmp_path):
    _, cache, _ = scanned
    with Cache(cache) as source:
        export_parquet(source, tmp_path)
    table = pq.read_table(tmp_path / "images.parquet")
    pq.write_table(table.replace_schema_metadata({VERSION_KEY: b"0"}), tmp_path / "images.parquet")
    with Cache(tmp_path / "target.sqlite") as target, pytest.raises(ValueError, match="version 0"):
        import_parquet(tmp_path, target)
    with sqlite3.connect(tmp_path / "target.sqlite") as db:
        assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM files").fetchone() == (0,)


def test_export_and_import_from_the_command_line(scanned, tmp_path):
    _, cache, first = scanned

    def lookalike(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lookalike", "signatures", *args], capture_output=True,
                              text=True, timeout=300)

    done = lookalike("export", "--parquet", str(tmp_path / "tables"), "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    assert f"exported {len(first.images)} images and {len(first.files)} files" in done.stdout
    done = lookalike("import", "--parquet", str(tmp_path / "tables"), "--cache", str(tmp_path / "new.sqlite"))
    assert done.returncode == 0, done.stderr
    (tmp_path / "tables" / "files.parquet").write_bytes(b"not parquet")
    done = lookalike("import", "--parquet", str(tmp_path / "tables"), "--cache", str(tmp_path / "new.sqlite"))
    assert done.returncode == 2 and "not a readable Parquet file" in done.stderr


def test_hashes_that_are_not_their_thumbnails_are_refused(scanned, tmp_path):
    _, cache, _ = scanned
    with Cache(cache) as source:
        export_parquet(source, tmp_path)
    table = pq.read_table(tmp_path / "images.parquet")
    hashes = np.array(table.column("hashes").to_pylist(), np.uint64)
    hashes[0, 0] ^= np.uint64(1)
    changed = pa.FixedSizeListArray.from_arrays(pa.array(hashes.reshape(-1)), hashes.shape[1])
    pq.write_table(table.set_column(table.schema.get_field_index("hashes"), "hashes", changed),
                   tmp_path / "images.parquet")
    with Cache(tmp_path / "target.sqlite") as target, pytest.raises(ValueError, match="hashes in the table"):
        import_parquet(tmp_path, target)
    with sqlite3.connect(tmp_path / "target.sqlite") as db:
        assert db.execute("SELECT count(*) FROM images").fetchone() == (0,)
