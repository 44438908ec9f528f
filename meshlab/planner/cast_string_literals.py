"""Pass: a string literal compared with a date, a timestamp, a number or a boolean is one.

Databases cast the literal to the other side's type (DuckDB, PostgreSQL, Trino);
Polars refuses to compare a date or a number with a string, and a SQLite text
column compares ``'2002-3-1'`` as text (``<> '2002-03-01'``). Typed and written in
full, the comparison means the same to every engine and pushes down::

    d_date BETWEEN '2002-3-01' AND '2002-4-1'       (d_date: a DATE column)
    -> d_date BETWEEN CAST('2002-03-01' AS DATE) AND CAST('2002-04-01' AS DATE)
    quantity IN ('7', '5')                          (quantity: an INTEGER column)
    -> quantity IN (7, 5)
    paid = 'true'                                   (paid: a BOOLEAN column; SQLite stores 1)
    -> paid = TRUE

Comparisons (``= <> < <= > >=``, ``IS [NOT] DISTINCT FROM``), ``BETWEEN`` and
``IN`` lists count, wherever they are (CTEs and subqueries too). The other
side's type comes from sqlglot's type annotation over the contracts' types, run
only when the query has a literal shaped like a date (``YYYY-M-D``, a time
optional) or a number in such a place. A literal that is not a value of the
other side's type (``'2002-02-30'`` for a date, ``'7.5'`` for an integer) is an
error, with its place in the query, as in DuckDB.
"""

from __future__ import annotations

import re

from sqlglot import exp

from meshlab.errors import SqlError
from meshlab.planner.annotate import annotate
from meshlab.planner.pad_date_literals import DATE_TYPES, TIMESTAMP_TEXT, TIMESTAMP_TYPES, canonical_text
from meshlab.planner.parse import _position
from meshlab.planner.state import PlanState

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
INTEGER_TEXT = re.compile(r"\s*[-+]?\d+\s*")
NUMBER_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def compared_with(literal: exp.Literal) -> exp.Expr | None:
    """What ``literal`` is compared with: the comparison's other side, BETWEEN's or IN's subject."""
    parent = literal.parent
    other: exp.Expr | None = None
    if isinstance(parent, COMPARISONS):
        other = parent.expression if parent.this is literal else parent.this
    elif isinstance(parent, exp.Between) and parent.this is not literal:
        other = parent.this
    elif isinstance(parent, exp.In) and literal.arg_key == "expressions":  # by place: == compares whole trees
        other = parent.this
    return other


def _number(literal: exp.Literal, data_type: exp.DataType, sql: str) -> exp.Expr:
    text = literal.name.strip()
    if data_type.is_type(*exp.DataType.INTEGER_TYPES) and not INTEGER_TEXT.fullmatch(text):
        raise NotANumberError(f"'{literal.name}' is not an integer", *_position(sql, literal))
    if not NUMBER_TEXT.fullmatch(text):
        raise NotANumberError(f"'{literal.name}' is not a number", *_position(sql, literal))
    return exp.Literal.number(text.lstrip("+"))


BOOLEAN_TEXT = {"true": True, "t": True, "false": False, "f": False}


def _boolean(literal: exp.Literal, sql: str) -> exp.Expr:
    value = BOOLEAN_TEXT.get(literal.name.strip().lower())
    if value is None:
        raise NotANumberError(f"'{literal.name}' is not a boolean (true or false)", *_position(sql, literal))
    return exp.Boolean(this=value)


class NotANumberError(SqlError):
    """A string literal compared with a number is not one."""


def _candidate(node: exp.Literal, kinds: dict[str, set[str]]) -> bool:
    """A literal shaped like a date, or like a number or a boolean compared with a column that
    may be one (``kinds``: the logical types of the datasets' columns, by name). A function
    such as ``substring(phone, 1, 2) IN ('13', '31')`` is text: not worth typing."""
    other = compared_with(node)
    if other is None:
        return False
    text = node.name
    if TIMESTAMP_TEXT.fullmatch(text):
        return True
    other = other.unnest()
    if isinstance(other, exp.Column):
        types = kinds.get(other.name, set())
    elif isinstance(other, (exp.Predicate, exp.Connector, exp.Not)):
        types = {"boolean"}
    elif isinstance(other, exp.Cast):
        types = {"number", "integer", "boolean"}
    else:
        return False
    if NUMBER_TEXT.fullmatch(text):
        return bool(types & {"number", "integer"})
    return text.strip().lower() in BOOLEAN_TEXT and "boolean" in types


def run(state: PlanState) -> PlanState:
    kinds: dict[str, set[str]] = {}
    for dataset in state.datasets.values():
        for column in dataset.columns:
            kinds.setdefault(column.name, set()).add(column.logical_type)
    literals = [node for node in state.tree.find_all(exp.Literal) if node.is_string and _candidate(node, kinds)]
    if not literals:
        return state  # no typing needed: most queries stop here
    annotate(state)
    for literal in literals:
        other = compared_with(literal)
        data_type = other.type if other is not None else None
        if data_type is None:
            continue
        kind = data_type.this
        if kind in DATE_TYPES or kind in TIMESTAMP_TYPES:
            text = canonical_text(literal.name, kind, state.sql, literal)
            target = exp.DataType.Type.DATE if kind in DATE_TYPES else exp.DataType.Type.TIMESTAMP
            literal.replace(exp.cast(exp.Literal.string(text), exp.DataType.build(target)))
        elif data_type.is_type(*exp.DataType.NUMERIC_TYPES):
            literal.replace(_number(literal, data_type, state.sql))
        elif data_type.is_type(exp.DataType.Type.BOOLEAN):
            literal.replace(_boolean(literal, state.sql))
    return state
