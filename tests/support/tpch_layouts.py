"""A family of TPC-H layouts: each table placed at random in one of the source kinds.

A *layout* maps every TPC-H table to a *placement*: ``parquet`` (one file), ``hive:<column>``
(parquet partitioned by that column, the key in the folder names only), ``csv``, ``ndjson``,
``sqlite`` (one SQLite file holding the layout's SQLite tables) or ``postgres`` (one
database). :func:`random_layout` draws one from a seed; :data:`EXTREMES` are the two ends
(everything in one database; everything in files). Tables in a database get physical names
other than their logical ones (``t_lineitem``), so nothing can lean on a name.

Each placement of each table is written once per scale factor under ``store/`` and shared by
every layout that uses it (:func:`materialize`); :func:`write_layout_mesh` writes the
contracts of one layout over that store. ``benchmarks/layouts.py`` measures the family; the
tests run a few layouts at the tests' scale and compare the answers with DuckDB's.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from support.tpch import (
    DONE,
    PARTITIONS,
    TABLES,
    _write_contracts,
    partition_property,
    raw_schema,
    table_contract,
    write_sqlite,
)

if TYPE_CHECKING:
    from support.postgres_server import PostgresServer

KINDS = ("parquet", "hive", "csv", "ndjson", "sqlite", "postgres")
#: columns a table may be partitioned by (``l_year``/``o_year``: the year of a date column)
HIVE_COLUMNS = {
    "lineitem": ("l_year", "l_returnflag", "l_shipmode"),
    "orders": ("o_year", "o_orderstatus", "o_orderpriority"),
    "customer": ("c_mktsegment",),
    "part": ("p_mfgr",),
    "supplier": ("s_nationkey",),
    "nation": ("n_regionkey",),
    "partsupp": (),
    "region": (),
}
LAYOUT_DATABASE = "tpch_layouts"
SQLITE_FILE = "tables.sqlite"
EXTREMES = {
    "all-postgres": {t: "postgres" for t in TABLES},
    "all-parquet": {t: ("hive:" + PARTITIONS[t][0]) if t in PARTITIONS else "parquet" for t in TABLES},
}


def physical_name(table: str) -> str:
    """The name a database stores ``table`` under."""
    return f"t_{table}"


def random_layout(seed: int) -> dict[str, str]:
    """Each table's placement, drawn from ``seed`` (the same seed gives the same layout)."""
    rng = random.Random(seed)
    layout = {}
    for table in TABLES:
        kind = rng.choice(KINDS)
        if kind == "hive":
            kind = f"hive:{rng.choice(HIVE_COLUMNS[table])}" if HIVE_COLUMNS[table] else "parquet"
        layout[table] = kind
    return layout


def layouts(seeds: list[int]) -> dict[str, dict[str, str]]:
    """The family: one random layout per seed (``seed-N``), then the two extremes."""
    found = {f"seed-{s}": random_layout(s) for s in seeds}
    found.update(EXTREMES)
    return found


def describe(layout: dict[str, str]) -> str:
    return ", ".join(f"{t} {layout[t]}" for t in TABLES)


# -- writing the placements ----------------------------------------------------------------------
def _text_ready(raw: Path, table: str) -> pl.LazyFrame:
    """Rows as text formats hold them: decimals as floats (what a CSV or JSON writer emits)."""
    return pl.scan_parquet(raw / f"{table}.parquet").with_columns(pl.col(pl.Decimal).cast(pl.Float64))


def write_partitioned(raw: Path, target: Path, table: str, column: str) -> None:
    """``table`` under ``target/<column>=<value>/part-0.parquet``, ``column`` in the folder names only."""
    frame = pl.scan_parquet(raw / f"{table}.parquet")
    if table in PARTITIONS and PARTITIONS[table][0] == column:
        frame = frame.with_columns(pl.col(PARTITIONS[table][1]).dt.year().alias(column))
    values = frame.select(pl.col(column).unique()).collect().to_series().sort().to_list()
    for value in values:
        out = target / f"{column}={value}"
        out.mkdir(parents=True)
        frame.filter(pl.col(column) == value).drop(column).sink_parquet(out / "part-0.parquet")


def _file_placement(store: Path, raw: Path, table: str, kind: str) -> Path:
    target = store / table / kind.replace(":", "-")
    if (target / DONE).exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if kind == "parquet":
        (target / f"{table}.parquet").hardlink_to(raw / f"{table}.parquet")
    elif kind == "csv":
        _text_ready(raw, table).sink_csv(target / f"{table}.csv")
    elif kind == "ndjson":
        _text_ready(raw, table).sink_ndjson(target / f"{table}.ndjson")
    else:
        write_partitioned(raw, target / table, table, kind.partition(":")[2])
    (target / DONE).touch()
    return target


def _sqlite_placement(store: Path, raw: Path) -> Path:
    path = store / SQLITE_FILE
    if (store / f"{SQLITE_FILE}{DONE}").exists():
        return path
    path.unlink(missing_ok=True)
    write_sqlite(path, raw, TABLES)
    with closing(sqlite3.connect(path)) as db, db:
        for table in TABLES:
            db.execute(f"ALTER TABLE {table} RENAME TO {physical_name(table)}")
        db.execute("ANALYZE")
    (store / f"{SQLITE_FILE}{DONE}").touch()
    return path


def load_postgres_tables(server: PostgresServer, raw: Path, database: str = LAYOUT_DATABASE) -> None:
    """Every table in ``database`` under its physical name, keyed and ANALYZEd (once per cluster)."""
    import psycopg

    from support.tpch import load_postgres

    load_postgres(server, raw, TABLES, database=database)
    with psycopg.connect(server.dsn_for(database), autocommit=True) as conn:
        for table in TABLES:
            if conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()[0]:
                conn.execute(f"ALTER TABLE public.{table} RENAME TO {physical_name(table)}")


def materialize(store: Path, raw: Path, layout: dict[str, str], server: PostgresServer | None) -> None:
    """Write every placement ``layout`` uses that is not written yet."""
    for table, kind in layout.items():
        if kind == "sqlite":
            _sqlite_placement(store, raw)
        elif kind == "postgres":
            if server is None:
                raise ValueError(f"layout places {table} in PostgreSQL but no server was given")
            load_postgres_tables(server, raw)
        else:
            _file_placement(store, raw, table, kind)


# -- contracts -----------------------------------------------------------------------------------
def _server(store: Path, table: str, kind: str, server: PostgresServer | None, user_env: str) -> dict:
    from support.contracts import local_files, postgres_db, sqlite_db

    folder = store / table / kind.replace(":", "-")
    if kind == "postgres":
        assert server is not None
        return postgres_db(server.host, server.port, LAYOUT_DATABASE, server="warehouse", user_env=user_env)
    if kind == "sqlite":
        return sqlite_db(str(store / SQLITE_FILE), server="operational")
    if kind == "parquet":
        return local_files(str(folder / f"{table}.parquet"), server=f"{table}-files")
    if kind == "csv":
        return local_files(str(folder / f"{table}.csv"), "csv", server=f"{table}-files", delimiter=",")
    if kind == "ndjson":
        return local_files(str(folder / f"{table}.ndjson"), "json", server=f"{table}-files")
    return local_files(str(folder / table / "**" / "*.parquet"), server=f"{table}-files")


def write_layout_mesh(
    root: Path, store: Path, raw: Path, layout: dict[str, str], server: PostgresServer | None, user_env: str
) -> Path:
    """The contracts of ``layout`` in ``root`` (rewritten each time: they name the server's port)."""
    shutil.rmtree(root, ignore_errors=True)
    contracts = {}
    for table, kind in layout.items():
        extra = []
        if kind.startswith("hive:") and table in PARTITIONS and kind.endswith(PARTITIONS[table][0]):
            extra = [partition_property(table)]
        document = table_contract(table, raw_schema(raw, table), _server(store, table, kind, server, user_env), extra)
        if kind in ("sqlite", "postgres"):
            document["schema"][0]["physicalName"] = physical_name(table)
        contracts[table] = document
    domains = sorted({c["domain"] for c in contracts.values()})
    return _write_contracts(root, contracts, {d: d for d in domains})
