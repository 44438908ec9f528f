"""MySQL/MariaDB sources on a real MariaDB server: types, pushdown (read from the server's
general query log), string predicates kept local, credentials, failures, drift, cancellation."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from support.contracts import column, contract, mysql_db
from support.mariadb_server import start_mariadb

import meshlab
from meshlab.cancel import QueryHandle
from meshlab.errors import QueryCancelledError, SchemaDriftError, SourceError, SourceTimeoutError
from meshlab.governance.masks import Mask
from meshlab.mesh import Mesh
from meshlab.sources.mysql import mysql_dtype

pytestmark = pytest.mark.mysql

USER, PASSWORD, DATABASE = "meshlab_reader", "pw-Zq8!x", "shop"
USER_ENV, PASSWORD_ENV = "MESHLAB_TEST_MYSQL_USER", "MESHLAB_TEST_MYSQL_PASSWORD"
NOTES = ["abc", "ABC", "abc ", "Abd", "b", None, "été", "x'y"]
ORDERS = pl.DataFrame(
    {
        "id": pl.Series(range(1, 201), dtype=pl.Int64),
        "amount": pl.Series([Decimal(i * 37 % 1000) / 4 for i in range(200)], dtype=pl.Decimal(15, 2)),
        "day": pl.Series([dt.date(2024, 1, 1) + dt.timedelta(days=i % 60) for i in range(200)]),
        "note": pl.Series([NOTES[i % len(NOTES)] for i in range(200)], dtype=pl.String),
        "qty": pl.Series([None if i % 7 == 0 else i % 13 for i in range(200)], dtype=pl.Int64),
    }
)
ORDER_COLUMNS = [
    column("id", "integer"),
    column("amount", "number", "decimal(15,2)"),
    column("day", "date"),
    column("note", "string"),
    column("qty", "integer"),
]
TYPED = pl.DataFrame(
    {
        "id": pl.Series([1, 2, 3], dtype=pl.Int64),
        "price": pl.Series([Decimal("-1234567890123.45"), Decimal("0.01"), None], dtype=pl.Decimal(15, 2)),
        "ratio": pl.Series([1.5, -0.25, None], dtype=pl.Float64),
        "day": pl.Series([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None], dtype=pl.Date),
        "at": pl.Series([dt.datetime(2024, 2, 29, 23, 59, 59, 123456), dt.datetime(2000, 1, 1), None]),
        "clock": pl.Series([dt.time(12, 34, 56, 500000), dt.time(0, 0), None], dtype=pl.Time),
        "flag": pl.Series([True, False, None], dtype=pl.Boolean),
        "label": pl.Series(["héllo", "", None], dtype=pl.String),
    }
).with_columns(pl.col("at").cast(pl.Datetime("us")))
TYPED_COLUMNS = [
    column("id", "integer"),
    column("price", "number", "decimal(15,2)"),
    column("ratio", "number"),
    column("day", "date"),
    column("at", "timestamp"),
    column("clock", "time"),
    column("flag", "boolean"),
    column("label", "string"),
]
# Runs for hours unless stopped: a three-way cross join of the orders.
LONG_SQL = f"SELECT count(*) AS n FROM `{DATABASE}`.`orders` a, `{DATABASE}`.`orders` b, `{DATABASE}`.`orders` c, `{DATABASE}`.`orders` d WHERE a.id + b.id + c.id + d.id < 0"  # fmt: skip


@pytest.fixture(scope="module")
def mariadb(mariadb_server):
    """The session's MariaDB (conftest) with the shop database loaded; every statement logged."""
    server = mariadb_server
    server.create_user(USER, PASSWORD, DATABASE)
    server.load_frame(DATABASE, "orders", ORDERS, {"amount": "DECIMAL(15,2)", "note": "VARCHAR(20)"})
    server.load_frame(DATABASE, "typed", TYPED, {"price": "DECIMAL(15,2)", "flag": "BOOLEAN"})
    server.clear_log()
    return server


@pytest.fixture
def login(monkeypatch):
    monkeypatch.setenv(USER_ENV, USER)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)


def mysql_mesh(
    server, tmp_path, monkeypatch, tables: dict[str, list[dict]], port: int | None = None, settings: str = ""
) -> Mesh:
    """A mesh of ``tables`` (name -> contract columns) in ``server``'s shop database (ODCS ``type: mysql``)."""
    folder = tmp_path / "ops"
    folder.mkdir(exist_ok=True)
    for name, columns in tables.items():
        location = mysql_db(server.host, port or server.port, DATABASE, server="shop-db", user_env=USER_ENV,
                            password_env=PASSWORD_ENV)  # fmt: skip
        (folder / f"{name}.odcs.yaml").write_text(yaml.safe_dump(contract("ops", name, columns, location, id=name)))
    (tmp_path / "mesh.yaml").write_text(f"mesh: m\ndomains: {{ops: ops}}\n{settings}")
    return meshlab.connect(tmp_path / "mesh.yaml")


def scans_sent(server, mark: int) -> list[str]:
    """What the source sent since ``mark``: the statements on the shop tables, not the column checks."""
    return [s for s in server.statements(since=mark) if s.startswith("SELECT") and "information_schema" not in s]


@pytest.fixture
def shop(mariadb, tmp_path, monkeypatch, login) -> Mesh:
    return mysql_mesh(mariadb, tmp_path, monkeypatch, {"orders": ORDER_COLUMNS, "typed": TYPED_COLUMNS})


# -- types -------------------------------------------------------------------------------------
def test_every_type_reads_back_as_written(shop):
    got = shop.sql("SELECT * FROM ops.typed ORDER BY id").df
    assert_frame_equal(got, TYPED)


def test_the_fetch_is_typed_arrow(shop):
    source = shop.source(shop.dataset("ops.typed"))
    table = source.fetch("SELECT `price`, `day`, `at`, `clock`, `flag` FROM `shop`.`typed`")
    assert [str(t) for t in table.schema.types] == [
        "decimal128(16, 2)", "date32[day]", "timestamp[us]", "time64[us]", "int64",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("declared", "logical", "expected"),
    [
        ("int(11)", None, pl.Int64()),
        ("bigint(20) unsigned", None, pl.UInt64()),
        ("tinyint(1)", "boolean", pl.Boolean()),
        ("tinyint(1)", "integer", pl.Int64()),
        ("decimal(15,2)", None, pl.Decimal(15, 2)),
        ("double", None, pl.Float64()),
        ("date", None, pl.Date()),
        ("datetime(6)", None, pl.Datetime("us")),
        ("time", None, pl.Time()),
        ("varchar(20)", None, pl.String()),
        ("enum('a','b')", None, pl.String()),
        ("longtext", None, pl.String()),
        ("varbinary(4)", None, pl.Binary()),
        ("point", None, pl.Null()),
    ],
)
def test_mysql_dtype(declared, logical, expected):
    assert mysql_dtype(declared, logical) == expected


def test_md5_in_mysql_is_the_hash_mask_polars_computes(shop):
    """A hash mask computed by MySQL must equal the one Polars computes after a fetch."""
    dataset = shop.dataset("ops.orders")
    source = shop.source(dataset)
    names = ["id", "amount", "day", "note"]
    masks = [Mask(column=dataset.column(n), kind="hash", classification="pii") for n in names]
    items = ", ".join(f"{m.to_sql().sql(dialect='mysql')} AS `{m.name}`" for m in masks)
    in_mysql = pl.from_arrow(source.fetch(f"SELECT {items} FROM `shop`.`orders` ORDER BY `orders`.`id`"))
    in_polars = ORDERS.select(m.to_polars() for m in masks)
    assert_frame_equal(in_mysql, in_polars)


def test_hash_masks_are_computed_in_mysql_only_where_the_text_agrees(shop):
    dataset = shop.dataset("ops.typed")
    source = shop.source(dataset)
    computed = {n for n in dataset.column_names if source.can_compute(Mask(dataset.column(n), "hash", "pii").to_sql())}
    assert computed == {"id", "price", "day", "label"}  # not flag (1 vs true), at, clock, ratio


# -- pushdown ----------------------------------------------------------------------------------
def test_columns_filters_and_limit_are_pushed_down(shop, mariadb):
    mark = mariadb.mark()
    got = shop.sql("SELECT id, amount FROM ops.orders WHERE qty >= 5 AND day < DATE '2024-01-20' LIMIT 4").df
    [sent] = scans_sent(mariadb, mark)
    assert sent.startswith("SELECT `id`, `amount`, `qty`") or sent.startswith("SELECT `id`, `amount`")
    assert "`note`" not in sent and "`day` < CAST('2024-01-20' AS DATE)" in sent and "`qty` >= 5" in sent
    assert sent.endswith("LIMIT 4")
    assert got.height == 4
    expected = ORDERS.filter((pl.col("qty") >= 5) & (pl.col("day") < dt.date(2024, 1, 20)))
    assert set(got["id"]) <= set(expected["id"])


def test_top_n_sends_order_by_and_limit(shop, mariadb):
    mark = mariadb.mark()
    got = shop.sql("SELECT id, qty FROM ops.orders ORDER BY qty DESC, id LIMIT 5").df
    [sent] = scans_sent(mariadb, mark)
    assert "ORDER BY `qty` DESC" in sent and sent.endswith("LIMIT 5")
    expected = ORDERS.sort(["qty", "id"], descending=[True, False], nulls_last=True).head(5).select("id", "qty")
    assert_frame_equal(got, expected)


def test_ascending_top_n_puts_nulls_where_polars_does(shop):
    got = shop.sql("SELECT id, qty FROM ops.orders ORDER BY qty, id LIMIT 3").df
    expected = ORDERS.sort(["qty", "id"], nulls_last=True).head(3).select("id", "qty")
    assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("where", "sent_as"),
    [
        # MySQL matches more here ('abc' = 'ABC '): sent, the extra rows dropped by the engine
        ("note = 'abc'", "`note` = 'abc'"),
        ("note IN ('ABC', 'b')", "`note` IN ('ABC', 'b')"),
        ("note LIKE 'a%'", "`note` LIKE 'a%'"),
        # ... or fewer, or in another order: kept local
        ("note <> 'abc'", None),
        ("NOT note IN ('ABC', 'b')", None),
        ("note > 'Abc'", None),
        ("note BETWEEN 'a' AND 'b'", None),
    ],
)
def test_string_comparisons_answer_as_polars(shop, mariadb, where, sent_as):
    """MySQL compares text ignoring case and trailing spaces: 'abc' = 'ABC ' there, not here."""
    mark = mariadb.mark()
    got = shop.sql(f"SELECT id, note FROM ops.orders WHERE {where} ORDER BY id").df
    [sent] = scans_sent(mariadb, mark)
    assert (sent_as in sent) if sent_as else ("WHERE" not in sent), sent
    expected = pl.SQLContext(orders=ORDERS).execute(
        f"SELECT id, note FROM orders WHERE {where} ORDER BY id", eager=True
    )
    assert_frame_equal(got, expected)
    assert got.height > 0


def test_order_by_a_string_column_is_not_sent(shop, mariadb):
    mark = mariadb.mark()
    got = shop.sql("SELECT note FROM ops.orders WHERE note IS NOT NULL ORDER BY note LIMIT 3").df
    [sent] = scans_sent(mariadb, mark)
    assert "ORDER BY" not in sent and "LIMIT" not in sent
    assert got["note"].to_list() == sorted(n for n in NOTES if n is not None)[:1] * 3


# -- credentials and failures ------------------------------------------------------------------
def test_credentials_come_from_the_environment(shop, mariadb):
    mark = mariadb.mark()
    assert shop.sql("SELECT count(*) AS n FROM ops.orders").df["n"][0] == ORDERS.height
    with open(mariadb.log_path, "rb") as log:
        log.seek(mark)
        assert f"{USER}@" in log.read().decode()  # the general log's Connect entry


def test_a_wrong_password_names_dataset_and_server_never_the_password(shop, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "wrong-Secret-77")
    with pytest.raises(SourceError) as caught:
        shop.sql("SELECT id FROM ops.orders")
    assert caught.value.dataset == "ops.orders" and caught.value.server == "shop-db"
    assert "Access denied" in caught.value.reason
    assert "wrong-Secret-77" not in str(caught.value) and "wrong-Secret-77" not in shop.explain(
        "SELECT id FROM ops.orders"
    )


def test_a_stopped_server_fails_fast(tmp_path, monkeypatch, login):
    with start_mariadb(log_statements=False) as gone:
        pass  # stopped and removed
    mesh = mysql_mesh(gone, tmp_path, monkeypatch, {"orders": ORDER_COLUMNS})
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        mesh.sql("SELECT id FROM ops.orders")
    assert time.monotonic() - started < 3
    assert caught.value.dataset == "ops.orders" and f"{gone.port}" in caught.value.reason


def test_a_server_that_never_answers_is_a_connect_timeout(mariadb, tmp_path, monkeypatch, login):
    with socket.socket() as silent:  # accepts connections (the kernel does), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mesh = mysql_mesh(
            mariadb,
            tmp_path,
            monkeypatch,
            {"orders": ORDER_COLUMNS},
            silent.getsockname()[1],
            "timeouts: {connect: 1}\n",
        )
        started = time.monotonic()
        with pytest.raises(SourceTimeoutError, match="no connection to 127.0.0.1:.* within 1 s"):
            mesh.sql("SELECT id FROM ops.orders")
    assert time.monotonic() - started < 5


def test_a_renamed_column_is_schema_drift(mariadb, tmp_path, monkeypatch, login):
    mariadb.load_frame(DATABASE, "renamed", ORDERS.rename({"note": "remark"}))
    mesh = mysql_mesh(mariadb, tmp_path, monkeypatch, {"renamed": ORDER_COLUMNS})
    with pytest.raises(SchemaDriftError, match="column 'note'.*not in table `shop`.`renamed`"):
        mesh.sql("SELECT id, note FROM ops.renamed")


# -- time limits and cancellation --------------------------------------------------------------
def running(server, marker: str) -> list[int]:
    """Ids of the server's connections running a statement containing ``marker``."""
    out = server.execute(
        f"SELECT id FROM information_schema.processlist WHERE info LIKE '%{marker}%' AND id <> CONNECTION_ID()"
    )
    return [int(line) for line in out.split()[1:]]


def test_a_statement_is_cancelled_through_the_handle(shop, mariadb):
    source = shop.source(shop.dataset("ops.orders"))
    handle, failure = QueryHandle(), []
    sql = f"{LONG_SQL} /* cancel-me */"

    def run():
        try:
            source.fetch(sql, handle=handle)
        except Exception as exc:  # noqa: BLE001 - inspected below
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while not (handle.running() and running(mariadb, "cancel-me")) and time.monotonic() < deadline:
        handle.wait(0.02)  # until the statement runs on the server
    assert running(mariadb, "cancel-me"), "the statement never started"
    started = time.monotonic()
    handle.cancel()
    worker.join(30)
    assert not worker.is_alive() and time.monotonic() - started < 5
    assert isinstance(failure[0], QueryCancelledError)
    assert "dataset 'ops.orders' on server 'shop-db'" in str(failure[0])
    assert running(mariadb, "cancel-me") == []


def test_the_remaining_time_is_the_servers_statement_limit(shop, mariadb):
    source = shop.source(shop.dataset("ops.orders"))
    started = time.monotonic()
    with pytest.raises(SourceTimeoutError, match="time limit"):
        source.fetch(f"{LONG_SQL} /* limited */", handle=QueryHandle(timeout=1.0))
    assert time.monotonic() - started < 5
    assert running(mariadb, "limited") == []


def test_count_rows_reads_the_table_statistics(shop):
    assert shop.source(shop.dataset("ops.orders")).count_rows() == ORDERS.height


def test_a_join_goes_down_only_where_an_index_serves_it(mariadb, tmp_path, monkeypatch, login):
    """Without an index MariaDB joins by nested loops: the join stays local; with one it is sent."""
    lines = pl.DataFrame({"order_id": [i % 200 + 1 for i in range(2000)], "n": list(range(2000))})
    mariadb.load_frame(DATABASE, "lines", lines)
    line_columns = [column("order_id", "integer"), column("n", "integer")]
    # The contract's key lets the planner size the join: only the index is missing.
    tables = {"orders": [column("id", "integer", primaryKey=True), *ORDER_COLUMNS[1:]], "lines": line_columns}
    mesh = mysql_mesh(mariadb, tmp_path, monkeypatch, tables)
    sql = (
        "SELECT o.id, sum(l.n) AS total FROM ops.orders o JOIN ops.lines l ON o.id = l.order_id "
        "WHERE o.qty = 3 GROUP BY o.id"
    )
    keep = ORDERS.filter(pl.col("qty") == 3)["id"].to_list()
    expected = (
        lines.filter(pl.col("order_id").is_in(keep))
        .group_by(pl.col("order_id").alias("id"))
        .agg(pl.col("n").sum().alias("total"))
        .sort("id")
    )

    mark = mariadb.mark()
    local = mesh.sql(sql).df.sort("id")
    assert not any("`lines`" in s and "`orders`" in s for s in scans_sent(mariadb, mark))
    assert "no index for" in mesh.explain(sql)
    assert local.rows() == expected.rows()

    mariadb.execute(f"ALTER TABLE `{DATABASE}`.`orders` ADD PRIMARY KEY (`id`)")
    try:
        mesh = mysql_mesh(mariadb, tmp_path, monkeypatch, tables)
        mark = mariadb.mark()
        pushed = mesh.sql(sql).df.sort("id")
        assert any("`lines`" in s and "`orders`" in s for s in scans_sent(mariadb, mark))  # one statement
        assert pushed.rows() == expected.rows()
    finally:
        mariadb.execute(f"ALTER TABLE `{DATABASE}`.`orders` DROP PRIMARY KEY")


def test_spark_reads_mysql_through_jdbc(spark, shop, mariadb):
    """The Spark engine sends the plan's own statement through MariaDB's JDBC driver (Debian's jar)."""
    sql = "SELECT id, amount, day, qty FROM ops.orders WHERE qty >= 5 AND day < DATE '2024-01-20' ORDER BY id"
    mark = mariadb.mark()
    on_spark = shop.sql(sql, engine="spark")
    assert on_spark.engine == "spark"
    assert_frame_equal(on_spark.df, shop.sql(sql).df, check_dtypes=False)
    [sent] = on_spark.plan[0].sent
    assert "`qty` >= 5" in sent and "`note`" not in sent
    assert any("`qty` >= 5" in s for s in mariadb.statements(since=mark))  # it reached the server as sent


# -- a contract someone else wrote -----------------------------------------------------------------
CORPUS_MYSQL = Path(__file__).parent / "odcs_corpus" / "datacontract-cli" / "mysql__odcs.odcs.yaml"


def test_datacontract_clis_mysql_contract_reads_and_checks_as_written(mariadb, tmp_path, monkeypatch):
    """datacontract-cli's own mysql fixture, its server moved to this test's MariaDB (host and
    port the only edits), its login from datacontract-cli's variables; checks match Polars'."""
    document = yaml.safe_load(CORPUS_MYSQL.read_text(encoding="utf-8"))
    [server] = document["servers"]
    server.update(host=mariadb.host, port=mariadb.port)
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "mysql.odcs.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    (tmp_path / "mesh.yaml").write_text("mesh: corpus\ndomains: {corpus: corpus}\n")
    rows = pl.DataFrame(
        {
            "field_one": ["AB-123-CD", "ab-999-zz", "A1-123-CD", "XY-001-QQ"],
            "field_two": [10, 9, None, 42],
            "field_three": [dt.datetime(2024, 1, 1, 12), None, dt.datetime(2024, 2, 29), dt.datetime(2025, 1, 1)],
            "field_four": [Decimal("1.50"), None, Decimal("2.25"), Decimal("-3.00")],
        }
    )
    mariadb.create_user("dccli", "dccli-pw", server["database"])
    mariadb.load_frame(server["database"], "my_table", rows, {"field_four": "DECIMAL(10,2)"})
    monkeypatch.setenv("DATACONTRACT_MYSQL_USERNAME", "dccli")
    monkeypatch.setenv("DATACONTRACT_MYSQL_PASSWORD", "dccli-pw")
    mesh = meshlab.connect(tmp_path / "mesh.yaml")
    assert not mesh.errors and not mesh.notices, (mesh.errors, mesh.notices)

    got = mesh.sql("SELECT field_one, field_two FROM corpus.my_table ORDER BY field_one").df
    assert got.rows() == rows.select("field_one", "field_two").sort("field_one").rows()

    report = mesh.check(["corpus.my_table"], store=False)
    by_check = {r.check: r for r in report.results}
    pattern = next(r for name, r in by_check.items() if "pattern" in name.lower() and "field_one" in name)
    minimum = next(r for name, r in by_check.items() if "minimum" in name.lower() and "field_two" in name)
    # The oracle: the same rules, applied by Polars to the rows written.
    off_pattern = rows.filter(~pl.col("field_one").str.contains(r"[A-Za-z]{2}-\d{3}-[A-Za-z]{2}$")).height
    below = rows.filter(pl.col("field_two") < 10).height
    assert (pattern.status, minimum.status) == ("failed", "failed")
    assert (pattern.observed, minimum.observed) == (off_pattern, below) == (1, 1)


# -- connections kept between statements (docs/reliability.md, "Connections") ------------------
def test_a_reused_connection_sees_rows_written_since_and_keeps_no_time_limit(mariadb, tmp_path, monkeypatch, login):
    mariadb.load_frame(DATABASE, "growing", pl.DataFrame({"id": [1, 2]}))
    mesh = mysql_mesh(mariadb, tmp_path, monkeypatch, {"growing": [column("id", "integer")]})
    try:
        assert mesh.sql("SELECT count(*) AS n FROM ops.growing").df["n"][0] == 2
        mariadb.execute("INSERT INTO growing VALUES (3)", DATABASE)
        # Autocommit: the reused connection holds no transaction, so no snapshot of the first query.
        assert mesh.sql("SELECT count(*) AS n FROM ops.growing").df["n"][0] == 3
        (pool,) = mesh.connections.pools()
        assert pool.opened == 1 and pool.reused >= 1  # the second query reused it
        source = mesh.source(mesh.dataset("ops.growing"))
        limit = "SELECT @@max_statement_time AS s"
        with source.session(QueryHandle(timeout=30)) as connection:
            connection.query(limit)
            assert float(connection.store_result().fetch_row()[0][0]) > 0
        with source.session(QueryHandle()) as connection:
            connection.query(limit)
            assert float(connection.store_result().fetch_row()[0][0]) == 0  # the server's default
    finally:
        mesh.close()
