"""Dynamic filtering: the keys of a small inner-join side reach the database of the other.

Judged by what the databases received (PostgreSQL's statement log, the scans' SQL) and
by the answers, compared with DuckDB over the plain parquet files.
"""

from __future__ import annotations

import pytest
import sqlglot
from conftest import assert_same_rows, duckdb_answer, read_tpch_query

import meshlab
from meshlab.engine import dynamic_filters
from meshlab.engine.dynamic_filters import Edge, _closure, _filtered_join
from meshlab.sources.postgres import PostgresSource

pytestmark = pytest.mark.postgres

ORDERS_OF_A_SEGMENT = """
    SELECT c.c_name, o.o_orderkey, o.o_totalprice
    FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey
    WHERE c.c_mktsegment = 'BUILDING' AND c.c_nationkey = 3
"""


def _plain(sql: str) -> str:
    for address in ("sales.orders", "sales.customer", "supply.supplier", "geo.nation", "geo.region"):
        sql = sql.replace(address, address.split(".")[1])
    return sql


def _orders_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if '"orders"' in s and "pg_class" not in s and "pg_attribute" not in s]


def _fragment(result, address: str):
    [fragment] = [f for f in result.plan if f.dataset == address]
    return fragment


@pytest.fixture
def estimates(monkeypatch):
    """``estimates({address: (rows, kept)})``: the planner's estimates as the test says
    (other scans: large and unfiltered), so the choice does not hang on textbook guesses."""

    def use(sizes: dict[str, tuple[float, float]]) -> None:
        monkeypatch.setattr(
            dynamic_filters,
            "estimated_rows",
            lambda scan, conditions: sizes.get(scan.dataset.address, (1e6, 1e6)),
        )

    return use


def test_equalities_are_closed_over_shared_columns():
    edges = _closure([(("p", "k"), ("l", "pk")), (("ps", "k"), ("l", "pk"))])
    assert Edge("p", "k", "ps", "k") in edges and Edge("ps", "k", "p", "k") in edges
    assert all(e.build != e.probe for e in edges) and len(edges) == 6


def test_keys_of_a_small_side_go_to_postgres(mesh, tpch_mesh, pg_log):
    result = mesh.sql(ORDERS_OF_A_SEGMENT)
    expected = duckdb_answer(_plain(ORDERS_OF_A_SEGMENT), tpch_mesh.parquet_dir)
    assert_same_rows(result.df, expected, ordered=False)
    customer, orders = _fragment(result, "sales.customer"), _fragment(result, "sales.orders")
    [statement] = _orders_statements(pg_log())
    assert '"o_custkey" = ANY(CAST(\'{' in statement
    [note] = orders.notes
    assert note.startswith("dynamic filter: sales.orders.o_custkey IN ") and note.endswith(" keys from sales.customer")
    assert orders.sent[0] in statement
    assert orders.rows < 15_000 and customer.rows is not None
    assert "dynamic filter: sales.orders.o_custkey" in str(result.plan)


def test_a_chain_narrows_sqlite_through_a_csv_file(mesh, tpch_mesh):
    sql = """
        SELECT s.s_name, n.n_name FROM supply.supplier s, geo.nation n, geo.region r
        WHERE s.s_nationkey = n.n_nationkey AND n.n_regionkey = r.r_regionkey AND r.r_name = 'ASIA'
    """
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=False)
    supplier = _fragment(result, "supply.supplier")
    assert "WHERE `s_nationkey` IN (8,9,12,18,21)" in supplier.sent[0]  # the 5 nations of ASIA
    assert supplier.notes == ("dynamic filter: supply.supplier.s_nationkey IN 5 keys from geo.nation",)
    assert supplier.rows == result.df.height


@pytest.mark.parametrize("name", ["q03", "q05", "q07", "q08", "q12"])
def test_tpch_queries_send_keys_and_keep_their_answers(name, mesh, tpch_mesh):
    sql = read_tpch_query(name)
    result = mesh.sql(tpch_mesh.to_mesh_sql(sql))
    assert_same_rows(result.df, duckdb_answer(sql, tpch_mesh.parquet_dir), ordered=False)
    orders = _fragment(result, "sales.orders")
    assert any(n.startswith("dynamic filter: sales.orders.") for n in orders.notes), orders.notes
    assert "= ANY(CAST('{" in orders.sent[0]


def test_an_empty_build_sends_false(mesh, pg_log):
    sql = ORDERS_OF_A_SEGMENT.replace("'BUILDING'", "'NO SUCH SEGMENT'")
    result = mesh.sql(sql)
    assert result.df.height == 0
    [statement] = _orders_statements(pg_log())
    assert 'FROM "public"."orders" WHERE FALSE' in statement
    assert _fragment(result, "sales.orders").notes == (
        "dynamic filter: sales.orders.o_custkey IN 0 keys from sales.customer",
    )


def test_a_build_with_more_keys_than_the_limit_leaves_the_probe_as_planned(
    mesh, tpch_mesh, pg_log, estimates, monkeypatch
):
    estimates({"sales.customer": (1500, 1)})  # thought to be one row: about 300 in fact
    monkeypatch.setattr(dynamic_filters, "MAX_KEYS", 10)
    sql = "SELECT o.o_orderkey FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey WHERE c.c_mktsegment = 'BUILDING'"
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=False)
    [statement] = _orders_statements(pg_log())
    assert "WHERE" not in statement
    [note] = _fragment(result, "sales.orders").notes
    assert note.startswith("dynamic filter not sent: ") and note.endswith("keys from sales.customer (limit 10)")


def test_a_shared_scan_with_a_reference_needing_every_row_is_not_narrowed(mesh, tpch_mesh, pg_log, estimates):
    estimates({"sales.customer": (1500, 1)})
    sql = """
        SELECT o.o_orderkey FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey
        WHERE c.c_mktsegment = 'BUILDING' AND o.o_totalprice > (SELECT avg(o2.o_totalprice) FROM sales.orders o2)
    """
    assert all(s.spec.shared for s in mesh.plan(sql).scans if s.dataset.address == "sales.orders")
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=False)
    assert all("ANY(" not in s for s in _orders_statements(pg_log()))
    assert not _fragment(result, "sales.orders").notes


def test_a_shared_scan_is_narrowed_by_the_union_of_its_references_keys(mesh, tpch_mesh, pg_log, estimates):
    """Both references of orders join a filtered customer: the database is sent the keys of
    either (the union); each reference still joins on its own, so the answer holds."""
    estimates({"sales.customer": (1500, 1)})
    sql = """
        SELECT o.o_orderkey, o.o_totalprice FROM sales.orders o JOIN sales.customer c ON o.o_custkey = c.c_custkey
        WHERE c.c_mktsegment = 'BUILDING' AND c.c_nationkey = 3 AND o.o_totalprice > (
            SELECT avg(o2.o_totalprice) FROM sales.orders o2 JOIN sales.customer c2 ON o2.o_custkey = c2.c_custkey
            WHERE c2.c_nationkey = 7)
    """
    assert all(s.spec.shared for s in mesh.plan(sql).scans if s.dataset.address == "sales.orders")
    result = mesh.sql(sql)
    assert_same_rows(result.df, duckdb_answer(_plain(sql), tpch_mesh.parquet_dir), ordered=False)
    [statement] = _orders_statements(pg_log())
    expected = duckdb_answer(
        "SELECT count(DISTINCT c_custkey) AS n FROM customer "
        "WHERE (c_mktsegment = 'BUILDING' AND c_nationkey = 3) OR c_nationkey = 7",
        tpch_mesh.parquet_dir,
    )["n"][0]
    array = statement[statement.index("'{") + 2 : statement.index("}'")]  # the keys' array literal
    assert len(set(array.split(","))) == expected
    [note] = _fragment(result, "sales.orders").notes
    assert note.startswith(f"dynamic filter: sales.orders.o_custkey IN {expected:,} keys")


def test_a_governed_scan_is_never_narrowed(tpch_mesh, tmp_path, pg_log, monkeypatch):
    from support.contracts import write_mesh, write_yaml

    domains = {d: str(tpch_mesh.mesh_path.parent / "domains" / d) for d in ("sales", "supply", "shipping", "geo")}
    policy = {
        "users": {"*": ["analyst"]},
        "roles": {"analyst": {"read": ["*"], "row_filters": {"sales.orders": "o_totalprice > 0"}}},
    }
    write_yaml(tmp_path / "policies.yaml", policy)
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    governed = meshlab.connect(str(write_mesh(tmp_path, "governed-tpch", domains, policies="policies.yaml")))
    try:
        result = governed.sql(ORDERS_OF_A_SEGMENT)
    finally:
        governed.close()
    assert_same_rows(result.df, duckdb_answer(_plain(ORDERS_OF_A_SEGMENT), tpch_mesh.parquet_dir), ordered=False)
    statements = _orders_statements(pg_log())
    assert statements and all("ANY(" not in s for s in statements)  # the same query ungoverned sends keys
    assert not _fragment(result, "sales.orders").notes


def test_keys_filter_the_output_of_a_join_pushed_down():
    join = sqlglot.parse_one(
        'SELECT "o"."o_custkey" AS "o__o_custkey", count(*) AS "n" FROM "orders" AS "o" '
        'LEFT JOIN "lineitem" AS "l" ON "l"."l_orderkey" = "o"."o_orderkey" GROUP BY 1',
        read="postgres",
    )
    keys = PostgresSource.integer_keys(None, "o__o_custkey", [3, 1])  # type: ignore[arg-type]
    assert _filtered_join(join, [keys]).sql("postgres") == (
        'SELECT "__joined"."o__o_custkey", "__joined"."n" FROM (' + join.sql("postgres") + ") AS __joined "
        'WHERE "__joined"."o__o_custkey" = ANY(CAST(\'{3,1}\' AS BIGINT[]))'
    )


def test_explain_analyze_shows_the_keys_a_scan_was_sent(mesh):
    analysis = mesh.explain(ORDERS_OF_A_SEGMENT, analyze=True)
    [orders] = [s for s in analysis.scans if s.dataset == "sales.orders"]
    assert orders.notes and orders.notes[0].startswith("dynamic filter: sales.orders.o_custkey IN ")
    assert f"\n    {orders.notes[0]}\n" in str(analysis)
