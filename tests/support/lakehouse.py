"""Delta and Iceberg tables with a history, for the tests, the demo and the benchmarks.

Each writer commits one version per frame (the first creates the table) and
returns what it committed, oldest first: ``(version, timestamp)`` with the
Delta version number or the Iceberg snapshot id, and the commit's time as the
table's log records it. Commits are a few milliseconds apart, so every version
has its own timestamp to travel to::

    versions = write_delta_history(tmp / "orders", [day1, day2, day3], partition_by=["region"])
    write_iceberg_history(tmp / "warehouse", f"sqlite:///{tmp}/catalog.db", "shop.orders", [day1, day2])
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NamedTuple

import polars as pl

#: between two commits, so that no two versions share a millisecond timestamp
COMMIT_GAP_SECONDS = 0.005
#: the SqlCatalog name the writers use, and the IcebergSource's default (customProperty catalogName)
CATALOG_NAME = "default"


class Committed(NamedTuple):
    version: int
    timestamp: datetime


def _millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def write_delta_history(
    path: str | Path,
    frames: Sequence[pl.DataFrame],
    partition_by: Sequence[str] | None = None,
    mode: Literal["append", "overwrite"] = "append",
) -> list[Committed]:
    """A Delta table at ``path`` with one version per frame: the first creates it, each
    next one is appended (``mode="append"``) or replaces the rows (``"overwrite"``)."""
    from deltalake import DeltaTable

    options = {"partition_by": list(partition_by)} if partition_by else None
    for index, frame in enumerate(frames):
        if index:
            time.sleep(COMMIT_GAP_SECONDS)
        frame.write_delta(str(path), mode="error" if index == 0 else mode, delta_write_options=options)
    commits = DeltaTable(str(path)).history()
    return sorted(Committed(int(c["version"]), _millis(int(c["timestamp"]))) for c in commits)


def iceberg_catalog(warehouse: str | Path, catalog_uri: str, name: str = CATALOG_NAME):
    """PyIceberg's SqlCatalog at ``catalog_uri`` (a SQLAlchemy URI) with its warehouse folder."""
    from pyiceberg.catalog.sql import SqlCatalog

    location = str(warehouse)
    if "://" not in location:
        Path(warehouse).mkdir(parents=True, exist_ok=True)
        location = Path(warehouse).absolute().as_uri()
    return SqlCatalog(name, uri=catalog_uri, warehouse=location)


def write_iceberg_history(
    warehouse: str | Path,
    catalog_uri: str,
    identifier: str,
    frames: Sequence[pl.DataFrame],
    partition_by: Sequence[str] | None = None,
    mode: Literal["append", "overwrite"] = "append",
    catalog_name: str = CATALOG_NAME,
) -> list[Committed]:
    """An Iceberg table ``namespace.table`` in the SqlCatalog at ``catalog_uri`` with one
    snapshot per frame, partitioned by the identity of the ``partition_by`` columns."""
    catalog = iceberg_catalog(warehouse, catalog_uri, catalog_name)
    namespace = identifier.rsplit(".", 1)[0]
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table(identifier, schema=frames[0].to_arrow().schema)
    if partition_by:
        with table.update_spec() as spec:
            for name in partition_by:
                spec.add_identity(name)
    for index, frame in enumerate(frames):
        if index:
            time.sleep(COMMIT_GAP_SECONDS)
        if mode == "overwrite" and index:
            table.overwrite(frame.to_arrow())
        else:
            table.append(frame.to_arrow())
    return [Committed(entry.snapshot_id, _millis(entry.timestamp_ms)) for entry in table.history()]
