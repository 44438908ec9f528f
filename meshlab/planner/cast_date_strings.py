"""Pass: a string literal compared with a date or timestamp is that date or timestamp.

Databases cast the literal to the other side's type (DuckDB, PostgreSQL, Trino);
Polars refuses to compare a date with a string, and a SQLite text column compares
it as text (``'2002-3-1' <> '2002-03-01'``). Typed and written in full, the
comparison means the same to every engine and pushes down::

    d_date BETWEEN '2002-3-01' AND '2002-4-1'       (d_date: a DATE column)
    -> d_date BETWEEN CAST('2002-03-01' AS DATE) AND CAST('2002-04-01' AS DATE)

Comparisons (``= <> < <= > >=``, ``IS [NOT] DISTINCT FROM``), ``BETWEEN`` and
``IN`` lists count, wherever they are (CTEs and subqueries too): the other side's
type comes from sqlglot's type annotation over the contracts' types, run only
when the query has a literal shaped like a date (``YYYY-M-D``, a time optional)
in such a place. One that is no valid date where a date is compared
(``'2002-02-30'``) is an error, with its place in the query.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from meshlab.planner.pad_date_literals import DATE_TYPES, TIMESTAMP_TEXT, TIMESTAMP_TYPES, canonical_text
from meshlab.planner.parse import READ_DIALECT
from meshlab.planner.resolve import cached_schema
from meshlab.planner.state import PlanState

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)


def compared_with(literal: exp.Literal) -> exp.Expr | None:
    """What ``literal`` is compared with: the comparison's other side, BETWEEN's or IN's subject."""
    parent = literal.parent
    other: exp.Expr | None = None
    if isinstance(parent, COMPARISONS):
        other = parent.expression if parent.this is literal else parent.this
    elif isinstance(parent, exp.Between) and parent.this is not literal:
        other = parent.this
    elif isinstance(parent, exp.In) and parent.this is not literal and literal in parent.expressions:
        other = parent.this
    return other


def run(state: PlanState) -> PlanState:
    literals = [
        node
        for node in state.tree.find_all(exp.Literal)
        if node.is_string and TIMESTAMP_TEXT.fullmatch(node.name) and compared_with(node) is not None
    ]
    if not literals:
        return state  # no typing needed: most queries stop here
    annotate_types(state.tree, schema=cached_schema(state.datasets), dialect=READ_DIALECT)
    for literal in literals:
        other = compared_with(literal)
        kind = other.type.this if other is not None and other.type is not None else None
        if kind in DATE_TYPES or kind in TIMESTAMP_TYPES:
            text = canonical_text(literal.name, kind, state.sql, literal)
            target = "DATE" if kind in DATE_TYPES else "TIMESTAMP"
            literal.replace(exp.cast(exp.Literal.string(text), exp.DataType.build(target)))
    return state
