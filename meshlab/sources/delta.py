"""Delta Lake tables: a folder of parquet files and the ``_delta_log`` of its versions.

ODCS, as datacontract-cli reads it: a file server with ``format: delta`` and
``path`` the table's folder (``type: local`` or ``s3``)::

    servers:
      - server: lake
        type: local
        format: delta
        path: ../../data/orders_delta

The scan is Polars' ``pl.scan_delta`` at the version read: Polars prunes files
by partition values and the log's per-file min/max statistics. The count of
files a filter leaves comes from delta-rs (``DeltaTable.file_uris`` with a
``file_pruning_predicate``), from the same statistics: measured on a table of
8 files partitioned by region, ``region = 'eu' AND id >= 250`` leaves 2 to
both Polars (its verbose log: "skipping 6 / 8 files") and delta-rs.

Time travel: ``DeltaSource.at(version=3)`` or ``at(timestamp=...)`` (the newest
version committed at or before it, by the commits' own timestamps in the log).
"""

from __future__ import annotations

import polars as pl
from deltalake import DeltaTable

from meshlab.catalog.storage import filesystem, polars_options
from meshlab.catalog.time_travel import TableVersion
from meshlab.errors import SourceError
from meshlab.sources.file_estimates import parquet_column_bytes
from meshlab.sources.lakehouse import (
    FilePruning,
    LakehouseSource,
    from_millis,
    prune_files,
)


class DeltaSource(LakehouseSource):
    """One dataset stored as a Delta table, read at its latest version or a pinned one.

    Parameters
    ----------
    dataset
        The dataset; its server's ``path`` is the table's folder.
    storage_options
        Object-store options from mesh.yaml (endpoint, region; never credentials).
    version, timestamp
        The version to read, or the time to read the table as of; both None: the latest.
        :meth:`at` returns such a copy, checked.
    """

    kind = "delta"
    table_format = "Delta"
    version_word = "version"

    _latest: DeltaTable | None = None  # the table at its latest version, for the log's history
    _pinned: DeltaTable | None = None  # the table at a pinned version
    _resolved: int | None = None  # the pinned version, once checked

    def delta_options(self) -> dict[str, str] | None:
        """Options for delta-rs' object store (the keys Polars' native readers take)."""
        options = polars_options(self.path, self.storage_options, self.limits)
        return None if options is None else {k: str(v) for k, v in options.items()}

    def latest(self) -> DeltaTable:
        if self._latest is None:
            self._latest = self.guarded(lambda: DeltaTable(self.path, storage_options=self.delta_options()), "open")
        return self._latest

    def refresh(self) -> None:
        if self._latest is not None and not self.pinned:
            self.guarded(self._latest.update_incremental, "update")

    def forget(self) -> None:
        self._pinned = None
        self._resolved = None

    def table(self) -> DeltaTable:
        """delta-rs' table at the version read."""
        if not self.pinned:
            return self.latest()
        if self._pinned is None:
            version = self.resolved_version()
            self._pinned = self.guarded(
                lambda: DeltaTable(self.path, version=version, storage_options=self.delta_options()), "open"
            )
        return self._pinned

    def history(self) -> list[TableVersion]:
        commits = self.guarded(self.latest().history, "read the log of")
        found = [
            TableVersion(int(c["version"]), from_millis(int(c["timestamp"])), str(c.get("operation") or ""))
            for c in commits
        ]
        return sorted(found)

    def resolved_version(self) -> int:
        if not self.pinned:
            version: int = self.latest().version()
            return version
        if self._resolved is None and self.timestamp is not None:
            self._resolved = self.version_as_of(self.timestamp)
        elif self._resolved is None and self.version is not None:
            if self.version not in {v.version for v in self.history()}:
                raise self.unknown_version(self.version)
            self._resolved = self.version
        assert self._resolved is not None
        return self._resolved

    def frame(self) -> pl.LazyFrame:
        # The path and the version number, not the table object: a refresh of the latest
        # table must not change what an already built scan reads.
        return pl.scan_delta(self.path, version=self.resolved_version(), storage_options=self.delta_options())

    def physical_schema(self) -> dict[str, pl.DataType]:
        return dict(self.guarded(lambda: pl.Schema(self.table().schema()), "read the schema of"))

    def prune(self, predicates: list[str]) -> FilePruning:
        table = self.table()
        files = self.guarded(table.file_uris, "list the files of")
        return prune_files(predicates, files, lambda sql: table.file_uris(file_pruning_predicate=sql))

    def data_files(self) -> list[str]:
        files: list[str] = self.guarded(self.table().file_uris, "list the files of")
        return files

    def add_actions(self) -> pl.DataFrame:
        """The log's add actions of the version read: path, size_bytes, num_records, partition values, stats."""
        return self.guarded(lambda: pl.DataFrame(self.table().get_add_actions(flatten=True)), "read the log of")

    def estimate_rows(self) -> int | None:
        """Rows of the version read, from the log's per-file record counts (None if a file has none)."""
        try:
            records = self.add_actions()["num_records"]
        except (SourceError, pl.exceptions.ColumnNotFoundError):
            return None
        return None if records.null_count() else int(records.sum())

    def bytes_for(self, columns: tuple[str, ...]) -> int | None:
        """Compressed bytes of ``columns`` in the version's data files (partition columns cost none)."""
        try:
            return parquet_column_bytes(self.table().file_uris(), set(columns), self._open_file)
        except (OSError, SourceError, ValueError):
            return None

    def _open_file(self, path: str):
        fs, where = filesystem(path, self.storage_options, self.limits)
        return fs.open(where, "rb")

    def check(self) -> None:
        """Raise a :class:`SourceError` when the folder or its ``_delta_log`` is gone or unreadable."""
        self._latest = None
        self.forget()
        fs, root = filesystem(self.path, self.storage_options, self.limits)
        if not self.guarded(lambda: fs.exists(root), "reach"):
            raise SourceError(self.dataset.address, self.server_label, f"Delta table folder {self.path} does not exist")
        if not self.guarded(lambda: fs.exists(f"{root.rstrip('/')}/_delta_log"), "reach"):
            raise SourceError(
                self.dataset.address, self.server_label, f"{self.path} has no _delta_log: it is not a Delta table"
            )
        self.table()
