"""The planner: SQL text -> :class:`QueryPlan`, one pass per module.

parse -> bind parameters -> rewrite what Polars would mis-run -> resolve and
qualify -> fold date arithmetic -> the role's row filters and masks -> per-scan
pushdown -> joins of one database -> the local query over the scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from sqlglot import exp, transforms

from meshlab.catalog import Catalog, Dataset
from meshlab.catalog.root_paths import mesh_root
from meshlab.errors import AccessDeniedError, ParameterError, UnknownDatasetError
from meshlab.governance.access import Access
from meshlab.planner.fold_dates import fold_dates
from meshlab.planner.govern import ScanGovernance, govern_occurrences
from meshlab.planner.implied import add_implied_predicates
from meshlab.planner.join_order import order_joins
from meshlab.planner.joins import push_joins
from meshlab.planner.parse import READ_DIALECT, bind_parameters, parse_statement
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.planner.pushdown import Occurrence, conjuncts, find_occurrences
from meshlab.planner.resolve import resolve
from meshlab.sources import Pushdown, ScanSpec, Source

__all__ = ["QueryPlan", "ScanPlan", "plan_query"]


def rewrite_for_polars(statement: exp.Expression) -> exp.Expression:
    """Rewrite SQL that Polars' SQL engine would silently mis-run.

    Polars ignores QUALIFY (polars #25270): it becomes a filter over a
    subquery carrying the window value.
    """
    if statement.find(exp.Qualify):
        statement = statement.transform(transforms.eliminate_qualify, copy=False)
    return statement


def name_outputs(statement: exp.Expression) -> exp.Expression:
    """Name unaliased result expressions by their SQL text, as DuckDB does.

    ``SELECT country, count(*) FROM ...`` -> columns ``country`` and ``count(*)``
    (qualification would call the second ``_col_1``).
    """
    select = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return statement
    taken = {e.alias_or_name for e in select.expressions}
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)) or projection.find(exp.Star) is projection:
            continue
        name = projection.sql(dialect=READ_DIALECT)[:64]
        while name in taken:
            name += "_"
        taken.add(name)
        projection.replace(exp.alias_(projection.copy(), name, quoted=True))
    return statement


def cap_rows(statement: exp.Expression, limit: int) -> exp.Expression:
    """``statement`` returning at most ``limit`` rows, as a LIMIT in the tree so it can push down."""
    if limit < 0:
        raise ParameterError(f"a row limit must be zero or more, not {limit}")
    current = statement.args.get("limit")
    if isinstance(statement, exp.Select) and (current is None or statement.args.get("offset") is None):
        value = current.expression if current is not None else None
        if isinstance(value, exp.Literal) and not value.is_string and int(value.name) <= limit:
            return statement
        return statement.limit(limit, copy=False)
    return exp.select("*").from_(statement.subquery("_capped")).limit(limit)


def _ordered_columns(dataset: Dataset, names: set[str]) -> tuple[str, ...]:
    if not names:
        # COUNT(*) needs rows, not values: fetch the narrowest declared column.
        preferred = [c for c in dataset.columns if c.logical_type in ("integer", "boolean", "date")]
        return ((preferred or list(dataset.columns))[0].name,)
    return tuple(c.name for c in dataset.columns if c.name in names)


def _scan_plan(
    index: int, occurrence: Occurrence, dataset: Dataset, source: Source, rules: ScanGovernance | None = None
) -> ScanPlan:
    taken, verdicts, local = [], [], []
    for conjunct in occurrence.candidates:
        verdict = source.pushdown(conjunct)
        if verdict is Pushdown.UNSUPPORTED:
            local.append(conjunct.sql())
        else:
            taken.append(conjunct)
            verdicts.append((conjunct.sql(), verdict))
    limit, order_by = occurrence.limit, occurrence.order_by
    if limit is not None:
        where = occurrence.scope.expression.args.get("where")
        exact = sum(1 for _, v in verdicts if v is Pushdown.EXACT)
        every_conjunct_exact = exact == len(conjuncts(where.this if where else None)) and not local
        orderable = all(
            source.pushdown(exp.GT(this=o.this.copy(), expression=o.this.copy())) is not Pushdown.UNSUPPORTED
            for o in order_by
        )
        filter_exact = rules is None or rules.row_filter is None or source.pushdown(rules.row_filter) is Pushdown.EXACT
        if not (source.can_limit() and every_conjunct_exact and orderable and filter_exact):
            limit, order_by = None, ()
    columns = _ordered_columns(dataset, occurrence.columns)
    spec = ScanSpec(
        scan_id=f"__scan{index}",
        dataset=dataset,
        columns=columns,
        predicates=tuple(taken),
        limit=limit,
        order_by=tuple(_strip_tables(o) for o in order_by),
        row_filter=rules.row_filter if rules else None,
        masks=rules.masks if rules else (),  # every mask of the dataset: whatever columns a scan ends up reading
    )
    return ScanPlan(spec, source, occurrence.alias, tuple(verdicts), tuple(local), (dataset,))


def _strip_tables(node: exp.Expression) -> exp.Expression:
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
        column.set("this", exp.to_identifier(column.name, quoted=True))
    return copy


def share_file_scans(scans: list[ScanPlan]) -> tuple[list[ScanPlan], dict[str, str]]:
    """One scan per file dataset, shared by all its references.

    Polars recognises one LazyFrame used several times (common subplan
    elimination) and reads the files once; separate frames per reference
    made TPC-H Q2 twice as slow. Each reference's predicates still reach the
    reader through Polars' own pushdown.

    Database scans of one table are shared too when one fetch moves no more
    than the two would (:func:`shared_predicates`): TPC-H Q2, Q11 and Q22 read
    a table twice. The shared scan sends the weaker reference's predicates;
    every predicate is re-checked locally anyway.
    """
    first: dict[str, int] = {}
    renames: dict[str, str] = {}
    merged: list[ScanPlan] = []
    for scan in scans:
        if scan.spec.query is not None:
            merged.append(scan)
            continue
        address = scan.dataset.address
        if address not in first:
            first[address] = len(merged)
            merged.append(scan)
            continue
        kept = merged[first[address]]
        predicates = kept.spec.predicates + scan.spec.predicates
        if scan.source.dialect is not None:
            predicates = shared_predicates(kept.spec, scan.spec)
            if predicates is None:
                merged.append(scan)
                continue
        columns = set(kept.spec.columns) | set(scan.spec.columns)
        masks = {m.name: m for m in kept.spec.masks + scan.spec.masks}
        spec = replace(
            kept.spec,
            columns=tuple(c.name for c in kept.dataset.columns if c.name in columns),
            masks=tuple(masks.values()),
            predicates=predicates,
            limit=None,
            order_by=(),
            shared=True,
        )
        merged[first[address]] = replace(kept, spec=spec, pushed=kept.pushed + scan.pushed)
        renames[scan.scan_id] = kept.scan_id
    return merged, renames


def shared_predicates(a: ScanSpec, b: ScanSpec) -> tuple[exp.Expression, ...] | None:
    """The predicates of one database fetch serving both scans, or None when two fetches move less.

    Shared when both send the same predicates, or when one's predicates
    include the other's and it needs no column the other does not fetch: the
    weaker reference's rows and columns then cover both. A limited scan is
    never shared (its limit would be lost).
    """
    if a.limit is not None or b.limit is not None:
        return None
    # Compared without their table aliases: two references name the table differently.
    texts_a = {_strip_tables(p).sql(): p for p in a.predicates}
    texts_b = {_strip_tables(p).sql(): p for p in b.predicates}
    if texts_a.keys() == texts_b.keys():
        return a.predicates
    for weak, strong, weak_texts, strong_texts in ((a, b, texts_a, texts_b), (b, a, texts_b, texts_a)):
        if weak_texts.keys() < strong_texts.keys() and set(strong.columns) <= set(weak.columns):
            return weak.predicates
    return None


def _one_database_twice(scans: list[ScanPlan]) -> bool:
    """Whether two scans read one database (only then may a join go down to it)."""
    seen = set()
    for scan in scans:
        if scan.source.dialect is not None:
            key = (scan.source.kind, scan.source.location())
            if key in seen:
                return True
            seen.add(key)
    return False


def resolve_for(statement: exp.Expression, catalog: Catalog, sql: str, access: Access | None):
    """:func:`resolve`, where an address the role may not read reads as unknown to it."""
    try:
        return resolve(statement, catalog, sql)
    except AccessDeniedError:
        raise
    except UnknownDatasetError as exc:
        if access is None or not access.governed:
            raise
        denied = AccessDeniedError(exc.address, access.role_label, exc.suggestions)
        place = re.search(r"\(line \d+, column \d+\)", str(exc))
        if place:
            denied.args = (f"{denied.args[0]} {place.group(0)}",)
        raise denied from None


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
    statement = bind_parameters(parse_statement(sql), params)
    if limit is not None:
        statement = cap_rows(statement, limit)
    statement = fold_dates(rewrite_for_polars(name_outputs(statement)))
    resolved = resolve_for(statement, catalog, sql, access)
    add_implied_predicates(resolved.scopes)
    tree = resolved.tree
    occurrences = find_occurrences(resolved.scopes, resolved.datasets)
    rules = govern_occurrences(occurrences, resolved.datasets, access)
    scans = [
        _scan_plan(i, occ, resolved.datasets[occ.key], source_for(resolved.datasets[occ.key]), rule)
        for i, (occ, rule) in enumerate(zip(occurrences, rules))
    ]
    # A join pushed down rewrites the tree: keep the tree lineage reads first.
    lineage_tree = tree.copy() if join_pushdown and _one_database_twice(scans) else None
    notes: list[str] = []
    if join_pushdown:
        scans, occurrences, notes = push_joins(tree, scans, occurrences, source_for)
    scan_ids = [scan.scan_id for scan in scans]
    scans, renames = share_file_scans(scans)
    scan_names: dict[str, str] = {}
    for scan_id, occurrence in zip(scan_ids, occurrences):
        if occurrence is not None:  # None: a join pushed down, already rewritten
            occurrence.table.set("this", exp.to_identifier(renames.get(scan_id, scan_id)))
            scan_names[renames.get(scan_id, scan_id)] = occurrence.key
    notes = [*notes, *order_joins(tree, scans)]
    return QueryPlan(
        sql=sql,
        lineage_tree=lineage_tree,
        scan_names=scan_names,
        local=tree,
        scans=tuple(scans),
        datasets=resolved.datasets,
        notes=tuple(notes),
        masked={ds.address: tuple(access.masks(ds)) for ds in resolved.datasets.values()} if access else {},
        role=access.role_label if access and access.governed else None,
        mesh_root=mesh_root(catalog.manifest.path),
    )
