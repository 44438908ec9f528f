"""The Delta Lake and Apache Iceberg source kinds: ``format: delta`` / ``format: iceberg`` on file servers.

Registering a kind loads its module whenever a mesh is opened, so the kinds live
here, apart from their sources: ``deltalake`` and ``pyiceberg`` are imported only
when a dataset of theirs is read. Without the package the dataset is still
catalogued, and a query of it says what to install.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from meshlab.catalog.contract import Dataset
from meshlab.catalog.servers import Server
from meshlab.errors import SourceError
from meshlab.sources.base import Source
from meshlab.sources.spi import SourceContext, SourceKind

if TYPE_CHECKING:
    from meshlab.sources.lakehouse import LakehouseSource

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: where object-store tables live: the file server types
LAKE_SERVER_TYPES = ("local", "s3", "gcs", "azure", "file")


def _missing(dataset: Dataset, install: str, exc: ImportError) -> SourceError:
    return SourceError(
        dataset.address, dataset.server.name, f"reading format {dataset.server.format} needs {install}: {exc}"
    )


class DeltaKind(SourceKind):
    """A Delta table: ``format: delta``, ``path`` the table's folder (the one holding ``_delta_log``)."""

    name = "delta"
    server_types = LAKE_SERVER_TYPES
    formats = ("delta",)
    required = ("path",)

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        try:
            from meshlab.sources.delta import DeltaSource
        except ImportError as exc:
            raise _missing(dataset, "the deltalake package (pip install deltalake)", exc) from None
        source = DeltaSource(dataset, context.storage_options(dataset.server.path or ""))
        return _travelled(source, dataset)


class IcebergKind(SourceKind):
    """An Iceberg table: ``format: iceberg``, found by ``path`` (a metadata file or the table's
    folder) or through the SQL catalog its ``catalog`` / ``table`` custom properties name."""

    name = "iceberg"
    server_types = LAKE_SERVER_TYPES
    formats = ("iceberg",)

    def problem(self, raw: Any) -> str | None:
        properties = raw.get("customProperties") or ()
        named = {str(p.get("property")) for p in properties if isinstance(p, dict)}
        if raw.get("path") or raw.get("location") or {"catalog", "table"} <= named:
            return None
        return "an iceberg server needs a path (a metadata file or the table's folder) or catalog and table properties"

    def read_locations(self, server: Server, contract_path: str) -> tuple[str, ...]:
        """The table's path, or its catalog's SQLite file and warehouse (``${VAR}`` expanded;
        one unset stays as written, and is refused as a relative path)."""
        found = [server.path] if server.path else []
        catalog = server.property("catalog") or ""
        if catalog.startswith("sqlite:///"):
            found.append(_expanded(catalog.removeprefix("sqlite:///")))
        warehouse = server.property("warehouse")
        if warehouse:
            found.append(_expanded(warehouse))
        return tuple(found)

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        try:
            from meshlab.sources.iceberg import IcebergSource
        except ImportError as exc:
            raise _missing(dataset, "PyIceberg (pip install 'meshlab[lakehouse]')", exc) from None
        source = IcebergSource(dataset, context.storage_options(dataset.server.path or ""))
        return _travelled(source, dataset)


def _expanded(text: str) -> str:
    return _VARIABLE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)


def _travelled(source: LakehouseSource, dataset: Dataset) -> Source:
    """``source`` at the version the dataset's ``as_of`` names (checked now), else as it is."""
    if dataset.as_of is None:
        return source
    return source.at(version=dataset.as_of.version, timestamp=dataset.as_of.utc())


DELTA = DeltaKind()
ICEBERG = IcebergKind()
