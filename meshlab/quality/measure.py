"""Compute a dataset's metrics in as few reads as possible, through its source.

Every metric of one dataset that a database can compute goes down in one
aggregate statement (``SELECT count(*), count(*) - count("c"), … FROM t``),
so a null count on a PostgreSQL table runs in PostgreSQL and only one row
comes back. Everything else is one lazy Polars aggregate over one scan of
the columns it needs: Polars reads each column once, however many metrics
share it. A metric needing a statement of its own (duplicates over several
columns in a database) gets one.

When a batch fails for a reason other than the source (a pattern Polars'
regex engine rejects, say), each metric of it is retried alone, so one bad
rule cannot hide the others' results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlglot import exp

from meshlab.catalog import Column, Dataset
from meshlab.errors import ExecutionError, MeshError, SourceError
from meshlab.quality.metrics import UNSETTLED, Metric
from meshlab.sources import ScanSpec, ScanStats, Source
from meshlab.sources.database import DatabaseSource


@dataclass
class Measurement:
    """What was measured: values, per-metric failures and what each source was sent."""

    values: dict[Metric, Any] = field(default_factory=dict)
    errors: dict[Metric, MeshError] = field(default_factory=dict)
    sent: list[str] = field(default_factory=list)

    def record(self, metrics: list[Metric], row: dict[str, Any] | None, error: MeshError | None = None) -> None:
        for i, metric in enumerate(metrics):
            if error is not None or row is None:
                self.errors[metric] = error or ExecutionError("the check query returned no row")
            else:
                self.values[metric] = row[f"m{i}"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_mesh_error(exc: BaseException, dataset: Dataset) -> MeshError:
    if isinstance(exc, MeshError):
        return exc
    return ExecutionError(f"dataset '{dataset.address}': the check query failed: {_first_line(exc)}")


def _alias_columns(metrics: list[Metric], dataset: Dataset) -> tuple[tuple[str, Column], ...]:
    """Output columns m0, m1, … typed as each metric's value (the database's answer is cast to them)."""
    out = []
    for i, metric in enumerate(metrics):
        source_column = dataset.column(metric.columns[0]) if metric.columns else None
        physical = source_column.physical_type if source_column is not None else None
        out.append(
            (f"m{i}", Column(f"m{i}", metric.logical_type, physical if metric.logical_type != "integer" else None))
        )
    return tuple(out)


def _collect_one_row(frame: pl.LazyFrame) -> dict[str, Any]:
    rows = frame.collect().to_dicts()
    return rows[0] if rows else {}


def _database_batch(source: DatabaseSource, metrics: list[Metric], query: exp.Select, out: Measurement) -> None:
    spec = ScanSpec(
        scan_id="__check",
        dataset=source.dataset,
        columns=(),
        query=query,
        output_columns=_alias_columns(metrics, source.dataset),
    )
    stats = ScanStats()
    try:
        row = _collect_one_row(source.scan(spec, stats))
    except Exception as exc:  # noqa: BLE001 - reported per metric, never raised
        error = stats.error if isinstance(stats.error, SourceError) else _as_mesh_error(exc, source.dataset)
        out.record(metrics, None, error)
    else:
        out.record(metrics, row)
    out.sent.extend(stats.sent or [source.render(query)])


def _local_pass(source: Source, metrics: list[Metric], exprs: list[pl.Expr], out: Measurement) -> dict | None:
    """One lazy aggregate over one scan of the columns ``metrics`` read; None when it failed
    (then every metric is retried alone, so one bad rule cannot hide the others)."""
    dataset = source.dataset
    wanted = {c for m in metrics for c in m.columns}
    columns = tuple(c.name for c in dataset.columns if c.name in wanted)
    if not columns:  # a row count needs rows, not values: read the narrowest column
        columns = (min(dataset.columns, key=lambda c: c.logical_type not in ("integer", "boolean")).name,)
    stats = ScanStats()
    try:
        frame = source.scan(ScanSpec(scan_id="__check", dataset=dataset, columns=columns), stats)
        return _collect_one_row(frame.select(e.alias(f"m{i}") for i, e in enumerate(exprs)))
    except Exception as exc:  # noqa: BLE001 - reported per metric, never raised
        error = stats.error if isinstance(stats.error, SourceError) else _as_mesh_error(exc, dataset)
        if isinstance(error, SourceError) or len(metrics) == 1:
            out.record(metrics, None, error)
        else:
            for metric, expr in zip(metrics, exprs):
                row = _local_pass(source, [metric], [expr], out)
                if row is not None:
                    out.record([metric], row)
        return None
    finally:
        out.sent.extend(stats.sent)


def _local_batch(source: Source, metrics: list[Metric], out: Measurement) -> None:
    """Every metric in one pass at its cheapest stage; later passes only for what a stage left open."""
    pending = {m: m.stages() for m in metrics}
    while pending:
        batch = list(pending)
        exprs = [pending[m][0][0] for m in batch]
        row = _local_pass(source, batch, exprs, out)
        if row is not None:
            for i, metric in enumerate(batch):
                out.values[metric] = row[f"m{i}"]
        advanced = {}
        for metric in batch:
            (_, settle), *rest = pending[metric]
            if metric not in out.values:  # failed: the error is recorded
                continue
            value = settle(out.values.pop(metric))
            if value is UNSETTLED and rest:
                advanced[metric] = tuple(rest)
            else:
                out.values[metric] = value
        pending = advanced


def measure(source: Source, metrics: list[Metric]) -> Measurement:
    """Measure every metric of ``source``'s dataset; failures are kept per metric, never raised.

    Parameters
    ----------
    source
        The dataset's source (``mesh.source(dataset)``).
    metrics
        Distinct metrics; their columns must exist in the source.

    Returns
    -------
    Measurement
        ``values`` and ``errors`` by metric, and the SQL or scan description
        each source was sent.
    """
    out = Measurement()
    metrics = list(dict.fromkeys(metrics))
    if not metrics:
        return out
    local = metrics
    if isinstance(source, DatabaseSource) and source.dialect is not None:
        local = _in_database(source, metrics, out)
    if local:
        _local_batch(source, local, out)
    return out


def _in_database(source: DatabaseSource, metrics: list[Metric], out: Measurement) -> list[Metric]:
    """Measure what the database computes (one shared SELECT, plus statements of their own);
    return the metrics left for Polars (none when the database is gone: they are errors too)."""
    table = source.table()
    shared = [(m, e) for m in metrics if (e := m.sql(source)) is not None]
    done = {m for m, _ in shared}
    alone = [(m, q) for m in metrics if m not in done and (q := m.statement(table, source)) is not None]
    done |= {m for m, _ in alone}
    local = [m for m in metrics if m not in done]
    if shared:
        query = exp.select(*(exp.alias_(e, f"m{i}", quoted=True) for i, (_, e) in enumerate(shared)))
        _database_batch(source, [m for m, _ in shared], query.from_(table), out)
    for metric, statement in alone:
        _database_batch(source, [metric], statement, out)
    if shared and isinstance(out.errors.get(shared[0][0]), SourceError):
        for metric in local:  # the database is gone: no point in asking it again
            out.errors[metric] = out.errors[shared[0][0]]
        return []
    return local
