"""meshlab: query a data mesh of ODCS data products from Jupyter, on Polars."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meshlab.catalog import Column, Dataset
from meshlab.errors import (
    AccessDeniedError,
    AmbiguousDatasetError,
    DescriptorError,
    ExecutionError,
    GovernanceError,
    MeshError,
    MeshLoadError,
    ParameterError,
    SourceError,
    SqlError,
    SqlSyntaxError,
    UnknownColumnError,
    UnknownDatasetError,
    UnsupportedQueryError,
)
from meshlab.mesh import Mesh, connect
from meshlab.quality import CheckReport, CheckResult
from meshlab.remote import RemoteMesh, connect_server
from meshlab.result import Result

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__version__ = "0.1.0"


def load_ipython_extension(shell: InteractiveShell) -> None:
    """``%load_ext meshlab``: the ``%mesh`` / ``%%mesh`` magics and SQL completion."""
    from meshlab.jupyter.magics import load_ipython_extension as load

    load(shell)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the catalog sidebar), for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "meshlab"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The server extension behind the sidebar: ``MeshlabApp`` (``/meshlab/api/``)."""
    from meshlab.jupyter.server import _jupyter_server_extension_points as points

    return points()


__all__ = [
    "AccessDeniedError",
    "AmbiguousDatasetError",
    "Column",
    "Dataset",
    "DescriptorError",
    "ExecutionError",
    "GovernanceError",
    "Mesh",
    "MeshError",
    "MeshLoadError",
    "ParameterError",
    "Result",
    "CheckReport",
    "CheckResult",
    "SourceError",
    "SqlError",
    "SqlSyntaxError",
    "UnknownColumnError",
    "UnknownDatasetError",
    "UnsupportedQueryError",
    "RemoteMesh",
    "connect",
    "connect_server",
]
