"""Schema conformance: declared columns present, types compatible, required and keys honoured.

The physical schema comes from the source itself: the file's own schema for
files, ``pragma_table_info`` for SQLite (whose values carry no type until
read: the declared type is what the table promises) and
``information_schema.columns`` for PostgreSQL. The row-level parts (nulls in required
columns, duplicates of unique and primary keys) are metrics measured with
the dataset's other metrics.
"""

from __future__ import annotations

import polars as pl

from meshlab.catalog import Dataset
from meshlab.catalog.contract import listed
from meshlab.catalog.types import compatible  # one rule for checks and for drift
from meshlab.errors import SourceError
from meshlab.quality.metrics import DuplicateCount, NullCount
from meshlab.quality.planned import Planned, known, none_allowed
from meshlab.sources import Source


def physical_schema(source: Source) -> dict[str, pl.DataType]:
    """Column name -> type as the source stores it. Raises :class:`SourceError` when unreachable."""
    try:
        return source.physical_schema()
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is this source's failure
        raise SourceError(source.dataset.address, source.server_label, str(exc).splitlines()[0]) from exc


def columns_check(dataset: Dataset, physical: dict[str, pl.DataType]) -> Planned:
    """Every declared column is in the source (extra source columns are only mentioned)."""
    declared = [c.name for c in dataset.columns]
    missing = [c for c in declared if c not in physical]
    extra = [c for c in physical if c not in set(declared)]
    note = f"; not declared: {', '.join(extra)}" if extra else ""
    if missing:
        message = f"declared but missing from the source: {', '.join(missing)}{note}"
        return known(dataset.address, "columns", "schema", "failed", message, observed=missing, expected=declared)
    message = f"all {len(declared)} declared columns present{note}"
    return known(dataset.address, "columns", "schema", "passed", message, observed=declared, expected=declared)


def type_checks(dataset: Dataset, physical: dict[str, pl.DataType], source: Source) -> list[Planned]:
    """One check per declared column the source has: its stored type fits the logicalType."""
    out = []
    for column in dataset.columns:
        if column.name not in physical:
            continue
        dtype = physical[column.name]
        ok = compatible(
            dtype, column.logical_type, text_dates=source.text_dates, integer_booleans=source.integer_booleans
        )
        message = (
            f"stored as {dtype}, compatible with {column.logical_type}"
            if ok
            else f"stored as {dtype}, which cannot hold {column.logical_type} values"
        )
        status = "passed" if ok else "failed"
        out.append(
            known(
                dataset.address,
                f"type:{column.name}",
                "schema",
                status,
                message,
                observed=str(dtype),
                expected=column.logical_type,
            )  # fmt: skip
        )
    return out


def primary_key(dataset: Dataset) -> tuple[str, ...]:
    """The primary key's columns in ``primaryKeyPosition`` order (declaration order on ties)."""
    positions = {}
    schema = dataset.descriptor.get("schema") or []
    for obj in schema:
        if isinstance(obj, dict) and str(obj.get("name")) == dataset.name:
            for i, prop in enumerate(listed(obj.get("properties"))):
                if isinstance(prop, dict):
                    positions[str(prop.get("name"))] = (prop.get("primaryKeyPosition") or 0, i)
    keys = [c.name for c in dataset.columns if c.primary_key]
    return tuple(sorted(keys, key=lambda name: positions.get(name, (0, 0))))


def row_checks(dataset: Dataset) -> list[Planned]:
    """``required`` (no nulls), ``unique`` (no duplicates) and the primary key (unique, no nulls)."""
    address = dataset.address
    key = primary_key(dataset)
    out = []
    for column in dataset.columns:
        if column.required or column.name in key:
            nulls = NullCount(column.name)
            out.append(
                Planned(
                    address,
                    f"required:{column.name}",
                    "schema",
                    metric=nulls,
                    judge=none_allowed("null value"),
                    rows_of=nulls,
                )  # fmt: skip
            )
        if column.unique and (column.name,) != key:
            metric = DuplicateCount((column.name,))
            out.append(
                Planned(
                    address,
                    f"unique:{column.name}",
                    "schema",
                    metric=metric,
                    judge=none_allowed("duplicate row"),
                    rows_of=metric,
                )  # fmt: skip
            )
    if key:
        metric = DuplicateCount(key)
        out.append(
            Planned(
                address,
                f"primaryKey:({', '.join(key)})",
                "schema",
                metric=metric,
                judge=none_allowed("duplicate key row"),
                rows_of=metric,
            )  # fmt: skip
        )
    return out
