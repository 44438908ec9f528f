"""The Delta Lake and Apache Iceberg source kinds: ``format: delta`` / ``format: iceberg`` on file servers.

Registering a kind loads its module whenever a mesh is opened, so the kinds live
here, apart from their sources: ``deltalake`` and ``pyiceberg`` are imported only
when a dataset of theirs is read. Without the package the dataset is still
catalogued, and a query of it says what to install.
"""

from __future__ import annotations

import importlib
import os
import re
from typing import TYPE_CHECKING, Any

from meshlab.catalog.contract import Dataset
from meshlab.catalog.servers import Server, custom_properties
from meshlab.errors import SourceError
from meshlab.sources.base import Source
from meshlab.sources.spi import SourceContext, SourceKind

if TYPE_CHECKING:
    from meshlab.sources.lakehouse import LakehouseSource

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: where object-store tables live: the file server types
LAKE_SERVER_TYPES = ("local", "s3", "gcs", "azure", "file")


class DeltaKind(SourceKind):
    """A Delta table: ``format: delta``, ``path`` the table's folder (the one holding ``_delta_log``)."""

    name = "delta"
    server_types = LAKE_SERVER_TYPES
    formats = ("delta",)
    required = ("path",)

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        return _open(
            dataset, context, "meshlab.sources.delta:DeltaSource", "the deltalake package (pip install deltalake)"
        )


class IcebergKind(SourceKind):
    """An Iceberg table: ``format: iceberg``, found by ``path`` (a metadata file or the table's
    folder) or through the SQL catalog its ``catalog`` / ``table`` custom properties name."""

    name = "iceberg"
    server_types = LAKE_SERVER_TYPES
    formats = ("iceberg",)

    def problem(self, raw: Any) -> str | None:
        named = {key for key, _ in custom_properties(raw.get("customProperties"))}
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
        return _open(
            dataset, context, "meshlab.sources.iceberg:IcebergSource", "PyIceberg (pip install 'meshlab[lakehouse]')"
        )


def _expanded(text: str) -> str:
    return _VARIABLE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)


def _open(dataset: Dataset, context: SourceContext, where: str, install: str) -> Source:
    """The source class at ``where`` (``module:Class``, imported now) reading ``dataset``, at the
    version its ``as_of`` names (checked now: an unknown one is refused before anything is read)."""
    module, name = where.split(":")
    try:
        kind: type[LakehouseSource] = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise SourceError(
            dataset.address, dataset.server.name, f"reading format {dataset.server.format} needs {install}: {exc}"
        ) from None
    source = kind(dataset, context.storage_options(dataset.server.path or ""))
    if dataset.as_of is None:
        return source
    return source.at(version=dataset.as_of.version, timestamp=dataset.as_of.utc())


DELTA = DeltaKind()
ICEBERG = IcebergKind()
