"""Profile a data set for a draft contract: its columns, types, nulls, distinct values, rows.

``DATA`` is one of

* a file, a glob or a folder of parquet, CSV or newline-delimited JSON files
  (local, or any URL Polars reads natively: ``s3://``, ``https://``…);
* ``sqlite:///absolute/path.db?table=T`` or ``sqlite:relative/path.db?table=T``;
* ``postgresql://user@host:port/database?table=schema.T`` (``postgres://`` too);
  the password comes from ``$PGPASSWORD``, never from the URL, and is never written.

Files are profiled whole with one lazy Polars aggregate; database tables are
counted in the database and profiled on their first :data:`SAMPLE_ROWS` rows.
"""

from __future__ import annotations

import glob
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from meshlab.errors import MeshError

SAMPLE_ROWS = 200_000
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json", ".ndjson": "json", ".jsonl": "json"}
FEW_VALUES = 12  # string columns with at most this many distinct values get a validValues suggestion


class InitError(MeshError):
    """``meshlab init`` cannot read or place the data it was given."""


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: pl.DataType
    nulls: int
    distinct: int
    physical: str | None = None  # the database's declared type, when there is one
    values: tuple[Any, ...] | None = None  # every distinct value of a low-cardinality text column


@dataclass(frozen=True)
class DataProfile:
    """What ``init`` learnt about the data and where it lives."""

    rows: int
    columns: tuple[ColumnProfile, ...]
    server: dict  # an ODCS server entry; ``path`` absolute for files (made relative when written)
    physical_name: str | None = None
    sampled_rows: int | None = None  # rows profiled, when fewer than ``rows``
    notes: tuple[str, ...] = field(default_factory=tuple)


def _file_format(path: str) -> str:
    ext = os.path.splitext(path.split("?", 1)[0])[1].lower()
    if ext not in FORMATS:
        raise InitError(f"cannot tell the format of {path}: use .parquet, .csv, .json or .ndjson files")
    return FORMATS[ext]


def _file_target(data: str) -> tuple[str, str]:
    """(path or glob to read, format)."""
    if "://" not in data and os.path.isdir(data):
        found = sorted(p for p in glob.glob(os.path.join(data, "**", "*"), recursive=True) if os.path.isfile(p))
        found = [p for p in found if os.path.splitext(p)[1].lower() in FORMATS]
        if not found:
            raise InitError(f"folder {data} holds no parquet, CSV or JSON file")
        return os.path.join(os.path.abspath(data), "**", "*" + os.path.splitext(found[0])[1]), _file_format(found[0])
    if "://" not in data and not any(c in data for c in "*?[") and not os.path.exists(data):
        raise InitError(f"{data}: no such file or folder")
    if "://" not in data and any(c in data for c in "*?[") and not glob.glob(data, recursive=True):
        raise InitError(f"no file matches {data}")
    return (data if "://" in data else os.path.abspath(data)), _file_format(data)


def _scan(path: str, fmt: str) -> pl.LazyFrame:
    if fmt == "parquet":
        return pl.scan_parquet(path, hive_partitioning=True)
    if fmt == "csv":
        return pl.scan_csv(path, try_parse_dates=True, infer_schema_length=10_000)
    return pl.scan_ndjson(path, infer_schema_length=10_000)


def profile_frame(frame: pl.LazyFrame, physical: dict[str, str] | None = None) -> tuple[int, tuple[ColumnProfile, ...]]:
    """Rows and per-column profile of ``frame``, in one aggregate pass (plus one per low-cardinality column)."""
    schema = frame.collect_schema()
    if not schema:
        raise InitError("the data has no columns")
    aggregates = [pl.len().alias("__rows")]
    for i, (name, dtype) in enumerate(schema.items()):
        aggregates.append(pl.col(name).null_count().alias(f"n{i}"))
        countable = not isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object))
        aggregates.append((pl.col(name).n_unique() if countable else pl.lit(0)).alias(f"d{i}"))
    stats = frame.select(aggregates).collect().row(0, named=True)
    columns = []
    for i, (name, dtype) in enumerate(schema.items()):
        distinct = int(stats[f"d{i}"]) - (1 if stats[f"n{i}"] else 0)
        values = None
        if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)) and 0 < distinct <= FEW_VALUES:
            found = frame.select(pl.col(name).drop_nulls().unique().sort()).collect().to_series().to_list()
            values = tuple(str(v) for v in found)
        columns.append(
            ColumnProfile(name, dtype, int(stats[f"n{i}"]), distinct, (physical or {}).get(name), values)
        )  # fmt: skip
    return int(stats["__rows"]), tuple(columns)


ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"


def typed_text(frame: pl.LazyFrame, probe: int = 1_000) -> pl.LazyFrame:
    """Text columns whose values all read as ISO dates or timestamps (JSON has no date type), typed so."""
    texts = [n for n, t in frame.collect_schema().items() if isinstance(t, pl.String)]
    if not texts:
        return frame
    head = frame.select(texts).head(probe).collect()
    casts = []
    for name in texts:
        values = head[name].drop_nulls()
        if values.is_empty():
            continue
        if values.str.contains(ISO_DATE).all():
            casts.append(pl.col(name).str.to_date(strict=False))
        elif values.str.contains(ISO_TIMESTAMP).all():
            casts.append(pl.col(name).str.to_datetime(strict=False, time_unit="us"))
    return frame.with_columns(casts) if casts else frame


def _profile_files(data: str) -> DataProfile:
    path, fmt = _file_target(data)
    try:
        scan = _scan(path, fmt)
        rows, columns = profile_frame(typed_text(scan) if fmt == "json" else scan)
    except InitError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is the data's
        raise InitError(f"cannot read {data} as {fmt}: {str(exc).splitlines()[0]}") from exc
    return DataProfile(rows, columns, file_server(path, fmt))


def file_server(path: str, fmt: str) -> dict:
    """The ODCS server entry of files at ``path``, in the fields the official schema gives each type.

    Local files: ``local`` (path, format); S3 and Azure: their own types
    (location, format); any other fsspec URL: a ``custom`` server (location,
    format). A CSV delimiter, which ODCS has no field for on these types, is a
    custom property.
    """
    protocol = path.split("://", 1)[0].lower() if "://" in path else "file"
    server: dict[str, Any]
    if protocol == "file":
        server = {"server": "files", "type": "local", "format": fmt, "path": path}
    else:
        kind = {"s3": "s3", "s3a": "s3", "az": "azure", "abfs": "azure", "abfss": "azure"}.get(protocol, "custom")
        server = {"server": "files", "type": kind, "format": fmt, "location": path}
    if fmt == "csv":
        server["customProperties"] = [{"property": "delimiter", "value": ","}]
    return server


def sqlite_server(path: str) -> dict:
    """SQLite is not an ODCS server type: a ``custom`` server whose ``engine`` custom property says sqlite."""
    return {
        "server": "database",
        "type": "custom",
        "path": path,
        "customProperties": [{"property": "engine", "value": "sqlite"}],
    }


def _database_profile(
    fetch: Callable[[str], pa.Table], table_sql: str, declared: dict[str, str], server: dict[str, Any], table: str
) -> DataProfile:
    rows = int(fetch(f"SELECT count(*) AS n FROM {table_sql}").column(0)[0].as_py())
    fetched = pl.from_arrow(_plain(fetch(f"SELECT * FROM {table_sql} LIMIT {SAMPLE_ROWS}")))
    sample = fetched if isinstance(fetched, pl.DataFrame) else fetched.to_frame()
    _, columns = profile_frame(sample.lazy(), declared)
    sampled = sample.height if sample.height < rows else None
    return DataProfile(rows, columns, server, table, sampled)


def _plain(table: pa.Table) -> pa.Table:
    from meshlab.sources.database import plain_arrow

    plain: pa.Table = plain_arrow(table)
    return plain


def _sqlite(url: urllib.parse.SplitResult, table: str) -> DataProfile:
    import adbc_driver_sqlite.dbapi as adbc

    path = url.netloc + url.path  # sqlite:///abs/path.db, sqlite:////abs/path.db, sqlite:relative.db
    path = os.path.abspath("/" + path.lstrip("/") if path.startswith("//") else path)
    if not os.path.isfile(path):
        raise InitError(f"SQLite database {path} does not exist")
    quoted = '"' + table.replace('"', '""') + '"'

    def fetch(sql: str) -> pa.Table:
        try:
            with adbc.connect(f"file:{path}?mode=ro") as connection, connection.cursor() as cursor:
                cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 30)})
                cursor.execute(sql)
                answer: pa.Table = cursor.fetch_arrow_table()
                return answer
        except Exception as exc:  # noqa: BLE001 - the driver's error, named
            raise InitError(f"SQLite {path}, table {table}: {str(exc).splitlines()[0]}") from exc

    info = fetch(f"SELECT name, type FROM pragma_table_info('{table.replace(chr(39), chr(39) * 2)}')")
    if info.num_rows == 0:
        raise InitError(f"SQLite {path} has no table '{table}'")
    declared = {str(n): str(t) for n, t in zip(info.column("name").to_pylist(), info.column("type").to_pylist())}
    return _database_profile(fetch, quoted, declared, sqlite_server(path), table)


def _postgres(url: urllib.parse.SplitResult, table: str) -> DataProfile:
    import adbc_driver_postgresql.dbapi as adbc

    schema, _, name = table.rpartition(".")
    schema = schema or "public"
    database = url.path.lstrip("/")
    if url.password:
        raise InitError("put no password in the URL: meshlab reads it from $PGPASSWORD and never writes it")
    uri = urllib.parse.urlunsplit(("postgresql", url.netloc, url.path, "", ""))

    def fetch(sql: str) -> pa.Table:
        try:
            with adbc.connect(uri) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                answer: pa.Table = cursor.fetch_arrow_table()
                return answer
        except Exception as exc:  # noqa: BLE001 - the driver's error, named
            raise InitError(f"PostgreSQL {url.hostname}/{database}, table {table}: {str(exc).splitlines()[0]}") from exc

    literal = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    info = fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = {literal(schema)} AND table_name = {literal(name)} ORDER BY ordinal_position"
    )
    if info.num_rows == 0:
        raise InitError(f"PostgreSQL {url.hostname}/{database} has no table {schema}.{name}")
    declared = {
        str(n): str(t) for n, t in zip(info.column("column_name").to_pylist(), info.column("data_type").to_pylist())
    }
    server = {"server": "database", "type": "postgres", "host": url.hostname or "localhost", "port": url.port or 5432,
              "database": database, "schema": schema}  # fmt: skip
    quoted = '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'
    profile = _database_profile(fetch, quoted, declared, server, name)
    note = "credentials: the mesh reads the user and password from $PGUSER / $PGPASSWORD (or userEnv / passwordEnv)"
    return DataProfile(profile.rows, profile.columns, server, name, profile.sampled_rows, (note,))


def shown_location(data: str) -> str:
    """``data`` without its query and without any user or password: safe to write down."""
    url = urllib.parse.urlsplit(data)
    if url.scheme and url.netloc and "@" in url.netloc:
        url = url._replace(netloc=url.netloc.rsplit("@", 1)[1])
    return urllib.parse.urlunsplit(url._replace(query="")) if url.scheme else data.split("?")[0]


def inspect_data(data: str) -> DataProfile:
    """Profile ``data`` (see the module docstring for the forms it takes)."""
    url = urllib.parse.urlsplit(data)
    if url.scheme in ("sqlite", "postgresql", "postgres"):
        table = urllib.parse.parse_qs(url.query).get("table", [None])[0]
        if not table:
            raise InitError(f"{url.scheme} URL needs ?table=NAME: {data.split('?')[0]}?table=...")
        return _sqlite(url, table) if url.scheme == "sqlite" else _postgres(url, table)
    return _profile_files(data)
