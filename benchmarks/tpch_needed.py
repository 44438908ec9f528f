"""What layout F's databases must send at least: computed independently of meshlab's planner.

For every reference to a database table (orders, customer in PostgreSQL; part, partsupp,
supplier in SQLite) the predicates a database could evaluate are written out by hand
below, from the TPC-H text: single-table conditions without subqueries, including those
implied by an OR of conjunctions (Q19's part conditions). ``None`` means every row.
The rows a table must send are those meeting any of its references' conditions, counted
by DuckDB over the plain parquet files. The columns a table must send are those the query
names (found with sqlglot's ``qualify``, not meshlab's code).
"""

from __future__ import annotations

from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-H builder is support.tpch
import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from support.tpch import LAYOUT_F_POSTGRES_TABLES as POSTGRES_TABLES
from support.tpch import LAYOUT_F_SQLITE_TABLES as SQLITE_TABLES
from support.tpch import TABLES

DATABASE_TABLES = POSTGRES_TABLES + SQLITE_TABLES
ALL = None
Q16_PART = "p_brand <> 'Brand#45' AND p_type NOT LIKE 'MEDIUM POLISHED%' AND p_size IN (49, 14, 23, 45, 19, 3, 36, 9)"
Q19_PART = " OR ".join(
    f"(p_brand = '{brand}' AND p_container IN ({containers}) AND p_size BETWEEN 1 AND {size})"
    for brand, containers, size in (
        ("Brand#12", "'SM CASE', 'SM BOX', 'SM PACK', 'SM PKG'", 5),
        ("Brand#23", "'MED BAG', 'MED BOX', 'MED PKG', 'MED PACK'", 10),
        ("Brand#34", "'LG CASE', 'LG BOX', 'LG PACK', 'LG PKG'", 15),
    )
)
Q22_CODES = "substring(c_phone, 1, 2) IN ('13', '31', '23', '29', '30', '18', '17')"

# query -> database table -> one condition per reference of the table in the query
CONDITIONS: dict[int, dict[str, list[str | None]]] = {
    1: {},
    2: {"part": ["p_size = 15 AND p_type LIKE '%BRASS'"], "supplier": [ALL, ALL], "partsupp": [ALL, ALL]},
    3: {"customer": ["c_mktsegment = 'BUILDING'"], "orders": ["o_orderdate < DATE '1995-03-15'"]},
    4: {"orders": ["o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-10-01'"]},
    5: {
        "customer": [ALL],
        "orders": ["o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1995-01-01'"],
        "supplier": [ALL],
    },
    6: {},
    7: {"supplier": [ALL], "orders": [ALL], "customer": [ALL]},
    8: {
        "part": ["p_type = 'ECONOMY ANODIZED STEEL'"],
        "supplier": [ALL],
        "orders": ["o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'"],
        "customer": [ALL],
    },
    9: {"part": ["p_name LIKE '%green%'"], "supplier": [ALL], "partsupp": [ALL], "orders": [ALL]},
    10: {"customer": [ALL], "orders": ["o_orderdate >= DATE '1993-10-01' AND o_orderdate < DATE '1994-01-01'"]},
    11: {"partsupp": [ALL, ALL], "supplier": [ALL, ALL]},
    12: {"orders": [ALL]},
    13: {"customer": [ALL], "orders": ["o_comment NOT LIKE '%special%requests%'"]},
    14: {"part": [ALL]},
    15: {"supplier": [ALL]},
    16: {"partsupp": [ALL], "part": [Q16_PART], "supplier": ["s_comment LIKE '%Customer%Complaints%'"]},
    17: {"part": ["p_brand = 'Brand#23' AND p_container = 'MED BOX'"]},
    18: {"customer": [ALL], "orders": [ALL]},
    19: {"part": [Q19_PART]},
    20: {"supplier": [ALL], "partsupp": [ALL], "part": ["p_name LIKE 'forest%'"]},
    21: {"supplier": [ALL], "orders": ["o_orderstatus = 'F'"]},
    22: {"customer": [Q22_CODES, f"c_acctbal > 0.00 AND {Q22_CODES}"], "orders": [ALL]},
}


_Q19_QUANTITY = "(l_quantity BETWEEN 1 AND 11 OR l_quantity BETWEEN 10 AND 20 OR l_quantity BETWEEN 20 AND 30)"
# lineitem's single-table conditions, by query (one per reference), from the TPC-H text:
# what a source holding lineitem must send at least (benchmarks/lakehouse_sources.py).
LINEITEM: dict[int, list[str | None]] = {
    1: ["l_shipdate <= DATE '1998-09-02'"],
    2: [],
    3: ["l_shipdate > DATE '1995-03-15'"],
    4: ["l_commitdate < l_receiptdate"],
    5: [ALL],
    6: ["l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' AND l_discount BETWEEN 0.05 AND 0.07 "
        "AND l_quantity < 24"],
    7: ["l_shipdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'"],
    8: [ALL],
    9: [ALL],
    10: ["l_returnflag = 'R'"],
    11: [],
    12: ["l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate "
         "AND l_receiptdate >= DATE '1994-01-01' AND l_receiptdate < DATE '1995-01-01'"],
    13: [],
    14: ["l_shipdate >= DATE '1995-09-01' AND l_shipdate < DATE '1995-10-01'"],
    15: ["l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-04-01'"] * 2,
    16: [],
    17: [ALL, ALL],
    18: [ALL, ALL],
    19: [f"l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON' AND {_Q19_QUANTITY}"],
    20: ["l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01'"],
    21: ["l_receiptdate > l_commitdate", ALL, "l_receiptdate > l_commitdate"],
    22: [],
}  # fmt: skip


def conditions_of(number: int, table: str) -> list[str | None]:
    """The single-table conditions of each reference of ``table`` in query ``number``."""
    if table == "lineitem":
        return LINEITEM[number]
    return CONDITIONS[number].get(table, [])


def needed_table_rows(raw: Path, number: int, table: str) -> int:
    """Rows of ``table`` meeting any of its references' conditions in query ``number``
    (0 when the query does not read it), counted by DuckDB over the plain parquet."""
    conditions = conditions_of(number, table)
    if not conditions:
        return 0
    where = "" if ALL in conditions else " WHERE " + " OR ".join(f"({c})" for c in conditions)
    sql = f"SELECT count(*) FROM read_parquet('{raw / f'{table}.parquet'}'){where}"
    return int(duckdb.connect().sql(sql).fetchall()[0][0])


# Foreign keys between tables of one database: a join pushed down follows them.
JOIN_KEYS = {
    frozenset({"customer", "orders"}): "c_custkey = o_custkey",
    frozenset({"part", "partsupp"}): "p_partkey = ps_partkey",
    frozenset({"supplier", "partsupp"}): "s_suppkey = ps_suppkey",
}


def _condition(number: int, table: str) -> str | None:
    conditions = CONDITIONS[number][table]
    return None if ALL in conditions else " OR ".join(f"({c})" for c in conditions)


def needed_rows(raw: Path, number: int) -> dict[str, int]:
    """Database table -> rows meeting any of its references' conditions (DuckDB count)."""
    con = duckdb.connect()
    counts = {}
    for table in CONDITIONS[number]:
        condition = _condition(number, table)
        where = f" WHERE {condition}" if condition else ""
        sql = f"SELECT count(*) FROM read_parquet('{raw / f'{table}.parquet'}'){where}"
        counts[table] = con.sql(sql).fetchall()[0][0]
    return counts


def needed_join_rows(raw: Path, number: int, tables: list[str]) -> int | None:
    """Rows of the join of ``tables`` (along their foreign keys) meeting each one's conditions."""
    edges = [JOIN_KEYS.get(frozenset({a, b})) for i, a in enumerate(tables) for b in tables[i + 1 :]]
    edges = [e for e in edges if e]
    if len(edges) != len(tables) - 1:
        return None
    source = " CROSS JOIN ".join(f"read_parquet('{raw / f'{t}.parquet'}') AS {t}" for t in tables)
    conditions = [c for c in (_condition(number, t) for t in tables) if c] + edges
    return (
        duckdb.connect()
        .sql(f"SELECT count(*) FROM {source} WHERE {' AND '.join(f'({c})' for c in conditions)}")
        .fetchall()[0][0]
    )


def needed_columns(sql: str, schema: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """Database table -> the columns ``sql`` names of it (through any alias, in any scope)."""
    tree = qualify(sqlglot.parse_one(sql, read="duckdb"), schema=schema, dialect="duckdb")
    found: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        for column in scope.columns:
            source = _source_of(scope, column.table)
            if isinstance(source, exp.Table) and source.name in DATABASE_TABLES:
                found.setdefault(source.name, set()).add(column.name)
    return found


def _source_of(scope, alias: str):
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def sent_columns(sql: str, dialect: str) -> dict[str, set[str]]:
    """Table -> columns a statement sent to a database names (in its select list and conditions)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    tables = [t for t in tree.find_all(exp.Table)]
    aliases = {t.alias_or_name: t.name for t in tables}
    lone = tables[0].name if len(tables) == 1 else None
    found: dict[str, set[str]] = {}
    for column in tree.find_all(exp.Column):
        table = aliases.get(column.table) if column.table else lone
        if table is not None:
            found.setdefault(table, set()).add(column.name)
    return found


def schema_of(raw: Path) -> dict[str, dict[str, str]]:
    """sqlglot schema of the plain TPC-H tables (for ``qualify``)."""
    con = duckdb.connect()
    schema = {}
    for table in TABLES:
        rows = con.sql(f"DESCRIBE SELECT * FROM read_parquet('{raw / f'{table}.parquet'}')").fetchall()
        schema[table] = {name: kind for name, kind, *_ in rows}
    return schema
