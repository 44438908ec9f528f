"""ODCS ``sql`` rules: a query whose single value is compared with the rule's thresholds.

The query runs through ``mesh.sql`` in meshlab's SQL (DuckDB's dialect), over
mesh addresses, on the same engine and sources as any query: ``{object}``
(also ``{table}``, ``{model}``) becomes the dataset's address and
``{property}`` (also ``{column}``, ``{field}``) the rule's column, quoted;
each may be written ``${…}`` too. A boolean answer counts as 1 or 0.

As ODCS writes them, rules may also name their table plainly
(``SELECT count(*) FROM orders``): a one-part table name equal to the schema
object's name or physical name is read as the dataset's address (on the SQL
tree, never on the text).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from meshlab.planner.parse import READ_DIALECT
from meshlab.quality.failing_rows import table_ref
from meshlab.quality.planned import Planned, known
from meshlab.quality.rules import QualityRule

if TYPE_CHECKING:
    from meshlab.quality.checked_mesh import CheckedMesh
    from meshlab.quality.report import CheckResult

OBJECT_NAMES = ("object", "table", "model")
PROPERTY_NAMES = ("property", "column", "field")
# Only the rule's own template markers are replaced; values never reach SQL text.
PLACEHOLDER = re.compile(r"\$?\{\s*(" + "|".join(OBJECT_NAMES + PROPERTY_NAMES) + r")\s*\}")


class RuleError(Exception):
    """A sql rule that cannot be run as written (the message says why)."""


def render_query(rule: QualityRule) -> str:
    """The rule's query with its placeholders replaced by quoted names."""
    address = table_ref(rule.dataset).sql(dialect=READ_DIALECT)

    def replace(match: re.Match) -> str:
        if match.group(1) in OBJECT_NAMES:
            return address
        if rule.column is None:
            raise RuleError(f"{match.group(0)} is used but the rule is not on a property")
        return exp.to_identifier(rule.column, quoted=True).sql(dialect=READ_DIALECT)

    return PLACEHOLDER.sub(replace, rule.query or "")


def own_table_as_address(sql: str, address: str, names: tuple[str, ...]) -> str:
    """``sql`` with one-part references to the rule's own table (by any of ``names``) made its mesh address."""
    import sqlglot

    try:
        tree = sqlglot.parse_one(sql, read=READ_DIALECT)
    except sqlglot.errors.SqlglotError:
        return sql  # mesh.sql reports the syntax error with its position
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    wanted = {n.lower() for n in names if n}
    changed = False
    for table in list(tree.find_all(exp.Table)):
        if not table.args.get("db") and table.name.lower() in wanted and table.name.lower() not in ctes:
            replacement = table_ref(address)
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name, quoted=True))
            replacement.set("alias", alias)
            table.replace(replacement)
            changed = True
    return tree.sql(dialect=READ_DIALECT) if changed else sql


def _value(frame) -> float:
    if frame.shape != (1, 1):
        raise RuleError(f"the query must return one value, it returned {frame.height} rows × {frame.width} columns")
    value = frame.item(0, 0)
    if isinstance(value, bool):
        return float(value)
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise RuleError(f"the query returned {value!r}, not a number") from exc


def sql_check(rule: QualityRule) -> Planned:
    """A sql rule as a planned check run through ``mesh.sql``."""
    if rule.problem is not None:
        return known(rule.dataset, rule.name, "quality", "error", f"{rule.place}: {rule.problem}", rule.place)
    planned = Planned(rule.dataset, rule.name, "quality", rule.place)

    def run(mesh: CheckedMesh, failing_rows: int) -> CheckResult:
        try:
            sql = render_query(rule)
            dataset = mesh.catalog.resolve(rule.dataset)
            sql = own_table_as_address(sql, rule.dataset, (dataset.name, dataset.physical_name))
            value = _value(mesh.sql(sql).df)
        except RuleError as exc:
            return planned.result("error", message=f"{rule.place}: {exc}")
        expected = rule.expected()
        if value != value:  # NULL: nothing to compare
            return planned.result("failed", None, expected, f"the query returned NULL; must be {expected}")
        observed = int(value) if value.is_integer() else value
        ok = rule.judge(value)
        return planned.result("passed" if ok else "failed", observed, expected, f"{observed}; must be {expected}")

    return Planned(rule.dataset, rule.name, "quality", rule.place, run=run)
