"""Binder: a fresh virtualenv built only from binder/ and its postBuild runs every notebook.

repo2docker reads binder/ alone (the root pyproject is ignored then), so this
test does what it does: install binder/requirements.txt into an empty
environment, run binder/postBuild from a copy of the repository, then execute
the notebooks top to bottom with that environment's Jupyter.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lab_process import start_lab, stop_lab

import meshlab

ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout: the binder test copies the tracked files")
    return [line for line in done.stdout.splitlines() if (ROOT / line).is_file()]


def run(command: list[str], cwd: Path, env: dict) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_notebooks_run_in_the_binder_environment(tmp_path):
    repo = tmp_path / "repo"
    for name in tracked_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, os.environ.copy())
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "MESHLAB_MESH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(pip + ["-r", "binder/requirements.txt"], repo, env)
    run(["bash", "binder/postBuild"], repo, env)
    assert (repo / "demo" / "notebook-mesh" / "mesh.yaml").exists()
    notebooks = sorted((repo / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks to run"
    out = tmp_path / "executed"
    run(
        [
            str(venv / "bin" / "jupyter"),
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output-dir",
            str(out),
            *map(str, notebooks),
        ],
        repo / "notebooks",
        env,
    )
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in notebooks]

    # repo2docker starts the server through binder/start: the sidebar serves the demo mesh.
    started = dict(env, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    token = secrets.token_hex(16)
    command = ["bash", "binder/start", str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--port=0"]
    command += [f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1"]
    command += ["--allow-root"] if os.geteuid() == 0 else []  # Binder itself runs as a user
    lab = start_lab(command, repo, started, tmp_path / "binder-lab.log", token=token)
    try:
        expected = sorted(d.address for d in meshlab.connect(repo / "demo" / "notebook-mesh" / "mesh.yaml").datasets())
        code, listed, _ = lab.get("/meshlab/api/datasets")
        assert code == 200, listed
        assert sorted(d["address"] for d in listed) == expected
    finally:
        stop_lab(lab)


def test_binder_python_satisfies_the_package():
    """repo2docker defaults to an older Python than meshlab needs: runtime.txt pins it."""
    import tomllib

    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-")
    version = tuple(int(p) for p in runtime.removeprefix("python-").split("."))
    needed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert needed.startswith(">=")
    assert version >= tuple(int(p) for p in needed.removeprefix(">=").split("."))
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert "jupyterlab>=4.6" in requirements
