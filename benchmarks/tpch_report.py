"""Markdown tables and a PNG chart from the stored results of ``run_tpch.py``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RATIOS = (  # (label, numerator, denominator, target, lower is better)
    ("meshlab-P / polars-P", "meshlab-P", "polars-P", 1.05),
    ("meshlab-P / duckdb-P", "meshlab-P", "duckdb-P", 1.0),
    ("meshlab-F / duckdb-P", "meshlab-F", "duckdb-P", 3.0),
    ("naive-F / meshlab-F (speed-up)", "naive-F", "meshlab-F", None),
)
SPEEDUP_TARGET = 5.0
PLAN_MEDIAN_MS, PLAN_WORST_MS = 5.0, 20.0
COLOURS = {
    "meshlab-P": "#1f77b4",
    "polars-P": "#9467bd",
    "duckdb-P": "#2ca02c",
    "meshlab-F": "#ff7f0e",
    "naive-F": "#d62728",
}


class Figures:
    """Medians, ranges and ratios over one stored run."""

    def __init__(self, results: dict):
        self.results = results
        self.times = results["times"]
        self.queries = sorted({int(q) for runs in self.times.values() for q in runs})
        self.systems = [s for s in results["systems"] if s in self.times]

    def median(self, system: str, q: int) -> float | None:
        runs = self.times.get(system, {}).get(str(q))
        return statistics.median(runs) if runs else None

    def span(self, system: str, q: int) -> str:
        runs = self.times[system][str(q)]
        return f"{statistics.median(runs):.3f} ({min(runs):.3f}–{max(runs):.3f})"

    def ratio(self, top: str, bottom: str, q: int) -> float | None:
        a, b = self.median(top, q), self.median(bottom, q)
        return a / b if a and b else None

    def geomean(self, top: str, bottom: str) -> float | None:
        values = [r for q in self.queries if (r := self.ratio(top, bottom, q))]
        return statistics.geometric_mean(values) if values else None

    def execution_ratio(self, top: str, bottom: str) -> float | None:
        """Geomean of ``top``'s execution alone (its planning left out) over ``bottom``'s time."""
        runs = self.results.get("execution", {}).get(top)
        values = [
            statistics.median(runs[str(q)]) / b
            for q in self.queries
            if runs and str(q) in runs and (b := self.median(bottom, q))
        ]
        return statistics.geometric_mean(values) if values else None

    def planning(self, system: str) -> tuple[float, float, float] | None:
        """(median of per-query medians, worst per-query median, worst single run) in ms."""
        runs = self.results["planning"].get(system)
        if not runs:
            return None
        medians = [statistics.median(v) * 1000 for v in runs.values()]
        return statistics.median(medians), max(medians), max(max(v) for v in runs.values()) * 1000


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def targets_table(f: Figures) -> list[str]:
    lines = ["| target | figure | verdict |", "|---|---|---|"]
    for label, top, bottom, target in RATIOS:
        value = f.geomean(top, bottom)
        if value is None:
            continue
        if target is None:
            lines.append(
                f"| meshlab-F ≥ {SPEEDUP_TARGET:g}x faster than naive-F (geomean) | {value:.1f}x | "
                f"{_mark(value >= SPEEDUP_TARGET)} |"
            )
        else:
            lines.append(f"| {label} ≤ {target:g} (geomean) | {value:.3f} | {_mark(value <= target)} |")
    execution = f.execution_ratio("meshlab-P", "polars-P")
    if execution is not None:
        lines.append(
            f"| for comparison: meshlab-P's execution alone (planning left out) / polars-P (geomean) | "
            f"{execution:.3f} | — |"
        )
    for system in ("meshlab-P", "meshlab-F"):
        plan = f.planning(system)
        if plan:
            ok = plan[0] <= PLAN_MEDIAN_MS and plan[1] <= PLAN_WORST_MS
            lines.append(
                f"| planning {system}: median ≤ {PLAN_MEDIAN_MS:g} ms, worst ≤ {PLAN_WORST_MS:g} ms | "
                f"{plan[0]:.2f} ms median, {plan[1]:.2f} ms worst query (slowest single run {plan[2]:.1f} ms) | "
                f"{_mark(ok)} |"
            )
    memory = f.results.get("memory", {})
    if memory.get("meshlab-F", -1) > 0 and memory.get("duckdb-P", -1) > 0:
        ratio = memory["meshlab-F"] / memory["duckdb-P"]
        lines.append(f"| peak memory meshlab-F ≤ 2x duckdb-P | {ratio:.2f}x | {_mark(ratio <= 2)} |")
    fetch = fetch_rows(f.results)
    if fetch:
        extra = [r for r in fetch if r["fetched"] > r["needed"]]
        lines.append(
            f"| rows fetched from databases = rows needed | {len(fetch) - len(extra)} of {len(fetch)} "
            f"table reads at or below the need | {_mark(not extra)} |"
        )
    return lines


def timing_table(f: Figures) -> list[str]:
    ratio_columns = [(label, top, bottom) for label, top, bottom, _ in RATIOS if top in f.times and bottom in f.times]
    head = ["query"] + [f"{s} s" for s in f.systems] + [label for label, _, _ in ratio_columns]
    head += [f"plan {s} ms" for s in f.systems if s in f.results["planning"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for q in f.queries:
        cells = [f"q{q:02d}"] + [f.span(s, q) if str(q) in f.times[s] else "" for s in f.systems]
        cells += [f"{r:.2f}" if (r := f.ratio(top, bottom, q)) else "" for _, top, bottom in ratio_columns]
        for s in f.systems:
            runs = f.results["planning"].get(s, {}).get(str(q))
            if s in f.results["planning"]:
                cells.append(f"{statistics.median(runs) * 1000:.1f}" if runs else "")
        lines.append("| " + " | ".join(cells) + " |")
    cells = ["**geomean**"] + [""] * len(f.systems)
    cells += [f"**{f.geomean(top, bottom):.3f}**" for _, top, bottom in ratio_columns]
    cells += [f"**{f.planning(s)[0]:.1f}** (median)" for s in f.systems if s in f.results["planning"]]
    lines.append("| " + " | ".join(cells) + " |")
    return lines


def fetch_rows(results: dict) -> list[dict]:
    """One row per (query, database table read, or join pushed down): fetched vs needed."""
    rows = []
    for q, figures in sorted(results.get("fetch", {}).items(), key=lambda kv: int(kv[0])):
        fragments = figures["meshlab"]
        joins = [fr for fr in fragments if len(fr["tables"]) > 1]
        joined_tables = {t for fr in joins for t in fr["tables"]}
        for table, needed in figures["needed_rows"].items():
            own = [fr for fr in fragments if fr["tables"] == [table]]
            if not own and table in joined_tables:
                continue
            rows.append(_fetch_row(q, table, own, needed, figures, figures["naive"].get(table)))
        for fr in joins:
            naive = [figures["naive"][t] for t in fr["tables"] if t in figures["naive"]]
            pulled = [sum(n[0] for n in naive), sum(n[1] for n in naive)] if naive else None
            rows.append(_fetch_row(q, " ⋈ ".join(fr["tables"]), [fr], fr.get("needed") or 0, figures, pulled))
    return rows


def _fetch_row(q: str, table: str, own: list[dict], needed: int, figures: dict, naive) -> dict:
    tables = [t for fr in own for t in fr["tables"]] or [table]
    sent = {(t, c) for fr in own for t, names in fr["columns"].items() for c in names}
    wanted = {(t, c) for t in tables for c in figures["needed_columns"].get(t, [])}
    return {
        "query": int(q),
        "table": table,
        "kind": own[0]["kind"] if own else "—",
        "fetched": sum(fr["rows"] or 0 for fr in own),
        "needed": needed,
        "bytes": sum(fr["bytes"] or 0 for fr in own),
        "reads": sum(fr["statements"] for fr in own),
        "joined": len(tables) > 1,
        "extra_columns": sorted(f"{t}.{c}" for t, c in sent - wanted),
        "naive": naive,
    }


def fetch_table(results: dict) -> list[str]:
    lines = [
        "| query | table | source | rows fetched | rows needed | bytes fetched | statements | "
        "columns beyond need | naive-F rows / bytes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in fetch_rows(results):
        fetched = f"{r['fetched']:,}" + (" (join pushed down)" if r["joined"] else "")
        naive = f"{r['naive'][0]:,} / {r['naive'][1] / 2**20:,.1f} MiB" if r["naive"] else ""
        extra = ", ".join(r["extra_columns"]) or "none"
        lines.append(
            f"| q{r['query']:02d} | {r['table']} | {r['kind']} | {fetched} | {r['needed']:,} | "
            f"{r['bytes'] / 2**20:,.2f} MiB | {r['reads']} | {extra} | {naive} |"
        )
    return lines


def memory_table(results: dict) -> list[str]:
    memory = results.get("memory") or {}
    if not memory:
        return []
    lines = ["| system | peak RSS (MiB) |", "|---|---|"]
    lines += [f"| {s} | {m / 2**20:,.0f} |" if m > 0 else f"| {s} | failed |" for s, m in memory.items()]
    return lines


def scale_runs(out: Path) -> list[dict]:
    runs = [json.loads(p.read_text()) for p in out.glob("tpch-sf*.json")]
    return sorted(runs, key=lambda r: r["scale"])


def scale_table(out: Path) -> list[str]:
    runs = scale_runs(out)
    systems = list(dict.fromkeys(s for r in runs for s in r["systems"]))
    lines = [
        "| SF | " + " | ".join(f"{s} total s" for s in systems) + " | meshlab-P / duckdb-P | meshlab-F / duckdb-P |"
    ]
    lines.append("|" + "---|" * (len(systems) + 3))
    for run in runs:
        f = Figures(run)
        totals = [sum(f.median(s, q) or 0 for q in f.queries) if s in f.times else None for s in systems]
        cells = [f"{t:.2f}" if t else "" for t in totals]
        ratios = [f.geomean(top, "duckdb-P") for top in ("meshlab-P", "meshlab-F")]
        cells += [f"{r:.3f}" if r else "" for r in ratios]
        lines.append(f"| {run['scale']:g} | " + " | ".join(cells) + " |")
    return lines


def render(out: Path, results: dict) -> None:
    from tpch_chart import draw

    f = Figures(results)
    scale = results["scale"]
    m = results["machine"]
    failures = [f"{s} q{q}: {v}" for s, checks in results["checks"].items() for q, v in checks.items() if v != "ok"]
    text = [
        f"# TPC-H SF{scale:g}: meshlab, hand-written Polars, DuckDB and the naive notebook approach",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores (shared with other users; load {m['load_before']:.1f} before, "
        f"{m['load_after']:.1f} after), {m['memory_gib']} GiB; Python {m['python']}, Polars {m['polars']}, "
        f"DuckDB {m['duckdb']}, sqlglot {m['sqlglot']}, {m['postgres']}.",
        f"Reproduce: `{results['command']}` (`make bench`). {results['repeat']} timed runs per query and system "
        "after one warm-up, systems alternated; times are medians (min–max) in seconds, ratios are of medians.",
        "",
        "Layout P: every table parquet, lineitem and orders hive-partitioned by year. Layout F: orders and customer "
        "in PostgreSQL, part, partsupp and supplier in SQLite, nation and region in CSV, lineitem partitioned "
        "parquet. duckdb-P is the floor for both layouts. naive-F reads every table a query names whole "
        "(`pl.read_database_uri`, `read_csv`, `read_parquet`) and joins them with Polars SQL.",
        "",
        f"![TPC-H SF{scale:g}](tpch-sf{scale:g}.png)",
        "",
        "## Targets" + ("" if scale == 1 else f" (set for SF1; shown at SF{scale:g} for reference)"),
        "",
        *targets_table(f),
        "",
        "Answers checked against DuckDB's: " + ("all equal." if not failures else "; ".join(failures)),
        "",
        "## Time per query",
        "",
        *timing_table(f),
        "",
    ]
    if results.get("fetch"):
        text += ["## What the databases sent (layout F)", "", *fetch_intro(), "", *fetch_table(results), ""]
    if results.get("memory"):
        text += ["## Peak memory", "", *memory_intro(), "", *memory_table(results), ""]
    text += ["## Time versus scale factor", "", "![time vs scale factor](tpch-scale.png)", "", *scale_table(out), ""]
    notes = out / f"tpch-sf{scale:g}-notes.md"
    if notes.exists():
        text += [notes.read_text().strip(), ""]
    (out / f"tpch-sf{scale:g}.md").write_text("\n".join(text))
    draw(out, f, scale_runs(out))


def fetch_intro() -> list[str]:
    return [
        "Rows needed: rows of the table that meet the conditions a database could evaluate (single-table "
        "predicates without subqueries, also those implied by an OR of conjunctions), written by hand per query "
        "and counted by DuckDB on the plain parquet files (benchmarks/tpch_needed.py); a table read by two "
        "references needs the rows meeting either's conditions. Columns beyond need: columns sent that the "
        "query never names (from sqlglot's qualify). A join pushed down sends the joined rows. "
        "Bytes are Arrow bytes as received.",
    ]


def memory_intro() -> list[str]:
    return [
        "Each system runs every query once in a fresh process; the figure is that process's max RSS "
        "(`VmHWM`), imports included. PostgreSQL's own processes are not counted (for meshlab-F nor naive-F).",
    ]
