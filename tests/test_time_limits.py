"""Time limits: a dead domain, endpoint or database host fails within its limit, the rest works.

The peers are real and on loopback: a TCP black hole (accepts, never answers) as an HTTP
domain, an S3 endpoint and a PostgreSQL host; the tests' PostgreSQL running ``pg_sleep``;
a SQLite file locked by a writer. Bounds are generous (the machine is shared): a 1 s limit
must fail within 20 s, not hang.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from contextlib import closing

import pytest
import yaml
from faults.black_hole import BlackHole
from faults.slow_peers import (
    BOUND,
    local_domain,
    postgres_domain,
    running_slow,
    slow_mesh_fixture,  # noqa: F401 - the slow_mesh fixture
    wait_until,
    wait_until_gone,
    write_contract,
    write_mesh,
)

import meshlab
from meshlab.cancel import QueryHandle
from meshlab.errors import DescriptorError, QueryCancelledError, QueryTimeoutError, SourceError, SourceTimeoutError
from meshlab.limits import TimeLimits


@pytest.fixture
def hole():
    with BlackHole() as server:
        yield server


# -- the limits themselves -------------------------------------------------------------------
def test_defaults_are_seconds_for_connect_and_metadata():
    limits = TimeLimits()
    assert (limits.connect, limits.metadata, limits.query) == (10.0, 30.0, None)


def test_a_bad_limit_names_the_field(tmp_path):
    local_domain(tmp_path)
    path = write_mesh(tmp_path, {"good": "domains/good"}, timeouts={"connect": "soon"})
    with pytest.raises(DescriptorError, match=r"mesh.yaml: timeouts.connect: must be a positive number of seconds"):
        meshlab.connect(path)
    path = write_mesh(tmp_path, {"good": "domains/good"}, timeouts={"conect": 1})
    with pytest.raises(DescriptorError, match=r"timeouts.conect: unknown time limit"):
        meshlab.connect(path)


# -- loading around a dead domain ------------------------------------------------------------
def test_a_dead_http_domain_is_given_up_after_the_connect_limit(tmp_path, hole):
    local_domain(tmp_path)
    path = write_mesh(tmp_path, {"good": "domains/good", "dead": f"{hole.url}/domains/dead"}, timeouts={"connect": 1})

    started = time.monotonic()
    mesh = meshlab.connect(path)
    spent = time.monotonic() - started

    assert spent < BOUND
    assert [d.address for d in mesh.datasets()] == ["good.numbers"]
    (error,) = mesh.errors
    assert error.field == "domains.dead"
    assert f"server http://127.0.0.1:{hole.port} did not answer within 1 s (timeouts.connect)" in str(error)
    assert mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


def test_dead_domains_load_side_by_side_not_one_after_the_other(tmp_path, hole):
    local_domain(tmp_path)
    domains = {"good": "domains/good", **{f"dead{i}": f"{hole.url}/d{i}" for i in range(4)}}
    path = write_mesh(tmp_path, domains, timeouts={"connect": 2})

    started = time.monotonic()
    mesh = meshlab.connect(path)
    spent = time.monotonic() - started

    assert len(mesh.errors) == 4 and len(mesh.datasets()) == 1
    assert spent < 4 * 2  # one after the other would take at least 8 s


def test_a_dead_s3_endpoint_is_given_up_after_the_connect_limit(tmp_path, hole, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "meshlab-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "meshlab-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    local_domain(tmp_path)
    path = write_mesh(
        tmp_path,
        {"good": "domains/good", "dead": "s3://dead-bucket/domains"},
        timeouts={"connect": 1},
        storage={"s3": {"endpoint_url": hole.url}},
    )

    started = time.monotonic()
    mesh = meshlab.connect(path)

    assert time.monotonic() - started < BOUND
    assert [d.address for d in mesh.datasets()] == ["good.numbers"]
    assert f"server {hole.url} (bucket dead-bucket) did not answer within 1 s" in str(mesh.errors[0])


def test_a_manifest_on_a_dead_endpoint_fails_within_the_metadata_limit(hole):
    started = time.monotonic()
    with pytest.raises(meshlab.MeshLoadError, match=r"mesh.yaml: cannot be read \(no answer in time"):
        meshlab.connect(f"{hole.url}/mesh.yaml", timeouts={"connect": 1, "metadata": 1})
    assert time.monotonic() - started < BOUND


# -- queries on a dead endpoint ---------------------------------------------------------------
def test_a_query_on_a_dead_http_dataset_stops_at_its_timeout(tmp_path, hole):
    local_domain(tmp_path)
    server = {"server": "web", "type": "https", "format": "parquet", "path": f"{hole.url}/data/x.parquet"}
    write_contract(tmp_path / "domains" / "web", "web", "events", server)
    mesh = meshlab.connect(write_mesh(tmp_path, {"good": "domains/good", "web": "domains/web"}))

    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"the query did not finish within 5 s \(timeout= or timeouts.query\)"):
        mesh.sql("SELECT count(*) FROM web.events", timeout=5)
    assert time.monotonic() - started < BOUND
    assert mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


def test_a_dead_http_dataset_fails_within_the_metadata_limit(tmp_path, hole):
    local_domain(tmp_path)
    server = {"server": "web", "type": "https", "format": "parquet", "path": f"{hole.url}/data/x.parquet"}
    write_contract(tmp_path / "domains" / "web", "web", "events", server)
    mesh = meshlab.connect(
        write_mesh(tmp_path, {"good": "domains/good", "web": "domains/web"}, timeouts={"connect": 1, "metadata": 1})
    )

    started = time.monotonic()
    with pytest.raises(
        SourceTimeoutError,
        match=r"dataset 'web.events' on server 'web': no answer from http://127.0.0.1:\d+/data/x.parquet "
        r"within 1 s \(timeouts.metadata\)",
    ):
        mesh.sql("SELECT count(*) FROM web.events")
    assert time.monotonic() - started < BOUND
    assert mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


def test_a_query_on_a_dead_s3_endpoint_fails_within_the_limits(tmp_path, hole, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "meshlab-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "meshlab-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    server = {"server": "lake", "type": "s3", "format": "parquet", "path": "s3://lake/events.parquet"}
    write_contract(tmp_path / "domains" / "web", "web", "events", server)
    path = write_mesh(
        tmp_path,
        {"web": "domains/web"},
        timeouts={"connect": 1, "metadata": 1, "read": 1, "retries": 0},
        storage={"s3": {"endpoint_url": hole.url}},
    )
    mesh = meshlab.connect(path)

    started = time.monotonic()
    with pytest.raises(
        SourceError, match=r"dataset 'web.events' on server 'lake': cannot read s3://lake/events.parquet"
    ):
        mesh.sql("SELECT count(*) FROM web.events")
    assert time.monotonic() - started < BOUND


# -- PostgreSQL ------------------------------------------------------------------------------
def test_a_postgres_host_that_never_answers_fails_at_the_connect_limit(tmp_path, hole, postgres_server):
    postgres_domain(tmp_path, postgres_server, "127.0.0.1", hole.port)
    mesh = meshlab.connect(write_mesh(tmp_path, {"sales": "domains/sales"}, timeouts={"connect": 2}))

    started = time.monotonic()
    with pytest.raises(SourceTimeoutError) as caught:
        mesh.sql("SELECT o_orderkey FROM sales.orders LIMIT 1")
    assert time.monotonic() - started < BOUND
    assert str(caught.value) == (
        f"dataset 'sales.orders' on server 'orders-db': no connection to 127.0.0.1:{hole.port}/tpch "
        "within 2 s (timeouts.connect)"
    )


def test_a_refused_postgres_connection_is_retried_and_says_so(tmp_path, postgres_server):
    with BlackHole() as gone:
        port = gone.port  # free now, and nothing listens after the close
    postgres_domain(tmp_path, postgres_server, "127.0.0.1", port)
    mesh = meshlab.connect(write_mesh(tmp_path, {"sales": "domains/sales"}, timeouts={"connect": 2, "retries": 2}))

    with pytest.raises(SourceError, match=r"connecting to 127.0.0.1:\d+/tpch: tried 3 times over \d+\.\d s: .*refused"):
        mesh.sql("SELECT o_orderkey FROM sales.orders LIMIT 1")


def test_a_query_timeout_cancels_the_statement_on_the_server(slow_mesh, tpch_mesh):
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as caught:
        slow_mesh.sql("SELECT o_orderkey FROM sales.slow", timeout=3)
    assert time.monotonic() - started < BOUND
    # On a very busy machine the limit may pass before the statement starts: then it never
    # starts. Either way nothing is left running on the server (the handle test below
    # waits for the statement to run before cancelling it).
    assert re.fullmatch(
        r"the query did not finish within 3 s \(timeout= or timeouts.query\)"
        r"(; cancelled while running: dataset 'sales.slow' on server 'orders-db')?",
        str(caught.value),
    )
    wait_until_gone(tpch_mesh.postgres)


def test_a_handle_cancelled_from_another_thread_stops_the_statement(slow_mesh, tpch_mesh):
    handle = QueryHandle()
    box = {}

    def run():
        try:
            slow_mesh.sql("SELECT o_orderkey FROM sales.slow", handle=handle)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            box["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    wait_until(lambda: running_slow(tpch_mesh.postgres) or "error" in box, "the slow statement runs on the server")
    assert "error" not in box, box
    handle.cancel()
    worker.join(BOUND)

    assert not worker.is_alive()
    assert isinstance(box["error"], QueryCancelledError)
    assert "cancelled while running: dataset 'sales.slow' on server 'orders-db'" in str(box["error"])
    wait_until_gone(tpch_mesh.postgres)
    assert slow_mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


# -- SQLite ----------------------------------------------------------------------------------
def test_a_sqlite_writer_holding_the_lock_fails_the_read_after_the_connect_limit(tmp_path):
    # The standard library's driver: ADBC's SQLite driver was measured to read through
    # another connection's EXCLUSIVE lock (it never waits), so there is nothing to bound.
    driver = "sqlite3"
    database = tmp_path / "data" / "ops.sqlite"
    database.parent.mkdir(parents=True)
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("CREATE TABLE numbers (id INTEGER)")
        db.execute("INSERT INTO numbers VALUES (1)")
    server = {"server": "ops-db", "type": "sqlite", "path": "../../data/ops.sqlite"}
    if driver == "sqlite3":
        server["customProperties"] = [{"property": "driver", "value": "sqlite3"}]
    write_contract(tmp_path / "domains" / "ops", "ops", "numbers", server)
    mesh = meshlab.connect(write_mesh(tmp_path, {"ops": "domains/ops"}, timeouts={"connect": 1}))
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # a writer in the middle of its transaction
    try:
        started = time.monotonic()
        locked = r"dataset 'ops.numbers' on server 'ops-db': .*ops.sqlite is locked by a writer \(database is locked\)"
        with pytest.raises(SourceError, match=locked):
            mesh.sql("SELECT id FROM ops.numbers")
        assert 0.5 < time.monotonic() - started < BOUND  # the lock was waited for, up to the limit
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert mesh.sql("SELECT id FROM ops.numbers").df["id"].to_list() == [1]


def test_a_timed_out_and_a_cancelled_query_are_audited_as_such(slow_mesh, tpch_mesh, tmp_path):
    """The audit log says how a query ended: `timeout` or `cancelled`, never `ok`."""
    manifest = yaml.safe_load(open(slow_mesh.full_catalog.manifest.path))
    manifest["audit"] = {"log": str(tmp_path / "queries.jsonl")}
    audited_path = tmp_path / "audited.yaml"
    root = os.path.dirname(slow_mesh.full_catalog.manifest.path)
    manifest["domains"] = {name: os.path.join(root, folder) for name, folder in manifest["domains"].items()}
    audited_path.write_text(yaml.safe_dump(manifest))
    mesh = meshlab.connect(str(audited_path))
    with pytest.raises(QueryTimeoutError):
        mesh.sql("SELECT o_orderkey FROM sales.slow", timeout=1)
    wait_until_gone(tpch_mesh.postgres)
    handle = QueryHandle()
    handle.cancel()
    with pytest.raises(QueryCancelledError):
        mesh.sql("SELECT o_orderkey FROM sales.slow", handle=handle)
    records = [json.loads(line) for line in (tmp_path / "queries.jsonl").read_text().splitlines()]
    assert [r["outcome"] for r in records] == ["timeout", "cancelled"]
    assert "did not finish within 1 s" in records[0]["error"]
