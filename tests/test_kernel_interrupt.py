"""Kernel -> Interrupt while a ``%%mesh`` cell runs: a real kernel (jupyter_client), a real SIGINT.

The interrupt must reach the sources (the PostgreSQL backend stops running the statement),
stop Polars (a local streaming join), return the cell with one line, and leave the kernel
able to run the next cell.
"""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

import pytest
from faults.slow_peers import (
    BOUND,
    running_slow,
    slow_mesh_fixture,  # noqa: F401 - the slow_mesh fixture
    wait_until,
    wait_until_gone,
)
from test_cancellation import JOIN, big_mesh_fixture  # noqa: F401 - the big_mesh fixture

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    manager, client = start_new_kernel(kernel_name="python3", env=env, startup_timeout=120)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client, code: str, timeout: float = 120) -> tuple[dict, str]:
    """Run ``code`` and wait for its reply; returns the reply content and the cell's output text."""
    out = []
    reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda m: out.append(_text(m)))
    return reply["content"], "".join(out)


def _text(message: dict) -> str:
    content = message.get("content", {})
    if message["msg_type"] == "stream":
        return content.get("text", "")
    if message["msg_type"] == "error":
        return f"{content.get('ename')}: {content.get('evalue')}"
    return ""


def start(client, code: str) -> str:
    return client.execute(code)


def wait_for_output(client, msg_id: str, text: str) -> None:
    """Read the cell's messages until one shows ``text`` (the kernel's own report of its state)."""
    ends = time.monotonic() + 120
    while time.monotonic() < ends:
        try:
            message = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") == msg_id and text in _text(message):
            return
    raise AssertionError(f"the kernel never printed {text!r}")


def interrupt_and_wait(manager, client, msg_id: str) -> tuple[float, dict, list[str]]:
    """Interrupt the kernel; the seconds until the cell's reply, the reply, the cell's output."""
    sent = time.monotonic()
    manager.interrupt_kernel()
    while True:
        reply = client.get_shell_msg(timeout=BOUND)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    back = time.monotonic() - sent
    errors = []
    while True:
        try:
            message = client.get_iopub_msg(timeout=2)
        except queue.Empty:
            break
        if message["parent_header"].get("msg_id") == msg_id and _text(message):
            errors.append(_text(message))
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    return back, reply["content"], errors


def test_interrupting_a_postgres_cell_cancels_the_backend_and_the_kernel_goes_on(kernel, slow_mesh, tpch_mesh):
    manager, client = kernel
    path = slow_mesh.full_catalog.manifest.path
    content, _ = run(client, f"%load_ext meshlab\n%mesh connect {path}")
    assert content["status"] == "ok"

    msg_id = start(client, "%%mesh\nSELECT o_orderkey FROM sales.slow")
    wait_until(lambda: running_slow(tpch_mesh.postgres), "the cell's statement runs on the server")
    back, reply, errors = interrupt_and_wait(manager, client, msg_id)

    print(f"\nkernel, postgres scan: cell returned {back:.3f} s after the interrupt")
    assert back < BOUND
    assert reply["status"] == "error"
    assert "".join(errors).strip() == "UsageError: interrupted: the query was cancelled"  # one line
    wait_until_gone(tpch_mesh.postgres)
    content, text = run(client, "%%mesh\nSELECT count(*) AS n FROM good.numbers")
    assert content["status"] == "ok"

    content, text = run(client, "%%mesh --timeout 1\nSELECT o_orderkey FROM sales.slow")
    assert content["status"] == "error"
    assert text.strip() == (
        "UsageError: the query did not finish within 1 s (timeout= or timeouts.query); "
        "cancelled while running: dataset 'sales.slow' on server 'orders-db'"
    )
    wait_until_gone(tpch_mesh.postgres)


WATCH = """
import threading, time
from meshlab.cancel import QueryHandle
handle = QueryHandle()
def watch():
    while handle.stage != "computing":
        time.sleep(0.01)
    print("computing", flush=True)
threading.Thread(target=watch, daemon=True).start()
big.sql({join!r}, engine="streaming", handle=handle)
"""


def test_interrupting_a_local_streaming_cell_stops_polars(kernel, big_mesh):
    manager, client = kernel
    content, _ = run(client, f"import meshlab\nbig = meshlab.connect({big_mesh!r})")
    assert content["status"] == "ok"

    msg_id = start(client, WATCH.format(join=JOIN))
    wait_for_output(client, msg_id, "computing")
    back, reply, _ = interrupt_and_wait(manager, client, msg_id)

    print(f"\nkernel, streaming join: cell returned {back:.3f} s after the interrupt")
    assert back < BOUND
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    left = "print([t.name for t in threading.enumerate() if t.name == 'meshlab-query'])"
    wait_until(lambda: run(client, left)[1].strip() == "[]", "Polars stops in the kernel")
    content, text = run(client, "print(big.sql('SELECT count(*) AS n FROM good.numbers').df['n'][0])")
    assert text.strip() == "3"
