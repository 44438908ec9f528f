"""What the catalog sidebar's server routes answer, as JSON-ready dicts.

Every function takes a :class:`~meshlab.mesh.Mesh` (or a dataset of it) and
returns plain dicts, lists, strings and numbers; none knows about HTTP. The
handlers in :mod:`meshlab.jupyter.server.handlers` only parse the request, call
one of these and write the answer.

Nothing here ever returns a credential: servers are described from an allow-list
of fields (no host, port or custom properties, URLs without user info or query
strings), and a sample runs through ``Mesh.sql`` like any other query, so the
planner's rules (and governance, once the mesh has a role) apply to it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.catalog.server_kinds import PUBLIC_SERVER_FIELDS, kind_named
from meshlab.catalog.servers import parse_server
from meshlab.errors import AmbiguousDatasetError, DescriptorError, MeshError, UnknownDatasetError
from meshlab.mesh import Mesh
from meshlab.planner.parse import READ_DIALECT
from meshlab.quality.status import StatusStore

SAMPLE_ROWS = 10
MAX_SAMPLE_ROWS = 1000
CELL_ROWS = 100
STATUS_LOCK_SECONDS = 0.25

LOCATION_FIELDS = ("path", "location")

# One part of an address: a plain name, or a double-quoted one without dots.
_PART = r'(?:[\w$-]+|"[^".]+")'
_ADDRESS = re.compile(rf"{_PART}(?:\.{_PART}){{1,2}}")


class AddressSyntaxError(MeshError):
    """A dataset address that cannot be one: not ``domain.dataset`` or ``domain.product.dataset``."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(f"malformed dataset address {address!r}: expected domain.dataset or domain.product.dataset")


class RequestValueError(MeshError):
    """A request parameter has a value the route cannot use."""


def parse_address(text: str) -> str:
    """``text`` as a catalog address (quotes removed), or :class:`AddressSyntaxError`.

    >>> parse_address('"plays".play_events')
    'plays.play_events'
    """
    if not _ADDRESS.fullmatch(text or ""):
        raise AddressSyntaxError(text)
    return ".".join(part.strip('"') for part in text.split("."))


def parse_count(raw: str | None, name: str, default: int | None, low: int, high: int | None = None) -> int | None:
    """A whole-number request parameter within ``[low, high]``, or :class:`RequestValueError`."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestValueError(f"parameter {name}={raw!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RequestValueError(f"parameter {name}={value} must be {bound}")
    return value


# -- JSON-ready values --------------------------------------------------------------
def json_value(value: Any) -> Any:
    """``value`` as something ``json.dumps`` writes as valid JSON.

    Dates and times become ISO text, decimals their exact text, non-finite
    floats their name ("NaN", "inf"), bytes base64, nested values recursively.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return str(value)


def without_credentials(location: str) -> str:
    """A file location with any ``user:password@`` and query string (signed URLs) removed."""
    if "://" not in location:
        return location
    parts = urlsplit(location)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- the routes' answers --------------------------------------------------------------
def last_check(mesh: Mesh, address: str | None = None):
    """The latest stored check of ``address`` (or of every dataset: a dict), from the status store.

    A store locked by a writer (``meshlab check`` storing a run) answers "unknown"
    after :data:`STATUS_LOCK_SECONDS` instead of holding the request.
    """
    store = StatusStore(mesh.status_path, timeout=STATUS_LOCK_SECONDS)
    if address is None:
        visible = {d.address for d in mesh.datasets()}
        return {a: s for a, s in store.latest().items() if a in visible}
    return store.latest([address]).get(address)


def dataset_summary(ds: Dataset, checked=None) -> dict:
    """One search result: what the sidebar's list and tree show; ``last_check`` is the dataset's
    latest check outcome and freshness (``DatasetStatus.to_dict()``), null if never checked."""
    return {
        "address": ds.address,
        "title": ds.title,
        "domain": ds.domain,
        "owner": ds.owner,
        "status": ds.status,
        "description": ds.description,
        "tags": list(ds.tags),
        "columns": list(ds.column_names),
        "last_check": checked.to_dict() if checked is not None else None,
        # A valid contract meshlab cannot read here (no server, no reader for its type): why, else null.
        "not_queryable": ds.unavailable,
    }


def search_datasets(mesh: Mesh, text: str, limit: int | None = None, offset: int = 0) -> tuple[list[dict], int]:
    """Datasets ranked by relevance to ``text`` (all, by address, when ``text`` is blank).

    Returns the page ``[offset, offset + limit)`` of the ranking and the number
    of datasets that matched.
    """
    ranked = mesh.search(text)
    stop = None if limit is None else offset + limit
    checks = last_check(mesh)
    return [dataset_summary(ds, checks.get(ds.address)) for ds in ranked[offset:stop]], len(ranked)


def _table(address: str) -> exp.Table:
    parts = address.split(".")
    return exp.table_(parts[-1], db=parts[-2], catalog=parts[0] if len(parts) == 3 else None)


def sample_sql(address: str, limit: int) -> str:
    """``SELECT * FROM <address> LIMIT n``, built as a tree so odd names come out quoted."""
    return exp.select("*").from_(_table(address)).limit(limit).sql(dialect=READ_DIALECT)


def _servers(ds: Dataset) -> list[dict]:
    described = []
    for raw in ds.descriptor.get("servers") or ():
        if not isinstance(raw, dict):
            continue
        # The kind that reads the block says what of it may leave the server; a block no
        # kind reads shows only the fields every kind may show, and no location.
        kind = kind_named(parse_server(raw, "", 0).kind) if raw.get("type") else None
        public = kind.public_fields if kind is not None else PUBLIC_SERVER_FIELDS
        entry = {key: json_value(raw[key]) for key in public if raw.get(key) is not None}
        location = next((raw[k] for k in LOCATION_FIELDS if raw.get(k)), None)
        if location is not None and kind is not None and kind.shows_location():
            entry["location"] = without_credentials(str(location))
        entry["default"] = str(raw.get("server", "")) == ds.server.name
        described.append(entry)
    return described


def _description_parts(ds: Dataset) -> dict:
    raw = ds.descriptor.get("description")
    if not isinstance(raw, dict):
        return {}
    return {key: str(raw[key]) for key in ("purpose", "usage", "limitations") if raw.get(key)}


DETAIL_FIELDS = ("apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct", "description",
                 "tags", "schema", "slaProperties", "servers")  # fmt: skip


def dataset_detail(ds: Dataset, checked=None) -> dict:
    """Everything the detail view shows about ``ds``; never a credential."""
    return {
        **dataset_summary(ds, checked),
        "name": ds.name,
        "product": ds.product,
        "version": ds.version,
        "contract_id": json_value(ds.contract_id),
        "contract_path": ds.contract_path,
        "contract_description": _description_parts(ds),
        "columns": [
            {
                "name": c.name,
                "type": c.logical_type,
                "physical_type": c.physical_type,
                "description": c.description,
                "classification": c.classification,
                "required": c.required,
                "primary_key": c.primary_key,
                "unique": c.unique,
            }
            for c in ds.columns
        ],
        "sla": [json_value(item) for _, item in ds.sla],
        "servers": _servers(ds),
        # Every other contract field (team, support, roles, customProperties, ...): nothing is dropped.
        "other_fields": {k: json_value(v) for k, v in ds.descriptor.items() if k not in DETAIL_FIELDS},
        "query": sample_sql(ds.address, CELL_ROWS),
    }


def dataset_sample(mesh: Mesh, address: str, limit: int = SAMPLE_ROWS) -> dict:
    """The first ``limit`` rows of the dataset at ``address``, read through ``mesh.sql``."""
    ds = mesh.dataset(address)
    sql = sample_sql(ds.address, limit)
    frame = mesh.sql(sql).df
    return {
        "address": ds.address,
        "sql": sql,
        "columns": [{"name": name, "type": str(dtype)} for name, dtype in frame.schema.items()],
        "rows": [[json_value(v) for v in row] for row in frame.rows()],
    }


def _error_entry(error: DescriptorError) -> dict:
    return {"path": error.path, "field": error.field, "message": error.reason}


def mesh_status(mesh: Mesh, path: str, root_dir: str, load_seconds: float | None = None) -> dict:
    """The mesh's name, size, domains and what failed to load.

    ``relative_path`` is the manifest's path from the server root (None when it
    lies outside it), so the sidebar can write a ``%mesh connect`` a notebook's
    kernel understands.
    """
    domains: dict[str, int] = {}
    for ds in mesh.datasets():
        domains[ds.domain] = domains.get(ds.domain, 0) + 1
    relative = None
    if "://" not in path:
        candidate = os.path.relpath(path, root_dir)
        relative = None if candidate.startswith("..") else candidate.replace(os.sep, "/")
    return {
        "mesh": mesh.name,
        "path": path,
        "relative_path": relative,
        "datasets": len(mesh.catalog.datasets),
        "domains": [{"name": name, "datasets": count} for name, count in sorted(domains.items())],
        "errors": [_error_entry(e) for e in mesh.errors],
        "warnings": list(mesh.warnings),
        "notices": list(getattr(mesh, "notices", ())),
        # Loaded, but not valid ODCS by the official schema (computed once per mesh, cached by content).
        "invalid": [_error_entry(e) for e in getattr(mesh, "invalid", ())],
        "load_seconds": load_seconds,
    }


def error_body(error: MeshError) -> dict:
    """The JSON body of a failed request: the error's kind, its message and suggestions."""
    body: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
    if isinstance(error, UnknownDatasetError):
        body["suggestions"] = list(error.suggestions)
    elif isinstance(error, AmbiguousDatasetError):
        body["suggestions"] = list(error.candidates)
    return body
