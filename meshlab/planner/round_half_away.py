"""Pass: rounding as DuckDB rounds, on every engine.

Polars rounds a float half to even (``ROUND(2.5)`` is 2) and casts by truncation
(``CAST(8.125 AS DECIMAL(9,2))`` is 8.12); DuckDB, PostgreSQL and Trino round half
away from zero (3, 8.13). Where the operand's type says Polars would differ
(sqlglot's type annotation over the contracts' types), the expression is written
so Polars computes DuckDB's answer:

``ROUND(x, n)`` on a DOUBLE
    ``x * 10^n`` rounded half away from zero, then divided back -- DuckDB's own
    algorithm, so the binary-float results agree digit for digit (``ROUND(0.285,
    2)`` is 0.28 in both: 0.285 is stored as 0.28499...)::

        ROUND(x, 2) -> (SIGN(x * 100.0) * FLOOR(ABS(x * 100.0) + 0.5)) / 100.0

    A negative ``n`` (``ROUND(1234.5, -2)`` = 1200), which Polars refuses, takes the
    same form, on integers and decimals too (the result keeps the operand's type).
``CAST(x AS <integer>)`` from a DOUBLE or DECIMAL
    ``CAST(ROUND(x) AS ...)`` with Polars' own ``ROUND``: half to even on a DOUBLE
    (what DuckDB's float-to-integer cast does), half away from zero on a DECIMAL.
``CAST(x AS DECIMAL(p, s))`` from a DOUBLE, or a DECIMAL of a larger scale
    the value rounded half away from zero to ``s`` places first.

Decimal ``ROUND`` with ``n >= 0`` is left alone: Polars already rounds it half away.
A cast of a decimal literal (``CAST(-2.5 AS INTEGER)``) is computed here: Polars reads
the literal as a float.
"""

from __future__ import annotations

import decimal

from sqlglot import exp

from meshlab.planner.annotate import annotate
from meshlab.planner.state import PlanState

T = exp.DataType.Type
FLOATS = (T.DOUBLE, T.FLOAT)
INTEGERS = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.INT128, T.UTINYINT, T.USMALLINT, T.UINT, T.UBIGINT)
DECIMALS = (T.DECIMAL,)
#: the width of the signed integer types
INTEGER_BITS = {T.TINYINT: 8, T.SMALLINT: 16, T.INT: 32, T.BIGINT: 64}
#: operands written without parentheses around them
SIMPLE = (exp.Column, exp.Literal, exp.Func, exp.Cast, exp.Paren)
#: the mark of a ROUND meant half to even (:func:`_native_round`)
HALF_EVEN = "round_half_even"
#: Polars' ROUND as written, which this pass leaves alone (an ``exp.Round`` would be rewritten)
NATIVE_ROUND = "ROUND"


def _native_round(value: exp.Expr, places: int | None = None, half_even: bool = False) -> exp.Expr:
    """Polars' ROUND, as written. ``half_even`` marks a DOUBLE operand: Polars rounds it half to
    even, which is what is meant; an engine rounding otherwise (Spark) reads the mark."""
    args = [value] if places is None else [value, exp.Literal.number(places)]
    node = exp.Anonymous(this=NATIVE_ROUND, expressions=args)
    if half_even:
        node.meta[HALF_EVEN] = True
    return node


def _kind(node: exp.Expr) -> exp.DType | None:
    return node.type.this if node.type is not None else None


def _scale(data_type: exp.DataType) -> int | None:
    """The scale of a DECIMAL(p, s) type (None when it is not written)."""
    params = data_type.expressions
    if len(params) < 2:
        return 0 if params else None
    value = params[1].this
    literal = value.this if isinstance(value, exp.Literal) else value
    try:
        return int(str(literal))
    except ValueError:
        return None


def half_away(value: exp.Expr, places: int) -> exp.Expr:
    """``value`` (a DOUBLE) rounded half away from zero to ``places`` (negative: tens, hundreds...).

    ``SIGN(y) * FLOOR(ABS(y) + 0.5)`` for ``y = value * 10^places`` (``value / 10^-places``
    when negative, as DuckDB scales), then scaled back: ``y`` is written twice (a nested
    ROUND grows the text twofold, not more). It equals C's ``round(y)`` but for the one
    double just below 0.5 and odd integers beyond 2^52, where ``+ 0.5`` itself rounds.
    """
    operand = value if isinstance(value, SIMPLE) else exp.paren(value)
    if places > 0:
        scaled: exp.Expr = exp.Mul(this=operand, expression=_power(places))
    elif places < 0:
        scaled = exp.Div(this=operand, expression=_power(-places))
    else:
        scaled = operand
    magnitude = exp.Add(this=exp.Abs(this=scaled.copy()), expression=exp.Literal.number("0.5"))
    rounded = exp.Mul(this=exp.Anonymous(this="SIGN", expressions=[scaled]), expression=exp.Floor(this=magnitude))
    if places > 0:
        return exp.Div(this=exp.paren(rounded), expression=_power(places))
    if places < 0:
        return exp.Mul(this=exp.paren(rounded), expression=_power(-places))
    return rounded


def _power(places: int) -> exp.Expr:
    return exp.Literal.number(repr(10.0**places))


def _places(node: exp.Round) -> int | None:
    decimals = node.args.get("decimals")
    if decimals is None:
        return 0
    if isinstance(decimals, exp.Neg) and isinstance(decimals.this, exp.Literal) and decimals.this.is_int:
        return -int(decimals.this.name)
    if isinstance(decimals, exp.Literal) and decimals.is_int:
        return int(decimals.name)
    return None


def _round(node: exp.Round) -> exp.Expr | None:
    """DuckDB's ROUND where Polars' would differ or refuse; None: Polars' is right."""
    places, value = _places(node), node.this
    kind = _kind(value)
    if places is None:
        return None
    if kind in FLOATS or (kind not in INTEGERS + DECIMALS and places != 0 and value.find(exp.Div)):
        return half_away(value.copy(), places)
    if places < 0 and kind in INTEGERS + DECIMALS and value.type is not None:
        as_double = exp.cast(value.copy(), exp.DataType.build(exp.DataType.Type.DOUBLE))
        return exp.cast(half_away(as_double, places), value.type.copy())
    return None


def _cast(node: exp.Cast) -> exp.Expr | None:
    """The operand rounded as DuckDB's cast rounds it; None when Polars' cast is right."""
    value, target = node.this, node.to
    kind = _kind(value)
    if isinstance(value, exp.Literal) or kind not in FLOATS + DECIMALS:
        return None
    if target.this in INTEGERS:
        return _native_round(value.copy(), half_even=kind in FLOATS)
    if target.this in DECIMALS:
        scale = _scale(target)
        if scale is None:
            return None
        if kind in FLOATS:
            return half_away(value.copy(), scale)
        current = _scale(value.type) if value.type is not None else None
        if current is not None and current > scale:
            return _native_round(value.copy(), scale)
    return None


def _needs_types(tree: exp.Expression) -> bool:
    if tree.find(exp.Round):
        return True
    return any(
        node.to.this in INTEGERS + DECIMALS and not isinstance(node.this, exp.Literal)
        for node in tree.find_all(exp.Cast)
    )


def _number_literal(node: exp.Expr) -> decimal.Decimal | None:
    """The value of a numeric literal, negated or not (``-2.5``)."""
    sign = 1
    if isinstance(node, exp.Neg):
        node, sign = node.this, -1
    if isinstance(node, exp.Literal) and node.is_number:
        try:
            return sign * decimal.Decimal(node.name)
        except decimal.InvalidOperation:
            return None
    return None


def fold_literal_cast(node: exp.Cast) -> exp.Expr | None:
    """``CAST(-2.5 AS INTEGER)`` -> ``-3``: a decimal literal cast, rounded half away here
    (Polars would read the literal as a float and truncate it)."""
    value = _number_literal(node.this)
    if value is None:
        return None
    if isinstance(node, exp.TryCast):  # out of the type's range: NULL (Polars raises on a literal)
        bits = INTEGER_BITS.get(node.to.this)
        if bits is not None and not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return exp.cast(exp.Null(), node.to.copy())
        return None
    if node.to.this in INTEGERS:
        rounded = value.to_integral_value(rounding=decimal.ROUND_HALF_UP)
    elif node.to.this in DECIMALS and (scale := _scale(node.to)) is not None:
        rounded = value.quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    else:
        return None
    if rounded == value:
        return None
    number = exp.Literal.number(str(abs(rounded)))
    return exp.cast(exp.Neg(this=number) if rounded < 0 else number, node.to.copy())


def run(state: PlanState) -> PlanState:
    for cast in list(state.tree.find_all(exp.Cast)):
        folded = fold_literal_cast(cast)
        if folded is not None:
            cast.replace(folded)
    if not _needs_types(state.tree):
        return state
    annotate(state)
    # Innermost first: an outer rewrite copies its operand, rewritten already.
    for node in reversed(list(state.tree.find_all(exp.Round, exp.Cast))):
        if isinstance(node, exp.Round):
            rewritten = _round(node)
            if rewritten is not None:
                node.replace(rewritten)
        elif isinstance(node, exp.Cast):
            operand = _cast(node)
            if operand is not None:
                node.this.replace(operand)
    return state
