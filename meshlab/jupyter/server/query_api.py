"""Server mode: a query run by the Jupyter server for its authenticated user.

The kernel sends ``POST /meshlab/api/query`` with ``{"sql", "params", "limit",
"role"}``; the server plans and runs it with the policy, the credentials and
the storage access only its own environment has, and answers an Arrow IPC
stream. The stream's schema metadata carries, under ``meshlab``, what the
result knows besides its rows: role, user, datasets read, lineage (with
masking and classifications) and the timings.

Nothing here knows HTTP; :mod:`meshlab.jupyter.server.handlers` calls it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from meshlab.errors import ParameterError
from meshlab.jupyter.server.catalog_api import RequestValueError
from meshlab.mesh import Mesh

ARROW_STREAM = "application/vnd.apache.arrow.stream"
METADATA_KEY = b"meshlab"
MAX_ROWS = 10_000_000


def parse_query_request(body: bytes) -> dict[str, Any]:
    """The query request in ``body`` (JSON), checked; a :class:`RequestValueError` otherwise."""
    try:
        request = json.loads(body or b"{}")
    except ValueError as exc:
        raise RequestValueError(f"the request body is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise RequestValueError("the request body must be a JSON object with 'sql'")
    sql = request.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise RequestValueError("'sql' must be a non-empty string")
    params = request.get("params") or {}
    if not isinstance(params, dict):
        raise RequestValueError("'params' must be an object of name -> value")
    limit = request.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_ROWS):
        raise RequestValueError(f"'limit' must be an integer from 0 to {MAX_ROWS}")
    role = request.get("role")
    if role is not None and not isinstance(role, str):
        raise RequestValueError("'role' must be a string")
    return {"sql": sql, "params": params, "limit": limit, "role": role}


def _check_params(params: dict[str, Any]) -> None:
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise ParameterError(f"parameter :{name} must be a string, number, boolean, null or a list of them")


def run_query(mesh: Mesh, request: dict[str, Any]) -> bytes:
    """Run ``request`` on ``mesh`` (already the user's view) and return the Arrow IPC stream."""
    _check_params(request["params"])
    result = mesh.sql(request["sql"], request["params"], limit=request["limit"])
    table = result.df.to_arrow()
    about = {
        "user": mesh.user,
        "role": mesh.role,
        "datasets": result.datasets,
        "lineage": asdict(result.lineage),
        "plan_seconds": result.plan_seconds,
        "run_seconds": result.run_seconds,
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(about)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
