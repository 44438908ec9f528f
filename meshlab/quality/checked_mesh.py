"""What the checks need of a mesh, and nothing more: its catalog, a dataset's source, a query.

The checks sit below :class:`meshlab.Mesh` (docs/architecture.md, layers): they never
import it. ``Mesh`` provides this interface structurally; a test, a benchmark or another
front end can hand the checks anything else that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from meshlab.catalog import Catalog, Dataset
    from meshlab.result import Result
    from meshlab.sources import Source


class CheckedMesh(Protocol):
    """The mesh as the checks use it.

    Attributes
    ----------
    catalog
        The datasets the checks may see (the role's view): relationship targets
        resolve in it, and ``checks:`` settings come from its manifest.
    """

    @property
    def catalog(self) -> Catalog: ...

    def source(self, dataset: Dataset) -> Source:
        """The source a dataset is read from: its physical schema is probed and its metrics measured there."""
        ...

    def sql(self, sql: str) -> Result:
        """Plan and run a read query over the mesh's addresses (pushdown applies): failing rows,
        ``sql`` rules and relationships are such queries."""
        ...
