"""Faults mid-query: each one is a MeshError naming dataset, server and cause.

Real faults on the fault mesh (tests/faults/mesh.py): parquet files emptied, cut
short or rewritten under a loaded mesh, CSV rows that do not fit the contract,
a SQLite file locked by a writer in another process, a PostgreSQL backend
terminated mid-scan, an audit log that cannot be written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import polars as pl
import psycopg
import pytest
from faults import mesh as fault_mesh

import meshlab
from meshlab.errors import GovernanceError, MeshError, SourceError

PARQUET = "SELECT id, amount FROM drift.accounts_parquet ORDER BY id"


@pytest.fixture
def fault_root(tmp_path, postgres_server, monkeypatch):
    monkeypatch.setenv("MESHLAB_FAULTS_PGUSER", postgres_server.user)
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")  # the steward: no row filter hides a fault
    monkeypatch.delenv("MESHLAB_ROLE", raising=False)
    fault_mesh.build(tmp_path, postgres_server, pg_table="acc_faults")
    return tmp_path


@pytest.fixture
def mesh(fault_root):
    return meshlab.connect(str(fault_root / "mesh.yaml"))


def _partitioned(root) -> None:
    """``drift.accounts_parquet`` as two hive partitions instead of one file."""
    frame = fault_mesh.accounts()
    for half, rows in (("a", frame.head(20)), ("b", frame.tail(20))):
        (root / "data" / "parts" / f"half={half}").mkdir(parents=True)
        rows.write_parquet(root / "data" / "parts" / f"half={half}" / "part-0.parquet")
    contract = root / "domains" / "drift" / "parquet.odcs.yaml"
    contract.write_text(contract.read_text().replace("../../data/accounts.parquet", "../../data/parts/**/*.parquet"))


def test_a_zero_byte_partition_is_an_error_not_skipped_and_check_fails(fault_root):
    _partitioned(fault_root)
    empty = fault_root / "data" / "parts" / "half=b" / "part-1.parquet"
    empty.write_bytes(b"")
    mesh = meshlab.connect(str(fault_root / "mesh.yaml"))
    with pytest.raises(SourceError) as caught:
        mesh.sql(PARQUET)
    assert str(caught.value) == (
        f"dataset 'drift.accounts_parquet' on server 'lake': parquet file {empty} is empty (0 bytes)"
    )
    report = mesh.check("drift.accounts_parquet", store=False)
    assert report.exit_code == 1
    assert any(str(empty) in (r.message or "") for r in report.results)
    empty.unlink()
    assert mesh.sql(PARQUET).df.height == 40  # and back once the file is gone


def test_a_truncated_parquet_file_is_named(mesh, fault_root):
    assert mesh.sql(PARQUET).df.height == 40
    path = fault_root / "data" / "accounts.parquet"
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(SourceError, match=f"parquet file {path} is truncated or not parquet"):
        mesh.sql(PARQUET)


def test_a_parquet_file_rewritten_in_place_during_use_is_named(mesh, fault_root):
    """Same size, same modification time, damaged inside: the mesh's cached view of it is stale."""
    assert mesh.sql(PARQUET).df.height == 40
    path = fault_root / "data" / "accounts.parquet"
    data, info = path.read_bytes(), path.stat()
    path.write_bytes(data[:4] + bytes(len(data) - 12) + data[-8:])
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    with pytest.raises(SourceError) as caught:
        mesh.sql(PARQUET)
    assert f"dataset 'drift.accounts_parquet' on server 'lake': parquet file {path} cannot be read" in str(caught.value)
    fault_mesh.accounts().write_parquet(path)
    assert mesh.sql(PARQUET).df.height == 40  # repaired: read again


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("41,user41@example.org,SE,100.0,extra", "row 41 (line 42) has 5 fields; the header has 4"),
        ("41,user41@example.org,SE,lots", "row 41 (line 42): value 'lots' in column 'amount' is not a number"),
        ("4x1,user41@example.org,SE,1.0", "row 41 (line 42): value '4x1' in column 'id' is not an integer"),
    ],
    ids=["extra-field", "bad-number", "bad-integer"],
)
def test_a_malformed_csv_row_is_named_by_row_and_line(mesh, fault_root, line, problem):
    path = fault_root / "data" / "accounts.csv"
    with path.open("a") as handle:
        handle.write(line + "\n")
    with pytest.raises(SourceError) as caught:
        mesh.sql("SELECT * FROM drift.accounts_csv")
    assert str(caught.value) == f"dataset 'drift.accounts_csv' on server 'lake': {path} {problem}"


WRITER = """
import sqlite3, sys, time
writer = sqlite3.connect(sys.argv[1], isolation_level=None)
writer.execute("BEGIN EXCLUSIVE")
writer.execute("UPDATE accounts SET amount = amount + 1")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes stdin
writer.execute("ROLLBACK")
"""


def test_a_sqlite_file_locked_by_a_writer_is_named(mesh, fault_root):
    path = fault_root / "data" / "accounts.sqlite"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(SourceError) as caught:
            mesh.sql("SELECT count(*) AS n FROM drift.accounts_sqlite")
        assert str(caught.value) == (
            f"dataset 'drift.accounts_sqlite' on server 'accounts-db': {path} is locked by a writer "
            "(database is locked); run the query again later"
        )
    finally:
        writer.communicate("", timeout=60)
    assert mesh.sql("SELECT count(*) AS n FROM drift.accounts_sqlite").df["n"][0] == 40


def test_postgres_terminated_mid_scan_is_named(mesh, postgres_server):
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE acc_faults RENAME TO acc_faults_slow")
        conn.execute("CREATE VIEW acc_faults AS SELECT a.* FROM acc_faults_slow a, LATERAL (SELECT pg_sleep(0.1)) s")
    killed = threading.Event()

    def terminate_the_scan():
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            while not killed.is_set():
                row = conn.execute(
                    # the scan itself: the only statement sleeping in the view (not the column check before it)
                    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND wait_event = 'PgSleep' "
                    "AND query LIKE '%acc_faults%'"
                ).fetchone()
                if row is not None:
                    conn.execute("SELECT pg_terminate_backend(%s)", row)
                    killed.set()

    killer = threading.Thread(target=terminate_the_scan, daemon=True)
    killer.start()
    try:
        with pytest.raises(SourceError) as caught:
            mesh.sql("SELECT count(*) AS n FROM drift.accounts_postgres")
        assert killed.is_set()
    finally:
        killed.set()  # stops the killer whatever happened
    killer.join(timeout=60)
    message = str(caught.value)
    assert message.startswith("dataset 'drift.accounts_postgres' on server 'accounts-pg': ")
    assert "terminating connection due to administrator command" in message


def test_an_audit_log_that_cannot_be_written_fails_closed_also_for_failing_queries(fault_root):
    (fault_root / "audit").rename(fault_root / "audit-moved") if (fault_root / "audit").exists() else None
    (fault_root / "audit").write_text("a file where the log's folder should be")
    mesh = meshlab.connect(str(fault_root / "mesh.yaml"))
    for sql in ("SELECT count(*) AS n FROM drift.accounts_csv", "SELECT nope FROM drift.accounts_csv"):
        with pytest.raises(GovernanceError, match=r"audit log .*queries.jsonl cannot be written .* withheld"):
            mesh.sql(sql)


def test_faults_leave_the_mesh_usable(mesh, fault_root):
    """After a source failed, the others still answer and the failed one recovers."""
    path = fault_root / "data" / "accounts.parquet"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match="is empty"):
        mesh.sql(PARQUET)
    assert mesh.sql("SELECT count(*) AS n FROM drift.accounts_ndjson").df["n"][0] == 40
    pl.DataFrame(fault_mesh.accounts()).write_parquet(path)
    assert mesh.sql(PARQUET).df.height == 40


BAD_ROWS = "41,user41@example.org,SE,100.0,extra\n42,user42@example.org,SE,lots\n43,user43@example.org,DE,5.5\n"


def test_malformed_csv_rows_are_skipped_and_counted_when_the_contract_says_so(fault_root):
    contract = fault_root / "domains" / "drift" / "csv.odcs.yaml"
    text = contract.read_text().replace(
        "path: ../../data/accounts.csv",
        "path: ../../data/accounts.csv\n  customProperties:\n  - property: malformedRows\n    value: skip",
    )
    contract.write_text(text)
    path = fault_root / "data" / "accounts.csv"
    with path.open("a") as handle:
        handle.write(BAD_ROWS)
    mesh = meshlab.connect(str(fault_root / "mesh.yaml"))
    result = mesh.sql("SELECT count(*) AS n, sum(amount) AS total FROM drift.accounts_csv")
    assert result.df.row(0) == (41, sum(i * 50.0 for i in range(1, 41)) + 5.5)  # row 43 kept, 41 and 42 skipped
    notes = [s for scan in result.plan for s in scan.sent if "skipped" in s]
    assert notes == [
        # The file is named relative to the mesh's folder, as in every plan and report.
        "skipped 2 malformed row(s) (malformedRows: skip); first: data/accounts.csv row 41 (line 42) has 5 fields; "
        "the header has 4"
    ]


def test_the_mesh_default_for_malformed_rows_and_a_bad_value(fault_root):
    path = fault_root / "data" / "accounts.csv"
    with path.open("a") as handle:
        handle.write(BAD_ROWS)
    manifest = fault_root / "mesh.yaml"
    manifest.write_text(manifest.read_text() + "files:\n  malformed_rows: skip\n")
    assert meshlab.connect(str(manifest)).sql("SELECT count(*) AS n FROM drift.accounts_csv").df["n"][0] == 41
    manifest.write_text(manifest.read_text().replace("malformed_rows: skip", "malformed_rows: ignore"))
    with pytest.raises(SourceError, match="malformedRows must be fail or skip, not 'ignore'"):
        meshlab.connect(str(manifest)).sql("SELECT count(*) AS n FROM drift.accounts_csv")


def test_a_parquet_file_rewritten_while_queries_run_gives_results_or_mesh_errors(mesh, fault_root):
    """A writer keeps replacing the file (a cut-off copy, then the whole one, each moved into
    place as writers do) while queries read it: whatever a query meets — the old file, a
    partial one, the new one — it ends in rows or a MeshError, never a Polars panic or
    another exception.

    Truncating the very file Polars has memory-mapped is another matter: the kernel then
    stops the process with SIGBUS, which no library can turn into an error (docs/reliability.md,
    "Faults mid-query"); server mode runs queries in worker processes for that reason.
    """
    path = fault_root / "data" / "accounts.parquet"
    full = path.read_bytes()
    stop = threading.Event()

    def rewrite():
        spare = path.with_name(".accounts.parquet.new")
        while not stop.is_set():
            for content in (full[: len(full) // 3], full):
                spare.write_bytes(content)
                os.replace(spare, path)

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    outcomes = []
    try:
        for _ in range(150):
            try:
                outcomes.append(mesh.sql(PARQUET).df.height)
            except MeshError as exc:  # anything else fails the test
                outcomes.append(type(exc).__name__)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert all(o == 40 or o in ("SourceError", "SchemaDriftError", "ExecutionError") for o in outcomes), outcomes
    assert mesh.sql(PARQUET).df.height == 40  # the file whole again: read again
