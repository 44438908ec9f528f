"""Server mode as a security boundary, on a real Jupyter server and the tests' PostgreSQL.

Confinement of local paths, the event loop free while the status store is
locked and slow queries run, per-user fairness, a query worker killed
mid-query, a client that goes away mid-statement (checked in
``pg_stat_activity``), and a stable identity for token clients.

The slow dataset is a PostgreSQL view that sleeps: while it runs, its backend
is ``active`` in ``pg_stat_activity`` under the application name of the worker
process running it (``meshlab-worker-<pid>``), so every assertion waits on
server-side state, never on the clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import psycopg
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from support.lakehouse import write_delta_history, write_iceberg_history
from test_server import contract, write_yaml

import meshlab

pytest_plugins = ("pytest_jupyter.jupyter_server",)

PG_DATABASE = "isolation"
USER_ENV = "MESHLAB_ISOLATION_PGUSER"
SLOW_VIEW = "slow_scan"
USERS = {"tok-ann": "ann", "tok-ben": "ben", "tok-cal": "cal", "tok-dan": "dan"}
STATE_BOUND = 180.0  # "does not hang" bound for waits on server-side state (a shared machine)


class TokenUsers(IdentityProvider):
    """A token per named user, as JupyterHub gives; ``tok-user-N`` is user N (for many users)."""

    def get_user(self, handler):
        token = handler.request.headers.get("Authorization", "").removeprefix("token ").strip()
        name = USERS.get(token) or (token.removeprefix("tok-") if token.startswith("tok-user-") else None)
        handler._token_authenticated = bool(name)
        return User(username=name, name=name) if name else None


# -- the mesh ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the mesh: a CSV and a SQLite file the mesh must not read unless allowed."""
    folder = tmp_path_factory.mktemp("outside-the-mesh")
    (folder / "secrets.csv").write_text("id,secret\n1,outside-secret-7731\n")
    with sqlite3.connect(folder / "other.sqlite") as db:
        db.execute("CREATE TABLE secrets (id INTEGER, secret TEXT)")
        db.execute("INSERT INTO secrets VALUES (1, 'outside-secret-7731')")
    secrets = pl.DataFrame({"id": [1], "secret": ["outside-secret-7731"]})
    with duckdb.connect(str(folder / "other.duckdb")) as db:
        db.execute("CREATE TABLE secrets AS SELECT * FROM secrets")
    write_delta_history(folder / "secrets_delta", [secrets])
    write_iceberg_history(folder / "warehouse", f"sqlite:///{folder}/catalog.db", "leak.secrets", [secrets])
    return folder


def _csv(path: str) -> dict:
    return {"server": "files", "type": "local", "format": "csv", "path": path}


def _iceberg_catalog(uri: str) -> dict:
    properties = [{"property": "catalog", "value": uri}, {"property": "table", "value": "leak.secrets"}]
    return {"server": "lake", "type": "custom", "format": "iceberg", "customProperties": properties}


def _copied_metadata(outside: Path, data: Path) -> Path:
    """The outside Iceberg table's current metadata file, copied into the mesh's data folder."""
    newest = max((outside / "warehouse").glob("**/metadata/*.metadata.json"), key=lambda p: p.stat().st_mtime)
    copy = data / "secrets-iceberg" / "metadata" / newest.name
    copy.parent.mkdir(parents=True)
    shutil.copy(newest, copy)
    return copy


@pytest.fixture(scope="module")
def mesh_path(tmp_path_factory, postgres_server, outside) -> Path:
    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
    with psycopg.connect(postgres_server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute(f"CREATE VIEW public.{SLOW_VIEW} AS SELECT g AS id FROM generate_series(1, 3) AS g, pg_sleep(600)")
    root = tmp_path_factory.mktemp("isolated-mesh")
    data = root / "data"
    data.mkdir()
    pl.DataFrame({"user_id": [1, 2, 3], "country": ["DE", "SE", "FR"]}).write_parquet(data / "plays.parquet")
    (data / "passwd-link.csv").symlink_to("/etc/passwd")
    (data / "outside-link").symlink_to(outside, target_is_directory=True)
    id_col = [{"name": "id", "logicalType": "integer"}]
    secret_cols = [*id_col, {"name": "secret", "logicalType": "string"}]
    plays_cols = [{"name": "user_id", "logicalType": "integer"}, {"name": "country", "logicalType": "string"}]
    lake = {"server": "lake", "type": "local", "format": "parquet", "path": "../../data/plays.parquet"}
    slow = {
        "server": "pg",
        "type": "postgres",
        "host": postgres_server.host,
        "port": postgres_server.port,
        "database": PG_DATABASE,
        "schema": "public",
        "customProperties": [{"property": "userEnv", "value": USER_ENV}],
    }
    leaks = {
        "passwd": (_csv("/etc/passwd"), [{"name": "root", "logicalType": "string"}]),
        "linked": (_csv("../../data/passwd-link.csv"), [{"name": "root", "logicalType": "string"}]),
        "via_folder_link": (_csv("../../data/outside-link/*.csv"), secret_cols),
        "outside_csv": (_csv(str(outside / "secrets.csv")), secret_cols),
        "outside_db": ({"server": "db", "type": "sqlite", "path": str(outside / "other.sqlite")}, secret_cols),
        "url_scheme": (_csv("file:///etc/passwd"), [{"name": "root", "logicalType": "string"}]),
        "outside_duckdb": ({"server": "db", "type": "duckdb", "database": str(outside / "other.duckdb")}, secret_cols),
        "outside_delta": (
            {"server": "lake", "type": "local", "format": "delta", "path": str(outside / "secrets_delta")},
            secret_cols,
        ),
        "outside_iceberg_catalog": (_iceberg_catalog(f"sqlite:///{outside}/catalog.db"), secret_cols),
        # The table's metadata file is inside the mesh; the data files it names are not.
        "iceberg_files_outside": (
            {"server": "lake", "type": "local", "format": "iceberg", "path": str(_copied_metadata(outside, data))},
            secret_cols,
        ),
    }
    domains = root / "domains"
    write_yaml(domains / "lake" / "plays.odcs.yaml", contract("lake", "plays", [lake], plays_cols))
    write_yaml(domains / "pg" / "slow.odcs.yaml", contract("pg", SLOW_VIEW, [slow], id_col))
    for name, (server, columns) in leaks.items():
        document = contract("leak", name, [server], columns)
        document["schema"][0]["physicalName"] = "secrets" if name in ("outside_db", "outside_duckdb") else name
        write_yaml(domains / "leak" / f"{name}.odcs.yaml", document)
    manifest = {
        "mesh": "isolated",
        "domains": {"lake": "domains/lake", "pg": "domains/pg", "leak": "domains/leak"},
        "audit": {"log": "audit/queries.jsonl"},
    }
    write_yaml(root / "mesh.yaml", manifest)
    return root / "mesh.yaml"


@pytest.fixture(autouse=True)
def pg_user(monkeypatch, postgres_server):
    monkeypatch.setenv(USER_ENV, postgres_server.user)  # before the server (and its workers) start


@pytest.fixture
def extra_options() -> dict:
    """More ``MeshlabApp`` options for one test (parametrize it)."""
    return {}


@pytest.fixture
def meshlab_options(mesh_path, extra_options, outside) -> dict:
    options = {"mesh": str(mesh_path), "reload_interval": 0.0, "query_workers": 2, "max_queries_per_user": 2}
    if extra_options.get("allowed_roots") == ["OUTSIDE"]:
        extra_options = {**extra_options, "allowed_roots": [str(outside)]}
    return {**options, **extra_options}


@pytest.fixture
def identity_class() -> str | None:
    return f"{__name__}.TokenUsers"


@pytest.fixture
def jp_server_config(meshlab_options, identity_class):
    server = {"jpserver_extensions": {"meshlab": True}}
    if identity_class:
        server["identity_provider_class"] = identity_class
    return {"ServerApp": server, "MeshlabApp": meshlab_options}


@pytest.fixture(autouse=True)
def no_stray_statements(postgres_server):
    """Whatever a test leaves running on PostgreSQL is ended after it (and counted by the test itself)."""
    yield
    with psycopg.connect(postgres_server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
            (f"%{SLOW_VIEW}%",),
        )


# -- helpers -----------------------------------------------------------------------------
def as_user(token: str) -> dict:
    return {"Authorization": f"token {token}"}


async def fetch(jp_fetch, *path, token="tok-ann", **kwargs):
    """(status, parsed JSON or raw bytes) of a request that may fail."""
    response = await jp_fetch(*path, headers=as_user(token), raise_error=False, **kwargs)
    body = response.body or b""
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return response.code, json.loads(body)
    return response.code, body


def slow_backends(server, marker: str | None = None) -> list[tuple[int, str, str]]:
    """(pid, application name, query) of every active scan of the slow view (containing ``marker``)."""
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, application_name, query FROM pg_stat_activity "
            "WHERE state = 'active' AND query LIKE %s AND pid <> pg_backend_pid()",
            (f"%{SLOW_VIEW}%",),
        ).fetchall()
    return [row for row in rows if marker is None or marker in row[2]]


async def wait_until(check, what: str):
    """Poll ``check`` (run in a thread) until it returns something truthy; fail after STATE_BOUND."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STATE_BOUND
    while loop.time() < deadline:
        found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


class RawQuery:
    """``POST query`` over a plain socket, so the test decides when the client goes away."""

    def __init__(self, port: int, base_url: str, token: str, sql: str):
        self.port, self.base_url, self.token, self.sql = port, base_url, token, sql

    async def send(self) -> RawQuery:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        body = json.dumps({"sql": self.sql}).encode()
        head = (
            f"POST {self.base_url.rstrip('/')}/meshlab/api/query HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: token {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        self.answer = asyncio.ensure_future(self.reader.read())
        return self

    async def response(self) -> tuple[int, dict]:
        raw = await self.answer
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body or b"{}")

    def close(self) -> None:
        self.writer.close()


def slow_sql(marker: int) -> str:
    """A query of the slow view; ``marker`` is pushed down, so it shows in pg_stat_activity.

    (A filter that keeps the rows: ``id = 0`` would let PostgreSQL skip the sleep.)
    """
    return f"SELECT id FROM pg.{SLOW_VIEW} WHERE id <> {marker}"


def audit_records(mesh_path: Path) -> list[dict]:
    log = mesh_path.parent / "audit" / "queries.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def meshlab_app(jp_serverapp):
    [app] = jp_serverapp.extension_manager.extension_apps["meshlab"]
    return app


# -- confinement -------------------------------------------------------------------------
LEAKS = (
    "passwd", "linked", "via_folder_link", "outside_csv", "outside_db", "url_scheme",
    "outside_duckdb", "outside_delta", "outside_iceberg_catalog", "iceberg_files_outside",
)  # fmt: skip


@pytest.mark.attack
@pytest.mark.parametrize("name", LEAKS)
async def test_local_paths_outside_the_roots_are_refused(jp_fetch, name):
    code, body = await fetch(jp_fetch, "meshlab", "api", "datasets", f"leak.{name}", "sample")
    assert code == 403, body
    assert body["error"] == "ConfinementError"
    assert body["message"].startswith(f"dataset 'leak.{name}' on server ")
    code, answer = await fetch(
        jp_fetch, "meshlab", "api", "query", method="POST", body=json.dumps({"sql": f"SELECT * FROM leak.{name}"})
    )
    assert code == 403 and answer == body | {"message": answer["message"]}
    for text in (json.dumps(body), json.dumps(answer)):
        assert "root:" not in text and "outside-secret" not in text and "/bin/" not in text


@pytest.mark.attack
async def test_refusal_messages_say_why(jp_fetch):
    messages = {}
    for name in ("passwd", "linked", "url_scheme"):
        _, body = await fetch(jp_fetch, "meshlab", "api", "datasets", f"leak.{name}", "sample")
        messages[name] = body["message"]
    assert messages["passwd"].endswith(
        "its local path leads outside the folders this server may read (the mesh's folder and MeshlabApp.allowed_roots)"
    )
    assert "leads through a symbolic link outside" in messages["linked"]
    assert "outside the folders this server may read" in messages["url_scheme"]


async def test_files_inside_the_mesh_are_read(jp_fetch):
    code, sample = await fetch(jp_fetch, "meshlab", "api", "datasets", "lake.plays", "sample")
    assert code == 200 and sample["rows"] == [[1, "DE"], [2, "SE"], [3, "FR"]]


@pytest.mark.parametrize("extra_options", [{"allowed_roots": ["OUTSIDE"]}])
async def test_allowed_roots_admit_an_operators_folder(jp_fetch):
    for name in ("outside_csv", "outside_db", "via_folder_link", "outside_duckdb", "outside_delta",
                 "outside_iceberg_catalog", "iceberg_files_outside"):  # fmt: skip
        code, sample = await fetch(jp_fetch, "meshlab", "api", "datasets", f"leak.{name}", "sample")
        assert code == 200, sample
        assert sample["rows"] == [[1, "outside-secret-7731"]]
    code, body = await fetch(jp_fetch, "meshlab", "api", "datasets", "leak.passwd", "sample")
    assert code == 403 and body["error"] == "ConfinementError"


# -- the event loop, starvation and fairness -------------------------------------------
LOCKER = """
import sqlite3, sys
from meshlab.quality.status import SCHEMA
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.executescript(SCHEMA)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # holds the lock until the test closes stdin
"""


def store_is_locked(path: str) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0) as db:
            db.execute("SELECT count(*) FROM latest").fetchall()
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    return False


async def raw_queries(jp_serverapp, http_server_port, *pairs: tuple[str, int]) -> list[RawQuery]:
    port = http_server_port[-1]
    return [await RawQuery(port, jp_serverapp.base_url, token, slow_sql(marker)).send() for token, marker in pairs]


async def test_catalog_and_jupyter_answer_while_the_store_is_locked_and_slow_queries_run(
    jp_fetch, jp_serverapp, http_server_port, postgres_server, mesh_path
):
    status_path = meshlab.connect(mesh_path).status_path
    os.makedirs(os.path.dirname(status_path), exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, status_path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    users = ["tok-ann", "tok-ann", "tok-ben", "tok-ben", "tok-cal", "tok-cal"]
    pairs = [(token, 10 + n) for n, token in enumerate(users)]
    queries = []
    try:
        assert await asyncio.to_thread(locker.stdout.readline) == "locked\n"
        assert store_is_locked(status_path)
        queries = await raw_queries(jp_serverapp, http_server_port, *pairs)
        await wait_until(lambda: len(slow_backends(postgres_server)) == 2, "both workers running a slow statement")
        # Jupyter's own route, and every catalog route, answer meanwhile.
        code, _ = await fetch(jp_fetch, "api", "status", token="tok-dan")
        assert code == 200
        code, found = await fetch(jp_fetch, "meshlab", "api", "datasets", params={"q": "plays"}, token="tok-dan")
        assert code == 200 and found[0]["address"] == "lake.plays" and found[0]["last_check"] is None
        code, detail = await fetch(jp_fetch, "meshlab", "api", "datasets", "lake.plays", token="tok-ann")
        assert code == 200 and detail["last_check"] is None
        code, status = await fetch(jp_fetch, "meshlab", "api", "status", token="tok-ben")
        assert code == 200 and status["mesh"] == "isolated"
        # ... while the slow ones still run and the store is still locked.
        assert not [await q.response() for q in queries if q.answer.done()]
        assert len(slow_backends(postgres_server)) == 2 and store_is_locked(status_path)
    finally:
        for query in queries:
            query.close()
        locker.stdin.close()
        locker.wait()


@pytest.mark.parametrize("extra_options", [{"max_queries_per_user": 1, "max_queued_per_user": 2}])
async def test_users_take_turns_and_one_user_cannot_fill_the_server(
    jp_fetch, jp_serverapp, http_server_port, postgres_server
):
    ann = await raw_queries(jp_serverapp, http_server_port, ("tok-ann", 101), ("tok-ann", 102), ("tok-ann", 103))
    ben: list[RawQuery] = []
    try:
        await wait_until(lambda: slow_backends(postgres_server, "<> 101"), "ann's first query running")
        # ann may run one at a time: the second worker stays free for ben.
        ben = await raw_queries(jp_serverapp, http_server_port, ("tok-ben", 201))
        await wait_until(lambda: slow_backends(postgres_server, "<> 201"), "ben's query running beside ann's")
        assert not slow_backends(postgres_server, "<> 102") and not slow_backends(postgres_server, "<> 103")
        # One running and two waiting is all ann may have.
        code, body = await fetch(
            jp_fetch, "meshlab", "api", "query", method="POST", body=json.dumps({"sql": slow_sql(104)})
        )
        assert code == 429 and body["error"] == "ServerBusyError"
        assert body["message"] == (
            "user 'ann' has 3 queries running or waiting on this server; at most 3 are accepted, "
            "retry when one finished"
        )
        ann[0].close()  # ann gives up on the first: her next one runs
        await wait_until(lambda: slow_backends(postgres_server, "<> 102"), "ann's second query running")
        assert slow_backends(postgres_server, "<> 201")
    finally:
        for query in [*ann, *ben]:
            query.close()


# -- crashes and disconnects --------------------------------------------------------------
def worker_pid(backend: tuple[int, str, str]) -> int:
    name = backend[1]
    assert name.startswith("meshlab-worker-"), name
    return int(name.removeprefix("meshlab-worker-"))


@pytest.mark.parametrize("how", [signal.SIGSEGV, signal.SIGKILL], ids=["segfault", "killed"])
async def test_a_killed_worker_fails_only_its_query(
    jp_fetch, jp_serverapp, http_server_port, postgres_server, mesh_path, how
):
    marker = 300 + int(how)
    [doomed] = await raw_queries(jp_serverapp, http_server_port, ("tok-ann", marker))
    [backend] = await wait_until(lambda: slow_backends(postgres_server, f"<> {marker}"), "the query running")
    os.kill(worker_pid(backend), how)  # as a crash inside Polars would end it
    code, body = await doomed.response()
    assert code == 500 and body["error"] == "QueryLostError"
    assert body["message"] == (
        f"the server's query worker stopped (killed by signal {int(how)}) before the query finished"
    )
    # The server, other users and the same user go on; the statement ended on PostgreSQL too.
    for token in ("tok-ben", "tok-ann"):
        code, table = await fetch(
            jp_fetch, "meshlab", "api", "query", method="POST", body=json.dumps({"sql": "SELECT * FROM lake.plays"}),
            token=token,
        )  # fmt: skip
        assert code == 200 and isinstance(table, bytes) and table
    code, _ = await fetch(jp_fetch, "api", "status")
    assert code == 200
    await wait_until(lambda: not slow_backends(postgres_server, f"<> {marker}"), "the orphaned statement to end")
    [record] = [r for r in audit_records(mesh_path) if r["statement"] == slow_sql(marker)]
    assert record["user"] == "ann" and record["outcome"] == "crashed"
    assert record["error"] == body["message"]


@pytest.mark.parametrize(
    "extra_options",
    [{}, {"postgres_disconnect_check": 0}],
    ids=["check-interval-and-cancel", "cancel-request-alone"],
)
async def test_a_client_that_goes_away_stops_its_postgres_statement(
    jp_fetch, jp_serverapp, http_server_port, postgres_server, mesh_path
):
    before = len(audit_records(mesh_path))
    [query] = await raw_queries(jp_serverapp, http_server_port, ("tok-cal", 401))
    await wait_until(lambda: slow_backends(postgres_server, "<> 401"), "the query running")
    query.close()
    await wait_until(lambda: not slow_backends(postgres_server, "<> 401"), "PostgreSQL to stop the statement")
    records = await wait_until(
        lambda: [r for r in audit_records(mesh_path)[before:] if r["statement"] == slow_sql(401)], "the audit record"
    )
    assert [(r["user"], r["outcome"], r["error"]) for r in records] == [("cal", "cancelled", "the client went away")]
    code, _ = await fetch(jp_fetch, "meshlab", "api", "datasets", "lake.plays", "sample", token="tok-cal")
    assert code == 200


# -- identity and bounded state -----------------------------------------------------------
@pytest.mark.parametrize("identity_class", [None])
async def test_a_token_client_without_cookies_keeps_one_identity(jp_fetch, jp_serverapp, http_server_port, mesh_path):
    """Jupyter's own token scheme: ``meshlab.connect_server`` is one user, not a new one per request."""
    url = f"http://127.0.0.1:{http_server_port[-1]}{jp_serverapp.base_url.rstrip('/')}"
    token = jp_serverapp.identity_provider.token
    before = len(audit_records(mesh_path))
    outcome = {}

    def client():  # the client blocks; the test's event loop serves
        try:
            remote = meshlab.connect_server(url, token=token)
            remote.timeout = 60
            outcome["rows"] = [remote.sql("SELECT count(*) AS n FROM lake.plays").df.item() for _ in range(3)]
            outcome["searches"] = [len(remote.search("plays")) for _ in range(30)]
        except Exception as error:  # noqa: BLE001 - reported below
            outcome["crash"] = repr(error)

    thread = threading.Thread(target=client)
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.05)
    assert "crash" not in outcome, outcome.get("crash")
    assert outcome["rows"] == [3, 3, 3]
    users = {r["user"] for r in audit_records(mesh_path)[before:]}
    assert len(users) == 1 and next(iter(users)).startswith("token-")
    mesh = meshlab_app(jp_serverapp).loader.current()
    assert len(mesh._views) == 1


@pytest.mark.parametrize("extra_options", [{"user_views": 8}])
async def test_per_user_views_are_bounded(jp_fetch, jp_serverapp):
    for n in range(40):
        code, found = await fetch(jp_fetch, "meshlab", "api", "datasets", params={"q": "plays"}, token=f"tok-user-{n}")
        assert code == 200 and found
    mesh = meshlab_app(jp_serverapp).loader.current()
    assert len(mesh._views) == 8


def test_a_reload_in_progress_does_not_hold_other_requests(mesh_path):
    """While one request reloads the mesh (slow: a big mesh, a slow domain), others get the loaded one."""
    from meshlab.jupyter.server.mesh_loader import MeshLoader
    from meshlab.jupyter.server.server_mesh import open_server_mesh

    loads, release = [], threading.Event()

    def opener(path):
        if loads:  # every reload after the first waits for the test
            release.wait(STATE_BOUND)
        loads.append(path)
        return open_server_mesh(path)

    loader = MeshLoader(str(mesh_path), str(mesh_path.parent), reload_interval=0.0, environ={}, open_mesh=opener)
    first = loader.current()
    contract_file = mesh_path.parent / "domains" / "lake" / "plays.odcs.yaml"
    original = contract_file.read_text()
    contract_file.write_text(original.replace("All plays.", "All plays, edited."))
    try:
        reloading = threading.Thread(target=loader.current)
        reloading.start()
        while not loader._lock.locked():
            time.sleep(0.01)  # until the reload holds the lock
        assert loader.current() is first  # answered from the loaded mesh, not after the reload
        assert reloading.is_alive()
        release.set()
        reloading.join(STATE_BOUND)
        assert loader.current() is not first and loads == [str(mesh_path)] * 2
    finally:
        release.set()
        contract_file.write_text(original)
        loader.close()


@pytest.mark.parametrize("extra_options", [{"query_time_limit": 3}])
async def test_a_query_over_the_time_limit_is_stopped(
    jp_fetch, jp_serverapp, http_server_port, postgres_server, mesh_path
):
    before = len(audit_records(mesh_path))
    [query] = await raw_queries(jp_serverapp, http_server_port, ("tok-dan", 501))
    try:
        code, body = await query.response()
    finally:
        query.close()
    assert code == 504 and body["error"] == "QueryTimeLimitError"
    assert body["message"] == (
        "the query ran longer than the server's limit of 3 s (MeshlabApp.query_time_limit) and was stopped"
    )
    await wait_until(lambda: not slow_backends(postgres_server, "<> 501"), "PostgreSQL to stop the statement")
    [record] = [r for r in audit_records(mesh_path)[before:] if r["statement"] == slow_sql(501)]
    assert (record["user"], record["outcome"], record["error"]) == ("dan", "timeout", body["message"])
    code, _ = await fetch(jp_fetch, "meshlab", "api", "datasets", "lake.plays", "sample", token="tok-dan")
    assert code == 200


@pytest.mark.parametrize("extra_options", [{"max_queries_per_user": 1, "max_queued_per_user": 0}])
async def test_connect_server_backs_off_while_the_server_is_busy(
    jp_fetch, jp_serverapp, http_server_port, postgres_server
):
    [running] = await raw_queries(jp_serverapp, http_server_port, ("tok-ann", 601))
    outcome = {}

    def client():
        try:
            url = f"http://127.0.0.1:{http_server_port[-1]}{jp_serverapp.base_url.rstrip('/')}"
            meshlab.connect_server(url, token="tok-ann").sql("SELECT count(*) AS n FROM lake.plays")
        except meshlab.MeshError as error:
            outcome["error"] = (error.status, error.kind, str(error))

    try:
        await wait_until(lambda: slow_backends(postgres_server, "<> 601"), "ann's slow query running")
        thread = threading.Thread(target=client)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
    finally:
        running.close()
    status, kind, message = outcome["error"]
    assert (status, kind) == (429, "ServerBusyError")
    assert message.startswith("user 'ann' has 1 query running or waiting on this server; at most 1 are accepted")
    assert message.endswith("(tried 3 times)")


def test_views_are_dropped_when_old_or_least_recently_used():
    from meshlab.jupyter.server.server_mesh import ViewCache

    closed = []  # a dropped view is closed (its database connections)
    views = ViewCache(maxsize=2, ttl=600, dispose=closed.append)
    views["ann"], views["ben"] = 1, 2
    assert views.get("ann") == 1  # ann is now the most recent
    views["cal"] = 3
    assert (views.get("ann"), views.get("ben"), views.get("cal")) == (1, None, 3)
    assert closed == [2]
    fleeting = ViewCache(maxsize=8, ttl=0.01, dispose=closed.append)
    fleeting["ann"] = 1
    time.sleep(0.05)
    assert fleeting.get("ann") is None and len(fleeting) == 0
    assert closed == [2, 1]


def test_a_root_is_a_folder_not_a_prefix(tmp_path):
    from meshlab.jupyter.server.confinement import Confinement

    (tmp_path / "mesh").mkdir()
    (tmp_path / "meshes").mkdir()
    confined = Confinement([str(tmp_path / "mesh")])
    assert confined.allows(str(tmp_path / "mesh" / "a.parquet"))
    assert not confined.allows(str(tmp_path / "meshes" / "a.parquet"))
    assert not confined.allows(str(tmp_path / "mesh" / ".." / "meshes" / "a.parquet"))


class NoAuthentication(IdentityProvider):
    """Jupyter's own identity provider with authentication turned off (no token, no password)."""

    @property
    def auth_enabled(self):
        return False


@pytest.mark.parametrize("identity_class", [f"{__name__}.NoAuthentication"])
async def test_a_server_without_authentication_has_one_user(jp_fetch, mesh_path):
    before = len(audit_records(mesh_path))
    for _ in range(3):
        response = await jp_fetch("meshlab", "api", "datasets", "lake.plays", "sample", headers={"Authorization": ""})
        assert response.code == 200
    assert {r["user"] for r in audit_records(mesh_path)[before:]} == {"anonymous"}
