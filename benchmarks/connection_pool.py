"""Connection reuse on TPC-H layout F: the same queries with and without the pool, side by side.

Two meshes over the same files and PostgreSQL server: one keeps its database
connections between statements (the default), the other opens one per statement
(``pooled=False``), as meshlab did before. Each query runs once on each to warm up,
then ``--repeat`` times alternating which goes first; figures are medians.

    python benchmarks/connection_pool.py --queries 2,3,5,11,12,22 --repeat 5
    python benchmarks/connection_pool.py --data /tmp/bench --queries 3,5 --split  # + 2-way split reads
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import _support_path  # noqa: F401 - tests/ on the path
from run_tpch import REPO, prepared, query_numbers
from tpch_systems import read_query, to_mesh_sql


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--queries", default="2,3,5,11,12,22")
    parser.add_argument("--data", type=Path, default=REPO / ".benchdata")
    parser.add_argument("--split", action="store_true", help="also: pooled, with 2-way split reads of big tables")
    args = parser.parse_args(argv)
    import meshlab

    with prepared(args, with_postgres=True) as (paths, _):
        variants = {"per-statement": meshlab.connect(paths["mesh_f"]), "pooled": meshlab.connect(paths["mesh_f"])}
        variants["per-statement"].connections = None  # before its first query: no source made yet
        if args.split:
            variants["pooled+split"] = meshlab.connect(paths["mesh_f"])
            variants["pooled+split"].split_reads(2)
        names = list(variants)
        times: dict[str, dict[int, list[float]]] = {n: {} for n in names}
        for number in query_numbers(args.queries):
            sql = to_mesh_sql(read_query(number))
            answers = {n: variants[n].sql(sql).df for n in names}  # warm-up, answers compared
            first = answers[names[0]]
            for name, answer in answers.items():
                if not answer.equals(first):
                    print(f"q{number}: {name} answers differently", file=sys.stderr)
            for rep in range(args.repeat):
                order = names[rep % len(names) :] + names[: rep % len(names)]
                for name in order:
                    gc.collect()
                    started = time.perf_counter()
                    variants[name].sql(sql)
                    times[name].setdefault(number, []).append(time.perf_counter() - started)
            line = "  ".join(f"{n} {statistics.median(times[n][number]) * 1000:7.1f} ms" for n in names)
            ratios = "  ".join(
                f"{n}/{names[0]} {statistics.median(times[n][number]) / statistics.median(times[names[0]][number]):.3f}"
                for n in names[1:]
            )
            print(f"q{number:02d}  {line}  {ratios}", flush=True)
        for mesh in variants.values():
            mesh.close()


if __name__ == "__main__":
    main()
