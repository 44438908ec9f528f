"""Pass: ``/`` divides as DOUBLE, as DuckDB does, whatever the operands' types.

DuckDB (the engine meshlab's answers are compared with, and the SQL dialect it
reads) divides integers and decimals alike in floating point: ``7 / 2`` is 3.5,
``CAST(1 AS DECIMAL(9,2)) / 0`` is ``inf`` and ``0.0 / 0`` is ``NaN``. Polars
divides two decimals as decimals and raises on a zero divisor, and sqlglot's
PostgreSQL rendering (what Polars is handed) makes only non-decimal left operands
DOUBLE. Written out, every division means the same on every engine::

    cast(amc AS DECIMAL(15,4)) / cast(pmc AS DECIMAL(15,4))
    -> CAST(CAST(amc AS DECIMAL(15,4)) AS DOUBLE) / CAST(pmc AS DECIMAL(15,4))

Integer division stays what it is: ``//`` (DuckDB's, truncating toward zero).
Division never goes down to a database (a zero divisor raises in PostgreSQL and
is NULL in SQLite): sources do not take ``/``.
"""

from __future__ import annotations

from sqlglot import exp

from meshlab.planner.state import PlanState

FLOATS = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
#: the mark of the casts this pass adds
DIVIDEND = "dividend"


def run(state: PlanState) -> PlanState:
    for division in list(state.tree.find_all(exp.Div)):
        left = division.this
        if isinstance(left, exp.Cast) and left.to.this in FLOATS:
            continue
        as_double = exp.cast(left.copy(), exp.DataType.build(exp.DataType.Type.DOUBLE))
        as_double.meta[DIVIDEND] = True  # not the user's cast: later passes need not type it
        left.replace(as_double)
        division.set("typed", False)
        division.set("safe", False)
    return state
