"""ODCS ``library`` rules (nullValues, missingValues, invalidValues, duplicateValues,
rowCount) -> :class:`Planned` checks over shared metrics.

``unit: percent`` rules are judged on 100 × count / rows, so they also ask for
the row count, itself one metric shared by the whole dataset.
"""

from __future__ import annotations

from typing import Any

from meshlab.catalog import Dataset
from meshlab.errors import MeshError
from meshlab.quality.metrics import (
    DuplicateCount,
    InvalidCount,
    Metric,
    MissingCount,
    NullCount,
    RowCount,
    typed_values,
)
from meshlab.quality.planned import Judge, Planned, Verdict, known, plural
from meshlab.quality.rules import QualityRule
from meshlab.sources.base import column_dtype

NOUNS = {
    "nullValues": "null value",
    "missingValues": "missing value",
    "invalidValues": "invalid value",
    "duplicateValues": "duplicate row",
    "rowCount": "row",
}


def _column(rule: QualityRule) -> str:
    """The column of a well-formed column rule (``parse_rule`` made a column-less one a problem)."""
    if rule.column is None:
        raise MeshError(f"{rule.place}: {rule.metric} needs a column")
    return rule.column


def rule_metric(rule: QualityRule, dataset: Dataset) -> Metric:
    """The metric a (well-formed) library rule is judged on."""
    column = dataset.column(rule.column) if rule.column else None
    dtype = column_dtype(column) if column is not None else None
    if rule.metric == "rowCount":
        return RowCount()
    if rule.metric == "nullValues":
        return NullCount(_column(rule))
    if rule.metric == "missingValues":
        values, include_null = typed_values(list(rule.argument("missingValues", (None, ""))), dtype)
        return MissingCount(_column(rule), values, include_null)
    if rule.metric == "invalidValues":
        valid = rule.argument("validValues")
        typed = typed_values(list(valid), dtype)[0] if valid is not None else None
        pattern = rule.argument("pattern")
        return InvalidCount(_column(rule), typed, str(pattern) if pattern is not None else None)
    keys = rule.argument("properties")
    return DuplicateCount(tuple(str(k) for k in keys) if keys else (_column(rule),))


def _judge(rule: QualityRule) -> Judge:
    noun = NOUNS[str(rule.metric)]  # a well-formed library rule names one of them

    def judge(value: Any, rows: int | None) -> Verdict:
        count = int(value or 0)
        if rule.unit == "percent":
            share = 100.0 * count / rows if rows else 0.0
            observed = round(share, 6)
            message = f"{plural(count, noun)} of {rows:,} ({share:.4g} %)"
        else:
            observed = count
            message = plural(count, noun)
        ok = rule.judge(observed)
        expectation = rule.expected()
        return Verdict(ok, observed, expectation, f"{message}; must be {expectation}")

    return judge


def library_check(rule: QualityRule, dataset: Dataset) -> Planned:
    """One library rule as a planned check (or a known error when the rule is malformed)."""
    if rule.problem is not None:
        return known(rule.dataset, rule.name, "quality", "error", f"{rule.place}: {rule.problem}", rule.place)
    if rule.column is not None and dataset.column(rule.column) is None:
        problem = f"{rule.place}: rule on undeclared column '{rule.column}'"
        return known(rule.dataset, rule.name, "quality", "error", problem, rule.place)
    metric = rule_metric(rule, dataset)
    return Planned(
        dataset=rule.dataset,
        check=rule.name,
        kind="quality",
        rule=rule.place,
        metric=metric,
        judge=_judge(rule),
        needs_row_count=rule.unit == "percent",
        rows_of=None if isinstance(metric, RowCount) else metric,
    )


def unrunnable(rule: QualityRule) -> Planned:
    """``text`` and ``custom`` rules: reported as skipped, with the reason."""
    if rule.kind == "text":
        reason = "a text rule is for people to read; there is nothing to run"
    else:
        engine = f" for engine '{rule.engine}'" if rule.engine else ""
        reason = f"a custom rule{engine} is run by that engine, not by meshlab"
    return known(rule.dataset, rule.name, "quality", "skipped", reason, rule.place)
