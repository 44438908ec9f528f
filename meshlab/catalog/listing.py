"""Catalog listings as polars frames: what `meshlab catalog` and `%mesh search` show."""

from __future__ import annotations

import polars as pl

from meshlab.catalog import Dataset

LISTING_COLUMNS = ("address", "title", "owner", "status", "server", "columns", "description")


def dataset_table(datasets: list[Dataset], checks: dict | None = None) -> pl.DataFrame:
    """One row per dataset, in the given (ranked) order.

    ``checks`` (address -> :class:`~meshlab.quality.status.DatasetStatus`, from
    ``mesh.status()``) adds the columns ``last_check`` and ``freshness`` when not empty.
    """
    table = pl.DataFrame(
        [
            {
                "address": d.address,
                "title": d.title,
                "owner": d.owner,
                "status": d.status,
                "server": _server_label(d),
                "columns": len(d.columns),
                "description": d.description,
            }
            for d in datasets
        ],
        schema=list(LISTING_COLUMNS),
        orient="row",
    )
    if not checks:
        return table
    found = [checks.get(d.address) for d in datasets]
    return table.with_columns(
        pl.Series("last_check", [s.summary() if s else "never checked" for s in found], pl.String),
        pl.Series("freshness", [_freshness(s) for s in found], pl.String),
    )


def _freshness(status) -> str | None:
    fresh = status.freshness if status is not None else None
    if fresh is None:
        return None
    verdict = "fresh" if fresh.status == "passed" else "STALE" if fresh.status == "failed" else "unknown"
    return f"{verdict}: {fresh.age} old (at most {fresh.max_age})" if fresh.age else verdict


def _server_label(dataset: Dataset) -> str:
    """The server type; a table format read on a file server says so (``delta on local``)."""
    server = dataset.server
    if not dataset.queryable:
        return f"{server.type} (not queryable here)"
    if server.kind not in (None, "files", server.type):
        return f"{server.kind} on {server.type}"
    return server.type
