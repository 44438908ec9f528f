"""TPC-H on a family of layouts: is meshlab fast wherever the tables live?

Every layout places each of the eight TPC-H tables in parquet (one file, or partitioned by
one of several columns), CSV, NDJSON, SQLite or PostgreSQL, drawn from a seed
(tests/support/tpch_layouts.py); the two extremes (all in PostgreSQL; all parquet) close the
family. For each layout and query, meshlab and DuckDB-over-parquet (the same data, the
floor) run side by side: one warm-up (meshlab's answer checked against DuckDB's), then
``--repeat`` timed runs alternating the two. Figures are medians and ratios of medians; each
layout also records the planner's estimated rows against the rows each scan actually
produced (``explain(analyze=True)``), and, unless ``--no-memory``, the peak RSS of a fresh
process running every query once, against DuckDB's.

    python benchmarks/layouts.py                      # SF1, seeds 1-8 and the extremes, 3 repetitions
    python benchmarks/layouts.py --scale 0.1 --seeds 1-3 --repeat 1 --no-memory
    python benchmarks/layouts.py --report             # re-render docs/benchmarks from the stored JSON

Writes docs/benchmarks/layouts-sf<SF>.json, .md and .png. Data goes under .benchdata/.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the TPC-H builders live in support/
from run_tpch import high_water_mark, log, machine, query_numbers, stamp
from support import tpch
from support import tpch_layouts as family
from tpch_systems import DuckDb, Meshlab, difference

REPO = Path(__file__).resolve().parents[1]
PG_USER_ENV = "BENCH_PGUSER"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--seeds", default="1-8", help="random layouts' seeds, e.g. 1-8 or 3,5 (default 1-8)")
    parser.add_argument("--no-extremes", action="store_true", help="leave out all-postgres and all-parquet")
    parser.add_argument("--only", help="only these layouts, e.g. seed-5,all-postgres")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query and system (default 3)")
    parser.add_argument("--queries", default="1-22", help="e.g. 1-22, 3,5,18")
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata", help="cache of generated data")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks", help="where results go")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--report", action="store_true", help="only re-render the report from stored JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one layout's (or duckdb's) memory run
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)  # the worker's mesh (or DuckDB's parquet)
    return parser.parse_args(argv)


def chosen_layouts(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    found = family.layouts(query_numbers(args.seeds))
    if args.no_extremes:
        found = {k: v for k, v in found.items() if k not in family.EXTREMES}
    if args.only:
        wanted = args.only.split(",")
        found = {k: v for k, v in found.items() if k in wanted}
    return found


@contextmanager
def prepared(args: argparse.Namespace, chosen: dict[str, dict[str, str]]):
    """Data written (once), PostgreSQL started when a layout needs it, every layout's mesh
    written; yields {layout: mesh path} and the folder of layout P (DuckDB's parquet)."""
    folder = tpch.scale_dir(args.data.resolve(), args.scale)
    started = time.perf_counter()
    raw = tpch.generate_raw(folder, args.scale)
    layout_p = tpch.write_layout_p(folder, raw)
    store = folder / "layouts" / "store"
    store.mkdir(parents=True, exist_ok=True)
    needs_pg = any("postgres" in layout.values() for layout in chosen.values())
    with _postgres(folder, needs_pg) as server:
        meshes = {}
        for name, layout in chosen.items():
            family.materialize(store, raw, layout, server)
            root = folder / "layouts" / f"mesh-{name}"
            meshes[name] = family.write_layout_mesh(root, store, raw, layout, server, PG_USER_ENV)
        log(f"data ready in {time.perf_counter() - started:.1f} s under {folder}")
        yield meshes, layout_p


@contextmanager
def _postgres(folder: Path, needed: bool):
    if not needed:
        yield None
        return
    from support.postgres_server import start_postgres

    if (folder / "pg" / "data" / "postmaster.pid").exists():
        raise SystemExit(f"a PostgreSQL server already runs on {folder / 'pg'}: another benchmark? stop it first")
    with start_postgres(folder / "pg", log_statements=False) as server:
        os.environ[PG_USER_ENV] = server.user
        yield server


def timed(call) -> float:
    gc.collect()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def scan_rows(system: Meshlab, number: int) -> list[dict]:
    """Estimated against actual rows of each scan of query ``number`` (explain(analyze=True))."""
    analysed = system.mesh.explain(system.sql[number], analyze=True)
    return [
        {"dataset": s.dataset, "source": s.source, "estimated": s.estimated_rows, "actual": s.actual_rows}
        for s in analysed.scans
    ]


def measure_layout(name: str, mesh_path: Path, duck: DuckDb, args: argparse.Namespace, expected: dict) -> dict:
    system = Meshlab(f"meshlab-{name}", mesh_path)
    out = {"meshlab": {}, "duckdb": {}, "checks": {}, "planning": {}, "scans": {}}
    try:
        for number in query_numbers(args.queries):
            key = str(number)
            try:
                verdict = difference(system.run(number), expected[number]) or "ok"
            except Exception as exc:  # noqa: BLE001 - a failing query is a figure, not a crash
                verdict = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            out["checks"][key] = verdict
            if verdict != "ok":
                log(f"  {name} q{number:02d}: {verdict}")
                continue
            mine, theirs, plans = [], [], []
            for turn in range(args.repeat):
                pair = [("m", lambda n=number: system.run(n)), ("d", lambda n=number: duck.run(n))]
                for label, call in pair if turn % 2 == 0 else pair[::-1]:
                    (mine if label == "m" else theirs).append(timed(call))
                plans.append(timed(lambda n=number: system.plan(n)))
            out["meshlab"][key], out["duckdb"][key], out["planning"][key] = mine, theirs, plans
            out["scans"][key] = scan_rows(system, number)
            ratio = statistics.median(mine) / statistics.median(theirs)
            log(f"  {name} q{number:02d} meshlab {statistics.median(mine):.3f}s  x{ratio:.2f}")
    finally:
        system.close()
    return out


def peak_memory(args: argparse.Namespace, who: str, path: Path) -> int:
    """Peak RSS (bytes) of a fresh process running every query once (``who``: a layout or duckdb)."""
    command = [sys.executable, __file__, "--worker", who, "--scale", f"{args.scale:g}", "--data", str(args.data)]
    command += ["--queries", args.queries, "--path", str(path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        log(f"memory run of {who} failed ({done.returncode}): {done.stderr[-500:]}")
        return -1
    return int(done.stdout.split()[-1])


def worker(args: argparse.Namespace) -> None:
    system = DuckDb(args.path) if args.worker == "duckdb" else Meshlab(args.worker, args.path)
    for number in query_numbers(args.queries):
        system.run(number)
    print(high_water_mark())


def measure(args: argparse.Namespace) -> dict:
    chosen = chosen_layouts(args)
    results = {"layouts": {n: dict(layout) for n, layout in chosen.items()}, "runs": {}, "memory": {}}
    with prepared(args, chosen) as (meshes, layout_p):
        duck = DuckDb(layout_p)
        expected = {n: duck.run(n) for n in query_numbers(args.queries)}
        for name, mesh_path in meshes.items():
            log(f"layout {name}: {family.describe(chosen[name])}")
            results["runs"][name] = measure_layout(name, mesh_path, duck, args, expected)
        del duck
        gc.collect()
        if not args.no_memory:
            results["memory"]["duckdb"] = peak_memory(args, "duckdb", layout_p)
            for name, mesh_path in meshes.items():
                results["memory"][name] = peak_memory(args, name, mesh_path)
                log(f"peak memory {name}: {results['memory'][name] / 2**20:,.0f} MiB")
    return results


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    stored = args.out / f"layouts-sf{args.scale:g}.json"
    if not args.report:
        started = time.time()
        info = machine()
        results = measure(args)
        stamp(results, args, info, started, "layouts.py", argv)
        stored.write_text(json.dumps(results, indent=1))
    import layouts_report as report

    report.render(args.out, json.loads(stored.read_text()))
    log(f"wrote {stored.with_suffix('.md')} and {stored.with_suffix('.png')}")


if __name__ == "__main__":
    main()
