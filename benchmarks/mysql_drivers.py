"""Which Python driver meshlab's MySQL/MariaDB source should use: measured on a real server.

Starts a throwaway MariaDB (``tests/support/mariadb_server.py``), loads ``--rows`` rows x 4
columns (BIGINT, DECIMAL(15,2), DATE, VARCHAR(40)) and, for each driver installed, reports:

* fetch: the whole table into a pyarrow Table (decimals as decimal128, dates as date32),
  median of ``--repeat`` runs;
* refused: how long a connect to a port nothing listens on takes to fail;
* cancel: whether ``KILL QUERY <id>`` from a second connection stops a running statement,
  and how long the statement took to give up;
* time limit: whether ``SET STATEMENT max_statement_time=1 FOR ...`` (MariaDB's server-side
  statement limit) goes through the driver and stops a long statement.

The row ``meshlab (mysqlclient)`` is how :class:`meshlab.sources.mysql.MysqlSource` reads: mysqlclient
handing decimals and dates over as text, which Arrow parses a column at a time.

Usage: ``PYTHONPATH=. python benchmarks/mysql_drivers.py [--rows 1000000] [--repeat 3]`` with the candidates
installed (``pip install pymysql mysqlclient mysql-connector-python connectorx``; mysqlclient
builds from source: ``apt-get install libmariadb-dev pkg-config``). mysql-connector-python runs pure
Python (``use_pure=True``): its C extension needs OpenSSL 3.2, newer than Debian 12 has.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import socket
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import _support_path  # noqa: F401
import polars as pl
import pyarrow as pa
from support.mariadb_server import start_mariadb

USER, PASSWORD, DATABASE = "bench", "bench-pw", "bench"
SCHEMA = pa.schema([("id", pa.int64()), ("amount", pa.decimal128(15, 2)), ("day", pa.date32()), ("note", pa.string())])
LONG = "SELECT count(*) AS n FROM big a, big b, big c WHERE a.id + b.id + c.id < 0"  # hours unless stopped


def rows_frame(rows: int) -> pl.DataFrame:
    i = pl.int_range(0, rows, dtype=pl.Int64)
    return pl.select(
        id=i,
        amount=((i * 7919) % 10_000_000).cast(pl.Decimal(15, 0)) / 100,
        day=pl.date(2020, 1, 1) + pl.duration(days=i % 2000),
        note=pl.format("order {} of customer {}", i, i % 977),
    ).with_columns(pl.col("amount").cast(pl.Decimal(15, 2)), pl.col("day").cast(pl.Date))


# -- the candidates: connect, fetch as Arrow, the connection's id ----------------------------
def dbapi_arrow(cursor: Any, sql: str) -> pa.Table:
    """A DB-API driver's rows -> Arrow, column by column (types from the Python values)."""
    cursor.execute(sql)
    rows = cursor.fetchall()
    names = [d[0] for d in cursor.description]
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return pa.table(
        [pa.array(c, type=SCHEMA.field(n).type if n in SCHEMA.names else None) for n, c in zip(names, columns)],
        names=names,
    )


def pymysql_connect(port: int, timeout: float = 10):
    import pymysql

    return pymysql.connect(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DATABASE, connect_timeout=timeout
    )


def mysqlclient_connect(port: int, timeout: float = 10):
    import MySQLdb

    return MySQLdb.connect(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DATABASE, connect_timeout=int(timeout)
    )


def connector_connect(port: int, timeout: float = 10):
    import mysql.connector

    return mysql.connector.connect(
        host="127.0.0.1",
        port=port,
        user=USER,
        password=PASSWORD,
        database=DATABASE,
        connection_timeout=int(timeout),
        use_pure=True,
    )


def meshlab_connect(port: int, timeout: float = 10):
    """mysqlclient as :class:`meshlab.sources.mysql.MysqlSource` opens it: decimals and dates as text."""
    import MySQLdb

    from meshlab.sources.mysql import text_conversions

    return MySQLdb.connect(
        host="127.0.0.1", port=port, user=USER, password=PASSWORD, database=DATABASE,
        connect_timeout=int(timeout), conv=text_conversions(), charset="utf8mb4",
    )  # fmt: skip


DBAPI: dict[str, tuple[str, Callable[..., Any], Callable[[Any], int]]] = {
    "pymysql": ("pymysql", pymysql_connect, lambda c: c.thread_id()),
    "mysqlclient": ("MySQLdb", mysqlclient_connect, lambda c: c.thread_id()),
    "mysql-connector-python": ("mysql.connector", connector_connect, lambda c: c.connection_id),
    "meshlab (mysqlclient)": ("meshlab", meshlab_connect, lambda c: c.thread_id()),
}


def connectorx_fetch(port: int, sql: str) -> pa.Table:
    import connectorx as cx

    return cx.read_sql(f"mysql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}", sql, return_type="arrow")


def fetcher(name: str, port: int) -> Callable[[str], pa.Table]:
    if name == "connectorx":
        return lambda sql: connectorx_fetch(port, sql)
    if name == "meshlab (mysqlclient)":
        from meshlab.sources.mysql import _arrow

        def fetch_as_meshlab(sql: str) -> pa.Table:
            connection = meshlab_connect(port)
            try:
                return _arrow(connection, sql)
            finally:
                connection.close()

        return fetch_as_meshlab
    _, connect, _ = DBAPI[name]

    def fetch(sql: str) -> pa.Table:
        connection = connect(port)
        try:
            return dbapi_arrow(connection.cursor(), sql)
        finally:
            connection.close()

    return fetch


# -- the measurements ------------------------------------------------------------------------
def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    try:
        outcome: Any = action()
    except Exception as exc:  # noqa: BLE001 - a failure is a figure here
        outcome = exc
    return time.perf_counter() - started, outcome


def fetch_seconds(fetch: Callable[[str], pa.Table], rows: int, repeat: int) -> tuple[float, str]:
    times, types = [], ""
    for _ in range(repeat):
        seconds, table = timed(lambda: fetch("SELECT id, amount, day, note FROM big"))
        if isinstance(table, Exception):
            return float("nan"), f"failed: {table}"
        assert table.num_rows == rows, table.num_rows
        times.append(seconds)
        types = ", ".join(str(t) for t in table.schema.types)
    return statistics.median(times), types


def refused_seconds(name: str) -> tuple[float, str]:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    if name == "connectorx":
        seconds, outcome = timed(lambda: connectorx_fetch(port, "SELECT 1"))
    else:
        seconds, outcome = timed(lambda: DBAPI[name][1](port, 10))
    return seconds, type(outcome).__name__


def stopped_by(name: str, port: int, sql: str, stop: Callable[[int, str], None]) -> tuple[float, str]:
    """Run ``sql`` in a thread; ``stop(connection id, marker)`` once it runs; how long it took to end."""
    marker = f"/* bench-{name}-{time.monotonic_ns()} */"
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def run() -> None:
        if name == "connectorx":
            outcome["id"] = None
            started.set()
            outcome["seconds"], outcome["result"] = timed(lambda: connectorx_fetch(port, f"{sql} {marker}"))
            return
        _, connect, connection_id = DBAPI[name]
        try:
            connection = connect(port)
        except Exception as exc:  # noqa: BLE001 - reported
            outcome["seconds"], outcome["result"] = float("nan"), exc
            started.set()
            return
        outcome["id"] = connection_id(connection)
        started.set()
        try:
            outcome["seconds"], outcome["result"] = timed(lambda: dbapi_arrow(connection.cursor(), f"{sql} {marker}"))
        finally:
            connection.close()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    started.wait(30)
    stop(outcome.get("id") or 0, marker)
    worker.join(60)
    if worker.is_alive():
        return float("nan"), "still running after 60 s"
    result = outcome["result"]
    return outcome["seconds"], (str(result).splitlines()[0][:70] if isinstance(result, Exception) else "no error")


def kill_query(port: int) -> Callable[[int, str], None]:
    def stop(connection_id: int, marker: str) -> None:
        admin = mysqlclient_connect(port) if importlib.util.find_spec("MySQLdb") else pymysql_connect(port)
        try:
            cursor = admin.cursor()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # wait until the statement shows in the process list
                cursor.execute("SELECT id FROM information_schema.processlist WHERE info LIKE %s", (f"%{marker}%",))
                found = [r[0] for r in cursor.fetchall() if r[0] != admin.thread_id()]
                if found:
                    cursor.execute(f"KILL QUERY {connection_id or found[0]}")
                    return
        finally:
            admin.close()

    return stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = [n for n, (module, *_rest) in DBAPI.items() if importlib.util.find_spec(module.split(".")[0])]
    if importlib.util.find_spec("connectorx"):
        names.append("connectorx")
    if not importlib.util.find_spec("MySQLdb"):
        names.remove("meshlab (mysqlclient)")
    with start_mariadb(log_statements=False) as server:
        server.create_user(USER, PASSWORD, DATABASE)
        server.load_frame(DATABASE, "big", rows_frame(args.rows), {"note": "VARCHAR(40)", "amount": "DECIMAL(15,2)"})
        version = server.execute("SELECT VERSION()").split()[-1]
        print(f"MariaDB {version}, {args.rows:,} rows x 4 columns, median of {args.repeat}; {platform.platform()}")
        print(f"{'driver':24} {'fetch s':>8} {'refused s':>9}  {'KILL QUERY':40}  max_statement_time=1  | Arrow types")
        for name in names:
            fetch_s, types = fetch_seconds(fetcher(name, server.port), args.rows, args.repeat)
            refused_s, _ = refused_seconds(name)
            kill_s, kill_note = stopped_by(name, server.port, LONG, kill_query(server.port))
            limit_s, limit_note = stopped_by(
                name, server.port, f"SET STATEMENT max_statement_time=1 FOR {LONG}", lambda *_: None
            )
            print(
                f"{name:24} {fetch_s:8.2f} {refused_s:9.3f}  {kill_s:5.2f} s {kill_note[:32]:32}  "
                f"{limit_s:5.2f} s {limit_note[:40]}  | {types}"
            )


if __name__ == "__main__":
    main()
