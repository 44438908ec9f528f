"""Cancel, on the databases, the statements a stopped query worker left running.

A worker process is killed when its client goes away or when it crashes; its
database sessions only notice when they next talk to it (PostgreSQL: or through
``client_connection_check_interval``). The server therefore asks each of the
mesh's databases to cancel the statements of the client named after that worker
(``meshlab-worker-<pid>``, set by the worker), with the credentials the server
uses for the dataset. Each source kind says how
(:meth:`meshlab.sources.Source.cancel_client_statements`); one that cannot, does nothing.
"""

from __future__ import annotations

import logging

from meshlab.mesh import Mesh

log = logging.getLogger(__name__)

APPLICATION_PREFIX = "meshlab-worker-"


def application_name(pid: int) -> str:
    return f"{APPLICATION_PREFIX}{int(pid)}"


def cancel_worker_statements(mesh: Mesh, pid: int) -> int:
    """Cancel every statement of worker ``pid`` on the mesh's databases; how many were.

    A database that cannot be reached is logged and skipped (its session then ends
    when it notices the lost client).
    """
    seen: set[tuple] = set()
    cancelled = 0
    for dataset in mesh.full_catalog.datasets:
        server = dataset.server
        key = (server.kind, server.host, server.port, server.database, server.path, server.property("userEnv"))
        if not dataset.queryable or key in seen:
            continue
        seen.add(key)
        try:
            source = mesh.source(dataset)
            if source.fetches_rows:
                cancelled += source.cancel_client_statements(application_name(pid))
        except Exception as error:  # noqa: BLE001 - best effort: the session still ends on its own
            log.warning("meshlab: cannot cancel worker %d's statements on %s: %s", pid, dataset.address, error)
    return cancelled
