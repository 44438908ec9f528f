"""Pass: name unaliased result expressions by their SQL text, as DuckDB does.

    SELECT country, count(*) FROM ...
    -> SELECT country, COUNT(*) AS "COUNT(*)" FROM ...

(qualification would call the second ``_col_1``). Columns, stars and aliased
expressions keep their names; a name taken twice gets a ``_`` appended.
"""

from __future__ import annotations

from sqlglot import exp

from meshlab.planner.parse import READ_DIALECT
from meshlab.planner.state import PlanState

MAX_NAME = 64


def run(state: PlanState) -> PlanState:
    name_outputs(state.tree)  # in place: the statement itself stays the root
    return state


def name_outputs(statement: exp.Expression) -> exp.Expression:
    """Alias each unnamed projection of the statement's (first) SELECT with its SQL text."""
    select: exp.Expr = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return statement
    taken = {e.alias_or_name for e in select.expressions}
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)) or projection.find(exp.Star) is projection:
            continue
        name = projection.sql(dialect=READ_DIALECT)[:MAX_NAME]
        while name in taken:
            name += "_"
        taken.add(name)
        projection.replace(exp.alias_(projection.copy(), name, quoted=True))
    return statement
