"""The SQL logic cases' tables (``tables.yaml``): as frames, in DuckDB, and in each layout.

Every table lives in the domain ``t`` (mesh address ``t.<table>``). The same rows are
placed in every layout so one SQL text runs on all of them:

``parquet``
    one parquet file per table.
``sqlite``
    every table in one SQLite file (dates and timestamps as ISO-8601 text, decimals as
    REAL, booleans as 0/1 -- meshlab's own storage rules, :func:`meshlab.catalog.types.ddl_type`).
``postgres``
    every table in one PostgreSQL database with native types (decimals as NUMERIC), the
    database's collation linguistic (ICU ``en-US``), as production databases' usually are.

The oracle is DuckDB over the same frames, each table created as ``t.<table>`` so the
case SQL needs no rewriting.
"""

from __future__ import annotations

import functools
import sqlite3
from contextlib import closing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl
import yaml

if TYPE_CHECKING:
    from support.postgres_server import PostgresServer

HERE = Path(__file__).resolve().parent
TABLES_FILE = HERE / "tables.yaml"
DOMAIN = "t"
PG_DATABASE = "sql_logic"
#: the database's locale: linguistic (ICU, en-US) as most production databases are
#: (en_US.UTF-8), not the test cluster's C -- so 'apple' < 'Zebra' and upper('é') = 'É' there
PG_LOCALE = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"

_SIMPLE_TYPES: dict[str, pl.DataType] = {
    "integer": pl.Int64(),
    "double": pl.Float64(),
    "string": pl.String(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "boolean": pl.Boolean(),
}


def dtype_of(name: str) -> pl.DataType:
    """The Polars type of a ``tables.yaml`` column type (``decimal(p,s)`` included)."""
    text = name.strip().lower()
    if text.startswith("decimal(") and text.endswith(")"):
        precision, scale = (int(p) for p in text[len("decimal(") : -1].split(","))
        return pl.Decimal(precision, scale)
    if text not in _SIMPLE_TYPES:
        raise ValueError(f"tables.yaml: unknown column type {name!r}")
    return _SIMPLE_TYPES[text]


def _value(raw: Any, dtype: pl.DataType) -> Any:
    if raw is None:
        return None
    if isinstance(dtype, pl.Decimal):
        return Decimal(str(raw))
    if dtype == pl.Date():
        return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    if isinstance(dtype, pl.Datetime):
        return raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    if dtype == pl.Float64():
        return float(raw)
    return raw


@functools.cache
def load_tables(path: Path = TABLES_FILE) -> dict[str, pl.DataFrame]:
    """Each table of ``tables.yaml`` as a frame of its declared types."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    frames = {}
    for table, body in spec.items():
        schema = {name: dtype_of(kind) for name, kind in body["columns"].items()}
        rows = []
        for row in body["rows"]:
            if len(row) != len(schema):
                raise ValueError(f"tables.yaml: {table} row {row} has {len(row)} values, {len(schema)} columns")
            rows.append([_value(v, t) for v, t in zip(row, schema.values())])
        frames[table] = pl.DataFrame(rows, schema=schema, orient="row")
    return frames


# -- the oracle -------------------------------------------------------------------------------
def oracle() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding every table as ``t.<table>``; one thread, so that rows
    tied on the ORDER BY keys come in the same order at every run."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"CREATE SCHEMA {DOMAIN}")
    for table, frame in load_tables().items():
        con.register("incoming", frame.to_arrow())
        con.execute(f"CREATE TABLE {DOMAIN}.{table} AS SELECT * FROM incoming")
        con.unregister("incoming")
    return con


# -- layouts ----------------------------------------------------------------------------------
def _contract(table: str, frame: pl.DataFrame, server: dict) -> dict:
    from support.contracts import columns_of, contract

    return contract(
        DOMAIN,
        table,
        columns_of(frame),
        server,
        id=f"sql-logic-{table}",
        physical_name=table,
        description=f"SQL logic fixture table {table} (tests/sql_logic/tables.yaml).",
    )


def _write_mesh(root: Path, servers: dict[str, dict]) -> Path:
    from support.contracts import write_mesh, write_yaml

    for table, frame in load_tables().items():
        write_yaml(root / "domains" / DOMAIN / f"{table}.odcs.yaml", _contract(table, frame, servers[table]))
    return write_mesh(root, "sql-logic", [DOMAIN])


def parquet_mesh(root: Path) -> Path:
    """Layout ``parquet``: one parquet file per table; returns the mesh.yaml."""
    from support.contracts import local_files

    data = root / "data"
    data.mkdir(parents=True)
    servers = {}
    for table, frame in load_tables().items():
        frame.write_parquet(data / f"{table}.parquet")
        servers[table] = local_files(f"../../data/{table}.parquet")
    return _write_mesh(root, servers)


def sqlite_mesh(root: Path) -> Path:
    """Layout ``sqlite``: every table in one SQLite file; returns the mesh.yaml."""
    from support.contracts import sqlite_db

    from meshlab.catalog.types import ddl_type

    data = root / "data"
    data.mkdir(parents=True)
    with closing(sqlite3.connect(data / "logic.sqlite")) as db, db:
        for table, frame in load_tables().items():
            columns = ", ".join(f'"{name}" {ddl_type(dtype, "sqlite")}' for name, dtype in frame.schema.items())
            db.execute(f'CREATE TABLE "{table}" ({columns})')
            rows = frame.with_columns(
                pl.col(pl.Decimal).cast(pl.Float64),
                pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
                pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S"),
                pl.col(pl.Boolean).cast(pl.Int64),
            )
            marks = ", ".join("?" for _ in frame.columns)
            db.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows.iter_rows())
    servers = {t: sqlite_db("../../data/logic.sqlite", server="logic-db") for t in load_tables()}
    return _write_mesh(root, servers)


def postgres_mesh(root: Path, server: PostgresServer, user_env: str) -> Path:
    """Layout ``postgres``: every table in database ``sql_logic`` with native types; the
    login comes from the environment variable ``user_env``. Returns the mesh.yaml."""
    import psycopg
    from support.contracts import postgres_db

    from meshlab.catalog.types import ddl_type

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
        conn.execute(f"CREATE DATABASE {PG_DATABASE} {PG_LOCALE}")
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        for table, frame in load_tables().items():
            columns = ", ".join(f'"{name}" {ddl_type(dtype, "postgres")}' for name, dtype in frame.schema.items())
            conn.execute(f'CREATE TABLE public."{table}" ({columns})')
            marks = ", ".join("%s" for _ in frame.columns)
            with conn.cursor() as cur:
                cur.executemany(f'INSERT INTO public."{table}" VALUES ({marks})', list(frame.iter_rows()))
            conn.execute(f'ANALYZE public."{table}"')
    location = postgres_db(server.host, server.port, PG_DATABASE, server="logic-pg", user_env=user_env)
    return _write_mesh(root, {t: location for t in load_tables()})
