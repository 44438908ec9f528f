"""Column lineage drawn as a self-contained SVG, in pure Python.

Source datasets sit on the left, each a box listing the columns the query used;
output columns sit on the right; an edge joins every source column to each
output it feeds, coloured by the kind of the output (identity, transformation,
aggregation). The layout depends only on the lineage, so the same query always
draws the same picture; no graphviz, no fonts to measure (text is monospace, so
a width is a character count).

>>> from meshlab.lineage import Lineage
>>> svg = lineage_svg(Lineage({"n": ["a.b.c"]}, {"n": "aggregation"}, ["a.b"]))
>>> svg.startswith("<svg")
True
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from meshlab.lineage import Lineage

KIND_COLOURS = {"identity": "#1976d2", "transformation": "#ef6c00", "aggregation": "#8e24aa"}
"""Edge and label colour of each lineage kind (mid tones: legible on light and dark pages)."""

FONT_SIZE = 12
CHAR_WIDTH = 7.3  # advance of a 12 px monospace glyph
ROW = 20  # height of a column row
HEADER = 24  # height of a dataset box's title row
GAP = 14  # between boxes
MARGIN = 16
EDGE_SPAN = 170  # horizontal room for the edges
MAX_CHARS = 48  # longer names are cut; the full name is in the tooltip
TEXT = "#212121"
MUTED = "#757575"
BORDER = "#bdbdbd"


@dataclass(frozen=True)
class LineageSvg:
    """An SVG picture of a lineage; Jupyter shows it inline through ``_repr_svg_``."""

    svg: str

    @classmethod
    def of(cls, lineage: Lineage) -> LineageSvg:
        return cls(lineage_svg(lineage))

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        # The plain-text fallback stays one line: the picture is the SVG.
        return f"<column lineage graph, {len(self.svg):,} bytes of SVG>"


def _clean(text: str) -> str:
    # Control characters are not allowed in XML 1.0, even escaped.
    return "".join(ch for ch in text if ch >= " " or ch in "\t\n")


def _label(text: str) -> str:
    text = _clean(text)
    return escape(text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…")


def _width(texts: list[str], extra: int = 0) -> float:
    longest = max((min(len(t), MAX_CHARS) for t in texts), default=8) + extra
    return round(longest * CHAR_WIDTH + 2 * 10, 1)


def _source_columns(lineage: Lineage) -> dict[str, list[str]]:
    """Dataset address -> its columns used; both in the order the outputs first use them.

    Ordering by first use keeps edges from crossing more than they must; datasets
    only filtered or joined on come last, by address.
    """
    found: dict[str, list[str]] = {}
    for sources in lineage.columns.values():
        for source in sources:
            dataset, column = source.rsplit(".", 1)
            used = found.setdefault(dataset, [])
            if column not in used:
                used.append(column)
    for address in sorted(lineage.datasets):
        found.setdefault(address, [])
    return found


def _text(x: float, y: float, text: str, *, weight: str = "normal", fill: str = TEXT, size: int = FONT_SIZE) -> str:
    return f'<text x="{x:g}" y="{y:g}" font-size="{size}" font-weight="{weight}" fill="{fill}">{_label(text)}</text>'


def _dataset_boxes(datasets: dict[str, list[str]], x: float, top: float, width: float):
    """SVG of the left column and, per source address, the y of its row's middle."""
    parts, anchors, y = [], {}, top
    for address, columns in datasets.items():
        rows = max(len(columns), 1)
        height = HEADER + rows * ROW + 4
        parts.append(
            f"<g><title>{escape(_clean(address))}</title>"
            f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" rx="5" fill="#f5f5f5" stroke="{BORDER}"/>'
            f'<line x1="{x:g}" y1="{y + HEADER:g}" x2="{x + width:g}" y2="{y + HEADER:g}" stroke="{BORDER}"/>'
            + _text(x + 10, y + 16, address, weight="bold")
            + "</g>"
        )
        if not columns:
            parts.append(_text(x + 10, y + HEADER + 14, "(filters or joins only)", fill=MUTED, size=11))
        for i, column in enumerate(columns):
            middle = y + HEADER + i * ROW + ROW / 2 + 2
            anchors[f"{address}.{column}"] = middle
            parts.append(_text(x + 10, middle + 4, column))
        y += height + GAP
    return parts, anchors


def _output_boxes(lineage: Lineage, x: float, top: float, width: float):
    """SVG of the right column and, per output column, the y of its box's middle."""
    parts, anchors = [], {}
    for i, output in enumerate(lineage.columns):
        kind = lineage.kinds.get(output, "identity")
        y = top + i * (ROW + 8)
        anchors[output] = y + ROW / 2 + 2
        parts.append(
            f"<g><title>{escape(_clean(output))} ({kind})</title>"
            f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{ROW + 4}" rx="5" fill="#ffffff" '
            f'stroke="{KIND_COLOURS.get(kind, BORDER)}" stroke-width="1.5"/>'
            + _text(x + 10, y + 16, output)
            + f'<text x="{x + width - 10:g}" y="{y + 16:g}" font-size="10" text-anchor="end" '
            f'fill="{KIND_COLOURS.get(kind, MUTED)}">{escape(kind)}</text></g>'
        )
    return parts, anchors


def _edges(lineage: Lineage, sources: dict[str, float], outputs: dict[str, float], x1: float, x2: float):
    parts = []
    middle = (x1 + x2) / 2
    for output, feeding in lineage.columns.items():
        kind = lineage.kinds.get(output, "identity")
        colour = KIND_COLOURS.get(kind, MUTED)
        y2 = outputs[output]
        for source in feeding:
            y1 = sources[source]
            tip = f"{source} → {output} ({kind})"
            parts.append(
                f'<path d="M{x1:g},{y1:g} C{middle:g},{y1:g} {middle:g},{y2:g} {x2:g},{y2:g}" fill="none" '
                f'stroke="{colour}" stroke-width="1.6" opacity="0.85"><title>{escape(_clean(tip))}</title></path>'
                f'<circle cx="{x2:g}" cy="{y2:g}" r="2.5" fill="{colour}"/>'
            )
    return parts


def _legend(x: float, y: float) -> list[str]:
    parts = []
    for kind, colour in KIND_COLOURS.items():
        parts.append(
            f'<line x1="{x:g}" y1="{y - 4:g}" x2="{x + 22:g}" y2="{y - 4:g}" stroke="{colour}" stroke-width="2"/>'
            + _text(x + 28, y, kind, fill=colour, size=11)
        )
        x += 28 + len(kind) * CHAR_WIDTH + 20
    return parts


def lineage_svg(lineage: Lineage) -> str:
    """Draw ``lineage`` as a standalone SVG document.

    Parameters
    ----------
    lineage
        A query's column lineage (``Result.lineage``).

    Returns
    -------
    str
        An ``<svg>`` element with a light background of its own, so it reads
        the same in light and dark notebook themes. Every dataset and output
        column name is in it as text; hovering an edge names its source, output
        and kind.
    """
    datasets = _source_columns(lineage)
    outputs = list(lineage.columns)
    left_w = _width(list(datasets) + [c for cols in datasets.values() for c in cols] + ["(filters or joins only)"])
    right_w = _width(outputs, extra=max(len(k) for k in KIND_COLOURS) + 2)
    left_h = sum(HEADER + max(len(c), 1) * ROW + 4 + GAP for c in datasets.values()) - GAP if datasets else 0
    right_h = len(outputs) * (ROW + 8) - 8 if outputs else 0
    body_h = max(left_h, right_h, ROW)
    top = MARGIN + 22  # below the title
    left_x, right_x = MARGIN, MARGIN + left_w + EDGE_SPAN
    left, source_y = _dataset_boxes(datasets, left_x, top + (body_h - left_h) / 2, left_w)
    right, output_y = _output_boxes(lineage, right_x, top + (body_h - right_h) / 2, right_w)
    edges = _edges(lineage, source_y, output_y, left_x + left_w, right_x)
    width = right_x + right_w + MARGIN
    legend_y = top + body_h + 26
    height = legend_y + MARGIN
    title = "Column lineage" if outputs else "Column lineage: no output columns"
    body = "".join(
        [
            f'<rect x="0.5" y="0.5" width="{width - 1:g}" height="{height - 1:g}" rx="6" fill="#ffffff" stroke="{BORDER}"/>',
            _text(MARGIN, MARGIN + 8, title, weight="bold", size=13),
            *edges,  # under the boxes, so box text stays legible
            *left,
            *right,
            *_legend(MARGIN, legend_y),
        ]
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" font-family="ui-monospace, Menlo, Consolas, monospace" '
        f'role="img" aria-label={quoteattr("column lineage")}>{body}</svg>'
    )
