"""The pieces every rendering shares: the stylesheet, badges, timings and the preview table.

Only the first rows are ever formatted, so a result of ten million rows renders
as fast, and saves as small, as one of twenty. Every value is escaped. Timings
always read ``N.NNN s`` (see :data:`TIME_PATTERN`) so that notebook tests can mask them.
"""

from __future__ import annotations

import html

import polars as pl

PREVIEW_COLUMNS = 40
"""Columns shown by the HTML repr; wider results say how many were left out."""

MAX_CELL_CHARS = 120
"""Longer values are cut (with an ellipsis) so one cell cannot blow up the page."""

TIME_PATTERN = r"\d+\.\d{3} s\b"
"""Every timing in the HTML and text reprs matches this (an nbval sanitizer regex)."""

FLAGGED_STATUSES = ("proposed", "draft", "deprecated", "retired")
"""Contract statuses a reader should notice before trusting the numbers."""

KNOWN_STATUSES = ("active", *FLAGGED_STATUSES)

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
    """An HTML badge naming a lineage kind (identity, transformation, aggregation)."""
    return f'<span class="meshlab-badge meshlab-kind-{html.escape(kind)}">{html.escape(kind)}</span>'


def code(text: str) -> str:
    """``text`` escaped in a ``<code>`` element."""
    return f"<code>{html.escape(text)}</code>"


def cell(value: object) -> str:
    """One table cell's content: ``null`` marked, floats without binary noise, long text cut, escaped."""
    if value is None:
        return '<span class="meshlab-null">null</span>'
    # 12 significant digits hide binary noise (36428.325000000004); integers are untouched.
    text = format(value, ".12g") if isinstance(value, float) else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return html.escape(text)


def preview_html(df: pl.DataFrame, rows: int) -> str:
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
            f'<td class="meshlab-num">{cell(v)}</td>' if num else f"<td>{cell(v)}</td>" for v, num in zip(row, numeric)
        )
        body.append(f"<tr>{cells}</tr>")
    more = df.width - shown.width
    note = f'<div class="meshlab-muted">… {more:,} more columns not shown</div>' if more > 0 else ""
    return f'<table class="meshlab-table meshlab-preview"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'
