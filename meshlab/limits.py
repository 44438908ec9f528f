"""Time limits: mesh.yaml's ``timeouts:`` section and the per-call ``timeout=``.

.. code-block:: yaml

    timeouts:          # seconds; every key is optional
      connect: 10      # open a connection: database, object store, HTTP; a domain's first answer at load
      metadata: 30     # list files, read a contract or a parquet footer, ask a database for a row count
      read: 60         # one request of Polars' own object-store reader (S3)
      query: null      # a whole query (mesh.sql); null: no limit
      retries: 2       # extra attempts after a transient failure (connection refused or reset)

``mesh.sql(..., timeout=)``, ``%%mesh --timeout`` and ``meshlab query --timeout``
set ``query`` for one call. A limit that is reached raises
:class:`~meshlab.errors.QueryTimeoutError` (a :class:`~meshlab.errors.SourceError`
when it names one dataset and server) saying what timed out and which limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from meshlab.errors import DescriptorError

KINDS = ("connect", "metadata", "read", "query")
#: attempts are spaced by this many seconds, doubled each time
FIRST_BACKOFF = 0.2

T = TypeVar("T")


@dataclass(frozen=True)
class TimeLimits:
    """Seconds allowed for each kind of wait (``query`` None: no limit)."""

    connect: float = 10.0
    metadata: float = 30.0
    read: float = 60.0
    query: float | None = None
    retries: int = 2

    @classmethod
    def parse(cls, raw: Any, source: str = "mesh.yaml") -> TimeLimits:
        """Read a ``timeouts:`` mapping; ``source`` names the file for errors."""
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise DescriptorError(source, "timeouts must map connect/metadata/read/query to seconds", "timeouts")
        found: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "retries":
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                    raise DescriptorError(source, "retries must be an integer from 0 to 10", "timeouts.retries")
                found[key] = value
                continue
            if key not in KINDS:
                raise DescriptorError(
                    source, f"unknown time limit (known: {', '.join(KINDS)}, retries)", f"timeouts.{key}"
                )
            if value is None and key == "query":
                found[key] = None
                continue
            found[key] = check_seconds(value, source, f"timeouts.{key}")
        return cls(**found)

    def with_query(self, seconds: float | None) -> TimeLimits:
        """These limits with ``query`` set for one call (None keeps the mesh's)."""
        if seconds is None:
            return self
        return replace(self, query=check_seconds(seconds, "timeout=", "timeout"))


def check_seconds(value: Any, source: str, field: str) -> float:
    """``value`` as a positive number of seconds, or a :class:`DescriptorError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 7 * 24 * 3600:
        raise DescriptorError(source, f"must be a positive number of seconds, not {value!r}", field)
    return float(value)


def seconds_text(seconds: float) -> str:
    return f"{seconds:g} s"


def timeout_in(exc: BaseException | None) -> BaseException | None:
    """The timeout ``exc`` is, or was raised from (fsspec's HTTP reports one as a missing file)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower():
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def transient(exc: BaseException) -> bool:
    """Whether ``exc`` is worth another attempt: the peer refused or dropped the connection.

    A timeout is not: against a server that accepts and never answers, another
    attempt only doubles the wait.
    """
    if isinstance(exc, (ConnectionRefusedError, ConnectionResetError)):
        return True
    text = str(exc).lower()
    return "connection refused" in text or "connection reset" in text


def with_retries(attempt: Callable[[], T], limits: TimeLimits, what: str) -> T:
    """``attempt()``, again after a transient failure, at most ``limits.retries`` more times.

    Waits 0.2 s, 0.4 s, ... in between. The last failure is raised with ``what`` and the
    attempts made added to its message (``tried 3 times over 0.6 s``).
    """
    started = time.monotonic()
    for tried in range(1, limits.retries + 2):
        try:
            return attempt()
        except Exception as exc:
            if not transient(exc) or tried > limits.retries:
                if tried > 1:
                    spent = time.monotonic() - started
                    raise RetriesExhausted(f"{what}: tried {tried} times over {spent:.1f} s: {exc}") from exc
                raise
            time.sleep(FIRST_BACKOFF * 2 ** (tried - 1))
    raise AssertionError("unreachable")


class RetriesExhausted(Exception):
    """Every attempt failed (a transient failure each time); the message lists them."""
