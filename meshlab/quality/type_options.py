"""``logicalTypeOptions`` of a property, checked on the data (or reported as not evaluated).

Evaluated, each as one check counting the non-null values that break it:
``pattern`` (a regular expression the whole value must match), ``minLength`` /
``maxLength`` (characters), ``minimum`` / ``maximum`` and their
``exclusiveMinimum`` / ``exclusiveMaximum`` forms (numbers, as in v3.1). Every
other option (``format``, ``precision``, ``timezone``, ...) is reported as a
``skipped`` check saying it is not evaluated, never silently ignored.

>>> violation(exp.column("n"), "minimum", 0).sql()
'n < 0'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.catalog.contract import listed
from meshlab.catalog.positions import LocatedDocument, field_path
from meshlab.planner.parse import READ_DIALECT
from meshlab.quality.failing_rows import fetch_rows, table_ref
from meshlab.quality.planned import Planned, known, plural
from meshlab.quality.rules import schema_index

if TYPE_CHECKING:
    from meshlab.quality.checked_mesh import CheckedMesh
    from meshlab.quality.report import CheckResult

EVALUATED = ("pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def violation(column: exp.Expr, option: str, value: Any) -> exp.Expr | None:
    """The condition a value breaking ``option: value`` meets; None when the option cannot be checked."""
    if option == "pattern" and isinstance(value, str):
        anchored = value if value.startswith("^") else f"^(?:{value})$"
        return exp.not_(exp.RegexpLike(this=exp.cast(column, "VARCHAR"), expression=exp.Literal.string(anchored)))
    if option in ("minLength", "maxLength") and _number(value):
        length = exp.Length(this=exp.cast(column, "VARCHAR"))
        bound = exp.Literal.number(value)
        return exp.LT(this=length, expression=bound) if option == "minLength" else exp.GT(this=length, expression=bound)
    if option in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and _number(value):
        bound = exp.Literal.number(value)
        kind = {"minimum": exp.LT, "maximum": exp.GT, "exclusiveMinimum": exp.LTE, "exclusiveMaximum": exp.GTE}
        return kind[option](this=column, expression=bound)
    return None


def _query(address: str, column: str, condition: exp.Expr, count: bool, limit: int | None = None) -> exp.Select:
    col = exp.column(column, quoted=True)
    where = exp.and_(col.is_(exp.null()).not_(), condition)
    projection = exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True) if count else exp.Star()
    query = exp.select(projection).from_(table_ref(address)).where(where)
    return query.limit(limit) if limit is not None else query


def _runner(planned: Planned, column: str, condition: exp.Expr, text: str) -> Callable[[CheckedMesh, int], CheckResult]:
    def run(mesh: CheckedMesh, failing_rows: int) -> CheckResult:
        result = mesh.sql(_query(planned.dataset, column, condition, True).sql(dialect=READ_DIALECT))
        count = int(result.df.item(0, 0) or 0)
        message = f"{plural(count, 'value')} breaking {text}"
        if count == 0:
            return planned.result("passed", 0, 0, message)
        query = _query(planned.dataset, column, condition, False, failing_rows)
        return planned.result("failed", count, 0, message, fetch_rows(mesh, query) if failing_rows else [])

    return run


def type_option_checks(document: LocatedDocument, dataset: Dataset) -> list[Planned]:
    """One check per ``logicalTypeOptions`` entry of each property of ``dataset``'s schema object."""
    i = schema_index(document, dataset.name)
    if i is None:
        return []
    out = []
    for j, prop in enumerate(listed(document.data["schema"][i].get("properties"))):
        options = prop.get("logicalTypeOptions") if isinstance(prop, dict) else None
        declared = dataset.column(str(prop.get("name"))) if isinstance(options, dict) else None
        if not isinstance(options, dict) or declared is None:
            continue
        column = declared.name
        for option, value in options.items():
            where = ("schema", i, "properties", j, "logicalTypeOptions", option)
            place = f"{document.place(where)} {field_path(where)}"
            name = f"logicalTypeOptions.{option}:{column}"
            condition = violation(exp.column(column, quoted=True), str(option), value)
            if option == "pattern" and isinstance(value, str):
                try:
                    re.compile(value)
                except re.error as exc:
                    out.append(known(dataset.address, name, "schema", "error", f"{place}: not a valid regular expression: {exc}", place))  # fmt: skip
                    continue
            if condition is None:
                message = f"{place}: {option} is not evaluated by meshlab"
                out.append(known(dataset.address, name, "schema", "skipped", message, place))
                continue
            planned = Planned(dataset.address, name, "schema", place)
            out.append(Planned(dataset.address, name, "schema", place, run=_runner(planned, column, condition, f"{option} {value}")))  # fmt: skip
    return out
