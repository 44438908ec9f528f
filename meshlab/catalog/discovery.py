"""Which mesh to open when nobody named one: the same answer for the kernel, the CLI and the server.

In order:

1. ``$MESHLAB_MESH`` (a path or an fsspec URL);
2. ``mesh.yaml`` in the starting folder;
3. the demo mesh the notebooks use, ``demo/notebook-mesh/mesh.yaml``, in the starting
   folder or one of its parents (a notebook in ``notebooks/`` finds the repository's demo).

``make lab`` and Binder start JupyterLab in the repository, so the sidebar and a
``%%mesh`` cell run before any ``%mesh connect`` both land on the demo mesh without
configuration; ``$MESHLAB_MESH`` or ``--MeshlabApp.mesh`` still win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

MESH_ENV = "MESHLAB_MESH"
ROOT_MANIFEST = "mesh.yaml"
NOTEBOOK_DEMO = Path("demo") / "notebook-mesh"
NOTEBOOK_DEMO_SCALE = 0.05  # about half a million play events: what the notebooks and `make lab` write
# How far up from the starting folder to look for the demo (notebooks/sub/x.ipynb still finds it).
PARENT_LEVELS = 3


def default_mesh(start: str | os.PathLike = ".", environ: Mapping[str, str] = os.environ) -> str | None:
    """The mesh to open when none was named, or None when there is none to find.

    Relative results of the environment variable are kept as written (they are
    taken from the working folder, like any command-line path); found files are
    returned as absolute paths.
    """
    named = environ.get(MESH_ENV, "").strip()
    if named:
        return named
    folder = Path(start).expanduser().absolute()
    if (folder / ROOT_MANIFEST).is_file():
        return str(folder / ROOT_MANIFEST)
    for candidate in [folder, *folder.parents][: PARENT_LEVELS + 1]:
        manifest = candidate / NOTEBOOK_DEMO / ROOT_MANIFEST
        if manifest.is_file():
            return str(manifest)
    return None


def where_looked(start: str | os.PathLike = ".") -> str:
    """The places :func:`default_mesh` tried, for a message that says what to do next."""
    return f"${MESH_ENV}, {ROOT_MANIFEST} in {Path(start).absolute()}, or {NOTEBOOK_DEMO / ROOT_MANIFEST} there or in a parent folder"
