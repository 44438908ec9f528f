"""What a database received: the query inside each logged or traced statement, as a sqlglot tree.

A driver may wrap the query it sends (``COPY (SELECT ...) TO STDOUT``, ``DECLARE ... CURSOR
FOR SELECT ...``): :func:`received_query` unwraps it, :func:`scans_of` finds the SELECTs
reading one table. Assertions inspect these trees, never the text (``tests/test_pushdown.py``,
``tests/support/placements.py``).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType


def _query_inside(text: str, dialect: str) -> exp.Query | None:
    """The first SELECT/WITH of ``text`` up to its closing parenthesis (or the end)."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError:
        return None
    for i, token in enumerate(tokens):
        if token.token_type not in (TokenType.SELECT, TokenType.WITH):
            continue
        end = len(text)
        if i and tokens[i - 1].token_type == TokenType.L_PAREN:
            depth = 0
            for closing in tokens[i - 1 :]:
                depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(closing.token_type, 0)
                if depth == 0:
                    end = closing.start
                    break
        try:
            tree = sqlglot.parse_one(text[token.start : end], read=dialect)
        except ParseError:
            return None
        return tree if isinstance(tree, exp.Query) else None
    return None


def received_query(statement: str, dialect: str = "postgres") -> exp.Query | None:
    """The query a received statement runs, unwrapping COPY and cursor declarations."""
    try:
        tree = sqlglot.parse_one(statement, read=dialect)
    except ParseError:
        return _query_inside(statement, dialect)
    if isinstance(tree, exp.Query):
        return tree
    if isinstance(tree, exp.Copy):
        source = tree.this
        if isinstance(source, exp.Subquery):
            return source.this
        if isinstance(source, exp.Schema):  # COPY t (a, b) TO ...
            return exp.select(*(exp.column(c.name) for c in source.expressions)).from_(source.this)
        if isinstance(source, exp.Table):  # COPY t TO ...: the whole table
            return exp.select("*").from_(source)
        return None
    if isinstance(tree, exp.Command) and tree.expression is not None:
        return _query_inside(tree.expression.name, dialect)
    return None


def scans_of(statements: list[str], table: str, dialect: str = "postgres") -> list[exp.Select]:
    """Every SELECT, in the received statements, that reads ``table`` directly."""
    selects = []
    for statement in statements:
        query = received_query(statement, dialect)
        if query is None:
            continue
        for node in query.find_all(exp.Table):
            if node.name.lower() == table and isinstance(node.parent_select, exp.Select):
                selects.append(node.parent_select)
    return selects


def conjuncts(select: exp.Select) -> list[exp.Expression]:
    """The AND-ed terms of a SELECT's WHERE (empty when it has none)."""
    where = select.args.get("where")
    if where is None:
        return []
    terms, stack = [], [where.this]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren):
            stack.append(node.this)
        elif isinstance(node, exp.And):
            stack.extend([node.left, node.right])
        else:
            terms.append(node)
    return terms


def column_names(node: exp.Expression) -> set[str]:
    return {column.name.lower() for column in node.find_all(exp.Column) if column.name}


def reads_star(select: exp.Select) -> bool:
    return any(
        isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and projection.is_star)
        for projection in select.expressions
    )


def literal_value(node: exp.Expression) -> str | None:
    """The text of a literal, also when cast (``DATE 'x'``, ``'x'::date``, ``CAST('x' AS DATE)``)."""
    while isinstance(node, (exp.Cast, exp.Paren)):
        node = node.this
    return node.this if isinstance(node, exp.Literal) else None


_MIRROR = {exp.EQ: exp.EQ, exp.NEQ: exp.NEQ, exp.LT: exp.GT, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.GTE: exp.LTE}


def comparison(term: exp.Expression) -> tuple[str, type, str] | None:
    """``(column, operator class, literal text)`` of ``column <op> literal`` (either side)."""
    if type(term) not in _MIRROR:
        return None
    left, right, operator = term.left, term.right, type(term)
    if not isinstance(left, exp.Column):
        left, right, operator = right, left, _MIRROR[operator]
    value = literal_value(right)
    if not isinstance(left, exp.Column) or value is None:
        return None
    return left.name.lower(), operator, value


def limit_of(select: exp.Select) -> int | None:
    """The smallest literal LIMIT on ``select`` or on a query wrapping it in the statement."""
    limits = []
    node: exp.Expression | None = select
    while node is not None:
        limit = node.args.get("limit") if isinstance(node, exp.Query) else None
        count = limit.args.get("count" if isinstance(limit, exp.Fetch) else "expression") if limit else None
        if count is not None and literal_value(count) is not None:
            limits.append(int(literal_value(count)))
        node = node.parent
    return min(limits) if limits else None
