"""Plan nodes: the table references found, what each scan is asked, and the local query over them."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from meshlab.catalog import Dataset
from meshlab.governance.masks import Mask
from meshlab.planner.polars_sql import polars_sql
from meshlab.sources import Pushdown, ScanSpec, Source


@dataclass
class Occurrence:
    """One table reference of the qualified tree that reads a dataset (filled in by
    :func:`meshlab.planner.pushdown.find_occurrences`)."""

    table: exp.Table
    alias: str
    key: str  # canonical dataset name, __dsN
    scope: Scope
    columns: set[str] = field(default_factory=set)
    candidates: list[exp.Expression] = field(default_factory=list)  # conjuncts its scan may take
    limit: int | None = None
    order_by: tuple[exp.Ordered, ...] = ()


@dataclass(frozen=True)
class ScanGovernance:
    """What the role imposes on one scan."""

    row_filter: exp.Expression | None
    masks: tuple[Mask, ...]


@dataclass(frozen=True)
class ScanPlan:
    """One scan: the source, what it is asked, and what stays local."""

    spec: ScanSpec
    source: Source
    alias: str
    pushed: tuple[tuple[str, Pushdown], ...] = ()  # predicate SQL -> verdict, for taken ones
    kept_local: tuple[str, ...] = ()  # predicate SQL the source declined
    datasets: tuple[Dataset, ...] = ()  # more than one for a join pushed down whole
    join_choice: str | None = None  # why a join was (or was not) pushed down

    @property
    def scan_id(self) -> str:
        return self.spec.scan_id

    @property
    def dataset(self) -> Dataset:
        return self.spec.dataset

    def describe(self) -> str:
        """What the source is sent: SQL for a database, columns and predicates for files."""
        return self.source.describe(self.spec)


@dataclass(frozen=True)
class QueryPlan:
    """A planned query: scans, the local SQL over them, and the resolved tree."""

    sql: str
    # The qualified tree before joins went down to a database (None when none could:
    # ``tree`` is then derived from ``local``, sparing a copy per query).
    lineage_tree: exp.Expression | None
    local: exp.Expression  # the tree Polars runs: scans renamed to their scan ids
    scans: tuple[ScanPlan, ...]
    datasets: dict[str, Dataset] = field(default_factory=dict)  # canonical name -> dataset
    notes: tuple[str, ...] = ()
    masked: dict[str, tuple[str, ...]] = field(default_factory=dict)  # address -> columns the role sees masked
    role: str | None = None  # the role the plan was governed for (None: no policy)
    scan_names: dict[str, str] = field(default_factory=dict)  # scan id -> canonical dataset name (__dsN)
    mesh_root: str | None = None  # the mesh's folder: paths are shown relative to it

    @functools.cached_property
    def tree(self) -> exp.Expression:
        """The qualified tree with canonical dataset names (``__dsN``): what lineage reads."""
        if self.lineage_tree is not None:
            return self.lineage_tree
        tree = self.local.copy()
        for table in tree.find_all(exp.Table):
            if table.name in self.scan_names:
                table.set("this", exp.to_identifier(self.scan_names[table.name]))
        return tree

    @functools.cached_property
    def local_sql(self) -> str:
        """What Polars runs (generated once: the tree is not changed after planning).

        Every identifier quoted: a dataset or alias named like a keyword (select) stays a name.
        """
        return polars_sql(self.local)

    @property
    def readable_local_sql(self) -> str:
        """What Polars runs, laid out for people (identifiers quoted only where needed)."""
        return polars_sql(self.local, pretty=True, identify=False)

    @property
    def addresses(self) -> list[str]:
        return sorted({ds.address for ds in self.datasets.values()})
