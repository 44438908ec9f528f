"""Apache Iceberg tables, found through a metadata file or a SQL catalog.

ODCS: a file server with ``format: iceberg``. The table is found one of two ways.

**A metadata file**, when the server has no ``catalog`` property: ``path`` names
either the file (``.../metadata/v3.metadata.json``, read as that file pins it) or the
table's folder, where the newest metadata file of ``metadata/`` is read
(``version-hint.text`` if there is one, else the highest number:
``v12.metadata.json`` or ``00012-<uuid>.metadata.json``)::

    servers:
      - server: lake
        type: local            # or s3
        format: iceberg
        path: ../../data/warehouse/shop/orders

**A SQL catalog** (PyIceberg's ``SqlCatalog``: a table of table names and their
current metadata file), named in the server's ``customProperties``:

``catalog`` (required)
    The catalog database as a SQLAlchemy URI: ``sqlite:////abs/path/catalog.db``,
    ``postgresql+psycopg://host/db``. ``${VAR}`` is read from the environment, so a
    password stays out of the contract. meshlab only reads it: a SQLite file
    that does not exist is an error, never created.
``table`` (required)
    ``namespace.table`` (the namespace may itself be dotted: the last part is the table).
``warehouse``
    The warehouse location the catalog was created with (``file:///data/warehouse``,
    ``s3://bucket/warehouse``); reading needs it only where the catalog's writers did.
``catalogName``
    The catalog's name: one database may hold several, told apart by name;
    default ``default``.

::

    servers:
      - server: lake
        type: custom           # ODCS: a local server needs a path
        format: iceberg
        customProperties:
          - {property: catalog, value: "sqlite:///${LAKE}/catalog.db"}
          - {property: warehouse, value: "file:///data/warehouse"}
          - {property: table, value: shop.orders}

The scan is Polars' ``pl.scan_iceberg`` at the snapshot read. Polars plans it with
the ``polars_iceberg`` plugin when installed, else with PyIceberg; both prune
manifests by partition summaries and data files by partition values and column
statistics. Measured on a table of 8 files partitioned by region:
``region = 'eu' AND id >= 250`` plans 2 files with either, as PyIceberg's own
``scan(row_filter=...).plan_files()`` (which counts them for ``explain``) does.

Time travel: ``IcebergSource.at(version=<snapshot id>)`` (SQL's ``FOR VERSION AS OF``)
or ``at(timestamp=...)`` (the snapshot current at that time, from the table's snapshot log).
"""

from __future__ import annotations

import os
import re
from typing import Any

import polars as pl
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import StaticTable, Table

from meshlab.catalog.storage import filesystem
from meshlab.catalog.time_travel import TableVersion
from meshlab.errors import SourceError
from meshlab.sources.lakehouse import (
    FilePruning,
    LakehouseSource,
    from_millis,
    prune_files,
)

CATALOG_NAME = "default"
_PASSWORD = re.compile(r"(://[^/:@]*:)[^/]*@")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# v3.metadata.json (Hadoop tables), 00003-<uuid>.metadata.json (catalogs)
_METADATA_NUMBER = re.compile(r"^v?(\d+)[.-]")


def metadata_number(path: str) -> int:
    """The version number a metadata file's name carries; -1 when it carries none."""
    found = _METADATA_NUMBER.match(path.rsplit("/", 1)[-1])
    return int(found.group(1)) if found else -1


class IcebergSource(LakehouseSource):
    """One dataset stored as an Iceberg table, read at its current snapshot or a pinned one.

    Parameters
    ----------
    dataset
        The dataset; its server names the table (module docstring).
    storage_options
        Object-store options from mesh.yaml (endpoint, region; never credentials).
    version, timestamp
        The snapshot id to read, or the time to read the table as of; both None: the current.
        :meth:`at` returns such a copy, checked.
    """

    kind = "iceberg"
    table_format = "Iceberg"
    version_word = "snapshot"

    _table: Table | None = None
    _catalog: SqlCatalog | None = None

    @property
    def catalog_uri(self) -> str | None:
        return self.dataset.server.property("catalog")

    def location(self) -> str:
        if self.catalog_uri is None:
            return self.path
        # As the contract writes it (``${VAR}`` unexpanded), a password in the URI hidden.
        shown = _PASSWORD.sub(r"\1***@", self.catalog_uri)
        return f"{self.dataset.server.property('table')} of catalog {shown}"

    # -- loading -----------------------------------------------------------------
    def table(self) -> Table:
        """PyIceberg's table (all its snapshots), loaded once and again at each :meth:`refresh`."""
        if self._table is None:
            self._table = self.guarded(self._load, "open")
        return self._table

    def refresh(self) -> None:
        if not self.pinned:
            self._table = None

    def _load(self) -> Table:
        if self.catalog_uri is None:
            return StaticTable.from_metadata(self.metadata_file(), properties=self.io_properties())
        name = self.dataset.server.property("table")
        if not name or "." not in name:
            raise self.error(f"customProperty table must be namespace.table, not {name!r}")
        catalog = self.catalog()
        if not catalog.table_exists(name):
            namespace = name.rsplit(".", 1)[0]
            have = [".".join(t) for t in catalog.list_tables(namespace)] if catalog.namespace_exists(namespace) else []
            raise self.error(f"catalog has no table {name} (tables in {namespace}: {', '.join(have) or 'none'})")
        return catalog.load_table(name)

    def catalog(self) -> SqlCatalog:
        if self._catalog is None:
            uri = self.expand(self.catalog_uri or "")
            if uri.startswith("sqlite:///"):
                database = uri.removeprefix("sqlite:///").split("?", 1)[0]
                if not os.path.isfile(database):
                    raise self.error(f"catalog database {database} does not exist")
            properties = {"uri": uri, "init_catalog_tables": "false", **self.io_properties()}
            if warehouse := self.dataset.server.property("warehouse"):
                properties["warehouse"] = self.expand(warehouse)
            name = self.dataset.server.property("catalogName") or CATALOG_NAME
            self._catalog = self.guarded(lambda: SqlCatalog(name, **properties), "reach the catalog of")
        return self._catalog

    def expand(self, text: str) -> str:
        """``text`` with each ``${VAR}`` read from the environment; an unset one is an error."""
        missing = [m.group(1) for m in _VARIABLE.finditer(text) if m.group(1) not in os.environ]
        if missing:
            raise self.error(f"environment variable {missing[0]} (in the server's customProperties) is not set")
        return _VARIABLE.sub(lambda m: os.environ[m.group(1)], text)

    def metadata_file(self) -> str:
        """The metadata file ``path`` names, or the newest one of the table folder's ``metadata/``."""
        fs, root = filesystem(self.path, self.storage_options, self.limits)
        protocol = self.path.split("://", 1)[0] + "://" if "://" in self.path else ""
        if root.endswith(".metadata.json"):
            if not fs.exists(root):
                raise self.error(f"Iceberg metadata file {self.path} does not exist")
            return self.path
        folder = root.rstrip("/")
        folder = folder if folder.endswith("/metadata") else f"{folder}/metadata"
        if not fs.isdir(folder):
            raise self.error(f"{self.path} is not an Iceberg table: no metadata folder {folder}")
        hint = f"{folder}/version-hint.text"
        if fs.exists(hint):
            hinted = f"{folder}/v{fs.cat(hint).decode().strip()}.metadata.json"
            if fs.exists(hinted):
                return protocol + hinted
        found = [p for p in fs.ls(folder, detail=False) if p.endswith(".metadata.json")]
        if not found:
            raise self.error(f"no Iceberg metadata file (*.metadata.json) in {folder}")
        newest: str = max(found, key=lambda p: (metadata_number(p), p))
        return protocol + newest

    def io_properties(self) -> dict[str, str]:
        """PyIceberg's file IO properties from the mesh's object-store options."""
        found = {}
        if endpoint := self.storage_options.get("endpoint_url"):
            found["s3.endpoint"] = str(endpoint)
        if region := self.storage_options.get("region"):
            found["s3.region"] = str(region)
        return found

    def error(self, message: str) -> SourceError:
        return SourceError(self.dataset.address, self.server_label, message)

    # -- versions ----------------------------------------------------------------
    def history(self) -> list[TableVersion]:
        table = self.table()
        found = []
        for entry in table.history():  # the snapshot log: what was current when, oldest first
            snapshot = table.snapshot_by_id(entry.snapshot_id)
            operation = snapshot.summary.operation.value if snapshot is not None and snapshot.summary else ""
            found.append(TableVersion(entry.snapshot_id, from_millis(entry.timestamp_ms), operation))
        return found

    def resolved_version(self) -> int | None:
        """The snapshot id read; None for a table that has none yet (no rows)."""
        if self.timestamp is not None:
            return self.version_as_of(self.timestamp)
        if self.version is not None:
            if self.table().snapshot_by_id(self.version) is None:
                raise self.unknown_version(self.version)
            return self.version
        current = self.table().current_snapshot()
        return None if current is None else current.snapshot_id

    # -- reading -----------------------------------------------------------------
    def frame(self) -> pl.LazyFrame:
        return pl.scan_iceberg(self.table(), snapshot_id=self.resolved_version())

    def physical_schema(self) -> dict[str, pl.DataType]:
        def read() -> dict[str, pl.DataType]:
            table = self.table()
            snapshot_id = self.resolved_version()
            schema = table.scan(snapshot_id=snapshot_id).projection() if snapshot_id is not None else table.schema()
            return dict(pl.Schema(schema_to_pyarrow(schema)))

        return self.guarded(read, "read the schema of")

    def data_files(self) -> list[str]:
        """The metadata file, and the data files of the snapshot read."""
        planned = self.guarded(self.planned_files, "plan the files of")
        return [self.table().metadata_location, *(f.file_path for f in planned)]

    def planned_files(self, row_filter: str | None = None) -> list[Any]:
        """PyIceberg's planned data files of the snapshot read (those ``row_filter`` may match)."""
        snapshot_id = self.resolved_version()
        if snapshot_id is None:
            return []
        scan = self.table().scan(snapshot_id=snapshot_id, row_filter=row_filter or AlwaysTrue())
        return [task.file for task in scan.plan_files()]

    def prune(self, predicates: list[str]) -> FilePruning:
        files = [f.file_path for f in self.guarded(self.planned_files, "plan the files of")]
        return prune_files(predicates, files, lambda sql: [f.file_path for f in self.planned_files(sql)])

    def estimate_rows(self) -> int | None:
        """Rows of the snapshot read, from its summary's ``total-records``."""
        try:
            snapshot_id = self.resolved_version()
            if snapshot_id is None:
                return 0
            snapshot = self.table().snapshot_by_id(snapshot_id)
            total = snapshot.summary["total-records"] if snapshot and snapshot.summary else None
        except (SourceError, KeyError):
            return None
        return None if total is None else int(total)

    def bytes_for(self, columns: tuple[str, ...]) -> int | None:
        """Compressed bytes of ``columns`` in the snapshot's data files, from the manifests' column sizes."""
        try:
            schema = self.table().schema()
            ids = {schema.find_field(name).field_id for name in columns}
            sizes = (
                size for f in self.planned_files() for field, size in (f.column_sizes or {}).items() if field in ids
            )
            return int(sum(sizes))
        except (SourceError, ValueError, OSError):
            return None

    def check(self) -> None:
        """Raise a :class:`SourceError` when the catalog, the table or its metadata file is gone."""
        self._table = self._catalog = None
        self.table()
