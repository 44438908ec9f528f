"""The first ten minutes: the README's two commands, as a newcomer meets them.

``make lab`` runs in a fresh clone (as the user running the tests: root in CI),
headless: it must install everything, write the demo mesh, start JupyterLab and
print the URL with its token; the sidebar must list the demo mesh's datasets (HTTP
API and a real browser) and a ``%%mesh`` cell inserted from it must run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from browser_support import (
    cell_output,
    cell_sources,
    lab_page,
    new_notebook,
    open_catalog,
    require_browser,
    run_all_and_wait,
    shown_addresses,
    wait_panel,
)
from lab_process import quiet_lab_settings, start_lab, stop_lab

import meshlab
from meshlab.catalog.discovery import NOTEBOOK_DEMO, default_mesh
from meshlab.jupyter.lab_launch import lab_launch

ROOT = Path(__file__).resolve().parents[1]
FIRST_NOTEBOOK = "notebooks/01-discover-and-query.ipynb"
# Absolute paths of a machine: what a stored notebook output must never carry.
MACHINE_PATH = re.compile(r"(?<![\w.:/<-])/(?:home|root|tmp|work|Users|var|opt|mnt|srv|usr|private)/[\w.-]")


def readme_commands() -> list[str]:
    """The commands of the README's "Two commands" block, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.S)
    assert block, "the README's 'Two commands' section has no code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


def test_the_readme_names_two_commands_near_the_top_and_ci_runs_the_second():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("## Two commands") < 2000, "the two commands belong near the top of the README"
    first, second = readme_commands()
    assert (first, second) == ("make lab", "make test")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = [
        line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith(("#", "set ", "cd "))
    ]
    assert steps == [second], f".ci/run must run exactly the README's test command; it runs {steps}"


def test_stored_notebooks_carry_no_absolute_path():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells, 1):
            text = json.dumps(cell.get("outputs", []))
            found = MACHINE_PATH.search(text)
            assert found is None, (
                f"{notebook.name} cell {number}: {text[max(found.start() - 80, 0) : found.end() + 80]}"
            )


def test_the_binder_badge_points_at_the_repository_named_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    repository = project["urls"]["Repository"]
    owner_and_name = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+)", repository)
    assert owner_and_name, repository
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badges = re.findall(r"https://mybinder\.org/v2/gh/([^)\s]+)", readme)
    assert badges == [f"{owner_and_name.group(1)}/HEAD?urlpath=lab/tree/{FIRST_NOTEBOOK}"]


def test_the_launch_as_root_and_as_a_user_with_and_without_a_display(tmp_path):
    demo = tmp_path / NOTEBOOK_DEMO / "mesh.yaml"
    demo.parent.mkdir(parents=True)
    demo.write_text("name: x\ndomains: {}\n")
    as_root = lab_launch(folder=tmp_path, environ={}, is_root=True)
    assert "--allow-root" in as_root.argv and "--no-browser" in as_root.argv
    assert as_root.mesh == str(demo) == as_root.env["MESHLAB_MESH"]
    assert f"--MeshlabApp.mesh={demo}" in as_root.argv
    as_user = lab_launch(folder=tmp_path / NOTEBOOK_DEMO, environ={"DISPLAY": ":0"}, is_root=False)
    assert "--allow-root" not in as_user.argv and "--no-browser" not in as_user.argv
    assert as_user.mesh == str(demo)  # found in a parent folder, as from notebooks/
    named = lab_launch(str(demo), folder=tmp_path, environ={"MESHLAB_MESH": "/elsewhere.yaml"}, is_root=False)
    assert named.mesh == str(demo)


def test_no_mesh_found_says_where_it_looked(tmp_path):
    assert default_mesh(tmp_path, environ={}) is None
    with pytest.raises(meshlab.MeshError, match=r"no mesh to open: .*meshlab lab --demo \(looked for \$MESHLAB_MESH"):
        lab_launch(folder=tmp_path, environ={})


def _newcomer_env(base: Path) -> dict[str, str]:
    """The machine's environment, less what this test run set up: no venv, no mesh, no display."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "MESHLAB_MESH", "DISPLAY", "WAYLAND_DISPLAY", "JUPYTER_CONFIG_DIR")
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("PYTEST")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    # Where Jupyter keeps its runtime files (to find the server's PID) and no news pop-up over the page.
    env["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(quiet_lab_settings(base / "user-settings"))
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(base / "workspaces")
    # The browser steps read the app's state through window.jupyterapp (off by default).
    extra_config = base / "jupyter-config"
    extra_config.mkdir()
    (extra_config / "jupyter_lab_config.json").write_text(json.dumps({"LabApp": {"expose_app_in_browser": True}}))
    env["JUPYTER_CONFIG_PATH"] = str(extra_config)
    return env


def test_make_lab_in_a_fresh_clone_headless_serves_the_demo_mesh_to_the_sidebar(tmp_path):
    require_browser()
    clone = tmp_path / "meshlab"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    lab = start_lab(["make", "lab"], clone, _newcomer_env(tmp_path), tmp_path / "make-lab.log")
    try:
        server = Path(f"/proc/{lab.server_pid()}/cmdline").read_bytes().split(b"\0")
        if os.geteuid() == 0:
            assert b"--allow-root" in server
        assert b"--no-browser" in server  # no display: the URL is printed instead

        # The HTTP API behind the sidebar serves the demo mesh make lab wrote.
        mesh = meshlab.connect(clone / NOTEBOOK_DEMO / "mesh.yaml")
        expected = sorted(d.address for d in mesh.datasets())
        assert len(expected) >= 8
        code, listed, headers = lab.get("/meshlab/api/datasets")
        assert code == 200, listed
        assert sorted(d["address"] for d in listed) == expected
        code, status, _ = lab.get("/meshlab/api/status")
        assert code == 200 and status["datasets"] == len(expected)

        # The printed URL opens the first notebook; the sidebar lists the mesh; an inserted cell runs.
        with lab_page(lab.url, lab.token, f"tree/{FIRST_NOTEBOOK}") as page:
            page.wait_for_function(
                "p => window.jupyterapp.shell.currentWidget?.context?.path === p", arg=FIRST_NOTEBOOK
            )
            panel = open_catalog(page)
            assert sorted(shown_addresses(page)) == expected
            assert panel.locator(".jp-meshlab-summary").inner_text().startswith(f"music · {len(expected)} datasets")
            new_notebook(page)
            panel.locator('.jp-meshlab-dataset[data-address="listeners.profiles"]').click()
            assert wait_panel(page, "") == "ready"
            panel.locator('.jp-meshlab-detail[data-address="listeners.profiles"] .jp-meshlab-insert').click()
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3")
            where = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
            target = os.path.relpath(NOTEBOOK_DEMO / "mesh.yaml", os.path.dirname(where) or ".")
            assert cell_sources(page)[1:] == [
                f"%load_ext meshlab\n%mesh connect {target}",
                "%%mesh\nSELECT * FROM listeners.profiles LIMIT 100",
            ]
            run_all_and_wait(page)
            result = cell_output(page, 2)
            columns = len(mesh.dataset("listeners.profiles").columns)
            assert f"100 rows × {columns} columns" in result.inner_text()
    finally:
        stop_lab(lab)
    assert lab.process.poll() is not None, "make lab still runs after its server was stopped"
    assert "?token=" in lab.output()  # the newcomer was shown the URL with its token
