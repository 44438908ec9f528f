"""PostgreSQL sources: failures name the dataset and server, and leave no connection open."""

from __future__ import annotations

import time

import psycopg
import pytest
import yaml
from support.contracts import contract as build_contract
from support.contracts import postgres_db, properties

import meshlab
from meshlab.errors import SourceError


def open_connections(server, database: str, expected: int | None = None) -> int:
    """Backends connected to ``database``. A backend leaves pg_stat_activity a moment after its
    client disconnects: with ``expected``, wait up to 5 s for the count to settle there."""
    deadline = time.monotonic() + (5 if expected is not None else 0)
    while True:
        with psycopg.connect(server.dsn) as con:
            count = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
            ).fetchone()[0]
        if expected is None or count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def contract(server, table: str, columns: list[tuple[str, str]], password_env: str | None = None) -> dict:
    location = postgres_db(
        server.host, server.port, "tpch", server="ops-db", user_env="MESHLAB_TEST_PGUSER", password_env=password_env
    )
    return build_contract("ops", table, properties(*columns), location, id=table)


def test_a_missing_table_is_a_source_error_and_no_connection_stays_open(tpch_mesh, postgres_server, tmp_path):
    path = tmp_path / "gone.odcs.yaml"
    path.write_text(yaml.safe_dump(contract(postgres_server, "gone", [("a", "integer")])))
    mesh = meshlab.connect(path)
    before = open_connections(postgres_server, "tpch")
    with pytest.raises(SourceError) as caught:
        mesh.sql("SELECT a FROM ops.gone")
    assert caught.value.dataset == "ops.gone" and caught.value.server == "ops-db"
    assert "gone" in caught.value.reason
    assert open_connections(postgres_server, "tpch", expected=before) == before


def test_a_failing_scan_among_several_closes_every_connection(tpch_mesh, postgres_server, tmp_path):
    mesh_dir = tmp_path / "m"
    (mesh_dir / "ops").mkdir(parents=True)
    (mesh_dir / "ops" / "orders.odcs.yaml").write_text(
        yaml.safe_dump(contract(postgres_server, "orders", [("o_orderkey", "integer"), ("o_custkey", "integer")]))
    )
    broken = contract(postgres_server, "orders", [("o_orderkey", "integer"), ("no_such_column", "integer")])
    broken["schema"][0]["name"] = "orders_broken"
    broken["schema"][0]["physicalName"] = "orders"
    (mesh_dir / "ops" / "broken.odcs.yaml").write_text(yaml.safe_dump(broken))
    (mesh_dir / "mesh.yaml").write_text("mesh: m\ndomains: {ops: ops}\n")
    mesh = meshlab.connect(mesh_dir / "mesh.yaml")
    before = open_connections(postgres_server, "tpch")
    with pytest.raises(SourceError, match="ops.orders_broken.*no_such_column"):
        mesh.sql("SELECT a.o_orderkey FROM ops.orders a JOIN ops.orders_broken b ON a.o_orderkey = b.no_such_column")
    # Left open: only the idle connections the mesh keeps for its next statements (the failed one is closed).
    idle = sum(pool.idle for pool in mesh.connections.pools())
    assert open_connections(postgres_server, "tpch", expected=before + idle) == before + idle
    assert mesh.sql("SELECT count(*) AS n FROM ops.orders").df["n"][0] > 0
    mesh.close()
    assert open_connections(postgres_server, "tpch", expected=before) == before
    assert mesh.sql("SELECT count(*) AS n FROM ops.orders").df["n"][0] > 0  # a closed mesh still answers
    assert open_connections(postgres_server, "tpch", expected=before) == before  # keeping nothing


def test_a_password_never_shows_in_an_error(tpch_mesh, postgres_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPS_PASSWORD", "s3cret-value")
    doc = contract(postgres_server, "orders", [("o_orderkey", "integer")], password_env="OPS_PASSWORD")
    doc["servers"][0]["database"] = "no_such_database"
    path = tmp_path / "pw.odcs.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SourceError) as caught:
        meshlab.connect(path).sql("SELECT o_orderkey FROM ops.orders")
    assert "no_such_database" in str(caught.value)
    assert "s3cret-value" not in str(caught.value) and "s3cret-value" not in meshlab.connect(path).explain(
        "SELECT o_orderkey FROM ops.orders"
    )
