"""Sources: every format and place, values typed as the contract says."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import fsspec
import polars as pl
import pytest
from support.contracts import column, contract, write_yaml

import meshlab
from meshlab.errors import SchemaDriftError, SourceError
from meshlab.sources.sqlite import BATCH_ROWS


def write_contract(path: Path, domain: str, name: str, server: dict, columns: list[tuple[str, str]], **extra) -> None:
    properties = [column(c, t, **extra.get(c, {})) for c, t in columns]
    write_yaml(path, contract(domain, name, properties, server))


def test_sqlite_text_dates_and_reals_come_back_typed(tmp_path):
    db = sqlite3.connect(tmp_path / "x.sqlite")
    db.execute("CREATE TABLE t (id INTEGER, day TEXT, at TEXT, price REAL, flag INTEGER)")
    db.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        [(1, "2026-10-01", "2026-10-01 08:30:00", 9.5, 1), (2, "2026-10-02", None, 12.25, 0)],
    )
    db.commit()
    db.close()
    write_contract(
        tmp_path / "t.odcs.yaml",
        "d",
        "t",
        {"type": "sqlite", "path": "x.sqlite"},
        [("id", "integer"), ("day", "date"), ("at", "timestamp"), ("price", "number"), ("flag", "boolean")],
        price={"physicalType": "DECIMAL(10,2)"},
    )
    frame = meshlab.connect(tmp_path / "t.odcs.yaml").sql("SELECT * FROM d.t ORDER BY id").df
    assert frame.schema["day"] == pl.Date and frame.schema["at"] == pl.Datetime("us")
    assert frame.schema["price"] == pl.Decimal(10, 2) and frame.schema["flag"] == pl.Boolean
    assert frame["day"].to_list() == [dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
    assert frame["at"].to_list() == [dt.datetime(2026, 10, 1, 8, 30), None]
    assert [float(v) for v in frame["price"]] == [9.5, 12.25]
    assert frame["flag"].to_list() == [True, False]


def test_csv_and_ndjson_follow_the_contract_types(tmp_path):
    (tmp_path / "a.csv").write_text("id;day;score\n1;2026-01-05;1.5\n2;2026-01-06;\n")
    (tmp_path / "b.json").write_text(
        "\n".join(json.dumps({"id": i, "published": f"2026-02-0{i}"}) for i in (1, 2)) + "\n"
    )
    write_contract(
        tmp_path / "d" / "a.odcs.yaml",
        "d",
        "a",
        {"type": "local", "format": "csv", "path": "../a.csv", "delimiter": ";"},
        [("id", "integer"), ("day", "date"), ("score", "number")],
    )
    write_contract(
        tmp_path / "d" / "b.odcs.yaml",
        "d",
        "b",
        {"type": "local", "format": "json", "path": "../b.json"},
        [("id", "integer"), ("published", "date")],
    )
    (tmp_path / "mesh.yaml").write_text("mesh: m\ndomains: {d: d}\n")
    mesh = meshlab.connect(tmp_path / "mesh.yaml")
    frame = mesh.sql("SELECT a.id, a.day, a.score, b.published FROM d.a a JOIN d.b b ON a.id = b.id ORDER BY a.id").df
    assert frame.schema["day"] == pl.Date and frame.schema["published"] == pl.Date
    assert frame.rows() == [
        (1, dt.date(2026, 1, 5), 1.5, dt.date(2026, 2, 1)),
        (2, dt.date(2026, 1, 6), None, dt.date(2026, 2, 2)),
    ]


def _partitioned_mesh(root: Path):
    """``d.events``: users 1, 2 on 2026-10-01 and 3 on 2026-10-02, one hive folder a day."""
    for day, users in (("2026-10-01", [1, 2]), ("2026-10-02", [3])):
        folder = root / "events" / f"day={day}"
        folder.mkdir(parents=True)
        pl.DataFrame({"user_id": users}).write_parquet(folder / "part-0.parquet")
    write_contract(
        root / "e.odcs.yaml",
        "d",
        "events",
        {"type": "local", "format": "parquet", "path": "events/**/*.parquet"},
        [("user_id", "integer"), ("day", "date")],
    )
    return meshlab.connect(root / "e.odcs.yaml")


def test_hive_partitions_are_columns_and_prune(tmp_path):
    mesh = _partitioned_mesh(tmp_path)
    frame = mesh.sql("SELECT user_id, day FROM d.events WHERE day = DATE '2026-10-02'").df
    assert frame.rows() == [(3, dt.date(2026, 10, 2))]
    assert "day = CAST('2026-10-02' AS DATE)" in mesh.explain(
        "SELECT user_id FROM d.events WHERE day = DATE '2026-10-02'"
    )


def test_a_partition_published_after_connect_is_seen(tmp_path):
    mesh = _partitioned_mesh(tmp_path)
    assert mesh.sql("SELECT count(*) AS n FROM d.events").df["n"][0] == 3
    folder = tmp_path / "events" / "day=2026-10-03"
    folder.mkdir()
    pl.DataFrame({"user_id": [4, 5]}).write_parquet(folder / "part-0.parquet")
    assert mesh.sql("SELECT count(*) AS n FROM d.events").df["n"][0] == 5


def test_a_file_rewritten_or_removed_after_a_query_is_read_again(tmp_path):
    """Local scans are reused between queries only while every file's size and mtime hold."""
    mesh = _partitioned_mesh(tmp_path)
    total = "SELECT count(*) AS n, sum(user_id) AS s FROM d.events"
    assert mesh.sql(total).df.rows() == [(3, 6)]
    assert mesh.sql(total).df.rows() == [(3, 6)]  # the second query reuses the scan

    pl.DataFrame({"user_id": [10, 20, 30]}).write_parquet(tmp_path / "events" / "day=2026-10-01" / "part-0.parquet")
    assert mesh.sql(total).df.rows() == [(4, 63)]
    (tmp_path / "events" / "day=2026-10-02" / "part-0.parquet").unlink()
    assert mesh.sql(total).df.rows() == [(3, 60)]


def test_a_mesh_and_its_data_behind_an_fsspec_url(tmp_path):
    """memory:// is a protocol Polars cannot open itself: files go through fsspec."""
    fs = fsspec.filesystem("memory")
    with fs.open("/meshtest/data/tracks.parquet", "wb") as handle:
        pl.DataFrame({"track_id": [1, 2, 3], "title": ["a", "b", "c"]}).write_parquet(handle)
    contract = tmp_path / "c.yaml"
    write_contract(
        contract,
        "music",
        "tracks",
        {"type": "memory", "format": "parquet", "path": "../data/tracks.parquet"},
        [("track_id", "integer"), ("title", "string")],
    )
    fs.pipe("/meshtest/music/tracks.odcs.yaml", contract.read_bytes())
    fs.pipe("/meshtest/mesh.yaml", b"mesh: remote\ndomains:\n  music: music\n")
    try:
        mesh = meshlab.connect("memory://meshtest/mesh.yaml")
        assert [d.address for d in mesh.datasets()] == ["music.tracks"], mesh.errors
        assert mesh.sql("SELECT title FROM music.tracks WHERE track_id > 1 ORDER BY title").df["title"].to_list() == [
            "b",
            "c",
        ]
    finally:
        fs.rm("/meshtest", recursive=True)


def test_limit_reaches_sqlite_only_when_safe(tmp_path, caplog):
    db = sqlite3.connect(tmp_path / "x.sqlite")
    db.execute("CREATE TABLE t (id INTEGER, name TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i % 7}") for i in range(100)])
    db.commit()
    db.close()
    write_contract(
        tmp_path / "t.odcs.yaml",
        "d",
        "t",
        {"type": "sqlite", "path": "x.sqlite", "customProperties": [{"property": "driver", "value": "sqlite3"}]},
        [("id", "integer"), ("name", "string")],
    )
    mesh = meshlab.connect(tmp_path / "t.odcs.yaml")

    def received(sql):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="meshlab.sources.sqlite"):
            frame = mesh.sql(sql).df
        return frame, [r.getMessage() for r in caplog.records if "sqlite3 ran" in r.getMessage()]

    frame, sent = received("SELECT id FROM d.t WHERE id >= 10 ORDER BY id LIMIT 3 OFFSET 2")
    assert frame["id"].to_list() == [12, 13, 14]
    assert sent[0].endswith("WHERE `id` >= 10 ORDER BY `id` NULLS LAST LIMIT 5")
    frame, sent = received("SELECT name, count(*) AS n FROM d.t GROUP BY name ORDER BY name LIMIT 2")
    assert "LIMIT" not in sent[0] and frame["n"].to_list() == [15, 15]
    # LIKE is case-insensitive in SQLite: pushed as a pre-filter, so no LIMIT below it.
    frame, sent = received("SELECT name FROM d.t WHERE name LIKE 'N1%' LIMIT 2")
    assert frame.height == 0 and "LIMIT" not in sent[0]


def test_sqlite_column_whose_first_rows_are_null(tmp_path):
    """ADBC types a column from its first batch: NULLs for more than a batch, then text, must not break it."""
    nulls = BATCH_ROWS + 5000
    db = sqlite3.connect(tmp_path / "x.sqlite")
    db.execute("CREATE TABLE t (id INTEGER, country TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, None if i < nulls else "SE") for i in range(nulls + 1000)])
    db.commit()
    db.close()
    write_contract(
        tmp_path / "t.odcs.yaml",
        "d",
        "t",
        {"type": "sqlite", "path": "x.sqlite"},
        [("id", "integer"), ("country", "string")],
    )
    frame = (
        meshlab.connect(tmp_path / "t.odcs.yaml")
        .sql("SELECT country, count(*) AS n FROM d.t GROUP BY country ORDER BY n")
        .df
    )
    assert frame.rows() == [("SE", 1000), (None, nulls)]


def test_sqlite_column_holding_numbers_and_text_is_a_source_error(tmp_path):
    """A column with two kinds of value (SQLite allows it) is named as the source's failure."""
    db = sqlite3.connect(tmp_path / "x.sqlite")
    db.execute("CREATE TABLE t (id INTEGER, code)")
    db.executemany(
        "INSERT INTO t VALUES (?, ?)", [(i, i if i < BATCH_ROWS + 10 else "X") for i in range(BATCH_ROWS + 20)]
    )
    db.commit()
    db.close()
    write_contract(
        tmp_path / "t.odcs.yaml",
        "d",
        "t",
        {"type": "sqlite", "path": "x.sqlite"},
        [("id", "integer"), ("code", "integer")],
    )
    with pytest.raises(SourceError, match="dataset 'd.t'"):
        meshlab.connect(tmp_path / "t.odcs.yaml").sql("SELECT code FROM d.t")


def test_a_failed_sqlite_read_leaves_a_process_that_can_fork(tmp_path):
    """What a failed read leaves behind (its traceback, kept by a notebook) must not reserve so much
    address space that the process can no longer fork: Spark's JVM launch forks (a preexec_fn)."""
    db = sqlite3.connect(tmp_path / "x.sqlite")
    db.execute("CREATE TABLE t (id INTEGER, amount REAL)")
    db.execute("INSERT INTO t VALUES (1, 9.5)")
    db.commit()
    db.close()
    write_contract(
        tmp_path / "t.odcs.yaml",
        "d",
        "t",
        {"type": "sqlite", "path": "x.sqlite"},
        [("id", "integer"), ("total", "number")],
    )
    with pytest.raises(SchemaDriftError) as kept:  # the contract's column was renamed in the table
        meshlab.connect(tmp_path / "t.odcs.yaml").sql("SELECT total FROM d.t")
    assert kept.value.__traceback__ is not None
    forked = subprocess.run([sys.executable, "-c", "pass"], preexec_fn=lambda: None, timeout=120)
    assert forked.returncode == 0


def test_datasets_and_columns_named_like_keywords(tmp_path):
    pl.DataFrame({"order": [2, 1], "my col": ["b", "a"]}).write_parquet(tmp_path / "s.parquet")
    write_contract(
        tmp_path / "s.odcs.yaml",
        "d",
        "select",
        {"type": "local", "format": "parquet", "path": "s.parquet"},
        [("order", "integer"), ("my col", "string")],
    )
    mesh = meshlab.connect(tmp_path / "s.odcs.yaml")
    frame = mesh.sql('SELECT "order", "my col" FROM d."select" ORDER BY "order"').df
    assert frame.rows() == [(1, "a"), (2, "b")]
