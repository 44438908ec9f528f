"""One audited query: a record in the log (and a lineage event) whatever the outcome."""

from __future__ import annotations

import contextlib
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import polars as pl

from meshlab.errors import AccessDeniedError, GovernanceError, QueryCancelledError, QueryTimeoutError
from meshlab.governance.audit import (
    AuditRecord,
    ColumnLineage,
    emit_event,
    now,
    printable,
    run_event,
    statement_hash,
    write_record,
)
from meshlab.sources.base import column_dtype

if TYPE_CHECKING:  # the audit reads plans; the planner sits above governance
    from meshlab.planner.plan import QueryPlan


class AuditedResult(Protocol):
    """What the audit reads of a query's result (a :class:`meshlab.Result`)."""

    @property
    def df(self) -> pl.DataFrame: ...
    @property
    def lineage(self) -> ColumnLineage: ...


@dataclass
class AuditedQuery:
    """Filled in by the query as it goes: its plan, then its result."""

    plan: QueryPlan | None = None
    result: AuditedResult | None = None


def _columns_read(plan: QueryPlan) -> list[str]:
    found: list[str] = []
    for scan in plan.scans:
        spec = scan.spec
        if spec.output_columns:
            by_id = {id(c): ds for ds in scan.datasets for c in ds.columns}
            found += [f"{by_id[id(c)].address}.{c.name}" for _, c in spec.output_columns if id(c) in by_id]
        else:
            found += [f"{spec.dataset.address}.{c}" for c in spec.raw_columns()]
    return sorted(set(found))


def _schemas(plan: QueryPlan) -> dict[str, list[dict[str, str]]]:
    return {
        ds.address: [{"name": c.name, "type": str(column_dtype(c) or c.logical_type)} for c in ds.columns]
        for ds in plan.datasets.values()
    }


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, Exception):
        return str(exc)
    return f"the query failed: {type(exc).__name__}"  # a panic's text is the engine's internals


@contextlib.contextmanager
def audited(mesh, sql: str, params=None):
    """Run the body as one query of ``mesh``, then log it (also when it fails).

    The body sets ``.plan`` once planned and ``.result`` once run.
    """
    config = mesh.audit
    query = AuditedQuery()
    if not config.active:
        yield query
        return
    started = time.perf_counter()
    record = new_record(mesh, sql, params)
    try:
        yield query
    except (AccessDeniedError, GovernanceError) as exc:
        record.outcome, record.error = "denied", str(exc)
        raise
    except KeyboardInterrupt:
        record.outcome, record.error = "interrupted", "the query was interrupted"
        raise
    except QueryTimeoutError as exc:
        record.outcome, record.error = "timeout", str(exc)
        raise
    except QueryCancelledError as exc:
        record.outcome, record.error = "cancelled", str(exc)
        raise
    except BaseException as exc:  # a Polars panic is a BaseException: still an error, still logged
        record.outcome, record.error = "error", _error_text(exc)
        raise
    finally:
        record.seconds = round(time.perf_counter() - started, 6)
        if query.plan is not None:
            record.datasets = query.plan.addresses
            record.columns = _columns_read(query.plan)
        if query.result is not None:
            record.rows = query.result.df.height
        try:
            write_record(config, record)
        except GovernanceError as failure:
            if record.outcome != "interrupted":
                raise  # fails closed: the rows (or the error) are withheld
            # An interrupt stays an interrupt (Ctrl-C must still stop the program); no rows were returned.
            warnings.warn(f"{failure} (the query was interrupted)", stacklevel=3)
        if config.openlineage:
            lineage = query.result.lineage if query.result is not None else None
            schemas = _schemas(query.plan) if query.plan is not None else {}
            emit_event(config, run_event(config, record, lineage, schemas))


def new_record(mesh, sql: str, params=None, **fields) -> AuditRecord:
    """The audit record of one query by the mesh's user and role; ``fields`` sets the rest."""
    return AuditRecord(
        time=now(),
        user=mesh.access.user,
        role=mesh.access.role,
        mesh=mesh.name,
        statement_hash=statement_hash(sql),
        statement=printable(sql),
        parameters=sorted(params or {}),
        **fields,
    )
