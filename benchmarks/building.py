"""How to copy and build a tree fast: every way, measured.

The question the maple tree's authors asked when fork's duplication was
designed ("which is fastest?"), answered for this package.  A source tree of
n ranges is copied, or a new tree is built from its ranges, in each of these
ways, dropping none, 1%, 10% or 50% of the ranges (fork's ``VM_DONTCOPY``):

=============  ===========================================================
``dup-dfs``    node-for-node copy, depth first (``mas_dup_build``); no drop
``dup-bfs``    node-for-node copy, breadth first; no drop
``fork``       ``MapleTree.fork``: a copy, then one cursor walk storing each
               entry's copy over its range (an exact fit) or NULL where the
               range is dropped (Linux 6.8 and later)
``bulk``       a new tree loaded through one cursor in bulk mode
               (``expected_entries``, then ``index``/``last`` assignment and
               ``store`` per kept range, then ``destroy``): fork before 6.8
``stores``     a new tree, ``store_range`` per kept range
``from-ranges``  ``MapleTree.from_ranges`` over the kept ranges (the
               bottom-up builder)
=============  ===========================================================

For each: the time per source range, the nodes the result allocated
(``stats().nodes_made``), its height and leaf fill, and the cost of what
comes next: inserting a further 10% random ranges into the result (time per
insert and nodes allocated per insert).  Two shapes of source: ``vma``
(page-aligned ranges of 1-32 pages, 70% adjacent to the previous one, the
rest after a gap of 1-64 pages, like a process's address space) and
``dense`` (adjacent ranges of 4 keys, no gap anywhere).  The source itself
is built by one-by-one stores, as a process's tree is.  A "next insert"
stores one random key inside the source's span, cutting a range or a gap,
so each adds slots (an ``mprotect`` of one page does the same to a VMA).

    python benchmarks/building.py                      # the default grid
    python benchmarks/building.py --n 134 --n 10000 --drop 0.1 --repeat 5
    python benchmarks/building.py --csv results.csv    # also write every row
    python benchmarks/building.py --plot docs/img      # and draw the figures (needs '.[plot]')
    python benchmarks/building.py --w7                 # the kernel's W7 copies beside the C figures

Every result is checked: it must hold exactly the kept ranges, and pass
``validate()`` (the kernel's rule for bulk-built trees).
"""
from __future__ import annotations

import argparse
import csv
import gc
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)

which_build.use_package()

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree, MaState  # noqa: E402
from maple_tree.dup import copy_breadth_first, copy_depth_first, dup_into  # noqa: E402

PAGE = 4096
Range = tuple[int, int, int]


def vma_ranges(n: int, seed: int = 0x5F0) -> list[Range]:
    """``n`` page-aligned ranges like a process's VMAs; the entry of range k is k."""
    rng = random.Random(seed)
    out: list[Range] = []
    start = 0x400000
    for k in range(n):
        if rng.random() >= 0.7:
            start += PAGE * rng.randint(1, 64)
        length = PAGE * rng.randint(1, 32)
        out.append((start, start + length - 1, k))
        start += length
    return out


def dense_ranges(n: int) -> list[Range]:
    """``n`` adjacent ranges of 4 keys, ``[4k, 4k+3] -> k``: no gap anywhere."""
    return [(4 * k, 4 * k + 3, k) for k in range(n)]


SHAPES: dict[str, Callable[[int], list[Range]]] = {"vma": vma_ranges, "dense": dense_ranges}


def dropped(k: int, rate: float) -> bool:
    """Is range k dropped at ``rate``?  Spread evenly (every 1/rate-th)."""
    return rate > 0 and int(k * rate) != int((k + 1) * rate)


# -- the ways ---------------------------------------------------------------------------


def way_dup(order: Callable[..., object]) -> Callable[[MapleTree, list[Range], float], MapleTree]:
    def run(src: MapleTree, ranges: list[Range], rate: float) -> MapleTree:
        new = MapleTree(src.flags)
        dup_into(src, new, order)  # type: ignore[arg-type]
        return new
    return run


def way_fork(src: MapleTree, ranges: list[Range], rate: float) -> MapleTree:
    return src.fork(lambda first, last, k: None if dropped(k, rate) else k)


def way_bulk(src: MapleTree, ranges: list[Range], rate: float) -> MapleTree:
    new = MapleTree(src.flags)
    mas = MaState(new)
    mas.expected_entries(len(ranges))
    for first, last, k in iter(src):
        if not dropped(k, rate):
            mas.index, mas.last = first, last  # vma_iter_bulk_store
            mas.store(k)
    mas.destroy()
    return new


def way_stores(src: MapleTree, ranges: list[Range], rate: float) -> MapleTree:
    new = MapleTree(src.flags)
    store = new.store_range
    for first, last, k in iter(src):
        if not dropped(k, rate):
            store(first, last, k)
    return new


def way_from_ranges(src: MapleTree, ranges: list[Range], rate: float) -> MapleTree:
    return MapleTree.from_ranges(((f, l, k) for f, l, k in iter(src) if not dropped(k, rate)),
                                 src.flags)


WAYS: dict[str, Callable[[MapleTree, list[Range], float], MapleTree]] = {
    "dup-dfs": way_dup(copy_depth_first),
    "dup-bfs": way_dup(copy_breadth_first),
    "fork": way_fork,
    "bulk": way_bulk,
    "stores": way_stores,
    "from-ranges": way_from_ranges,
}
NO_DROP = {"dup-dfs", "dup-bfs"}


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Row:
    shape: str
    flags: str
    n: int
    drop: float
    way: str
    us_per_range: float
    nodes_made: int
    nodes: int
    height: int
    leaf_fill: float
    grow_us_per_insert: float
    grow_nodes_per_insert: float


def _timed(fn: Callable[[], MapleTree], repeat: int) -> tuple[float, MapleTree]:
    """The fastest of ``repeat`` runs (GC collected before each) and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


def _check(result: MapleTree, ranges: list[Range], rate: float, way: str) -> None:
    want = [r for r in ranges if way in NO_DROP or not dropped(r[2], rate)]
    got = list(result)
    if got != want:
        raise AssertionError(f"{way}: the result does not hold the kept ranges")
    result.validate(exempt_rightmost=True)


def _grow(tree: MapleTree, ranges: list[Range], seed: int) -> tuple[float, float]:
    """Store 10% more single random keys inside the source's span (each cuts
    a range or a gap); return (µs per insert, nodes allocated per insert)."""
    rng = random.Random(seed)
    lo, hi = ranges[0][0], ranges[-1][1]
    keys = [rng.randint(lo, hi) for _ in range(max(1, len(ranges) // 10))]
    made = tree._nodes_made
    store = tree.store_range
    gc.collect()
    t0 = time.perf_counter()
    for a in keys:
        store(a, a, -1)
    dt = time.perf_counter() - t0
    return dt / len(keys) * 1e6, (tree._nodes_made - made) / len(keys)


_SOURCES: dict[tuple[str, str, int], tuple[MapleTree, list[Range]]] = {}


def source(shape: str, flags_name: str, n: int) -> tuple[MapleTree, list[Range]]:
    """The source tree of ``n`` ranges of ``shape``, built by one-by-one
    stores (kept for the rows that use it)."""
    key = (shape, flags_name, n)
    if key not in _SOURCES:
        _SOURCES.clear()
        ranges = SHAPES[shape](n)
        _SOURCES[key] = (_by_stores(ranges, MT_FLAGS_ALLOC_RANGE if flags_name == "alloc"
                                    else 0), ranges)
    return _SOURCES[key]


def measure(shape: str, flags_name: str, n: int, drop: float, way: str, repeat: int) -> Row:
    """One row: run ``way`` on the source, check, then grow the result."""
    src, ranges = source(shape, flags_name, n)
    fn = WAYS[way]
    seconds, result = _timed(lambda: fn(src, ranges, drop), repeat)
    _check(result, ranges, drop, way)
    s = result.stats()
    leaf_fill = s.levels[-1].fill if s.levels else 0.0
    grow_us, grow_nodes = _grow(result, ranges, seed=n)
    return Row(shape, flags_name, n, drop, way, seconds / n * 1e6, s.nodes_made, s.nodes,
               s.height, leaf_fill, grow_us, grow_nodes)


def _by_stores(ranges: list[Range], flags: int) -> MapleTree:
    t = MapleTree(flags)
    for first, last, k in ranges:
        t.store_range(first, last, k)
    return t


def grid(ns: list[int], shapes: list[str], flags: list[str], drops: list[float],
         ways: list[str], repeat: int) -> Iterator[Row]:
    for shape in shapes:
        for flags_name in flags:
            for n in ns:
                for drop in drops:
                    for way in ways:
                        if way in NO_DROP and drop:
                            continue
                        yield measure(shape, flags_name, n, drop, way,
                                      repeat if n <= 100_000 else 1)


# -- the kernel's W7 copies, side by side with the C figures ------------------------------

#: The C kernel's W7 figures, ns per copy of E+1 ranges, by E: Linux 6.12.117's
#: lib/maple_tree.c compiled in userspace (see benchmarks/README.md).
C_W7_NS: dict[int, dict[tuple[str, str], float]] = {
    134: {("W7a", "alloc"): 394, ("W7a", "plain"): 396, ("W7b", "alloc"): 2_918,
          ("W7b", "plain"): 2_954, ("W7c", "alloc"): 12_187, ("W7c", "plain"): 11_047,
          ("W7d", "alloc"): 14_879, ("W7d", "plain"): 13_736},
    10_000: {("W7a", "alloc"): 32_700, ("W7a", "plain"): 32_200, ("W7b", "alloc"): 216_100,
             ("W7b", "plain"): 218_300, ("W7c", "alloc"): 1_249_400,
             ("W7c", "plain"): 893_500, ("W7d", "alloc"): 1_675_800,
             ("W7d", "plain"): 1_412_800},
    100_000: {("W7a", "alloc"): 374_100, ("W7a", "plain"): 381_500,
              ("W7b", "alloc"): 2_321_800, ("W7b", "plain"): 2_285_600,
              ("W7c", "alloc"): 14_976_700, ("W7c", "plain"): 10_222_400,
              ("W7d", "alloc"): 19_491_400, ("W7d", "plain"): 16_681_700},
}
W7_NAMES = {"W7a": "dup + destroy", "W7b": "fork, every entry kept (dup + re-store walk)",
            "W7c": "bulk re-insert (expected_entries)", "W7d": "re-insert one by one (store_gfp)",
            "W7d'": "re-insert one by one (store_range; no C figure)"}


def _w7_fork(src: MapleTree, ranges: list[Range]) -> MapleTree:
    return src.fork(lambda first, last, entry: entry)  # W7b: every entry stored back


def _w7_store_gfp(src: MapleTree, ranges: list[Range]) -> MapleTree:
    new = MapleTree(src.flags)
    mas = MaState(new)
    for first, last, entry in iter(src):
        mas.set_range(first, last)
        mas.store_gfp(entry)
    return new


def _nothing_dropped(way: Callable[[MapleTree, list[Range], float], MapleTree]
                     ) -> Callable[[MapleTree, list[Range]], MapleTree]:
    return lambda src, ranges: way(src, ranges, 0.0)


#: W7's ways: the grid's, dropping nothing, but for the two the grid lacks
W7_WAYS: dict[str, Callable[[MapleTree, list[Range]], MapleTree]] = {
    "W7a": _nothing_dropped(WAYS["dup-bfs"]), "W7b": _w7_fork,
    "W7c": _nothing_dropped(way_bulk), "W7d": _w7_store_gfp,
    "W7d'": _nothing_dropped(way_stores)}


def w7_table(entries: int = 134, rounds: int = 7, budget: float = 0.05) -> list[str]:
    """The kernel's W7 on its source tree (``[10i, 10i+5] -> i`` for
    i = 0..entries): each way makes a copy and destroys it, in loops of about
    ``budget`` seconds; the ways alternate for ``rounds`` rounds and each keeps
    its fastest loop.  Returns the table's lines: µs per copy, and each way's
    cost over W7a beside the C kernel's."""
    header = (f"{'W7':4} {'flags':5} {'way':46} {'µs/copy':>9} {'x W7a':>7} {'C ns/copy':>10} "
              f"{'C x W7a':>8}")
    lines = [header]
    for flags_name, flags in (("alloc", MT_FLAGS_ALLOC_RANGE), ("plain", 0)):
        ranges = [(10 * i, 10 * i + 5, i) for i in range(entries + 1)]
        src = _by_stores(ranges, flags)
        loops = {}
        for name, way in W7_WAYS.items():
            copy = way(src, ranges)
            if list(copy) != list(src):
                raise AssertionError(f"{name}: the copy differs from the source")
            copy.validate(exempt_rightmost=True)
            t0 = time.perf_counter()
            way(src, ranges).destroy()
            loops[name] = max(1, int(budget / max(time.perf_counter() - t0, 1e-7)))
        best = {name: float("inf") for name in W7_WAYS}
        for _ in range(rounds):
            for name, way in W7_WAYS.items():
                gc.collect()
                t0 = time.perf_counter()
                for _ in range(loops[name]):
                    way(src, ranges).destroy()
                best[name] = min(best[name], (time.perf_counter() - t0) / loops[name])
        c_ns = C_W7_NS.get(entries, {})
        for name in W7_WAYS:
            c = c_ns.get((name, flags_name))
            c_cells = (f"{c:>10,.0f} {c / c_ns['W7a', flags_name]:8.1f}" if c
                       else f"{'-':>10} {'-':>8}")
            lines.append(f"{name:4} {flags_name:5} {W7_NAMES[name]:46} {best[name] * 1e6:9.2f} "
                         f"{best[name] / best['W7a']:7.1f} {c_cells}")
    return lines


# -- output -------------------------------------------------------------------------------


HEADER = (f"{'shape':5} {'flags':5} {'n':>9} {'drop':>5} {'way':11} {'µs/range':>9} "
          f"{'nodes made':>10} {'nodes':>8} {'h':>2} {'leaf fill':>9} "
          f"{'grow µs':>8} {'grow nodes':>10}")


def fmt(row: Row) -> str:
    return (f"{row.shape:5} {row.flags:5} {row.n:9,} {row.drop:5.0%} {row.way:11} "
            f"{row.us_per_range:9.3f} {row.nodes_made:10,} {row.nodes:8,} {row.height:2} "
            f"{row.leaf_fill:9.2f} {row.grow_us_per_insert:8.2f} "
            f"{row.grow_nodes_per_insert:10.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append",
                        help="source ranges (repeatable; default 134, 1000, 10000, 100000, "
                             "1000000)")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--flags", choices=("alloc", "plain"), action="append")
    parser.add_argument("--drop", type=float, action="append",
                        help="share of ranges dropped (repeatable; default 0, 0.01, 0.1, 0.5)")
    parser.add_argument("--way", choices=sorted(WAYS), action="append")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per row up to n = 100,000, fastest kept (default 3)")
    parser.add_argument("--csv", help="also write every row to this CSV file")
    parser.add_argument("--plot", metavar="DIR", help="draw the figures into DIR (matplotlib)")
    parser.add_argument("--w7", type=int, metavar="E", nargs="?", const=134,
                        help="instead of the grid, the kernel's W7 copies of E+1 ranges "
                             "(default E = 134; the C figures exist for 134, 10000, 100000)")
    args = parser.parse_args(argv)
    if args.w7 is not None:
        print("\n".join(w7_table(args.w7)))
        return 0
    rows = []
    print(HEADER)
    for row in grid(args.n or [134, 1_000, 10_000, 100_000, 1_000_000],
                    args.shape or ["vma", "dense"], args.flags or ["alloc", "plain"],
                    args.drop or [0.0, 0.01, 0.1, 0.5], args.way or list(WAYS), args.repeat):
        print(fmt(row), flush=True)
        rows.append(row)
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(asdict(rows[0])))
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
    if args.plot:
        from building_plots import draw
        draw(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
