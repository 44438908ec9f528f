"""ODCS v3 data contracts -> frozen :class:`Dataset` and :class:`Column` entries.

A contract file may describe several datasets (one per ``schema`` entry). Every
field meshlab does not interpret is kept in ``Dataset.descriptor`` so that users
still see it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from meshlab.errors import DescriptorError

SUPPORTED_API_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0")
STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
LOGICAL_TYPES = ("string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array")
FILE_SERVER_TYPES = ("local", "s3", "gcs", "azure", "https", "http", "file", "memory")
DATABASE_SERVER_TYPES = ("sqlite", "postgres", "postgresql")
FILE_FORMATS = ("parquet", "csv", "json")


@dataclass(frozen=True)
class Column:
    """One property of a dataset's schema."""

    name: str
    logical_type: str = "string"
    physical_type: str | None = None
    description: str = ""
    classification: str | None = None
    required: bool = False
    primary_key: bool = False
    unique: bool = False

    @property
    def type(self) -> str:
        """The logical type (the name users see)."""
        return self.logical_type


@dataclass(frozen=True)
class Server:
    """Where a dataset lives: a file location or a database.

    ``path`` of a file server is resolved against the contract's folder; for a
    SQLite server it is the database file.
    """

    name: str
    type: str
    format: str | None = None
    path: str | None = None
    delimiter: str = ","
    host: str | None = None
    port: int | None = None
    database: str | None = None
    schema: str | None = None
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def is_database(self) -> bool:
        return self.type in DATABASE_SERVER_TYPES

    def property(self, key: str) -> str | None:
        return dict(self.properties).get(key)


@dataclass(frozen=True)
class Dataset:
    """A data product's dataset, addressable in SQL as ``domain.name``."""

    domain: str
    name: str
    product: str
    title: str
    description: str
    owner: str | None
    status: str
    tags: tuple[str, ...]
    columns: tuple[Column, ...]
    server: Server
    physical_name: str
    contract_path: str
    contract_id: str | None = None
    version: str | None = None
    sla: tuple[tuple[str, Any], ...] = ()
    descriptor: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    address: str = ""

    def column(self, name: str) -> Column | None:
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values() if v)
    return str(value)


def _require(mapping: dict, key: str, path: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise DescriptorError(path, "required field is missing", f"{where}{key}")
    return mapping[key]


def _custom_properties(raw: Any) -> tuple[tuple[str, str], ...]:
    if isinstance(raw, dict):
        return tuple((str(k), str(v)) for k, v in raw.items())
    pairs = []
    for item in raw or ():
        if isinstance(item, dict) and "property" in item:
            pairs.append((str(item["property"]), str(item.get("value", ""))))
    return tuple(pairs)


def parse_server(raw: dict, path: str, index: int) -> Server:
    """Read one ``servers[index]`` entry of the contract at ``path``."""
    where = f"servers[{index}]."
    if not isinstance(raw, dict):
        raise DescriptorError(path, "a server must be a mapping", f"servers[{index}]")
    kind = str(_require(raw, "type", path, where)).lower()
    if kind not in FILE_SERVER_TYPES + DATABASE_SERVER_TYPES:
        known = ", ".join(FILE_SERVER_TYPES + DATABASE_SERVER_TYPES)
        raise DescriptorError(path, f"unknown server type '{kind}' (known: {known})", where + "type")
    base = posixpath.dirname(path)
    location = raw.get("path") or raw.get("location")
    if kind in FILE_SERVER_TYPES:
        fmt = str(_require(raw, "format", path, where)).lower()
        if fmt not in FILE_FORMATS:
            raise DescriptorError(path, f"unknown format '{fmt}' (known: {', '.join(FILE_FORMATS)})", where + "format")
        location = _resolve(base, str(_require(raw, "path" if "path" in raw else "location", path, where)))
    elif kind == "sqlite":
        fmt = None
        location = _resolve(base, str(_require(raw, "path" if "path" in raw else "location", path, where)))
    else:
        fmt = None
        kind = "postgres"
        _require(raw, "host", path, where)
        _require(raw, "database", path, where)
    port = raw.get("port")
    return Server(
        name=str(raw.get("server") or f"server{index}"),
        type=kind,
        format=fmt,
        path=location,
        delimiter=str(raw.get("delimiter", ",")),
        host=raw.get("host"),
        port=int(port) if port is not None else None,
        database=raw.get("database"),
        schema=raw.get("schema"),
        properties=_custom_properties(raw.get("customProperties")),
    )


def _resolve(base: str, location: str) -> str:
    if "://" in location or location.startswith("/"):
        return location
    if "://" in base:
        protocol, rest = base.split("://", 1)
        return f"{protocol}://{posixpath.normpath(posixpath.join(rest, location))}"
    return posixpath.normpath(posixpath.join(base, location))


def parse_column(raw: dict, path: str, where: str) -> Column:
    if not isinstance(raw, dict):
        raise DescriptorError(path, "a property must be a mapping", where.rstrip("."))
    name = str(_require(raw, "name", path, where))
    logical = str(raw.get("logicalType") or "string").lower()
    if logical not in LOGICAL_TYPES:
        raise DescriptorError(
            path, f"unknown logicalType '{logical}' (known: {', '.join(LOGICAL_TYPES)})", where + "logicalType"
        )
    return Column(
        name=name,
        logical_type=logical,
        physical_type=raw.get("physicalType"),
        description=_text(raw.get("description")),
        classification=raw.get("classification"),
        required=bool(raw.get("required", False)),
        primary_key=bool(raw.get("primaryKey", False)),
        unique=bool(raw.get("unique", False)),
    )


def _owner(raw: dict) -> str | None:
    team = raw.get("team")
    members = team.get("members", []) if isinstance(team, dict) else team or []
    for member in members:
        if isinstance(member, dict) and str(member.get("role", "")).lower() == "owner":
            return member.get("username") or member.get("name")
    first = next((m for m in members if isinstance(m, dict)), None)
    return (first.get("username") or first.get("name")) if first else None


def parse_contract(raw: Any, path: str, domain: str) -> list[Dataset]:
    """Turn one parsed contract document into its datasets.

    Raises :class:`DescriptorError` naming ``path`` and the field at fault.
    ``address`` is left empty: the catalog assigns it once it knows every
    dataset of the domain.
    """
    if not isinstance(raw, dict):
        raise DescriptorError(path, "a contract must be a YAML mapping")
    version = str(_require(raw, "apiVersion", path, ""))
    if version not in SUPPORTED_API_VERSIONS:
        raise DescriptorError(
            path, f"unsupported apiVersion '{version}' (supported: {', '.join(SUPPORTED_API_VERSIONS)})", "apiVersion"
        )
    kind = str(_require(raw, "kind", path, ""))
    if kind != "DataContract":
        raise DescriptorError(path, f"unknown kind '{kind}' (expected DataContract)", "kind")
    status = str(raw.get("status") or "active").lower()
    if status not in STATUSES:
        raise DescriptorError(path, f"unknown status '{status}' (known: {', '.join(STATUSES)})", "status")
    servers_raw = _require(raw, "servers", path, "")
    if not isinstance(servers_raw, list) or not servers_raw:
        raise DescriptorError(path, "servers must be a non-empty list", "servers")
    servers = [parse_server(s, path, i) for i, s in enumerate(servers_raw)]
    schema = _require(raw, "schema", path, "")
    if not isinstance(schema, list) or not schema:
        raise DescriptorError(path, "schema must be a non-empty list of objects", "schema")
    stem = posixpath.basename(path).split(".")[0]
    product = str(raw.get("dataProduct") or stem)
    description = raw.get("description")
    sla = tuple((str(item.get("property")), item) for item in raw.get("slaProperties") or () if isinstance(item, dict))
    datasets = []
    for i, obj in enumerate(schema):
        where = f"schema[{i}]."
        if not isinstance(obj, dict):
            raise DescriptorError(path, "a schema object must be a mapping", f"schema[{i}]")
        name = str(_require(obj, "name", path, where))
        props = obj.get("properties") or []
        if not isinstance(props, list):
            raise DescriptorError(path, "properties must be a list", where + "properties")
        columns = tuple(parse_column(p, path, f"{where}properties[{j}].") for j, p in enumerate(props))
        server = _pick_server(servers, obj)
        datasets.append(
            Dataset(
                domain=domain,
                name=name,
                product=product,
                title=str(obj.get("businessName") or raw.get("name") or name),
                description=_text(obj.get("description")) or _text(description),
                owner=_owner(raw),
                status=status,
                tags=tuple(str(t) for t in (obj.get("tags") or raw.get("tags") or ())),
                columns=columns,
                server=server,
                physical_name=str(obj.get("physicalName") or name),
                contract_path=path,
                contract_id=raw.get("id"),
                version=raw.get("version"),
                sla=sla,
                descriptor=raw,
            )
        )
    return datasets


def _pick_server(servers: list[Server], obj: dict) -> Server:
    """The first server is the default; a schema object may name another."""
    wanted = obj.get("server")
    for server in servers:
        if wanted and server.name == wanted:
            return server
    return servers[0]
