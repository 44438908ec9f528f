"""Every error a user can cause is a :class:`MeshError` subclass.

Each message names the cause and where it is: the SQL line and column, the
descriptor file and field, or the dataset and server of a failing source.

The lowest layer: this module imports nothing of meshlab (docs/architecture.md).
"""

from __future__ import annotations


class MeshError(Exception):
    """Base class of every user-facing meshlab error."""


class DescriptorError(MeshError):
    """A mesh manifest or data contract is malformed.

    Parameters
    ----------
    path
        The file the problem is in.
    field
        The dotted path of the offending field inside the file, if known.
    message
        What is wrong.
    """

    def __init__(self, path: str, message: str, field: str | None = None):
        self.path = path
        self.field = field
        self.reason = message
        where = f"{path}: {field}" if field else path
        super().__init__(f"{where}: {message}")

    def with_path(self, shown: str) -> DescriptorError:
        """This error naming its file as ``shown`` (e.g. relative to the mesh's folder); itself if unchanged."""
        if shown == self.path:
            return self
        twin = type(self).__new__(type(self))  # the same kind, its __init__ skipped
        twin.__dict__.update(self.__dict__)
        twin.path = shown
        where = f"{shown}: {self.field}" if self.field else shown
        Exception.__init__(twin, f"{where}: {self.reason}")
        return twin


class MeshLoadError(MeshError):
    """The mesh manifest itself cannot be read: nothing could be loaded."""


class UnknownDatasetError(MeshError):
    """An address names no dataset of the catalog."""

    def __init__(self, address: str, suggestions: list[str] | tuple[str, ...] = ()):
        self.address = address
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown dataset '{address}'{hint}")


class AmbiguousDatasetError(MeshError):
    """A short address matches several datasets."""

    def __init__(self, address: str, candidates: list[str] | tuple[str, ...]):
        self.address = address
        self.candidates = tuple(candidates)
        super().__init__(f"dataset address '{address}' is ambiguous: use one of {', '.join(self.candidates)}")


class SqlError(MeshError):
    """The SQL text is not a query meshlab can run.

    ``line`` and ``column`` are 1-based positions in the statement when known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        self.reason = message
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


class SqlSyntaxError(SqlError):
    """The statement does not parse."""


class UnsupportedQueryError(SqlError):
    """The statement parses but is not a read query meshlab accepts."""


class ParameterError(SqlError):
    """A ``:name`` placeholder has no value, or a value cannot be bound."""


class UnknownColumnError(SqlError):
    """A column reference matches no column of the datasets in scope."""


class SourceError(MeshError):
    """A data source failed while being scanned (missing file, server down, ...)."""

    def __init__(self, dataset: str, server: str, message: str):
        self.dataset = dataset
        self.server = server
        self.reason = message
        super().__init__(f"dataset '{dataset}' on server '{server}': {message}")


class NotQueryableError(MeshError):
    """A catalogued dataset meshlab cannot read here (no server, or none it has a reader for)."""

    def __init__(self, address: str, reason: str):
        self.address = address
        self.reason = reason
        super().__init__(f"dataset '{address}' is not queryable here: {reason}")


class TimeTravelError(SourceError):
    """A version or moment a source cannot read: it keeps no versions, or not that one."""


class SchemaDriftError(SourceError):
    """A source no longer has a column as its contract declares it (renamed, dropped, retyped).

    Raised before anything is read: a row filter or mask over a drifted column
    must fail closed, never read the data unfiltered.
    """


class ExecutionError(MeshError):
    """The local engine failed to run the query."""


class EngineError(MeshError):
    """An engine cannot be used: an unknown name, a bad setting, a missing install."""


class GovernanceError(MeshError):
    """The governance setup refuses the request: a role the user does not hold,
    an unusable policy, an audit log that cannot be written."""


class AccessDeniedError(UnknownDatasetError):
    """A role may not read an address.

    The message is the same whether the dataset exists or not, so a query
    reveals no more than the catalog shows that role.
    """

    def __init__(self, address: str, role: str, suggestions: list[str] | tuple[str, ...] = ()):
        super().__init__(address, suggestions)
        self.role = role
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        self.args = (f"role '{role}' cannot read '{address}': no such dataset is granted to it{hint}",)


class QueryTimeoutError(MeshError):
    """A time limit was reached: the message names what timed out, where, and the limit
    (``timeouts.<kind>`` of mesh.yaml, or the call's ``timeout=``)."""


class SourceTimeoutError(SourceError, QueryTimeoutError):
    """A source did not answer within a time limit (connect, metadata, read)."""


class QueryCancelledError(MeshError):
    """The query was cancelled (:meth:`meshlab.cancel.QueryHandle.cancel`); its statements were too."""
