"""SQLite databases, read through ADBC.

Dates and timestamps in SQLite are ISO-8601 text (the only representation
whose byte order is time order), so comparisons with date literals push down
as text comparisons; columns declared with a numeric physical type keep such
predicates local.

Identifiers are sent in backticks, never double quotes: SQLite reads an unknown
double-quoted identifier as a string literal (its "DQS" quirk, which Python
3.11's sqlite3 cannot turn off), so a renamed column would silently compare a
constant. A backticked unknown column is an error. Every scan also checks the
table's columns (``pragma_table_xinfo``) on its connection before reading.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Mapping
from typing import Any

import polars as pl
import pyarrow as pa
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite

from meshlab.cancel import QueryHandle
from meshlab.catalog.contract import Dataset
from meshlab.catalog.types import sqlite_dtype
from meshlab.errors import SourceError
from meshlab.sources.base import JdbcRead, Pushdown, Source
from meshlab.sources.database import DatabaseSource, negated
from meshlab.sources.spi import SourceContext, SourceKind
from meshlab.sources.statistics import ColumnStatistics, TableStatistics, sqlite_index_distinct

log = logging.getLogger("meshlab.sources.sqlite")

NUMERIC_STORAGE = ("INT", "REAL", "FLOA", "DOUB", "NUMERIC")
# ADBC's SQLite driver reserves every batch's buffers for this many rows up front: a huge
# batch (one for the whole table) kept tens of GiB of address space per fetched table, and a
# process holding that cannot fork (Spark's JVM launch failed with ENOMEM after a drift error
# kept one alive in its traceback). A column typed from its first batch that later meets
# another type (NULLs first, then text) is read again through the standard library's driver.
BATCH_ROWS = 1 << 16
TYPE_MISMATCH = "Type mismatch in column"
ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)


class StrictSQLite(SQLite):
    """SQLite that quotes identifiers in backticks: an unknown one is an error, never a string."""

    class Tokenizer(SQLite.Tokenizer):
        IDENTIFIERS = ["`", '"', ("[", "]")]


class SqliteSource(DatabaseSource):
    """A table of a SQLite file; opened read-only for each scan."""

    dialect = "sqlite"
    kind = "sqlite"
    join_work = 4.0
    names_case_insensitive = True
    text_dates = True
    integer_booleans = True
    spark_read = "jdbc"

    @property
    def database_path(self) -> str:
        return self.dataset.server.path or ""

    def location(self) -> str:
        return self.database_path

    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        verdict = super().pushdown(predicate)
        if verdict is not Pushdown.EXACT:
            return verdict
        for column in predicate.find_all(exp.Column):
            found = self.dataset.column(column.name)
            stored = (found.physical_type or "").upper() if found else ""
            if found and found.logical_type in ("date", "timestamp") and stored.startswith(NUMERIC_STORAGE):
                return Pushdown.UNSUPPORTED
        if any(self._float_arithmetic(node) for node in predicate.find_all(*ARITHMETIC)):
            return Pushdown.UNSUPPORTED
        # SQLite's upper() and lower() map ASCII letters only ('É' stays 'É').
        if predicate.find(exp.Upper, exp.Lower):
            return Pushdown.UNSUPPORTED
        if any(self._date_against_timestamp(node) for node in predicate.find_all(*COMPARISONS)):  # type: ignore[arg-type]
            return Pushdown.UNSUPPORTED
        likes = list(predicate.find_all(exp.Like))
        # SQLite's LIKE ignores ASCII case: it may return extra rows, never fewer -- unless
        # negated, where it returns fewer.
        if any(negated(like, predicate) for like in likes):
            return Pushdown.UNSUPPORTED
        return Pushdown.INEXACT if likes else Pushdown.EXACT

    def _date_against_timestamp(self, comparison: exp.Expression) -> bool:
        """A date compared with a timestamp: SQLite compares their ISO texts, where
        '2000-01-01' is not '2000-01-01 00:00:00'."""
        kinds = self._column_kinds(comparison)
        for cast in comparison.find_all(exp.Cast):
            if cast.to.this == exp.DataType.Type.DATE:
                kinds.add("date")
            elif cast.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ):
                kinds.add("timestamp")
        return {"date", "timestamp"} <= kinds

    def _float_arithmetic(self, node: exp.Expr) -> bool:
        """Arithmetic SQLite would do in binary floating point, unlike the contract's decimals:
        on a fractional literal or a ``number`` column (REAL), ``0.06 + 0.01 < 0.07`` there."""
        fractional = any(not lit.is_int for lit in node.find_all(exp.Literal) if lit.is_number)
        columns = (self.dataset.column(c.name) for c in node.find_all(exp.Column))
        return fractional or any(c is not None and c.logical_type == "number" for c in columns)

    def render(self, select: exp.Select) -> str:
        return select.sql(dialect=StrictSQLite)

    def columns_sql(self) -> str:
        name = exp.Literal.string(self.dataset.physical_name).sql(dialect="sqlite")
        return f"SELECT name, type FROM pragma_table_xinfo({name})"

    def declared_type(self, declared: str) -> pl.DataType:
        return sqlite_dtype(declared)

    def spark_jdbc(self) -> JdbcRead:
        self._check_file()
        return JdbcRead(
            url=f"jdbc:sqlite:{os.path.abspath(self.database_path)}",
            driver="org.sqlite.JDBC",
            jars=("sqlite-jdbc.jar", "xerial-sqlite-jdbc.jar"),
            package="libxerial-sqlite-jdbc-java",
            options=(("open_mode", "1"),),  # SQLITE_OPEN_READONLY, as the Polars engine opens it
            loose_types=True,
        )

    def _check_file(self) -> None:
        if "://" in self.database_path:
            raise SourceError(self.dataset.address, self.server_label, "SQLite files must be local paths")
        if not os.path.isfile(self.database_path):
            raise SourceError(
                self.dataset.address, self.server_label, f"database file {self.database_path} does not exist"
            )

    @property
    def busy_milliseconds(self) -> int:
        """How long a read waits for a writer's lock: the connect limit."""
        return int(self.limits.connect * 1000)

    def fetch(self, sql: str, expect: list[str] | None = None, handle: QueryHandle | None = None) -> pa.Table:
        """Run ``sql``. A writer's lock is waited for up to the connect limit.

        ``expect``: contract columns the statement touches, compared first with the
        table's columns in the same transaction (:meth:`verify`).
        ADBC's SQLite driver cannot cancel a statement (``adbc_cancel``: NOT_IMPLEMENTED):
        a cancelled query returns at once and the read ends on its own; with the
        ``driver: sqlite3`` custom property the statement is interrupted.
        """
        self._check_file()
        handle = handle or QueryHandle()
        handle.check()
        if self.dataset.server.property("driver") == "sqlite3":
            return self._fetch_stdlib(sql, expect, handle)
        import adbc_driver_sqlite.dbapi as adbc

        try:
            with adbc.connect(f"file:{self.database_path}?mode=ro") as connection:
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA busy_timeout = {self.busy_milliseconds}")
                    cursor.fetchall()
                    cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
                    if expect is not None:  # in the same transaction as the read
                        cursor.execute(self.columns_sql())
                        self.verify(cursor.fetch_arrow_table(), expect)
                    log.debug("%s: %s", self.dataset.address, sql)
                    cursor.execute(sql)
                    return cursor.fetch_arrow_table()
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver failure is this source's failure
            if TYPE_MISMATCH in str(exc):  # typed from the first batch (NULLs first): every value typed
                log.debug("%s: %s; read again with sqlite3", self.dataset.address, str(exc).splitlines()[0])
                return self._fetch_stdlib(sql, expect, handle)
            raise self.failure(exc) from exc

    def _fetch_stdlib(self, sql: str, expect: list[str] | None, handle: QueryHandle) -> pa.Table:
        """The standard library's driver: slower, but SQLite traces what it runs, and a
        cancel interrupts the statement (``sqlite3_interrupt``)."""
        connection = sqlite3.connect(
            f"file:{self.database_path}?mode=ro", uri=True, timeout=self.limits.connect, check_same_thread=False
        )
        try:
            if expect is not None:
                rows = connection.execute(self.columns_sql()).fetchall()
                self.verify(pa.table({"name": [r[0] for r in rows], "type": [r[1] for r in rows]}), expect)
            connection.set_trace_callback(lambda statement: log.debug("sqlite3 ran: %s", statement))  # the scan
            with handle.statement(self.statement_label(), connection.interrupt):
                cursor = connection.execute(sql)
                names = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
        except (sqlite3.Error, pa.ArrowException) as exc:  # ArrowException: one column holding two kinds of value
            if handle.cancelled:
                raise handle.error() from None
            raise self.failure(exc) from exc
        finally:
            connection.close()

    def failure(self, exc: BaseException) -> SourceError:
        error = super().failure(exc)
        if "database is locked" in error.reason or "database is busy" in error.reason:
            reason = f"{self.database_path} is locked by a writer (database is locked); run the query again later"
            return SourceError(error.dataset, error.server, reason)
        return error

    def count_rows(self) -> int | None:
        try:
            self._check_file()
            connection = sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True)
            try:
                name = self.dataset.physical_name.replace('"', '""')
                return int(connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            finally:
                connection.close()
        except (sqlite3.Error, SourceError):
            return None

    def read_statistics(self) -> TableStatistics:
        """Rows and the distinct values of indexed columns from ``sqlite_stat1`` (left by ANALYZE)."""
        self._check_file()
        connection = sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True)
        try:
            name = self.dataset.physical_name
            try:
                found = connection.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = ?", (name,)).fetchall()
            except sqlite3.Error:  # never analyzed: no sqlite_stat1
                found = []
            if not found:
                return super().read_statistics()
            declared = {c.name.lower(): c.name for c in self.dataset.columns}
            rows = float(found[0][1].split()[0])
            columns = {}
            for index, stat in found:
                if index is None:
                    continue
                escaped = index.replace('"', '""')
                names = [r[2] for r in connection.execute(f'PRAGMA index_info("{escaped}")').fetchall()]
                for column, distinct in sqlite_index_distinct(stat, names).items():
                    if column and column.lower() in declared:
                        columns[declared[column.lower()]] = ColumnStatistics(distinct)
            return TableStatistics(rows, columns, "sqlite_stat1")
        finally:
            connection.close()


class SqliteKind(SourceKind):
    """A SQLite file: not an ODCS server type, so ``type: custom`` with the custom property
    ``engine: sqlite`` (or ``format: sqlite``) and a ``path``; ``type: sqlite`` is read too."""

    name = "sqlite"
    spark_jars = ("sqlite-jdbc.jar", "xerial-sqlite-jdbc.jar")
    server_types = ("sqlite",)
    engines = ("sqlite",)
    required = ("path",)

    def problem(self, raw: Mapping[str, Any]) -> str | None:
        return None if raw.get("path") or raw.get("location") else "a sqlite server needs a path"

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        return SqliteSource(dataset)


KIND = SqliteKind()
