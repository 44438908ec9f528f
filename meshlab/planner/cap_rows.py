"""Pass: cap the answer's rows (``plan_query(..., limit=)``) with a LIMIT in the tree, so it can push down.

SELECT o_id FROM shop.orders            (limit 10)
-> SELECT o_id FROM shop.orders LIMIT 10
SELECT o_id FROM shop.orders LIMIT 5    (limit 10: the statement's own LIMIT is lower)
-> unchanged
SELECT 1 UNION SELECT 2                 (limit 10)
-> SELECT * FROM (SELECT 1 UNION SELECT 2) AS _capped LIMIT 10
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.errors import ParameterError
from meshlab.planner.state import PlanState


def run(state: PlanState) -> PlanState:
    if state.limit is None:
        return state
    capped = cap_rows(state.tree, state.limit)
    return state if capped is state.tree else replace(state, tree=capped)


def cap_rows(statement: exp.Expression, limit: int) -> exp.Expression:
    """``statement`` returning at most ``limit`` rows, as a LIMIT in the tree so it can push down."""
    if limit < 0:
        raise ParameterError(f"a row limit must be zero or more, not {limit}")
    current = statement.args.get("limit")
    if isinstance(statement, exp.Select) and (current is None or statement.args.get("offset") is None):
        value = current.expression if current is not None else None
        if isinstance(value, exp.Literal) and not value.is_string and int(value.name) <= limit:
            return statement
        return statement.limit(limit, copy=False)
    if not isinstance(statement, exp.Query):  # parse_statement accepts queries only
        raise TypeError(f"cannot cap the rows of a {type(statement).__name__}")
    return exp.select("*").from_(statement.subquery("_capped")).limit(limit)
