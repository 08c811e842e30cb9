"""How full should a bottom-up build fill its nodes?  ``build.build_into`` at
several fills, against one-by-one stores.

    python benchmarks/fill.py                                  # the full table (about 3 minutes)
    python benchmarks/fill.py --n 100000 --fill 12 --fill 16 --flags plain
    python benchmarks/fill.py --n 10000000 --fill 12 --no-stores --no-grow --workload vma

For each workload, flag set, N and fill, the table lists:

* ``build s``: seconds of ``build_into(MapleTree(flags), ranges, fill)``
  (the fastest of ``--repeat`` runs; the input list is made beforehand);
* ``nodes``, ``height``, ``leaf %``: live nodes of the result, its height and
  the average occupancy of its leaves (used slots / 16);
* then the cost of growing the result by 10%: N/10 further writes in random
  order (drawn beforehand), with ``grow us/op`` their time per write, ``grow
  allocs`` the nodes they allocated (``tree._nodes_made`` after minus before:
  what the kernel pays for in node allocations, mostly splits), and ``nodes
  after`` the live nodes at the end.

The row ``stores`` is the same tree built by N one-by-one ``store_range``
calls into an empty tree (the baseline), grown the same way; the line under
each block gives how many times faster the build is than the stores, at each
fill.

Workloads (a fixed seed, so every run draws the same ranges):

* ``vma``: VMA-like ranges of 1..16 pages (4 KiB), half of them adjacent to
  the previous one, the others after a gap of 1..64 pages; growing inserts one
  page (``insert_range``) at a random page of N/10 distinct random gaps;
* ``dense``: sequential keys, adjacent ranges of 8 keys (no NULL slot but the
  last); growing overwrites keys 2..4 of N/10 distinct random ranges
  (``store_range``: one slot becomes three, as an mprotect of a VMA's middle).

The garbage collector is on, as for any user.  ``--no-stores`` skips the
baseline, ``--no-grow`` the growing.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)

which_build.use_package()

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree  # noqa: E402
from maple_tree.build import DEFAULT_FILL, build_into  # noqa: E402
from maple_tree.cli import tree_stats  # noqa: E402

PAGE = 4096
FLAG_SETS: dict[str, int] = {"plain": 0, "alloc": MT_FLAGS_ALLOC_RANGE}
SEED = 0xF111

Range = tuple[int, int, Any]


def vma_ranges(n: int, rng: random.Random) -> list[Range]:
    """``n`` VMA-like ranges: 1..16 pages, half adjacent, half after 1..64 free pages."""
    out: list[Range] = []
    key = 0x10000
    for i in range(n):
        if rng.random() >= 0.5:
            key += rng.randint(1, 64) * PAGE
        size = rng.randint(1, 16) * PAGE
        out.append((key, key + size - 1, i))
        key += size
    return out


def vma_growth(ranges: list[Range], rng: random.Random) -> list[Range]:
    """N/10 one-page inserts, each at a random page of a distinct random gap."""
    gaps = [(a[1] + 1, b[0] - 1) for a, b in zip(ranges, ranges[1:]) if b[0] > a[1] + 1]
    chosen = rng.sample(gaps, min(len(gaps), len(ranges) // 10))
    out: list[Range] = []
    for i, (lo, hi) in enumerate(chosen):
        page = lo + rng.randrange((hi - lo + 1) // PAGE) * PAGE
        out.append((page, page + PAGE - 1, -1 - i))
    return out


def dense_ranges(n: int, _rng: random.Random) -> list[Range]:
    """``n`` adjacent ranges of 8 sequential keys."""
    return [(8 * i, 8 * i + 7, i) for i in range(n)]


def dense_growth(ranges: list[Range], rng: random.Random) -> list[Range]:
    """N/10 overwrites of keys 2..4 of distinct random ranges."""
    chosen = rng.sample(range(len(ranges)), len(ranges) // 10)
    return [(ranges[j][0] + 2, ranges[j][0] + 4, -1 - i) for i, j in enumerate(chosen)]


WORKLOADS: dict[str, tuple[Callable[[int, random.Random], list[Range]],
                           Callable[[list[Range], random.Random], list[Range]], str]] = {
    "vma": (vma_ranges, vma_growth, "insert_range"),
    "dense": (dense_ranges, dense_growth, "store_range"),
}


def build(flags: int, ranges: list[Range], fill: int | None) -> tuple[MapleTree, float]:
    """The tree of ``ranges`` by ``build_into`` (``fill``) or by stores (``None``), and seconds."""
    tree = MapleTree(flags)
    t0 = time.perf_counter()
    if fill is None:
        store = tree.store_range
        for first, last, entry in ranges:
            store(first, last, entry)
    else:
        build_into(tree, ranges, fill)
    return tree, time.perf_counter() - t0


def grow(tree: MapleTree, ops: list[Range], method: str) -> tuple[float, int]:
    """Apply ``ops`` with ``method``; seconds and nodes allocated."""
    write = getattr(tree, method)
    made = tree._nodes_made
    t0 = time.perf_counter()
    for first, last, entry in ops:
        write(first, last, entry)
    return time.perf_counter() - t0, tree._nodes_made - made


def measure(flags: int, ranges: list[Range], ops: list[Range], method: str, fill: int | None,
            repeat: int, with_grow: bool) -> dict[str, Any]:
    """One row of the table."""
    best = float("inf")
    tree = None
    for _ in range(repeat):
        tree = None  # let the previous tree go before the next build
        tree, dt = build(flags, ranges, fill)
        best = min(best, dt)
    assert tree is not None
    stats = tree_stats(tree)
    leaves = stats["levels"][-1]
    row: dict[str, Any] = {"build": best, "nodes": stats["nodes"], "height": tree.height,
                           "leaf": 100.0 * leaves["fill"]}
    if with_grow and ops:
        dt, allocs = grow(tree, ops, method)
        tree.validate()
        row.update(grow_us=1e6 * dt / len(ops), allocs=allocs, after=tree_stats(tree)["nodes"])
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, action="append", help="range count (repeatable)")
    ap.add_argument("--fill", type=int, action="append", help="leaf fill (repeatable)")
    ap.add_argument("--flags", choices=("plain", "alloc", "both"), default="both")
    ap.add_argument("--workload", choices=("vma", "dense", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=1,
                    help="builds per cell (stores too), the fastest kept")
    ap.add_argument("--no-stores", action="store_true", help="skip the one-by-one baseline")
    ap.add_argument("--no-grow", action="store_true", help="skip growing the result by 10%%")
    args = ap.parse_args(argv)
    sizes = args.n or [10_000, 100_000, 1_000_000]
    fills = args.fill or [8, 10, 12, 14, 16]
    flag_names = ["plain", "alloc"] if args.flags == "both" else [args.flags]
    workloads = ["vma", "dense"] if args.workload == "both" else [args.workload]
    print(f"# Python {platform.python_version()} on {platform.machine()}; default fill "
          f"{DEFAULT_FILL}; fastest of {args.repeat} build(s)")
    head = (f"{'workload':8} {'flags':5} {'n':>9} {'fill':>6} {'build s':>8} {'nodes':>8} "
            f"{'height':>6} {'leaf %':>6} {'grow us/op':>10} {'grow allocs':>11} "
            f"{'nodes after':>11}")
    print(head)
    for name in workloads:
        make, growth, method = WORKLOADS[name]
        for n in sizes:
            rng = random.Random(SEED + n)
            ranges = make(n, rng)
            ops = growth(ranges, rng)
            for flag_name in flag_names:
                flags = FLAG_SETS[flag_name]
                builds: dict[int, float] = {}
                cells: list[int | None] = list(fills) + ([] if args.no_stores else [None])
                for fill in cells:
                    row = measure(flags, ranges, ops, method, fill, args.repeat,
                                  not args.no_grow)
                    label = "stores" if fill is None else str(fill)
                    grown = (f"{row['grow_us']:10.2f} {row['allocs']:11,} {row['after']:11,}"
                             if "grow_us" in row else f"{'-':>10} {'-':>11} {'-':>11}")
                    print(f"{name:8} {flag_name:5} {n:9,} {label:>6} {row['build']:8.3f} "
                          f"{row['nodes']:8,} {row['height']:6} {row['leaf']:6.1f} {grown}",
                          flush=True)
                    if fill is None:
                        ratios = ", ".join(f"fill {f}: {row['build'] / t:.1f}x"
                                           for f, t in builds.items())
                        print(f"#   build vs one-by-one stores ({name}, {flag_name}, "
                              f"n={n:,}): {ratios}")
                    else:
                        builds[fill] = row["build"]
    return 0


if __name__ == "__main__":
    sys.exit(main())
