"""Time travel: one syntax (``FOR VERSION|TIMESTAMP AS OF``, the Python ``read``), clear refusals.

The Delta and Iceberg tables that do travel are tested in ``test_lakehouse_sources.py``
and the demo notebook; here: the SQL clause, the planner's handling of two versions of
one table in a query, and the one-line refusal of sources that keep no versions.
"""

from __future__ import annotations

import polars as pl
import pytest
from sqlglot import exp, parse_one
from support.contracts import column, contract, local_files, sqlite_db, write_mesh, write_yaml
from support.lakehouse import write_delta_history, write_iceberg_history

import meshlab
from meshlab.catalog.time_travel import AsOf, as_of_from_sql
from meshlab.errors import SqlError, TimeTravelError


@pytest.fixture
def mesh(tmp_path):
    frame = pl.DataFrame({"id": [1, 2, 3], "amount": [10.0, 20.0, 30.0]})
    frame.write_parquet(tmp_path / "orders.parquet")
    import sqlite3

    with sqlite3.connect(tmp_path / "orders.sqlite") as db:
        db.execute("CREATE TABLE orders (id INTEGER, amount REAL)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", frame.rows())
    props = [column("id", "integer"), column("amount", "number")]
    write_yaml(
        tmp_path / "domains/sales/orders.odcs.yaml",
        contract("sales", "orders", props, local_files(tmp_path / "orders.parquet")),
    )
    write_yaml(
        tmp_path / "domains/sales/ledger.odcs.yaml",
        contract("sales", "ledger", props, sqlite_db(tmp_path / "orders.sqlite", custom=True), physical_name="orders"),
    )
    return meshlab.connect(write_mesh(tmp_path, "travel", ["sales"]))


def _version(sql: str) -> exp.Expression:
    return parse_one(sql, read="duckdb").find(exp.Table).args["version"]


def test_the_clause_reads_a_version_or_a_moment():
    assert as_of_from_sql(_version("SELECT * FROM a.b FOR VERSION AS OF 3")) == AsOf(version=3)
    moment = as_of_from_sql(_version("SELECT * FROM a.b FOR TIMESTAMP AS OF TIMESTAMP '2026-11-30 12:00:00'"))
    assert moment.timestamp is not None and moment.label() == "2026-11-30T12:00:00"
    assert AsOf(version=3).label() == "v3"


@pytest.mark.parametrize(
    ("clause", "message"),
    [
        ("FOR VERSION AS OF 'three'", "whole number"),
        ("FOR VERSION AS OF 1.5", "whole number"),
        ("FOR TIMESTAMP AS OF TIMESTAMP 'yesterday'", "'yesterday' is not a valid timestamp"),
    ],
)
def test_a_malformed_clause_is_a_sql_error_with_its_place(mesh, clause, message):
    with pytest.raises(SqlError, match=message) as caught:
        mesh.sql(f"SELECT * FROM sales.orders {clause}")
    assert "line 1" in str(caught.value)


@pytest.mark.parametrize("address", ["sales.orders", "sales.ledger"])
def test_a_source_without_versions_says_so_in_one_line(mesh, address):
    with pytest.raises(TimeTravelError) as caught:
        mesh.sql(f"SELECT * FROM {address} FOR VERSION AS OF 1")
    text = str(caught.value)
    assert address in text and "keeps no versions" in text and "\n" not in text
    with pytest.raises(TimeTravelError, match="keeps no versions"):
        mesh.history(address)
    with pytest.raises(TimeTravelError, match="keeps no versions"):
        mesh.read(address, version=1)


def test_the_same_table_without_travel_still_reads(mesh):
    assert mesh.read("sales.orders").df.sort("id")["amount"].to_list() == [10.0, 20.0, 30.0]
    assert mesh.sql("SELECT count(*) AS n FROM sales.ledger").df["n"][0] == 3


# -- Delta and Iceberg through the mesh: SQL, the Python API, lineage, the report ------------
DAYS = [
    pl.DataFrame({"id": [1, 2], "region": ["eu", "us"], "amount": [10.0, 20.0]}),
    pl.DataFrame({"id": [3], "region": ["eu"], "amount": [30.0]}),
    pl.DataFrame({"id": [4, 5], "region": ["us", "eu"], "amount": [40.0, 50.0]}),
]
LAKE_COLUMNS = [column("id", "integer"), column("region", "string"), column("amount", "number")]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A mesh with the same three commits as a Delta table and as an Iceberg table (SQL catalog)."""
    root = tmp_path_factory.mktemp("lake")
    delta = write_delta_history(root / "orders_delta", DAYS, partition_by=["region"])
    iceberg = write_iceberg_history(root / "warehouse", f"sqlite:///{root}/catalog.db", "shop.orders", DAYS)
    catalog_server = {
        "server": "lake",
        "type": "custom",  # ODCS: a local server needs a path
        "format": "iceberg",
        "customProperties": [
            {"property": "catalog", "value": f"sqlite:///{root}/catalog.db"},
            {"property": "table", "value": "shop.orders"},
        ],
    }
    write_yaml(
        root / "domains/sales/orders.odcs.yaml",
        contract("sales", "orders", LAKE_COLUMNS, local_files(root / "orders_delta", format="delta")),
    )
    write_yaml(root / "domains/shop/orders.odcs.yaml", contract("shop", "orders", LAKE_COLUMNS, catalog_server))
    mesh = meshlab.connect(write_mesh(root, "lake", ["sales", "shop"]))
    assert not mesh.errors and not mesh.notices and not mesh.invalid  # valid ODCS v3.1.0, every server read
    return mesh, {"sales.orders": delta, "shop.orders": iceberg}


def _rows(upto: int) -> list[tuple]:
    return sorted(pl.concat(DAYS[: upto + 1]).rows())


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_sql_reads_each_version_as_it_was(lake, address):
    mesh, commits = lake
    assert sorted(mesh.sql(f"SELECT id, region, amount FROM {address}").df.rows()) == _rows(2)
    for index, commit in enumerate(commits[address]):
        result = mesh.sql(f"SELECT id, region, amount FROM {address} FOR VERSION AS OF {commit.version}")
        assert sorted(result.df.rows()) == _rows(index)
        moment = commit.timestamp.replace(tzinfo=None).isoformat(sep=" ")
        at_time = mesh.sql(f"SELECT id, region, amount FROM {address} FOR TIMESTAMP AS OF TIMESTAMP '{moment}'")
        assert sorted(at_time.df.rows()) == _rows(index)


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_lineage_and_the_report_name_the_version_read(lake, address):
    mesh, commits = lake
    first = commits[address][0].version
    result = mesh.sql(f"SELECT o.amount FROM {address} FOR VERSION AS OF {first} AS o")
    assert result.lineage.columns["amount"] == [f"{address}@v{first}.amount"]
    assert result.lineage.datasets == [f"{address}@v{first}"]
    fragment = result.plan.fragments[0]
    assert fragment.datasets == (f"{address}@v{first}",)
    assert f"{first}" in "\n".join(fragment.sent)


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_two_versions_of_one_table_in_one_query(lake, address):
    """What the last commit added: the newest version minus the one before it."""
    mesh, commits = lake
    before = commits[address][1].version
    added = mesh.sql(
        f"SELECT id FROM {address} EXCEPT SELECT id FROM {address} FOR VERSION AS OF {before} ORDER BY id"
    ).df
    assert added["id"].to_list() == [4, 5]


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_the_python_api_reads_and_lists_versions(lake, address):
    mesh, commits = lake
    history = mesh.history(address)
    assert [v.version for v in history] == [c.version for c in commits[address]]
    second = commits[address][1]
    assert sorted(mesh.read(address, version=second.version).df.select("id", "region", "amount").rows()) == _rows(1)
    assert sorted(mesh.read(address, timestamp=second.timestamp).df.select("id", "region", "amount").rows()) == _rows(1)


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_an_unknown_version_is_refused_before_anything_is_read(lake, address):
    mesh, _ = lake
    with pytest.raises(TimeTravelError, match="has no (version|snapshot) 987654321") as caught:
        mesh.sql(f"SELECT * FROM {address} FOR VERSION AS OF 987654321")
    assert address in str(caught.value)


@pytest.mark.parametrize("address", ["sales.orders", "shop.orders"])
def test_the_spark_engine_reads_a_version_on_the_driver(spark, lake, address):
    mesh, commits = lake
    first = commits[address][0].version
    sql = (
        f"SELECT region, sum(amount) AS total FROM {address} FOR VERSION AS OF {first} GROUP BY region ORDER BY region"
    )
    on_spark = mesh.sql(sql, engine="spark")
    assert on_spark.engine == "spark"
    assert on_spark.df.rows() == mesh.sql(sql).df.rows() == [("eu", 10.0), ("us", 20.0)]
    assert on_spark.plan[0].datasets == (f"{address}@v{first}",)


@pytest.mark.postgres
def test_an_iceberg_catalog_on_postgresql(postgres_server, tmp_path, monkeypatch):
    """PyIceberg's SQL catalog kept in PostgreSQL, the login read from the environment."""
    import psycopg

    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE DATABASE iceberg_catalog")
    where = f"{postgres_server.host}:{postgres_server.port}/iceberg_catalog"
    commits = write_iceberg_history(
        tmp_path / "warehouse", f"postgresql+psycopg://{postgres_server.user}@{where}", "shop.orders", DAYS
    )
    monkeypatch.setenv("ICEBERG_CATALOG_USER", postgres_server.user)
    server = {
        "server": "lake",
        "type": "custom",
        "format": "iceberg",
        "customProperties": [
            {"property": "catalog", "value": "postgresql+psycopg://${ICEBERG_CATALOG_USER}@" + where},
            {"property": "table", "value": "shop.orders"},
        ],
    }
    write_yaml(tmp_path / "domains/shop/orders.odcs.yaml", contract("shop", "orders", LAKE_COLUMNS, server))
    mesh = meshlab.connect(write_mesh(tmp_path, "pg-catalog", ["shop"]))
    assert sorted(mesh.sql("SELECT id, region, amount FROM shop.orders").df.rows()) == _rows(2)
    first = commits[0].version
    assert sorted(mesh.read("shop.orders", version=first).df.select("id", "region", "amount").rows()) == _rows(0)
    assert "${ICEBERG_CATALOG_USER}" in mesh.explain("SELECT id FROM shop.orders")  # the login is never shown
