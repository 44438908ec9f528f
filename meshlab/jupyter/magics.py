"""``%mesh`` and ``%%mesh``: a thin front end over :class:`meshlab.Mesh`.

The magic parses its options, binds ``:name`` placeholders to notebook
variables, calls the same ``Mesh`` methods as every other front end and
returns what they return; rendering lives on the returned objects.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

import meshlab
from meshlab.catalog.discovery import default_mesh, where_looked
from meshlab.catalog.root_paths import root_label
from meshlab.errors import MeshError, SqlError

T = TypeVar("T")

SUBCOMMANDS = ("connect", "catalog", "search", "explain", "check", "role", "debug")


# IPython prints a UsageError as one line without a traceback (it checks the
# exact class, so no subclass).
MeshUsageError = UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise MeshUsageError(f"%%mesh: {message}")


def cell_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%mesh", add_help=False)
    parser.add_argument("-o", "--out", metavar="NAME", help="store the polars DataFrame in this variable")
    parser.add_argument("--lazy", action="store_true", help="return a polars LazyFrame; nothing runs")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    parser.add_argument(
        "--engine",
        choices=("auto", "polars", "streaming", "spark"),
        help="where the query runs (default: mesh.yaml's engine, else auto)",
    )
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop the query after SECONDS")
    parser.add_argument("--explain", action="store_true", help="show the plan instead of running")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument("--save", metavar="DOMAIN.NAME", help="publish the result as a draft data product")
    return parser


def marked(sql: str, error: SqlError) -> str:
    """The error message with the offending SQL line and a caret under the column."""
    if error.line is None:
        return str(error)
    lines = sql.splitlines()
    if not 1 <= error.line <= len(lines):
        return str(error)
    column = max((error.column or 1) - 1, 0)
    return f"{error}\n    {lines[error.line - 1]}\n    {' ' * column}^"


@magics_class
class MeshMagics(Magics):
    """``%mesh connect|catalog|search|explain|debug`` and the ``%%mesh`` cell magic."""

    def __init__(self, shell):
        super().__init__(shell)
        # The mesh in use (not ``self.mesh``: that is the magic itself).
        self.connected: meshlab.Mesh | meshlab.RemoteMesh | None = None
        self.debug = False

    # -- helpers -----------------------------------------------------------------
    def current(self) -> meshlab.Mesh | meshlab.RemoteMesh:
        """The connected mesh; before any ``%mesh connect``, the one :func:`default_mesh` finds."""
        if self.connected is None:
            found = default_mesh()
            if found is None:
                raise MeshUsageError(f"no mesh: run %mesh connect PATH (looked for {where_looked()})")
            mesh = self._run(lambda: self.connect(found))
            print(f"connected to {mesh!r} from {root_label(found)} (%mesh connect PATH for another)")
            return mesh
        return self.connected

    def local_mesh(self, what: str) -> meshlab.Mesh:
        """The connected mesh when it is a local one (server mode offers queries only); ``what`` needs it."""
        mesh = self.current()
        if isinstance(mesh, meshlab.RemoteMesh):
            raise MeshUsageError(f"{what} needs a local mesh: %mesh connect PATH")
        return mesh

    def connect(self, path: str) -> meshlab.Mesh:
        previous = self.connected
        mesh = self.connected = meshlab.connect(path)
        if isinstance(previous, meshlab.Mesh):  # its idle database connections (it still answers if kept)
            previous.close()
        return mesh

    @property
    def namespace(self) -> dict[str, Any]:
        """The notebook's variables."""
        if self.shell is None:
            raise MeshUsageError("%mesh runs in an IPython shell: load it with %load_ext meshlab")
        namespace: dict[str, Any] = self.shell.user_ns
        return namespace

    def bind(self, sql: str) -> dict[str, Any]:
        """Notebook variables for the ``:name`` placeholders of ``sql``."""
        names = self.current().parameters(sql)
        namespace = self.namespace
        missing = [n for n in names if n not in namespace]
        if missing:
            raise MeshUsageError(
                f"no notebook variable for :{missing[0]}: define {missing[0]} = ... before running the cell"
            )
        return {n: namespace[n] for n in names}

    def _run(self, action: Callable[[], T], sql: str = "", debug: bool = False) -> T:
        try:
            return action()
        except KeyboardInterrupt:
            if debug or self.debug:
                raise
            # Kernel -> Interrupt: mesh.sql has cancelled the database statements already.
            raise MeshUsageError("interrupted: the query was cancelled") from None
        except SqlError as exc:
            if debug or self.debug:
                raise
            raise MeshUsageError(marked(sql, exc)) from None
        except MeshError as exc:
            if debug or self.debug:
                raise
            raise MeshUsageError(str(exc)) from None

    # -- the magic ---------------------------------------------------------------
    @line_cell_magic
    def mesh(self, line: str, cell: str | None = None):
        """Query the data mesh. See ``%mesh?``.

        Line magic::

            %mesh connect PATH        load a mesh (default: $MESHLAB_MESH, else ./mesh.yaml)
            %mesh connect --server [URL]  server mode: the Jupyter server runs queries ($MESHLAB_SERVER_URL)
            %mesh catalog             the catalog widget
            %mesh search TEXT         datasets ranked by relevance
            %mesh explain SELECT ...  the plan: what each source is sent
            %mesh explain --analyze SELECT ...  run it: estimated vs actual rows per scan
            %mesh check [ADDRESS ...] check datasets against their contracts (default: all)
            %mesh role [NAME]         act in role NAME (one you hold); no NAME: show the role
            %mesh debug on|off        show full tracebacks of errors

        Cell magic::

            %%mesh [-o NAME] [--lazy] [--limit N] [--engine E] [--timeout S] [--explain] [--debug] [--save DOMAIN.NAME]
            SELECT ... WHERE country = :country     (:country binds the variable `country`)

        ``--save DOMAIN.NAME`` writes the result and a draft contract (schema, lineage,
        description from the query) into the domain's folder, then reloads the mesh.
        """
        if cell is None:
            return self._line(line.strip())
        return self._cell(line, cell)

    def _line(self, line: str):
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        if command == "connect":
            if rest.startswith("--server"):  # server mode: the Jupyter server runs the queries
                url = rest.removeprefix("--server").strip() or None
                remote = self.connected = self._run(lambda: meshlab.connect_server(url))
                return remote
            target = rest or default_mesh() or "mesh.yaml"
            return self._run(lambda: self.connect(target))
        if command == "catalog":
            from meshlab.jupyter.widgets import CatalogWidget

            return CatalogWidget(self.local_mesh("%mesh catalog"))
        if command == "search":
            if not rest:
                raise MeshUsageError("usage: %mesh search TEXT")
            from meshlab.catalog.listing import dataset_table

            return dataset_table(self.local_mesh("%mesh search").search(rest))
        if command == "explain":
            analyze, _, query = rest.partition(" ") if rest.startswith("--analyze") else ("", "", rest)
            query = query.strip()
            if not query:
                raise MeshUsageError("usage: %mesh explain [--analyze] SELECT ...")
            if analyze:  # runs the query: estimated against actual rows per scan
                local = self.local_mesh("%mesh explain --analyze")
                print(self._run(lambda: local.explain(query, self.bind(query), analyze=True), query))
            else:
                print(self._run(lambda: self.current().explain(query, self.bind(query)), query))
            return None
        if command == "check":
            local = self.local_mesh("%mesh check")
            return self._run(lambda: local.check(rest.split() or None))
        if command == "role":
            mesh = self.current()
            if rest:
                if isinstance(mesh, meshlab.RemoteMesh):
                    mesh.role = rest  # the server checks it on every request
                else:
                    self._run(lambda: mesh.set_role(rest))
            return RoleText(mesh)
        if command in ("debug", "--debug"):
            self.debug = rest.lower() not in ("off", "false", "0")
            print(f"meshlab debug {'on' if self.debug else 'off'}")
            return None
        if command == "":
            return QuickHelp(self.connected)
        if command == "help":
            print(MeshMagics.mesh.__doc__)
            return None
        # `%mesh SELECT ...` on one line works like a one-line cell.
        return self._cell("", line)

    def _cell(self, line: str, cell: str):
        options = cell_parser().parse_args(shlex.split(line))
        sql = cell.strip()
        if not sql:
            raise MeshUsageError("the %%mesh cell is empty: write a SELECT below the magic line")
        mesh = self.current()

        def run():
            params = self.bind(sql)
            if options.explain:
                return ExplainText(mesh.explain(sql, params, options.limit))
            if isinstance(mesh, meshlab.RemoteMesh):
                if options.engine:
                    raise MeshUsageError("--engine: in server mode the server chooses the engine")
                if options.timeout is not None:
                    raise MeshUsageError("--timeout: in server mode the server's time limits apply")
                return mesh.sql(sql, params, lazy=options.lazy, limit=options.limit)
            return mesh.sql(
                sql, params, lazy=options.lazy, limit=options.limit, engine=options.engine, timeout=options.timeout
            )

        value = self._run(run, sql, options.debug)
        if options.out and not options.explain:
            self.namespace[options.out] = value if options.lazy else value.df
        if options.save and not (options.explain or options.lazy):
            self._save(self.local_mesh("%%mesh --save"), value, options.save, sql)
        return value

    def _save(self, mesh: meshlab.Mesh, result: meshlab.Result, address: str, sql: str) -> None:
        """Publish ``result`` as the derived product ``address``, then reload the mesh to list it."""
        from meshlab.authoring.derived import save_derived

        path = self._run(lambda: save_derived(mesh, result, address, sql))
        print(f"saved {address} as a draft product: {root_label(str(path))}")
        self._run(lambda: self.connect(mesh.full_catalog.manifest.path))


class RoleText(str):
    """Who queries run as: user, role, the roles the user may take, datasets visible."""

    def __new__(cls, mesh: meshlab.Mesh | meshlab.RemoteMesh):
        if isinstance(mesh, meshlab.RemoteMesh):
            text = f"server mode ({mesh.url}): role {mesh.role or '(your first role)'}, checked by the server"
        elif mesh.policy is None:
            text = f"mesh {mesh.name!r} has no policy file: every dataset is readable"
        else:
            text = (
                f"user {mesh.user!r} in role {mesh.role or 'none'!r} (may take: {', '.join(mesh.roles) or 'none'}); "
                f"{len(mesh.datasets())} of {len(mesh.full_catalog.datasets)} datasets visible"
            )
        return super().__new__(cls, text)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


class QuickHelp(str):
    """``%mesh`` alone: the mesh in use (or the one a cell would open) and what to type next."""

    def __new__(cls, mesh: meshlab.Mesh | meshlab.RemoteMesh | None):
        if mesh is not None:
            count = len(mesh.datasets())
            state = f"connected to {mesh!r}"
            follow = (
                "%mesh search TEXT or %mesh catalog to find a dataset, then a %%mesh cell with SELECT ..."
                if count
                else "this mesh has no dataset yet: `meshlab init` drafts a contract from a data file"
            )
        else:
            found = default_mesh()
            state = (
                f"not connected; a %%mesh cell will open {root_label(found)}"
                if found
                else f"not connected, and no mesh found ({where_looked()})"
            )
            follow = "%mesh connect PATH (a mesh.yaml, a domain folder or one contract)"
        lines = [
            f"meshlab: {state}",
            f"next: {follow}",
            "commands: %mesh connect | catalog | search | explain | check | role | debug; %mesh help for the details",
        ]
        return super().__new__(cls, "\n".join(lines))

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


class ExplainText(str):
    """Plan text that shows as preformatted text, not a quoted string."""

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


def load_ipython_extension(shell) -> None:
    """``%load_ext meshlab``: register the magics and the SQL completer."""
    magics = MeshMagics(shell)
    shell.register_magics(magics)
    from meshlab.jupyter.completion import register_completer

    register_completer(shell, magics)
