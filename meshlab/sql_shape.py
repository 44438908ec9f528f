"""Limits on the shape of a query, checked before anything deep looks at it.

A foundation module (like :mod:`meshlab.limits`): the planner checks every query with
it, the governance layer every policy's SQL, so it depends on neither.

One query must not take the process down: Polars segfaults on a 3,000-term
``UNION ALL``, panics on ``DECIMAL(100, 2)``, and a pure-Python sqlglot raises
``RecursionError`` from about 40 nested parentheses. So the text is checked
before parsing (characters, nesting depth on the tokens: no recursion) and the
tree after it (set-operation terms, operator chains, recursion, sampling,
types). docs/reliability.md lists the limits.

>>> check_text("SELECT " + "(" * 40 + "1" + ")" * 40)
Traceback (most recent call last):
...
meshlab.errors.UnsupportedQueryError: line 1, column 40: the query nests 33 levels deep; at most 32 are allowed
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from meshlab.errors import SqlSyntaxError, UnsupportedQueryError

#: nested parentheses, subqueries, function calls and CASE expressions
MAX_NESTING = 32
#: SELECTs joined by UNION / INTERSECT / EXCEPT in one query
MAX_SET_OPERATION_TERMS = 128
#: operands of one chain of a binary operator (``a OR b OR ...``, ``x + y + ...``)
MAX_CHAIN_TERMS = 256
#: characters of SQL text
MAX_SQL_CHARS = 1_000_000
#: the largest precision of a DECIMAL (Polars' and most databases' limit)
MAX_DECIMAL_PRECISION = 38
#: characters one LPAD / RPAD / REPEAT may produce (Polars allocates whatever is asked)
MAX_STRING_LENGTH = 10_000_000

_ODD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_OPENERS = {TokenType.L_PAREN: TokenType.R_PAREN, TokenType.CASE: TokenType.END}
_CHAINS = (exp.Connector, exp.Binary)
_CHECKED = (exp.SetOperation, *_CHAINS, exp.With, exp.TableSample, exp.DataType, exp.Pad, exp.Repeat)


def _line_column(sql: str, offset: int) -> tuple[int, int]:
    before = sql[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def check_text(sql: str, dialect: str = "duckdb") -> list[Token]:
    """Refuse SQL text no parser should be given: odd characters, too long, nested too deep.

    Returns the tokens, for the parser.
    """
    if len(sql) > MAX_SQL_CHARS:
        raise UnsupportedQueryError(f"the query is {len(sql):,} characters long; at most {MAX_SQL_CHARS:,} are allowed")
    odd = _ODD_CHARACTERS.search(sql)
    if odd is not None:
        char = odd.group(0)
        what = "a NUL character" if char == "\x00" else f"a lone surrogate U+{ord(char):04X} (not valid Unicode)"
        raise SqlSyntaxError(f"the SQL contains {what}", *_line_column(sql, odd.start()))
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except TokenError as exc:
        raise SqlSyntaxError(f"cannot read the SQL: {exc}") from exc
    open_kinds: list[TokenType] = []
    for token in tokens:
        if token.token_type in _OPENERS:
            open_kinds.append(_OPENERS[token.token_type])
            if len(open_kinds) > MAX_NESTING:
                raise UnsupportedQueryError(
                    f"the query nests {len(open_kinds)} levels deep; at most {MAX_NESTING} are allowed",
                    token.line,
                    token.col,
                )
        elif open_kinds and token.token_type is open_kinds[-1]:
            open_kinds.pop()
    return tokens


def _chain_length(node: exp.Binary) -> int:
    """Operands of the chain of ``node``'s operator that ``node`` heads (left-deep, as parsed)."""
    length, kind = 1, type(node)
    operand: exp.Expr = node
    while isinstance(operand, kind):
        length += 1
        operand = operand.left
    return length


def _check_type(node: exp.DataType) -> None:
    if node.this in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL) and node.expressions:
        params = [p.this for p in node.expressions]
        try:
            precision = int(params[0].name)
            scale = int(params[1].name) if len(params) > 1 else 0
        except (ValueError, AttributeError):
            raise UnsupportedQueryError(
                f"DECIMAL needs whole numbers for precision and scale, not {node.sql()}"
            ) from None
        if not 1 <= precision <= MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
            raise UnsupportedQueryError(
                f"{node.sql()}: a DECIMAL's precision must be 1 to {MAX_DECIMAL_PRECISION} "
                "and its scale 0 to the precision"
            )


def _check_length(node: exp.Expression) -> None:
    size = node.args.get("expression") if isinstance(node, exp.Pad) else node.args.get("times")
    if isinstance(size, exp.Literal) and not size.is_string and size.name.isdigit():
        if int(size.name) > MAX_STRING_LENGTH:
            raise UnsupportedQueryError(
                f"{node.sql(dialect='duckdb')[:60]}: a string of {int(size.name):,} characters is more than the "
                f"{MAX_STRING_LENGTH:,} allowed"
            )


def check_tree(statement: exp.Expr) -> None:
    """Refuse a parsed statement whose shape meshlab does not run: see the module's limits."""
    set_terms = 1
    # Only the kinds checked below (found by sqlglot's own search, compiled with sqlglotc), in the
    # order of a walk of every node.
    for node in statement.find_all(*_CHECKED):
        if isinstance(node, exp.SetOperation):
            set_terms += 1
            if set_terms > MAX_SET_OPERATION_TERMS:
                raise UnsupportedQueryError(
                    f"the query combines more than {MAX_SET_OPERATION_TERMS} SELECTs with UNION, INTERSECT "
                    f"or EXCEPT; at most {MAX_SET_OPERATION_TERMS} are allowed"
                )
        elif isinstance(node, _CHAINS) and not isinstance(node.parent, type(node)):
            terms = _chain_length(node)
            if terms > MAX_CHAIN_TERMS:
                raise UnsupportedQueryError(
                    f"one {node.key.upper()} chains {terms} operands; at most {MAX_CHAIN_TERMS} are allowed "
                    "(for many values, use IN (...))"
                )
        elif isinstance(node, exp.With) and node.args.get("recursive"):
            raise UnsupportedQueryError("WITH RECURSIVE is not supported: a recursive query may never end")
        elif isinstance(node, exp.TableSample):
            raise UnsupportedQueryError("TABLESAMPLE is not supported: the engine would ignore it and read every row")
        elif isinstance(node, exp.DataType):
            _check_type(node)
        elif isinstance(node, (exp.Pad, exp.Repeat)):
            _check_length(node)
