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
    cast_string_literals,
    cast_text,
    divide_as_double,
    eliminate_qualify,
    fold_dates,
    govern,
    implied,
    join_conditions,
    join_order,
    joins,
    name_outputs,
    name_scans,
    pad_date_literals,
    pushdown,
    resolve,
    round_half_away,
    share_scans,
    subtract_dates,
    unique_outputs,
)
from meshlab.planner.state import Pass

PASSES: tuple[Pass, ...] = (
    bind_parameters,  # :name placeholders -> literals
    cap_rows,  # the caller's row cap as a LIMIT in the tree
    name_outputs,  # count(*) -> count(*) AS "count_star()", as DuckDB names it; a.id, b.id -> id, id_1
    eliminate_qualify,  # QUALIFY -> a filter over a subquery (Polars ignores QUALIFY)
    pad_date_literals,  # CAST('2002-3-1' AS DATE) -> CAST('2002-03-01' AS DATE)
    fold_dates,  # DATE '1994-01-01' + INTERVAL '1' YEAR -> CAST('1995-01-01' AS DATE)
    divide_as_double,  # a / b -> CAST(a AS DOUBLE) / b: DuckDB's division on every engine
    resolve,  # addresses -> __dsN AS alias; every column qualified by its table
    unique_outputs,  # SELECT * over a self join: the second id -> id_1
    join_conditions,  # JOIN b ON a.id = b.id AND a.qty > b.price -> the inequality in WHERE (Polars joins on equalities)
    cast_string_literals,  # date_col = '2002-3-1' -> date_col = CAST('2002-03-01' AS DATE)
    cast_text,  # CAST(' 12 ' AS INT), CAST('2.345' AS DECIMAL(9,2)), CAST(ts AS VARCHAR) as DuckDB reads and writes them
    subtract_dates,  # date - date -> a number of days (Polars: a duration)
    round_half_away,  # ROUND(x, 2) on a DOUBLE, narrowing CASTs: rounded half away from zero, as DuckDB
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
