"""``Mesh``: the catalog plus its sources; every front end calls these methods."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import polars as pl

from meshlab.catalog import Catalog, Dataset, load_catalog
from meshlab.engine.polars_engine import build_frames, execute, lazy_query
from meshlab.errors import DescriptorError
from meshlab.governance import AuditConfig, Policy, choose_access
from meshlab.governance.policy import policy_of
from meshlab.governance.session import audited
from meshlab.planner import QueryPlan, plan_query
from meshlab.planner.explain import explain_text
from meshlab.planner.parse import parse_statement, placeholders
from meshlab.result import Result
from meshlab.sources import Source, source_for


class Mesh:
    """A loaded data mesh.

    Parameters
    ----------
    catalog
        The loaded catalog (see :func:`meshlab.connect`).
    """

    def __init__(self, catalog: Catalog, policy: Policy | None = None, role: str | None = None):
        self.full_catalog = catalog
        self.policy = policy
        self.audit = AuditConfig.from_settings(catalog.manifest.settings, catalog.manifest.path, catalog.name)
        self._sources: dict[str, Source] = {}
        self.set_role(role)

    # -- governance --------------------------------------------------------------
    def set_role(self, role: str | None = None) -> None:
        """Act in ``role`` (one the current user holds); None: ``$MESHLAB_ROLE``, else the user's first.

        The catalog then shows only the datasets the role may read.
        """
        self.access = choose_access(self.policy, role)
        visible = [d for d in self.full_catalog.datasets if self.access.can_read(d)]
        full = self.full_catalog
        self.catalog = full if len(visible) == len(full.datasets) else Catalog(
            full.manifest, visible, full.errors, full.warnings
        )

    @property
    def role(self) -> str | None:
        """The role queries run in (None when the mesh has no policy file)."""
        return self.access.role

    @property
    def user(self) -> str:
        return self.access.user

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the current user may take."""
        return self.policy.roles_of(self.access.user) if self.policy else ()

    # -- catalog -----------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.catalog.name

    @property
    def errors(self) -> list[DescriptorError]:
        """Descriptors that failed to load (the rest of the mesh loaded)."""
        return list(self.catalog.errors)

    @property
    def warnings(self) -> list[str]:
        return list(self.catalog.warnings)

    def datasets(self) -> list[Dataset]:
        """Every dataset, sorted by address."""
        return list(self.catalog.datasets)

    def dataset(self, address: str) -> Dataset:
        """The dataset at ``address`` (``domain.dataset`` or ``domain.product.dataset``)."""
        return self.catalog.resolve(address)

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        """Datasets ranked by relevance to ``text`` (names, descriptions, columns, tags)."""
        return self.catalog.search(text, limit)

    # -- queries -----------------------------------------------------------------
    def source(self, dataset: Dataset) -> Source:
        found = self._sources.get(dataset.address)
        if found is None:
            found = self._sources[dataset.address] = source_for(dataset)
        return found

    def plan(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryPlan:
        """Plan ``sql`` without running it."""
        return plan_query(sql, self.catalog, self.source, params, limit=limit, access=self.access)

    def parameters(self, sql: str) -> list[str]:
        """Names of the ``:name`` placeholders in ``sql``, in order (the statement is parsed, not run)."""
        return placeholders(parse_statement(sql))

    def explain(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> str:
        """The plan as text: what each source will be sent, then the local query."""
        return explain_text(self.plan(sql, params, limit))

    def sql(
        self, sql: str, params: Mapping[str, Any] | None = None, lazy: bool = False, limit: int | None = None
    ) -> Result | pl.LazyFrame:
        """Run a read query over the mesh's datasets.

        Parameters
        ----------
        sql
            One SELECT / WITH / set-operation statement naming datasets by address.
        params
            Values for ``:name`` placeholders, bound as literals (never pasted as text).
        lazy
            Return the ``polars.LazyFrame`` instead of running it.
        limit
            Return at most this many rows (pushed down where the plan allows).
        """
        with audited(self, sql, params) as audit:
            started = time.perf_counter()
            plan = audit.plan = self.plan(sql, params, limit)
            planned = time.perf_counter()
            if lazy:
                frames, _ = build_frames(plan)
                return lazy_query(plan, frames)
            frame, stats = execute(plan)
            audit.result = Result(frame, plan, stats, planned - started, time.perf_counter() - planned)
        return audit.result

    def close(self) -> None:
        """Release what the mesh holds (sources open connections per scan)."""
        self._sources.clear()

    def __enter__(self) -> Mesh:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        role = f", role {self.role!r}" if self.policy else ""
        return (
            f"<Mesh {self.name!r}: {len(self.catalog.datasets)} datasets, {len(self.catalog.errors)} load errors{role}>"
        )


def connect(path: str = "mesh.yaml", role: str | None = None) -> Mesh:
    """Load the mesh at ``path``: a ``mesh.yaml``, a domain folder or one contract file.

    Broken contracts do not fail the load: they are listed in ``Mesh.errors``.
    A policy file (``policies:`` in mesh.yaml) must load, or nothing does: a
    broken policy never falls back to granting everything.

    Parameters
    ----------
    role
        The role to act in, among those the current user holds (default
        ``$MESHLAB_ROLE``, else the user's first role in the policy).
    """
    catalog = load_catalog(str(path))
    return Mesh(catalog, policy_of(catalog), role)
