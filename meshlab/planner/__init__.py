"""The planner: SQL text -> :class:`QueryPlan`, one pass per module.

The statement is parsed, then every pass of :data:`meshlab.planner.passes.PASSES`
runs in order on one :class:`~meshlab.planner.state.PlanState`: bind parameters,
rewrite what Polars would mis-run, resolve and qualify, fold date arithmetic, the
role's row filters and masks, per-scan pushdown, joins of one database, the local
query over the scans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from meshlab.catalog import Catalog, Dataset
from meshlab.governance.access import Access
from meshlab.planner.parse import parse_statement
from meshlab.planner.passes import PASSES
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.planner.state import PlanState
from meshlab.sources import Source

__all__ = ["QueryPlan", "ScanPlan", "plan_query"]


def plan_query(
    sql: str,
    catalog: Catalog,
    source_for: Callable[[Dataset], Source],
    params: Mapping[str, Any] | None = None,
    join_pushdown: bool = True,
    limit: int | None = None,
    access: Access | None = None,
) -> QueryPlan:
    """Plan ``sql`` against ``catalog``; ``source_for`` gives each dataset's source.

    ``limit`` caps the rows of the answer (the statement's own LIMIT still holds when lower).
    ``access``: the role whose row filters and masks every scan gets; ``catalog``
    must then hold only the datasets that role may read.
    """
    state = PlanState(
        sql=sql,
        tree=parse_statement(sql),
        catalog=catalog,
        source_for=source_for,
        params=params,
        limit=limit,
        access=access,
        join_pushdown=join_pushdown,
    )
    for step in PASSES:
        state = step.run(state)
    return query_plan(state)


def query_plan(state: PlanState) -> QueryPlan:
    """The plan the passes arrived at."""
    access = state.access
    return QueryPlan(
        sql=state.sql,
        lineage_tree=state.lineage_tree,
        scan_names=state.scan_names,
        local=state.tree,
        scans=state.scans,
        datasets=state.datasets,
        notes=state.notes,
        masked={ds.address: tuple(access.masks(ds)) for ds in state.datasets.values()} if access else {},
        role=access.role_label if access and access.governed else None,
        mesh_root=state.catalog.root,
    )
