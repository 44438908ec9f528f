"""The HTTP status of each kind of failure, shared by the routes and the query workers."""

from __future__ import annotations

from meshlab.errors import (
    AmbiguousDatasetError,
    DescriptorError,
    GovernanceError,
    MeshError,
    MeshLoadError,
    SourceError,
    SqlError,
    UnknownDatasetError,
)
from meshlab.jupyter.server import catalog_api
from meshlab.jupyter.server.confinement import ConfinementError
from meshlab.jupyter.server.mesh_loader import NoMeshConfiguredError
from meshlab.jupyter.server.query_api import RequestTooLargeError


class ServerBusyError(MeshError):
    """Too many queries wait already: for this user (429) or on the whole server (503)."""

    def __init__(self, message: str, status: int):
        self.status = status
        super().__init__(message)


class QueryLostError(MeshError):
    """The worker process running a query stopped before answering (a crash, or killed)."""


class QueryTimeLimitError(QueryLostError):
    """A query ran longer than ``MeshlabApp.query_time_limit``; its worker was stopped."""


# The first matching class wins.
ERROR_STATUS: tuple[tuple[type[MeshError], int], ...] = (
    (RequestTooLargeError, 413),
    (catalog_api.AddressSyntaxError, 400),
    (catalog_api.RequestValueError, 400),
    (ConfinementError, 403),
    (GovernanceError, 403),
    (AmbiguousDatasetError, 400),
    (UnknownDatasetError, 404),
    (NoMeshConfiguredError, 503),
    (MeshLoadError, 503),
    (DescriptorError, 503),  # the manifest itself is broken
    (SqlError, 400),
    (SourceError, 502),
    (QueryTimeLimitError, 504),
    (QueryLostError, 500),
    (MeshError, 500),
)


def status_of(error: MeshError) -> int:
    """The HTTP status that answers ``error``."""
    if isinstance(error, ServerBusyError):
        return error.status
    return next(code for kind, code in ERROR_STATUS if isinstance(error, kind))
