"""What the planner passes hand each other: one :class:`PlanState`, in and out.

Every pass is a module with one function, ``run(state) -> state``
(:class:`Pass`); :data:`meshlab.planner.passes.PASSES` lists them in order.
A pass returns the state it was given when it changes nothing, else a copy
with the fields it filled. The statement's tree is the one mutable part: the
planner owns it (parsed from the query's text), and rewriting it in place
spares a copy of the whole tree per pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from meshlab.catalog import Catalog, Dataset
from meshlab.governance.access import Access
from meshlab.planner.plan import Occurrence, ScanGovernance, ScanPlan
from meshlab.sources import Source


@dataclass(frozen=True)
class PlanState:
    """The query being planned, and what the passes so far found out about it."""

    # -- the request: set once, read by the passes -------------------------------------
    sql: str  # the query's text, for messages that point into it
    tree: exp.Expression  # the statement: parsed, then rewritten pass after pass
    catalog: Catalog  # the datasets the role may read
    source_for: Callable[[Dataset], Source]
    params: Mapping[str, Any] | None = None  # values of the :name placeholders
    limit: int | None = None  # cap on the answer's rows
    access: Access | None = None  # the role whose row filters and masks apply
    join_pushdown: bool = True  # whether joins may go down to a database

    # -- found by the passes -----------------------------------------------------------
    datasets: dict[str, Dataset] = field(default_factory=dict)  # canonical name (__dsN) -> dataset
    scopes: list[Scope] = field(default_factory=list)  # sqlglot scopes of the qualified tree
    occurrences: tuple[Occurrence, ...] = ()  # table references that read a dataset
    governance: tuple[ScanGovernance | None, ...] = ()  # per occurrence: the role's rules
    scans: tuple[ScanPlan, ...] = ()
    reads: dict[str, Occurrence] = field(default_factory=dict)  # scan id -> the reference it reads
    renames: dict[str, str] = field(default_factory=dict)  # scan id -> the shared scan serving it
    scan_names: dict[str, str] = field(default_factory=dict)  # scan id -> canonical dataset name
    lineage_tree: exp.Expression | None = None  # the tree before joins went down to a database
    notes: tuple[str, ...] = ()  # what a reader of the plan should know about a choice made
    output_names: Mapping[str, str] = field(default_factory=dict)  # lower-cased -> as spelled (name_outputs)


class Pass(Protocol):
    """A planner pass: a module named for what it does, with one ``run``."""

    __name__: str

    def run(self, state: PlanState) -> PlanState: ...
