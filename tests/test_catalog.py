"""Catalog: loading a mesh, addressing, ambiguity, search ranking, broken descriptors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from support.contracts import column, local_files, schema_object
from support.contracts import contract as build_contract

import meshlab
from meshlab.errors import AmbiguousDatasetError, MeshError, MeshLoadError, UnknownDatasetError


def contract(name: str, domain: str, datasets: dict[str, dict], product: str | None = None, **extra) -> str:
    """An ODCS v3 contract over parquet files named after each dataset (YAML text)."""
    document = build_contract(
        domain,
        name,
        [],
        local_files(extra.get("path", f"../data/{name}.parquet")),
        title=name.replace("_", " ").title(),
        status=extra.get("status", "active"),
        description=extra.get("purpose", "Test data."),
        tags=extra.get("tags", []),
        owner="ana",
        **({"dataProduct": product} if product else {}),
    )
    document["schema"] = [
        schema_object(
            ds,
            [column(col, "integer", description=desc) for col, desc in spec["columns"].items()],
            description=spec.get("description", ""),
        )
        for ds, spec in datasets.items()
    ]
    return yaml.safe_dump(document, sort_keys=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def small_mesh(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    pl.DataFrame({"user_id": [1, 2, 3], "country_id": [1, 1, 2]}).write_parquet(data / "play_events.parquet")
    pl.DataFrame({"user_id": [1, 2], "age": [30, 40]}).write_parquet(data / "profiles.parquet")
    write(
        tmp_path / "plays" / "play_events.odcs.yaml",
        contract(
            "play_events",
            "plays",
            {
                "play_events": {
                    "description": "One row per play of a track.",
                    "columns": {"user_id": "Listener.", "country_id": "Country of the play."},
                }
            },
            tags=["music", "events"],
        ),
    )
    write(
        tmp_path / "listeners" / "profiles.odcs.yaml",
        contract(
            "profiles",
            "listeners",
            {
                "profiles": {
                    "description": "Listener profiles, one per user.",
                    "columns": {"user_id": "Listener.", "age": "Age in years."},
                }
            },
        ),
    )
    write(tmp_path / "mesh.yaml", "mesh: music\ndomains:\n  plays: plays\n  listeners: listeners\n")
    return tmp_path / "mesh.yaml"


def test_loads_every_dataset_with_its_contract_fields(small_mesh):
    mesh = meshlab.connect(small_mesh)
    assert mesh.name == "music"
    assert [d.address for d in mesh.datasets()] == ["listeners.profiles", "plays.play_events"]
    ds = mesh.dataset("plays.play_events")
    assert (ds.domain, ds.owner, ds.status, ds.tags) == ("plays", "ana", "active", ("music", "events"))
    assert [c.name for c in ds.columns] == ["user_id", "country_id"]
    assert ds.columns[1].description == "Country of the play."
    assert ds.descriptor["kind"] == "DataContract"
    assert mesh.errors == []


def test_addresses_are_case_insensitive_and_quoted_identifiers_work(small_mesh):
    mesh = meshlab.connect(small_mesh)
    assert mesh.dataset("PLAYS.Play_Events").address == "plays.play_events"
    result = mesh.sql('SELECT count(*) AS n FROM "plays"."play_events"')
    assert result.df["n"][0] == 3
    assert mesh.sql("SELECT count(*) AS n FROM Plays.PLAY_EVENTS").df["n"][0] == 3


def test_unknown_address_suggests_the_closest(small_mesh):
    mesh = meshlab.connect(small_mesh)
    with pytest.raises(UnknownDatasetError) as caught:
        mesh.dataset("plays.play_event")
    assert "plays.play_events" in caught.value.suggestions
    assert "plays.play_event" in str(caught.value)


def test_same_dataset_name_in_two_products_needs_the_product_address(small_mesh, tmp_path):
    pl.DataFrame({"user_id": [9]}).write_parquet(tmp_path / "data" / "other.parquet")
    write(
        tmp_path / "plays" / "archive.odcs.yaml",
        contract(
            "archive",
            "plays",
            {"play_events": {"columns": {"user_id": "Listener."}}},
            product="archive",
            path="../data/other.parquet",
        ),
    )
    mesh = meshlab.connect(small_mesh)
    addresses = [d.address for d in mesh.datasets()]
    assert "plays.archive.play_events" in addresses
    assert "plays.play_events.play_events" in addresses  # the other one: product = file stem
    with pytest.raises(AmbiguousDatasetError) as caught:
        mesh.dataset("plays.play_events")
    assert "plays.archive.play_events" in str(caught.value)
    assert mesh.sql("SELECT user_id FROM plays.archive.play_events").df["user_id"].to_list() == [9]


def test_a_broken_contract_is_listed_and_the_rest_of_the_mesh_loads(small_mesh, tmp_path):
    write(tmp_path / "plays" / "bad_yaml.odcs.yaml", "apiVersion: v3.1.0\nkind: a: b\nschema: []\n")
    write(
        tmp_path / "plays" / "no_schema.odcs.yaml",
        "apiVersion: v3.1.0\nkind: DataContract\nservers: [{type: local, format: parquet, path: x.parquet}]\n",
    )
    write(
        tmp_path / "listeners" / "bad_server.odcs.yaml",
        "apiVersion: v3.1.0\nkind: DataContract\nservers: [{type: ftp, path: x}]\nschema: [{name: x}]\n",
    )
    write(tmp_path / "listeners" / "bad_version.odcs.yaml", "apiVersion: v9\nkind: DataContract\n")
    mesh = meshlab.connect(small_mesh)
    # A server type without a reader is not an error: the dataset is catalogued, not queryable here.
    assert [d.address for d in mesh.datasets()] == ["listeners.profiles", "listeners.x", "plays.play_events"]
    assert len(mesh.errors) == 2
    by_file = {Path(e.path).name: e for e in mesh.errors}
    assert "invalid YAML" in str(by_file["bad_yaml.odcs.yaml"]) and "line 2" in str(by_file["bad_yaml.odcs.yaml"])
    assert by_file["bad_version.odcs.yaml"].field == "apiVersion"
    assert any("no_schema.odcs.yaml: lists no schema objects" in w for w in mesh.warnings)
    assert mesh.notices == [f"{tmp_path}/listeners/bad_server.odcs.yaml: listeners.x: not queryable here: "
                            "server 'server0': server type 'ftp' has no reader in meshlab"]  # fmt: skip
    with pytest.raises(
        MeshError, match=r"^dataset 'listeners.x' is not queryable here: server 'server0': server type 'ftp'"
    ):
        mesh.sql("SELECT * FROM listeners.x")
    # Queries over the healthy datasets still run.
    assert mesh.sql("SELECT count(*) AS n FROM listeners.profiles").df["n"][0] == 2


def test_a_missing_domain_folder_is_an_error_of_that_domain_only(small_mesh, tmp_path):
    (tmp_path / "mesh.yaml").write_text("mesh: music\ndomains:\n  plays: plays\n  gone: nowhere\n")
    mesh = meshlab.connect(small_mesh)
    assert [d.address for d in mesh.datasets()] == ["plays.play_events"]
    assert "domains.gone" in str(mesh.errors[0]) and "nowhere" in str(mesh.errors[0])


def test_a_missing_manifest_is_a_load_error(tmp_path):
    with pytest.raises(MeshLoadError, match="not found"):
        meshlab.connect(tmp_path / "absent.yaml")


def test_a_domain_folder_or_one_contract_is_a_mesh_of_one(small_mesh, tmp_path):
    one = meshlab.connect(tmp_path / "plays" / "play_events.odcs.yaml")
    assert [d.address for d in one.datasets()] == ["plays.play_events"]
    folder = meshlab.connect(tmp_path / "listeners")
    assert [d.address for d in folder.datasets()] == ["listeners.profiles"]


def test_unknown_fields_are_kept_not_fatal(small_mesh, tmp_path):
    path = tmp_path / "plays" / "play_events.odcs.yaml"
    path.write_text(path.read_text() + "x-lineage-owner: {team: data-platform}\nsupport: [{channel: '#plays'}]\n")
    ds = meshlab.connect(small_mesh).dataset("plays.play_events")
    assert ds.descriptor["x-lineage-owner"] == {"team": "data-platform"}


def test_search_ranks_name_and_column_hits_first(small_mesh):
    mesh = meshlab.connect(small_mesh)
    found = [d.address for d in mesh.search("plays per country")]
    assert found[0] == "plays.play_events"
    assert [d.address for d in mesh.search("listener age")][0] == "listeners.profiles"
    assert mesh.search("zebra") == []


def test_search_in_a_larger_catalog(tmp_path):
    """Among many datasets mentioning plays or countries, the one with both wins."""
    data = tmp_path / "data"
    data.mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(data / "x.parquet")
    specs = {
        "country_codes": ("Reference list of country codes.", {"code": "ISO code.", "country": "Country name."}),
        "play_counts_by_track": ("How many plays each track had.", {"track_id": "Track.", "plays": "Plays."}),
        "play_events": ("Every play of a track.", {"user_id": "Listener.", "country": "Country of the listener."}),
        "ads": ("Adverts shown per country and play session.", {"ad_id": "Advert.", "cost": "Cost."}),
        "invoices": ("Invoices.", {"invoice_id": "Invoice.", "amount": "Amount."}),
    }
    for name, (purpose, columns) in specs.items():
        write(
            tmp_path / "d" / f"{name}.odcs.yaml",
            contract(name, "d", {name: {"description": purpose, "columns": columns}}, path="../data/x.parquet"),
        )
    write(tmp_path / "mesh.yaml", "mesh: m\ndomains: {d: d}\n")
    found = [d.address for d in meshlab.connect(tmp_path / "mesh.yaml").search("plays per country")]
    assert found[0] == "d.play_events"
    assert "d.invoices" not in found
