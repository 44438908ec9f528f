"""Pass: fold date arithmetic on literals into a literal.

sqlglot writes ``DATE '1994-01-01' + INTERVAL '1' YEAR`` in a form SQLite
does not understand; folded, the predicate pushes down everywhere:

    o_orderdate < DATE '1994-01-01' + INTERVAL '1' YEAR
    -> o_orderdate < CAST('1995-01-01' AS DATE)

Only a DATE literal moved by whole days, weeks, months, quarters or years is
folded (month ends clamped: Jan 31 + 1 month = Feb 28/29); a time of day
(HOUR, MINUTE, ...) and TIMESTAMP literals are left to the engines.

Why not sqlglot's simplifier (``sqlglot.optimizer.simplify``, measured on
sqlglot 30.30 against every case of tests/planner_passes/fold_dates.sql and
the date predicates of TPC-H Q1-Q22): with python-dateutil installed it folds
the singular units the same way, clamping included, and all nine TPC-H
predicates identically. It misses:

- plural units, which is how ``INTERVAL '90 days'``, ``INTERVAL '2 weeks'``
  and ``INTERVAL 2 QUARTERS`` parse (unit ``DAYS``, ``WEEKS``, ``QUARTERS``):
  left unfolded, so they do not push down to SQLite;
- everything, silently, without python-dateutil, which meshlab does not
  depend on (its interval arithmetic is ``relativedelta``): a plain install
  would stop pushing TPC-H's date ranges down;

and it folds ``DATE '1994-01-01' + INTERVAL '1' HOUR`` into a DATE, dropping
the hour. The whole simplifier also rewrites the rest of the query. So the
folding stays here: the unit table and month arithmetic below are the part
sqlglot lacks without a new dependency.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import replace
from typing import cast

from sqlglot import exp

from meshlab.planner.state import PlanState

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


def _date_literal(node: exp.Expr) -> dt.date | None:
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE and isinstance(node.this, exp.Literal):
        try:
            return dt.date.fromisoformat(node.this.name)
        except ValueError:
            return None
    return None


def _interval(node: exp.Expr) -> tuple[int, str] | None:
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


def _fold(node: exp.Expr) -> exp.Expr:
    if isinstance(node, (exp.Add, exp.Sub)):
        day = _date_literal(node.left)
        interval = _interval(node.right)
        if day is None and isinstance(node, exp.Add):  # INTERVAL + DATE
            day, interval = _date_literal(node.right), _interval(node.left)
        if day is not None and interval is not None:
            amount, kind = interval
            folded = shift(day, -amount if isinstance(node, exp.Sub) else amount, kind)
            return exp.cast(exp.Literal.string(folded.isoformat()), exp.DataType.build(exp.DataType.Type.DATE))
    return node


def run(state: PlanState) -> PlanState:
    tree = fold_dates(state.tree)
    return state if tree is state.tree else replace(state, tree=tree)


def fold_dates(tree: exp.Expression) -> exp.Expression:
    """Fold every ``date literal ± interval literal`` in ``tree`` (returns the tree)."""
    # Only sums and differences can fold: visiting just those (in transform's pre-order) spares a
    # Python call per node of the tree. A folded node's operands are literals: nothing inside it folds.
    for node in list(tree.find_all(exp.Add, exp.Sub, bfs=False)):
        folded = _fold(node)
        if folded is not node:
            if node.parent is None:  # the tree itself is the sum
                return cast(exp.Expression, folded)
            node.replace(folded)
    return tree
