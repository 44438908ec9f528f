"""The 22 TPC-H queries give DuckDB's answers on layouts nobody tuned for.

Each layout of ``support.tpch_layouts`` places the eight tables at random (seeded) in
parquet (plain or hive-partitioned by one of several columns), CSV, NDJSON, SQLite and
PostgreSQL, under physical names other than the logical ones; ``benchmarks/layouts.py``
measures their speed, these tests their answers (against DuckDB over the plain parquet).
The seeds are chosen to cover every placement: lineitem as CSV (3), NDJSON (8),
partitioned by a text column (7), and everything in one PostgreSQL database.
"""

from __future__ import annotations

import pytest
from conftest import PG_USER_ENV, assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query
from support import tpch_layouts as family
from support.postgres_server import user_env

import meshlab

pytestmark = pytest.mark.postgres

LAYOUTS = {name: layout for name, layout in family.layouts([3, 7, 8]).items() if name != "all-parquet"}
QUERIES = [f"q{number:02d}" for number in range(1, 23)]


def test_the_chosen_layouts_cover_every_placement():
    placed = {kind.partition(":")[0] for layout in LAYOUTS.values() for kind in layout.values()}
    assert placed == set(family.KINDS)
    assert {LAYOUTS[n]["lineitem"] for n in LAYOUTS} >= {"csv", "ndjson", "hive:l_returnflag", "postgres"}


def test_a_seed_always_gives_the_same_layout():
    assert family.random_layout(5) == family.random_layout(5)
    assert len({tuple(family.random_layout(seed).values()) for seed in range(1, 9)}) == 8


@pytest.fixture(scope="module")
def layout_meshes(tmp_path_factory, tpch_parquet, postgres_server):
    store = tmp_path_factory.mktemp("layout-store")
    meshes = {}
    with user_env(PG_USER_ENV, postgres_server.user):
        for name, layout in LAYOUTS.items():
            family.materialize(store, tpch_parquet, layout, postgres_server)
            root = tmp_path_factory.mktemp(f"layout-{name}")
            path = family.write_layout_mesh(root, store, tpch_parquet, layout, postgres_server, PG_USER_ENV)
            meshes[name] = meshlab.connect(path)
        yield meshes
        for mesh in meshes.values():
            mesh.close()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", QUERIES)
def test_tpch_query_on_layout_matches_duckdb(name, layout, layout_meshes, tpch_parquet):
    from support.tpch import ADDRESS, to_mesh_sql

    sql = read_tpch_query(name)
    expected = duckdb_answer(sql, tpch_parquet)

    actual = layout_meshes[layout].sql(to_mesh_sql(sql, ADDRESS, "duckdb")).df

    keys = order_by_positions(sql)
    assert_same_rows(actual, expected, ordered=bool(keys), order_by=keys)
