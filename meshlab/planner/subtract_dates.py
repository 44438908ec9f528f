"""Pass: a date minus a date is a number of days, as in DuckDB and PostgreSQL.

Polars subtracts two dates into a duration (``59 days``), which then neither
compares with an integer nor sums like one; DuckDB and PostgreSQL answer ``59``.
Where sqlglot's types say both sides are dates, the difference is written as
days since the epoch, which Polars computes as integers::

    d_date - DATE '2002-01-01'
    -> CAST(d_date AS INT) - CAST(CAST('2002-01-01' AS DATE) AS INT)

Spark does not cast dates to integers: it reads the mark this pass leaves on the
subtraction (:data:`DATE_DIFFERENCE`) and writes ``DATEDIFF(a, b)``.
Typing runs only when a subtraction has a date column or a date literal on a side.
"""

from __future__ import annotations

from sqlglot import exp

from meshlab.planner.annotate import annotate
from meshlab.planner.pad_date_literals import DATE_TYPES
from meshlab.planner.state import PlanState

#: the mark of a subtraction of two dates (read by the Spark engine)
DATE_DIFFERENCE = "date_difference"


def _maybe_date(node: exp.Expr, date_columns: set[str]) -> bool:
    if isinstance(node, exp.Column):
        return node.name in date_columns
    return isinstance(node, exp.Cast) and node.to.this in DATE_TYPES


def run(state: PlanState) -> PlanState:
    date_columns = {c.name for ds in state.datasets.values() for c in ds.columns if c.logical_type == "date"}
    subtractions = [
        node
        for node in state.tree.find_all(exp.Sub)
        if _maybe_date(node.this, date_columns) or _maybe_date(node.expression, date_columns)
    ]
    if not subtractions:
        return state
    annotate(state)
    for node in subtractions:
        left, right = node.this, node.expression
        if not (left.type and right.type and left.type.this in DATE_TYPES and right.type.this in DATE_TYPES):
            continue
        days = exp.Sub(
            this=exp.cast(left.copy(), exp.DataType.build(exp.DataType.Type.INT)),
            expression=exp.cast(right.copy(), exp.DataType.build(exp.DataType.Type.INT)),
        )
        days.meta[DATE_DIFFERENCE] = True
        node.replace(days)
    return state
