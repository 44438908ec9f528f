"""No leaks: after 500 queries, ordinary, failed and cancelled, the process holds what it held before.

The workload is :mod:`support.query_mix` (``benchmarks/leaks.py`` prints its memory
curve): a PostgreSQL query, a parquet query, a join of both, a statement failing on the
server, a query failing in the planner, a query on a sleeping view cut by a 0.2 s limit.
"""

from __future__ import annotations

from faults.slow_peers import wait_until
from support.query_mix import ROUND, held, run_mix, write_mix_mesh

import meshlab

QUERIES = 500
#: resident memory may grow this much from query 100 to query 500 (allocator caches settle)
RSS_GROWTH_MIB = 16


def test_500_queries_leave_no_connection_file_handle_or_thread_behind(postgres_server, tmp_path, monkeypatch):
    monkeypatch.setenv("PGUSER", postgres_server.user)
    mesh = meshlab.connect(str(write_mix_mesh(tmp_path, postgres_server)))

    def measure(n: int):
        return held(postgres_server, n)

    run_mix(mesh, 2 * len(ROUND), 2 * len(ROUND), measure)  # warm-up: Polars' pools, driver libraries, caches
    baseline = wait_until(lambda: (h := measure(0)).connections == 0 and h, "warm-up connections close")

    curve = run_mix(mesh, QUERIES, 100, measure)

    after = wait_until(
        lambda: (h := measure(QUERIES)).connections == 0 and h.threads <= baseline.threads and h,
        "connections closed and query threads ended",
    )
    assert after.files <= baseline.files, (baseline, after)
    growth = curve[-1].rss_mib - curve[0].rss_mib
    print(f"\nbaseline {baseline}\n" + "\n".join(map(str, curve)) + f"\nRSS growth 100->500: {growth:.1f} MiB")
    assert growth < RSS_GROWTH_MIB, curve
