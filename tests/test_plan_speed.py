"""The planner and engine changes made for speed, judged by what the databases received.

* conditions implied by an OR across tables reach each table's scan (TPC-H Q19, Q7);
* a table read twice by one query is fetched once (TPC-H Q2, Q11, Q22);
* ``SUBSTRING`` with plain literal bounds goes down to the database (TPC-H Q22);
* a table's row count (join estimates) is asked once, not at every plan.

Every case also checks the answer against DuckDB over the plain parquet files.
"""

from __future__ import annotations

import pytest
import sqlglot
from conftest import assert_same_rows, duckdb_answer
from sqlglot import exp

from meshlab.planner.implied import implied_conjuncts

pytestmark = pytest.mark.postgres


def _orders_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if '"orders"' in s and "pg_class" not in s]


def test_or_across_tables_implies_one_condition_per_table():
    where = sqlglot.parse_one(
        "SELECT * FROM a, b WHERE (a.x = 1 AND b.y = 2 AND b.z = 0) OR (a.x = 3 AND b.y = 4 AND b.z = 0)"
    ).args["where"]
    implied = [c.sql() for c in implied_conjuncts(where.this)]
    assert implied == ["a.x = 1 OR a.x = 3", "b.z = 0", "b.y = 2 OR b.y = 4"]


def test_an_or_branch_without_a_condition_on_a_table_implies_nothing_for_it():
    where = sqlglot.parse_one("SELECT * FROM a, b WHERE (a.x = 1 AND b.y = 2) OR a.x = 3").args["where"]
    assert [c.sql() for c in implied_conjuncts(where.this)] == ["a.x = 1 OR a.x = 3"]
    subquery = sqlglot.parse_one(
        "SELECT * FROM a, b WHERE (a.x IN (SELECT 1) AND b.y = 2) OR (a.x = 3 AND b.y = 4)"
    ).args["where"]
    assert implied_conjuncts(subquery.this) == []


def test_implied_conditions_reach_postgres_and_sqlite(mesh, tpch_mesh, pg_log):
    sql = """
        SELECT c.c_mktsegment, o.o_orderpriority, count(*) AS n
        FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey
        WHERE (o.o_orderpriority = '1-URGENT' AND c.c_mktsegment = 'BUILDING')
           OR (o.o_orderpriority = '2-HIGH' AND c.c_mktsegment = 'MACHINERY')
        GROUP BY 1, 2
    """
    result = mesh.sql(sql)
    plain = sql.replace("sales.orders", "orders").replace("sales.customer", "customer")
    assert_same_rows(result.df, duckdb_answer(plain, tpch_mesh.parquet_dir), ordered=False)
    [statement] = _orders_statements(pg_log())
    assert "\"o_orderpriority\" = '1-URGENT' OR \"o_orderpriority\" = '2-HIGH'" in statement
    customer = next(f for f in result.plan if f.dataset == "sales.customer")
    assert "\"c_mktsegment\" = 'BUILDING' OR \"c_mktsegment\" = 'MACHINERY'" in customer.sent[0]


def test_a_table_read_twice_is_fetched_once(mesh, tpch_mesh, pg_log):
    sql = """
        SELECT count(*) AS n FROM sales.orders o
        WHERE o.o_totalprice > (SELECT avg(o2.o_totalprice) FROM sales.orders o2)
    """
    result = mesh.sql(sql)
    plain = sql.replace("sales.orders", "orders")
    assert_same_rows(result.df, duckdb_answer(plain, tpch_mesh.parquet_dir), ordered=False)
    assert len(_orders_statements(pg_log())) == 1
    [orders] = [f for f in result.plan if f.dataset == "sales.orders"]
    assert orders.rows == duckdb_answer("SELECT count(*) FROM orders", tpch_mesh.parquet_dir).item()


def test_two_references_with_different_conditions_share_the_weaker_fetch(mesh, tpch_mesh, pg_log):
    sql = """
        SELECT o.o_orderpriority, count(*) AS n FROM sales.orders o
        WHERE o.o_orderstatus = 'F'
          AND o.o_totalprice > (SELECT avg(o2.o_totalprice) FROM sales.orders o2
                                WHERE o2.o_orderstatus = 'F' AND o2.o_orderpriority = '1-URGENT')
        GROUP BY 1
    """
    result = mesh.sql(sql)
    plain = sql.replace("sales.orders", "orders")
    assert_same_rows(result.df, duckdb_answer(plain, tpch_mesh.parquet_dir), ordered=False)
    [statement] = _orders_statements(pg_log())  # one fetch, with the outer reference's condition only
    assert "WHERE \"o_orderstatus\" = 'F'" in statement and '"o_orderpriority" =' not in statement


def test_substring_with_literal_bounds_goes_down(mesh, tpch_mesh):
    sql = """
        SELECT substring(c.c_phone, 1, 2) AS code, count(*) AS n FROM sales.customer c
        WHERE substring(c.c_phone, 1, 2) IN ('13', '31', '23') GROUP BY 1
    """
    result = mesh.sql(sql)
    plain = sql.replace("sales.customer", "customer")
    assert_same_rows(result.df, duckdb_answer(plain, tpch_mesh.parquet_dir), ordered=False)
    [customer] = list(result.plan)
    where = sqlglot.parse_one(customer.sent[0], read="sqlite").args["where"]
    assert where is not None and where.find(exp.Substring) is not None
    assert customer.rows == result.df["n"].sum()


def test_substring_from_zero_stays_local(mesh):
    plan = mesh.plan("SELECT c.c_custkey FROM sales.customer c WHERE substring(c.c_phone, 0, 2) = '1'")
    assert plan.scans[0].spec.predicates == ()


def test_row_counts_for_join_estimates_are_asked_once(mesh, pg_log):
    sql = "SELECT count(*) FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey"
    for _ in range(3):
        mesh.sql(sql)  # the engine choice asks for row counts too
    counts = [s for s in pg_log() if "pg_class" in s]
    assert len(counts) <= 1
