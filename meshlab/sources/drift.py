"""Schema drift: a scan's columns checked against the source before it reads.

A contract says which columns a table has and of what type; the table may
have changed since (a column renamed, dropped or retyped, the table replaced
by a view). A governed scan's row filter and masks name columns: reading a
drifted table could leave rows unfiltered (SQLite reads an unknown
double-quoted identifier as a string, so ``"country" <> 'US'`` becomes always
true). So every scan first compares the columns it will touch with what the
source says it has now, and refuses with a :class:`SchemaDriftError` naming
dataset, server, column and what changed.

    contract: country string; table: region TEXT
    -> SchemaDriftError: dataset 'sales.orders' on server 'db': schema drift:
       column 'country' is not in table orders (renamed or dropped?) ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import polars as pl
from sqlglot import exp

from meshlab.catalog.contract import Dataset
from meshlab.errors import SchemaDriftError

_TEXT = (pl.String, pl.Categorical, pl.Enum)


def sqlite_declared(declared: str) -> pl.DataType:
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


_POSTGRES_TYPES = (
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


def postgres_declared(declared: str) -> pl.DataType:
    """The Polars type of a PostgreSQL ``format_type`` name; ``Null`` (anything) for types
    it does not know (enums, domains, extensions' types)."""
    if declared.endswith("[]"):
        return pl.List(pl.String())
    for prefixes, dtype in _POSTGRES_TYPES:
        if declared.startswith(prefixes):
            return dtype
    return pl.Null()


def compatible(dtype: pl.DataType, logical: str, dialect: str | None) -> bool:
    """Whether values stored as ``dtype`` can be values of ``logical``.

    A column of nulls only (Polars' ``Null``) fits any type; SQLite keeps dates
    and timestamps as text and booleans as 0/1, and that is compatible there;
    files (``dialect="files"``) may hold dates as text too (they are parsed).
    """
    if isinstance(dtype, pl.Null):
        return True
    if dialect in ("sqlite", "files") and logical in ("date", "timestamp", "time") and isinstance(dtype, pl.String):
        return True
    if dialect == "sqlite" and logical == "boolean" and dtype.is_integer():
        return True
    checks = {
        "integer": lambda: dtype.is_integer() or (isinstance(dtype, pl.Decimal) and dtype.scale == 0),
        "number": lambda: dtype.is_numeric(),
        "string": lambda: isinstance(dtype, _TEXT),
        "boolean": lambda: isinstance(dtype, pl.Boolean),
        "date": lambda: isinstance(dtype, pl.Date),
        "timestamp": lambda: isinstance(dtype, pl.Datetime),
        "time": lambda: isinstance(dtype, pl.Time),
        "object": lambda: isinstance(dtype, (pl.Struct, pl.Object, pl.String)),
        "array": lambda: isinstance(dtype, (pl.List, pl.Array)),
    }
    return checks.get(logical, lambda: True)()


def touched_columns(spec) -> list[str]:
    """Contract columns a scan reads or tests: its columns, predicates, order, row filter and masks."""
    names = set(spec.raw_columns())
    for node in (*spec.predicates, *spec.order_by):
        names.update(c.name for c in node.find_all(exp.Column))
    return [c.name for c in spec.dataset.columns if c.name in names]


def check_drift(
    dataset: Dataset,
    server: str,
    where: str,
    found: Mapping[str, tuple[str, pl.DataType]],
    names: Iterable[str],
    dialect: str | None = None,
) -> None:
    """Refuse when a column of ``names`` is missing from ``found`` or stored as another type.

    ``where`` names the table or file (for the message); ``found`` maps the
    source's column names to their declared type, as the source names it and as Polars reads it.
    """
    if not found:
        raise SchemaDriftError(dataset.address, server, f"schema drift: {where} does not exist or has no columns")
    for name in names:
        column = dataset.column(name)
        if column is None:
            continue
        if name not in found and dialect == "sqlite":  # SQLite matches identifiers whatever their case
            name = next((n for n in found if n.lower() == name.lower()), name)
        if name not in found:
            have = ", ".join(list(found)[:20])
            raise SchemaDriftError(
                dataset.address,
                server,
                f"schema drift: column '{name}' declared in {dataset.contract_path} is not in {where} "
                f"(renamed or dropped?); it has {have}",
            )
        declared, stored = found[name]
        if not compatible(stored, column.logical_type, dialect):
            raise SchemaDriftError(
                dataset.address,
                server,
                f"schema drift: column '{name}' of {where} is stored as {declared}, "
                f"not as the {column.logical_type} declared in {dataset.contract_path}",
            )
