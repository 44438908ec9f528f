"""TPC-H: meshlab against hand-written Polars, DuckDB and the naive notebook approach.

Side by side in one run: per query every system runs once to warm up (its answer is
checked against DuckDB's), then ``--repeat`` times in an order rotated at every
repetition; planning (``mesh.plan``, no execution) is timed in the same loop. Figures
are medians with min-max, and ratios of medians. Peak memory: each system runs the
queries once more in its own process, which reports its peak RSS (VmHWM).

    python benchmarks/run_tpch.py                    # SF1, layouts P and F, 5 repetitions
    python benchmarks/run_tpch.py --scale 0.1 --repeat 3
    python benchmarks/run_tpch.py --report           # re-render docs/benchmarks from the stored JSON

Writes docs/benchmarks/tpch-sf<SF>.json, .md and .png, and tpch-scale.png over every
scale factor measured so far. Data is generated once under .benchdata/ (gitignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-H builder is support.tpch
import tpch_report as report
from support import tpch as data
from tpch_systems import make_system, pg_uri

REPO = Path(__file__).resolve().parents[1]
PG_USER_ENV = "BENCH_PGUSER"
SYSTEMS = {"P": ("meshlab-P", "polars-P", "duckdb-P"), "F": ("meshlab-F", "naive-F", "duckdb-P")}
REFERENCE = "duckdb-P"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per query and system (default 5)")
    parser.add_argument("--layouts", default="P,F", help="P, F or P,F (default)")
    parser.add_argument("--queries", default="1-22", help="e.g. 1-22, 3,5,18")
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata", help="cache of generated data")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks", help="where results go")
    parser.add_argument("--systems", help="only these systems, e.g. meshlab-F,duckdb-P (default: the layouts')")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    parser.add_argument("--report", action="store_true", help="only re-render the reports from stored JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one system's memory run
    parser.add_argument("--pg-uri", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def query_numbers(text: str) -> list[int]:
    numbers = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        numbers.extend(range(int(low), int(high or low) + 1))
    return numbers


@contextmanager
def prepared(args: argparse.Namespace, with_postgres: bool):
    """Generate (or reuse) the data, start PostgreSQL when needed, write both meshes; yields (paths, pg uri)."""
    folder = data.scale_dir(args.data.resolve(), args.scale)
    started = time.perf_counter()
    raw = data.generate_raw(folder, args.scale)
    layout_p = data.write_layout_p(folder, raw)
    files = data.write_layout_f_files(folder, raw)
    paths = {"raw": raw, "layout_p": layout_p, "files": files, "mesh_p": data.write_mesh_p(folder, raw, layout_p)}
    if not with_postgres:
        log(f"data ready in {time.perf_counter() - started:.1f} s under {folder}")
        yield paths, None
        return
    from support.postgres_server import start_postgres

    if (folder / "pg" / "data" / "postmaster.pid").exists():
        raise SystemExit(f"a PostgreSQL server already runs on {folder / 'pg'}: another benchmark? stop it first")
    with start_postgres(folder / "pg", log_statements=False) as server:
        data.load_postgres(server, raw, data.LAYOUT_F_POSTGRES_TABLES)
        os.environ[PG_USER_ENV] = server.user
        paths["mesh_f"] = data.write_mesh_f(folder, raw, layout_p, files, server, PG_USER_ENV)
        log(f"data ready in {time.perf_counter() - started:.1f} s under {folder}")
        yield paths, pg_uri(server.host, server.port, server.user)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(call) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def warm_up(systems: dict, number: int, results: dict) -> None:
    """Run every system once; check its answer against DuckDB's; keep meshlab-F's fetch figures."""
    expected = systems[REFERENCE].run(number)
    from tpch_systems import difference

    for name, system in systems.items():
        try:
            answer = system.run(number) if name != REFERENCE else expected
            verdict = difference(answer, expected) or "ok"
        except Exception as exc:  # noqa: BLE001 - a failing system is a figure, not a crash
            verdict = f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        results["checks"].setdefault(name, {})[str(number)] = verdict
        if verdict != "ok":
            log(f"  q{number:02d} {name}: {verdict}")
    if "meshlab-F" in systems:
        results["fetch"][str(number)] = fetch_figures(systems, number, results["paths"])


def fetch_figures(systems: dict, number: int, paths: dict) -> dict:
    """Rows and bytes each database sent (meshlab-F, naive-F) and what the query needs."""
    import tpch_needed as needed

    fragments = []
    for fragment in systems["meshlab-F"].last.plan:
        if fragment.kind in ("sqlite", "postgres"):
            tables = [address.split(".")[-1] for address in fragment.datasets]
            columns = {}
            for sql in fragment.sent:
                for table, names in needed.sent_columns(sql, fragment.kind).items():
                    columns.setdefault(table, set()).update(names)
            fragments.append(
                {
                    "tables": tables,
                    "needed": needed.needed_join_rows(Path(paths["raw"]), number, tables) if len(tables) > 1 else None,
                    "kind": fragment.kind,
                    "rows": fragment.rows,
                    "bytes": fragment.bytes,
                    "seconds": fragment.seconds,
                    "statements": len(fragment.sent),
                    "columns": {t: sorted(c) for t, c in columns.items()},
                }
            )
    naive = systems.get("naive-F")
    pulled = {t: list(v) for t, v in (naive.pulled if naive else {}).items() if t in needed.DATABASE_TABLES}
    schema = needed.schema_of(Path(paths["raw"]))
    wanted = needed.needed_columns(systems["meshlab-F"].plain(number), schema)
    return {
        "meshlab": fragments,
        "naive": pulled,
        "needed_rows": needed.needed_rows(Path(paths["raw"]), number),
        "needed_columns": {t: sorted(c) for t, c in wanted.items()},
    }


PLAN_RUNS = 10  # planning is timed apart, back to back: a query's tail (freeing memory) must not count


def time_query(systems: dict, number: int, repeat: int, results: dict) -> None:
    names = list(systems)
    for rep in range(repeat):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            seconds, _ = timed(lambda system=systems[name]: system.run(number))
            results["times"].setdefault(name, {}).setdefault(str(number), []).append(seconds)
            if name.startswith("meshlab"):  # the same run without its planning: where the time goes
                execution = results.setdefault("execution", {}).setdefault(name, {})
                execution.setdefault(str(number), []).append(systems[name].last.run_seconds)
    for name in names:
        if name.startswith("meshlab"):
            gc.collect()
            for _ in range(PLAN_RUNS):
                started = time.perf_counter()
                systems[name].plan(number)
                results["planning"].setdefault(name, {}).setdefault(str(number), []).append(
                    time.perf_counter() - started
                )


# The naive approach holds every table whole and lets Polars join them in the order written:
# at SF3 its Q5 took 23 GB and the OOM killer, so above this scale it runs only when named.
NAIVE_MAX_SCALE = 1.0


def system_names(args: argparse.Namespace) -> list[str]:
    names = list(dict.fromkeys(n for layout in args.layouts.split(",") for n in SYSTEMS[layout.strip().upper()]))
    if args.scale > NAIVE_MAX_SCALE:
        names = [n for n in names if n != "naive-F"]
    if args.systems:
        names = [n for n in args.systems.split(",") if n]
    return names + ([REFERENCE] if REFERENCE not in names else [])  # answers are checked against it


def measure(args: argparse.Namespace, paths: dict, pg: str | None) -> dict:
    names = system_names(args)
    results = {"times": {}, "planning": {}, "checks": {}, "fetch": {}, "memory": {}, "systems": names}
    results["paths"] = {k: str(v) for k, v in paths.items()}
    systems = {name: make_system(name, paths, pg) for name in names}
    for number in query_numbers(args.queries):
        warm_up(systems, number, results)
        time_query(systems, number, args.repeat, results)
        medians = {n: sorted(results["times"][n][str(number)])[args.repeat // 2] for n in names}
        log(f"q{number:02d}  " + "  ".join(f"{n} {s:.3f}s" for n, s in medians.items()))
    for system in systems.values():
        getattr(system, "close", lambda: None)()
    del systems
    gc.collect()
    if not args.no_memory:
        for name in names:
            results["memory"][name] = peak_memory(args, name, pg)
            log(f"peak memory {name}: {results['memory'][name] / 2**20:,.0f} MiB")
    return results


def peak_memory(args: argparse.Namespace, name: str, pg: str) -> int:
    """Peak RSS (bytes) of a fresh process running every query once with system ``name``.

    The worker reports its own ``VmHWM``: the kernel's ``ru_maxrss`` of a child would
    include the pages of this (large) process it was forked from.
    """
    command = [sys.executable, __file__, "--worker", name, "--scale", f"{args.scale:g}", "--data", str(args.data)]
    command += ["--queries", args.queries] + (["--pg-uri", pg] if pg else [])
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        log(f"memory run of {name} failed ({done.returncode}): {done.stderr[-500:]}")
        return -1
    return int(done.stdout.split()[-1])


def high_water_mark() -> int:
    """This process's peak RSS in bytes (VmHWM: since its exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def worker(args: argparse.Namespace) -> None:
    folder = data.scale_dir(args.data.resolve(), args.scale)
    paths = {
        "layout_p": folder / "P",
        "files": folder / "F",
        "mesh_p": folder / "mesh-P" / "mesh.yaml",
        "mesh_f": folder / "mesh-F" / "mesh.yaml",
    }
    os.environ.setdefault(PG_USER_ENV, "postgres")
    system = make_system(args.worker, paths, args.pg_uri)
    for number in query_numbers(args.queries):
        system.run(number)
    print(high_water_mark())


def machine() -> dict:
    import duckdb
    import polars
    import sqlglot
    from sqlglot.tokens import SQLGLOTC_INSTALLED as compiled  # sqlglotc has no module of its own to import

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "duckdb": duckdb.__version__,
        "sqlglot": sqlglot.__version__ + (" (sqlglotc)" if compiled else ""),
        "postgres": subprocess.run(["postgres", "--version"], capture_output=True, text=True).stdout.strip(),
        "load_before": os.getloadavg()[0],
    }


def stamp(results: dict, args: argparse.Namespace, info: dict, started: float, script: str, argv) -> None:
    """What a stored run says of itself: scale, repetitions, machine (load after too), the command."""
    results.update(scale=args.scale, repeat=args.repeat, machine=info, started=started)
    results["machine"]["load_after"] = os.getloadavg()[0]
    results["command"] = f"python benchmarks/{script} " + " ".join(argv if argv is not None else sys.argv[1:])


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    stored = args.out / f"tpch-sf{args.scale:g}.json"
    if not args.report:
        started = time.time()
        info = machine()
        with prepared(args, any(n.endswith("-F") for n in system_names(args))) as (paths, pg):
            results = measure(args, paths, pg)
        stamp(results, args, info, started, "run_tpch.py", argv)
        results.pop("paths")
        stored.write_text(json.dumps(results, indent=1, default=sorted))
    report.render(args.out, json.loads(stored.read_text()))
    log(f"wrote {stored.with_suffix('.md')} and {stored.with_suffix('.png')}")


if __name__ == "__main__":
    main()
