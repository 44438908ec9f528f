"""``MeshlabApp``: the jupyter_server extension behind the catalog sidebar and server mode.

Enabled by ``etc/jupyter/jupyter_server_config.d/meshlab.json`` (installed with the
package). Options (see docs/reliability.md, "Server mode")::

    jupyter lab --MeshlabApp.mesh=demo/mesh.yaml        # else $MESHLAB_MESH, else ./mesh.yaml in the root
    jupyter lab --MeshlabApp.reload_interval=5          # seconds between checks of the descriptor files
    jupyter lab --MeshlabApp.allowed_roots=/data/lake   # local data outside the mesh's folder
    jupyter lab --MeshlabApp.query_workers=4 --MeshlabApp.max_queries_per_user=2
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Float, Int, List, Unicode

from meshlab.errors import MeshError
from meshlab.jupyter.server.handlers import route_table
from meshlab.jupyter.server.mesh_loader import MeshLoader, configured_mesh_path
from meshlab.jupyter.server.query_workers import QueryWorkers, WorkerConfig
from meshlab.jupyter.server.server_mesh import open_server_mesh


class MeshlabApp(ExtensionApp):
    """Serves the mesh's catalog and server-mode queries under ``/meshlab/api/``."""

    name = "meshlab"
    description = "The data mesh catalog for the JupyterLab sidebar."
    load_other_extensions = True

    mesh = Unicode(
        "",
        config=True,
        help="The mesh to serve: a mesh.yaml, a domain folder or one contract (path or fsspec URL). "
        "Default: $MESHLAB_MESH, else mesh.yaml in the server's root folder.",
    )
    reload_interval = Float(
        1.0,
        config=True,
        help="Seconds between two checks of the mesh's descriptor files for changes (0: on every request).",
    )
    allowed_roots = List(
        Unicode(),
        default_value=[],
        config=True,
        help="Folders besides the mesh's own (and the local domain folders mesh.yaml names) whose files "
        "datasets may read. A local path (file, glob, folder, SQLite database) resolving elsewhere, "
        "symbolic links followed, is refused.",
    )
    query_workers = Int(
        min(4, max(2, os.cpu_count() or 2)),
        config=True,
        help="Worker processes running queries and samples (a crash in one cannot stop the server).",
    )
    max_queries_per_user = Int(2, config=True, help="Queries of one user running at once.")
    max_queued_per_user = Int(32, config=True, help="Queries of one user waiting beyond those (more: 429).")
    max_queued_queries = Int(64, config=True, help="Queries waiting on the whole server (more: 503).")
    catalog_threads = Int(4, config=True, help="Threads answering catalog requests (search, detail, status).")
    user_views = Int(64, config=True, help="Per-user catalog views kept (least recently used dropped).")
    user_view_seconds = Float(600.0, config=True, help="Seconds a per-user catalog view is kept.")
    postgres_disconnect_check = Float(
        1.0,
        config=True,
        help="PostgreSQL's client_connection_check_interval (seconds) on the workers' connections, so a "
        "statement whose worker was stopped ends on the server too (PostgreSQL 14+; 0: not set).",
    )

    query_time_limit = Float(
        900.0,
        config=True,
        help="Seconds a server-mode query or sample may run before its worker process is stopped "
        "(504; its PostgreSQL statements are cancelled). 0: no limit.",
    )

    @property
    def server(self) -> ServerApp:
        """The Jupyter server the extension was loaded into (set before its settings and handlers)."""
        if self.serverapp is None:
            raise MeshError("meshlab's server extension runs inside a Jupyter server: start it with jupyter lab")
        return self.serverapp

    def initialize_settings(self) -> None:
        opener = partial(
            open_server_mesh,
            allowed_roots=tuple(self.allowed_roots),
            views_kept=self.user_views,
            view_seconds=self.user_view_seconds,
        )
        self.loader = MeshLoader(
            self.mesh, self.server.root_dir, self.reload_interval, logger=self.log, open_mesh=opener
        )
        self.catalog_pool = ThreadPoolExecutor(max(1, self.catalog_threads), thread_name_prefix="meshlab-catalog")
        config = WorkerConfig(
            root_dir=self.server.root_dir,
            allowed_roots=tuple(self.allowed_roots),
            reload_interval=self.reload_interval,
            postgres_check_ms=int(self.postgres_disconnect_check * 1000),
            time_limit=self.query_time_limit,
            preload=configured_mesh_path(self.mesh, self.server.root_dir),
        )
        self.workers = QueryWorkers(
            config, self.query_workers, self.max_queries_per_user, self.max_queued_per_user, self.max_queued_queries
        )
        # A large mesh loads while the server starts rather than on the first search;
        # the workers start meanwhile.
        self.loader.warm_up()
        self.workers.warm_up()

    def initialize_handlers(self) -> None:
        # The routes carry the server's base_url themselves (route_table), so they
        # go to the web app directly instead of through self.handlers.
        web_app = self.server.web_app
        routes = route_table(web_app.settings["base_url"], self.loader, self.catalog_pool, self.workers)
        web_app.add_handlers(".*$", routes)

    async def stop_extension(self) -> None:
        await self.workers.close()
        self.catalog_pool.shutdown(wait=False, cancel_futures=True)
        self.loader.close()
