"""Database sources: SQL in the database's own dialect, fetched lazily as Arrow.

A database scan is a Polars IO source (``register_io_source``): nothing is
fetched until Polars runs the plan, and Polars still hands the scan the
columns, predicate and row limit it may honour. The SQL sent is built from
the planner's :class:`ScanSpec` (needed columns, pushable conjuncts, limit).
The Polars engine collects a query's database scans first, side by side in
threads (:mod:`meshlab.engine.prefetch`), and runs the query over the rows.

Drivers: ADBC (Apache Arrow's database connectivity) for SQLite and
PostgreSQL. Measured here: as fast as connectorx on SQLite (0.52-0.80 s vs
0.75 s for 2 M rows x 4 columns), and it fails at once when a server is down
(8 ms) where connectorx's pool retries for about 30 s.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Hashable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa
from polars.io.plugins import register_io_source
from sqlglot import exp

from meshlab.cancel import QueryHandle
from meshlab.catalog.contract import Column
from meshlab.errors import MeshError, SourceError, UnknownColumnError
from meshlab.sources.base import Pushdown, ScanSpec, ScanStats, Source, casts_to_contract, column_dtype
from meshlab.sources.drift import check_drift, touched_columns

# Expression kinds every SQL database evaluates like Polars does.
PORTABLE_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Tuple,
    exp.Cast,
    exp.DataType,
    exp.Coalesce,
    exp.Like,
    exp.Upper,
    exp.Lower,
    exp.Length,
)
RANGE_COMPARISONS = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)
# How long a table's row count is reused. It only steers cost choices (join pushdown),
# and asking the database at every plan cost 20-60 ms per table (a connection each).
ROW_COUNT_SECONDS = 300.0


def negated(node: exp.Expr, root: exp.Expr) -> bool:
    """Whether ``node`` (inside ``root``) is negated: ``x NOT LIKE ...`` (sqlglot's ``negate``)
    or under a NOT. A test that matches more rows then matches fewer."""
    if node.args.get("negate"):
        return True
    current: exp.Expr | None = node
    while current is not None and current is not root:
        current = current.parent
        if isinstance(current, exp.Not):
            return True
    return False


def plain_substring(node: exp.Expr) -> bool:
    """``SUBSTRING(x, start[, length])`` with a literal start >= 1 and length >= 0.

    Every database agrees with Polars on these (TPC-H Q22's country codes);
    a start of 0 or below means something different in each.
    """
    if not isinstance(node, exp.Substring):
        return False
    start, length = node.args.get("start"), node.args.get("length")
    whole = [isinstance(a, exp.Literal) and not a.is_string and a.name.isdigit() for a in (start, length) if a]
    if start is None or not all(whole):
        return False
    return int(start.name) >= 1


def arrow_bytes(table: pa.Table) -> int:
    return table.nbytes


def plain_arrow(table: pa.Table) -> pa.Table:
    """Unwrap extension columns (ADBC returns PostgreSQL NUMERIC as an opaque
    extension over its text form) to their storage, which Polars can cast."""
    if not any(isinstance(f.type, pa.BaseExtensionType) for f in table.schema):
        return table
    columns = []
    for column in table.columns:
        if isinstance(column.type, pa.BaseExtensionType):
            # pyarrow-stubs: an extension column's chunks are ExtensionArrays (they have .storage),
            # and chunked_array takes any DataType, not only the literal ones its overloads list.
            column = pa.chunked_array([chunk.storage for chunk in column.chunks], type=column.type.storage_type)  # type: ignore[call-overload, attr-defined]
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class DatabaseSource(Source):
    """Shared behaviour of SQL databases; subclasses set the dialect and the driver."""

    kind = "database"
    fetches_rows = True
    join_work = 1.0
    #: expression kinds this database evaluates with Polars' semantics
    portable_nodes: tuple[type[exp.Expression], ...] = PORTABLE_NODES
    #: extra expression kinds it computes for column masks (e.g. MD5 for a hash)
    mask_nodes: tuple[type[exp.Expression], ...] = ()

    # -- what the database takes -------------------------------------------------
    def pushdown(self, predicate: exp.Expression) -> Pushdown:
        for node in predicate.walk():
            if not isinstance(node, self.portable_nodes) and not plain_substring(node):
                return Pushdown.UNSUPPORTED
            if isinstance(node, exp.Cast) and not self._portable_cast(node):
                return Pushdown.UNSUPPORTED
            if isinstance(node, exp.Column) and self.dataset.column(node.name) is None:
                return Pushdown.UNSUPPORTED
            if isinstance(node, RANGE_COMPARISONS) and not self._portable_range(node):
                return Pushdown.UNSUPPORTED
        return Pushdown.EXACT

    def _portable_cast(self, cast: exp.Cast) -> bool:
        """Only literal dates and timestamps: casting columns differs between engines."""
        return isinstance(cast.this, exp.Literal) and cast.to.this in (
            exp.DataType.Type.DATE,
            exp.DataType.Type.TIMESTAMP,
        )

    def _portable_range(self, node: exp.Expression) -> bool:
        return True

    def _column_kinds(self, node: exp.Expression) -> set[str]:
        kinds = set()
        for column in node.find_all(exp.Column):
            found = self.dataset.column(column.name)
            kinds.add(found.logical_type if found else "unknown")
        return kinds

    def can_limit(self) -> bool:
        return True

    def estimate_rows(self) -> int | None:
        """The table's row count as the database tells it, reused for ``ROW_COUNT_SECONDS``."""
        now = time.monotonic()
        cached = getattr(self, "_row_count", None)
        if cached is None or now - cached[1] > ROW_COUNT_SECONDS:
            cached = self._row_count = (self.count_rows(), now)
        return cached[0]

    def count_rows(self) -> int | None:
        """Ask the database for the table's row count (None when it cannot tell)."""
        return None

    # -- the SQL it is sent --------------------------------------------------------
    def table(self) -> exp.Table:
        return exp.table_(self.dataset.physical_name, quoted=True)

    def query(self, spec: ScanSpec, columns: list[str] | None = None, limit: int | None = None) -> exp.Select:
        """The statement for ``spec``; ``columns`` and ``limit`` narrow it further."""
        if spec.query is not None:
            select = spec.query.copy()
            if columns is not None:
                keep = set(columns)
                select.set(
                    "expressions", [e for e in select.expressions if e.alias_or_name in keep] or select.expressions[:1]
                )
        else:
            names = columns if columns is not None else list(spec.columns)
            select = exp.select(*self.select_items(spec, names)).from_(self.table())
            for predicate in spec.predicates:
                select = select.where(self.local_predicate(predicate), copy=False)
            if spec.row_filter is not None and self.takes_row_filter(spec):
                select = select.where(self.local_predicate(spec.row_filter), copy=False)
            if spec.order_by:
                select = select.order_by(*(o.copy() for o in spec.order_by), copy=False)
        if spec.row_filter is not None and not self.takes_row_filter(spec):
            limit = None  # rows are filtered after the fetch: a LIMIT here would cut the wrong ones
        wanted = [n for n in (spec.limit, limit) if n is not None]
        if wanted:
            select = select.limit(min(wanted), copy=False)
        return select

    # -- governance: row filter and masks computed in the database when it can ----
    def can_compute(self, expression: exp.Expr) -> bool:
        """Whether the database computes ``expression`` with the meaning Polars gives it."""
        allowed = self.portable_nodes + self.mask_nodes
        for node in expression.walk():
            if not isinstance(node, allowed):
                return False
            if isinstance(node, exp.Column) and self.dataset.column(node.name) is None:
                return False
        return True

    def takes_row_filter(self, spec: ScanSpec) -> bool:
        return spec.row_filter is not None and self.pushdown(spec.row_filter) is Pushdown.EXACT

    def computed_masks(self, spec: ScanSpec, names) -> set[str]:
        """The masks of ``names`` the database computes: then the clear values never leave it.

        None when the row filter runs after the fetch: it needs the raw values.
        """
        if spec.row_filter is not None and not self.takes_row_filter(spec):
            return set()
        masks = spec.masks_for(names)
        # The row filter is checked again after the fetch, on raw values: its columns come raw.
        filtered = {c.name for c in spec.row_filter.find_all(exp.Column)} if spec.row_filter is not None else set()
        computed = {n for n, m in masks.items() if n not in filtered and self.can_compute(m.to_sql())}
        needed_raw = {c.name for n, m in masks.items() if n not in computed for c in m.to_sql().find_all(exp.Column)}
        return set() if computed & needed_raw else computed

    def select_items(self, spec: ScanSpec, names: list[str]) -> list[exp.Expr]:
        """The SELECT list for ``names``: masks the database computes, raw columns for the rest."""
        if not spec.governed:
            return [exp.column(n, quoted=True) for n in names]
        masks, computed = spec.masks_for(names), self.computed_masks(spec, names)
        items = [
            exp.alias_(masks[n].to_sql(), n, quoted=True) if n in computed else exp.column(n, quoted=True)
            for n in names
        ]
        extra = {c.name for n, m in masks.items() if n not in computed for c in m.to_sql().find_all(exp.Column)}
        if spec.row_filter is not None:  # checked again after the fetch, whether the database took it or not
            extra.update(c.name for c in spec.row_filter.find_all(exp.Column))
        items += [exp.column(c.name, quoted=True) for c in self.dataset.columns if c.name in extra - set(names)]
        return items

    def integer_keys(self, column: str, keys: list[int]) -> exp.Expression:
        """``column IN (keys)`` for many integer keys (a join's keys, :mod:`meshlab.engine.dynamic_filters`).

        The list is one node of pre-rendered digits: sqlglot spent 1.5 s rendering 100 k literals.
        """
        return exp.In(this=exp.column(column), expressions=[exp.Var(this=",".join(str(int(k)) for k in keys))])

    def local_predicate(self, predicate: exp.Expression) -> exp.Expression:
        """``predicate`` with table qualifiers dropped: it runs against one table."""
        copy = predicate.copy()
        for column in copy.find_all(exp.Column):
            column.set("table", None)
            column.set("this", exp.to_identifier(column.name, quoted=True))
        return copy

    def render(self, select: exp.Select) -> str:
        return select.sql(dialect=self.dialect)

    def describe(self, spec: ScanSpec) -> str:
        text = self.render(self.query(spec))
        local = []
        if spec.row_filter is not None and not self.takes_row_filter(spec):
            local.append(f"then row filter (policy), after the fetch: {spec.row_filter.sql(dialect='duckdb')}")
        after = [m for n, m in spec.masks_for(spec.columns).items() if n not in self.computed_masks(spec, spec.columns)]
        if after:
            local.append("then masked after the fetch (policy): " + "; ".join(m.describe() for m in after))
        return "\n".join([text, *local])

    # -- connections -----------------------------------------------------------------
    def open_connection(self, handle: QueryHandle | None, pooled: bool = False) -> Any:
        """A new connection; not ``pooled``: with ``handle``'s time limit set for its one use."""
        raise NotImplementedError

    @staticmethod
    def close_connection(connection: Any) -> None:
        """Close ``connection`` (a static method: the pool keeps it, and must not keep the source)."""
        connection.close()

    def pool_key(self, handle: QueryHandle) -> Hashable:
        """Everything that decides what a connection is (server, resolved login, client settings)."""
        raise NotImplementedError

    def prepare_connection(self, connection: Any, handle: QueryHandle) -> None:
        """Per-use settings of a pooled connection (the query's time limit); its first statement."""

    @contextlib.contextmanager
    def session(self, handle: QueryHandle) -> Iterator[Any]:
        """A connection for one use: from the mesh's pool (:mod:`~meshlab.sources.connection_pool`),
        prepared for ``handle`` (:meth:`prepare_connection`), else a new one closed after it.

        A reused connection that fails its preparation (its backend was ended) is closed
        and the next one tried. The connection goes back to the pool only when the block
        ended without an error and ``handle`` was not cancelled.
        """
        if self.connections is None:
            connection = self.open_connection(handle)
            try:
                yield connection
            finally:
                self.close_connection(connection)
            return
        pool = self.connections.pool(self.pool_key(handle), self.close_connection)
        for _ in range(pool.bound + 1):  # past the idle ones, a new connection
            connection, reused = pool.take(lambda: self.open_connection(handle, pooled=True))
            try:
                self.prepare_connection(connection, handle)
                break
            except Exception:
                pool.give_back(connection, healthy=False)
                if not reused:
                    raise
        healthy = False
        try:
            yield connection
            healthy = not handle.cancelled
        finally:
            pool.give_back(connection, healthy)

    # -- fetching ------------------------------------------------------------------
    def fetch(self, sql: str, expect: list[str] | None = None, handle: QueryHandle | None = None) -> pa.Table:
        """Run ``sql`` and return every row as Arrow; closes what it opens.

        ``expect``: contract columns the statement touches; first, on the same
        connection, the table's columns are compared with them (:meth:`verify`).
        ``handle``: the query's cancel switch; the statement registers with it while it runs.
        """
        raise NotImplementedError

    def columns_sql(self) -> str:
        """A statement listing the table's columns: ``name`` and declared ``type``, one row each."""
        raise NotImplementedError

    def declared_type(self, declared: str) -> pl.DataType:
        """The Polars type of values of a column declared ``declared`` in this database."""
        raise NotImplementedError

    def stored_type(self, declared: str) -> pl.DataType:
        """:meth:`declared_type` for schema checks, which may be stricter about types it does not know."""
        return self.declared_type(declared)

    def physical_schema(self) -> dict[str, pl.DataType]:
        table = self.fetch(self.columns_sql())
        if table.num_rows == 0:
            raise SourceError(self.dataset.address, self.server_label, f"{self.table_label()} does not exist")
        pairs = zip(table.column("name").to_pylist(), table.column("type").to_pylist())
        return {str(n): self.stored_type(str(t or "")) for n, t in pairs}

    def estimate_scan_bytes(self, columns: tuple[str, ...], stop_above: float = float("inf")) -> int | None:
        return None  # the engine's estimate reads the contract's row counts: no statement is sent

    def table_label(self) -> str:
        """The table, for messages."""
        return f"table {self.dataset.physical_name} of {self.location()}"

    def verify(self, columns: pa.Table, expect: list[str]) -> None:
        """Refuse (:class:`~meshlab.errors.SchemaDriftError`) when the table's ``columns``
        (a :meth:`columns_sql` answer) lack one of ``expect`` or store it as another type."""
        names = [str(n) for n in columns.column("name").to_pylist()]
        types = [str(t or "") for t in columns.column("type").to_pylist()]
        found = {n: (t or "no declared type", self.declared_type(t)) for n, t in zip(names, types)}
        check_drift(self, self.table_label(), found, expect)

    def verify_schema(self, spec: ScanSpec) -> None:
        """:meth:`verify` on a connection of its own (for engines that fetch by themselves)."""
        if spec.query is None:
            self.verify(self.fetch(self.columns_sql()), touched_columns(spec))

    def statement_label(self) -> str:
        """What a running statement is, for messages: dataset and server."""
        return f"dataset '{self.dataset.address}' on server '{self.server_label}'"

    def output_columns(self, spec: ScanSpec) -> dict[str, Column]:
        """Name -> contract column of what the scan returns."""
        if spec.output_columns:
            return dict(spec.output_columns)
        found = {}
        for name in spec.columns:
            column = self.dataset.column(name)
            if column is None:  # the planner resolved every column against the contract
                raise UnknownColumnError(
                    f"column '{name}' is not in the contract of dataset '{self.dataset.address}' "
                    f"({self.dataset.contract_path})"
                )
            found[name] = column
        return found

    def scan(self, spec: ScanSpec, stats: ScanStats) -> pl.LazyFrame:
        columns_by_name = self.output_columns(spec)
        schema = {n: column_dtype(c) or pl.String() for n, c in columns_by_name.items()}
        for name, mask in spec.masks_for(schema).items():
            schema[name] = mask.dtype() or pl.String()
        source = self
        # Polars may run one scan twice (a table read by the query and by a
        # scalar subquery of it): a later run reuses the rows of an earlier one
        # that fetched every column it asks for.
        fetched: list[tuple[set[str], int | None, pl.DataFrame]] = []
        once = threading.Lock()

        def read(with_columns, predicate, n_rows, batch_size):
            narrowed = with_columns is not None and not spec.shared
            columns = [c for c in schema if not narrowed or c in with_columns] or list(schema)[:1]
            with once:
                frame = next((f for have, rows, f in fetched if set(columns) <= have and rows == n_rows), None)
                if frame is None:
                    sql = source.render(source.query(spec, columns if narrowed else None, n_rows))
                    frame = source.fetch_frame(sql, spec, stats, columns, n_rows, columns_by_name)
                    fetched.append((set(columns), n_rows, frame))
            if predicate is not None:
                frame = frame.filter(predicate)
            if with_columns is not None:
                frame = frame.select([c for c in with_columns if c in frame.columns])
            yield frame

        return register_io_source(read, schema=schema, explain_name=f"{self.kind}:{self.dataset.address}", is_pure=True)

    def fetch_frame(self, sql: str, spec: ScanSpec, stats: ScanStats, columns, n_rows, columns_by_name) -> pl.DataFrame:
        """Run ``sql``; the rows typed as the contract says (governed: filtered and masked); counted in ``stats``."""
        started = time.perf_counter()
        try:
            # A join pushed down (spec.query) is never governed; its tables are not verified one by one.
            table = self.fetch(sql, touched_columns(spec) if spec.query is None else None, stats.handle)
        except MeshError as exc:
            stats.error = exc
            raise
        frame = pl.from_arrow(plain_arrow(table), rechunk=False)
        if not isinstance(frame, pl.DataFrame):
            frame = frame.to_frame()
        frame = self.contract_names(frame)
        if spec.governed:
            frame = self.conform_governed(frame, spec, columns)
            if n_rows is not None:
                frame = frame.head(n_rows)
        else:
            frame = self.conform(frame, columns_by_name)
        stats.add(sql, frame.height, arrow_bytes(table), time.perf_counter() - started)
        return frame

    def contract_names(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Columns named as the contract names them: SQLite answers ``country`` with the
        table's own spelling (``Country``), its identifiers being case-insensitive."""
        declared = {c.name.lower(): c.name for c in self.dataset.columns}
        names = set(frame.columns)
        renames = {
            n: declared[n.lower()]
            for n in frame.columns
            if n not in declared.values() and declared.get(n.lower()) and declared[n.lower()] not in names
        }
        return frame.rename(renames) if renames else frame

    def conform_governed(self, frame: pl.DataFrame, spec: ScanSpec, names: list[str]) -> pl.DataFrame:
        """Contract types for the raw columns, then the row filter and masks not done by the database."""
        computed = self.computed_masks(spec, names)
        hashed = {n for n, m in spec.masks_for(names).items() if n in computed and m.kind == "hash"}
        raw = {c: found for c in frame.columns if c not in hashed and (found := self.dataset.column(c)) is not None}
        frame = self.conform(frame, raw)
        # The row filter is applied again here even when the database took it: the
        # database's reading of it may differ (a drifted type, a collation), ours may not.
        return self.apply_governance(frame, spec, names, masked=computed)

    def conform(self, frame: pl.DataFrame, columns: dict[str, Column]) -> pl.DataFrame:
        """Types as the contract says, whatever the driver returned."""
        casts = casts_to_contract(frame.schema, columns)
        frame = frame.with_columns(casts) if casts else frame
        # Same logical type, other width (Int32 for Int64, Decimal scale): align
        # with the declared schema so Polars' validation sees what was promised.
        exact = []
        for name, column in columns.items():
            wanted = column_dtype(column)
            if wanted is not None and name in frame.columns and frame.schema[name] != wanted:
                exact.append(pl.col(name).cast(wanted, strict=False))
        return frame.with_columns(exact) if exact else frame

    def failure(self, exc: BaseException) -> SourceError:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return SourceError(self.dataset.address, self.server_label, message)
