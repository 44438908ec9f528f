"""Queries run in worker processes, so a crash (a segfault in Polars, an abort) cannot take down the server.

The Jupyter server keeps a few worker processes (``multiprocessing`` spawn:
nothing of the server's threads or sockets is inherited). Each loads the mesh
itself, confined like the server's own, and runs one query or sample at a time.
A worker that dies is replaced; the request it ran gets a
:class:`~meshlab.jupyter.server.statuses.QueryLostError`, and the server writes
the audit record the worker could not: outcome ``crashed``, ``cancelled`` (the
server killed it because the client went away) or ``timeout`` (it ran past
``time_limit``).

Scheduling is fair between users: each user has at most ``per_user`` queries
running; the next free worker goes to the waiting user with the fewest running,
in turn. A user with ``per_user + queued_per_user`` queries already in gets a
429; a server with ``queued`` queries waiting gets a 503.

PostgreSQL: a worker's connections are named ``meshlab-worker-<pid>``, so the
server can cancel what a dead worker left running
(:mod:`~meshlab.jupyter.server.orphan_statements`), and carry
``client_connection_check_interval`` (through ``PGOPTIONS``), so such a backend
also notices the lost client by itself (PostgreSQL 14+).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from meshlab.errors import MeshError, SqlError
from meshlab.jupyter.server import catalog_api, query_api
from meshlab.jupyter.server.catalog_api import error_body
from meshlab.jupyter.server.mesh_loader import MeshLoader
from meshlab.jupyter.server.orphan_statements import application_name
from meshlab.jupyter.server.server_mesh import open_server_mesh
from meshlab.jupyter.server.statuses import QueryLostError, QueryTimeLimitError, ServerBusyError, status_of

log = logging.getLogger(__name__)

JSON = "application/json"


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to load the server's mesh the way the server does."""

    root_dir: str
    allowed_roots: tuple[str, ...] = ()
    reload_interval: float = 1.0
    postgres_check_ms: int = 1000
    time_limit: float = 0.0  # seconds a query or sample may run before its worker is stopped (0: none)
    preload: str | None = None  # the mesh a new worker loads before its first job


@dataclass(frozen=True)
class Job:
    """One query (``request`` as :func:`~meshlab.jupyter.server.query_api.parse_query_request` gives)
    or one sample (``{"address", "limit"}``) for ``user`` in ``role``."""

    kind: str
    mesh_path: str
    user: str
    role: str | None
    request: dict


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes
    lost: str | None = None  # "crashed", "cancelled" or "timeout" when the worker died
    worker: int | None = None  # then: the process id of the worker that died

    @classmethod
    def of_error(cls, error: MeshError) -> Answer:
        return cls(status_of(error), JSON, json.dumps(error_body(error)).encode())


# -- the worker process ------------------------------------------------------------------
def _connection_settings(config: WorkerConfig) -> None:
    # The server finds this worker's PostgreSQL backends by this name (orphan_statements).
    os.environ["PGAPPNAME"] = application_name(os.getpid())
    if config.postgres_check_ms > 0:
        check = f"-c client_connection_check_interval={config.postgres_check_ms}"
        os.environ["PGOPTIONS"] = f"{os.environ.get('PGOPTIONS', '')} {check}".strip()


def answer_job(loader, job: Job) -> Answer:
    """Run ``job`` on the mesh of ``loader`` (in the worker process)."""
    try:
        mesh = loader.current()
        mesh = mesh.for_user(job.user, job.role if mesh.policy is not None else None)
        if job.kind == "sample":
            sample = catalog_api.dataset_sample(mesh, job.request["address"], job.request["limit"])
            return Answer(200, JSON, json.dumps(sample).encode())
        return Answer(200, query_api.ARROW_STREAM, query_api.run_query(mesh, job.request))
    except MeshError as error:
        return Answer.of_error(error)
    except RecursionError:
        return Answer.of_error(SqlError("the statement is nested too deeply to be planned"))
    except Exception as error:  # noqa: BLE001 - a failure nothing names: one line, no traceback
        reason = " ".join(str(error).split())[:300]
        log.exception("meshlab worker: %s failed", job.kind)
        return Answer.of_error(MeshError(f"the query failed in the server: {type(error).__name__}: {reason}"))


#: what a worker sends once started (imports done, mesh loaded); and how long that may take
WORKER_READY = "meshlab-worker-ready"
STARTUP_SECONDS = 120.0


def serve(connection, config: WorkerConfig) -> None:
    """The worker process: answer jobs from ``connection`` until the server closes it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal is the server's
    _connection_settings(config)
    opener = partial(open_server_mesh, allowed_roots=config.allowed_roots)
    loaders: dict[str, MeshLoader] = {}

    def loader_for(path: str) -> MeshLoader:
        if path not in loaders:  # the server's mesh moved (a new $MESHLAB_MESH, a mesh.yaml appeared)
            loaders.clear()
            loaders[path] = MeshLoader(path, config.root_dir, config.reload_interval, environ={}, open_mesh=opener)
        return loaders[path]

    if config.preload:  # load the mesh now, not on this worker's first query
        try:
            loader_for(config.preload).current()
        except MeshError:
            pass  # the first query reports it
    connection.send(WORKER_READY)  # a query's time limit starts once the worker can run it
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        connection.send(answer_job(loader_for(job.mesh_path), job))


# -- the server side ---------------------------------------------------------------------
class WorkerSlot:
    """One worker process, started on first use and again after it died."""

    def __init__(self, number: int, config: WorkerConfig):
        self.number = number
        self.config = config
        self.process: BaseProcess | None = None
        self.connection: Connection[Job, Answer] | None = None
        self.killed = False
        self.ready = False  # the worker said it started (WORKER_READY)
        self.stopping = False  # the server is stopping: no restart
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.stopping or (self.process is not None and self.process.is_alive()):
                return
            context = multiprocessing.get_context("spawn")
            ours, theirs = context.Pipe()
            process = context.Process(
                target=serve, args=(theirs, self.config), name=f"meshlab-query-worker-{self.number}", daemon=True
            )
            process.start()
            theirs.close()  # so a dead worker reads as end-of-file here
            self.process, self.connection, self.killed, self.ready = process, ours, False, False

    def call(self, job: Job) -> Answer:
        """Send ``job`` and wait for its answer, the worker's death or the time limit (in a pool thread)."""
        self.start()
        process, connection = self.process, self.connection
        if process is None or connection is None:  # never started: the server is stopping
            return Answer.of_error(QueryLostError(f"the server is stopping: the {job.kind} was not run"))
        limit = self.config.time_limit or None
        try:
            if not self.ready and not self._started(process, connection):
                return self._lost(job, process, "cancelled" if self.killed else "crashed")
            connection.send(job)
            ready = multiprocessing.connection.wait([connection, process.sentinel], timeout=limit)
            if connection in ready:
                return connection.recv()
            if not ready:  # the time limit: the worker is stopped, like one whose client left
                self.kill()
                return self._lost(job, process, "timeout")
        except (EOFError, OSError):
            pass
        return self._lost(job, process, "cancelled" if self.killed else "crashed")

    def _started(self, process: BaseProcess, connection: Connection) -> bool:
        """Wait for a new worker to say it is ready (its start is not the query's time: measured,
        a worker restarted on a busy 2-core machine took over 3 s to import and load the mesh)."""
        ready = multiprocessing.connection.wait([connection, process.sentinel], timeout=STARTUP_SECONDS)
        if connection not in ready:
            self.kill()
            return False
        self.ready = connection.recv() == WORKER_READY
        return self.ready

    def _lost(self, job: Job, process: BaseProcess, outcome: str) -> Answer:
        process.join(5)
        if self.connection is not None:
            self.connection.close()  # the pool starts a new worker once this answer is on its way
        code = process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        log.warning("meshlab: query worker %d stopped (%s, %s) during a %s", self.number, outcome, how, job.kind)
        error: QueryLostError
        if outcome == "timeout":
            error = QueryTimeLimitError(
                f"the {job.kind} ran longer than the server's limit of {self.config.time_limit:g} s "
                "(MeshlabApp.query_time_limit) and was stopped"
            )
        else:
            error = QueryLostError(f"the server's query worker stopped ({how}) before the {job.kind} finished")
        answer = Answer.of_error(error)
        return Answer(answer.status, answer.content_type, answer.body, lost=outcome, worker=process.pid)

    def kill(self) -> None:
        """Stop the worker now (its query's client went away)."""
        process = self.process
        if process is not None and process.is_alive():
            self.killed = True
            process.kill()

    def close(self) -> None:
        self.stopping = True
        self.kill()
        if self.process is not None:
            self.process.join(5)


@dataclass
class _Waiting:
    job: Job
    future: asyncio.Future
    slot: WorkerSlot | None = field(default=None)
    finished: bool = False


class QueryWorkers:
    """A fair, bounded pool of worker processes (used from the server's event loop only).

    Parameters
    ----------
    config
        How workers load the mesh.
    size
        Worker processes (queries running at once on the server).
    per_user
        Queries of one user running at once.
    queued_per_user
        Queries of one user waiting beyond those (more: 429).
    queued
        Queries waiting on the whole server (more: 503).
    """

    def __init__(self, config: WorkerConfig, size: int = 2, per_user: int = 2, queued_per_user: int = 32, queued=64):
        self.slots = [WorkerSlot(n, config) for n in range(max(1, size))]
        self.per_user = max(1, per_user)
        self.queued_per_user = max(0, queued_per_user)
        self.queued = max(0, queued)
        self._idle = list(self.slots)
        self._waiting: collections.OrderedDict[str, collections.deque[_Waiting]] = collections.OrderedDict()
        self._running: collections.Counter[str] = collections.Counter()
        self._threads = ThreadPoolExecutor(len(self.slots), thread_name_prefix="meshlab-query-wait")
        self._tasks: set[asyncio.Task] = set()

    def warm_up(self) -> None:
        """Start every worker process now (in the background), not on the first query."""
        for slot in self.slots:
            threading.Thread(target=slot.start, name="meshlab-worker-start", daemon=True).start()

    def running(self, user: str | None = None) -> int:
        return sum(self._running.values()) if user is None else self._running[user]

    def waiting(self, user: str | None = None) -> int:
        if user is not None:
            return len(self._waiting.get(user, ()))
        return sum(len(queue) for queue in self._waiting.values())

    async def run(self, job: Job, gone: asyncio.Event | None = None) -> Answer:
        """Run ``job`` when its turn comes; stop it if ``gone`` is set (the client left)."""
        mine = self._running[job.user] + self.waiting(job.user)
        if mine >= self.per_user + self.queued_per_user:
            raise ServerBusyError(
                f"user '{job.user}' has {mine} {'query' if mine == 1 else 'queries'} running or waiting "
                "on this server; "
                f"at most {self.per_user + self.queued_per_user} are accepted, retry when one finished",
                429,
            )
        if self.waiting() >= self.queued:
            raise ServerBusyError(f"the server has {self.queued} queries waiting already; retry later", 503)
        entry = _Waiting(job, asyncio.get_running_loop().create_future())
        self._waiting.setdefault(job.user, collections.deque()).append(entry)
        self._dispatch()
        watcher = asyncio.ensure_future(self._watch(entry, gone)) if gone is not None else None
        try:
            return await asyncio.shield(entry.future)
        finally:
            if watcher is not None:
                watcher.cancel()

    async def _watch(self, entry: _Waiting, gone: asyncio.Event) -> None:
        await gone.wait()
        if entry.finished:
            return
        if entry.slot is not None:
            entry.slot.kill()  # the waiting thread sees the death; the answer goes nowhere
        else:
            queue = self._waiting.get(entry.job.user)
            if queue is not None and entry in queue:
                queue.remove(entry)
                self._forget_empty(entry.job.user)
            if not entry.future.done():
                entry.future.set_result(Answer(499, JSON, b'{"error": "cancelled"}', lost="cancelled"))

    def _next(self) -> _Waiting | None:
        ready = [u for u, q in self._waiting.items() if q and self._running[u] < self.per_user]
        if not ready:
            return None
        user = min(ready, key=lambda u: self._running[u])  # the first of the fewest, in turn
        entry = self._waiting[user].popleft()
        self._waiting.move_to_end(user)
        self._forget_empty(user)
        return entry

    def _forget_empty(self, user: str) -> None:
        if user in self._waiting and not self._waiting[user]:
            del self._waiting[user]

    def _dispatch(self) -> None:
        while self._idle:
            entry = self._next()
            if entry is None:
                return
            slot = entry.slot = self._idle.pop()
            self._running[entry.job.user] += 1
            task = asyncio.ensure_future(self._execute(entry, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _execute(self, entry: _Waiting, slot: WorkerSlot) -> None:
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(self._threads, slot.call, entry.job)
        except Exception as error:  # noqa: BLE001 - the pool must survive anything
            answer = Answer.of_error(MeshError(f"the server could not run the {entry.job.kind}: {error}"))
        entry.finished = True  # from here on the slot may run another user's query
        self._running[entry.job.user] -= 1
        if self._running[entry.job.user] <= 0:
            del self._running[entry.job.user]
        self._dispatch()  # the user's next query may go to another free worker
        if not entry.future.done():
            entry.future.set_result(answer)
        try:
            if answer.lost is not None:  # a new worker for the slot, after the answer left
                await loop.run_in_executor(self._threads, slot.start)
        finally:
            self._idle.append(slot)
            self._dispatch()

    def worker_pids(self) -> list[int | None]:
        return [slot.process.pid if slot.process is not None else None for slot in self.slots]

    async def close(self) -> None:
        """Stop every worker; queries still running end as lost."""
        for slot in self.slots:
            slot.stopping = True
            slot.kill()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        for slot in self.slots:
            slot.close()
        self._threads.shutdown(wait=False, cancel_futures=True)
