"""Run a :class:`QueryPlan` on the Polars lazy engine.

Each scan becomes a LazyFrame registered under its scan id; the local query
is the user's SQL, qualified, with dataset references renamed to those ids,
run by Polars' SQL engine.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from meshlab.cancel import QueryHandle
from meshlab.engine.dynamic_filters import run_dynamic_filters
from meshlab.engine.in_subqueries import run_in_subqueries_first
from meshlab.engine.prefetch import KEEP_JOIN_ORDER, prefetch_database_scans
from meshlab.errors import ExecutionError, MeshError
from meshlab.planner.plan import QueryPlan
from meshlab.sources import ScanStats

#: the Polars engines meshlab runs a plan on (``auto``: Polars' in-memory engine unless it chooses otherwise)
PolarsEngine = Literal["auto", "streaming"]


def build_frames(
    plan: QueryPlan, handle: QueryHandle | None = None
) -> tuple[dict[str, pl.LazyFrame], dict[str, ScanStats]]:
    """One LazyFrame per scan; nothing is read yet. ``handle`` cancels their statements."""
    frames, stats = {}, {}
    handle = handle or QueryHandle()
    for scan in plan.scans:
        stats[scan.scan_id] = ScanStats(handle=handle)
        frames[scan.scan_id] = scan.source.scan(scan.spec, stats[scan.scan_id])
    return frames, stats


def _source_failure(stats: dict[str, ScanStats]) -> MeshError | None:
    return next((s.error for s in stats.values() if isinstance(s.error, MeshError)), None)


#: what Polars raises when its SQL interface cannot run a query (a function or a window frame it lacks)
SQL_REFUSALS = (pl.exceptions.SQLInterfaceError, pl.exceptions.SQLSyntaxError)
#: what Polars raises: its errors, and a Rust panic (a BaseException, not an Exception)
ENGINE_FAILURES = (Exception, pl.exceptions.PanicException)


def lazy_query(plan: QueryPlan, frames: dict[str, pl.LazyFrame], sql: str | None = None) -> pl.LazyFrame:
    """The local query over ``frames`` (``sql``: a rewritten local SQL to run instead)."""
    context = pl.SQLContext(frames, eager=False)
    try:
        return context.execute(sql or plan.local_sql, eager=False)
    except ENGINE_FAILURES as exc:  # noqa: BLE001 - Polars raises several kinds for SQL it rejects
        raise ExecutionError(f"the local engine cannot run this query: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, pl.exceptions.PanicException):
        # A panic's text is about Polars' internals, not the query: say what failed instead.
        return f"an internal error in Polars {pl.__version__} ({type(exc).__name__})"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _datasets(plan: QueryPlan) -> str:
    names = sorted({f"'{d.address}' on server '{d.server.name}'" for s in plan.scans for d in s.datasets})
    return ", ".join(names)


def execute(
    plan: QueryPlan, engine: PolarsEngine = "auto", handle: QueryHandle | None = None
) -> tuple[pl.DataFrame, dict[str, ScanStats]]:
    """Run ``plan`` and return its rows and the figures of every scan.

    ``handle`` cancels the database statements (run the call through
    :func:`meshlab.engine.cancellable.run_cancellable` to have it obey interrupts
    and time limits).
    """
    handle = handle or QueryHandle()
    frames, stats = build_frames(plan, handle)
    try:
        # A cancelled query starts no further step (a step already running is stopped
        # by the handle: statements cancelled, Polars interrupted).
        handle.check()
        running, frames, _ = run_in_subqueries_first(plan, frames, stats)
        sql = running.local_sql
        handle.check()
        handle.stage = "fetching"
        frames, built = run_dynamic_filters(running, frames, stats)
        handle.check()
        frames, fetched = prefetch_database_scans(running, frames, sql, built)
        handle.check()
        handle.stage = "computing"
        query = lazy_query(plan, frames, sql)
        frame = query.collect(engine=engine, optimizations=KEEP_JOIN_ORDER) if fetched else query.collect(engine=engine)
    except MeshError:
        raise
    except ENGINE_FAILURES as exc:  # noqa: BLE001
        if handle.cancelled:
            raise handle.error() from None
        if isinstance(exc, SQL_REFUSALS):  # the SQL, not the data: Polars lacks what it names
            raise ExecutionError(f"the local engine cannot run this query: {_first_line(exc)}") from exc
        failure = _source_failure(stats)
        if failure is not None:
            raise failure from None
        for scan in plan.scans:  # a file removed, emptied or rewritten since the mesh first read it
            scan.source.check()
        over = f" over {_datasets(plan)}" if plan.scans else ""
        raise ExecutionError(f"the query{over} failed while running: {_first_line(exc)}") from exc
    return frame, stats
