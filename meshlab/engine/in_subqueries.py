"""Uncorrelated IN subqueries that filter a database table run first; their values go down.

    SELECT ... FROM sales.orders o, shipping.lineitem l, ...
    WHERE o.o_orderkey IN (SELECT l_orderkey FROM shipping.lineitem GROUP BY 1 HAVING sum(l_quantity) > 300)

The subquery runs on Polars first (57 keys at TPC-H SF1, Q18), the database holding
``orders`` is sent ``o_orderkey IN (…the 57 values…)`` instead of being asked for its
1.5 M rows, and the query then runs with the subquery replaced by the values already
computed, so Polars does not compute it twice. Nested ones go innermost first (Q20:
the parts named forest% narrow partsupp, whose suppliers then narrow supplier).

Only a subquery that reads nothing of the query around it, tested with ``IN`` (never
``NOT IN``: NULLs) as a conjunct of a WHERE whose joins are all inner, on a column of a
database scan that no other reference shares. The local query still tests every row, so
the pushed list is a pre-filter: the answer is the same with or without it. Scans under
a policy (row filter, masks) are left alone: a masked column's values are not the ones
the database holds.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from sqlglot import exp

from meshlab.planner.parse import literal
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.planner.polars_sql import polars_sql
from meshlab.planner.pushdown import conjuncts
from meshlab.sources import Pushdown, ScanStats
from meshlab.sources.database import DatabaseSource

#: at most this many values go to a database as an IN list; with more the scan is read as planned
MAX_VALUES = 10_000
PREFIX = "__in"


def _depth(node: exp.Expr) -> int:
    depth = 0
    while node.parent is not None:
        node, depth = node.parent, depth + 1
    return depth


def _defined_inside(query: exp.Expression) -> set[str]:
    """Names a subquery may use without reading the query around it."""
    names = {t.alias_or_name for t in query.find_all(exp.Table)}
    names |= {s.alias for s in query.find_all(exp.Subquery) if s.alias}
    names |= {c.alias for c in query.find_all(exp.CTE)}
    return names


def _uncorrelated(query: exp.Expression, frames: dict) -> bool:
    inside = _defined_inside(query)
    ctes = {c.alias for c in query.find_all(exp.CTE)}
    if any(t.name not in frames and t.name not in ctes for t in query.find_all(exp.Table)):
        return False  # a CTE of the outer query, say: not runnable alone
    return all(not c.table or c.table in inside for c in query.find_all(exp.Column))


def _owner_table(select: exp.Select, alias: str) -> exp.Table | None:
    from_ = select.args.get("from_")
    sources = ([from_.this] if from_ is not None else []) + [j.this for j in select.args.get("joins") or []]
    return next((t for t in sources if isinstance(t, exp.Table) and t.alias_or_name == alias), None)


def _database_scan(node: exp.In, scans: dict[str, ScanPlan], local: exp.Expression) -> ScanPlan | None:
    """The database scan whose column ``node`` tests, when its values may narrow that scan."""
    select = node.find_ancestor(exp.Select)
    if select is None:
        return None
    where = select.args.get("where")
    if where is None or not any(c is node for c in conjuncts(where.this)):
        return None
    if any((j.side or j.kind or "").upper() not in ("", "INNER", "CROSS") for j in select.args.get("joins") or []):
        return None
    column = node.this
    table = _owner_table(select, column.table) if isinstance(column, exp.Column) and column.table else None
    scan = scans.get(table.name) if table is not None else None
    if scan is None or not isinstance(scan.source, DatabaseSource) or scan.spec.query is not None:
        return None
    if scan.spec.shared or sum(1 for t in local.find_all(exp.Table) if t.name == scan.scan_id) != 1:
        return None  # another reference reads the same fetch: it must not lose rows
    if scan.spec.governed:
        return None  # the values may be masked ones, which the database never holds
    return scan


def candidates(plan: QueryPlan, frames: dict, local: exp.Expression) -> list[tuple[exp.In, ScanPlan]]:
    """Each IN subquery whose values may narrow a database scan, innermost first."""
    scans = {s.scan_id: s for s in plan.scans}
    found = []
    for node in local.find_all(exp.In):
        query = node.args.get("query")
        if query is None or not isinstance(node.this, exp.Column):
            continue
        scan = _database_scan(node, scans, local)
        body = query.this if isinstance(query, exp.Subquery) else query
        if scan is not None and _uncorrelated(body, frames):
            found.append((node, scan))
    return sorted(found, key=lambda pair: -_depth(pair[0]))


def _narrowed(scan: ScanPlan, column: exp.Column, values: pl.Series) -> ScanPlan | None:
    """``scan`` with ``column IN (values)`` sent to its database, or None when it cannot be."""
    values = values.drop_nulls().sort()
    if values.len() > MAX_VALUES:
        return None
    if values.len() == 0:
        predicate: exp.Expression = exp.false()
    else:
        items = [literal(v) for v in values.to_list()]
        predicate = exp.In(this=exp.column(column.name, table=column.table), expressions=items)
    if scan.source.pushdown(predicate) is Pushdown.UNSUPPORTED:
        return None
    return replace(scan, spec=replace(scan.spec, predicates=scan.spec.predicates + (predicate,)))


def run_in_subqueries_first(
    plan: QueryPlan, frames: dict[str, pl.LazyFrame], stats: dict[str, ScanStats]
) -> tuple[QueryPlan, dict[str, pl.LazyFrame], list[str]]:
    """The plan to run (its local tree and narrowed scans rewritten), the frames it reads,
    and notes on what was narrowed (also in the scans' ``stats``).

    Each candidate subquery is computed and registered as a frame ``__inN``; the
    database scan it tests is rebuilt with the values as a predicate.
    """
    if not any(isinstance(s.source, DatabaseSource) for s in plan.scans) or not any(
        n.args.get("query") is not None for n in plan.local.find_all(exp.In)
    ):
        return plan, frames, []
    local = plan.local.copy()
    frames = dict(frames)
    notes = []
    scans = {s.scan_id: s for s in plan.scans}
    for index, (node, scan) in enumerate(candidates(plan, frames, local)):
        name = f"{PREFIX}{index}"
        query = node.args["query"]
        body = query.this if isinstance(query, exp.Subquery) else query
        result = pl.SQLContext(frames, eager=False).execute(polars_sql(body)).collect()
        values = result.to_series().unique()
        frames[name] = values.to_frame("value").lazy()
        node.set("query", exp.select(exp.column("value", table=name)).from_(name).subquery())
        narrowed = _narrowed(scan, node.this, values)
        if narrowed is not None:
            scans[scan.scan_id] = narrowed
            frames[scan.scan_id] = narrowed.source.scan(narrowed.spec, stats[scan.scan_id])
            notes.append(f"{scan.dataset.address}: {node.this.name} IN {values.len():,} values of a subquery")
            stats[scan.scan_id].notes.append(f"IN subquery: {node.this.name} IN {values.len():,} values")
    return replace(plan, local=local, scans=tuple(scans.values())), frames, notes
