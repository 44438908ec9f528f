"""Peers for fault tests: meshes written on the fly, a PostgreSQL view that sleeps, state waits.

``slow_mesh`` (a fixture: import it into a test module) is a mesh whose ``sales.slow`` is a
PostgreSQL view sleeping 300 s per scan, next to ``good.numbers`` (a CSV of 3 rows).
:func:`running_slow` lists the backends running a statement over that view, so tests can
wait for the statement to start and, after a cancel, for it to be gone.
"""

from __future__ import annotations

import time

import psycopg
import pytest
import yaml
from support.contracts import contract, properties, write_yaml

import meshlab

BOUND = 20.0  # seconds a 1-2 s limit may take to fail here, at most


def write_contract(folder, domain: str, name: str, server: dict, columns=(("id", "integer"),)) -> None:
    write_yaml(folder / f"{name}.odcs.yaml", contract(domain, name, properties(*columns), server, physical_name=name))


def local_domain(root) -> None:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "numbers.csv").write_text("id\n1\n2\n3\n")
    server = {"server": "lake", "type": "local", "format": "csv", "path": "../../data/numbers.csv"}
    write_contract(root / "domains" / "good", "good", "numbers", server)


def write_mesh(root, domains: dict, **settings) -> str:
    path = root / "mesh.yaml"
    path.write_text(yaml.safe_dump({"mesh": "faults", "domains": domains, **settings}, sort_keys=False))
    return str(path)


def postgres_domain(root, postgres_server, host: str, port: int, table: str = "orders") -> None:
    server = {
        "server": "orders-db",
        "type": "postgres",
        "host": host,
        "port": port,
        "database": "tpch",
        "schema": "public",
        "customProperties": [{"property": "userEnv", "value": "MESHLAB_TEST_PGUSER"}],
    }
    write_contract(root / "domains" / "sales", "sales", table, server, (("o_orderkey", "integer"),))


@pytest.fixture(name="slow_mesh")
def slow_mesh_fixture(tpch_mesh, tmp_path):
    """A mesh whose ``sales.slow`` is a PostgreSQL view that sleeps 300 s per scan."""
    with psycopg.connect(tpch_mesh.postgres.dsn_for("tpch"), autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE VIEW slow AS SELECT o_orderkey FROM orders, LATERAL (SELECT pg_sleep(300)) AS s LIMIT 5"
        )
    postgres_domain(tmp_path, tpch_mesh.postgres, tpch_mesh.postgres.host, tpch_mesh.postgres.port, "slow")
    local_domain(tmp_path)
    mesh = meshlab.connect(write_mesh(tmp_path, {"sales": "domains/sales", "good": "domains/good"}))
    yield mesh
    wait_until_gone(tpch_mesh.postgres)


def running_slow(server) -> list[tuple]:
    """Backends of other sessions running a statement over the slow view."""
    with psycopg.connect(server.dsn_for("tpch"), autocommit=True) as conn:
        return conn.execute(
            'SELECT pid, state FROM pg_stat_activity WHERE query LIKE \'%FROM "public"."slow"%\' '
            "AND pid <> pg_backend_pid() AND state <> 'idle'"
        ).fetchall()


def wait_until(condition, what: str, limit: float = 60.0):
    """Poll ``condition`` until it holds (a state, not a time, is waited for; ``limit`` only stops a hang)."""
    ends = time.monotonic() + limit
    while time.monotonic() < ends:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not reached within {limit} s")


def wait_until_gone(server) -> None:
    wait_until(lambda: not running_slow(server), "the slow statement ends on the server")
