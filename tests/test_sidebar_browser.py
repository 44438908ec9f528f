"""End to end: the catalog sidebar in a real JupyterLab, driven in headless Chromium.

Starts ``jupyter lab`` on a free loopback port over the demo music mesh, opens the
sidebar, searches, opens a dataset's detail, creates a notebook, inserts a ``%%mesh``
cell from the sidebar, runs it and reads the result table. Needs Debian's
``chromium`` and Python Playwright (``make test`` installs both; the browser is never
downloaded). ``MESHLAB_SIDEBAR_SCREENSHOT=docs/sidebar.png`` also saves the picture
of the README there.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

import pytest
from browser_support import (
    cell_output,
    cell_sources,
    lab_page,
    new_notebook,
    next_frames,
    open_catalog,
    require_browser,
    run_all_and_wait,
    search,
    shown_addresses,
    wait_panel,
)
from lab_process import quiet_lab_settings, start_lab, stop_lab

import meshlab
from meshlab.demo import ensure_demo

QUERY = "plays per country"


@pytest.fixture
def jp_asyncio_loop():
    """Override pytest-jupyter's autouse fixtures here (test_server.py loads the plugin).

    They would close the current event loop after each test, which here is the one
    Playwright's sync API keeps running for the whole module.
    """
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``jupyter lab`` serving a root folder with the demo mesh in ``demo/``; stopped by its PID afterwards."""
    require_browser()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    mesh_path = ensure_demo(root / "demo", scale=0.01)
    settings = quiet_lab_settings(base / "user-settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
    }
    env.pop("MESHLAB_MESH", None)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    command = [
        jupyter,
        "lab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        f"--LabApp.user_settings_dir={settings}",
        "--LabApp.expose_app_in_browser=True",
        f"--MeshlabApp.mesh={mesh_path}",
        "--MeshlabApp.reload_interval=0",
    ]
    running = start_lab(command, root, env, base / "jupyter.log", token=token)
    try:
        yield {"url": running.url, "token": running.token, "root": root, "mesh": mesh_path, "log": running.log}
    finally:
        stop_lab(running)


@pytest.fixture(scope="module")
def page(lab):
    with lab_page(lab["url"], lab["token"]) as page:
        yield page


def _widen_left_panel(page, pixels: int) -> None:
    """Drag the handle between the left panel and the main area."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + pixels, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()


def _cell_sources(page) -> list[str]:
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.sharedModel.getSource())"
    )


def test_browse_search_inspect_insert_and_run(page, lab):
    mesh = meshlab.connect(lab["mesh"])

    # The sidebar: its tab, then the tree of every dataset by domain.
    panel = open_catalog(page)
    assert panel.locator(".jp-meshlab-summary").inner_text().startswith(f"music · {len(mesh.datasets())} datasets")
    domains = panel.locator(".jp-meshlab-domain").evaluate_all("nodes => nodes.map(n => n.dataset.domain)")
    assert sorted(domains) == sorted({d.domain for d in mesh.datasets()})

    # Search as you type: the tree shows the server's ranking.
    search(page, QUERY)
    expected = [d.address for d in mesh.search(QUERY)]
    shown = shown_addresses(page)
    assert shown[0] == expected[0] == "plays.play_events"
    assert sorted(shown) == sorted(expected)

    # The detail: description, owner, columns and sample rows.
    panel.locator('.jp-meshlab-dataset[data-address="plays.play_events"]').click()
    assert wait_panel(page, QUERY) == "ready"
    detail = panel.locator('.jp-meshlab-detail[data-address="plays.play_events"]')
    assert detail.locator("h2").inner_text() == "Play events"
    assert detail.locator(".jp-meshlab-sample-table tbody tr").count() == 10
    dataset = mesh.dataset("plays.play_events")
    assert detail.locator(".jp-meshlab-columns-table tbody tr").count() == len(dataset.columns)
    assert f"owner{dataset.owner}" in "".join(detail.locator(".jp-meshlab-fields").inner_text().split())
    assert "latency" in detail.inner_text()

    # A new notebook; the sidebar inserts a set-up cell and the %%mesh cell below the active one.
    new_notebook(page)
    detail.locator(".jp-meshlab-insert").click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3")
    assert cell_sources(page) == [
        "",
        "%load_ext meshlab\n%mesh connect demo/mesh.yaml",
        "%%mesh\nSELECT * FROM plays.play_events LIMIT 100",
    ]

    # Run everything: the %%mesh cell shows its result table.
    run_all_and_wait(page)
    result = cell_output(page, 2)
    assert "100 rows × 13 columns" in result.inner_text()
    assert result.locator("table.meshlab-preview tbody tr").count() == 10

    _widen_left_panel(page, 170)
    next_frames(page)
    picture = Path(os.environ.get("MESHLAB_SIDEBAR_SCREENSHOT") or lab["root"].parent / "sidebar.png")
    page.screenshot(path=str(picture))
    assert picture.stat().st_size > 10_000


def test_the_sidebar_shows_no_match_and_server_errors(page, lab):
    """No match says so; a mesh that cannot load shows the server's message, and Retry recovers."""
    page.evaluate("() => window.jupyterapp.commands.execute('meshlab:open-catalog')")
    panel = page.locator(".jp-meshlab-panel")
    search(page, "zebra")
    assert panel.locator(".jp-meshlab-tree .jp-meshlab-message").inner_text() == "No dataset matches “zebra”."

    manifest = lab["mesh"]
    hidden = manifest.with_name("mesh.yaml.away")
    manifest.rename(hidden)
    try:
        panel.locator(".jp-meshlab-refresh").click()
        assert wait_panel(page) == "error"
        assert f"{manifest}: file not found" in panel.locator(".jp-meshlab-error").inner_text()
    finally:
        hidden.rename(manifest)
    # Retry while the error is shown (typing first would reload, and the button would go).
    panel.locator(".jp-meshlab-retry").click()
    assert wait_panel(page, "zebra") == "ready"
    search(page, "")
    assert "plays.play_events" in shown_addresses(page)


def test_the_detail_shows_the_latest_check_run(page, lab):
    """A dataset's last stored check: flagged in the tree, outcome and each problem in the detail."""
    mesh = meshlab.connect(lab["mesh"])
    mesh.check(["plays.daily_track_plays", "plays.play_events"])  # the demo's stale chart job fails freshness
    stale, healthy = mesh.status("plays.daily_track_plays"), mesh.status("plays.play_events")
    assert stale.status == "failed" and stale.stale and healthy.status == "passed"

    page.evaluate("() => window.jupyterapp.commands.execute('meshlab:open-catalog')")
    panel = page.locator(".jp-meshlab-panel")
    search(page, "tracks")  # a new search brings the stored outcomes
    row = panel.locator('.jp-meshlab-dataset[data-address="plays.daily_track_plays"]')
    assert row.locator(".jp-meshlab-check-failed").inner_text() == "checks failed"
    healthy_row = panel.locator('.jp-meshlab-dataset[data-address="plays.play_events"]')
    assert healthy_row.count() == 1
    assert healthy_row.locator(".jp-meshlab-check").count() == 0  # a pass needs no flag in the tree

    row.click()
    assert wait_panel(page, "tracks") == "ready"
    checks = panel.locator('.jp-meshlab-detail[data-address="plays.daily_track_plays"] .jp-meshlab-checks')
    assert stale.summary() in checks.locator(".jp-meshlab-check-summary").inner_text()
    assert stale.freshness.message in checks.locator(".jp-meshlab-problems").inner_text()
    shown = checks.locator(".jp-meshlab-problem code").all_inner_texts()
    assert shown == [p.check for p in stale.problems]

    healthy_row.click()
    assert wait_panel(page, "tracks") == "ready"
    checks = panel.locator('.jp-meshlab-detail[data-address="plays.play_events"] .jp-meshlab-checks')
    assert checks.locator(".jp-meshlab-check-passed").inner_text() == "checks passed"
    assert healthy.freshness.message in checks.inner_text()  # a passed freshness check gets its own line
    assert checks.locator(".jp-meshlab-problem").count() == 0
