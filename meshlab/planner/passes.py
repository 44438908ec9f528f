"""The planner's passes, in the order they run: the one place to add a pass.

Each pass is a module named for what it does, with one function
``run(state: PlanState) -> PlanState`` (:class:`~meshlab.planner.state.Pass`).
Each has a fixture file of input -> expected pairs, ``tests/planner_passes/<module>.sql``,
run by ``tests/test_planner_passes.py``.

Rewrites of the parsed statement come first, then resolution against the
catalog, then the scans: what each table reference could send down, what the
role imposes, what each source takes, and last the joins and scan sharing
that work across scans.
"""

from __future__ import annotations

from meshlab.planner import (
    ask_sources,
    bind_parameters,
    cap_rows,
    eliminate_qualify,
    fold_dates,
    govern,
    implied,
    join_order,
    joins,
    name_outputs,
    name_scans,
    pushdown,
    resolve,
    share_scans,
)
from meshlab.planner.state import Pass

PASSES: tuple[Pass, ...] = (
    bind_parameters,  # :name placeholders -> literals
    cap_rows,  # the caller's row cap as a LIMIT in the tree
    name_outputs,  # count(*) -> count(*) AS "COUNT(*)", as DuckDB names it
    eliminate_qualify,  # QUALIFY -> a filter over a subquery (Polars ignores QUALIFY)
    fold_dates,  # DATE '1994-01-01' + INTERVAL '1' YEAR -> CAST('1995-01-01' AS DATE)
    resolve,  # addresses -> __dsN AS alias; every column qualified by its table
    implied,  # (a AND b) OR (c AND d) across tables -> also a single-table OR per table
    pushdown,  # per table reference: columns needed, candidate conjuncts, LIMIT/ORDER BY
    govern,  # the role's row filter and masks per scan; nothing masked goes down
    ask_sources,  # each source's verdict per candidate -> the scans
    joins,  # joins within one database pushed down when they move fewer values
    share_scans,  # one scan per file dataset (and per database table when it pays)
    name_scans,  # each reference reads its scan: __dsN -> __scanN
    join_order,  # the FROM order of SELECTs over a database, from row estimates
)


def name_of(step: Pass) -> str:
    """A pass's name: its module's (``meshlab.planner.fold_dates`` -> ``fold_dates``)."""
    return step.__name__.rsplit(".", 1)[-1]
