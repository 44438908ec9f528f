"""Pass: the role's row filters and column masks, on every scan.

Runs on the dataset occurrences before pushdown is decided, so that:

- the row filter is part of the scan itself (before any join: an outer join
  cannot bring back filtered rows), pushed to the source when it can;
- a masked column is masked at the scan, so every use of it (SELECT, WHERE,
  JOIN, GROUP BY, ORDER BY, windows, subqueries) sees the masked value;
- no predicate, ORDER BY or LIMIT on a masked column goes down to the source,
  where it would see the clear value (``WHERE email <> 'x'`` would otherwise
  count the clear values). Such predicates stay in the local query, over the
  masked values.

    SELECT p.email FROM listeners.profiles AS p WHERE p.email = 'a@b.se'
    (analyst: email is pii -> hash; row filter country IN ('DE'))
    -> scan: columns (email), row filter country IN ('DE'), mask email: hash;
       candidates: none (the predicate is evaluated locally, on the hash)
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from meshlab.catalog import Dataset
from meshlab.governance.access import Access
from meshlab.planner.plan import Occurrence, ScanGovernance
from meshlab.planner.state import PlanState

__all__ = ["ScanGovernance", "govern_occurrences", "run"]


def run(state: PlanState) -> PlanState:
    """Each occurrence's rules from the role; what touches a masked column stays local."""
    if state.access is None or not state.access.governed:
        return state
    occurrences, rules = govern_occurrences(state.occurrences, state.datasets, state.access)
    return replace(state, occurrences=occurrences, governance=rules)


def _uses(node: exp.Expression, names: set[str]) -> bool:
    return any(c.name in names for c in node.find_all(exp.Column))


def govern_occurrences(
    occurrences: tuple[Occurrence, ...], datasets: dict[str, Dataset], access: Access
) -> tuple[tuple[Occurrence, ...], tuple[ScanGovernance | None, ...]]:
    """The occurrences without what touches a masked column, and per occurrence the
    role's rules for its scan (None: nothing to impose).

    Candidates and ORDER BY/LIMIT that touch masked columns are dropped: they stay local.
    """
    kept: list[Occurrence] = []
    found: list[ScanGovernance | None] = []
    for occurrence in occurrences:
        dataset = datasets[occurrence.key]
        masks = access.masks(dataset)
        row_filter = access.row_filter(dataset)
        masked = set(masks)
        if masked:
            candidates = [c for c in occurrence.candidates if not _uses(c, masked)]
            occurrence = replace(occurrence, candidates=candidates)
            if any(_uses(o, masked) for o in occurrence.order_by):
                occurrence = replace(occurrence, limit=None, order_by=())
        kept.append(occurrence)
        found.append(ScanGovernance(row_filter, tuple(masks.values())) if row_filter is not None or masks else None)
    return tuple(kept), tuple(found)
