"""A deterministic corpus of bad (and some good) SQL over the fault mesh.

``corpus(seed, size)`` mutates valid queries: truncations, token deletions,
swaps and duplications, tokens replaced from a pool of keywords, operators and
odd literals, deep nesting, huge set operations and operator chains, odd
Unicode (lone surrogates, NUL, control, bidi and zero-width characters), casts
to odd types and parameters of every style. The same seed gives the same
strings, in the same order.
"""

from __future__ import annotations

import random
import re

BASE = (
    "SELECT * FROM drift.accounts_parquet",
    "SELECT id, email FROM drift.accounts_csv WHERE amount > 100 ORDER BY id LIMIT 5",
    "SELECT country, count(*) AS n, sum(amount) AS total FROM drift.accounts_sqlite GROUP BY country",
    "SELECT a.id, b.amount FROM drift.accounts_parquet AS a JOIN drift.accounts_sqlite AS b ON a.id = b.id",
    "SELECT id FROM drift.accounts_ndjson WHERE country IN ('SE', 'DE') AND amount BETWEEN 50 AND 500",
    "WITH t AS (SELECT id, amount FROM drift.accounts_csv) SELECT max(amount) AS m FROM t",
    "SELECT id, row_number() OVER (PARTITION BY country ORDER BY amount DESC) AS r FROM drift.accounts_parquet",
    "SELECT id FROM drift.accounts_parquet UNION ALL SELECT id FROM drift.accounts_sqlite",
    "SELECT id FROM drift.accounts_csv INTERSECT SELECT id FROM drift.accounts_ndjson",
    "SELECT id FROM drift.accounts_parquet EXCEPT SELECT id FROM drift.accounts_sqlite WHERE amount < 300",
    "SELECT CASE WHEN amount > 500 THEN 'big' ELSE 'small' END AS size, count(*) AS n "
    "FROM drift.accounts_sqlite GROUP BY 1",
    "SELECT upper(email) AS e, length(country) AS l, substr(email, 1, 4) AS s FROM drift.accounts_ndjson",
    "SELECT id FROM drift.accounts_parquet WHERE email LIKE 'user1%' OR id = 3",
    "SELECT count(DISTINCT country) AS n FROM drift.accounts_csv",
    "SELECT id, amount * 2 + 1 AS x, CAST(amount AS BIGINT) AS b FROM drift.accounts_sqlite WHERE id < 10",
    "SELECT (SELECT max(id) FROM drift.accounts_csv) AS m",
    "SELECT id FROM drift.accounts_parquet WHERE id IN (SELECT id FROM drift.accounts_sqlite WHERE amount > 200)",
    "SELECT id FROM drift.accounts_parquet p WHERE EXISTS (SELECT 1 FROM drift.accounts_csv c WHERE c.id = p.id)",
    "SELECT country, avg(amount) AS a FROM drift.accounts_ndjson GROUP BY country HAVING avg(amount) > 100 "
    "ORDER BY a DESC",
    "SELECT coalesce(NULL, country) AS c, nullif(id, 3) AS n FROM drift.accounts_csv ORDER BY id LIMIT 3 OFFSET 2",
    "SELECT DATE '2026-01-01' + INTERVAL '1' DAY AS d, CAST('2026-02-03' AS DATE) AS e",
    "SELECT 1 AS one, 'x' AS two, NULL AS three, TRUE AS four",
    "SELECT l.id FROM drift.accounts_parquet l LEFT JOIN drift.accounts_csv r ON l.id = r.id + 100 WHERE r.id IS NULL",
    "SELECT id, :limit AS p FROM drift.accounts_sqlite",
)

# fmt: off
KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "JOIN", "ON", "UNION", "UNION ALL", "EXCEPT",
    "INTERSECT", "WITH", "RECURSIVE", "AS", "CASE", "WHEN", "THEN", "ELSE", "END", "NOT", "NULL", "AND", "OR", "IN",
    "EXISTS", "LIMIT", "OFFSET", "DISTINCT", "OVER", "PARTITION BY", "QUALIFY", "LATERAL", "TABLESAMPLE",
    "USING SAMPLE 10%", "INSERT", "DELETE", "DROP TABLE x", "ATTACH", "COPY", "PRAGMA", "VALUES", "CROSS JOIN",
    "NATURAL JOIN", "FULL OUTER JOIN", "WINDOW", "FILTER", "ESCAPE", "COLLATE", "ILIKE", "SIMILAR TO", "UNNEST",
)
OPERATORS = ("=", "<>", "!=", "<", ">=", "+", "-", "*", "/", "%", "||", "::", "->", "->>", "@>", "~", "^", "&", "|",
             "<<", ">>", "(", ")", ",", ";", ".", "[", "]", "{", "}", "?", ":", "$1", "@", "#", "`", '"', "'")
LITERALS = (
    "0", "-0", "1e999", "-1e999", "9" * 40, "-" + "9" * 40, "0.000000000000000000000000000001", "'NaN'", "'inf'",
    "'" + "x" * 10_000 + "'", "''", "''''", "'\\'", "X'00FF'", "DATE '2026-02-30'", "DATE '0000-00-00'",
    "TIMESTAMP '9999-12-31 23:59:59.999999999'", "INTERVAL '1000000' YEAR", "NULL", "TRUE", "[1, 2, 3]",
    "{'a': 1}", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1/0", "0/0",
)
ODD_TYPES = (
    "DECIMAL(100, 2)", "DECIMAL(0, 0)", "DECIMAL(38, 39)", "DECIMAL(39, 0)", "DECIMAL(38, 38)", "NUMERIC(1000)",
    "DECIMAL(-1, 2)", "VARCHAR(-1)", "VARCHAR(0)", "CHAR(100000)", "INTERVAL", "STRUCT(a INT)", "MAP(VARCHAR, INT)",
    "INT[]", "INT[3]", "GEOMETRY", "UUID", "BIT", "HUGEINT", "UHUGEINT", "INT128", "TIMESTAMP(12)", "TIMESTAMP_NS",
    "TIMESTAMPTZ", "TIME WITH TIME ZONE", "JSON", "BLOB", "ENUM('a', 'b')", "UNION(a INT, b TEXT)", "TINYINT",
    "UTINYINT", "FLOAT4", "DOUBLE PRECISION", "BOOLEAN", "DATE", "NOTATYPE", "VARIANT", "XML", "MONEY", "SERIAL",
)
ODD_CHARS = (
    "\x00", "\ud800", "\udfff", "\u202e", "\u200b", "\ufeff", "\u0301", "\uff33\uff25\uff2c", "\U0001f600",
    "\x1b[31m", "\r", "\x0b", "\x7f", "\u2028", "\\", "\t", "ß", "İ", "\U000e0041",
)
# fmt: on
FUNCTIONS = ("abs", "upper", "lower", "coalesce", "length", "round", "sqrt", "ln", "exp", "cast_me", "regexp_replace")

_TOKEN = re.compile(r"'[^']*'|\w+|[^\w\s]|\s+")


def _tokens(sql: str) -> list[str]:
    return _TOKEN.findall(sql)


def _truncate(rng: random.Random, sql: str) -> str:
    return sql[: rng.randrange(0, len(sql))]


def _delete(rng: random.Random, sql: str) -> str:
    tokens = _tokens(sql)
    del tokens[rng.randrange(len(tokens))]
    return "".join(tokens)


def _swap(rng: random.Random, sql: str) -> str:
    tokens = _tokens(sql)
    i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
    tokens[i], tokens[j] = tokens[j], tokens[i]
    return "".join(tokens)


def _duplicate(rng: random.Random, sql: str) -> str:
    tokens = _tokens(sql)
    i = rng.randrange(len(tokens))
    tokens.insert(i, tokens[i])
    return "".join(tokens)


def _replace(rng: random.Random, sql: str) -> str:
    tokens = _tokens(sql)
    pool = rng.choice((KEYWORDS, OPERATORS, LITERALS))
    tokens[rng.randrange(len(tokens))] = f" {rng.choice(pool)} "
    return "".join(tokens)


def _odd_unicode(rng: random.Random, sql: str) -> str:
    at = rng.randrange(len(sql) + 1)
    return sql[:at] + rng.choice(ODD_CHARS) + sql[at:]


def _deep_nesting(rng: random.Random, sql: str) -> str:
    depth = rng.choice((5, 20, 31, 32, 33, 40, 60, 200, 2000))
    kind = rng.randrange(4)
    if kind == 0:
        return f"SELECT {'(' * depth}1{')' * depth} AS x"
    if kind == 1:
        function = rng.choice(FUNCTIONS)
        return f"SELECT {(function + '(') * depth}id{')' * depth} AS x FROM drift.accounts_parquet"
    if kind == 2:  # the query itself, nested in subqueries
        return "SELECT * FROM " + "(SELECT * FROM " * depth + f"({sql}) AS base" + ") AS t" * depth
    return "SELECT " + "CASE WHEN id > 1 THEN " * depth + "1" + " END" * depth + " AS x FROM drift.accounts_sqlite"


def _huge_set_operation(rng: random.Random, sql: str) -> str:
    terms = rng.choice((2, 30, 129, 600))  # the limit itself (128) is tested once, in test_query_limits
    operator = rng.choice(("UNION ALL", "UNION", "INTERSECT", "EXCEPT"))
    return f" {operator} ".join(f"SELECT {i} AS a" for i in range(terms))


def _long_chain(rng: random.Random, sql: str) -> str:
    terms = rng.choice((10, 50, 257, 1000))
    operator = rng.choice(("OR", "AND", "+", "||"))
    if operator in ("OR", "AND"):
        return "SELECT id FROM drift.accounts_parquet WHERE " + f" {operator} ".join(f"id = {i}" for i in range(terms))
    return "SELECT " + f" {operator} ".join("id" for _ in range(terms)) + " AS x FROM drift.accounts_csv"


def _odd_cast(rng: random.Random, sql: str) -> str:
    value = rng.choice(("1", "'x'", "NULL", "amount", "id", "email", "1e308", "'2026-01-01'"))
    table = rng.choice(("parquet", "csv", "ndjson", "sqlite"))
    return f"SELECT CAST({value} AS {rng.choice(ODD_TYPES)}) AS x FROM drift.accounts_{table} LIMIT 2"


def _recursive(rng: random.Random, sql: str) -> str:
    stop = rng.choice(("", " WHERE n < 10"))
    return f"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r{stop}) SELECT n FROM r LIMIT 10"


MUTATIONS = (
    _truncate,
    _delete,
    _swap,
    _duplicate,
    _replace,
    _replace,
    _odd_unicode,
    _deep_nesting,
    _huge_set_operation,
    _long_chain,
    _odd_cast,
    _recursive,
)


def corpus(seed: int = 14, size: int = 2000) -> list[str]:
    """``size`` SQL strings: the valid queries first, then mutations (1-3 stacked), all from ``seed``."""
    rng = random.Random(seed)
    found = list(BASE)
    while len(found) < size:
        sql = rng.choice(BASE)
        for _ in range(rng.choice((1, 1, 2, 3))):
            sql = rng.choice(MUTATIONS)(rng, sql) if sql else rng.choice(BASE)
        found.append(sql)
    return found
