"""The one builder of data contracts and meshes for the tests and the benchmarks.

A contract is plain data (a dict in ODCS key order) that is valid ODCS v3.1.0 unless a
test breaks it on purpose; servers of each kind meshlab reads come from one function each::

    document = contract(
        "sales", "orders",
        [column("id", "integer", primaryKey=True), column("amount", "number", "DECIMAL(10,2)")],
        sqlite_db("../../data/shop.sqlite"),
    )
    write_yaml(root / "domains" / "sales" / "orders.odcs.yaml", document)
    manifest = write_mesh(root, "shop", ["sales"])

Columns can come from data as well: :func:`columns_of` types a frame's columns through
meshlab's own type table (:mod:`meshlab.catalog.types`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from meshlab.catalog.types import odcs_types

API_VERSION = "v3.1.0"


# -- properties --------------------------------------------------------------------------------
def column(name: str, logical: str | None = "string", physical: str | None = None, **fields: Any) -> dict:
    """One schema property: name, ``logicalType`` (None: left out), ``physicalType`` when given,
    then any other ODCS fields (``required=True``, ``classification="pii"``, ``quality=[...]``)."""
    prop: dict[str, Any] = {"name": name}
    if logical is not None:
        prop["logicalType"] = logical
    if physical is not None:
        prop["physicalType"] = physical
    prop.update(fields)
    return prop


def properties(*specs: tuple) -> list[dict]:
    """Properties from ``(name, logicalType)`` or ``(name, logicalType, classification)`` tuples
    (a None classification is left out)."""
    out = []
    for name, logical, *rest in specs:
        classification = rest[0] if rest else None
        out.append(column(name, logical, **({"classification": classification} if classification else {})))
    return out


def columns_of(schema: Mapping[str, pl.DataType] | pl.DataFrame, physical: bool = True) -> list[dict]:
    """Properties typing the columns of a frame (or schema) as ``meshlab init`` would.

    ``physical=False`` keeps the ``physicalType`` of decimals only (their scale matters).
    """
    items = schema.schema.items() if isinstance(schema, pl.DataFrame) else schema.items()
    out = []
    for name, dtype in items:
        logical, physical_type = odcs_types(dtype)
        keep = physical or isinstance(dtype, pl.Decimal)
        out.append(column(name, logical, physical_type if keep else None))
    return out


# -- servers ------------------------------------------------------------------------------------
def keyed_properties(label: str, table: str, schema: Mapping[str, pl.DataType], keys: tuple[str, ...]) -> list[dict]:
    """The properties of a benchmark table (``label``: TPC-H, TPC-DS): every column typed by
    meshlab's type table, described, and its primary key declared (positions when composite)."""
    out = []
    for name, dtype in schema.items():
        logical, physical = odcs_types(dtype)
        fields: dict[str, Any] = {}
        if name in keys:
            fields.update(required=True, primaryKey=True)
            if len(keys) > 1:
                fields["primaryKeyPosition"] = keys.index(name) + 1
        fields["description"] = f"{label} {table}.{name}."
        out.append(column(name, logical, physical, **fields))
    return out


def local_files(path: str, format: str = "parquet", server: str = "lake", **fields: Any) -> dict:
    """Files on this machine (``format``: parquet, csv, json; ``delimiter=`` for CSV)."""
    return {"server": server, "type": "local", "format": format, "path": str(path), **fields}


def store_files(kind: str, path: str, format: str = "parquet", server: str = "store", **fields: Any) -> dict:
    """Files in an object store or on the web (``kind``: s3, https, azure, ...)."""
    return {"server": server, "type": kind, "format": format, "path": str(path), **fields}


def sqlite_db(path: str, server: str = "db", driver: str | None = None, custom: bool = False) -> dict:
    """A SQLite file; ``custom=True`` writes it as an ODCS ``custom`` server naming the engine
    (SQLite is no ODCS server type); ``driver`` (e.g. ``sqlite3``) as a custom property."""
    found: dict[str, Any] = {"server": server, "type": "custom" if custom else "sqlite", "path": str(path)}
    properties = [{"property": "engine", "value": "sqlite"}] if custom else []
    if driver:
        properties.append({"property": "driver", "value": driver})
    if properties:
        found["customProperties"] = properties
    return found


def duckdb_db(path: str, server: str = "duckdb", schema: str | None = None) -> dict:
    """A DuckDB file (ODCS ``type: duckdb``): ``database`` is its path, relative to the contract's folder."""
    found: dict[str, Any] = {"server": server, "type": "duckdb", "database": str(path)}
    if schema is not None:
        found["schema"] = schema
    return found


def postgres_db(
    host: str,
    port: int,
    database: str,
    schema: str | None = "public",
    server: str = "pg",
    user_env: str | None = None,
    password_env: str | None = None,
) -> dict:
    """A PostgreSQL database; the login comes from the environment variables named."""
    found: dict[str, Any] = {"server": server, "type": "postgres", "host": host, "port": port, "database": database}
    if schema is not None:
        found["schema"] = schema
    properties = []
    if user_env:
        properties.append({"property": "userEnv", "value": user_env})
    if password_env:
        properties.append({"property": "passwordEnv", "value": password_env})
    if properties:
        found["customProperties"] = properties
    return found


def mysql_db(
    host: str,
    port: int,
    database: str,
    server: str = "mysql",
    user_env: str | None = None,
    password_env: str | None = None,
) -> dict:
    """A MySQL/MariaDB database; the login comes from the environment variables named."""
    found: dict[str, Any] = {"server": server, "type": "mysql", "host": host, "port": port, "database": database}
    properties = [{"property": k, "value": v} for k, v in (("userEnv", user_env), ("passwordEnv", password_env)) if v]
    if properties:
        found["customProperties"] = properties
    return found


# -- contracts ---------------------------------------------------------------------------------
def contract(
    domain: str | None,
    name: str,
    properties: Iterable[dict],
    servers: dict | list[dict] | None = None,
    *,
    id: str | None = None,
    title: str | None = None,
    version: str = "1.0.0",
    status: str = "active",
    physical_name: str | None = None,
    description: str | dict | None = None,
    schema_description: str | None = None,
    quality: Iterable[dict] = (),
    sla: Iterable[dict] = (),
    owner: str | None = None,
    **top: Any,
) -> dict:
    """A contract of one dataset ``domain.name`` stored on ``servers``.

    ``id`` defaults to ``domain-name`` and the display name (``title``) to ``name``;
    ``description`` is the purpose (or a whole description object); ``owner`` makes the
    team; ``top`` adds other top-level fields (``tags=[...]``, ``dataProduct=...``).
    """
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": id or (f"{domain}-{name}" if domain else name),
        "name": title or name,
        "version": version,
        "status": status,
    }
    if domain is not None:
        document["domain"] = domain
    for key in ("dataProduct",):
        if key in top:
            document[key] = top.pop(key)
    if description is not None:
        document["description"] = {"purpose": description} if isinstance(description, str) else description
    if "tags" in top:
        document["tags"] = top.pop("tags")
    if owner is not None:
        document["team"] = [{"username": owner, "role": "owner"}]
    if servers is not None:
        document["servers"] = servers if isinstance(servers, list) else [servers]
    document["schema"] = [schema_object(name, properties, physical_name, schema_description, quality)]
    if sla:
        document["slaProperties"] = list(sla)
    document.update(top)
    return document


def schema_object(
    name: str,
    properties: Iterable[dict],
    physical_name: str | None = None,
    description: str | None = None,
    quality: Iterable[dict] = (),
) -> dict:
    """One entry of a contract's ``schema``: a dataset, its properties and dataset-level rules."""
    obj: dict[str, Any] = {"name": name}
    if physical_name is not None:
        obj["physicalName"] = physical_name
    if description is not None:
        obj["description"] = description
    obj["properties"] = list(properties)
    quality = list(quality)
    if quality:
        obj["quality"] = quality
    return obj


def library_rule(metric: str, **fields: Any) -> dict:
    """A library quality rule; ``mustBe: 0`` unless another ``must*`` operator is given."""
    rule: dict[str, Any] = {"type": "library", "metric": metric, "mustBe": 0}
    rule.update(fields)
    if any(k.startswith("must") and k != "mustBe" for k in fields):
        rule.pop("mustBe")
    return rule


# -- files -------------------------------------------------------------------------------------
def write_yaml(path: Path, document: Any) -> Path:
    """``document`` as YAML at ``path`` (folders created, keys in the order given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_mesh(root: Path, name: str, domains: Iterable[str] | Mapping[str, str], **settings: Any) -> Path:
    """``root/mesh.yaml`` naming ``domains`` (a list: each in ``domains/<domain>``; a mapping:
    domain -> folder) and any other manifest settings; returns its path."""
    folders = dict(domains) if isinstance(domains, Mapping) else {d: f"domains/{d}" for d in domains}
    return write_yaml(root / "mesh.yaml", {"mesh": name, "domains": folders, **settings})
