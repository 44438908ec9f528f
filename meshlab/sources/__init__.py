"""Sources: where datasets live, and what each can take of a query.

Each kind of source is a :class:`~meshlab.sources.spi.SourceKind` registered
through the ``meshlab.sources`` entry points (:mod:`meshlab.sources.spi`).
"""

from __future__ import annotations

from meshlab.catalog.contract import Dataset
from meshlab.catalog.storage import StorageSettings
from meshlab.limits import TimeLimits
from meshlab.sources.base import Pushdown, ScanSpec, ScanStats, Source
from meshlab.sources.spi import SourceContext, SourceKind, open_source
from meshlab.sources.text_cache import TextCacheSettings

__all__ = ["Pushdown", "ScanSpec", "ScanStats", "Source", "SourceContext", "SourceKind", "source_for"]


def source_for(
    dataset: Dataset,
    storage: StorageSettings | None = None,
    malformed_rows: str = "fail",
    limits: TimeLimits | None = None,
    text_cache: TextCacheSettings | None = None,
) -> Source:
    """The source that reads ``dataset`` from its default server.

    ``storage``: the mesh's object-store options; file sources take theirs from it.
    ``malformed_rows``: the mesh's default for CSV rows that do not fit the contract
    (``fail`` or ``skip``; a contract's ``malformedRows`` server property overrides it).
    ``limits``: the mesh's time limits (``timeouts:``).
    ``text_cache``: the columnar cache of CSV and NDJSON files (``files.text_cache``; default on).
    """
    context = SourceContext(
        storage or StorageSettings(), malformed_rows, limits or TimeLimits(), text_cache or TextCacheSettings()
    )
    return open_source(dataset, context)
