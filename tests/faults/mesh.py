"""A governed mesh with one ``accounts`` dataset per source kind, and ways to drift each.

Datasets ``drift.accounts_parquet``, ``_csv``, ``_ndjson``, ``_sqlite`` and (with a
PostgreSQL server) ``_postgres``: 40 rows of (id, email, country, amount). The analyst
sees rows with ``country <> 'US' AND amount < 900`` and ``email`` hashed; the steward
sees everything.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import psycopg
from support.contracts import contract, properties, write_yaml

KINDS = ("parquet", "csv", "ndjson", "sqlite", "postgres")
COLUMNS = (("id", "integer", None), ("email", "string", "pii"), ("country", "string", None), ("amount", "number", None))
ROW_FILTER = "country <> 'US' AND amount < 900"
POLICY = {
    "users": {"alice": ["steward"], "bob": ["analyst"]},
    "roles": {
        "analyst": {"read": ["drift.*"], "row_filters": {f"drift.accounts_{k}": ROW_FILTER for k in KINDS}},
        "steward": {"read": ["*"], "unmask": ["pii"]},
    },
    "masks": {"pii": "hash"},
}


def accounts() -> pl.DataFrame:
    """The rows every source holds."""
    countries = ["SE", "DE", "US", "FR"]
    return pl.DataFrame(
        {
            "id": list(range(1, 41)),
            "email": [f"user{i}@example.org" for i in range(1, 41)],
            "country": [countries[i % 4] for i in range(40)],
            "amount": [float(i * 50) for i in range(1, 41)],
        }
    )


def visible_to_analyst(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter((pl.col("country") != "US") & (pl.col("amount") < 900))


def _contract(kind: str, server: dict, table: str = "accounts") -> dict:
    return contract(
        "drift", f"accounts_{kind}", properties(*COLUMNS), server, id=f"accounts-{kind}", physical_name=table
    )


def write_files(data: Path, frame: pl.DataFrame) -> None:
    frame.write_parquet(data / "accounts.parquet")
    frame.write_csv(data / "accounts.csv")
    frame.write_ndjson(data / "accounts.ndjson")


def write_sqlite(path: Path, frame: pl.DataFrame, types: dict[str, str] | None = None) -> None:
    types = {"id": "INTEGER", "email": "TEXT", "country": "TEXT", "amount": "REAL", **(types or {})}
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE IF EXISTS accounts")
        conn.execute(f"CREATE TABLE accounts ({', '.join(f'{c} {types[c]}' for c in frame.columns)})")
        conn.executemany(f"INSERT INTO accounts VALUES ({', '.join('?' * frame.width)})", frame.rows())
    conn.close()


def write_postgres(dsn: str, table: str, frame: pl.DataFrame) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name in (table, f"{table}_v2", f"{table}_slow"):  # what an earlier run left (tests rename and wrap)
            kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", (name,)).fetchone()
            if kind is not None:
                conn.execute(f"DROP {'VIEW' if kind[0] == 'v' else 'TABLE'} {name} CASCADE")
        conn.execute(f"CREATE TABLE {table} (id BIGINT, email TEXT, country TEXT, amount DOUBLE PRECISION)")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)", frame.rows())


def build(root: Path, postgres=None, pg_table: str = "accounts", audit: bool = True) -> Path:
    """Write the mesh under ``root``; returns its mesh.yaml. ``postgres``: a test PostgreSQL server."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    frame = accounts()
    write_files(data, frame)
    write_sqlite(data / "accounts.sqlite", frame)
    domain = root / "domains" / "drift"
    lake = {"server": "lake", "type": "local"}
    write_yaml(
        domain / "parquet.odcs.yaml",
        _contract("parquet", {**lake, "format": "parquet", "path": "../../data/accounts.parquet"}),
    )
    write_yaml(domain / "csv.odcs.yaml", _contract("csv", {**lake, "format": "csv", "path": "../../data/accounts.csv"}))
    write_yaml(
        domain / "ndjson.odcs.yaml",
        _contract("ndjson", {**lake, "format": "json", "path": "../../data/accounts.ndjson"}),
    )
    write_yaml(
        domain / "sqlite.odcs.yaml",
        _contract("sqlite", {"server": "accounts-db", "type": "sqlite", "path": "../../data/accounts.sqlite"}),
    )
    if postgres is not None:
        write_postgres(postgres.dsn, pg_table, frame)
        server = {
            "server": "accounts-pg",
            "type": "postgres",
            "host": postgres.host,
            "port": postgres.port,
            "database": "postgres",
            "schema": "public",
            "customProperties": [{"property": "userEnv", "value": "MESHLAB_FAULTS_PGUSER"}],
        }
        write_yaml(domain / "postgres.odcs.yaml", _contract("postgres", server, pg_table))
    write_yaml(root / "policies.yaml", POLICY)
    manifest = {"mesh": "faults", "domains": {"drift": "domains/drift"}, "policies": "policies.yaml"}
    if audit:
        manifest["audit"] = {"log": "audit/queries.jsonl"}
    write_yaml(root / "mesh.yaml", manifest)
    return root / "mesh.yaml"
