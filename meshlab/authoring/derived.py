"""Publish a query's result as a derived data product (``%%mesh --save domain.name``).

The rows go to ``<domain folder>/data/<name>.parquet`` and a draft contract to
``<domain folder>/<name>.odcs.yaml``, generated from the query: the schema
from the result's types, each column's lineage from ``Result.lineage``
(ODCS ``transformSourceObjects``, ``transformLogic`` and
``transformDescription``), the description and the ``sourceQuery`` from the SQL.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import uuid
from typing import TYPE_CHECKING, Protocol

import sqlglot
import yaml
from sqlglot import exp

from meshlab.authoring.init_contract import ID_NAMESPACE
from meshlab.catalog.types import odcs_types
from meshlab.errors import MeshError
from meshlab.planner.parse import READ_DIALECT

if TYPE_CHECKING:
    from meshlab.catalog import Catalog
    from meshlab.result import Result


class PublishingMesh(Protocol):
    """What saving a product needs of a mesh (``Mesh`` provides it): the whole catalog, for
    the domains' folders and the addresses already taken, whatever the role sees."""

    @property
    def full_catalog(self) -> Catalog: ...


class SaveError(MeshError):
    """A result cannot be saved as the product asked for (the message says why)."""


def _expressions(sql: str) -> dict[str, str]:
    """Output column -> the SQL expression computing it (outermost SELECT)."""
    try:
        tree = sqlglot.parse_one(sql, read=READ_DIALECT)
    except sqlglot.errors.SqlglotError:
        return {}
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if not isinstance(tree, exp.Select):
        return {}
    return {e.alias_or_name: e.unalias().sql(dialect=READ_DIALECT) for e in tree.expressions}


def _folder(mesh: PublishingMesh, domain: str) -> str:
    domains = dict(mesh.full_catalog.manifest.domains)
    if domain not in domains:
        raise SaveError(f"domain '{domain}' is not in the mesh (domains: {', '.join(sorted(domains))})")
    folder = domains[domain]
    if "://" in folder or not os.path.isdir(folder):
        raise SaveError(f"domain '{domain}' lives at {folder}: save needs a local domain folder")
    return folder


def _properties(result: Result, sql: str) -> list[dict]:
    """One property per result column: its type, and its lineage in ODCS ``transform*`` fields."""
    lineage = result.lineage
    logic = _expressions(sql)
    properties = []
    for column, dtype in result.df.schema.items():
        logical, physical = odcs_types(dtype)
        sources = lineage.columns.get(column, [])
        kind = lineage.kinds.get(column, "identity")
        origin = f"{kind} of {', '.join(sources)}" if sources else f"{kind}, computed without a source column"
        prop = {
            "name": column,
            "logicalType": logical,
            "physicalType": physical,
            "required": result.df[column].null_count() == 0,
            "description": f"{column}: {origin}.",
            "transformSourceObjects": list(sources),
            "transformDescription": kind,
        }
        if column in logic:
            prop["transformLogic"] = logic[column]
        properties.append(prop)
    return properties


def derived_contract(result: Result, domain: str, name: str, sql: str, owner: str | None = None) -> dict:
    """The draft contract of ``result`` saved as ``domain.name`` (plain data)."""
    lineage = result.lineage
    sources = ", ".join(lineage.datasets) or "no dataset"
    today = dt.date.today().isoformat()
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
            "purpose": f"Derived from {sources} by a query (saved from a notebook with %%mesh --save).",
            "usage": "TODO: who should use it, and how.",
            "limitations": f"A snapshot of the query's result on {today}; rerun the query to refresh it.",
        },
        "tags": ["derived", *dict.fromkeys(a.split(".")[0] for a in lineage.datasets)],
        "team": [{"username": owner or getpass.getuser(), "role": "owner"}],
        "servers": [{"server": "derived", "type": "local", "format": "parquet", "path": f"data/{name}.parquet"}],
        "schema": [
            {
                "name": name,
                "physicalName": name,
                "description": f"One row per row of the query's result ({result.df.height:,} rows when saved).",
                "properties": _properties(result, sql),
                "quality": [{"type": "library", "metric": "rowCount", "mustBeGreaterThan": 0}],
            }
        ],
        "customProperties": [
            {"property": "sourceQuery", "value": sql.strip()},
            {"property": "derivedFrom", "value": list(lineage.datasets)},
            {"property": "generatedBy", "value": "meshlab %%mesh --save"},
        ],
    }


def save_derived(mesh: PublishingMesh, result: Result, address: str, sql: str, owner: str | None = None) -> str:
    """Write ``result`` and its draft contract as the product ``address`` (``domain.name``).

    Returns
    -------
    str
        The path of the written contract.
    """
    parts = address.split(".")
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        raise SaveError(f"--save needs DOMAIN.NAME (plain identifiers), not '{address}'")
    domain, name = parts
    taken = [d.address for d in mesh.full_catalog.datasets if d.address.lower() == address.lower()]
    contract_path = os.path.join(_folder(mesh, domain), f"{name}.odcs.yaml")
    if taken and not os.path.exists(contract_path):
        raise SaveError(f"'{address}' is already a dataset of another contract: choose another name")
    os.makedirs(os.path.join(os.path.dirname(contract_path), "data"), exist_ok=True)
    result.df.write_parquet(os.path.join(os.path.dirname(contract_path), "data", f"{name}.parquet"))
    contract = derived_contract(result, domain, name, sql, owner)
    header = f"# Derived data product {address}, saved by meshlab from a notebook query. Review the TODOs.\n"
    with open(contract_path, "w", encoding="utf-8") as handle:
        handle.write(header + yaml.safe_dump(contract, sort_keys=False, allow_unicode=True, width=100))
    return contract_path
