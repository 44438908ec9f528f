"""Pass: rewrite QUALIFY, which Polars' SQL engine would silently ignore (polars #25270).

    SELECT o_id FROM t QUALIFY row_number() OVER (ORDER BY amount) = 1
    -> SELECT o_id FROM (SELECT o_id, ROW_NUMBER() OVER (ORDER BY amount) AS _w FROM t) AS _t WHERE _w = 1

sqlglot's own ``eliminate_qualify`` transform does the rewrite: a filter over a
subquery carrying the window value.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from sqlglot import exp, transforms

from meshlab.planner.state import PlanState


def run(state: PlanState) -> PlanState:
    if not state.tree.find(exp.Qualify):
        return state
    tree = state.tree.transform(transforms.eliminate_qualify, copy=False)
    return replace(state, tree=cast(exp.Expression, tree))  # typed by sqlglot as its Expr trait
