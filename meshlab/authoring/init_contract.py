"""``meshlab init``: a draft ODCS contract for data a domain team already has.

The draft has every column with its inferred ``logicalType`` and
``physicalType``, ``required`` / ``unique`` where the data shows it, the row
count, quality rules the data passes today (so ``meshlab check`` starts
green and catches the first regression), and ``TODO`` descriptions for the
team to write. It is written with ``status: draft`` into the domain's folder.
"""

from __future__ import annotations

import getpass
import math
import os
import posixpath
import uuid

import yaml

from meshlab.authoring.inspect_data import ColumnProfile, DataProfile, InitError, inspect_data, shown_location
from meshlab.catalog.types import odcs_types

ID_NAMESPACE = uuid.UUID("0b5f7c1e-6d1a-4f55-9b53-6d6573686c62")
KEY_SUFFIXES = ("_id", "id", "_key", "_code")


def _null_rule(column: ColumnProfile, rows: int) -> dict:
    if column.nulls == 0:
        return {"type": "library", "metric": "nullValues", "mustBe": 0, "description": "No null values."}
    share = 100.0 * column.nulls / rows if rows else 0.0
    ceiling = max(1, math.ceil(share * 1.5))  # headroom over today's share
    return {
        "type": "library",
        "metric": "nullValues",
        "unit": "percent",
        "mustBeLessThan": ceiling,
        "description": f"Less than {ceiling} % nulls ({share:.2g} % when drafted).",
    }


def _key_column(profile: DataProfile) -> str | None:
    """The first unique, never-null column whose name reads like a key."""
    for column in profile.columns:
        logical = odcs_types(column.dtype)[0]
        if (
            column.nulls == 0
            and column.distinct == profile.rows > 0
            and logical in ("integer", "string")
            and column.name.lower().endswith(KEY_SUFFIXES)
        ):
            return column.name
    return None


def property_of(column: ColumnProfile, profile: DataProfile, key: str | None) -> dict:
    """One ODCS property with suggested quality rules."""
    logical, physical = odcs_types(column.dtype)
    unique = column.distinct == profile.rows > 1 and logical in ("integer", "string") and not profile.sampled_rows
    quality = [_null_rule(column, profile.rows)]
    if unique:
        quality.append(
            {"type": "library", "metric": "duplicateValues", "mustBe": 0, "description": "Values are unique."}
        )
    if column.values is not None and profile.rows >= 20 and not unique:
        quality.append(
            {
                "type": "library",
                "metric": "invalidValues",
                "arguments": {"validValues": list(column.values)},
                "mustBe": 0,
                "description": "TODO: check the list: these are the values found when drafted.",
            }
        )
    return {
        "name": column.name,
        "logicalType": logical,
        "physicalType": column.physical or physical,
        "required": column.nulls == 0,
        "primaryKey": column.name == key,
        "unique": unique,
        "description": f"TODO: describe {column.name}.",
        "quality": quality,
    }


def draft_contract(profile: DataProfile, domain: str, name: str, owner: str | None = None) -> dict:
    """The draft contract (plain data, in ODCS key order) for ``profile``."""
    key = _key_column(profile)
    sampled = f" (profiled on {profile.sampled_rows:,} rows)" if profile.sampled_rows else ""
    obj = {
        "name": name,
        "physicalName": profile.physical_name or name,
        "description": f"TODO: what one row of {name} is.",
        "properties": [property_of(c, profile, key) for c in profile.columns],
        "quality": [
            {
                "type": "library",
                "metric": "rowCount",
                "mustBeGreaterThan": 0,
                "description": f"Never empty; {profile.rows:,} rows when drafted{sampled}.",
            }
        ],
    }
    return {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": str(uuid.uuid5(ID_NAMESPACE, f"{domain}/{name}")),
        "name": name.replace("_", " ").capitalize(),
        "version": "0.1.0",
        "status": "draft",
        "domain": domain,
        "dataProduct": name,
        "description": {
            "purpose": "TODO: why this data product exists and what it answers.",
            "usage": "TODO: how to use it: keys to join on, filters worth knowing.",
            "limitations": "TODO: what it does not cover, known gaps and delays.",
        },
        "tags": [domain],
        "team": [{"username": owner or getpass.getuser(), "role": "owner"}],
        "servers": [dict(profile.server)],
        "schema": [obj],
        "customProperties": [
            {"property": "generatedBy", "value": "meshlab init"},
            {"property": "rowsWhenDrafted", "value": profile.rows},
        ],
    }


def _target(domain: str, name: str, mesh: str | None, output: str | None) -> str:
    """Where the contract goes: ``output``, else the domain's folder of the mesh, else here."""
    if output:
        return os.path.abspath(output)
    manifest = mesh or ("mesh.yaml" if os.path.isfile("mesh.yaml") else None)
    if manifest is None:
        return os.path.abspath(f"{name}.odcs.yaml")
    from meshlab.catalog.loader import read_manifest

    domains = dict(read_manifest(manifest).domains)
    if domain not in domains:
        listed = ", ".join(sorted(domains)) or "none"
        raise InitError(
            f"domain '{domain}' is not in {manifest} (domains: {listed}); add '{domain}: domains/{domain}' under domains:"
        )
    folder = domains[domain]
    if "://" in folder:
        raise InitError(f"domain '{domain}' lives at {folder}: write the contract with --output and upload it")
    return os.path.join(folder, f"{name}.odcs.yaml")


def _relative_server(server: dict, contract_path: str) -> dict:
    server = dict(server)
    path = server.get("path")
    if path and "://" not in path and os.path.isabs(path):
        server["path"] = posixpath.relpath(path, os.path.dirname(contract_path)).replace(os.sep, "/")
    return server


def init_contract(
    data: str,
    domain: str,
    name: str,
    owner: str | None = None,
    mesh: str | None = None,
    output: str | None = None,
    force: bool = False,
) -> str:
    """Profile ``data`` and write its draft contract; return the contract's path.

    Parameters
    ----------
    data
        Files (path, glob, folder or URL) or a database table URL; see
        :mod:`meshlab.authoring.inspect_data`.
    domain, name
        The dataset's address will be ``domain.name``.
    owner
        The owner's username (default: the current user).
    mesh
        The mesh whose domain folder receives the contract (default ``./mesh.yaml`` if present).
    output
        Write here instead.
    force
        Replace an existing contract.
    """
    if not name.isidentifier() or not domain.isidentifier():
        raise InitError(f"domain and name must be plain identifiers (letters, digits, _), not '{domain}.{name}'")
    target = _target(domain, name, mesh, output)
    if os.path.exists(target) and not force:
        raise InitError(f"{target} exists: choose another --name, or --output")
    profile = inspect_data(data)
    contract = draft_contract(profile, domain, name, owner)
    contract["servers"] = [_relative_server(profile.server, target)]
    notes = "".join(f"# {note}\n" for note in profile.notes)
    header = (
        f"# Draft contract of {domain}.{name}, written by `meshlab init` from {shown_location(data)}.\n"
        "# Fill in every TODO, review the suggested quality rules, then set status: active.\n"
        f"{notes}"
    )
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(header + yaml.safe_dump(contract, sort_keys=False, allow_unicode=True, width=100))
    return target
