"""How many bytes a plan's scans will bring into memory, estimated before running it.

Cheap signals only, so that the estimate costs far less than the query:

* what the source tells from its metadata (:meth:`Source.estimate_scan_bytes`:
  parquet footers, CSV sizes, a lakehouse table's log);
* databases: the contract's row count (``rowCount`` custom property of the schema
  object) times a width per column from its logical type; without one, unknown (the
  database is not asked).

The estimate errs high rather than low on purpose: it picks the streaming
engine, and streaming a query that would have fit costs little.
"""

from __future__ import annotations

from meshlab.catalog.types import column_width
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.sources.statistics import declared_rows as contract_rows


def _rows(scan: ScanPlan) -> int | None:
    # The database itself is not asked: the estimate must cost nothing and send no
    # statement the pushdown report does not show.
    declared = [contract_rows(ds) for ds in scan.datasets]
    known = [n for n in declared if n is not None]
    return max(known) if known and len(known) == len(declared) else None


def database_scan_bytes(scan: ScanPlan) -> int | None:
    """Estimated bytes of a database scan: rows times the width of the columns returned."""
    rows = _rows(scan)
    if rows is None:
        return None
    if scan.spec.limit is not None:
        rows = min(rows, scan.spec.limit)
    if scan.spec.output_columns:
        width = sum(column_width(c) for _, c in scan.spec.output_columns)
    else:
        width = sum(column_width(scan.dataset.column(name)) for name in scan.spec.columns)
    return rows * width


def scan_bytes(scan: ScanPlan, stop_above: float = float("inf")) -> int | None:
    """Estimated in-memory bytes one scan brings in, or None when nothing cheap tells."""
    try:
        found = scan.source.estimate_scan_bytes(scan.spec.columns, stop_above)
        return found if found is not None else database_scan_bytes(scan)
    except Exception:  # noqa: BLE001 - an estimate is optional; the run reports a source that fails
        return None


def estimate_input_bytes(plan: QueryPlan, stop_above: float = float("inf")) -> int:
    """Estimated bytes all the scans of ``plan`` bring in; stops early above ``stop_above``.

    Scans without an estimate count as zero.
    """
    total = 0
    for scan in plan.scans:
        total += scan_bytes(scan, stop_above - total) or 0
        if total > stop_above:
            break
    return total
