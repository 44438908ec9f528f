"""``mesh.explain(sql, analyze=True)``: the plan run, each scan's estimated rows against the actual.

Like EXPLAIN ANALYZE in PostgreSQL or DuckDB: the query runs, and for every scan the
plan shows the rows the cost model expected (:mod:`meshlab.planner.cost`, from the
source's statistics and the conditions the scan is sent) beside the rows the scan
yielded. A database scan's actual rows are those its statement returned; a file scan,
read by Polars inside the query, is counted once more on its own with the same
columns and conditions (so ``analyze`` reads files twice). Far-off estimates are where
the planner may have chosen a poor join order.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlglot import exp

from meshlab.planner import cost
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.planner.polars_sql import polars_sql
from meshlab.rendering.plans import explain_text
from meshlab.sources import ScanStats


@dataclass(frozen=True)
class ScanAnalysis:
    """One scan: what the model expected and what came."""

    scan_id: str
    dataset: str
    source: str
    estimated_rows: int | None
    actual_rows: int | None
    statistics: str  # where the model's figures came from (parquet footers, pg_stats, ...)
    seconds: float | None  # a database scan's fetch time
    notes: tuple[str, ...] = ()  # what the engine did to it as the query ran (a dynamic filter narrows it)

    @property
    def misestimate(self) -> float | None:
        """How far off the estimate was, as a factor >= 1 (None when either figure is missing)."""
        if self.estimated_rows is None or self.actual_rows is None:
            return None
        low, high = sorted((max(self.estimated_rows, 1), max(self.actual_rows, 1)))
        return high / low


@dataclass(frozen=True)
class PlanAnalysis:
    """The plan as run: its text, the scans' estimated and actual rows, and the times."""

    plan_text: str
    scans: tuple[ScanAnalysis, ...]
    rows: int
    plan_seconds: float
    run_seconds: float

    def __str__(self) -> str:
        lines = [self.plan_text, "", "Analysis (estimated vs actual rows per scan):"]
        for scan in self.scans:
            estimated = f"{scan.estimated_rows:,}" if scan.estimated_rows is not None else "?"
            actual = f"{scan.actual_rows:,}" if scan.actual_rows is not None else "?"
            off = f", off by {scan.misestimate:.1f}x" if scan.misestimate and scan.misestimate >= 2 else ""
            took = f", fetched in {scan.seconds * 1000:.0f} ms" if scan.seconds is not None else ""
            lines.append(
                f"[{scan.scan_id}] {scan.dataset} ({scan.source}): estimated {estimated}, actual {actual}"
                f" (statistics: {scan.statistics}{off}{took})"
            )
            lines.extend(f"    {note}" for note in scan.notes)
        lines.append(
            f"Result: {self.rows:,} rows; planned in {self.plan_seconds * 1000:.1f} ms, "
            f"ran in {self.run_seconds * 1000:.0f} ms"
        )
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(str(self))


def estimated_rows(scan: ScanPlan) -> int | None:
    """The cost model's rows for one scan (None for a join pushed down whole: not modelled)."""
    if scan.spec.query is not None:
        return None
    return round(cost.scan_rows(scan))


def actual_rows(scan: ScanPlan, stats: ScanStats) -> int | None:
    """A database scan: the rows its statement returned. A file scan: its rows meeting the
    conditions it was given (Polars applies them inside the query), counted on their own."""
    if scan.source.fetches_rows:
        return stats.rows
    frame = scan.source.scan(scan.spec, ScanStats())
    if scan.spec.predicates:
        # A scan shared by several references (n1, n2) holds conditions naming either alias.
        conditions = exp.and_(*(p.copy() for p in scan.spec.predicates))
        for column in conditions.find_all(exp.Column):
            column.set("table", None)
        count = exp.select(exp.Count(this=exp.Star()).as_("n")).from_("scan").where(conditions)
        frame = pl.SQLContext({"scan": frame}, eager=False).execute(polars_sql(count))
    else:
        frame = frame.select(pl.len())
    return int(frame.collect().item())


def analyse(
    plan: QueryPlan, stats: dict[str, ScanStats], rows: int, plan_seconds: float, run_seconds: float
) -> PlanAnalysis:
    """The :class:`PlanAnalysis` of ``plan``, which ran with scan figures ``stats``."""
    scans = []
    for scan in plan.scans:
        figures = stats.get(scan.scan_id) or ScanStats()
        scans.append(
            ScanAnalysis(
                scan_id=scan.scan_id,
                dataset=", ".join(ds.address for ds in scan.datasets) or scan.dataset.address,
                source=scan.source.kind,
                estimated_rows=estimated_rows(scan),
                actual_rows=actual_rows(scan, figures),
                statistics=cost.statistics(scan).origin,
                seconds=figures.seconds if scan.source.fetches_rows else None,
                notes=tuple(figures.notes),
            )
        )
    return PlanAnalysis(explain_text(plan), tuple(scans), rows, plan_seconds, run_seconds)
