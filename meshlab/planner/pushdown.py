"""Pass: per table reference, the columns its scan needs and the conjuncts it may take.

Works on the qualified tree, one table occurrence at a time (a dataset read
twice is two scans, each with its own columns and predicates):

    SELECT o.o_orderkey FROM __ds0 AS o WHERE o.o_orderdate < CAST('1995-03-15' AS DATE)
    -> scan of __ds0: columns (o_orderkey, o_orderdate),
       candidates (o.o_orderdate < CAST('1995-03-15' AS DATE))

A conjunct is a candidate for a scan when every column in it belongs to that
scan, it holds no subquery, aggregate or window, and filtering the table
before the join keeps the join's meaning: never on the null-supplying side
of an outer join, except the join's own ON condition. A lone table of a
SELECT also offers its LIMIT (plus OFFSET) and the ORDER BY over its columns.
Every conjunct stays in the local query too, so an inexact source is safe.
Which candidates each source takes is :mod:`meshlab.planner.ask_sources`'s part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TypeVar, cast

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from meshlab.planner.plan import Occurrence
from meshlab.planner.state import PlanState

E = TypeVar("E", bound=exp.Expression)

NOT_PUSHABLE = (exp.Subquery, exp.Exists, exp.AggFunc, exp.Window, exp.Placeholder, exp.Rand, exp.Select)

__all__ = ["NOT_PUSHABLE", "Occurrence", "conjuncts", "find_occurrences", "run", "strip_tables"]


def run(state: PlanState) -> PlanState:
    """The dataset references of ``state.tree``, each with its columns and candidate conjuncts."""
    return replace(state, occurrences=tuple(find_occurrences(state.scopes, state.datasets)))


def conjuncts(condition: exp.Expr | None) -> list[exp.Expression]:
    """The terms of an AND chain (``a AND (b AND c)`` -> a, b, c), parentheses dropped."""
    if condition is None:
        return []
    terms = condition.flatten() if isinstance(condition, exp.And) else (condition,)
    # sqlglot types a node's children as its Expr trait; each node of a parsed tree is an Expression
    return cast(list[exp.Expression], [t.unnest() if isinstance(t, exp.Paren) else t for t in terms])


def strip_tables(node: E) -> E:
    """A copy of ``node`` whose columns name no table (a scan's own SQL), each one quoted."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
        column.set("this", exp.to_identifier(column.name, quoted=True))
    return copy


def _source_scope(scope: Scope, alias: str) -> Scope | None:
    found: Scope | None = scope
    while found is not None:
        if alias in found.sources:
            return found
        found = found.parent
    return None


def _null_supplying(select: exp.Select) -> set[str]:
    """Aliases that an outer join may null-extend in this SELECT."""
    joins = select.args.get("joins") or []
    from_ = select.args.get("from_")
    before = [from_.this.alias_or_name] if from_ is not None else []
    nullable: set[str] = set()
    for join in joins:
        side = (join.side or "").upper()
        name = join.this.alias_or_name
        if side in ("LEFT", "FULL"):
            nullable.add(name)
        if side in ("RIGHT", "FULL"):
            nullable.update(before)
        before.append(name)
    return nullable


def _single_alias(conjunct: exp.Expression) -> str | None:
    if conjunct.find(*NOT_PUSHABLE):
        return None
    aliases = {c.table for c in conjunct.find_all(exp.Column)}
    return aliases.pop() if len(aliases) == 1 else None


def _candidates(select: exp.Select) -> list[tuple[str, exp.Expression]]:
    """(alias, conjunct) pairs a scan of that alias may take."""
    nullable = _null_supplying(select)
    found = []
    where = select.args.get("where")
    for conjunct in conjuncts(where.this if where else None):
        alias = _single_alias(conjunct)
        if alias and alias not in nullable:
            found.append((alias, conjunct))
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        name = join.this.alias_or_name
        for conjunct in conjuncts(join.args.get("on")):
            alias = _single_alias(conjunct)
            if not alias:
                continue
            if side == "LEFT" and alias == name:
                found.append((alias, conjunct))
            elif side == "" and alias not in nullable:
                found.append((alias, conjunct))
    return found


def _literal_int(node: exp.Expression | None) -> int | None:
    if node is None:
        return None
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string:
        try:
            return int(value.name)
        except ValueError:
            return None
    return None


def _limit_candidate(select: exp.Select, occurrence: Occurrence) -> tuple[int | None, tuple[exp.Ordered, ...]]:
    """The row limit (and order) a lone scan may take from its SELECT."""
    limit = _literal_int(select.args.get("limit"))
    if limit is None or select.args.get("joins") or select.args.get("group") or select.args.get("having"):
        return None, ()
    if select.args.get("distinct") or select.args.get("qualify"):
        return None, ()
    if any(e.find(exp.AggFunc, exp.Window) for e in select.expressions):
        return None, ()
    offset = select.args.get("offset")
    if offset is not None:
        skipped = _literal_int(offset)
        if skipped is None:
            return None, ()
        limit += skipped
    order = select.args.get("order")
    ordered: list[exp.Ordered] = []
    if order is not None:
        # ORDER BY may name an output column: follow it to the scanned column.
        outputs = {e.alias: e.this for e in select.expressions if isinstance(e, exp.Alias)}
        for item in order.expressions:
            key = item.this
            if isinstance(key, exp.Column) and not key.table:
                key = outputs.get(key.name, key)
            if not isinstance(key, exp.Column) or key.table != occurrence.alias:
                return None, ()
            copy = item.copy()
            copy.set("this", key.copy())
            ordered.append(copy)
    return limit, tuple(ordered)


def _exists_projection(scope: Scope, column: exp.Column) -> bool:
    """A column of the select list of an EXISTS subquery: EXISTS reads rows, never values
    (``EXISTS (SELECT * FROM orders ...)`` needs none of the columns ``*`` stands for)."""
    select = scope.expression
    if not isinstance(select, exp.Select) or not isinstance(select.parent, exp.Exists):
        return False
    node: exp.Expr = column
    while node.parent is not None and node.parent is not select:
        node = node.parent
    return node.parent is select and node.arg_key == "expressions"


def find_occurrences(scopes: list[Scope], datasets: Mapping[str, object]) -> list[Occurrence]:
    """Every dataset occurrence of the tree whose ``scopes`` are given, with its
    needed columns and candidate conjuncts."""
    by_table: dict[int, Occurrence] = {}
    for scope in scopes:
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table) and source.name in datasets and id(source) not in by_table:
                by_table[id(source)] = Occurrence(source, alias, source.name, scope)
    for scope in scopes:
        for column in scope.columns:
            if not column.table or _exists_projection(scope, column):
                continue
            owner = _source_scope(scope, column.table)
            read = owner.sources.get(column.table) if owner else None
            if isinstance(read, exp.Table) and id(read) in by_table:
                by_table[id(read)].columns.add(column.name)
        if isinstance(scope.expression, exp.Select):
            for alias, conjunct in _candidates(scope.expression):
                read = scope.sources.get(alias)
                if isinstance(read, exp.Table) and id(read) in by_table:
                    by_table[id(read)].candidates.append(conjunct)
    for occurrence in by_table.values():
        select = occurrence.scope.expression
        if isinstance(select, exp.Select) and len(occurrence.scope.sources) == 1:
            occurrence.limit, occurrence.order_by = _limit_candidate(select, occurrence)
    return list(by_table.values())
