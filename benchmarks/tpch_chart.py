"""The benchmark's charts (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tpch_report import COLOURS, Figures  # noqa: E402

RATIO_LINES = (
    ("meshlab-P", "polars-P", 1.05, "-"),
    ("meshlab-P", "duckdb-P", 1.0, "--"),
    ("meshlab-F", "duckdb-P", 3.0, "-."),
)


def per_query(ax, f: Figures) -> None:
    width = 0.8 / max(len(f.systems), 1)
    for i, system in enumerate(f.systems):
        xs = [q + (i - (len(f.systems) - 1) / 2) * width for q in f.queries]
        ys = [f.median(system, q) or 0 for q in f.queries]
        ax.bar(xs, ys, width, label=system, color=COLOURS.get(system))
    ax.set_yscale("log")
    ax.set_xticks(f.queries, [f"q{q}" for q in f.queries], fontsize=7)
    ax.set_ylabel("median seconds (log)")
    ax.set_title("Time per query")
    ax.legend(fontsize=7, ncol=len(f.systems))


def ratios(ax, f: Figures) -> None:
    for top, bottom, target, style in RATIO_LINES:
        if top not in f.times or bottom not in f.times:
            continue
        ys = [f.ratio(top, bottom, q) for q in f.queries]
        geo = f.geomean(top, bottom)
        line = ax.plot(f.queries, ys, style, marker="o", ms=3, label=f"{top} / {bottom} (geomean {geo:.2f})")
        ax.axhline(target, color=line[0].get_color(), lw=0.8, alpha=0.5)
    ax.set_yscale("log")
    ax.set_xticks(f.queries, [f"q{q}" for q in f.queries], fontsize=7)
    ax.set_ylabel("time ratio (log); thin lines: targets")
    ax.set_title("Ratios of medians")
    ax.legend(fontsize=7)


def by_scale(ax, runs: list[dict]) -> None:
    series: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        f = Figures(run)
        for system in f.systems:
            total = sum(f.median(system, q) or 0 for q in f.queries)
            series.setdefault(system, []).append((run["scale"], total))
    for system, points in series.items():
        ax.plot(*zip(*points), marker="o", label=system, color=COLOURS.get(system))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("TPC-H scale factor")
    ax.set_ylabel("sum of query medians, s (log)")
    ax.set_title("Time versus scale factor (22 queries)")
    ax.legend(fontsize=7)


def memory(ax, f: Figures) -> None:
    peaks = {s: m / 2**20 for s, m in f.results.get("memory", {}).items() if m > 0}
    ax.bar(list(peaks), list(peaks.values()), color=[COLOURS.get(s) for s in peaks])
    for i, value in enumerate(peaks.values()):
        ax.text(i, value, f"{value:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("peak RSS, MiB")
    ax.set_title("Peak memory (all queries, one process per system)")
    ax.tick_params(axis="x", labelsize=8)


def draw(out: Path, f: Figures, runs: list[dict]) -> None:
    scale = f.results["scale"]
    fig, axes = plt.subplots(2, 2, figsize=(15, 9.5))
    per_query(axes[0][0], f)
    ratios(axes[0][1], f)
    by_scale(axes[1][0], runs)
    memory(axes[1][1], f)
    fig.suptitle(f"TPC-H SF{scale:g}, {f.results['machine']['cores']} cores, {f.results['repeat']} runs per query")
    fig.tight_layout()
    fig.savefig(out / f"tpch-sf{scale:g}.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_scale(ax, runs)
    fig.tight_layout()
    fig.savefig(out / "tpch-scale.png", dpi=90)
    plt.close(fig)
