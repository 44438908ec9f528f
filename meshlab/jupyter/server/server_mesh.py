"""The mesh as the Jupyter server holds it: confined to its roots, with bounded per-user views.

A :class:`ServerMesh` is a :class:`~meshlab.mesh.Mesh` whose sources are only
opened after :class:`~meshlab.jupyter.server.confinement.Confinement` allowed
the dataset's local path, and whose per-user views (``for_user``: a governed
catalog and its search index) live in a :class:`ViewCache` bounded in size and
age, so a stream of distinct users cannot grow the server's memory without end.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TypeVar

from meshlab.catalog import Dataset, load_catalog
from meshlab.catalog.storage import StorageSettings
from meshlab.governance.policy import policy_of
from meshlab.jupyter.server.confinement import Confinement
from meshlab.mesh import Mesh
from meshlab.sources import Source

VIEWS_KEPT = 64
VIEW_SECONDS = 600.0

K = TypeVar("K")
V = TypeVar("V")


class ViewCache(MutableMapping[K, V]):
    """A least-recently-used mapping whose entries also expire ``ttl`` seconds after they were made.

    >>> views = ViewCache(maxsize=1, ttl=60)
    >>> views[("ana", None)] = "a"; views[("bob", None)] = "b"
    >>> views.get(("ana", None)) is None, views.get(("bob", None))
    (True, 'b')
    """

    def __init__(
        self, maxsize: int = VIEWS_KEPT, ttl: float = VIEW_SECONDS, dispose: Callable[[V], None] | None = None
    ):
        self.maxsize = max(1, int(maxsize))
        self.ttl = float(ttl)
        self.dispose = dispose  # called on an entry dropped for size or age (a view's close)
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: K) -> V:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                raise KeyError(key)
            made, value = entry
            expired = self.ttl > 0 and time.monotonic() - made > self.ttl
            if expired:
                del self._entries[key]
            else:
                self._entries.move_to_end(key)
        if expired:
            self._dropped([value])
            raise KeyError(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        dropped = []
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                dropped.append(self._entries.popitem(last=False)[1][1])
        self._dropped(dropped)

    def _dropped(self, values: list[V]) -> None:
        if self.dispose is not None:
            for value in values:
                self.dispose(value)

    def __delitem__(self, key: K) -> None:
        with self._lock:
            del self._entries[key]

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class ServerMesh(Mesh):
    """A mesh that reads local files only under ``confinement``'s roots."""

    confinement: Confinement = Confinement(())

    def source(self, dataset: Dataset) -> Source:
        # Checked on every use, not once: a file or link may change after loading.
        self.confinement.check(dataset)
        source = super().source(dataset)
        self.confinement.check_files(dataset, source.data_files())
        return source


def mesh_root(path: str) -> str:
    """The folder of the mesh at ``path`` (the manifest's or contract's folder, or the domain folder)."""
    return path if os.path.isdir(path) else os.path.dirname(path)


def open_server_mesh(
    path: str, allowed_roots: Iterable[str] = (), views_kept: int = VIEWS_KEPT, view_seconds: float = VIEW_SECONDS
) -> ServerMesh:
    """Load the mesh at ``path`` for the server: confined to its folder and ``allowed_roots``."""
    catalog = load_catalog(str(path), StorageSettings.parse(None, "connect(storage=...)"))
    mesh = ServerMesh(catalog, policy_of(catalog))
    # The manifest is the operator's: its folder and the local domain folders it names are trusted.
    roots = list(allowed_roots) + ([] if "://" in path else [mesh_root(path)])
    roots += [folder for _, folder in catalog.manifest.domains if "://" not in folder]
    mesh.confinement = Confinement(roots)
    mesh._views = ViewCache(views_kept, view_seconds, dispose=Mesh.close)  # a view dropped: its connections closed
    return mesh
