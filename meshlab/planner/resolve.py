"""Pass: resolve dataset addresses and qualify every column against the contracts.

Each table reference naming a catalog address becomes a canonical reference
``__dsN AS alias`` (one ``N`` per dataset), so that sqlglot's ``qualify`` can
resolve every column through a schema built from the contracts:

    SELECT country FROM plays.play_events
    -> SELECT play_events.country AS country FROM __ds0 AS play_events

References that are not addresses are refused: table functions that read
paths (``read_parquet('...')``), file paths and physical table names. Under a
policy, an address the role may not read is unknown to it (whether it exists
or not).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from meshlab.catalog import Catalog, Dataset
from meshlab.catalog.contract import Column
from meshlab.catalog.time_travel import as_of_from_sql
from meshlab.catalog.types import TYPES, decimal_dtype
from meshlab.errors import (
    AccessDeniedError,
    MeshError,
    NotQueryableError,
    SqlError,
    UnknownColumnError,
    UnknownDatasetError,
    UnsupportedQueryError,
)
from meshlab.governance.access import Access
from meshlab.planner.parse import READ_DIALECT, _position
from meshlab.planner.state import PlanState

CANONICAL_PREFIX = "__ds"

SQL_TYPES = {name: logical.sql for name, logical in TYPES.items()}


@dataclass(frozen=True)
class Resolved:
    """A qualified statement whose dataset references are canonical."""

    tree: exp.Expression
    datasets: dict[str, Dataset]  # canonical name -> dataset
    scopes: list[Scope] = field(default_factory=list)  # sqlglot scopes of ``tree``, computed once for the later passes

    def schema(self) -> dict[str, dict[str, str]]:
        return qualify_schema(self.datasets)


def run(state: PlanState) -> PlanState:
    resolved = resolve_for(state.tree, state.catalog, state.sql, state.access)
    return replace(state, tree=resolved.tree, datasets=resolved.datasets, scopes=resolved.scopes)


def resolve_for(statement: exp.Expression, catalog: Catalog, sql: str, access: Access | None) -> Resolved:
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


def sql_type(column: Column) -> str:
    """The SQL type sqlglot types ``column`` by: its decimal when the contract names one, else its logical type's."""
    decimal = decimal_dtype(column.physical_type) if column.logical_type == "number" else None
    if decimal is not None:
        return f"DECIMAL({decimal.precision},{decimal.scale})"
    return SQL_TYPES.get(column.logical_type, "VARCHAR")


def qualify_schema(datasets: dict[str, Dataset]) -> dict[str, dict[str, str]]:
    return {key: {c.name: sql_type(c) for c in ds.columns} for key, ds in datasets.items()}


# Built schemas by the datasets they describe: sqlglot normalizes every name of a
# schema it is given (a third of qualify's time on TPC-H), the same at every query.
_SCHEMAS: dict[tuple, tuple[tuple[Dataset, ...], MappingSchema]] = {}
_SCHEMAS_KEPT = 256


def cached_schema(datasets: dict[str, Dataset]) -> MappingSchema:
    """The sqlglot schema of ``datasets`` (canonical name -> dataset), built once per set."""
    key = tuple((name, id(dataset)) for name, dataset in datasets.items())
    hit = _SCHEMAS.get(key)
    # The entry holds the datasets themselves, so their ids cannot be reused meanwhile.
    if hit is not None and all(a is b for a, b in zip(hit[0], datasets.values())):
        return hit[1]
    tables: dict[str, object] = {name: columns for name, columns in qualify_schema(datasets).items()}
    schema = MappingSchema(tables, dialect=READ_DIALECT)
    if len(_SCHEMAS) >= _SCHEMAS_KEPT:
        _SCHEMAS.clear()
    _SCHEMAS[key] = (tuple(datasets.values()), schema)
    return schema


def _cte_names(statement: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _address(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def canonicalize_tables(statement: exp.Expression, catalog: Catalog, sql: str) -> dict[str, Dataset]:
    """Replace address references by ``__dsN AS alias`` in place; return the datasets."""
    ctes = _cte_names(statement)
    keys: dict[str, str] = {}
    datasets: dict[str, Dataset] = {}
    for table in list(statement.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            what = table.this.key.upper() if table.this else "this"
            raise UnsupportedQueryError(
                f"table function {what}(...) is not allowed: query datasets by their address",
                *_position(sql, table),
            )
        if not table.args.get("db") and table.name.lower() in ctes:
            continue
        if not table.args.get("db"):
            suggestions = [d.address for d in catalog.datasets if d.name.lower() == table.name.lower()]
            line, col = _position(sql, table.this)
            where = f" (line {line}, column {col})" if line else ""
            hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
            raise _unknown(
                table.name,
                suggestions,
                f"'{table.name}' is not a dataset address{where}: address datasets as domain.dataset{hint}",
            )
        try:
            dataset = catalog.resolve(_address(table))
        except UnknownDatasetError as exc:
            line, col = _position(sql, table.this)
            raise _unknown(
                exc.address, exc.suggestions, f"{exc}" + (f" (line {line}, column {col})" if line else "")
            ) from None
        version = table.args.get("version")
        if version is not None:  # FOR VERSION|TIMESTAMP AS OF: another dataset, as it was then
            dataset = replace(dataset, as_of=as_of_from_sql(version, _position(sql, version)))
        key = keys.setdefault(dataset.reference, f"{CANONICAL_PREFIX}{len(keys)}")
        datasets[key] = dataset
        alias = table.alias or table.name
        canonical = exp.Table(this=exp.to_identifier(key), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        table.replace(canonical)
    return datasets


def _unknown(address: str, suggestions, message: str) -> UnknownDatasetError:
    error = UnknownDatasetError(address, suggestions)
    error.args = (message,)
    return error


def _drop_column_prefixes(statement: exp.Expression) -> None:
    """``plays.play_events.user_id`` -> ``play_events.user_id``: the table part is the alias."""
    for column in statement.find_all(exp.Column):
        if column.args.get("db") is not None:
            column.set("db", None)
            column.set("catalog", None)


def _unknown_column(statement: exp.Expression, message: str, sql: str, datasets: dict[str, Dataset]) -> SqlError:
    name = message.split("'")[1].strip('"') if "'" in message else ""
    line = col = None
    for column in statement.find_all(exp.Column):
        if column.name.lower() == name.lower():
            line, col = _position(sql, column.this)
            break
    known = sorted({c.name for ds in datasets.values() for c in ds.columns})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return UnknownColumnError(f"unknown column '{name}'{hint}", line, col)


def apply_contract_case(scopes: list, datasets: dict[str, Dataset]) -> None:
    """Give dataset columns the exact spelling of their contract (Polars is case-sensitive)."""
    for scope in scopes:
        for column in scope.columns:
            source = _source_of(scope, column.table)
            if isinstance(source, exp.Table) and source.name in datasets:
                declared = datasets[source.name].column(column.name)
                if declared is not None:
                    simple = declared.name == declared.name.lower() and declared.name.isidentifier()
                    spelled = column.this
                    if spelled.this != declared.name or bool(spelled.args.get("quoted")) == simple:
                        column.set("this", exp.to_identifier(declared.name, quoted=not simple))


def validate_columns(scopes: list[Scope]) -> None:
    """sqlglot's ``validate_qualify_columns`` on scopes already built: an ``OptimizeError`` for a
    column no source has (or an ambiguous one), with sqlglot's message.

    Building the scopes once for it and for the passes after spares a traversal of the tree.
    """
    unqualified = []
    for scope in scopes:
        if isinstance(scope.expression, exp.Select):
            if scope.external_columns and not scope.is_correlated_subquery and not scope.pivots:
                column = scope.external_columns[0]
                for_table = f" for table: '{column.table}'" if column.table else ""
                raise OptimizeError(f"Column '{column.name}' could not be resolved{for_table}.{_place(column, ' ')}")
            unqualified.extend(scope.unqualified_columns)
    if unqualified:
        raise OptimizeError(f"Ambiguous column '{unqualified[0].name}'{_place(unqualified[0], ' (', ')')}")


def _place(column: exp.Column, before: str, after: str = "") -> str:
    line, col = column.this.meta.get("line"), column.this.meta.get("col")
    return f"{before}Line: {line}, Col: {col}{after}" if line and col else ""


def _source_of(scope, alias: str):
    while scope is not None:
        if alias in scope.sources:
            return scope.sources[alias]
        scope = scope.parent
    return None


def resolve(statement: exp.Expression, catalog: Catalog, sql: str) -> Resolved:
    """Canonicalize dataset references and qualify every column."""
    datasets = canonicalize_tables(statement, catalog, sql)
    for dataset in datasets.values():  # catalogued, but nowhere meshlab can read (no server, no properties, ...)
        if dataset.unavailable:
            raise NotQueryableError(dataset.address, dataset.unavailable)
    _drop_column_prefixes(statement)
    try:
        tree = qualify(
            statement,
            dialect=READ_DIALECT,
            schema=cached_schema(datasets),
            quote_identifiers=False,
            identify=False,
            validate_qualify_columns=False,  # below, on the scopes the later passes read too
        )
        scopes = traverse_scope(tree)
        validate_columns(scopes)
    except OptimizeError as exc:
        text = str(exc)
        if "could not be resolved" in text or "Unknown column" in text:
            raise _unknown_column(statement, text, sql, datasets) from None
        raise UnsupportedQueryError(f"cannot resolve the query: {text}") from None
    except MeshError:
        raise
    apply_contract_case(scopes, datasets)
    return Resolved(tree, datasets, scopes)
