"""Parse one read-only statement; the literal a ``:name`` parameter's value binds as.

>>> parse_statement("SELECT * FROM t WHERE c = :c").sql()
'SELECT * FROM t WHERE c = :c'
>>> literal("x'y").sql()
"'x''y'"
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError

from meshlab.errors import ParameterError, SqlSyntaxError, UnsupportedQueryError
from meshlab.sql_shape import check_text, check_tree

READ_DIALECT = "duckdb"

# Statement kinds that only read.
QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
# Statements that write, refused anywhere in a read query (a CTE's INSERT, ...).
WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Merge, exp.Alter)


def _position(sql: str, node: exp.Expr | None) -> tuple[int | None, int | None]:
    """1-based line and column of ``node`` in ``sql`` when sqlglot kept its position."""
    if node is None:
        return None, None
    meta = next((n.meta for n in node.walk() if n.meta.get("start") is not None or n.meta.get("line")), {})
    start = meta.get("start")
    if start is None:
        line, col = meta.get("line"), meta.get("col")
        return (line, col) if line is not None else (None, None)
    before = sql[:start]
    return before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1


def parse_statement(sql: str) -> exp.Expression:
    """The single read statement in ``sql``; anything else is a :class:`SqlError`."""
    if not sql or not sql.strip():
        raise SqlSyntaxError("the query is empty")
    tokens = check_text(sql, READ_DIALECT)
    try:
        dialect = Dialect.get_or_raise(READ_DIALECT)
        statements = [s for s in dialect.parser().parse(tokens, sql) if s is not None]
    except RecursionError:
        raise UnsupportedQueryError("the query is nested too deeply to be read") from None
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        near = (first.get("highlight") or "").strip()
        what = first.get("description") or "invalid SQL"
        message = f"{what} near '{near}'" if near else what
        raise SqlSyntaxError(message, first.get("line"), first.get("col")) from exc
    except TokenError as exc:
        raise SqlSyntaxError(f"cannot read the SQL: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the parser trips on some malformed input (TypeError, ...)
        raise SqlSyntaxError(f"invalid SQL: the parser failed on it ({type(exc).__name__})") from exc
    if not statements:
        raise SqlSyntaxError("the query is empty")
    if len(statements) > 1:
        line, col = _position(sql, statements[1])
        raise UnsupportedQueryError(f"only one statement per query; found {len(statements)}", line, col)
    statement = statements[0]
    if not isinstance(statement, QUERY_TYPES):
        kind = statement.key.upper()
        raise UnsupportedQueryError(f"only read queries (SELECT, WITH, set operations) are accepted, not {kind}")
    # One search for any of them (compiled with sqlglotc), not a Python loop over every node.
    node = statement.find(*WRITES, exp.Into)
    if isinstance(node, exp.Into):
        raise UnsupportedQueryError("SELECT ... INTO is not allowed in a read query", *_position(sql, node))
    if node is not None:
        raise UnsupportedQueryError(f"{node.key.upper()} is not allowed in a read query", *_position(sql, node))
    check_tree(statement)
    return statement


def literal(value: Any, name: str = "?") -> exp.Expression:
    """A SQL literal holding ``value``: data, never SQL text."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float, decimal.Decimal)):
        if isinstance(value, float) and value != value:
            raise ParameterError(f"parameter :{name} is NaN, which has no SQL literal")
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build(exp.DataType.Type.TIMESTAMP))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build(exp.DataType.Type.DATE))
    raise ParameterError(f"parameter :{name} has a value of type {type(value).__name__}, which cannot be bound")


def placeholders(statement: exp.Expression) -> list[str]:
    """Names of the ``:name`` placeholders in ``statement``, in order of appearance."""
    return list(dict.fromkeys(p.name for p in statement.find_all(exp.Placeholder) if p.name not in ("", "?")))
