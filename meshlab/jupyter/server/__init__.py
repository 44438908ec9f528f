"""The jupyter_server extension of the catalog sidebar (``/meshlab/api/``).

``catalog_api`` answers (JSON-ready dicts, no HTTP), ``mesh_loader`` holds and
reloads the server's mesh, ``handlers`` are the thin HTTP routes, ``app`` is
the ``MeshlabApp`` extension that wires them into the server.
"""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    from meshlab.jupyter.server.app import MeshlabApp

    return [{"module": "meshlab.jupyter.server", "app": MeshlabApp}]
