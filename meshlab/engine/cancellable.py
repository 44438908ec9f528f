"""Run a query where the caller's thread stays free to notice an interrupt, a timeout or a cancel.

Measured here (Polars 2.1, ADBC 1.13): a KeyboardInterrupt is not delivered while
the main thread waits in an ADBC fetch or a Polars ``collect``, and Polars'
``InProcessQuery.cancel()`` does not stop a running query (a 13 s streaming join
ran on to the end, 63 s on a busy machine). So the query runs in a worker thread
and the caller waits in short steps; on an interrupt, a timeout or a cancel it
cancels the :class:`~meshlab.cancel.QueryHandle` (which cancels the database
statements on their servers) and returns.

Polars itself stops a running ``collect`` when the process gets SIGINT: its
SIGINT handler raises an abort flag its operators check (measured: a streaming
join stopped 2 ms after the signal, an in-memory one 1.4 s after). That handler
is installed when Polars is imported, and any later ``signal.signal(SIGINT, ...)``
replaces it -- ipykernel does so around every cell, which is why a kernel
interrupt never reached Polars. :func:`polars_sigint` puts it back (the C-level
handler, saved at import) for as long as a query waits, so a kernel interrupt or
Ctrl-C stops Polars too; Polars' handler passes the signal on to Python's, so the
KeyboardInterrupt still happens. A timeout or a cancel in the main thread raises
SIGINT itself for the same effect, and swallows the KeyboardInterrupt it causes.
A cancel from another thread (server mode) cannot signal Polars: the database
statements are cancelled and the call returns, and Polars' work ends on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from meshlab.cancel import INTERRUPTED, TIMEOUT, QueryHandle
from meshlab.errors import QueryCancelledError

T = TypeVar("T")

#: how often the waiting thread looks at the handle (seconds)
POLL_SECONDS = 0.05
#: how long a cancelled query gets to end (statements cancelled, connections closed) before the call returns
GRACE_SECONDS = 1.0

# glibc's struct sigaction on 64-bit Linux: handler (8 bytes), sa_mask (128), sa_flags (int), sa_restorer.
_SIGACTION_BYTES = 256
_FLAGS_OFFSET = 136
_SA_SIGINFO = 4
_polars_action: ctypes.Array | None = None


def _libc():
    if sys.platform != "linux" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _current_action() -> ctypes.Array | None:
    libc = _libc()
    if libc is None:
        return None
    action = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if libc.sigaction(signal.SIGINT, None, action) != 0:
        return None
    return action


def _is_polars(action: ctypes.Array) -> bool:
    # Python installs its handler without SA_SIGINFO; signal-hook (Polars) with it.
    return bool(int.from_bytes(action.raw[_FLAGS_OFFSET : _FLAGS_OFFSET + 4], "little") & _SA_SIGINFO)


def save_polars_sigint() -> bool:
    """Keep Polars' SIGINT handler if it is the one installed now; True once one is kept."""
    global _polars_action
    action = _current_action()
    if action is not None and _is_polars(action):
        _polars_action = action
    return _polars_action is not None


@contextlib.contextmanager
def polars_sigint() -> Iterator[bool]:
    """Polars' SIGINT handler installed for the body (main thread only); yields whether it is."""
    current = _current_action() if threading.current_thread() is threading.main_thread() else None
    if current is None or _polars_action is None:
        yield False
        return
    if _is_polars(current):
        yield True
        return
    libc = _libc()
    libc.sigaction(signal.SIGINT, _polars_action, None)
    try:
        yield True
    finally:
        libc.sigaction(signal.SIGINT, current, None)


#: workers of cancelled queries that had not ended when their call returned
_abandoned: list[threading.Thread] = []


def _stop_polars(armed: bool) -> None:
    """Raise SIGINT in the main thread so that Polars aborts; the KeyboardInterrupt it causes is swallowed.

    Not while a query given up earlier still runs: Polars' abort flag stays set until
    its last running query ends, and every query started meanwhile would abort at once.
    """
    _abandoned[:] = [t for t in _abandoned if t.is_alive()]
    if not armed or _abandoned or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return
    try:
        signal.raise_signal(signal.SIGINT)  # Python runs its handler before this returns
    except KeyboardInterrupt:
        pass


def _let_it_end(done: threading.Event, armed: bool, handle: QueryHandle) -> None:
    """Give a cancelled query up to :data:`GRACE_SECONDS` to end, cancelling again
    meanwhile: a statement or a collect that began just after the first cancel missed it."""
    ends = time.monotonic() + GRACE_SECONDS
    while not done.wait(min(0.2, max(ends - time.monotonic(), 0))):
        if time.monotonic() >= ends:
            return
        handle.stop_again()
        _stop_polars(armed)


def run_cancellable(work: Callable[[], T], handle: QueryHandle) -> T:
    """``work()`` in a worker thread, the caller waiting until it ends or ``handle`` stops it.

    Raises ``handle.error()`` after a timeout or a cancel, KeyboardInterrupt after an
    interrupt (once the handle is cancelled), else what ``work`` raised.
    """
    # What the worker hands the waiting thread: its value, or what it raised (at most one each).
    values: list[T] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            values.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=run, name="meshlab-query", daemon=True)
    worker.start()
    try:
        return _wait(worker, done, values, errors, handle)
    finally:
        if worker.is_alive():
            _abandoned.append(worker)


def _wait(
    worker: threading.Thread, done: threading.Event, values: list[T], errors: list[BaseException], handle: QueryHandle
) -> T:
    with polars_sigint() as armed:
        try:
            while not done.wait(POLL_SECONDS):
                if handle.expired():
                    handle.cancel(TIMEOUT)
                if handle.cancelled:
                    _stop_polars(armed)
                    break
        except KeyboardInterrupt:
            handle.cancel(INTERRUPTED)
            _let_it_end(done, armed, handle)
            raise
        if handle.cancelled and not values:
            _let_it_end(done, armed, handle)
            raise handle.error() from None
    error = errors[0] if errors else None
    if isinstance(error, KeyboardInterrupt):
        # Polars aborted although this query was not cancelled: an interrupted query is
        # still ending, and Polars' abort flag holds until it does.
        raise QueryCancelledError(
            "the query was stopped by an earlier interrupt whose query is still ending; run it again in a moment"
        ) from None
    if error is not None:
        raise error
    return values[0]


import polars  # noqa: E402, F401 - Polars installs its SIGINT handler on import: keep it before anyone replaces it

save_polars_sigint()
