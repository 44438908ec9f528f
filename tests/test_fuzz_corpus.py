"""2,000 malformed (and some valid) SQL strings: each ends in a result or a MeshError.

The corpus (tests/faults/corpus.py) is generated from a fixed seed. It runs in
two child processes over the governed fault mesh, as the analyst, so a crash
(a segfault in a native library) fails this test and names the query instead
of killing pytest. Every query is audited whatever its outcome.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from faults import mesh as fault_mesh
from faults.corpus import corpus

SIZE = 2000
SEED = 14
TESTS = Path(__file__).parent


def _run_chunk(manifest: Path, out: Path, start: int, end: int) -> subprocess.Popen:
    env = {**os.environ, "JUPYTERHUB_USER": "bob", "RUST_BACKTRACE": "0"}
    env.pop("MESHLAB_ROLE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "faults.run_corpus", str(manifest), str(out), str(start), str(end), str(SEED)]
    return subprocess.Popen(command, cwd=TESTS, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    manifest = fault_mesh.build(root)
    half = SIZE // 2
    chunks = [(root / "a.jsonl", 0, half), (root / "b.jsonl", half, SIZE)]
    children = [_run_chunk(manifest, out, start, end) for out, start, end in chunks]
    died = []
    for child, (out, _, _) in zip(children, chunks):
        _, stderr = child.communicate(timeout=900)  # a bound for "does not hang", not a speed target
        if child.returncode != 0:
            started = [json.loads(line)["index"] for line in out.read_text().splitlines() if '"started"' in line]
            died.append((child.returncode, started[-1] if started else None, stderr.decode()[-2000:]))
    records = [json.loads(line) for out, _, _ in chunks for line in out.read_text().splitlines()]
    return [r for r in records if "outcome" in r], died, root


def test_corpus_is_deterministic_and_large():
    first, again = corpus(SEED, SIZE), corpus(SEED, SIZE)
    assert first == again and len(first) == SIZE
    assert len(set(first)) > SIZE * 0.65  # generated shapes (nesting, unions) repeat a little
    assert any("\x00" in s for s in first) and any("\ud800" in s or "\udfff" in s for s in first)


def test_every_query_ends_in_a_result_or_a_mesh_error(outcomes):
    done, died, _ = outcomes
    strings = corpus(SEED, SIZE)
    assert died == [], [(code, repr(strings[i][:200]) if i is not None else None, err) for code, i, err in died]
    others = [(r["index"], repr(strings[r["index"]][:200]), r["detail"]) for r in done if r["outcome"] == "other"]
    assert others == []
    assert len(done) == SIZE
    kinds = collections.Counter(r["outcome"] for r in done)
    assert kinds["result"] > 100 and kinds["mesh_error"] > 1000  # the corpus exercises both
    print(f"fuzz: {SIZE} SQL strings, {kinds['result']} results, {kinds['mesh_error']} MeshErrors, 0 other outcomes")


def test_every_query_is_audited_with_its_outcome(outcomes):
    done, _, root = outcomes
    records = [json.loads(line) for line in (root / "audit" / "queries.jsonl").read_text().split("\n") if line]
    assert len(records) == SIZE
    counted = collections.Counter(r["outcome"] for r in records)
    assert counted["ok"] == sum(1 for r in done if r["outcome"] == "result")
    assert set(counted) <= {"ok", "error", "denied"}
