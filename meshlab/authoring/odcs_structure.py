"""The ODCS v3 structure a contract must have, checked field by field with line numbers.

meshlab's own reading of the standard (v3.0.x and v3.1.0): required fields,
value types, enumerations, and references inside the contract (servers named
by schema objects, columns named by rules, SLA elements and relationships).
References to other datasets of the mesh are checked by :mod:`meshlab.authoring.lint`.
Each finding is a :class:`Finding` at a path of the document.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from meshlab.authoring.positions import LocatedDocument
from meshlab.catalog.contract import DATABASE_SERVER_TYPES, FILE_FORMATS, FILE_SERVER_TYPES, LOGICAL_TYPES, STATUSES
from meshlab.catalog.contract import SUPPORTED_API_VERSIONS as API_VERSIONS
from meshlab.quality.freshness import LATENCY_NAMES, UNITS
from meshlab.quality.rules import METRICS, OPERATOR_ALIASES, OPERATORS, RULE_TYPES

TOP_LEVEL = (
    "apiVersion", "kind", "id", "name", "version", "status", "tenant", "domain", "dataProduct", "description",
    "tags", "servers", "schema", "support", "price", "team", "roles", "slaDefaultElement", "slaProperties",
    "authoritativeDefinitions", "customProperties", "contractCreatedTs",
)  # fmt: skip
REQUIRED = ("apiVersion", "kind", "id", "version", "status")
STRINGS = ("id", "name", "version", "status", "tenant", "domain", "dataProduct", "slaDefaultElement")
ODCS_SERVER_TYPES = (
    "api", "athena", "azure", "bigquery", "clickhouse", "databricks", "denodo", "dremio", "duckdb", "glue",
    "cloudsql", "db2", "hive", "informix", "kafka", "kinesis", "local", "mysql", "oracle", "postgresql",
    "postgres", "presto", "pubsub", "redshift", "s3", "sftp", "snowflake", "sqlserver", "synapse", "trino",
    "vertica", "custom",
)  # fmt: skip
READABLE_SERVER_TYPES = FILE_SERVER_TYPES + DATABASE_SERVER_TYPES
DIMENSIONS = ("accuracy", "completeness", "conformity", "consistency", "coverage", "timeliness", "uniqueness")
BOOLEAN_FIELDS = ("required", "unique", "primaryKey", "partitioned", "criticalDataElement")
INTEGER_FIELDS = ("primaryKeyPosition", "partitionKeyPosition")


@dataclass(frozen=True)
class Finding:
    """One problem at ``where`` in a document."""

    where: tuple
    severity: str  # error | warning
    message: str


def _suggest(value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Checker:
    def __init__(self, document: LocatedDocument):
        self.doc = document
        self.found: list[Finding] = []

    def error(self, where: tuple, message: str) -> None:
        self.found.append(Finding(where, "error", message))

    def warning(self, where: tuple, message: str) -> None:
        self.found.append(Finding(where, "warning", message))

    def typed(self, value: Any, kind: type | tuple, where: tuple, what: str) -> bool:
        if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.error(where, f"must be {what}, not a boolean")
            return False
        if not isinstance(value, kind):
            hint = "; quote it" if what == "a string" and isinstance(value, (int, float)) else ""
            self.error(where, f"must be {what}, not {type(value).__name__} {value!r}{hint}")
            return False
        return True

    def enum(self, value: Any, known: tuple[str, ...], where: tuple, what: str, severity: str = "error") -> None:
        if value not in known:
            message = f"unknown {what} '{value}' (known: {', '.join(known)}){_suggest(value, known)}"
            (self.error if severity == "error" else self.warning)(where, message)

    def listed(self, raw: dict, key: str, where: tuple) -> list:
        value = raw.get(key)
        if value is None:
            return []
        return value if self.typed(value, list, (*where, key), "a list") else []


def check_document(document: LocatedDocument) -> list[Finding]:
    """Every structural finding of one contract document."""
    checker = _Checker(document)
    raw = document.data
    if not isinstance(raw, dict):
        checker.error((), "a contract must be a YAML mapping")
        return checker.found
    _top_level(checker, raw)
    servers = _servers(checker, raw)
    objects = _schema(checker, raw, servers)
    _sla(checker, raw, objects)
    _team(checker, raw)
    _custom_properties(checker, raw.get("customProperties"), ("customProperties",))
    return checker.found


def _top_level(c: _Checker, raw: dict) -> None:
    for key in REQUIRED:
        if raw.get(key) in (None, ""):
            c.error((key,) if key in raw else (), f"required field '{key}' is missing")
    for key in raw:
        if key not in TOP_LEVEL:
            c.error((key,), f"unknown field '{key}' (ODCS allows no other top-level field; use customProperties)"
                    + _suggest(key, TOP_LEVEL))  # fmt: skip
    for key in STRINGS:
        if key in raw and raw[key] is not None:
            c.typed(raw[key], str, (key,), "a string")
    if "apiVersion" in raw:
        c.enum(raw["apiVersion"], API_VERSIONS, ("apiVersion",), "apiVersion")
    if "kind" in raw and raw["kind"] != "DataContract":
        c.error(("kind",), f"kind must be DataContract, not '{raw['kind']}'")
    if isinstance(raw.get("status"), str):
        c.enum(raw["status"], STATUSES, ("status",), "status")
    description = raw.get("description")
    if isinstance(description, dict):
        for key in description:
            c.enum(key, ("usage", "purpose", "limitations", "authoritativeDefinitions", "customProperties"),
                   ("description", key), "description field")  # fmt: skip
    elif description is not None and not isinstance(description, str):
        c.error(("description",), "must be a mapping of purpose, usage and limitations")
    for i, tag in enumerate(c.listed(raw, "tags", ())):
        c.typed(tag, str, ("tags", i), "a string")


def _servers(c: _Checker, raw: dict) -> set[str]:
    names: set[str] = set()
    servers = c.listed(raw, "servers", ())
    if "servers" not in raw:
        c.error((), "no servers: meshlab needs one to read the data (required field 'servers' is missing)")
    elif not servers:
        c.error(("servers",), "servers must list at least one server")
    for i, server in enumerate(servers):
        where = ("servers", i)
        if not c.typed(server, dict, where, "a mapping"):
            continue
        for key in ("server", "type"):
            if not server.get(key):
                c.error(where, f"required field '{key}' is missing")
        name = server.get("server")
        if name in names:
            c.error((*where, "server"), f"server name '{name}' is used twice")
        names.add(name)
        kind = str(server.get("type") or "").lower()
        if kind and kind not in READABLE_SERVER_TYPES:
            if kind in ODCS_SERVER_TYPES:
                c.warning((*where, "type"), f"meshlab cannot read servers of type '{kind}' (it reads "
                          f"{', '.join(READABLE_SERVER_TYPES)})")  # fmt: skip
            else:
                c.enum(kind, ODCS_SERVER_TYPES + READABLE_SERVER_TYPES, (*where, "type"), "server type")
        if kind in FILE_SERVER_TYPES:
            if not (server.get("path") or server.get("location")):
                c.error(where, "a file server needs a path")
            if "format" not in server:
                c.error(where, f"a file server needs a format ({', '.join(FILE_FORMATS)})")
            else:
                c.enum(str(server["format"]).lower(), FILE_FORMATS, (*where, "format"), "format")
        if kind == "sqlite" and not server.get("path"):
            c.error(where, "a sqlite server needs the database file's path")
        if kind in ("postgres", "postgresql"):
            for key in ("host", "database"):
                if not server.get(key):
                    c.error(where, f"a postgres server needs '{key}'")
        if "port" in server:
            c.typed(server["port"], int, (*where, "port"), "an integer")
        _custom_properties(c, server.get("customProperties"), (*where, "customProperties"))
    return names


def _schema(c: _Checker, raw: dict, servers: set[str]) -> dict[str, set[str]]:
    """Check the schema; return object name -> its property names."""
    objects: dict[str, set[str]] = {}
    schema = c.listed(raw, "schema", ())
    if "schema" not in raw:
        c.error((), "required field 'schema' is missing: list the datasets")
    for i, obj in enumerate(schema):
        where = ("schema", i)
        if not c.typed(obj, dict, where, "a mapping"):
            continue
        name = obj.get("name")
        if not name:
            c.error(where, "required field 'name' is missing")
            continue
        if name in objects:
            c.error((*where, "name"), f"schema object '{name}' is defined twice")
        columns = objects.setdefault(str(name), set())
        if obj.get("server") is not None and obj["server"] not in servers:
            c.error((*where, "server"), f"server '{obj['server']}' is not one of this contract's servers"
                    + _suggest(str(obj["server"]), tuple(str(s) for s in servers)))  # fmt: skip
        for j, prop in enumerate(c.listed(obj, "properties", where)):
            _property(c, prop, (*where, "properties", j), columns)
        for k, rule in enumerate(c.listed(obj, "quality", where)):
            _rule(c, rule, (*where, "quality", k), columns, on_property=False)
        for k, rel in enumerate(c.listed(obj, "relationships", where)):
            _relationship(c, rel, (*where, "relationships", k), property_level=False)
    for i, obj in enumerate(schema):  # rules may name any column of the object: check once all are known
        if isinstance(obj, dict) and obj.get("name"):
            _rule_columns(c, obj, ("schema", i), objects.get(str(obj["name"]), set()))
    return objects


def _property(c: _Checker, prop: Any, where: tuple, columns: set[str]) -> None:
    if not c.typed(prop, dict, where, "a mapping"):
        return
    name = prop.get("name")
    if not name:
        c.error(where, "required field 'name' is missing")
        return
    if name in columns:
        c.error((*where, "name"), f"property '{name}' is defined twice")
    columns.add(str(name))
    if "logicalType" in prop:
        c.enum(str(prop["logicalType"]).lower(), LOGICAL_TYPES, (*where, "logicalType"), "logicalType")
    for key in BOOLEAN_FIELDS:
        if key in prop:
            c.typed(prop[key], bool, (*where, key), "true or false")
    for key in INTEGER_FIELDS:
        if key in prop:
            c.typed(prop[key], int, (*where, key), "an integer")
    for key in ("physicalType", "classification", "description", "physicalName"):
        if prop.get(key) is not None:
            c.typed(prop[key], str, (*where, key), "a string")
    for k, rule in enumerate(c.listed(prop, "quality", where)):
        _rule(c, rule, (*where, "quality", k), columns, on_property=True)
    for k, rel in enumerate(c.listed(prop, "relationships", where)):
        _relationship(c, rel, (*where, "relationships", k), property_level=True)


def _rule(c: _Checker, rule: Any, where: tuple, columns: set[str], on_property: bool) -> None:
    if not c.typed(rule, dict, where, "a mapping"):
        return
    kind = rule.get("type") or ("library" if "metric" in rule or "rule" in rule else "library")
    c.enum(kind, RULE_TYPES, (*where, "type"), "quality type")
    if "dimension" in rule:
        c.enum(rule["dimension"], DIMENSIONS, (*where, "dimension"), "dimension")
    operators = [k for k in rule if isinstance(k, str) and k.startswith("must")]
    for key in operators:
        if key not in OPERATORS and key not in OPERATOR_ALIASES:
            c.error((*where, key), f"unknown operator '{key}'{_suggest(key, OPERATORS)}")
        elif key in ("mustBeBetween", "mustNotBeBetween"):
            value = rule[key]
            if not (isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)):
                c.error((*where, key), "must be a list of two numbers")
        elif kind != "sql" and not _number(rule[key]):
            c.error((*where, key), f"must be a number, not {rule[key]!r}")
    if kind == "library":
        metric = rule.get("metric", rule.get("rule"))
        if metric is None:
            c.error(where, "a library rule needs a metric")
        else:
            c.enum(metric, METRICS, (*where, "metric"), "metric")
        if not operators:
            c.error(where, f"no threshold: give one of {', '.join(OPERATORS)}")
        if metric in ("nullValues", "missingValues", "invalidValues") and not on_property:
            c.error(where, f"{metric} belongs on a property")
        arguments = rule.get("arguments") or {}
        if isinstance(arguments, dict) and "pattern" in arguments:
            try:
                re.compile(str(arguments["pattern"]))
            except re.error as exc:
                c.error((*where, "arguments", "pattern"), f"not a valid regular expression: {exc}")
        if metric == "invalidValues" and not ({"validValues", "pattern"} & set(arguments)):
            c.error(where, "invalidValues needs arguments.validValues or arguments.pattern")
    elif kind == "sql":
        if not isinstance(rule.get("query"), str) or not rule["query"].strip():
            c.error(where, "a sql rule needs a query")
        if not operators:
            c.error(where, f"no threshold: give one of {', '.join(OPERATORS)}")
    elif kind == "custom":
        for key in ("engine", "implementation"):
            if key not in rule:
                c.error(where, f"a custom rule needs '{key}'")
    if "unit" in rule and str(rule["unit"]).lower() not in ("rows", "percent"):
        c.warning((*where, "unit"), f"meshlab reads units rows and percent, not '{rule['unit']}'")


def _rule_columns(c: _Checker, obj: dict, where: tuple, columns: set[str]) -> None:
    for k, rule in enumerate(obj.get("quality") or ()):
        keys = (rule.get("arguments") or {}).get("properties") if isinstance(rule, dict) else None
        if isinstance(rule, dict) and isinstance(rule.get("arguments"), dict) and keys is not None:
            if not isinstance(keys, list):
                c.error((*where, "quality", k, "arguments", "properties"), "must be a list of property names")
                continue
            for key in keys:
                if key not in columns:
                    c.error((*where, "quality", k, "arguments", "properties"),
                            f"'{key}' is not a property of {obj['name']}" + _suggest(str(key), tuple(columns)))  # fmt: skip


def _relationship(c: _Checker, rel: Any, where: tuple, property_level: bool) -> None:
    if not c.typed(rel, dict, where, "a mapping"):
        return
    if "to" not in rel:
        c.error(where, "a relationship needs 'to'")
    if property_level and "from" in rel:
        c.error((*where, "from"), "'from' is not allowed on a property: the property is the source")
    if not property_level and "from" not in rel:
        c.error(where, "a relationship on a schema object needs 'from'")
    if "type" in rel and rel["type"] != "foreignKey":
        c.error((*where, "type"), f"unknown relationship type '{rel['type']}' (known: foreignKey)")
    if isinstance(rel.get("from"), list) != isinstance(rel.get("to"), list) and not property_level:
        c.error(where, "'from' and 'to' must both be strings or both be lists")


def _sla(c: _Checker, raw: dict, objects: dict[str, set[str]]) -> None:
    for i, item in enumerate(c.listed(raw, "slaProperties", ())):
        where = ("slaProperties", i)
        if not c.typed(item, dict, where, "a mapping"):
            continue
        for key in ("property", "value"):
            if key not in item:
                c.error(where, f"required field '{key}' is missing")
        if str(item.get("property", "")).lower() in LATENCY_NAMES:
            unit = str(item.get("unit") or "").lower()
            if unit not in UNITS:
                c.error((*where, "unit"), f"latency needs a time unit (d, h, min, s…), not '{item.get('unit')}'")
        element = item.get("element")
        for part in str(element).split(",") if element else ():
            obj, _, column = part.strip().rpartition(".")
            targets = [obj] if obj else list(objects)
            if obj and obj not in objects:
                c.error((*where, "element"), f"'{part.strip()}' names no schema object" + _suggest(obj, tuple(objects)))
            elif not any(column in objects.get(t, ()) for t in targets):
                c.error((*where, "element"), f"'{part.strip()}' names no property")


def _team(c: _Checker, raw: dict) -> None:
    team = raw.get("team")
    members = team.get("members", []) if isinstance(team, dict) else team
    if team is not None and not isinstance(members, list):
        c.error(("team",), "must be a list of members (or a mapping with members)")
        return
    base = ("team", "members") if isinstance(team, dict) else ("team",)
    for i, member in enumerate(members or ()):
        if c.typed(member, dict, (*base, i), "a mapping") and not member.get("username"):
            c.error((*base, i), "a team member needs a username")


def _custom_properties(c: _Checker, value: Any, where: tuple) -> None:
    if value is None or isinstance(value, dict):
        return
    if not c.typed(value, list, where, "a list of {property, value}"):
        return
    for i, item in enumerate(value):
        if c.typed(item, dict, (*where, i), "a mapping") and ("property" not in item or "value" not in item):
            c.error((*where, i), "a custom property needs 'property' and 'value'")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
