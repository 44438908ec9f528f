"""A contract's findings: the official schema's verdict, then meshlab's own reading.

Three severities, kept apart:

``error``
    The document is not valid ODCS: one finding per violation of the official
    JSON schema of its declared ``apiVersion`` (:mod:`meshlab.catalog.odcs_schema`),
    so the count of errors is the count the official schema gives.
``warning``
    Valid ODCS that is probably a mistake: a rule or SLA naming a property
    that does not exist, a name used twice (with "did you mean").
``notice``
    Valid ODCS that meshlab cannot use here: no servers, a server type without
    a reader, a rule or option it does not evaluate. ``meshlab lint --strict``
    counts notices as failures.

References to other datasets of the mesh are checked by :mod:`meshlab.authoring.lint`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from meshlab.catalog.contract import not_queryable_reasons, property_rows
from meshlab.catalog.odcs_schema import violations
from meshlab.catalog.positions import LocatedDocument
from meshlab.quality.freshness import LATENCY_NAMES, UNITS
from meshlab.quality.rules import METRIC_ALIASES, METRICS
from meshlab.quality.type_options import EVALUATED

SEVERITIES = ("error", "warning", "notice")
#: contracts with more properties than this are not run through the official schema by lint:
#: the jsonschema library takes about 1.2 ms per property (12 s for 10,000)
MAX_VALIDATED_PROPERTIES = 10_000


@dataclass(frozen=True)
class Finding:
    """One finding at ``where`` in a document."""

    where: tuple
    severity: str  # error | warning | notice
    message: str


def _suggest(value: str, known) -> str:
    close = difflib.get_close_matches(str(value), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_document(document: LocatedDocument) -> list[Finding]:
    """Every finding of one contract document: schema errors, then warnings and notices."""
    raw = document.data
    if not isinstance(raw, dict):
        return [Finding((), "error", "a contract must be a YAML mapping")]
    size = sum(len(property_rows(o.get("properties"), ())) for o in _items(raw.get("schema")) if isinstance(o, dict))
    if size > MAX_VALIDATED_PROPERTIES:
        message = (f"{size:,} properties: not checked against the official schema (meshlab's limit is "
                   f"{MAX_VALIDATED_PROPERTIES:,} properties, about 12 s of validation)")  # fmt: skip
        found = [Finding(("schema",), "notice", message)]
    else:
        found = [Finding(v.where, "error", v.message) for v in violations(raw)]
    if raw.get("kind") != "DataContract" or found and found[0].where == ("apiVersion",):
        return found
    found += [Finding(where, "notice", message) for where, message in not_queryable_reasons(raw)]
    found += _semantic(raw)
    return found


def _semantic(raw: dict) -> list[Finding]:
    found: list[Finding] = []
    objects: dict[str, set[str]] = {}
    for i, obj in enumerate(_items(raw.get("schema"))):
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            continue
        where = ("schema", i)
        if obj["name"] in objects:
            found.append(Finding((*where, "name"), "warning", f"schema object '{obj['name']}' is defined twice"))
        columns = objects.setdefault(obj["name"], set())
        if isinstance(obj.get("physicalName"), str):  # SLA elements may name the physical table
            objects.setdefault(obj["physicalName"], columns)
        for path, prop in property_rows(obj.get("properties"), (*where, "properties")):
            name = str(prop.get("name"))
            if name in columns and len(path) == len(where) + 2:
                found.append(Finding((*path, "name"), "warning", f"property '{name}' is defined twice"))
            columns.add(name)
            if isinstance(prop.get("physicalName"), str):
                columns.add(prop["physicalName"])
            found += _rules(prop.get("quality"), (*path, "quality"), columns, on_property=True)
            options = prop.get("logicalTypeOptions")
            for option in options if isinstance(options, dict) and len(path) == len(where) + 2 else ():
                if option not in EVALUATED:
                    message = f"logicalTypeOptions.{option} is not evaluated by meshlab check"
                    found.append(Finding((*path, "logicalTypeOptions", option), "notice", message))
        found += _rules(obj.get("quality"), (*where, "quality"), columns, on_property=False)
    found += _sla(raw, objects)
    servers = [s.get("server") for s in _items(raw.get("servers")) if isinstance(s, dict)]
    for i, server in enumerate(servers):
        if server is not None and server in servers[:i]:
            found.append(Finding(("servers", i, "server"), "warning", f"server name '{server}' is used twice"))
    return found


def _items(value: Any) -> list:
    return value if isinstance(value, list) else []


def _rules(rules: Any, where: tuple, columns: set[str], on_property: bool) -> list[Finding]:
    found = []
    for k, rule in enumerate(_items(rules)):
        if not isinstance(rule, dict):
            continue
        at = (*where, k)
        kind = rule.get("type") or "library"
        metric = rule.get("metric", rule.get("rule"))
        if kind == "library" and metric is not None and METRIC_ALIASES.get(metric, metric) not in METRICS:
            known = (*METRICS, *METRIC_ALIASES)
            found.append(Finding(at, "notice", f"library rule '{metric}' is not evaluated by meshlab{_suggest(metric, known)}"))  # fmt: skip
        elif kind == "custom":
            found.append(
                Finding(at, "notice", f"custom rule (engine {rule.get('engine')}) is not evaluated by meshlab")
            )
        elif kind == "text":
            found.append(Finding(at, "notice", "text rule: for people, not evaluated"))
        arguments = rule.get("arguments")
        keys = arguments.get("properties") if isinstance(arguments, dict) else None
        for key in keys if isinstance(keys, list) else ():
            if str(key) not in columns:
                message = f"'{key}' is not a property of this object{_suggest(key, columns)}"
                found.append(Finding((*at, "arguments", "properties"), "warning", message))
    return found


def _sla(raw: dict, objects: dict[str, set[str]]) -> list[Finding]:
    found = []
    for i, item in enumerate(_items(raw.get("slaProperties"))):
        if not isinstance(item, dict):
            continue
        where = ("slaProperties", i)
        if str(item.get("property", "")).lower() in LATENCY_NAMES:
            unit = str(item.get("unit") or "").lower()
            if unit not in UNITS:
                message = f"latency unit '{item.get('unit')}' is not one meshlab measures (d, h, m, s…): not evaluated"
                found.append(Finding((*where, "unit"), "notice", message))
        element = item.get("element") or raw.get("slaDefaultElement")
        for part in str(element).split(",") if isinstance(element, str) else ():
            found += _element(part.strip(), objects, (*where, "element"))
    return found


def _element(part: str, objects: dict[str, set[str]], where: tuple) -> list[Finding]:
    """An SLA element names an object, or ``object.property``, or a property of the only object."""
    if part in objects or not part:
        return []
    obj, _, column = part.rpartition(".")
    if obj and obj not in objects:
        return [Finding(where, "warning", f"'{part}' names no schema object{_suggest(obj, objects)}")]
    targets = [obj] if obj else list(objects)
    if any(column in objects.get(t, ()) for t in targets):
        return []
    every = sorted(set().union(*objects.values())) if objects else []
    return [Finding(where, "warning", f"'{part}' names no property{_suggest(column, every)}")]
