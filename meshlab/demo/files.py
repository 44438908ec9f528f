"""Writers for the demo's storage formats: parquet (plain and hive), CSV, NDJSON, SQLite, Delta.

Every writer is deterministic: the same frame gives the same bytes, so a demo
mesh can be regenerated and compared file by file. Delta is the exception that
cannot be helped: its log records when each version was committed and names
data files by random UUIDs, so two runs give the same rows at every version,
not the same bytes.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake

from meshlab.demo.contracts import PHYSICAL_TYPES, Table

_TEXT_DATE = "%Y-%m-%d"
_DELTA_FILES = WriterProperties(compression="ZSTD")  # as the demo's other parquet files
_TEXT_TIMESTAMP = "%Y-%m-%d %H:%M:%S"


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as one zstd-compressed parquet file with statistics."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=True)


def write_hive(frame: pl.DataFrame, directory: Path, key: str) -> None:
    """Write ``frame`` as ``directory/key=value/part-0.parquet``, one folder per value.

    The key column is left out of the files: hive readers take it from the
    folder name. Any previous partitions are removed so that a smaller run
    does not leave stale days behind.
    """
    if directory.exists():
        shutil.rmtree(directory)
    for (value,), part in frame.partition_by(key, as_dict=True, maintain_order=True).items():
        write_parquet(part.drop(key), directory / f"{key}={value}" / "part-0.parquet")


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as comma-separated text with a header row and ISO dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, date_format=_TEXT_DATE, datetime_format=_TEXT_TIMESTAMP)


def write_ndjson(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` as newline-delimited JSON, one object per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_ndjson(path)


def _sqlite_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Convert to what SQLite stores: ISO-8601 text for dates, 0/1 for booleans."""
    converted = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.dt.strftime(_TEXT_DATE)
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.strftime(_TEXT_TIMESTAMP)
        elif dtype == pl.Boolean:
            col = col.cast(pl.Int64)
        converted.append(col)
    return frame.select(converted)


def _create_table(table: Table) -> str:
    types = PHYSICAL_TYPES["sqlite"]
    columns = [f'"{f.name}" {types[f.logical]}' + (" NOT NULL" if f.required else "") for f in table.fields]
    key = [f'"{f.name}"' for f in sorted(table.fields, key=lambda f: f.primary_key) if f.primary_key]
    if key:
        columns.append(f"PRIMARY KEY ({', '.join(key)})")
    return f'CREATE TABLE "{table.name}" (\n  ' + ",\n  ".join(columns) + "\n)"


def write_sqlite(
    path: Path,
    tables: Iterable[tuple[Table, pl.DataFrame]],
    indexes: Iterable[tuple[str, str]] = (),
) -> None:
    """Write tables into a fresh SQLite database file.

    Parameters
    ----------
    path
        The database file; replaced if it exists.
    tables
        Each contract table with its frame (already cast to the contract).
    indexes
        ``(table, column)`` pairs to index after loading.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    try:
        # Nothing to protect while building a throwaway file: skip the journal.
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        for table, frame in tables:
            con.execute(_create_table(table))
            marks = ", ".join("?" * frame.width)
            con.executemany(f'INSERT INTO "{table.name}" VALUES ({marks})', _sqlite_values(frame).iter_rows())
        for table_name, column in indexes:
            con.execute(f'CREATE INDEX "{table_name}_{column}" ON "{table_name}" ("{column}")')
        con.commit()
        con.execute("ANALYZE")  # row estimates for the planner of whoever reads it
        con.commit()
    finally:
        con.close()


def write_delta(
    frame: pl.DataFrame, path: Path, partition_by: str, metadata: Mapping[str, str], create: bool = False
) -> None:
    """Commit ``frame`` as a new version of the Delta table at ``path``: appended, or the first one.

    ``create`` removes any table there first, so that a rerun starts its history
    at version 0. ``metadata`` goes into the commit, where it says what the
    version is to anyone who reads the log.
    """
    if create and path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(
        path,
        frame.to_arrow(),
        partition_by=[partition_by],
        mode="error" if create else "append",
        writer_properties=_DELTA_FILES,
        commit_properties=CommitProperties(custom_metadata=dict(metadata)),
    )


def merge_delta(frame: pl.DataFrame, path: Path, keys: Iterable[str], metadata: Mapping[str, str]) -> None:
    """Commit a Delta MERGE of ``frame`` into the table at ``path``: rows whose ``keys`` match
    are replaced, the others inserted (an upsert, as a job restating some days does)."""
    matching = " AND ".join(f"t.{key} = s.{key}" for key in keys)
    merge = DeltaTable(path).merge(
        frame.to_arrow(),
        predicate=matching,
        source_alias="s",
        target_alias="t",
        writer_properties=_DELTA_FILES,
        commit_properties=CommitProperties(custom_metadata=dict(metadata)),
    )
    merge.when_matched_update_all().when_not_matched_insert_all().execute()
