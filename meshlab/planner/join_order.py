"""Pass: join order for the SELECTs that read a database.

Polars orders joins from the row estimates of its scans. A database scan is a Python
IO source it cannot estimate, and a SELECT holding one is joined in the order written:
TPC-H Q21 joins supplier with every late lineitem (3.8 M rows) and only then keeps the
suppliers of one nation, where all-parquet Polars starts from that nation (the first
way took 1.5x the time and 1.6x the memory here).

For such a SELECT of inner joins this pass writes the FROM list in a better order,
found greedily: start from each table in turn, add at every step the connected table
that keeps the result smallest, keep the order whose intermediate results sum least.
Sizes come from the sources' row counts (cached), textbook selectivities of each
table's own conditions, and the contracts' keys: a join on a key of the table added
keeps at most one match per row. Joins stay where Polars puts them otherwise: the
order of the FROM list is all that changes, so the answer cannot.

    SELECT ... FROM __scan0 AS o JOIN __scan1 AS e ON e.c_id = o.c_id
      JOIN __scan2 AS c ON c.c_id = o.c_id JOIN __scan3 AS r ON r.country = c.country
    WHERE r.region = 'Nordics'                      (o: 200 rows in SQLite, c: 20)
    -> SELECT ... FROM __scan2 AS c, __scan3 AS r, __scan0 AS o, __scan1 AS e
       WHERE r.region = 'Nordics' AND e.c_id = o.c_id AND c.c_id = o.c_id AND r.country = c.country
"""

from __future__ import annotations

import time
import weakref
from dataclasses import replace

from sqlglot import exp

from meshlab.planner.plan import ScanPlan
from meshlab.planner.pushdown import NOT_PUSHABLE, conjuncts
from meshlab.planner.state import PlanState
from meshlab.sources import Source

SELECTIVITY: dict[type[exp.Expr], float] = {exp.EQ: 0.1, exp.In: 0.2, exp.Like: 0.25, exp.Between: 0.25, exp.Is: 0.1}
RANGE_SELECTIVITY = 1 / 3
OTHER_SELECTIVITY = 0.5
UNKNOWN_ROWS = 100_000  # a source that cannot tell its size
ROW_COUNT_SECONDS = 300.0
_rows: weakref.WeakKeyDictionary[Source, tuple[int | None, float]] = weakref.WeakKeyDictionary()


def run(state: PlanState) -> PlanState:
    notes = order_joins(state.tree, state.scans)
    return replace(state, notes=state.notes + tuple(notes)) if notes else state


def source_rows(scan: ScanPlan) -> float:
    """Rows of the scan's dataset, as its source tells (remembered for a while)."""
    source = scan.source
    cached = _rows.get(source)
    if cached is None or time.monotonic() - cached[1] > ROW_COUNT_SECONDS:
        rows = source.guess_rows()
        cached = _rows[source] = (rows, time.monotonic())
    return float(cached[0]) if cached[0] is not None else UNKNOWN_ROWS


def selectivity(condition: exp.Expr) -> float:
    """A textbook guess of the share of rows ``condition`` keeps."""
    if isinstance(condition, exp.Paren):
        return selectivity(condition.this)
    if isinstance(condition, exp.And):
        return selectivity(condition.left) * selectivity(condition.right)
    if isinstance(condition, exp.Or):
        return min(1.0, selectivity(condition.left) + selectivity(condition.right))
    if isinstance(condition, exp.Not):
        return 1.0 - selectivity(condition.this)
    if isinstance(condition, exp.In) and not condition.args.get("query"):
        return min(1.0, 0.05 * len(condition.expressions))
    if isinstance(condition, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return RANGE_SELECTIVITY
    return SELECTIVITY.get(type(condition), OTHER_SELECTIVITY)


def _sources(select: exp.Select) -> list[exp.Expression]:
    from_ = select.args.get("from_")
    return ([from_.this] if from_ is not None else []) + [j.this for j in select.args.get("joins") or []]


def _reorderable(select: exp.Select, scans: dict[str, ScanPlan]) -> list[exp.Table] | None:
    """The tables of a SELECT of inner joins over scans, one of them a database's; else None."""
    sources = _sources(select)
    tables = [t for t in sources if isinstance(t, exp.Table) and t.name in scans]
    if len(sources) < 3 or len(tables) < len(sources):
        return None
    for join in select.args.get("joins") or []:
        if (join.side or join.kind or "").upper() not in ("", "INNER") or join.args.get("using"):
            return None
    if not any(scans[t.name].source.dialect is not None for t in tables):
        return None  # Polars estimates every scan itself
    aliases = {t.alias_or_name for t in tables}
    own = [c for c in select.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]
    if any(c.table and c.table not in aliases for c in own):
        return None  # correlated: Polars decorrelates it as written
    return tables


class _Graph:
    """Tables of one SELECT with their estimated sizes and the equi-joins between them."""

    def __init__(self, tables: list[exp.Table], scans: dict[str, ScanPlan], condition: exp.Expr | None):
        self.aliases = [t.alias_or_name for t in tables]
        self.scans = {t.alias_or_name: scans[t.name] for t in tables}
        self.base = {a: source_rows(s) for a, s in self.scans.items()}
        self.rows = dict(self.base)
        self.edges: list[tuple[str, str, str, str]] = []  # (alias, column, alias, column)
        for conjunct in conjuncts(condition):
            used = {c.table for c in conjunct.find_all(exp.Column)}
            if len(used) == 1 and not conjunct.find(*NOT_PUSHABLE) and used <= set(self.rows):
                alias = used.pop()
                self.rows[alias] *= selectivity(conjunct)
            elif (
                isinstance(conjunct, exp.EQ)
                and isinstance(conjunct.left, exp.Column)
                and isinstance(conjunct.right, exp.Column)
                and len(used) == 2
                and used <= set(self.rows)
            ):
                left, right = conjunct.left, conjunct.right
                self.edges.append((left.table, left.name, right.table, right.name))

    def _is_key(self, alias: str, columns: set[str]) -> bool:
        dataset = self.scans[alias].dataset
        keys = {c.name for c in dataset.columns if c.primary_key}
        return bool(keys and keys <= columns) or any(
            (found := dataset.column(c)) is not None and found.unique for c in columns
        )

    def joined_rows(self, current: list[str], size: float, unique: set[str], alias: str):
        """Rows and still-unique tables after joining ``alias`` to ``current`` (None: not joined).

        ``unique``: tables of ``current`` whose key still appears at most once in it.
        """
        links = [
            (a, ca, b, cb) for a, ca, b, cb in self.edges if alias in (a, b) and ({a, b} - {alias}) <= set(current)
        ]
        if not links:
            return None
        mine = {ca if a == alias else cb for a, ca, b, cb in links}
        if self._is_key(alias, mine):  # at most one match per row so far
            return size * self.rows[alias] / self.base[alias], unique
        found = []
        for a, ca, b, cb in links:
            other, column = (b, cb) if a == alias else (a, ca)
            if other in unique and self._is_key(other, {column}):  # each new row meets one row so far
                found.append((self.rows[alias] * min(1.0, size / self.base[other]), {alias}))
        if found:
            return min(found, key=lambda pair: pair[0])
        return size * self.rows[alias], set()  # no key: as bad as a cross join, so tried last

    def order_from(self, start: str) -> tuple[float, list[str]]:
        order, size, cost, unique = [start], self.rows[start], 0.0, {start}
        while len(order) < len(self.aliases):
            options = []
            for alias in self.aliases:
                if alias not in order:
                    joined = self.joined_rows(order, size, unique, alias)
                    if joined is not None:
                        options.append((joined[0], alias, joined[1]))
            if not options:  # nothing connected: a cross join, smallest first
                options = [(size * self.rows[a], a, set()) for a in self.aliases if a not in order]
            size, chosen, unique = min(options, key=lambda option: (option[0], option[1]))
            order.append(chosen)
            cost += size
        return cost, order

    def best_order(self) -> list[str]:
        return min((self.order_from(a) for a in self.aliases), key=lambda pair: pair[0])[1]


def order_joins(tree: exp.Expression, scans: tuple[ScanPlan, ...]) -> list[str]:
    """Rewrite the FROM list of each SELECT over a database in the estimated best order; notes."""
    by_id = {s.scan_id: s for s in scans}
    notes = []
    for select in list(tree.find_all(exp.Select)):
        tables = _reorderable(select, by_id)
        if tables is None:
            continue
        where = select.args.get("where")
        on = [j.args.get("on") for j in select.args.get("joins") or [] if j.args.get("on") is not None]
        condition = (
            exp.and_(*(c.copy() for c in ([where.this] if where is not None else []) + on)) if where or on else None
        )
        graph = _Graph(tables, by_id, condition)
        order = graph.best_order()
        if order == graph.aliases:
            continue
        by_alias = {t.alias_or_name: t for t in tables}
        if on:  # inner joins: their ON conditions hold as well in WHERE
            select.set("where", exp.Where(this=condition))
        select.set("from_", exp.From(this=by_alias[order[0]].copy()))
        select.set("joins", [exp.Join(this=by_alias[a].copy()) for a in order[1:]])
        notes.append("join order (database sizes unknown to Polars): " + ", ".join(order))
    return notes
