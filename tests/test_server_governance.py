"""Governance through the Jupyter server: the same rules on the routes, and server mode.

The server authenticates users the way JupyterHub does (a token per user; the
identity provider below stands in for the Hub's authenticator), so the user a
request acts for is the server's authenticated user, not an environment
variable of the kernel. The mesh is the demo's governed manifest.
"""

from __future__ import annotations

import asyncio
import json
import threading

import polars as pl
import pyarrow as pa
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError

import meshlab
from meshlab.demo import write_demo

pytest_plugins = ("pytest_jupyter.jupyter_server",)

TOKENS = {"tok-ana": "ana", "tok-bob": "bob"}


class HubLikeIdentity(IdentityProvider):
    """A token per named user, as JupyterHub's authenticator gives (no token: not authenticated)."""

    def get_user(self, handler):
        token = handler.request.headers.get("Authorization", "").removeprefix("token ").strip()
        name = TOKENS.get(token)
        handler._token_authenticated = bool(name)  # an API token, as the Hub's: no XSRF cookie needed
        return User(username=name, name=name) if name else None


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    root = tmp_path_factory.mktemp("server-governed")
    write_demo(root, scale=0.002)
    return root / "mesh-governed.yaml"


@pytest.fixture
def jp_server_config(governed):
    return {
        "ServerApp": {
            "jpserver_extensions": {"meshlab": True},
            "identity_provider_class": f"{__name__}.HubLikeIdentity",
        },
        "MeshlabApp": {"mesh": str(governed), "reload_interval": 0.0},
    }


def as_user(token: str, **headers) -> dict:
    return {"Authorization": f"token {token}", **headers}


async def query(jp_fetch, token: str, body: dict) -> pa.Table:
    response = await jp_fetch("meshlab", "api", "query", method="POST", body=json.dumps(body), headers=as_user(token))
    assert response.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    return pa.ipc.open_stream(response.body).read_all()


async def failure(jp_fetch, *path, token: str = "tok-bob", **kwargs) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("meshlab", "api", *path, headers=as_user(token), **kwargs)
    return caught.value.code, json.loads(caught.value.response.body or b"{}")


@pytest.mark.attack
async def test_catalog_routes_show_only_what_the_users_role_may_read(jp_fetch):
    bob = json.loads((await jp_fetch("meshlab", "api", "datasets", headers=as_user("tok-bob"))).body)
    ana = json.loads((await jp_fetch("meshlab", "api", "datasets", headers=as_user("tok-ana"))).body)
    assert "listeners.subscriptions" not in [d["address"] for d in bob]
    assert "listeners.subscriptions" in [d["address"] for d in ana]
    code, body = await failure(jp_fetch, "datasets", "listeners.subscriptions")
    assert code == 404 and "role 'analyst' cannot read" in body["message"]


@pytest.mark.attack
async def test_sample_route_is_masked_and_filtered(jp_fetch):
    response = await jp_fetch(
        "meshlab", "api", "datasets", "listeners.profiles", "sample", params={"limit": 50}, headers=as_user("tok-bob")
    )
    sample = json.loads(response.body)
    text = json.dumps(sample)
    assert "@example." not in text  # e-mails redacted
    names = [c["name"] for c in sample["columns"]]
    rows = [dict(zip(names, row)) for row in sample["rows"]]
    assert rows and {r["email"] for r in rows} == {"***"}
    assert {r["country"] for r in rows} <= {"DE", "FR", "SE"}


@pytest.mark.attack
async def test_query_route_runs_as_the_authenticated_user(jp_fetch, governed):
    sql = "SELECT country, email, user_id FROM listeners.profiles ORDER BY user_id LIMIT 20"
    as_bob = await query(jp_fetch, "tok-bob", {"sql": sql})
    frame = pl.from_arrow(as_bob)
    about = json.loads(as_bob.schema.metadata[b"meshlab"])
    assert about["user"] == "bob" and about["role"] == "analyst"
    assert set(frame["country"]) <= {"DE", "FR", "SE"} and set(frame["email"]) == {"***"}
    assert about["lineage"]["masked"]["email"] == ["listeners.profiles.email"]
    as_ana = pl.from_arrow(await query(jp_fetch, "tok-ana", {"sql": sql}))
    assert as_ana["email"].str.contains("@").all()
    local = meshlab.connect(str(governed)).for_user("ana").sql(sql).df
    assert as_ana.equals(local)


@pytest.mark.attack
async def test_query_route_refuses_roles_not_held_and_forged_identities(jp_fetch, monkeypatch):
    code, body = await failure(
        jp_fetch, "query", method="POST", body=json.dumps({"sql": "SELECT 1 AS x", "role": "steward"})
    )
    assert code == 403 and "user 'bob' does not hold role 'steward'" in body["message"]
    # The server's environment does not pick the user or role of a request.
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    monkeypatch.setenv("MESHLAB_ROLE", "steward")
    table = await query(jp_fetch, "tok-bob", {"sql": "SELECT count(*) AS n FROM listeners.profiles"})
    assert json.loads(table.schema.metadata[b"meshlab"])["role"] == "analyst"
    code, _ = await failure(jp_fetch, "query", token="forged", method="POST", body=json.dumps({"sql": "SELECT 1"}))
    assert code == 403


@pytest.mark.attack
@pytest.mark.parametrize(
    "body",
    [
        {"sql": "SELECT * FROM listeners.subscriptions"},
        {"sql": "SELECT * FROM read_parquet('/etc/passwd')"},
        {"sql": "DROP TABLE x"},
        {"sql": "SELECT 1; SELECT 2"},
    ],
)
async def test_query_route_refuses_what_the_api_refuses(jp_fetch, body):
    code, answer = await failure(jp_fetch, "query", method="POST", body=json.dumps(body))
    assert code in (400, 404) and answer["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"sql": ""}', "'sql' must be a non-empty string"),
        (b'{"sql": "SELECT 1", "limit": -1}', "'limit' must be an integer"),
        (b'{"sql": "SELECT :x AS x", "params": {"x": {"nested": 1}}}', "parameter :x must be"),
    ],
)
async def test_malformed_query_requests_are_400(jp_fetch, body, message):
    code, answer = await failure(jp_fetch, "query", method="POST", body=body)
    assert code == 400 and message in answer["message"]


async def test_remote_mesh_client_against_the_server(jp_fetch, jp_serverapp, http_server_port):
    """``meshlab.connect_server`` in a kernel: rows and lineage back over HTTP, errors as MeshErrors."""
    url = f"http://127.0.0.1:{http_server_port[-1]}{jp_serverapp.base_url.rstrip('/')}"
    outcome = {}

    def client():  # the client blocks; the test's event loop must keep serving
        try:
            mesh = meshlab.connect_server(url, token="tok-bob")
            result = mesh.sql(
                "SELECT country, count(*) AS n FROM listeners.profiles WHERE country = :c GROUP BY 1",
                params={"c": "SE"},
            )
            outcome["rows"] = result.df.rows()
            outcome["role"] = result.role
            try:
                mesh.sql("SELECT * FROM listeners.subscriptions")
            except meshlab.MeshError as error:
                outcome["error"] = (type(error).__name__, error.kind, str(error))
        except Exception as error:  # noqa: BLE001 - reported to the test below
            outcome["crash"] = repr(error)

    thread = threading.Thread(target=client)
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.05)
    assert "crash" not in outcome, outcome.get("crash")
    assert outcome["role"] == "analyst" and outcome["rows"][0][0] == "SE"
    name, kind, message = outcome["error"]
    assert name == "RemoteError" and kind == "AccessDeniedError" and "cannot read" in message
