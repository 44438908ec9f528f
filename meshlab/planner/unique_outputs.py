"""Pass: result columns a ``*`` expanded to get unique names, as DuckDB names them.

``SELECT * FROM a JOIN b ...`` reads a column of each table twice when both have
it; the second becomes ``id_1`` (the third ``id_2``...), the names DuckDB gives
(:func:`meshlab.planner.name_outputs.unique_name`), where Polars would refuse the
query::

    SELECT * FROM sales.orders o JOIN sales.orders p ON ...
    -> SELECT o.id AS id, ..., p.id AS "id_1", ...

Runs after :mod:`meshlab.planner.resolve` has expanded the stars.
"""

from __future__ import annotations

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
    for projection in select.expressions:
        name = unique_name(projection.alias_or_name, taken)
        taken.add(name)
        if name != projection.alias_or_name:
            alias = exp.to_identifier(name, quoted=True)
            alias.meta["case_sensitive"] = True
            if isinstance(projection, exp.Alias):
                projection.set("alias", alias)
            else:
                projection.replace(exp.alias_(projection.copy(), alias))
    return state
