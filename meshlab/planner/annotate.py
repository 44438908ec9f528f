"""Types for the passes that need them: sqlglot's annotation over the contracts' types, once per plan.

The passes that write DuckDB's semantics out (:mod:`cast_string_literals`,
:mod:`subtract_dates`, :mod:`round_half_away`, :mod:`cast_text`) ask for types only
when the query holds what they rewrite, and the first to ask pays for all: the
statement's root is marked typed. Nodes a pass adds afterwards have no type; the
passes read the types of the operands the user wrote, which keep theirs.
"""

from __future__ import annotations

from sqlglot.optimizer.annotate_types import annotate_types

from meshlab.planner.parse import READ_DIALECT
from meshlab.planner.resolve import cached_schema
from meshlab.planner.state import PlanState

TYPED = "typed"


def annotate(state: PlanState) -> None:
    """Annotate ``state.tree`` in place, unless a pass did already."""
    if state.tree.meta.get(TYPED):
        return
    annotate_types(state.tree, schema=cached_schema(state.datasets), dialect=READ_DIALECT)
    state.tree.meta[TYPED] = True
