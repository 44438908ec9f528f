"""What Delta and Iceberg tables share: versions, time travel, file pruning, the scan.

A lakehouse table is parquet files plus a log of versions (Delta's ``_delta_log``,
Iceberg's snapshots). The log says which files make up each version and carries
per-file statistics (partition values, column min/max), so a scan opens only the
files a filter may match, and any past version can still be read.

Scans stay native Polars scans (``pl.scan_delta``, ``pl.scan_iceberg``): Polars
pushes projection, predicates and slices into them and prunes files by the log's
statistics, as it does for parquet files (:mod:`meshlab.sources.files`). The
count of files a filter leaves is asked of the table format's own planner
(delta-rs, PyIceberg) from the same statistics, so ``explain`` can say it
before anything is read.

Time travel: a source reads the latest version, or the one :meth:`LakehouseSource.at`
pins, by version (Delta version, Iceberg snapshot id) or by time (the newest
version committed at or before it; a naive datetime is UTC). An unknown version
or a time before the first commit is a :class:`~meshlab.errors.TimeTravelError`
naming the versions that exist.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import polars as pl
from sqlglot import exp

from meshlab.catalog.contract import Dataset
from meshlab.catalog.time_travel import TableVersion
from meshlab.catalog.types import column_width
from meshlab.errors import MeshError, SourceError, TimeTravelError
from meshlab.sources.base import Pushdown, ScanSpec, ScanStats, Source, casts_to_contract
from meshlab.sources.drift import check_drift, touched_columns

T = TypeVar("T")

#: (version, predicates) -> files counts kept by a source
PRUNINGS_KEPT = 64
TEMPORAL = (exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME)
#: how many versions a TimeTravelError lists before eliding the older ones
LISTED_VERSIONS = 8


@dataclass(frozen=True)
class FilePruning:
    """Data files of the version read, and how many a scan's filter leaves to open.

    ``used``: the predicates the table's planner could prune by; the others
    (functions of columns, ...) prune nothing and are only applied to rows.
    """

    total: int
    opened: int
    used: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.used:
            return f"files: {self.total} (no predicate prunes files)"
        return f"files: {self.opened} of {self.total} opened after pruning by {' AND '.join(self.used)}"


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken as UTC (as delta-rs does)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def plain_predicates(predicates: Iterable[exp.Expression]) -> list[str]:
    """Each top-level conjunct of ``predicates`` as SQL over bare column names.

    A date or timestamp literal is written as plain text (``'1994-01-01'``, not a CAST):
    PyIceberg's filter parser takes no CAST (a TPC-H date filter pruned nothing), and
    both planners read text against a date column as that date.
    """
    found = []
    for predicate in predicates:
        for conjunct in predicate.flatten() if isinstance(predicate, exp.And) else [predicate]:
            copy_ = conjunct.copy()
            for column in copy_.find_all(exp.Column):
                column.set("table", None)
                column.set("this", exp.to_identifier(column.name, quoted=True))
            for cast in list(copy_.find_all(exp.Cast)):
                if isinstance(cast.this, exp.Literal) and cast.this.is_string and cast.to.is_type(*TEMPORAL):
                    cast.replace(cast.this.copy())
            found.append(copy_.sql(dialect="postgres"))
    return found


def prune_files(
    predicates: Sequence[str], all_files: Sequence[str], matching: Callable[[str], Iterable[str]]
) -> FilePruning:
    """The files every predicate the planner takes may match (``matching(sql)``).

    File pruning evaluates each file against each conjunct on its own, so the
    files of the conjunction are the intersection of each conjunct's files; a
    conjunct the planner refuses prunes nothing and is left out.
    """
    kept = set(all_files)
    used = []
    for sql in predicates:
        try:
            files = set(matching(sql))
        except Exception:  # noqa: BLE001 - delta-rs and PyIceberg refuse what they cannot prune by, each its own way
            continue
        kept &= files
        used.append(sql)
    return FilePruning(total=len(all_files), opened=len(kept), used=tuple(used))


class LakehouseSource(Source):
    """A table of a lakehouse format, read at its latest version or a pinned one.

    Subclasses load the table (:meth:`history`, :meth:`resolved_version`) and scan
    it (:meth:`frame`); this class checks drift, casts to the contract, applies
    governance and says what the scan reads.
    """

    travels = True
    text_dates = True  # dates kept as text are parsed when read, as from parquet files
    #: the table format, for messages: "Delta", "Iceberg"
    table_format = "lakehouse"
    #: what a version is called in messages: "version", "snapshot"
    version_word = "version"

    def __init__(
        self,
        dataset: Dataset,
        storage_options: Mapping[str, Any] | None = None,
        version: int | None = None,
        timestamp: datetime | None = None,
    ):
        super().__init__(dataset)
        if version is not None and timestamp is not None:
            raise TimeTravelError(dataset.address, dataset.server.name, "give a version or a timestamp, not both")
        self.storage_options = dict(storage_options or {})
        self.path = dataset.server.path or ""
        self.version = version
        self.timestamp = None if timestamp is None else utc(timestamp)
        self._pruned: dict[tuple[int | None, tuple[str, ...]], FilePruning] = {}

    # -- time travel -------------------------------------------------------------
    def at(self, version: int | None = None, timestamp: datetime | None = None) -> Self:
        """This source reading ``version`` (or the version as of ``timestamp``); both None: the latest.

        Checked at once: an unknown version raises :class:`TimeTravelError` here.
        """
        if version is not None and timestamp is not None:
            raise self.travel_error("give a version or a timestamp, not both")
        twin = copy.copy(self)
        twin.version = version
        twin.timestamp = None if timestamp is None else utc(timestamp)
        twin.forget()
        twin.resolved_version()
        return twin

    @property
    def pinned(self) -> bool:
        return self.version is not None or self.timestamp is not None

    def history(self) -> list[TableVersion]:
        """Every version the table's log still has, oldest first."""
        raise NotImplementedError

    def resolved_version(self) -> int | None:
        """The version a scan reads now: the pinned one, the one as of the timestamp, or the
        latest; None for a table without any (an Iceberg table created and never written)."""
        raise NotImplementedError

    def version_as_of(self, moment: datetime) -> int:
        """The newest version committed at or before ``moment``."""
        history = self.history()
        before = [v for v in history if v.timestamp <= moment]
        if not before:
            first = f"; the first was committed at {history[0].timestamp.isoformat()}" if history else ""
            raise self.travel_error(f"no {self.version_word} was committed by {moment.isoformat()}{first}")
        return before[-1].version

    def travel_error(self, message: str) -> TimeTravelError:
        return TimeTravelError(self.dataset.address, self.server_label, message)

    def unknown_version(self, version: int) -> TimeTravelError:
        """The error for a version the table does not have, listing those it has (the newest ones)."""
        versions = [str(v.version) for v in self.history()]
        shown = versions if len(versions) <= LISTED_VERSIONS else ["…", *versions[-LISTED_VERSIONS:]]
        return self.travel_error(
            f"{self.table_format} table {self.location()} has no {self.version_word} {version}; "
            f"it has {self.version_word}s {', '.join(shown) or 'none'}"
        )

    def forget(self) -> None:
        """Drop what was loaded for another version (:meth:`at` calls it on the copy)."""

    def refresh(self) -> None:
        """Look the latest version up again (a commit may have landed since): once per scan."""

    # -- the scan ----------------------------------------------------------------
    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        # Polars prunes files by partition values and the log's min/max statistics,
        # and row groups by the parquet footers: extra rows may come back.
        return Pushdown.INEXACT

    def can_limit(self) -> bool:
        return True

    def estimate_scan_bytes(self, columns: tuple[str, ...], stop_above: float = float("inf")) -> int | None:
        """Rows of the version read (from the log) times each column's width in memory."""
        rows = self.estimate_rows()
        if rows is None:
            return None
        return rows * sum(column_width(self.dataset.column(name)) for name in columns)

    def frame(self) -> pl.LazyFrame:
        """Polars' native scan of the version read."""
        raise NotImplementedError

    def physical_schema(self) -> dict[str, pl.DataType]:
        """Column name -> Polars type, as the version read stores them."""
        raise NotImplementedError

    def pruning(self, spec: ScanSpec) -> FilePruning:
        """The data files of the version read, and how many the scan's predicates leave.

        Kept per version and predicates: a version's files never change, and planning
        them again cost PyIceberg about 10 ms a conjunct on a table of 50 files.
        """
        key = (self.resolved_version(), tuple(plain_predicates(spec.predicates)))
        found = self._pruned.get(key)
        if found is None:
            if len(self._pruned) >= PRUNINGS_KEPT:
                self._pruned.clear()
            found = self._pruned[key] = self.prune(list(key[1]))
        return found

    def prune(self, predicates: list[str]) -> FilePruning:
        """:meth:`pruning` of the version read for ``predicates`` (SQL over bare column names)."""
        raise NotImplementedError

    def scan(self, spec: ScanSpec, stats: ScanStats) -> pl.LazyFrame:
        self.refresh()
        schema = self.physical_schema()
        raw = spec.raw_columns() if spec.governed else list(spec.columns)
        found = {name: (str(dtype), dtype) for name, dtype in schema.items()}
        where = f"{self.table_format} table {self.location()}"
        check_drift(self, where, found, touched_columns(spec))
        frame = self.guarded(self.frame).select(raw)
        casts = casts_to_contract({c: schema[c] for c in raw}, {c.name: c for c in self.dataset.columns})
        stats.sent.append(self.description(spec))
        frame = frame.with_columns(casts) if casts else frame
        return self.apply_governance(frame, spec, spec.columns) if spec.governed else frame

    def describe(self, spec: ScanSpec) -> str:
        self.refresh()
        return self.description(spec)

    def description(self, spec: ScanSpec) -> str:
        """What the scan reads: the version, columns, predicates and the files they leave."""
        version = self.resolved_version()
        if version is None:
            read = f"no {self.version_word} yet (no rows)"
        elif self.version is not None:
            read = f"{self.version_word} {version} (pinned)"
        elif self.timestamp is not None:
            read = f"{self.version_word} {version} (as of {self.timestamp.isoformat()})"
        else:
            read = f"{self.version_word} {version} (latest)"
        parts = [f"{self.table_format} scan of {self.location()} at {read}", f"columns: {', '.join(spec.columns)}"]
        if spec.predicates:
            parts.append("predicates: " + " AND ".join(p.sql() for p in spec.predicates))
        parts.append(self.pruning(spec).describe())
        if spec.limit is not None:
            parts.append(f"limit: {spec.limit}")
        return "\n".join(parts + self.describe_governance(spec))

    def guarded(self, read: Callable[[], T], doing: str = "read") -> T:
        """``read()``, its failure a :class:`SourceError` naming the table (a MeshError passes)."""
        try:
            return read()
        except MeshError:
            raise
        except Exception as exc:  # noqa: BLE001 - delta-rs, PyIceberg, fsspec and SQLAlchemy each raise their own
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SourceError(
                self.dataset.address,
                self.server_label,
                f"cannot {doing} {self.table_format} table {self.location()}: {reason}",
            ) from exc

    def location(self) -> str:
        return self.path
