"""The interpreter's floor: the least Python code that does the unavoidable
part of a workload, on the same tree, against what maple-tree takes.

    python benchmarks/floor.py --n 10000 --n 1000000

Each floor is a loop written inline, with no argument checks, no state and
no function call per operation beyond what Python needs:

* **W1/W4 store floor**: descend from the root to the leaf with ``bisect``
  and overwrite one slot in place (an exact-fit store of the value already
  there, so the tree does not change).  Every real store does at least this;
  splits, rebalances and the bookkeeping of NULL ranges come on top.
* **W3 load floor**: the same descent, reading the slot.
* **W8a iteration floor**: a generator over the leaves that keeps the
  current range in two attributes (what ``mas_for_each`` must leave in
  ``mas.index`` / ``mas.last``) and yields each entry; the leaves are
  collected beforehand, so climbing between leaves costs nothing here.

A floor's ratio to the C kernel bounds what any pure-Python tree with the
kernel's node layout can reach in this interpreter; see benchmarks/README.md.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from bisect import bisect_left

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)

which_build.use_package()

import workloads as wl  # noqa: E402
from run import c_figure  # noqa: E402
from maple_tree import ULONG_MAX, MaState  # noqa: E402
from maple_tree.constants import LEAF_64  # noqa: E402


def store_floor(root, keys: list[int]) -> float:
    """Descend to the leaf of each key and overwrite its slot in place."""
    t0 = time.perf_counter()
    for index in keys:
        node = root
        while node.type != LEAF_64:
            node = node.slots[bisect_left(node.pivots, index)]
        slots = node.slots
        off = bisect_left(node.pivots, index)
        slots[off] = slots[off]
    return time.perf_counter() - t0


def load_floor(root, keys: list[int]) -> float:
    """Descend to the leaf of each key and read its slot."""
    t0 = time.perf_counter()
    out = []
    append = out.append
    for index in keys:
        node = root
        while node.type != LEAF_64:
            node = node.slots[bisect_left(node.pivots, index)]
        append(node.slots[bisect_left(node.pivots, index)])
    return time.perf_counter() - t0


class _Cursor:
    __slots__ = ("index", "last")


def _leaves(root) -> list:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.type == LEAF_64:
            out.append(node)
        else:
            stack.extend(reversed(node.slots))
    return out


def _walk_entries(leaves: list, cur: _Cursor):
    first = 0
    for leaf in leaves:
        for last, entry in zip(leaf.pivots, leaf.slots):
            if entry is not None:
                cur.index = first
                cur.last = last
                yield entry
            first = last + 1


def iterate_floor(root) -> tuple[float, int]:
    """Yield every entry from pre-collected leaves, keeping index/last."""
    leaves = _leaves(root)
    t0 = time.perf_counter()
    count = sum(1 for _ in _walk_entries(leaves, _Cursor()))
    return time.perf_counter() - t0, count


def measure(flags_name: str, n: int) -> list[tuple[str, float, float]]:
    """Rows (workload, floor seconds/op, ours seconds/op) for one tree."""
    tree = wl.build_w1(flags_name, n)
    rng = wl.SplitMix64(wl.SEED_W3)
    keys = [rng.below(10 * n) for _ in range(n)]
    hits = [10 * (k // 10) for k in keys]  # keys that hold an entry: a store lands on one
    rows = []
    floor = store_floor(tree._root, hits) / n
    store_range = tree.store_range
    t0 = time.perf_counter()
    for k in hits:
        store_range(k, k + 5, k // 10)          # exact fit: the same shape afterwards
    rows.append(("store (exact fit)", floor, (time.perf_counter() - t0) / n))
    floor = load_floor(tree._root, keys) / n
    load = tree.load
    t0 = time.perf_counter()
    for k in keys:
        load(k)
    rows.append(("W3 load", floor, (time.perf_counter() - t0) / n))
    dt, count = iterate_floor(tree._root)
    assert count == n, count
    t0 = time.perf_counter()
    got = sum(1 for _ in MaState(tree).for_each(ULONG_MAX))
    ours = (time.perf_counter() - t0) / n
    assert got == n, got
    rows.append(("W8a iterate (per entry)", dt / n, ours))
    tree.validate()
    return rows


C_ROW = {"store (exact fit)": "W1", "W3 load": "W3", "W8a iterate (per entry)": "W8a"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append", help="entry count (repeatable)")
    p.add_argument("--flags", choices=("alloc", "plain", "both"), default="both")
    p.add_argument("--repeat", type=int, default=3,
                   help="passes per (flags, N); the fastest of each is reported")
    args = p.parse_args(argv)
    flag_sets = ["alloc", "plain"] if args.flags == "both" else [args.flags]
    print(f"interpreter floor: Python {platform.python_version()} "
          f"({platform.python_implementation()}), GC {'on' if gc.isenabled() else 'off'}")
    print(f"{'operation':<26} {'flags':<6} {'N':>9} {'floor us':>9} {'ours us':>9} "
          f"{'C ns':>6} {'floor/C':>8} {'ours/C':>7}")
    for n in args.n or [10_000]:
        for flags_name in flag_sets:
            passes = [measure(flags_name, n) for _ in range(args.repeat)]
            for rows in zip(*passes):
                name = rows[0][0]
                floor = min(r[1] for r in rows)
                ours = min(r[2] for r in rows)
                c_ns = c_figure(C_ROW[name], flags_name, n)
                vs_c = (f"{c_ns:>6g} {floor * 1e9 / c_ns:>7.0f}x {ours * 1e9 / c_ns:>6.0f}x"
                        if c_ns else f"{'-':>6} {'-':>8} {'-':>7}")
                print(f"{name:<26} {flags_name:<6} {n:>9,} {floor * 1e6:>9.3f} "
                      f"{ours * 1e6:>9.3f} {vs_c}", flush=True)
    print("C = the kernel's W1 (append) / W3 / W8a figure: a store's floor is set "
          "against the cheapest C store")
    return 0


if __name__ == "__main__":
    sys.exit(main())
