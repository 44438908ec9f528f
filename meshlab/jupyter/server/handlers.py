"""HTTP routes of the catalog sidebar and of server mode, under ``<base_url>/meshlab/api/``.

Thin: each verb parses its parameters, gets the mesh from :meth:`MeshAPIHandler.mesh`
(the one place that decides which mesh, user and role a request sees), calls one
function of :mod:`~meshlab.jupyter.server.catalog_api` in the catalog thread pool
(or hands a query or sample to the worker processes of
:mod:`~meshlab.jupyter.server.query_workers`) and writes JSON. Nothing blocking
runs on the server's event loop, so the rest of Jupyter never waits on meshlab.
Every verb requires the server's authentication.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import tornado.web
from jupyter_server.auth.identity import IdentityProvider
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

from meshlab.errors import MeshError
from meshlab.jupyter.server import catalog_api, query_api
from meshlab.jupyter.server.mesh_loader import MeshLoader
from meshlab.jupyter.server.orphan_statements import cancel_worker_statements
from meshlab.jupyter.server.query_workers import Answer, Job, QueryWorkers
from meshlab.jupyter.server.statuses import ERROR_STATUS, ServerBusyError, status_of
from meshlab.mesh import Mesh

T = TypeVar("T")

NAMESPACE = "meshlab"
RETRY_AFTER_SECONDS = 1

__all__ = ["ERROR_STATUS", "NAMESPACE", "route_table"]


class MeshAPIHandler(APIHandler):
    """Base of every meshlab route: finds the mesh and user, turns MeshErrors into JSON answers."""

    def initialize(self, loader: MeshLoader, catalog_pool: Executor, workers: QueryWorkers) -> None:
        self.loader = loader
        self.catalog_pool = catalog_pool
        self.workers = workers
        self.gone = asyncio.Event()

    def on_connection_close(self) -> None:
        # The client went away: a query it was waiting for is stopped (see QueryWorkers.run).
        self.gone.set()
        super().on_connection_close()

    async def off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in the catalog thread pool, never on the event loop."""
        return await IOLoop.current().run_in_executor(self.catalog_pool, function, *args)

    def user_name(self) -> str:
        """The authenticated user, stable across requests.

        With Jupyter's own token scheme (one shared token, no user names), a client
        without cookies (``meshlab.connect_server``) would be a new random anonymous
        user on every request; it is named after a hash of its token instead.
        """
        provider = self.identity_provider
        kind = type(provider)
        shared = kind.get_user is IdentityProvider.get_user and kind.get_user_token is IdentityProvider.get_user_token
        if shared and self.token_authenticated:
            token = provider.get_token(self) or ""
            if token and token == provider.token:
                return "token-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]
        if shared and not provider.auth_enabled:
            return "anonymous"  # no authentication at all: every request would be a new random user
        name: str = self.current_user.username
        return name

    def text_argument(self, name: str, default: str = "") -> str:
        return query_api.check_text(self.get_query_argument(name, default), f"parameter {name}")

    def requested_role(self, role: str | None = None) -> str | None:
        role = role or self.text_argument("role", "") or self.request.headers.get("X-Meshlab-Role") or None
        return None if role is None else query_api.check_text(role, "the role")

    async def mesh(self, role: str | None = None) -> Mesh:
        """The mesh this request works on, as the authenticated user sees it.

        The user is :meth:`user_name`; with a policy file the role is the ``role``
        argument or the ``X-Meshlab-Role`` header, else the user's first role:
        the catalog, samples and queries then show only what that role may see.
        Loading or reloading may read many files, so it runs off the event loop.
        """
        mesh = await self.off_loop(self.loader.current)
        role = self.requested_role(role) if mesh.policy is not None else None
        return await self.off_loop(mesh.for_user, self.user_name(), role)

    def reply(self, body: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def fail(self, error: MeshError) -> None:
        status = status_of(error)
        if status >= 500 and status != 503:
            self.log.warning("meshlab: %s", error)
        self.set_status(status)
        if isinstance(error, ServerBusyError):
            self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))  # busy is transient: clients retry
        self.reply(catalog_api.error_body(error))

    def send(self, answer: Answer) -> None:
        if self.gone.is_set():
            return  # nobody to answer
        self.set_status(answer.status)
        self.finish(answer.body, set_content_type=answer.content_type)

    async def run_job(self, kind: str, request: dict, role: str | None) -> Answer:
        """Run a query or sample in a worker process; audit it here if the worker died."""
        mesh = await self.mesh(role)  # the role is checked now: a refusal never waits in line
        job = Job(kind, self.loader.path or "", self.user_name(), mesh.role, request)
        started = time.perf_counter()
        answer = await self.workers.run(job, self.gone)
        if answer.lost is not None:
            await self.after_lost(mesh, kind, request, answer, time.perf_counter() - started)
        return answer

    async def after_lost(self, mesh: Mesh, kind: str, request: dict, answer: Answer, seconds: float) -> None:
        """Audit a query whose worker died (``crashed``, ``cancelled``, ``timeout``); cancel its statements."""
        outcome = answer.lost
        if outcome is None:  # answered: the worker audited it
            return
        sql = request["sql"] if kind == "query" else catalog_api.sample_sql(request["address"], request["limit"])
        gone = outcome == "cancelled"
        reason = "the client went away" if gone else json.loads(answer.body).get("message")
        lost = (mesh, sql, request.get("params"), outcome, reason, seconds)
        try:
            await self.off_loop(query_api.audit_lost, *lost)
            if answer.worker is not None:
                await self.off_loop(cancel_worker_statements, mesh, answer.worker)
        except RuntimeError:  # the server is stopping: its pool is closed
            query_api.audit_lost(*lost)


class DatasetsHandler(MeshAPIHandler):
    """``GET datasets?q=TEXT&limit=N&offset=M``: the ranked list (a JSON array).

    The number of matches is in the ``X-Total-Count`` header, so a client can page.
    """

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            limit = catalog_api.parse_count(self.get_query_argument("limit", None), "limit", None, 0)
            offset = catalog_api.parse_count(self.get_query_argument("offset", None), "offset", 0, 0)
            text = self.text_argument("q", "")
            mesh = await self.mesh()
            page, total = await self.off_loop(catalog_api.search_datasets, mesh, text, limit, offset)
        except MeshError as error:
            return self.fail(error)
        self.set_header("X-Total-Count", str(total))
        self.reply(page)


def _detail(mesh: Mesh, address: str) -> dict:
    found = mesh.dataset(address)
    return catalog_api.dataset_detail(found, catalog_api.last_check(mesh, found.address))


class DatasetHandler(MeshAPIHandler):
    """``GET datasets/<address>``: one dataset's detail."""

    @tornado.web.authenticated
    async def get(self, address: str) -> None:
        try:
            wanted = catalog_api.parse_address(address)
            mesh = await self.mesh()
            body = await self.off_loop(_detail, mesh, wanted)
        except MeshError as error:
            return self.fail(error)
        self.reply(body)


class SampleHandler(MeshAPIHandler):
    """``GET datasets/<address>/sample?limit=N``: the first rows, read through ``Mesh.sql`` by a worker."""

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
            answer = await self.run_job("sample", {"address": wanted, "limit": limit}, None)
        except MeshError as error:
            return self.fail(error)
        self.send(answer)


class StatusHandler(MeshAPIHandler):
    """``GET status``: the mesh's name, size, domains and load errors."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            mesh = await self.mesh()
            path = self.loader.path or ""
            body = await self.off_loop(
                catalog_api.mesh_status, mesh, path, self.loader.root_dir, self.loader.load_seconds
            )
        except MeshError as error:
            return self.fail(error)
        self.reply(body)


class QueryHandler(MeshAPIHandler):
    """``POST query`` (server mode): ``{"sql", "params", "limit", "role"}`` -> an Arrow IPC stream."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            request = query_api.parse_query_request(self.request.body)
            query_api.check_params(request["params"])
            answer = await self.run_job("query", request, request["role"])
        except MeshError as error:
            return self.fail(error)
        self.send(answer)


def route_table(
    base_url: str, loader: MeshLoader, catalog_pool: Executor, workers: QueryWorkers
) -> list[tuple[str, type[MeshAPIHandler], dict]]:
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
    context = {"loader": loader, "catalog_pool": catalog_pool, "workers": workers}
    return [(pattern, handler, context) for pattern, handler in routes]
