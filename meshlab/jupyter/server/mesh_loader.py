"""The server's mesh: found from its configuration, loaded once, reloaded when a descriptor changes.

Nothing here knows about HTTP; :mod:`meshlab.jupyter.server.handlers` asks
:meth:`MeshLoader.current` for the mesh on every request.

Which mesh: the ``--MeshlabApp.mesh`` option, else what
:func:`meshlab.catalog.discovery.default_mesh` finds from the server's root folder
(``$MESHLAB_MESH``, ``mesh.yaml`` there, the notebooks' demo mesh). Reloading compares the modification
times and sizes of the manifest, every contract file of the local domain folders
and the policy file; that check runs at most once per ``reload_interval``
seconds, so a burst of requests (search as you type) stats the files once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping

from meshlab.catalog.discovery import MESH_ENV, ROOT_MANIFEST, default_mesh, where_looked
from meshlab.catalog.loader import is_contract_file
from meshlab.errors import MeshError, MeshLoadError
from meshlab.mesh import Mesh, connect

log = logging.getLogger(__name__)

LOCK_SECONDS = 0.05  # a request waits this long for a reload in progress, then takes the loaded mesh


class NoMeshConfiguredError(MeshError):
    """The server was started without a mesh."""

    def __init__(self, root_dir: str):
        self.root_dir = root_dir
        super().__init__(
            "no mesh configured: start JupyterLab with --MeshlabApp.mesh=PATH or `meshlab lab PATH`; "
            f"looked for {where_looked(root_dir)}"
        )


def configured_mesh_path(option: str, root_dir: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The mesh the server should serve, or None when nothing names one.

    Relative paths of the option and of ``$MESHLAB_MESH`` are taken from the
    server's working folder, like any command-line path.
    """
    named = option or default_mesh(root_dir, environ)
    if named is None or "://" in named:
        return named
    return os.path.abspath(os.path.expanduser(named))


def _stat(path: str) -> tuple[str, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (path, info.st_mtime_ns, info.st_size)


def _contract_stats(folder: str) -> list[tuple[str, int, int] | None]:
    """Stats of every contract file below a local ``folder`` (or of the one contract it is)."""
    if is_contract_file(folder) or os.path.isfile(folder):
        return [_stat(folder)]
    found: list[tuple[str, int, int] | None] = []
    for parent, _, files in os.walk(folder):
        found.extend(_stat(os.path.join(parent, f)) for f in files if is_contract_file(f))
    return sorted(found, key=lambda entry: entry or ("",))


def descriptor_fingerprint(path: str, mesh: Mesh | None) -> tuple:
    """What changes when a descriptor of the mesh at ``path`` is edited, added or removed.

    Only local files are watched: a mesh or domain behind an fsspec URL is
    loaded once (listing a bucket on every request would cost more than it saves).
    """
    if "://" in path:
        return ()
    entries: list = [_stat(path)]
    if mesh is None:
        return tuple(entries)
    manifest = mesh.catalog.manifest
    for _, folder in manifest.domains:
        if "://" not in folder:
            entries.extend(_contract_stats(folder))
    policies = manifest.settings.get("policies")
    if isinstance(policies, str) and "://" not in policies:
        entries.append(_stat(os.path.join(os.path.dirname(path), policies)))
    return tuple(entries)


class MeshLoader:
    """Holds the server's mesh and reloads it when its descriptors change.

    Parameters
    ----------
    option
        The ``--MeshlabApp.mesh`` value ("" when not given).
    root_dir
        The server's root folder (where ``mesh.yaml`` is looked for).
    reload_interval
        Seconds between two checks of the descriptor files (0: every request).
    environ
        Where ``$MESHLAB_MESH`` is read from.
    logger
        Where loads and load failures are reported (the server's log).
    open_mesh
        Loads the mesh at a path (default :func:`meshlab.connect`; the server
        passes :func:`~meshlab.jupyter.server.server_mesh.open_server_mesh`).
    """

    def __init__(
        self,
        option: str,
        root_dir: str,
        reload_interval: float = 1.0,
        environ: Mapping[str, str] = os.environ,
        logger: logging.Logger | None = None,
        open_mesh: Callable[[str], Mesh] = connect,
    ):
        self.log = logger or log
        self.option = option
        self.root_dir = root_dir
        self.reload_interval = reload_interval
        self._environ = environ
        self._open_mesh = open_mesh
        self._lock = threading.Lock()
        self._path: str | None = None
        self._mesh: Mesh | None = None
        self._error: MeshError | None = None
        self._fingerprint: tuple | None = None
        self._checked = float("-inf")
        self.load_seconds: float | None = None

    @property
    def path(self) -> str | None:
        """The mesh's path (or URL) as last resolved, None when none is configured."""
        return self._path

    def current(self) -> Mesh:
        """The mesh, reloaded first if a descriptor changed since the last check.

        Raises
        ------
        NoMeshConfiguredError
            When no option, environment variable or root ``mesh.yaml`` names a mesh.
        MeshLoadError, DescriptorError
            When the manifest itself cannot be read (broken contracts do not
            raise: they are in ``Mesh.errors``).

        While another request reloads the mesh, the mesh as last loaded is
        returned after :data:`LOCK_SECONDS` instead of waiting for the reload.
        """
        if not self._lock.acquire(timeout=LOCK_SECONDS):
            loaded = self._mesh
            if loaded is not None:
                return loaded
            self._lock.acquire()  # nothing loaded yet: wait for the first load
        try:
            now = time.monotonic()
            if now - self._checked >= self.reload_interval:
                self._checked = now
                self._refresh()
            if self._mesh is None:
                raise self._error or NoMeshConfiguredError(self.root_dir)
            return self._mesh
        finally:
            self._lock.release()

    def warm_up(self) -> threading.Thread:
        """Load the mesh and build its search index in a background thread.

        A large mesh (thousands of contracts) then loads while the server
        starts, not on the user's first search.
        """
        thread = threading.Thread(target=self._warm, name="meshlab-mesh-loader", daemon=True)
        thread.start()
        return thread

    def _warm(self) -> None:
        try:
            self.current()
        except NoMeshConfiguredError as exc:
            self.log.warning("meshlab: %s", exc)
        except MeshError:
            pass  # _refresh logged it

    def _refresh(self) -> None:
        path = configured_mesh_path(self.option, self.root_dir, self._environ)
        if path is None:
            self._replace(None, None, None, ())
            return
        fingerprint = descriptor_fingerprint(path, self._mesh if path == self._path else None)
        if path == self._path and fingerprint == self._fingerprint:
            return
        started = time.perf_counter()
        try:
            mesh = self._open_mesh(path)
        except MeshError as exc:
            self._replace(path, None, exc, descriptor_fingerprint(path, None))
            self.log.warning("meshlab: cannot load the mesh at %s: %s", path, exc)
            return
        mesh.search("")  # builds the search index now, not on the first query
        self.load_seconds = time.perf_counter() - started
        # The fingerprint of what was just loaded: the domain folders are known only now.
        self._replace(path, mesh, None, descriptor_fingerprint(path, mesh))
        self.log.info(
            "meshlab: loaded mesh '%s' from %s: %d datasets, %d load errors, %.2f s",
            mesh.name,
            path,
            len(mesh.catalog.datasets),
            len(mesh.errors),
            self.load_seconds,
        )

    def _replace(self, path: str | None, mesh: Mesh | None, error: MeshError | None, fingerprint: tuple) -> None:
        if self._mesh is not None and self._mesh is not mesh:
            self._mesh.close()
        self._path, self._mesh, self._error, self._fingerprint = path, mesh, error, fingerprint

    def close(self) -> None:
        with self._lock:
            self._replace(None, None, None, ())


__all__ = ["MESH_ENV", "ROOT_MANIFEST", "MeshLoadError", "MeshLoader", "NoMeshConfiguredError", "configured_mesh_path"]
