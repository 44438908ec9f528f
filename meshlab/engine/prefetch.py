"""Database scans are fetched first, in parallel, and reach Polars as DataFrames.

A database scan is a Python IO source to Polars. Its streaming engine (what
``collect()`` picks by default) then keeps most of a query's joins in memory whole:
on TPC-H SF1 with orders, customer, part, partsupp and supplier in databases, Q5
peaked at 538 MiB and Q8 at 613 MiB, against 243 and 238 MiB when the same rows
arrive as DataFrames. So :func:`execute <meshlab.engine.polars_engine.execute>`
fetches every database scan the query reads before it runs (one thread per scan: the
databases and their drivers work side by side) and registers the rows.

With every size known, Polars would reorder the joins itself, by row counts alone:
it then joined customer with supplier on their nation (60 M rows, TPC-H Q5 14 s
instead of 0.8 s). The planner orders the joins of a SELECT over a database from
the contracts' keys (:mod:`meshlab.planner.join_order`), so Polars is asked to keep
that order (:data:`KEEP_JOIN_ORDER`).
"""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from meshlab.planner.plan import QueryPlan

#: the optimizations a query over prefetched database rows runs with
KEEP_JOIN_ORDER = pl.QueryOptFlags(join_order=False)


def prefetch_database_scans(
    plan: QueryPlan, frames: dict[str, pl.LazyFrame], sql: str, fetched: Collection[str] = ()
) -> tuple[dict[str, pl.LazyFrame], bool]:
    """``frames`` with each database scan ``sql`` reads replaced by its fetched rows.

    ``fetched``: scans whose frames hold their rows already (never fetched twice).
    Returns the frames and whether any scan was fetched. Every fetch has ended when
    this returns, also when one failed (its error is raised): no connection stays open.
    """
    reads = [s.scan_id for s in plan.scans if s.source.fetches_rows and f'"{s.scan_id}"' in sql]
    wanted = [scan_id for scan_id in reads if scan_id not in fetched]
    if not wanted:
        return frames, bool(reads)
    with ThreadPoolExecutor(max_workers=len(wanted), thread_name_prefix="meshlab-fetch") as pool:
        futures = {scan_id: pool.submit(frames[scan_id].collect) for scan_id in wanted}
    fetched = dict(frames)
    for scan_id, future in futures.items():
        fetched[scan_id] = future.result().lazy()  # raises the first failure, after all ended
    return fetched, True
