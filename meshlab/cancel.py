"""Cancelling a running query: a :class:`QueryHandle` any thread may call ``cancel()`` on.

.. code-block:: python

    handle = QueryHandle()
    worker = threading.Thread(target=lambda: mesh.sql(sql, handle=handle))
    worker.start()
    ...
    handle.cancel()      # from any thread (a request handler whose client went away, say)

``mesh.sql`` then raises :class:`~meshlab.errors.QueryCancelledError` within about a
second; every database statement still running is cancelled on its server
(PostgreSQL: a cancel request) and its connection closed. ``mesh.sql(..., timeout=)``
and a KeyboardInterrupt (Ctrl-C, a kernel interrupt) go through the same handle: a
timeout raises :class:`~meshlab.errors.QueryTimeoutError`, an interrupt re-raises
KeyboardInterrupt once the statements are cancelled.

Sources take part through :meth:`QueryHandle.statement`: while a statement runs, the
handle knows how to cancel it and what it is (dataset and server, for messages).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator

from meshlab.errors import MeshError, QueryCancelledError, QueryTimeoutError
from meshlab.limits import seconds_text

#: why a handle was cancelled
CANCELLED, TIMEOUT, INTERRUPTED = "cancelled", "timeout", "interrupted"


class QueryHandle:
    """The cancel switch of one query; thread-safe.

    Parameters
    ----------
    timeout
        Seconds the query may run; None: no limit (``mesh.sql(timeout=)`` sets it too).
    """

    def __init__(self, timeout: float | None = None):
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._running: dict[int, tuple[str, Callable[[], None]]] = {}
        self._ids = itertools.count()
        self.reason: str | None = None
        self.limit: float | None = None
        self.deadline: float | None = None
        self.stopped: list[str] = []  # the statements that were running when it was cancelled
        #: what the query is doing: planning, fetching (database scans), computing (Polars)
        self.stage = "planning"
        if timeout is not None:
            self.start(timeout)

    # -- the deadline ----------------------------------------------------------------
    def start(self, limit: float | None) -> None:
        """Count ``limit`` seconds from now (the earlier deadline wins if one is set)."""
        if limit is None:
            return
        deadline = time.monotonic() + limit
        if self.deadline is None or deadline < self.deadline:
            self.deadline, self.limit = deadline, limit

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no limit)."""
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    # -- cancelling --------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self, reason: str = CANCELLED) -> None:
        """Stop the query: cancel every statement running for it, from any thread.

        Idempotent; the first reason given is kept.
        """
        with self._lock:  # held while stopping: a statement cannot close its cursor meanwhile
            if self._cancelled.is_set():
                return
            self.reason = reason
            self._cancelled.set()
            self.stopped = [label for label, _ in self._running.values()]
            self._stop_running()

    def _stop_running(self) -> None:
        for _, stop in self._running.values():
            with contextlib.suppress(Exception):  # a statement that just ended cannot be cancelled
                stop()

    def stop_again(self) -> None:
        """Cancel the statements still registered once more: one that began just after
        :meth:`cancel` (between its check and its start) missed the first request."""
        if not self.cancelled:
            return
        with self._lock:
            self._stop_running()

    def wait(self, seconds: float) -> bool:
        """Block up to ``seconds`` for a cancel; True if the handle is cancelled."""
        return self._cancelled.wait(seconds)

    @contextlib.contextmanager
    def statement(self, label: str, stop: Callable[[], None]) -> Iterator[None]:
        """Mark a statement as running: ``stop()`` cancels it if the handle is cancelled meanwhile.

        ``label`` says what it is (``dataset 'a.b' on server 'db'``). Raises the
        handle's error at once when it is already cancelled.
        """
        key = next(self._ids)
        with self._lock:
            if self._cancelled.is_set():
                raise self.error()
            self._running[key] = (label, stop)
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(key, None)

    def running(self) -> list[str]:
        """What is running now, as the labels given to :meth:`statement`."""
        with self._lock:
            return [label for label, _ in self._running.values()]

    def check(self) -> None:
        """Raise the handle's error if it is cancelled or past its deadline."""
        if self.expired():
            self.cancel(TIMEOUT)
        if self.cancelled:
            raise self.error()

    def error(self) -> MeshError:
        """The error the query ends with, naming what was still running."""
        where = f"; cancelled while running: {'; '.join(self.stopped)}" if self.stopped else ""
        if self.reason == TIMEOUT:
            return QueryTimeoutError(
                f"the query did not finish within {seconds_text(self.limit or 0)} (timeout= or timeouts.query){where}"
            )
        if self.reason == INTERRUPTED:
            return QueryCancelledError(f"the query was interrupted{where}")
        return QueryCancelledError(f"the query was cancelled{where}")

    def __repr__(self) -> str:
        state = self.reason or ("running" if self._running else "idle")
        return f"<QueryHandle {state}, limit {self.limit}>"


#: a handle nothing cancels: the default of code paths that run outside a query
def never() -> QueryHandle:
    return QueryHandle()
