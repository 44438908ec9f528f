"""What a source knows of its data before reading it: rows, and per column distinct values and range.

The planner's cost model (:mod:`meshlab.planner.cost`) orders joins and decides dynamic
filters from these figures. Each source kind reads them where they are kept anyway,
never by scanning the data:

* parquet: the row count and each column's min/max from the file footers (row groups);
  a hive partition column's distinct values from the folder names;
* PostgreSQL: ``pg_class.reltuples`` and ``pg_stats`` (``n_distinct``, ``null_frac``,
  the histogram's ends), as ANALYZE (or autovacuum) left them;
* SQLite: ``sqlite_stat1`` (ANALYZE): the table's rows and, per index, the rows per
  distinct value of its leading columns;
* any source: the contract's ``rowCount`` property, and its keys (a primary key or a
  unique column has as many distinct values as rows).

The figures are estimates: nothing is promised, and an unknown is ``None``. A source
keeps them for :data:`STATISTICS_SECONDS` (files: until they change).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: contract custom properties of a schema object that declare its row count
ROW_COUNT_PROPERTIES = ("rowCount", "rows", "approximateRowCount")
#: how long a source reuses the statistics it read (databases; files follow their signature)
STATISTICS_SECONDS = 300.0


@dataclass(frozen=True)
class ColumnStatistics:
    """One column: distinct values (NDV), smallest and largest value, share of NULLs.

    ``distinct_bound``: at most this many distinct values (an integer column's range), where
    the NDV itself is unknown.
    """

    distinct: float | None = None
    low: Any = None
    high: Any = None
    null_fraction: float = 0.0
    distinct_bound: float | None = None


@dataclass(frozen=True)
class TableStatistics:
    """A table's rows and the statistics of those columns the source keeps any for.

    ``origin`` names where the figures came from (shown by ``explain(analyze=True)``).
    """

    rows: float | None
    columns: Mapping[str, ColumnStatistics] = field(default_factory=dict)
    origin: str = "unknown"

    def column(self, name: str) -> ColumnStatistics:
        return self.columns.get(name) or ColumnStatistics()


def declared_rows(dataset: Any) -> int | None:
    """A row count the contract declares (``customProperties: [{property: rowCount, value: N}]``)."""
    for obj in dataset.descriptor.get("schema") or ():
        if isinstance(obj, dict) and obj.get("name") == dataset.name:
            for item in obj.get("customProperties") or ():
                if isinstance(item, dict) and item.get("property") in ROW_COUNT_PROPERTIES:
                    value = item.get("value")
                    try:
                        return int(value) if value is not None else None
                    except (TypeError, ValueError):
                        return None
    return None


def as_number(value: Any) -> float | None:
    """``value`` on a line (numbers, dates and timestamps as days): what a range fraction needs."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.timestamp() / 86_400
    if isinstance(value, dt.date):
        return float(value.toordinal() - 719_163)  # days since 1970-01-01
    try:
        return float(value)  # Decimal
    except (TypeError, ValueError):
        return None


def parquet_statistics(metadata_list: list, names: Mapping[str, str]) -> TableStatistics:
    """Rows and per-column min/max of parquet files from their footers (pyarrow ``FileMetaData``).

    ``names``: the file's column name -> the contract's. Integer columns also get a
    distinct-value bound: no more values than the range holds, nor than rows.
    """
    rows = 0
    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    complete: set[str] = set(names)
    for metadata in metadata_list:
        rows += metadata.num_rows
        schema = metadata.schema
        positions = {schema.column(i).path: i for i in range(metadata.num_columns)}
        for group_index in range(metadata.num_row_groups):
            group = metadata.row_group(group_index)
            for file_name in names:
                position = positions.get(file_name)
                stats = group.column(position).statistics if position is not None else None
                if stats is None or not stats.has_min_max:
                    complete.discard(file_name)
                    continue
                low, high = stats.min, stats.max
                if file_name not in lows or _less(low, lows[file_name]):
                    lows[file_name] = low
                if file_name not in highs or _less(highs[file_name], high):
                    highs[file_name] = high
                nulls[file_name] = nulls.get(file_name, 0) + (stats.null_count or 0)
    columns = {}
    for file_name, name in names.items():
        if file_name not in complete or file_name not in lows:
            continue
        low, high = lows[file_name], highs[file_name]
        bound = None
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
            bound = float(min(high - low + 1, rows))
        share = nulls.get(file_name, 0) / rows if rows else 0.0
        columns[name] = ColumnStatistics(None, low, high, share, distinct_bound=bound)
    return TableStatistics(float(rows), columns, "parquet footers")


def _less(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:
        return False


def with_partitions(stats: TableStatistics, partitions: Mapping[str, set[str]]) -> TableStatistics:
    """``stats`` with hive partition columns' distinct values counted from the folder names."""
    columns = dict(stats.columns)
    for name, values in partitions.items():
        numbers = [as_number(_parse_number(v)) for v in values]
        known = [n for n in numbers if n is not None]
        low, high = (min(known), max(known)) if len(known) == len(numbers) and known else (None, None)
        columns[name] = ColumnStatistics(float(len(values)), low, high)
    return TableStatistics(stats.rows, columns, stats.origin)


def _parse_number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def postgres_distinct(n_distinct: float | None, rows: float | None) -> float | None:
    """``pg_stats.n_distinct`` as a count: a negative figure is minus a share of the rows."""
    if n_distinct is None:
        return None
    if n_distinct >= 0:
        return float(n_distinct) or None
    return -float(n_distinct) * rows if rows else None


def histogram_ends(text: str | None) -> tuple[Any, Any]:
    """The first and last bound of a ``pg_stats.histogram_bounds`` array (as text), as numbers or dates."""
    if not text or not text.startswith("{"):
        return None, None
    items = text[1:-1].split(",")
    if not items:
        return None, None
    return _pg_value(items[0]), _pg_value(items[-1])


def _pg_value(text: str) -> Any:
    text = text.strip().strip('"')
    value = _parse_number(text)
    if not isinstance(value, str):
        return value
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def sqlite_index_distinct(stat: str, columns: list[str]) -> dict[str, float]:
    """Distinct values of an index's leading column from its ``sqlite_stat1.stat`` text
    (``"rows avg-rows-per-value-of-col1 avg-per-(col1,col2) ..."``): rows / avg per value.
    A unique index's full column list gets the table's row count."""
    parts = stat.split()
    try:
        numbers = [int(p) for p in parts if p.isdigit()]
    except ValueError:
        return {}
    if len(numbers) < 2 or not columns:
        return {}
    rows, per_value = numbers[0], numbers[1]
    return {columns[0]: rows / max(per_value, 1)}
