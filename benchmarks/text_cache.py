"""The columnar cache of text files (meshlab.sources.text_cache) on TPC-H layouts with CSV and NDJSON.

Layouts come from tests/support/tpch_layouts.py (``seed-3``: lineitem CSV, orders NDJSON;
``seed-8``: lineitem NDJSON; the rest parquet, SQLite and PostgreSQL). For each layout:

* **cold**: an empty cache folder and fresh meshes; each query's first run with the cache
  (converting the text files it reads) against its first run reading the text;
* **warm**: one warm-up each (answers checked against DuckDB's), then ``--repeat`` timed
  runs alternating meshlab reading the text (``files.text_cache: false``), meshlab reading
  the copies, and DuckDB over parquet; medians;
* the cache folder's size, against the text files'.

    python benchmarks/text_cache.py --scale 0.1 --layouts seed-3,seed-8 --queries 1,6,12 --repeat 3
    python benchmarks/text_cache.py --scale 1 --layouts none --text lineitem=csv --queries 1,6

Starts its own PostgreSQL (in a temporary folder); data under ``--data`` (``.benchdata``);
results in ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the TPC-H builders live in support/
import yaml
from run_tpch import log, query_numbers
from support import tpch
from support import tpch_layouts as family
from support.postgres_server import start_postgres
from tpch_systems import DuckDb, Meshlab, difference

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--layouts", default="seed-3,seed-8", help="layouts of the family, or none")
    parser.add_argument(
        "--text", help="also a layout of plain parquet but these tables, e.g. lineitem=csv,orders=ndjson"
    )
    parser.add_argument("--queries", default="1-22")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "meshlab-text-cache-bench")
    return parser.parse_args(argv)


def timed(call) -> float:
    gc.collect()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _text_off_manifest(manifest: Path) -> Path:
    """A second manifest beside ``manifest``: the same domains, ``files.text_cache: false``."""
    document = yaml.safe_load(manifest.read_text())
    document["files"] = {"text_cache": False}
    other = manifest.with_name("mesh-text.yaml")
    other.write_text(yaml.safe_dump(document))
    return other


def _text_bytes(layout: dict[str, str], store: Path) -> int:
    total = 0
    for table, kind in layout.items():
        if kind in ("csv", "ndjson"):
            total += sum(p.stat().st_size for p in (store / table / kind).glob(f"{table}.*"))
    return total


def measure_layout(name: str, manifest: Path, duck: DuckDb, expected: dict, args: argparse.Namespace) -> dict:
    numbers = query_numbers(args.queries)
    cache = args.out / f"cache-{name}"
    os.environ["MESHLAB_TEXT_CACHE_DIR"] = str(cache)
    off = Meshlab(f"text-{name}", _text_off_manifest(manifest))
    on = Meshlab(f"cached-{name}", manifest)
    out: dict = {"cold": {}, "text": {}, "cached": {}, "duckdb": {}, "checks": {}}
    for number in numbers:  # cold: the first query of a table converts it
        cold_text, cold_cached = timed(lambda n=number: off.run(n)), timed(lambda n=number: on.run(n))
        notes = [s for scan in on.last.plan for s in scan.sent if "converted" in s]
        out["cold"][str(number)] = {"text": cold_text, "cached": cold_cached, "converted": notes}
        log(f"  {name} q{number:02d} cold: text {cold_text:.3f}s, cached {cold_cached:.3f}s {notes}")
    for number in numbers:
        key = str(number)
        verdicts = [difference(system.run(number), expected[number]) or "ok" for system in (off, on)]
        out["checks"][key] = verdicts
        if verdicts != ["ok", "ok"]:
            log(f"  {name} q{number:02d}: {verdicts}")
            continue
        runs: dict[str, list[float]] = {"text": [], "cached": [], "duckdb": []}
        systems = [("text", off), ("cached", on), ("duckdb", duck)]
        for turn in range(args.repeat):
            for label, system in systems[turn % 3 :] + systems[: turn % 3]:
                runs[label].append(timed(lambda s=system, n=number: s.run(n)))
        for label, times in runs.items():
            out[label][key] = times
        medians = {k: statistics.median(v) for k, v in runs.items()}
        log(
            f"  {name} q{number:02d} text {medians['text']:.3f}s (x{medians['text'] / medians['duckdb']:.1f}), "
            f"cached {medians['cached']:.3f}s (x{medians['cached'] / medians['duckdb']:.2f}), "
            f"duckdb {medians['duckdb']:.3f}s"
        )
    out["cache_bytes"] = sum(p.stat().st_size for p in cache.glob("*.parquet"))
    off.close()
    on.close()
    return out


def _geomean(values: list[float]) -> float:
    return statistics.geometric_mean(values) if values else float("nan")


def summary(results: dict) -> None:
    for name, run in results["runs"].items():
        keys = [k for k, v in run["checks"].items() if v == ["ok", "ok"]]
        ratio = {
            label: _geomean([statistics.median(run[label][k]) / statistics.median(run["duckdb"][k]) for k in keys])
            for label in ("text", "cached")
        }
        log(
            f"{name}: geomean vs DuckDB over {len(keys)} queries: text x{ratio['text']:.2f}, cached "
            f"x{ratio['cached']:.2f}; cache {run['cache_bytes'] / 2**20:.1f} MiB for "
            f"{results['text_bytes'][name] / 2**20:.1f} MiB of text"
        )


def main(argv=None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = {k: v for k, v in family.layouts(list(range(1, 9))).items() if k in args.layouts.split(",")}
    if args.text:
        text = dict(part.split("=") for part in args.text.split(","))
        chosen["text-" + "-".join(f"{t}_{k}" for t, k in text.items())] = {
            t: text.get(t, "parquet") for t in tpch.TABLES
        }
    folder = tpch.scale_dir(args.data.resolve(), args.scale)
    raw = tpch.generate_raw(folder, args.scale)
    layout_p = tpch.write_layout_p(folder, raw)
    store = folder / "layouts" / "store"
    results: dict = {"scale": args.scale, "layouts": chosen, "runs": {}, "text_bytes": {}}
    needs_pg = any("postgres" in layout.values() for layout in chosen.values())
    with start_postgres(None, log_statements=False) if needs_pg else nullcontext() as server:
        os.environ["BENCH_PGUSER"] = server.user if server else ""
        duck = DuckDb(layout_p)
        expected = {n: duck.run(n) for n in query_numbers(args.queries)}
        for name, layout in chosen.items():
            family.materialize(store, raw, layout, server)
            manifest = family.write_layout_mesh(
                args.out / f"mesh-{name}", store, raw, layout, server, "BENCH_PGUSER"
            )  # fmt: skip
            log(f"layout {name}: {family.describe(layout)}")
            results["text_bytes"][name] = _text_bytes(layout, store)
            results["runs"][name] = measure_layout(name, manifest, duck, expected, args)
    (args.out / f"text-cache-sf{args.scale:g}.json").write_text(json.dumps(results, indent=1))
    summary(results)


if __name__ == "__main__":
    main()
