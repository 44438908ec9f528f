"""What the catalog asks a source kind: does it read this ODCS server block, and what does it lack?

A *source kind* (files, SQLite, PostgreSQL, DuckDB, Delta, ...) is one object,
registered under the ``meshlab.sources`` entry-point group -- the built-in kinds
too, in meshlab's own ``pyproject.toml``. The full interface is
:class:`meshlab.sources.spi.SourceKind`; this module holds the part the catalog
needs while it reads contracts, so that the catalog never names a server type:

- which server blocks the kind reads (:attr:`ServerKind.server_types`,
  :attr:`~ServerKind.engines` for ``type: custom``, :attr:`~ServerKind.formats`);
- what a readable block must hold (:meth:`ServerKind.problem`);
- whether its location is a path, resolved against the contract's folder;
- which of its fields may be shown outside the server (:attr:`~ServerKind.public_fields`).

Kinds are loaded once, on first use, in their :attr:`~ServerKind.priority` order.
"""

from __future__ import annotations

import functools
import importlib.metadata
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshlab.catalog.servers import Server

ENTRY_POINT_GROUP = "meshlab.sources"
#: server fields any kind may show (sidebar, catalog API): never a host, a port or a credential
PUBLIC_SERVER_FIELDS = ("server", "type", "format", "database", "schema", "environment", "description")


class ServerKind:
    """The catalog's view of a source kind. Subclass :class:`meshlab.sources.spi.SourceKind`, not this."""

    #: the kind's registered name (``Server.kind``); also its entry point's name
    name: str = ""
    #: ODCS server ``type`` values it reads (lower case)
    server_types: tuple[str, ...] = ()
    #: ``type: custom`` servers whose ``engine`` custom property (or ``format``) is one of these
    engines: tuple[str, ...] = ()
    #: formats it reads; empty when the server type alone decides (databases)
    formats: tuple[str, ...] = ()
    #: server fields a readable block needs (``path`` accepts ``location`` too)
    required: tuple[str, ...] = ()
    #: the location is a path or URL, resolved against the contract's folder
    location_is_path: bool = True
    #: server fields shown outside the server; a location only when :attr:`location_is_path`
    public_fields: tuple[str, ...] = PUBLIC_SERVER_FIELDS
    #: lower runs first when two kinds claim one block
    priority: int = 100

    def claims(self, server_type: str, fmt: str, engine: str) -> bool:
        """Whether this kind reads a block of ``server_type`` / ``fmt`` / ``engine`` (all lower case)."""
        if server_type == "custom":
            return engine in self.engines if engine else bool(fmt) and fmt in self.engines + self.formats
        if server_type not in self.server_types:
            return False
        return not self.formats or fmt in self.formats

    def problem(self, raw: Mapping[str, Any]) -> str | None:
        """Why the block cannot be read, though claimed (a missing field); None when it can."""
        missing = [f for f in self.required if not (raw.get(f) or (f == "path" and raw.get("location")))]
        if not missing:
            return None
        return f"a {self.name} server needs {' and '.join(missing)}"

    def shows_location(self) -> bool:
        return self.location_is_path

    def read_locations(self, server: Server, contract_path: str) -> tuple[str, ...]:
        """Every place (path or URL) reading a dataset of ``server`` touches before its data files:
        what server mode confines (:mod:`meshlab.jupyter.server.confinement`). Named, never opened."""
        return (server.path,) if self.location_is_path and server.path else ()


class NoKindsError(RuntimeError):
    """meshlab's own kinds are not registered: the package is not installed."""


#: kinds registered but not loaded: entry point name -> why (an import error, not a kind)
BROKEN_KINDS: dict[str, str] = {}


@functools.cache
def server_kinds() -> tuple[ServerKind, ...]:
    """Every registered kind, in priority order (loaded once per process).

    A kind that fails to load (its module or a library it needs cannot be
    imported) is left out with a warning and recorded in :data:`BROKEN_KINDS`:
    one broken plugin must not take the rest of the mesh down.
    """
    found: list[ServerKind] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            kind = entry.load()
            kind = kind() if isinstance(kind, type) else kind
            if not isinstance(kind, ServerKind):
                raise TypeError(f"{entry.value} is not a meshlab source kind")
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin's import is that plugin's
            BROKEN_KINDS[entry.name] = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"meshlab: source kind '{entry.name}' not loaded: {exc}", RuntimeWarning, stacklevel=2)
            continue
        found.append(kind)
    if not found:
        raise NoKindsError(
            f"no source kinds are registered (entry-point group '{ENTRY_POINT_GROUP}'): "
            "install meshlab (pip install -e .) rather than running it from a plain checkout"
        )
    names = [k.name for k in found]
    if len(set(names)) != len(names):
        raise TypeError(f"two source kinds share a name: {sorted(names)}")
    return tuple(sorted(found, key=lambda k: (k.priority, k.name)))


def kind_named(name: str | None) -> ServerKind | None:
    return next((k for k in server_kinds() if k.name == name), None)


def claiming_kind(server_type: str, fmt: str, engine: str) -> ServerKind | None:
    """The kind that reads such a block, if any."""
    return next((k for k in server_kinds() if k.claims(server_type, fmt, engine)), None)


def formats_read_on(server_type: str) -> list[str]:
    """The formats some kind reads on servers of ``server_type`` (for "meshlab reads ..." messages)."""
    return [f for k in server_kinds() if server_type in k.server_types for f in k.formats]


def file_server_types() -> set[str]:
    """Server types some kind reads as files (their blocks name a format)."""
    return {t for k in server_kinds() if k.formats for t in k.server_types}
