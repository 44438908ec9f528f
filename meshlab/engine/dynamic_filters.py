"""Dynamic filtering (Trino's term): the join keys of a small side go to the database of the other.

    SELECT ... FROM __scan4 AS nation, __scan5 AS region, __scan0 AS customer, __scan1 AS orders, ...
    WHERE region.r_name = 'ASIA' AND nation.n_regionkey = region.r_regionkey
      AND customer.c_nationkey = nation.n_nationkey AND customer.c_custkey = orders.o_custkey ...

Before any database is asked for rows, the sides of such inner equi-joins that are
small after their own conditions are computed, smallest first: region (a CSV file,
1 key), then nation narrowed by it (5 keys), whose keys go to PostgreSQL with
customer's scan (``c_nationkey IN (…5…)``: 30 k rows of 150 k), whose keys narrow
orders (``o_custkey = ANY(CAST('{…}' AS BIGINT[]))``) in turn. A database scan computed as a
build is fetched once: the rows are kept and :mod:`meshlab.engine.prefetch` does
not ask again.

Which joins: an ``a.x = b.y`` conjunct (WHERE or an inner JOIN's ON) of a SELECT whose
joins are all inner, between two scans. The probe's scan must be a database's with no
policy on it -- the rules of :mod:`meshlab.engine.in_subqueries`, for the same reason: the
local query still joins every row, so the pushed list is a pre-filter and the answer is the
same with or without it. A scan several references read (TPC-H Q11's partsupp, in the query
and in its HAVING subquery) is narrowed only when every reference received keys on one
column, by their union: each reference then still finds every row it joins with. A join pushed down to a database may be a probe too: the keys then filter its output
rows (``SELECT … FROM (<the join>) AS __joined WHERE …``). A governed scan gives no keys:
its values would reach another server's statements; nor does a join pushed down (its size
is no table's: it cannot be estimated).

Which are worth it is decided from the planner's estimates (:func:`estimated_rows`):
the build keeps at most :data:`MAX_FRACTION` of its rows and at most
:data:`MAX_KEYS`, and the probe is estimated :data:`MIN_RATIO` times larger. A build
that turns out to have more keys than :data:`MAX_KEYS` leaves the probe as planned;
one with none sends ``FALSE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl
from sqlglot import exp

from meshlab.planner.join_order import selectivity, source_rows
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.planner.polars_sql import polars_sql
from meshlab.planner.pushdown import NOT_PUSHABLE, conjuncts
from meshlab.sources import Pushdown, ScanStats
from meshlab.sources.base import column_dtype
from meshlab.sources.database import DatabaseSource

#: off: every scan as planned (for measurements side by side)
ENABLED = True
#: at most this many keys go to a database; a build with more leaves the probe as planned.
#: Measured (TPC-H SF1 orders in PostgreSQL, by o_orderkey): 100 k keys fetched in 0.27 s
#: against 0.41 s for the whole table, 200 k about even, 400 k slower (0.97 against 0.82 s).
MAX_KEYS = 100_000
#: text keys are rendered one literal at a time (about 15 µs each): fewer of them
MAX_TEXT_KEYS = 10_000
#: a build keeping more of its rows than this (estimated) filters too little to wait for.
#: Measured (SQLite partsupp by ps_partkey, 200 k parts): a quarter of the keys about even
#: with the whole table (0.25 against 0.23 s), an eighth twice as fast (0.15 against 0.26 s).
MAX_FRACTION = 0.25
#: the probe must be estimated this many times larger than the build's keys
MIN_RATIO = 4.0


def estimated_rows(scan: ScanPlan, conditions: list[exp.Expression]) -> tuple[float, float]:
    """Rows of ``scan`` and the rows its own ``conditions`` keep, as the planner estimates them.

    The one place this module asks for sizes: better estimates (row counts and
    distinct values from the databases' statistics) plug in here.
    """
    rows = source_rows(scan)
    kept = rows
    for condition in conditions:
        kept *= selectivity(condition, scan)
    return rows, kept


@dataclass(frozen=True)
class Edge:
    """``probe.probe_column = build.build_column``: the build's keys may narrow the probe."""

    build: str
    build_column: str
    probe: str
    probe_column: str


@dataclass
class Side:
    """One scan of a SELECT: its own conditions, estimated sizes, the keys it received."""

    alias: str
    scan: ScanPlan
    own: list[exp.Expression]
    rows: float
    kept: float
    probe: bool  # its database may be sent keys
    received: list[tuple[Edge, pl.Series]] = field(default_factory=list)


def _inner_tables(select: exp.Select, scans: dict[str, ScanPlan]) -> list[exp.Table]:
    joins = select.args.get("joins") or []
    if any((j.side or j.kind or "").upper() not in ("", "INNER", "CROSS") or j.args.get("using") for j in joins):
        return []
    from_ = select.args.get("from_")
    sources = ([from_.this] if from_ is not None else []) + [j.this for j in joins]
    return [t for t in sources if isinstance(t, exp.Table) and t.name in scans]


def _narrowable(scan: ScanPlan, local: exp.Expression) -> bool:
    """Whether the scan's database may be sent keys (the rules of in_subqueries; a join
    pushed down too: the keys then filter its output, see :func:`_filtered_join`). A scan
    read by several references may be: it is narrowed only once every reference received
    keys (:func:`_narrow_shared`)."""
    return isinstance(scan.source, DatabaseSource) and not scan.spec.governed


def _references(scan_id: str, local: exp.Expression) -> int:
    return sum(1 for t in local.find_all(exp.Table) if t.name == scan_id)


def _gives_keys(scan: ScanPlan) -> bool:
    """Whether the scan's keys may go to another source: not under a policy (its values would
    reach another server), not a join pushed down (its size is no table's: not estimated)."""
    return not scan.spec.governed and scan.spec.query is None


def _sides_and_edges(
    select: exp.Select, scans: dict[str, ScanPlan], local: exp.Expression
) -> tuple[dict[str, Side], list[Edge]]:
    tables = _inner_tables(select, scans)
    aliases = {t.alias_or_name: scans[t.name] for t in tables}
    if len(aliases) < 2 or len(aliases) < len(tables):
        return {}, []
    where = select.args.get("where")
    terms = conjuncts(where.this) if where is not None else []
    for join in select.args.get("joins") or []:
        terms += conjuncts(join.args.get("on"))
    own: dict[str, list[exp.Expression]] = {a: [] for a in aliases}
    equal: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for term in terms:
        used = {c.table for c in term.find_all(exp.Column)}
        if term.find(*NOT_PUSHABLE) or not used <= set(aliases):
            continue
        if len(used) == 1:
            own[used.pop()].append(term)
        elif isinstance(term, exp.EQ) and isinstance(term.left, exp.Column) and isinstance(term.right, exp.Column):
            equal.append(((term.left.table, term.left.name), (term.right.table, term.right.name)))
    sides = {}
    for alias, scan in aliases.items():
        rows, kept = estimated_rows(scan, [c for c in own[alias] if not _joined_already(scan, c)])
        sides[alias] = Side(alias, scan, own[alias], rows, kept, _narrowable(scan, local))
    return sides, _closure(equal)


def _joined_already(scan: ScanPlan, condition: exp.Expression) -> bool:
    """A join condition of a join pushed down, repeated locally: it keeps every row the scan returns."""
    return (
        scan.spec.query is not None
        and isinstance(condition, exp.EQ)
        and all(isinstance(side, exp.Column) for side in (condition.left, condition.right))
    )


def _closure(equal: list[tuple[tuple[str, str], tuple[str, str]]]) -> list[Edge]:
    """An edge each way between every two columns of different tables the equalities make equal
    (``p.k = l.k AND ps.k = l.k``: ``p.k = ps.k`` as well; inner joins, so it holds)."""
    classes: list[set[tuple[str, str]]] = []
    for pair in equal:
        touching = [c for c in classes if c & set(pair)]
        merged = set(pair).union(*touching)
        classes = [c for c in classes if not c & set(pair)] + [merged]
    edges = []
    for members in classes:
        for build in sorted(members):
            edges += [Edge(*build, *probe) for probe in sorted(members) if probe[0] != build[0]]
    return edges


def plan_filters(sides: dict[str, Side], edges: list[Edge]) -> tuple[list[str], list[Edge]]:
    """The order to compute the sides in (smallest first) and the edges worth a filter.

    A side's estimate is final when it is the smallest left: every build that could
    narrow it was smaller and came before. An edge is kept only when it leads to a
    database probe, directly or through a file side whose keys narrow one.
    """
    kept = {a: s.kept for a, s in sides.items()}
    pending, order = set(sides), []
    chosen: list[Edge] = []
    while pending:
        build = min(pending, key=lambda a: (kept[a], a))
        pending.remove(build)
        order.append(build)
        side = sides[build]
        fraction = kept[build] / max(side.rows, 1.0)
        if not _gives_keys(side.scan) or fraction > MAX_FRACTION or kept[build] > MAX_KEYS:
            continue
        filtered = {(e.probe, e.probe_column) for e in chosen}
        for edge in edges:
            if edge.build != build or edge.probe not in pending or (edge.probe, edge.probe_column) in filtered:
                continue
            if kept[edge.probe] < MIN_RATIO * kept[build]:
                continue
            chosen.append(edge)
            filtered.add((edge.probe, edge.probe_column))
            kept[edge.probe] *= fraction
    useful: list[Edge] = []
    builds: set[str] = set()
    for alias in reversed(order):  # edges go from earlier sides to later ones
        for edge in chosen:
            if edge.probe == alias and (sides[alias].probe or alias in builds):
                useful.append(edge)
                builds.add(edge.build)
    return order, [e for e in chosen if e in useful]


def _key_predicate(scan: ScanPlan, column: str, keys: pl.Series) -> exp.Expression | None:
    """``column IN (keys)`` as the scan's database takes it; None when it cannot be sent."""
    source = scan.source
    if not isinstance(source, DatabaseSource):
        return None
    if scan.spec.query is not None:  # a join pushed down: integer keys on an output column
        output = dict(scan.spec.output_columns).get(column)
        dtype = column_dtype(output) if output is not None else None
        if dtype is None or not dtype.is_integer() or not keys.dtype.is_integer():
            return None
        # An integer equality means the same in every database: no verdict to ask.
        return source.integer_keys(column, keys.to_list()) if keys.len() else exp.false()
    contract = scan.dataset.column(column)
    if contract is None:
        return None
    wanted = source.schema().get(column)
    if keys.len() == 0:
        predicate: exp.Expression = exp.false()
        sample = predicate
    elif keys.dtype.is_integer() and wanted is not None and wanted.is_integer():
        predicate = source.integer_keys(column, keys.to_list())
        sample = exp.In(this=exp.column(column), expressions=[exp.Literal.number(0)])
    elif keys.dtype == pl.String and wanted == pl.String and keys.len() <= MAX_TEXT_KEYS:
        predicate = exp.In(this=exp.column(column), expressions=[exp.Literal.string(v) for v in keys.to_list()])
        sample = exp.In(this=exp.column(column), expressions=[exp.Literal.string("")])
    else:
        return None
    # The verdict on a one-value list: the database runs the same test for every key.
    return None if source.pushdown(sample) is Pushdown.UNSUPPORTED else predicate


def _narrow(side: Side, sides: dict[str, Side], frames: dict, stats: dict[str, ScanStats]) -> list[Edge]:
    """Send the keys ``side`` received to its database; the edges whose keys went down."""
    scan, predicates, sent = side.scan, [], []
    for edge, keys in side.received:
        origin = sides[edge.build].scan.dataset.address
        place = f"{scan.dataset.address}.{edge.probe_column}"
        if keys.len() > MAX_KEYS:
            stats[scan.scan_id].notes.append(
                f"dynamic filter not sent: {keys.len():,} keys from {origin} (limit {MAX_KEYS:,})"
            )
            continue
        predicate = _key_predicate(scan, edge.probe_column, keys)
        if predicate is None:
            continue
        predicates.append(predicate)
        sent.append(edge)
        stats[scan.scan_id].notes.append(f"dynamic filter: {place} IN {keys.len():,} keys from {origin}")
    if predicates:
        spec = scan.spec
        if spec.query is not None:
            spec = replace(spec, query=_filtered_join(spec.query, predicates))
        else:
            spec = replace(spec, predicates=spec.predicates + tuple(predicates))
        frames[scan.scan_id] = scan.source.scan(spec, stats[scan.scan_id])
    return sent


def _filtered_join(query: exp.Select, predicates: list[exp.Expression]) -> exp.Select:
    """``SELECT <its outputs> FROM (query) AS __joined WHERE <predicates>``: a filter on the
    output rows of a join pushed down, right whatever the join holds (outer joins, groups)."""
    names = [e.alias_or_name for e in query.expressions]
    wrapped = exp.select(*(exp.column(n, table="__joined", quoted=True) for n in names)).from_(
        query.subquery("__joined")
    )
    for predicate in predicates:
        predicate = predicate.copy()
        for column in predicate.find_all(exp.Column):
            column.set("table", exp.to_identifier("__joined", quoted=True))
            column.set("this", exp.to_identifier(column.name, quoted=True))
        wrapped = wrapped.where(predicate, copy=False)
    return wrapped


def _keys(
    side: Side, columns: list[str], frames: dict, fetched: set[str], pushed: list[Edge]
) -> dict[str, pl.Series] | None:
    """The distinct values of ``columns`` in the rows of ``side`` its own conditions and keys keep.

    A database side is fetched here, once: its rows replace its frame.
    """
    scan = side.scan
    frame = frames[scan.scan_id]
    if scan.source.fetches_rows and scan.scan_id not in fetched:
        frame = frames[scan.scan_id] = frame.collect().lazy()
        fetched.add(scan.scan_id)
    schema = frame.collect_schema()
    for edge, keys in side.received:  # keys its database did not take narrow it here
        wanted = schema.get(edge.probe_column)
        if edge not in pushed and wanted is not None and keys.dtype.is_integer() == wanted.is_integer():
            frame = frame.filter(pl.col(edge.probe_column).is_in(keys.cast(wanted, strict=False).implode()))
    query = exp.select(*(exp.column(c, table=side.alias) for c in columns)).from_(
        exp.table_(scan.scan_id, alias=side.alias)
    )
    if side.own:
        query = query.where(exp.and_(*(c.copy() for c in side.own)))
    try:
        rows = pl.SQLContext({scan.scan_id: frame}, eager=False).execute(polars_sql(query)).collect()
    except (Exception, pl.exceptions.PanicException):  # noqa: BLE001 - no keys: the probe is read as planned
        return None
    return {c: rows.get_column(c).drop_nulls().unique().sort() for c in columns}


#: a scan read by several references -> per reference (its SELECT, its alias), the keys it
#: received per column and the build they came from
Deferred = dict[str, dict[tuple[int, str], dict[str, tuple[Edge, pl.Series, Side]]]]


def _filter_select(
    sides: dict[str, Side],
    order: list[str],
    chosen: list[Edge],
    frames: dict,
    stats: dict,
    fetched: set[str],
    deferred: Deferred,
    select_id: int,
) -> None:
    builds = {e.build for e in chosen}
    for alias in order:
        side = sides[alias]
        pushed: list[Edge] = []
        if side.probe and side.received and side.scan.scan_id in deferred:
            found = deferred[side.scan.scan_id].setdefault((select_id, alias), {})
            for edge, values in side.received:
                found.setdefault(edge.probe_column, (edge, values, sides[edge.build]))
        elif side.probe and side.received:
            pushed = _narrow(side, sides, frames, stats)
        if alias not in builds:
            continue
        mine = [e for e in chosen if e.build == alias]
        keys = _keys(side, sorted({e.build_column for e in mine}), frames, fetched, pushed)
        if keys is None:
            continue
        for edge in mine:
            sides[edge.probe].received.append((edge, keys[edge.build_column]))


def run_dynamic_filters(
    plan: QueryPlan, frames: dict[str, pl.LazyFrame], stats: dict[str, ScanStats]
) -> tuple[dict[str, pl.LazyFrame], set[str]]:
    """``frames`` with database scans narrowed by the keys of small join sides, and the
    scans already fetched (as builds: their frames hold the rows)."""
    if not ENABLED or not any(_narrowable(s, plan.local) for s in plan.scans):
        return frames, set()
    scans = {s.scan_id: s for s in plan.scans}
    frames, fetched = dict(frames), set[str]()
    references = {s.scan_id: _references(s.scan_id, plan.local) for s in plan.scans}
    deferred: Deferred = {i: {} for i, n in references.items() if n > 1 or scans[i].spec.shared}
    for select in plan.local.find_all(exp.Select):
        sides, edges = _sides_and_edges(select, scans, plan.local)
        if edges:
            order, chosen = plan_filters(sides, edges)
            if chosen:
                _filter_select(sides, order, chosen, frames, stats, fetched, deferred, id(select))
    for scan_id, received in deferred.items():
        if received and scan_id not in fetched:
            _narrow_shared(scans[scan_id], references[scan_id], received, frames, stats)
    return frames, fetched


def _narrow_shared(
    scan: ScanPlan,
    references: int,
    received: dict[tuple[int, str], dict[str, tuple[Edge, pl.Series, Side]]],
    frames: dict,
    stats: dict[str, ScanStats],
) -> None:
    """Narrow a scan several references read, when every one of them received keys on one
    column: by the union of their keys (each reference still joins on its own)."""
    if len(received) < references:
        return  # a reference without keys needs every row
    common = set.intersection(*(set(columns) for columns in received.values()))
    if not common:
        return
    column = min(common)
    parts = [found[column] for found in received.values()]
    keys = pl.concat([keys.cast(parts[0][1].dtype) for _, keys, _ in parts]).unique().sort()
    edge, _, build = parts[0]
    sides = {edge.build: build}
    side = Side(edge.probe, scan, [], 0.0, 0.0, True, [(edge, keys)])
    _narrow(side, sides, frames, stats)
