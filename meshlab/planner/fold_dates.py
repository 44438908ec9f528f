"""Fold date arithmetic on literals into a literal.

sqlglot writes ``DATE '1994-01-01' + INTERVAL '1' YEAR`` in a form SQLite
does not understand; folded, the predicate pushes down everywhere:

    o_orderdate < DATE '1994-01-01' + INTERVAL '1' YEAR
    -> o_orderdate < CAST('1995-01-01' AS DATE)
"""

from __future__ import annotations

import calendar
import datetime as dt

from sqlglot import exp

UNITS = {
    "DAY": "days",
    "DAYS": "days",
    "WEEK": "weeks",
    "WEEKS": "weeks",
    "MONTH": "months",
    "MONTHS": "months",
    "YEAR": "years",
    "YEARS": "years",
    "QUARTER": "quarters",
    "QUARTERS": "quarters",
}


def _date_literal(node: exp.Expression) -> dt.date | None:
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE and isinstance(node.this, exp.Literal):
        try:
            return dt.date.fromisoformat(node.this.name)
        except ValueError:
            return None
    return None


def _interval(node: exp.Expression) -> tuple[int, str] | None:
    if not isinstance(node, exp.Interval):
        return None
    value, unit = node.this, node.unit
    if not isinstance(value, exp.Literal):
        return None
    text = value.name.strip()
    unit_name = unit.name.upper() if unit is not None else ""
    if not unit_name and " " in text:  # INTERVAL '90 days'
        text, unit_name = text.split(None, 1)
        unit_name = unit_name.upper()
    try:
        amount = int(text)
    except ValueError:
        return None
    kind = UNITS.get(unit_name)
    return (amount, kind) if kind else None


def shift(day: dt.date, amount: int, kind: str) -> dt.date:
    """``day`` moved by ``amount`` units, month ends clamped as SQL engines do."""
    if kind == "days":
        return day + dt.timedelta(days=amount)
    if kind == "weeks":
        return day + dt.timedelta(weeks=amount)
    months = amount * {"months": 1, "quarters": 3, "years": 12}[kind]
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _fold(node: exp.Expression) -> exp.Expression:
    if isinstance(node, (exp.Add, exp.Sub)):
        day = _date_literal(node.left)
        interval = _interval(node.right)
        if day is None and isinstance(node, exp.Add):  # INTERVAL + DATE
            day, interval = _date_literal(node.right), _interval(node.left)
        if day is not None and interval is not None:
            amount, kind = interval
            folded = shift(day, -amount if isinstance(node, exp.Sub) else amount, kind)
            return exp.cast(exp.Literal.string(folded.isoformat()), exp.DataType.build("DATE"))
    return node


def fold_dates(tree: exp.Expression) -> exp.Expression:
    """Fold every ``date literal ± interval literal`` in ``tree`` (returns the tree)."""
    return tree.transform(_fold, copy=False)
