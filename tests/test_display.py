"""Rich display of results (HTML and text) and the lineage picture, on real demo queries."""

from __future__ import annotations

import html
import re
import shutil
import time
import xml.etree.ElementTree as ET

import polars as pl
import pytest
import yaml

import meshlab
from meshlab import rendering
from meshlab.demo import write_demo
from meshlab.lineage import Lineage
from meshlab.lineage_graph import KIND_COLOURS, lineage_svg

SVG = "{http://www.w3.org/2000/svg}"

JOINED = """
SELECT p.country, upper(t.title) AS title, count(*) AS plays, sum(e.ms_played) AS ms
FROM plays.play_events e
JOIN listeners.profiles p ON e.user_id = p.user_id
JOIN artists.tracks t ON t.track_id = e.track_id
WHERE p.country IN ('DE', 'SE')
GROUP BY 1, 2 ORDER BY plays DESC, title LIMIT 15
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("display-demo"), 0.005)


@pytest.fixture(scope="module")
def mesh(demo):
    return meshlab.connect(demo)


@pytest.fixture(scope="module")
def deprecated_mesh(demo, tmp_path_factory):
    """A copy of the demo whose ``artists.tracks`` contract is deprecated."""
    root = tmp_path_factory.mktemp("deprecated") / "demo"
    shutil.copytree(demo.parent, root)
    contract = root / "domains" / "artists" / "tracks.odcs.yaml"
    raw = yaml.safe_load(contract.read_text())
    raw["status"] = "deprecated"
    contract.write_text(yaml.safe_dump(raw, sort_keys=False))
    return meshlab.connect(root / "mesh.yaml")


@pytest.fixture(scope="module")
def joined(mesh):
    return mesh.sql(JOINED)


def preview_rows(page: str) -> list[list[str]]:
    """The cell texts of each row of the HTML preview table."""
    table = re.search(r'<table class="meshlab-table meshlab-preview">.*?<tbody>(.*?)</tbody>', page).group(1)
    return [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table)
    ]


def text_rows(text: str) -> list[str]:
    """The data lines of the Polars table in a text repr."""
    body = text.split("╞", 1)[1].splitlines()[1:]
    return [line for line in body if line.startswith("│")]


def test_preview_holds_the_first_rows_only(mesh):
    result = mesh.sql(
        "SELECT 'row-' || CAST(track_id AS VARCHAR) AS marker FROM artists.tracks ORDER BY track_id LIMIT 25"
    )
    page = rendering.result_html(result)
    markers = result.df["marker"].to_list()
    assert preview_rows(page) == [[m] for m in markers[:10]]
    assert not any(f">{m}<" in page for m in markers[10:])
    assert "25 rows × 1 column</b> · first 10 shown" in page


def test_preview_rows_is_a_setting(mesh, monkeypatch):
    result = mesh.sql("SELECT track_id FROM artists.tracks ORDER BY track_id LIMIT 25")
    monkeypatch.setattr(rendering.results, "PREVIEW_ROWS", 3)
    page = result._repr_html_()
    assert preview_rows(page) == [[str(v)] for v in result.df["track_id"][:3]]
    assert "first 3 shown" in page
    text = repr(result)
    assert "(first 3 shown)" in text and len(text_rows(text)) == 3


def test_shape_uses_thousands_separators():
    assert rendering.shape_text(1_234_567, 3) == "1,234,567 rows × 3 columns"
    assert rendering.shape_text(1, 1) == "1 row × 1 column"


def test_html_reports_shape_time_and_datasets(joined):
    page = joined._repr_html_()
    assert "15 rows × 4 columns" in page
    assert len(re.findall(r'<span class="meshlab-time"[^>]*>in \d+\.\d{3} s</span>', page)) == 1
    for address, owner in [("artists.tracks", "mateo"), ("listeners.profiles", "li.wei"), ("plays.play_events", "ana")]:
        entry = re.search(rf"<li><code>{re.escape(address)}</code>.*?</li>", page).group(0)
        assert f"owner {owner}" in entry and "meshlab-status-active" in entry and "fresh within" in entry


def test_draft_and_deprecated_datasets_are_flagged(mesh, deprecated_mesh):
    page = mesh.sql("SELECT count(*) AS n FROM podcasts.podcast_streams")._repr_html_()
    assert re.search(r'<span class="meshlab-badge meshlab-status-draft"[^>]*>⚠ draft</span>', page)
    assert "⚠ reads <code>podcasts.podcast_streams</code> (draft)" in page
    result = deprecated_mesh.sql("SELECT title FROM artists.tracks LIMIT 2")
    page = result._repr_html_()
    assert re.search(r'<span class="meshlab-badge meshlab-status-deprecated"[^>]*>⚠ deprecated</span>', page)
    assert repr(result).splitlines()[-1].endswith("from artists.tracks [deprecated]")
    active = mesh.sql("SELECT title FROM artists.tracks LIMIT 2")._repr_html_()
    assert "⚠" not in active


def test_lineage_section(joined):
    section = re.search(r'<details class="meshlab-lineage">.*?</details>', joined._repr_html_()).group(0)
    assert "<summary>Column lineage</summary>" in section
    rows = dict((html.unescape(out), body) for out, body in re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", section))
    assert list(rows) == ["country", "title", "plays", "ms"]
    assert "meshlab-kind-identity" in rows["country"] and "<code>listeners.profiles.country</code>" in rows["country"]
    assert "meshlab-kind-transformation" in rows["title"] and "<code>artists.tracks.title</code>" in rows["title"]
    assert "meshlab-kind-aggregation" in rows["plays"] and "no source column" in rows["plays"]
    assert "<code>plays.play_events.ms_played</code>" in rows["ms"]


def test_pushdown_section_shows_what_each_source_was_sent(joined):
    section = re.search(r'<details class="meshlab-pushdown">.*?</details>', joined._repr_html_(), re.S).group(0)
    assert f"Pushdown report ({len(joined.plan)} scans)" in section
    for fragment in joined.plan:
        assert f"<b>{fragment.scan_id}</b>" in section
        assert f"on server <code>{fragment.server}</code>" in section
        for sent in fragment.sent:
            assert f'<pre class="meshlab-pre">{html.escape(sent)}</pre>' in section
        for predicate in fragment.pushed:
            assert f"<code>{html.escape(predicate)}</code>" in section
    sqlite = next(f for f in joined.plan if f.kind == "sqlite")
    assert f"fetched {sqlite.rows:,} rows, {sqlite.bytes:,} bytes, in " in section
    assert f'<pre class="meshlab-pre">{html.escape(joined.plan.local_sql)}</pre>' in section


def test_values_and_names_are_escaped(mesh):
    result = mesh.sql("""SELECT '<script>alert(1)</script>' AS "<b>x</b>", title FROM artists.tracks LIMIT 2""")
    page = result._repr_html_()
    assert "<script" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_html_is_well_formed_and_self_contained(joined):
    page = joined._repr_html_()
    ET.fromstring(page)  # balanced tags, every entity escaped
    assert "<script" not in page.lower() and "http" not in page and "url(" not in page
    assert "var(--jp-layout-color2," in page  # theme colours, with fallbacks


def test_output_is_stable_but_for_the_time(mesh):
    first, second = mesh.sql(JOINED), mesh.sql(JOINED)
    for render in (rendering.result_html, rendering.result_text):
        a, b = (re.sub(rendering.TIME_PATTERN, "T", render(r)) for r in (first, second))
        assert a == b and "0x" not in a
    assert re.findall(rendering.TIME_PATTERN, rendering.result_text(first)) != []


def test_text_repr_is_the_preview_and_one_line(joined):
    text = repr(joined)
    lines = text.splitlines()
    assert "shape:" not in text
    assert lines[-1].startswith("15 rows × 4 columns (first 10 shown) in ")
    assert lines[-1].endswith(" s from artists.tracks, listeners.profiles, plays.play_events")
    shown = text_rows(text)
    assert len(shown) == 10
    assert all(title in line for title, line in zip(joined.df["title"][:10], shown))


def test_empty_result(mesh):
    result = mesh.sql("SELECT title FROM artists.tracks WHERE track_id < 0")
    page = result._repr_html_()
    assert "0 rows × 1 column" in page and preview_rows(page) == []
    assert repr(result).splitlines()[-1].startswith("0 rows × 1 column in ")


def test_html_size_does_not_grow_with_rows(tmp_path):
    rows = 10_000_000
    pl.DataFrame({"n": pl.int_range(rows, eager=True)}).with_columns(
        label=pl.format("row {}", pl.col("n"))
    ).write_parquet(tmp_path / "numbers.parquet")
    contract = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "big",
        "name": "Numbers",
        "status": "active",
        "domain": "big",
        "servers": [{"server": "lake", "type": "local", "format": "parquet", "path": "numbers.parquet"}],
        "schema": [{"name": "numbers", "properties": [{"name": "n", "logicalType": "integer"}, {"name": "label"}]}],
    }
    (tmp_path / "numbers.odcs.yaml").write_text(yaml.safe_dump(contract))
    big_mesh = meshlab.connect(tmp_path / "numbers.odcs.yaml")
    big = big_mesh.sql("SELECT n, label FROM big.numbers")
    small = big_mesh.sql("SELECT n, label FROM big.numbers ORDER BY n LIMIT 20")
    assert big.df.height == rows
    started = time.perf_counter()
    page = big._repr_html_()
    text = repr(big)
    took = time.perf_counter() - started
    print(f"\n10M-row result: HTML {len(page):,} chars, text {len(text):,} chars, rendered in {took * 1000:.1f} ms")
    assert "10,000,000 rows × 2 columns" in page
    assert abs(len(page) - len(small._repr_html_())) < 200
    assert len(text) < 2_000


# -- the lineage picture -------------------------------------------------------------
def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [t.text for t in root.iter(f"{SVG}text")]


def test_lineage_svg_names_every_output_and_dataset(joined):
    picture = joined.lineage_svg()
    svg = picture._repr_svg_()
    texts = svg_texts(svg)
    for output in joined.lineage.columns:
        assert output in texts
    for address in joined.lineage.datasets:
        assert address in texts
    for sources in joined.lineage.columns.values():
        for source in sources:
            assert source.rsplit(".", 1)[1] in texts
    edges = ET.fromstring(svg).findall(f".//{SVG}path")
    assert len(edges) == sum(len(s) for s in joined.lineage.columns.values())
    assert {e.get("stroke") for e in edges} <= set(KIND_COLOURS.values())
    assert svg == joined.lineage_svg().svg  # deterministic


def test_lineage_svg_keeps_datasets_only_filtered_on(mesh):
    result = mesh.sql(
        "SELECT e.device FROM plays.play_events e JOIN listeners.profiles p ON p.user_id = e.user_id "
        "WHERE p.country = 'SE' LIMIT 3"
    )
    texts = svg_texts(lineage_svg(result.lineage))
    assert "listeners.profiles" in texts and "(filters or joins only)" in texts


def test_lineage_svg_escapes_names():
    lineage = Lineage({'a<b & "c"': ["x.y.<z>"]}, {'a<b & "c"': "transformation"}, ["x.y"])
    texts = svg_texts(lineage_svg(lineage))
    assert 'a<b & "c"' in texts and "<z>" in texts
    empty = svg_texts(lineage_svg(Lineage()))
    assert "Column lineage: no output columns" in empty
