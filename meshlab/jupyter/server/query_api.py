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
import logging
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from meshlab.errors import MeshError, ParameterError
from meshlab.governance.audit import write_record
from meshlab.governance.session import new_record
from meshlab.jupyter.server.catalog_api import RequestValueError
from meshlab.mesh import Mesh

log = logging.getLogger(__name__)

ARROW_STREAM = "application/vnd.apache.arrow.stream"
METADATA_KEY = b"meshlab"
MAX_ROWS = 10_000_000
MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 8
MAX_SQL_CHARS = 200_000
REQUEST_KEYS = frozenset({"sql", "params", "limit", "role"})


class RequestTooLargeError(RequestValueError):
    """A request body over :data:`MAX_BODY_BYTES`."""


def check_text(value: str, where: str) -> str:
    """``value`` unless it holds a NUL character or a lone surrogate (a :class:`RequestValueError`).

    Neither can be valid SQL or a name; a lone surrogate cannot even be encoded
    for the audit log, and a NUL stalled the SQL tokenizer.
    """
    if "\x00" in value:
        raise RequestValueError(f"{where} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestValueError(f"{where} contains a lone surrogate at character {exc.start}") from None
    return value


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise RequestValueError(f"the request body names the key {json.dumps(key)} twice")
        found[key] = value
    return found


def _refuse_constant(name: str):
    raise RequestValueError(f"the request body contains {name}, which is not JSON")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def strict_json(body: bytes) -> Any:
    """``body`` parsed as strict JSON: bounded in size and depth, no duplicate keys, no NaN."""
    if len(body) > MAX_BODY_BYTES:
        raise RequestTooLargeError(f"the request body has {len(body):,} bytes; at most {MAX_BODY_BYTES:,} are accepted")
    try:
        parsed = json.loads(body or b"{}", object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant)
    except RecursionError:
        raise RequestValueError(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:
        if isinstance(exc, RequestValueError):
            raise
        raise RequestValueError(f"the request body is not JSON: {_one_line(exc)}") from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise RequestValueError(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep")
    return parsed


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def parse_query_request(body: bytes) -> dict[str, Any]:
    """The query request in ``body`` (JSON), checked; a :class:`RequestValueError` otherwise."""
    request = strict_json(body)
    if not isinstance(request, dict):
        raise RequestValueError("the request body must be a JSON object with 'sql'")
    unknown = sorted(set(request) - REQUEST_KEYS)
    if unknown:
        raise RequestValueError(f"unknown request field(s) {', '.join(map(repr, unknown))}")
    sql = request.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise RequestValueError("'sql' must be a non-empty string")
    check_text(sql, "'sql'")
    if len(sql) > MAX_SQL_CHARS:
        raise RequestValueError(f"'sql' has {len(sql):,} characters; at most {MAX_SQL_CHARS:,} are accepted")
    params = request.get("params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise RequestValueError("'params' must be an object of name -> value")
    for name, value in params.items():
        check_text(name, "a parameter name")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                check_text(item, f"parameter :{name}")
    limit = request.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= MAX_ROWS):
        raise RequestValueError(f"'limit' must be an integer from 0 to {MAX_ROWS}")
    role = request.get("role")
    if role is not None and not isinstance(role, str):
        raise RequestValueError("'role' must be a string")
    if role is not None:
        check_text(role, "'role'")
    return {"sql": sql, "params": params, "limit": limit, "role": role}


def check_params(params: dict[str, Any]) -> None:
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise ParameterError(f"parameter :{name} must be a string, number, boolean, null or a list of them")


def run_query(mesh: Mesh, request: dict[str, Any]) -> bytes:
    """Run ``request`` on ``mesh`` (already the user's view) and return the Arrow IPC stream."""
    check_params(request["params"])
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
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(about).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def audit_lost(mesh: Mesh, sql: str, params: dict | None, outcome: str, reason: str, seconds: float) -> None:
    """The audit record of a query whose worker process died (``crashed``) or was stopped (``cancelled``).

    The worker writes the record of every query that ends; one that never ends
    is recorded here by the server, so no query goes unaudited.
    """
    if not mesh.audit.active:
        return
    record = new_record(mesh, sql, params, outcome=outcome, error=reason, seconds=round(seconds, 6))
    try:
        write_record(mesh.audit, record)
    except MeshError as error:
        log.error("meshlab: the audit record of a %s query could not be written: %s", outcome, error)
