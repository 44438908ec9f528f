"""Failing rows: up to N rows that break a rule, fetched through ``mesh.sql`` (:class:`CheckedMesh`).

The queries are built as sqlglot trees (values as literals, names quoted) and
run like any user query, so the planner pushes the predicate and the limit to
the source: a few null rows of a PostgreSQL table are found by PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from meshlab.planner.parse import READ_DIALECT
from meshlab.quality.metrics import DuplicateCount, Metric

if TYPE_CHECKING:
    from meshlab.quality.checked_mesh import CheckedMesh


def table_ref(address: str, alias: str | None = None) -> exp.Table:
    """``domain.dataset`` (or ``domain.product.dataset``) as a quoted table reference."""
    parts = address.split(".")
    table = exp.table_(
        exp.to_identifier(parts[-1], quoted=True),
        db=exp.to_identifier(parts[-2], quoted=True),
        catalog=exp.to_identifier(parts[0], quoted=True) if len(parts) == 3 else None,
    )
    if alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    return table


def qualified(alias: str):
    """A column maker for ``alias.column``."""
    return lambda name: exp.column(name, table=alias, quoted=True)


def _duplicate_rows(address: str, keys: tuple[str, ...], limit: int) -> exp.Select:
    """Rows whose key occurs more than once, grouped by key."""
    repeated = (
        exp.select(*(exp.column(k, quoted=True) for k in keys))
        .from_(table_ref(address))
        .group_by(*(exp.column(k, quoted=True) for k in keys))
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
    )
    d, r = qualified("d"), qualified("r")
    on = exp.and_(*(exp.EQ(this=d(k), expression=r(k)) for k in keys))
    return (
        exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier("d", quoted=True)))
        .from_(table_ref(address, "d"))
        .join(repeated.subquery("r", copy=False), on=on)
        .order_by(*(d(k) for k in keys))
        .limit(limit)
    )


def rows_query(address: str, metric: Metric, limit: int) -> exp.Select | None:
    """The query for up to ``limit`` rows ``metric`` counts; None when it singles out no rows."""
    if isinstance(metric, DuplicateCount):
        return _duplicate_rows(address, metric.keys, limit)
    predicate = metric.offending(lambda name: exp.column(name, quoted=True))
    if predicate is None:
        return None
    return exp.select(exp.Star()).from_(table_ref(address)).where(predicate).limit(limit)


def fetch_rows(mesh: CheckedMesh, query: exp.Select) -> list[dict[str, Any]]:
    """Run ``query`` through the mesh (pushdown applies) and return its rows as dicts."""
    return mesh.sql(query.sql(dialect=READ_DIALECT)).df.to_dicts()
