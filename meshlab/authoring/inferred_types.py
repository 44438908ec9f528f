"""Polars types -> ODCS ``logicalType`` and a ``physicalType`` a reader recognises."""

from __future__ import annotations

import polars as pl


def odcs_types(dtype: pl.DataType) -> tuple[str, str]:
    """``(logicalType, physicalType)`` for values of Polars type ``dtype``.

    >>> odcs_types(pl.Decimal(12, 2))
    ('number', 'DECIMAL(12,2)')
    """
    if isinstance(dtype, pl.Boolean):
        return "boolean", "BOOLEAN"
    if dtype.is_integer():
        return "integer", "INTEGER" if dtype in (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16) else "BIGINT"
    if isinstance(dtype, pl.Decimal):
        return "number", f"DECIMAL({dtype.precision},{dtype.scale})"
    if dtype.is_float():
        return "number", "DOUBLE"
    if isinstance(dtype, pl.Datetime):
        return "timestamp", "TIMESTAMP" if dtype.time_zone is None else "TIMESTAMP WITH TIME ZONE"
    if isinstance(dtype, pl.Date):
        return "date", "DATE"
    if isinstance(dtype, pl.Time):
        return "time", "TIME"
    if isinstance(dtype, (pl.List, pl.Array)):
        return "array", "ARRAY"
    if isinstance(dtype, pl.Struct):
        return "object", "STRUCT"
    return "string", "VARCHAR"
