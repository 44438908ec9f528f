"""Run a :class:`QueryPlan` on Apache Spark.

The plan is the one every engine runs -- resolved, governed and pushed down by
the planner -- never re-planned from text:

1. each scan becomes a Spark DataFrame (:mod:`meshlab.engine.spark_scans`) and
   a temporary view named after its scan id (plus a per-run suffix, so that
   queries running side by side in one session do not meet);
2. the plan's local query is transpiled by sqlglot to Spark SQL over those views;
3. Spark runs it and the rows come back as Arrow (``DataFrame.toArrow``), then
   as a polars DataFrame.

The session is the process's shared one (:mod:`meshlab.engine.spark_session`).
"""

from __future__ import annotations

import uuid

import polars as pl
from sqlglot import exp

from meshlab.engine.spark_scans import java_message, scan_frame
from meshlab.engine.spark_session import SparkSettings, spark_session
from meshlab.errors import ExecutionError
from meshlab.planner.plan import QueryPlan
from meshlab.planner.round_half_away import HALF_EVEN
from meshlab.planner.subtract_dates import DATE_DIFFERENCE
from meshlab.sources import ScanStats


def reference_counts(plan: QueryPlan) -> dict[str, int]:
    """How many table references of the local query read each scan."""
    counts = {scan.scan_id: 0 for scan in plan.scans}
    for table in plan.local.find_all(exp.Table):
        if table.name in counts and not table.args.get("db"):
            counts[table.name] += 1
    return counts


def spark_sql(plan: QueryPlan, views: dict[str, str]) -> str:
    """The plan's local query in Spark SQL, its scans renamed to ``views``.

    >>> # SELECT "e"."country" FROM "__scan0" AS "e"  ->  SELECT `e`.`country` FROM `__scan0_1a2b` AS `e`
    """
    tree = plan.local.copy()
    for table in tree.find_all(exp.Table):
        if table.name in views and not table.args.get("db"):
            table.set("this", exp.to_identifier(views[table.name], quoted=True))
    for exists in tree.find_all(exp.Exists):
        # EXISTS reads rows, not values, so its scans fetch none of the columns a
        # `SELECT *` stands for; Polars never resolves that list, Spark does.
        select = exists.this
        if isinstance(select, exp.Select) and all(
            isinstance(e.unalias(), (exp.Column, exp.Star)) for e in select.expressions
        ):
            select.set("expressions", [exp.Literal.number(1)])
    for call in tree.find_all(exp.Anonymous):
        if call.meta.get(HALF_EVEN):  # Spark's ROUND rounds half up; BROUND is half to even
            call.set("this", "BROUND")
    for difference in reversed(list(tree.find_all(exp.Sub))):
        if difference.meta.get(DATE_DIFFERENCE):  # Spark casts no date to an integer
            dates = [side.this.copy() for side in (difference.this, difference.expression)]
            difference.replace(exp.Anonymous(this="DATEDIFF", expressions=dates))
    for division in reversed(list(tree.find_all(exp.Div))):
        division.replace(ieee_division(division))
    return tree.sql(dialect="spark", identify=True)


def ieee_division(division: exp.Div) -> exp.Expr:
    """``a / b`` as DuckDB divides (docs/sql.md): ``x / 0`` is ``inf``, ``-inf`` or ``NaN``, where
    Spark's ANSI mode raises. The planner made ``a`` a DOUBLE, so ``a * inf`` has the sign wanted."""
    left, right = division.this, division.expression
    infinity = exp.cast(exp.Literal.string("Infinity"), exp.DataType.build("DOUBLE"))
    by_zero = exp.EQ(this=right.copy(), expression=exp.Literal.number(0))
    quotient = exp.Anonymous(this="TRY_DIVIDE", expressions=[left.copy(), right.copy()])
    return exp.Case(ifs=[exp.If(this=by_zero, true=exp.Mul(this=left.copy(), expression=infinity))], default=quotient)


def _register(session, plan: QueryPlan, settings: SparkSettings, suffix: str):
    counts = reference_counts(plan)
    stats: dict[str, ScanStats] = {}
    views: dict[str, str] = {}
    for scan in plan.scans:
        stats[scan.scan_id] = ScanStats()
        frame = scan_frame(session, scan, stats[scan.scan_id], settings, counts[scan.scan_id] <= 1)
        views[scan.scan_id] = f"{scan.scan_id}_{suffix}"
        frame.createOrReplaceTempView(views[scan.scan_id])
    return views, stats


def execute(plan: QueryPlan, settings: SparkSettings | None = None) -> tuple[pl.DataFrame, dict[str, ScanStats]]:
    """Run ``plan`` on Spark; returns its rows and the figures of every scan."""
    session = spark_session(settings)
    settings = (settings or SparkSettings()).effective()
    views: dict[str, str] = {}
    try:
        views, stats = _register(session, plan, settings, uuid.uuid4().hex[:8])
        try:
            table = session.sql(spark_sql(plan, views)).toArrow()
        except Exception as exc:  # noqa: BLE001 - Spark raises analysis, JVM and Connect errors
            for scan in plan.scans:  # a file removed since the mesh first read it
                scan.source.check()
            raise ExecutionError(f"the spark engine cannot run this query: {java_message(exc)}") from exc
    finally:
        for view in views.values():
            session.catalog.dropTempView(view)
    frame = pl.from_arrow(table)
    return frame if isinstance(frame, pl.DataFrame) else frame.to_frame(), stats
