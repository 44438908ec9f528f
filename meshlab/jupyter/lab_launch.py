"""``meshlab lab``: JupyterLab on a mesh, the way a newcomer expects it to start.

The server gets the mesh twice, both from one resolved path: ``--MeshlabApp.mesh``
for the catalog sidebar and ``$MESHLAB_MESH`` for the kernels it starts, so a
``%%mesh`` cell run before ``%mesh connect`` queries the same mesh the sidebar
shows. Root (containers, Binder-like images) gets ``--allow-root``; a machine
without a display gets ``--no-browser`` and Jupyter prints the URL with its token.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshlab.catalog.discovery import MESH_ENV, NOTEBOOK_DEMO, NOTEBOOK_DEMO_SCALE, default_mesh, where_looked
from meshlab.errors import MeshError


class NoMeshFoundError(MeshError):
    """``meshlab lab`` was given no mesh and found none."""


@dataclass(frozen=True)
class LabLaunch:
    """The JupyterLab command line and environment ``meshlab lab`` runs."""

    mesh: str
    argv: tuple[str, ...]
    env: dict[str, str]


def has_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> bool:
    """Can a browser window open here? Linux needs an X or Wayland display; macOS and Windows have one."""
    if platform in ("darwin", "win32"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def resolve_mesh(mesh: str | None, demo: bool, folder: Path) -> str:
    """The mesh to serve: the one named, else the one found from ``folder``, else (``demo``) a new demo mesh."""
    if mesh:
        return mesh if "://" in mesh else str(Path(mesh).expanduser().absolute())
    found = default_mesh(folder)
    if found is not None:
        return found if "://" in found else str(Path(found).absolute())
    if not demo:
        raise NoMeshFoundError(
            f"no mesh to open: name one (meshlab lab PATH), or write the demo mesh with meshlab lab --demo "
            f"(looked for {where_looked(folder)})"
        )
    from meshlab.demo import ensure_demo

    print(f"writing the demo music mesh into {NOTEBOOK_DEMO} (scale {NOTEBOOK_DEMO_SCALE}) ...", file=sys.stderr)
    return str(ensure_demo(folder / NOTEBOOK_DEMO, scale=NOTEBOOK_DEMO_SCALE).absolute())


def lab_launch(
    mesh: str | None = None,
    *,
    demo: bool = False,
    open_path: str | None = None,
    browser: bool | None = None,
    port: int | None = None,
    extra: tuple[str, ...] = (),
    folder: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    is_root: bool | None = None,
) -> LabLaunch:
    """Work out how to start JupyterLab on ``mesh`` with ``folder`` (default: here) as its root.

    Parameters
    ----------
    mesh
        A mesh.yaml, a domain folder or one contract; None finds one (see
        :mod:`meshlab.catalog.discovery`).
    demo
        Write the notebooks' demo mesh into ``demo/notebook-mesh`` when none is found.
    open_path
        A notebook or folder, relative to ``folder``, to open first.
    browser
        Open a browser window; None opens one only where a display exists.
    """
    folder = (folder or Path.cwd()).absolute()
    resolved = resolve_mesh(mesh, demo, folder)
    if is_root is None:
        is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if browser is None:
        browser = has_display(environ)
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", f"--MeshlabApp.mesh={resolved}"]
    if is_root:
        argv.append("--allow-root")  # containers and Binder-like images run as root
    if not browser:
        argv.append("--no-browser")
    if port is not None:
        argv.append(f"--port={port}")
    if open_path:
        target = (folder / open_path).absolute()
        if not target.exists():
            raise NoMeshFoundError(f"{open_path}: nothing to open there (relative to {folder})")
        argv.append(f"--LabApp.default_url=/lab/tree/{target.relative_to(folder).as_posix()}")
    argv.extend(extra)
    env = {**environ, MESH_ENV: resolved}
    return LabLaunch(mesh=resolved, argv=tuple(argv), env=env)


def run_lab(launch: LabLaunch) -> None:
    """Replace this process with JupyterLab: Ctrl-C and the server's PID are the server's own."""
    print(f"meshlab: serving the mesh {launch.mesh}", file=sys.stderr)
    sys.stderr.flush()
    os.execve(launch.argv[0], list(launch.argv), launch.env)
