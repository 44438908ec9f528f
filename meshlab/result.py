"""A query's answer: the rows, the executed plan with its figures, the lineage."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from meshlab.catalog.root_paths import relative_to_root
from meshlab.lineage import Lineage, column_lineage
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.sources import ScanStats

if TYPE_CHECKING:
    from meshlab.lineage_graph import LineageSvg
    from meshlab.quality.status import DatasetStatus


@dataclass(frozen=True)
class Fragment:
    """What one scan was sent and what came back."""

    scan_id: str
    datasets: tuple[str, ...]
    server: str
    kind: str
    sent: tuple[str, ...]  # the exact SQL a database received, or the file scan's description
    pushed: tuple[str, ...]
    kept_local: tuple[str, ...]
    limit: int | None
    rows: int | None  # rows fetched (None for file scans: Polars reads them natively)
    bytes: int | None  # bytes fetched (file scans: compressed bytes of the needed columns)
    seconds: float | None
    notes: tuple[str, ...] = ()  # what the engine did to the scan as the query ran (a dynamic filter, say)

    @property
    def dataset(self) -> str:
        return self.datasets[0]


def _fragment(scan: ScanPlan, stats: ScanStats, root: str | None) -> Fragment:
    source = scan.source
    stored = None if source.fetches_rows else source.bytes_for(scan.spec.columns)
    return Fragment(
        scan_id=scan.scan_id,
        datasets=tuple(ds.reference for ds in scan.datasets),
        server=source.server_label,
        kind=source.kind,
        sent=tuple(relative_to_root(text, root) for text in stats.sent or [scan.describe()]),
        pushed=tuple(p for p, _ in scan.pushed),
        kept_local=scan.kept_local,
        limit=scan.spec.limit,
        rows=stats.rows,
        bytes=stored if stored is not None else stats.bytes,
        seconds=stats.seconds if source.fetches_rows else None,
        notes=tuple(stats.notes),
    )


class ExecutedPlan:
    """The executed plan: one fragment per source scan, then the local query."""

    def __init__(self, plan: QueryPlan, stats: dict[str, ScanStats]):
        self.query_plan = plan
        self._stats = stats

    @property
    def scan_stats(self) -> dict[str, ScanStats]:
        """Scan id -> the figures the scan gathered while the query ran."""
        return self._stats

    @functools.cached_property
    def fragments(self) -> tuple[Fragment, ...]:
        root = self.query_plan.mesh_root
        return tuple(_fragment(scan, self._stats[scan.scan_id], root) for scan in self.query_plan.scans)

    @property
    def mesh_root(self) -> str | None:
        """The folder the fragments' paths are relative to."""
        return self.query_plan.mesh_root

    @property
    def local_sql(self) -> str:
        return self.query_plan.local_sql

    def __iter__(self) -> Iterator[Fragment]:
        return iter(self.fragments)

    def __len__(self) -> int:
        return len(self.fragments)

    def __getitem__(self, index: int) -> Fragment:
        return self.fragments[index]

    def __str__(self) -> str:
        from meshlab.rendering.results import plan_text

        return plan_text(self)

    __repr__ = __str__


class Result:
    """The answer of :meth:`Mesh.sql`.

    Attributes
    ----------
    df : polars.DataFrame
        The rows.
    plan : ExecutedPlan
        One fragment per source scan: what it was sent, rows and bytes fetched.
    lineage : Lineage
        Column lineage (computed on first access).
    plan_seconds, run_seconds : float
        Time spent planning and running.
    warnings : list of str
        Datasets read that are deprecated or retired, or that failed their freshness
        SLA or a check at the last ``mesh.check()``: the rows are still returned.
    checks : dict
        address -> :class:`~meshlab.quality.status.DatasetStatus` of the datasets read
        that were ever checked.
    engine, engine_reason : str
        The engine that ran the query (``polars``, ``streaming``, ``spark``) and why it was chosen.
    """

    def __init__(
        self, df: pl.DataFrame, plan: QueryPlan, stats: dict[str, ScanStats], plan_seconds: float, run_seconds: float
    ) -> None:
        self.df = df
        self.query_plan = plan
        self.plan = ExecutedPlan(plan, stats)
        self.plan_seconds = plan_seconds
        self.run_seconds = run_seconds
        # Filled in by Mesh.sql from the status store: see meshlab.quality.status.
        self.warnings: list[str] = []
        self.checks: dict[str, DatasetStatus] = {}
        # Set by Mesh.sql: see meshlab.engine.choice.
        self.engine, self.engine_reason = "polars", ""

    @functools.cached_property
    def lineage(self) -> Lineage:
        return column_lineage(self.query_plan.tree, self.query_plan.datasets, self.query_plan.masked)

    @property
    def datasets(self) -> list[str]:
        return self.query_plan.addresses

    @property
    def shape(self) -> tuple[int, int]:
        return self.df.shape

    def __len__(self) -> int:
        return self.df.height

    def lineage_svg(self) -> LineageSvg:
        """The column lineage drawn as a graph.

        Returns
        -------
        LineageSvg
            Shown inline by Jupyter (``_repr_svg_``); ``.svg`` is the SVG text.
        """
        from meshlab.lineage_graph import LineageSvg

        return LineageSvg.of(self.lineage)

    # Rendering lives in meshlab.rendering (every front end shows a result the same way);
    # imported on use so that ``import meshlab`` stays light.
    def _repr_html_(self) -> str:
        from meshlab.rendering.results import result_html

        return result_html(self)

    def __repr__(self) -> str:
        from meshlab.rendering.results import result_text

        return result_text(self)
