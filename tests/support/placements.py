"""Test data placed in every source kind, and what each source says it received.

A :class:`Placement` is one source kind as the conformance suite
(``tests/test_source_conformance.py``) sees it: a writer that stores a polars
DataFrame there and returns the ODCS server block reading it back, and an
:class:`Evidence` reader that reports what the source was actually given while a
query ran -- from the source's own side, never from meshlab's plan alone:

- :class:`ServerLog`: a database server's statement log (PostgreSQL's
  ``log_statement=all``, :mod:`support.postgres_server`);
- :class:`LoggerTrace`: statements a driver's trace hook reports through a logger
  (SQLite's ``set_trace_callback`` with ``driver: sqlite3``);
- :class:`PolarsPlan`: the scan node of the plan Polars hands its reader (columns,
  filter, slice) and, for parquet, the row groups the reader says it read.

A writer is ``write(home, table, frame) -> server block``; it may be called several
times on one :class:`Home` (one table each), and owns how its kind stores each type.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl
import pytest

from meshlab.catalog.types import ddl_type
from support.contracts import local_files, postgres_db, sqlite_db
from support.received_sql import column_names, limit_of, scans_of

#: rows per parquet row group: small, so that a selective filter shows row groups skipped
ROW_GROUP_ROWS = 1000
PG_USER_ENV = "MESHLAB_CONFORMANCE_PGUSER"
MYSQL_USER_ENV, MYSQL_PASSWORD_ENV = "MESHLAB_CONFORMANCE_MYUSER", "MESHLAB_CONFORMANCE_MYPASSWORD"


@dataclass
class Home:
    """Where one kind's copy of the test data goes: a folder of its own, a database name of its
    own (server kinds), the services (session fixtures) its placement asked for."""

    folder: Path
    database: str
    services: dict[str, Any]
    setenv: Callable[[str, str], None]
    #: what a writer made once per home (a database created, a file opened)
    made: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Received:
    """What a source was given for one scan, as the source reports it."""

    #: the columns it was asked for: names (a statement), or how many (a file reader's projection)
    columns: frozenset[str] | int
    #: columns its filter tests (empty: it received no filter)
    filter_columns: frozenset[str] = frozenset()
    limit: int | None = None
    #: (read, of all) row groups or files, where the reader counts them
    units: tuple[int, int] | None = None


class Evidence(Protocol):
    """How a test reads what a kind's source received for the scan of ``table`` while ``run()`` ran."""

    def watch(self, home: Home, table: str, run: Callable[[], Any], lazy: Callable[[], pl.LazyFrame]) -> Received: ...


@dataclass(frozen=True)
class Placement:
    """One source kind in the conformance table."""

    #: the registered kind's name (``SourceKind.name``): several placements may share one (files)
    kind: str
    #: ``write(home, table, frame) -> ODCS server block``
    write: Callable[[Home, str, pl.DataFrame], dict]
    evidence: Evidence
    #: session fixtures it needs, by name (e.g. ``postgres_server``): in ``home.services``
    services: tuple[str, ...] = ()
    marks: tuple[pytest.MarkDecorator, ...] = ()


# -- evidence -----------------------------------------------------------------------------------
def _statement_scan(statements: list[str], table: str, dialect: str) -> Received:
    """The SELECT reading ``table`` among received statements, as a :class:`Received`."""
    scans = scans_of(statements, table, dialect)
    assert scans, f"no statement read {table}; received:\n" + "\n".join(statements)
    select = scans[-1]
    where = select.args.get("where")
    return Received(
        columns=frozenset(n for s in select.expressions for n in column_names(s)),
        filter_columns=frozenset(column_names(where)) if where is not None else frozenset(),
        limit=limit_of(select),
    )


@dataclass(frozen=True)
class ServerLog:
    """A server's own statement log: ``service`` is a fixture with ``mark()`` and ``statements(since=)``."""

    service: str
    dialect: str

    def watch(self, home, table, run, lazy) -> Received:
        server = home.services[self.service]
        start = server.mark()
        run()
        return _statement_scan(server.statements(since=start), table, self.dialect)


class _Collect(logging.Handler):
    def __init__(self, prefix: str):
        super().__init__(logging.DEBUG)
        self.prefix, self.lines = prefix, []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(self.prefix):
            self.lines.append(message[len(self.prefix) :])


@dataclass(frozen=True)
class LoggerTrace:
    """Statements a driver's trace hook logs to ``logger`` as ``prefix + statement``."""

    logger: str
    prefix: str
    dialect: str

    def watch(self, home, table, run, lazy) -> Received:
        log = logging.getLogger(self.logger)
        handler, level = _Collect(self.prefix), log.level
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
        try:
            run()
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
        return _statement_scan(handler.lines, table, self.dialect)


@dataclass(frozen=True)
class StatementHook:
    """Statements a source hands to a list of callbacks before running them (``module:LIST``,
    imported on use: DuckDB runs in this process and has no server log)."""

    hooks: str
    dialect: str

    def watch(self, home, table, run, lazy) -> Received:
        module, name = self.hooks.split(":")
        hooks: list[Callable[[str], None]] = getattr(importlib.import_module(module), name)
        statements: list[str] = []
        hooks.append(statements.append)
        try:
            run()
        finally:
            hooks.remove(statements.append)
        return _statement_scan(statements, table, self.dialect)


SCAN_NODE = re.compile(r"^\s*\w+ SCAN \[")
PROJECT = re.compile(r"PROJECT (\d+|\*)/(\d+) COLUMNS")
POLARS_COLUMN = re.compile(r'col\("([^"]+)"\)')
SLICE = re.compile(r"SLICE: Positive \{ offset: 0, len: (\d+) \}")
ROW_GROUPS = re.compile(r"(?:Predicate|Slice) pushdown: reading (\d+) / (\d+) row groups")


@contextlib.contextmanager
def polars_reader_log() -> Iterator[list[str]]:
    """Lines Polars' readers write to stderr (verbose) while the block runs: their own account."""
    lines: list[str] = []
    with tempfile.TemporaryFile() as captured, pl.Config(verbose=True):
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines.extend(captured.read().decode(errors="replace").splitlines())


@dataclass(frozen=True)
class PolarsPlan:
    """A kind Polars reads natively: the scan node of the optimized plan, and with
    ``counts_row_groups`` the row groups the parquet reader reports reading."""

    counts_row_groups: bool = False

    def watch(self, home, table, run, lazy) -> Received:
        plan = lazy().explain().splitlines()
        starts = [i for i, line in enumerate(plan) if SCAN_NODE.match(line)]
        assert len(starts) == 1, "expected one scan in the plan:\n" + "\n".join(plan)
        node = []
        for line in plan[starts[0] + 1 :]:
            if SCAN_NODE.match(line) or not re.match(r"^\s*[A-Z ]+:|^\s*PROJECT", line):
                break
            node.append(line)
        text = "\n".join(node)
        projected = PROJECT.search(text)
        assert projected, "the scan node shows no projection:\n" + "\n".join(plan)
        selection = next((line for line in node if "SELECTION:" in line), "")
        sliced = SLICE.search(text)
        units = None
        with polars_reader_log() as log:
            run()
        if self.counts_row_groups:
            counts = [tuple(map(int, m.groups())) for line in log if (m := ROW_GROUPS.search(line))]
            assert counts, "the parquet reader reported no row groups:\n" + "\n".join(log[-40:])
            units = (sum(c[0] for c in counts), sum(c[1] for c in counts))
        return Received(
            columns=int(projected.group(2) if projected.group(1) == "*" else projected.group(1)),
            filter_columns=frozenset(POLARS_COLUMN.findall(selection)),
            limit=int(sliced.group(1)) if sliced else None,
            units=units,
        )


# -- writers ------------------------------------------------------------------------------------
def _plain_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals as floats: what text formats and SQLite (REAL) store."""
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))


def write_parquet(home: Home, table: str, frame: pl.DataFrame) -> dict:
    path = home.folder / f"{table}.parquet"
    frame.write_parquet(path, row_group_size=ROW_GROUP_ROWS)
    return local_files(str(path))


def write_csv(home: Home, table: str, frame: pl.DataFrame) -> dict:
    path = home.folder / f"{table}.csv"
    frame.write_csv(path)
    return local_files(str(path), "csv")


def write_ndjson(home: Home, table: str, frame: pl.DataFrame) -> dict:
    path = home.folder / f"{table}.ndjson"
    _plain_numbers(frame).write_ndjson(path)
    return local_files(str(path), "json")


def write_arrow(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """An Arrow IPC file, read by the ``meshlab-arrow-ipc`` plugin (tests/plugins)."""
    path = home.folder / f"{table}.arrow"
    frame.write_ipc(path)
    return local_files(str(path), "arrow")


def write_sqlite(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """A table of one SQLite file, read with the standard library's driver (its trace hook
    is the evidence); dates as ISO text, decimals as REAL, as meshlab's type table says."""
    path = home.folder / "conformance.sqlite"
    columns = ", ".join(f'"{name}" {ddl_type(dtype, "sqlite")}' for name, dtype in frame.schema.items())
    rows = _plain_numbers(frame).with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(f'CREATE TABLE "{table}" ({columns})')
        db.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" * frame.width)})', rows.iter_rows())
        db.execute("ANALYZE")
    return sqlite_db(str(path), driver="sqlite3")


def write_postgres(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """A table of the home's own database on the session's server, loaded by COPY and ANALYZEd."""
    import psycopg

    server = home.services["postgres_server"]
    if "database" not in home.made:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {home.database}")
            conn.execute(f"CREATE DATABASE {home.database}")
        home.setenv(PG_USER_ENV, server.user)
        home.made.add("database")
    columns = ", ".join(f"{name} {ddl_type(dtype, 'postgres')}" for name, dtype in frame.schema.items())
    with psycopg.connect(server.dsn_for(home.database), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE public.{table} ({columns})")
        with conn.cursor() as cur, cur.copy(f"COPY public.{table} FROM STDIN (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False).encode())
        conn.execute(f"ANALYZE public.{table}")
    return postgres_db(server.host, server.port, home.database, user_env=PG_USER_ENV)


def write_duckdb(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """A table of one DuckDB file, with the frame's own types (``type: duckdb``)."""
    import duckdb

    path = home.folder / "conformance.duckdb"
    with closing(duckdb.connect(str(path))) as db:
        db.register("incoming", frame.to_arrow())
        db.execute(f'CREATE TABLE "{table}" AS SELECT * FROM incoming')
    return {"server": "duckdb", "type": "duckdb", "database": str(path)}


def write_mysql(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """A table of the home's own database on the session's MariaDB server (``mariadb_server``),
    read by a login that may only SELECT there."""
    server = home.services["mariadb_server"]
    if "database" not in home.made:
        server.create_user("conformance", "conformance", home.database)
        home.setenv(MYSQL_USER_ENV, "conformance")
        home.setenv(MYSQL_PASSWORD_ENV, "conformance")
        home.made.add("database")
    server.load_frame(home.database, table, frame)
    properties = [
        {"property": "userEnv", "value": MYSQL_USER_ENV},
        {"property": "passwordEnv", "value": MYSQL_PASSWORD_ENV},
    ]
    return {"server": "mysql", "type": "mysql", "host": server.host, "port": server.port, "database": home.database,
            "customProperties": properties}  # fmt: skip


def write_delta(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """A Delta table (its folder holds ``_delta_log``), row groups small enough to be pruned."""
    from deltalake import WriterProperties

    path = home.folder / f"{table}.delta"
    frame.write_delta(
        str(path), delta_write_options={"writer_properties": WriterProperties(max_row_group_size=ROW_GROUP_ROWS)}
    )
    return local_files(str(path), "delta")


def write_iceberg(home: Home, table: str, frame: pl.DataFrame) -> dict:
    """An Iceberg table in a SQLite-backed catalog; the server names its metadata file."""
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse = home.folder / "warehouse"
    warehouse.mkdir(exist_ok=True)
    catalog = SqlCatalog("default", uri=f"sqlite:///{home.folder / 'iceberg.db'}", warehouse=warehouse.as_uri())
    catalog.create_namespace_if_not_exists("conformance")
    created = catalog.create_table(f"conformance.{table}", schema=frame.to_arrow().schema)
    created.append(frame.to_arrow())
    return local_files(catalog.load_table(f"conformance.{table}").metadata_location.removeprefix("file://"), "iceberg")
