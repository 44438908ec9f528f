"""The measurements checks are judged on, as frozen (hashable) values.

Two rules asking for the same measurement (``required: true`` and a
``nullValues`` rule on one column) share one :class:`Metric`, so it is
computed once. Each metric knows how to compute itself three ways:

* ``polars()``: an aggregate expression over a scan of the dataset (files, and
  whatever a database cannot compute);
* ``sql(database)``: an aggregate expression a database computes inside one
  ``SELECT … FROM table`` shared by every metric of the dataset, or None;
* ``statement(table, database)``: a whole statement of its own, for a metric
  no single aggregate expresses (duplicates over several columns), or None.

And, for failing rows, ``offending(column_ref)``: the predicate that picks the
rows it counts (None when the rows are not singled out by a predicate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
from sqlglot import exp

from meshlab.planner.parse import literal

ColumnRef = Callable[[str], exp.Column]
"""Makes the reference to a column by name (``"x"`` or ``t."x"``), for :meth:`Metric.offending`."""


class Database(Protocol):
    """What a metric asks of the database that measures it (a :class:`meshlab.sources.Source`)."""

    @property
    def dialect(self) -> str | None: ...

    @property
    def sends_regex(self) -> bool:
        """Whether a regular-expression match may be sent to it (its regex means what Polars' does)."""
        ...


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _count_if(condition: exp.Expr) -> exp.Expr:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``: portable where COUNT(*) FILTER is not."""
    case = exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    return exp.Coalesce(this=exp.Sum(this=case), expressions=[exp.Literal.number(0)])


def _in(column: exp.Expr, values: tuple[Any, ...]) -> exp.Expr:
    return exp.In(this=column, expressions=[literal(v) for v in values])


UNSETTLED = object()
"""A stage that does not settle its metric: the next stage must run."""


def _exact(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Metric:
    """A number (or, for freshness, a value) measured over one dataset."""

    @property
    def columns(self) -> tuple[str, ...]:
        return ()

    def polars(self) -> pl.Expr:
        raise NotImplementedError

    def sql(self, database: Database) -> exp.Expr | None:
        return None

    def statement(self, table: exp.Table, database: Database) -> exp.Select | None:
        """A statement of its own whose one value (named ``m0``) is the metric."""
        return None

    def offending(self, column: ColumnRef) -> exp.Expr | None:
        return None

    def stages(self) -> tuple[tuple[pl.Expr, Callable[[Any], Any]], ...]:
        """Cheaper first passes, each ``(expression, settle)``, before the exact one.

        ``settle(value)`` turns a stage's value into the metric's, or returns
        :data:`UNSETTLED` to go on to the next stage; the last stage is always exact.
        """
        return ((self.polars(), _exact),)

    @property
    def logical_type(self) -> str:
        """The logical type of the measured value (every count is an integer)."""
        return "integer"


@dataclass(frozen=True)
class RowCount(Metric):
    def polars(self) -> pl.Expr:
        return pl.len().cast(pl.Int64)

    def sql(self, database: Database) -> exp.Expr:
        return exp.Count(this=exp.Star())


@dataclass(frozen=True)
class NullCount(Metric):
    column: str

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def polars(self) -> pl.Expr:
        return pl.col(self.column).null_count().cast(pl.Int64)

    def sql(self, database: Database) -> exp.Expr:
        return exp.Sub(this=exp.Count(this=exp.Star()), expression=exp.Count(this=_col(self.column)))

    def offending(self, column: ColumnRef) -> exp.Expr:
        return column(self.column).is_(exp.null())


@dataclass(frozen=True)
class MissingCount(Metric):
    """Values counted as missing: null (when listed) or one of ``values``."""

    column: str
    values: tuple[Any, ...]
    include_null: bool

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def polars(self) -> pl.Expr:
        c = pl.col(self.column)
        hit = c.is_in(list(self.values)) if self.values else pl.lit(False)
        if self.include_null:
            hit = hit.fill_null(False) | c.is_null()
        return hit.fill_null(False).sum().cast(pl.Int64)

    def sql(self, database: Database) -> exp.Expr:
        return _count_if(self.offending(_col))

    def offending(self, column: ColumnRef) -> exp.Expr:
        parts = []
        if self.values:
            parts.append(_in(column(self.column), self.values))
        if self.include_null or not parts:
            parts.append(column(self.column).is_(exp.null()))
        return exp.or_(*parts) if len(parts) > 1 else parts[0]


@dataclass(frozen=True)
class InvalidCount(Metric):
    """Non-null values outside ``valid`` or not matching ``pattern`` (a regex search)."""

    column: str
    valid: tuple[Any, ...] | None = None
    pattern: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def polars(self) -> pl.Expr:
        c = pl.col(self.column)
        bad = pl.lit(False)
        if self.valid is not None:
            bad = bad | ~c.is_in(list(self.valid))
        if self.pattern is not None:
            bad = bad | ~c.cast(pl.String).str.contains(self.pattern)
        return (c.is_not_null() & bad).fill_null(False).sum().cast(pl.Int64)

    def sql(self, database: Database) -> exp.Expr | None:
        if self.pattern is not None and not database.sends_regex:
            return None
        return _count_if(self.offending(_col))

    def offending(self, column: ColumnRef) -> exp.Expr:
        c = column(self.column)
        bad = []
        if self.valid is not None:
            bad.append(exp.not_(_in(c.copy(), self.valid)))
        if self.pattern is not None:
            text = exp.cast(c.copy(), exp.DataType.build("TEXT"))
            bad.append(exp.not_(exp.RegexpLike(this=text, expression=exp.Literal.string(self.pattern))))
        either = exp.or_(*bad) if len(bad) > 1 else bad[0]
        return exp.and_(c.is_(exp.null()).not_(), exp.paren(either))


@dataclass(frozen=True)
class DuplicateCount(Metric):
    """Rows whose key (one or several columns) repeats an earlier row's key.

    Rows with a null key are not counted for one column (null is no value);
    over several columns a tuple is a key as it is, nulls included.
    """

    keys: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys

    def polars(self) -> pl.Expr:
        if len(self.keys) == 1:
            c = pl.col(self.keys[0])
            return (c.count() - c.drop_nulls().n_unique()).cast(pl.Int64)
        return (pl.len() - pl.struct(list(self.keys)).n_unique()).cast(pl.Int64)

    def stages(self) -> tuple[tuple[pl.Expr, Callable[[Any], Any]], ...]:
        """A cheap pass first, exact counting only when it leaves the answer open.

        One key: when its non-null values arrive in order (ids and time-ordered keys usually
        do), the rows equal to their predecessor are exactly the duplicates: one comparison
        per row. Several keys: rows minus distinct 64-bit hashes of the key, an upper bound on
        the duplicates that is exact when it is 0 (equal keys hash alike), in the same pass
        as the other metrics.
        """
        exact = (self.polars(), _exact)
        if len(self.keys) == 1:
            c = pl.col(self.keys[0]).drop_nulls()
            probe = pl.struct((c < c.shift()).sum().alias("unsorted"), (c == c.shift()).sum().alias("repeats"))
            return ((probe, _when_sorted), exact)
        hashed = (pl.len() - pl.struct(list(self.keys)).hash().n_unique()).cast(pl.Int64)
        return ((hashed, lambda value: 0 if value == 0 else UNSETTLED), exact)

    def sql(self, database: Database) -> exp.Expr | None:
        if len(self.keys) != 1:
            return None
        c = _col(self.keys[0])
        return exp.Sub(this=exp.Count(this=c), expression=exp.Count(this=exp.Distinct(expressions=[c.copy()])))

    def statement(self, table: exp.Table, database: Database) -> exp.Select:
        groups = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True)).from_(table)
        groups = groups.group_by(*(_col(k) for k in self.keys))
        extra = exp.Sub(this=_col("n"), expression=exp.Literal.number(1))
        total = exp.Coalesce(this=exp.Sum(this=extra), expressions=[exp.Literal.number(0)])
        return exp.select(exp.alias_(total, "m0", quoted=True)).from_(groups.subquery("groups"))


@dataclass(frozen=True)
class NewestValue(Metric):
    """The largest value of a date or timestamp column (freshness)."""

    column: str
    type: str = "timestamp"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    @property
    def logical_type(self) -> str:
        return self.type

    def polars(self) -> pl.Expr:
        return pl.col(self.column).max()

    def sql(self, database: Database) -> exp.Expr:
        return exp.Max(this=_col(self.column))


def _when_sorted(probed: Any) -> Any:
    return probed["repeats"] if probed and probed["unsorted"] == 0 else UNSETTLED


def typed_values(values: list, dtype: pl.DataType | None) -> tuple[tuple[Any, ...], bool]:
    """``values`` converted to the column's type, nulls split off.

    Returns the non-null values that can be values of the column (a string
    that is no integer can never be one of an integer column's values) and
    whether null was listed.
    """
    include_null = any(v is None for v in values)
    plain = [v for v in values if v is not None]
    if not plain:
        return (), include_null
    series = pl.Series(plain, strict=False)
    if dtype is not None and series.dtype != dtype:
        series = series.cast(dtype, strict=False)
    return tuple(v for v in series.to_list() if v is not None), include_null
