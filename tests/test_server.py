"""The sidebar's server routes (``/meshlab/api/``) on a real Jupyter server (pytest-jupyter).

The mesh: ``plays.play_events`` in parquet, ``accounts.customers`` in the throwaway
PostgreSQL server (user and password from environment variables, a second server
entry whose host carries a secret), and one broken contract. No response may carry
the password, the user name or the secret host.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import polars as pl
import psycopg
import pytest
import yaml
from support.contracts import contract as build_contract
from support.contracts import write_yaml
from tornado.httpclient import HTTPClientError

import meshlab

# Registers pytest-jupyter for the rest of the session too: its autouse fixtures (an event loop
# and a ServerApp cleanup per test) are cheap elsewhere; test_sidebar_browser.py overrides them.
pytest_plugins = ("pytest_jupyter.jupyter_server",)

PG_DATABASE = "sidebar"
PG_USER = "sidebar_reader_q7z"
PG_PASSWORD = "pw-7f3c9-do-not-show"
USER_ENV = "MESHLAB_SIDEBAR_PGUSER"
PASSWORD_ENV = "MESHLAB_SIDEBAR_PGPASSWORD"
SECRET_HOST = "admin:hunter2-host-secret@replica-db.internal"
SECRETS = (PG_PASSWORD, PG_USER, "hunter2-host-secret", "replica-db.internal", "s3cr3t-token")


def contract(domain: str, name: str, servers: list[dict], columns: list[dict], **extra) -> dict:
    return build_contract(
        domain,
        name,
        columns,
        servers,
        title=name.replace("_", " ").capitalize(),
        version="1.2.0",
        status=extra.get("status", "active"),
        description={"purpose": extra.get("purpose", f"All {name}."), "usage": "Join on user_id."},
        tags=extra.get("tags", []),
        owner=extra.get("owner", "ana"),
        schema_description=extra.get("description", f"One row per {name}."),
        sla=[{"property": "latency", "value": 2, "unit": "d", "element": f"{name}.{columns[0]['name']}"}],
    )


def load_customers(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {PG_DATABASE}")
        conn.execute(f"CREATE ROLE {PG_USER} LOGIN PASSWORD '{PG_PASSWORD}'")
    with psycopg.connect(server.dsn_for(PG_DATABASE), autocommit=True) as conn:
        conn.execute("CREATE TABLE public.customers (user_id BIGINT, name TEXT, signup DATE, credit NUMERIC(8,2))")
        conn.execute(
            "INSERT INTO public.customers SELECT i, 'customer ' || i, DATE '2026-01-01' + i, i * 1.25 "
            "FROM generate_series(1, 40) AS i"
        )
        conn.execute(f"GRANT SELECT ON public.customers TO {PG_USER}")


def build_mesh(root: Path, postgres=None) -> Path:
    """The test mesh in ``root``; with ``postgres``, the accounts domain too."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "user_id": [3, 1, 2, 1],
            "country": ["DE", "SE", "DE", "FR"],
            "played_at": [datetime.date(2026, 10, d) for d in (1, 2, 3, 4)],
        }
    ).write_parquet(data / "play_events.parquet")
    lake = {
        "server": "lake",
        "type": "local",
        "format": "parquet",
        "path": "../../data/play_events.parquet",
    }
    signed = {
        "server": "archive",
        "type": "https",
        "format": "parquet",
        "path": "https://u:s3cr3t-token@x.invalid/p?sig=s3cr3t-token",
    }
    columns = [
        {"name": "user_id", "logicalType": "integer", "classification": "restricted", "description": "Listener."},
        {"name": "country", "logicalType": "string", "description": "Country of the play."},
        {"name": "played_at", "logicalType": "date", "description": "Day of the play."},
    ]
    write_yaml(
        root / "domains" / "plays" / "play_events.odcs.yaml",
        contract("plays", "play_events", [lake, signed], columns, tags=["music", "events"]),
    )
    (root / "domains" / "plays" / "broken.odcs.yaml").write_text("apiVersion: v3.1.0\nkind: [unclosed\n")
    domains = {"plays": "domains/plays"}
    if postgres is not None:
        props = [{"property": "userEnv", "value": USER_ENV}, {"property": "passwordEnv", "value": PASSWORD_ENV}]
        primary = {
            "server": "accounts-db",
            "type": "postgres",
            "host": postgres.host,
            "port": postgres.port,
            "database": PG_DATABASE,
            "schema": "public",
            "customProperties": props,
        }
        replica = {**primary, "server": "replica", "host": SECRET_HOST}
        customer_columns = [
            {"name": "user_id", "logicalType": "integer", "primaryKey": True, "description": "Listener id."},
            {"name": "name", "logicalType": "string", "classification": "pii", "description": "Full name."},
            {"name": "signup", "logicalType": "date", "description": "Signup day."},
            {"name": "credit", "logicalType": "number", "physicalType": "NUMERIC(8,2)", "description": "Credit."},
        ]
        write_yaml(
            root / "domains" / "accounts" / "customers.odcs.yaml",
            contract("accounts", "customers", [primary, replica], customer_columns, owner="bo"),
        )
        domains["accounts"] = "domains/accounts"
    write_yaml(root / "mesh.yaml", {"mesh": "sidebar-test", "domains": domains})
    return root / "mesh.yaml"


@pytest.fixture(scope="module")
def pg_mesh(tmp_path_factory, postgres_server) -> Path:
    load_customers(postgres_server)
    return build_mesh(tmp_path_factory.mktemp("sidebar-mesh"), postgres_server)


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    """The PostgreSQL credentials in the environment, as a user would set them; no stray $MESHLAB_MESH."""
    monkeypatch.setenv(USER_ENV, PG_USER)
    monkeypatch.setenv(PASSWORD_ENV, PG_PASSWORD)
    monkeypatch.delenv("MESHLAB_MESH", raising=False)


@pytest.fixture
def meshlab_options(pg_mesh) -> dict:
    """``MeshlabApp`` options of the test's server; parametrize to change them."""
    return {"mesh": str(pg_mesh), "reload_interval": 0.0}


@pytest.fixture
def jp_server_config(meshlab_options):
    return {"ServerApp": {"jpserver_extensions": {"meshlab": True}}, "MeshlabApp": meshlab_options}


async def get_json(jp_fetch, *path: str, **params):
    response = await jp_fetch("meshlab", "api", *path, params=params)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body), response


async def get_error(jp_fetch, *path: str, **params) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("meshlab", "api", *path, params=params)
    return caught.value.code, json.loads(caught.value.response.body)


# -- the four routes -----------------------------------------------------------------
async def test_status_names_the_mesh_its_domains_and_load_errors(jp_fetch, pg_mesh):
    status, _ = await get_json(jp_fetch, "status")
    assert status["mesh"] == "sidebar-test"
    assert status["path"] == str(pg_mesh)
    assert status["datasets"] == 2
    assert status["domains"] == [{"name": "accounts", "datasets": 1}, {"name": "plays", "datasets": 1}]
    [error] = status["errors"]
    assert error["path"].endswith("broken.odcs.yaml") and "invalid YAML" in error["message"]


async def test_search_ranks_as_mesh_search_and_pages(jp_fetch, pg_mesh):
    mesh = meshlab.connect(pg_mesh)
    found, response = await get_json(jp_fetch, "datasets", q="customer name")
    assert [d["address"] for d in found] == [d.address for d in mesh.search("customer name")]
    assert found[0] == {
        "address": "accounts.customers",
        "title": "Customers",
        "domain": "accounts",
        "owner": "bo",
        "status": "active",
        "description": "One row per customers.",
        "tags": [],
        "columns": ["user_id", "name", "signup", "credit"],
        "last_check": None,  # the latest `meshlab check` outcome (tests/test_status.py)
        "not_queryable": None,  # why a valid contract cannot be queried here (docs/odcs.md)
    }
    everything, response = await get_json(jp_fetch, "datasets")
    assert [d["address"] for d in everything] == ["accounts.customers", "plays.play_events"]
    assert response.headers["X-Total-Count"] == "2"
    page, response = await get_json(jp_fetch, "datasets", limit="1", offset="1")
    assert [d["address"] for d in page] == ["plays.play_events"] and response.headers["X-Total-Count"] == "2"
    nothing, response = await get_json(jp_fetch, "datasets", q="zebra")
    assert nothing == [] and response.headers["X-Total-Count"] == "0"


async def test_detail_has_columns_sla_and_servers_without_credentials(jp_fetch):
    detail, _ = await get_json(jp_fetch, "datasets", "accounts.customers")
    assert detail["address"] == "accounts.customers" and detail["owner"] == "bo" and detail["version"] == "1.2.0"
    assert detail["columns"][1] == {
        "name": "name",
        "type": "string",
        "physical_type": None,
        "description": "Full name.",
        "classification": "pii",
        "required": False,
        "primary_key": False,
        "unique": False,
    }
    assert detail["columns"][3]["physical_type"] == "NUMERIC(8,2)"
    assert detail["sla"] == [{"property": "latency", "value": 2, "unit": "d", "element": "customers.user_id"}]
    assert detail["contract_description"] == {"purpose": "All customers.", "usage": "Join on user_id."}
    assert detail["servers"] == [
        {"server": "accounts-db", "type": "postgres", "database": "sidebar", "schema": "public", "default": True},
        {"server": "replica", "type": "postgres", "database": "sidebar", "schema": "public", "default": False},
    ]
    assert detail["query"] == "SELECT * FROM accounts.customers LIMIT 100"
    files, _ = await get_json(jp_fetch, "datasets", "PLAYS.Play_Events")  # addresses are case-insensitive
    assert files["address"] == "plays.play_events"
    assert files["servers"][0]["location"].endswith("/data/play_events.parquet")
    assert files["servers"][1]["location"] == "https://x.invalid/p"  # no user info, no signed query


def as_json_rows(frame: pl.DataFrame) -> list[list]:
    """The rows as the route must send them: dates as ISO text, decimals as exact text."""
    return [
        [v.isoformat() if isinstance(v, datetime.date) else str(v) if hasattr(v, "as_tuple") else v for v in row]
        for row in frame.rows()
    ]


@pytest.mark.parametrize("address", ["accounts.customers", "plays.play_events"])
async def test_sample_rows_equal_mesh_sql(jp_fetch, pg_mesh, address):
    sample, _ = await get_json(jp_fetch, "datasets", address, "sample", limit="3")
    expected = meshlab.connect(pg_mesh).sql(f"SELECT * FROM {address} LIMIT 3").df
    assert sample["sql"] == f"SELECT * FROM {address} LIMIT 3"
    assert [c["name"] for c in sample["columns"]] == expected.columns
    assert sample["rows"] == as_json_rows(expected)
    assert len(sample["rows"]) == 3


async def test_sample_of_postgres_values(jp_fetch):
    sample, _ = await get_json(jp_fetch, "datasets", "accounts.customers", "sample", limit="2")
    assert sample["rows"] == [[1, "customer 1", "2026-01-02", "1.25"], [2, "customer 2", "2026-01-03", "2.50"]]
    default, _ = await get_json(jp_fetch, "datasets", "accounts.customers", "sample")
    assert len(default["rows"]) == 10


# -- refusals ---------------------------------------------------------------------------
ROUTES = (
    ("status",),
    ("datasets",),
    ("datasets", "plays.play_events"),
    ("datasets", "plays.play_events", "sample"),
)


@pytest.mark.parametrize("route", ROUTES)
async def test_requests_without_the_token_are_refused(jp_fetch, route):
    with pytest.raises(HTTPClientError) as caught:
        # An empty Authorization header replaces the token jp_fetch would send.
        await jp_fetch("meshlab", "api", *route, headers={"Authorization": ""}, follow_redirects=False)
    assert caught.value.code in (401, 403)
    assert b"play_events" not in (caught.value.response.body or b"")


@pytest.mark.parametrize("address", ["plays", "plays..play_events", "a.b.c.d", "plays.play events", '"plays.x".y', "."])
async def test_malformed_addresses_are_400(jp_fetch, address):
    for route in (("datasets", address), ("datasets", address, "sample")):
        code, body = await get_error(jp_fetch, *route)
        assert code == 400
        assert body["error"] == "AddressSyntaxError"
        assert body["message"] == (
            f"malformed dataset address {address!r}: expected domain.dataset or domain.product.dataset"
        )


async def test_unknown_address_is_404_with_suggestions(jp_fetch):
    for route in (("datasets", "plays.play_event"), ("datasets", "plays.play_event", "sample")):
        code, body = await get_error(jp_fetch, *route)
        assert code == 404
        assert body["message"].startswith("unknown dataset 'plays.play_event'; did you mean plays.play_events")
        assert body["suggestions"][0] == "plays.play_events"


@pytest.mark.parametrize(
    ("route", "params", "message"),
    [
        (("datasets",), {"limit": "ten"}, "parameter limit='ten' is not a whole number"),
        (("datasets",), {"offset": "-1"}, "parameter offset=-1 must be at least 0"),
        (("datasets", "plays.play_events", "sample"), {"limit": "0"}, "parameter limit=0 must be between 1 and 1000"),
        (("datasets", "plays.play_events", "sample"), {"limit": "5000"}, "must be between 1 and 1000"),
    ],
)
async def test_bad_parameters_are_400(jp_fetch, route, params, message):
    code, body = await get_error(jp_fetch, *route, **params)
    assert code == 400 and message in body["message"]


async def test_no_response_carries_a_credential(jp_fetch):
    bodies = []
    for route, params in [
        (("status",), {}),
        (("datasets",), {}),
        (("datasets",), {"q": "customers"}),
        (("datasets", "accounts.customers"), {}),
        (("datasets", "plays.play_events"), {}),
        (("datasets", "accounts.customers", "sample"), {"limit": "40"}),
        (("datasets", "plays.play_events", "sample"), {}),
    ]:
        response = await jp_fetch("meshlab", "api", *route, params=params)
        bodies.append(response.body.decode())
    for route in (("datasets", "accounts.customer"), ("datasets", "accounts..x", "sample")):
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch("meshlab", "api", *route)
        bodies.append(caught.value.response.body.decode())
    for body in bodies:
        for secret in SECRETS:
            assert secret not in body
    assert os.environ[PASSWORD_ENV] == PG_PASSWORD  # the secrets were really there to leak


# -- which mesh ---------------------------------------------------------------------------
@pytest.mark.parametrize("meshlab_options", [{"reload_interval": 0.0}])
async def test_without_a_mesh_every_route_answers_a_clear_error(jp_fetch, jp_root_dir):
    for route in ROUTES:
        code, body = await get_error(jp_fetch, *route)
        assert code == 503
        assert body["error"] == "NoMeshConfiguredError"
        assert body["message"].startswith("no mesh configured: start JupyterLab with --MeshlabApp.mesh=PATH")
        assert str(jp_root_dir) in body["message"]


@pytest.mark.parametrize("meshlab_options", [{"reload_interval": 0.0}])
async def test_mesh_yaml_in_the_server_root_is_found(jp_fetch, jp_root_dir):
    code, _ = await get_error(jp_fetch, "status")
    assert code == 503
    build_mesh(Path(jp_root_dir))  # appears after the server started
    status, _ = await get_json(jp_fetch, "status")
    assert status["mesh"] == "sidebar-test" and status["relative_path"] == "mesh.yaml"


@pytest.mark.parametrize("meshlab_options", [{"reload_interval": 0.0}])
async def test_the_environment_variable_names_the_mesh(jp_fetch, tmp_path, monkeypatch):
    mesh_path = build_mesh(tmp_path / "env-mesh")
    monkeypatch.setenv("MESHLAB_MESH", str(mesh_path))
    status, _ = await get_json(jp_fetch, "status")
    assert status["path"] == str(mesh_path) and status["datasets"] == 1


@pytest.mark.parametrize("meshlab_options", [{"mesh": "/nowhere/mesh.yaml"}])
async def test_a_missing_manifest_is_a_clear_error(jp_fetch):
    code, body = await get_error(jp_fetch, "datasets", q="plays")
    assert code == 503
    assert body == {"error": "MeshLoadError", "message": "/nowhere/mesh.yaml: file not found"}


@pytest.mark.parametrize("meshlab_options", [{"reload_interval": 0.0}])
async def test_edited_added_and_removed_contracts_are_reloaded(jp_fetch, tmp_path, monkeypatch):
    mesh_path = build_mesh(tmp_path / "reloading")
    monkeypatch.setenv("MESHLAB_MESH", str(mesh_path))
    domain = mesh_path.parent / "domains" / "plays"
    detail, _ = await get_json(jp_fetch, "datasets", "plays.play_events")
    assert detail["title"] == "Play events"
    document = yaml.safe_load((domain / "play_events.odcs.yaml").read_text())
    document["name"] = "Play events, renamed"
    document["description"]["purpose"] = "Renamed, with a longer purpose."
    write_yaml(domain / "play_events.odcs.yaml", document)  # the size changes, whatever the clock
    detail, _ = await get_json(jp_fetch, "datasets", "plays.play_events")
    assert detail["title"] == "Play events, renamed"
    (domain / "broken.odcs.yaml").unlink()
    status, _ = await get_json(jp_fetch, "status")
    assert status["errors"] == []
    write_yaml(domain / "skips.odcs.yaml", {**document, "schema": [{**document["schema"][0], "name": "skips"}]})
    found, _ = await get_json(jp_fetch, "datasets", q="skips")
    assert [d["address"] for d in found] == ["plays.skips"]
