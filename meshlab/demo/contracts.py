"""The demo's data contracts as frozen dataclasses, rendered to ODCS v3.1 YAML.

Each domain module declares its tables with :class:`Field` and :class:`Table`;
the generator casts its frames to the declared types before writing, so the
contract and the data cannot drift apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import polars as pl
import yaml

from meshlab.catalog.types import TYPES, polars_dtype

# physicalType per server kind: what a reader of that server actually finds.
# SQLite has no date or boolean storage class: ISO-8601 TEXT and 0/1 INTEGER.
PHYSICAL_TYPES: dict[str, dict[str, str]] = {
    "file": {name: logical.sql for name, logical in TYPES.items()},
    "sqlite": {name: logical.sqlite for name, logical in TYPES.items()},
}

# Fixed namespace so contract ids are stable across runs and machines.
_ID_NAMESPACE = uuid.UUID("4d9d5c84-5b0e-4f8e-9a55-6d657368c1ab")


def not_null() -> dict:
    """ODCS library rule: the property has no null values."""
    return {
        "type": "library",
        "metric": "nullValues",
        "arguments": {},
        "mustBe": 0,
        "description": "There must be no null values.",
    }


def no_duplicates() -> dict:
    """ODCS library rule: the property has no duplicate values."""
    return {
        "type": "library",
        "metric": "duplicateValues",
        "arguments": {},
        "mustBe": 0,
        "description": "Values must be unique.",
    }


def valid_values(values: list, description: str) -> dict:
    """ODCS library rule: every value is one of ``values``."""
    return {
        "type": "library",
        "metric": "invalidValues",
        "arguments": {"validValues": list(values)},
        "mustBe": 0,
        "description": description,
    }


def few_nulls(percent: float) -> dict:
    """ODCS library rule: less than ``percent`` % of the values are null."""
    return {
        "type": "library",
        "metric": "nullValues",
        "arguments": {},
        "mustBeLessThan": percent,
        "unit": "percent",
        "description": f"Less than {percent} % of the values may be null.",
    }


def matches(pattern: str, description: str) -> dict:
    """ODCS library rule: every value matches the regular expression ``pattern``."""
    return {
        "type": "library",
        "metric": "invalidValues",
        "arguments": {"pattern": pattern},
        "mustBe": 0,
        "description": description,
    }


def not_empty() -> dict:
    """ODCS library rule on a dataset: it has at least one row."""
    return {
        "type": "library",
        "metric": "rowCount",
        "arguments": {},
        "mustBeGreaterThan": 0,
        "description": "The dataset is never empty.",
    }


@dataclass(frozen=True)
class Field:
    """One property (column) of a dataset."""

    name: str
    logical: str
    description: str
    classification: str = "internal"
    required: bool = False
    primary_key: int = 0  # position in the (possibly composite) key; 0 when not part of it
    unique: bool = False
    quality: tuple[dict, ...] = ()
    partition: bool = False  # a hive key=value folder, not a column of the files
    references: tuple[str, ...] = ()  # foreign keys: object.column (same contract) or domain.dataset.column


@dataclass(frozen=True)
class Table:
    """One dataset (ODCS schema object) of a contract."""

    name: str
    description: str
    fields: tuple[Field, ...]
    quality: tuple[dict, ...] = ()  # dataset-level rules beyond "never empty"

    def cast(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Return ``frame`` with exactly the declared columns, in order, as declared types."""
        dtypes = {f.name: polars_dtype(f.logical) for f in self.fields}
        return frame.select(pl.col(n) if d is None else pl.col(n).cast(d) for n, d in dtypes.items())


@dataclass(frozen=True)
class Server:
    """Where a contract's data lives, relative to the contract file."""

    name: str
    type: str  # local | sqlite
    path: str
    format: str | None = None  # parquet | csv | json | delta, for file servers
    description: str = ""

    @property
    def kind(self) -> str:
        return "sqlite" if self.type == "sqlite" else "file"


@dataclass(frozen=True)
class Contract:
    """A whole data contract: metadata, one server and its datasets."""

    domain: str
    file_stem: str
    title: str
    version: str
    data_product: str
    purpose: str
    usage: str
    limitations: str
    tags: tuple[str, ...]
    team: tuple[tuple[str, str, str], ...]  # (username, name, role)
    server: Server
    tables: tuple[Table, ...]
    latency: tuple[int, str, str]  # (value, unit, element)
    status: str = "active"
    extra_sla: tuple[dict, ...] = ()

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_ID_NAMESPACE, f"{self.domain}/{self.file_stem}"))


def _property(f: Field, kind: str, domain: str) -> dict:
    out = {
        "name": f.name,
        "logicalType": f.logical,
        "physicalType": PHYSICAL_TYPES[kind][f.logical],
        "required": f.required,
        "primaryKey": f.primary_key > 0,
        **({"primaryKeyPosition": f.primary_key} if f.primary_key else {}),
        "unique": f.unique,
        "classification": f.classification,
        "description": f.description,
    }
    if f.partition:
        out["partitioned"] = True
        out["partitionKeyPosition"] = 1
    out["quality"] = list(f.quality)
    if f.references:
        out["relationships"] = [{"type": "foreignKey", "to": reference_form(target, domain)} for target in f.references]
    return out


def reference_form(target: str, domain: str) -> str:
    """ODCS's form of a reference written ``domain.table.column`` (or ``table.column``).

    A table of the same contract is ODCS shorthand (``table.column``); a table
    of another contract is the fully qualified form with the other file's
    path: ``../artists/tracks.odcs.yaml#/schema/tracks/properties/track_id``.
    """
    from meshlab.demo.build import CONTRACTS

    parts = target.split(".")
    table, column = parts[-2], parts[-1]
    owner_domain = parts[0] if len(parts) == 3 else domain
    for contract in CONTRACTS:
        if contract.domain == owner_domain and any(t.name == table for t in contract.tables):
            if contract.domain == domain and len(parts) == 2:
                return f"{table}.{column}"
            folder = "" if contract.domain == domain else f"../{contract.domain}/"
            return f"{folder}{contract.file_stem}.odcs.yaml#/schema/{table}/properties/{column}"
    raise ValueError(f"demo reference {target!r} names no table of the demo")


def _server(server: Server) -> dict[str, Any]:
    # SQLite is not an ODCS server type: a custom server says which engine reads its path.
    out: dict[str, Any] = {"server": server.name, "type": "custom" if server.type == "sqlite" else server.type}
    if server.format:
        out["format"] = server.format
    out["path"] = server.path
    if server.description:
        out["description"] = server.description
    if server.type == "sqlite":
        out["customProperties"] = [{"property": "engine", "value": "sqlite"}]
    elif server.format == "csv":  # ODCS has no delimiter field on a local server
        out["customProperties"] = [{"property": "delimiter", "value": ","}]
    return out


def _schema_object(table: Table, kind: str, domain: str) -> dict:
    return {
        "name": table.name,
        "physicalName": table.name,
        "physicalType": "table" if kind == "sqlite" else "file",
        "description": table.description,
        "properties": [_property(f, kind, domain) for f in table.fields],
        "quality": [not_empty(), *table.quality],
    }


def render(contract: Contract) -> dict:
    """Return the ODCS v3.1.0 document of ``contract`` as plain data.

    Parameters
    ----------
    contract
        The contract to render.

    Returns
    -------
    dict
        Keys in the order ODCS documents them, ready for ``yaml.safe_dump``.
    """
    value, unit, element = contract.latency
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": contract.id,
        "name": contract.title,
        "version": contract.version,
        "status": contract.status,
        "domain": contract.domain,
        "dataProduct": contract.data_product,
        "description": {
            "purpose": contract.purpose,
            "usage": contract.usage,
            "limitations": contract.limitations,
        },
        "tags": list(contract.tags),
        "team": [{"username": u, "name": n, "role": r} for u, n, r in contract.team],
        "servers": [_server(contract.server)],
        "schema": [_schema_object(t, contract.server.kind, contract.domain) for t in contract.tables],
        "slaProperties": [
            {"property": "latency", "value": value, "unit": unit, "element": element},
            *contract.extra_sla,
        ],
        "customProperties": [
            {"property": "generatedBy", "value": "meshlab demo"},
        ],
    }


def dump(contract: Contract) -> str:
    """Return the contract as YAML text (stable key order, unicode kept)."""
    header = f"# {contract.title}: data contract of the {contract.domain} domain (meshlab demo).\n"
    return header + yaml.safe_dump(render(contract), sort_keys=False, allow_unicode=True, width=100)
