"""Pass: every result column gets a name, as DuckDB names it, and no name twice.

An unaliased expression is named the way DuckDB names it, so a notebook moved
between the two reads the same columns::

    SELECT country, count(*), sum(plays), plays * 2 FROM ...
    -> SELECT country, COUNT(*) AS "count_star()", SUM(plays) AS "sum(plays)",
              plays * 2 AS "(plays * 2)" FROM ...

The rules: a column is its name (without its table); a function call is its
lower-case name and arguments (``count(*)`` is ``count_star()``); an operator is
parenthesised, ``(a + b)``; anything else is its SQL text. A name met again gets
``_1``, ``_2``... (``SELECT a.id, b.id`` -> ``id``, ``id_1``), as in DuckDB, and
aliases keep the case they were written in (``AS "MyId"`` and ``AS MyId`` give
``MyId``). Names from ``*`` are made unique once the star is expanded
(:mod:`meshlab.planner.unique_outputs`).
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.planner.parse import READ_DIALECT
from meshlab.planner.state import PlanState

MAX_NAME = 64
#: type names as sqlglot writes DuckDB's, and as DuckDB names them in a column name
TYPE_NAMES = (("TEXT", "VARCHAR"), ("INT", "INTEGER"))


def run(state: PlanState) -> PlanState:
    names = name_outputs(state.tree)  # in place: the statement itself stays the root
    spelled = {name.lower(): name for name in names if name != name.lower()}
    return replace(state, output_names=spelled) if spelled else state


def duckdb_name(expression: exp.Expr) -> str:
    """The name DuckDB gives the unaliased result column ``expression``."""
    if isinstance(expression, exp.Column):
        return str(expression.name)
    while isinstance(expression, exp.Paren):  # DuckDB names (a + b) as a + b: (a + b)
        expression = expression.this
    named = exp.Paren(this=expression.copy())  # a root to replace under
    # Innermost first, so an outer node is copied with its children already rewritten.
    for node in reversed(list(named.this.walk())):
        if isinstance(node, exp.Binary) and not isinstance(node, (exp.Dot, exp.PropertyEQ)):
            node.replace(exp.Paren(this=node.copy()))
        elif isinstance(node, exp.Column) and node.table:
            node.replace(exp.column(node.this.copy()))
        elif isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
            in_window = isinstance(node.parent, exp.Window)
            node.replace(exp.Anonymous(this="count" if in_window else "count_star", expressions=[]))
        elif isinstance(node, exp.Neg) and not (isinstance(node.this, exp.Literal) and node.this.is_number):
            node.replace(exp.Paren(this=exp.Neg(this=exp.Paren(this=node.this.copy()))))
    text: str = named.this.sql(dialect=READ_DIALECT, normalize_functions="lower")
    for sqlglot_type, duckdb_type in TYPE_NAMES:
        text = text.replace(f" AS {sqlglot_type})", f" AS {duckdb_type})")
    return text[:MAX_NAME]


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_1``, ``name_2``... when taken (compared without case, as identifiers are)."""
    lowered = {t.lower() for t in taken}
    candidate, n = name, 0
    while candidate.lower() in lowered:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def name_outputs(statement: exp.Expression) -> set[str]:
    """Alias each projection of the statement's (first) SELECT with a unique name; the names.

    Qualification lower-cases every name (DuckDB's identifiers ignore case), which lets
    ``GROUP BY``, ``HAVING`` and ``ORDER BY`` find an alias in any case; the names keep
    their spelling in the result (:mod:`meshlab.planner.unique_outputs` puts it back).
    """
    select: exp.Expr = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return set()
    taken: set[str] = set()
    for projection in list(select.expressions):
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star):
            continue
        if isinstance(projection, exp.Alias):
            wanted = projection.alias
        else:
            wanted = duckdb_name(projection)
        name = unique_name(wanted, taken)
        taken.add(name)
        if name == wanted and isinstance(projection, (exp.Alias, exp.Column)):
            continue
        alias = exp.to_identifier(name, quoted=True)
        if isinstance(projection, exp.Alias):
            projection.set("alias", alias)
        else:
            projection.replace(exp.alias_(projection.copy(), alias))
    return taken
