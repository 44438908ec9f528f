"""Bad descriptors end in one MeshError line naming the file (and line), in bounded time and memory."""

from __future__ import annotations

import time

import pytest

import meshlab
from meshlab.authoring.lint import lint_mesh
from meshlab.catalog.yaml_reading import MAX_DESCRIPTOR_BYTES
from meshlab.errors import DescriptorError, MeshError

HEADER = """\
apiVersion: v3.1.0
kind: DataContract
id: t
version: 1.0.0
status: active
servers:
  - server: lake
    type: local
    format: parquet
    path: t.parquet
"""

BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
    + "tags: *i\n"
)

# Bounded, not timed: "does not hang" on a busy shared machine (the limits themselves are counts).
HANG_BOUND = 60


def one_line_error(path, *, contract=True) -> str:
    """The single error meshlab gives for ``path`` (as a mesh of one, or as a manifest)."""
    if contract:
        mesh = meshlab.connect(path)
        assert len(mesh.errors) == 1 and mesh.datasets() == []
        message = str(mesh.errors[0])
    else:
        with pytest.raises(MeshError) as caught:
            meshlab.connect(path)
        message = str(caught.value)
    assert "\n" not in message
    # A contract's own errors name it relative to the mesh's folder (here, its own folder).
    assert message.startswith(f"{path.name}:") if contract else str(path) in message
    return message


@pytest.mark.parametrize(
    "body, fragment",
    [
        (HEADER + BOMB, "YAML aliases expand to more than"),
        (HEADER + "description:\n  purpose: caf\xe9 \x00 bar\n", "NUL byte"),
        (HEADER + "schema: [ {name: x\n", "invalid YAML"),
        (HEADER + "\tschema: 1\n", "invalid YAML"),
    ],
    ids=["alias-bomb", "nul-byte", "unclosed-flow", "tab"],
)
def test_bad_text_is_one_error_line(tmp_path, body, fragment):
    path = tmp_path / "bad.odcs.yaml"
    path.write_text(body, encoding="utf-8")
    started = time.perf_counter()
    message = one_line_error(path)
    assert fragment in message and time.perf_counter() - started < HANG_BOUND
    lint = [p for p in lint_mesh(str(path)) if p.severity == "error"]
    assert len(lint) == 1 and fragment in lint[0].message and "\n" not in str(lint[0])


def test_invalid_utf8_names_its_line(tmp_path):
    path = tmp_path / "latin1.odcs.yaml"
    path.write_bytes((HEADER + "description:\n  purpose: caf\xe9\n").encode("latin-1"))
    message = one_line_error(path)
    assert "not UTF-8" in message and "line 12" in message
    manifest = tmp_path / "mesh.yaml"
    manifest.write_bytes("mesh: m\ndomains:\n  caf\xe9: x\n".encode("latin-1"))
    assert "line 3" in one_line_error(manifest, contract=False)


def test_an_alias_bomb_in_the_manifest_is_refused_quickly(tmp_path):
    manifest = tmp_path / "mesh.yaml"
    manifest.write_text("mesh: m\n" + BOMB.replace("tags: *i", "domains: {x: *i}"))
    started = time.perf_counter()
    assert "alias bomb" in one_line_error(manifest, contract=False)
    assert time.perf_counter() - started < HANG_BOUND


def test_a_contract_over_the_size_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.odcs.yaml"
    filler = "# " + "x" * 1022 + "\n"
    with path.open("w") as handle:
        handle.write(HEADER)
        for _ in range(MAX_DESCRIPTOR_BYTES // 1024 + 1):
            handle.write(filler)
    started = time.perf_counter()
    assert "over meshlab's limit" in one_line_error(path)
    assert time.perf_counter() - started < HANG_BOUND


def test_wrong_types_at_the_top_of_a_contract_are_reported_not_raised(tmp_path):
    for body in ("[1, 2]\n", "apiVersion: [v3.1.0]\nkind: DataContract\n", HEADER.replace("DataContract", "Data")):
        path = tmp_path / "odd.odcs.yaml"
        path.write_text(body)
        message = one_line_error(path)
        assert isinstance(meshlab.connect(path).errors[0], DescriptorError), message


def test_team_of_the_wrong_type_does_not_take_the_mesh_down(tmp_path):
    (tmp_path / "d").mkdir()
    good = HEADER + "schema:\n  - name: good\n    properties: [{name: a, logicalType: integer}]\n"
    (tmp_path / "d" / "good.odcs.yaml").write_text(good)
    (tmp_path / "d" / "odd.odcs.yaml").write_text(good.replace("name: good", "name: odd") + "team: 7\n")
    mesh = meshlab.connect(tmp_path / "d")
    assert sorted(d.name for d in mesh.datasets()) == ["good", "odd"]
    assert mesh.dataset("d.odd").owner is None
    assert [p.field for p in lint_mesh(str(tmp_path / "d")) if p.severity == "error"] == ["team"]


def test_a_port_from_the_environment_is_read_not_raised(tmp_path, monkeypatch):
    body = HEADER.replace(
        "    type: local\n    format: parquet\n    path: t.parquet\n",
        "    type: postgres\n    host: localhost\n    port: '${PG_PORT}'\n    database: db\n    schema: public\n",
    )
    path = tmp_path / "pg.odcs.yaml"
    path.write_text(body + "schema:\n  - name: t\n    properties: [{name: a}]\n")
    monkeypatch.delenv("PG_PORT", raising=False)
    unset = meshlab.connect(path).dataset("pg.t")
    assert not unset.queryable and "port '${PG_PORT}' is not a port number" in unset.unavailable
    monkeypatch.setenv("PG_PORT", "5433")
    assert meshlab.connect(path).dataset("pg.t").server.port == 5433


def test_a_hundred_thousand_properties_load_in_reasonable_time(tmp_path):
    props = "".join(f"      - name: c{i}\n        logicalType: string\n" for i in range(100_000))
    path = tmp_path / "wide.odcs.yaml"
    path.write_text(HEADER + "schema:\n  - name: wide\n    properties:\n" + props)
    started = time.perf_counter()
    mesh = meshlab.connect(path)
    assert len(mesh.dataset("wide.wide").columns) == 100_000
    assert "c99999" in mesh.explain("SELECT c99999 FROM wide.wide")
    assert time.perf_counter() - started < HANG_BOUND  # 7 s measured on the shared 2-core machine


def test_an_alias_bomb_in_the_policy_file_is_refused_quickly(tmp_path):
    from meshlab.governance.policy import load_policy

    (tmp_path / "policies.yaml").write_text(BOMB.replace("tags: *i", "roles: *i"))
    started = time.perf_counter()
    with pytest.raises(DescriptorError, match="alias bomb"):
        load_policy(str(tmp_path / "policies.yaml"))
    assert time.perf_counter() - started < HANG_BOUND
