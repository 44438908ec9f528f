"""What governance costs a query: the demo mesh open, and governed as a steward and an analyst.

The same cross-domain query runs on ``mesh.yaml`` (no policy) and on ``mesh-governed.yaml``
as ``ana`` in her two roles: a steward (everything readable and unmasked) and an analyst
(restricted columns hashed, personal ones redacted, listeners' profiles filtered to three
countries). Systems alternate; figures are medians (min-max) of planning and of the whole
query, in milliseconds.

    python benchmarks/governance_overhead.py                  # demo scale 0.05, 7 repetitions
    python benchmarks/governance_overhead.py --scale 0.2 --repeat 11
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import meshlab
from meshlab.demo import ensure_demo
from meshlab.demo.governance import GOVERNED_MANIFEST

REPO = Path(__file__).resolve().parents[1]
QUERY = """
SELECT p.country, p.user_id, count(*) AS plays, count(DISTINCT e.track_id) AS tracks
FROM plays.play_events e JOIN listeners.profiles p ON e.user_id = p.user_id
GROUP BY p.country, p.user_id
ORDER BY plays DESC
LIMIT 100
"""


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def figure(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05, help="demo scale (1 = about 10 M play events)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    manifest = Path(ensure_demo(REPO / ".benchdata" / f"demo-{args.scale:g}", scale=args.scale))
    os.environ["JUPYTERHUB_USER"] = "ana"  # the demo policy's steward, who may also act as analyst
    meshes = {
        "open": meshlab.connect(str(manifest)),
        "steward": meshlab.connect(str(manifest.with_name(GOVERNED_MANIFEST)), role="steward"),
        "analyst": meshlab.connect(str(manifest.with_name(GOVERNED_MANIFEST)), role="analyst"),
    }
    planning: dict[str, list[float]] = {name: [] for name in meshes}
    query: dict[str, list[float]] = {name: [] for name in meshes}
    rows = {name: mesh.sql(QUERY).df.height for name, mesh in meshes.items()}  # warm-up
    names = list(meshes)
    for rep in range(args.repeat):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            planning[name].append(timed(lambda mesh=meshes[name]: mesh.plan(QUERY)))
            query[name].append(timed(lambda mesh=meshes[name]: mesh.sql(QUERY)))
    print(f"demo scale {args.scale:g}, {args.repeat} runs each, medians (min-max) in ms")
    print("| mesh | planning ms | query ms | rows |")
    print("|---|---|---|---|")
    for name in names:
        print(f"| {name} | {figure(planning[name])} | {figure(query[name])} | {rows[name]} |")


if __name__ == "__main__":
    main()
