"""Sources: where datasets live, and what each can take of a query."""

from __future__ import annotations

from meshlab.catalog.contract import Dataset
from meshlab.catalog.storage import StorageSettings
from meshlab.errors import NotQueryableError
from meshlab.limits import TimeLimits
from meshlab.sources.base import Pushdown, ScanSpec, ScanStats, Source
from meshlab.sources.files import FileSource
from meshlab.sources.postgres import PostgresSource
from meshlab.sources.sqlite import SqliteSource

__all__ = ["FileSource", "PostgresSource", "Pushdown", "ScanSpec", "ScanStats", "Source", "SqliteSource", "source_for"]

SOURCE_TYPES: dict[str, type[Source]] = {"sqlite": SqliteSource, "postgres": PostgresSource}


def source_for(
    dataset: Dataset,
    storage: StorageSettings | None = None,
    malformed_rows: str = "fail",
    limits: TimeLimits | None = None,
) -> Source:
    """The source that reads ``dataset`` from its default server.

    ``storage``: the mesh's object-store options; file sources take theirs from it.
    ``malformed_rows``: the mesh's default for CSV rows that do not fit the contract
    (``fail`` or ``skip``; a contract's ``malformedRows`` server property overrides it).
    ``limits``: the mesh's time limits (``timeouts:``).
    """
    if dataset.unavailable:
        raise NotQueryableError(dataset.address, dataset.unavailable)
    kind = SOURCE_TYPES.get(dataset.server.type)
    if kind is not None:
        source = kind(dataset)
    else:
        options = (storage or StorageSettings()).options_for(dataset.server.path or "")
        source = FileSource(dataset, options, malformed_rows)
    if limits is not None:
        source.limits = limits
    return source
