"""PostgreSQL tables, read through ADBC (libpq).

Credentials come from the environment variables the server's ``userEnv`` /
``passwordEnv`` custom properties name, else libpq's ``PGUSER`` /
``PGPASSWORD``; they never appear in a contract, a plan or a message.
"""

from __future__ import annotations

import math
import os
import urllib.parse

import polars as pl
import pyarrow as pa
from sqlglot import exp

from meshlab.cancel import QueryHandle
from meshlab.catalog.contract import Dataset
from meshlab.catalog.types import postgres_dtype
from meshlab.errors import MeshError, SourceTimeoutError
from meshlab.limits import seconds_text, with_retries
from meshlab.sources.base import JdbcRead, Source
from meshlab.sources.database import DatabaseSource
from meshlab.sources.spi import SourceContext, SourceKind
from meshlab.sources.statistics import ColumnStatistics, TableStatistics, histogram_ends, postgres_distinct

#: the server's statement_timeout is a backstop: meshlab cancels at the deadline itself (its error
#: then names the query's limit), so the server's own limit falls a little after it
STATEMENT_GRACE_SECONDS = 1.0


def statement_milliseconds(handle: QueryHandle | None) -> int | None:
    """The ``statement_timeout`` for the query of ``handle``: its remaining time and a grace."""
    remaining = handle.remaining() if handle is not None else None
    return None if remaining is None else max(int((remaining + STATEMENT_GRACE_SECONDS) * 1000), 1)


class PostgresSource(DatabaseSource):
    """A table of a PostgreSQL database."""

    dialect = "postgres"
    kind = "postgres"
    mask_nodes = (exp.MD5,)
    join_work = 0.5
    sends_regex = True
    spark_read = "jdbc"

    def table(self) -> exp.Table:
        schema = self.dataset.server.schema
        return exp.table_(self.dataset.physical_name, db=schema, quoted=True)

    def _portable_range(self, node: exp.Expression) -> bool:
        # String order depends on the database's collation, which may not be
        # byte order as in Polars: keep string range predicates local.
        return "string" not in self._column_kinds(node)

    def integer_keys(self, column: str, keys: list[int]) -> exp.Expression:
        # One array literal: PostgreSQL parses it faster than an IN list of as many constants.
        array = exp.cast(exp.Literal.string("{" + ",".join(str(int(k)) for k in keys) + "}"), "BIGINT[]")
        return exp.EQ(this=exp.column(column), expression=exp.Any(this=exp.paren(array)))

    def location(self) -> str:
        server = self.dataset.server
        return f"{server.host}:{server.port or 5432}/{server.database}"

    def uri(self) -> str:
        server = self.dataset.server
        user = os.environ.get(server.property("userEnv") or "", "") or os.environ.get("PGUSER", "")
        password = os.environ.get(server.property("passwordEnv") or "", "") or os.environ.get("PGPASSWORD", "")
        auth = ""
        if user:
            auth = urllib.parse.quote(user, safe="")
            if password:
                auth += ":" + urllib.parse.quote(password, safe="")
            auth += "@"
        host = server.host or "localhost"
        return f"postgresql://{auth}{host}:{server.port or 5432}/{urllib.parse.quote(server.database or '')}"

    def connect_uri(self, handle: QueryHandle | None = None) -> str:
        """:meth:`uri` with the time limits: libpq's ``connect_timeout``, and the
        query's remaining time as the server's ``statement_timeout``."""
        limits = {"connect_timeout": str(max(int(math.ceil(self.limits.connect)), 2))}
        milliseconds = statement_milliseconds(handle)
        if milliseconds is not None:
            limits["options"] = f"-c statement_timeout={milliseconds}"
        return f"{self.uri()}?{urllib.parse.urlencode(limits, quote_via=urllib.parse.quote)}"

    def _connect(self, handle: QueryHandle | None = None, autocommit: bool = False):
        import adbc_driver_postgresql.dbapi as adbc

        uri = self.connect_uri(handle)
        return with_retries(
            lambda: adbc.connect(uri, autocommit=autocommit), self.limits, f"connecting to {self.location()}"
        )

    # -- connections: new per statement, or from the mesh's pool --------------------------
    def open_connection(self, handle: QueryHandle | None, pooled: bool = False):
        if not pooled:
            return self._connect(handle)
        # Autocommit: a pooled connection must not sit idle in a transaction (it would hold locks).
        return self._connect(None, autocommit=True)

    def pool_key(self, handle: QueryHandle) -> tuple:
        """What decides a connection: the server and login (:meth:`uri`), and the client
        settings libpq reads from the environment (``PGAPPNAME``, ``PGOPTIONS``, ...)."""
        client = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("PG")))
        return (self.kind, self.connect_uri(), client)

    def prepare_connection(self, connection, handle: QueryHandle) -> None:
        """The query's remaining time as ``statement_timeout``, else the session's default."""
        milliseconds = statement_milliseconds(handle)
        setting = "RESET statement_timeout" if milliseconds is None else f"SET statement_timeout = {milliseconds}"
        with connection.cursor() as cursor:
            cursor.execute(setting)

    def columns_sql(self) -> str:
        # The table's (or view's) own columns, by its quoted name: fast, unlike information_schema.
        name = exp.Literal.string(self.table().sql(dialect="postgres")).sql(dialect="postgres")
        return (
            "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a "
            f"WHERE a.attrelid = to_regclass({name}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )

    def declared_type(self, declared: str) -> pl.DataType:
        return postgres_dtype(declared)

    def stored_type(self, declared: str) -> pl.DataType:
        # A type meshlab does not know (an enum, an extension's) fails a schema check, where
        # a scan's drift check lets it through: the check is the place to be told.
        return postgres_dtype(declared, unknown=pl.Binary())

    def spark_jdbc(self) -> JdbcRead:
        parts = urllib.parse.urlsplit(self.uri())
        options = {}
        if parts.username:
            options["user"] = urllib.parse.unquote(parts.username)
        if parts.password:
            options["password"] = urllib.parse.unquote(parts.password)
        return JdbcRead(
            url=f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}{parts.path}",
            driver="org.postgresql.Driver",
            jars=("postgresql.jar",),
            package="libpostgresql-jdbc-java",
            options=tuple(options.items()),
        )

    def cancel_client_statements(self, application: str) -> int:
        """``pg_cancel_backend`` for every backend of the client named ``application``."""
        # In the select list, not the WHERE clause: PostgreSQL may evaluate WHERE terms
        # in any order, and would then cancel every backend it looks at (this one too).
        name = exp.Literal.string(application).sql(dialect="postgres")
        table = self.fetch(
            "SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity "
            f"WHERE application_name = {name} AND pid <> pg_backend_pid()"
        )
        return sum(bool(done) for done in table.column("cancelled").to_pylist())

    def table_label(self) -> str:
        return f"table {self.table().sql(dialect='postgres')} of {self.location()}"

    def fetch(self, sql: str, expect: list[str] | None = None, handle: QueryHandle | None = None) -> pa.Table:
        """Run ``sql``; a cancel of ``handle`` sends PostgreSQL a cancel request (from the
        cancelling thread) and the connection is closed.

        ``expect``: contract columns the statement touches, compared first with the
        table's columns on the same connection (:meth:`verify`).
        """
        handle = handle or QueryHandle()
        try:
            with self.session(handle) as connection:
                with connection.cursor() as cursor, handle.statement(self.statement_label(), cursor.adbc_cancel):
                    handle.check()
                    if expect is not None:
                        cursor.execute(self.columns_sql())
                        self.verify(cursor.fetch_arrow_table(), expect)
                    cursor.execute(sql)
                    table: pa.Table = cursor.fetch_arrow_table()
                    return table
        except MeshError:
            raise
        except Exception as exc:  # noqa: BLE001 - any driver failure is this source's failure
            if handle.cancelled:
                raise handle.error() from None
            raise self.failure(exc) from exc

    def failure(self, exc: BaseException):
        error = super().failure(exc)
        text = str(exc).lower()
        if "timeout expired" in text:  # libpq's connect_timeout
            error = SourceTimeoutError(
                error.dataset,
                error.server,
                f"no connection to {self.location()} within {seconds_text(self.limits.connect)} (timeouts.connect)",
            )
        elif "statement timeout" in text:
            error = SourceTimeoutError(
                error.dataset,
                error.server,
                "the statement ran past the query's time limit (timeout=); it was cancelled",
            )
        # libpq messages may echo the connection string; never show a password.
        secret = os.environ.get(self.dataset.server.property("passwordEnv") or "", "") or os.environ.get(
            "PGPASSWORD", ""
        )
        if secret and secret in str(error):
            error = type(error)(error.dataset, error.server, error.reason.replace(secret, "***"))
        return error

    def count_rows(self) -> int | None:
        schema = self.dataset.server.schema or "public"
        sql = (
            "SELECT c.reltuples::bigint AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
            f"WHERE c.relname = '{self.dataset.physical_name.replace(chr(39), chr(39) * 2)}' "
            f"AND s.nspname = '{schema.replace(chr(39), chr(39) * 2)}'"
        )
        try:
            table = self.fetch(sql)
        except Exception:  # noqa: BLE001 - an estimate is optional
            return None
        values = table.column("n").to_pylist() if table.num_rows else []
        return int(values[0]) if values and values[0] is not None and values[0] >= 0 else None

    def read_statistics(self) -> TableStatistics:
        """``pg_class.reltuples`` and the table's ``pg_stats`` (what ANALYZE gathered), in one statement."""
        schema = (self.dataset.server.schema or "public").replace("'", "''")
        name = self.dataset.physical_name.replace("'", "''")
        sql = (
            "SELECT c.reltuples::float8 AS n, s.attname::text AS col, s.n_distinct::float8 AS nd, "
            "s.null_frac::float8 AS nf, s.histogram_bounds::text AS hb "
            "FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace "
            "LEFT JOIN pg_stats s ON s.schemaname = ns.nspname AND s.tablename = c.relname "
            f"WHERE c.relname = '{name}' AND ns.nspname = '{schema}'"
        )
        table = self.fetch(sql).to_pylist()
        if not table or table[0]["n"] is None or table[0]["n"] < 0:
            return super().read_statistics()  # never analyzed: the row count alone
        rows = float(table[0]["n"])
        declared = {c.name.lower(): c.name for c in self.dataset.columns}
        columns = {}
        for row in table:
            found = declared.get((row["col"] or "").lower())
            if found is not None:
                low, high = histogram_ends(row["hb"])
                distinct = postgres_distinct(row["nd"], rows)
                columns[found] = ColumnStatistics(distinct, low, high, row["nf"] or 0.0)
        return TableStatistics(rows, columns, "pg_stats")


class PostgresKind(SourceKind):
    """A PostgreSQL table: ``type: postgres`` (or ``postgresql``) with host, port, database, schema;
    login from the environment variables named by the ``userEnv`` / ``passwordEnv`` custom properties."""

    name = "postgres"
    spark_jars = ("postgresql.jar",)
    server_types = ("postgres", "postgresql")
    engines = ("postgres", "postgresql")
    required = ("host", "database")
    location_is_path = False

    def open(self, dataset: Dataset, context: SourceContext) -> Source:
        return PostgresSource(dataset)


KIND = PostgresKind()
