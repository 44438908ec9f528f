"""Self-serve authoring: init (files, SQLite, PostgreSQL), lint, diff and derived products."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython
from trust_fixtures import (
    ORDERS,
    PG_USER_ENV,
    build_trust_mesh,
    customers_frame,
    orders_frame,
    payments_frame,
    write_postgres,
    write_yaml,
)

import meshlab
from meshlab.authoring.diff import diff_contracts
from meshlab.authoring.init_contract import init_contract
from meshlab.authoring.inspect_data import InitError
from meshlab.authoring.lint import lint_mesh
from meshlab.demo import write_demo


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "meshlab.cli", *args], capture_output=True, text=True)


def load(path: str) -> dict:
    return yaml.safe_load(Path(path).read_text())


def props(contract: dict) -> dict[str, dict]:
    return {p["name"]: p for p in contract["schema"][0]["properties"]}


# --- init ------------------------------------------------------------------------------------


@pytest.fixture
def orders_files(tmp_path) -> Path:
    folder = tmp_path / "exports" / "orders"
    folder.mkdir(parents=True)
    frame = orders_frame()
    frame.slice(0, 9_000).write_parquet(folder / "a.parquet")
    frame.slice(9_000).write_parquet(folder / "b.parquet")
    return folder


def test_init_from_parquet_files_writes_a_draft_that_loads_checks_and_lints(orders_files, tmp_path):
    path = init_contract(
        str(orders_files / "*.parquet"), "shop", "orders", owner="ana", output=str(tmp_path / "o.odcs.yaml")
    )
    contract = load(path)
    assert contract["status"] == "draft" and contract["team"] == [{"username": "ana", "role": "owner"}]
    assert contract["servers"][0] == {"server": "files", "type": "local", "format": "parquet",
                                      "path": "exports/orders/*.parquet"}  # fmt: skip
    columns = props(contract)
    frame = orders_frame()
    assert {n: p["logicalType"] for n, p in columns.items()} == {
        "order_id": "integer", "customer_id": "integer", "status": "string", "sku": "string",
        "coupon": "string", "amount": "number", "created_at": "timestamp",
    }  # fmt: skip
    assert columns["status"]["required"] and not columns["customer_id"]["required"]
    assert not columns["order_id"]["unique"]  # it has duplicates
    assert all(p["description"].startswith("TODO") for p in columns.values())
    valid = next(r for r in columns["status"]["quality"] if r["metric"] == "invalidValues")
    assert valid["arguments"]["validValues"] == sorted(frame["status"].unique().to_list())
    assert f"{ORDERS:,} rows when drafted" in contract["schema"][0]["quality"][0]["description"]
    mesh = meshlab.connect(path)
    assert mesh.errors == [] and mesh.dataset("shop.orders").status == "draft"
    report = mesh.check(store=False)
    assert report.ok, [r for r in report if r.status != "passed"]
    assert [p for p in lint_mesh(path) if p.severity == "error"] == []


@pytest.mark.parametrize("suffix", ["csv", "ndjson"])
def test_init_from_csv_and_json(tmp_path, suffix):
    frame = customers_frame()
    data = tmp_path / f"customers.{suffix}"
    frame.write_csv(data) if suffix == "csv" else frame.write_ndjson(data)
    path = init_contract(str(data), "crm", "customers", output=str(tmp_path / "c.odcs.yaml"))
    contract = load(path)
    assert contract["servers"][0]["format"] == ("csv" if suffix == "csv" else "json")
    assert props(contract)["signup_date"]["logicalType"] == "date"
    assert meshlab.connect(path).check(store=False).ok


def test_init_from_a_key_column_suggests_primary_key_and_uniqueness(tmp_path):
    frame = pl.DataFrame({"user_id": [1, 2, 3, 4], "plan": ["a", "b", "a", None]})
    frame.write_parquet(tmp_path / "u.parquet")
    contract = load(init_contract(str(tmp_path / "u.parquet"), "crm", "users", output=str(tmp_path / "u.odcs.yaml")))
    user = props(contract)["user_id"]
    assert user["primaryKey"] and user["unique"] and user["required"]
    plan = props(contract)["plan"]
    nulls = next(r for r in plan["quality"] if r["metric"] == "nullValues")
    assert nulls["unit"] == "percent" and nulls["mustBeLessThan"] > 25  # headroom over today's 25 %


def test_init_from_sqlite_into_the_mesh_domain_folder(tmp_path):
    mesh_path = build_trust_mesh(tmp_path)
    db = tmp_path / "data" / "crm.sqlite"
    out = run_cli("init", f"sqlite:///{db}?table=customers", "--domain", "crm", "--name", "accounts",
                  "--owner", "li", "--mesh", str(mesh_path))  # fmt: skip
    assert out.returncode == 0, out.stderr
    path = tmp_path / "domains" / "crm" / "accounts.odcs.yaml"
    assert out.stdout.strip() == str(path)
    contract = load(path)
    assert contract["servers"][0] == {  # SQLite is not an ODCS server type: a custom server names it
        "server": "database",
        "type": "custom",
        "path": "../../data/crm.sqlite",
        "customProperties": [{"property": "engine", "value": "sqlite"}],
    }
    assert contract["schema"][0]["physicalName"] == "customers"
    assert props(contract)["signup_date"]["physicalType"] == "TEXT"
    mesh = meshlab.connect(str(mesh_path))
    assert mesh.dataset("crm.accounts").columns[0].name == "customer_id"
    assert mesh.check(["crm.accounts"], store=False).ok
    again = run_cli(
        "init", f"sqlite:///{db}?table=customers", "--domain", "crm", "--name", "accounts", "--mesh", str(mesh_path)
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_init_refuses_what_it_cannot_place_or_read(tmp_path):
    mesh_path = build_trust_mesh(tmp_path)
    with pytest.raises(InitError, match="domain 'sales' is not in .*add 'sales: domains/sales'"):
        init_contract(str(tmp_path / "data" / "orders"), "sales", "orders", mesh=str(mesh_path))
    with pytest.raises(InitError, match="no such file"):
        init_contract(str(tmp_path / "nothing.parquet"), "shop", "x", output=str(tmp_path / "x.odcs.yaml"))
    with pytest.raises(InitError, match=r"needs \?table=NAME"):
        init_contract(f"sqlite:///{tmp_path}/data/crm.sqlite", "crm", "x", output=str(tmp_path / "x.odcs.yaml"))
    with pytest.raises(InitError, match="has no table 'nope'"):
        init_contract(
            f"sqlite:///{tmp_path}/data/crm.sqlite?table=nope", "crm", "x", output=str(tmp_path / "y.odcs.yaml")
        )


def test_init_from_postgres_writes_no_credential(tmp_path, postgres_server, monkeypatch):
    write_postgres(postgres_server, payments_frame())
    url = f"postgresql://{postgres_server.user}@{postgres_server.host}:{postgres_server.port}/trust_checks?table=public.payments"
    path = init_contract(url, "billing", "payments", output=str(tmp_path / "p.odcs.yaml"))
    text = Path(path).read_text()
    contract = yaml.safe_load(text)
    server = contract["servers"][0]
    assert server == {"server": "database", "type": "postgres", "host": postgres_server.host,
                      "port": postgres_server.port, "database": "trust_checks", "schema": "public"}  # fmt: skip
    assert f"{postgres_server.user}@" not in text  # the user of the URL is not written down
    assert props(contract)["paid_at"]["physicalType"].startswith("timestamp")
    monkeypatch.setenv("PGUSER", postgres_server.user)
    monkeypatch.delenv(PG_USER_ENV, raising=False)
    assert meshlab.connect(path).check(store=False).result("billing.payments", "rowCount").observed == 5_000


# --- lint ------------------------------------------------------------------------------------


def test_the_demo_mesh_lints_clean(tmp_path):
    problems = lint_mesh(str(write_demo(tmp_path / "demo", scale=0.002)))
    assert [str(p) for p in problems if p.severity == "error"] == []


BROKEN = """\
apiVersion: v3.1.0
kind: DataContract
id: bad
version: 1.0
status: actve
servers:
  - server: lake
    type: local
    format: parquett
    path: x.parquet
schema:
  - name: t
    server: lak
    properties:
      - name: a
        logicalType: int
        required: "yes"
        quality:
          - metric: nulValues
            mustBe: 0
          - metric: nullValues
            mustBeAbout: 1
        relationships:
          - from: t.a
            to: t.b
      - name: b
        logicalType: string
    quality:
      - metric: duplicateValues
        arguments: {properties: [a, c]}
        mustBe: 0
slaProperties:
  - property: latency
    value: 1
    unit: dd
    element: t.zz
extra: 1
"""


def test_lint_reports_each_problem_at_its_line(tmp_path):
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(BROKEN)
    found: dict[tuple, str] = {}
    for p in lint_mesh(str(path)):
        found[(p.line, p.field)] = found.get((p.line, p.field), "") + p.message + " | "
    expected = {  # errors: the official v3.1.0 schema; warnings and notices: meshlab's own reading
        (4, "version"): "must be string, not float 1.0",
        (8, "servers[0].type"): "not queryable here: format 'parquett'",
        (13, "schema[0].server"): "unknown field 'server'",
        (16, "schema[0].properties[0].logicalType"): "did you mean 'integer'",
        (17, "schema[0].properties[0].required"): "must be boolean",
        (19, "schema[0].properties[0].quality[0].metric"): "did you mean 'nullValues'",
        (21, "schema[0].properties[0].quality[1]"): "fields 'metric', 'mustBeAbout' are not allowed here",
        (24, "schema[0].properties[0].relationships[0]"): "field 'from' is not allowed here",
        (30, "schema[0].quality[0].arguments.properties"): "'c' is not a property of this object",
        (35, "slaProperties[0].unit"): "latency unit 'dd' is not one meshlab measures",
        (36, "slaProperties[0].element"): "'t.zz' names no property",
        (37, "extra"): "unknown field 'extra'",
    }
    for key, fragment in expected.items():
        assert key in found and fragment in found[key], (key, found.get(key))
    out = run_cli("lint", str(path))
    assert out.returncode == 1 and out.stdout.splitlines()[0].startswith("bad.odcs.yaml:4: error: version:")


def test_lint_checks_references_across_the_mesh(tmp_path):
    mesh_path = build_trust_mesh(tmp_path)
    assert [p for p in lint_mesh(str(mesh_path)) if p.severity == "error"] == []
    contract_path = tmp_path / "domains" / "shop" / "orders.odcs.yaml"
    contract = load(contract_path)
    contract["schema"][0]["properties"][1]["relationships"][0]["to"] = (
        "../crm/customers.odcs.yaml#/schema/clients/properties/customer_id"
    )
    write_yaml(contract_path, contract)
    twin = copy.deepcopy(load(tmp_path / "domains" / "crm" / "customers.odcs.yaml"))
    twin["schema"][0]["name"] = "prospects"
    write_yaml(tmp_path / "domains" / "crm" / "prospects.odcs.yaml", twin)  # same id as customers
    problems = lint_mesh(str(mesh_path))
    messages = [str(p) for p in problems]
    assert any(
        "domains/shop/orders.odcs.yaml:" in m and "warning" in m and "no schema object 'clients'" in m for m in messages
    ), messages
    assert any("id 'crm-customers' is also the id of" in m for m in messages), messages


def test_lint_names_a_missing_domain_folder(tmp_path):
    mesh_path = build_trust_mesh(tmp_path)
    manifest = load(mesh_path)
    manifest["domains"]["ghost"] = "domains/ghost"
    write_yaml(mesh_path, manifest)
    problems = [p for p in lint_mesh(str(mesh_path)) if p.field == "domains.ghost"]
    assert problems and problems[0].path == "mesh.yaml" and problems[0].line == 5


# --- diff ------------------------------------------------------------------------------------


@pytest.fixture
def base() -> dict:
    from trust_fixtures import orders_contract

    return orders_contract()


def changed(base: dict, edit) -> list:
    new = copy.deepcopy(base)
    edit(new)
    return diff_contracts(base, new)


def column(contract: dict, name: str) -> dict:
    return next(p for p in contract["schema"][0]["properties"] if p["name"] == name)


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda c: c["schema"][0]["properties"].pop(), "column removed"),
        (lambda c: column(c, "amount").update(logicalType="integer"), "logicalType number -> integer"),
        (lambda c: column(c, "status").update(required=True), "required added"),
        (lambda c: column(c, "coupon").update(unique=True), "unique added"),
        (lambda c: column(c, "customer_id")["quality"][0].update(mustBeLessThan=0.5), "threshold tightened"),
        (
            lambda c: column(c, "status")["quality"][0]["arguments"].update(validValues=["new", "paid"]),
            "fewer valid values",
        ),
        (
            lambda c: column(c, "amount")["quality"].append({"metric": "nullValues", "mustBe": 0, "name": "x"}),
            "rule added",
        ),
        (lambda c: c["slaProperties"][0].update(value=12, unit="h"), "tightened"),
        (lambda c: c["schema"].clear(), "dataset removed"),
        (lambda c: c.update(status="retired"), "active -> retired"),
    ],
)
def test_breaking_changes(base, edit, fragment):
    changes = changed(base, edit)
    breaking = [str(c) for c in changes if c.breaking]
    assert any(fragment in c for c in breaking), [str(c) for c in changes]


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda c: column(c, "order_id").update(logicalType="number"), "widened"),
        (lambda c: c["schema"][0]["properties"].append({"name": "note", "logicalType": "string"}), "column added"),
        (lambda c: column(c, "customer_id")["quality"][0].update(mustBeLessThan=5), "threshold loosened"),
        (lambda c: column(c, "status")["quality"][0]["arguments"]["validValues"].append("lost"), "validValues"),
        (lambda c: column(c, "amount").update(description="Money."), "description changed"),
        (lambda c: c["slaProperties"][0].update(value=2), "loosened"),
        (lambda c: column(c, "amount")["quality"].clear(), "rule removed"),
        (lambda c: column(c, "created_at").update(required=False), "required dropped"),
    ],
)
def test_non_breaking_changes(base, edit, fragment):
    changes = changed(base, edit)
    assert changes and not any(c.breaking for c in changes), [str(c) for c in changes]
    assert any(fragment in str(c) for c in changes)


def test_varchar_and_integer_widths(base):
    def sized(old, new):
        a, b = copy.deepcopy(base), copy.deepcopy(base)
        column(a, "sku")["physicalType"], column(b, "sku")["physicalType"] = old, new
        return [c for c in diff_contracts(a, b) if "physicalType" in c.message]

    assert sized("VARCHAR(20)", "VARCHAR(10)")[0].breaking
    assert not sized("VARCHAR(10)", "VARCHAR(20)")[0].breaking
    assert sized("BIGINT", "INTEGER")[0].breaking and not sized("INTEGER", "BIGINT")[0].breaking
    assert sized("DECIMAL(12,2)", "DECIMAL(12,1)")[0].breaking


def test_diff_cli_exit_codes_and_version_note(base, tmp_path):
    old = write_yaml(tmp_path / "old.odcs.yaml", base)
    same = run_cli("diff", str(old), str(old))
    assert same.returncode == 0 and same.stdout == ""
    new = copy.deepcopy(base)
    new["schema"][0]["properties"].pop()
    new["version"] = "1.1.0"
    out = run_cli("diff", str(old), str(write_yaml(tmp_path / "new.odcs.yaml", new)))
    assert out.returncode == 1
    assert "BREAKING schema[orders].created_at: column removed" in out.stdout
    assert "breaking changes call for a new major version" in out.stdout


# --- derived products ------------------------------------------------------------------------


def test_save_a_query_as_a_derived_product(tmp_path):
    mesh_path = build_trust_mesh(tmp_path)
    shell = start_ipython() or get_ipython()  # the one test shell: started here or by an earlier test
    shell.run_line_magic("load_ext", "meshlab")
    shell.run_line_magic("mesh", f"connect {mesh_path}")
    sql = (
        "SELECT c.country, count(*) AS orders, sum(o.amount) AS revenue\n"
        "FROM shop.orders o JOIN crm.customers c ON c.customer_id = o.customer_id\nGROUP BY c.country"
    )
    result = shell.run_cell_magic("mesh", "--save shop.revenue_by_country", sql)
    path = tmp_path / "domains" / "shop" / "revenue_by_country.odcs.yaml"
    contract = load(path)
    assert contract["status"] == "draft" and contract["customProperties"][0]["value"] == sql
    columns = props(contract)
    assert columns["revenue"]["transformSourceObjects"] == ["shop.orders.amount"]
    assert columns["revenue"]["transformDescription"] == "aggregation"
    assert columns["revenue"]["transformLogic"] == "SUM(o.amount)"
    assert columns["country"]["transformSourceObjects"] == ["crm.customers.country"]
    assert columns["orders"]["logicalType"] == "integer" and columns["revenue"]["logicalType"] == "number"
    assert "shop.orders" in contract["description"]["purpose"] and "crm.customers" in contract["description"]["purpose"]
    # The magic reloaded the mesh: the product is queryable at once, with the same rows.
    again = shell.run_cell_magic("mesh", "", "SELECT * FROM shop.revenue_by_country")
    assert again.df.sort("country").equals(result.df.sort("country"))
    assert [p for p in lint_mesh(str(mesh_path)) if p.severity == "error"] == []
    assert os.path.isfile(tmp_path / "domains" / "shop" / "data" / "revenue_by_country.parquet")
