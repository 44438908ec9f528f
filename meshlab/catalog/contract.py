"""ODCS v3 data contracts -> frozen :class:`Dataset` and :class:`Column` entries.

A contract file may describe several datasets (one per ``schema`` entry). Every
field meshlab does not interpret is kept in ``Dataset.descriptor`` so that users
still see it. Reading is lenient: whether a contract is valid ODCS is the
official schema's verdict (:mod:`meshlab.catalog.odcs_schema`, ``meshlab lint``);
the reader takes what it can use from any shape and never raises anything but a
:class:`DescriptorError`. A dataset meshlab cannot query (no server, a server
type without a reader, no properties) is still catalogued, with
``Dataset.unavailable`` saying why.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass, field
from typing import Any

from meshlab.catalog.odcs_schema import API_VERSIONS as SUPPORTED_API_VERSIONS
from meshlab.catalog.servers import (
    Server,
    parse_server,
)
from meshlab.catalog.time_travel import AsOf
from meshlab.catalog.types import LOGICAL_TYPES
from meshlab.errors import DescriptorError

__all__ = [
    "LOGICAL_TYPES", "STATUSES",
    "SUPPORTED_API_VERSIONS", "Column", "Dataset", "Server", "parse_contract", "parse_server",
]  # fmt: skip

#: statuses that get a badge; any other text is shown as written
STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
#: more properties than this in one schema object is refused (bounded time and memory)
MAX_PROPERTIES = 250_000
#: nested properties deeper than this are refused
MAX_DEPTH = 32


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
    # Nested properties of an object (or of an array's items), in contract order.
    fields: tuple[Column, ...] = ()

    @property
    def type(self) -> str:
        """The logical type (the name users see)."""
        return self.logical_type


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
    descriptor: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    address: str = ""
    # Every server of the contract (``server`` is the one meshlab reads).
    servers: tuple[Server, ...] = ()
    # Why meshlab cannot query this dataset here; None when it can.
    unavailable: str | None = None
    #: the version a query reads (``FOR VERSION AS OF``); None: the current one
    as_of: AsOf | None = None

    @property
    def queryable(self) -> bool:
        return self.unavailable is None

    @functools.cached_property
    def _by_name(self) -> dict[str, Column]:
        found: dict[str, Column] = {}
        for c in self.columns:
            found.setdefault(c.name.lower(), c)
        return found

    @property
    def reference(self) -> str:
        """The address, with the version read when the query travels in time (``sales.orders@v3``)."""
        return f"{self.address}@{self.as_of.label()}" if self.as_of is not None else self.address

    def column(self, name: str) -> Column | None:
        return self._by_name.get(name.lower())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(str(value[k]) for k in ("purpose", "usage", "limitations") if value.get(k))
    if isinstance(value, list):
        return ""
    return str(value)


def _optional(value: Any) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)


def property_rows(props: Any, where: tuple) -> list[tuple[tuple, dict]]:
    """Every property mapping under ``props`` with its path, nested ones included (depth first).

    Nested properties are an object's ``properties`` and an array's ``items``
    (itself a property, with ``properties`` when its items are objects).
    """
    rows: list[tuple[tuple, dict]] = []
    stack = [(where, props)]
    while stack:
        at, value = stack.pop()
        items = value if isinstance(value, list) else ()
        for j in range(len(items) - 1, -1, -1):
            prop = items[j]
            if not isinstance(prop, dict):
                continue
            rows.append(((*at, j), prop))
            stack.extend(_children((*at, j), prop))
    rows.reverse()
    return rows


def _children(at: tuple, prop: dict) -> list:
    found = []
    if isinstance(prop.get("items"), dict):
        item = prop["items"]
        if isinstance(item.get("properties"), list):
            found.append(((*at, "items", "properties"), item["properties"]))
    if isinstance(prop.get("properties"), list):
        found.append(((*at, "properties"), prop["properties"]))
    return found


def parse_column(raw: dict, path: str, where: str, depth: int = 0) -> Column:
    """One property mapping -> :class:`Column` (nested properties as ``fields``)."""
    if depth > MAX_DEPTH:
        raise DescriptorError(path, f"properties nested deeper than {MAX_DEPTH} levels", where.rstrip("."))
    nested = raw.get("properties")
    items = raw.get("items")
    if not isinstance(nested, list) and isinstance(items, dict):
        nested = items.get("properties")
    fields = tuple(
        parse_column(p, path, f"{where}properties[{j}].", depth + 1)
        for j, p in enumerate(nested if isinstance(nested, list) else ())
        if isinstance(p, dict) and p.get("name") is not None
    )
    logical = _optional(raw.get("logicalType"))
    return Column(
        name=str(raw["name"]),
        logical_type=logical.lower() if logical else ("object" if fields else "string"),
        physical_type=_optional(raw.get("physicalType")),
        description=_text(raw.get("description")),
        classification=_optional(raw.get("classification")),
        required=raw.get("required") is True,
        primary_key=raw.get("primaryKey") is True,
        unique=raw.get("unique") is True,
        fields=fields,
    )


def _members(team: Any) -> list:
    """Team members in ODCS v3.0 (a list) or v3.1 (``{name, members}``) shape."""
    members = team.get("members") if isinstance(team, dict) else team
    return [m for m in members if isinstance(m, dict)] if isinstance(members, list) else []


def _owner(raw: dict) -> str | None:
    members = _members(raw.get("team"))
    for member in members:
        if str(member.get("role", "")).lower() == "owner":
            return _optional(member.get("username") or member.get("name"))
    return _optional(members[0].get("username") or members[0].get("name")) if members else None


def _status(raw: dict) -> str:
    text = _optional(raw.get("status"))
    if text is None:
        return "active"
    text = text.strip()
    return text.lower() if text.lower() in STATUSES else text


def _check_header(raw: Any, path: str) -> None:
    if not isinstance(raw, dict):
        raise DescriptorError(path, "a contract must be a YAML mapping")
    version = raw.get("apiVersion")
    if version not in SUPPORTED_API_VERSIONS:
        known = ", ".join(SUPPORTED_API_VERSIONS)
        what = (
            f"unsupported apiVersion '{version}'" if version is not None else "required field 'apiVersion' is missing"
        )
        raise DescriptorError(path, f"{what} (supported: {known})", "apiVersion")
    if raw.get("kind") != "DataContract":
        raise DescriptorError(path, f"unknown kind '{raw.get('kind')}' (expected DataContract)", "kind")


def parse_contract(raw: Any, path: str, domain: str) -> list[Dataset]:
    """Turn one parsed contract document into its datasets.

    Raises :class:`DescriptorError` naming ``path`` and the field at fault
    only when the document is not an ODCS v3 contract at all (not a mapping,
    unknown ``apiVersion`` or ``kind``) or exceeds meshlab's limits.
    ``address`` is left empty: the catalog assigns it once it knows every
    dataset of the domain.
    """
    _check_header(raw, path)
    servers = [parse_server(s, path, i) for i, s in enumerate(_list(raw.get("servers")))]
    schema = raw.get("schema")
    if schema is not None and not isinstance(schema, list):
        raise DescriptorError(path, "schema must be a list of objects", "schema")
    stem = posixpath.basename(path).split(".")[0]
    common = {
        "domain": domain,
        "product": str(_optional(raw.get("dataProduct")) or stem),
        "owner": _owner(raw),
        "status": _status(raw),
        "contract_path": path,
        "contract_id": _optional(raw.get("id")),
        "version": _optional(raw.get("version")),
        "sla": tuple((str(i.get("property")), i) for i in _list(raw.get("slaProperties")) if isinstance(i, dict)),
        "descriptor": raw,
        "servers": tuple(servers),
    }
    datasets = []
    for i, obj in enumerate(schema or ()):
        if isinstance(obj, dict) and obj.get("name") is not None:
            datasets.append(_dataset(raw, obj, f"schema[{i}].", common))
    return datasets


def listed(value: Any) -> list:
    """``value`` if it is a list, else an empty one: what to iterate over a field of unknown shape."""
    return value if isinstance(value, list) else []


_list = listed


def _dataset(raw: dict, obj: dict, where: str, common: dict) -> Dataset:
    path = common["contract_path"]
    name = str(obj["name"])
    props = _list(obj.get("properties"))
    if len(props) > MAX_PROPERTIES:
        raise DescriptorError(path, f"{len(props)} properties: more than meshlab's limit of {MAX_PROPERTIES}",
                              where + "properties")  # fmt: skip
    columns = tuple(
        parse_column(p, path, f"{where}properties[{j}].")
        for j, p in enumerate(props)
        if isinstance(p, dict) and p.get("name") is not None
    )
    server, unavailable = _pick_server(list(common["servers"]), obj, name)
    if unavailable is None and not columns:
        unavailable = f"schema object '{name}' lists no properties"
    tags = obj.get("tags") if isinstance(obj.get("tags"), list) else raw.get("tags")
    return Dataset(
        name=name,
        title=str(_optional(obj.get("businessName")) or _optional(raw.get("name")) or name),
        description=_text(obj.get("description")) or _text(raw.get("description")),
        tags=tuple(str(t) for t in _list(tags)),
        columns=columns,
        server=server,
        physical_name=str(_optional(obj.get("physicalName")) or name),
        unavailable=unavailable,
        **common,
    )


NO_SERVER = Server(name="", type="none", problem="the contract lists no servers")


def _pick_server(servers: list[Server], obj: dict, name: str) -> tuple[Server, str | None]:
    """The server meshlab reads the object from, and why it cannot when it cannot.

    A schema object may name its server (meshlab's house form); otherwise the
    first server meshlab can read is used.
    """
    wanted = obj.get("server")
    named = [s for s in servers if wanted and s.name == wanted]
    candidates = named or servers
    readable = [s for s in candidates if s.readable]
    if readable:
        return readable[0].for_object(name), None
    if not candidates:
        return NO_SERVER, "the contract lists no servers"
    reasons = "; ".join(f"server '{s.name}': {s.problem}" for s in candidates)
    return candidates[0].for_object(name), reasons


def not_queryable_reasons(raw: dict) -> list[tuple[tuple, str]]:
    """(where, why) for each part of a valid contract meshlab cannot query here."""
    found: list[tuple[tuple, str]] = []
    if not _list(raw.get("servers")):
        found.append((("servers",) if "servers" in raw else (), "not queryable here: the contract lists no servers"))
    for i, server in enumerate(_list(raw.get("servers"))):
        parsed = parse_server(server, "", i)
        if parsed.problem:
            found.append((("servers", i, "type"), f"server '{parsed.name}' not queryable here: {parsed.problem}"))
    if not _list(raw.get("schema")):
        found.append((("schema",) if "schema" in raw else (), "no schema objects: nothing to catalogue or query"))
    for i, obj in enumerate(_list(raw.get("schema"))):
        if isinstance(obj, dict) and not _list(obj.get("properties")):
            found.append(
                (("schema", i), f"schema object '{obj.get('name')}' not queryable here: it lists no properties")
            )
    return found
