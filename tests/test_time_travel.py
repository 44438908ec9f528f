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
        ("FOR TIMESTAMP AS OF TIMESTAMP 'yesterday'", "timestamp literal"),
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
