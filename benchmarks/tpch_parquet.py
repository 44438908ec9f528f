"""meshlab vs hand-written Polars SQL on TPC-H, every table in parquet.

Side by side in one run, alternating the systems, several repetitions:
reports per-query medians, the geomean ratio and the planning overhead
(parse -> plan, no execution). Usage:

    python benchmarks/tpch_parquet.py --scale 1 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import sqlglot
import yaml
from sqlglot import exp

import meshlab

TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
QUERIES = Path(__file__).resolve().parents[1] / "tests" / "tpch"


def generate(directory: Path, scale: float) -> None:
    if all((directory / f"{t}.parquet").exists() for t in TABLES):
        return
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tpchgen-cli", "parquet", "-s", str(scale), "-o", str(directory), "--no-progress"], check=True)


def logical(dtype: pl.DataType) -> tuple[str, str]:
    if dtype.is_integer():
        return "integer", "BIGINT"
    if isinstance(dtype, pl.Decimal):
        return "number", f"DECIMAL({dtype.precision},{dtype.scale})"
    if dtype == pl.Date:
        return "date", "DATE"
    return "string", "VARCHAR"


def write_mesh(directory: Path) -> Path:
    domain = directory / "mesh" / "tpch"
    domain.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        path = directory / f"{table}.parquet"
        schema = pl.read_parquet_schema(path)
        contract = {
            "apiVersion": "v3.1.0",
            "kind": "DataContract",
            "id": table,
            "name": table,
            "status": "active",
            "domain": "tpch",
            "servers": [{"server": "lake", "type": "local", "format": "parquet", "path": str(path)}],
            "schema": [
                {
                    "name": table,
                    "properties": [
                        {"name": c, "logicalType": logical(t)[0], "physicalType": logical(t)[1]}
                        for c, t in schema.items()
                    ],
                }
            ],
        }
        (domain / f"{table}.odcs.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
    manifest = directory / "mesh" / "mesh.yaml"
    manifest.write_text("mesh: tpch\ndomains: {tpch: tpch}\n")
    return manifest


def to_mesh_sql(sql: str) -> str:
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in TABLES and table.name not in ctes:
            if not table.alias:
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("db", exp.to_identifier("tpch"))
    return tree.sql(dialect="duckdb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", default=".benchdata")
    parser.add_argument("--queries", default=os.environ.get("TPCH_QUERIES", str(QUERIES)))
    args = parser.parse_args()
    directory = Path(args.data).resolve() / f"tpch-sf{args.scale:g}"
    generate(directory, args.scale)
    mesh = meshlab.connect(write_mesh(directory))
    context = pl.SQLContext({t: pl.scan_parquet(directory / f"{t}.parquet") for t in TABLES})

    rows, ratios, plans = [], [], []
    for number in range(1, 23):
        plain = (Path(args.queries) / f"q{number:02d}.sql").read_text()
        addressed = to_mesh_sql(plain)
        mesh.sql(addressed)  # warm-up: file listings, caches
        context.execute(plain).collect()
        times = {"meshlab": [], "polars": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            mesh.sql(addressed)
            times["meshlab"].append(time.perf_counter() - start)
            start = time.perf_counter()
            context.execute(plain).collect()
            times["polars"].append(time.perf_counter() - start)
            start = time.perf_counter()
            mesh.plan(addressed)
            plans.append(time.perf_counter() - start)
        m, p = statistics.median(times["meshlab"]), statistics.median(times["polars"])
        ratios.append(m / p)
        rows.append((number, m, p, m / p))
        print(f"q{number:02d}  meshlab {m:.3f}s  polars {p:.3f}s  ratio {m / p:.2f}", file=sys.stderr)

    print(f"TPC-H SF{args.scale:g}, all parquet, {args.repeat} runs each, medians, {os.cpu_count()} cores\n")
    print("| query | meshlab (s) | hand-written Polars SQL (s) | ratio |")
    print("|---|---|---|---|")
    for number, m, p, r in rows:
        print(f"| q{number:02d} | {m:.3f} | {p:.3f} | {r:.2f} |")
    print(f"\ngeomean ratio meshlab / Polars: {statistics.geometric_mean(ratios):.3f}")
    print(f"planning overhead: median {statistics.median(plans) * 1000:.2f} ms, max {max(plans) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
