"""MySQL and MariaDB tables, read through mysqlclient (``MySQLdb``, libmariadb/libmysqlclient).

Driver: measured in ``benchmarks/mysql_drivers.py`` (1 M rows x 4 columns into Arrow on
MariaDB 10.11, 2 cores): mysqlclient 4.0 s (Python objects per value), PyMySQL 8.9 s,
mysql-connector-python (pure Python) 13.5 s, connectorx 0.87 s; mysqlclient as read here
(decimals and dates handed over as text, parsed by Arrow a column at a time) 2.35 s. All
of them take ``KILL QUERY`` and MariaDB's ``max_statement_time``; mysqlclient and PyMySQL
fail at once on a server that is down, connectorx only after its pool retried for 30 s.
mysqlclient also lets other scans run while it waits (it releases the GIL).

Credentials come from the environment variables the server's ``userEnv`` /
``passwordEnv`` custom properties name; they never appear in a contract, a plan or a message.

Portability: under MySQL's default collations string comparison ignores case and
trailing spaces (``'a' = 'A '``), so string equality, order and LIKE stay local unless the
contract's physical type compares bytes (``VARBINARY``, ``... COLLATE utf8mb4_bin``).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import time

import polars as pl
import pyarrow as pa
from sqlglot import exp

from meshlab.cancel import QueryHandle
from meshlab.catalog.contract import Dataset
from meshlab.errors import MeshError, SourceTimeoutError
from meshlab.limits import seconds_text, with_retries
from meshlab.sources.base import JdbcRead, Pushdown, Source
from meshlab.sources.database import PORTABLE_NODES, RANGE_COMPARISONS, ROW_COUNT_SECONDS, DatabaseSource, negated
from meshlab.sources.drift import check_drift
from meshlab.sources.spi import SourceContext, SourceKind

DEFAULT_PORT = 3306
#: the login variables datacontract-cli reads for a mysql server
FALLBACK_LOGIN = ("DATACONTRACT_MYSQL_USERNAME", "DATACONTRACT_MYSQL_PASSWORD")
# Comparisons whose answer follows the column's collation.
STRING_COMPARISONS = (exp.EQ, exp.NEQ, exp.In, exp.Like, *RANGE_COMPARISONS)
#: text matches a case-insensitive collation only widens (when not negated)
WIDENED_MATCHES = (exp.EQ, exp.In, exp.Like)


def _matches_more(comparison: exp.Expr, root: exp.Expression) -> bool:
    """Whether ``comparison`` (inside ``root``) can only match more rows under a collation: a
    positive ``=``, ``IN`` or ``LIKE`` (a pattern without backslashes: MySQL reads them as escapes)."""
    if not isinstance(comparison, WIDENED_MATCHES):
        return False
    if isinstance(comparison, exp.Like) and any("\\" in lit.name for lit in comparison.find_all(exp.Literal)):
        return False
    return not negated(comparison, root)


# Error numbers: MariaDB's max_statement_time, MySQL's max_execution_time.
STATEMENT_TIME_LIMIT = (1969, 3024)
# libmariadb's words for a connect or handshake past connect_timeout (errno 110: ETIMEDOUT).
CONNECT_TIMED_OUT = re.compile(r"timed out|\(110\)|system error: 110\b", re.IGNORECASE)
_DECLARED = re.compile(r"^\s*([a-z]+)\s*(?:\(([^)]*)\))?\s*(.*)$")
_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year")
_TEXT = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json")
_BYTES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit", "geometry")


def mysql_dtype(declared: str, logical: str | None = None) -> pl.DataType:
    """The Polars type of a MySQL column type (``information_schema.columns.column_type``).

    ``tinyint(1)`` is how MySQL stores ``BOOLEAN``: a Boolean where the contract
    (``logical``) says boolean, else a small integer. Types it does not know
    (spatial, user-defined) are ``Null``: anything, as for PostgreSQL.
    """
    found = _DECLARED.match(declared.lower())
    if not found:
        return pl.Null()
    name, args, rest = found.group(1), found.group(2) or "", found.group(3)
    if name in ("bool", "boolean") or (name == "tinyint" and args.strip() == "1" and logical == "boolean"):
        return pl.Boolean()
    if name in _INTEGERS:
        return pl.UInt64() if name == "bigint" and "unsigned" in rest else pl.Int64()
    if name in ("decimal", "numeric", "dec", "fixed"):
        precision, _, scale = args.partition(",")
        return pl.Decimal(int(precision or 10), int(scale or 0))
    if name in ("float", "double", "real"):
        return pl.Float64()
    if name == "date":
        return pl.Date()
    if name in ("datetime", "timestamp"):
        return pl.Datetime("us")
    if name == "time":
        return pl.Time()
    if name in _TEXT:
        return pl.String()
    if name in _BYTES:
        return pl.Binary()
    return pl.Null()


def _same_text(logical: str, physical: str | None) -> bool:
    """Whether ``CAST(x AS CHAR)`` in MySQL spells a value of this type as Polars' cast to text does."""
    decimal = logical == "number" and (physical or "").lower().startswith(("decimal", "numeric"))
    return logical in ("string", "integer", "date") or decimal


class MysqlSource(DatabaseSource):
    """A table of a MySQL or MariaDB database (``server.database``)."""

    dialect = "mysql"
    kind = "mysql"
    spark_read = "jdbc"
    # MD5 of the value's text: the same hex digest as Polars' mask (checked in the tests).
    mask_nodes = (exp.MD5,)
    # LENGTH counts bytes in MySQL, characters in Polars.
    portable_nodes = tuple(n for n in PORTABLE_NODES if n is not exp.Length)

    def table(self) -> exp.Table:
        return exp.table_(self.dataset.physical_name, db=self.dataset.server.database, quoted=True)

    def spark_jdbc(self) -> JdbcRead:
        server = self.dataset.server
        user, password = self._login()
        login = tuple((k, v) for k, v in (("user", user), ("password", password)) if v)
        # A jdbc:mysql URL, which MariaDB's driver takes with permitMysqlScheme: Spark chooses its
        # SQL dialect by the URL, and its generic one quotes names in double quotes ("id" is a string here).
        return JdbcRead(
            url=f"jdbc:mysql://{server.host}:{server.port or DEFAULT_PORT}/{server.database}?permitMysqlScheme",
            driver="org.mariadb.jdbc.Driver",
            jars=("mariadb-java-client.jar",),
            package="libmariadb-java",
            options=login,
        )

    def location(self) -> str:
        server = self.dataset.server
        return f"{server.host}:{server.port or DEFAULT_PORT}/{server.database}"

    def table_label(self) -> str:
        return f"table {self.table().sql(dialect='mysql')} of {self.location()}"

    # -- what it takes -----------------------------------------------------------------
    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        """Text compared by a collation goes down only where MySQL can match more, never less.

        Under a case-insensitive, space-padding collation ``=``, ``IN`` and ``LIKE`` match a
        superset of what they match in Polars ('abc' = 'ABC '): sent, they are *inexact* and the
        engine's own check drops the extra rows (TPC-H q19's ``l_shipmode IN (...)``: 3.6 M of
        lineitem's 6 M rows were fetched when kept local). Negated, ``<>``, ranges and ORDER BY
        could lose rows or order them otherwise: kept local.
        """
        verdict = super().pushdown(predicate)
        collated = [n for n in predicate.find_all(*STRING_COMPARISONS) if self._collated(n)]
        if verdict is not Pushdown.EXACT or not collated:
            return verdict
        if all(_matches_more(n, predicate) for n in collated):
            return Pushdown.INEXACT
        return Pushdown.UNSUPPORTED

    def _collated(self, comparison: exp.Expr) -> bool:
        """Whether ``comparison`` compares text by a collation (case and trailing spaces ignored)."""
        for column in comparison.find_all(exp.Column):
            found = self.dataset.column(column.name)
            if found is None or (found.logical_type == "string" and not self._compares_bytes(found.physical_type)):
                return True
        return False

    @staticmethod
    def _compares_bytes(physical: str | None) -> bool:
        text = (physical or "").lower()
        return "binary" in text or "blob" in text or "_bin" in text

    def _portable_range(self, node: exp.Expression) -> bool:
        return not self._collated(node)

    def can_compute(self, expression: exp.Expr) -> bool:
        """MD5 only of values whose text MySQL writes as Polars does: a boolean is ``1``
        there and ``true`` here, a timestamp or float may be spelled otherwise."""
        if not super().can_compute(expression):
            return False
        return expression.find(exp.MD5) is None or all(
            (found := self.dataset.column(c.name)) is not None and _same_text(found.logical_type, found.physical_type)
            for c in expression.find_all(exp.Column)
        )

    # -- connecting --------------------------------------------------------------------
    def _login(self) -> tuple[str, str]:
        """User and password from the variables ``userEnv`` / ``passwordEnv`` name, else from
        datacontract-cli's (``DATACONTRACT_MYSQL_USERNAME`` / ``_PASSWORD``): its contracts,
        which name no variables, read with the environment their users already set."""
        server = self.dataset.server
        user = os.environ.get(server.property("userEnv") or "", "") or os.environ.get(FALLBACK_LOGIN[0], "")
        password = os.environ.get(server.property("passwordEnv") or "", "") or os.environ.get(FALLBACK_LOGIN[1], "")
        return user, password

    def _connect(self, handle: QueryHandle | None = None, pooled: bool = False):
        """A connection within ``limits.connect``. Not ``pooled``: the query's remaining time
        becomes the server's statement time limit (:meth:`prepare_connection`)."""
        import MySQLdb

        server, (user, password) = self.dataset.server, self._login()
        options = {
            "host": server.host or "localhost",
            "port": server.port or DEFAULT_PORT,
            "user": user,
            "password": password,
            "database": server.database or "",
            "charset": "utf8mb4",
            "conv": text_conversions(),
            "connect_timeout": max(int(math.ceil(self.limits.connect)), 1),
            # Pooled: each statement its own transaction, or a reused connection would keep
            # reading the snapshot of its first query (InnoDB's REPEATABLE READ).
            "autocommit": pooled,
        }
        backstop = _read_timeout(handle, pooled)
        if backstop is not None:  # should the server stop answering altogether
            options["read_timeout"] = backstop
        connection = with_retries(lambda: MySQLdb.connect(**options), self.limits, f"connecting to {self.location()}")
        if not pooled and handle is not None and handle.remaining() is not None:
            self.prepare_connection(connection, handle)
        return connection

    def open_connection(self, handle: QueryHandle | None, pooled: bool = False):
        return self._connect(handle, pooled)

    def pool_key(self, handle: QueryHandle) -> tuple:
        """Server, login and the client-side read limit (a connect option) decide a connection."""
        server = self.dataset.server
        return (self.kind, server.host, server.port, server.database, self._login(), _read_timeout(handle, True))

    def prepare_connection(self, connection, handle: QueryHandle) -> None:
        """The query's remaining time as the server's statement time limit (MariaDB
        ``max_statement_time``, MySQL ``max_execution_time``), else the server's default."""
        remaining = handle.remaining()
        mariadb = "mariadb" in connection.get_server_info().lower()
        if remaining is None:
            value = "DEFAULT"
        elif mariadb:
            value = f"{max(remaining, 0.001):.3f}"
        else:
            value = str(max(int(remaining * 1000), 1))
        connection.query(f"SET SESSION {'max_statement_time' if mariadb else 'max_execution_time'} = {value}")

    def _kill(self, connection_id: int) -> None:
        """Stop the statement of ``connection_id`` from a connection of its own (``KILL QUERY``)."""
        connection = self._connect()
        try:
            connection.query(f"KILL QUERY {int(connection_id)}")
        finally:
            connection.close()

    # -- reading -----------------------------------------------------------------------
    def columns_sql(self) -> str:
        database = exp.Literal.string(self.dataset.server.database or "").sql(dialect="mysql")
        table = exp.Literal.string(self.dataset.physical_name).sql(dialect="mysql")
        return (
            "SELECT column_name AS name, column_type AS type FROM information_schema.columns "
            f"WHERE table_schema = {database} AND table_name = {table} ORDER BY ordinal_position"
        )

    def declared_type(self, declared: str) -> pl.DataType:
        return mysql_dtype(declared)

    def verify(self, columns: pa.Table, expect: list[str]) -> None:
        # tinyint(1) reads as the contract's boolean or integer (MySQL's BOOLEAN is tinyint(1)).
        names = [str(n) for n in columns.column("name").to_pylist()]
        types = [str(t or "") for t in columns.column("type").to_pylist()]
        logical = {c.name: c.logical_type for c in self.dataset.columns}
        found = {n: (t, mysql_dtype(t, logical.get(n))) for n, t in zip(names, types)}
        check_drift(self, self.table_label(), found, expect)

    def fetch(self, sql: str, expect: list[str] | None = None, handle: QueryHandle | None = None) -> pa.Table:
        """Run ``sql``; a cancel of ``handle`` sends ``KILL QUERY`` from a second connection.

        ``expect``: contract columns the statement touches, compared first with the
        table's columns on the same connection (:meth:`verify`).
        """
        handle = handle or QueryHandle()
        try:
            with self.session(handle) as connection:
                handle.check()
                if expect is not None:
                    self.verify(_arrow(connection, self.columns_sql()), expect)
                # Its id is read now: mysqlclient refuses any call on a connection busy in another thread.
                connection_id = connection.thread_id()
                with handle.statement(self.statement_label(), lambda: self._kill(connection_id)):
                    return _arrow(connection, sql)
        except MeshError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver failure is this source's failure
            if handle.cancelled:
                raise handle.error() from None
            raise self.failure(exc) from exc

    def failure(self, exc: BaseException):
        error = super().failure(exc)
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in STATEMENT_TIME_LIMIT:
            error = SourceTimeoutError(
                error.dataset,
                error.server,
                "the statement ran past the query's time limit (timeout=); it was cancelled",
            )
        elif code in (2002, 2003, 2013) and CONNECT_TIMED_OUT.search(str(exc)):
            error = SourceTimeoutError(
                error.dataset,
                error.server,
                f"no connection to {self.location()} within {seconds_text(self.limits.connect)} (timeouts.connect)",
            )
        elif code in (2002, 2003):  # the server's own text names the host only
            error = type(error)(error.dataset, error.server, f"cannot connect to {self.location()}: {exc.args[-1]}")
        secret = self._login()[1]
        if secret and secret in error.reason:  # never show a password
            error = type(error)(error.dataset, error.server, error.reason.replace(secret, "***"))
        return error

    def count_rows(self) -> int | None:
        """InnoDB's estimate (``information_schema.tables.table_rows``), refreshed by ANALYZE TABLE."""
        found = self._about_table("SELECT table_rows AS n FROM information_schema.tables WHERE {this}")
        values = found.column("n").to_pylist() if found is not None and found.num_rows else []
        return int(values[0]) if values and values[0] is not None else None

    def _about_table(self, sql: str) -> pa.Table | None:
        """``sql`` over ``information_schema`` with ``{this}`` naming this table; None when it fails
        (what it tells is optional: an estimate, an index)."""
        database = exp.Literal.string(self.dataset.server.database or "").sql(dialect="mysql")
        table = exp.Literal.string(self.dataset.physical_name).sql(dialect="mysql")
        try:
            return self.fetch(sql.format(this=f"table_schema = {database} AND table_name = {table}"))
        except Exception:  # noqa: BLE001 - optional, see above
            return None

    def joins_on(self, column: str) -> bool:
        """Whether an index starts with ``column``: without one, MariaDB and MySQL join by nested
        loops over the whole table (TPC-H q03 at SF0.01 took 23 s pushed down, under 1 s local)."""
        now = time.monotonic()
        cached = getattr(self, "_indexed", None)
        if cached is None or now - cached[1] > ROW_COUNT_SECONDS:
            cached = self._indexed = (self._leading_index_columns(), now)
        return column.lower() in cached[0]

    def _leading_index_columns(self) -> set[str]:
        found = self._about_table(
            "SELECT column_name AS name FROM information_schema.statistics WHERE {this} AND seq_in_index = 1"
        )
        return set() if found is None else {str(n).lower() for n in found.column("name").to_pylist()}


# -- rows -> Arrow ----------------------------------------------------------------------------
# The driver hands decimals, dates and times over as text (no Python objects per value):
# Arrow parses each column at once. Field type numbers of the MySQL protocol.
_AS_TEXT = {0, 246, 7, 10, 12, 14}
_DAY = datetime.timedelta(days=1)


def text_conversions() -> dict:
    """mysqlclient's conversions, less those of the types Arrow parses from text."""
    import MySQLdb.converters

    return {k: v for k, v in MySQLdb.converters.conversions.items() if k not in _AS_TEXT}


def _arrow(connection, sql: str) -> pa.Table:
    """Run ``sql`` on ``connection`` (opened with :func:`text_conversions`); its rows as Arrow,
    typed from the result's fields."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
        fields = cursor.description or ()
    finally:
        cursor.close()
    values = list(zip(*rows)) if rows else [() for _ in fields]
    return pa.table([_column(f, v) for f, v in zip(fields, values)], names=[f[0] for f in fields])


def _column(field: tuple, values: tuple) -> pa.Array:
    """One result column: ``field`` is the DB-API description (name, type code, ..., scale, ...)."""
    code, length, scale = field[1], field[3] or 0, field[5] or 0
    if code in (0, 246):  # DECIMAL: the declared precision is at most the display length less the point
        precision = min(max(length - (1 if scale else 0), scale, 1), 38)
        return _parsed(values, pa.decimal128(precision, scale))
    if code in (10, 14):
        return _parsed(values, pa.date32())
    if code in (7, 12):
        return _parsed(values, pa.timestamp("us"))
    if code == 11:  # a timedelta: TIME may exceed a day or be negative, and those are no time of day
        return pa.array(
            [(datetime.datetime.min + v).time() if v is not None and _DAY > v >= _DAY * 0 else None for v in values],
            type=pa.time64("us"),
        )
    if code in (1, 2, 3, 8, 9, 13):
        try:
            return pa.array(values, type=pa.int64())
        except OverflowError:  # BIGINT UNSIGNED past 2**63
            return pa.array(values, type=pa.uint64())
    if code in (4, 5):
        return pa.array(values, type=pa.float64())
    found: pa.Array = pa.array(values)  # text as str, binary collations as bytes
    return found.cast(pa.string()) if pa.types.is_null(found.type) else found


def _parsed(values: tuple, kind: pa.DataType) -> pa.Array:
    """Text values -> ``kind``; a value that does not parse (MySQL's zero date ``0000-00-00``,
    a TIME past a day) is null, found value by value only when the column has one."""
    text = pa.array(values, type=pa.string())
    try:
        return text.cast(kind)
    except pa.ArrowInvalid:
        if pa.types.is_decimal(kind):
            raise
        return pa.array([_parsed_one(v, kind) for v in text.to_pylist()], type=kind)


def _parsed_one(value: str | None, kind: pa.DataType):
    try:
        return None if value is None else pa.scalar(value).cast(kind).as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _read_timeout(handle: QueryHandle | None, pooled: bool) -> int | None:
    """The client's read limit, a backstop past the server's statement limit. A pooled
    connection serves later queries too: its limit is the query's whole limit, not what remains."""
    if handle is None or handle.remaining() is None:
        return None
    seconds = handle.limit if pooled and handle.limit is not None else handle.remaining()
    return int(math.ceil(seconds or 0)) + 5


class MysqlKind(SourceKind):
    """A MySQL or MariaDB table: ``type: mysql`` (or ``mariadb``) with host, port (3306), database;
    login from the environment variables the ``userEnv`` / ``passwordEnv`` custom properties name."""

    name = "mysql"
    spark_jars = ("mariadb-java-client.jar",)  # Debian's libmariadb-java; it speaks to MySQL too
    server_types = ("mysql", "mariadb")
    engines = ("mysql", "mariadb")
    required = ("host", "database")
    location_is_path = False

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        return MysqlSource(dataset)


KIND = MysqlKind()
