"""``meshlab diff OLD NEW``: what changed between two versions of a contract, and what breaks.

Breaking: a dataset or column removed; a type narrowed or changed (widening
``integer`` -> ``number``, ``date`` -> ``timestamp`` or a longer ``VARCHAR(n)``
is not); ``required``, ``unique`` or a primary key added; a quality rule added
or tightened (a smaller allowed range, fewer valid values, more missing
values); a freshness promise tightened; a relationship added; the contract
retired. Everything else (descriptions, added columns, loosened rules, a moved
server) is reported as a non-breaking change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from meshlab.catalog.contract import listed
from meshlab.catalog.positions import read_located
from meshlab.catalog.types import INTEGER_WIDTHS, WIDENINGS
from meshlab.quality.freshness import LATENCY_NAMES, UNITS
from meshlab.quality.rules import OPERATOR_ALIASES, v31_rule_form

SIZED = re.compile(r"^\s*([A-Z ]+?)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)\s*$")


@dataclass(frozen=True)
class Change:
    """One difference between the two contracts."""

    breaking: bool
    where: str
    message: str

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'change  '} {self.where}: {self.message}"

    def to_dict(self) -> dict:
        return {"breaking": self.breaking, "where": self.where, "message": self.message}


def _by_name(items: Any) -> dict[str, dict]:
    return {str(i["name"]): i for i in listed(items) if isinstance(i, dict) and i.get("name") is not None}


def _physical_narrowed(old: str | None, new: str | None) -> bool | None:
    """True when ``new`` holds fewer values than ``old``, False when as many or more, None when unrelated."""
    old, new = (str(old) if old else None), (str(new) if new else None)
    if not old or not new or old.upper() == new.upper():
        return False if old and new else None
    a, b = old.upper().strip(), new.upper().strip()
    if a in INTEGER_WIDTHS and b in INTEGER_WIDTHS:
        return INTEGER_WIDTHS[b] < INTEGER_WIDTHS[a]
    ma, mb = SIZED.match(a), SIZED.match(b)
    if ma and mb and ma.group(1) == mb.group(1):
        sizes_a = [int(x) for x in ma.groups()[1:] if x is not None]
        sizes_b = [int(x) for x in mb.groups()[1:] if x is not None]
        return any(y < x for x, y in zip(sizes_a, sizes_b))
    return None


def _column_changes(where: str, old: dict, new: dict) -> list[Change]:
    out = []
    lo, ln = str(old.get("logicalType", "string")), str(new.get("logicalType", "string"))
    if lo != ln:
        widened = (lo, ln) in WIDENINGS
        out.append(
            Change(not widened, where, f"logicalType {lo} -> {ln} ({'widened' if widened else 'narrowed or changed'})")
        )
    narrowed = _physical_narrowed(old.get("physicalType"), new.get("physicalType"))
    if narrowed is not None and old.get("physicalType") != new.get("physicalType"):
        verdict = "narrowed" if narrowed else "widened"
        out.append(
            Change(narrowed, where, f"physicalType {old.get('physicalType')} -> {new.get('physicalType')} ({verdict})")
        )
    elif narrowed is None and old.get("physicalType") != new.get("physicalType") and lo == ln:
        out.append(Change(False, where, f"physicalType {old.get('physicalType')} -> {new.get('physicalType')}"))
    for key, label in (("required", "required"), ("unique", "unique"), ("primaryKey", "primary key")):
        before, after = bool(old.get(key)), bool(new.get(key))
        if before != after:
            out.append(Change(after, where, f"{label} {'added' if after else 'dropped'}"))
    for key in ("description", "classification"):
        if old.get(key) != new.get(key):
            out.append(Change(False, where, f"{key} changed"))
    out += _relationship_changes(where, old.get("relationships"), new.get("relationships"))
    return out


def _relationship_changes(where: str, old: Any, new: Any) -> list[Change]:
    key = lambda r: (str(r.get("from", "")), str(r.get("to", "")))  # noqa: E731
    before = {key(r) for r in listed(old) if isinstance(r, dict)}
    after = {key(r) for r in listed(new) if isinstance(r, dict)}
    return [Change(True, where, f"relationship to {to} added") for _, to in sorted(after - before)] + [
        Change(False, where, f"relationship to {to} dropped") for _, to in sorted(before - after)
    ]


# -- quality rules -------------------------------------------------------------------
def _arguments(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule's ``arguments`` mapping (empty when it has none, or something else)."""
    arguments = rule.get("arguments")
    return arguments if isinstance(arguments, dict) else {}


def _rule_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    arguments = _arguments(rule)
    keys = tuple(map(str, listed(arguments.get("properties"))))
    return tuple(
        v if v is None or isinstance(v, str | tuple) else str(v)
        for v in (rule.get("type") or "library", rule.get("metric") or rule.get("rule"), rule.get("name"), keys,
                  rule.get("query"))
    )  # fmt: skip


def _allowed(rule: dict) -> tuple[float, float] | None:
    """The closed interval a rule's value may lie in, or None when it is no interval (≠, not between)."""
    low, high = -math.inf, math.inf
    for key, value in rule.items():
        key = OPERATOR_ALIASES.get(key, key)
        if key in ("mustNotBe", "mustNotBeBetween"):
            return None
        numbers = value if isinstance(value, list) else [value]
        if str(key).startswith("must") and not all(isinstance(v, (int, float)) for v in numbers):
            return None
        if key == "mustBe":
            low, high = max(low, value), min(high, value)
        elif key in ("mustBeGreaterThan", "mustBeGreaterOrEqualTo"):
            low = max(low, value + (1e-9 if key == "mustBeGreaterThan" else 0))
        elif key in ("mustBeLessThan", "mustBeLessOrEqualTo"):
            high = min(high, value - (1e-9 if key == "mustBeLessThan" else 0))
        elif key == "mustBeBetween" and isinstance(value, list) and len(value) == 2:
            low, high = max(low, min(value)), min(high, max(value))
    return low, high


def _rule_changes(where: str, old: dict, new: dict) -> list[Change]:
    out = []
    if (old.get("unit") or "rows") != (new.get("unit") or "rows"):
        out.append(Change(True, where, f"unit {old.get('unit') or 'rows'} -> {new.get('unit') or 'rows'}"))
    a, b = _allowed(old), _allowed(new)
    if a != b:
        if a is not None and b is not None and a[0] <= b[0] and b[1] <= a[1]:
            out.append(Change(True, where, "threshold tightened"))
        elif a is not None and b is not None and b[0] <= a[0] and a[1] <= b[1]:
            out.append(Change(False, where, "threshold loosened"))
        else:
            out.append(Change(True, where, "threshold changed"))
    args_a, args_b = _arguments(old), _arguments(new)
    for key, tighter in (("validValues", "fewer valid values"), ("missingValues", "more values count as missing")):
        va, vb = set(map(str, listed(args_a.get(key)))), set(map(str, listed(args_b.get(key))))
        if va != vb:
            tightened = vb < va if key == "validValues" else va < vb
            out.append(
                Change(tightened or not (va <= vb or vb <= va), where, f"{key}: {tighter if tightened else 'changed'}")
            )
    if args_a.get("pattern") != args_b.get("pattern"):
        out.append(Change(True, where, f"pattern {args_a.get('pattern')!r} -> {args_b.get('pattern')!r}"))
    return out


def _rules_changes(where: str, old: Any, new: Any) -> list[Change]:
    # v3.0 rules (``rule: nullCheck``) compare in their v3.1 form: a migration is no change.
    before = {_rule_key(r): r for r in map(v31_rule_form, listed(old)) if isinstance(r, dict)}
    after = {_rule_key(r): r for r in map(v31_rule_form, listed(new)) if isinstance(r, dict)}
    out = []
    for key, rule in after.items():
        label = f"{where}.quality[{key[1] or key[2] or key[0]}]"
        if key not in before:
            runs = rule.get("type") not in ("text", "custom")
            out.append(Change(runs, label, "rule added" + (" (tightened)" if runs else "")))
        else:
            out += _rule_changes(label, before[key], rule)
    out += [
        Change(False, f"{where}.quality[{key[1] or key[2] or key[0]}]", "rule removed (loosened)")
        for key in before
        if key not in after
    ]
    return out


# -- the whole contract --------------------------------------------------------------
def _latency(contract: dict) -> dict[str, float]:
    found = {}
    for item in listed(contract.get("slaProperties")):
        if isinstance(item, dict) and str(item.get("property", "")).lower() in LATENCY_NAMES:
            unit = UNITS.get(str(item.get("unit") or "").lower())
            if unit and isinstance(item.get("value"), (int, float)):
                found[str(item.get("element"))] = item["value"] * unit
    return found


def _contract_changes(old: dict, new: dict) -> list[Change]:
    out = []
    if old.get("apiVersion") != new.get("apiVersion"):
        out.append(Change(False, "apiVersion", f"{old.get('apiVersion')} -> {new.get('apiVersion')}"))
    if old.get("status") != new.get("status"):
        retired = new.get("status") == "retired"
        out.append(Change(retired, "status", f"{old.get('status')} -> {new.get('status')}"))
    old_servers = {str(s.get("server")): s for s in listed(old.get("servers")) if isinstance(s, dict)}
    for name, server in ((str(s.get("server")), s) for s in listed(new.get("servers")) if isinstance(s, dict)):
        if name in old_servers and old_servers[name] != server:
            out.append(Change(False, f"servers[{name}]", "server moved or reconfigured"))
    la, lb = _latency(old), _latency(new)
    for element in sorted(set(la) & set(lb)):
        if la[element] != lb[element]:
            tightened = lb[element] < la[element]
            out.append(Change(tightened, f"slaProperties[latency {element}]", "tightened" if tightened else "loosened"))
    for element in sorted(set(lb) - set(la)):
        out.append(Change(True, f"slaProperties[latency {element}]", "freshness promise added"))
    return out


def diff_contracts(old: dict, new: dict) -> list[Change]:
    """Every change from ``old`` to ``new`` (parsed contracts), breaking ones flagged."""
    out = _contract_changes(old, new)
    old_objects, new_objects = _by_name(old.get("schema")), _by_name(new.get("schema"))
    for name, obj in old_objects.items():
        where = f"schema[{name}]"
        if name not in new_objects:
            out.append(Change(True, where, "dataset removed"))
            continue
        other = new_objects[name]
        old_props, new_props = _by_name(obj.get("properties")), _by_name(other.get("properties"))
        for column, prop in old_props.items():
            if column not in new_props:
                out.append(Change(True, f"{where}.{column}", "column removed"))
            else:
                out += _column_changes(f"{where}.{column}", prop, new_props[column])
                out += _rules_changes(f"{where}.{column}", prop.get("quality"), new_props[column].get("quality"))
        for column in new_props.keys() - old_props.keys():
            required = bool(new_props[column].get("required"))
            out.append(Change(False, f"{where}.{column}", "column added" + (" (required)" if required else "")))
        out += _rules_changes(where, obj.get("quality"), other.get("quality"))
        out += _relationship_changes(where, obj.get("relationships"), other.get("relationships"))
    out += [Change(False, f"schema[{name}]", "dataset added") for name in new_objects.keys() - old_objects.keys()]
    return out + _version_note(old, new, any(c.breaking for c in out))


def _version_note(old: dict, new: dict, breaking: bool) -> list[Change]:
    va, vb = str(old.get("version", "")), str(new.get("version", ""))

    def compatible_line(version: str) -> tuple[str, ...]:
        # Semantic versioning: 1.x.y keeps 1; 0.x.y promises nothing across minors, so 0.x is the line.
        parts = version.lstrip("v").split(".")
        return tuple(parts[:2]) if parts[0] == "0" else tuple(parts[:1])

    if breaking and compatible_line(va) == compatible_line(vb):
        wanted = "minor" if va.lstrip("v").startswith("0.") else "major"
        return [Change(False, "version", f"{va} -> {vb}: breaking changes call for a new {wanted} version")]
    return []


def diff_files(old_path: str, new_path: str) -> list[Change]:
    """:func:`diff_contracts` of two contract files."""
    old, new = read_located(old_path).data, read_located(new_path).data
    return diff_contracts(old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {})
