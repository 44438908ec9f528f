"""The systems the benchmark compares, each answering TPC-H query N as a Polars DataFrame.

meshlab-P / meshlab-F   ``mesh.sql`` on layout P / layout F (addresses ``domain.table``)
polars-P                hand-written Polars: ``pl.SQLContext`` over ``scan_parquet`` of layout P
duckdb-P                DuckDB over layout P's parquet (views, hive partitions)
naive-F                 the notebook approach on layout F: every table the query names is read
                        whole from its source (``pl.read_database_uri`` for the databases,
                        ``read_csv`` / ``read_parquet`` for files), then Polars SQL joins them
"""

from __future__ import annotations

import os
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-H builder is support.tpch
import polars as pl
from support import tpch
from support.tpch import ADDRESS, PARTITIONS, PG_DATABASE, TABLES, parquet_path
from support.tpch import LAYOUT_F_CSV_TABLES as CSV_TABLES
from support.tpch import LAYOUT_F_POSTGRES_TABLES as POSTGRES_TABLES
from support.tpch import LAYOUT_F_SQLITE_TABLES as SQLITE_TABLES


def read_query(number: int) -> str:
    """The plain TPC-H text of query ``number`` (where :data:`support.tpch.QUERY_DIRS` say)."""
    text = tpch.query_text(f"q{number:02d}")
    if text is None:
        raise FileNotFoundError(f"q{number:02d}.sql in none of {[str(d) for d in tpch.QUERY_DIRS]}")
    return text


def tables_of(sql: str) -> list[str]:
    """TPC-H tables a query names (CTE names excluded)."""
    import sqlglot  # imported on use: the memory workers of DuckDB and Polars do without it
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return sorted({t.name.lower() for t in tree.find_all(exp.Table) if t.name.lower() in TABLES} - ctes)


def to_mesh_sql(sql: str) -> str:
    """The query with each TPC-H table named by its mesh address; the rest of the text untouched."""
    return tpch.to_mesh_sql(sql, ADDRESS, "duckdb")


class Meshlab:
    def __init__(self, name: str, mesh_path: Path):
        import meshlab  # here: a worker measuring another system's memory does not load it

        self.name = name
        self.mesh = meshlab.connect(mesh_path)
        self.sql = {n: to_mesh_sql(read_query(n)) for n in range(1, 23)}
        self.last = None

    def run(self, number: int) -> pl.DataFrame:
        self.last = self.mesh.sql(self.sql[number])
        return self.last.df

    def plan(self, number: int):
        return self.mesh.plan(self.sql[number])

    @staticmethod
    def plain(number: int) -> str:
        return read_query(number)

    def close(self) -> None:
        self.mesh.close()


def _scan(layout_p: Path, table: str) -> pl.LazyFrame:
    return pl.scan_parquet(parquet_path(layout_p, table), hive_partitioning=table in PARTITIONS)


class HandPolars:
    def __init__(self, layout_p: Path):
        self.name = "polars-P"
        self.context = pl.SQLContext({t: _scan(layout_p, t) for t in TABLES})
        self.sql = {n: read_query(n) for n in range(1, 23)}

    def run(self, number: int) -> pl.DataFrame:
        return self.context.execute(self.sql[number]).collect()


class DuckDb:
    def __init__(self, layout_p: Path):
        import duckdb

        self.name = "duckdb-P"
        self.con = duckdb.connect()
        for table in TABLES:
            path = parquet_path(layout_p, table)
            hive = "true" if table in PARTITIONS else "false"
            self.con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}', hive_partitioning={hive})")
        self.sql = {n: read_query(n) for n in range(1, 23)}

    def run(self, number: int) -> pl.DataFrame:
        return self.con.sql(self.sql[number]).pl()


class Naive:
    """What a notebook user writes without a federation engine: load, then join."""

    def __init__(self, layout_p: Path, files: Path, pg_uri: str):
        self.name = "naive-F"
        self.layout_p, self.files, self.pg_uri = layout_p, files, pg_uri
        self.sql = {n: read_query(n) for n in range(1, 23)}
        self.pulled: dict[str, tuple[int, int]] = {}  # table -> (rows, bytes) of the last load

    def load(self, table: str) -> pl.DataFrame:
        if table in POSTGRES_TABLES:
            return pl.read_database_uri(f"SELECT * FROM {table}", self.pg_uri)
        if table in SQLITE_TABLES:
            return pl.read_database_uri(f"SELECT * FROM {table}", f"sqlite://{self.files / 'supply.sqlite'}")
        if table in CSV_TABLES:
            return pl.read_csv(self.files / "geo" / f"{table}.csv")
        return pl.read_parquet(parquet_path(self.layout_p, table), hive_partitioning=table in PARTITIONS)

    def run(self, number: int) -> pl.DataFrame:
        frames = {table: self.load(table) for table in tables_of(self.sql[number])}
        self.pulled = {t: (f.height, f.estimated_size()) for t, f in frames.items()}
        return pl.SQLContext(frames).execute(self.sql[number]).collect()


def pg_uri(host: str, port: int, user: str) -> str:
    return f"postgresql://{user}@{host}:{port}/{PG_DATABASE}"


def make_system(name: str, paths: dict[str, Path], pg: str | None):
    """The system called ``name``; ``paths`` holds layout_p, files, mesh_p, mesh_f."""
    if name == "meshlab-P":
        return Meshlab(name, paths["mesh_p"])
    if name == "meshlab-F":
        return Meshlab(name, paths["mesh_f"])
    if name == "polars-P":
        return HandPolars(paths["layout_p"])
    if name == "duckdb-P":
        return DuckDb(paths["layout_p"])
    if name == "naive-F":
        return Naive(paths["layout_p"], paths["files"], pg or os.environ["BENCH_PG_URI"])
    raise ValueError(f"unknown system {name}")


def _normalised(frame: pl.DataFrame) -> pl.DataFrame:
    columns = []
    for i, series in enumerate(frame.get_columns()):
        if series.dtype.is_numeric():
            series = series.cast(pl.Float64)
        elif series.dtype == pl.Date or isinstance(series.dtype, pl.Datetime):
            series = series.cast(pl.Datetime("us"))
        columns.append(series.alias(f"c{i}"))
    frame = pl.DataFrame(columns)
    exact = [c for c in frame.columns if frame.schema[c] != pl.Float64]
    floats = [c for c in frame.columns if frame.schema[c] == pl.Float64]
    return frame.sort(exact + floats, nulls_last=True) if frame.width else frame


def difference(actual: pl.DataFrame, expected: pl.DataFrame) -> str | None:
    """Why two answers differ (as multisets of rows, numbers within 1e-6 relative), or None."""
    if actual.shape != expected.shape:
        return f"shape {actual.shape} vs {expected.shape}"
    a, e = _normalised(actual), _normalised(expected)
    for name in a.columns:
        x, y = a.get_column(name), e.get_column(name)
        if x.dtype == pl.Float64 and y.dtype == pl.Float64:
            close = ((x - y).abs() <= 1e-6 * y.abs() + 1e-6) | (x.is_null() & y.is_null())
            if not close.fill_null(False).all():
                return f"column {name} differs"
        elif not x.equals(y):
            return f"column {name} differs"
    return None
