"""A dataset's card (the catalog widget's detail pane): title, owner, status, SLA, last check, columns."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from meshlab.rendering.checks import last_check_block_html
from meshlab.rendering.html_parts import STYLE, code, status_badge

if TYPE_CHECKING:
    from meshlab.catalog import Dataset
    from meshlab.quality.status import DatasetStatus

# Contract fields the card shows itself; every other one is listed under "more of the contract".
SHOWN_FIELDS = ("apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct", "description",
                "tags", "schema", "slaProperties")  # fmt: skip


def freshness_text(dataset: Dataset) -> str | None:
    """The contract's latency promise (``fresh within 2 d``), if it makes one."""
    latency = dict(dataset.sla).get("latency")
    if not isinstance(latency, dict) or latency.get("value") is None:
        return None
    unit = f" {latency['unit']}" if latency.get("unit") else ""
    return f"fresh within {latency['value']}{unit}"


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


def dataset_html(dataset: Dataset, status: DatasetStatus | None = None) -> str:
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
        f"<div><b>{html.escape(dataset.title)}</b> {code(dataset.address)}</div>",
        f"<div>{' · '.join(facts)}</div>",
        f'<div class="meshlab-muted">not queryable here: {html.escape(dataset.unavailable)}</div>'
        if dataset.unavailable
        else "",
        f"<p>{html.escape(dataset.description)}</p>" if dataset.description else "",
        f"<div>SLA:<ul>{sla}</ul></div>" if sla else "",
        last_check_block_html(status) if status is not None else "",
        f"<div>Tags: {tags}</div>" if tags else "",
        '<table class="meshlab-table"><thead><tr><th>column</th><th>type</th><th>description</th><th>classification</th></tr></thead>'
        f"<tbody>{columns}</tbody></table>",
        _more_of_the_contract(dataset),
    ]
    return f'<div class="meshlab meshlab-dataset">{STYLE}{"".join(parts)}</div>'
