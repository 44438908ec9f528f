"""ODCS ``quality`` rules -> frozen :class:`QualityRule` objects.

A rule may sit on a schema object (``schema[i].quality``) or on a property
(``schema[i].properties[j].quality``). Parsing never raises: a malformed rule
(unknown metric, bad operator, no threshold) becomes a rule whose ``problem``
says what is wrong, and the runner turns it into one ``error`` result that
names the contract file, line and field, while every other rule still runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from meshlab.catalog.contract import listed
from meshlab.catalog.positions import LocatedDocument, field_path

METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues", "rowCount")
# ODCS v3.0 library rule names (``rule: nullCheck``), read as the v3.1 metric.
METRIC_ALIASES = {
    "nullCheck": "nullValues",
    "notNull": "nullValues",
    "duplicateCount": "duplicateValues",
    "uniqueCheck": "duplicateValues",
    "countCheck": "rowCount",
    "validValues": "invalidValues",
    "missingCheck": "missingValues",
}
RULE_TYPES = ("library", "sql", "text", "custom")
UNITS = ("rows", "percent")
SYMBOLS = {
    "mustBe": "=",
    "mustNotBe": "≠",
    "mustBeGreaterThan": ">",
    "mustBeGreaterOrEqualTo": "≥",
    "mustBeLessThan": "<",
    "mustBeLessOrEqualTo": "≤",
    "mustBeBetween": "between",
    "mustNotBeBetween": "not between",
}
OPERATORS = tuple(SYMBOLS)
# Spellings of ODCS v3.0 and of other tools, read as the v3.1 operator.
OPERATOR_ALIASES = {
    "mustBeGreaterThanOrEqualTo": "mustBeGreaterOrEqualTo",
    "mustBeLessThanOrEqualTo": "mustBeLessOrEqualTo",
}


@dataclass(frozen=True)
class Threshold:
    """One comparison a measured value must pass, e.g. ``mustBeLessThan: 5``.

    Ranges (``mustBeBetween`` / ``mustNotBeBetween``) include both ends, as
    datacontract-cli and Soda read them.
    """

    operator: str
    value: float | tuple[float, float]

    def holds(self, observed: float) -> bool:
        """Whether ``observed`` passes this comparison."""
        v = self.value
        if isinstance(v, tuple):  # mustBeBetween / mustNotBeBetween
            low, high = v
            inside = low <= observed <= high
            return inside if self.operator == "mustBeBetween" else not inside
        if self.operator == "mustBe":
            return observed == v
        if self.operator == "mustNotBe":
            return observed != v
        if self.operator == "mustBeGreaterThan":
            return observed > v
        if self.operator == "mustBeGreaterOrEqualTo":
            return observed >= v
        if self.operator == "mustBeLessThan":
            return observed < v
        return observed <= v  # mustBeLessOrEqualTo

    def text(self) -> str:
        """``< 5``, ``between 0 and 100``: the expectation as people write it."""
        if isinstance(self.value, tuple):
            return f"{SYMBOLS[self.operator]} {_number(self.value[0])} and {_number(self.value[1])}"
        return f"{SYMBOLS[self.operator]} {_number(self.value)}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((str(k), _freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class QualityRule:
    """One ODCS quality rule of one dataset, ready to run (or to report why not).

    Attributes
    ----------
    dataset
        Address of the dataset it checks.
    kind
        ``library``, ``sql``, ``text`` or ``custom``.
    column
        The property it sits on; None for a rule on the schema object.
    metric
        The library metric (``nullValues`` ...), None for other kinds.
    arguments
        The rule's ``arguments`` as sorted (key, value) pairs, lists as tuples.
    thresholds
        Every comparison the value must pass (a rule may give several).
    unit
        ``rows`` or ``percent`` (of the dataset's rows).
    query
        The SQL of a ``sql`` rule.
    name
        The check's name in results, e.g. ``nullValues:user_id``.
    place
        ``file:line field`` of the rule in its contract.
    problem
        Why the rule cannot run, or None.
    """

    dataset: str
    kind: str
    column: str | None
    metric: str | None
    arguments: tuple[tuple[str, Any], ...]
    thresholds: tuple[Threshold, ...]
    unit: str
    query: str | None
    name: str
    place: str
    description: str = ""
    engine: str | None = None
    problem: str | None = None

    def argument(self, key: str, default: Any = None) -> Any:
        return dict(self.arguments).get(key, default)

    def expected(self) -> str:
        """All thresholds as text, with the unit: ``< 1 %``."""
        unit = " %" if self.unit == "percent" else ""
        return " and ".join(t.text() + unit for t in self.thresholds)

    def judge(self, observed: float) -> bool:
        return all(t.holds(observed) for t in self.thresholds)


def _thresholds(raw: dict) -> tuple[tuple[Threshold, ...], str | None]:
    found = []
    for key, value in raw.items():
        if not isinstance(key, str) or not key.startswith("must"):
            continue
        operator = OPERATOR_ALIASES.get(key, key)
        if operator not in SYMBOLS:
            return (), f"unknown operator '{key}' (known: {', '.join(OPERATORS)})"
        if operator in ("mustBeBetween", "mustNotBeBetween"):
            if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
                return (), f"{key} needs a list of two numbers, not {value!r}"
            low, high = sorted(float(v) for v in value)
            found.append(Threshold(operator, (low, high)))
            continue
        if isinstance(value, bool):
            value = int(value)
        if not _is_number(value):
            return (), f"{key} needs a number, not {value!r}"
        found.append(Threshold(operator, float(value)))
    if not found:
        return (), f"no threshold: give one of {', '.join(OPERATORS)}"
    return tuple(found), None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _kind(raw: dict) -> str:
    declared = raw.get("type")
    if declared is not None:
        return str(declared)
    if "metric" in raw or "rule" in raw:
        return "library"
    return "sql" if "query" in raw else "library"


def _library_problem(raw: dict, metric: Any, column: str | None, columns: set[str]) -> str | None:
    if metric is None:
        return "a library rule needs a metric (one of " + ", ".join(METRICS) + ")"
    if metric not in METRICS:
        return f"unknown metric '{metric}' (known: {', '.join(METRICS)})"
    arguments = raw.get("arguments") or {}
    if not isinstance(arguments, dict):
        return "arguments must be a mapping"
    keys = arguments.get("properties")
    if column is None and metric in ("nullValues", "missingValues", "invalidValues"):
        return f"{metric} needs a column: put the rule on a property"
    if column is None and metric == "duplicateValues" and not keys:
        return "duplicateValues on a schema object needs arguments.properties (the key columns)"
    if keys is not None:
        if not isinstance(keys, list) or not keys:
            return "arguments.properties must be a non-empty list of property names"
        unknown = [k for k in keys if k not in columns]
        if unknown:
            return f"arguments.properties names undeclared column(s): {', '.join(map(str, unknown))}"
    if metric == "invalidValues" and "validValues" not in arguments and "pattern" not in arguments:
        return "invalidValues needs arguments.validValues or arguments.pattern"
    if metric == "invalidValues" and "validValues" in arguments and not isinstance(arguments["validValues"], list):
        return "arguments.validValues must be a list"
    if metric == "missingValues" and not isinstance(arguments.get("missingValues", []), list):
        return "arguments.missingValues must be a list"
    if "pattern" in arguments:
        import re

        try:
            re.compile(str(arguments["pattern"]))
        except re.error as exc:
            return f"arguments.pattern is not a valid regular expression: {exc}"
    return None


def _name(raw: dict, kind: str, metric: str | None, column: str | None, index: int) -> str:
    if raw.get("name") or raw.get("id"):
        return str(raw.get("name") or raw.get("id"))
    if kind == "library" and isinstance(metric, str) and metric:
        keys = (raw.get("arguments") or {}).get("properties") if isinstance(raw.get("arguments"), dict) else None
        if metric == "duplicateValues" and isinstance(keys, list) and keys:
            return f"duplicateValues:({', '.join(map(str, keys))})"
        return metric if column is None else f"{metric}:{column}"
    target = f":{column}" if column else ""
    return f"{kind}{target}[{index}]"


def parse_rule(
    raw: Any, dataset: str, column: str | None, where: tuple, index: int, columns: set[str], doc: LocatedDocument
) -> QualityRule:
    """One rule at ``where`` (its path in the contract) -> :class:`QualityRule`."""
    place = f"{doc.place(where)} {field_path(where)}"
    if not isinstance(raw, dict):
        return QualityRule(dataset, "library", column, None, (), (), "rows", None, f"rule[{index}]", place,
                           problem="a quality rule must be a mapping")  # fmt: skip
    kind = _kind(raw)
    raw = v31_rule_form(raw)
    metric = raw.get("metric", raw.get("rule"))
    unit = str(raw.get("unit") or "rows").lower()
    name = _name(raw, kind, metric, column, index)
    problem = None
    thresholds: tuple[Threshold, ...] = ()
    if kind not in RULE_TYPES:
        problem = f"unknown rule type '{kind}' (known: {', '.join(RULE_TYPES)})"
    elif kind == "library":
        problem = _library_problem(raw, metric, column, columns)
    elif kind == "sql" and not str(raw.get("query") or "").strip():
        problem = "a sql rule needs a query"
    if problem is None and kind in ("library", "sql"):
        thresholds, problem = _thresholds(raw)
    if problem is None and unit not in UNITS:
        problem = f"unknown unit '{raw.get('unit')}' (known: {', '.join(UNITS)})"
    return QualityRule(
        dataset=dataset,
        kind=kind,
        column=column,
        metric=str(metric) if metric is not None else None,
        arguments=_freeze(raw.get("arguments") if isinstance(raw.get("arguments"), dict) else {}),
        thresholds=thresholds,
        unit=unit,
        query=str(raw["query"]) if raw.get("query") is not None else None,
        name=name,
        place=place,
        description=str(raw.get("description") or ""),
        engine=str(raw["engine"]) if raw.get("engine") else None,
        problem=problem,
    )


def v31_rule_form(raw: Any) -> Any:
    """A v3.0 library rule (``rule: nullCheck``, ``validValues: [...]``) in its v3.1 form; others as they are."""
    if not isinstance(raw, dict):
        return raw
    metric = raw.get("metric", raw.get("rule"))
    if not isinstance(metric, str) or metric not in METRIC_ALIASES:
        return raw
    out = {k: v for k, v in raw.items() if k != "rule"}
    out["metric"] = METRIC_ALIASES[metric]
    arguments = dict(raw["arguments"]) if isinstance(raw.get("arguments"), dict) else {}
    if metric == "validValues" and "validValues" in raw and "validValues" not in arguments:
        arguments["validValues"] = raw["validValues"]
    if arguments:
        out["arguments"] = arguments
    if metric in ("nullCheck", "notNull", "duplicateCount", "uniqueCheck", "validValues", "missingCheck"):
        if not any(isinstance(k, str) and k.startswith("must") for k in raw):
            out["mustBe"] = 0  # v3.0: the check itself is the expectation
    return out


def schema_index(document: LocatedDocument, name: str) -> int | None:
    """Position of the schema object called ``name`` in the contract."""
    schema = document.data.get("schema") if isinstance(document.data, dict) else None
    for i, obj in enumerate(listed(schema)):
        if isinstance(obj, dict) and str(obj.get("name")) == name:
            return i
    return None


def quality_rules(document: LocatedDocument, dataset: str, name: str) -> list[QualityRule]:
    """Every quality rule of schema object ``name`` of ``document``, in contract order.

    Names are made unique per dataset (``nullValues:id``, ``nullValues:id#2``).
    """
    i = schema_index(document, name)
    if i is None:
        return []
    obj = document.data["schema"][i]
    props = [p for p in listed(obj.get("properties")) if isinstance(p, dict)]
    columns = {str(p.get("name")) for p in props}
    found = []
    for k, raw in enumerate(_as_list(obj.get("quality"))):
        found.append(parse_rule(raw, dataset, None, ("schema", i, "quality", k), k, columns, document))
    for j, prop in enumerate(listed(obj.get("properties"))):
        if not isinstance(prop, dict):
            continue
        for k, raw in enumerate(_as_list(prop.get("quality"))):
            where = ("schema", i, "properties", j, "quality", k)
            found.append(parse_rule(raw, dataset, str(prop.get("name")), where, k, columns, document))
    return _unique_names(found)


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _unique_names(rules: list[QualityRule]) -> list[QualityRule]:
    from dataclasses import replace

    seen: dict[str, int] = {}
    out = []
    for rule in rules:
        seen[rule.name] = seen.get(rule.name, 0) + 1
        out.append(rule if seen[rule.name] == 1 else replace(rule, name=f"{rule.name}#{seen[rule.name]}"))
    return out
