"""HTTP routes of the catalog sidebar, under ``<base_url>/meshlab/api/``.

Thin: each verb parses its parameters, gets the mesh from :meth:`MeshAPIHandler.mesh`
(the one place that decides which mesh, user and role a request sees),
calls one function of :mod:`meshlab.jupyter.server.catalog_api` and writes JSON.
Every verb requires the server's authentication.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

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
from meshlab.jupyter.server import catalog_api, query_api
from meshlab.jupyter.server.mesh_loader import MeshLoader, NoMeshConfiguredError
from meshlab.mesh import Mesh

NAMESPACE = "meshlab"

# The HTTP status of each kind of failure; the first matching class wins.
ERROR_STATUS: tuple[tuple[type[MeshError], int], ...] = (
    (catalog_api.AddressSyntaxError, 400),
    (catalog_api.RequestValueError, 400),
    (GovernanceError, 403),
    (AmbiguousDatasetError, 400),
    (UnknownDatasetError, 404),
    (NoMeshConfiguredError, 503),
    (MeshLoadError, 503),
    (DescriptorError, 503),  # the manifest itself is broken
    (SqlError, 400),
    (SourceError, 502),
    (MeshError, 500),
)


class MeshAPIHandler(APIHandler):
    """Base of every meshlab route: finds the mesh, turns MeshErrors into JSON answers."""

    def initialize(self, loader: MeshLoader) -> None:
        self.loader = loader

    async def mesh(self, role: str | None = None) -> Mesh:
        """The mesh this request works on, as the authenticated user sees it.

        With a policy file, the user is the server's authenticated user (as
        JupyterHub names them) and the role is the ``role`` argument or the
        ``X-Meshlab-Role`` header, else the user's first role: the catalog,
        samples and queries then show only what that role may see.
        Loading or reloading may read many files, so it runs off the event loop.
        """
        mesh = await IOLoop.current().run_in_executor(None, self.loader.current)
        if mesh.policy is None:
            return mesh
        role = role or self.get_query_argument("role", None) or self.request.headers.get("X-Meshlab-Role") or None
        return mesh.for_user(self.current_user.username, role)

    def reply(self, body: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def fail(self, error: MeshError) -> None:
        status = next(code for kind, code in ERROR_STATUS if isinstance(error, kind))
        if status >= 500 and status != 503:
            self.log.warning("meshlab: %s", error)
        self.set_status(status)
        self.reply(catalog_api.error_body(error))


class DatasetsHandler(MeshAPIHandler):
    """``GET datasets?q=TEXT&limit=N&offset=M``: the ranked list (a JSON array).

    The number of matches is in the ``X-Total-Count`` header, so a client can page.
    """

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            limit = catalog_api.parse_count(self.get_query_argument("limit", None), "limit", None, 0)
            offset = catalog_api.parse_count(self.get_query_argument("offset", None), "offset", 0, 0)
            mesh = await self.mesh()
            page, total = catalog_api.search_datasets(mesh, self.get_query_argument("q", ""), limit, offset)
        except MeshError as error:
            return self.fail(error)
        self.set_header("X-Total-Count", str(total))
        self.reply(page)


class DatasetHandler(MeshAPIHandler):
    """``GET datasets/<address>``: one dataset's detail."""

    @tornado.web.authenticated
    async def get(self, address: str) -> None:
        try:
            wanted = catalog_api.parse_address(address)
            mesh = await self.mesh()
            found = mesh.dataset(wanted)
            body = catalog_api.dataset_detail(found, catalog_api.last_check(mesh, found.address))
        except MeshError as error:
            return self.fail(error)
        self.reply(body)


class SampleHandler(MeshAPIHandler):
    """``GET datasets/<address>/sample?limit=N``: the first rows, read through ``Mesh.sql``."""

    @tornado.web.authenticated
    async def get(self, address: str) -> None:
        try:
            wanted = catalog_api.parse_address(address)
            limit = catalog_api.parse_count(
                self.get_query_argument("limit", None),
                "limit",
                catalog_api.SAMPLE_ROWS,
                1,
                catalog_api.MAX_SAMPLE_ROWS,
            )
            mesh = await self.mesh()
            body = await IOLoop.current().run_in_executor(None, catalog_api.dataset_sample, mesh, wanted, limit)
        except MeshError as error:
            return self.fail(error)
        self.reply(body)


class StatusHandler(MeshAPIHandler):
    """``GET status``: the mesh's name, size, domains and load errors."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            mesh = await self.mesh()
        except MeshError as error:
            return self.fail(error)
        path = self.loader.path or ""
        self.reply(catalog_api.mesh_status(mesh, path, self.loader.root_dir, self.loader.load_seconds))


class QueryHandler(MeshAPIHandler):
    """``POST query`` (server mode): ``{"sql", "params", "limit", "role"}`` -> an Arrow IPC stream."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            request = query_api.parse_query_request(self.request.body)
            mesh = await self.mesh(request["role"])
            body = await IOLoop.current().run_in_executor(None, query_api.run_query, mesh, request)
        except MeshError as error:
            return self.fail(error)
        self.finish(body, set_content_type=query_api.ARROW_STREAM)


def route_table(base_url: str, loader: MeshLoader) -> list[tuple[str, type[MeshAPIHandler], dict]]:
    """The routes of the API, for ``web_app.add_handlers``."""
    api = url_path_join(base_url, NAMESPACE, "api")
    address = r"(?P<address>[^/]+)"
    routes = (
        (url_path_join(api, "datasets"), DatasetsHandler),
        (url_path_join(api, "datasets", address, "sample"), SampleHandler),
        (url_path_join(api, "datasets", address), DatasetHandler),
        (url_path_join(api, "status"), StatusHandler),
        (url_path_join(api, "query"), QueryHandler),
    )
    return [(pattern, handler, {"loader": loader}) for pattern, handler in routes]
