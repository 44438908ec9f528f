"""Pass: join order for the SELECTs that read a database, chosen by cost.

Polars orders joins from the row estimates of its scans. A database scan is a Python
IO source it cannot estimate, and a SELECT holding one is joined in the order written:
TPC-H Q21 joins supplier with every late lineitem (3.8 M rows) and only then keeps the
suppliers of one nation, where all-parquet Polars starts from that nation (the first
way took 1.5x the time and 1.6x the memory here).

For such a SELECT of inner joins this pass writes the FROM list in the order of least
cost: a dynamic program over the connected subsets of its tables (left-deep, as Polars
runs a FROM list) keeps for each subset the cheapest order, cost being the sum of the
intermediate results' rows (C_out). Rows come from :mod:`meshlab.planner.cost`: the
sources' statistics (row counts, distinct values, ranges), the selectivity of each
table's own conditions and the contracts' keys. Above :data:`MAX_DP_TABLES` tables a
greedy search (cheapest next join from each start) takes over. Joins stay where Polars
puts them otherwise: the order of the FROM list is all that changes, so the answer cannot.

    SELECT ... FROM __scan0 AS o JOIN __scan1 AS e ON e.c_id = o.c_id
      JOIN __scan2 AS c ON c.c_id = o.c_id JOIN __scan3 AS r ON r.country = c.country
    WHERE r.region = 'Nordics'                      (o: 200 rows in SQLite, c: 20)
    -> SELECT ... FROM __scan2 AS c, __scan3 AS r, __scan0 AS o, __scan1 AS e
       WHERE r.region = 'Nordics' AND e.c_id = o.c_id AND c.c_id = o.c_id AND r.country = c.country
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.planner import cost
from meshlab.planner.plan import ScanPlan
from meshlab.planner.pushdown import NOT_PUSHABLE, conjuncts
from meshlab.planner.state import PlanState

#: up to this many tables the order is found by dynamic programming (2^n subsets)
MAX_DP_TABLES = 10
#: a second (third, ...) condition between the same two sides narrows less than independence says
CORRELATION_DAMPING = 0.5


def run(state: PlanState) -> PlanState:
    notes = order_joins(state.tree, state.scans)
    return replace(state, notes=state.notes + tuple(notes)) if notes else state


def source_rows(scan: ScanPlan) -> float:
    """Rows of the scan's dataset, as its source's statistics tell."""
    return cost.base_rows(scan)


def selectivity(condition: exp.Expr, scan: ScanPlan | None = None) -> float:
    """The share of rows ``condition`` keeps (from the scan's statistics when given)."""
    return cost.selectivity(condition, scan)


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
        if (join.side or join.kind or "").upper() not in ("", "INNER", "CROSS") or join.args.get("using"):
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
        own: dict[str, list[exp.Expr]] = {a: [] for a in self.aliases}
        self.edges: list[tuple[str, str, str, str]] = []  # (alias, column, alias, column)
        for conjunct in conjuncts(condition):
            used = {c.table for c in conjunct.find_all(exp.Column)}
            if len(used) == 1 and not conjunct.find(*NOT_PUSHABLE) and used <= set(own):
                own[used.pop()].append(conjunct)
            elif (
                isinstance(conjunct, exp.EQ)
                and isinstance(conjunct.left, exp.Column)
                and isinstance(conjunct.right, exp.Column)
                and len(used) == 2
                and used <= set(own)
            ):
                left, right = conjunct.left, conjunct.right
                self.edges.append((left.table, left.name, right.table, right.name))
        self.rows = {a: cost.scan_rows(self.scans[a], own[a]) for a in self.aliases}
        self.bit = {a: 1 << i for i, a in enumerate(self.aliases)}
        self.divisors = self._pair_divisors()

    def _pair_divisors(self) -> dict[frozenset[str], float]:
        """For each pair of joined tables, what their cross product is divided by.

        The columns of one side holding its key: that table's rows (each row of the other
        side meets at most one of it). Else the larger NDV of the two columns; a second
        condition between the same pair divides by less than independence says.
        """
        pairs: dict[frozenset[str], list[tuple[str, str, str, str]]] = {}
        for edge in self.edges:
            if edge[0] != edge[2]:
                pairs.setdefault(frozenset((edge[0], edge[2])), []).append(edge)
        found = {}
        for pair, edges in pairs.items():
            columns = {
                alias: {c for a, ca, b, cb in edges for t, c in ((a, ca), (b, cb)) if t == alias} for alias in pair
            }
            keyed = [cost.base_rows(self.scans[a]) for a in pair if cost.is_key(self.scans[a], columns[a])]
            if keyed:
                found[pair] = max(keyed)
                continue
            spread = sorted((max(self.distinct(a, ca), self.distinct(b, cb)) for a, ca, b, cb in edges), reverse=True)
            found[pair] = spread[0] * ((spread[1] if len(spread) > 1 else 1.0) ** CORRELATION_DAMPING)
        return found

    def distinct(self, alias: str, column: str) -> float:
        return cost.distinct(self.scans[alias], column, self.rows[alias])

    def joined_rows(self, members: int, size: float, alias: str) -> float | None:
        """Rows after joining ``alias`` to the tables of bit set ``members`` (``size`` rows);
        None: no condition links them. The figure depends on the set only, not on the order."""
        divisor, linked = 1.0, False
        for other in self.aliases:
            if self.bit[other] & members:
                found = self.divisors.get(frozenset((alias, other)))
                if found is not None:
                    divisor *= found
                    linked = True
        return size * self.rows[alias] / divisor if linked else None

    def dynamic_program(self) -> list[str]:
        """The cheapest left-deep order over connected prefixes (a cross join only where the graph is split)."""
        best: dict[int, tuple[float, float, list[str]]] = {}  # set -> (cost, rows, order)
        for alias in self.aliases:  # the first table costs its rows: of two equal orders, the smaller starts
            best[self.bit[alias]] = (self.rows[alias], self.rows[alias], [alias])
        full = (1 << len(self.aliases)) - 1
        for members in range(1, full + 1):  # a subset is handled after all of its own subsets
            if members not in best:
                continue
            spent, size, order = best[members]
            extensions = []
            for alias in self.aliases:
                if self.bit[alias] & members:
                    continue
                joined = self.joined_rows(members, size, alias)
                extensions.append((alias, joined))
            if any(rows is not None for _, rows in extensions):
                extensions = [(a, r) for a, r in extensions if r is not None]
            for alias, rows in extensions:
                rows = size * self.rows[alias] if rows is None else rows
                grown = members | self.bit[alias]
                candidate = (spent + rows, rows, order + [alias])
                if grown not in best or (candidate[0], candidate[2]) < (best[grown][0], best[grown][2]):
                    best[grown] = candidate
        return best[full][2]

    def greedy(self) -> list[str]:
        """From each start, add the join of fewest rows; the order whose results sum least."""
        found = []
        for start in self.aliases:
            order, members, size, spent = [start], self.bit[start], self.rows[start], 0.0
            while len(order) < len(self.aliases):
                options = [
                    (rows, a)
                    for a in self.aliases
                    if not self.bit[a] & members and (rows := self.joined_rows(members, size, a)) is not None
                ]
                if not options:
                    options = [(size * self.rows[a], a) for a in self.aliases if not self.bit[a] & members]
                size, chosen = min(options)
                order.append(chosen)
                members |= self.bit[chosen]
                spent += size
            found.append((spent, order))
        return min(found)[1]

    def best_order(self) -> list[str]:
        return self.dynamic_program() if len(self.aliases) <= MAX_DP_TABLES else self.greedy()


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
