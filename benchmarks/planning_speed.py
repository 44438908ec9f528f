"""Planning time per TPC-H query on the all-parquet mesh (layout P): ``mesh.plan(sql)``, no execution.

Usage: ``python benchmarks/planning_speed.py [--scale 1] [--repeat 20] [--data .benchdata] [--compare]``

The 22 queries are planned once each to warm up (imports, the catalog), then ``--repeat``
rounds plan every query in turn, so a busy moment of the machine falls on all queries alike.
Prints each query's median and the median and worst of those medians, and whether sqlglot
runs compiled (the sqlglotc wheel the default install brings where one exists for the platform).

``--pure-sqlglot`` measures what a platform without a sqlglotc wheel gets: it makes Python
import sqlglot's ``.py`` modules instead of the compiled ones (sqlglotc overlays ``.so`` files
onto sqlglot's own folder, so it cannot simply be left out of one environment).
``--compare`` runs both side by side: three child processes each, alternating.
"""

from __future__ import annotations

import argparse
import gc
import importlib.abc
import importlib.machinery
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-H builder is support.tpch

ROOT = Path(__file__).resolve().parents[1]


class _PureSqlglot(importlib.abc.MetaPathFinder):
    """Finds sqlglot's modules among its source and bytecode files only, never a compiled one."""

    def find_spec(self, name, path, target=None):
        if name != "sqlglot" and not name.startswith("sqlglot."):
            return None
        loaders = [
            (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
        ]
        for entry in path if path is not None else sys.path:
            spec = importlib.machinery.FileFinder(entry or ".", *loaders).find_spec(name)
            if spec is not None:
                return spec
        return None


def sqlglot_compiled() -> bool:
    """Whether sqlglot runs sqlglotc's compiled modules."""
    from sqlglot import tokens

    return tokens.SQLGLOTC_INSTALLED


def queries() -> dict[str, str]:
    """The 22 TPC-H queries, each table named by its mesh address."""
    from support import tpch

    return {f"q{n:02d}": tpch.to_mesh_sql(tpch.query_text(f"q{n:02d}"), tpch.ADDRESS, "duckdb") for n in range(1, 23)}


def measure(mesh, texts: dict[str, str], repeat: int, clock=time.perf_counter) -> dict[str, list[float]]:
    """Milliseconds per planning of each query: one warm-up, then ``repeat`` interleaved rounds."""
    for sql in texts.values():
        mesh.plan(sql)
    times: dict[str, list[float]] = {name: [] for name in texts}
    gc.collect()
    for _ in range(repeat):
        for name, sql in texts.items():
            started = clock()
            mesh.plan(sql)
            times[name].append((clock() - started) * 1000)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in times.items()}


def summary(times: dict[str, list[float]]) -> str:
    """The median and the worst of the queries' medians, and the slowest single planning."""
    per_query = medians(times)
    slowest = max(per_query, key=per_query.get)
    return (
        f"median {statistics.median(per_query.values()):.2f} ms, worst {per_query[slowest]:.2f} ms ({slowest}), "
        f"slowest single run {max(max(v) for v in times.values()):.2f} ms"
    )


def compare(argv: list[str], children: int = 3) -> None:
    """The default install and pure-Python sqlglot, each in ``children`` processes, alternating."""
    variants = {"sqlglotc": [], "pure Python": ["--pure-sqlglot"]}
    pooled: dict[str, dict[str, list[float]]] = {name: {} for name in variants}
    for _ in range(children):
        for name, extra in variants.items():
            command = [sys.executable, __file__, *argv, *extra, "--json"]
            times = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            for query, values in times.items():
                pooled[name].setdefault(query, []).extend(values)
    load = os.getloadavg()[0]
    table = {name: medians(times) for name, times in pooled.items()}
    print("query" + "".join(f"{name:>14}" for name in variants))
    for query in table["sqlglotc"]:
        print(f"{query:5}" + "".join(f"{table[name][query]:11.2f} ms" for name in variants))
    for name in variants:
        print(f"{name}: {summary(pooled[name])}")
    print(
        f"{children} processes each, {len(next(iter(pooled['sqlglotc'].values())))} plans per query; load average {load:.1f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-H scale factor of the data (default 1)")
    parser.add_argument("--repeat", type=int, default=20, help="rounds over the 22 queries (default 20)")
    parser.add_argument("--data", type=Path, default=ROOT / ".benchdata", help="the benchmarks' data cache")
    parser.add_argument(
        "--cpu", action="store_true", help="time on the process's CPU clock: steadier than wall time on a busy machine"
    )
    parser.add_argument("--pure-sqlglot", action="store_true", help="import sqlglot without its compiled modules")
    parser.add_argument("--compare", action="store_true", help="the default install and --pure-sqlglot side by side")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a --compare child's answer
    args = parser.parse_args(argv)
    if args.compare:
        options = ["--scale", str(args.scale), "--repeat", str(args.repeat), "--data", str(args.data)]
        compare(options + (["--cpu"] if args.cpu else []))
        return
    if args.pure_sqlglot:
        if "sqlglot" in sys.modules:
            raise SystemExit("sqlglot is already imported: --pure-sqlglot comes too late")
        sys.meta_path.insert(0, _PureSqlglot())

    from support import tpch

    import meshlab

    folder = tpch.scale_dir(args.data.resolve(), args.scale)
    raw = tpch.generate_raw(folder, args.scale)
    layout_p = tpch.write_layout_p(folder, raw)
    with tempfile.TemporaryDirectory(prefix="meshlab-planning-") as scratch:
        mesh = meshlab.connect(tpch.write_mesh_p(Path(scratch), raw, layout_p))
        try:
            times = measure(mesh, queries(), args.repeat, time.process_time if args.cpu else time.perf_counter)
        finally:
            mesh.close()
    if args.json:
        print(json.dumps(times))
        return
    for query, ms in medians(times).items():
        print(f"{query}  {ms:6.2f} ms")
    print(summary(times))
    print(
        f"sqlglot {'compiled (sqlglotc)' if sqlglot_compiled() else 'pure Python'}, "
        f"SF{args.scale:g}, {args.repeat} rounds, {'CPU' if args.cpu else 'wall'} time, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
