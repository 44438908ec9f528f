"""Database connections kept between statements (meshlab/sources/connection_pool.py), on a real PostgreSQL.

Each test names its connections (``PGAPPNAME``, part of a pool's key) and watches
them in ``pg_stat_activity``: reuse, a killed backend, the bound, ``Mesh.close``,
and users who never share one.
"""

from __future__ import annotations

import contextlib
import time

import psycopg
import pytest

import meshlab
from meshlab.cancel import QueryHandle
from meshlab.sources.connection_pool import IDLE_BOUND

COUNT = "SELECT count(*) AS n FROM sales.orders"


@pytest.fixture
def app_name(monkeypatch, request) -> str:
    """This test's ``application_name``: its connections alone, whatever else runs on the server."""
    name = f"meshlab-pool-{request.node.name}"[:60]
    monkeypatch.setenv("PGAPPNAME", name)
    return name


@pytest.fixture
def pool_mesh(tpch_mesh, app_name):
    mesh = meshlab.connect(str(tpch_mesh.mesh_path))
    yield mesh
    mesh.close()


def backends(server, app_name: str, expected: int | None = None) -> set[int]:
    """The backend pids of ``app_name``'s connections. A backend leaves pg_stat_activity a
    moment after its client goes: with ``expected``, wait up to 5 s for that many."""
    deadline = time.monotonic() + (5 if expected is not None else 0)
    while True:
        with psycopg.connect(server.dsn) as con:
            rows = con.execute(  # not this connection's own backend: it reads PGAPPNAME too
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()", (app_name,)
            ).fetchall()
        pids = {pid for (pid,) in rows}
        if expected is None or len(pids) == expected or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def orders_pool(mesh):
    (pool,) = mesh.connections.pools()  # the mesh's one PostgreSQL login
    return pool


def test_a_second_query_reuses_the_connection(pool_mesh, tpch_mesh, app_name):
    assert pool_mesh.sql(COUNT).df["n"][0] > 0
    first = backends(tpch_mesh.postgres, app_name)
    pool = orders_pool(pool_mesh)
    opened, reused = pool.opened, pool.reused
    assert pool_mesh.sql(COUNT).df["n"][0] > 0
    assert backends(tpch_mesh.postgres, app_name) == first and len(first) == 1
    assert (pool.opened, pool.reused) == (opened, reused + 1)


def test_a_killed_backend_is_not_reused_and_the_next_query_succeeds(pool_mesh, tpch_mesh, app_name):
    pool_mesh.sql(COUNT)
    (killed,) = backends(tpch_mesh.postgres, app_name)
    with psycopg.connect(tpch_mesh.postgres.dsn) as con:
        assert con.execute("SELECT pg_terminate_backend(%s)", (killed,)).fetchone()[0]
    backends(tpch_mesh.postgres, app_name, expected=0)
    discarded = orders_pool(pool_mesh).discarded

    assert pool_mesh.sql(COUNT).df["n"][0] > 0
    now = backends(tpch_mesh.postgres, app_name)
    assert len(now) == 1 and killed not in now
    assert orders_pool(pool_mesh).discarded == discarded + 1


def test_connections_beyond_the_bound_are_closed_when_given_back(pool_mesh, tpch_mesh, app_name):
    source = pool_mesh.source(pool_mesh.dataset("sales.orders"))
    held = IDLE_BOUND + 2
    with contextlib.ExitStack() as stack:
        connections = [stack.enter_context(source.session(QueryHandle())) for _ in range(held)]
        assert len({id(c) for c in connections}) == held  # never one connection to two holders at once
        assert len(backends(tpch_mesh.postgres, app_name)) == held
    assert orders_pool(pool_mesh).idle == IDLE_BOUND
    assert len(backends(tpch_mesh.postgres, app_name, expected=IDLE_BOUND)) == IDLE_BOUND


def test_mesh_close_closes_every_pooled_connection(pool_mesh, tpch_mesh, app_name):
    source = pool_mesh.source(pool_mesh.dataset("sales.orders"))
    with source.session(QueryHandle()), source.session(QueryHandle()):
        pass
    pool_mesh.sql(COUNT)
    assert len(backends(tpch_mesh.postgres, app_name)) == 2
    pool_mesh.close()
    assert backends(tpch_mesh.postgres, app_name, expected=0) == set()


def test_a_connection_in_use_at_close_is_closed_when_given_back(pool_mesh, tpch_mesh, app_name):
    source = pool_mesh.source(pool_mesh.dataset("sales.orders"))
    with source.session(QueryHandle()):
        pool_mesh.close()
        assert len(backends(tpch_mesh.postgres, app_name)) == 1
    assert backends(tpch_mesh.postgres, app_name, expected=0) == set()


def test_a_time_limit_does_not_stay_on_a_reused_connection(pool_mesh):
    source = pool_mesh.source(pool_mesh.dataset("sales.orders"))

    def statement_timeout(handle: QueryHandle) -> str:
        with source.session(handle) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout') AS s")
            return cursor.fetch_arrow_table().column("s")[0].as_py()

    assert statement_timeout(QueryHandle(timeout=30)) != "0"
    assert statement_timeout(QueryHandle()) == "0"  # the session's default again, on the same connection
    assert orders_pool(pool_mesh).opened == 1


def test_two_users_never_share_a_connection(pool_mesh, tpch_mesh, app_name):
    """Server mode runs each user's queries on ``mesh.for_user(user)``: a view with connections of its own."""
    ann, ben = pool_mesh.for_user("ann"), pool_mesh.for_user("ben")
    ann.sql(COUNT)
    ann_pids = backends(tpch_mesh.postgres, app_name)
    ben.sql(COUNT)
    ben_pids = backends(tpch_mesh.postgres, app_name) - ann_pids
    assert len(ann_pids) == 1 and len(ben_pids) == 1
    ann.sql(COUNT)
    ben.sql(COUNT)
    assert backends(tpch_mesh.postgres, app_name) == ann_pids | ben_pids  # each reused their own
    assert ann.connections is not ben.connections and ann.connections is not pool_mesh.connections
    pool_mesh.close()  # closes its users' views too
    assert backends(tpch_mesh.postgres, app_name, expected=0) == set()


def test_another_login_gets_other_connections(pool_mesh, tpch_mesh, app_name, monkeypatch):
    """The key holds the login as resolved at each statement: a changed environment never reuses."""
    pool_mesh.sql(COUNT)
    before = backends(tpch_mesh.postgres, app_name)
    monkeypatch.setenv("PGAPPNAME", app_name + "-2")  # a client setting libpq reads: another key
    pool_mesh.sql(COUNT)
    assert len(pool_mesh.connections.pools()) == 2
    assert backends(tpch_mesh.postgres, app_name) == before
    assert len(backends(tpch_mesh.postgres, app_name + "-2")) == 1


def test_a_mesh_dropped_without_close_leaves_no_connection(tpch_mesh, app_name):
    import gc
    import weakref

    mesh = meshlab.connect(str(tpch_mesh.mesh_path))
    mesh.sql(COUNT)
    pools = weakref.ref(mesh.connections)
    assert len(backends(tpch_mesh.postgres, app_name)) == 1
    del mesh
    gc.collect()
    assert pools() is None  # nothing the pools hold keeps the mesh's pools alive
    assert backends(tpch_mesh.postgres, app_name, expected=0) == set()
