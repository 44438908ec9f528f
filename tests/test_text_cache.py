"""The columnar cache of CSV and NDJSON files (meshlab.sources.text_cache), on real files.

Each test has a cache folder of its own (``$MESHLAB_TEXT_CACHE_DIR``) and compares what a
mesh answers through the cache with what it answers reading the text, and with DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from support.contracts import column, contract, local_files, write_mesh, write_yaml

import meshlab
from meshlab.errors import DescriptorError, SchemaDriftError, SourceError
from meshlab.sources.text_cache import IN_USE_SECONDS, TextCache, TextCacheSettings

COLUMNS = [("id", "integer"), ("day", "date"), ("amount", "number"), ("name", "string"), ("flag", "boolean")]
ROWS = 3000


def _rows(n: int = ROWS, offset: int = 0) -> list[dict]:
    return [
        {
            "id": offset + i,
            "day": (dt.date(2026, 1, 1) + dt.timedelta(days=i % 400)).isoformat(),
            "amount": None if i % 17 == 0 else round(i * 1.25, 2),
            "name": f'name {i}, "quoted"' if i % 5 else "",
            "flag": i % 3 == 0,
        }
        for i in range(n)
    ]


def _write_csv(path: Path, rows: list[dict], delimiter: str = ";") -> None:
    pl.DataFrame(rows).write_csv(path, separator=delimiter)


def _write_ndjson(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MESHLAB_TEXT_CACHE_DIR", str(folder))
    monkeypatch.delenv("MESHLAB_TEXT_CACHE", raising=False)
    return folder


def _mesh(root: Path, files: dict | None = None) -> Path:
    """``d.sales`` (a ``;``-delimited CSV) and ``d.events`` (NDJSON) over the same rows."""
    data = root / "data"
    data.mkdir(exist_ok=True)
    if not (data / "sales.csv").exists():
        _write_csv(data / "sales.csv", _rows())
        _write_ndjson(data / "events.ndjson", _rows())
    properties = [column(n, t) for n, t in COLUMNS]
    csv_server = local_files("../../data/sales.csv", "csv", customProperties=[{"property": "delimiter", "value": ";"}])
    write_yaml(root / "domains" / "d" / "sales.odcs.yaml", contract("d", "sales", properties, csv_server))
    json_server = local_files("../../data/events.ndjson", "json")
    write_yaml(root / "domains" / "d" / "events.odcs.yaml", contract("d", "events", properties, json_server))
    return write_mesh(root, "m", ["d"], **({"files": files} if files is not None else {}))


def _copies(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


QUERIES = [
    "SELECT * FROM d.{t} ORDER BY id",
    "SELECT day, count(*) AS n, sum(amount) AS total FROM d.{t} WHERE flag AND amount > 100 GROUP BY day ORDER BY day",
    "SELECT name, amount FROM d.{t} WHERE day BETWEEN DATE '2026-03-01' AND DATE '2026-03-05' ORDER BY id",
]


@pytest.mark.parametrize("table", ["sales", "events"])
def test_cached_and_uncached_answers_are_equal(tmp_path, cache_dir, table):
    cached = meshlab.connect(_mesh(tmp_path))
    text = meshlab.connect(write_mesh(tmp_path, "m", ["d"], files={"text_cache": False}))
    for number, sql in enumerate(q.format(t=table) for q in QUERIES):
        first = cached.sql(sql)  # the first query converts the file
        assert ("converted 1 file(s) to parquet" in "\n".join(first.plan[0].sent)) == (number == 0)
        again = cached.sql(sql)  # reads the copy
        assert any("text cache: reads the parquet copy" in s for scan in again.plan for s in scan.sent)
        plain = text.sql(sql)
        assert any("text cache: off" in s for scan in plain.plan for s in scan.sent)
        assert first.df.equals(plain.df) and again.df.equals(plain.df), sql
        assert again.df.schema == plain.df.schema
    assert len(_copies(cache_dir)) == 1
    assert "text cache: reads the parquet copy" in cached.explain(QUERIES[0].format(t=table))


def test_the_cached_csv_answers_as_duckdb_reads_the_text(tmp_path, cache_dir):
    mesh = meshlab.connect(_mesh(tmp_path))
    # (not the names: DuckDB reads the empty quoted strings as nulls, Polars as empty strings, cache or not)
    sql = "SELECT day, count(*) AS n, sum(amount) AS total, max(id) AS last FROM {} GROUP BY day ORDER BY day"
    mesh.sql(sql.format("d.sales"))
    ours = mesh.sql(sql.format("d.sales"))
    assert "text cache: reads the parquet copy" in "\n".join(ours.plan[0].sent)
    theirs = duckdb.sql(sql.format(f"read_csv('{tmp_path / 'data' / 'sales.csv'}', delim=';', header=true)")).pl()
    assert ours.df["day"].to_list() == theirs["day"].to_list()
    assert ours.df["n"].to_list() == theirs["n"].to_list()
    assert ours.df["total"].to_list() == pytest.approx(theirs["total"].to_list())
    assert ours.df["last"].to_list() == theirs["last"].to_list()


def test_a_rewritten_file_is_read_again_at_once(tmp_path, cache_dir):
    mesh = meshlab.connect(_mesh(tmp_path))
    total = "SELECT count(*) AS n, sum(id) AS s FROM d.{}"
    for table in ("sales", "events"):
        assert mesh.sql(total.format(table)).df.rows() == [(ROWS, sum(range(ROWS)))]
    _write_csv(tmp_path / "data" / "sales.csv", _rows(10, offset=1000))
    _write_ndjson(tmp_path / "data" / "events.ndjson", _rows(7, offset=500))
    assert mesh.sql(total.format("sales")).df.rows() == [(10, sum(range(1000, 1010)))]
    assert mesh.sql(total.format("events")).df.rows() == [(7, sum(range(500, 507)))]
    # Same size, another value: the modification time tells.
    path = tmp_path / "data" / "sales.csv"
    path.write_text(path.read_text().replace("1009;", "1008;", 1))
    assert mesh.sql(total.format("sales")).df.rows() == [(10, sum(range(1000, 1009)) + 1008)]


def test_a_malformed_csv_fails_with_the_same_error_naming_the_file(tmp_path, cache_dir):
    manifest = _mesh(tmp_path)
    path = tmp_path / "data" / "sales.csv"
    with path.open("a") as handle:
        handle.write("3000;2026-01-01;lots;x;true\n")
    errors = []
    for files in ({"text_cache": False}, None):
        mesh = meshlab.connect(write_mesh(tmp_path, "m", ["d"], **({"files": files} if files else {})))
        for _ in range(2):  # the second query meets the failure remembered, not a copy
            with pytest.raises(SourceError) as caught:
                mesh.sql("SELECT sum(amount) AS total FROM d.sales")
            errors.append(str(caught.value))
    assert len(set(errors)) == 1
    assert errors[0] == (
        f"dataset 'd.sales' on server 'lake': {path} row {ROWS + 1} (line {ROWS + 2}): "
        "value 'lots' in column 'amount' is not a number"
    )
    assert _copies(cache_dir) == []
    # A query that does not read the bad column answers, as it does from the text.
    mesh = meshlab.connect(manifest)
    assert mesh.sql("SELECT count(id) AS n FROM d.sales").df["n"][0] == ROWS + 1
    assert "conversion failed" in mesh.explain("SELECT count(id) AS n FROM d.sales")


def test_the_real_file_is_checked_for_drift(tmp_path, cache_dir):
    mesh = meshlab.connect(_mesh(tmp_path))
    assert mesh.sql("SELECT count(flag) AS n FROM d.sales").df["n"][0] == ROWS
    pl.DataFrame(_rows()).drop("flag").write_csv(tmp_path / "data" / "sales.csv", separator=";")
    with pytest.raises(SchemaDriftError, match="column 'flag' declared in .* is not in csv"):
        mesh.sql("SELECT count(flag) AS n FROM d.sales")


def test_the_cache_can_be_turned_off(tmp_path, cache_dir, monkeypatch):
    mesh = meshlab.connect(_mesh(tmp_path, files={"text_cache": False}))
    assert mesh.sql("SELECT count(*) AS n FROM d.sales").df["n"][0] == ROWS
    assert "text cache: off" in mesh.explain("SELECT count(*) AS n FROM d.events")
    monkeypatch.setenv("MESHLAB_TEXT_CACHE", "off")
    mesh = meshlab.connect(_mesh(tmp_path, files={"text_cache": True}))
    assert mesh.sql("SELECT count(*) AS n FROM d.events").df["n"][0] == ROWS
    assert _copies(cache_dir) == []
    monkeypatch.delenv("MESHLAB_TEXT_CACHE")
    folder = tmp_path / "elsewhere"
    mesh = meshlab.connect(_mesh(tmp_path, files={"text_cache": {"folder": str(folder)}}))
    monkeypatch.delenv("MESHLAB_TEXT_CACHE_DIR")  # the variable would win over mesh.yaml
    assert mesh.sql("SELECT count(*) AS n FROM d.events").df["n"][0] == ROWS
    assert len(_copies(folder)) == 1


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ("maybe", "files.text_cache", "must be true, false or a mapping"),
        ({"max_bytes": -1}, "files.text_cache.max_bytes", "must be a positive integer"),
        ({"size": 10}, "files.text_cache", "unknown key(s) size"),
    ],
)
def test_a_bad_setting_is_a_descriptor_error(tmp_path, cache_dir, value, field, message):
    mesh = meshlab.connect(_mesh(tmp_path, files={"text_cache": value}))
    with pytest.raises(DescriptorError) as caught:
        mesh.sql("SELECT count(*) AS n FROM d.sales")
    assert caught.value.field == field and message in str(caught.value)


def test_a_scan_of_the_first_rows_does_not_convert(tmp_path, cache_dir):
    mesh = meshlab.connect(_mesh(tmp_path))
    assert mesh.sql("SELECT id FROM d.sales LIMIT 3").df.height == 3
    assert _copies(cache_dir) == []
    mesh.sql("SELECT count(*) FROM d.sales")
    assert len(_copies(cache_dir)) == 1
    result = mesh.sql("SELECT id FROM d.sales LIMIT 3")  # a copy there is read
    assert "text cache: reads the parquet copy" in "\n".join(result.plan[0].sent)


def test_the_folder_keeps_its_bound_least_recently_used_first(tmp_path, cache_dir):
    data = tmp_path / "data"
    data.mkdir()
    properties = [column(n, t) for n, t in COLUMNS]
    for i in range(4):
        _write_csv(data / f"t{i}.csv", _rows(offset=i * ROWS))
        server = local_files(f"../../data/t{i}.csv", "csv", customProperties=[{"property": "delimiter", "value": ";"}])
        write_yaml(tmp_path / "domains" / "d" / f"t{i}.odcs.yaml", contract("d", f"t{i}", properties, server))
    one = TextCache(str(tmp_path / "probe"), 2**40)
    probe = one.copy_of(str(data / "t0.csv"), "probe", lambda: pl.scan_csv(data / "t0.csv", separator=";"))
    size = os.path.getsize(probe.path)
    bound = int(size * 2.5)  # two copies fit, three do not
    mesh = meshlab.connect(write_mesh(tmp_path, "m", ["d"], files={"text_cache": {"max_bytes": bound}}))
    cache_dir.mkdir()
    foreign = cache_dir / "someone-elses.parquet"  # not a copy's name: never removed
    pl.DataFrame({"x": list(range(ROWS))}).write_parquet(foreign)
    os.utime(foreign, (0, 0))
    for i in range(4):
        assert mesh.sql(f"SELECT sum(id) AS s FROM d.t{i}").df["s"][0] == sum(range(i * ROWS, (i + 1) * ROWS))
        for copy in (
            c for c in _copies(cache_dir) if c != foreign
        ):  # as if used long ago, in order: t0 the least recently
            age = IN_USE_SECONDS * 10 - int(copy.name[1]) - 1
            os.utime(copy, (time.time() - age, time.time() - age))
    assert foreign.exists()
    copies = [c for c in _copies(cache_dir) if c != foreign]
    assert [c.name.split(".csv")[0] for c in copies] == ["t2", "t3"]
    assert sum(c.stat().st_size for c in copies) <= bound
    # A copy larger than the whole bound is not kept; the query still answers, from the text.
    small = meshlab.connect(write_mesh(tmp_path, "m", ["d"], files={"text_cache": {"max_bytes": size // 2}}))
    result = small.sql("SELECT count(*) AS n FROM d.t0")
    assert result.df["n"][0] == ROWS
    assert "larger than the cache's bound" in "\n".join(result.plan[0].sent)


def test_two_threads_converting_one_file_share_one_whole_copy(tmp_path, cache_dir):
    manifest = _mesh(tmp_path)
    sql = "SELECT count(*) AS n, sum(amount) AS total FROM d.events"
    meshes = [meshlab.connect(manifest) for _ in range(2)]  # two meshes: two sources, one cache folder
    expected = meshlab.connect(write_mesh(tmp_path, "m", ["d"], files={"text_cache": False})).sql(sql).df
    start, answers, failures = threading.Barrier(2), [], []

    def query(mesh):
        start.wait()
        try:
            answers.append(mesh.sql(sql).df)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=query, args=(m,)) for m in meshes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == [] and len(answers) == 2
    assert all(a.equals(expected) for a in answers)
    assert len(_copies(cache_dir)) == 1 and [p for p in cache_dir.iterdir() if p.suffix == ".tmp"] == []


def test_a_folder_that_cannot_be_written_falls_back_to_the_text(tmp_path, cache_dir):
    cache_dir.parent.mkdir(exist_ok=True)
    cache_dir.write_text("a file where the cache folder should be")
    mesh = meshlab.connect(_mesh(tmp_path))
    result = mesh.sql("SELECT count(*) AS n FROM d.sales")
    assert result.df["n"][0] == ROWS
    assert "reads 1 file(s) as text (conversion failed" in "\n".join(result.plan[0].sent)


def test_settings_parse():
    assert TextCacheSettings.parse(None) == TextCacheSettings()
    assert not TextCacheSettings.parse(False).enabled
    parsed = TextCacheSettings.parse({"folder": "cache", "max_bytes": 10}, "/m/mesh.yaml")
    assert parsed.folder == "/m/cache" and parsed.max_bytes == 10


QUERY_IN_A_PROCESS = """
import sys, meshlab
frame = meshlab.connect(sys.argv[1]).sql("SELECT count(*) AS n, sum(amount) AS total FROM d.events").df
print(frame.rows())
"""


def test_two_processes_converting_one_file_each_read_a_whole_copy(tmp_path, cache_dir):
    manifest = _mesh(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", QUERY_IN_A_PROCESS, str(manifest)], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    expected = meshlab.connect(write_mesh(tmp_path, "m", ["d"], files={"text_cache": False}))
    rows = expected.sql("SELECT count(*) AS n, sum(amount) AS total FROM d.events").df.rows()
    assert outputs == [str(rows), str(rows)]
    assert len(_copies(cache_dir)) == 1 and [p for p in cache_dir.iterdir() if p.suffix == ".tmp"] == []
