"""What every source offers the planner: a lazy scan and pushdown verdicts.

A source is asked, per predicate, whether it takes it (Trino's ``applyFilter``,
DataFusion's ``supports_filters_pushdown``). By default it declines; the
engine always re-checks every predicate above the scan, so an *inexact*
source (one that may return extra rows) is still correct.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import polars as pl
from sqlglot import exp

from meshlab.cancel import QueryHandle
from meshlab.catalog import types as logical_types
from meshlab.catalog.contract import Column, Dataset
from meshlab.catalog.time_travel import TableVersion
from meshlab.errors import SourceError, TimeTravelError
from meshlab.limits import TimeLimits
from meshlab.sources.connection_pool import ConnectionPools
from meshlab.sources.statistics import STATISTICS_SECONDS, TableStatistics, declared_rows

#: a frame a source governs: the rows it fetched (databases) or its lazy scan (files)
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


class ColumnMask(Protocol):
    """What a scan needs of a column's mask (:class:`meshlab.governance.Mask` is the one kind):
    SQL for a database to compute it, a Polars expression for the rest."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    def to_sql(self) -> exp.Expr: ...
    def to_polars(self) -> pl.Expr: ...
    def dtype(self) -> pl.DataType | None: ...
    def describe(self) -> str: ...


class Pushdown(enum.Enum):
    """A source's verdict on one predicate."""

    EXACT = "exact"  # the source applies it exactly
    INEXACT = "inexact"  # the source may return extra rows (e.g. row-group pruning)
    UNSUPPORTED = "unsupported"  # kept in the local engine only


@dataclass(frozen=True)
class ScanSpec:
    """What the planner asks of one scan of one dataset."""

    scan_id: str
    dataset: Dataset
    columns: tuple[str, ...]
    predicates: tuple[exp.Expression, ...] = ()
    limit: int | None = None
    order_by: tuple[exp.Ordered, ...] = ()
    # For a join pushed down whole: the SQL to run instead of a single-table scan.
    query: exp.Select | None = None
    output_columns: tuple[tuple[str, Column], ...] = ()
    # Governance: a condition over raw columns every row must meet, applied
    # before anything else, and the masks of output columns (meshlab.governance.Mask).
    row_filter: exp.Expression | None = None
    masks: tuple[ColumnMask, ...] = ()
    # Read by several references of the query (each may ask for its own columns):
    # a database fetches all of ``columns`` at once, for every reference.
    shared: bool = False

    @property
    def governed(self) -> bool:
        return self.row_filter is not None or bool(self.masks)

    def masks_for(self, names: Iterable[str]) -> dict[str, ColumnMask]:
        """Column name -> mask, for the masked columns among ``names``."""
        wanted = set(names)
        return {m.name: m for m in self.masks if m.name in wanted}

    def raw_columns(self, names: Iterable[str] | None = None) -> list[str]:
        """The unmasked columns needed to produce ``names`` (default: all the
        scan's columns): themselves, those the masks and the row filter use."""
        names = list(self.columns if names is None else names)
        needed = set(names)
        for mask in self.masks_for(names).values():
            needed.update(c.name for c in mask.to_sql().find_all(exp.Column))
        if self.row_filter is not None:
            needed.update(c.name for c in self.row_filter.find_all(exp.Column))
        return [c.name for c in self.dataset.columns if c.name in needed]


@dataclass
class ScanStats:
    """Figures of one scan, filled in while the query runs."""

    sent: list[str] = field(default_factory=list)
    rows: int | None = None
    bytes: int | None = None
    seconds: float = 0.0
    error: BaseException | None = None
    # What the engine did to the scan as the query ran (keys of a join sent down, say).
    notes: list[str] = field(default_factory=list)
    # The query's cancel switch: a database scan registers its running statement with it.
    handle: QueryHandle = field(default_factory=QueryHandle, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, sent: str, rows: int, nbytes: int, seconds: float) -> None:
        with self._lock:
            self.sent.append(sent)
            self.rows = (self.rows or 0) + rows
            self.bytes = (self.bytes or 0) + nbytes
            self.seconds += seconds


def column_dtype(column: Column) -> pl.DataType | None:
    """The Polars type a column's contract promises, or None for object/array."""
    return logical_types.polars_dtype(column.logical_type, column.physical_type)


def conforms(actual: pl.DataType, column: Column) -> bool:
    """Whether ``actual`` already is of the column's logical type (no cast needed)."""
    return logical_types.conforms(actual, column.logical_type, column.physical_type)


def casts_to_contract(schema: Mapping[str, pl.DataType], columns: Mapping[str, Column]) -> list[pl.Expr]:
    """Cast expressions for the columns whose type does not match their contract column."""
    casts = []
    for name, dtype in schema.items():
        column = columns.get(name)
        if column is None or conforms(dtype, column):
            continue
        target = column_dtype(column)
        if target is None:
            continue
        if isinstance(dtype, pl.String) and isinstance(target, pl.Datetime):
            casts.append(pl.col(name).str.to_datetime(strict=False).cast(target).alias(name))
        elif isinstance(dtype, pl.String) and isinstance(target, pl.Date):
            casts.append(pl.col(name).str.slice(0, 10).str.to_date(strict=False).alias(name))
        elif isinstance(dtype, pl.String) and isinstance(target, pl.Time):  # Polars casts no text to time
            casts.append(pl.col(name).str.to_time(strict=False).alias(name))
        else:
            casts.append(pl.col(name).cast(target, strict=False).alias(name))
    return casts


def _masked_value(mask: ColumnMask) -> pl.Expr:
    """The mask's Polars expression, cast to the masked value's type when it has one."""
    dtype = mask.dtype()
    return mask.to_polars() if dtype is None else mask.to_polars().cast(dtype, strict=False)


@dataclass(frozen=True)
class JdbcRead:
    """How Spark's JDBC reader reaches a database source (:meth:`Source.spark_jdbc`)."""

    url: str
    driver: str  # the JDBC driver class
    jars: tuple[str, ...]  # jar file names looked for in the JAR folders (Debian's names)
    package: str  # what installs them, for the error message
    options: tuple[tuple[str, str], ...] = ()  # login and reader options
    #: the driver reports types loosely (SQLite): read non-integers as text and cast after
    loose_types: bool = False


class Source:
    """A dataset's home. Subclasses differ by attributes, not by branches on a type name.

    Everything the planner, the engines, the checks and the catalog need of a
    source is asked here; a kind overrides what differs (:mod:`meshlab.sources.spi`).
    """

    #: the sqlglot dialect the source speaks, or None when it takes no SQL
    dialect: str | None = None
    #: a word for explain output
    kind: str = "source"
    #: the mesh's time limits (``timeouts:`` of mesh.yaml), set by :func:`meshlab.sources.source_for`
    limits: TimeLimits = TimeLimits()
    #: the scan fetches its rows before the query runs (databases), rather than being a lazy scan
    fetches_rows: bool = False
    #: per row joined, what a join computed in this source costs (None: it computes no joins)
    join_work: float | None = None
    #: quality metrics may send regular-expression matches to it
    sends_regex: bool = False
    #: its identifiers match whatever their case (SQLite)
    names_case_insensitive: bool = False
    #: it may store dates and times as text (parsed when read) and booleans as 0/1
    text_dates: bool = False
    integer_booleans: bool = False
    #: it reads the version its dataset's ``as_of`` names (time travel), and lists its :meth:`history`
    travels: bool = False
    #: how the Spark engine reads it: ``jdbc`` (:meth:`spark_jdbc`), ``files`` (Spark's
    #: own file readers) or ``driver`` (this source's Polars scan, on the driver)
    spark_read: str = "driver"
    #: the mesh's database connection pools (set by ``Mesh.source``); None: a new connection per statement
    connections: ConnectionPools | None = None

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    @property
    def server_label(self) -> str:
        return self.dataset.server.name

    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        """Whether this source takes ``predicate``; declines by default."""
        return Pushdown.UNSUPPORTED

    def can_limit(self) -> bool:
        return False

    def schema(self) -> dict[str, pl.DataType]:
        """The schema a scan produces, as the contract promises it."""
        return {c.name: column_dtype(c) or pl.Object() for c in self.dataset.columns}

    def scan(self, spec: ScanSpec, stats: ScanStats) -> pl.LazyFrame:
        raise NotImplementedError

    def describe(self, spec: ScanSpec) -> str:
        """What this scan will be sent, for ``explain``."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise a :class:`~meshlab.errors.SourceError` if the source is unreachable.

        Called only after a run failed, to tell a gone source from a bad query.
        """

    def estimate_rows(self) -> int | None:
        """A cheap row-count estimate, or None when unknown."""
        return None

    def guess_rows(self) -> int | None:
        """:meth:`estimate_rows`, or a rougher guess where it has none (for join ordering)."""
        return self.estimate_rows()

    def statistics(self) -> TableStatistics:
        """What the source keeps on its data (rows, per-column distinct values and range), read
        at most every :data:`~meshlab.sources.statistics.STATISTICS_SECONDS` (a kind whose
        figures can change sooner overrides :meth:`statistics_version`); never fails."""
        version = self.statistics_version()
        cached = getattr(self, "_statistics", None)
        if cached is None or cached[0] != version:
            try:
                found = self.read_statistics()
            except Exception:  # noqa: BLE001 - statistics only steer choices: an unknown is fine
                found = TableStatistics(None)
            cached = self._statistics = (version, found)
        return cached[1]

    def statistics_version(self) -> object:
        """What tells that statistics read before are still good (default: a time slot)."""
        return int(time.monotonic() // STATISTICS_SECONDS)

    def read_statistics(self) -> TableStatistics:
        """The statistics as the source has them now (default: its row count only; where the
        source can only guess one, the contract's ``rowCount`` is the better hint)."""
        rows = self.estimate_rows()
        if rows is not None:
            return TableStatistics(float(rows), {}, "row count")
        declared = declared_rows(self.dataset)
        if declared is not None:
            return TableStatistics(float(declared), {}, "contract rowCount")
        rows = self.guess_rows()
        return TableStatistics(float(rows) if rows is not None else None, {}, "row count guess")

    def bytes_for(self, columns: tuple[str, ...]) -> int | None:
        """Bytes the source stores for ``columns`` (what a scan of them reads), or None when unknown."""
        return None

    def estimate_scan_bytes(self, columns: tuple[str, ...], stop_above: float = float("inf")) -> int | None:
        """In-memory bytes a scan of ``columns`` brings in, from metadata only; None when unknown."""
        return None

    def physical_schema(self) -> dict[str, pl.DataType]:
        """Column name -> type as the source stores it, for schema checks.

        Raises :class:`~meshlab.errors.SourceError` when the source cannot be reached.
        """
        raise SourceError(self.dataset.address, self.server_label, f"a {self.kind} source cannot list its columns")

    def join_key(self) -> tuple[str, str] | None:
        """Scans with one key run in one place: a join between them may be sent there whole."""
        return (self.kind, self.location()) if self.join_work is not None else None

    def joins_on(self, column: str) -> bool:
        """Whether a join on ``column`` of this table runs well in the source (an index there)."""
        return True

    def spark_jdbc(self) -> JdbcRead | None:
        """How Spark's JDBC reader reaches it (with :attr:`spark_read` ``jdbc``)."""
        return None

    def data_files(self) -> list[str]:
        """Files the source reads beyond its kind's :meth:`~ServerKind.read_locations` (those a
        table's log names), for server mode's confinement; none by default."""
        return []

    def history(self) -> list[TableVersion]:
        """The table's versions, oldest first (a source that :attr:`travels`)."""
        raise TimeTravelError(self.dataset.address, self.server_label, f"a {self.kind} source keeps no versions")

    def cancel_client_statements(self, application: str) -> int:
        """Cancel the statements a gone client (named ``application``) left running; how many."""
        return 0

    def location(self) -> str:
        """Where the source is, for messages: never a credential."""
        return self.dataset.server.path or ""

    def apply_governance(
        self,
        frame: FrameT,
        spec: ScanSpec,
        names: Sequence[str],
        filtered: bool = False,
        masked: Set[str] = frozenset(),
    ) -> FrameT:
        """``frame`` of raw columns -> rows the role may see, columns ``names`` masked.

        ``filtered``: the source applied the row filter already; ``masked``: the
        masks the source computed itself. The row filter runs first, on raw values.
        """
        if spec.row_filter is not None and not filtered:
            frame = frame.filter(pl.sql_expr(spec.row_filter.sql(dialect="postgres")))
        todo = [m for n, m in spec.masks_for(names).items() if n not in masked]
        if todo:
            frame = frame.with_columns(_masked_value(m) for m in todo)
        return frame.select(list(names))

    def describe_governance(self, spec: ScanSpec) -> list[str]:
        lines = []
        if spec.row_filter is not None:
            lines.append(f"row filter (policy): {spec.row_filter.sql(dialect='duckdb')}")
        if spec.masks:
            lines.append("masked (policy): " + "; ".join(m.describe() for m in spec.masks))
        return lines
