"""Check reports and a dataset's last check, as text (terminal, ``repr``) and as HTML (notebooks).

Every check time reads ``checked YYYY-MM-DD HH:MM:SS UTC`` (see
:data:`CHECKED_PATTERN`) so notebook tests can mask it; everything else is
the same for the same data.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING

import polars as pl

from meshlab.rendering.html_parts import STYLE, preview_html

if TYPE_CHECKING:
    from meshlab.quality.report import CheckReport, CheckResult
    from meshlab.quality.status import DatasetStatus

CHECKED_PATTERN = r"checked \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC"
"""Every check time in text and HTML matches this (an nbval sanitizer regex)."""

MARKS = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–"}
ROWS_SHOWN = 5


def checked_text(moment: dt.datetime) -> str:
    """``checked 2026-11-25 10:35:12 UTC``."""
    return f"checked {moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _by_dataset(report: CheckReport) -> dict[str, list[CheckResult]]:
    grouped: dict[str, list[CheckResult]] = {}
    for r in report.results:
        grouped.setdefault(r.dataset, []).append(r)
    return grouped


def dataset_outcome(results: list[CheckResult]) -> str:
    """``2 of 31 checks failed`` / ``all 31 checks passed`` for one dataset's results."""
    failed = sum(r.status == "failed" for r in results)
    errors = sum(r.status == "error" for r in results)
    if failed:
        return f"{failed} of {len(results)} checks failed"
    if errors:
        return f"{errors} of {len(results)} checks could not run"
    return f"all {len(results)} checks passed" if all(r.status == "passed" for r in results) else "passed"


def _rows_text(result: CheckResult) -> list[str]:
    if not result.failing_rows:
        return []
    frame = pl.DataFrame(list(result.failing_rows[:ROWS_SHOWN]), infer_schema_length=None)
    with pl.Config(
        tbl_hide_dataframe_shape=True, tbl_rows=ROWS_SHOWN, tbl_cols=12, fmt_str_lengths=30, tbl_width_chars=150
    ):
        table = str(frame)
    total = result.observed if isinstance(result.observed, int) and result.kind != "sla" else None
    shown = f"{frame.height} of {total:,}" if total and total > frame.height else f"{frame.height}"
    return [f"    failing rows ({shown}):", *("    " + line for line in table.splitlines())]


def report_text(report: CheckReport, every: bool = False) -> str:
    """The report for a terminal: per dataset its outcome, then the checks that did not pass.

    Parameters
    ----------
    every
        List passed checks too.
    """
    lines: list[str] = []
    for dataset, results in _by_dataset(report).items():
        lines.append(f"{dataset}: {dataset_outcome(results)}")
        for r in results:
            if r.status == "passed" and not every:
                continue
            where = f"  [{r.rule}]" if r.rule and r.status != "passed" else ""
            lines.append(f"  {MARKS[r.status]} {r.status.upper():<7} {r.check}: {r.message}{where}")
            lines.extend(_rows_text(r))
    lines.append(f"{report.summary()} ({checked_text(report.checked_at)}, freshness as of {_instant(report.as_of)})")
    return "\n".join(lines)


def _instant(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


# -- HTML ---------------------------------------------------------------------------
def status_mark(status: str) -> str:
    """A coloured badge naming a check status."""
    colour = {"passed": "active", "failed": "retired", "error": "draft", "skipped": "proposed"}[status]
    return (
        f'<span class="meshlab-badge meshlab-status-{colour}" title="{html.escape(status)}">'
        f"{MARKS[status]} {html.escape(status)}</span>"
    )


def _rows_html(result: CheckResult) -> str:
    if not result.failing_rows:
        return ""
    frame = pl.DataFrame(list(result.failing_rows), infer_schema_length=None)
    return f"<div>Failing rows ({frame.height:,}):</div>{preview_html(frame, ROWS_SHOWN)}"


def _problem_html(r: CheckResult) -> str:
    rule = f'<div class="meshlab-muted">{html.escape(r.rule)}</div>' if r.rule else ""
    return (
        f"<li>{status_mark(r.status)} <code>{html.escape(r.check)}</code>: {html.escape(r.message)}"
        f"{rule}{_rows_html(r)}</li>"
    )


def _dataset_html(dataset: str, results: list[CheckResult]) -> str:
    worst = next((s for s in ("failed", "error") if any(r.status == s for r in results)), "passed")
    problems = [r for r in results if r.status != "passed"]
    listed = "".join(_problem_html(r) for r in problems)
    rows = "".join(
        f"<tr><td><code>{html.escape(r.check)}</code></td><td>{status_mark(r.status)}</td>"
        f"<td>{html.escape(r.message)}</td></tr>"
        for r in results
    )
    every = (
        f'<details><summary>All {len(results)} checks</summary><table class="meshlab-table">'
        f"<thead><tr><th>check</th><th>status</th><th>message</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )
    return (
        f"<li>{status_mark(worst)} <code>{html.escape(dataset)}</code>: {html.escape(dataset_outcome(results))}"
        f"{'<ul>' + listed + '</ul>' if listed else ''}{every}</li>"
    )


def report_html(report: CheckReport) -> str:
    """The report for a notebook: summary, then each dataset with its problems and failing rows."""
    items = "".join(_dataset_html(d, rs) for d, rs in _by_dataset(report).items())
    head = (
        f'<div class="meshlab-summary"><b>{html.escape(report.summary())}</b> · {checked_text(report.checked_at)}'
        f" · freshness as of {_instant(report.as_of)}</div>"
    )
    return f'<div class="meshlab meshlab-checks">{STYLE}{head}<ul>{items}</ul></div>'


# -- a dataset's last check, for the query banner, the widget and the catalog ----------
def last_check_text(status: DatasetStatus) -> str:
    """``✗ 1 of 26 checks failed, stale (newest 2026-10-28, 4 d old; at most 1 d), checked … UTC``."""
    mark = {"passed": "✓", "failed": "✗", "error": "!"}.get(status.status, "")
    parts = [f"{mark} {status.summary()}"]
    fresh = status.freshness
    if fresh is not None and fresh.age:
        verdict = "fresh" if fresh.status == "passed" else "stale" if fresh.status == "failed" else "freshness unknown"
        parts.append(f"{verdict} (newest {fresh.newest}, {fresh.age} old; at most {fresh.max_age})")
    parts.append(checked_text(status.checked_at))
    return ", ".join(parts)


def last_check_html(status: DatasetStatus) -> str:
    """A dataset's last check as a badge plus freshness and check time (escaped)."""
    colour = {"passed": "active", "failed": "retired", "error": "draft"}.get(status.status, "proposed")
    badge = (
        f'<span class="meshlab-badge meshlab-status-{colour}" title="last check">'
        f"{html.escape(MARKS.get(status.status, ''))} {html.escape(status.summary())}</span>"
    )
    parts = [badge]
    fresh = status.freshness
    if fresh is not None and fresh.age:
        verdict = (
            "fresh" if fresh.status == "passed" else "⚠ stale" if fresh.status == "failed" else "freshness unknown"
        )
        parts.append(html.escape(f"{verdict}: newest {fresh.newest}, {fresh.age} old (at most {fresh.max_age})"))
    parts.append(f'<span class="meshlab-muted">{checked_text(status.checked_at)}</span>')
    return " · ".join(parts)


def last_check_block_html(status: DatasetStatus | None) -> str:
    """The widget card's section: the last check, and what failed in it."""
    if status is None:
        return '<div class="meshlab-muted">Never checked: run <code>%mesh check</code>.</div>'
    problems = "".join(
        f"<li>{status_mark(p.status)} <code>{html.escape(p.check)}</code>: {html.escape(p.message)}</li>"
        for p in status.problems
    )
    return f"<div>Last check: {last_check_html(status)}{'<ul>' + problems + '</ul>' if problems else ''}</div>"


def warnings_html(warnings: list[str]) -> str:
    """The result banner's warnings (stale or failing datasets, deprecated ones)."""
    if not warnings:
        return ""
    lines = "".join(f'<div class="meshlab-status-draft">⚠ {html.escape(w)}</div>' for w in warnings)
    return f'<div class="meshlab-warnings">{lines}</div>'
