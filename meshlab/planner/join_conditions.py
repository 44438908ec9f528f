"""Pass: what an inner join's ON holds beyond equalities of its two sides is a filter.

Polars joins on equalities of expressions of one side each (``a.id + 1 = b.id``)
and refuses the rest: a side naming both tables (``b.id - a.id = 1``), or an
inequality between columns of different types (``a.qty > b.price``). For an
inner join such a condition means the same as a WHERE conjunct, so it moves
there, where it can also go down to a source::

    FROM a JOIN b ON a.id = b.id AND a.qty > b.price
    -> FROM a JOIN b ON a.id = b.id WHERE a.qty > b.price

A join left with no equality becomes a CROSS JOIN filtered by the WHERE (DuckDB
plans those as a nested-loop join). Outer joins keep their ON, and nothing moves
out of a FROM that has a RIGHT or FULL join (the filter would then drop the
rows the outer join keeps).
"""

from __future__ import annotations

from sqlglot import exp

from meshlab.planner.state import PlanState


def _tables(node: exp.Expr) -> set[str]:
    return {c.table for c in node.find_all(exp.Column)}


def _equi(condition: exp.Expr) -> bool:
    """An equality Polars joins on: each side names one table, not the same one."""
    if not isinstance(condition, exp.EQ):
        return False
    left, right = _tables(condition.this), _tables(condition.expression)
    return len(left) == 1 and len(right) == 1 and left != right


def _inner(join: exp.Join) -> bool:
    return not join.side and join.kind in ("", "INNER") and join.args.get("on") is not None


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    return list(node.flatten()) if isinstance(node, exp.And) else [node]


def run(state: PlanState) -> PlanState:
    for select in state.tree.find_all(exp.Select):
        joins = select.args.get("joins") or []
        if any(join.side in ("RIGHT", "FULL") for join in joins):
            continue
        moved: list[exp.Expr] = []
        for join in joins:
            if not _inner(join):
                continue
            kept: list[exp.Expr] = []
            for condition in _conjuncts(join.args["on"].unnest()):
                (kept if _equi(condition.unnest()) else moved).append(condition)
            if len(kept) == len(_conjuncts(join.args["on"].unnest())):
                continue
            if kept:
                join.set("on", exp.and_(*(c.copy() for c in kept)))
            else:
                join.set("on", None)
                join.set("kind", "CROSS")
        if moved:
            select.where(*(c.copy() for c in moved), copy=False)
    return state
