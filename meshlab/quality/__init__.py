"""Trust: ODCS schema, quality and SLA checks on the Polars engine, and their stored status.

``mesh.check()`` (also ``meshlab check`` and ``%mesh check``) runs, for every
dataset: schema conformance, the contract's ``quality`` rules of type
``library`` and ``sql``, the ``latency`` SLA and the ``relationships``
(foreign keys, across domains too). Results are kept in a small SQLite file
beside the mesh (:mod:`meshlab.quality.status`), which the catalog, the
widget and the query banner read.
"""

from meshlab.quality.report import CheckReport, CheckResult
from meshlab.quality.runner import run_checks

__all__ = ["CheckReport", "CheckResult", "run_checks"]
