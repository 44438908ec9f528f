"""Out of core on one machine: TPC-H SF10 Q1, Q3, Q9 and Q18 through meshlab, peak memory per query.

Every table is one parquet file (``tpchgen-cli`` writes them into ``.benchdata/tpch-sf10``,
about 4 GB); the mesh is one domain of eight contracts pointing at them. Each query runs
in its own process under ``/usr/bin/time -v`` (its "Maximum resident set size" is the
peak), on:

* ``streaming``  -- ``mesh.sql(..., engine="streaming")``;
* ``in-memory``  -- ``engine="polars"`` with ``POLARS_ENGINE_AFFINITY=in-memory``, i.e. what
  the plan costs when Polars loads everything (Polars 2.1's own default is streaming);
* ``duckdb``     -- DuckDB over the same files: the reference answer and a yardstick;
* ``spark``      -- on request: ``engine="spark"`` (local, all cores; time after the JVM is up).

Every meshlab answer is compared with DuckDB's. ``--write-doc`` writes the table to
docs/benchmarks/streaming-sf10.md.

    python benchmarks/streaming_sf10.py --scale 10 [--engines streaming,in-memory,duckdb] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path: the shared TPC-H builder is support.tpch
import polars as pl
from conftest import assert_same_rows, order_by_positions, read_tpch_query
from support.tpch import TABLES, generate, to_mesh_sql, write_flat_mesh

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("q01", "q03", "q09", "q18")
ENGINES = ("streaming", "in-memory", "duckdb")  # also: spark
LIMIT_GIB = 4.0
DOC = ROOT / "docs" / "benchmarks" / "streaming-sf10.md"


# -- data and mesh -------------------------------------------------------------------------
def ensure_data(scale: float) -> Path:
    folder = ROOT / ".benchdata" / f"tpch-sf{scale:g}"
    if all((folder / f"{t}.parquet").exists() for t in TABLES):
        return folder
    free = shutil.disk_usage(ROOT).free / 2**30
    needed = 0.45 * scale  # GB of parquet per scale factor, with room to spare
    if free < 2 * needed:
        sys.exit(f"need about {needed:.0f} GB free for SF{scale:g} parquet, {free:.0f} GB available")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating TPC-H SF{scale:g} parquet into {folder} ...", flush=True)
    return generate(folder, scale)


def ensure_mesh(data: Path) -> Path:
    """One domain ``tpch``, one contract per table, each pointing at its parquet file."""
    return write_flat_mesh(data, data.with_name(data.name + "-mesh"))


# -- one run per process ---------------------------------------------------------------------
def child(query: str, engine: str, mesh_path: str, data: str, out: str) -> None:
    sql = read_tpch_query(query)
    started = time.perf_counter()
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        for table in TABLES:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data}/{table}.parquet')")
        frame = con.sql(sql).pl()
        chosen = "duckdb"
    else:
        import meshlab

        mesh = meshlab.connect(mesh_path)
        engines = {"streaming": "streaming", "in-memory": "polars", "spark": "spark"}
        if engine == "spark":
            mesh.sql("SELECT count(*) AS n FROM tpch.region", engine="spark")  # start the JVM first
            started = time.perf_counter()
        result = mesh.sql(to_mesh_sql(sql, {t: f"tpch.{t}" for t in TABLES}), engine=engines[engine])
        frame, chosen = result.df, result.engine
    seconds = time.perf_counter() - started
    frame.write_parquet(out)
    print(json.dumps({"seconds": seconds, "rows": frame.height, "engine": chosen}))


def measure(query: str, engine: str, mesh_path: Path, data: Path, out: Path) -> dict:
    env = {**os.environ}
    if engine == "in-memory":
        env["POLARS_ENGINE_AFFINITY"] = "in-memory"
    command = [
        "/usr/bin/time",
        "-v",
        sys.executable,
        __file__,
        "--child",
        query,
        engine,
        str(mesh_path),
        str(data),
        str(out),
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{query} on {engine} failed:\n{run.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    # Spark's driver JVM is not a child the interpreter waits for: its memory is not in the figure.
    figures["peak_gib"] = None if engine == "spark" else int(peak.group(1)) / 2**20
    return figures


def auto_choice(mesh_path: Path, query: str) -> str:
    """What engine="auto" would pick on this machine, and the input estimate behind it."""
    import meshlab
    from meshlab.engine.choice import choose_engine

    mesh = meshlab.connect(str(mesh_path))
    plan = mesh.plan(to_mesh_sql(read_tpch_query(query), {t: f"tpch.{t}" for t in TABLES}))
    choice = choose_engine(plan, "auto", mesh.engine_settings)
    from meshlab.engine.estimate import estimate_input_bytes

    return f"{choice.engine} (input ≈ {estimate_input_bytes(plan) / 2**30:.1f} GiB)"


# -- report --------------------------------------------------------------------------------
def report(rows: list[dict], scale: float, engines: list[str]) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"# TPC-H SF{scale:g} by engine: peak memory and time",
        "",
        f"Measured {dt.date.today()} on {os.cpu_count()} cores, {memory:.0f} GiB RAM, Python "
        f"{platform.python_version()}, Polars {pl.__version__}. Every table is one parquet file "
        f"(`tpchgen-cli`, {sum(f.stat().st_size for f in Path(rows[0]['data']).glob('*.parquet')) / 2**30:.1f} GiB); "
        "each query runs once in its own process under `/usr/bin/time -v` (peak = maximum resident set size, "
        "interpreter and libraries included). Reproduce: "
        f"`python benchmarks/streaming_sf10.py {' '.join(sys.argv[1:])}`.",
        "",
        '*streaming*: `mesh.sql(..., engine="streaming")`; *in-memory*: `engine="polars"` with '
        "`POLARS_ENGINE_AFFINITY=in-memory` (what the plan costs loaded whole; Polars 2.1's own default "
        "affinity is its streaming engine); *duckdb*: DuckDB over the same files, the reference answer. "
        '*auto would pick*: `engine="auto"` on this machine (streams above a quarter of memory) and '
        "its input estimate."
        + (
            ' *spark*: `engine="spark"` on `local[*]` in the same process, timed after the JVM is up '
            "(its memory is the JVM's, outside the figure)."
            if "spark" in engines
            else ""
        ),
        "",
        "| query | " + " | ".join(f"{e} peak GiB | {e} s" for e in engines) + " | matches DuckDB | auto would pick |",
        "|---|" + "---|---|" * len(engines) + "---|---|",
    ]
    for row in rows:
        cells = [_cell(row.get(e)) for e in engines]
        lines.append(f"| {row['query'].upper()} | " + " | ".join(cells) + f" | {row['matches']} | {row['auto']} |")
    streaming = [row["streaming"]["peak_gib"] for row in rows if "streaming" in row]
    if streaming:
        verdict = "under" if max(streaming) < LIMIT_GIB else "NOT under"
        lines += ["", f"Streaming peak: at most {max(streaming):.2f} GiB, {verdict} the {LIMIT_GIB:g} GiB target."]
    return "\n".join(lines) + "\n"


def _cell(figures: dict | None) -> str:
    if figures is None:
        return "– | –"
    peak = "n/a (JVM)" if figures["peak_gib"] is None else f"{figures['peak_gib']:.2f}"
    return f"{peak} | {figures['seconds']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--queries", default=",".join(QUERIES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--write-doc", action="store_true", help=f"write the table to {DOC.relative_to(ROOT)}")
    parser.add_argument("--doc", type=Path, default=DOC, help="where --write-doc writes")
    parser.add_argument("--child", nargs=5, metavar=("QUERY", "ENGINE", "MESH", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    data = ensure_data(args.scale)
    mesh_path = ensure_mesh(data)
    engines = [e for e in args.engines.split(",") if e]
    rows = []
    with tempfile.TemporaryDirectory(prefix="meshlab-sf10-") as scratch:
        for query in args.queries.split(","):
            row = {"query": query, "data": str(data), "auto": auto_choice(mesh_path, query)}
            answers = {}
            for engine in engines:
                out = Path(scratch) / f"{query}-{engine}.parquet"
                row[engine] = measure(query, engine, mesh_path, data, out)
                answers[engine] = pl.read_parquet(out)
                print(query, engine, row[engine], flush=True)
            row["matches"] = matches(query, answers)
            rows.append(row)
    text = report(rows, args.scale, engines)
    print(text)
    if args.write_doc:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        args.doc.write_text(text)


def matches(query: str, answers: dict[str, pl.DataFrame]) -> str:
    if "duckdb" not in answers:
        return "not checked"
    keys = order_by_positions(read_tpch_query(query))
    for engine, frame in answers.items():
        if engine != "duckdb":
            try:
                assert_same_rows(frame, answers["duckdb"], bool(keys), keys)
            except AssertionError as exc:
                return f"no ({engine}: {str(exc).splitlines()[0]})"
    return "yes"


if __name__ == "__main__":
    main()
