"""TPC-DS: meshlab against hand-written Polars and DuckDB on the 99 queries, all-parquet.

Side by side in one run (the house way of ``run_tpch.py``): per query every system runs
once to warm up -- its answer checked against DuckDB's as the conformance tests check it
(``support.answers``: ORDER BY keys, ties at a LIMIT) -- then ``--repeat`` times in an
order rotated at every repetition. Figures are medians with min-max, and ratios of
medians with their geometric mean over the queries every system answered.

    python benchmarks/tpcds.py                           # SF1, DuckDB's texts, 3 repetitions
    python benchmarks/tpcds.py --scale 0.1 --repeat 1 --texts spec
    python benchmarks/tpcds.py --write-doc               # also docs/benchmarks/tpcds-sf<SF>.md and .json
                                                         # (tpcds-sf<SF>-spec.* for --texts spec)
    python benchmarks/tpcds.py --report                  # re-render the doc from the stored JSON

The systems (all over the same parquet files, one per table, ``support.tpcds``):

meshlab     ``mesh.sql`` on the all-parquet mesh (addresses ``domain.table``)
polars      hand-written Polars: ``pl.SQLContext`` over ``scan_parquet``, the plain text
duckdb      DuckDB (the project's version) over views on the parquet files: the reference

Data and query texts are generated once under ``.benchdata/`` (``make tpcds-tools`` first).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-DS builder is support.tpcds
import polars as pl
from support import tpcds

REPO = Path(__file__).resolve().parents[1]
SYSTEMS = ("meshlab", "polars", "duckdb")
REFERENCE = "duckdb"
RATIOS = (("meshlab / duckdb", "meshlab", "duckdb"), ("meshlab / polars", "meshlab", "polars"),
          ("polars / duckdb", "polars", "duckdb"))  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-DS scale factor (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions per query and system (default 3)")
    parser.add_argument("--texts", default="duckdb", choices=tpcds.QUERY_SETS, help="DuckDB's texts or the spec's")
    parser.add_argument("--queries", help="only these, e.g. q01,q14_2 (default: all of the text set)")
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata" / "tpcds", help="cache of generated data")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks", help="where --write-doc writes")
    parser.add_argument("--write-doc", action="store_true", help="write docs/benchmarks/tpcds-sf<SF>.md and .json")
    parser.add_argument("--report", action="store_true", help="only re-render the doc from the stored JSON")
    return parser.parse_args(argv)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the systems -------------------------------------------------------------------------------
class Meshlab:
    def __init__(self, raw: Path, folder: Path):
        import meshlab

        self.on_disk = tpcds.write_parquet_mesh(folder / "mesh-parquet", raw)
        self.mesh = meshlab.connect(str(self.on_disk.mesh_path))

    def run(self, sql: str) -> pl.DataFrame:
        return self.mesh.sql(self.on_disk.to_mesh_sql(sql)).df

    def close(self) -> None:
        self.mesh.close()


class HandPolars:
    def __init__(self, raw: Path):
        self.context = pl.SQLContext({t: pl.scan_parquet(raw / f"{t}.parquet") for t in tpcds.TABLES})

    def run(self, sql: str) -> pl.DataFrame:
        return self.context.execute(sql).collect()


class DuckDb:
    def __init__(self, raw: Path):
        import duckdb

        self.con = duckdb.connect()
        for table in tpcds.TABLES:
            self.con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{raw / f'{table}.parquet'}')")

    def run(self, sql: str) -> pl.DataFrame:
        answer: pl.DataFrame = self.con.sql(sql).pl()
        return answer


# -- measuring ---------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:240]}"


def check(systems: dict, sql: str) -> dict[str, str]:
    """Each system's answer against DuckDB's: "ok", or why not."""
    from support.answers import assert_same_answer, without_limit

    expected = systems[REFERENCE].run(sql)
    unlimited_sql = without_limit(sql)
    unlimited = systems[REFERENCE].run(unlimited_sql) if unlimited_sql else None
    verdicts = {REFERENCE: "ok"}
    for name, system in systems.items():
        if name == REFERENCE:
            continue
        try:
            assert_same_answer(system.run(sql), expected, unlimited, sql)
            verdicts[name] = "ok"
        except AssertionError as exc:
            verdicts[name] = f"wrong answer: {(str(exc).strip().splitlines() or [''])[0][:240]}"
        except Exception as exc:  # noqa: BLE001 - a failing system is a figure, not a crash
            verdicts[name] = f"error: {_first_line(exc)}"
    return verdicts


def measure(args: argparse.Namespace) -> dict:
    folder = tpcds.data_dir(args.scale, args.data.resolve())
    started = time.perf_counter()
    raw = tpcds.generate_raw(args.scale, args.data.resolve())
    tpcds.write_queries()
    log(f"data ready in {time.perf_counter() - started:.1f} s under {folder}")
    systems: dict[str, Any] = {"meshlab": Meshlab(raw, folder), "polars": HandPolars(raw), "duckdb": DuckDb(raw)}
    names = tpcds.QUERY_NAMES[args.texts]
    if args.queries:
        names = tuple(n for n in names if n in args.queries.split(","))
    results: dict = {"times": {s: {} for s in SYSTEMS}, "checks": {s: {} for s in SYSTEMS}, "systems": list(SYSTEMS)}
    for name in names:
        sql = tpcds.query_text(args.texts, name)
        verdicts = check(systems, sql)  # the warm-up run
        for system, verdict in verdicts.items():
            results["checks"][system][name] = verdict
            if verdict != "ok":
                log(f"  {name} {system}: {verdict}")
        runnable = [s for s in SYSTEMS if not verdicts[s].startswith("error")]
        for rep in range(args.repeat):
            for system in runnable[rep % len(runnable) :] + runnable[: rep % len(runnable)]:
                gc.collect()
                begun = time.perf_counter()
                systems[system].run(sql)
                results["times"][system].setdefault(name, []).append(time.perf_counter() - begun)
        log(f"{name}  " + "  ".join(f"{s} {statistics.median(results['times'][s][name]):.3f}s" for s in runnable))
    systems["meshlab"].close()
    return results


def machine() -> dict:
    import duckdb
    import sqlglot

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        "sqlglot": sqlglot.__version__,
        "load_before": os.getloadavg()[0],
    }


# -- the report --------------------------------------------------------------------------------
def _median(results: dict, system: str, name: str) -> float | None:
    runs = results["times"][system].get(name)
    return statistics.median(runs) if runs else None


def _span(results: dict, system: str, name: str) -> str:
    runs = results["times"][system].get(name)
    return f"{statistics.median(runs):.3f} ({min(runs):.3f}–{max(runs):.3f})" if runs else "—"


def _answered(results: dict, name: str) -> bool:
    return all(results["checks"][s].get(name) == "ok" for s in SYSTEMS)


def geomean(results: dict, top: str, bottom: str) -> tuple[float | None, int]:
    """Geometric mean of the per-query ratios of medians over the queries every system answered right."""
    names = [n for n in results["queries"] if _answered(results, n)]
    ratios = [a / b for n in names if (a := _median(results, top, n)) and (b := _median(results, bottom, n))]
    return (statistics.geometric_mean(ratios) if ratios else None), len(ratios)


def render(results: dict) -> str:
    m, scale, queries = results["machine"], results["scale"], results["queries"]
    totals = {s: sum(_median(results, s, n) or 0 for n in queries if _answered(results, n)) for s in SYSTEMS}
    failures = [
        f"{n} {s}: {results['checks'][s][n]}" for n in queries for s in SYSTEMS if results["checks"][s][n] != "ok"
    ]
    lines = [
        f"# TPC-DS SF{scale:g}: meshlab, hand-written Polars and DuckDB",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared with other users; load {m['load_before']:.1f} before, "
        f"{m['load_after']:.1f} after), {m['memory_gib']} GiB; Python {m['python']}, Polars {m['polars']}, "
        f"DuckDB {m['duckdb']}, sqlglot {m['sqlglot']}.",
        f"Reproduce: `{results['command']}` (`make bench-tpcds`). {results['repeat']} timed run(s) per query and "
        "system after one warm-up (which checks the answer), systems alternated; times are medians (min–max) in "
        "seconds, ratios are of medians.",
        "",
        f"Texts: {'DuckDB' if results['texts'] == 'duckdb' else 'the specification'}'s ({len(queries)} queries). "
        "Data: DuckDB's dsdgen (`duckdb-extension-tpcds`), one parquet file per table; every system reads the same "
        "files: meshlab through an all-parquet mesh (`tests/support/tpcds.py`), Polars through `pl.SQLContext` over "
        "`scan_parquet`, DuckDB through views.",
        "",
        "## Summary",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for label, top, bottom in RATIOS:
        value, count = geomean(results, top, bottom)
        if value is not None:
            lines.append(f"| {label} (geomean over {count} queries) | {value:.3f} |")
    for system in SYSTEMS:
        lines.append(f"| {system}: total of medians over the queries all answered right | {totals[system]:.2f} s |")
    lines += ["", "Answers checked against DuckDB's: " + ("all equal." if not failures else "")]
    lines += ([""] if failures else []) + [f"- {failure}" for failure in failures]
    head = ["query", *(f"{s} s" for s in SYSTEMS), *(label for label, _, _ in RATIOS)]
    lines += ["", "## Time per query", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in queries:
        cells = [name, *(_span(results, s, name) for s in SYSTEMS)]
        for _, top, bottom in RATIOS:
            a, b = _median(results, top, name), _median(results, bottom, name)
            cells.append(f"{a / b:.2f}" if a and b else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    args = parse_args(argv)
    stored = args.out / (f"tpcds-sf{args.scale:g}" + ("" if args.texts == "duckdb" else f"-{args.texts}") + ".json")
    if args.report:
        results = json.loads(stored.read_text())
    else:
        info = machine()
        results = measure(args)
        info["load_after"] = os.getloadavg()[0]
        results.update(scale=args.scale, repeat=args.repeat, texts=args.texts, machine=info)
        results["queries"] = list(results["checks"][REFERENCE])
        results["command"] = "python benchmarks/tpcds.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results)
    if args.write_doc or args.report:
        args.out.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(results, indent=1))
        stored.with_suffix(".md").write_text(text)
        log(f"wrote {stored.with_suffix('.md')} and {stored.name}")
    else:
        print(text)


if __name__ == "__main__":
    main()
