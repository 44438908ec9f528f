"""A PostgreSQL cluster on loopback, started from the server binaries for tests and benchmarks.

>>> with start_postgres() as server:          # doctest: +SKIP
...     server.dsn_for("postgres")
'host=127.0.0.1 port=54321 user=postgres dbname=postgres'

The cluster lives in a temporary folder that is removed afterwards, or in a folder
the caller names (``root=``), which is kept so that a loaded database can be reused
on the next start (the benchmarks cache their TPC-H data that way). PostgreSQL
refuses to run as root: as root, the folder is handed to the ``postgres`` OS user and
``initdb`` / ``pg_ctl`` run through ``runuser``.

With ``log_statements=True`` (the default) the server logs every statement it
receives (``log_statement=all``) and :meth:`PostgresServer.statements` returns them:
the honest way to test what was pushed down.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PG_USER = "postgres"
# A prefix no statement text can start a line with: continuation lines of a multi-line
# message start with a tab, so every line starting with this prefix opens a new message.
LOG_PREFIX = "@@pg@@ "
_STATEMENT_TAG = "LOG:  statement: "
_EXECUTE_TAG = "LOG:  execute "
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here (binaries missing, no OS user to run it as)."""


@dataclass
class PostgresServer:
    """A running cluster; see :func:`start_postgres`."""

    host: str
    port: int
    user: str
    root: Path
    log_path: Path
    _since: int = field(default=0, repr=False)

    @property
    def dsn(self) -> str:
        """libpq connection string of the ``postgres`` database."""
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def uri_for(self, database: str) -> str:
        """``postgresql://`` URI of ``database`` (trust authentication: no password)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def mark(self) -> int:
        """A position in the log: pass it to ``statements(since=...)``."""
        return self.log_path.stat().st_size

    def clear_log(self) -> None:
        """Make ``statements()`` report only what arrives from now on."""
        self._since = self.mark()

    def statements(self, since: int | None = None) -> list[str]:
        """SQL statements the server logged since ``since`` (default: the last ``clear_log``).

        Both simple-protocol (``statement:``) and extended-protocol (``execute <name>:``)
        entries are returned, multi-line statements joined back with their newlines.
        """
        with open(self.log_path, "rb") as log:
            log.seek(self._since if since is None else since)
            text = log.read().decode("utf-8", errors="replace")
        return parse_statement_log(text)


@contextmanager
def user_env(variable: str, user: str) -> Iterator[None]:
    """``variable`` set to ``user`` while the block runs (a contract's ``userEnv`` names it),
    put back as it was after."""
    previous = os.environ.get(variable)
    os.environ[variable] = user
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous


def parse_statement_log(text: str) -> list[str]:
    """The statements in a PostgreSQL stderr log written with :data:`LOG_PREFIX`."""
    messages: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(LOG_PREFIX):
            messages.append([line[len(LOG_PREFIX) :]])
        elif messages:
            # PostgreSQL writes a tab after every newline inside one message.
            messages[-1].append(line[1:] if line.startswith("\t") else line)
    statements = []
    for first, *rest in messages:
        if first.startswith(_STATEMENT_TAG):
            head = first[len(_STATEMENT_TAG) :]
        elif first.startswith(_EXECUTE_TAG):
            # "execute <unnamed>: SQL", "execute S_1: SQL", "execute fetch from P/S: SQL"
            _, sep, head = first[len(_EXECUTE_TAG) :].partition(": ")
            if not sep:
                continue
        else:
            continue
        statement = "\n".join([head, *rest])
        if statement.strip():  # drivers ping with empty queries
            statements.append(statement)
    return statements


def unavailable_reason() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    missing = [tool for tool in SERVER_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"PostgreSQL server binaries not on PATH ({', '.join(missing)}): install PostgreSQL 15"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root and there is no '{PG_USER}' OS user to run PostgreSQL as"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command: list[str], as_postgres: bool) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", PG_USER, "--"] if as_postgres else []
    return subprocess.run(prefix + command, capture_output=True, text=True, timeout=120)


def _check(result: subprocess.CompletedProcess, what: str, log: Path | None = None) -> None:
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{tail}")


def _server_settings(port: int, socket_dir: Path, log_statements: bool) -> str:
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{socket_dir}'",
        "log_statement": "'all'" if log_statements else "'none'",
        "log_destination": "'stderr'",
        "logging_collector": "off",
        "log_line_prefix": f"'{LOG_PREFIX}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "50",
    }
    return "".join(f"{key} = {value}\n" for key, value in settings.items())


def _prepare(root: Path, as_root: bool) -> tuple[Path, Path, Path]:
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir(parents=True, exist_ok=True)
    log.touch()
    if as_root:
        for path in (root, sockets, log):
            shutil.chown(path, user=PG_USER, group=PG_USER)
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)  # a half-made cluster from an interrupted run
        init = ["initdb", "-D", str(data), "-A", "trust", "-U", PG_USER, "-E", "UTF8", "--locale=C", "--no-sync"]
        _check(_run(init, as_root), "initdb")
        (data / "postgresql.base.conf").write_text((data / "postgresql.conf").read_text())
    return data, sockets, log


def _start(data: Path, sockets: Path, log: Path, as_root: bool, log_statements: bool) -> int:
    base_conf = (data / "postgresql.base.conf").read_text()
    for attempt in range(5):
        port = _free_port()
        (data / "postgresql.conf").write_text(base_conf + _server_settings(port, sockets, log_statements))
        start = _run(["pg_ctl", "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"], as_root)
        if start.returncode == 0:
            return port
        if attempt == 4:
            _check(start, "pg_ctl start", log)
    raise AssertionError("unreachable")


@contextmanager
def start_postgres(root: Path | None = None, log_statements: bool = True) -> Iterator[PostgresServer]:
    """Start a cluster on 127.0.0.1 (trust authentication) and stop it on exit.

    Parameters
    ----------
    root
        Folder holding the cluster, kept afterwards and reused by the next start;
        None: a temporary folder, removed on exit.
    log_statements
        Log every statement received (``log_statement=all``); costs a little per query.

    Raises
    ------
    PostgresUnavailable
        When the server binaries or the OS user to run them as are missing, or a
        server already runs on ``root``.
    """
    reason = unavailable_reason()
    if reason:
        raise PostgresUnavailable(reason)
    as_root = os.geteuid() == 0
    # Not under pytest's tmp_path: that tree is 0700 root, which the postgres user can't enter.
    owned = root is None
    root = Path(tempfile.mkdtemp(prefix="meshlab-pg-")) if owned else Path(root).resolve()
    data = root / "data"
    if (data / "postmaster.pid").exists():
        # Another process's server: stopping it on the way out would pull it from under it.
        raise PostgresUnavailable(f"a PostgreSQL server already runs on {data} (postmaster.pid)")
    try:
        data, sockets, log = _prepare(root, as_root)
        port = _start(data, sockets, log, as_root, log_statements)
        server = PostgresServer(host="127.0.0.1", port=port, user=PG_USER, root=root, log_path=log)
        server.clear_log()
        yield server
    finally:
        if (data / "postmaster.pid").exists():  # also after a start that timed out
            mode = "immediate" if owned else "fast"  # a kept cluster must shut down cleanly
            _run(["pg_ctl", "-D", str(data), "-m", mode, "-w", "stop"], as_root)
        if owned:
            shutil.rmtree(root, ignore_errors=True)
