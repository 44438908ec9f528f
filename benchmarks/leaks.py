"""Memory, connections, file handles and threads over many queries, failed and cancelled ones included.

Runs the query mix of ``tests/support/query_mix.py`` (PostgreSQL, parquet, a join of both,
a statement failing on the server, one failing in the planner, one cut by a 0.2 s time limit)
against a throwaway PostgreSQL cluster and prints what the process holds every ``--every``
queries: the curve ``tests/test_leaks.py`` asserts is flat.

    python benchmarks/leaks.py                     # 1,000 queries, a line every 100
    python benchmarks/leaks.py --queries 3000 --every 250
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401
from support.postgres_server import start_postgres
from support.query_mix import ROUND, held, run_mix, write_mix_mesh

import meshlab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--every", type=int, default=100)
    args = parser.parse_args()
    with start_postgres(log_statements=False) as server, tempfile.TemporaryDirectory() as root:
        os.environ["PGUSER"] = server.user
        mesh = meshlab.connect(str(write_mix_mesh(Path(root), server)))
        run_mix(mesh, 2 * len(ROUND), 2 * len(ROUND), lambda n: held(server, n))  # warm-up
        time.sleep(1)  # let the warm-up's cancelled backends end
        start = held(server, 0)
        started = time.perf_counter()
        print(f"{'queries':>8} {'RSS MiB':>9} {'Δ MiB':>7} {'backends':>9} {'fds':>5} {'threads':>8}")
        print(f"{0:>8} {start.rss_mib:>9.1f} {0:>7.1f} {start.connections:>9} {start.files:>5} {start.threads:>8}")
        for h in run_mix(mesh, args.queries, args.every, lambda n: held(server, n)):
            delta = h.rss_mib - start.rss_mib
            print(f"{h.queries:>8} {h.rss_mib:>9.1f} {delta:>7.1f} {h.connections:>9} {h.files:>5} {h.threads:>8}")
        spent = time.perf_counter() - started
        print(
            f"{args.queries} queries ({len(ROUND)} kinds, 1 in {len(ROUND)} cancelled by its time limit) in {spent:.1f} s"
        )


if __name__ == "__main__":
    main()
