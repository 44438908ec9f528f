"""Headless Chromium on a JupyterLab page, and waits on the page's own state.

Debian's ``chromium`` driven by Python Playwright (never a downloaded browser).
Every wait here ends when the application says it is done — the catalog panel's
``data-state``/``data-shown-query``, a kernel's status, a cell's execution count —
and fails at once when it says it failed. The one time bound, :data:`HANG_GUARD_MS`,
only stops a test that would otherwise hang; a busy machine never gets near it.
"""

from __future__ import annotations

import contextlib
import os

import pytest

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
HANG_GUARD_MS = int(os.environ.get("MESHLAB_BROWSER_HANG_GUARD_MS", "600000"))


def missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install playwright)"
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip on a developer machine without a browser; fail under `make test`, which installs one."""
    reason = missing_browser()
    if reason:
        if os.environ.get("MESHLAB_REQUIRE_BROWSER") or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@contextlib.contextmanager
def lab_page(url: str, token: str, path: str = ""):
    """A Chromium page on JupyterLab at ``/lab/<path>``, the app shell up."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=HANG_GUARD_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            page = context.new_page()
            page.set_default_timeout(HANG_GUARD_MS)
            page.goto(f"{url}/lab{'/' + path if path else ''}?token={token}")
            page.wait_for_selector("#jp-main-dock-panel")
            page.wait_for_function("() => window.jupyterapp?.restored !== undefined")
            page.evaluate("() => window.jupyterapp.restored.then(() => true)")
            yield page
        finally:
            browser.close()


def open_catalog(page):
    """Show the catalog sidebar (its tab) and wait for its first answer."""
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="meshlab-catalog"]').click()
    panel = page.locator(".jp-meshlab-panel")
    panel.wait_for(state="visible")
    wait_panel(page)
    return panel


def wait_panel(page, query: str | None = None) -> str:
    """Wait until the panel is settled (showing the answer to ``query`` when given); its state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            """q => {
                const p = document.querySelector('.jp-meshlab-panel');
                if (!p || p.dataset.state === 'busy' || p.dataset.state === undefined) return false;
                return q === null || p.dataset.state === 'error' || p.dataset.shownQuery === q;
            }""",
            arg=query,
        )
    except PlaywrightTimeout:  # say where the panel stood, not only that the guard ran out
        shown = page.evaluate(
            "() => { const p = document.querySelector('.jp-meshlab-panel');"
            " return p ? {...p.dataset, text: p.innerText.slice(0, 300)} : null; }"
        )
        raise AssertionError(f"the catalog panel never settled on {query!r}: {shown}") from None
    return page.locator(".jp-meshlab-panel").get_attribute("data-state")


def search(page, text: str) -> None:
    """Put ``text`` in the search box and wait for the panel to show its answer."""
    box = page.locator(".jp-meshlab-panel .jp-meshlab-search-input")
    # fill, not key by key: on a loaded machine JupyterLab may still move the focus while keys
    # are typed, and the rest of the text would land elsewhere (typing itself, debounced, is
    # unit-tested in labextension/src/__tests__/model.test.ts).
    box.fill(text)
    assert box.input_value() == text
    assert wait_panel(page, text) == "ready", page.locator(".jp-meshlab-panel").inner_text()


def shown_addresses(page) -> list[str]:
    return page.locator(".jp-meshlab-panel .jp-meshlab-dataset").evaluate_all(
        "nodes => nodes.map(n => n.dataset.address)"
    )


def new_notebook(page) -> None:
    """A new notebook on the python3 kernel, its kernel started."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:create-new', {kernelName: 'python3'})")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w?.context?.path?.endsWith('.ipynb') && w.sessionContext?.session?.kernel?.status === 'idle'; }"
    )


def cell_sources(page) -> list[str]:
    return page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.sharedModel.getSource())"
    )


def run_all_and_wait(page) -> None:
    """Run every cell of the current notebook and wait until the kernel has run the last one."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const cells = w.content.widgets.filter(c => c.model.type === 'code');
            const last = cells[cells.length - 1];
            return last.model.executionCount !== null && w.sessionContext.session.kernel.status === 'idle';
        }"""
    )


def next_frames(page) -> None:
    """Let the browser lay out and paint what changed (two animation frames)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def cell_output(page, index: int):
    """The output area of cell ``index`` of the current notebook (other notebooks may be open too)."""
    panel_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    return page.locator(f'[id="{panel_id}"] .jp-Cell').nth(index).locator(".jp-OutputArea-output")
