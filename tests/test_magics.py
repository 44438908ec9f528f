"""The %mesh / %%mesh magics and completion in a real IPython shell."""

from __future__ import annotations

import datetime as dt
import sqlite3

import polars as pl
import pytest
from IPython import get_ipython
from IPython.core.completer import provisionalcompleter
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

from meshlab.demo import write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("magic-demo"), scale=0.005)


@pytest.fixture(scope="module")
def ip(demo):
    shell = start_ipython() or get_ipython()  # started here, or already by another test module
    shell.run_line_magic("load_ext", "meshlab")
    shell.run_line_magic("mesh", f"connect {demo}")
    yield shell


def cell(ip, line: str, body: str):
    return ip.run_cell_magic("mesh", line, body)


def test_cell_joins_two_domains_and_stores_a_dataframe(ip):
    result = cell(
        ip,
        "-o top",
        "SELECT t.title, count(*) AS plays FROM plays.play_events e JOIN artists.tracks t ON t.track_id = e.track_id\n"
        "GROUP BY t.title ORDER BY plays DESC, t.title LIMIT 5",
    )
    top = ip.user_ns["top"]
    assert isinstance(top, pl.DataFrame) and top.shape == (5, 2)
    assert top.equals(result.df)


def test_variables_bind_as_literals(ip):
    ip.user_ns.update(country="SE", countries=["SE", "DE"], since=dt.date(2000, 1, 1))
    one = cell(
        ip, "", "SELECT count(*) AS n FROM listeners.profiles WHERE country = :country AND signup_date >= :since"
    )
    many = cell(ip, "", "SELECT count(*) AS n FROM listeners.profiles WHERE country IN :countries")
    assert 0 < one.df["n"][0] <= many.df["n"][0]


def test_an_unknown_variable_is_one_clear_error(ip):
    ip.user_ns.pop("nobody", None)
    with pytest.raises(UsageError, match="no notebook variable for :nobody"):
        cell(ip, "", "SELECT * FROM listeners.profiles WHERE country = :nobody")


def test_a_positional_placeholder_is_refused_as_positional(ip):
    with pytest.raises(UsageError, match="positional '\\?' parameters are not supported; use :name"):
        cell(ip, "", "SELECT * FROM listeners.profiles WHERE country = ?")


def test_a_wrong_column_is_a_one_line_error_with_the_line_marked(ip):
    with pytest.raises(UsageError) as caught:
        cell(ip, "", "SELECT user_id,\n       contry\nFROM listeners.profiles")
    message = str(caught.value)
    assert message.splitlines()[0] == "line 2, column 8: unknown column 'contry'; did you mean country?"
    assert message.splitlines()[1].strip() == "contry" and message.splitlines()[2].strip() == "^"


def test_errors_show_no_traceback_in_the_shell(ip, capsys):
    ip.run_cell("%%mesh\nSELECT * FROM nowhere.nothing")
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "unknown dataset 'nowhere.nothing'" in text
    assert "Traceback" not in text


def test_limit_lazy_and_explain_options(ip):
    assert cell(ip, "--limit 3", "SELECT * FROM artists.tracks").df.height == 3
    lazy = cell(ip, "--lazy -o frame", "SELECT * FROM artists.tracks")
    assert isinstance(lazy, pl.LazyFrame) and ip.user_ns["frame"] is lazy
    plan = cell(ip, "--explain", "SELECT title FROM artists.tracks WHERE duration_ms > 1000")
    assert "csv scan of" in plan and "columns: title, duration_ms" in plan


def test_bad_options_are_usage_errors(ip):
    with pytest.raises(UsageError, match="--limit"):
        cell(ip, "--limit many", "SELECT 1 FROM artists.tracks")


def test_line_magics(ip, capsys):
    found = ip.run_line_magic("mesh", "search plays per country")
    assert found["address"][0] == "plays.play_events"
    ip.run_line_magic("mesh", "explain SELECT count(*) FROM listeners.profiles WHERE country = 'SE'")
    assert "WHERE `country` = 'SE'" in capsys.readouterr().out
    ip.run_line_magic("mesh", "explain --analyze SELECT count(*) FROM listeners.profiles WHERE country = 'SE'")
    out = capsys.readouterr().out
    sweden = cell(ip, "", "SELECT count(*) AS n FROM listeners.profiles WHERE country = 'SE'").df["n"][0]
    assert "estimated vs actual rows per scan" in out
    assert "listeners.profiles (" in out and f"actual {sweden:,} (statistics:" in out
    with pytest.raises(UsageError, match="explain"):
        ip.run_line_magic("mesh", "explain --analyze")


def completions(ip, text: str) -> list[str]:
    """Completions with the cursor at the '|' in ``text`` (else at the end)."""
    cursor = text.index("|") if "|" in text else len(text)
    text = text.replace("|", "")
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, cursor)]


def test_completion_offers_addresses_and_columns(ip):
    assert "plays.play_events" in completions(ip, "%%mesh\nSELECT * FROM plays.pl")
    assert "listeners." in completions(ip, "%%mesh\nSELECT * FROM list")
    by_alias = completions(ip, "%%mesh\nSELECT e.us| FROM plays.play_events e")
    assert by_alias == ["e.user_id"]
    by_address = completions(ip, "%%mesh\nSELECT artists.tracks.ti")
    assert by_address == ["artists.tracks.title"]
    joined = completions(
        ip, "%%mesh\nSELECT p.c| FROM plays.play_events AS e JOIN listeners.profiles AS p ON p.user_id = e.user_id"
    )
    assert joined == ["p.country"]


def test_completion_stays_out_of_ordinary_cells(ip):
    assert "plays.play_events" not in completions(ip, "x = plays.pl")


def test_mesh_alone_says_where_you_are_and_what_to_type_next(ip):
    text = str(ip.run_line_magic("mesh", ""))
    assert text.startswith("meshlab: connected to <Mesh 'music'")
    assert "next: %mesh search TEXT or %mesh catalog" in text


def test_a_cell_before_connect_opens_the_demo_mesh_found_above_the_notebook(ip, demo, tmp_path, monkeypatch, capsys):
    """A notebook in notebooks/ of a checkout finds demo/notebook-mesh/mesh.yaml and says so."""
    from meshlab.jupyter.magics import MeshMagics

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notebook-mesh").symlink_to(demo.parent, target_is_directory=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv("MESHLAB_MESH", raising=False)
    fresh = MeshMagics(ip)
    assert "a %%mesh cell will open ../demo/notebook-mesh/mesh.yaml" in str(MeshMagics.mesh(fresh, ""))
    result = MeshMagics.mesh(fresh, "", "SELECT count(*) AS n FROM listeners.profiles")
    with sqlite3.connect(demo.parent / "data" / "listeners" / "listeners.sqlite") as db:
        assert result.df["n"][0] == db.execute("SELECT count(*) FROM profiles").fetchone()[0]
    out = capsys.readouterr().out
    assert "connected to <Mesh 'music'" in out and "from ../demo/notebook-mesh/mesh.yaml" in out


def test_no_mesh_anywhere_is_one_line_naming_where_it_looked(ip, tmp_path, monkeypatch):
    from meshlab.jupyter.magics import MeshMagics

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MESHLAB_MESH", raising=False)
    with pytest.raises(UsageError, match=r"no mesh: run %mesh connect PATH \(looked for \$MESHLAB_MESH, mesh.yaml in"):
        MeshMagics.mesh(MeshMagics(ip), "", "SELECT 1")


def test_the_catalog_widget_of_an_empty_mesh_says_how_to_start(tmp_path):
    import meshlab
    from meshlab.jupyter.widgets import CatalogWidget

    (tmp_path / "sales").mkdir()  # a domain folder with no contract yet
    (tmp_path / "mesh.yaml").write_text("name: empty\ndomains:\n  sales: sales\n")
    widget = CatalogWidget(meshlab.connect(tmp_path / "mesh.yaml"))
    assert "This mesh has no dataset yet" in widget.detail.value
    assert "meshlab init DATA --domain D --name N" in widget.detail.value


def test_mesh_help_prints_the_magic_help(ip, capsys):
    ip.run_line_magic("mesh", "help")
    out = capsys.readouterr().out
    assert out.startswith("Query the data mesh.") and "%mesh connect PATH" in out


def test_server_mode_refuses_what_only_a_local_mesh_does_in_one_line(ip):
    """Catalog, search, check and --engine need the mesh in the kernel: a usage error, before any request."""
    import meshlab
    from meshlab.jupyter.magics import MeshMagics

    magics = MeshMagics(ip)
    magics.connected = meshlab.RemoteMesh("http://127.0.0.1:9")  # nothing listens there: nothing is asked
    for command in ("catalog", "search plays", "check"):
        name = command.split()[0]
        with pytest.raises(UsageError, match=rf"^%mesh {name} needs a local mesh: %mesh connect PATH$"):
            MeshMagics.mesh(magics, command)
    with pytest.raises(UsageError, match="--engine: in server mode the server chooses the engine"):
        MeshMagics.mesh(magics, "--engine polars", "SELECT 1")
