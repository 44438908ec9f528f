"""Run corpus SQL against a mesh in this process; one JSON line per query, written before and after.

``python -m faults.run_corpus MESH_YAML OUT_JSONL START END [SEED]`` (with tests/ on the path).
The parent reads OUT_JSONL: a ``started`` line without its ``outcome`` line names the query
that took the process down.
"""

from __future__ import annotations

import json
import sys
import time

import meshlab
from faults.corpus import corpus
from meshlab.errors import MeshError


def outcome_of(mesh, sql: str) -> dict:
    started = time.perf_counter()
    try:
        result = mesh.sql(sql, params={"limit": 5} if ":limit" in sql else None)
        kind, detail = "result", f"{result.df.height} rows"
    except MeshError as exc:
        kind, detail = "mesh_error", f"{type(exc).__name__}: {str(exc)[:300]}"
    except BaseException as exc:  # noqa: BLE001 - what the harness exists to catch
        kind, detail = "other", f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:300]}"
    return {"outcome": kind, "detail": detail, "seconds": round(time.perf_counter() - started, 4)}


def main(argv: list[str]) -> int:
    manifest, out, start, end = argv[0], argv[1], int(argv[2]), int(argv[3])
    seed = int(argv[4]) if len(argv) > 4 else 14
    strings = corpus(seed, end)[start:end]
    mesh = meshlab.connect(manifest)
    with open(out, "a", encoding="utf-8") as log:
        for index, sql in enumerate(strings, start=start):
            log.write(json.dumps({"index": index, "started": True}) + "\n")
            log.flush()
            log.write(json.dumps({"index": index, **outcome_of(mesh, sql)}) + "\n")
            log.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
