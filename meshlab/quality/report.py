"""Check results: one frozen :class:`CheckResult` per check, gathered in a :class:`CheckReport`.

The JSON form (``meshlab check --format json``) is a list of objects with the
keys SPEC.md §6 names: ``dataset``, ``check``, ``status``, ``observed``,
``expected``, ``message`` and ``failing_rows``, plus ``kind`` and ``rule``
(where the rule is written: ``file:line field``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

STATUSES = ("passed", "failed", "error", "skipped")
KINDS = ("schema", "quality", "sla", "relationship")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of one dataset.

    Attributes
    ----------
    dataset
        Address of the dataset checked.
    check
        The check's name, e.g. ``nullValues:user_id``, ``latency:played_at``.
    status
        ``passed``, ``failed``, ``error`` (could not be run: the message says why) or
        ``skipped`` (not runnable by meshlab, e.g. a ``text`` rule: the message says why).
    observed, expected
        What was measured and what the contract asks, as JSON-able values.
    message
        One line for people.
    failing_rows
        Up to N rows that break the rule (dicts), for failed row-level checks.
    kind
        ``schema``, ``quality``, ``sla`` or ``relationship``.
    rule
        Where the rule is written: ``file:line field`` (empty for implicit checks).
    """

    dataset: str
    check: str
    status: str
    observed: Any = None
    expected: Any = None
    message: str = ""
    failing_rows: tuple[dict, ...] = ()
    kind: str = "quality"
    rule: str = ""

    def to_dict(self) -> dict:
        """The JSON object of this result (values made JSON-able)."""
        return {
            "dataset": self.dataset,
            "check": self.check,
            "status": self.status,
            "observed": _jsonable(self.observed),
            "expected": _jsonable(self.expected),
            "message": self.message,
            "failing_rows": [{k: _jsonable(v) for k, v in row.items()} for row in self.failing_rows],
            "kind": self.kind,
            "rule": self.rule,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class CheckReport:
    """Every result of one ``check`` run, in dataset then contract order.

    Attributes
    ----------
    results
        The :class:`CheckResult` list.
    checked_at
        When the run started (UTC).
    as_of
        The instant freshness was judged against (UTC; the run's start unless the mesh
        or the caller fixes it).
    sent
        dataset address -> what its sources were sent for the batched metrics.
    seconds
        Wall time of the run.
    """

    results: list[CheckResult]
    checked_at: dt.datetime
    as_of: dt.datetime
    sent: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    store_error: str | None = None

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> CheckResult:
        return self.results[index]

    def with_status(self, status: str) -> list[CheckResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[CheckResult]:
        return self.with_status("failed")

    @property
    def errors(self) -> list[CheckResult]:
        return self.with_status("error")

    @property
    def ok(self) -> bool:
        """No check failed and none could not run."""
        return not self.failed and not self.errors

    @property
    def exit_code(self) -> int:
        """``meshlab check``'s exit code: 1 when a check failed or could not run, else 0."""
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        return {s: len(self.with_status(s)) for s in STATUSES}

    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r.dataset for r in self.results))

    def result(self, dataset: str, check: str) -> CheckResult:
        """The result of ``check`` on ``dataset`` (KeyError when there is none)."""
        for r in self.results:
            if r.dataset.lower() == dataset.lower() and r.check == check:
                return r
        raise KeyError(f"no check '{check}' on dataset '{dataset}'")

    def failing_rows(self, dataset: str, check: str) -> pl.DataFrame:
        """The failing rows of one check as a polars DataFrame (empty when none)."""
        rows = self.result(dataset, check).failing_rows
        return pl.DataFrame(list(rows), infer_schema_length=None) if rows else pl.DataFrame()

    def to_dicts(self) -> list[dict]:
        return [r.to_dict() for r in self.results]

    def to_json(self, indent: int | None = 2) -> str:
        """The SPEC.md §6 JSON list of results."""
        return json.dumps(self.to_dicts(), indent=indent, ensure_ascii=False)

    def table(self) -> pl.DataFrame:
        """One row per check: dataset, check, status, observed, expected, message."""
        return pl.DataFrame(
            [
                {
                    "dataset": r.dataset,
                    "check": r.check,
                    "status": r.status,
                    "observed": _short(r.observed),
                    "expected": _short(r.expected),
                    "message": r.message,
                }
                for r in self.results
            ],
            schema=["dataset", "check", "status", "observed", "expected", "message"],
            orient="row",
        )

    def summary(self) -> str:
        """``31 checks on 8 datasets: 28 passed, 2 failed, 1 error``."""
        counts = self.counts()
        parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        datasets = len(self.datasets())
        return f"{len(self.results)} checks on {datasets} dataset{'' if datasets == 1 else 's'}: " + (
            ", ".join(parts) or "nothing to check"
        )

    # Rendering lives in meshlab.rendering, imported on use (import meshlab stays light).
    def _repr_html_(self) -> str:
        from meshlab.rendering.checks import report_html

        return report_html(self)

    def __repr__(self) -> str:
        from meshlab.rendering.checks import report_text

        return report_text(self)


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(_jsonable(value), ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:59] + "…"
