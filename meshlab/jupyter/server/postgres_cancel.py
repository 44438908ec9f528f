"""Cancel, on the database, the PostgreSQL statements a stopped query worker left running.

A worker process is killed when its client goes away or when it crashes; its
PostgreSQL backends only notice when they next talk to it (or through
``client_connection_check_interval``). The server therefore also asks each of
the mesh's PostgreSQL servers to cancel the backends whose application name is
that worker's (``meshlab-worker-<pid>``, set by the worker), with the
credentials the server uses for the dataset.
"""

from __future__ import annotations

import logging

from meshlab.mesh import Mesh
from meshlab.sources import PostgresSource

log = logging.getLogger(__name__)

APPLICATION_PREFIX = "meshlab-worker-"


def application_name(pid: int) -> str:
    return f"{APPLICATION_PREFIX}{int(pid)}"


def cancel_worker_statements(mesh: Mesh, pid: int) -> int:
    """``pg_cancel_backend`` for every backend of worker ``pid`` on the mesh's PostgreSQL servers.

    Returns how many backends were cancelled; a server that cannot be reached is
    logged and skipped (its backend then ends when it notices the lost client).
    """
    # In the select list, not the WHERE clause: PostgreSQL may evaluate WHERE terms
    # in any order, and would then cancel every backend it looks at (this one too).
    sql = (
        "SELECT pg_cancel_backend(pid) AS cancelled FROM pg_stat_activity "
        f"WHERE application_name = '{application_name(pid)}' AND pid <> pg_backend_pid()"
    )
    seen: set[tuple] = set()
    cancelled = 0
    for dataset in mesh.full_catalog.datasets:
        server = dataset.server
        key = (server.host, server.port, server.database, server.property("userEnv"))
        if server.type != "postgres" or key in seen:
            continue
        seen.add(key)
        try:
            source = mesh.source(dataset)
            if not isinstance(source, PostgresSource):  # source_for reads type postgres with one
                continue
            table = source.fetch(sql)
            cancelled += sum(bool(done) for done in table.column("cancelled").to_pylist())
        except Exception as error:  # noqa: BLE001 - best effort: the backend still ends on its own
            log.warning("meshlab: cannot cancel worker %d's statements on %s: %s", pid, dataset.address, error)
    return cancelled
