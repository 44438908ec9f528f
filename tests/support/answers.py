"""Is an answer right? Comparing a system's answer to a query with DuckDB's (the oracle).

For the TPC-DS conformance tests and benchmark: ORDER BY keys are matched to output
columns (by position, by name, or as an expression over output columns evaluated on both
answers), and under a LIMIT the rows tied with the last row's keys may be any of the
oracle's tied rows (the oracle also runs without the LIMIT to know them). Values are
compared by :func:`conftest.assert_same_rows`.
"""

from __future__ import annotations

import duckdb
import polars as pl
import sqlglot
from conftest import assert_same_rows
from sqlglot import exp


def is_trivial(answer: pl.DataFrame) -> bool:
    """No rows, or every value NULL (or NaN: 0/0 in DuckDB)."""
    nothing = [s.is_null() | s.is_nan() if s.dtype.is_float() else s.is_null() for s in answer.get_columns()]
    return answer.height == 0 or all(bool(s.all()) for s in nothing)


def without_limit(sql: str) -> str | None:
    """``sql`` without its outermost ``LIMIT n`` (the last two tokens), None when it has none."""
    from sqlglot.tokens import TokenType

    tree = sqlglot.parse_one(sql)
    if tree.args.get("limit") is None:
        return None
    tokens = sqlglot.Tokenizer().tokenize(sql)
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    if len(tokens) < 2 or tokens[-2].token_type != TokenType.LIMIT or tokens[-1].token_type != TokenType.NUMBER:
        raise ValueError(f"the outermost LIMIT is not at the end of: {sql}")
    cut = sql[: tokens[-2].start]
    tree.set("limit", None)
    assert sqlglot.parse_one(cut) == tree, f"cutting the LIMIT changed more:\n{cut}"
    return cut


def order_keys(sql: str, columns: list[str]) -> list[int | str]:
    """The outermost ORDER BY keys: an output position, or the SQL of an expression over the
    output columns (named as in ``columns``, DuckDB's names) to evaluate on the answers."""
    tree = sqlglot.parse_one(sql)
    order = tree.args.get("order")
    if order is None:
        return []
    assert isinstance(tree, exp.Query), f"not a query: {sql}"
    lowered = [c.lower() for c in columns]
    selects = tree.selects
    names = [s.alias_or_name.lower() for s in selects]
    bodies = [s.unalias() for s in selects]
    if any(isinstance(s, exp.Star) for s in selects):
        names, bodies = lowered, []
    keys: list[int | str] = []
    for ordered in order.expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and not key.is_string:
            keys.append(int(key.this) - 1)
        elif key in bodies:
            keys.append(bodies.index(key))
        elif isinstance(key, exp.Column) and key.name.lower() in names:
            keys.append(names.index(key.name.lower()))
        elif isinstance(key, exp.Column) and key.name.lower() in lowered:
            keys.append(lowered.index(key.name.lower()))
        else:
            keys.append(_over_outputs(key.copy(), bodies, names, lowered, sql))
    return keys


def _over_outputs(key: exp.Expression, bodies: list, names: list[str], lowered: list[str], sql: str) -> str:
    """``key`` with every sub-expression that is a projection replaced by that output column."""

    def swap(node: exp.Expression) -> exp.Expression:
        if node in bodies:
            return exp.column(lowered[bodies.index(node)], quoted=True)
        if isinstance(node, exp.Column):
            name = node.name.lower()
            if name in names:
                return exp.column(lowered[names.index(name)], quoted=True)
        return node

    rewritten = key.transform(swap)
    for column in rewritten.find_all(exp.Column):
        if column.table or column.name.lower() not in lowered:
            raise ValueError(f"ORDER BY key {key.sql()} is not computable from the output of: {sql}")
    return rewritten.sql(dialect="duckdb")


def _with_keys(frame: pl.DataFrame, columns: list[str], expressions: list[str]) -> pl.DataFrame:
    """``frame`` plus one column per key expression (evaluated by DuckDB, the frame's
    columns named as ``columns``)."""
    if not expressions:
        return frame
    named = pl.DataFrame([s.alias(n.lower()) for s, n in zip(frame.get_columns(), columns)])
    con = duckdb.connect()
    con.register("answer", named)
    select = ", ".join(f"{e} AS __key{i}" for i, e in enumerate(expressions))
    keys: pl.DataFrame = con.sql(f"SELECT {select} FROM answer").pl()  # noqa: S608 - expressions from the parsed query
    con.close()
    return pl.concat([frame, keys], how="horizontal")


def _tied_with(frame: pl.DataFrame, positions: list[int], row: int) -> pl.Series:
    """Which rows of ``frame`` have the keys of row ``row`` (NULL equal to NULL)."""
    keys = _columns(frame, positions)
    same = pl.all_horizontal(
        pl.col(c).eq_missing(pl.lit(v, dtype=keys[c].dtype)) for c, v in zip(keys.columns, keys.row(row))
    )
    return keys.select(same).to_series()


def _columns(frame: pl.DataFrame, positions: list[int]) -> pl.DataFrame:
    """The columns at ``positions`` as ``k0``, ``k1``, ... (names may repeat in answers)."""
    return pl.DataFrame([frame.to_series(p).alias(f"k{i}") for i, p in enumerate(positions)])


def _assert_contained(rows: pl.DataFrame, pool: pl.DataFrame) -> None:
    """Every row of ``rows`` is one of ``pool``'s (as a multiset; numbers to 6 significant digits)."""

    def canon(frame: pl.DataFrame) -> pl.DataFrame:
        out = []
        for i, s in enumerate(frame.get_columns()):
            if s.dtype.is_numeric():
                s = s.cast(pl.Float64)
                s = pl.Series([None if v is None else float(f"{v:.6g}") for v in s.to_list()], dtype=pl.Float64)
            elif s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
                s = s.cast(pl.Datetime("us"))
            else:
                s = s.cast(pl.String)
            out.append(s.alias(f"c{i}"))
        return pl.DataFrame(out).group_by(pl.all(), maintain_order=True).len()

    got, have = canon(rows), canon(pool)
    joined = got.join(have, on=[c for c in got.columns if c != "len"], how="left", nulls_equal=True, suffix="_pool")
    missing = joined.filter(pl.col("len_pool").is_null() | (pl.col("len_pool") < pl.col("len")))
    assert missing.height == 0, f"rows not in the oracle's answer (ties at the LIMIT considered):\n{missing}"


def assert_same_answer(actual: pl.DataFrame, expected: pl.DataFrame, unlimited: pl.DataFrame | None, sql: str) -> None:
    """``actual`` is a right answer to ``sql`` whose oracle answers are ``expected`` (as run)
    and ``unlimited`` (without the outermost LIMIT; None when there is none).

    Without a LIMIT cutting rows: :func:`conftest.assert_same_rows` on the ORDER BY keys.
    With one: the key sequence must equal the oracle's, the rows before the last key's ties
    must be the oracle's, and the tied rows any of the oracle's rows with those keys.
    """
    columns = expected.columns
    keys = order_keys(sql, columns)
    expressions = [k for k in keys if isinstance(k, str)]
    positions, extra = [], 0
    for key in keys:
        if isinstance(key, str):
            positions.append(expected.width + extra)
            extra += 1
        else:
            positions.append(key)
    assert actual.width == expected.width, f"column count differs: got {actual.columns}, expected {columns}"
    actual = _with_keys(actual, columns, expressions)
    expected = _with_keys(expected, columns, expressions)
    if unlimited is None or unlimited.height <= expected.height:
        assert_same_rows(actual, expected, ordered=bool(keys), order_by=positions)
        return
    unlimited = _with_keys(unlimited, columns, expressions)
    assert actual.height == expected.height, f"row count differs: got {actual.height}, expected {expected.height}"
    if not keys:
        _assert_contained(actual, unlimited)
        return
    assert_same_rows(_columns(actual, positions), _columns(expected, positions), ordered=True)
    tied = _tied_with(unlimited, positions, expected.height - 1)
    tie = tied.arg_true()[0]
    assert_same_rows(actual.head(tie), unlimited.head(tie), ordered=True, order_by=positions)
    _assert_contained(actual.slice(tie), unlimited.filter(tied))
