"""The cost model: how many rows a scan and a join produce, from the sources' own statistics.

Row counts and per-column distinct values (NDV) and ranges come from
:meth:`Source.statistics <meshlab.sources.Source.statistics>` (parquet footers,
``pg_stats``, ``sqlite_stat1``); the contract's keys say a column is unique. Where a
figure is missing the model falls back on textbook guesses, chosen to err towards large
intermediate results (a join on a column of unknown NDV is assumed to match many rows),
because a join order that underestimates is the one that blows up.

    selectivity of  col = 'x'            1 / NDV(col)
                    col IN (a, b, c)     3 / NDV(col)
                    col < v, BETWEEN     the share of [min, max] the range covers
    rows of L JOIN R ON L.a = R.b        rows(L) * rows(R) / max(NDV(L.a), NDV(R.b))
"""

from __future__ import annotations

import datetime as dt
import math

from sqlglot import exp

from meshlab.planner.plan import ScanPlan
from meshlab.sources.statistics import ColumnStatistics, TableStatistics, as_number

SELECTIVITY: dict[type[exp.Expr], float] = {exp.EQ: 0.1, exp.In: 0.2, exp.Like: 0.25, exp.Between: 0.25, exp.Is: 0.1}
RANGE_SELECTIVITY = 1 / 3
OTHER_SELECTIVITY = 0.5
UNKNOWN_ROWS = 100_000  # a source that cannot tell its size
LOWEST_SELECTIVITY = 1e-6


def statistics(scan: ScanPlan) -> TableStatistics:
    return scan.source.statistics()


def base_rows(scan: ScanPlan) -> float:
    """Rows of the scan's dataset before any condition."""
    rows = statistics(scan).rows
    return max(float(rows), 1.0) if rows is not None else float(UNKNOWN_ROWS)


def is_key(scan: ScanPlan, columns: set[str]) -> bool:
    """Whether ``columns`` hold a key of the scan's dataset (the contract's primary key or a unique column)."""
    dataset = scan.dataset
    keys = {c.name for c in dataset.columns if c.primary_key}
    return bool(keys and keys <= columns) or any((c := dataset.column(n)) is not None and c.unique for n in columns)


def distinct(scan: ScanPlan, column: str, rows_now: float | None = None) -> float:
    """Distinct values of ``column`` in the scan (at most ``rows_now``, its rows after conditions).

    Unknown: the square root of the rows (at most the column's range allows), a guess
    that keeps joins on it looking large.
    """
    base = base_rows(scan)
    if is_key(scan, {column}):
        found = base
    else:
        stats = statistics(scan).column(column)
        found = stats.distinct or min(math.sqrt(base), stats.distinct_bound or base)
    return max(1.0, min(found, rows_now if rows_now is not None else found))


def known_distinct(scan: ScanPlan, column: str) -> float | None:
    """Distinct values of ``column`` where the statistics or the keys tell (else None)."""
    if is_key(scan, {column}):
        return base_rows(scan)
    stats = statistics(scan).column(column)
    return stats.distinct or stats.distinct_bound


def _value(node: exp.Expr):
    """A literal's value as a number or date, else None."""
    if isinstance(node, exp.Paren):
        return _value(node.this)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        text = node.this.name
        if node.to.this in (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                return None
        return _value(node.this)
    if isinstance(node, exp.Neg):
        inner = _value(node.this)
        return -inner if isinstance(inner, (int, float)) else None
    if isinstance(node, exp.Literal):
        if node.is_string:
            try:
                return dt.date.fromisoformat(node.name)
            except ValueError:
                return None
        try:
            return float(node.name)
        except ValueError:
            return None
    return None


def _column_and_value(node: exp.Expr) -> tuple[exp.Column | None, object, bool]:
    """(column, value, flipped) of ``column op value`` or ``value op column``."""
    left, right = node.args.get("this"), node.args.get("expression")
    if isinstance(left, exp.Column) and right is not None:
        return left, _value(right), False
    if isinstance(right, exp.Column) and left is not None:
        return right, _value(left), True
    return None, None, False


def _share_below(stats: ColumnStatistics, value) -> float | None:
    """The share of the column's [min, max] below ``value`` (None when unknown)."""
    low, high, point = as_number(stats.low), as_number(stats.high), as_number(value)
    if low is None or high is None or point is None:
        return None
    if high <= low:
        return 0.0 if point <= low else 1.0
    return min(1.0, max(0.0, (point - low) / (high - low)))


def _range(condition: exp.Expr, scan: ScanPlan) -> float | None:
    if isinstance(condition, exp.Between) and isinstance(condition.this, exp.Column):
        stats = statistics(scan).column(condition.this.name)
        low = _share_below(stats, _value(condition.args["low"]))
        high = _share_below(stats, _value(condition.args["high"]))
        return None if low is None or high is None else max(high - low, 0.0)
    column, value, flipped = _column_and_value(condition)
    if column is None or value is None:
        return None
    below = _share_below(statistics(scan).column(column.name), value)
    if below is None:
        return None
    lower_side = isinstance(condition, (exp.LT, exp.LTE)) != flipped  # column < value
    return below if lower_side else 1.0 - below


def selectivity(condition: exp.Expr, scan: ScanPlan | None = None) -> float:
    """The share of the scan's rows ``condition`` (over its columns alone) keeps."""
    found = _selectivity(condition, scan)
    return min(1.0, max(found, LOWEST_SELECTIVITY))


def _selectivity(condition: exp.Expr, scan: ScanPlan | None) -> float:
    if isinstance(condition, exp.Paren):
        return _selectivity(condition.this, scan)
    if isinstance(condition, exp.And):
        return _selectivity(condition.left, scan) * _selectivity(condition.right, scan)
    if isinstance(condition, exp.Or):
        return min(1.0, _selectivity(condition.left, scan) + _selectivity(condition.right, scan))
    if isinstance(condition, exp.Not):
        return 1.0 - _selectivity(condition.this, scan)
    if scan is not None:
        found = _with_statistics(condition, scan)
        if found is not None:
            return found
    if isinstance(condition, exp.In) and not condition.args.get("query"):
        return min(1.0, 0.05 * len(condition.expressions))
    if isinstance(condition, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return RANGE_SELECTIVITY
    return SELECTIVITY.get(type(condition), OTHER_SELECTIVITY)


def _with_statistics(condition: exp.Expr, scan: ScanPlan) -> float | None:
    if isinstance(condition, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)):
        return _range(condition, scan)
    if isinstance(condition, (exp.EQ, exp.NEQ)):
        column, value, _ = _column_and_value(condition)
        other = condition.expression if column is condition.this else condition.this
        found = known_distinct(scan, column.name) if column is not None else None
        if found is None or isinstance(other, exp.Column):
            return None  # the textbook share: an unknown NDV must not make a filter look sharper
        equal = 1.0 / max(found, 1.0)
        return equal if isinstance(condition, exp.EQ) else 1.0 - equal
    if isinstance(condition, exp.In) and not condition.args.get("query") and isinstance(condition.this, exp.Column):
        found = known_distinct(scan, condition.this.name)
        return None if found is None else min(1.0, len(condition.expressions) / max(found, 1.0))
    return None


def scan_rows(scan: ScanPlan, conditions: list[exp.Expr] | tuple[exp.Expr, ...] | None = None) -> float:
    """Estimated rows the scan yields after ``conditions`` (default: the predicates it is sent)."""
    rows = base_rows(scan)
    for condition in scan.spec.predicates if conditions is None else conditions:
        rows *= selectivity(condition, scan)
    if scan.spec.limit is not None:
        rows = min(rows, float(scan.spec.limit))
    return max(rows, 1.0)
