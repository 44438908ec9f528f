"""Validity of a contract: the official ODCS JSON schema of its declared ``apiVersion``.

The schemas of every published v3 version travel with meshlab as package data
(``meshlab/catalog/odcs_schemas/``, Apache-2.0, unchanged) and are applied with
the ``jsonschema`` library (Draft 2019-09, as the schemas declare). Each
top-level violation is one :class:`Violation`, so a count of violations is the
count the official schema gives; its message is made readable (the deepest
cause of a ``oneOf``, "did you mean" for unknown fields and values).

>>> [v.message for v in violations({"apiVersion": "v3.1.0", "kind": "DataContract",
...                                 "id": "x", "version": "1", "status": "draft", "nmae": "x"})]
["unknown field 'nmae'; did you mean 'name'?"]
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: apiVersion -> schema file shipped in meshlab/catalog/odcs_schemas/
SCHEMA_FILES = {
    "v3.0.0": "odcs-json-schema-v3.0.0.json",
    "v3.0.1": "odcs-json-schema-v3.0.1.json",
    "v3.0.2": "odcs-json-schema-v3.0.2.json",
    "v3.1.0": "odcs-json-schema-v3.1.0.json",
}
API_VERSIONS = tuple(SCHEMA_FILES)
LATEST = "v3.1.0"


@dataclass(frozen=True)
class Violation:
    """One place where a document breaks the official schema."""

    where: tuple
    message: str


@functools.cache
def schema(version: str) -> dict[str, Any]:
    """The official JSON schema of ``version`` (a key of :data:`SCHEMA_FILES`)."""
    text = resources.files("meshlab.catalog").joinpath("odcs_schemas", SCHEMA_FILES[version]).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.cache
def _validator(version: str):
    import jsonschema

    return jsonschema.Draft201909Validator(schema(version))


@functools.cache
def _field_names(version: str) -> tuple[str, ...]:
    """Every field name the schema knows anywhere, for "did you mean"."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(k for k in node.get("properties", {}) if isinstance(node.get("properties"), dict))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema(version))
    return tuple(sorted(names))


def as_json(value: Any) -> Any:
    """``value`` as JSON data: YAML dates and timestamps become ISO strings, keys strings.

    The official schema is written for JSON; YAML's implicit dates
    (``contractCreatedTs: 2024-01-01``) are strings there.
    """
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def _did_you_mean(value: str, known) -> str:
    close = difflib.get_close_matches(str(value), [str(k) for k in known], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _deepest(error):
    """The most telling cause of a ``oneOf``/``anyOf`` failure."""
    from jsonschema.exceptions import best_match

    while error.context:
        # A branch refused for its type is the wrong branch: prefer what the right one says.
        fitting = [e for e in error.context if e.validator != "type"] or error.context
        deeper = best_match(fitting)
        if deeper is None or deeper is error:
            break
        error = deeper
    return error


def _describe(error, version: str) -> Violation:
    where = tuple(error.absolute_path)
    kind = error.validator
    if kind in ("additionalProperties", "unevaluatedProperties"):
        extra = re.findall(r"'([^']*)'", error.message.split("(", 1)[-1]) or ["?"]
        known = list(error.schema.get("properties", {})) or _field_names(version)
        if len(extra) > 1:
            names = ", ".join(f"'{e}'" for e in extra)
            return Violation(where, f"fields {names} are not allowed here (no form of this object has them all)")
        if extra[0] in known:  # a known field left unevaluated: its value fits none of the object's forms
            return Violation((*where, extra[0]), f"field '{extra[0]}' does not fit any form of this object")
        return Violation((*where, extra[0]), f"unknown field '{extra[0]}'{_did_you_mean(extra[0], known)}")
    if kind == "required":
        missing = re.findall(r"'([^']*)'", error.message)
        return Violation(where, f"required field '{missing[0] if missing else error.message}' is missing")
    if (
        kind == "pattern"
        and where
        and where[-1] in ("to", "from")
        or kind == "pattern"
        and len(where) > 1
        and where[-2] in ("to", "from")
    ):
        return Violation(where, f"'{error.instance}' is neither object.property nor "
                         "[file.yaml#]/schema/<object>/properties/<property>")  # fmt: skip
    if kind == "not" and isinstance(error.validator_value, dict) and "required" in error.validator_value:
        names = ", ".join(f"'{n}'" for n in error.validator_value["required"])
        return Violation(where, f"field {names} is not allowed here")
    if kind == "enum":
        known = error.validator_value
        shown = ", ".join(str(k) for k in known[:12]) + (", …" if len(known) > 12 else "")
        return Violation(where, f"'{error.instance}' is not one of {shown}{_did_you_mean(error.instance, known)}")
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return Violation(where, f"must be {wanted}, not {type(error.instance).__name__} {error.instance!r}"[:300])
    return Violation(where, error.message[:300])


def violations(document: Any, version: str | None = None) -> list[Violation]:
    """Every top-level violation of the official schema by ``document``.

    Parameters
    ----------
    document
        The contract as parsed YAML.
    version
        The schema to apply; default: the document's own ``apiVersion``.

    Returns
    -------
    list of Violation
        Empty when the document is valid. An unknown ``apiVersion`` is one
        violation naming the versions meshlab knows.
    """
    if version is None:
        declared = document.get("apiVersion") if isinstance(document, dict) else None
        if not isinstance(declared, str) or declared not in SCHEMA_FILES:
            shown = ", ".join(API_VERSIONS)
            return [Violation(("apiVersion",), f"unknown apiVersion '{declared}' (known: {shown})")]
        version = declared
    found = []
    for error in _validator(version).iter_errors(as_json(document)):
        described = _describe(error, version)
        deep = _deepest(error)
        if deep is not error:
            cause = _describe(deep, version)
            described = Violation(cause.where, cause.message)
        found.append(described)
    return sorted(found, key=lambda v: [str(p) for p in v.where])


#: contracts with more properties than this are not validated (jsonschema takes ~1.2 ms a property)
MAX_VALIDATED_PROPERTIES = 10_000
_VERDICTS: dict[str, tuple[int, Violation | None]] = {}


def _property_count(document: dict) -> int:
    total, stack = 0, [document.get("schema")]
    while stack:
        value = stack.pop()
        for item in value if isinstance(value, list) else ():
            if isinstance(item, dict):
                total += 1
                stack.extend(item.get(k) for k in ("properties",) if isinstance(item.get(k), list))
                if isinstance(item.get("items"), dict):
                    stack.append(item["items"].get("properties"))
    return total


def verdict(document: Any) -> tuple[int, Violation | None] | None:
    """(number of violations, the first one) by the official schema, cached by content;
    None when the document is too large to validate in bounded time."""
    if isinstance(document, dict) and _property_count(document) > MAX_VALIDATED_PROPERTIES:
        return None
    import hashlib

    key = hashlib.sha256(json.dumps(as_json(document), sort_keys=True, default=str).encode()).hexdigest()
    if key not in _VERDICTS:
        found = violations(document)
        if len(_VERDICTS) > 4096:
            _VERDICTS.clear()
        _VERDICTS[key] = (len(found), found[0] if found else None)
    return _VERDICTS[key]


def is_valid(document: Any) -> bool:
    """Whether ``document`` is valid ODCS for its declared ``apiVersion``."""
    return not violations(document)
