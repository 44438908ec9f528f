"""Database connections kept open between statements: a small bounded pool per login.

Opening a PostgreSQL connection costs a few milliseconds (a backend process is
forked, the login checked), and a query sends several statements: a row-count
estimate while planning, then per table scanned a schema check and the scan. A
mesh therefore keeps, per database and login, up to :data:`IDLE_BOUND` idle
connections and hands them out again; more may be open at once while scans run
side by side (each thread gets a connection of its own), but only
:data:`IDLE_BOUND` are kept once they are given back.

Rules that keep reuse invisible:

* A connection is handed to one user at a time, never to two threads at once.
* The key of a pool is everything that decides what a connection is: the server,
  the login as resolved from the environment at the time, and the client settings
  libpq reads from it (``PGAPPNAME``, ``PGOPTIONS``). Server mode gives each user a
  mesh view with pools of its own (:meth:`meshlab.Mesh.for_user`): two users never
  share a connection, even under the same login.
* A connection that saw an error, a cancel or a time limit is closed, never given back.
* Per-statement settings (the query's remaining time as the server's statement
  timeout) are set at every use, or reset to the session default.
* A connection idle longer than :data:`IDLE_SECONDS` is closed rather than reused.
* :meth:`ConnectionPools.close` (``Mesh.close``) closes every idle connection and
  the rest as they come back; the idle ones of a mesh dropped without ``close`` are closed
  when it is garbage-collected, or at interpreter exit.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any

#: idle connections kept per database and login
IDLE_BOUND = 4
#: an idle connection older than this is closed, not reused (servers and firewalls drop idle sessions)
IDLE_SECONDS = 300.0


class ConnectionPool:
    """Idle connections of one database and login.

    Parameters
    ----------
    closer
        Closes a connection (errors ignored).
    bound
        How many idle connections are kept.
    """

    def __init__(self, closer: Callable[[Any], None], bound: int = IDLE_BOUND):
        self._closer, self.bound = closer, bound
        self._lock = threading.Lock()
        self._idle: list[tuple[Any, float]] = []  # (connection, when given back), newest last
        self._closed = False
        #: connections opened, reused (handed out again), closed
        self.opened = self.reused = self.discarded = 0

    def take(self, opener: Callable[[], Any]) -> tuple[Any, bool]:
        """A connection no one else holds (an idle one, else one ``opener`` opens), and whether it was used before."""
        stale = []
        found = None
        with self._lock:
            now = time.monotonic()
            while self._idle:
                connection, since = self._idle.pop()
                if now - since <= IDLE_SECONDS:
                    found = connection
                    self.reused += 1
                    break
                stale.append(connection)
        for connection in stale:
            self._close(connection)
        if found is not None:
            return found, True
        connection = opener()
        with self._lock:
            self.opened += 1
        return connection, False

    def give_back(self, connection: Any, healthy: bool) -> None:
        """Keep ``connection`` for the next statement, or close it: when it is not ``healthy``
        (an error, a cancel, a time limit), the pool is closed, or the bound is reached."""
        with self._lock:
            if healthy and not self._closed and len(self._idle) < self.bound:
                self._idle.append((connection, time.monotonic()))
                return
        self._close(connection)

    @property
    def idle(self) -> int:
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            self._close(connection)

    def _close(self, connection: Any) -> None:
        with self._lock:
            self.discarded += 1
        with contextlib.suppress(Exception):  # a connection whose server went away
            self._closer(connection)

    def __repr__(self) -> str:  # never the key: it holds the login
        return f"<ConnectionPool {self.idle} idle, bound {self.bound}, {self.opened} opened, {self.reused} reused>"


class ConnectionPools:
    """The pools of one mesh (or one user's view of it), by key; see the module's docstring."""

    def __init__(self, bound: int = IDLE_BOUND):
        self.bound = bound
        self._lock = threading.Lock()
        self._pools: dict[Hashable, ConnectionPool] = {}
        self._closed = False
        # Also run at interpreter exit. The pools hold no reference back to this object
        # (a closer is a plain function), so a dropped mesh's pools are collected.
        weakref.finalize(self, _close_pools, self._pools)

    def pool(self, key: Hashable, closer: Callable[[Any], None]) -> ConnectionPool:
        """The pool of ``key``, made with ``closer`` the first time."""
        with self._lock:
            found = self._pools.get(key)
            if found is None:
                found = self._pools[key] = ConnectionPool(closer, self.bound)
                if self._closed:  # a source still used after Mesh.close: it works, keeping nothing
                    found.close()
            return found

    def pools(self) -> list[ConnectionPool]:
        with self._lock:
            return list(self._pools.values())

    def close(self) -> None:
        """Close every pool: idle connections now, those in use when given back."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
        for pool in pools:
            pool.close()


def _close_pools(pools: dict[Hashable, ConnectionPool]) -> None:
    for pool in list(pools.values()):
        pool.close()
