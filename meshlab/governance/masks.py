"""Column masks: how a classified column reads for a role that may not see it.

A mask has two renderings of one meaning: SQL, so a database computes it and
the clear value never leaves the database, and a Polars expression, for files
and for databases that lack the function (SQLite has no MD5). Both give the
same value, so a masked key still joins across sources:

=========  ==================================================  ===========
kind       value                                               result type
=========  ==================================================  ===========
hash       MD5 of the value as text (32 hex digits)            string
null       NULL                                                the column's
redact     ``'***'`` for strings, NULL for other types         the column's
sql        the policy's expression, ``{column}`` = the value   the column's
=========  ==================================================  ===========

A hash is a pseudonym, not encryption: it hides the value but keeps equality
(GROUP BY, COUNT DISTINCT and joins on it still work), and a short value can be
found again by hashing guesses. Use ``null`` where equality must not survive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from meshlab.catalog.contract import Column
from meshlab.sources.base import column_dtype

MASK_KINDS = ("hash", "null", "redact")
REDACTED = "***"
PLACEHOLDER = "{column}"
SQL_DIALECT = "duckdb"  # masks and row filters are written like queries


def parse_mask_sql(text: str, column: str = "__column__") -> exp.Expr:
    """The mask expression ``text`` with ``{column}`` standing for ``column``.

    Raises ``ValueError`` with the reason when ``text`` is not one expression.
    """
    quoted = exp.to_identifier(column, quoted=True).sql(dialect=SQL_DIALECT)
    try:
        parsed = sqlglot.parse_one(text.replace(PLACEHOLDER, quoted), read=SQL_DIALECT)
    except SqlglotError as exc:
        raise ValueError(f"not an SQL expression: {str(exc).splitlines()[0]}") from None
    if isinstance(parsed, (exp.Query, exp.DDL, exp.DML)) or parsed.find(exp.Select, exp.Table):
        raise ValueError("a mask is an expression over the column, not a query")
    return parsed


def _md5_text(series: pl.Series) -> pl.Series:
    # Hash each distinct value once: keys repeat (a listener id over millions of plays).
    values = series.cast(pl.String)
    distinct = values.drop_nulls().unique()
    digests = [hashlib.md5(v.encode("utf-8")).hexdigest() for v in distinct]
    return values.replace_strict(distinct, digests, default=None, return_dtype=pl.String).alias(series.name)


@dataclass(frozen=True)
class Mask:
    """The mask of one column, for one role.

    Attributes
    ----------
    column
        The contract column masked.
    kind
        ``hash``, ``null``, ``redact`` or ``sql``.
    classification
        The classification that put the mask on the column.
    expression
        For ``sql`` masks: the policy's text.
    """

    column: Column
    kind: str
    classification: str
    expression: str | None = None

    @property
    def name(self) -> str:
        return self.column.name

    def dtype(self) -> pl.DataType | None:
        """The Polars type of the masked value: text for a hash, else the column's
        own type (an SQL mask's value is cast to it, so the schema holds)."""
        if self.kind == "hash":
            return pl.String()
        return column_dtype(self.column)

    def to_sql(self) -> exp.Expr:
        """The mask as an SQL expression over the unqualified column."""
        value = exp.column(self.name, quoted=True)
        if self.kind == "hash":
            return exp.MD5(this=exp.cast(value, exp.DataType.build("TEXT")))
        if self.kind == "redact" and self.column.logical_type == "string":
            return exp.Literal.string(REDACTED)
        if self.kind in ("null", "redact"):
            return exp.Null()
        return parse_mask_sql(self.expression or "NULL", self.name)

    def to_polars(self) -> pl.Expr:
        """The mask as a Polars expression over the unmasked column."""
        dtype = column_dtype(self.column)
        if self.kind == "hash":
            return pl.col(self.name).map_batches(_md5_text, return_dtype=pl.String).alias(self.name)
        if self.kind == "redact" and self.column.logical_type == "string":
            return pl.lit(REDACTED, dtype=pl.String).alias(self.name)
        if self.kind in ("null", "redact"):
            return pl.lit(None, dtype=dtype).alias(self.name)
        value = pl.sql_expr(self.to_sql().sql(dialect="postgres"))
        return value.alias(self.name)

    def describe(self) -> str:
        how = self.expression if self.kind == "sql" else self.kind
        return f"{self.name}: {how} ({self.classification})"
