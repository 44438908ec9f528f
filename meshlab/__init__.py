"""meshlab: query a data mesh of ODCS data products from Jupyter, on Polars."""

from __future__ import annotations

from meshlab.catalog import Column, Dataset
from meshlab.errors import (
    AmbiguousDatasetError,
    DescriptorError,
    ExecutionError,
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
from meshlab.result import Result

__version__ = "0.1.0"


def load_ipython_extension(shell) -> None:
    """``%load_ext meshlab``: the ``%mesh`` / ``%%mesh`` magics and SQL completion."""
    from meshlab.jupyter.magics import load_ipython_extension as load

    load(shell)


__all__ = [
    "AmbiguousDatasetError",
    "Column",
    "Dataset",
    "DescriptorError",
    "ExecutionError",
    "Mesh",
    "MeshError",
    "MeshLoadError",
    "ParameterError",
    "Result",
    "SourceError",
    "SqlError",
    "SqlSyntaxError",
    "UnknownColumnError",
    "UnknownDatasetError",
    "UnsupportedQueryError",
    "connect",
]
