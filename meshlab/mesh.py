"""``Mesh``: the catalog plus its sources; every front end calls these methods."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Mapping, MutableMapping
from types import TracebackType
from typing import Any, Literal, overload

import polars as pl
from sqlglot import exp

from meshlab.cancel import QueryHandle
from meshlab.catalog import Catalog, Dataset, load_catalog
from meshlab.catalog.storage import StorageSettings
from meshlab.catalog.time_travel import TableVersion
from meshlab.engine.cancellable import run_cancellable
from meshlab.engine.choice import EngineChoice, EngineSettings, run_checked
from meshlab.engine.polars_engine import build_frames, lazy_query
from meshlab.errors import (
    AccessDeniedError,
    DescriptorError,
    EngineError,
    MeshError,
    ParameterError,
    UnknownDatasetError,
    UnsupportedQueryError,
)
from meshlab.governance import Access, AuditConfig, Policy, choose_access
from meshlab.governance.policy import policy_of
from meshlab.governance.session import audited
from meshlab.limits import TimeLimits
from meshlab.plan_analysis import PlanAnalysis, analyse
from meshlab.planner import QueryPlan, plan_query
from meshlab.planner.parse import READ_DIALECT, parse_statement, placeholders
from meshlab.quality import CheckReport, run_checks
from meshlab.quality.status import DatasetStatus, StatusStore, attach_status, default_path, record_report
from meshlab.rendering.plans import explain_text
from meshlab.result import Result
from meshlab.sources import ScanStats, Source, source_for
from meshlab.sources.connection_pool import ConnectionPools
from meshlab.sources.text_cache import TextCacheSettings


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
        self._views: MutableMapping[tuple[str, str | None], Mesh] = {}
        #: database connections kept between statements (docs/reliability.md, "Connections")
        self.connections: ConnectionPools | None = ConnectionPools()
        self.set_role(role)

    # -- governance --------------------------------------------------------------
    def set_role(self, role: str | None = None) -> None:
        """Act in ``role`` (one the current user holds); None: ``$MESHLAB_ROLE``, else the user's first.

        The catalog then shows only the datasets the role may read.
        """
        self._govern(choose_access(self.policy, role))

    def for_user(self, user: str, role: str | None = None) -> Mesh:
        """This mesh as ``user`` sees it, in ``role`` (default: the user's first role).

        For server mode: the Jupyter server's authenticated user, never the
        server process's environment. The catalog is shared; sources and database
        connections are the user's own (a connection never serves two users).
        """
        key = (user, role)
        twin = self._views.get(key)
        if twin is None:  # one view per user and role: its catalog and search index are built once
            twin = copy.copy(self)
            twin._sources, twin._views = {}, {}
            twin.connections = ConnectionPools() if self.connections is not None else None
            twin._govern(choose_access(self.policy, role, user, from_environment=False))
            self._views[key] = twin
        return twin

    def _govern(self, access: Access) -> None:
        self.access = access
        visible = [d for d in self.full_catalog.datasets if self.access.can_read(d)]
        full = self.full_catalog
        self.catalog = (
            full if len(visible) == len(full.datasets) else Catalog(full.manifest, visible, full.errors, full.warnings)
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

    @property
    def invalid(self) -> list[DescriptorError]:
        """Loaded contracts that are not valid ODCS (the official schema's verdict; ``meshlab lint`` lists every violation)."""
        return list(self.catalog.invalid)

    @property
    def notices(self) -> list[str]:
        """Datasets of valid contracts that cannot be queried here, with why (not errors)."""
        return list(self.catalog.notices)

    def datasets(self) -> list[Dataset]:
        """Every dataset, sorted by address."""
        return list(self.catalog.datasets)

    def dataset(self, address: str) -> Dataset:
        """The dataset at ``address`` (``domain.dataset`` or ``domain.product.dataset``).

        Under a policy, a dataset the role may not read is unknown to it
        (:class:`~meshlab.errors.AccessDeniedError`, whether it exists or not).
        """
        try:
            return self.catalog.resolve(address)
        except AccessDeniedError:
            raise
        except UnknownDatasetError as exc:
            if not self.access.governed:
                raise
            raise AccessDeniedError(exc.address, self.access.role_label, exc.suggestions) from None

    def history(self, address: str) -> list[TableVersion]:
        """The versions of a Delta or Iceberg dataset, oldest first (each readable with
        ``FOR VERSION AS OF`` or :meth:`read`); a source without versions raises
        :class:`~meshlab.errors.TimeTravelError`."""
        return self.source(self.dataset(address)).history()

    def read(
        self,
        address: str,
        *,
        version: int | None = None,
        timestamp: dt.datetime | str | None = None,
        limit: int | None = None,
    ) -> Result:
        """Every column of one dataset, as it is or as it was at ``version`` / ``timestamp``.

        The Python form of ``SELECT * FROM address FOR VERSION AS OF version``:
        planned, governed and reported like any query.
        """
        if version is not None and timestamp is not None:
            raise ParameterError("read() takes a version or a timestamp, not both")
        table = exp.to_table(address, dialect=READ_DIALECT)
        if version is not None:
            clause = exp.Literal.number(int(version))
            table.set("version", exp.Version(this="VERSION", kind="AS OF", expression=clause))
        elif timestamp is not None:
            text = timestamp.isoformat(sep=" ") if isinstance(timestamp, dt.datetime) else str(timestamp)
            moment = exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMP"))
            table.set("version", exp.Version(this="TIMESTAMP", kind="AS OF", expression=moment))
        return self.sql(exp.select("*").from_(table).sql(dialect=READ_DIALECT), limit=limit)

    def search(self, text: str, limit: int | None = None) -> list[Dataset]:
        """Datasets ranked by relevance to ``text`` (names, descriptions, columns, tags)."""
        return self.catalog.search(text, limit)

    # -- queries -----------------------------------------------------------------
    def source(self, dataset: Dataset) -> Source:
        found = self._sources.get(dataset.reference)
        if found is None:
            manifest = self.full_catalog.manifest
            files = manifest.settings.get("files") or {}
            malformed = str(files.get("malformed_rows", "fail"))
            cache = TextCacheSettings.parse(files.get("text_cache"), manifest.path)
            found = source_for(dataset, manifest.storage, malformed, manifest.limits, cache)
            self._sources[dataset.reference] = found
            found.connections = self.connections
        return found

    def plan(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryPlan:
        """Plan ``sql`` without running it."""
        try:
            return plan_query(sql, self.catalog, self.source, params, limit=limit, access=self.access)
        except MeshError:
            raise
        except RecursionError:  # a shape the limits of meshlab.sql_shape let through
            raise UnsupportedQueryError("the query is nested too deeply to be planned") from None
        except Exception as exc:  # noqa: BLE001 - one query never escapes as anything but a MeshError
            raise UnsupportedQueryError(f"the query cannot be planned ({type(exc).__name__}: {exc})") from exc

    def parameters(self, sql: str) -> list[str]:
        """Names of the ``:name`` placeholders in ``sql``, in order (the statement is parsed, not run)."""
        return placeholders(parse_statement(sql))

    @overload
    def explain(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
        analyze: Literal[False] = False,
    ) -> str: ...

    @overload
    def explain(
        self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None, *, analyze: Literal[True]
    ) -> PlanAnalysis: ...

    def explain(
        self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None, analyze: bool = False
    ) -> str | PlanAnalysis:
        """The plan as text: what each source will be sent, then the local query.

        ``analyze=True`` runs the query and returns a :class:`~meshlab.plan_analysis.PlanAnalysis`:
        the same text followed by each scan's estimated and actual rows (``str()`` of it), and
        the figures as ``.scans``.
        """
        if not analyze:
            text: str = explain_text(self.plan(sql, params, limit))
            return text
        result = self.sql(sql, params, limit=limit)
        executed = result.plan
        return analyse(
            executed.query_plan, executed.scan_stats, result.df.height, result.plan_seconds, result.run_seconds
        )

    @property
    def limits(self) -> TimeLimits:
        """The ``timeouts:`` section of mesh.yaml (see :mod:`meshlab.limits`)."""
        return self.full_catalog.manifest.limits

    @property
    def engine_settings(self) -> EngineSettings:
        """The ``engine:`` section of mesh.yaml (default engine, memory share, Spark)."""
        manifest = self.full_catalog.manifest
        return EngineSettings.parse(manifest.settings.get("engine"), manifest.path)

    @overload
    def sql(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        lazy: Literal[False] = False,
        limit: int | None = None,
        engine: str | None = None,
        timeout: float | None = None,
        handle: QueryHandle | None = None,
    ) -> Result: ...

    @overload
    def sql(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        lazy: Literal[True],
        limit: int | None = None,
        engine: str | None = None,
        timeout: float | None = None,
        handle: QueryHandle | None = None,
    ) -> pl.LazyFrame: ...

    @overload
    def sql(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        lazy: bool = False,
        limit: int | None = None,
        engine: str | None = None,
        timeout: float | None = None,
        handle: QueryHandle | None = None,
    ) -> Result | pl.LazyFrame: ...

    def sql(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        lazy: bool = False,
        limit: int | None = None,
        engine: str | None = None,
        timeout: float | None = None,
        handle: QueryHandle | None = None,
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
        engine
            ``polars``, ``streaming`` (out of core), ``spark`` or ``auto`` (streaming when
            the estimated input exceeds a share of memory); default: ``$MESHLAB_ENGINE``,
            else mesh.yaml's ``engine.default``, else ``auto``. See docs/engines.md.
        timeout
            Seconds the query may take (default: ``timeouts.query`` of mesh.yaml, else no
            limit); past it, :class:`~meshlab.errors.QueryTimeoutError`.
        handle
            A :class:`~meshlab.cancel.QueryHandle`: ``handle.cancel()`` from another thread
            stops the query (:class:`~meshlab.errors.QueryCancelledError`).

        A KeyboardInterrupt (Ctrl-C, a kernel interrupt) or a timeout cancels every database
        statement still running, on its server, before the call returns. See docs/reliability.md.
        """
        if lazy and engine is not None and self.engine_settings.requested(engine) == "spark":
            raise EngineError("lazy=True returns a polars LazyFrame: it cannot run on the spark engine")
        handle = handle or QueryHandle()
        handle.start(self.limits.with_query(timeout).query)
        with audited(self, sql, params) as audit:
            started = time.perf_counter()
            if lazy:
                plan = audit.plan = self.plan(sql, params, limit)
                frames, _ = build_frames(plan)
                return lazy_query(plan, frames)

            def run() -> tuple[QueryPlan, float, pl.DataFrame, dict[str, ScanStats], EngineChoice]:
                plan = audit.plan = self.plan(sql, params, limit)
                planned = time.perf_counter()
                return (plan, planned, *run_checked(plan, engine, self.engine_settings, handle))

            plan, planned, frame, stats, choice = run_cancellable(run, handle)
            result = audit.result = Result(frame, plan, stats, planned - started, time.perf_counter() - planned)
            result.engine, result.engine_reason = choice.engine, choice.reason
        attach_status(self.status_path, result)
        return result

    # -- trust: checks and their stored status -------------------------------------
    @property
    def status_path(self) -> str:
        """The SQLite file check results are kept in (``status:`` in mesh.yaml, else beside it)."""
        manifest = self.full_catalog.manifest
        return default_path(manifest.path, manifest.settings.get("status"))

    def check(
        self,
        addresses: list[str] | str | None = None,
        as_of: Any = None,
        failing_rows: int | None = None,
        store: bool = True,
    ) -> CheckReport:
        """Check datasets against their contracts: schema, quality rules, freshness, relationships.

        Parameters
        ----------
        addresses
            Datasets to check (default: every dataset the role sees).
        as_of
            The instant freshness is judged against (default: ``checks.as_of`` of
            mesh.yaml, else now).
        failing_rows
            At most this many failing rows per failed check (default 10).
        store
            Keep the results in the status store (:attr:`status_path`).

        Returns
        -------
        CheckReport
            One result per check; ``report.exit_code`` is 1 when one failed or could not run.
        """
        if isinstance(addresses, str):
            addresses = [addresses]
        datasets = [self.dataset(a) for a in addresses] if addresses else self.datasets()
        report = run_checks(self, datasets, as_of=as_of, failing_rows=failing_rows)
        if store:
            record_report(self.status_path, report)
        return report

    @overload
    def status(self, address: str) -> DatasetStatus | None: ...

    @overload
    def status(self, address: None = None) -> dict[str, DatasetStatus]: ...

    def status(self, address: str | None = None) -> DatasetStatus | dict[str, DatasetStatus] | None:
        """The latest stored check outcome of ``address`` (None if never checked), or of every dataset."""
        store = StatusStore(self.status_path)
        if address is None:
            visible = {d.address for d in self.datasets()}
            return {a: s for a, s in store.latest().items() if a in visible}
        canonical = self.dataset(address).address
        return store.latest([canonical]).get(canonical)

    def close(self) -> None:
        """Release what the mesh holds: its database connections (those of its users' views too)."""
        for key in list(self._views):
            view = self._views.get(key)  # a view past its age is dropped (and closed) by the cache
            if view is not None:
                view.close()
        if self.connections is not None:
            self.connections.close()
        self._sources.clear()

    def __enter__(self) -> Mesh:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        role = f", role {self.role!r}" if self.policy else ""
        return (
            f"<Mesh {self.name!r}: {len(self.catalog.datasets)} datasets, {len(self.catalog.errors)} load errors{role}>"
        )


def connect(
    path: str = "mesh.yaml",
    role: str | None = None,
    storage: Mapping[str, Any] | None = None,
    timeouts: Mapping[str, Any] | None = None,
) -> Mesh:
    """Load the mesh at ``path``: a ``mesh.yaml``, a domain folder or one contract file.

    Broken contracts do not fail the load: they are listed in ``Mesh.errors``.
    A policy file (``policies:`` in mesh.yaml) must load, or nothing does: a
    broken policy never falls back to granting everything.

    Parameters
    ----------
    role
        The role to act in, among those the current user holds (default
        ``$MESHLAB_ROLE``, else the user's first role in the policy).
    storage
        Object-store options to reach ``path`` and the domains, in mesh.yaml's ``storage:``
        form (``{"s3": {"endpoint_url": ...}}``); credentials come from the environment.
    timeouts
        Time limits in mesh.yaml's ``timeouts:`` form (``{"connect": 2}``), over the
        manifest's; see :mod:`meshlab.limits`. A domain whose server does not answer
        within ``connect`` seconds is listed in ``Mesh.errors``; the rest loads.
    """
    catalog = load_catalog(str(path), StorageSettings.parse(storage, "connect(storage=...)"), timeouts)
    return Mesh(catalog, policy_of(catalog), role)
