"""Governance fails closed on schema drift, for every source kind.

Each case loads the governed fault mesh (tests/faults/mesh.py), reads a dataset
once as the analyst, then changes the source under it (a column renamed,
dropped or retyped; a table replaced by a view) and reads again. The answer
must be a SchemaDriftError naming dataset, server and column, or the rows the
analyst may see: never a row the row filter hides. These count as governance
attack cases.
"""

from __future__ import annotations

import sqlite3

import polars as pl
import psycopg
import pytest
from faults import mesh as fault_mesh

import meshlab
from meshlab.errors import MeshError, SchemaDriftError

SERVERS = {"parquet": "lake", "csv": "lake", "ndjson": "lake", "sqlite": "accounts-db", "postgres": "accounts-pg"}
QUERY = "SELECT id, country, amount FROM drift.accounts_{kind} ORDER BY id"


@pytest.fixture
def drift_mesh(tmp_path, postgres_server, monkeypatch, request):
    """(mesh.yaml, PostgreSQL table name) of a fresh fault mesh; the analyst's identity set."""
    monkeypatch.setenv("MESHLAB_FAULTS_PGUSER", postgres_server.user)
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    table = "acc_" + request.node.name.split("[")[-1].rstrip("]").replace("-", "_")
    return fault_mesh.build(tmp_path, postgres_server, pg_table=table), table


def _rename(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({"country": "region"})


def _drop(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop("country")


def _retype(frame: pl.DataFrame) -> pl.DataFrame:
    # Amounts as text: a text comparison '1000' < '900' would let large amounts through.
    return frame.with_columns(pl.format("{} EUR", pl.col("amount").cast(pl.Int64)).alias("amount"))


FRAME_DRIFTS = {"renamed": (_rename, "country"), "dropped": (_drop, "country"), "retyped": (_retype, "amount")}


def _drift_files(kind: str, root, change) -> None:
    frame = change(fault_mesh.accounts())
    data = root / "data"
    {"parquet": frame.write_parquet, "csv": frame.write_csv, "ndjson": frame.write_ndjson}[kind](
        data / f"accounts.{kind}"
    )


def _drift_sqlite(case: str, root) -> None:
    path = root / "data" / "accounts.sqlite"
    if case == "retyped":
        fault_mesh.write_sqlite(
            path,
            fault_mesh.accounts().with_columns(pl.col("amount").cast(pl.Int64).cast(pl.String)),
            {"amount": "TEXT"},
        )
        return
    with sqlite3.connect(path) as conn:
        if case == "renamed":
            conn.execute("ALTER TABLE accounts RENAME COLUMN country TO region")
        elif case == "dropped":
            conn.execute("ALTER TABLE accounts DROP COLUMN country")
        elif case == "view":
            conn.execute("ALTER TABLE accounts RENAME TO accounts_v2")
            conn.execute("ALTER TABLE accounts_v2 RENAME COLUMN country TO region")
            conn.execute("CREATE VIEW accounts AS SELECT id, email, region AS country_code, amount FROM accounts_v2")
    conn.close()


def _drift_postgres(case: str, dsn: str, table: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if case == "renamed":
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN country TO region")
        elif case == "dropped":
            conn.execute(f"ALTER TABLE {table} DROP COLUMN country")
        elif case == "retyped":
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN amount TYPE TEXT USING amount::bigint || ''")
        elif case == "view":
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v2")
            conn.execute(f"ALTER TABLE {table}_v2 RENAME COLUMN country TO region")
            conn.execute(f"CREATE VIEW {table} AS SELECT id, email, region AS country_code, amount FROM {table}_v2")


CASES = [(k, c) for k in ("parquet", "csv", "ndjson") for c in FRAME_DRIFTS] + [
    (k, c) for k in ("sqlite", "postgres") for c in (*FRAME_DRIFTS, "view")
]
COLUMN_OF = {"renamed": "country", "dropped": "country", "retyped": "amount", "view": "country"}


@pytest.mark.attack
@pytest.mark.parametrize(("kind", "case"), CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_drifted_source_is_refused_never_read_unfiltered(kind, case, drift_mesh, postgres_server):
    manifest, table = drift_mesh
    mesh = meshlab.connect(str(manifest))
    assert mesh.role == "analyst"
    sql = QUERY.format(kind=kind)
    expected = fault_mesh.visible_to_analyst(fault_mesh.accounts()).select("id", "country", "amount")
    assert mesh.sql(sql).df.equals(expected)  # before: filtered (and the source's state is cached)
    if kind in ("parquet", "csv", "ndjson"):
        _drift_files(kind, manifest.parent, FRAME_DRIFTS[case][0])
    elif kind == "sqlite":
        _drift_sqlite(case, manifest.parent)
    else:
        _drift_postgres(case, postgres_server.dsn, table)
    with pytest.raises(MeshError) as caught:
        mesh.sql(sql)
    message = str(caught.value)
    assert f"dataset 'drift.accounts_{kind}' on server '{SERVERS[kind]}'" in message
    assert COLUMN_OF[case] in message
    if kind in ("csv", "ndjson") and case == "retyped":  # text files: a value fails to parse, and is named
        line = "row 1 (line 2): value '50 EUR' in column 'amount'" if kind == "csv" else "line 1: value '50 EUR'"
        assert f"accounts.{kind} {line}" in message and "is not a number" in message
    else:
        assert isinstance(caught.value, SchemaDriftError) and "schema drift" in message
    # Other datasets still answer.
    other = "sqlite" if kind != "sqlite" else "parquet"
    assert mesh.sql(f"SELECT count(*) AS n FROM drift.accounts_{other}").df["n"][0] == 13


@pytest.mark.attack
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_view_with_the_declared_columns_is_read_and_still_filtered(kind, drift_mesh, postgres_server):
    manifest, table = drift_mesh
    if kind == "sqlite":
        with sqlite3.connect(manifest.parent / "data" / "accounts.sqlite") as conn:
            conn.execute("ALTER TABLE accounts RENAME TO accounts_v2")
            conn.execute("CREATE VIEW accounts AS SELECT id, email, country, amount FROM accounts_v2")
        conn.close()
    else:
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            conn.execute(f"ALTER TABLE {table} RENAME TO {table}_v2")
            conn.execute(f"CREATE VIEW {table} AS SELECT id, email, country, amount FROM {table}_v2")
    mesh = meshlab.connect(str(manifest))
    frame = mesh.sql(QUERY.format(kind=kind)).df
    assert frame.equals(fault_mesh.visible_to_analyst(fault_mesh.accounts()).select("id", "country", "amount"))


@pytest.mark.attack
def test_sqlite_never_reads_an_unknown_column_as_a_string(drift_mesh):
    """The issue's case: the filtered column renamed; SQLite's DQS made ``"country" <> 'US'`` always true."""
    manifest, _ = drift_mesh
    with sqlite3.connect(manifest.parent / "data" / "accounts.sqlite") as conn:
        conn.execute("ALTER TABLE accounts RENAME COLUMN country TO region")
    conn.close()
    mesh = meshlab.connect(str(manifest))
    plan = mesh.explain("SELECT count(*) AS n FROM drift.accounts_sqlite")
    assert "`country` <> 'US'" in plan and '"country"' not in plan
    with pytest.raises(SchemaDriftError, match="column 'country' declared in .* is not in table accounts of"):
        mesh.sql("SELECT count(*) AS n FROM drift.accounts_sqlite")


@pytest.mark.attack
def test_row_filter_is_checked_again_after_the_database_applied_it(drift_mesh):
    """Where SQLite's reading of the filter differs from ours, ours decides.

    A 'US' stored as a BLOB is not equal to the text 'US' in SQLite, so the pushed
    ``country <> 'US'`` lets it through; read as text it is 'US', and the local
    check removes it.
    """
    manifest, _ = drift_mesh
    with sqlite3.connect(manifest.parent / "data" / "accounts.sqlite") as conn:
        conn.execute("INSERT INTO accounts VALUES (99, 'x@example.org', CAST('US' AS BLOB), 10.0)")
        assert conn.execute("SELECT count(*) FROM accounts WHERE id = 99 AND country <> 'US'").fetchone()[0] == 1
    conn.close()
    mesh = meshlab.connect(str(manifest))
    plan = mesh.explain("SELECT id, country FROM drift.accounts_sqlite")
    assert "`country` <> 'US'" in plan  # still pushed down: the database does the bulk of the filtering
    result = mesh.sql("SELECT id, country FROM drift.accounts_sqlite ORDER BY id").df
    assert 99 not in result["id"].to_list() and "US" not in result["country"].to_list()
    assert result.height == 13


def test_sqlite_columns_match_whatever_their_case_as_sqlite_does(drift_mesh):
    """Not drift: SQLite's identifiers are case-insensitive, so a column ``Country`` is ``country``."""
    manifest, _ = drift_mesh
    with sqlite3.connect(manifest.parent / "data" / "accounts.sqlite") as conn:
        conn.execute("ALTER TABLE accounts RENAME COLUMN country TO Country")
    conn.close()
    frame = meshlab.connect(str(manifest)).sql(QUERY.format(kind="sqlite")).df
    assert frame.equals(fault_mesh.visible_to_analyst(fault_mesh.accounts()).select("id", "country", "amount"))
