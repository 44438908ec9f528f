"""In-memory bytes a file scan brings in, from listings and parquet footers (cached).

* parquet: per needed column, its uncompressed size or rows times its width in
  memory, whichever is larger, from each file's footer (cached per file and size:
  a footer is read once);
* CSV and JSON: file sizes, scaled by the share of the columns needed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from meshlab.catalog.types import column_width

if TYPE_CHECKING:
    from meshlab.sources.files import FileSource

GLOB_CHARS = "*?["
_footers: dict[tuple[str, int], tuple[int, dict[str, int]]] = {}
#: seconds a file listing is reused for estimates
LISTING_SECONDS = 10.0
_listings: dict[tuple[str, str], tuple[float, dict[str, int]]] = {}
_cache_lock = threading.Lock()


def _listing(source: FileSource) -> dict[str, int]:
    """Path -> size of every file of ``source``, listed at most once per :data:`LISTING_SECONDS`.

    Walking a partitioned folder costs about a millisecond a query here (TPC-H SF1's
    lineitem by year); a file that arrives meanwhile only shifts the estimate a moment.
    """
    key = (source.path, repr(sorted(source.fsspec_options.items())))
    now = time.monotonic()
    with _cache_lock:
        cached = _listings.get(key)
    if cached is not None and now - cached[0] < LISTING_SECONDS:
        return cached[1]
    files = _list_files(source)
    with _cache_lock:
        _listings[key] = (now, files)
    return files


def _list_files(source: FileSource) -> dict[str, int]:
    fs, root = source.filesystem()  # calls bounded by the mesh's time limits
    if any(c in root for c in GLOB_CHARS):
        found = fs.glob(root, detail=True)
    elif fs.isdir(root):
        found = fs.find(root, detail=True)
    else:
        found = {root: fs.info(root)}
    files = {p: int(info.get("size") or 0) for p, info in found.items() if info.get("type", "file") != "directory"}
    protocol = source.path.split("://", 1)[0] + "://" if "://" in source.path else ""
    return {(p if "://" in p or not protocol else protocol + p): size for p, size in files.items()}


def _footer(path: str, size: int, source: FileSource) -> tuple[int, dict[str, int]]:
    """Rows and uncompressed bytes per top-level column of one parquet file (cached)."""
    key = (path, size)
    with _cache_lock:
        cached = _footers.get(key)
    if cached is not None:
        return cached
    with source.filesystem()[0].open(path, "rb") as handle:
        meta = pq.ParquetFile(handle).metadata
    sizes: dict[str, int] = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            name = chunk.path_in_schema.split(".")[0]
            sizes[name] = sizes.get(name, 0) + chunk.total_uncompressed_size
    found = (meta.num_rows, sizes)
    with _cache_lock:
        _footers[key] = found
    return found


def file_scan_bytes(source: FileSource, columns: tuple[str, ...], stop_above: float = float("inf")) -> int:
    """Estimated in-memory bytes of ``columns`` of a file dataset.

    Parquet: per column, the larger of its uncompressed size in the file and rows times
    its in-memory width -- "uncompressed" parquet is still dictionary- and run-length
    encoded (TPC-H SF10 Q1's columns: 0.7 GiB in the footers, 10 GiB once loaded).
    """
    files = _listing(source)
    if source.format != "parquet":
        share = len(columns) / max(len(source.dataset.columns), 1)
        return int(sum(files.values()) * share)
    widths = {name: column_width(source.dataset.column(name)) for name in columns}
    total = 0
    for path, size in sorted(files.items()):
        rows, sizes = _footer(path, size, source)
        # hive partition columns are not in the file: they cost a width per row all the same
        total += sum(max(sizes.get(name, 0), rows * width) for name, width in widths.items())
        if total > stop_above:
            break
    return total


def parquet_column_bytes(paths: list[str], wanted: set[str], open_file: Callable[[str], Any]) -> int:
    """Compressed bytes of the ``wanted`` top-level columns in parquet files, from their footers
    (``open_file(path)`` opens one for reading)."""
    total = 0
    for path in paths:
        with open_file(path) as handle:
            meta = pq.ParquetFile(handle).metadata
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.path_in_schema.split(".")[0] in wanted:
                    total += chunk.total_compressed_size
    return total
