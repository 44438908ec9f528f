"""meshlab against real ODCS contracts written by other projects (tests/odcs_corpus/).

Each test computes the official verdict itself, with the ``jsonschema`` library
and the official JSON schema of the contract's declared ``apiVersion``, and
asserts that meshlab agrees: ``meshlab lint`` reports exactly as many errors as
the official schema has violations (so the same valid/invalid verdict), loading
never raises anything but a MeshError, and every valid contract is catalogued.
The invalid side adds our own mutations of the valid contracts.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import jsonschema
import pytest
import yaml

import meshlab
from meshlab.authoring.lint import lint_mesh
from meshlab.errors import MeshError

CORPUS = Path(__file__).parent / "odcs_corpus"
SCHEMAS = Path(meshlab.__file__).parent / "catalog" / "odcs_schemas"
FILES = sorted(CORPUS.glob("*/*.odcs.yaml"))


def official_errors(document: dict) -> int:
    """Violations of the official schema of the document's apiVersion, counted as jsonschema yields them."""
    version = document["apiVersion"]
    schema = json.loads((SCHEMAS / f"odcs-json-schema-{version}.json").read_text())
    as_json = json.loads(json.dumps(document, default=lambda v: v.isoformat()))
    return sum(1 for _ in jsonschema.Draft201909Validator(schema).iter_errors(as_json))


def quoted(address: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in address.split("."))


def lint_errors(path: Path) -> list[str]:
    return [str(p) for p in lint_mesh(str(path)) if p.severity == "error"]


def test_the_corpus_is_large_enough_and_mixed():
    documents = [yaml.safe_load(f.read_text()) for f in FILES]
    versions = {d["apiVersion"] for d in documents}
    valid = sum(official_errors(d) == 0 for d in documents)
    assert len(FILES) >= 60 and versions == {"v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0"}
    assert 0 < len(FILES) - valid < valid  # both verdicts present, mostly valid


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lint_counts_the_official_schema_errors(path):
    expected = official_errors(yaml.safe_load(path.read_text()))
    assert len(lint_errors(path)) == expected


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_contract_loads_and_valid_ones_are_catalogued(path):
    document = yaml.safe_load(path.read_text())
    mesh = meshlab.connect(path)  # only MeshErrors may come out; none should for these files
    assert mesh.errors == []
    named = [o for o in document.get("schema") or () if isinstance(o, dict) and o.get("name")]
    if official_errors(document) == 0:
        assert len(mesh.datasets()) == len({o["name"] for o in named})
    for dataset in mesh.datasets():
        assert dataset.descriptor is document or dataset.descriptor == document  # nothing dropped
        if not dataset.queryable:
            assert dataset.unavailable and any(dataset.address in n for n in mesh.notices)
            with pytest.raises(MeshError, match="not queryable here"):
                mesh.sql(f"SELECT * FROM {quoted(dataset.address)}")


def _mutations(document: dict, rng: random.Random, count: int):
    """Copies of ``document`` with one value replaced by a value of another type, at any depth."""
    places = []
    stack = [((), document)]
    while stack:
        where, value = stack.pop()
        if where:
            places.append(where)
        if isinstance(value, dict):
            stack.extend(((*where, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*where, i), v) for i, v in enumerate(value))
    for where in rng.sample(places, min(count, len(places))):
        for replacement in (7, "text", [1, "x"], {"x": 1}, None, True):
            mutated = copy.deepcopy(document)
            parent = mutated
            for key in where[:-1]:
                parent = parent[key]
            parent[where[-1]] = replacement
            yield where, mutated


VALID = [p for p in FILES if official_errors(yaml.safe_load(p.read_text())) == 0]


@pytest.mark.parametrize("path", VALID[::8], ids=lambda p: p.name)
def test_mutated_contracts_get_the_official_verdict_and_load_without_traceback(path, tmp_path):
    document = yaml.safe_load(path.read_text())
    rng = random.Random(path.name)
    for where, mutated in _mutations(document, rng, 3):
        target = tmp_path / "mutated.odcs.yaml"
        target.write_text(yaml.safe_dump(mutated, sort_keys=False))
        if not (
            isinstance(mutated.get("apiVersion"), str)
            and mutated["apiVersion"] in ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0")
        ):
            assert lint_errors(target), where  # an unknown apiVersion is one clear error
            continue
        assert len(lint_errors(target)) == official_errors(mutated), where
        try:
            mesh = meshlab.connect(target)
            for dataset in mesh.datasets()[:2]:
                mesh.explain(f"SELECT * FROM {quoted(dataset.address)}")
        except MeshError as exc:
            assert "\n" not in str(exc), where


@pytest.mark.parametrize("path", FILES[::4], ids=lambda p: p.name)
def test_diff_of_a_contract_with_itself_and_a_mutation(path, tmp_path):
    from meshlab.authoring.diff import diff_files

    assert diff_files(str(path), str(path)) == []
    for _, mutated in _mutations(yaml.safe_load(path.read_text()), random.Random(path.name), 2):
        target = tmp_path / "m.odcs.yaml"
        target.write_text(yaml.safe_dump(mutated, sort_keys=False))
        diff_files(str(path), str(target))  # a report, never a traceback


def test_datacontract_cli_names_are_contracts_not_manifests(tmp_path):
    source = CORPUS / "datacontract-cli" / "ex-orders__orders.odcs.yaml"
    domain = tmp_path / "orders"
    domain.mkdir()
    (domain / "datacontract.yaml").write_text(source.read_text())
    (domain / "odcs.yaml").write_text("dataContractSpecification: 1.1.0\nid: not-odcs\n")  # another format: skipped
    mesh = meshlab.connect(domain / "datacontract.yaml")
    assert [d.name for d in mesh.datasets()] and mesh.errors == []
    folder = meshlab.connect(domain)
    assert [d.name for d in folder.datasets()] == [d.name for d in mesh.datasets()]
    assert any("odcs.yaml: not an ODCS contract" in w for w in folder.warnings)


def test_a_yaml_file_holding_one_contract_is_a_mesh_of_one(tmp_path):
    source = CORPUS / "datacontract-cli" / "ex-orders__orders.odcs.yaml"
    (tmp_path / "orders.yaml").write_text(source.read_text())
    mesh = meshlab.connect(tmp_path / "orders.yaml")
    assert mesh.errors == [] and mesh.datasets()
