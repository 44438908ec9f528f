"""DuckDB database files, opened read-only for each scan.

ODCS names the file in the server's ``database`` (``type: duckdb``), and the
table's schema in ``schema`` (default ``main``). The catalog resolves only
``path``/``location`` against the contract's folder, so this kind resolves
``database`` itself, the same way (:func:`database_path`).

DuckDB runs in this process: there is no server log to tell what it was
sent. Every statement run on a DuckDB connection is first handed to the
callbacks in :data:`STATEMENT_HOOKS` (the tests assert pushdown through them;
a debugger may print them). It also has no statement timeout: a query's
remaining time is enforced by a timer that cancels the query's handle, which
interrupts the statement (``connection.interrupt()``).

What DuckDB computes as Polars does, measured here (DuckDB 2.0, Polars 2.1):

- comparisons, ``LIKE`` (case-sensitive, no escape character) and string
  order (byte order, DuckDB's default collation): all pushed down exactly;
- ``md5(CAST(x AS TEXT))`` equals Polars' hash mask for strings, integers,
  booleans and dates, not for numbers (``1e-07`` vs ``1e-7``, ``nan`` vs
  ``NaN``) nor timestamps and times (fractional seconds): only the former
  are hashed in the database;
- regular expressions: DuckDB's RE2 reads ``\\d``, ``\\w`` and ``\\s`` (so ``\\b``
  too) as ASCII classes, Polars' Rust regex as Unicode ones (``'٣'`` is a
  digit, ``'é'`` a word character to Polars only): pattern rules run in
  Polars (``sends_regex`` False), other patterns agreed on every value tried;
- a join of two tables of one file costs, per input row, less than moving one
  value to Polars (``join_work``, see :class:`DuckdbSource`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa
from sqlglot import exp

from meshlab.cancel import TIMEOUT, QueryHandle
from meshlab.catalog.contract import Dataset
from meshlab.catalog.servers import Server
from meshlab.catalog.types import TYPES, decimal_dtype
from meshlab.errors import MeshError, SourceError
from meshlab.sources.base import Source
from meshlab.sources.database import DatabaseSource
from meshlab.sources.spi import SourceContext, SourceKind

if TYPE_CHECKING:
    import duckdb

#: called with the text of every statement run on a DuckDB connection, before it runs
STATEMENT_HOOKS: list[Callable[[str], None]] = []
DEFAULT_SCHEMA = "main"
#: the name the file is attached under: a table is always ``meshlab.<schema>.<table>``, so a schema
#: named like the file (``crm`` in crm.duckdb, DuckDB's own name for it) is never ambiguous
CATALOG = "meshlab"
#: logical types whose values DuckDB and Polars write alike as text: their hash mask runs in DuckDB
HASHED_ALIKE = ("string", "integer", "boolean", "date")

# DuckDB's type names: those of meshlab's type table (VARCHAR, BIGINT, DOUBLE, DATE, ...) and the others.
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_TYPE_NAMES: dict[str, pl.DataType] = {
    **{t.sql: t.polars for t in TYPES.values() if t.polars is not None},
    **{name: pl.Int64() for name in _INTEGERS},
    "FLOAT": pl.Float64(),
    "TIMESTAMP WITH TIME ZONE": pl.Datetime("us", "UTC"),
    "TIMESTAMP_S": pl.Datetime("us"),
    "TIMESTAMP_MS": pl.Datetime("us"),
    "TIMESTAMP_NS": pl.Datetime("us"),
    "TIME WITH TIME ZONE": pl.Time(),
    "UUID": pl.String(),
    "BLOB": pl.Binary(),
}


def duckdb_dtype(declared: str) -> pl.DataType:
    """The Polars type of values of a DuckDB column type (``duckdb_columns().data_type``).

    Types meshlab does not know (INTERVAL, BIT, UNION) are ``Null``: anything.

    >>> duckdb_dtype("DECIMAL(12,2)"), duckdb_dtype("VARCHAR"), duckdb_dtype("INTEGER[]")
    (Decimal(precision=12, scale=2), String, List(String))
    """
    text = declared.strip().upper()
    if text.endswith("]"):  # a LIST (``T[]``) or an ARRAY (``T[3]``)
        return pl.List(pl.String())
    if text.startswith(("STRUCT", "MAP", "JSON")):
        return pl.Struct({})
    if text.startswith("ENUM"):  # its values are strings
        return pl.String()
    found = decimal_dtype(text) or _TYPE_NAMES.get(text)
    return found if found is not None else pl.Null()


def database_path(dataset: Dataset) -> str:
    """The server's ``database`` file; a relative path is resolved against the contract's folder."""
    found = KIND.read_locations(dataset.server, dataset.contract_path)
    return found[0] if found else ""


class DuckdbSource(DatabaseSource):
    """A table (or view) of a DuckDB file.

    ``join_work`` 0.7, measured on TPC-H SF1 (customer x orders in one file, 1.65 M
    input rows, three runs on 2 cores): DuckDB's hash join takes 0.0072-0.0076 us per
    input row where moving one value to Polars (Arrow) takes 0.008-0.021 us, a ratio
    of 0.34-0.85. SQLite's is 4.0, PostgreSQL's 0.5.
    """

    dialect = "duckdb"
    kind = "duckdb"
    mask_nodes = (exp.MD5,)
    join_work = 0.7
    names_case_insensitive = True  # DuckDB binds "Country" to a column country
    spark_read = "driver"  # no JDBC driver: Spark gets the Polars scan's rows as Arrow

    @property
    def database_path(self) -> str:
        return database_path(self.dataset)

    @property
    def schema_name(self) -> str:
        return self.dataset.server.schema or DEFAULT_SCHEMA

    def location(self) -> str:
        return self.database_path

    def join_key(self) -> tuple[str, str] | None:
        return (self.kind, os.path.abspath(self.database_path))

    def table(self) -> exp.Table:
        return exp.table_(self.dataset.physical_name, db=self.schema_name, catalog=CATALOG, quoted=True)

    def table_label(self) -> str:
        name = exp.table_(self.dataset.physical_name, db=self.schema_name, quoted=True).sql(dialect="duckdb")
        return f"table {name} of {self.location()}"

    def can_compute(self, expression: exp.Expr) -> bool:
        """Only hashes of values DuckDB writes as text as Polars does (:data:`HASHED_ALIKE`)."""
        if not super().can_compute(expression):
            return False
        for digest in expression.find_all(exp.MD5):
            for column in digest.find_all(exp.Column):
                found = self.dataset.column(column.name)
                if found is None or found.logical_type not in HASHED_ALIKE:
                    return False
        return True

    # -- the catalog of the file ------------------------------------------------------
    def _where_table(self) -> str:
        schema = exp.Literal.string(self.schema_name).sql(dialect="duckdb")
        name = exp.Literal.string(self.dataset.physical_name).sql(dialect="duckdb")
        # Names match whatever their case, as DuckDB binds them.
        return (
            f"database_name = '{CATALOG}' AND lower(schema_name) = lower({schema}) "
            f"AND lower(table_name) = lower({name})"
        )

    def columns_sql(self) -> str:
        return (
            "SELECT column_name AS name, data_type AS type FROM duckdb_columns() "
            f"WHERE {self._where_table()} ORDER BY column_index"
        )

    def declared_type(self, declared: str) -> pl.DataType:
        return duckdb_dtype(declared)

    def count_rows(self) -> int | None:
        """The table's row count as DuckDB keeps it (``estimated_size``); a view's is counted."""
        try:
            sizes = self.fetch(f"SELECT estimated_size AS n FROM duckdb_tables() WHERE {self._where_table()}")
            if sizes.num_rows:
                return int(sizes.column("n")[0].as_py())
            counted = self.fetch(exp.select("count(*) AS n").from_(self.table()).sql(dialect="duckdb"))
            return int(counted.column("n")[0].as_py())
        except SourceError:
            return None

    # -- running statements -----------------------------------------------------------
    def check(self) -> None:
        self.fetch("SELECT 1 AS ok")

    def fetch(self, sql: str, expect: list[str] | None = None, handle: QueryHandle | None = None) -> pa.Table:
        """Run ``sql`` on a read-only connection of its own; a cancel of ``handle`` (or
        its deadline passing) interrupts the statement.

        ``expect``: contract columns the statement touches, compared first with the
        table's columns on the same connection (:meth:`verify`).
        """
        import duckdb

        handle = handle or QueryHandle()
        handle.check()
        connection = self._connect()
        try:
            with handle.statement(self.statement_label(), connection.interrupt), _deadline(handle):
                if expect is not None:
                    self.verify(_run(connection, self.columns_sql()), expect)
                return _run(connection, sql)
        except MeshError:
            raise
        except duckdb.Error as exc:
            if handle.cancelled:
                raise handle.error() from None
            raise self.failure(exc) from exc
        finally:
            connection.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A connection with the file attached read-only as :data:`CATALOG`; a missing, locked
        or unreadable file is a :class:`SourceError`."""
        try:
            import duckdb
        except ImportError:
            raise SourceError(
                self.dataset.address, self.server_label, "reading DuckDB files needs the duckdb package"
            ) from None
        path = self.database_path
        if "://" in path or path.startswith(":") or not path:
            raise SourceError(self.dataset.address, self.server_label, f"'{path}' is not a DuckDB file on this machine")
        if not os.path.isfile(path):
            raise SourceError(self.dataset.address, self.server_label, f"database file {path} does not exist")
        connection = duckdb.connect()
        try:
            _execute(connection, f"ATTACH {exp.Literal.string(path).sql(dialect='duckdb')} AS {CATALOG} (READ_ONLY)")
        except duckdb.Error as exc:
            connection.close()
            raise self.failure(exc) from exc
        return connection

    def failure(self, exc: BaseException) -> SourceError:
        error = super().failure(exc)
        if "Conflicting lock" in error.reason:  # a writer in another process holds the file
            reason = f"{self.database_path} is open for writing in another process (DuckDB lets no reader in meanwhile)"
        elif "already attached" in error.reason:  # DuckDB opens a file once per process
            reason = f"{self.database_path} is open in this process by another DuckDB connection: close it first"
        else:
            return error
        return SourceError(error.dataset, error.server, f"{reason}: {error.reason}")


def _traced(sql: str) -> str:
    """``sql``, once every hook of :data:`STATEMENT_HOOKS` has been told it is about to run."""
    for hook in STATEMENT_HOOKS:
        hook(sql)
    return sql


def _execute(connection: duckdb.DuckDBPyConnection, sql: str) -> None:
    connection.execute(_traced(sql))


def _run(connection: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Every row of the query ``sql``, as Arrow (the relation's own export: no extra copy)."""
    table: pa.Table = connection.sql(_traced(sql)).to_arrow_table()
    return table


@contextlib.contextmanager
def _deadline(handle: QueryHandle) -> Iterator[None]:
    """Cancel ``handle`` as a timeout when its time runs out: DuckDB has no statement
    timeout, and the cancel interrupts the statement registered with the handle."""
    remaining = handle.remaining()
    if remaining is None:
        yield
        return
    timer = threading.Timer(remaining, handle.cancel, args=(TIMEOUT,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class DuckdbKind(SourceKind):
    """A DuckDB file: ``type: duckdb`` with ``database`` (the file, relative to the
    contract's folder) and ``schema`` (default ``main``)."""

    name = "duckdb"
    server_types = ("duckdb",)
    engines = ("duckdb",)
    required = ("database",)

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        return DuckdbSource(dataset)

    def read_locations(self, server: Server, contract_path: str) -> tuple[str, ...]:
        database = server.database or ""
        if not database or "://" in database or posixpath.isabs(database) or database.startswith(":"):
            return (database,) if database else ()
        return (posixpath.normpath(posixpath.join(posixpath.dirname(contract_path), database)),)


KIND = DuckdbKind()
