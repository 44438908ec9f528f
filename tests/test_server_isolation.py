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
import sqlite3
from pathlib import Path

import polars as pl
import psycopg
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from test_server import contract, write_yaml

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
    return folder


def _csv(path: str) -> dict:
    return {"server": "files", "type": "local", "format": "csv", "path": path}


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
    }
    domains = root / "domains"
    write_yaml(domains / "lake" / "plays.odcs.yaml", contract("lake", "plays", [lake], plays_cols))
    write_yaml(domains / "pg" / "slow.odcs.yaml", contract("pg", SLOW_VIEW, [slow], id_col))
    for name, (server, columns) in leaks.items():
        document = contract("leak", name, [server], columns)
        document["schema"][0]["physicalName"] = "secrets" if name == "outside_db" else name
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
    """A query of the slow view; ``marker`` is pushed down, so it shows in pg_stat_activity."""
    return f"SELECT id FROM pg.{SLOW_VIEW} WHERE id = {marker}"


def audit_records(mesh_path: Path) -> list[dict]:
    log = mesh_path.parent / "audit" / "queries.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def meshlab_app(jp_serverapp):
    [app] = jp_serverapp.extension_manager.extension_apps["meshlab"]
    return app


# -- confinement -------------------------------------------------------------------------
LEAKS = ("passwd", "linked", "via_folder_link", "outside_csv", "outside_db", "url_scheme")


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
    for name in ("outside_csv", "outside_db", "via_folder_link"):
        code, sample = await fetch(jp_fetch, "meshlab", "api", "datasets", f"leak.{name}", "sample")
        assert code == 200, sample
        assert sample["rows"] == [[1, "outside-secret-7731"]]
    code, body = await fetch(jp_fetch, "meshlab", "api", "datasets", "leak.passwd", "sample")
    assert code == 403 and body["error"] == "ConfinementError"
