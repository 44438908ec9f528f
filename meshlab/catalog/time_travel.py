"""Time travel: reading a dataset as it was at a table version or a moment.

One syntax for every source that keeps versions (Delta Lake, Apache Iceberg),
written as Trino writes it::

    SELECT * FROM sales.orders FOR VERSION AS OF 3
    SELECT * FROM sales.orders FOR TIMESTAMP AS OF TIMESTAMP '2026-11-30 12:00:00'

A version is the table's own number (Delta's version, Iceberg's snapshot id); a
timestamp reads the newest version committed at or before it (UTC when the
literal has no zone). The dataset read is shown as ``sales.orders@v3`` (or
``sales.orders@2026-11-30T12:00:00``) in lineage and in the pushdown report.
A source that keeps no versions says so in one line (:class:`TimeTravelError`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from meshlab.errors import SqlError


@dataclass(frozen=True)
class AsOf:
    """The version of a dataset a query reads: a table version, or the newest at a moment."""

    version: int | None = None
    timestamp: dt.datetime | None = None

    def label(self) -> str:
        """``v3``, or the moment in ISO form (UTC, no zone suffix)."""
        if self.version is not None:
            return f"v{self.version}"
        moment = self.timestamp or dt.datetime.min
        return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat() if moment.tzinfo else moment.isoformat()

    def utc(self) -> dt.datetime | None:
        """The timestamp as an aware UTC datetime (a naive one is taken as UTC)."""
        if self.timestamp is None:
            return None
        moment = self.timestamp
        return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True, order=True)
class TableVersion:
    """One entry of a table's history."""

    version: int
    timestamp: dt.datetime  # when it was committed (UTC)
    operation: str = ""  # what wrote it: WRITE, MERGE, append, overwrite, ...


def as_of_from_sql(node: exp.Expression, where: tuple[int | None, int | None] = (None, None)) -> AsOf:
    """The :class:`AsOf` of a ``FOR VERSION|TIMESTAMP AS OF`` clause (sqlglot's ``Version`` node).

    ``where``: the clause's line and column, for the error a malformed clause gets.
    """
    kind = str(node.this or "").upper()
    if str(node.args.get("kind") or "").upper() != "AS OF":
        raise SqlError(f"only FOR {kind} AS OF reads one version (not {node.args.get('kind')})", *where)
    value = node.args.get("expression")
    if kind == "VERSION":
        if isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit():
            return AsOf(version=int(value.name))
        raise SqlError("FOR VERSION AS OF takes a whole number (the table version or snapshot id)", *where)
    if kind == "TIMESTAMP":
        text = value.this if isinstance(value, exp.Cast) else value
        if isinstance(text, exp.Literal) and text.is_string:
            try:
                return AsOf(timestamp=dt.datetime.fromisoformat(text.name.strip()))
            except ValueError:
                pass
        raise SqlError("FOR TIMESTAMP AS OF takes a timestamp literal: TIMESTAMP '2026-11-30 12:00:00'", *where)
    raise SqlError(f"FOR {kind} AS OF is not time travel meshlab reads: use VERSION or TIMESTAMP", *where)
