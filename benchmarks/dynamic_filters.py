"""Dynamic filters on TPC-H: each query with and without them, side by side in one process.

    python benchmarks/dynamic_filters.py                          # layout F, SF1, the queries below
    python benchmarks/dynamic_filters.py --layout L --queries 3,5,7,9,10,12

Layout F is ``run_tpch.py``'s (orders and customer in PostgreSQL, part, partsupp and
supplier in SQLite, nation and region CSV, lineitem parquet). Layout L puts customer in
SQLite and orders and lineitem in PostgreSQL (database ``tpchl`` of the same cluster),
the rest parquet. Per query: the answer checked against DuckDB's, each narrowed scan with
its rows and note, then ``--repeat`` rounds of (with, without), medians and their ratio.
Data and the PostgreSQL cluster are ``run_tpch.py``'s, under ``--data``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: support.tpch builds the layouts
import run_tpch
from support import tpch as data
from support.contracts import local_files, postgres_db, sqlite_db
from support.postgres_server import start_postgres
from tpch_systems import DuckDb, Meshlab, difference

from meshlab.engine import dynamic_filters

QUERIES = "2,3,5,7,8,9,10,11,12,21,22"


def layout_l(paths: dict, server) -> Path:
    """Customer in SQLite; orders and lineitem in PostgreSQL; the rest layout P's parquet."""
    folder, raw = Path(paths["layout_p"]).parent, Path(paths["raw"])
    data.load_postgres(server, raw, ("orders", "lineitem"), database="tpchl")
    database = folder / "L-customer.sqlite"
    if not database.exists():
        data.write_sqlite(database, raw, ("customer",))
    servers = {}
    for table in data.TABLES:
        if table in ("orders", "lineitem"):
            servers[table] = postgres_db(
                server.host, server.port, "tpchl", server="pg-l", user_env=run_tpch.PG_USER_ENV
            )
        elif table == "customer":
            servers[table] = sqlite_db(str(database), server="crm")
        else:
            servers[table] = local_files(data.parquet_path(Path(paths["layout_p"]), table))
    return data._benchmark_mesh(folder / "mesh-L", raw, servers)


def timed(mesh: Meshlab, number: int, enabled: bool) -> float:
    dynamic_filters.ENABLED = enabled
    started = time.perf_counter()
    mesh.run(number)
    return time.perf_counter() - started


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=("F", "L"), default="F")
    parser.add_argument("--queries", default=QUERIES)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (with, without) per query")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--data", type=Path, default=run_tpch.REPO / ".benchdata")
    args = parser.parse_args(argv)
    with run_tpch.prepared(args, with_postgres=False) as (paths, _):
        pass  # the files, generated once
    folder = data.scale_dir(args.data.resolve(), args.scale)
    with start_postgres(folder / "pg", log_statements=False) as server:
        os.environ[run_tpch.PG_USER_ENV] = server.user
        data.load_postgres(server, Path(paths["raw"]), data.LAYOUT_F_POSTGRES_TABLES)
        if args.layout == "L":
            mesh_path = layout_l(paths, server)
        else:
            raw, layout_p = Path(paths["raw"]), Path(paths["layout_p"])
            mesh_path = data.write_mesh_f(folder, raw, layout_p, Path(paths["files"]), server, run_tpch.PG_USER_ENV)
        mesh, duckdb = Meshlab(f"meshlab-{args.layout}", mesh_path), DuckDb(Path(paths["layout_p"]))
        for number in run_tpch.query_numbers(args.queries):
            dynamic_filters.ENABLED = True
            verdict = difference(mesh.run(number), duckdb.run(number)) or "ok"
            print(f"q{number:02d} answer {verdict}", flush=True)
            for fragment in mesh.last.plan:
                for note in fragment.notes:
                    print(f"    {fragment.dataset}: {fragment.rows or 0:,} rows; {note}", flush=True)
            times: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.repeat):
                for enabled in (True, False):
                    times[enabled].append(timed(mesh, number, enabled))
            with_, without = statistics.median(times[True]), statistics.median(times[False])
            print(f"    with {with_:.3f} s, without {without:.3f} s: {with_ / without:.2f}", flush=True)
        dynamic_filters.ENABLED = True
        mesh.close()


if __name__ == "__main__":
    sys.exit(main())
