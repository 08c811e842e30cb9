"""The figures of docs/building.md, drawn from ``building.py``'s rows (matplotlib).

    python benchmarks/building.py --csv building.csv --plot docs/img
    python benchmarks/building_plots.py building.csv docs/img   # redraw from a CSV

Three figures, each for both source shapes (VMA-like and dense) on
allocation trees, dropping 10% of the ranges (the copies drop none):

* ``building-time.svg``: microseconds per source range against n;
* ``building-nodes.svg``: nodes allocated per source range against n;
* ``building-grow.svg``: the cost of the next 10% random inserts into each
  result, in microseconds per insert, against n.
"""
from __future__ import annotations

import csv
import os
import sys
from typing import Any

STYLE = {"dup-dfs": ("#555555", "o"), "dup-bfs": ("#999999", "s"), "fork": ("#1f77b4", "^"),
         "bulk": ("#d62728", "v"), "stores": ("#ff7f0e", "D"), "from-ranges": ("#2ca02c", "*")}
FIGURES = [("building-time.svg", "us_per_range", "µs per source range"),
           ("building-nodes.svg", "nodes_per_range", "nodes allocated per source range"),
           ("building-grow.svg", "grow_us_per_insert", "next 10% inserts: µs per insert")]


def _value(row: Any, key: str) -> float:
    if key == "nodes_per_range":
        return float(row["nodes_made"]) / float(row["n"])
    return float(row[key])


def draw(rows: list[Any], out_dir: str, flags: str = "alloc", drop: float = 0.1) -> list[str]:
    """Write the figures into ``out_dir``; return their paths."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = [r if isinstance(r, dict) else r.__dict__ for r in rows]
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, key, label in FIGURES:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, shape in zip(axes, ("vma", "dense")):
            for way, (color, marker) in STYLE.items():
                want = 0.0 if way.startswith("dup") else drop
                pts = sorted((int(r["n"]), _value(r, key)) for r in data
                             if r["shape"] == shape and r["flags"] == flags and r["way"] == way
                             and abs(float(r["drop"]) - want) < 1e-9)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker,
                            color=color, label=way)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("source ranges n")
            ax.set_title(f"{shape} ranges, {flags} tree, {drop:.0%} dropped (dup: none)")
            ax.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel(label)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            axes[0].legend(handles, labels, fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, name)
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: building_plots.py ROWS.csv OUT_DIR")
    with open(sys.argv[1], encoding="utf-8") as fh:
        print("\n".join(draw(list(csv.DictReader(fh)), sys.argv[2])))
