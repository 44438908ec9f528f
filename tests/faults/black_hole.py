"""A TCP server on loopback that accepts connections and never answers: a "black hole".

It stands in for a hung HTTP endpoint, object store or database host: the client's
connect succeeds at once and its first read waits forever, which is what a
missing read timeout turns into a hang.

>>> with BlackHole() as hole:          # doctest: +SKIP
...     hole.url                       # 'http://127.0.0.1:40123'
...     hole.accepted                  # connections taken so far

Every accepted socket is held open, unread, until :meth:`BlackHole.close`.
"""

from __future__ import annotations

import socket
import threading


class BlackHole:
    """Listens on 127.0.0.1 (a free port), accepts, never reads or writes."""

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self.host, self.port = self._listener.getsockname()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(connection)

    def close(self) -> None:
        """Stop accepting and drop every held connection (clients then see a reset or EOF)."""
        self._stop.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for connection in self._held:
                connection.close()
            self._held.clear()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
