"""Catalog listings as polars frames: what `meshlab catalog` and `%mesh search` show."""

from __future__ import annotations

import polars as pl

from meshlab.catalog import Dataset

LISTING_COLUMNS = ("address", "title", "owner", "status", "server", "columns", "description")


def dataset_table(datasets: list[Dataset]) -> pl.DataFrame:
    """One row per dataset, in the given (ranked) order."""
    return pl.DataFrame(
        [
            {
                "address": d.address,
                "title": d.title,
                "owner": d.owner,
                "status": d.status,
                "server": d.server.type,
                "columns": len(d.columns),
                "description": d.description,
            }
            for d in datasets
        ],
        schema=list(LISTING_COLUMNS),
        orient="row",
    )
