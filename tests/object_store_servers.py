"""Object stores on loopback that count what they send: an S3 server (moto) and an HTTP server.

Both record every request (method, path, Range header, body bytes sent), so tests and
benchmarks can tell a selective read (a few byte ranges) from a whole-file download.
Used by ``tests/test_object_stores.py`` and ``benchmarks/object_store_bytes.py``.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import socket
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None
    sent: int  # body bytes sent


class RequestLog:
    """Thread-safe list of requests with sums over them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: list[Request] = []

    def add(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def sent(self, path_suffix: str = "") -> int:
        """Body bytes sent for GETs of paths ending with ``path_suffix``."""
        return sum(r.sent for r in self.requests if r.method == "GET" and r.path.endswith(path_suffix))

    def gets(self, path_suffix: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith(path_suffix)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- S3 -----------------------------------------------------------------------------------------
class CountingS3Server:
    """moto's S3 in server mode on 127.0.0.1, every response's body bytes counted.

    For bytes, not for time: moto copies the whole object for every range request
    (about a second per request for a 220 MiB file) and its werkzeug server closes every
    connection, so reads of many row groups are slow here, not on S3.

    ``start()`` returns the endpoint URL. Credentials are moto's fakes, set by the caller in
    the environment (``AWS_ACCESS_KEY_ID`` ...), as a user would.
    """

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.log = RequestLog()
        self.port = free_port()
        log = self.log

        class Server(ThreadedMotoServer):
            # ThreadedMotoServer builds its WSGI app here; wrap it to count the bytes it sends.
            def _server_entry(self) -> None:
                from moto.moto_server.threaded_moto_server import (
                    DomainDispatcherApplication,
                    create_backend_app,
                    make_server,
                )
                from werkzeug.serving import WSGIRequestHandler

                class Quiet(WSGIRequestHandler):
                    def log_request(self, *args, **kwargs):
                        pass

                app = _counting(DomainDispatcherApplication(create_backend_app), log)
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=Quiet)
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = Server(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._server.start()
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


def _counting(app, log: RequestLog):
    def counted(environ, start_response):
        body = app(environ, start_response)
        chunks = list(body)
        if hasattr(body, "close"):
            body.close()
        path = environ.get("PATH_INFO", "")
        log.add(Request(environ["REQUEST_METHOD"], path, environ.get("HTTP_RANGE"), sum(len(c) for c in chunks)))
        return chunks

    return counted


# -- HTTP ---------------------------------------------------------------------------------------
RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """The standard library's file server plus single-range requests (which it lacks), counted."""

    log: RequestLog  # set per server
    # Keep-alive, as real servers do: closing after each response (HTTP/1.0) makes Polars'
    # object-store client stall about a second per burst of range requests.
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        self._length = None
        path = self.translate_path(self.path)
        wanted = RANGE.match((self.headers.get("Range") or "").strip())
        if not wanted or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        first, last = wanted.groups()
        start, end = (size - int(last), size - 1) if first == "" else (int(first), int(last) if last else size - 1)
        start, end = max(start, 0), min(end, size - 1)
        if start > end:
            self.send_error(416)
            return None
        handle = open(path, "rb")  # noqa: SIM115 - closed by the base class after copyfile
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._length = end - start + 1
        return handle

    def copyfile(self, source, destination) -> None:
        data = source.read() if self._length is None else source.read(self._length)
        destination.write(data)
        self.log.add(Request(self.command, self.path.split("?", 1)[0], self.headers.get("Range"), len(data)))


class CountingHttpServer:
    """A threaded HTTP server for ``root`` on 127.0.0.1, with range requests and a request log."""

    def __init__(self, root):
        self.log = RequestLog()
        handler = type("Handler", (RangeRequestHandler,), {"log": self.log})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
