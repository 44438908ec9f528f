"""The local query as Polars' SQL reads it, with DuckDB's meaning.

The planner's tree is DuckDB SQL; Polars' SQL interface reads PostgreSQL's
spelling, so the tree is written out with sqlglot's PostgreSQL generator. Where
that spelling means something else to Polars, or names a function Polars lacks,
a copy of the tree is first rewritten into what Polars computes as DuckDB does
(docs/sql.md lists each):

- ``TRY_CAST`` stays a TRY_CAST (PostgreSQL has none, so sqlglot writes CAST, which raises);
- ``log10(x)`` / ``log(b, x)``: Polars' ``LOG`` takes the base second; ``log(x)`` is base 10;
- ``x IS TRUE`` / ``x IS FALSE`` are FALSE on NULL (Polars gives NULL);
- ``bool_and`` / ``bool_or`` are ``MIN`` / ``MAX`` of the booleans;
- ``position`` / ``strpos`` count characters, not bytes, and are NULL on NULL;
  ``contains`` is NULL on NULL; ``strlen`` is the byte length;
- ``strftime``, ``dayname``, ``monthname``, ``isodow``, ``make_date`` and
  ``date_diff`` (day, week, month, quarter, year) in Polars' own functions;
- ``LIKE … ESCAPE`` (which Polars refuses) as an anchored regular expression;
- a sort key that is a CASE of integer literals, typed (Polars cannot sort it with other keys);
- ``quantile_cont``/``quantile_disc``/``median`` as Polars names them (sqlglot writes
  PERCENTILE_CONT ... WITHIN GROUP), ``var_pop``/``stddev_pop`` from the sample variance;
- ``substring(s, -3)`` from the end (``RIGHT``); ``COLLATE nocase`` as ``lower()``;
  ``IGNORE NULLS`` refused (Polars would drop it silently).

A construct that cannot be written for Polars is refused with an
:class:`~meshlab.errors.UnsupportedQueryError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from meshlab.errors import UnsupportedQueryError

DIALECT = "postgres"


def polars_sql(tree: exp.Expression, pretty: bool = False, identify: bool = True) -> str:
    """``tree`` (DuckDB SQL, not changed) as the SQL text Polars runs, every identifier quoted
    (``identify=False``: only where needed, for people to read)."""
    return for_polars(tree.copy()).sql(dialect=DIALECT, identify=identify, pretty=pretty)


def for_polars(tree: exp.Expression) -> exp.Expression:
    """Rewrite ``tree`` in place (innermost first) into what Polars computes as DuckDB does."""
    for node in reversed(list(tree.walk())):
        rewrite = REWRITES.get(type(node))
        if rewrite is None:
            continue
        replaced: exp.Expression | None = rewrite(node)
        if replaced is not None and replaced is not node:
            if node is tree:
                return replaced
            node.replace(replaced)
    return tree


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _null_if_any_null(value: exp.Expr, *inputs: exp.Expr) -> exp.Case:
    """``value``, NULL when one of ``inputs`` is NULL."""
    condition: exp.Expr = exp.or_(*(exp.Is(this=i.copy(), expression=exp.Null()) for i in inputs))
    return exp.Case(ifs=[exp.If(this=condition, true=exp.Null())], default=value)


def _try_cast(node: exp.TryCast) -> exp.Expr:
    # TRY_CAST(x AS type): an alias whose name is the type's text reads as the same words.
    type_text = node.to.sql(dialect=DIALECT)
    return _call("TRY_CAST", exp.Alias(this=node.this, alias=exp.Var(this=type_text)))


def _log(node: exp.Log) -> exp.Expr:
    if node.expression is None:  # DuckDB's log(x) is base 10
        return _call("LOG10", node.this)
    return _call("LOG", node.expression, node.this)


def _is(node: exp.Is) -> exp.Expr | None:
    truth = node.expression
    if not isinstance(truth, exp.Boolean):
        return None
    value = node.this if truth.this else exp.Not(this=exp.paren(node.this))
    return exp.Coalesce(this=value, expressions=[exp.false()])


def _position(node: exp.StrPosition) -> exp.Expr | None:
    if node.args.get("position") is not None or node.args.get("occurrence") is not None:
        return None
    text, part = node.this, node.args["substr"]
    found = _call("STRPOS", text.copy(), part.copy())
    # The characters before the first occurrence, plus one (STRPOS counts bytes).
    chars = exp.Add(
        this=exp.Length(this=_call("SPLIT_PART", text.copy(), part.copy(), exp.Literal.number(1))),
        expression=exp.Literal.number(1),
    )
    position = exp.Case(
        ifs=[exp.If(this=exp.EQ(this=found, expression=exp.Literal.number(0)), true=exp.Literal.number(0))],
        default=chars,
    )
    return _null_if_any_null(position, text, part)


def _contains(node: exp.Contains) -> exp.Expr:
    text, part = node.this, node.expression
    found = exp.GT(this=_call("STRPOS", text.copy(), part.copy()), expression=exp.Literal.number(0))
    return _null_if_any_null(found, text, part)


def _anonymous(node: exp.Anonymous) -> exp.Expr | None:
    if str(node.this).lower() == "strlen":
        return _call("OCTET_LENGTH", *node.expressions)
    return None


def _strftime(node: exp.TimeToStr) -> exp.Expr:
    return _call("STRFTIME", node.this, node.args["format"])


def _named_day(pattern: str) -> Callable[[exp.Func], exp.Expr]:
    return lambda node: _call("STRFTIME", node.this, exp.Literal.string(pattern))


def _isodow(node: exp.DayOfWeekIso) -> exp.Expr:
    return exp.Extract(this=exp.var("ISODOW"), expression=node.this)


def _make_date(node: exp.DateFromParts) -> exp.Expr:
    def padded(part: exp.Expr, width: int) -> exp.Expr:
        text = exp.cast(part, exp.DataType.build(exp.DataType.Type.VARCHAR))
        return _call("LPAD", text, exp.Literal.number(width), exp.Literal.string("0"))

    # || (not CONCAT, which skips NULLs): a NULL part makes the date NULL.
    parts = [padded(node.args["year"], 4), padded(node.args["month"], 2), padded(node.args["day"], 2)]
    dashed = exp.DPipe(
        this=exp.DPipe(this=exp.DPipe(this=parts[0], expression=exp.Literal.string("-")), expression=parts[1]),
        expression=exp.DPipe(this=exp.Literal.string("-"), expression=parts[2]),
    )
    return _call("DATE", dashed)


def _days(value: exp.Expr) -> exp.Expr:
    return exp.cast(
        exp.cast(value, exp.DataType.build(exp.DataType.Type.DATE)), exp.DataType.build(exp.DataType.Type.INT)
    )


def _extract(part: str, value: exp.Expr) -> exp.Expr:
    return exp.Extract(this=exp.var(part), expression=value)


def _date_diff(node: exp.DateDiff) -> exp.Expr:
    unit = (node.text("unit") or "DAY").upper().rstrip("S")
    end, start = node.this, node.expression
    if unit == "DAY":
        return exp.paren(exp.Sub(this=_days(end.copy()), expression=_days(start.copy())))
    if unit == "WEEK":
        days = exp.paren(exp.Sub(this=_days(end.copy()), expression=_days(start.copy())))
        return exp.paren(exp.IntDiv(this=days, expression=exp.Literal.number(7)))
    per_year = {"YEAR": 1, "QUARTER": 4, "MONTH": 12}.get(unit)
    if per_year is None:
        raise UnsupportedQueryError(
            f"date_diff('{unit.lower()}', ...) is not supported; use day, week, month, quarter or year"
        )

    def count(value: exp.Expr) -> exp.Expr:
        years = exp.Mul(this=_extract("YEAR", value.copy()), expression=exp.Literal.number(per_year))
        if unit == "YEAR":
            return _extract("YEAR", value.copy())
        within = _extract("MONTH", value.copy()) if unit == "MONTH" else _extract("QUARTER", value.copy())
        return exp.paren(exp.Add(this=years, expression=within))

    return exp.paren(exp.Sub(this=count(end), expression=count(start)))


def _like_regex(pattern: str, escape: str) -> str:
    """A LIKE pattern with an escape character as an anchored regular expression."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return "^(?s:" + "".join(out) + ")$"


def _escape(node: exp.Escape) -> exp.Expr:
    like, escape = node.this, node.expression
    if not isinstance(like, (exp.Like, exp.ILike)):
        raise UnsupportedQueryError(f"ESCAPE is supported with LIKE and ILIKE, not {like.key.upper()}")
    pattern = like.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string and isinstance(escape, exp.Literal)):
        raise UnsupportedQueryError("LIKE ... ESCAPE needs a literal pattern and escape character")
    if len(escape.name) != 1:
        raise UnsupportedQueryError(f"the ESCAPE of a LIKE is one character, not '{escape.name}'")
    regex = _like_regex(pattern.name, escape.name)
    if isinstance(like, exp.ILike):
        regex = "(?i)" + regex
    matches = _call("REGEXP_LIKE", like.this, exp.Literal.string(regex))
    return exp.Not(this=matches) if like.args.get("negate") else matches


def _ordered(node: exp.Ordered) -> None:
    """A CASE of integer literals as a sort key is typed for Polars, which cannot sort it beside
    other keys while its integers have no width yet."""
    key = node.this
    if isinstance(key, exp.Case):
        results = [branch.args.get("true") for branch in key.args.get("ifs") or []] + [key.args.get("default")]
        if all(isinstance(r, exp.Literal) and r.is_int for r in results if r is not None):
            key.replace(exp.cast(key.copy(), exp.DataType.build(exp.DataType.Type.BIGINT)))
    return None


def _quantile(name: str) -> Callable[[exp.Func], exp.Expr]:
    return lambda node: _call(name, node.this, node.expression)


def _variance_pop(node: exp.Func) -> exp.Expr:
    """The population variance from the sample one (Polars has no VAR_POP): 0 for one value."""
    count = exp.Count(this=node.this.copy())
    scaled = exp.Div(
        this=exp.Mul(
            this=_call("VAR_SAMP", node.this.copy()),
            expression=exp.paren(exp.Sub(this=count.copy(), expression=exp.Literal.number(1))),
        ),
        expression=exp.cast(count.copy(), exp.DataType.build(exp.DataType.Type.DOUBLE)),
    )
    one = exp.EQ(this=count, expression=exp.Literal.number(1))
    return exp.Case(ifs=[exp.If(this=one, true=exp.Literal.number("0.0"))], default=scaled)


def _substring(node: exp.Substring) -> exp.Expr | None:
    """A negative start counts from the end, as in DuckDB (Polars reads the whole string)."""
    start = node.args.get("start")
    if not (isinstance(start, exp.Neg) and isinstance(start.this, exp.Literal) and start.this.is_int):
        return None
    if node.args.get("length") is not None:
        raise UnsupportedQueryError("substring with a negative start and a length is not supported; use right(...)")
    return _call("RIGHT", node.this, start.this)


def _ignore_nulls(node: exp.IgnoreNulls) -> exp.Expr:
    raise UnsupportedQueryError(f"{node.this.sql(dialect='duckdb')} IGNORE NULLS is not supported on the Polars engine")


def _collate(node: exp.Collate) -> exp.Expr:
    collation = node.expression.name.lower()
    if collation == "nocase":
        return exp.Lower(this=node.this)
    if collation in ("binary", "c", "posix"):
        plain: exp.Expr = node.this
        return plain
    raise UnsupportedQueryError(
        f"COLLATE {node.expression.name} is not supported: meshlab compares text by code point (docs/sql.md)"
    )


REWRITES: dict[type[exp.Expr], Callable] = {
    exp.Ordered: _ordered,
    exp.PercentileCont: _quantile("QUANTILE_CONT"),
    exp.PercentileDisc: _quantile("QUANTILE_DISC"),
    exp.Median: lambda node: _call("MEDIAN", node.this),
    exp.VariancePop: _variance_pop,
    exp.StddevPop: lambda node: exp.Sqrt(this=_variance_pop(node)),
    exp.Substring: _substring,
    exp.IgnoreNulls: _ignore_nulls,
    exp.Collate: _collate,
    exp.TryCast: _try_cast,
    exp.Log: _log,
    exp.Is: _is,
    exp.LogicalAnd: lambda node: exp.Min(this=node.this),
    exp.LogicalOr: lambda node: exp.Max(this=node.this),
    exp.StrPosition: _position,
    exp.Contains: _contains,
    exp.Anonymous: _anonymous,
    exp.TimeToStr: _strftime,
    exp.Dayname: _named_day("%A"),
    exp.Monthname: _named_day("%B"),
    exp.DayOfWeekIso: _isodow,
    exp.DateFromParts: _make_date,
    exp.DateDiff: _date_diff,
    exp.Escape: _escape,
}
