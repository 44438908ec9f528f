"""The cost model reads real statistics, and the join order it picks is the cheapest it can see.

Statistics come from where each source keeps them (parquet footers and hive folders,
PostgreSQL's ``pg_stats`` after ANALYZE, SQLite's ``sqlite_stat1``); the expected figures
are computed from the data with DuckDB or Polars, not written by hand. The dynamic
program's order is checked against an exhaustive search over every left-deep order, and
``explain(analyze=True)`` against DuckDB's counts of the same rows.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import psycopg
import pytest
from support.contracts import column, contract, local_files, postgres_db, sqlite_db, write_mesh, write_yaml
from support.postgres_server import user_env

import meshlab
from meshlab.engine import dynamic_filters
from meshlab.plan_analysis import PlanAnalysis
from meshlab.planner import cost, join_order

pytestmark = pytest.mark.postgres

USERS = 1000
EVENTS = 10_000
VISITS = 5000
KINDS = ("click", "view", "buy", "share")
PAGES = 7
PG_ENV = "MESHLAB_COST_PGUSER"


def _users() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": range(1, USERS + 1),
            "age": [18 + (i * 37) % 63 for i in range(USERS)],
            "country": ["NO" if i % 3 else "SE" for i in range(USERS)],
        }
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory, postgres_server):
    root = tmp_path_factory.mktemp("cost")
    users = _users()
    users.write_parquet(root / "users.parquet", row_group_size=300)
    for country in ("NO", "SE"):
        folder = root / "by_country" / f"country={country}"
        folder.mkdir(parents=True)
        users.filter(pl.col("country") == country).drop("country").write_parquet(folder / "part-0.parquet")
    users.write_csv(root / "users.csv")
    users.write_csv(root / "users_hinted.csv")
    with sqlite3.connect(root / "events.sqlite") as db:
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER, kind TEXT)")
        db.execute("CREATE INDEX events_kind ON events (kind)")
        rows = [(i, 1 + (i * 7) % USERS, KINDS[i % len(KINDS)]) for i in range(1, EVENTS + 1)]
        db.executemany("INSERT INTO events VALUES (?, ?, ?)", rows)
        db.execute("ANALYZE")
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cost_model")
        conn.execute("CREATE DATABASE cost_model")
    with psycopg.connect(postgres_server.dsn_for("cost_model"), autocommit=True) as conn:
        conn.execute("CREATE TABLE visits (id integer PRIMARY KEY, user_id integer NOT NULL, page text NOT NULL)")
        conn.execute(
            f"INSERT INTO visits SELECT i, 1 + (i * 13) % {USERS}, 'page' || (i % {PAGES}) "
            f"FROM generate_series(1, {VISITS}) AS i"
        )
        conn.execute("ANALYZE visits")
    user_columns = [column("user_id", "integer", primaryKey=True), column("age", "integer"), column("country")]
    documents = {
        "users": contract("people", "users", user_columns, local_files(str(root / "users.parquet"))),
        "users_by_country": contract(
            "people", "users_by_country", user_columns, local_files(str(root / "by_country/**/*.parquet"))
        ),
        "users_csv": contract("people", "users_csv", user_columns, local_files(str(root / "users.csv"), "csv")),
        "events": contract(
            "activity",
            "events",
            [column("id", "integer", primaryKey=True), column("user_id", "integer"), column("kind")],
            sqlite_db(str(root / "events.sqlite"), server="events-db"),
        ),
        "visits": contract(
            "activity",
            "visits",
            [column("id", "integer", primaryKey=True), column("user_id", "integer"), column("page")],
            postgres_db(postgres_server.host, postgres_server.port, "cost_model", server="web-db", user_env=PG_ENV),
        ),
    }
    hinted = contract("people", "users_hinted", user_columns, local_files(str(root / "users_hinted.csv"), "csv"))
    hinted["schema"][0]["customProperties"] = [{"property": "rowCount", "value": USERS}]
    documents["users_hinted"] = hinted
    for name, document in documents.items():
        write_yaml(root / document["domain"] / f"{name}.odcs.yaml", document)
    path = write_mesh(root, "cost", {"people": "people", "activity": "activity"})
    with user_env(PG_ENV, postgres_server.user):
        with meshlab.connect(path) as mesh:
            yield mesh, root


def scan_of(mesh, address: str, where: str = ""):
    return mesh.plan(f"SELECT * FROM {address} {where}").scans[0]


def test_parquet_statistics_come_from_the_footers(world):
    mesh, root = world
    stats = scan_of(mesh, "people.users").source.statistics()
    expected = duckdb.sql(f"SELECT count(*), min(age), max(age) FROM '{root / 'users.parquet'}'").fetchall()[0]
    assert stats.origin == "parquet footers"
    assert stats.rows == expected[0]
    assert (stats.column("age").low, stats.column("age").high) == expected[1:]
    assert stats.column("age").distinct_bound == expected[2] - expected[1] + 1
    assert stats.column("age").distinct is None  # footers keep no NDV: only a bound


def test_hive_partition_values_are_counted_from_the_folders(world):
    mesh, _ = world
    stats = scan_of(mesh, "people.users_by_country").source.statistics()
    assert stats.column("country").distinct == _users()["country"].n_unique()


def test_postgres_statistics_come_from_pg_stats(world):
    mesh, _ = world
    stats = scan_of(mesh, "activity.visits").source.statistics()
    assert stats.origin == "pg_stats"
    assert stats.rows == VISITS
    assert stats.column("page").distinct == PAGES  # few values: ANALYZE counts them exactly
    assert stats.column("id").distinct == VISITS  # n_distinct -1: every row its own
    assert (stats.column("id").low, stats.column("id").high) == (1, VISITS)


def test_sqlite_statistics_come_from_sqlite_stat1(world):
    mesh, _ = world
    stats = scan_of(mesh, "activity.events").source.statistics()
    assert stats.origin == "sqlite_stat1"
    assert stats.rows == EVENTS
    assert stats.column("kind").distinct == len(KINDS)


def test_a_file_without_statistics_falls_back_on_its_size(world):
    mesh, _ = world
    stats = scan_of(mesh, "people.users_csv").source.statistics()
    assert stats.origin == "row count guess" and stats.rows and not stats.columns


def test_a_text_file_has_statistics_once_the_text_cache_holds_its_copy(world):
    mesh, root = world
    source = scan_of(mesh, "people.users_csv").source
    mesh.sql("SELECT count(*) FROM people.users_csv WHERE age > 20")  # converts the file
    stats = source.statistics()
    expected = duckdb.sql(f"SELECT count(*), min(age), max(age) FROM '{root / 'users.csv'}'").fetchall()[0]
    assert stats.origin == "footers of the text cache's copies"
    assert (stats.rows, stats.column("age").low, stats.column("age").high) == expected


def test_the_contracts_row_count_is_a_hint_where_the_source_only_guesses(world):
    mesh, _ = world
    stats = scan_of(mesh, "people.users_hinted").source.statistics()
    assert (stats.origin, stats.rows) == ("contract rowCount", USERS)


def test_statistics_follow_a_rewritten_file(world, tmp_path):
    mesh, root = world
    source = scan_of(mesh, "people.users").source
    before = source.statistics().rows
    original = (root / "users.parquet").read_bytes()
    try:
        pl.concat([_users(), _users()]).write_parquet(root / "users.parquet")
        os.utime(root / "users.parquet", ns=(1, 1))  # a new signature even within the clock's resolution
        assert source.statistics().rows == 2 * before
    finally:
        (root / "users.parquet").write_bytes(original)


@pytest.mark.parametrize(
    ("address", "condition"),
    [
        ("people.users", "age < 49"),
        ("people.users", "age BETWEEN 30 AND 40"),
        ("activity.visits", "page = 'page3'"),
        ("activity.events", "kind IN ('click', 'buy')"),
        ("activity.visits", "id >= 4000"),
    ],
)
def test_estimates_from_statistics_are_close_to_the_rows(world, address, condition):
    mesh, _ = world
    scan = scan_of(mesh, address, f"WHERE {condition}")
    actual = mesh.sql(f"SELECT count(*) AS n FROM {address} WHERE {condition}").df["n"][0]
    estimated = cost.scan_rows(scan)
    assert actual / 2 <= estimated <= actual * 2, (estimated, actual)


def test_explain_analyze_shows_estimated_and_actual_rows(world, postgres_server, monkeypatch):
    mesh, root = world
    monkeypatch.setattr(dynamic_filters, "ENABLED", False)  # the scans as planned: keys would narrow events
    sql = (
        "SELECT u.country, count(*) AS n FROM people.users AS u JOIN activity.visits AS v ON v.user_id = u.user_id "
        "JOIN activity.events AS e ON e.user_id = u.user_id WHERE u.age < 30 AND v.page = 'page1' GROUP BY 1"
    )
    analysis = mesh.explain(sql, analyze=True)
    assert isinstance(analysis, PlanAnalysis)
    by_dataset = {s.dataset: s for s in analysis.scans}
    users = duckdb.sql(f"SELECT count(*) FROM '{root / 'users.parquet'}' WHERE age < 30").fetchall()[0][0]
    assert by_dataset["people.users"].actual_rows == users
    with psycopg.connect(postgres_server.dsn_for("cost_model")) as conn:
        visits = conn.execute("SELECT count(*) FROM visits WHERE page = 'page1'").fetchall()[0][0]
    assert by_dataset["activity.visits"].actual_rows == visits
    assert by_dataset["activity.events"].actual_rows == EVENTS
    assert all(s.estimated_rows and s.statistics != "unknown" for s in analysis.scans)
    text = str(analysis)
    assert "estimated vs actual rows per scan" in text
    assert f"people.users (files): estimated {by_dataset['people.users'].estimated_rows:,}, actual {users:,}" in text
    assert analysis.rows == mesh.sql(sql).df.height


def test_explain_without_analyze_stays_text_and_runs_nothing(world, pg_log):
    mesh, _ = world
    text = mesh.explain("SELECT page FROM activity.visits WHERE id < 10")
    assert isinstance(text, str)
    assert not [s for s in pg_log() if "visits" in s and "id" in s and "< 10" in s]


def _orders_cost(graph, order: list[str]) -> float:
    members, size, spent = graph.bit[order[0]], graph.rows[order[0]], graph.rows[order[0]]
    for alias in order[1:]:
        joined = graph.joined_rows(members, size, alias)
        size = size * graph.rows[alias] if joined is None else joined
        members |= graph.bit[alias]
        spent += size
    return spent


def _connected(graph, order: list[str]) -> bool:
    members = graph.bit[order[0]]
    for alias in order[1:]:
        if graph.joined_rows(members, 1.0, alias) is None:
            return False
        members |= graph.bit[alias]
    return True


def test_the_dynamic_program_finds_the_cheapest_left_deep_order(tpch_mesh, mesh, monkeypatch):
    """On every TPC-H query the federated mesh reorders, no connected left-deep order is cheaper."""
    from conftest import read_tpch_query

    graphs = []
    original = join_order._Graph.best_order

    def recording(graph):
        graphs.append(graph)
        return original(graph)

    monkeypatch.setattr(join_order._Graph, "best_order", recording)
    for number in range(1, 23):
        mesh.plan(tpch_mesh.to_mesh_sql(read_tpch_query(f"q{number:02d}")))
    assert len(graphs) >= 5
    for graph in graphs:
        chosen = graph.dynamic_program()
        every = [list(p) for p in itertools.permutations(graph.aliases) if _connected(graph, list(p))]
        cheapest = min(_orders_cost(graph, order) for order in every)
        assert _orders_cost(graph, chosen) == pytest.approx(cheapest), (graph.aliases, chosen)


def test_the_greedy_search_gives_a_connected_order(tpch_mesh, mesh, monkeypatch):
    from conftest import read_tpch_query

    monkeypatch.setattr(join_order, "MAX_DP_TABLES", 0)
    answers = mesh.sql(tpch_mesh.to_mesh_sql(read_tpch_query("q08"))).df
    monkeypatch.undo()
    assert answers.equals(mesh.sql(tpch_mesh.to_mesh_sql(read_tpch_query("q08"))).df)


def test_the_cost_model_file_is_documented():
    text = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    assert "meshlab.planner.cost" in text or "planner/cost.py" in text
