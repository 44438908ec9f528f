"""Audit: one JSON line per query, and optionally an OpenLineage run event.

Configured in ``mesh.yaml`` (paths relative to it)::

    audit:
      log: audit/queries.jsonl           # one JSON object per line, appended
      openlineage:                       # optional
        transport: file                  # file | http
        path: audit/openlineage.jsonl    # file: one run event per line
        url: http://127.0.0.1:5000/api/v1/lineage   # http: POSTed as JSON
        namespace: music                 # default: the mesh's name

The query log fails closed: when it cannot be written the query's rows are
withheld (a :class:`~meshlab.errors.GovernanceError`). OpenLineage delivery
is best effort: a lineage server that is down only warns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
import threading
import urllib.request
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from meshlab.errors import DescriptorError, GovernanceError

PRODUCER = "https://github.com/meshlab/meshlab"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
COLUMN_LINEAGE_SCHEMA = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
SCHEMA_FACET_SCHEMA = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
_lock = threading.Lock()


@dataclass
class AuditRecord:
    """What the log keeps of one query."""

    time: str
    user: str
    role: str | None
    mesh: str
    statement_hash: str
    statement: str
    parameters: list[str] = field(default_factory=list)  # names only: values may be personal data
    datasets: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # domain.dataset.column read from sources
    rows: int | None = None
    outcome: str = "ok"  # ok | denied | error | interrupted | timeout | cancelled (| crashed: server mode)
    error: str | None = None
    seconds: float | None = None


def statement_hash(sql: str) -> str:
    # surrogatepass: a lone surrogate (refused by the parser) must not keep the query out of the log
    return hashlib.sha256(sql.encode("utf-8", "surrogatepass")).hexdigest()


def printable(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate is kept as its ``\\udXXX`` escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditConfig:
    """Where audit records and lineage events go."""

    log: str | None = None
    openlineage: dict | None = None
    namespace: str = "meshlab"

    @classmethod
    def from_settings(cls, settings: dict, manifest_path: str, mesh_name: str) -> AuditConfig:
        raw = settings.get("audit")
        if raw is None:
            return cls(namespace=mesh_name)
        if not isinstance(raw, dict):
            raise DescriptorError(manifest_path, "must be a mapping with log and/or openlineage", "audit")
        base = posixpath.dirname(manifest_path)

        def local(value, where):
            if not isinstance(value, str) or not value:
                raise DescriptorError(manifest_path, "must be a file path", where)
            return value if os.path.isabs(value) else os.path.join(base, value)

        log = local(raw["log"], "audit.log") if raw.get("log") is not None else None
        lineage = raw.get("openlineage")
        if lineage is not None:
            if not isinstance(lineage, dict) or lineage.get("transport") not in ("file", "http"):
                raise DescriptorError(manifest_path, "transport must be file or http", "audit.openlineage.transport")
            lineage = dict(lineage)
            if lineage["transport"] == "file":
                lineage["path"] = local(lineage.get("path"), "audit.openlineage.path")
            elif not str(lineage.get("url", "")).startswith(("http://", "https://")):
                raise DescriptorError(manifest_path, "an http transport needs an http(s) url", "audit.openlineage.url")
        return cls(log=log, openlineage=lineage, namespace=str((lineage or {}).get("namespace") or mesh_name))

    @property
    def active(self) -> bool:
        return bool(self.log or self.openlineage)


def _append(path: str, line: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with _lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def write_record(config: AuditConfig, record: AuditRecord) -> None:
    """Append ``record`` to the query log; a log that cannot be written is an error."""
    if not config.log:
        return
    try:
        _append(config.log, printable(json.dumps(asdict(record), ensure_ascii=False, default=str)))
    except OSError as exc:
        raise GovernanceError(f"audit log {config.log} cannot be written ({exc}); the result is withheld") from None


def job_name() -> str:
    """The notebook running the query when Jupyter says so, else the process."""
    return os.environ.get("JPY_SESSION_NAME") or os.environ.get("MESHLAB_JOB") or "meshlab-session"


class ColumnLineage(Protocol):
    """A query's column lineage (:class:`meshlab.lineage.Lineage`), as OpenLineage reads it."""

    def to_openlineage(self, namespace: str = ...) -> dict[str, Any]: ...


def run_event(
    config: AuditConfig, record: AuditRecord, lineage: ColumnLineage | None, schemas: dict[str, list[dict[str, str]]]
) -> dict[str, Any]:
    """An OpenLineage RunEvent: inputs = datasets read, output = the notebook with column lineage."""
    facets = {}
    if lineage is not None:
        facets["columnLineage"] = {
            "_producer": PRODUCER,
            "_schemaURL": COLUMN_LINEAGE_SCHEMA,
            **lineage.to_openlineage(config.namespace),
        }
    inputs = [
        {
            "namespace": config.namespace,
            "name": address,
            "facets": {"schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA_FACET_SCHEMA, "fields": fields}},
        }
        for address, fields in schemas.items()
    ]
    return {
        "eventType": "COMPLETE" if record.outcome == "ok" else "FAIL",
        "eventTime": record.time,
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": config.namespace, "name": job_name()},
        "inputs": inputs,
        "outputs": [{"namespace": config.namespace, "name": job_name(), "facets": facets}],
    }


def emit_event(config: AuditConfig, event: dict) -> None:
    """Deliver ``event`` to the configured transport; failures warn, never raise."""
    target = config.openlineage
    if not target:
        return
    text = json.dumps(event, ensure_ascii=False)
    try:
        if target["transport"] == "file":
            _append(target["path"], text)
        else:
            request = urllib.request.Request(
                target["url"], data=text.encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=float(target.get("timeout", 2))):
                pass
    except OSError as exc:
        warnings.warn(
            f"OpenLineage event not delivered to {target.get('url') or target.get('path')}: {exc}", stacklevel=3
        )
