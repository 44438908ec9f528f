"""Which engine runs a plan, and running it there.

Engines (``mesh.sql(..., engine=...)``, ``%%mesh --engine ...``):

``polars``
    Polars' default engine, everything in memory: fastest while the data fits.
``streaming``
    Polars' streaming engine (``collect(engine="streaming")``): the same plan in
    batches, so the input may be larger than memory.
``spark``
    Apache Spark through PySpark: the same resolved, governed plan, for data
    that outgrows one machine (see :mod:`meshlab.engine.spark_engine`).
``auto`` (the default)
    ``streaming`` when the estimated input (:mod:`meshlab.engine.estimate`) is
    larger than ``memory_fraction`` of this machine's memory, else ``polars``.

mesh.yaml may set the defaults::

    engine:
      default: auto            # polars | streaming | spark | auto
      memory_fraction: 0.25    # auto streams above this share of memory
      spark: {master: "spark://host:7077"}   # see meshlab.engine.spark_session

``$MESHLAB_ENGINE`` overrides ``default``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from meshlab.cancel import QueryHandle
from meshlab.engine.estimate import estimate_input_bytes
from meshlab.engine.spark_session import SparkSettings
from meshlab.errors import DescriptorError, EngineError, ExecutionError, MeshError
from meshlab.planner.plan import QueryPlan
from meshlab.sources import ScanStats

ENGINES = ("auto", "polars", "streaming", "spark")
DEFAULT_MEMORY_FRACTION = 0.25
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def check_engine(name: str) -> str:
    """``name`` lower-cased if it is an engine, else an :class:`EngineError` listing them."""
    lowered = str(name).strip().lower()
    if lowered not in ENGINES:
        raise EngineError(f"unknown engine '{name}' (known: {', '.join(ENGINES)})")
    return lowered


@dataclass(frozen=True)
class EngineSettings:
    """The ``engine:`` section of mesh.yaml."""

    default: str = "auto"
    memory_fraction: float = DEFAULT_MEMORY_FRACTION
    memory_bytes: int | None = None  # the memory to compare with; None: this machine's
    spark: SparkSettings = field(default_factory=SparkSettings)

    @classmethod
    def parse(cls, raw: Any, source: str = "mesh.yaml") -> EngineSettings:
        """Read ``engine:`` (a mapping, or just an engine name); ``source`` names the file."""
        if raw is None:
            raw = {}
        if isinstance(raw, str):
            raw = {"default": raw}
        if not isinstance(raw, Mapping):
            raise DescriptorError(source, "engine must be an engine name or a mapping", "engine")
        try:
            default = check_engine(raw.get("default", "auto"))
        except EngineError as exc:
            raise DescriptorError(source, str(exc), "engine.default") from None
        fraction = raw.get("memory_fraction", DEFAULT_MEMORY_FRACTION)
        if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise DescriptorError(source, "memory_fraction must be a number in (0, 1]", "engine.memory_fraction")
        memory = raw.get("memory_bytes")
        if memory is not None and (not isinstance(memory, int) or memory <= 0):
            raise DescriptorError(source, "memory_bytes must be a positive integer", "engine.memory_bytes")
        spark = SparkSettings.parse(raw.get("spark"), source)
        return cls(default, float(fraction), memory, spark)

    def requested(self, engine: str | None) -> str:
        """The engine asked for: the argument, else ``$MESHLAB_ENGINE``, else the mesh's default."""
        return check_engine(engine or os.environ.get("MESHLAB_ENGINE") or self.default)


def machine_memory() -> int:
    """Bytes of memory this process may use: physical memory, or a lower cgroup limit."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in CGROUP_LIMITS:
        try:
            with open(path) as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


@dataclass(frozen=True)
class EngineChoice:
    """The engine a plan runs on, and why."""

    engine: str
    reason: str
    estimated_bytes: int | None = None


def _size(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def choose_engine(plan: QueryPlan, engine: str | None, settings: EngineSettings) -> EngineChoice:
    """The engine to run ``plan`` on: the one asked for, or for ``auto`` from the input estimate."""
    requested = settings.requested(engine)
    if requested != "auto":
        return EngineChoice(requested, "asked for")
    memory = settings.memory_bytes or machine_memory()
    threshold = settings.memory_fraction * memory
    estimate = estimate_input_bytes(plan, stop_above=threshold)
    if estimate > threshold:
        reason = (
            f"auto: estimated input above {_size(threshold)} ({settings.memory_fraction:g} of {_size(memory)} memory)"
        )
        return EngineChoice("streaming", reason, estimate)
    reason = f"auto: estimated input {_size(estimate)} fits in {_size(threshold)}"
    return EngineChoice("polars", reason, estimate)


def run_plan(
    plan: QueryPlan,
    engine: str | None = None,
    settings: EngineSettings | None = None,
    handle: QueryHandle | None = None,
) -> tuple[pl.DataFrame, dict[str, ScanStats], EngineChoice]:
    """Run ``plan`` on the engine chosen for it; returns the rows, per-scan figures and the choice.

    ``handle`` (a :class:`meshlab.cancel.QueryHandle`) cancels the Polars engines' database statements.
    """
    settings = settings or EngineSettings()
    choice = choose_engine(plan, engine, settings)
    if choice.engine == "spark":
        from meshlab.engine.spark_engine import execute as spark_execute  # PySpark is optional

        frame, stats = spark_execute(plan, settings.spark)
        return frame, stats, choice
    from meshlab.engine.polars_engine import execute

    frame, stats = execute(plan, engine="streaming" if choice.engine == "streaming" else "auto", handle=handle)
    return frame, stats, choice


def run_checked(
    plan: QueryPlan,
    engine: str | None = None,
    settings: EngineSettings | None = None,
    handle: QueryHandle | None = None,
) -> tuple[pl.DataFrame, dict[str, ScanStats], EngineChoice]:
    """:func:`run_plan`, where any failure is a :class:`~meshlab.errors.MeshError` (a Polars panic too)."""
    try:
        return run_plan(plan, engine, settings, handle)
    except MeshError:
        raise
    except (Exception, pl.exceptions.PanicException) as exc:  # noqa: BLE001 - one query never kills the caller
        if handle is not None and handle.cancelled:  # stopped on purpose: say so, not "internal error"
            raise handle.error() from None
        kind = type(exc).__name__
        raise ExecutionError(f"the query failed while running: an internal error ({kind})") from exc
