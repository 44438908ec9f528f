"""What the schema-drift check costs a database scan (docs/reliability.md, "Schema drift").

On the fault mesh of the tests (tests/faults/mesh.py, 40 rows) and a throwaway PostgreSQL
cluster, each database source fetches its scan alone and with the column check first
(on the same connection); 200 alternating runs, medians in milliseconds.

    python benchmarks/schema_check_overhead.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401
from faults import mesh as fault_mesh
from support.postgres_server import start_postgres

import meshlab
from meshlab.sources.drift import touched_columns


def main(runs: int = 200) -> None:
    with start_postgres() as server, tempfile.TemporaryDirectory() as folder:
        os.environ["MESHLAB_FAULTS_PGUSER"] = server.user
        os.environ["JUPYTERHUB_USER"] = "bob"
        mesh = meshlab.connect(str(fault_mesh.build(Path(folder), server, pg_table="acc_measure")))
        for kind in ("sqlite", "postgres"):
            scan = mesh.plan(f"SELECT id, country, amount FROM drift.accounts_{kind}").scans[0]
            source, spec = scan.source, scan.spec
            sql, columns = source.render(source.query(spec)), touched_columns(spec)
            plain, checked = [], []
            for _ in range(runs):
                started = time.perf_counter()
                source.fetch(sql)
                plain.append(time.perf_counter() - started)
                started = time.perf_counter()
                source.fetch(sql, columns)
                checked.append(time.perf_counter() - started)
            print(
                f"{kind}: fetch {statistics.median(plain) * 1e3:.2f} ms, "
                f"with the column check {statistics.median(checked) * 1e3:.2f} ms (medians of {runs})"
            )


if __name__ == "__main__":
    main()
