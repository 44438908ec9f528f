"""One query must not take the process down: shape limits, types, odd characters, audit outcomes.

The limits are in meshlab/sql_shape.py and docs/reliability.md; each is
tested at its edge. Queries run on the governed fault mesh (tests/faults/mesh.py)
as the analyst, so every one is audited.
"""

from __future__ import annotations

import _thread
import json
import re
import threading

import polars as pl
import psycopg
import pytest
from faults import mesh as fault_mesh

import meshlab
from meshlab.errors import (
    DescriptorError,
    ExecutionError,
    GovernanceError,
    SqlSyntaxError,
    UnsupportedQueryError,
)
from meshlab.governance.session import audited
from meshlab.sql_shape import MAX_CHAIN_TERMS, MAX_NESTING, MAX_SET_OPERATION_TERMS


@pytest.fixture
def fault_root(tmp_path, postgres_server, monkeypatch):
    monkeypatch.setenv("MESHLAB_FAULTS_PGUSER", postgres_server.user)
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    fault_mesh.build(tmp_path, postgres_server, pg_table="acc_limits")
    return tmp_path


@pytest.fixture
def mesh(fault_root):
    return meshlab.connect(str(fault_root / "mesh.yaml"))


def _audit(root) -> list[dict]:
    text = (root / "audit" / "queries.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def test_nesting_up_to_the_limit_runs_and_beyond_is_refused_with_its_place(mesh):
    depth = MAX_NESTING
    assert mesh.sql(f"SELECT {'(' * depth}1{')' * depth} AS x").df["x"].to_list() == [1]
    with pytest.raises(UnsupportedQueryError, match=f"nests {depth + 1} levels deep; at most {depth}") as caught:
        mesh.sql(f"SELECT {'abs(' * (depth + 1)}id{')' * (depth + 1)} AS x FROM drift.accounts_parquet")
    assert caught.value.line == 1 and caught.value.column == len("SELECT ") + 4 * (depth + 1)  # the 33rd '('
    for deep in (
        "SELECT " + "(" * 5000 + "1" + ")" * 5000,
        "SELECT " + "CASE WHEN id > 1 THEN " * 200 + "1" + " END" * 200 + " FROM drift.accounts_csv",
        "SELECT * FROM " + "(SELECT * FROM " * 100 + "drift.accounts_sqlite" + ") AS t" * 100,
    ):
        with pytest.raises(UnsupportedQueryError, match="levels deep"):
            mesh.sql(deep)


def test_set_operations_up_to_the_limit_run_and_beyond_are_refused(mesh):
    def union(n):
        return " UNION ALL ".join(f"SELECT {i} AS a" for i in range(n))

    assert mesh.sql(union(MAX_SET_OPERATION_TERMS)).df.height == MAX_SET_OPERATION_TERMS
    for terms in (MAX_SET_OPERATION_TERMS + 1, 3000):  # 3,000 terms segfaulted Polars
        with pytest.raises(UnsupportedQueryError, match=f"at most {MAX_SET_OPERATION_TERMS} are allowed"):
            mesh.sql(union(terms))


def test_operator_chains_beyond_the_limit_are_refused(mesh):
    chain = " OR ".join(f"id = {i}" for i in range(MAX_CHAIN_TERMS + 1))
    with pytest.raises(UnsupportedQueryError, match=f"one OR chains {MAX_CHAIN_TERMS + 1} operands"):
        mesh.sql(f"SELECT id FROM drift.accounts_parquet WHERE {chain}")
    values = ", ".join(str(i) for i in range(5000))  # the way out the message suggests
    assert mesh.sql(f"SELECT count(*) AS n FROM drift.accounts_parquet WHERE id IN ({values})").df["n"][0] == 13


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r LIMIT 10", "WITH RECURSIVE"),
        ("SELECT * FROM drift.accounts_parquet TABLESAMPLE (10 PERCENT)", "TABLESAMPLE is not supported"),
        ("SELECT * FROM drift.accounts_parquet USING SAMPLE 10%", "TABLESAMPLE is not supported"),
        ("SELECT CAST(1 AS DECIMAL(100, 2)) AS x", r"DECIMAL\(100, 2\): a DECIMAL's precision must be 1 to 38"),
        ("SELECT CAST(amount AS DECIMAL(10, 11)) AS x FROM drift.accounts_csv", "scale 0 to the precision"),
        ("SELECT amount::NUMERIC(0) AS x FROM drift.accounts_sqlite", "precision must be 1 to 38"),
        ("SELECT lpad(email, 1000000000000) AS x FROM drift.accounts_csv", "1,000,000,000,000 characters"),
        ("SELECT repeat(email, 99999999) AS x FROM drift.accounts_csv", "more than the 10,000,000 allowed"),
    ],
    ids=["recursive", "tablesample", "using-sample", "decimal-100", "decimal-scale", "numeric-0", "lpad", "repeat"],
)
def test_shapes_and_types_polars_would_mis_run_are_refused(mesh, fault_root, sql, message):
    with pytest.raises(UnsupportedQueryError, match=message):
        mesh.sql(sql)
    assert _audit(fault_root)[-1]["outcome"] == "error"


def test_decimal_within_polars_limits_runs(mesh):
    frame = mesh.sql("SELECT CAST(amount AS DECIMAL(38, 2)) AS x FROM drift.accounts_csv ORDER BY x LIMIT 1").df
    assert frame.schema["x"] == pl.Decimal(38, 2) and str(frame["x"][0]) == "50.00"


@pytest.mark.parametrize(
    ("sql", "message", "column"),
    [
        ("SELECT 'a\ud800' AS x", "lone surrogate U+D800", 10),
        ("SELECT id\x00 FROM drift.accounts_parquet", "NUL character", 10),
        ("SELECT id FROM drift.accounts_parquet WHERE email = '\udfff'", "lone surrogate U+DFFF", 54),
    ],
    ids=["surrogate", "nul", "surrogate-in-literal"],
)
def test_odd_characters_are_a_clear_error_and_still_audited(mesh, fault_root, sql, message, column):
    with pytest.raises(SqlSyntaxError, match=re.escape(message)) as caught:
        mesh.sql(sql)
    assert (caught.value.line, caught.value.column) == (1, column)
    record = _audit(fault_root)[-1]
    assert record["outcome"] == "error" and message in record["error"]
    assert record["statement"] == sql.encode("utf-8", "backslashreplace").decode("utf-8")


def test_policy_filters_obey_the_same_limits(fault_root):
    policy = fault_mesh.POLICY | {
        "roles": {
            "analyst": {
                "read": ["drift.*"],
                "row_filters": {"drift.accounts_csv": "CAST(amount AS DECIMAL(100, 2)) < 900"},
            }
        }
    }
    (fault_root / "policies.yaml").write_text(json.dumps(policy))
    with pytest.raises(DescriptorError, match="row_filters.*precision must be 1 to 38"):
        meshlab.connect(str(fault_root / "mesh.yaml"))


def test_a_polars_panic_is_audited_as_an_error(mesh, fault_root):
    """A real panic (Polars' own, on a type its SQL accepts and its core refuses) inside an audited query."""
    with pytest.raises(pl.exceptions.PanicException):
        with audited(mesh, "SELECT panic"):
            pl.SQLContext().execute("SELECT CAST(1 AS DECIMAL(100, 2)) AS x", eager=True)
    record = _audit(fault_root)[-1]
    assert record["statement"] == "SELECT panic"
    assert record["outcome"] == "error" and record["error"] == "the query failed: PanicException"


def test_an_interrupted_query_is_audited_as_interrupted(mesh, fault_root, postgres_server):
    """Ctrl-C (a KeyboardInterrupt in the main thread) while PostgreSQL runs a slow scan."""
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE acc_limits RENAME TO acc_limits_slow")
        conn.execute("CREATE VIEW acc_limits AS SELECT a.* FROM acc_limits_slow a, LATERAL (SELECT pg_sleep(0.05)) s")
    seen = threading.Event()

    def interrupt_when_running():
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            while not seen.is_set():
                active = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND wait_event = 'PgSleep' "
                    "AND query LIKE '%acc_limits%'"
                ).fetchone()[0]
                if active:
                    seen.set()
                    _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_when_running, daemon=True)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            mesh.sql("SELECT count(*) AS n FROM drift.accounts_postgres")
    finally:
        seen.set()  # stops the watcher whatever happened
    watcher.join(timeout=60)
    record = _audit(fault_root)[-1]
    assert record["outcome"] == "interrupted" and record["error"] == "the query was interrupted"
    assert record["datasets"] == ["drift.accounts_postgres"]


def test_an_interrupt_stays_an_interrupt_when_the_audit_log_cannot_be_written(mesh, fault_root):
    (fault_root / "audit" / "queries.jsonl").unlink(missing_ok=True)
    (fault_root / "audit").rmdir() if (fault_root / "audit").exists() else None
    (fault_root / "audit").write_text("a file where the log's folder should be")
    with pytest.warns(UserWarning, match=r"audit log .* cannot be written .*\(the query was interrupted\)"):
        with pytest.raises(KeyboardInterrupt):
            with audited(mesh, "SELECT 1"):
                raise KeyboardInterrupt  # as Ctrl-C would, mid-query
    with pytest.raises(GovernanceError, match="cannot be written"):  # any other outcome fails closed
        with audited(mesh, "SELECT 1"):
            pass


def test_engine_failures_name_the_datasets_and_are_audited(mesh, fault_root):
    with pytest.raises(ExecutionError, match="the query over 'drift.accounts_csv' on server 'lake' failed"):
        mesh.sql("SELECT CAST(email AS INTEGER) AS x FROM drift.accounts_csv")
    assert _audit(fault_root)[-1]["outcome"] == "error"


def test_the_limits_are_documented_with_their_values():
    from pathlib import Path

    from meshlab import sql_shape as shape

    text = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f"| {shape.MAX_NESTING} levels |" in text
    assert f"| {shape.MAX_SET_OPERATION_TERMS} SELECTs |" in text
    assert f"| {shape.MAX_CHAIN_TERMS} |" in text
    assert f"| {shape.MAX_SQL_CHARS:,} characters |" in text
    assert f"| {shape.MAX_STRING_LENGTH:,} characters |" in text
    assert f"1 ≤ p ≤ {shape.MAX_DECIMAL_PRECISION}" in text
