"""Pass: ask each scan's source what it takes, and plan the scan from its answers.

Per candidate conjunct the source answers exact, inexact or unsupported
(:meth:`meshlab.sources.Source.pushdown`); it declines by default. What it
declines stays local only; every conjunct stays in the local query anyway, so
an inexact source is safe. The LIMIT (and its ORDER BY) goes down only when
the scan then returns the same rows as the local query would keep: the source
can limit, takes every conjunct of the SELECT exactly, can order by the keys,
and applies the role's row filter exactly.

    SELECT o.o_id FROM __ds0 AS o WHERE o.status = 'F' AND o.amount / 2 > 100 LIMIT 5
    (a SQLite table: it takes ``status = 'F'``, not a division, which engines differ on)
    -> __scan0: columns (o_id, status, amount), pushed exact: o.status = 'F',
       kept local: o.amount / 2 > 100, no limit (a conjunct stays local)
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.planner.plan import Occurrence, ScanGovernance, ScanPlan
from meshlab.planner.pushdown import conjuncts, strip_tables
from meshlab.planner.state import PlanState
from meshlab.sources import Pushdown, ScanSpec, Source


def run(state: PlanState) -> PlanState:
    """One scan per occurrence, ``__scan0``, ``__scan1``, ... in the occurrences' order."""
    rules = state.governance or (None,) * len(state.occurrences)
    scans = []
    for index, (occurrence, rule) in enumerate(zip(state.occurrences, rules)):
        dataset = state.datasets[occurrence.key]
        scans.append(plan_scan(index, occurrence, dataset, state.source_for(dataset), rule))
    reads = {scan.scan_id: occurrence for scan, occurrence in zip(scans, state.occurrences)}
    return replace(state, scans=tuple(scans), reads=reads)


def plan_scan(
    index: int, occurrence: Occurrence, dataset: Dataset, source: Source, rules: ScanGovernance | None = None
) -> ScanPlan:
    """The scan of ``occurrence``: what ``source`` takes of its candidates, limit and order."""
    taken, verdicts, local = [], [], []
    for conjunct in occurrence.candidates:
        verdict = source.pushdown(conjunct)
        if verdict is Pushdown.UNSUPPORTED:
            local.append(conjunct.sql())
        else:
            taken.append(conjunct)
            verdicts.append((conjunct.sql(), verdict))
    limit, order_by = occurrence.limit, occurrence.order_by
    if limit is not None:
        where = occurrence.scope.expression.args.get("where")
        exact = sum(1 for _, v in verdicts if v is Pushdown.EXACT)
        every_conjunct_exact = exact == len(conjuncts(where.this if where else None)) and not local
        orderable = all(
            source.pushdown(exp.GT(this=o.this.copy(), expression=o.this.copy())) is not Pushdown.UNSUPPORTED
            for o in order_by
        )
        filter_exact = rules is None or rules.row_filter is None or source.pushdown(rules.row_filter) is Pushdown.EXACT
        if not (source.can_limit() and every_conjunct_exact and orderable and filter_exact):
            limit, order_by = None, ()
    spec = ScanSpec(
        scan_id=f"__scan{index}",
        dataset=dataset,
        columns=_ordered_columns(dataset, occurrence.columns),
        predicates=tuple(taken),
        limit=limit,
        order_by=tuple(strip_tables(o) for o in order_by),
        row_filter=rules.row_filter if rules else None,
        masks=rules.masks if rules else (),  # every mask of the dataset: whatever columns a scan ends up reading
    )
    return ScanPlan(spec, source, occurrence.alias, tuple(verdicts), tuple(local), (dataset,))


def _ordered_columns(dataset: Dataset, names: Collection[str]) -> tuple[str, ...]:
    """``names`` in the contract's order; none asked for (``COUNT(*)``): the narrowest column."""
    if not names:
        # COUNT(*) needs rows, not values: fetch the narrowest declared column.
        preferred = [c for c in dataset.columns if c.logical_type in ("integer", "boolean", "date")]
        return ((preferred or list(dataset.columns))[0].name,)
    return tuple(c.name for c in dataset.columns if c.name in names)
