"""Pass: result columns a ``*`` expanded to get unique names, as DuckDB names them.

``SELECT * FROM a JOIN b ...`` reads a column of each table twice when both have
it; the second becomes ``id_1`` (the third ``id_2``...), the names DuckDB gives
(:func:`meshlab.planner.name_outputs.unique_name`), where Polars would refuse the
query::

    SELECT * FROM sales.orders o JOIN sales.orders p ON ...
    -> SELECT o.id AS id, ..., p.id AS "id_1", ...

Runs after :mod:`meshlab.planner.resolve` has expanded the stars, and gives the
result columns back the spelling :mod:`meshlab.planner.name_outputs` recorded (``AS
MyId`` is ``MyId``; qualification lower-cased it so GROUP BY or HAVING find it in any
case), in the ORDER BY keys that name them too.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from meshlab.planner.name_outputs import unique_name
from meshlab.planner.state import PlanState


def run(state: PlanState) -> PlanState:
    select: exp.Expr = state.tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return state
    taken: set[str] = set()
    spelled = state.output_names
    for projection in select.expressions:
        current = projection.alias_or_name
        name = unique_name(spelled.get(current, current), taken)
        taken.add(name)
        if name != current:
            alias = exp.to_identifier(name, quoted=True)
            if isinstance(projection, exp.Alias):
                projection.set("alias", alias)
            else:
                projection.replace(exp.alias_(projection.copy(), alias))
    if spelled:
        _order_by_spelling(state.tree, spelled)
    return state


def _order_by_spelling(statement: exp.Expression, spelled: Mapping[str, str]) -> None:
    """ORDER BY keys naming an output (lower-cased by qualification) name it as it is spelled."""
    order = statement.args.get("order")
    if order is None:
        return
    for key in order.find_all(exp.Column):
        name = spelled.get(key.name)
        if not key.table and name is not None:
            key.set("this", exp.to_identifier(name, quoted=True))
