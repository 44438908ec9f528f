"""DuckDB files as a source: real .duckdb files written here from Polars frames.

DuckDB runs in this process and keeps no log: what it was sent is read from the
source's own trace hook (``STATEMENT_HOOKS``, called with every statement run on a
DuckDB connection), and DuckDB's ``EXPLAIN`` of that statement shows that the
filters reached its table scan. Answers are compared with DuckDB's own answer over
the same file, governed answers with the same data in SQLite, check metrics with
the same data in parquet (computed by Polars).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlglot
from conftest import assert_same_rows, guard_oracle_answer, order_by_positions
from sqlglot import exp
from support.contracts import (
    column,
    contract,
    duckdb_db,
    library_rule,
    local_files,
    sqlite_db,
    write_mesh,
    write_yaml,
)

import meshlab
from meshlab.cancel import QueryHandle
from meshlab.errors import QueryCancelledError, QueryTimeoutError, SchemaDriftError, SourceError
from meshlab.sources import Pushdown, duckdb_database
from meshlab.sources.duckdb_database import DuckdbSource, duckdb_dtype

CUSTOMERS, ORDERS = 300, 3_000
COUNTRIES = ["SE", "DE", "US", "FR", "de"]
STATUSES = ["new", "paid", "shipped", "lost"]
START = dt.datetime(2026, 3, 1)


def customers_frame() -> pl.DataFrame:
    i = pl.int_range(0, CUSTOMERS, eager=True)
    return pl.DataFrame({"i": i}).select(
        id=pl.col("i") + 1,
        name=pl.format("Customer {}", pl.col("i") + 1),
        email=pl.when(pl.col("i") % 37 == 0).then(None).otherwise(pl.format("c{}@example.com", pl.col("i") + 1)),
        country=pl.lit(pl.Series(COUNTRIES)).gather(pl.col("i") % len(COUNTRIES)),
        signup=(pl.lit(dt.date(2025, 1, 1)) + pl.duration(days=pl.col("i"))).cast(pl.Date),
        score=(pl.col("i") % 97).cast(pl.Float64) / 4,
    )


def orders_frame() -> pl.DataFrame:
    i = pl.int_range(0, ORDERS, eager=True)
    return pl.DataFrame({"i": i}).select(
        order_id=pl.col("i") + 1,
        customer_id=pl.when(pl.col("i") % 101 == 0).then(None).otherwise(pl.col("i") % CUSTOMERS + 1),
        status=pl.when(pl.col("i") % 211 == 0)
        .then(pl.lit("LOST"))
        .otherwise(pl.lit(pl.Series(STATUSES)).gather(pl.col("i") % len(STATUSES))),
        sku=pl.when(pl.col("i") % 503 == 0)
        .then(pl.lit("sku_x"))
        .otherwise(pl.format("SKU-{}", pl.col("i").cast(pl.String).str.zfill(6))),
        amount=pl.when(pl.col("i") % 13 == 0).then(None).otherwise((pl.col("i") * 7 % 1000).cast(pl.Float64) + 0.5),
        day=(pl.lit(dt.date(2026, 3, 1)) + pl.duration(days=pl.col("i") % 60)).cast(pl.Date),
        created_at=pl.lit(START) + pl.duration(minutes=pl.col("i") * 17),
    )


CUSTOMER_COLUMNS = [
    column("id", "integer", primaryKey=True),
    column("name", "string"),
    column("email", "string", classification="pii"),
    column("country", "string"),
    column("signup", "date", classification="pii"),
    column("score", "number", classification="confidential"),
]
ORDER_COLUMNS = [
    column("order_id", "integer", primaryKey=True),
    column("customer_id", "integer", required=True),
    column("status", "string", quality=[library_rule("invalidValues", arguments={"validValues": STATUSES})]),
    column(
        "sku",
        "string",
        unique=True,
        quality=[library_rule("invalidValues", arguments={"pattern": "^SKU-[0-9]{6}$"})],
    ),
    column("amount", "number", quality=[library_rule("nullValues", mustBeLessThan=5, unit="percent")]),
    column("day", "date"),
    column("created_at", "timestamp"),
]
ORDER_RULES = [
    library_rule("rowCount", mustBeGreaterThan=0),
    library_rule("duplicateValues", arguments={"properties": ["customer_id", "day"]}),
]
POLICY = {
    "users": {"alice": ["steward"], "bob": ["analyst"]},
    "roles": {
        "steward": {"read": ["*"], "unmask": ["pii", "confidential"]},
        "analyst": {
            "read": ["*"],
            "row_filters": {"sales.customers": "country <> 'US'", "copy.customers": "country <> 'US'"},
        },
    },
    "masks": {"pii": "hash", "confidential": "hash"},
}


def write_duckdb(path: Path, tables: dict[str, pl.DataFrame], schema: str = "main") -> None:
    """``tables`` as DuckDB tables of a new file at ``path`` (closed again: meshlab opens it read-only)."""
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name, frame in tables.items():
            con.register("incoming", frame.to_arrow())
            con.execute(f'CREATE TABLE {schema}."{name}" AS SELECT * FROM incoming')
            con.unregister("incoming")


def write_sqlite(path: Path, tables: dict[str, pl.DataFrame]) -> None:
    with sqlite3.connect(path) as con:
        for name, frame in tables.items():
            text = frame.with_columns(pl.col(pl.Date, pl.Datetime).cast(pl.String))
            con.execute(f"CREATE TABLE {name} ({', '.join(frame.columns)})")
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * frame.width)})", text.rows())


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return {"customers": customers_frame(), "orders": orders_frame()}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, frames) -> Path:
    """A mesh: ``sales`` in a DuckDB file, ``copy`` the same tables in SQLite, ``lake`` the orders
    in parquet; the analyst's policy filters and masks customers on both databases."""
    root = tmp_path_factory.mktemp("duckshop")
    data = root / "data"
    data.mkdir()
    write_duckdb(data / "shop.duckdb", frames)
    write_sqlite(data / "shop.sqlite", frames)
    frames["orders"].write_parquet(data / "orders.parquet")
    columns = {"customers": CUSTOMER_COLUMNS, "orders": ORDER_COLUMNS}
    servers = {"sales": duckdb_db("../../data/shop.duckdb"), "copy": sqlite_db("../../data/shop.sqlite")}
    for domain, server in servers.items():
        for table, props in columns.items():
            rules = ORDER_RULES if table == "orders" else []
            document = contract(domain, table, props, server, physical_name=table, quality=rules)
            write_yaml(root / "domains" / domain / f"{table}.odcs.yaml", document)
    lake = contract("lake", "orders", ORDER_COLUMNS, local_files("../../data/orders.parquet"), quality=ORDER_RULES)
    write_yaml(root / "domains" / "lake" / "orders.odcs.yaml", lake)
    write_yaml(root / "policies.yaml", POLICY)
    return write_mesh(root, "duckshop", ["sales", "copy", "lake"], policies="policies.yaml")


@pytest.fixture
def mesh(shop, monkeypatch) -> Iterator[meshlab.Mesh]:
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")  # a steward: nothing masked or filtered
    mesh = meshlab.connect(str(shop))
    yield mesh
    mesh.close()


@pytest.fixture
def sent() -> Iterator[list[str]]:
    """The statements DuckDB runs during the test, as the source's trace hook reports them."""
    received: list[str] = []
    duckdb_database.STATEMENT_HOOKS.append(received.append)
    yield received
    duckdb_database.STATEMENT_HOOKS.remove(received.append)


def table_reads(statements: list[str]) -> list[exp.Select]:
    """The table reads among ``statements`` (not the look-ups in DuckDB's catalog), parsed."""
    parsed = [sqlglot.parse_one(s, read="duckdb") for s in statements if "duckdb_" not in s]
    return [p for p in parsed if isinstance(p, exp.Select) and p.find(exp.Table)]


def duckdb_answer(shop: Path, sql: str) -> pl.DataFrame:
    """DuckDB's own answer over the mesh's file (``sales.t`` read as ``main.t``), guarded."""
    with duckdb.connect(str(shop.parent / "data" / "shop.duckdb"), read_only=True) as con:
        frame: pl.DataFrame = con.sql(sql.replace("sales.", "main.")).pl()
    return guard_oracle_answer(frame, sql)


# -- answers -------------------------------------------------------------------------------------
QUERIES = {
    "filter": "SELECT order_id, amount FROM sales.orders WHERE amount > 500 AND status = 'paid' ORDER BY order_id",
    "string range": "SELECT id, country FROM sales.customers WHERE country >= 'DE' AND country < 'SE' ORDER BY id",
    "like": "SELECT id, email FROM sales.customers WHERE email LIKE 'c1%' AND name NOT LIKE '%9' ORDER BY id",
    "upper": "SELECT id FROM sales.customers WHERE upper(country) = 'DE' ORDER BY id",
    "dates": "SELECT order_id, day FROM sales.orders WHERE day BETWEEN DATE '2026-03-05' AND DATE '2026-03-07' "
    "ORDER BY order_id",
    "timestamps": "SELECT order_id FROM sales.orders WHERE created_at >= TIMESTAMP '2026-03-20 12:00:00' "
    "AND created_at < TIMESTAMP '2026-03-21' ORDER BY order_id",
    "top-n with nulls": "SELECT order_id, amount FROM sales.orders ORDER BY amount DESC, order_id LIMIT 7",
    "top-n ascending": "SELECT order_id, amount FROM sales.orders WHERE status <> 'new' ORDER BY amount, order_id "
    "LIMIT 4",
    "join": "SELECT o.order_id, c.name FROM sales.orders o JOIN sales.customers c ON o.customer_id = c.id "
    "WHERE c.id = 7 ORDER BY o.order_id",
    "aggregate": "SELECT country, count(*) AS n, sum(score) AS total FROM sales.customers GROUP BY country "
    "ORDER BY country",
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_answers_equal_duckdbs_own(name, mesh, shop):
    sql = QUERIES[name]
    expected = duckdb_answer(shop, sql)
    assert_same_rows(mesh.sql(sql).df, expected, ordered=True, order_by=order_by_positions(sql, "duckdb"))


def test_columns_filters_and_top_n_reach_duckdb(mesh, sent):
    mesh.sql("SELECT order_id FROM sales.orders WHERE amount > 500 AND status = 'paid' ORDER BY amount DESC LIMIT 3")
    (scan,) = table_reads(sent)
    assert [c.name for c in scan.selects] == ["order_id", "status", "amount"]  # no other column is read
    where = scan.args["where"].sql(dialect="duckdb")
    assert '"amount" > 500' in where and "\"status\" = 'paid'" in where
    assert scan.args["order"].sql(dialect="duckdb") == 'ORDER BY "amount" DESC'
    assert scan.args["limit"].expression.name == "3"


def test_string_comparisons_like_and_dates_are_exact(mesh, sent):
    sql = (
        "SELECT id FROM sales.customers WHERE country < 'SE' AND email LIKE 'c%' "
        "AND signup >= DATE '2025-03-01' ORDER BY id LIMIT 5"
    )
    plan = mesh.plan(sql)
    (scan_plan,) = plan.scans
    assert len(scan_plan.pushed) == 3 and not scan_plan.kept_local
    assert {verdict for _, verdict in scan_plan.pushed} == {Pushdown.EXACT}
    mesh.sql(sql)
    (scan,) = table_reads(sent)
    where = scan.args["where"].sql(dialect="duckdb")
    assert "\"country\" < 'SE'" in where and "\"email\" LIKE 'c%'" in where
    assert "\"signup\" >= CAST('2025-03-01' AS DATE)" in where
    assert scan.args["limit"].expression.name == "5"  # every predicate exact: the limit went down too


def test_the_filter_reached_duckdbs_table_scan(mesh, sent, shop):
    """DuckDB's own plan of the statement it was sent: the predicates are filters of its table scan."""
    mesh.sql("SELECT order_id FROM sales.orders WHERE amount > 500 AND status = 'paid'")
    (scan,) = table_reads(sent)
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{shop.parent / 'data' / 'shop.duckdb'}' AS meshlab (READ_ONLY)")  # as the source does
        (_, text), *_ = con.sql(f"EXPLAIN (FORMAT json) {scan.sql(dialect='duckdb')}").fetchall()
    nodes, table_scans = json.loads(text), []
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("children", []))
        if node["name"] in ("SEQ_SCAN", "TABLE_SCAN"):
            table_scans.append(node["extra_info"])
    (info,) = table_scans
    filters = " ".join(info["Filters"]) if isinstance(info["Filters"], list) else info["Filters"]
    assert "amount > 500" in filters and "status = 'paid'" in filters, info


def test_a_selective_join_of_one_file_runs_in_duckdb(mesh, sent, shop):
    sql = QUERIES["join"]
    result = mesh.sql(sql)
    (statement,) = table_reads(sent)
    assert {t.name for t in statement.find_all(exp.Table)} == {"orders", "customers"}
    assert '"c"."id" = 7' in statement.args["where"].sql(dialect="duckdb")
    assert "pushed down" in (mesh.plan(sql).scans[0].join_choice or "")
    assert_same_rows(result.df, duckdb_answer(shop, sql), ordered=True)


def test_a_join_that_keeps_every_row_stays_local(mesh, sent):
    mesh.sql("SELECT o.order_id, c.name FROM sales.orders o JOIN sales.customers c ON o.customer_id = c.id")
    assert len(table_reads(sent)) == 2, "two scans, joined by Polars"


# -- the file itself ----------------------------------------------------------------------------
def test_a_schema_named_like_the_file(tmp_path, frames):
    """DuckDB names a file's catalog after it: ``crm.people`` would be ambiguous in crm.duckdb."""
    write_duckdb(tmp_path / "written.duckdb", {"people": frames["customers"]}, schema="crm")
    (tmp_path / "written.duckdb").rename(tmp_path / "crm.duckdb")
    columns = [c for c in CUSTOMER_COLUMNS if c["name"] in ("id", "name")]
    write_yaml(tmp_path / "p.odcs.yaml", contract("crm", "people", columns, duckdb_db("crm.duckdb", schema="crm")))
    frame = meshlab.connect(str(tmp_path / "p.odcs.yaml")).sql("SELECT name FROM crm.people WHERE id = 3").df
    assert frame["name"].to_list() == ["Customer 3"]


def test_physical_schema_and_row_count(mesh):
    source = mesh.source(mesh.dataset("sales.orders"))
    assert isinstance(source, DuckdbSource)
    assert source.physical_schema() == {
        "order_id": pl.Int64(),
        "customer_id": pl.Int64(),
        "status": pl.String(),
        "sku": pl.String(),
        "amount": pl.Float64(),
        "day": pl.Date(),
        "created_at": pl.Datetime("us"),
    }
    assert source.estimate_rows() == ORDERS


def test_duckdb_type_names():
    assert duckdb_dtype("DECIMAL(12,2)") == pl.Decimal(12, 2)
    assert duckdb_dtype("INTEGER") == pl.Int64() and duckdb_dtype("TIMESTAMP WITH TIME ZONE") == pl.Datetime(
        "us", "UTC"
    )
    assert duckdb_dtype("VARCHAR[]") == pl.List(pl.String()) and duckdb_dtype("ENUM('a', 'b')") == pl.String()
    assert duckdb_dtype("INTERVAL") == pl.Null()


def _one_table_mesh(tmp_path: Path, frame: pl.DataFrame, columns: list[dict]) -> meshlab.Mesh:
    write_duckdb(tmp_path / "t.duckdb", {"t": frame})
    write_yaml(tmp_path / "t.odcs.yaml", contract("d", "t", columns, duckdb_db("t.duckdb", server="duck")))
    return meshlab.connect(str(tmp_path / "t.odcs.yaml"))


def test_a_renamed_column_is_schema_drift(tmp_path, frames):
    mesh = _one_table_mesh(tmp_path, frames["customers"].rename({"country": "region"}), CUSTOMER_COLUMNS)
    with pytest.raises(SchemaDriftError, match='column \'country\' declared in .* is not in table "main"."t"'):
        mesh.sql("SELECT id FROM d.t WHERE country = 'SE'")


def test_a_retyped_column_is_schema_drift(tmp_path, frames):
    mesh = _one_table_mesh(
        tmp_path, frames["customers"].with_columns(pl.col("signup").cast(pl.String)), CUSTOMER_COLUMNS
    )
    with pytest.raises(SchemaDriftError, match="column 'signup' .* is stored as VARCHAR, not as the date"):
        mesh.sql("SELECT signup FROM d.t")


def test_a_missing_file_names_dataset_and_server(tmp_path, frames):
    mesh = _one_table_mesh(tmp_path, frames["customers"], CUSTOMER_COLUMNS)
    (tmp_path / "t.duckdb").unlink()
    with pytest.raises(SourceError, match=r"dataset 'd.t' on server 'duck'.*t\.duckdb does not exist"):
        mesh.sql("SELECT id FROM d.t")


def test_a_corrupt_file_is_a_source_error(tmp_path, frames):
    mesh = _one_table_mesh(tmp_path, frames["customers"], CUSTOMER_COLUMNS)
    (tmp_path / "t.duckdb").write_bytes(b"not a database" * 1000)
    with pytest.raises(SourceError, match="dataset 'd.t' on server 'duck'"):
        mesh.sql("SELECT id FROM d.t")


def test_a_file_a_writer_holds_is_a_source_error(tmp_path, frames):
    mesh = _one_table_mesh(tmp_path, frames["customers"], CUSTOMER_COLUMNS)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(tmp_path / 't.duckdb')!r}); "
         "print('open', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(SourceError, match="open for writing in another process"):
            mesh.sql("SELECT id FROM d.t")
    finally:
        holder.communicate("", timeout=30)


def test_a_file_this_process_holds_open_is_a_source_error(tmp_path, frames):
    mesh = _one_table_mesh(tmp_path, frames["customers"], CUSTOMER_COLUMNS)
    with duckdb.connect(str(tmp_path / "t.duckdb")):  # a notebook's own connection, left open
        with pytest.raises(SourceError, match="open in this process by another DuckDB connection: close it"):
            mesh.sql("SELECT id FROM d.t")
    assert mesh.sql("SELECT count(*) AS n FROM d.t").df["n"].to_list() == [CUSTOMERS]


# -- cancelling --------------------------------------------------------------------------------
SLOW = "SELECT sum(a.range * b.range) AS n FROM range(200000) AS a, range(200000) AS b"


@pytest.fixture
def slow_source(tmp_path, frames) -> DuckdbSource:
    mesh = _one_table_mesh(tmp_path, frames["customers"], CUSTOMER_COLUMNS)
    source = mesh.source(mesh.dataset("d.t"))
    assert isinstance(source, DuckdbSource)
    return source


def test_a_cancel_interrupts_the_statement(slow_source):
    handle = QueryHandle()
    threading.Timer(0.3, handle.cancel).start()
    started = time.monotonic()
    with pytest.raises(QueryCancelledError, match="dataset 'd.t' on server 'duck'"):
        slow_source.fetch(SLOW, handle=handle)
    assert time.monotonic() - started < 5


def test_the_time_limit_interrupts_the_statement(slow_source):
    """No engine watches the handle here: the source's own timer ends the statement."""
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match="did not finish within"):
        slow_source.fetch(SLOW, handle=QueryHandle(timeout=0.5))
    assert time.monotonic() - started < 5


def test_a_query_timeout_through_the_mesh(tmp_path, frames):
    write_duckdb(tmp_path / "t.duckdb", {"t": frames["customers"]})
    with duckdb.connect(str(tmp_path / "t.duckdb")) as con:
        con.execute(f"CREATE VIEW slow AS {SLOW}")
    write_yaml(tmp_path / "s.odcs.yaml", contract("d", "slow", [column("n", "number")], duckdb_db("t.duckdb")))
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        meshlab.connect(str(tmp_path / "s.odcs.yaml")).sql("SELECT n FROM d.slow", timeout=0.5)
    assert time.monotonic() - started < 5


# -- governance --------------------------------------------------------------------------------
@pytest.fixture
def analyst(shop, monkeypatch) -> Iterator[meshlab.Mesh]:
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    mesh = meshlab.connect(str(shop))
    assert mesh.role == "analyst"
    yield mesh
    mesh.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, name, email, country, signup, score FROM {d}.customers ORDER BY id",
        "SELECT email, signup, count(*) AS n FROM {d}.customers GROUP BY email, signup ORDER BY email, signup",
        "SELECT id, score FROM {d}.customers WHERE id < 40 ORDER BY id LIMIT 10",
    ],
)
def test_governed_rows_equal_sqlites(analyst, sql):
    duck, lite = analyst.sql(sql.format(d="sales")).df, analyst.sql(sql.format(d="copy")).df
    assert "US" not in duck.get_column("country", default=pl.Series([])).to_list()
    assert_same_rows(duck, lite, ordered=True, order_by=order_by_positions(sql.format(d="sales"), "duckdb"))


def test_masks_and_row_filter_run_in_duckdb(analyst, sent, frames):
    frame = analyst.sql("SELECT id, email, signup, score FROM sales.customers WHERE id <= 10 ORDER BY id").df
    (scan,) = table_reads(sent)
    text = scan.sql(dialect="duckdb")
    assert 'MD5(CAST("email" AS TEXT)) AS "email"' in text and 'MD5(CAST("signup" AS TEXT)) AS "signup"' in text
    assert "\"country\" <> 'US'" in text  # the row filter ran in DuckDB
    # A number's text differs between DuckDB and Polars (1e-07 / 1e-7): its hash is Polars'.
    assert not any(isinstance(m.this, exp.Cast) and m.this.this.name == "score" for m in scan.find_all(exp.MD5))
    clear = frames["customers"].filter(pl.col("id") <= 10, pl.col("country") != "US")
    assert frame["id"].to_list() == clear["id"].to_list()
    assert not set(frame["email"].drop_nulls()) & set(clear["email"].drop_nulls())
    assert frame["email"].str.len_chars().drop_nulls().unique().to_list() == [32]


# -- checks --------------------------------------------------------------------------------------
def test_check_metrics_run_in_duckdb_and_equal_polars(mesh, sent):
    report = mesh.check(["sales.orders", "lake.orders"], store=False)
    duck = {r.check: r.observed for r in report.results if r.dataset == "sales.orders"}
    polars = {r.check: r.observed for r in report.results if r.dataset == "lake.orders"}
    assert duck == polars and len(duck) >= 9, (duck, polars)
    assert duck["invalidValues:status"] == 15 and duck["invalidValues:sku"] == 6  # i % 211 == 0, i % 503 == 0
    aggregates = [s for s in table_reads(sent) if s.find(exp.Count)]
    batch = next(s.sql(dialect="duckdb") for s in aggregates if 'COUNT(DISTINCT "order_id")' in s.sql(dialect="duckdb"))
    assert 'COUNT(*) - COUNT("customer_id")' in batch and "'shipped'" in batch
    # The pattern is matched by Polars (DuckDB's RE2 reads \d and \w as ASCII only): its column is scanned.
    assert not any("REGEXP" in s.upper() for s in sent)
    assert report.sent["sales.orders"], "the report keeps what DuckDB was sent"


# -- spark ---------------------------------------------------------------------------------------
def test_spark_reads_duckdb_on_the_driver(spark, mesh, sent):
    sql = (
        "SELECT c.country, count(*) AS n, sum(o.amount) AS total FROM sales.orders o "
        "JOIN sales.customers c ON o.customer_id = c.id WHERE o.status = 'paid' GROUP BY c.country ORDER BY c.country"
    )
    on_spark = mesh.sql(sql, engine="spark")
    assert_same_rows(on_spark.df, mesh.sql(sql).df, ordered=True)
    assert any("\"status\" = 'paid'" in s for s in sent)  # the scan Spark got was filtered in DuckDB
    assert "read on the Spark driver" in " ".join(on_spark.plan[0].sent)
