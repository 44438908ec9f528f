"""Server mode, kernel side: queries run by the Jupyter server, not in the kernel.

The kernel holds no source credentials and reads no storage: it sends the SQL
to ``POST /meshlab/api/query`` and gets an Arrow IPC stream back. The server
applies the policy for its authenticated user (see docs/governance.md).

>>> mesh = meshlab.connect_server("http://127.0.0.1:8888", token="…")  # doctest: +SKIP
>>> mesh.sql("SELECT country, count(*) AS n FROM listeners.profiles GROUP BY 1").df  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import polars as pl
import pyarrow as pa

from meshlab.errors import GovernanceError, MeshError
from meshlab.lineage import Lineage
from meshlab.planner.parse import parse_statement, placeholders

URL_ENV = "MESHLAB_SERVER_URL"
TOKEN_ENVS = ("MESHLAB_SERVER_TOKEN", "JUPYTERHUB_API_TOKEN", "JUPYTER_TOKEN")
BUSY_ATTEMPTS = 3  # a busy server (429/503 with Retry-After) is asked this many times
MAX_RETRY_WAIT = 5.0


class RemoteError(MeshError):
    """The Jupyter server refused or failed a request; its message says why.

    ``kind`` is the name of the server's error class (``AccessDeniedError``,
    ``SqlSyntaxError``…), ``status`` the HTTP status.
    """

    kind = ""

    def __init__(self, status: int, message: str, url: str):
        self.status = status
        self.reason = message
        super().__init__(f"{message} (server answered {status} for {url})")


class RemoteResult:
    """A query's answer from the server: the rows and what the server says of them."""

    def __init__(self, df: pl.DataFrame, about: dict[str, Any]) -> None:
        self.df = df
        self.user: str | None = about.get("user")
        self.role: str | None = about.get("role")
        self.datasets: list[str] = list(about.get("datasets", []))
        self.lineage = Lineage(**about.get("lineage", {}))
        self.plan_seconds: float | None = about.get("plan_seconds")
        self.run_seconds: float | None = about.get("run_seconds")

    @property
    def shape(self) -> tuple[int, int]:
        return self.df.shape

    def __len__(self) -> int:
        return self.df.height

    def _repr_html_(self) -> str:
        from meshlab.rendering.results import remote_result_html

        return remote_result_html(self)

    def __repr__(self) -> str:
        from meshlab.rendering.results import remote_result_text

        return remote_result_text(self)


class RemoteMesh:
    """A mesh served by a Jupyter server with the meshlab extension.

    Parameters
    ----------
    url
        The server's base URL (``$MESHLAB_SERVER_URL`` by default).
    token
        Its API token (``$MESHLAB_SERVER_TOKEN``, ``$JUPYTERHUB_API_TOKEN`` or ``$JUPYTER_TOKEN``).
    role
        The role to act in; the server checks the user holds it.
    """

    def __init__(
        self, url: str | None = None, token: str | None = None, role: str | None = None, timeout: float = 300.0
    ) -> None:
        url = url or os.environ.get(URL_ENV)
        if not url:
            raise GovernanceError(f"server mode needs the Jupyter server's URL: pass url= or set ${URL_ENV}")
        self.url = url.rstrip("/")
        self.token = token or next((os.environ[e] for e in TOKEN_ENVS if os.environ.get(e)), None)
        self.role = role
        self.timeout = timeout

    def _request(self, path: str, body: dict[str, Any] | None = None) -> tuple[bytes, str]:
        url = f"{self.url}/meshlab/api/{path}"
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if self.role:
            headers["X-Meshlab-Role"] = self.role
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    return answer.read(), answer.headers.get("Content-Type", "")
            except urllib.error.HTTPError as exc:
                wait = _retry_after(exc)
                if wait is None or attempt == BUSY_ATTEMPTS:
                    error = _error(exc, url)
                    if wait is not None:
                        error.args = (f"{error} (tried {attempt} times)",)
                    raise error from None
                time.sleep(wait * attempt)  # the server is busy: back off, then ask again
            except (urllib.error.URLError, OSError) as exc:
                raise RemoteError(0, f"cannot reach the Jupyter server: {exc}", url) from None
        raise AssertionError("unreachable")

    def sql(
        self, sql: str, params: Mapping[str, Any] | None = None, lazy: bool = False, limit: int | None = None
    ) -> RemoteResult:
        """Run ``sql`` on the server; see :meth:`meshlab.Mesh.sql` (no ``lazy``: the server runs it)."""
        if lazy:
            raise MeshError("in server mode the server runs the query: a lazy frame cannot cross to the kernel")
        body, _ = self._request("query", {"sql": sql, "params": dict(params or {}), "limit": limit, "role": self.role})
        table = pa.ipc.open_stream(body).read_all()
        about = json.loads((table.schema.metadata or {}).get(b"meshlab", b"{}"))
        frame = pl.from_arrow(table.replace_schema_metadata(None))
        return RemoteResult(frame if isinstance(frame, pl.DataFrame) else frame.to_frame(), about)

    def explain(
        self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None, analyze: bool = False
    ) -> str:
        raise MeshError("in server mode the plan stays on the server: explain is not available from the kernel")

    def parameters(self, sql: str) -> list[str]:
        """Names of the ``:name`` placeholders in ``sql`` (parsed here, run there)."""
        return placeholders(parse_statement(sql))

    def search(self, text: str = "", limit: int | None = None) -> list[dict[str, Any]]:
        """The datasets the role may read, ranked by ``text`` (as the sidebar lists them): JSON objects."""
        query = urllib.parse.urlencode({"q": text, **({"limit": limit} if limit is not None else {})})
        body, _ = self._request(f"datasets?{query}")
        found: list[dict[str, Any]] = json.loads(body)
        return found

    def datasets(self) -> list[dict[str, Any]]:
        return self.search("")

    def status(self) -> dict[str, Any]:
        """The server's ``GET status`` (the mesh it serves, its load errors, the user and role)."""
        answer: dict[str, Any] = json.loads(self._request("status")[0])
        return answer

    def __repr__(self) -> str:
        return f"<RemoteMesh {self.url} role {self.role or '(default)'}>"


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    """Seconds to wait before asking again, when the server said it is busy (429/503 with Retry-After)."""
    if exc.code not in (429, 503):
        return None
    try:
        return min(max(float(exc.headers.get("Retry-After", "")), 0.0), MAX_RETRY_WAIT)
    except ValueError:
        return None


def _error(exc: urllib.error.HTTPError, url: str) -> RemoteError:
    try:
        payload = json.loads(exc.read() or b"{}")
    except ValueError:
        payload = {}
    error = RemoteError(exc.code, str(payload.get("message") or exc.reason), url)
    error.kind = str(payload.get("error") or "")  # the server's error class, e.g. AccessDeniedError
    return error


def connect_server(url: str | None = None, token: str | None = None, role: str | None = None) -> RemoteMesh:
    """The mesh of a Jupyter server running the meshlab extension (server mode)."""
    return RemoteMesh(url, token, role)
