"""The wheel carries the prebuilt JupyterLab extension and the server extension's switch.

So ``pip install meshlab`` needs no Node.js. Builds the wheel from this checkout
(without build isolation; the bundle built by ``make install`` is reused, not rebuilt).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "meshlab" / "labextension"


def test_the_wheel_carries_the_extension_and_the_server_config(tmp_path):
    if not (BUNDLE / "static" / "style.js").exists():
        pytest.fail(f"the extension is not built ({BUNDLE}): run make install")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("meshlab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = next(n for n in names if n.endswith(".data/data/etc/jupyter/jupyter_server_config.d/meshlab.json"))
        assert json.loads(archive.read(data)) == {"ServerApp": {"jpserver_extensions": {"meshlab": True}}}
    labextension = [
        n.split("/labextensions/meshlab/", 1)[1] for n in names if "/share/jupyter/labextensions/meshlab/" in n
    ]
    assert {"package.json", "install.json", "static/style.js"} <= set(labextension)
    assert any(n.startswith("static/remoteEntry.") for n in labextension)
    # Only the built bundle travels: no TypeScript sources, no node_modules.
    assert not [n for n in names if "node_modules" in n or n.endswith(".ts")]
    assert "meshlab/jupyter/server/handlers.py" in names
    # The test infrastructure (a PostgreSQL harness, the query mix) lives in tests/support, not in the package.
    assert not [n for n in names if n.startswith(("meshlab/testing/", "tests/", "support/"))]
