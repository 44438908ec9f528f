"""Cancellation reaches the sources: Ctrl-C, a kernel interrupt, a timeout.

Each test waits on states (the statement shows in ``pg_stat_activity``, the query's
worker thread exists), then interrupts, then checks that control came back, that the
PostgreSQL backend stopped running the statement, and that the next query works.
Times are printed (``-s``) and bounded generously; docs/reliability.md has the figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from faults.slow_peers import (
    BOUND,
    local_domain,
    running_slow,
    slow_mesh_fixture,  # noqa: F401 - the slow_mesh fixture
    wait_until,
    wait_until_gone,
    write_contract,
    write_mesh,
)

import meshlab
from meshlab.cancel import QueryHandle

ROOT = Path(__file__).resolve().parents[1]
JOIN = "SELECT a.k, count(*) AS n, sum(b.v) AS s FROM big.pairs a JOIN big.pairs b ON a.k = b.k GROUP BY a.k"


@pytest.fixture(scope="module", name="big_mesh")
def big_mesh_fixture(tmp_path_factory):
    """``big.pairs``: 4 M rows whose self-join on ``k`` makes 800 M pairs (13 s streaming, alone)."""
    root = tmp_path_factory.mktemp("big")
    (root / "data").mkdir()
    n = 4_000_000
    pl.DataFrame({"k": pl.int_range(0, n, eager=True) % 20_000, "v": pl.int_range(0, n, eager=True)}).write_parquet(
        root / "data" / "pairs.parquet"
    )
    server = {"server": "lake", "type": "local", "format": "parquet", "path": "../../data/pairs.parquet"}
    write_contract(root / "domains" / "big", "big", "pairs", server, (("k", "integer"), ("v", "integer")))
    local_domain(root)
    return write_mesh(root, {"big": "domains/big", "good": "domains/good"})


def query_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "meshlab-query"]


def interrupt_when(condition) -> dict:
    """SIGINT this process once ``condition()`` holds; the returned dict gets ``sent`` (a time)."""
    box: dict = {}

    def watch():
        wait_until(condition, "the query is running")
        box["sent"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, daemon=True).start()
    return box


def test_ctrl_c_stops_a_local_streaming_query_promptly(big_mesh):
    mesh = meshlab.connect(big_mesh)
    handle = QueryHandle()
    box = interrupt_when(lambda: handle.stage == "computing")  # Polars' collect has begun, or is about to

    with pytest.raises(KeyboardInterrupt):
        mesh.sql(JOIN, engine="streaming", handle=handle)
    back = time.monotonic() - box["sent"]
    wait_until(lambda: not query_threads(), "Polars stops")
    stopped = time.monotonic() - box["sent"]

    print(f"\nstreaming join: control back {back:.3f} s, Polars stopped {stopped:.3f} s after SIGINT")
    assert back < BOUND and stopped < BOUND
    assert mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


def test_ctrl_c_cancels_the_postgres_statement_on_the_server(slow_mesh, tpch_mesh):
    box = interrupt_when(lambda: running_slow(tpch_mesh.postgres))

    with pytest.raises(KeyboardInterrupt):
        slow_mesh.sql("SELECT o_orderkey FROM sales.slow")
    back = time.monotonic() - box["sent"]
    wait_until_gone(tpch_mesh.postgres)
    gone = time.monotonic() - box["sent"]

    print(f"\npostgres scan: control back {back:.3f} s, backend idle {gone:.3f} s after SIGINT")
    assert back < BOUND
    assert slow_mesh.sql("SELECT count(*) AS n FROM good.numbers").df["n"][0] == 3


def cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "meshlab.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_ctrl_c_in_meshlab_query_exits_130_with_one_line(slow_mesh, tpch_mesh):
    path = slow_mesh.full_catalog.manifest.path
    process = cli("query", path, "SELECT o_orderkey FROM sales.slow")
    try:
        wait_until(lambda: running_slow(tpch_mesh.postgres), "the CLI's statement runs")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=BOUND)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "interrupted: the query was cancelled\n"
    wait_until_gone(tpch_mesh.postgres)


def test_meshlab_query_timeout_is_one_line(slow_mesh, tpch_mesh):
    path = slow_mesh.full_catalog.manifest.path
    process = cli("query", path, "SELECT o_orderkey FROM sales.slow", "--timeout", "1")
    try:
        out, err = process.communicate(timeout=BOUND + 10)
    finally:
        process.kill()
    assert process.returncode == 2
    assert err == (
        "error: the query did not finish within 1 s (timeout= or timeouts.query); "
        "cancelled while running: dataset 'sales.slow' on server 'orders-db'\n"
    )
    wait_until_gone(tpch_mesh.postgres)
