"""The layouts benchmark's report: docs/benchmarks/layouts-sf<SF>.md and .png from the stored JSON."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from support.tpch import TABLES

GEOMEAN_TARGET = 2.0
QUERY_TARGET = 4.0
MEMORY_TARGET = 1.5


def ratios(run: dict) -> dict[int, float]:
    """Query -> meshlab's median / DuckDB's median, for the queries that ran."""
    return {
        int(q): statistics.median(times) / statistics.median(run["duckdb"][q])
        for q, times in run["meshlab"].items()
        if times and run["duckdb"].get(q)
    }


def geomean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def misestimates(run: dict) -> list[tuple[float, int, dict]]:
    """(factor, query, scan) for every scan with both figures, worst first."""
    found = []
    for query, scans in run.get("scans", {}).items():
        for scan in scans:
            estimated, actual = scan.get("estimated"), scan.get("actual")
            if estimated is None or actual is None:
                continue
            low, high = sorted((max(estimated, 1), max(actual, 1)))
            found.append((high / low, int(query), scan))
    return sorted(found, key=lambda item: -item[0])


def _placement(layout: dict[str, str]) -> str:
    return ", ".join(f"{t}: {layout[t]}" for t in TABLES)


def summary(results: dict) -> list[dict]:
    rows = []
    duck_memory = results.get("memory", {}).get("duckdb")
    for name, run in results["runs"].items():
        found = ratios(run)
        worst = max(found.items(), key=lambda kv: kv[1]) if found else (None, float("nan"))
        memory = results.get("memory", {}).get(name)
        wrong = [q for q, verdict in run["checks"].items() if verdict != "ok"]
        off = misestimates(run)
        rows.append(
            {
                "layout": name,
                "geomean": geomean(found.values()),
                "worst_query": worst[0],
                "worst_ratio": worst[1],
                "above": sorted(q for q, r in found.items() if r > QUERY_TARGET),
                "memory": memory / duck_memory if memory and duck_memory and memory > 0 else None,
                "wrong": wrong,
                "planning_ms": 1000 * statistics.median([statistics.median(v) for v in run["planning"].values()])
                if run["planning"]
                else None,
                "misestimate": statistics.median([f for f, _, _ in off]) if off else None,
            }
        )
    return rows


def _fmt(value, pattern: str = "{:.2f}") -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else pattern.format(value)


def markdown(results: dict, chart: str) -> str:
    machine = results["machine"]
    rows = summary(results)
    lines = [
        f"# TPC-H SF{results['scale']:g} on {len(rows)} layouts: meshlab against DuckDB over the same data as parquet",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores (shared; load {machine['load_before']:.1f} before, "
        f"{machine.get('load_after', float('nan')):.1f} after), {machine['memory_gib']} GiB; Python "
        f"{machine['python']}, Polars {machine['polars']}, DuckDB {machine['duckdb']}, sqlglot {machine['sqlglot']}, "
        f"{machine['postgres']}.",
        f"Reproduce: `{results['command']}` (`make bench-layouts`). Per layout and query: one warm-up (the answer "
        f"checked against DuckDB's), then {results['repeat']} timed run(s) of meshlab and DuckDB alternated; ratios "
        "are of medians. Peak memory: a fresh process runs every query once and reports its VmHWM.",
        "",
        "Each layout places the eight tables at random (seeded) in parquet (one file, or hive-partitioned by a "
        "column), CSV, NDJSON, SQLite (one file) or PostgreSQL (one database), tables in a database under other "
        "physical names (`t_lineitem`); `all-postgres` and `all-parquet` are the two ends. DuckDB reads the same "
        "rows as parquet (lineitem and orders partitioned by year) in every comparison.",
        "",
        f"![layouts]({chart})",
        "",
        "## Per layout",
        "",
        f"| layout | geomean meshlab / DuckDB (target ≤ {GEOMEAN_TARGET}) | worst query | queries above "
        f"{QUERY_TARGET}x | peak memory / DuckDB (target ≤ {MEMORY_TARGET}) | planning median ms | median "
        "misestimate (rows) | answers |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        worst = f"q{row['worst_query']:02d} {row['worst_ratio']:.2f}x" if row["worst_query"] else "—"
        lines.append(
            f"| {row['layout']} | {_fmt(row['geomean'])} | {worst} | {len(row['above'])} "
            f"{'(' + ', '.join(f'q{q:02d}' for q in row['above']) + ')' if row['above'] else ''} | "
            f"{_fmt(row['memory'])} | {_fmt(row['planning_ms'], '{:.1f}')} | {_fmt(row['misestimate'], '{:.1f}x')} | "
            f"{'all equal' if not row['wrong'] else 'differ: ' + ', '.join(row['wrong'])} |"
        )
    worst_layout = max(rows, key=lambda r: r["geomean"]) if rows else None
    if worst_layout:
        lines += ["", f"Worst layout: **{worst_layout['layout']}** (geomean {worst_layout['geomean']:.2f}x)."]
    lines += ["", "## Placements", "", "| layout | placement |", "|---|---|"]
    for name, layout in results["layouts"].items():
        lines.append(f"| {name} | {_placement(layout)} |")
    lines += _per_query(results)
    lines += _estimates(results)
    return "\n".join(lines) + "\n"


def _per_query(results: dict) -> list[str]:
    names = list(results["runs"])
    found = {n: ratios(results["runs"][n]) for n in names}
    queries = sorted({q for r in found.values() for q in r})
    lines = ["", "## meshlab / DuckDB per query", "", "| query | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---|" * len(names))
    for q in queries:
        cells = []
        for n in names:
            value = found[n].get(q)
            text = _fmt(value)
            cells.append(f"**{text}**" if value is not None and value > QUERY_TARGET else text)
        lines.append(f"| q{q:02d} | " + " | ".join(cells) + " |")
    return lines


def _estimates(results: dict) -> list[str]:
    lines = [
        "",
        "## The planner's estimated rows against the actual rows",
        "",
        "From `explain(analyze=True)`: per scan, the cost model's rows (statistics and the conditions the scan is "
        "sent) and the rows it yielded. The worst five scans of each layout:",
        "",
        "| layout | query | dataset | source | estimated | actual | off by |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, run in results["runs"].items():
        for factor, query, scan in misestimates(run)[:5]:
            lines.append(
                f"| {name} | q{query:02d} | {scan['dataset']} | {scan['source']} | {scan['estimated']:,} | "
                f"{scan['actual']:,} | {factor:.1f}x |"
            )
    return lines


def draw(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["runs"])
    columns = 2
    rows = math.ceil(len(names) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(12, 2.4 * rows), squeeze=False, sharey=True)
    for index, name in enumerate(names):
        ax = axes[index // columns][index % columns]
        found = ratios(results["runs"][name])
        queries = sorted(found)
        colours = ["#c0392b" if found[q] > QUERY_TARGET else "#2e86c1" for q in queries]
        ax.bar(queries, [found[q] for q in queries], color=colours)
        ax.axhline(GEOMEAN_TARGET, color="grey", lw=0.8, ls="--")
        ax.axhline(QUERY_TARGET, color="#c0392b", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_title(f"{name} (geomean {geomean(found.values()):.2f}x)", fontsize=9)
        ax.set_xticks(queries, [str(q) for q in queries], fontsize=6)
        ax.tick_params(axis="y", labelsize=7)
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].axis("off")
    figure.supylabel("meshlab / DuckDB (median, log)")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def render(out: Path, results: dict) -> None:
    stem = f"layouts-sf{results['scale']:g}"
    draw(results, out / f"{stem}.png")
    (out / f"{stem}.md").write_text(markdown(results, f"{stem}.png"))
