"""Rich display of a :class:`~meshlab.Result`: an HTML report and a plain-text repr.

Only the first rows are ever formatted, so a result of ten million rows renders
as fast, and saves as small, as one of twenty. Every value is escaped. The
output is the same for the same result except the timings, which always read
``N.NNN s`` (see :data:`TIME_PATTERN`) so that notebook tests can mask them.

Nothing here imports IPython or ipywidgets: ``Result`` calls in lazily.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import polars as pl

from meshlab.catalog.root_paths import root_label

if TYPE_CHECKING:
    from meshlab.catalog import Dataset
    from meshlab.lineage import Lineage
    from meshlab.result import ExecutedPlan, Fragment, Result

PREVIEW_ROWS = 10
"""Rows shown by the HTML and text reprs of a result."""

PREVIEW_COLUMNS = 40
"""Columns shown by the HTML repr; wider results say how many were left out."""

MAX_CELL_CHARS = 120
"""Longer values are cut (with an ellipsis) so one cell cannot blow up the page."""

TIME_PATTERN = r"\d+\.\d{3} s\b"
"""Every timing in the HTML and text reprs matches this (an nbval sanitizer regex)."""

FLAGGED_STATUSES = ("proposed", "draft", "deprecated", "retired")
KNOWN_STATUSES = ("active", *FLAGGED_STATUSES)
# Contract fields the card shows itself; every other one is listed under "more of the contract".
SHOWN_FIELDS = ("apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct", "description",
                "tags", "schema", "slaProperties")  # fmt: skip
"""Contract statuses a reader should notice before trusting the numbers."""

STATUS_NOTES = {
    "proposed": "proposed contract: the product may still change or never ship",
    "draft": "draft contract: columns and semantics may still change",
    "active": "active contract",
    "deprecated": "deprecated contract: plan to move off this dataset",
    "retired": "retired contract: no longer maintained",
}

# Outline badges in the theme's own colours read well on light and dark themes;
# the fallbacks are JupyterLab's light-theme values for other front ends. Table
# selectors name the element and class because JupyterLab's rules for rendered
# tables (right-aligned, padded, unbordered) and <pre> are more specific than one class.
STYLE = """<style>
.meshlab{font-size:var(--jp-ui-font-size1,13px);color:var(--jp-ui-font-color1,inherit);line-height:1.4}
.meshlab table.meshlab-table{border-collapse:collapse;table-layout:auto;margin:4px 0;font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px)}
.meshlab table.meshlab-table th,.meshlab table.meshlab-table td{border:1px solid var(--jp-border-color2,#e0e0e0);padding:2px 6px;text-align:left;vertical-align:top;max-width:36em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.meshlab table.meshlab-table th{background:var(--jp-layout-color2,#eee);font-weight:600}
.meshlab table.meshlab-table td.meshlab-num{text-align:right}
.meshlab-dataset table.meshlab-table td{white-space:normal}
.meshlab .meshlab-dtype{display:block;font-weight:normal;color:var(--jp-ui-font-color2,#757575)}
.meshlab .meshlab-null,.meshlab .meshlab-muted{color:var(--jp-ui-font-color2,#757575)}
.meshlab .meshlab-summary{margin:2px 0}
.meshlab ul{margin:2px 0;padding-left:1.4em}
.meshlab details{margin:4px 0}
.meshlab summary{cursor:pointer;font-weight:600}
div.meshlab pre.meshlab-pre{margin:2px 0 6px;padding:4px 6px;background:var(--jp-layout-color2,#f5f5f5);color:var(--jp-content-font-color1,inherit);white-space:pre-wrap;font-size:var(--jp-code-font-size,12px)}
.meshlab code{font-family:var(--jp-code-font-family,monospace)}
.meshlab-badge{display:inline-block;padding:0 6px;border:1px solid currentColor;border-radius:8px;font-size:0.85em;line-height:1.35;white-space:nowrap}
.meshlab-status-active{color:var(--jp-success-color1,#388e3c)}
.meshlab-status-proposed,.meshlab-status-draft{color:var(--jp-warn-color1,#f57c00);font-weight:600}
.meshlab-status-deprecated,.meshlab-status-retired{color:var(--jp-error-color1,#d32f2f);font-weight:600}
.meshlab-kind-identity{color:#1976d2}
.meshlab-kind-transformation{color:#ef6c00}
.meshlab-kind-aggregation{color:#8e24aa}
</style>"""


# -- small pieces ------------------------------------------------------------------
def seconds_text(seconds: float) -> str:
    """``0.123 s``: the one format every timing uses (see :data:`TIME_PATTERN`)."""
    return f"{seconds:.3f} s"


def shape_text(rows: int, columns: int) -> str:
    """``1,234 rows × 5 columns``."""
    return f"{rows:,} row{'' if rows == 1 else 's'} × {columns:,} column{'' if columns == 1 else 's'}"


def status_badge(status: str) -> str:
    """An HTML badge naming a contract status; flagged statuses stand out."""
    mark = "⚠ " if status in FLAGGED_STATUSES else ""
    note = html.escape(STATUS_NOTES.get(status, status))
    # ODCS status is free text: known values get their badge colour, others are shown as written.
    kind = status if status in KNOWN_STATUSES else "other"
    return f'<span class="meshlab-badge meshlab-status-{kind}" title="{note}">{mark}{html.escape(status)}</span>'


def kind_badge(kind: str) -> str:
    return f'<span class="meshlab-badge meshlab-kind-{html.escape(kind)}">{html.escape(kind)}</span>'


def freshness_text(dataset: Dataset) -> str | None:
    """The contract's latency promise (``fresh within 2 d``), if it makes one."""
    latency = dict(dataset.sla).get("latency")
    if not isinstance(latency, dict) or latency.get("value") is None:
        return None
    unit = f" {latency['unit']}" if latency.get("unit") else ""
    return f"fresh within {latency['value']}{unit}"


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _cell(value: object) -> str:
    if value is None:
        return '<span class="meshlab-null">null</span>'
    # 12 significant digits hide binary noise (36428.325000000004); integers are untouched.
    text = format(value, ".12g") if isinstance(value, float) else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return html.escape(text)


def datasets_read(result: Result) -> list[Dataset]:
    """The datasets a result read, once each, by address."""
    unique = {ds.address: ds for ds in result.query_plan.datasets.values()}
    return [unique[address] for address in sorted(unique)]


# -- the HTML report ---------------------------------------------------------------
def preview_html(df: pl.DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """An HTML table of the first ``rows`` rows and :data:`PREVIEW_COLUMNS` columns."""
    shown = df.head(rows).select(df.columns[:PREVIEW_COLUMNS])
    numeric = [dtype.is_numeric() for dtype in shown.dtypes]
    head = "".join(
        f'<th>{html.escape(name)}<span class="meshlab-dtype">{html.escape(str(dtype))}</span></th>'
        for name, dtype in shown.schema.items()
    )
    body = []
    for row in shown.iter_rows():
        cells = "".join(
            f'<td class="meshlab-num">{_cell(v)}</td>' if num else f"<td>{_cell(v)}</td>"
            for v, num in zip(row, numeric)
        )
        body.append(f"<tr>{cells}</tr>")
    more = df.width - shown.width
    note = f'<div class="meshlab-muted">… {more:,} more columns not shown</div>' if more > 0 else ""
    return f'<table class="meshlab-table meshlab-preview"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'


def summary_html(result: Result, rows: int = PREVIEW_ROWS) -> str:
    """Shape, what part is shown, and the run time."""
    height, width = result.df.shape
    shown = f" · first {rows:,} shown" if height > rows else ""
    total = result.plan_seconds + result.run_seconds
    detail = f"plan {seconds_text(result.plan_seconds)} + run {seconds_text(result.run_seconds)}"
    flagged = [ds for ds in datasets_read(result) if ds.status in FLAGGED_STATUSES]
    warning = ""
    if flagged:
        names = ", ".join(f"{_code(ds.address)} ({html.escape(ds.status)})" for ds in flagged)
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
    shown = f" · 🔒 masked: {', '.join(_code(c) for c in masked)}" if masked else ""
    return f" · role {_code(role)}{shown}"


def datasets_html(result: Result) -> str:
    """The datasets read, each with its owner, status badge and freshness promise."""
    items = []
    for ds in datasets_read(result):
        parts = [_code(ds.address), html.escape(ds.title), status_badge(ds.status)]
        parts.append(f"owner {html.escape(ds.owner)}" if ds.owner else '<span class="meshlab-muted">no owner</span>')
        fresh = freshness_text(ds)
        if fresh:
            parts.append(html.escape(fresh))
        checked = getattr(result, "checks", {}).get(ds.address)
        if checked is not None:
            from meshlab.quality.render import last_check_html

            parts.append("last check " + last_check_html(checked))
        items.append("<li>" + " · ".join(parts) + "</li>")
    if not items:
        return ""
    return f'<div class="meshlab-datasets">Datasets read:<ul>{"".join(items)}</ul></div>'


def lineage_html(lineage: Lineage) -> str:
    """A collapsed table: each output column, its kind and the source columns feeding it."""
    rows = []
    for output, sources in lineage.columns.items():
        feeding = ", ".join(_code(s) for s in sources) or '<span class="meshlab-muted">no source column</span>'
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
        f"<b>{html.escape(fragment.scan_id)}</b> {', '.join(_code(d) for d in fragment.datasets)}"
        f" · {html.escape(fragment.kind)} on server {_code(fragment.server)}"
    )
    sent = "".join(f'<pre class="meshlab-pre">{html.escape(text)}</pre>' for text in fragment.sent)
    facts = []
    if fragment.pushed:
        facts.append("pushed: " + ", ".join(_code(p) for p in fragment.pushed))
    if fragment.kept_local:
        facts.append("kept local: " + ", ".join(_code(p) for p in fragment.kept_local))
    if fragment.limit is not None:
        facts.append(f"limit {fragment.limit:,}")
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
        summary += f" · paths relative to the mesh root {_code(root_label(plan.mesh_root))}"
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
    from meshlab.quality.render import warnings_html

    parts = (
        summary_html(result, rows),
        warnings_html(getattr(result, "warnings", [])),
        preview_html(result.df, rows),
        datasets_html(result),
        lineage_html(result.lineage),
        pushdown_html(result.plan),
    )
    return f'<div class="meshlab meshlab-result">{STYLE}{"".join(parts)}</div>'


# -- plain text --------------------------------------------------------------------
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
    warnings = "".join(f"warning: {w}\n" for w in getattr(result, "warnings", []))
    return f"{table}\n{warnings}{summary_text(result, rows)}"


# -- a dataset's card (the catalog widget's detail pane) ---------------------------
def _last_check(status) -> str:
    if status is None:
        return ""
    from meshlab.quality.render import last_check_block_html

    return last_check_block_html(status)


def _sla_item(prop: str, raw: object) -> str:
    if not isinstance(raw, dict):
        return f"{html.escape(prop)}: {html.escape(str(raw))}"
    unit = f" {raw['unit']}" if raw.get("unit") else ""
    element = f" (on {raw['element']})" if raw.get("element") else ""
    return html.escape(f"{prop}: {raw.get('value', '')}{unit}{element}")


def _more_of_the_contract(dataset: Dataset) -> str:
    """Every contract field the card does not show (servers, team, support, customProperties, ...), as YAML."""
    import yaml

    rest = {k: v for k, v in dataset.descriptor.items() if k not in SHOWN_FIELDS}
    if not rest:
        return ""
    text = yaml.safe_dump(rest, sort_keys=False, allow_unicode=True, width=100)
    return f"<details><summary>more of the contract ({', '.join(map(html.escape, map(str, rest)))})</summary><pre>{html.escape(text)}</pre></details>"


def dataset_html(dataset: Dataset, status=None) -> str:
    """A dataset's card: title, address, description, owner, status, SLA, tags, columns.

    Parameters
    ----------
    dataset
        A catalog entry, e.g. from :meth:`meshlab.Mesh.dataset`.
    status
        Its last check (``mesh.status(address)``): shown when given.

    Returns
    -------
    str
        A self-contained HTML ``<div>`` with every catalog value escaped.
    """
    facts = [
        status_badge(dataset.status),
        f"owner {html.escape(dataset.owner)}" if dataset.owner else '<span class="meshlab-muted">no owner</span>',
    ]
    if dataset.version:
        facts.append(f"version {html.escape(str(dataset.version))}")
    sla = "".join(f"<li>{_sla_item(prop, raw)}</li>" for prop, raw in dataset.sla)
    tags = " ".join(f'<span class="meshlab-badge meshlab-muted">{html.escape(t)}</span>' for t in dataset.tags)
    columns = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.type)}</td><td>{html.escape(c.description)}</td>"
        f"<td>{html.escape(c.classification or '')}</td></tr>"
        for c in dataset.columns
    )
    parts = [
        f"<div><b>{html.escape(dataset.title)}</b> {_code(dataset.address)}</div>",
        f"<div>{' · '.join(facts)}</div>",
        f'<div class="meshlab-muted">not queryable here: {html.escape(dataset.unavailable)}</div>'
        if dataset.unavailable
        else "",
        f"<p>{html.escape(dataset.description)}</p>" if dataset.description else "",
        f"<div>SLA:<ul>{sla}</ul></div>" if sla else "",
        _last_check(status),
        f"<div>Tags: {tags}</div>" if tags else "",
        '<table class="meshlab-table"><thead><tr><th>column</th><th>type</th><th>description</th><th>classification</th></tr></thead>'
        f"<tbody>{columns}</tbody></table>",
        _more_of_the_contract(dataset),
    ]
    return f'<div class="meshlab meshlab-dataset">{STYLE}{"".join(parts)}</div>'
