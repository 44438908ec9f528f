"""Bad input: every failure a user can cause is a MeshError with a useful message."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import polars as pl
import pytest

import meshlab
from meshlab.errors import (
    MeshError,
    ParameterError,
    SourceError,
    SqlSyntaxError,
    UnknownColumnError,
    UnknownDatasetError,
    UnsupportedQueryError,
)


@pytest.fixture
def mesh_dir(tmp_path: Path) -> Path:
    """Two domains: events in parquet, users in SQLite."""
    (tmp_path / "data").mkdir()
    pl.DataFrame({"user_id": [1, 2, 3, 3], "track": ["a", "b", "c", "d"]}).write_parquet(
        tmp_path / "data" / "events.parquet"
    )
    db = sqlite3.connect(tmp_path / "data" / "users.sqlite")
    db.execute("CREATE TABLE users (user_id INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO users VALUES (?, ?)", [(1, "ana"), (2, "bo"), (3, "cy")])
    db.commit()
    db.close()
    (tmp_path / "plays").mkdir()
    (tmp_path / "plays" / "events.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: e\nname: Events\nstatus: active\ndomain: plays\n"
        "servers: [{server: lake, type: local, format: parquet, path: ../data/events.parquet}]\n"
        "schema:\n  - name: events\n    properties:\n"
        "      - {name: user_id, logicalType: integer}\n      - {name: track, logicalType: string}\n"
    )
    (tmp_path / "people").mkdir()
    (tmp_path / "people" / "users.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: u\nname: Users\nstatus: active\ndomain: people\n"
        "servers: [{server: db, type: sqlite, path: ../data/users.sqlite}]\n"
        "schema:\n  - name: users\n    properties:\n"
        "      - {name: user_id, logicalType: integer, primaryKey: true}\n      - {name: name, logicalType: string}\n"
    )
    (tmp_path / "mesh.yaml").write_text("mesh: t\ndomains: {plays: plays, people: people}\n")
    return tmp_path


@pytest.fixture
def mesh(mesh_dir):
    return meshlab.connect(mesh_dir / "mesh.yaml")


def test_syntax_error_names_line_and_column(mesh):
    with pytest.raises(SqlSyntaxError) as caught:
        mesh.sql("SELECT user_id\nFROM plays.events\nWHERE user_id = = 3")
    assert caught.value.line == 3
    assert caught.value.column is not None
    assert str(caught.value).startswith("line 3, column")


def test_unknown_dataset_suggests_addresses(mesh):
    with pytest.raises(UnknownDatasetError) as caught:
        mesh.sql("SELECT * FROM plays.event")
    assert "plays.events" in str(caught.value)
    assert "line 1" in str(caught.value)


def test_a_bare_table_name_is_not_an_address(mesh):
    with pytest.raises(UnknownDatasetError, match="did you mean people.users"):
        mesh.sql("SELECT * FROM users")


def test_unknown_column_names_it(mesh):
    with pytest.raises(UnknownColumnError) as caught:
        mesh.sql("SELECT user_id, trak FROM plays.events")
    assert "trak" in str(caught.value) and "track" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (1, 17)


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE plays.events",
        "DELETE FROM plays.events",
        "INSERT INTO plays.events VALUES (1, 'x')",
        "UPDATE plays.events SET track = 'x'",
        "CREATE TABLE x AS SELECT * FROM plays.events",
    ],
)
def test_only_read_queries_are_accepted(mesh, sql):
    with pytest.raises(UnsupportedQueryError, match="only read queries|not allowed"):
        mesh.sql(sql)


def test_several_statements_are_refused(mesh):
    with pytest.raises(UnsupportedQueryError, match="one statement") as caught:
        mesh.sql("SELECT 1 AS a FROM plays.events;\nDROP TABLE plays.events")
    assert caught.value.line == 2


@pytest.mark.parametrize("sql", ["SELECT * FROM read_parquet('/etc/passwd')", "SELECT * FROM read_csv('x.csv')"])
def test_table_functions_that_read_paths_are_refused(mesh, sql):
    with pytest.raises(UnsupportedQueryError, match="table function"):
        mesh.sql(sql)


def test_a_file_path_is_not_an_address(mesh, mesh_dir):
    with pytest.raises(MeshError):
        mesh.sql(f"SELECT * FROM '{mesh_dir}/data/events.parquet'")


def test_parameters_bind_as_data_not_sql(mesh):
    hostile = "a' OR '1'='1"
    result = mesh.sql("SELECT track FROM plays.events WHERE track = :t", params={"t": hostile})
    assert result.df.height == 0
    result = mesh.sql("SELECT name FROM people.users WHERE name = :n", params={"n": "x'; DROP TABLE users; --"})
    assert result.df.height == 0
    assert mesh.sql("SELECT count(*) AS n FROM people.users").df["n"][0] == 3  # the table is still there
    listed = mesh.sql("SELECT track FROM plays.events WHERE user_id IN :ids ORDER BY track", params={"ids": [1, 3]})
    assert listed.df["track"].to_list() == ["a", "c", "d"]


def test_a_missing_parameter_is_named(mesh):
    with pytest.raises(ParameterError, match=":who"):
        mesh.sql("SELECT * FROM plays.events WHERE track = :who")


def test_a_missing_file_names_dataset_and_server(mesh, mesh_dir):
    os.remove(mesh_dir / "data" / "events.parquet")
    with pytest.raises(SourceError) as caught:
        mesh.sql("SELECT * FROM plays.events")
    assert caught.value.dataset == "plays.events" and caught.value.server == "lake"
    assert "events.parquet" in str(caught.value)


def test_a_missing_database_names_dataset_and_server(mesh, mesh_dir):
    os.remove(mesh_dir / "data" / "users.sqlite")
    with pytest.raises(SourceError, match="people.users.*'db'.*does not exist"):
        mesh.sql("SELECT * FROM people.users")
    assert not (mesh_dir / "data" / "users.sqlite").exists()  # nothing was created in its place


def test_a_table_gone_from_the_database(mesh, mesh_dir):
    db = sqlite3.connect(mesh_dir / "data" / "users.sqlite")
    db.execute("DROP TABLE users")
    db.commit()
    db.close()
    with pytest.raises(SourceError, match="people.users") as caught:
        mesh.sql("SELECT u.name, e.track FROM people.users u JOIN plays.events e ON u.user_id = e.user_id")
    assert "users" in caught.value.reason


def test_an_unreachable_postgres_server_fails_fast(tmp_path):
    (tmp_path / "pg.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: p\nname: P\ndomain: ops\n"
        "servers: [{server: ops-db, type: postgres, host: 127.0.0.1, port: 1, database: x}]\n"
        "schema: [{name: t, properties: [{name: a, logicalType: integer}]}]\n"
    )
    mesh = meshlab.connect(tmp_path / "pg.odcs.yaml")
    with pytest.raises(SourceError) as caught:
        mesh.sql("SELECT a FROM ops.t")
    assert caught.value.server == "ops-db" and "ops.t" in str(caught.value)


def test_a_query_polars_cannot_run_is_an_execution_error(mesh):
    with pytest.raises(MeshError):
        mesh.sql("SELECT no_such_function(user_id) FROM plays.events")


def test_qualify_is_rewritten_not_ignored(mesh):
    result = mesh.sql(
        "SELECT user_id, track FROM plays.events QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY track DESC) = 1 ORDER BY user_id"
    )
    assert result.df.rows() == [(1, "a"), (2, "b"), (3, "d")]


def test_errors_leave_the_mesh_usable(mesh):
    with pytest.raises(MeshError):
        mesh.sql("SELECT * FROM nowhere.nothing")
    assert mesh.sql("SELECT count(*) AS n FROM plays.events").df["n"][0] == 4
