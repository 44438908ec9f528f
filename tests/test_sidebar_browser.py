"""End to end: the catalog sidebar in a real JupyterLab, driven in headless Chromium.

Starts ``jupyter lab`` on a free loopback port over the demo music mesh, opens the
sidebar, searches, opens a dataset's detail, creates a notebook, inserts a ``%%mesh``
cell from the sidebar, runs it and reads the result table. Needs Debian's
``chromium`` and Python Playwright (``make test`` installs both; the browser is never
downloaded). ``MESHLAB_SIDEBAR_SCREENSHOT=docs/sidebar.png`` also saves the picture
of the README there.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import meshlab
from meshlab.demo import ensure_demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 60
STEP_MS = 30_000  # a generous wait for each step: the machine may be busy
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


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser_available():
    reason = _missing_browser()
    if reason:
        if os.environ.get("MESHLAB_REQUIRE_BROWSER"):
            pytest.fail(reason)  # `make test` installs them: a skip there would hide a broken setup
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_user_settings(folder: Path) -> None:
    """No news pop-up, no update check: nothing may reach the network or cover the page."""
    notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not answer within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser_available):
    """``jupyter lab`` serving a root folder with the demo mesh in ``demo/``; killed afterwards."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    mesh_path = ensure_demo(root / "demo", scale=0.01)
    settings = base / "user-settings"
    _write_user_settings(settings)
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
    log = base / "jupyter.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(f"{url}/api/status?token={token}", process, log)
        yield {"url": url, "token": token, "root": root, "mesh": mesh_path, "log": log}
    finally:
        # The server and its kernels share the session started above.
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            page.goto(f"{lab['url']}/lab?token={lab['token']}")
            page.wait_for_selector("#jp-main-dock-panel")
            yield page
        finally:
            browser.close()


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
    started = time.monotonic()
    mesh = meshlab.connect(lab["mesh"])

    # The sidebar: its tab, then the tree of every dataset by domain.
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="meshlab-catalog"]').click()
    panel = page.locator(".jp-meshlab-panel")
    panel.wait_for(state="visible")
    page.locator('.jp-meshlab-dataset[data-address="listeners.profiles"]').wait_for()
    assert panel.locator(".jp-meshlab-summary").inner_text().startswith(f"music · {len(mesh.datasets())} datasets")
    domains = panel.locator(".jp-meshlab-domain").evaluate_all("nodes => nodes.map(n => n.dataset.domain)")
    assert sorted(domains) == sorted({d.domain for d in mesh.datasets()})

    # Search as you type: the tree shows the server's ranking.
    panel.locator(".jp-meshlab-search-input").press_sequentially(QUERY, delay=20)
    expected = [d.address for d in mesh.search(QUERY)]
    page.wait_for_function("n => document.querySelectorAll('.jp-meshlab-dataset').length === n", arg=len(expected))
    shown = panel.locator(".jp-meshlab-dataset").evaluate_all("nodes => nodes.map(n => n.dataset.address)")
    assert shown[0] == expected[0] == "plays.play_events"
    assert sorted(shown) == sorted(expected)

    # The detail: description, owner, columns and sample rows.
    panel.locator('.jp-meshlab-dataset[data-address="plays.play_events"]').click()
    detail = panel.locator('.jp-meshlab-detail[data-address="plays.play_events"]')
    detail.locator("h2", has_text="Play events").wait_for()
    detail.locator(".jp-meshlab-sample-table tbody tr").nth(9).wait_for()
    dataset = mesh.dataset("plays.play_events")
    assert detail.locator(".jp-meshlab-columns-table tbody tr").count() == len(dataset.columns)
    assert f"owner{dataset.owner}" in "".join(detail.locator(".jp-meshlab-fields").inner_text().split())
    assert "latency" in detail.inner_text()

    # A new notebook; the sidebar inserts a set-up cell and the %%mesh cell below the active one.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:create-new', {kernelName: 'python3'})")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget?.context?.path?.endsWith('.ipynb')")
    detail.locator(".jp-meshlab-insert").click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3")
    assert _cell_sources(page) == [
        "",
        "%load_ext meshlab\n%mesh connect demo/mesh.yaml",
        "%%mesh\nSELECT * FROM plays.play_events LIMIT 100",
    ]

    # Run everything: the %%mesh cell shows its result table.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    result = page.locator(".jp-NotebookPanel .jp-Cell").nth(2).locator(".jp-OutputArea-output")
    result.locator("table.meshlab-preview").wait_for(timeout=2 * STEP_MS)
    assert "100 rows × 13 columns" in result.inner_text()
    assert result.locator("table.meshlab-preview tbody tr").count() == 10

    _widen_left_panel(page, 170)
    page.wait_for_timeout(300)  # let the layout settle before the picture
    picture = Path(os.environ.get("MESHLAB_SIDEBAR_SCREENSHOT") or lab["root"].parent / "sidebar.png")
    page.screenshot(path=str(picture))
    assert picture.stat().st_size > 10_000
    assert time.monotonic() - started < 60


def test_the_sidebar_shows_no_match_and_server_errors(page, lab):
    """No match says so; a mesh that cannot load shows the server's message, and Retry recovers."""
    from playwright.sync_api import expect

    page.evaluate("() => window.jupyterapp.commands.execute('meshlab:open-catalog')")
    panel = page.locator(".jp-meshlab-panel")
    box = panel.locator(".jp-meshlab-search-input")
    box.fill("")
    box.press_sequentially("zebra", delay=10)
    expect(panel.locator(".jp-meshlab-tree .jp-meshlab-message")).to_have_text("No dataset matches “zebra”.")

    manifest = lab["mesh"]
    hidden = manifest.with_name("mesh.yaml.away")
    manifest.rename(hidden)
    try:
        panel.locator(".jp-meshlab-refresh").click()
        expect(panel.locator(".jp-meshlab-error")).to_contain_text(f"{manifest}: file not found")
    finally:
        hidden.rename(manifest)
    box.fill("")
    panel.locator(".jp-meshlab-retry").click()
    panel.locator('.jp-meshlab-dataset[data-address="plays.play_events"]').wait_for()


def test_the_detail_shows_the_latest_check_run(page, lab):
    """A dataset's last stored check: flagged in the tree, outcome and each problem in the detail."""
    from playwright.sync_api import expect

    mesh = meshlab.connect(lab["mesh"])
    mesh.check(["plays.daily_track_plays", "plays.play_events"])  # the demo's stale chart job fails freshness
    stale, healthy = mesh.status("plays.daily_track_plays"), mesh.status("plays.play_events")
    assert stale.status == "failed" and stale.stale and healthy.status == "passed"

    page.evaluate("() => window.jupyterapp.commands.execute('meshlab:open-catalog')")
    panel = page.locator(".jp-meshlab-panel")
    box = panel.locator(".jp-meshlab-search-input")
    box.fill("")
    box.press_sequentially("tracks", delay=10)  # a new search brings the stored outcomes
    row = panel.locator('.jp-meshlab-dataset[data-address="plays.daily_track_plays"]')
    expect(row.locator(".jp-meshlab-check-failed")).to_have_text("checks failed")
    healthy_row = panel.locator('.jp-meshlab-dataset[data-address="plays.play_events"]')
    healthy_row.wait_for()
    assert healthy_row.locator(".jp-meshlab-check").count() == 0  # a pass needs no flag in the tree

    row.click()
    checks = panel.locator('.jp-meshlab-detail[data-address="plays.daily_track_plays"] .jp-meshlab-checks')
    expect(checks.locator(".jp-meshlab-check-summary")).to_contain_text(stale.summary())
    expect(checks.locator(".jp-meshlab-problems")).to_contain_text(stale.freshness.message)
    shown = checks.locator(".jp-meshlab-problem code").all_inner_texts()
    assert shown == [p.check for p in stale.problems]

    healthy_row.click()
    checks = panel.locator('.jp-meshlab-detail[data-address="plays.play_events"] .jp-meshlab-checks')
    expect(checks.locator(".jp-meshlab-check-passed")).to_have_text("checks passed")
    expect(checks).to_contain_text(healthy.freshness.message)  # a passed freshness check gets its own line
    assert checks.locator(".jp-meshlab-problem").count() == 0
