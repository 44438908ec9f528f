"""Engines: run a planned query (Polars in memory or streaming, or Spark) over its scans.

Below :mod:`meshlab.mesh`, above :mod:`meshlab.planner` (docs/architecture.md, layers).
"""
