"""The demo music mesh: a streaming company's data products, generated locally.

Four domains, as in the data-mesh white paper's music example: ``plays``
(play events as parquet, daily charts as a Delta table that keeps each
night's version), ``listeners`` (profiles and
subscriptions, SQLite), ``artists`` (artist and track catalog, CSV) and
``podcasts`` (episodes as NDJSON, streams as parquet), each described by ODCS
v3.1 data contracts. The data is synthetic and deterministic from a seed.
"""

from meshlab.demo.build import ensure_demo, write_demo

__all__ = ["ensure_demo", "write_demo"]
