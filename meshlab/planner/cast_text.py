"""Pass: casts from and to text read and write values as DuckDB does.

- Text to a number ignores surrounding spaces (``CAST(' 12 ' AS INTEGER)`` is 12;
  Polars refuses it); to an integer it reads a decimal or an exponent rounded half away
  (``'3.7'`` is 4, ``'1e3'`` 1000, digits exactly); to a decimal it rounds to the scale half away from zero
  (``CAST('2.345' AS DECIMAL(10,2))`` is 2.35; Polars truncates to 2.34)::

      CAST(s AS DECIMAL(10,2))
      -> CAST(ROUND(CAST(TRIM(s) AS DECIMAL(38,18)), 2) AS DECIMAL(10,2))

- Text to a boolean reads true/t/yes/y/1 and false/f/no/n/0 in any case; other text is
  NULL (Polars cannot cast text to booleans; DuckDB raises where TRY_CAST gives NULL).
- A timestamp as text has no zero fraction (``'2002-03-01 08:30:00'``, and
  ``'… 08:30:00.5'``), where Polars writes ``'2002-03-01 08:30:00.000000'``.

``TRY_CAST`` gets the same treatment and stays a TRY_CAST. Types come from
:mod:`meshlab.planner.annotate`, asked for only when the query casts a column.
"""

from __future__ import annotations

from sqlglot import exp

from meshlab.planner.annotate import annotate
from meshlab.planner.divide_as_double import DIVIDEND
from meshlab.planner.round_half_away import half_away
from meshlab.planner.state import PlanState

T = exp.DataType.Type
TEXT = (T.VARCHAR, T.TEXT, T.CHAR, T.NCHAR, T.NVARCHAR)
TIMESTAMPS = (T.TIMESTAMP, T.DATETIME, T.TIMESTAMPNTZ)
#: the scale text is read at before it is rounded to the target's
READ_SCALE = 18


def _to_integer(node: exp.Cast, trimmed: exp.Expr) -> exp.Expr:
    """Text to an integer as DuckDB reads it: digits exactly, else a number (``'3.7'``,
    ``'1e3'``) rounded half away from zero; anything else NULL (TRY_CAST) or an error."""
    exact = exp.TryCast(this=trimmed.copy(), to=node.to.copy())
    as_double = node.__class__(this=trimmed.copy(), to=exp.DataType.build(exp.DataType.Type.DOUBLE))
    rounded = node.__class__(this=half_away(as_double, 0), to=node.to.copy())
    return exp.Coalesce(this=exact, expressions=[rounded])


TRUE_TEXT = ("true", "t", "yes", "y", "1")
FALSE_TEXT = ("false", "f", "no", "n", "0")


def _to_boolean(node: exp.Cast) -> exp.Expr:
    """Text to a boolean as DuckDB reads it (case aside, exactly these words); other text is NULL."""
    lowered = exp.Lower(this=node.this.copy())

    def among(words: tuple[str, ...]) -> exp.Expr:
        return exp.In(this=lowered.copy(), expressions=[exp.Literal.string(w) for w in words])

    return exp.Case(
        ifs=[exp.If(this=among(TRUE_TEXT), true=exp.true()), exp.If(this=among(FALSE_TEXT), true=exp.false())],
        default=exp.cast(exp.Null(), exp.DataType.build(exp.DataType.Type.BOOLEAN)),
    )


def _to_number(node: exp.Cast) -> exp.Expr | None:
    target = node.to
    trimmed = exp.Trim(this=node.this.copy())
    if not target.is_type(*exp.DataType.NUMERIC_TYPES):
        return None
    if target.is_type(*exp.DataType.INTEGER_TYPES):
        return _to_integer(node, trimmed)
    if not target.is_type(T.DECIMAL) or len(target.expressions) < 2:
        return node.__class__(this=trimmed, to=target.copy())
    scale = target.expressions[1].this
    wide = node.__class__(this=trimmed, to=exp.DataType.build(f"DECIMAL(38, {READ_SCALE})"))
    rounded = exp.Anonymous(this="ROUND", expressions=[wide, scale.copy()])
    return node.__class__(this=rounded, to=target.copy())


def _timestamp_text(node: exp.Cast) -> exp.Expr:
    text = node.copy()
    no_zeros = exp.RegexpReplace(
        this=text, expression=exp.Literal.string(r"(\.[0-9]*?)0+$"), replacement=exp.Literal.string("\\1")
    )
    return exp.RegexpReplace(this=no_zeros, expression=exp.Literal.string(r"\.$"), replacement=exp.Literal.string(""))


def _may_rewrite(node: exp.Cast) -> bool:
    """A cast this pass may rewrite, by its target: a number, a boolean, text."""
    if node.meta.get(DIVIDEND):  # a division's own cast: a number already
        return False
    return node.to.is_type(*exp.DataType.NUMERIC_TYPES) or node.to.this in (T.BOOLEAN, *TEXT)


def run(state: PlanState) -> PlanState:
    casts = list(state.tree.find_all(exp.Cast))
    if not casts:
        return state
    if any(not isinstance(c.this, exp.Literal) and _may_rewrite(c) for c in casts):
        annotate(state)
    for node in reversed(casts):
        operand = node.this
        if isinstance(operand, exp.Literal):
            kind = T.VARCHAR if operand.is_string else None
        else:
            kind = operand.type.this if operand.type is not None else None
        rewritten: exp.Expr | None
        if kind in TEXT and node.to.this == T.BOOLEAN:
            rewritten = _to_boolean(node)
        elif kind in TEXT:
            rewritten = _to_number(node)
        elif kind in TIMESTAMPS and node.to.this in TEXT:
            rewritten = _timestamp_text(node)
        else:
            rewritten = None
        if rewritten is not None:
            node.replace(rewritten)
    return state
