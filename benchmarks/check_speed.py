"""How fast `meshlab check` is on a contract with 20 rules over 10 million parquet rows.

Generates the data once (``.benchdata/checks/``), then, side by side in one run,
each repeated and reported as a median:

* ``meshlab check`` end to end (a fresh CLI process: import, load, check, print);
* ``mesh.check()`` in process, and how many scans of the parquet files it made;
* the naive way: one Polars query per rule (what a loop over the rules does);
* DuckDB computing the same measurements in one aggregate query (a reference floor).

Usage: ``python benchmarks/check_speed.py [--rows N] [--repeat R] [--output docs/benchmarks/checks.md]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".benchdata" / "checks"
STATUSES = ["new", "paid", "shipped", "cancelled", "returned"]
DEVICES = ["mobile", "desktop", "tablet", "tv"]
COUNTRIES = ["DE", "SE", "FR", "ES", "IT", "NL", "PL", "PT", "DK", "NO", "FI", "AT", "BE", "CH", "IE", "GB", "US", "CA", "BR", "MX"]  # fmt: skip
PATTERN = "^SKU-[0-9]{8}$"


def generate(rows: int, folder: Path) -> Path:
    """``rows`` orders in 4 parquet files, with a few faults so that failing rows are fetched too."""
    folder.mkdir(parents=True, exist_ok=True)
    i = pl.int_range(0, rows, eager=True, dtype=pl.Int64).alias("i")
    frame = pl.DataFrame({"i": i}).select(
        order_id=pl.col("i") + 1,
        customer_id=pl.when(pl.col("i") % 1009 == 0).then(None).otherwise(pl.col("i") % 500_000),
        status=pl.lit(pl.Series(STATUSES)).gather(pl.col("i") % 5),
        sku=pl.format("SKU-{}", pl.col("i").cast(pl.String).str.zfill(8)),
        amount=pl.when(pl.col("i") % 97 == 0).then(None).otherwise((pl.col("i") % 1000).cast(pl.Float64) / 10),
        quantity=(pl.col("i") % 7 + 1),
        country=pl.when(pl.col("i") % 211 == 0).then(None).otherwise(pl.lit(pl.Series(COUNTRIES)).gather(pl.col("i") % 20)),
        device=pl.when(pl.col("i") % 100_003 == 0).then(pl.lit("fax")).otherwise(pl.lit(pl.Series(DEVICES)).gather(pl.col("i") % 4)),
        coupon=pl.when(pl.col("i") % 3 == 0).then(pl.lit("")).otherwise(pl.format("C{}", pl.col("i") % 50)),
        created_at=pl.datetime(2026, 10, 1) + pl.duration(seconds=pl.col("i") // 4),
    )  # fmt: skip
    parts = 4
    for k in range(parts):
        frame.slice(k * rows // parts, rows // parts).write_parquet(folder / f"part-{k}.parquet")
    return folder


def rule(metric: str, **extra) -> dict:
    out = {"metric": metric, **extra}
    if not any(key.startswith("must") for key in extra):
        out["mustBe"] = 0
    return out


RULES = {  # 20 quality rules: (column or None) -> rules
    None: [
        rule("rowCount", mustBeGreaterThan=0),
        rule("rowCount", mustBeBetween=[1, 10**9]),
        rule("duplicateValues", arguments={"properties": ["customer_id", "created_at"]}, mustBeLessThan=10**9),
        {"type": "sql", "name": "no_negative_amount", "query": "SELECT count(*) FROM {object} WHERE amount < 0", "mustBe": 0},
    ],
    "order_id": [rule("nullValues"), rule("duplicateValues")],
    "customer_id": [rule("nullValues", unit="percent", mustBeLessThan=1)],
    "status": [rule("nullValues"), rule("invalidValues", arguments={"validValues": STATUSES})],
    "sku": [rule("invalidValues", arguments={"pattern": PATTERN}), rule("duplicateValues")],
    "amount": [rule("nullValues", unit="percent", mustBeLessThan=5)],
    "quantity": [rule("nullValues"), rule("invalidValues", arguments={"validValues": list(range(1, 8))})],
    "country": [rule("nullValues", unit="percent", mustBeLessThan=2), rule("invalidValues", arguments={"validValues": COUNTRIES})],
    "device": [rule("nullValues"), rule("invalidValues", arguments={"validValues": DEVICES})],  # fails: a few "fax"
    "coupon": [rule("missingValues", arguments={"missingValues": [None, ""]}, unit="percent", mustBeLessThan=50)],
    "created_at": [rule("nullValues")],
}  # fmt: skip
TYPES = {"order_id": "integer", "customer_id": "integer", "status": "string", "sku": "string", "amount": "number",
         "quantity": "integer", "country": "string", "device": "string", "coupon": "string", "created_at": "timestamp"}  # fmt: skip


def write_mesh(folder: Path) -> Path:
    properties = []
    for name, logical in TYPES.items():
        prop = {"name": name, "logicalType": logical, "quality": RULES.get(name, [])}
        if name == "order_id":
            prop.update(primaryKey=True, required=True)
        properties.append(prop)
    contract = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "bench-orders", "version": "1.0.0", "status": "active",
        "servers": [{"server": "lake", "type": "local", "format": "parquet", "path": "../../data/*.parquet"}],
        "schema": [{"name": "orders", "properties": properties, "quality": RULES[None]}],
        "slaProperties": [{"property": "latency", "value": 1, "unit": "d", "element": "orders.created_at"}],
    }  # fmt: skip
    count = sum(len(v) for v in RULES.values())
    assert count == 20, count
    (folder / "domains" / "shop").mkdir(parents=True, exist_ok=True)
    (folder / "domains" / "shop" / "orders.odcs.yaml").write_text(yaml.safe_dump(contract, sort_keys=False))
    manifest = folder / "mesh.yaml"
    manifest.write_text(
        yaml.safe_dump({"mesh": "bench", "domains": {"shop": "domains/shop"}, "status": "status.sqlite"})
    )
    return manifest


def median_time(run, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def naive(mesh) -> int:
    """One Polars query per rule over a fresh scan: what looping over the rules costs."""
    from meshlab.quality.library_checks import rule_metric
    from meshlab.quality.rules import quality_rules
    from meshlab.quality.runner import contract_document
    from meshlab.sources import ScanSpec, ScanStats

    dataset = mesh.dataset("shop.orders")
    document = contract_document(mesh, dataset)
    source = mesh.source(dataset)
    queries = 0
    for r in quality_rules(document, dataset.address, dataset.name):
        if r.kind == "sql":
            mesh.sql(r.query.replace("{object}", dataset.address))
        else:
            metric = rule_metric(r, dataset)
            columns = metric.columns or ("order_id",)
            source.scan(ScanSpec("__n", dataset, tuple(columns)), ScanStats()).select(metric.polars()).collect()
        queries += 1
    return queries


def batched_exact(mesh) -> int:
    """Every metric in one aggregate, counted exactly (no sorted-key or hash probe)."""
    import datetime as dt

    from meshlab.quality.measure import Measurement, _local_pass
    from meshlab.quality.runner import contract_document, plan_checks

    dataset = mesh.dataset("shop.orders")
    moment = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    metrics = list(dict.fromkeys(p.metric for p in plan_checks(mesh, dataset, contract_document(mesh, dataset), moment)
                                 if p.metric is not None))  # fmt: skip
    _local_pass(mesh.source(dataset), metrics, [m.polars() for m in metrics], Measurement())
    return len(metrics)


def duckdb_floor(folder: Path) -> None:
    valid = lambda values: ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in values)  # noqa: E731
    duckdb.sql(
        f"""SELECT count(*), count(*) - count(order_id), count(order_id) - count(DISTINCT order_id),
        count(*) - count(customer_id), count(*) FILTER (status NOT IN ({valid(STATUSES)})), count(*) - count(status),
        count(*) FILTER (NOT regexp_matches(sku, '{PATTERN}')), count(sku) - count(DISTINCT sku),
        count(*) - count(amount), count(*) - count(quantity), count(*) FILTER (quantity NOT IN (1,2,3,4,5,6,7)),
        count(*) - count(country), count(*) FILTER (country NOT IN ({valid(COUNTRIES)})),
        count(*) FILTER (device NOT IN ({valid(DEVICES)})), count(*) FILTER (coupon IS NULL OR coupon = ''),
        count(*) - count(created_at), max(created_at), count(*) FILTER (amount < 0),
        count(*) - (SELECT count(*) FROM (SELECT DISTINCT customer_id, created_at FROM read_parquet('{folder}/data/*.parquet')))
        FROM read_parquet('{folder}/data/*.parquet')"""
    ).fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", help="write the figures as markdown to this file")
    args = parser.parse_args()
    folder = DATA / f"rows-{args.rows}"
    if not (folder / "data").exists():
        print(f"generating {args.rows:,} rows into {folder / 'data'} ...", flush=True)
        generate(args.rows, folder / "data")
    manifest = write_mesh(folder)

    import meshlab

    cli = [sys.executable, "-m", "meshlab.cli", "check", str(manifest), "--as-of", "2026-10-02"]
    cli_seconds, done = median_time(lambda: subprocess.run(cli, capture_output=True, text=True), args.repeat)
    summary = done.stdout.strip().splitlines()[-1]
    mesh = meshlab.connect(str(manifest))
    api_seconds, report = median_time(lambda: mesh.check(as_of="2026-10-02", store=False), args.repeat)
    scans = report.sent["shop.orders"]
    exact_seconds, metrics = median_time(lambda: batched_exact(mesh), args.repeat)
    naive_seconds, queries = median_time(lambda: naive(mesh), args.repeat)
    duck_seconds, _ = median_time(lambda: duckdb_floor(folder), args.repeat)
    rows = [
        ("`meshlab check` (CLI, end to end)", cli_seconds),
        ("`mesh.check()` in process", api_seconds),
        (f"its {metrics} metrics in one aggregate, counted exactly (no probe pass)", exact_seconds),
        (f"one Polars query per rule ({queries} queries)", naive_seconds),
        ("DuckDB, the same measurements in one query", duck_seconds),
    ]
    lines = [
        f"# `meshlab check` speed: 20 rules over {args.rows:,} parquet rows",
        "",
        f"`python benchmarks/check_speed.py --rows {args.rows} --repeat {args.repeat}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, Polars {pl.__version__}, DuckDB {duckdb.__version__}; "
        f"medians of {args.repeat}.",
        "",
        "| what | median (s) | vs `mesh.check()` |",
        "|---|---:|---:|",
        *(f"| {name} | {seconds:.2f} | {seconds / api_seconds:.2f}x |" for name, seconds in rows),
        "",
        f"- {len(report.results)} checks in all (schema, the 20 rules, freshness); `{summary}`",
        f"- scans of the parquet files for every batched metric: {len(scans)} (each column read once), sent: "
        f"`{scans[0].splitlines()[-1]}`",
        "- the sql rule runs through `mesh.sql` (its own scan of `amount`); failing rows are fetched only for failed checks.",
        "- duplicate checks first probe: a key that arrives sorted is counted from neighbour comparisons, a composite",
        "  key by 64-bit hashes (exact when they show no duplicate); only what the probe leaves open is counted",
        "  exactly, in a second pass over those key columns. Here order_id and sku arrive sorted.",
        "- the machine is shared: the load average was "
        + " / ".join(f"{x:.1f}" for x in os.getloadavg())
        + " at the end of the run.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
