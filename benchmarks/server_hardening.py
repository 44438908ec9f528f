"""Server mode under a token client and a locked status store: identity, memory, waits.

Starts ``jupyter server`` with the meshlab extension (the code under ``--code``, so the
same script measures two versions) on a free loopback port, then, as a token client
without cookies (what ``meshlab.connect_server`` is):

1. runs ``--searches`` catalog searches and ``--queries`` queries, and reports the
   server's resident memory before and after and how many distinct users the audit
   log recorded for the queries;
2. runs ``--clients`` concurrent clients of ``--per-client`` queries each and reports
   errors and latency percentiles;
3. holds an exclusive lock on the mesh's status store (``.meshlab/status.sqlite``, as
   ``meshlab check`` does while storing a run) and times Jupyter's own ``/api/status``,
   a catalog search and a dataset detail.

Usage::

    python benchmarks/server_hardening.py --code /work/wt/server
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import polars as pl
import yaml

from meshlab.quality.status import SCHEMA

DATASET = "plays.play_events"  # in both meshes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_mesh(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    pl.DataFrame({"user_id": list(range(100)), "country": ["DE", "SE"] * 50}).write_parquet(root / "data/plays.parquet")
    contract = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "plays",
        "version": "1.0.0",
        "status": "active",
        "domain": "plays",
        "servers": [{"server": "lake", "type": "local", "format": "parquet", "path": "../../data/plays.parquet"}],
        "schema": [
            {
                "name": "play_events",
                "properties": [
                    {"name": "user_id", "logicalType": "integer"},
                    {"name": "country", "logicalType": "string"},
                ],
            }
        ],
    }
    (root / "domains/plays").mkdir(parents=True)
    (root / "domains/plays/plays.odcs.yaml").write_text(yaml.safe_dump(contract))
    policy = {"users": {"*": ["analyst"]}, "roles": {"analyst": {"read": ["plays.*"]}}}
    (root / "policies.yaml").write_text(yaml.safe_dump(policy))
    manifest = {
        "mesh": "bench",
        "domains": {"plays": "domains/plays"},
        "policies": "policies.yaml",
        "audit": {"log": "audit/queries.jsonl"},
    }
    (root / "mesh.yaml").write_text(yaml.safe_dump(manifest))
    return root / "mesh.yaml"


def build_demo(root: Path) -> Path:
    """The demo's governed mesh (``*`` users are analysts), with an audit log."""
    from meshlab.demo import write_demo

    write_demo(root, scale=0.002)
    manifest = root / "mesh-governed.yaml"
    settings = yaml.safe_load(manifest.read_text())
    settings["audit"] = {"log": "audit/queries.jsonl"}
    manifest.write_text(yaml.safe_dump(settings))
    return manifest


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def request(url: str, token: str, body: dict | None = None, timeout: float = 120.0) -> tuple[int, float]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as r:
            r.read()
            code = r.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    return code, time.perf_counter() - started


def concurrent_queries(url: str, token: str, clients: int, each: int) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    codes: list[int] = []

    def client(n: int) -> None:
        for i in range(each):
            code, seconds = request(url, token, {"sql": f"SELECT count(*) + {n * each + i} AS n FROM {DATASET}"})
            codes.append(code)
            latencies.append(seconds)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(latencies), codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", required=True, help="the meshlab checkout to run the server from")
    parser.add_argument("--demo", action="store_true", help="serve the demo's governed mesh instead of a tiny one")
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=25)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="meshlab-hardening-"))
    mesh = build_demo(base / "demo") if args.demo else build_mesh(base / "mesh")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": args.code, "JUPYTER_CONFIG_DIR": str(base / "config")}
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    command = [
        jupyter, "server", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={base}", f"--IdentityProvider.token={token}", f"--MeshlabApp.mesh={mesh}",
    ]  # fmt: skip
    log = open(base / "server.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if request(f"{url}/meshlab/api/status", token, timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        request(f"{url}/meshlab/api/query", token, {"sql": f"SELECT 1 AS x FROM {DATASET} LIMIT 1"})
        time.sleep(2)
        before = rss_mib(server.pid)
        for n in range(args.searches):
            request(f"{url}/meshlab/api/datasets?" + urllib.parse.urlencode({"q": f"plays {n}"}), token)
        for _ in range(args.queries):
            request(f"{url}/meshlab/api/query", token, {"sql": f"SELECT count(*) AS n FROM {DATASET}"})
        after = rss_mib(server.pid)
        workers = sum(rss_mib(pid) for pid in children(server.pid))
        records = [json.loads(line) for line in (mesh.parent / "audit/queries.jsonl").read_text().splitlines()]
        users = len({r["user"] for r in records})
        print(f"code: {args.code}")
        print(
            f"server RSS: {before:.0f} MiB -> {after:.0f} MiB after {args.searches} searches and {args.queries} queries"
        )
        print(f"worker processes: {len(children(server.pid))}, {workers:.0f} MiB together")
        print(f"distinct users in the audit log for {len(records)} queries: {users}")
        latencies, codes = concurrent_queries(f"{url}/meshlab/api/query", token, args.clients, args.per_client)
        errors = sum(code != 200 for code in codes)
        p50, p99 = (latencies[int(q * (len(latencies) - 1))] for q in (0.5, 0.99))
        print(
            f"{args.clients} clients x {args.per_client} queries: {errors} errors, "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )
        store = mesh.parent / ".meshlab" / "status.sqlite"
        store.parent.mkdir(exist_ok=True)
        lock = sqlite3.connect(store, isolation_level=None)
        lock.executescript(SCHEMA)
        lock.execute("BEGIN EXCLUSIVE")
        for name, path in (
            ("search", "/meshlab/api/datasets?q=plays"),
            ("detail", "/meshlab/api/datasets/plays.play_events"),
        ):
            code, seconds = request(url + path, token)
            print(f"status store locked: {name} answered {code} in {seconds:.3f} s")
        # Jupyter's own route while a search waits on the lock: does it wait too?
        searching = threading.Thread(target=request, args=(f"{url}/meshlab/api/datasets?q=plays", token))
        searching.start()
        time.sleep(0.3)
        code, seconds = request(f"{url}/api/status", token)
        print(f"status store locked, a search in flight: Jupyter /api/status answered {code} in {seconds:.3f} s")
        searching.join()
        lock.rollback()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
