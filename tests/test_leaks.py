"""No leaks: after 500 queries, ordinary, failed and cancelled, the process holds what it held before.

The workload is :mod:`support.query_mix` (``benchmarks/leaks.py`` prints its memory
curve): a PostgreSQL query, a parquet query, a join of both, a statement failing on the
server, a query failing in the planner, a query on a sleeping view cut by a 0.2 s limit.
"""

from __future__ import annotations

from faults.slow_peers import wait_until
from support.query_mix import ROUND, held, run_mix, write_mix_mesh

import meshlab
from meshlab.sources.connection_pool import IDLE_BOUND

QUERIES = 500
#: resident memory may grow this much from query 100 to query 500 (allocator caches settle)
RSS_GROWTH_MIB = 16


def test_500_queries_leave_no_connection_file_handle_or_thread_behind(postgres_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PGUSER", postgres_server.user)
    mesh = meshlab.connect(str(write_mix_mesh(tmp_path, postgres_server)))

    def measure(n: int):
        return held(postgres_server, n)

    def idle() -> int:  # the connections the mesh keeps for its next statements (each holds a socket)
        return sum(pool.idle for pool in mesh.connections.pools())

    run_mix(mesh, 2 * len(ROUND), 2 * len(ROUND), measure)  # warm-up: Polars' pools, driver libraries, caches
    baseline = wait_until(lambda: (h := measure(0)).connections == idle() and h, "warm-up connections close")
    baseline_idle = idle()

    curve = run_mix(mesh, QUERIES, 100, measure)

    after = wait_until(
        lambda: (h := measure(QUERIES)).connections == idle() and h.threads <= baseline.threads and h,
        "connections closed but the pool's idle ones, and query threads ended",
    )
    assert idle() <= IDLE_BOUND
    assert after.files - idle() <= baseline.files - baseline_idle, (baseline, after)
    growth = curve[-1].rss_mib - curve[0].rss_mib
    print(f"\nbaseline {baseline}\n" + "\n".join(map(str, curve)) + f"\nRSS growth 100->500: {growth:.1f} MiB")
    assert growth < RSS_GROWTH_MIB, curve
    mesh.close()
    wait_until(lambda: measure(QUERIES).connections == 0, "Mesh.close closes the pooled connections")
