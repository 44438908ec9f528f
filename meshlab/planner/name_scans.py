"""Pass: each dataset reference of the local query reads its scan.

    SELECT o.o_id AS o_id FROM __ds0 AS o
    -> SELECT o.o_id AS o_id FROM __scan0 AS o

A reference whose scan is shared reads the shared one; the references of a
join pushed down whole were rewritten by :mod:`meshlab.planner.joins`.
The plan keeps scan id -> canonical dataset name, for lineage.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.planner.state import PlanState


def run(state: PlanState) -> PlanState:
    scan_names: dict[str, str] = {}
    for scan_id, occurrence in state.reads.items():
        scan_id = state.renames.get(scan_id, scan_id)
        occurrence.table.set("this", exp.to_identifier(scan_id))
        scan_names[scan_id] = occurrence.key
    return replace(state, scan_names=scan_names)
