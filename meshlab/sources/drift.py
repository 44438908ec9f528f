"""Schema drift: a scan's columns checked against the source before it reads.

A contract says which columns a table has and of what type; the table may
have changed since (a column renamed, dropped or retyped, the table replaced
by a view). A governed scan's row filter and masks name columns: reading a
drifted table could leave rows unfiltered (SQLite reads an unknown
double-quoted identifier as a string, so ``"country" <> 'US'`` becomes always
true). So every scan first compares the columns it will touch with what the
source says it has now, and refuses with a :class:`SchemaDriftError` naming
dataset, server, column and what changed.

    contract: country string; table: region TEXT
    -> SchemaDriftError: dataset 'sales.orders' on server 'db': schema drift:
       column 'country' is not in table orders (renamed or dropped?) ...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import polars as pl
from sqlglot import exp

from meshlab.catalog.types import compatible  # the one rule, shared with the schema checks
from meshlab.errors import SchemaDriftError

if TYPE_CHECKING:
    from meshlab.sources.base import Source


def touched_columns(spec) -> list[str]:
    """Contract columns a scan reads or tests: its columns, predicates, order, row filter and masks."""
    names = set(spec.raw_columns())
    for node in (*spec.predicates, *spec.order_by):
        names.update(c.name for c in node.find_all(exp.Column))
    return [c.name for c in spec.dataset.columns if c.name in names]


def check_drift(
    source: Source,
    where: str,
    found: Mapping[str, tuple[str, pl.DataType]],
    names: Iterable[str],
) -> None:
    """Refuse when a column of ``names`` is missing from ``found`` or stored as another type.

    ``where`` names the table or file (for the message); ``found`` maps the
    source's column names to their declared type, as the source names it and as Polars reads it.
    """
    dataset, server = source.dataset, source.server_label
    if not found:
        raise SchemaDriftError(dataset.address, server, f"schema drift: {where} does not exist or has no columns")
    for name in names:
        column = dataset.column(name)
        if column is None:
            continue
        if name not in found and source.names_case_insensitive:
            name = next((n for n in found if n.lower() == name.lower()), name)
        if name not in found:
            have = ", ".join(list(found)[:20])
            raise SchemaDriftError(
                dataset.address,
                server,
                f"schema drift: column '{name}' declared in {dataset.contract_path} is not in {where} "
                f"(renamed or dropped?); it has {have}",
            )
        declared, stored = found[name]
        if not compatible(
            stored, column.logical_type, text_dates=source.text_dates, integer_booleans=source.integer_booleans
        ):
            raise SchemaDriftError(
                dataset.address,
                server,
                f"schema drift: column '{name}' of {where} is stored as {declared}, "
                f"not as the {column.logical_type} declared in {dataset.contract_path}",
            )
