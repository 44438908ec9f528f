"""Column lineage of a query, mapped to ``domain.dataset.column`` addresses.

sqlglot follows values through CTEs and subqueries; this module maps its
leaves to catalog addresses and labels each output column with the kind of
transformation (OpenLineage's IDENTITY / TRANSFORMATION / AGGREGATION).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage as sqlglot_lineage

from meshlab.catalog import Dataset
from meshlab.planner.resolve import qualify_schema

RANK = {"identity": 0, "transformation": 1, "aggregation": 2}


@dataclass(frozen=True)
class Lineage:
    """Where each output column's values come from.

    Attributes
    ----------
    columns
        output column -> sorted ``domain.dataset.column`` addresses feeding it.
    kinds
        output column -> ``identity``, ``transformation`` or ``aggregation``.
    datasets
        addresses of every dataset the query read (also those only filtered on).
    """

    columns: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    datasets: list[str] = field(default_factory=list)
    masked: dict[str, list[str]] = field(default_factory=dict)
    classifications: dict[str, list[str]] = field(default_factory=dict)
    """
    masked
        output column -> its source columns that the role saw masked (only masked outputs).
    classifications
        output column -> classifications of its source columns (a column derived from
        ``pii`` is ``pii``); outputs with no classified source are left out.
    """

    def is_masked(self, output: str) -> bool:
        return bool(self.masked.get(output))

    def to_openlineage(self, namespace: str = "meshlab") -> dict[str, Any]:
        """The OpenLineage ``columnLineage`` facet's ``fields`` (``masking`` marks masked inputs)."""
        fields = {}
        for output, sources in self.columns.items():
            subtype = self.kinds.get(output, "identity").upper()
            masked = set(self.masked.get(output, ()))
            fields[output] = {
                "inputFields": [
                    {
                        "namespace": namespace,
                        "name": source.rsplit(".", 1)[0],
                        "field": source.rsplit(".", 1)[1],
                        "transformations": [{"type": "DIRECT", "subtype": subtype, "masking": source in masked}],
                    }
                    for source in sources
                ]
            }
        return {"fields": fields}


def _kind(expression: exp.Expr) -> str:
    value = expression.this if isinstance(expression, exp.Alias) else expression
    if value.find(exp.AggFunc):
        return "aggregation"
    if isinstance(value, exp.Column) or isinstance(value, exp.Table):
        return "identity"
    return "transformation"


def column_lineage(
    tree: exp.Expression, datasets: dict[str, Dataset], masked: dict[str, tuple[str, ...]] | None = None
) -> Lineage:
    """Lineage of every output column of the qualified, canonical ``tree``.

    ``masked``: dataset address -> the columns the querying role saw masked.
    A dataset read as it was (time travel) is named with its version: ``sales.orders@v3.o_total``.
    """
    schema = qualify_schema(datasets)
    columns: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for position, name in enumerate(tree.named_selects if isinstance(tree, exp.Query) else []):
        output = name or f"column_{position}"
        sources: set[str] = set()
        kind = "identity"
        try:
            root = sqlglot_lineage(name, tree, schema=schema, trim_selects=False)
        except SqlglotError:
            columns[output] = []
            kinds[output] = "transformation"
            continue
        for node in root.walk():
            if isinstance(node.source, exp.Table) and node.source.name in datasets and not node.downstream:
                dataset = datasets[node.source.name]
                sources.add(f"{dataset.reference}.{node.name.rsplit('.', 1)[-1]}")
            elif not isinstance(node.expression, exp.Table):
                candidate = _kind(node.expression)
                kind = candidate if RANK[candidate] > RANK[kind] else kind
        columns[output] = sorted(sources)
        kinds[output] = kind if sources or kind == "aggregation" else "transformation"
    read = sorted({ds.reference for ds in datasets.values()})
    hidden = {f"{ds.reference}.{c}" for ds in datasets.values() for c in (masked or {}).get(ds.address, ())}
    classified = {
        f"{ds.reference}.{c.name}": c.classification for ds in datasets.values() for c in ds.columns if c.classification
    }
    return Lineage(
        columns=columns,
        kinds=kinds,
        datasets=read,
        masked={out: [s for s in sources if s in hidden] for out, sources in columns.items() if hidden & set(sources)},
        classifications={
            out: sorted({classified[s] for s in sources if s in classified})
            for out, sources in columns.items()
            if any(s in classified for s in sources)
        },
    )
