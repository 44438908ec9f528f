"""How many bytes a plan's scans will bring into memory, estimated before running it.

Cheap signals only, so that the estimate costs far less than the query:

* parquet: per needed column, its uncompressed size or rows times its width in
  memory, whichever is larger, from each file's footer (cached per file and size:
  a footer is read once);
* CSV and JSON: file sizes, scaled by the share of the columns needed;
* databases: the contract's row count (``rowCount`` custom property of the schema
  object) times a width per column from its logical type; without one, unknown (the
  database is not asked).

The estimate errs high rather than low on purpose: it picks the streaming
engine, and streaming a query that would have fit costs little.
"""

from __future__ import annotations

import threading
import time

import pyarrow.parquet as pq

from meshlab.catalog.contract import Column, Dataset
from meshlab.catalog.types import TYPES
from meshlab.planner.plan import QueryPlan, ScanPlan
from meshlab.sources import FileSource
from meshlab.sources.files import GLOB_CHARS

#: bytes per value in memory, by logical type (strings: a typical short text)
WIDTHS = {name: logical.width for name, logical in TYPES.items()}
OTHER_WIDTH = 64
ROW_COUNT_PROPERTIES = ("rowCount", "rows", "approximateRowCount")

_footers: dict[tuple[str, int], tuple[int, dict[str, int]]] = {}
#: seconds a file listing is reused for estimates
LISTING_SECONDS = 10.0
_listings: dict[tuple[str, str], tuple[float, dict[str, int]]] = {}
_cache_lock = threading.Lock()


def column_width(column: Column | None) -> int:
    """Bytes one value of ``column`` takes in memory (a guess for text)."""
    if column is None:
        return OTHER_WIDTH
    if column.logical_type == "number" and (column.physical_type or "").upper().startswith(("DECIMAL", "NUMERIC")):
        return 16
    return WIDTHS.get(column.logical_type, OTHER_WIDTH)


def contract_rows(dataset: Dataset) -> int | None:
    """A row count the contract declares (``customProperties: [{property: rowCount, value: N}]``)."""
    for obj in dataset.descriptor.get("schema") or ():
        if isinstance(obj, dict) and obj.get("name") == dataset.name:
            for item in obj.get("customProperties") or ():
                if isinstance(item, dict) and item.get("property") in ROW_COUNT_PROPERTIES:
                    value = item.get("value")
                    if value is None:
                        return None
                    try:
                        return int(value)
                    except (TypeError, ValueError):
                        return None
    return None


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


def _rows(scan: ScanPlan) -> int | None:
    # The database itself is not asked: the estimate must cost nothing and send no
    # statement the pushdown report does not show.
    declared = [contract_rows(ds) for ds in scan.datasets]
    known = [n for n in declared if n is not None]
    return max(known) if known and len(known) == len(declared) else None


def database_scan_bytes(scan: ScanPlan) -> int | None:
    """Estimated bytes of a database scan: rows times the width of the columns returned."""
    rows = _rows(scan)
    if rows is None:
        return None
    if scan.spec.limit is not None:
        rows = min(rows, scan.spec.limit)
    if scan.spec.output_columns:
        width = sum(column_width(c) for _, c in scan.spec.output_columns)
    else:
        width = sum(column_width(scan.dataset.column(name)) for name in scan.spec.columns)
    return rows * width


def scan_bytes(scan: ScanPlan, stop_above: float = float("inf")) -> int | None:
    """Estimated in-memory bytes one scan brings in, or None when nothing cheap tells."""
    try:
        if isinstance(scan.source, FileSource):
            return file_scan_bytes(scan.source, scan.spec.columns, stop_above)
        return database_scan_bytes(scan)
    except Exception:  # noqa: BLE001 - an estimate is optional; the run reports a source that fails
        return None


def estimate_input_bytes(plan: QueryPlan, stop_above: float = float("inf")) -> int:
    """Estimated bytes all the scans of ``plan`` bring in; stops early above ``stop_above``.

    Scans without an estimate count as zero.
    """
    total = 0
    for scan in plan.scans:
        total += scan_bytes(scan, stop_above - total) or 0
        if total > stop_above:
            break
    return total
