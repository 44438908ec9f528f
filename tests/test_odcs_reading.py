"""What meshlab reads of a contract: the whole standard, in its v3.0 and v3.1 forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshlab
from meshlab.authoring.lint import lint_mesh
from meshlab.errors import MeshError

NESTED = """\
apiVersion: v3.1.0
kind: DataContract
id: n
version: 1.0.0
status: in development
team:
  name: orders-team
  members:
    - {username: ana, role: owner}
servers:
  - server: warehouse
    type: bigquery
    project: p
    dataset: d
  - server: files
    type: local
    format: json
    path: data/{model}.ndjson
schema:
  - name: orders
    physicalName: orders_v1
    properties:
      - name: id
        logicalType: integer
        quality:
          - metric: nullValues
            mustBeLessThan: 1
      - name: address
        logicalType: object
        properties:
          - {name: city, logicalType: string}
          - {name: zip, logicalType: string}
      - name: items
        logicalType: array
        items:
          logicalType: object
          properties:
            - {name: sku, logicalType: string}
  - name: empty
slaProperties:
  - {property: latency, value: 2, unit: d, element: orders_v1.id}
"""


@pytest.fixture
def contract(tmp_path) -> Path:
    (tmp_path / "data").mkdir()
    rows = [
        {"id": 1, "address": {"city": "Berlin", "zip": "10115"}, "items": [{"sku": "a"}, {"sku": "b"}]},
        {"id": None, "address": {"city": "Rome", "zip": "00100"}, "items": []},
    ]
    (tmp_path / "data" / "orders.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = tmp_path / "shop.odcs.yaml"
    path.write_text(NESTED)
    return path


def test_every_server_is_read_and_the_first_readable_one_is_used(contract):
    ds = meshlab.connect(contract).dataset("shop.orders")
    assert [(s.name, s.readable) for s in ds.servers] == [("warehouse", False), ("files", True)]
    assert ds.server.name == "files" and ds.server.path.endswith("data/orders.ndjson")  # {model} substituted
    assert ds.queryable and ds.status == "in development" and ds.owner == "ana"


def test_nested_properties_are_struct_and_list_columns(contract):
    mesh = meshlab.connect(contract)
    columns = {c.name: c for c in mesh.dataset("shop.orders").columns}
    assert [f.name for f in columns["address"].fields] == ["city", "zip"]
    assert columns["items"].type == "array" and [f.name for f in columns["items"].fields] == ["sku"]
    df = mesh.sql("SELECT id, address.city AS city, items FROM shop.orders ORDER BY city").df
    assert df["city"].to_list() == ["Berlin", "Rome"] and df["items"].to_list()[0] == [{"sku": "a"}, {"sku": "b"}]


def test_an_object_without_properties_is_catalogued_not_queryable(contract):
    mesh = meshlab.connect(contract)
    empty = mesh.dataset("shop.empty")
    assert not empty.queryable and "lists no properties" in empty.unavailable
    with pytest.raises(MeshError, match=r"^dataset 'shop.empty' is not queryable here: schema object 'empty'"):
        mesh.sql("SELECT * FROM shop.empty")
    assert any("shop.empty" in n for n in mesh.notices) and mesh.errors == []


def test_lint_keeps_errors_warnings_and_notices_apart(contract):
    problems = lint_mesh(str(contract))
    assert [p.severity for p in problems if p.severity == "error"] == []
    notices = [p.message for p in problems if p.severity == "notice"]
    assert any("'bigquery' has no reader" in m for m in notices)
    assert any("'empty' not queryable here" in m for m in notices)
    assert not any(p.field.startswith("slaProperties") for p in problems)  # the element names the physical table


def test_v30_library_rules_are_evaluated(contract):
    v30 = NESTED.replace("v3.1.0", "v3.0.2").replace("metric: nullValues", "rule: nullCheck")
    v30 = v30.replace(
        "  name: orders-team\n  members:\n    - {username: ana, role: owner}", "  - {username: ana, role: owner}"
    )
    contract.write_text(v30)
    assert [p for p in lint_mesh(str(contract)) if "nullCheck" in p.message] == []  # read as nullValues
    mesh = meshlab.connect(contract)
    assert mesh.dataset("shop.orders").owner == "ana"  # the v3.0 team shape
    outcome = {r.check: r.status for r in mesh.check("shop.orders").results}
    assert outcome["nullValues:id"] == "failed"


def test_cli_lint_strict_fails_on_notices(contract):
    import subprocess
    import sys

    run = [sys.executable, "-m", "meshlab.cli", "lint", str(contract)]
    assert subprocess.run(run, capture_output=True).returncode == 0
    strict = subprocess.run([*run, "--strict"], capture_output=True, text=True)
    assert strict.returncode == 1 and "0 errors, 0 warnings, 2 notices" in strict.stderr


def test_diff_reads_both_versions_and_a_migration_is_no_breaking_change(contract, tmp_path):
    from meshlab.authoring.diff import diff_files

    v30 = NESTED.replace("v3.1.0", "v3.0.2").replace("metric: nullValues", "rule: nullCheck")
    old = tmp_path / "old.odcs.yaml"
    old.write_text(v30)
    assert [str(c) for c in diff_files(str(old), str(contract))] == ["change   apiVersion: v3.0.2 -> v3.1.0"]
    narrowed = tmp_path / "new.odcs.yaml"
    narrowed.write_text(NESTED.replace("      - {name: zip, logicalType: string}\n", ""))
    assert any(c.breaking for c in diff_files(str(contract), str(narrowed)))


def test_logical_type_options_are_evaluated_or_reported_as_not_evaluated(tmp_path):
    (tmp_path / "t.csv").write_text("code,n,email\nAB1,5,a@x.io\nzz,-1,bad\nCD2,200,\n")
    (tmp_path / "opt.odcs.yaml").write_text(
        """\
apiVersion: v3.1.0
kind: DataContract
id: o
version: 1.0.0
status: active
servers:
  - {server: f, type: local, format: csv, path: t.csv}
schema:
  - name: t
    properties:
      - {name: code, logicalType: string, logicalTypeOptions: {pattern: "[A-Z]{2}[0-9]", maxLength: 3}}
      - {name: n, logicalType: integer, logicalTypeOptions: {minimum: 0, maximum: 100}}
      - {name: email, logicalType: string, logicalTypeOptions: {format: email}}
"""
    )
    report = meshlab.connect(tmp_path / "opt.odcs.yaml").check()
    outcome = {r.check: (r.status, r.observed) for r in report.results if r.check.startswith("logicalTypeOptions")}
    assert outcome == {
        "logicalTypeOptions.pattern:code": ("failed", 1),
        "logicalTypeOptions.maxLength:code": ("passed", 0),
        "logicalTypeOptions.minimum:n": ("failed", 1),
        "logicalTypeOptions.maximum:n": ("failed", 1),
        "logicalTypeOptions.format:email": ("skipped", None),
    }
    notices = [p.message for p in lint_mesh(str(tmp_path / "opt.odcs.yaml")) if p.severity == "notice"]
    assert notices == ["logicalTypeOptions.format is not evaluated by meshlab check"]


def test_sql_rules_may_name_their_table_by_name_or_physical_name(tmp_path):
    (tmp_path / "t.csv").write_text("n\n5\n-1\n200\n")
    (tmp_path / "s.odcs.yaml").write_text(
        """\
apiVersion: v3.1.0
kind: DataContract
id: s
version: 1.0.0
status: active
servers:
  - {server: f, type: local, format: csv, path: t.csv}
schema:
  - name: t
    physicalName: t_physical
    properties: [{name: n, logicalType: integer}]
    quality:
      - {type: sql, query: "SELECT count(*) FROM t_physical WHERE n < 0", mustBeLessThan: 2}
      - {type: sql, query: "SELECT count(*) FROM t AS x WHERE x.n > 100", mustBe: 0}
"""
    )
    report = meshlab.connect(tmp_path / "s.odcs.yaml").check()
    assert {r.check: r.status for r in report.results if r.check.startswith("sql")} == {
        "sql[0]": "passed",
        "sql[1]": "failed",
    }


def test_json_documents_are_read_as_well_as_ndjson(tmp_path):
    (tmp_path / "d.json").write_text('[\n {"id": 1, "name": "a"},\n {"id": 2, "name": "b"}\n]\n')
    (tmp_path / "d.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: d\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: f, type: local, format: json, path: d.json}]\n"
        "schema: [{name: d, properties: [{name: id, logicalType: integer}, {name: name, logicalType: string}]}]\n"
    )
    mesh = meshlab.connect(tmp_path / "d.odcs.yaml")
    assert mesh.sql("SELECT sum(id) AS s FROM d.d").df["s"][0] == 3
    assert {r.status for r in mesh.check().results} == {"passed"}
    (tmp_path / "d.json").write_text('{\n  "id": 7,\n  "name": "one object"\n}\n')  # one pretty-printed object
    assert meshlab.connect(tmp_path / "d.odcs.yaml").sql("SELECT id FROM d.d").df["id"].to_list() == [7]


def test_invalid_odcs_that_meshlab_can_read_is_loaded_and_listed_apart(tmp_path):
    (tmp_path / "t.csv").write_text("n\n1\n")
    body = (
        "apiVersion: v3.1.0\nkind: DataContract\nid: i\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: f, type: local, format: csv, path: t.csv, delimiter: ','}]\n"
        "schema: [{name: t, properties: [{name: n, logicalType: integer}]}]\n"
    )
    (tmp_path / "i.odcs.yaml").write_text(body)
    mesh = meshlab.connect(tmp_path / "i.odcs.yaml")
    assert mesh.errors == [] and mesh.sql("SELECT n FROM i.t").df["n"].to_list() == [1]
    assert [(e.field, e.reason) for e in mesh.invalid] == [
        ("servers[0].delimiter", "not valid ODCS v3.1.0: unknown field 'delimiter'")
    ]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_of_one_dataset_with_differing_columns_read_missing_ones_as_null(tmp_path, fmt):
    import polars as pl

    (tmp_path / "data").mkdir()
    first, second = pl.DataFrame({"id": [1], "name": ["a"]}), pl.DataFrame({"id": [2]})
    for frame, name in ((first, "a"), (second, "b")):
        getattr(frame, f"write_{fmt}")(tmp_path / "data" / f"{name}.{fmt}")
    (tmp_path / "d.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: d\nversion: 1.0.0\nstatus: active\n"
        f"servers: [{{server: f, type: local, format: {fmt}, path: 'data/*.{fmt}'}}]\n"
        "schema: [{name: t, properties: [{name: id, logicalType: integer}, {name: name, logicalType: string}]}]\n"
    )
    mesh = meshlab.connect(tmp_path / "d.odcs.yaml")
    assert mesh.sql("SELECT id, name FROM d.t ORDER BY id").df.rows() == [(1, "a"), (2, None)]


def test_csv_type_checks_judge_the_text_as_stored(tmp_path):
    (tmp_path / "t.csv").write_text("day,zip\n2026-01-01T10:00:00,01234\n2026-01-02T11:30:00,10115\n")
    (tmp_path / "c.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: c\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: f, type: local, format: csv, path: t.csv}]\n"
        "schema: [{name: t, properties: [{name: day, logicalType: date}, {name: zip, logicalType: string}]}]\n"
    )
    results = {r.check: r for r in meshlab.connect(tmp_path / "c.odcs.yaml").check().results}
    assert results["type:day"].status == "failed" and "Datetime" in results["type:day"].message
    assert results["type:zip"].status == "passed"


def test_sla_elements_in_every_form_the_examples_use(tmp_path):
    (tmp_path / "t.csv").write_text("ts\n2026-01-01T10:00:00\n")
    (tmp_path / "s.odcs.yaml").write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: s\nversion: 1.0.0\nstatus: active\n"
        "servers: [{server: f, type: local, format: csv, path: t.csv}]\n"
        "schema: [{name: t, physicalName: tbl, properties: [{name: ts, physicalName: ts_col, logicalType: timestamp}]}]\n"
        "slaProperties:\n"
        "  - {property: latency, value: 1, unit: d, element: tbl.ts_col}\n"
        "  - {property: latency, value: 500, unit: ms, element: t.ts}\n"
        "  - {property: latency, value: 1, element: t.ts}\n"
        "  - {property: latency, value: 1, unit: d, element: tbl}\n"
    )
    assert [p for p in lint_mesh(str(tmp_path / "s.odcs.yaml")) if p.severity != "notice"] == []
    results = meshlab.connect(tmp_path / "s.odcs.yaml").check(as_of="2026-01-01T12:00:00+00:00").results
    statuses = [r.status for r in results if r.kind == "sla"]
    assert statuses == ["passed", "failed", "skipped", "skipped"]  # 2 h old: within 1 d, not 500 ms
