"""A check before it runs: what it measures and how the measurement is judged.

Check modules turn a contract into :class:`Planned` checks without reading
any data; the runner gathers the metrics of all of a dataset's checks,
measures them in one batch, then asks each check for its verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from meshlab.quality.metrics import Metric
from meshlab.quality.report import CheckResult

if TYPE_CHECKING:
    from meshlab.quality.checked_mesh import CheckedMesh


@dataclass(frozen=True)
class Verdict:
    """A judged measurement: pass or fail, and what to report."""

    passed: bool
    observed: Any
    expected: Any
    message: str


# (value of the check's metric, the dataset's row count or None) -> Verdict
Judge = Callable[[Any, "int | None"], Verdict]


@dataclass(frozen=True)
class Planned:
    """One check of one dataset, ready to be measured and judged.

    Attributes
    ----------
    metric
        The measurement the check is judged on (None for a check whose result
        is already known: ``outcome``).
    judge
        Turns the measured value into a :class:`Verdict`.
    needs_row_count
        The judge needs the dataset's row count (``unit: percent``).
    rows_of
        When the check fails, fetch the rows this metric counts (failing rows).
    outcome
        A result known without measuring (a malformed rule, a ``text`` rule).
    run
        For a check that is its own query (a ``sql`` rule, a relationship):
        ``run(mesh, failing_rows) -> CheckResult``, through ``mesh.sql`` (a :class:`CheckedMesh`).
    """

    dataset: str
    check: str
    kind: str
    rule: str = ""
    metric: Metric | None = None
    judge: Judge | None = None
    needs_row_count: bool = False
    rows_of: Metric | None = None
    outcome: CheckResult | None = None
    run: Callable[[CheckedMesh, int], CheckResult] | None = None

    def result(
        self, status: str, observed: Any = None, expected: Any = None, message: str = "", rows=()
    ) -> CheckResult:
        return CheckResult(
            dataset=self.dataset,
            check=self.check,
            status=status,
            observed=observed,
            expected=expected,
            message=message,
            failing_rows=tuple(rows),
            kind=self.kind,
            rule=self.rule,
        )


def known(dataset: str, check: str, kind: str, status: str, message: str, rule: str = "", **values) -> Planned:
    """A check whose result is known before any data is read."""
    result = CheckResult(dataset, check, status, message=message, kind=kind, rule=rule, **values)
    return Planned(dataset, check, kind, rule, outcome=result)


def plural(count: int, noun: str) -> str:
    """``1 null value``, ``3 null values``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def none_allowed(noun: str) -> Judge:
    """A judge for a count that must be 0 (``noun`` names one counted thing)."""

    def judge(value: Any, rows: int | None) -> Verdict:
        count = int(value or 0)
        return Verdict(count == 0, count, 0, plural(count, noun))

    return judge
