"""A mix of ordinary, failing and cancelled queries, and what the process holds after them.

Used by ``tests/test_leaks.py`` (asserts that connections, file handles and threads return
to their baseline and memory stays flat) and ``benchmarks/leaks.py`` (reports the curve).

The mesh (:func:`write_mix_mesh`) has, in a PostgreSQL database ``mix``: ``pg.items``
(10,000 rows), ``pg.slow`` (a view sleeping 300 s per scan) and ``pg.gone`` (a table that
does not exist); and ``files.numbers`` (a parquet file). Each round of :data:`ROUND` runs
a database query, a file query, a join of both, a query failing on the server, one failing
in the planner, and a query on the slow view cut short by a 0.2 s time limit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

import meshlab
from meshlab.errors import MeshError, QueryTimeoutError

PG_DATABASE = "mix"
#: one round of queries: (SQL, timeout, the error expected or None)
ROUND: tuple[tuple[str, float | None, type[BaseException] | None], ...] = (
    ("SELECT count(*) AS n, sum(v) AS s FROM pg.items WHERE v > 10", None, None),
    ("SELECT sum(x) AS s FROM files.numbers", None, None),
    ("SELECT count(*) AS n FROM pg.items i JOIN files.numbers f ON i.id = f.x", None, None),
    ("SELECT id FROM pg.gone", None, MeshError),
    ("SELECT no_such_column FROM pg.items", None, MeshError),
    ("SELECT id FROM pg.slow", 0.2, QueryTimeoutError),
)


def _contract(domain: str, name: str, server: dict, columns: tuple[tuple[str, str], ...]) -> dict:
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"{domain}-{name}",
        "version": "1.0.0",
        "status": "active",
        "domain": domain,
        "servers": [server],
        "schema": [
            {"name": name, "physicalName": name, "properties": [{"name": c, "logicalType": t} for c, t in columns]}
        ],
    }


def write_mix_mesh(root: Path, server) -> Path:
    """Create database ``mix`` on ``server`` (a :class:`~support.postgres_server.PostgresServer`)
    and the mesh in ``root``; returns the path of its mesh.yaml. Needs ``PGUSER`` = ``server.user``."""
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute("CREATE TABLE items AS SELECT g AS id, g * 3 AS v FROM generate_series(1, 10000) AS g")
        conn.execute("CREATE VIEW slow AS SELECT id FROM items, LATERAL (SELECT pg_sleep(300)) AS s LIMIT 5")
    pg = {"server": "mix-db", "type": "postgres", "host": server.host, "port": server.port, "database": PG_DATABASE}
    for name in ("items", "slow", "gone"):
        contract = _contract("pg", name, {**pg, "schema": "public"}, (("id", "integer"), ("v", "integer")))
        _write(root / "domains" / "pg" / f"{name}.odcs.yaml", contract)
    (root / "data").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"x": list(range(1, 1001))}).write_parquet(root / "data" / "numbers.parquet")
    files = {"server": "lake", "type": "local", "format": "parquet", "path": "../../data/numbers.parquet"}
    _write(root / "domains" / "files" / "numbers.odcs.yaml", _contract("files", "numbers", files, (("x", "integer"),)))
    mesh = root / "mesh.yaml"
    _write(mesh, {"mesh": "mix", "domains": {"pg": "domains/pg", "files": "domains/files"}})
    return mesh


def _write(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@dataclass(frozen=True)
class Held:
    """What the process holds at one moment."""

    queries: int
    connections: int  # other backends connected to database ``mix``
    files: int  # open file descriptors
    threads: int
    rss_mib: float


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def held(server, queries: int) -> Held:
    import psycopg

    with psycopg.connect(server.dsn_for("postgres"), autocommit=True) as conn:
        connections = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (PG_DATABASE,)
        ).fetchone()[0]
    # psycopg's own connection is closed again here, so it does not count
    return Held(queries, connections, len(os.listdir("/proc/self/fd")), threading.active_count(), rss_mib())


def run_mix(mesh: meshlab.Mesh, queries: int, every: int, measure: Callable[[int], Held]) -> list[Held]:
    """Run ``queries`` queries of :data:`ROUND` in turn; ``measure(n)`` every ``every`` queries."""
    curve = []
    for n in range(queries):
        sql, timeout, expected = ROUND[n % len(ROUND)]
        try:
            mesh.sql(sql, timeout=timeout)
        except MeshError as exc:
            if expected is None or not isinstance(exc, expected):
                raise
        else:
            if expected is not None:
                raise AssertionError(f"{sql!r} should have failed with {expected.__name__}")
        if (n + 1) % every == 0:
            curve.append(measure(n + 1))
    return curve
