"""The conformance suite can fail: its oracle's answers are guarded and its parameters chosen.

Every expected answer comes from DuckDB through ``conftest.duckdb_answer``, which errors
(``TrivialOracleAnswer``) when the answer is empty, has an output column NULL in every row,
or a numeric aggregate zero in every row -- unless the test says why (``trivial=``). The
TPC-H queries run with the tests' substitution parameters (``support.tpch.TEST_SUBSTITUTIONS``,
values the specification allows), and each of the 22 answers differs from the answer over
empty tables: an engine that drops every row fails every TPC-H test.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import (
    PARTITION_COLUMN,
    TrivialOracleAnswer,
    assert_same_rows,
    duckdb_answer,
    guard_oracle_answer,
    order_by_positions,
    read_tpch_query,
)
from support import tpch

QUERIES = [f"q{number:02d}" for number in range(1, 23)]


def answer_over_empty_tables(sql: str, parquet_dir: Path) -> pl.DataFrame:
    """``sql`` run by DuckDB over tables with the TPC-H schemas and no rows: what an engine
    that drops every row would answer."""
    con = duckdb.connect()
    for path in sorted(parquet_dir.glob("*.parquet")):
        extra = f", CAST(year(l_shipdate) AS INTEGER) AS {PARTITION_COLUMN}" if path.stem == "lineitem" else ""
        con.execute(f"CREATE TABLE {path.stem} AS SELECT *{extra} FROM read_parquet('{path}') LIMIT 0")
    return con.sql(sql).pl()


# -- the guard ---------------------------------------------------------------------------------
GUARDED = {
    "empty": ("SELECT n_name FROM nation WHERE n_nationkey < 0", "is empty"),
    "null_column": ("SELECT n_name, CAST(NULL AS INTEGER) AS nothing FROM nation", "'nothing' NULL in every row"),
    "null_aggregate": ("SELECT sum(n_nationkey) AS total FROM nation WHERE n_name = 'ATLANTIS'", "'total' NULL"),
    "zero_count": ("SELECT count(*) AS n FROM nation WHERE n_name = 'ATLANTIS'", "aggregate output 'n' zero"),
    "zero_share": (
        "SELECT n_regionkey, sum(CASE WHEN n_name = 'ATLANTIS' THEN 1 ELSE 0 END) / count(*) AS share "
        "FROM nation GROUP BY n_regionkey",
        "aggregate output 'share' zero",
    ),
}


@pytest.mark.parametrize("sql, message", GUARDED.values(), ids=GUARDED.keys())
def test_the_oracle_errors_on_a_trivial_answer(sql, message, tpch_parquet):
    with pytest.raises(TrivialOracleAnswer, match=message):
        duckdb_answer(sql, tpch_parquet)


def test_a_trivial_answer_marked_with_a_reason_is_returned(tpch_parquet):
    sql = GUARDED["empty"][0]

    answer = duckdb_answer(sql, tpch_parquet, trivial="no nation key is negative: the engine must return no row")

    assert answer.height == 0 and answer.columns == ["n_name"]
    with pytest.raises(ValueError, match="needs the reason"):
        duckdb_answer(sql, tpch_parquet, trivial=" ")


def test_a_zero_column_that_is_not_an_aggregate_passes(tpch_parquet):
    # o_shippriority is 0 in every order TPC-H generates (TPC-H Q3 outputs it): data, not a symptom.
    sql = "SELECT o_shippriority, count(*) AS orders FROM orders GROUP BY o_shippriority"

    answer = duckdb_answer(sql, tpch_parquet)

    assert answer.rows() == [(0, answer.item(0, 1))] and answer.item(0, 1) > 0


def test_the_guard_checks_an_oracle_of_a_tests_own():
    # tests with another oracle (tests/test_duckdb_source.py) call the guard directly
    with pytest.raises(TrivialOracleAnswer, match="is empty"):
        guard_oracle_answer(pl.DataFrame({"a": []}), "SELECT a FROM t")
    frame = pl.DataFrame({"a": [1, 2]})
    assert guard_oracle_answer(frame, "SELECT a FROM t") is frame


@pytest.mark.parametrize("name", ["q08", "q17"])
def test_the_validation_parameters_are_trivial_at_the_test_scale(name, tpch_parquet):
    """What the guard exists for: at SF0.01 the specification's Q8 answers 0.0 for both
    years and Q17 one NULL row -- Q17's the very answer of an engine that drops every row."""
    validation = tpch.query_text(name)

    with pytest.raises(TrivialOracleAnswer):
        duckdb_answer(validation, tpch_parquet)
    if name == "q17":
        answer = duckdb_answer(validation, tpch_parquet, trivial="shows the validation text cannot fail")
        assert_same_rows(answer, answer_over_empty_tables(validation, tpch_parquet), ordered=False)


# -- the TPC-H parameters ----------------------------------------------------------------------
@pytest.mark.parametrize("name", QUERIES)
def test_an_engine_dropping_every_row_fails_each_tpch_query(name, tpch_parquet):
    sql = read_tpch_query(name)
    expected = duckdb_answer(sql, tpch_parquet)  # guarded: not empty, no NULL column, no zero aggregate

    dropped = answer_over_empty_tables(sql, tpch_parquet)

    keys = order_by_positions(sql)
    with pytest.raises(AssertionError):
        assert_same_rows(dropped, expected, ordered=bool(keys), order_by=keys)


def test_the_substitutions_are_values_the_specification_allows(tpch_parquet):
    nations = set(pl.read_parquet(tpch_parquet / "nation.parquet")["n_name"])
    colours = set(pl.read_parquet(tpch_parquet / "part.parquet")["p_name"].str.split(" ").explode())
    allowed = {
        "TYPE": set(tpch.SPEC_TYPES),  # clause 2.4.8.3
        "CONTAINER": set(tpch.SPEC_CONTAINERS),  # clause 2.4.17.3
        "NATION": nations,  # clauses 2.4.8.3, 2.4.20.3, 2.4.21.3
        "COLOR": colours,  # clause 2.4.20.3 (the 92 colours P_NAME is made of)
    }
    assert len(tpch.SPEC_TYPES) == 150 and len(tpch.SPEC_CONTAINERS) == 40 and len(nations) == 25
    for substitution in tpch.TEST_SUBSTITUTIONS:
        assert substitution.test in allowed[substitution.parameter], substitution
        assert substitution.validation in allowed[substitution.parameter], substitution
        validation, test = tpch.query_text(substitution.query), read_tpch_query(substitution.query)
        assert f"'{substitution.validation}'" in validation and f"'{substitution.validation}'" not in test
        assert f"'{substitution.test}'" in test
        assert validation.replace(f"'{substitution.validation}'", f"'{substitution.test}'") == test
