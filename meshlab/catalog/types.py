"""ODCS logical types and what each one is everywhere meshlab meets it: one table.

Every other module asks this one: the Polars type a scan returns
(:func:`polars_dtype`), the SQL type the planner qualifies a column with
(:func:`sql_type`), Spark's name for it (:func:`spark_type`), its Arrow type
(:func:`arrow_type`), the column type meshlab writes into a SQLite or PostgreSQL
table or a contract's ``physicalType`` (:func:`ddl_type`), what the type of data
found in a file or database means (:func:`odcs_types`, :func:`sqlite_dtype`,
:func:`postgres_dtype`), and the one rule for whether stored values fit a
logical type (:func:`compatible`, used by schema drift and by the schema checks).

>>> polars_dtype("number", "DECIMAL(12,2)")
Decimal(precision=12, scale=2)
>>> odcs_types(pl.Int32())
('integer', 'INTEGER')
>>> compatible(pl.String(), "date", text_dates=True), compatible(pl.String(), "date")
(True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

if TYPE_CHECKING:
    from meshlab.catalog.contract import Column


@dataclass(frozen=True)
class LogicalType:
    """One ODCS ``logicalType`` and its names elsewhere.

    ``polars`` is what a scan returns for it (None: left as read, for ``object`` and
    ``array``) and ``arrow`` the same in Arrow, as Polars hands it over; ``sql`` the
    planner's SQL type and the ``physicalType`` of such values in files; ``sqlite`` and
    ``postgres`` the column types meshlab creates in those databases (SQLite keeps dates
    as ISO-8601 text and booleans as 0/1); ``spark`` Spark's type name (Spark has no time
    of day: text); ``width`` bytes per value in memory, for estimates.
    """

    name: str
    polars: pl.DataType | None
    arrow: pa.DataType | None
    sql: str
    sqlite: str
    postgres: str
    spark: str
    width: int


#: The table, in ODCS order. ``object`` and ``array`` have no fixed Polars or Arrow type.
TYPES: dict[str, LogicalType] = {
    t.name: t
    for t in (
        LogicalType("string", pl.String(), pa.large_string(), "VARCHAR", "TEXT", "TEXT", "string", 24),
        LogicalType("integer", pl.Int64(), pa.int64(), "BIGINT", "INTEGER", "BIGINT", "bigint", 8),
        LogicalType("number", pl.Float64(), pa.float64(), "DOUBLE", "REAL", "DOUBLE PRECISION", "double", 8),
        LogicalType("boolean", pl.Boolean(), pa.bool_(), "BOOLEAN", "INTEGER", "BOOLEAN", "boolean", 1),
        LogicalType("date", pl.Date(), pa.date32(), "DATE", "TEXT", "DATE", "date", 4),
        LogicalType("timestamp", pl.Datetime("us"), pa.timestamp("us"), "TIMESTAMP", "TEXT", "TIMESTAMP", "timestamp_ntz", 8),
        LogicalType("time", pl.Time(), pa.time64("ns"), "TIME", "TEXT", "TIME", "string", 8),
        LogicalType("object", None, None, "VARCHAR", "TEXT", "JSONB", "string", 64),
        LogicalType("array", None, None, "VARCHAR", "TEXT", "JSONB", "string", 64),
    )
}  # fmt: skip

#: The ODCS logical type names, in the standard's order.
LOGICAL_TYPES: tuple[str, ...] = tuple(TYPES)

#: A logical type whose values all fit another (contract diffs call the change a widening).
WIDENINGS = frozenset({("integer", "number"), ("date", "timestamp")})

#: Bytes of the integer physical types, to tell a widening from a narrowing.
INTEGER_WIDTHS = {"TINYINT": 1, "SMALLINT": 2, "INT2": 2, "INTEGER": 4, "INT": 4, "INT4": 4, "BIGINT": 8, "INT8": 8}

_TEXT = (pl.String, pl.Categorical, pl.Enum)
_NARROW_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16)


# -- contract -> engines -----------------------------------------------------------------------
def decimal_dtype(physical: str | None) -> pl.Decimal | None:
    """The Polars decimal a ``physicalType`` such as ``DECIMAL(12,2)`` or ``NUMERIC(12,2)`` names."""
    if not physical:
        return None
    text = physical.strip().upper()
    for prefix in ("DECIMAL(", "NUMERIC("):
        if text.startswith(prefix) and text.endswith(")"):
            try:
                precision, scale = (int(p) for p in text[len(prefix) : -1].split(","))
            except ValueError:
                return None
            return pl.Decimal(precision, scale)
    return None


def polars_dtype(logical: str, physical: str | None = None) -> pl.DataType | None:
    """The Polars type a contract column promises, or None (object, array, unknown names).

    A ``number`` with a decimal ``physicalType`` is that decimal, any other a ``Float64``.
    """
    if logical == "number":
        return decimal_dtype(physical) or pl.Float64()
    found = TYPES.get(logical)
    return found.polars if found is not None else None


def sql_type(logical: str) -> str:
    """The SQL type the planner gives a column of ``logical`` (text for what it does not know)."""
    found = TYPES.get(logical)
    return found.sql if found is not None else "VARCHAR"


def arrow_type(logical: str, physical: str | None = None) -> pa.DataType | None:
    """The Arrow type of a contract column's values, or None (object, array, unknown names)."""
    decimal = decimal_dtype(physical) if logical == "number" else None
    if decimal is not None:
        return pa.decimal128(decimal.precision or 38, decimal.scale or 0)
    found = TYPES.get(logical)
    return found.arrow if found is not None else None


def spark_type(dtype: pl.DataType | None) -> str | None:
    """Spark's name for a Polars type (None: leave the column as read; other types: text)."""
    if dtype is None:
        return None
    if isinstance(dtype, pl.Decimal):
        return f"decimal({dtype.precision or 38},{dtype.scale or 0})"
    if isinstance(dtype, pl.Datetime):
        return TYPES["timestamp"].spark  # contracts' timestamps are naive, like Polars' Datetime("us")
    return next((t.spark for t in TYPES.values() if t.polars is not None and dtype == t.polars), "string")


def conforms(dtype: pl.DataType, logical: str, physical: str | None = None) -> bool:
    """Whether values of ``dtype`` already are of ``logical`` (no cast needed to read them so)."""
    if logical == "integer":
        return dtype.is_integer()
    if logical == "number":
        return dtype.is_numeric()
    if logical == "timestamp":
        return isinstance(dtype, pl.Datetime)
    if logical in ("object", "array"):
        return True
    wanted = polars_dtype(logical, physical)
    return wanted is None or dtype == wanted


# -- data -> contract --------------------------------------------------------------------------
def odcs_types(dtype: pl.DataType) -> tuple[str, str]:
    """``(logicalType, physicalType)`` for values of Polars type ``dtype``.

    >>> odcs_types(pl.Decimal(12, 2))
    ('number', 'DECIMAL(12,2)')
    """
    if isinstance(dtype, pl.Boolean):
        return "boolean", TYPES["boolean"].sql
    if dtype.is_integer():
        return "integer", "INTEGER" if isinstance(dtype, _NARROW_INTEGERS) else TYPES["integer"].sql
    if isinstance(dtype, pl.Decimal):
        return "number", f"DECIMAL({dtype.precision},{dtype.scale})"
    if dtype.is_float():
        return "number", TYPES["number"].sql
    if isinstance(dtype, pl.Datetime):
        return "timestamp", TYPES["timestamp"].sql if dtype.time_zone is None else "TIMESTAMP WITH TIME ZONE"
    if isinstance(dtype, pl.Date):
        return "date", TYPES["date"].sql
    if isinstance(dtype, pl.Time):
        return "time", TYPES["time"].sql
    if isinstance(dtype, (pl.List, pl.Array)):
        return "array", "ARRAY"
    if isinstance(dtype, pl.Struct):
        return "object", "STRUCT"
    return "string", TYPES["string"].sql


def ddl_type(dtype: pl.DataType, dialect: str | None = None) -> str:
    """The column type to create for values of ``dtype``: in ``"sqlite"``, in ``"postgres"``,
    or (None) the ``physicalType`` a contract over files names.

    >>> ddl_type(pl.Decimal(15, 2), "postgres"), ddl_type(pl.Decimal(15, 2), "sqlite")
    ('NUMERIC(15,2)', 'REAL')
    """
    logical, physical = odcs_types(dtype)
    if dialect == "sqlite":
        return TYPES[logical].sqlite
    if dialect == "postgres":
        if isinstance(dtype, pl.Decimal):
            return f"NUMERIC({dtype.precision},{dtype.scale})"
        return physical if logical == "integer" else TYPES[logical].postgres
    return physical


def sqlite_dtype(declared: str) -> pl.DataType:
    """SQLite type affinity of a declared type, read as the Polars type of its values.

    Date, time and boolean declarations hold ISO-8601 text and 0/1 integers there;
    no declared type (a view's computed column, an untyped table) is ``Null``: anything.
    """
    text = declared.upper()
    if "INT" in text or "BOOL" in text:
        return pl.Int64()
    if any(word in text for word in ("CHAR", "CLOB", "TEXT", "DATE", "TIME")):
        return pl.String()
    if any(word in text for word in ("REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")):
        return pl.Float64()
    return pl.Binary() if "BLOB" in text else pl.Null()


_POSTGRES_TYPES: tuple[tuple[tuple[str, ...], pl.DataType], ...] = (
    (("smallint", "integer", "bigint"), pl.Int64()),
    (("numeric", "real", "double precision", "money"), pl.Float64()),
    (("boolean",), pl.Boolean()),
    (("date",), pl.Date()),
    (("timestamp",), pl.Datetime("us")),
    (("time",), pl.Time()),
    (("character", "text", "uuid", "citext", "name"), pl.String()),
    (("json", "jsonb"), pl.Struct({})),
    (("ARRAY",), pl.List(pl.String())),
    (("bytea",), pl.Binary()),
)


def postgres_dtype(declared: str, unknown: pl.DataType | None = None) -> pl.DataType:
    """The Polars type of a PostgreSQL type name (``format_type`` or ``information_schema``'s
    ``data_type``); ``unknown`` (default ``Null``: anything) for types it does not know
    (enums, domains, extensions' types)."""
    if declared.endswith("[]"):
        return pl.List(pl.String())
    for prefixes, dtype in _POSTGRES_TYPES:
        if declared.startswith(prefixes):
            return dtype
    return unknown if unknown is not None else pl.Null()


# -- the compatibility rule --------------------------------------------------------------------
_FITS: dict[str, Callable[[pl.DataType], bool]] = {
    "integer": lambda d: d.is_integer() or (isinstance(d, pl.Decimal) and d.scale == 0),
    "number": lambda d: d.is_numeric(),
    "string": lambda d: isinstance(d, _TEXT),
    "boolean": lambda d: isinstance(d, pl.Boolean),
    "date": lambda d: isinstance(d, pl.Date),
    "timestamp": lambda d: isinstance(d, pl.Datetime),
    "time": lambda d: isinstance(d, pl.Time),
    "object": lambda d: isinstance(d, (pl.Struct, pl.Object, pl.String)),
    "array": lambda d: isinstance(d, (pl.List, pl.Array)),
}


def compatible(dtype: pl.DataType, logical: str, *, text_dates: bool = False, integer_booleans: bool = False) -> bool:
    """Whether values stored as ``dtype`` can be values of ``logical``.

    A column of nulls only (Polars' ``Null``) fits any type. A source that keeps
    dates and times as text (SQLite, CSV: ``text_dates``) or booleans as 0/1
    (SQLite: ``integer_booleans``) is compatible that way too; each source says
    which it does (:class:`meshlab.sources.base.Source`). An unknown logical type
    accepts anything.
    """
    if isinstance(dtype, pl.Null):
        return True
    if text_dates and logical in ("date", "timestamp", "time") and isinstance(dtype, pl.String):
        return True
    if integer_booleans and logical == "boolean" and dtype.is_integer():
        return True
    fits = _FITS.get(logical)
    return fits is None or fits(dtype)


#: bytes per value in memory of a column whose logical type is not in the table
OTHER_WIDTH = 64


def column_width(column: Column | None) -> int:
    """Bytes one value of ``column`` takes in memory (a guess for text)."""
    if column is None:
        return OTHER_WIDTH
    if column.logical_type == "number" and (column.physical_type or "").upper().startswith(("DECIMAL", "NUMERIC")):
        return 16
    return TYPES[column.logical_type].width if column.logical_type in TYPES else OTHER_WIDTH
