"""The source SPI: one :class:`SourceKind` per kind of place a dataset can live.

A kind is registered as an entry point of the ``meshlab.sources`` group, whose
value is the kind object (or its class)::

    [project.entry-points."meshlab.sources"]
    arrow = "meshlab_arrow:KIND"

meshlab's own kinds (files, sqlite, postgres, duckdb, mysql, delta, iceberg)
are registered the same way, in its ``pyproject.toml``. The kind says which
ODCS server blocks it reads (:class:`~meshlab.catalog.server_kinds.ServerKind`)
and opens a :class:`~meshlab.sources.base.Source` for a dataset; the source
answers everything else the planner, the engines, the checks and the catalog
ask: pushdown verdicts, estimates, explain text, reachability, its physical
schema, how Spark reads it, time travel. Nothing outside a kind's module names
its server type. docs/sources.md walks through writing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshlab.catalog.contract import Dataset
from meshlab.catalog.server_kinds import ServerKind, kind_named, server_kinds
from meshlab.catalog.storage import StorageSettings
from meshlab.errors import NotQueryableError, TimeTravelError
from meshlab.limits import TimeLimits
from meshlab.sources.base import Source
from meshlab.sources.text_cache import TextCacheSettings

__all__ = ["SourceContext", "SourceKind", "kind_named", "open_source", "server_kinds"]


@dataclass(frozen=True)
class SourceContext:
    """What the mesh hands every source it opens."""

    #: object-store options of mesh.yaml (endpoints, regions; never credentials)
    storage: StorageSettings = field(default_factory=StorageSettings)
    #: the mesh's default for rows that do not fit the contract (``fail`` or ``skip``)
    malformed_rows: str = "fail"
    #: the mesh's time limits (``timeouts:``)
    limits: TimeLimits = TimeLimits()
    #: the columnar cache of CSV and NDJSON files (``files.text_cache``)
    text_cache: TextCacheSettings = TextCacheSettings()

    def storage_options(self, location: str) -> dict[str, Any]:
        return dict(self.storage.options_for(location))


class SourceKind(ServerKind):
    """A kind of source: what it reads (the :class:`ServerKind` attributes) and how it opens one."""

    #: JDBC driver jar file names (Debian's) the Spark engine loads for it, if it reads through JDBC
    spark_jars: tuple[str, ...] = ()

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        """The source reading ``dataset`` from its default server (a block this kind claimed)."""
        raise NotImplementedError


def open_source(dataset: Dataset, context: SourceContext) -> Source:
    """The source of ``dataset``, opened by the kind that claimed its server."""
    if dataset.unavailable:
        raise NotQueryableError(dataset.address, dataset.unavailable)
    kind = kind_named(dataset.server.kind)
    if not isinstance(kind, SourceKind):
        raise NotQueryableError(dataset.address, f"no source kind '{dataset.server.kind}' is registered")
    source = kind.open(dataset, context)
    if dataset.as_of is not None and not source.travels:
        raise TimeTravelError(
            dataset.address,
            dataset.server.name,
            f"a {source.kind} source keeps no versions: FOR VERSION/TIMESTAMP AS OF reads Delta and Iceberg tables",
        )
    source.limits = context.limits
    return source
