"""A MariaDB server on loopback, started from the server binaries for tests and benchmarks.

>>> with start_mariadb() as server:          # doctest: +SKIP
...     server.create_database("shop")
...     server.load_frame("shop", "orders", frame)

The server lives in a temporary folder (its own datadir, made by
``mariadb-install-db``), listens on 127.0.0.1 on a free port and is stopped and
removed on exit; no system service is involved. As root it runs with
``--user=root``. Administration goes through the ``mariadb`` command-line client
over the server's Unix socket as ``root`` (no password), so this module needs no
Python driver.

With ``log_statements=True`` (the default) the server writes its general query log
to a file and :meth:`MariadbServer.statements` returns what it received: the honest
way to test what was pushed down.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

SERVER_TOOLS = ("mariadbd", "mariadb-install-db", "mariadb")
START_SECONDS = 120.0  # a busy 2-core machine may take long; the wait ends as soon as the server answers
# A general-log entry: "YYMMDD HH:MM:SS" or blanks, a tab, the connection id, the command, a tab, its argument.
_ENTRY = re.compile(r"^(?:\d{6} [ \d]\d:\d\d:\d\d)?\t\s*(\d+) ([A-Za-z_ ]+?)\t(.*)$")
_STATEMENT_COMMANDS = ("Query", "Execute")


class MariadbUnavailable(RuntimeError):
    """The server cannot be started here (binaries missing)."""


@dataclass
class MariadbServer:
    """A running server; see :func:`start_mariadb`."""

    host: str
    port: int
    root: Path
    socket_path: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)
    _since: int = field(default=0, repr=False)

    # -- the statement log -------------------------------------------------------------
    def mark(self) -> int:
        """A position in the general log: pass it to ``statements(since=...)``."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def clear_log(self) -> None:
        """Make ``statements()`` report only what arrives from now on."""
        self._since = self.mark()

    def statements(self, since: int | None = None) -> list[str]:
        """SQL statements the server received since ``since`` (default: the last ``clear_log``),
        multi-line statements joined back with their newlines."""
        with open(self.log_path, "rb") as log:
            log.seek(self._since if since is None else since)
            text = log.read().decode("utf-8", errors="replace")
        return parse_general_log(text)

    # -- administration ------------------------------------------------------------------
    def execute(self, sql: str, database: str | None = None) -> str:
        """Run ``sql`` as root through the ``mariadb`` client; its tab-separated output."""
        command = ["mariadb", "--no-defaults", f"--socket={self.socket_path}", "-uroot", "--batch", "--local-infile=1"]
        result = subprocess.run(
            [*command, *([database] if database else [])], input=sql, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb failed ({result.returncode}): {result.stderr.strip()}\n{sql[:500]}")
        return result.stdout

    def create_database(self, name: str) -> None:
        self.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`")

    def create_user(self, user: str, password: str, database: str) -> None:
        """A login from any host that may read ``database`` (created if missing)."""
        self.create_database(database)
        quoted = password.replace("\\", "\\\\").replace("'", "\\'")
        self.execute(
            f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{quoted}';"
            f"GRANT SELECT, SHOW VIEW ON `{database}`.* TO '{user}'@'%';"
        )

    def load_frame(self, database: str, table: str, frame: pl.DataFrame, types: dict[str, str] | None = None) -> None:
        """Replace ``database.table`` with the rows of ``frame``; ``types`` overrides a column's
        MySQL type (default: :func:`mysql_column_type` of its Polars type)."""
        types = types or {}
        columns = ", ".join(f"`{n}` {types.get(n) or mysql_column_type(d)}" for n, d in frame.schema.items())
        path = self.root / f"load-{database}-{table}.csv"
        plain = frame.with_columns(pl.col(pl.Boolean).cast(pl.Int8))  # LOAD DATA reads 'true' as 0
        plain.write_csv(path, include_header=False, null_value="NULL", quote_style="non_numeric")
        try:
            self.execute(
                f"DROP TABLE IF EXISTS `{table}`; CREATE TABLE `{table}` ({columns});"
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{table}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n';"
                f"ANALYZE TABLE `{table}`;",
                database,
            )
        finally:
            path.unlink(missing_ok=True)


def mysql_column_type(dtype: pl.DataType) -> str:
    """The MySQL type a column of Polars type ``dtype`` is created with."""
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision or 38},{dtype.scale or 0})"
    if isinstance(dtype, pl.Datetime):
        return "DATETIME(6)"
    found = {
        pl.Int8: "TINYINT",
        pl.Int16: "SMALLINT",
        pl.Int32: "INT",
        pl.Int64: "BIGINT",
        pl.UInt32: "INT UNSIGNED",
        pl.Float32: "FLOAT",
        pl.Float64: "DOUBLE",
        pl.Boolean: "BOOLEAN",
        pl.Date: "DATE",
        pl.Time: "TIME(6)",
        pl.String: "VARCHAR(255)",
    }.get(dtype.base_type())
    if found is None:
        raise ValueError(f"no MySQL type for {dtype}")
    return found


def parse_general_log(text: str) -> list[str]:
    """The statements (``Query`` and ``Execute`` entries) of a general query log written to a file."""
    entries: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        entry = _ENTRY.match(line)
        if entry:
            entries.append((entry.group(2).strip(), [entry.group(3)]))
        elif entries and not line.startswith(("Time\t", "Tcp port:")) and " started with:" not in line:
            entries[-1][1].append(line)  # a newline inside the statement
    return [s for command, lines in entries if command in _STATEMENT_COMMANDS and (s := "\n".join(lines).strip())]


def unavailable_reason() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    missing = [tool for tool in SERVER_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"MariaDB binaries not on PATH ({', '.join(missing)}): apt-get install mariadb-server"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _install(data: Path, as_root: bool) -> None:
    command = [
        "mariadb-install-db",
        "--no-defaults",
        f"--datadir={data}",
        "--auth-root-authentication-method=normal",  # root over the socket, no password
        "--skip-test-db",
        "--skip-name-resolve",
        *(["--user=root"] if as_root else []),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _server_command(root: Path, port: int, as_root: bool, log_statements: bool) -> list[str]:
    return [
        "mariadbd",
        "--no-defaults",
        f"--datadir={root / 'data'}",
        f"--socket={root / 'mysqld.sock'}",
        f"--pid-file={root / 'mysqld.pid'}",
        f"--log-error={root / 'error.log'}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",  # the usual, case-insensitive default
        "--local-infile=1",
        "--innodb-buffer-pool-size=256M",
        "--innodb-flush-log-at-trx-commit=0",
        "--innodb-doublewrite=0",
        "--skip-log-bin",
        "--max-connections=100",
        *(
            ["--general-log=1", f"--general-log-file={root / 'general.log'}", "--log-output=FILE"]
            if log_statements
            else []
        ),
        *(["--user=root"] if as_root else []),
    ]


def _ping(socket_path: Path) -> bool:
    """Whether the server answers on its socket (the socket file appears before it accepts)."""
    if not socket_path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect(str(socket_path))
            return bool(sock.recv(1))  # the server's greeting: it is ready for logins
        except OSError:
            return False


def _start(root: Path, as_root: bool, log_statements: bool) -> tuple[subprocess.Popen, int]:
    """Start the server on a free port (another on a clash) and wait until it greets a client."""
    error_log = root / "error.log"
    for attempt in range(5):
        port = _free_port()
        process = subprocess.Popen(
            _server_command(root, port, as_root, log_statements), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if _ping(root / "mysqld.sock"):
                return process, port
            try:
                process.wait(timeout=0.05)  # a poll that also notices a server that gave up
            except subprocess.TimeoutExpired:
                continue
            break
        tail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else ""
        if process.poll() is None:
            _stop(process)
            raise RuntimeError(f"MariaDB did not answer within {START_SECONDS:.0f} s:\n{tail}")
        if "Address already in use" not in tail or attempt == 4:
            raise RuntimeError(f"MariaDB exited ({process.returncode}):\n{tail}")
    raise AssertionError("unreachable")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()  # SIGTERM: a clean shutdown
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def start_mariadb(log_statements: bool = True) -> Iterator[MariadbServer]:
    """Start a server on 127.0.0.1 in a temporary folder and stop it (and remove the folder) on exit.

    Parameters
    ----------
    log_statements
        Write the general query log (every statement received) to ``general.log``.

    Raises
    ------
    MariadbUnavailable
        When the server binaries are missing.
    """
    reason = unavailable_reason()
    if reason:
        raise MariadbUnavailable(reason)
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="meshlab-mariadb-"))
    process = None
    try:
        _install(root / "data", as_root)
        process, port = _start(root, as_root, log_statements)
        server = MariadbServer("127.0.0.1", port, root, root / "mysqld.sock", root / "general.log", process)
        server.clear_log()
        yield server
    finally:
        if process is not None and process.poll() is None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)
