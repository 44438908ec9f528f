"""TPC-H with lineitem and orders in each new source kind, side by side with DuckDB over parquet.

For each kind (Delta, Iceberg, a DuckDB file, MariaDB) a mesh holds ``lineitem`` and
``orders`` there and the six other tables as parquet files; the 22 queries run through
``mesh.sql`` and, in the same run, through DuckDB over the plain parquet files (the
baseline). Per query and kind it reports the median time, its ratio to DuckDB's, and what
the two big tables' sources sent against what the query needs of them:

- *rows read*: rows the source handed over (a database's fetched rows; a lakehouse
  table's rows in the files it opened after pruning, from its log's per-file counts);
- *rows needed*: rows meeting the query's own single-table conditions on that table
  (``tpch_needed.LINEITEM`` / ``CONDITIONS``, counted by DuckDB over the parquet);
- *bytes*: what a database sent (Arrow bytes), or a lakehouse scan's compressed bytes
  of the needed columns in the files it opened.

Data is generated once (``tpchgen-cli``) and cached under ``.benchdata/lakehouse/sf<N>``;
MariaDB is a throwaway server started here (tests/support/mariadb_server.py).

    python benchmarks/lakehouse_sources.py [--scale 1] [--repeat 3] [--queries 1,3,6] [--write-doc]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: TPC-H builder, placements, MariaDB server
import duckdb
import polars as pl
import tpch_needed
from support import tpch
from support.contracts import write_mesh, write_yaml
from support.lakehouse import write_delta_history, write_iceberg_history
from support.placements import Home, write_duckdb, write_mysql

import meshlab

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".benchdata" / "lakehouse"
DOC = ROOT / "docs" / "benchmarks" / "lakehouse-sources.md"
BIG = ("lineitem", "orders")
#: a lakehouse table is written in this many commits of date-sorted rows: one data file each, whose
#: min/max statistics let a date filter skip files (as a table appended to day by day would)
COMMITS = 12
SORT_KEYS = {"lineitem": "l_shipdate", "orders": "o_orderdate"}


def _chunks(table: str, frame: pl.DataFrame) -> list[pl.DataFrame]:
    ordered = frame.sort(SORT_KEYS[table])
    size = -(-ordered.height // COMMITS)
    return [ordered.slice(i * size, size) for i in range(COMMITS) if i * size < ordered.height]


def write_delta(home: Home, table: str, frame: pl.DataFrame) -> dict:
    path = home.folder / f"{table}.delta"
    write_delta_history(path, _chunks(table, frame))
    return {"server": "lake", "type": "local", "format": "delta", "path": str(path)}


def write_iceberg(home: Home, table: str, frame: pl.DataFrame) -> dict:
    catalog = f"sqlite:///{home.folder / 'iceberg.db'}"
    write_iceberg_history(home.folder / "warehouse", catalog, f"bench.{table}", _chunks(table, frame))
    properties = [{"property": "catalog", "value": catalog}, {"property": "table", "value": f"bench.{table}"}]
    return {"server": "lake", "type": "custom", "format": "iceberg", "customProperties": properties}


ADDRESSES = {table: f"{domain}.{table}" for table, domain in tpch.DOMAINS.items()}
WRITERS = {"delta": write_delta, "iceberg": write_iceberg, "duckdb": write_duckdb, "mysql": write_mysql}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", default="1-22", help="e.g. 1,3,6 or 1-22")
    parser.add_argument("--kinds", default=",".join(WRITERS))
    parser.add_argument("--write-doc", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    return parser.parse_args(argv)


def query_numbers(text: str) -> list[int]:
    numbers: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        numbers += list(range(int(low), int(high or low) + 1))
    return numbers


def build_mesh(kind: str, raw: Path, root: Path, services: dict) -> Path:
    """A mesh at ``root``: lineitem and orders written by ``kind``'s placement, the rest as parquet."""
    home = Home(root / "data", f"bench_{kind}", services, os.environ.__setitem__)
    home.folder.mkdir(parents=True, exist_ok=True)
    for table in tpch.TABLES:
        path = raw / f"{table}.parquet"
        if table in BIG:
            server = WRITERS[kind](home, table, pl.read_parquet(path))
        else:
            server = {"server": "lake", "type": "local", "format": "parquet", "path": str(path)}
        schema = dict(pl.read_parquet_schema(path))
        document = tpch.table_contract(table, schema, server)
        write_yaml(root / "domains" / tpch.DOMAINS[table] / f"{table}.odcs.yaml", document)
    return write_mesh(root, f"lakehouse-{kind}", sorted(set(tpch.DOMAINS.values())))


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def big_table_figures(result, raw: Path, number: int) -> dict[str, dict]:
    """Per big table: rows and bytes its source sent (summed over its scans), and rows needed."""
    found: dict[str, dict] = {}
    for fragment in result.plan.fragments:
        for address in fragment.datasets:
            table = address.split("@")[0].rsplit(".", 1)[-1]
            if table not in BIG:
                continue
            entry = found.setdefault(table, {"rows": 0, "bytes": 0, "sent": []})
            entry["rows"] += fragment.rows or 0
            entry["bytes"] += fragment.bytes or 0
            entry["sent"] += list(fragment.sent)
    for table in BIG:
        found.setdefault(table, {"rows": 0, "bytes": 0, "sent": []})
        found[table]["needed"] = tpch_needed.needed_table_rows(raw, number, table)
    return found


def lakehouse_rows(mesh, table: str, sent: list[str]) -> int | None:
    """Rows in the files a lakehouse scan opened, from 'files: k of n' in what it reports (proportional)."""
    for text in sent:
        match = re.search(r"files: (\d+) of (\d+)", text)
        if match:
            opened, total = int(match.group(1)), int(match.group(2))
            source = mesh.source(mesh.dataset(f"{tpch.DOMAINS[table]}.{table}"))
            rows = source.estimate_rows() or 0
            return round(rows * opened / max(total, 1))
        if "files:" in text and "no predicate prunes" in text:
            return mesh.source(mesh.dataset(f"{tpch.DOMAINS[table]}.{table}")).estimate_rows()
    return None


def run(args: argparse.Namespace) -> dict:
    raw = tpch.generate(DATA / f"sf{args.scale:g}" / "raw", args.scale)
    numbers = query_numbers(args.queries)
    baseline = duckdb.connect()
    for table in tpch.TABLES:
        baseline.sql(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{raw / f'{table}.parquet'}')")
    results: dict = {"scale": args.scale, "repeat": args.repeat, "kinds": {}, "duckdb": {}}
    for number in numbers:
        sql = tpch.query_text(f"q{number:02d}") or ""
        runs = [timed(lambda sql=sql: baseline.sql(sql).pl())[0] for _ in range(args.repeat)]
        results["duckdb"][number] = statistics.median(runs)
    with contextlib.ExitStack() as stack:
        services = {}
        kinds = [k for k in args.kinds.split(",") if k]
        if "mysql" in kinds:
            from support.mariadb_server import start_mariadb

            services["mariadb_server"] = stack.enter_context(start_mariadb())
        for kind in kinds:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"bench-{kind}-")))
            started = time.perf_counter()
            mesh = meshlab.connect(build_mesh(kind, raw, root, services))
            print(f"{kind}: mesh written in {time.perf_counter() - started:.0f} s", flush=True)
            per_query = results["kinds"].setdefault(kind, {})
            for number in numbers:
                sql = tpch.to_mesh_sql(tpch.query_text(f"q{number:02d}") or "", ADDRESSES)
                times, result = [], None
                for _ in range(args.repeat):
                    seconds, result = timed(lambda mesh=mesh, sql=sql: mesh.sql(sql))
                    times.append(seconds)
                figures = big_table_figures(result, raw, number)
                for table, entry in figures.items():
                    if kind in ("delta", "iceberg") and entry["sent"]:
                        entry["rows"] = lakehouse_rows(mesh, table, entry["sent"])
                    entry.pop("sent")
                per_query[number] = {"seconds": statistics.median(times), "tables": figures}
                ratio = per_query[number]["seconds"] / results["duckdb"][number]
                print(f"  q{number:02d} {per_query[number]['seconds']:.3f} s ({ratio:.1f}x duckdb)", flush=True)
            mesh.close()
    return results


NOTES = """
Reading the figures:

- A lakehouse table opens whole files: the tables were written in 12 date-sorted commits, so a
  date filter skips the files whose min/max statistics exclude it (q06 opens 3 of 12 lineitem
  files); Polars filters the rows inside the files it opens. Delta and Iceberg are read natively
  by Polars, as parquet is: their times stay close to DuckDB's over the same parquet data.
- A database sends every row it keeps through its driver. MariaDB's rows cost about 2-3 µs each
  through mysqlclient (`benchmarks/mysql_drivers.py`: connectorx is faster but needs 30 s to
  report a server that is down), which dominates its times; it sends exactly the rows needed.
- A join pushed down into the DuckDB file (q03, q05, q08, q10) returns joined rows: its *read*
  counts those rows for each of its tables, fewer than each table's own *needed* rows.
- q18 sends orders the keys of its IN subquery (57 rows read); q21 reads lineitem twice from a
  database, once per reference with its own conditions.
"""


def _count(value) -> str:
    return "-" if value is None else f"{value:,}"


def report(results: dict) -> str:
    lines = [
        f"# TPC-H SF{results['scale']:g}: lineitem and orders in each source kind",
        "",
        f"Measured {dt.date.today().isoformat()} on this machine (2 cores), median of {results['repeat']} runs; "
        "`python benchmarks/lakehouse_sources.py --write-doc` reproduces it. The other six tables are parquet files. "
        "*ratio*: meshlab's time over DuckDB's over the plain parquet files, in the same run. "
        "*read / needed*: rows lineitem's and orders' source handed over against the rows meeting the query's own "
        "conditions on them (`benchmarks/tpch_needed.py`); a lakehouse table counts the rows of the files it opened.",
        "",
    ]
    kinds = list(results["kinds"])
    head = "| query | DuckDB s | " + " | ".join(f"{k} s (ratio) | {k} lineitem read/needed | {k} orders read/needed"
                                              for k in kinds) + " |"  # fmt: skip
    lines += [head, "|" + "---|" * (2 + 3 * len(kinds))]
    for number, base in results["duckdb"].items():
        cells = [f"q{int(number):02d}", f"{base:.3f}"]
        for kind in kinds:
            entry = results["kinds"][kind][number]
            cells.append(f"{entry['seconds']:.3f} ({entry['seconds'] / base:.1f}x)")
            for table in BIG:
                figures = entry["tables"][table]
                cells.append(f"{_count(figures['rows'])} / {_count(figures['needed'])}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for kind in kinds:
        ratios = [results["kinds"][kind][n]["seconds"] / results["duckdb"][n] for n in results["duckdb"]]
        lines.append(f"- {kind}: median ratio {statistics.median(ratios):.1f}x, geometric mean "
                     f"{statistics.geometric_mean(ratios):.1f}x over {len(ratios)} queries")  # fmt: skip
    return "\n".join(lines) + "\n" + NOTES


def main(argv=None) -> None:
    args = parse_args(argv)
    results = run(args)
    text = report(results)
    print(text)
    if args.write_doc:
        DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
