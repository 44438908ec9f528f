"""Joins of two tables of one SQLite database: pushed down only when it pays.

What SQLite ran is read from SQLite's own trace callback (the stdlib driver,
chosen per server with the ``driver: sqlite3`` custom property, reports every
statement SQLite executes to the ``meshlab.sources.sqlite`` logger).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import polars as pl
import pytest
import sqlglot
from conftest import assert_same_rows, duckdb_answer
from sqlglot import exp
from support.contracts import column, schema_object, sqlite_db, write_yaml
from support.contracts import contract as build_contract

import meshlab
from meshlab.catalog.types import odcs_types

TABLES = {"customer": "c_custkey", "orders": "o_orderkey"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, tpch_parquet) -> Path:
    root = tmp_path_factory.mktemp("shop")
    db = sqlite3.connect(root / "shop.sqlite")
    properties = {}
    for table, key in TABLES.items():
        frame = pl.read_parquet(tpch_parquet / f"{table}.parquet")
        frame = frame.with_columns(pl.col(pl.Date).cast(pl.String), pl.col(pl.Decimal).cast(pl.Float64))
        columns = ", ".join(f"{c} {'PRIMARY KEY' if c == key else ''}" for c in frame.columns)
        db.execute(f"CREATE TABLE {table} ({columns})")
        db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * frame.width)})", frame.rows())
        schema = pl.read_parquet_schema(tpch_parquet / f"{table}.parquet")
        properties[table] = [column(c, odcs_types(t)[0], primaryKey=c == key) for c, t in schema.items()]
    db.commit()
    db.close()
    contract = build_contract("sales", "shop", [], sqlite_db("shop.sqlite", "shop-db", driver="sqlite3"), title="Shop")
    contract["schema"] = [schema_object(t, p) for t, p in properties.items()]
    write_yaml(root / "shop.odcs.yaml", contract)
    return root / "shop.odcs.yaml"


def traced(caplog) -> list[exp.Expression]:
    return [
        sqlglot.parse_one(r.getMessage().split("sqlite3 ran: ", 1)[1], read="sqlite")
        for r in caplog.records
        if "sqlite3 ran: " in r.getMessage()
    ]


def run(mesh, caplog, sql: str):
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="meshlab.sources.sqlite"):
        result = mesh.sql(sql)
    return result, traced(caplog)


NARROW = """
    select o.o_orderkey, c.c_name from sales.orders o join sales.customer c on o.o_custkey = c.c_custkey
    where c.c_mktsegment = 'BUILDING' order by o.o_orderkey
"""
WIDE = """
    select o.*, c.c_name from sales.orders o join sales.customer c on o.o_custkey = c.c_custkey
    where c.c_custkey = 7 order by o.o_orderkey
"""


def test_a_join_that_would_not_shrink_the_transfer_stays_local(shop, caplog, tpch_parquet):
    mesh = meshlab.connect(shop)
    result, received = run(mesh, caplog, NARROW)
    assert len(received) == 2, "two separate scans"
    assert all(len(list(s.find_all(exp.Table))) == 1 for s in received)
    plan = mesh.plan(NARROW)
    assert all("kept local" in (s.join_choice or "") for s in plan.scans)
    expected = duckdb_answer(NARROW.replace("sales.", ""), tpch_parquet)
    assert_same_rows(result.df, expected, ordered=True)


def test_a_join_that_filters_a_wide_table_is_pushed_down(shop, caplog, tpch_parquet):
    mesh = meshlab.connect(shop)
    result, received = run(mesh, caplog, WIDE)
    assert len(received) == 1, "one statement with the join"
    statement = received[0]
    assert {t.name for t in statement.find_all(exp.Table)} == {"orders", "customer"}
    assert statement.find(exp.Join) is not None or len(list(statement.find_all(exp.Table))) == 2
    where = statement.args["where"].sql(dialect="sqlite")
    assert '"c_custkey" = 7' in where and '"o_custkey" = "c"."c_custkey"' in where
    plan = mesh.plan(WIDE)
    assert len(plan.scans) == 1 and "pushed down" in plan.scans[0].join_choice
    assert [d.address for d in plan.scans[0].datasets] == ["sales.orders", "sales.customer"]
    expected = duckdb_answer(WIDE.replace("sales.", ""), tpch_parquet)
    assert_same_rows(result.df, expected, ordered=True)
    assert result.df.columns[-1] == "c_name" and result.df.columns[0] == "o_orderkey"
    assert result.plan[0].rows == expected.height


def test_a_join_on_non_key_columns_is_never_pushed(shop, caplog):
    mesh = meshlab.connect(shop)
    sql = "select count(*) as n from sales.orders o join sales.customer c on o.o_orderstatus = c.c_mktsegment"
    _, received = run(mesh, caplog, sql)
    assert len(received) == 2
    assert "no key column" in mesh.plan(sql).scans[0].join_choice


def test_outer_joins_are_not_pushed(shop, caplog, tpch_parquet):
    mesh = meshlab.connect(shop)
    sql = """select c.c_custkey, count(o.o_orderkey) as n from sales.customer c
             left join sales.orders o on o.o_custkey = c.c_custkey where c.c_custkey < 20 group by c.c_custkey"""
    result, received = run(mesh, caplog, sql)
    assert len(received) == 2
    assert_same_rows(result.df, duckdb_answer(sql.replace("sales.", ""), tpch_parquet), ordered=False)


def test_pushed_join_inside_a_subquery_with_correlation(shop, tpch_parquet):
    mesh = meshlab.connect(shop)
    sql = """select c.c_name, (select max(o.o_totalprice) from sales.orders o where o.o_custkey = c.c_custkey) as top
             from sales.customer c where c.c_custkey between 1 and 25 order by c.c_name"""
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(sql.replace("sales.", ""), tpch_parquet), ordered=True)
