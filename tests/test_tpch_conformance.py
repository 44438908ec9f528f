"""The 22 TPC-H queries on the federated mesh give DuckDB's answers over the plain parquet.

Each query is the plain text of ``shared/tpch/qNN.sql`` with its table names rewritten to
mesh addresses through the SQL tree (``tpch_mesh.to_mesh_sql``), so it reads PostgreSQL,
SQLite, parquet (plain and hive-partitioned), NDJSON and CSV sources at once.
"""

from __future__ import annotations

import pytest
from conftest import TPCH_QUERY_DIRS, assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query

pytestmark = pytest.mark.postgres

QUERIES = [f"q{number:02d}" for number in range(1, 23)]


@pytest.mark.parametrize("name", QUERIES)
def test_tpch_query_matches_duckdb(name, mesh, tpch_mesh):
    sql = read_tpch_query(name)
    expected = duckdb_answer(sql, tpch_mesh.parquet_dir)

    actual = mesh.sql(tpch_mesh.to_mesh_sql(sql)).df

    keys = order_by_positions(sql)
    assert_same_rows(actual, expected, ordered=bool(keys), order_by=keys)


def test_every_tpch_query_is_available():
    found = [name for name in QUERIES if read_tpch_query(name, missing_ok=True) is not None]
    assert found == QUERIES, f"TPC-H queries missing; looked in {[str(d) for d in TPCH_QUERY_DIRS]}"
