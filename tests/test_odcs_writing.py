"""Every contract meshlab writes is valid ODCS by the official schema of the version it declares."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import polars as pl
import pytest
import yaml

import meshlab
from meshlab.authoring.init_contract import init_contract

SCHEMAS = Path(meshlab.__file__).parent / "catalog" / "odcs_schemas"


def official_errors(document: dict) -> list[str]:
    schema = json.loads((SCHEMAS / f"odcs-json-schema-{document['apiVersion']}.json").read_text())
    return [e.message for e in jsonschema.Draft201909Validator(schema).iter_errors(document)]


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3],
            "name": ["a", "b", None],
            "amount": [1.5, 2.0, 3.25],
            "day": pl.date_range(pl.date(2026, 1, 1), pl.date(2026, 1, 3), eager=True),
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_init_from_files_writes_valid_odcs(tmp_path, frame, fmt):
    data = tmp_path / f"t.{fmt}"
    {"parquet": frame.write_parquet, "csv": frame.write_csv, "json": frame.write_ndjson}[fmt](data)
    path = init_contract(str(data), "shop", "t", output=str(tmp_path / "t.odcs.yaml"))
    contract = yaml.safe_load(Path(path).read_text())
    assert official_errors(contract) == []
    mesh = meshlab.connect(path)
    assert mesh.errors == [] and mesh.notices == []
    assert mesh.sql("SELECT count(*) AS n FROM shop.t").df["n"][0] == 3


def test_init_from_sqlite_writes_valid_odcs_read_back_as_sqlite(tmp_path, frame):
    db = tmp_path / "db.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    path = init_contract(f"sqlite:///{db}?table=t", "crm", "t", output=str(tmp_path / "t.odcs.yaml"))
    contract = yaml.safe_load(Path(path).read_text())
    assert official_errors(contract) == []
    mesh = meshlab.connect(path)
    assert mesh.dataset("crm.t").server.type == "sqlite"
    assert mesh.sql("SELECT count(*) AS n FROM crm.t").df["n"][0] == 2


def test_the_house_forms_of_earlier_versions_are_still_read(tmp_path, frame):
    frame.write_csv(tmp_path / "t.csv", separator=";")
    db = tmp_path / "db.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE u (id INTEGER)")
        con.execute("INSERT INTO u VALUES (7)")
    (tmp_path / "old.odcs.yaml").write_text(
        """\
apiVersion: v3.0.2
kind: DataContract
id: old
version: 1.0.0
status: production
servers:
  - {server: files, type: local, format: csv, path: t.csv, delimiter: ";"}
  - {server: db, type: sqlite, path: db.sqlite}
schema:
  - name: t
    properties: [{name: id, logicalType: integer}, {name: name, logicalType: string}]
"""
    )
    mesh = meshlab.connect(tmp_path / "old.odcs.yaml")
    assert mesh.dataset("old.t").status == "production"
    assert mesh.sql("SELECT sum(id) AS s FROM old.t").df["s"][0] == 6
    assert [s.type for s in mesh.dataset("old.t").servers] == ["local", "sqlite"]
