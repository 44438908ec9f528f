"""The catalog widget, driven from Python the way a user drives it in JupyterLab."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pytest
import yaml

import meshlab
from meshlab.demo import write_demo
from meshlab.jupyter.widgets import (
    CatalogWidget,
    column_address,
    dataset_cell,
    output_name,
    sample_sql,
    tree_options,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("widget-demo"), 0.005)


@pytest.fixture(scope="module")
def mesh(demo):
    return meshlab.connect(demo)


@pytest.fixture
def widget(mesh):
    return CatalogWidget(mesh)


def dataset_values(widget: CatalogWidget) -> list[str]:
    return [value[1] for _, value in widget.tree.options if value[0] == "dataset"]


def test_import_meshlab_does_not_import_ipywidgets():
    code = (
        "import sys, meshlab, meshlab.rendering, meshlab.lineage_graph; "
        "assert 'ipywidgets' not in sys.modules and 'ipylab' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_empty_search_lists_every_dataset_under_its_domain(widget, mesh):
    assert sorted(dataset_values(widget)) == [ds.address for ds in mesh.datasets()]
    labels = [label for label, _ in widget.tree.options]
    assert labels[0] == "▾ artists (2)"
    assert any(label.endswith("podcast_streams · Podcast streams  ⚠ draft") for label in labels)


def test_typing_in_the_search_box_filters_the_list(widget, mesh):
    widget.search.value = "podcast"
    assert dataset_values(widget) == [ds.address for ds in mesh.search("podcast")]
    assert set(dataset_values(widget)) == {"podcasts.episodes", "podcasts.podcast_streams"}
    assert widget.tree.value == ("dataset", mesh.search("podcast")[0].address)  # best hit shown at once
    widget.search.value = "plays per country"
    assert dataset_values(widget)[0] == "plays.play_events"
    widget.search.value = "zzzz nothing"
    assert widget.tree.options == () and widget.tree.value is None
    widget.search.value = ""
    assert len(dataset_values(widget)) == len(mesh.datasets())


def test_selecting_a_dataset_shows_its_card(widget, mesh):
    widget.tree.value = ("dataset", "podcasts.podcast_streams")
    ds = mesh.dataset("podcasts.podcast_streams")
    card = widget.detail.value
    assert ds.title in card and "<code>podcasts.podcast_streams</code>" in card
    assert "meshlab-status-draft" in card and "owner priya" in card and "latency: 2 d" in card
    for column in ds.columns:
        assert f"<tr><td>{column.name}</td><td>{column.type}</td>" in card
    assert [value for _, value in widget.columns.options] == list(ds.column_names)
    assert widget.snippet.value == dataset_cell(ds)
    assert not widget.sample_button.disabled and not widget.insert_button.disabled


def test_selecting_a_domain_lists_its_datasets(widget):
    widget.tree.value = ("domain", "listeners")
    assert "listeners.profiles" in widget.detail.value and "listeners.subscriptions" in widget.detail.value
    assert widget.sample_button.disabled and widget.columns.options == ()


def test_clicking_a_column_offers_its_address(widget):
    widget.tree.value = ("dataset", "listeners.profiles")
    widget.columns.value = "country"
    assert widget.snippet.value == "listeners.profiles.country"


def test_sample_button_shows_rows(widget, mesh):
    widget.tree.value = ("dataset", "artists.artists")
    widget.sample_button.click()
    (shown,) = widget.output.outputs
    expected = mesh.sql("SELECT * FROM artists.artists LIMIT 10").df
    page = shown["data"]["text/html"]
    assert "10 rows × " in page
    assert all(f"<td>{name}</td>" in page for name in expected["name"])
    assert shown["data"]["text/plain"].splitlines()[-1].startswith("10 rows × ")


def test_sample_errors_are_one_short_line(demo, tmp_path):
    copy = tmp_path / "demo"
    shutil.copytree(demo.parent, copy)
    (copy / "data" / "podcasts" / "episodes.ndjson").unlink()
    widget = CatalogWidget(meshlab.connect(copy / "mesh.yaml"))
    widget.tree.value = ("dataset", "podcasts.episodes")
    widget.sample_button.click()
    (shown,) = widget.output.outputs
    assert shown["output_type"] == "stream" and shown["name"] == "stderr"
    assert "podcasts.episodes" in shown["text"] and "Traceback" not in shown["text"]
    assert shown["text"].count("\n") == 1


def test_insert_without_a_lab_front_end_offers_the_cell_for_copying(widget, mesh):
    widget.tree.value = ("dataset", "plays.play_events")
    widget.columns.value = "device"
    widget.insert_button.click()
    assert widget.snippet.value == dataset_cell(mesh.dataset("plays.play_events"))
    assert "Copy the cell" in widget.status.value


def test_every_dataset_cell_runs(mesh):
    for ds in mesh.datasets():
        cell = dataset_cell(ds)
        magic, sql = cell.split("\n", 1)
        assert magic == f"%%mesh -o {ds.name}"
        result = mesh.sql(sql)
        assert result.df.columns == list(ds.column_names)
        assert result.df.height == min(100, mesh.sql(f"SELECT count(*) AS n FROM {ds.address}").df["n"][0])
        sample = mesh.sql(sample_sql(ds))
        assert sample.df.height <= 10 and sample.lineage.datasets == [ds.address]


def test_snippets_quote_awkward_names(tmp_path):
    (tmp_path / "odd.csv").write_text("order,my col,date\n1,a,2024-01-01\n2,b,2024-01-02\n")
    contract = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "odd",
        "name": "Odd names",
        "domain": "shop",
        "servers": [{"server": "files", "type": "local", "format": "csv", "path": "odd.csv"}],
        "schema": [
            {
                "name": "class",
                "properties": [
                    {"name": "order", "logicalType": "integer"},
                    {"name": "my col"},
                    {"name": "date", "logicalType": "date"},
                ],
            }
        ],
    }
    (tmp_path / "odd.odcs.yaml").write_text(yaml.safe_dump(contract))
    odd = meshlab.connect(tmp_path / "odd.odcs.yaml")
    ds = odd.dataset("shop.class")
    assert output_name(ds) == "df"  # `class` cannot be a variable
    cell = dataset_cell(ds)
    assert '"order"' in cell and '"my col"' in cell
    rows = odd.sql(cell.split("\n", 1)[1]).df.rows()
    assert rows == [(1, "a", dt.date(2024, 1, 1)), (2, "b", dt.date(2024, 1, 2))]
    assert column_address(ds, "my col") == "shop.class.my col"


def test_tree_options_keep_the_ranking_of_domains(mesh):
    ranked = mesh.search("listeners country")
    options = tree_options(ranked)
    assert options[0][1] == ("domain", ranked[0].domain)
    assert options[1][1] == ("dataset", ranked[0].address)
