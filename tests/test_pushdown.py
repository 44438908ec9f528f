"""Pushdown is judged by what the databases actually received.

PostgreSQL runs with ``log_statement=all``: ``pg_log()`` is every statement the server got
during the test, and each one is parsed with sqlglot (postgres dialect) to find the SELECT
that reads ``orders`` -- also when a driver wraps it (``COPY (SELECT ...) TO STDOUT``,
``DECLARE ... CURSOR FOR SELECT ...``). Assertions inspect that tree, never the text.

SQLite has no server and no statement log, but it has a trace hook: the standard library's
driver (chosen per server with the ``driver: sqlite3`` custom property) registers
``Connection.set_trace_callback``, and SQLite calls it with every statement it executes;
the source reports each to the ``meshlab.sources.sqlite`` logger (``sqlite3 ran: ...``).
The SQLite cases run on a copy of the federated mesh whose SQLite server names that driver
and parse what SQLite reported. The default driver (ADBC) has no trace hook: that it is sent
the same statement is checked through ``mesh.explain()`` (SPEC §4: "for each scan, the exact
SQL sent to a database").

Every case also checks the answer against DuckDB over the plain parquet files.
"""

from __future__ import annotations

import logging
import shutil

import pytest
import sqlglot
import yaml
from conftest import TPCH_DOMAINS, assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from support.contracts import write_yaml
from support.received_sql import column_names, comparison, conjuncts, limit_of, reads_star, scans_of

import meshlab

pytestmark = pytest.mark.postgres

DOMAINS = set(TPCH_DOMAINS.values())

# ---------------------------------------------------------------------------------------
# The oracle side
# ---------------------------------------------------------------------------------------


def plain_sql(mesh_sql: str, params: dict | None = None) -> str:
    """The mesh query with addresses back to plain TPC-H tables and ``:name`` bound, for DuckDB."""
    tree = sqlglot.parse_one(mesh_sql, read="duckdb")
    for table in tree.find_all(exp.Table):
        if table.text("db").lower() in DOMAINS:
            table.set("db", None)
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(exp.convert((params or {})[placeholder.name]))
    return tree.sql(dialect="duckdb")


def run_and_check(mesh, tpch_mesh, sql: str, params: dict | None = None, trivial: str | None = None):
    """Run ``sql`` on the mesh, assert DuckDB's answer, return the result frame.

    ``trivial``: why an empty, all-NULL or all-zero answer is meant (``conftest.duckdb_answer``).
    """
    actual = mesh.sql(sql, params=params).df
    expected = duckdb_answer(plain_sql(sql, params), tpch_mesh.parquet_dir, trivial)
    keys = order_by_positions(sql)
    assert_same_rows(actual, expected, ordered=bool(keys), order_by=keys)
    return actual


def orders_scans(pg_log) -> list[exp.Select]:
    received = pg_log()
    scans = scans_of(received, "orders")
    assert scans, "PostgreSQL received no SELECT reading orders; it got:\n" + "\n".join(received)
    return scans


def described(select: exp.Select) -> str:
    return select.root().sql(dialect="postgres")


# ---------------------------------------------------------------------------------------
# PostgreSQL: sales.orders
# ---------------------------------------------------------------------------------------

ORDERS_COLUMNS = {
    "o_orderkey", "o_custkey", "o_orderstatus", "o_totalprice", "o_orderdate",
    "o_orderpriority", "o_clerk", "o_shippriority", "o_comment",
}  # fmt: skip

PROJECTION_CASES = {
    "plain_scan": (
        "SELECT o_orderkey, o_totalprice FROM sales.orders WHERE o_orderpriority = '1-URGENT'",
        {"o_orderkey", "o_totalprice", "o_orderpriority"},
    ),
    "join_and_aggregate": (
        "SELECT c_mktsegment, SUM(o_totalprice) AS total FROM sales.orders "
        "JOIN sales.customer ON o_custkey = c_custkey GROUP BY c_mktsegment",
        {"o_custkey", "o_totalprice"},
    ),
}


@pytest.mark.parametrize("sql, referenced", PROJECTION_CASES.values(), ids=PROJECTION_CASES.keys())
def test_only_referenced_columns_reach_postgres(sql, referenced, mesh, tpch_mesh, pg_log):
    run_and_check(mesh, tpch_mesh, sql)

    for select in orders_scans(pg_log):
        assert not reads_star(select), f"SELECT * reached PostgreSQL: {described(select)}"
        unreferenced = (column_names(select) & ORDERS_COLUMNS) - referenced
        assert not unreferenced, f"unreferenced columns {sorted(unreferenced)} in: {described(select)}"


PREDICATE_CASES = {
    "date_literal": (
        "SELECT o_orderkey, o_orderdate FROM sales.orders WHERE o_orderdate < DATE '1995-03-15'",
        ("o_orderdate", exp.LT, "1995-03-15"),
    ),
    "string_equality": (
        "SELECT o_orderkey, o_totalprice FROM sales.orders WHERE o_orderstatus = 'F'",
        ("o_orderstatus", exp.EQ, "F"),
    ),
    "tpch_q03_join": (
        None,  # TPC-H Q3 on the mesh: o_orderdate < date '1995-03-15' among join predicates
        ("o_orderdate", exp.LT, "1995-03-15"),
    ),
}


@pytest.mark.parametrize("sql, expected", PREDICATE_CASES.values(), ids=PREDICATE_CASES.keys())
def test_single_table_predicate_is_in_the_received_where(sql, expected, mesh, tpch_mesh, pg_log):
    sql = sql or tpch_mesh.to_mesh_sql(read_tpch_query("q03"))
    run_and_check(mesh, tpch_mesh, sql)

    for select in orders_scans(pg_log):
        found = [comparison(term) for term in conjuncts(select)]
        assert expected in found, f"{expected} not pushed into the WHERE of: {described(select)}"


def test_date_arithmetic_on_literals_is_folded_or_kept_local(mesh, tpch_mesh, pg_log):
    sql = (
        "SELECT o_orderkey, o_orderdate FROM sales.orders "
        "WHERE o_orderdate < DATE '1995-01-01' + INTERVAL '1' YEAR AND o_orderpriority = '2-HIGH'"
    )
    run_and_check(mesh, tpch_mesh, sql)

    for select in orders_scans(pg_log):
        for term in conjuncts(select):
            if "o_orderdate" not in column_names(term):
                continue
            assert comparison(term) in {
                ("o_orderdate", exp.LT, "1996-01-01"),
                ("o_orderdate", exp.LT, "1996-01-01 00:00:00"),
            }, f"date arithmetic reached PostgreSQL unfolded: {term.sql(dialect='postgres')}"


NOT_PUSHABLE_CASES = {
    # compares columns of two sources: PostgreSQL cannot evaluate it
    "cross_source_comparison": (
        "SELECT o_orderkey, c_name FROM sales.orders JOIN sales.customer ON o_custkey = c_custkey "
        "WHERE o_totalprice > c_acctbal * 50",
        "o_totalprice",
        None,
    ),
    # on the null-supplying side, from WHERE: pushing it would turn misses into matches
    "left_join_is_null": (
        "SELECT c_custkey, o_orderkey FROM sales.customer LEFT JOIN sales.orders ON c_custkey = o_custkey "
        "WHERE o_orderkey IS NULL",
        "o_orderkey",
        "the customers without orders: o_orderkey is NULL in each of the 500 rows by definition",
    ),
    "left_join_is_null_or_value": (
        "SELECT c_custkey, o_orderkey, o_orderstatus FROM sales.customer "
        "LEFT JOIN sales.orders ON c_custkey = o_custkey "
        "WHERE (o_orderstatus IS NULL OR o_orderstatus = 'P') AND c_custkey < 300",
        "o_orderstatus",
        None,
    ),
}


@pytest.mark.parametrize("sql, column, trivial", NOT_PUSHABLE_CASES.values(), ids=NOT_PUSHABLE_CASES.keys())
def test_predicate_that_cannot_be_pushed_stays_local(sql, column, trivial, mesh, tpch_mesh, pg_log):
    run_and_check(mesh, tpch_mesh, sql, trivial=trivial)

    for select in orders_scans(pg_log):
        pushed = [term.sql(dialect="postgres") for term in conjuncts(select) if column in column_names(term)]
        assert not pushed, f"predicate on {column} must stay local, PostgreSQL got: {described(select)}"


def test_limit_on_a_plain_scan_arrives_as_limit(mesh, tpch_mesh, pg_log):
    sql = "SELECT o_orderkey, o_orderdate FROM sales.orders LIMIT 5"

    actual = mesh.sql(sql).df

    unlimited = duckdb_answer(plain_sql("SELECT o_orderkey, o_orderdate FROM sales.orders"), tpch_mesh.parquet_dir)
    assert actual.height == 5
    assert set(actual.rows()) <= set(unlimited.rows()), f"rows not from sales.orders:\n{actual}"
    limits = [limit_of(select) for select in orders_scans(pg_log)]
    assert all(limit is not None and limit <= 5 for limit in limits), f"unlimited scan of orders: {limits}"
    assert 5 in limits


def test_parameter_arrives_as_a_literal(mesh, tpch_mesh, pg_log):
    sql = "SELECT o_orderkey, o_totalprice FROM sales.orders WHERE o_orderstatus = :status"

    run_and_check(mesh, tpch_mesh, sql, params={"status": "F"})

    for select in orders_scans(pg_log):
        assert ("o_orderstatus", exp.EQ, "F") in [comparison(t) for t in conjuncts(select)], described(select)
        assert not list(select.find_all(exp.Placeholder, exp.Parameter)), f"unbound parameter: {described(select)}"


def test_injection_attempt_is_bound_as_one_string(mesh, tpch_mesh, pg_log):
    sql = "SELECT o_orderkey, o_totalprice FROM sales.orders WHERE o_orderstatus = :status"
    attack = "F' OR '1'='1"

    nothing = "no order has that status: the attack must match nothing"
    actual = run_and_check(mesh, tpch_mesh, sql, params={"status": attack}, trivial=nothing)

    assert actual.height == 0
    for select in orders_scans(pg_log):
        assert ("o_orderstatus", exp.EQ, attack) in [comparison(t) for t in conjuncts(select)], described(select)
        assert select.find(exp.Or) is None, f"the value became SQL: {described(select)}"


def test_explain_shows_the_sql_postgres_received(mesh, tpch_mesh, pg_log):
    sql = "SELECT o_orderkey, o_orderdate FROM sales.orders WHERE o_orderstatus = 'O' AND o_shippriority = 0"
    run_and_check(mesh, tpch_mesh, sql)
    received = {select.sql(dialect="postgres") for select in orders_scans(pg_log)}

    explained = scans_of(queries_in_text(mesh.explain(sql), "postgres"), "orders")

    assert explained, f"explain() shows no SQL reading orders:\n{mesh.explain(sql)}"
    for select in explained:
        assert select.sql(dialect="postgres") in received


# ---------------------------------------------------------------------------------------
# SQLite: sales.customer -- what SQLite executed, from its trace hook
# ---------------------------------------------------------------------------------------

TRACED = "sqlite3 ran: "  # the source's log line for each statement SQLite's trace callback reports


@pytest.fixture(scope="module")
def traced_mesh(tmp_path_factory, tpch_mesh):
    """The federated mesh with its SQLite server read by the standard library's driver
    (``driver: sqlite3``), the one with SQLite's trace hook; the same data files."""
    root = tmp_path_factory.mktemp("tpch-mesh-sqlite3")
    original = tpch_mesh.mesh_path.parent
    shutil.copytree(original / "domains", root / "domains")
    shutil.copy(tpch_mesh.mesh_path, root / "mesh.yaml")
    (root / "data").symlink_to(original / "data")  # the contracts name their data ../../data/...
    for path in root.glob("domains/*/*.odcs.yaml"):
        document = yaml.safe_load(path.read_text())
        for server in document["servers"]:
            if server["type"] == "sqlite":
                server.setdefault("customProperties", []).append({"property": "driver", "value": "sqlite3"})
        write_yaml(path, document)
    connected = meshlab.connect(str(root / "mesh.yaml"))
    yield connected
    connected.close()


def sqlite_executed(caplog, run) -> list[str]:
    """The statements SQLite's trace hook reported while ``run()`` ran."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="meshlab.sources.sqlite"):
        run()
    return [r.getMessage().split(TRACED, 1)[1] for r in caplog.records if TRACED in r.getMessage()]


def customer_scans(traced_mesh, tpch_mesh, caplog, sql: str) -> list[exp.Select]:
    """Run ``sql`` (DuckDB's answer checked): the SELECTs reading customer that SQLite executed."""
    executed = sqlite_executed(caplog, lambda: run_and_check(traced_mesh, tpch_mesh, sql))
    scans = scans_of(executed, "customer", dialect="sqlite")
    assert scans, "SQLite executed no SELECT reading customer; it ran:\n" + "\n".join(executed)
    return scans


def test_sqlite_scan_reads_only_referenced_columns(traced_mesh, tpch_mesh, caplog):
    sql = "SELECT c_custkey, c_name FROM sales.customer WHERE c_acctbal > 9000"

    for select in customer_scans(traced_mesh, tpch_mesh, caplog, sql):
        assert not reads_star(select), select.sql(dialect="sqlite")
        assert column_names(select) <= {"c_custkey", "c_name", "c_acctbal"}, select.sql(dialect="sqlite")


def test_sqlite_scan_gets_the_single_table_predicate(traced_mesh, tpch_mesh, caplog):
    sql = (
        "SELECT c_custkey, o_orderkey FROM sales.customer JOIN sales.orders ON c_custkey = o_custkey "
        "WHERE c_mktsegment = 'BUILDING' AND o_orderstatus = 'P'"
    )

    for select in customer_scans(traced_mesh, tpch_mesh, caplog, sql):
        found = [comparison(term) for term in conjuncts(select)]
        assert ("c_mktsegment", exp.EQ, "BUILDING") in found, select.sql(dialect="sqlite")


def test_sqlite_scan_keeps_null_supplying_predicate_local(traced_mesh, tpch_mesh, caplog):
    sql = (
        "SELECT o_orderkey, o_custkey FROM sales.orders LEFT JOIN sales.customer "
        "ON o_custkey = c_custkey AND c_nationkey = 1 WHERE c_name IS NULL AND o_orderkey < 2000"
    )

    for select in customer_scans(traced_mesh, tpch_mesh, caplog, sql):
        pushed = [t.sql(dialect="sqlite") for t in conjuncts(select) if "c_name" in column_names(t)]
        assert not pushed, f"c_name IS NULL must stay local: {select.sql(dialect='sqlite')}"
        assert ("c_nationkey", exp.EQ, "1") in [comparison(t) for t in conjuncts(select)], select.sql("sqlite")


def test_explain_shows_the_sql_sqlite_executed_on_either_driver(mesh, traced_mesh, tpch_mesh, caplog):
    """The default driver (ADBC) has no trace hook: it is sent what SQLite executed for the
    standard library's driver, as ``explain()`` of the default mesh shows."""
    sql = "SELECT c_custkey, c_name FROM sales.customer WHERE c_mktsegment = 'MACHINERY' AND c_nationkey < 10"
    executed = {s.sql(dialect="sqlite") for s in customer_scans(traced_mesh, tpch_mesh, caplog, sql)}

    explained = scans_of(queries_in_text(mesh.explain(sql), "sqlite"), "customer", dialect="sqlite")

    assert explained, f"explain() shows no SQLite SQL reading customer:\n{mesh.explain(sql)}"
    assert {select.sql(dialect="sqlite") for select in explained} == executed
    run_and_check(mesh, tpch_mesh, sql)


def queries_in_text(text: str, dialect: str) -> list[str]:
    """SQL statements embedded in explain text: from each SELECT, the longest run of lines
    that parses as one query reading a table."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        start = line.upper().find("SELECT")
        if start < 0:
            continue
        best = None
        for j in range(i, min(i + 60, len(lines))):
            candidate = "\n".join([line[start:], *lines[i + 1 : j + 1]])
            try:
                tree = sqlglot.parse_one(candidate, read=dialect)
            except (ParseError, TokenError):
                continue
            if isinstance(tree, exp.Query) and tree.find(exp.Table) is not None:
                best = candidate
        if best is not None:
            found.append(best)
    return found
