"""TPC-H data for the benchmark: generated once per scale factor, cached under ``.benchdata/``.

``.benchdata/sf<SF>/``
    ``raw/``      one parquet file per table, as ``tpchgen-cli parquet`` writes them
    ``P/``        layout P: every table parquet, ``lineitem`` and ``orders`` hive-partitioned
                  by year (``l_year=YYYY/`` from l_shipdate, ``o_year=YYYY/`` from o_orderdate)
    ``F/``        layout F's files: ``supply.sqlite`` (part, partsupp, supplier), ``geo/*.csv``
                  (nation, region); ``lineitem`` is P's partitioned parquet
    ``pg/``       a PostgreSQL cluster holding database ``tpch`` with orders and customer

The meshes (contracts) are written at every run: layout F's name the port the
PostgreSQL server got this time. Both meshes use the same addresses (``sales.orders``,
``supply.part``, ...), so one SQL text runs on either.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import yaml

if TYPE_CHECKING:  # the memory workers must not import meshlab just for a type
    from support.postgres_server import PostgresServer

TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
DOMAINS = {
    "orders": "sales",
    "customer": "sales",
    "part": "supply",
    "partsupp": "supply",
    "supplier": "supply",
    "nation": "geo",
    "region": "geo",
    "lineitem": "shipping",
}
ADDRESS = {table: f"{domain}.{table}" for table, domain in DOMAINS.items()}
PRIMARY_KEYS = {
    "customer": ("c_custkey",),
    "lineitem": ("l_orderkey", "l_linenumber"),
    "nation": ("n_nationkey",),
    "orders": ("o_orderkey",),
    "part": ("p_partkey",),
    "partsupp": ("ps_partkey", "ps_suppkey"),
    "region": ("r_regionkey",),
    "supplier": ("s_suppkey",),
}
# Hive partitions of layout P: table -> (partition column, date column it is the year of).
PARTITIONS = {"lineitem": ("l_year", "l_shipdate"), "orders": ("o_year", "o_orderdate")}
POSTGRES_TABLES = ("orders", "customer")
SQLITE_TABLES = ("part", "partsupp", "supplier")
CSV_TABLES = ("nation", "region")
PG_DATABASE = "tpch"
DONE = ".complete"


def scale_dir(root: Path, scale: float) -> Path:
    return root / f"sf{scale:g}"


def _tool() -> str:
    return shutil.which("tpchgen-cli") or str(Path(sys.executable).with_name("tpchgen-cli"))


def generate_raw(folder: Path, scale: float) -> Path:
    """``raw/``: the generator's parquet files (decimal(15,2) money, date32 dates)."""
    raw = folder / "raw"
    if (raw / DONE).exists():
        return raw
    raw.mkdir(parents=True, exist_ok=True)
    command = [_tool(), "parquet", "-s", f"{scale:g}", "-o", str(raw), "--no-progress", "--overwrite"]
    subprocess.run(command, check=True, capture_output=True)
    (raw / DONE).touch()
    return raw


def write_layout_p(folder: Path, raw: Path) -> Path:
    """Layout P: small tables as single files (hard links), two big ones partitioned by year."""
    target = folder / "P"
    if (target / DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for table in TABLES:
        source = raw / f"{table}.parquet"
        if table not in PARTITIONS:
            (target / f"{table}.parquet").hardlink_to(source)
            continue
        key, date_column = PARTITIONS[table]
        years = pl.scan_parquet(source).select(pl.col(date_column).dt.year().unique()).collect().to_series()
        for year in sorted(years.to_list()):
            out = target / table / f"{key}={year}"
            out.mkdir(parents=True)
            # The key lives in the folder name only, as hive layouts do.
            pl.scan_parquet(source).filter(pl.col(date_column).dt.year() == year).sink_parquet(out / "part-0.parquet")
    (target / DONE).touch()
    return target


def write_layout_f_files(folder: Path, raw: Path) -> Path:
    """Layout F's SQLite file (part, partsupp, supplier) and CSV files (nation, region)."""
    target = folder / "F"
    if (target / DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    (target / "geo").mkdir(parents=True)
    for table in CSV_TABLES:
        pl.read_parquet(raw / f"{table}.parquet").write_csv(target / "geo" / f"{table}.csv")
    sql_types = {"integer": "INTEGER", "number": "REAL", "date": "TEXT", "string": "TEXT"}
    with closing(sqlite3.connect(target / "supply.sqlite")) as db, db:
        for table in SQLITE_TABLES:
            frame = pl.read_parquet(raw / f"{table}.parquet")
            columns = [f'"{n}" {sql_types[logical_type(t)[0]]}' for n, t in frame.schema.items()]
            columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[table])})")
            db.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
            rows = frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))
            marks = ", ".join("?" for _ in frame.columns)
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows.iter_rows())
        db.execute("ANALYZE")
    (target / DONE).touch()
    return target


def load_postgres(server: PostgresServer, raw: Path) -> None:
    """orders and customer in database ``tpch``, native types, loaded by COPY (once per cluster)."""
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone():
            with psycopg.connect(server.dsn_for(PG_DATABASE)) as tpch:
                done = tpch.execute("SELECT to_regclass('public.load_complete')").fetchone()[0]
            if done:
                return
            conn.execute(f"DROP DATABASE {PG_DATABASE}")
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        for table in POSTGRES_TABLES:
            frame = pl.scan_parquet(raw / f"{table}.parquet")
            schema = frame.collect_schema()
            columns = [f"{name} {_pg_type(dtype)} NOT NULL" for name, dtype in schema.items()]
            columns.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[table])})")
            conn.execute(f"CREATE TABLE public.{table} ({', '.join(columns)})")
            with conn.cursor() as cur, cur.copy(f"COPY public.{table} FROM STDIN (FORMAT csv)") as copy:
                for batch in frame.collect().iter_slices(500_000):
                    copy.write(batch.write_csv(include_header=False).encode())
            conn.execute(f"ANALYZE public.{table}")
        conn.execute("CREATE TABLE public.load_complete ()")


def _pg_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"NUMERIC({dtype.precision},{dtype.scale})"
    return {pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Date: "DATE", pl.String: "TEXT"}[dtype]


def logical_type(dtype: pl.DataType) -> tuple[str, str]:
    """(ODCS logicalType, physicalType) of a parquet column type."""
    if dtype == pl.Int64:
        return "integer", "BIGINT"
    if dtype == pl.Int32:
        return "integer", "INTEGER"
    if isinstance(dtype, pl.Decimal):
        return "number", f"DECIMAL({dtype.precision},{dtype.scale})"
    if dtype == pl.Date:
        return "date", "DATE"
    return "string", "VARCHAR"


def _contract(table: str, schema: dict[str, pl.DataType], server: dict) -> dict:
    keys = PRIMARY_KEYS[table]
    properties = []
    for name, dtype in schema.items():
        logical, physical = logical_type(dtype)
        column = {"name": name, "logicalType": logical, "physicalType": physical}
        if name in keys:
            column.update(required=True, primaryKey=True, primaryKeyPosition=keys.index(name) + 1)
        properties.append(column)
    if table in PARTITIONS and server.get("format") == "parquet":
        key = PARTITIONS[table][0]
        properties.append({"name": key, "logicalType": "integer", "physicalType": "INTEGER"})
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": f"tpch-{table}",
        "name": f"TPC-H {table}",
        "version": "1.0.0",
        "status": "active",
        "domain": DOMAINS[table],
        "servers": [server],
        "schema": [{"name": table, "physicalName": table, "properties": properties}],
    }


def _write_mesh(root: Path, contracts: dict[str, dict]) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    for table, contract in contracts.items():
        path = root / DOMAINS[table] / f"{table}.odcs.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(contract, sort_keys=False))
    domains = sorted(set(DOMAINS.values()))
    manifest = root / "mesh.yaml"
    manifest.write_text(yaml.safe_dump({"mesh": "tpch", "domains": {d: d for d in domains}}, sort_keys=False))
    return manifest


def raw_schema(raw: Path, table: str) -> dict[str, pl.DataType]:
    return dict(pl.read_parquet_schema(raw / f"{table}.parquet"))


def parquet_path(layout_p: Path, table: str) -> str:
    """The glob (partitioned) or file of ``table`` in layout P."""
    return str(layout_p / table / "**" / "*.parquet") if table in PARTITIONS else str(layout_p / f"{table}.parquet")


def write_mesh_p(folder: Path, raw: Path, layout_p: Path) -> Path:
    contracts = {}
    for table in TABLES:
        server = {"server": "lake", "type": "local", "format": "parquet", "path": parquet_path(layout_p, table)}
        contracts[table] = _contract(table, raw_schema(raw, table), server)
    return _write_mesh(folder / "mesh-P", contracts)


def write_mesh_f(folder: Path, raw: Path, layout_p: Path, files: Path, server: PostgresServer, user_env: str) -> Path:
    contracts = {}
    for table in TABLES:
        if table in POSTGRES_TABLES:
            location = {
                "server": "sales-db",
                "type": "postgres",
                "host": server.host,
                "port": server.port,
                "database": PG_DATABASE,
                "schema": "public",
                "customProperties": [{"property": "userEnv", "value": user_env}],
            }
        elif table in SQLITE_TABLES:
            location = {"server": "supply-db", "type": "sqlite", "path": str(files / "supply.sqlite")}
        elif table in CSV_TABLES:
            location = {
                "server": "geo-files",
                "type": "local",
                "format": "csv",
                "path": str(files / "geo" / f"{table}.csv"),
            }
            location["delimiter"] = ","
        else:
            location = {"server": "lake", "type": "local", "format": "parquet", "path": parquet_path(layout_p, table)}
        contracts[table] = _contract(table, raw_schema(raw, table), location)
    return _write_mesh(folder / "mesh-F", contracts)
