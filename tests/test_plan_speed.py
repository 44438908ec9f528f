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
    # the scans, not catalog look-ups nor the column checks before each scan
    return [s for s in statements if '"orders"' in s and "pg_class" not in s and "pg_attribute" not in s]


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
    assert "`c_mktsegment` = 'BUILDING' OR `c_mktsegment` = 'MACHINERY'" in customer.sent[0]


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


IN_LINEITEM = "SELECT l.l_orderkey FROM shipping.lineitem l GROUP BY l.l_orderkey HAVING sum(l.l_quantity) > 250"


def _plain(sql: str) -> str:
    for address in ("sales.orders", "sales.customer", "shipping.lineitem", "supply.supplier", "supply.part"):
        sql = sql.replace(address, address.split(".")[1])
    return sql


def test_values_of_an_in_subquery_go_down_instead_of_the_whole_table(mesh, tpch_mesh, pg_log):
    sql = f"""
        SELECT c.c_name, o.o_orderkey, o.o_totalprice FROM sales.customer c, sales.orders o
        WHERE o.o_orderkey IN ({IN_LINEITEM}) AND c.c_custkey = o.o_custkey
    """
    result = mesh.sql(sql)
    expected = duckdb_answer(_plain(sql), tpch_mesh.parquet_dir)
    assert expected.height > 0
    assert_same_rows(result.df, expected, ordered=False)
    [statement] = _orders_statements(pg_log())
    assert '"o_orderkey" IN (' in statement
    [orders] = [f for f in result.plan if f.dataset == "sales.orders"]
    assert orders.rows == expected.height


def test_not_in_and_an_in_under_or_keep_the_planned_fetch(mesh, tpch_mesh, pg_log):
    not_in = f"SELECT count(*) AS n FROM sales.orders o WHERE o.o_orderkey NOT IN ({IN_LINEITEM})"
    under_or = (
        f"SELECT count(*) AS n FROM sales.orders o WHERE o.o_orderkey IN ({IN_LINEITEM}) OR o.o_totalprice > 400000"
    )
    for sql in (not_in, under_or):
        start = len(pg_log())
        assert_same_rows(mesh.sql(sql).df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=False)
        assert all('"o_orderkey" IN (' not in s for s in _orders_statements(pg_log()[start:]))


def test_nested_in_subqueries_narrow_sqlite_innermost_first(mesh, tpch_mesh):
    sql = """
        SELECT s.s_name FROM supply.supplier s WHERE s.s_suppkey IN (
            SELECT l.l_suppkey FROM shipping.lineitem l WHERE l.l_partkey IN (
                SELECT p.p_partkey FROM supply.part p WHERE p.p_name LIKE 'forest%'))
        ORDER BY s.s_name
    """
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=True)
    [supplier] = [f for f in result.plan if f.dataset == "supply.supplier"]
    assert "`s_suppkey` IN (" in supplier.sent[0] and supplier.rows == result.df.height


def test_an_empty_in_subquery_sends_a_false_condition(mesh, pg_log):
    sql = "SELECT count(*) AS n FROM sales.orders o WHERE o.o_orderkey IN (SELECT l.l_orderkey FROM shipping.lineitem l WHERE l.l_quantity < 0)"
    assert mesh.sql(sql).df["n"].to_list() == [0]
    [statement] = _orders_statements(pg_log())
    assert "WHERE FALSE" in statement


def _from_order(select: exp.Select) -> list[str]:
    joins = select.args.get("joins") or []
    return [select.args["from_"].this.alias_or_name] + [j.this.alias_or_name for j in joins]


def test_a_select_over_a_database_is_joined_from_its_most_selective_side(mesh, tpch_mesh):
    sql = """
        SELECT s.s_name, count(*) AS numwait
        FROM supply.supplier s, shipping.lineitem l, sales.orders o, geo.nation n
        WHERE s.s_suppkey = l.l_suppkey AND o.o_orderkey = l.l_orderkey AND o.o_orderstatus = 'F'
          AND l.l_receiptdate > l.l_commitdate AND s.s_nationkey = n.n_nationkey AND n.n_name = 'SAUDI ARABIA'
        GROUP BY s.s_name
    """
    plan = mesh.plan(sql)
    order = _from_order(plan.local)
    assert order.index("n") < order.index("l") and order.index("s") < order.index("l"), order
    assert any(note.startswith("join order") for note in plan.notes)
    plain = sql.replace("supply.", "").replace("shipping.", "").replace("sales.", "").replace("geo.", "")
    assert_same_rows(mesh.sql(sql).df, duckdb_answer(plain, tpch_mesh.parquet_dir), ordered=False)


def test_outer_joins_and_file_only_selects_keep_their_written_order(mesh):
    outer = """
        SELECT count(*) FROM shipping.lineitem l JOIN sales.orders o ON o.o_orderkey = l.l_orderkey
        LEFT JOIN supply.supplier s ON s.s_suppkey = l.l_suppkey JOIN geo.nation n ON n.n_nationkey = s.s_nationkey
    """
    files = """
        SELECT count(*) FROM shipping.lineitem l, supply.partsupp ps, geo.nation n, geo.region r
        WHERE l.l_partkey = ps.ps_partkey AND n.n_regionkey = r.r_regionkey AND r.r_name = 'ASIA'
    """
    for sql in (outer, files):
        plan = mesh.plan(sql)
        assert not any(note.startswith("join order") for note in plan.notes)
