"""A query's result as HTML (notebooks) and as text (``repr``, the terminal), and its executed plan.

The HTML report is a self-contained ``<div>``: summary, warnings, preview table,
the datasets read, and collapsed lineage and pushdown sections. The output is the
same for the same result except the timings (:data:`~meshlab.rendering.html_parts.TIME_PATTERN`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import polars as pl

from meshlab.catalog.root_paths import root_label
from meshlab.rendering.checks import last_check_html, warnings_html
from meshlab.rendering.datasets import freshness_text
from meshlab.rendering.html_parts import (
    FLAGGED_STATUSES,
    STYLE,
    code,
    kind_badge,
    preview_html,
    seconds_text,
    shape_text,
    status_badge,
)

if TYPE_CHECKING:
    from meshlab.catalog import Dataset
    from meshlab.lineage import Lineage
    from meshlab.remote import RemoteResult
    from meshlab.result import ExecutedPlan, Fragment, Result

PREVIEW_ROWS = 10
"""Rows shown by the HTML and text reprs of a result (a setting: read at call time)."""


def datasets_read(result: Result) -> list[Dataset]:
    """The datasets a result read, once each, by address."""
    unique = {ds.address: ds for ds in result.query_plan.datasets.values()}
    return [unique[address] for address in sorted(unique)]


def summary_html(result: Result, rows: int = PREVIEW_ROWS) -> str:
    """Shape, what part is shown, and the run time."""
    height, width = result.df.shape
    shown = f" · first {rows:,} shown" if height > rows else ""
    total = result.plan_seconds + result.run_seconds
    detail = f"plan {seconds_text(result.plan_seconds)} + run {seconds_text(result.run_seconds)}"
    flagged = [ds for ds in datasets_read(result) if ds.status in FLAGGED_STATUSES]
    warning = ""
    if flagged:
        names = ", ".join(f"{code(ds.address)} ({html.escape(ds.status)})" for ds in flagged)
        warning = f" · ⚠ reads {names}"
    return (
        f'<div class="meshlab-summary"><b>{shape_text(height, width)}</b>{shown}'
        f' · <span class="meshlab-time" title="{detail}">in {seconds_text(total)}</span>{warning}'
        f"{governance_html(result)}</div>"
    )


def governance_html(result: Result) -> str:
    """The role the query ran in and the output columns it saw masked (empty without a policy)."""
    role = result.query_plan.role
    if role is None:
        return ""
    masked = [c for c in result.df.columns if result.lineage.is_masked(c)]
    shown = f" · 🔒 masked: {', '.join(code(c) for c in masked)}" if masked else ""
    return f" · role {code(role)}{shown}"


def datasets_html(result: Result) -> str:
    """The datasets read, each with its owner, status badge and freshness promise."""
    items = []
    for ds in datasets_read(result):
        parts = [code(ds.address), html.escape(ds.title), status_badge(ds.status)]
        parts.append(f"owner {html.escape(ds.owner)}" if ds.owner else '<span class="meshlab-muted">no owner</span>')
        fresh = freshness_text(ds)
        if fresh:
            parts.append(html.escape(fresh))
        checked = result.checks.get(ds.address)
        if checked is not None:
            parts.append("last check " + last_check_html(checked))
        items.append("<li>" + " · ".join(parts) + "</li>")
    if not items:
        return ""
    return f'<div class="meshlab-datasets">Datasets read:<ul>{"".join(items)}</ul></div>'


def lineage_html(lineage: Lineage) -> str:
    """A collapsed table: each output column, its kind and the source columns feeding it."""
    rows = []
    for output, sources in lineage.columns.items():
        feeding = ", ".join(code(s) for s in sources) or '<span class="meshlab-muted">no source column</span>'
        if lineage.is_masked(output):
            feeding += " · 🔒 masked"
        classes = lineage.classifications.get(output)
        if classes:
            feeding += f' · <span class="meshlab-muted">{html.escape(", ".join(classes))}</span>'
        rows.append(
            f"<tr><td>{html.escape(output)}</td><td>{kind_badge(lineage.kinds.get(output, 'identity'))}</td>"
            f"<td>{feeding}</td></tr>"
        )
    table = (
        '<table class="meshlab-table"><thead><tr><th>output column</th><th>kind</th><th>from</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return f'<details class="meshlab-lineage"><summary>Column lineage</summary>{table}</details>'


def fragment_html(fragment: Fragment) -> str:
    """One scan of the pushdown report: what the source was sent and what came back."""
    head = (
        f"<b>{html.escape(fragment.scan_id)}</b> {', '.join(code(d) for d in fragment.datasets)}"
        f" · {html.escape(fragment.kind)} on server {code(fragment.server)}"
    )
    sent = "".join(f'<pre class="meshlab-pre">{html.escape(text)}</pre>' for text in fragment.sent)
    facts = []
    if fragment.pushed:
        facts.append("pushed: " + ", ".join(code(p) for p in fragment.pushed))
    if fragment.kept_local:
        facts.append("kept local: " + ", ".join(code(p) for p in fragment.kept_local))
    if fragment.limit is not None:
        facts.append(f"limit {fragment.limit:,}")
    facts.extend(html.escape(note) for note in fragment.notes)
    fetched = []
    if fragment.rows is not None:
        fetched.append(f"{fragment.rows:,} rows")
    if fragment.bytes is not None:
        fetched.append(f"{fragment.bytes:,} bytes")
    if fragment.seconds is not None:
        fetched.append(f"in {seconds_text(fragment.seconds)}")
    if fetched:
        facts.append("fetched " + ", ".join(fetched))
    listed = "".join(f"<li>{fact}</li>" for fact in facts)
    return f"<div>{head}{sent}<ul>{listed}</ul></div>" if listed else f"<div>{head}{sent}</div>"


def pushdown_html(plan: ExecutedPlan) -> str:
    """A collapsed report: every scan, then the query Polars ran locally over them."""
    scans = "".join(fragment_html(f) for f in plan)
    local = f'<div><b>local</b> · Polars SQL<pre class="meshlab-pre">{html.escape(plan.local_sql)}</pre></div>'
    count = len(plan)
    summary = f"Pushdown report ({count} scan{'' if count == 1 else 's'})"
    if plan.mesh_root:
        summary += f" · paths relative to the mesh root {code(root_label(plan.mesh_root))}"
    return f'<details class="meshlab-pushdown"><summary>{summary}</summary>{scans}{local}</details>'


def result_html(result: Result, rows: int | None = None) -> str:
    """The HTML report of ``result`` (its ``_repr_html_``).

    Parameters
    ----------
    result
        The result of :meth:`meshlab.Mesh.sql`.
    rows
        Rows to preview; defaults to :data:`PREVIEW_ROWS` (read at call time).

    Returns
    -------
    str
        A self-contained ``<div>``: summary, preview table, datasets read, and
        collapsed lineage and pushdown sections. No script, no external resource.
    """
    rows = PREVIEW_ROWS if rows is None else rows
    parts = (
        summary_html(result, rows),
        warnings_html(result.warnings),
        preview_html(result.df, rows),
        datasets_html(result),
        lineage_html(result.lineage),
        pushdown_html(result.plan),
    )
    return f'<div class="meshlab meshlab-result">{STYLE}{"".join(parts)}</div>'


def summary_text(result: Result, rows: int = PREVIEW_ROWS) -> str:
    """One line: shape, what part is shown, time and datasets (flagged ones marked)."""
    height, width = result.df.shape
    shown = f" (first {rows:,} shown)" if height > rows else ""
    names = ", ".join(
        f"{ds.address} [{ds.status}]" if ds.status in FLAGGED_STATUSES else ds.address for ds in datasets_read(result)
    )
    source = f" from {names}" if names else ""
    governed = ""
    if result.query_plan.role is not None:
        masked = [c for c in result.df.columns if result.lineage.is_masked(c)]
        governed = f"; role {result.query_plan.role}" + (f", masked: {', '.join(masked)}" if masked else "")
    return (
        f"{shape_text(height, width)}{shown} in {seconds_text(result.plan_seconds + result.run_seconds)}"
        f"{source}{governed}"
    )


def result_text(result: Result, rows: int | None = None) -> str:
    """The plain-text repr of ``result``: the first rows as a Polars table, then :func:`summary_text`."""
    rows = PREVIEW_ROWS if rows is None else rows
    # The preview's own "shape: (10, n)" would contradict the summary line.
    with pl.Config(tbl_hide_dataframe_shape=True, tbl_rows=max(rows, 1)):
        table = repr(result.df.head(rows))
    warnings = "".join(f"warning: {w}\n" for w in result.warnings)
    return f"{table}\n{warnings}{summary_text(result, rows)}"


def plan_text(plan: ExecutedPlan) -> str:
    """The executed plan as text (its ``str``): each scan with rows, bytes and what it was sent, then the local query."""
    lines = []
    for f in plan.fragments:
        rows = "?" if f.rows is None else f"{f.rows:,}"
        size = "?" if f.bytes is None else f"{f.bytes:,}"
        lines.append(f"[{f.scan_id}] {', '.join(f.datasets)} ({f.kind}): {rows} rows, {size} bytes")
        lines.extend("    " + s for text in f.sent for s in text.splitlines())
        lines.extend(f"    note: {note}" for note in f.notes)
    lines.append("local: " + plan.local_sql)
    return "\n".join(lines)


# -- server mode -------------------------------------------------------------------
def remote_result_html(result: RemoteResult) -> str:
    """A server-mode result: the preview, then who the server ran it as and what it masked."""
    masked = [c for c in result.df.columns if result.lineage.is_masked(c)]
    note = f" · masked: {', '.join(masked)}" if masked else ""
    return (
        f'<div class="meshlab">{preview_html(result.df, PREVIEW_ROWS)}<div>{result.df.height:,} rows from '
        f"{', '.join(result.datasets)} · run by the server as {result.user} in role {result.role}{note}</div></div>"
    )


def remote_result_text(result: RemoteResult) -> str:
    """A server-mode result as text: the rows, then their count, the datasets and the role."""
    return f"{result.df!r}\n{result.df.height:,} rows from {', '.join(result.datasets)} (server, role {result.role})"
