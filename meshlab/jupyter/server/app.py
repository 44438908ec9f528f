"""``MeshlabApp``: the jupyter_server extension behind the catalog sidebar.

Enabled by ``etc/jupyter/jupyter_server_config.d/meshlab.json`` (installed with the
package). Options::

    jupyter lab --MeshlabApp.mesh=demo/mesh.yaml        # else $MESHLAB_MESH, else ./mesh.yaml in the root
    jupyter lab --MeshlabApp.reload_interval=5          # seconds between checks of the descriptor files
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Unicode

from meshlab.jupyter.server.handlers import route_table
from meshlab.jupyter.server.mesh_loader import MeshLoader


class MeshlabApp(ExtensionApp):
    """Serves the mesh's catalog under ``/meshlab/api/`` to the JupyterLab sidebar."""

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

    def initialize_settings(self) -> None:
        self.loader = MeshLoader(self.mesh, self.serverapp.root_dir, self.reload_interval, logger=self.log)
        # A large mesh loads while the server starts rather than on the first search.
        self.loader.warm_up()

    def initialize_handlers(self) -> None:
        # The routes carry the server's base_url themselves (route_table), so they
        # go to the web app directly instead of through self.handlers.
        web_app = self.serverapp.web_app
        web_app.add_handlers(".*$", route_table(web_app.settings["base_url"], self.loader))

    async def stop_extension(self) -> None:
        self.loader.close()
