"""Pass: one scan per file dataset, shared by all its references; one per database table when it pays.

Polars recognises one LazyFrame used several times (common subplan
elimination) and reads the files once; separate frames per reference made
TPC-H Q2 twice as slow. Each reference's predicates still reach the reader
through Polars' own pushdown.

Database scans of one table are shared too when one fetch moves no more than
the two would (:func:`shared_predicates`): TPC-H Q2, Q11 and Q22 read a table
twice. The shared scan sends the weaker reference's predicates; every
predicate is re-checked locally anyway.

    SELECT a.kind, b.value FROM __ds0 AS a JOIN __ds0 AS b ON a.c_id = b.c_id   (__ds0: parquet)
    -> one scan __scan0 (columns c_id, kind, value) for both; __scan1 reads as __scan0
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.planner.plan import ScanPlan
from meshlab.planner.pushdown import strip_tables
from meshlab.planner.state import PlanState
from meshlab.sources import Pushdown, ScanSpec


def run(state: PlanState) -> PlanState:
    scans, renames = share_file_scans(list(state.scans))
    if not renames:
        return state
    return replace(state, scans=tuple(scans), renames=renames)


def share_file_scans(scans: list[ScanPlan]) -> tuple[list[ScanPlan], dict[str, str]]:
    """The scans with each dataset's shareable references merged, and scan id -> the scan serving it."""
    first: dict[str, int] = {}
    renames: dict[str, str] = {}
    merged: list[ScanPlan] = []
    for scan in scans:
        if scan.spec.query is not None:
            merged.append(scan)
            continue
        address = scan.dataset.reference  # two versions of one table are two tables
        if address not in first:
            first[address] = len(merged)
            merged.append(scan)
            continue
        kept = merged[first[address]]
        predicates: tuple[exp.Expression, ...] | None = kept.spec.predicates + scan.spec.predicates
        if scan.source.dialect is not None:
            predicates = shared_predicates(kept.spec, scan.spec)
        if predicates is None:
            merged.append(scan)
            continue
        columns = set(kept.spec.columns) | set(scan.spec.columns)
        masks = {m.name: m for m in kept.spec.masks + scan.spec.masks}
        spec = replace(
            kept.spec,
            columns=tuple(c.name for c in kept.dataset.columns if c.name in columns),
            masks=tuple(masks.values()),
            predicates=predicates,
            limit=None,
            order_by=(),
            shared=True,
        )
        pushed, kept_local = kept.pushed + scan.pushed, kept.kept_local + scan.kept_local
        if scan.source.dialect is not None:
            pushed, kept_local = _report_sent(predicates, kept, scan)
        merged[first[address]] = replace(kept, spec=spec, pushed=pushed, kept_local=kept_local)
        renames[scan.scan_id] = kept.scan_id
    return merged, renames


def _report_sent(
    sent: tuple[exp.Expression, ...], *scans: ScanPlan
) -> tuple[tuple[tuple[str, Pushdown], ...], tuple[str, ...]]:
    """What the shared database fetch reports: a reference's predicate is pushed when the fetch
    sends it (or the same predicate of the other reference), else it is checked locally only."""
    texts = {strip_tables(p).sql() for p in sent}
    pushed: list[tuple[str, Pushdown]] = []
    local = [text for scan in scans for text in scan.kept_local]
    if any(len(scan.spec.predicates) != len(scan.pushed) for scan in scans):  # not one verdict per predicate
        return tuple(entry for scan in scans for entry in scan.pushed), tuple(local)
    for scan in scans:
        for predicate, entry in zip(scan.spec.predicates, scan.pushed):
            if strip_tables(predicate).sql() in texts:
                pushed.append(entry)
            else:
                local.append(entry[0])
    return tuple(pushed), tuple(local)


def shared_predicates(a: ScanSpec, b: ScanSpec) -> tuple[exp.Expression, ...] | None:
    """The predicates of one database fetch serving both scans, or None when two fetches move less.

    Shared when both send the same predicates, or when one's predicates
    include the other's and it needs no column the other does not fetch: the
    weaker reference's rows and columns then cover both. A limited scan is
    never shared (its limit would be lost).
    """
    if a.limit is not None or b.limit is not None:
        return None
    # Compared without their table aliases: two references name the table differently.
    texts_a = {strip_tables(p).sql(): p for p in a.predicates}
    texts_b = {strip_tables(p).sql(): p for p in b.predicates}
    if texts_a.keys() == texts_b.keys():
        return a.predicates
    for weak, strong, weak_texts, strong_texts in ((a, b, texts_a, texts_b), (b, a, texts_b, texts_a)):
        if weak_texts.keys() < strong_texts.keys() and set(strong.columns) <= set(weak.columns):
            return weak.predicates
    return None
