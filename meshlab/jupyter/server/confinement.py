"""Server mode reads local files only under the mesh's folder and the operator's roots.

A contract is written by a domain team, not by the server's operator: without
this check a contract naming ``/etc/passwd`` as a CSV file serves it through the
sample route. Every local path a dataset reads (a file, a glob, a partitioned
folder, a SQLite database) must resolve, symbolic links followed, to a place
under one of the allowed roots; otherwise the dataset is refused with a
:class:`ConfinementError` that names the dataset and never what lies outside.

Remote locations (object stores, HTTP) are not local disk and pass; a URL
scheme fsspec would map to the local disk or to a chain (``zip::``,
``simplecache::``) is refused.

>>> Confinement(["/srv/mesh"]).allows("/srv/mesh/data/a.parquet")
True
>>> Confinement(["/srv/mesh"]).allows("/srv/meshes/a.parquet")
False
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from meshlab.catalog import Dataset
from meshlab.catalog.server_kinds import kind_named
from meshlab.errors import MeshError

#: schemes whose files are not on the server's disk
REMOTE_PROTOCOLS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "http", "https", "hf")
LOCAL_PROTOCOLS = ("file", "local")
GLOB_CHARS = "*?["
#: at most this many files of one dataset are resolved per check (a bigger glob is refused)
MAX_CHECKED_FILES = 100_000


class ConfinementError(MeshError):
    """A dataset would read a file outside the folders the server may read."""

    def __init__(self, dataset: str, server: str, reason: str):
        self.dataset = dataset
        self.server = server
        self.reason = reason
        super().__init__(f"dataset '{dataset}' on server '{server}': {reason}")


def _protocol(location: str) -> str:
    return location.split("://", 1)[0].lower() if "://" in location else "file"


def _fixed_prefix(path: str) -> str:
    """The part of a glob before its first wildcard, cut at a folder boundary."""
    cut = min((path.index(c) for c in GLOB_CHARS if c in path), default=len(path))
    return path if cut == len(path) else os.path.dirname(path[:cut])


class Confinement:
    """The folders local reads must stay in (each resolved to its real path once)."""

    def __init__(self, roots: Iterable[str]):
        given = [os.path.abspath(os.path.expanduser(r)) for r in roots if r]
        self.roots = tuple(sorted({os.path.realpath(r) for r in given}))
        self._named = tuple(sorted(set(given) | set(self.roots)))  # as written: to explain a refusal

    def _inside(self, real: str, roots: tuple[str, ...]) -> bool:
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)

    def allows(self, path: str) -> bool:
        """Whether the real path of ``path`` lies under one of the roots."""
        return self._inside(os.path.realpath(path), self.roots)

    def check(self, dataset: Dataset) -> None:
        """Raise :class:`ConfinementError` when ``dataset`` would read outside the roots.

        The places are those its source kind names (:meth:`ServerKind.read_locations`: a
        file, a glob, a folder, a database file, a table's catalog); a kind that cannot
        be told is refused.
        """
        kind = kind_named(dataset.server.kind)
        if kind is None:
            if dataset.queryable:
                self._refuse(dataset, f"no registered source kind '{dataset.server.kind}' says what it reads")
            return
        for location in kind.read_locations(dataset.server, dataset.contract_path):
            self._check_location(dataset, location)

    def check_files(self, dataset: Dataset, files: Iterable[str]) -> None:
        """Refuse when one of ``files`` (the data files a table's log names) is local and outside the roots."""
        for found in files:
            protocol = _protocol(found)
            if protocol in REMOTE_PROTOCOLS:
                continue
            if protocol not in LOCAL_PROTOCOLS or not self.allows(found.split("://", 1)[-1]):
                self._refuse(dataset, self._outside("through a file its table's log names"))

    def _check_location(self, dataset: Dataset, location: str) -> None:
        protocol = _protocol(location)
        if "::" in location or (protocol not in REMOTE_PROTOCOLS and protocol not in LOCAL_PROTOCOLS):
            self._refuse(dataset, f"the location scheme '{protocol}' is not allowed in server mode")
        if protocol in REMOTE_PROTOCOLS:
            return
        path = location.split("://", 1)[-1]
        if not os.path.isabs(path):
            self._refuse(dataset, "a local path must be absolute once resolved against its contract")
        prefix = _fixed_prefix(path)
        if not self.allows(prefix):
            linked = self._inside(os.path.normpath(prefix), self._named)
            self._refuse(dataset, self._outside("through a symbolic link" if linked else ""))
        for found in self._files(path, dataset):
            if not self.allows(found):
                self._refuse(dataset, self._outside("through a symbolic link"))

    def _files(self, path: str, dataset: Dataset):
        """Every file or folder ``path`` names now (a glob, a folder walked, one file)."""
        if any(c in path for c in GLOB_CHARS):
            names = glob.iglob(path, recursive=True)
        elif os.path.isdir(path):
            names = (os.path.join(folder, name) for folder, dirs, files in os.walk(path) for name in dirs + files)
        else:
            names = iter([path])
        for count, name in enumerate(names):
            if count >= MAX_CHECKED_FILES:
                self._refuse(dataset, f"its path names more than {MAX_CHECKED_FILES:,} files")
            yield name

    def _outside(self, how: str = "") -> str:
        via = f" {how}" if how else ""
        return (
            f"its local path leads{via} outside the folders this server may read "
            "(the mesh's folder and MeshlabApp.allowed_roots)"
        )

    @staticmethod
    def _refuse(dataset: Dataset, reason: str):
        raise ConfinementError(dataset.address, dataset.server.name, reason)
