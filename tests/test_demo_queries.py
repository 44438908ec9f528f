"""The demo mesh end to end: search, cross-domain joins, lineage, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from conftest import assert_same_rows

import meshlab
from meshlab.cli import main as cli_main
from meshlab.demo import write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo"), scale=0.01)


@pytest.fixture(scope="module")
def mesh(demo):
    return meshlab.connect(demo)


def oracle(demo, sql: str) -> pl.DataFrame:
    """The same question asked of DuckDB over the demo's files (SQLite read by Python's driver)."""
    import sqlite3

    root = demo.parent / "data"
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW play_events AS SELECT * FROM read_parquet('{root}/plays/play_events/**/*.parquet', hive_partitioning=true)"
    )
    con.execute(f"CREATE VIEW tracks AS SELECT * FROM read_csv_auto('{root}/artists/tracks.csv')")
    con.execute(f"CREATE VIEW artists AS SELECT * FROM read_csv_auto('{root}/artists/artists.csv')")
    db = sqlite3.connect(next(root.glob("listeners/*.sqlite")))
    profiles = pl.read_database("SELECT user_id, country FROM profiles", db)
    subscriptions = pl.read_database("SELECT user_id, plan, ended_at FROM subscriptions", db)
    con.register("profiles", profiles.to_arrow())
    con.register("subscriptions", subscriptions.to_arrow())
    return con.sql(sql).pl()


def test_search_finds_play_events_for_plays_per_country(mesh):
    assert mesh.search("plays per country")[0].address == "plays.play_events"
    assert mesh.search("listener subscription plan")[0].address == "listeners.subscriptions"


TOP_TRACKS = """
    SELECT p.country, t.title, a.name AS artist, count(*) AS plays
    FROM plays.play_events e
    JOIN listeners.profiles p ON e.user_id = p.user_id
    JOIN listeners.subscriptions s ON s.user_id = p.user_id AND s.plan = 'premium' AND s.ended_at IS NULL
    JOIN artists.tracks t ON t.track_id = e.track_id
    JOIN artists.artists a ON a.artist_id = t.artist_id
    WHERE p.country IN ('DE', 'SE')
    GROUP BY p.country, t.title, a.name
    ORDER BY plays DESC, p.country, t.title
    LIMIT 20
"""


def test_a_query_across_four_domains_matches_duckdb(demo, mesh):
    result = mesh.sql(TOP_TRACKS)
    expected = oracle(demo, TOP_TRACKS.replace("plays.", "").replace("listeners.", "").replace("artists.", ""))
    assert result.df.height > 0
    assert_same_rows(result.df, expected, ordered=True)
    assert result.lineage.datasets == [
        "artists.artists",
        "artists.tracks",
        "listeners.profiles",
        "listeners.subscriptions",
        "plays.play_events",
    ]
    profiles = next(f for f in result.plan if f.dataset == "listeners.profiles")
    assert "`country` IN ('DE', 'SE')" in profiles.sent[0]  # SQLite: backticked identifiers


def test_lineage_through_ctes_with_kinds(mesh):
    result = mesh.sql(
        """
        WITH per_track AS (
            SELECT track_id, count(*) AS plays, sum(ms_played) / 1000 AS seconds FROM plays.play_events GROUP BY track_id
        )
        SELECT t.title, upper(t.genre) AS genre, pt.plays, pt.seconds
        FROM per_track pt JOIN artists.tracks t ON t.track_id = pt.track_id
        ORDER BY pt.plays DESC LIMIT 5
        """
    )
    lineage = result.lineage
    assert lineage.columns["title"] == ["artists.tracks.title"]
    assert lineage.kinds["title"] == "identity"
    assert lineage.columns["genre"] == ["artists.tracks.genre"] and lineage.kinds["genre"] == "transformation"
    assert lineage.columns["seconds"] == ["plays.play_events.ms_played"] and lineage.kinds["seconds"] == "aggregation"
    assert lineage.kinds["plays"] == "aggregation"
    facet = lineage.to_openlineage()["fields"]["seconds"]["inputFields"][0]
    assert (facet["name"], facet["field"]) == ("plays.play_events", "ms_played")


def test_lineage_through_subqueries_and_star(mesh):
    result = mesh.sql(
        "SELECT * FROM (SELECT artist_id, name AS artist_name FROM artists.artists) x WHERE artist_id < 5"
    )
    assert result.lineage.columns == {
        "artist_id": ["artists.artists.artist_id"],
        "artist_name": ["artists.artists.name"],
    }


def test_lazy_returns_a_lazyframe(mesh):
    frame = mesh.sql("SELECT count(*) AS n FROM plays.play_events", lazy=True)
    assert isinstance(frame, pl.LazyFrame)
    assert frame.collect()["n"][0] == mesh.sql("SELECT count(*) AS n FROM plays.play_events").df["n"][0]


def test_explain_shows_what_each_source_is_sent(mesh):
    text = mesh.explain(
        "SELECT p.country, count(*) FROM plays.play_events e JOIN listeners.profiles p ON e.user_id = p.user_id "
        "WHERE p.signup_date >= DATE '2026-01-01' - INTERVAL '1' YEAR GROUP BY 1"
    )
    assert (
        "SELECT `user_id`, `country`, `signup_date` FROM `profiles` WHERE `signup_date` >= DATE('2025-01-01')" in text
    )
    assert "parquet scan of" in text and "columns: user_id" in text
    assert "Local query (Polars SQL):" in text


def test_cli_demo_query_and_catalog(tmp_path, capsys):
    assert cli_main(["demo", str(tmp_path / "m"), "--scale", "0.002"]) == 0
    manifest = capsys.readouterr().out.strip()
    assert manifest.endswith("mesh.yaml")
    assert (
        cli_main(
            [
                "query",
                manifest,
                "SELECT plan, count(*) AS n FROM listeners.subscriptions GROUP BY plan ORDER BY plan",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert {r["plan"] for r in rows} <= {"free", "premium", "family", "student"} and sum(r["n"] for r in rows) > 0
    out = tmp_path / "x.parquet"
    assert (
        cli_main(["query", manifest, "SELECT * FROM artists.tracks", "--format", "parquet", "--output", str(out)]) == 0
    )
    assert (
        pl.read_parquet(out).height
        == meshlab.connect(manifest).sql("SELECT count(*) AS n FROM artists.tracks").df["n"][0]
    )
    assert cli_main(["catalog", manifest, "--search", "plays per country", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["datasets"][0]["address"] == "plays.play_events"
    assert cli_main(["query", manifest, "SELECT nope FROM artists.tracks"]) == 2
    assert "unknown column 'nope'" in capsys.readouterr().err
    assert cli_main(["query", manifest, "SELECT count(*) FROM artists.tracks", "--explain"]) == 0
    assert "csv scan of" in capsys.readouterr().out
    assert cli_main(["query", manifest, "SELECT count(*) FROM artists.tracks", "--analyze"]) == 0
    tracks = meshlab.connect(manifest).sql("SELECT count(*) AS n FROM artists.tracks").df["n"][0]
    out = capsys.readouterr().out
    assert "artists.tracks (files): estimated " in out and f"actual {tracks:,} (statistics: " in out


def test_the_installed_command_runs(demo):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshlab.cli",
            "query",
            str(demo),
            "SELECT count(*) AS n FROM artists.artists",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[0] == "n" and int(done.stdout.splitlines()[1]) > 0
