"""A plan before it runs, as text (``mesh.explain``, ``%mesh explain``): what each source is sent,
then the local part."""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshlab.catalog.root_paths import relative_to_root, root_label

if TYPE_CHECKING:  # rendering sits below the planner: it draws plans, it does not make them
    from meshlab.planner.plan import QueryPlan


def explain_text(plan: QueryPlan) -> str:
    """The plan as text; paths below the mesh's folder relative to it, the folder named once on top."""
    lines = [f"Query plan: {len(plan.scans)} scan(s), then the local query on Polars"]
    if plan.mesh_root:
        lines.append(f"Mesh root: {root_label(plan.mesh_root)} (paths below are relative to it)")
    lines.append("")
    for scan in plan.scans:
        addresses = ", ".join(ds.address for ds in scan.datasets)
        lines.append(
            f"[{scan.scan_id}] {addresses} AS {scan.alias}  ({scan.source.kind} on server '{scan.source.server_label}': {scan.source.location()})"
        )
        for line in scan.describe().splitlines():
            lines.append(f"    {line}")
        for predicate, verdict in scan.pushed:
            lines.append(f"    pushed ({verdict.value}): {predicate}")
        for predicate in scan.kept_local:
            lines.append(f"    kept local: {predicate}")
        if scan.join_choice:
            lines.append(f"    join: {scan.join_choice}")
        lines.append("")
    for note in plan.notes:
        lines.append(f"note: {note}")
    lines.append("Local query (Polars SQL):")
    lines.extend("    " + line for line in plan.readable_local_sql.splitlines())
    return relative_to_root("\n".join(lines), plan.mesh_root)
