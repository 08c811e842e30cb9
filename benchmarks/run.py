"""Run the W1-W6 / W8 workloads and the SortedDict comparisons; print tables.

    python benchmarks/run.py --n 10000 --n 1000000

See benchmarks/README.md for what is measured.  Every workload checks its own
result (benchmarks/workloads.py) and aborts on a wrong answer.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# run from a checkout without installing: prefer ../src when it holds the package
_SRC = os.path.join(os.path.dirname(HERE), "src")
if os.path.isdir(os.path.join(_SRC, "maple_tree")):
    sys.path.insert(0, _SRC)

import workloads as wl  # noqa: E402

# C kernel (Linux 6.12.117, -O2 userspace) ns/op from ../shared/docs/benchmarks.md:
# workload -> (alloc 10k, alloc 1M, plain 10k, plain 1M)
C_NS = {
    "W1": (162, 207, 131, 163),
    "W2": (309, 858, 292, 780),
    "W3": (52.6, 252, 46.9, 226),
    "W4": (462, 1002, 388, 886),
    "W5": (449, 982, 385, 892),
    "W6a": (78.9, 339, None, None),
    "W6b": (64.3, 353, None, None),
    "W6c": (291, 408, None, None),
    "W6d": (210, 236, None, None),
    "W8a": (6.5, 7.2, 6.3, 6.7),
    "W8a-list": (6.5, 7.2, 6.3, 6.7),
    "W8b": (32.2, 36.9, 34.1, 41.1),
}

# SortedDict, gap query s=256 (no internal fit), N=100,000, from benchmarks.md section 2
SD_NOFIT_US = 3_491

DESCRIPTIONS = {
    "W1": "sequential append (store_range)",
    "W2": "random-order insert (store_range)",
    "W3": "random point load (load)",
    "W4": "random range overwrite (store_range, len 2..51)",
    "W5": "erase every entry, random order (erase)",
    "W6a": "gap search, MaState.empty_area_rev",
    "W6b": "gap search, MaState.empty_area",
    "W6c": "alloc_rrange fill, top-down",
    "W6d": "alloc_range fill, bottom-up",
    "W8a": "iterate all, MaState.for_each (per entry)",
    "W8a-list": "iterate all, list(tree) (per entry)",
    "W8b": "iterate all, find/find_after (per entry)",
}
ALL = list(DESCRIPTIONS)
#: workloads defined for ALLOC_RANGE trees only (no row for the plain flag set)
ALLOC_ONLY = {"W6a", "W6b", "W6c", "W6d"}


def c_figure(name: str, flags_name: str, n: int) -> float | None:
    col = {("alloc", 10_000): 0, ("alloc", 1_000_000): 1,
           ("plain", 10_000): 2, ("plain", 1_000_000): 3}.get((flags_name, n))
    return None if col is None else C_NS[name][col]


def run_once(flags_name: str, n: int, names: list[str], check_shapes: bool,
             report) -> None:
    """One pass of the chosen workloads; calls ``report(name, seconds per op)`` after each."""
    wanted = set(names)
    if flags_name != "alloc":
        wanted -= ALLOC_ONLY
    w1_tree = None
    if {"W1", "W3", "W8a", "W8a-list", "W8b"} & wanted:
        w1_tree, dt = wl.w1(flags_name, n, check_shapes)
        if "W1" in wanted:
            report("W1", dt / n)
    if "W3" in wanted:
        report("W3", wl.w3(w1_tree, n) / n)
    if "W8a" in wanted:
        report("W8a", wl.w8a(w1_tree, n) / n)
    if "W8a-list" in wanted:
        report("W8a-list", wl.w8a_list(w1_tree, n) / n)
    if "W8b" in wanted:
        report("W8b", wl.w8b(w1_tree, n) / n)
    del w1_tree
    if "W2" in wanted:
        _tree, dt = wl.w2(flags_name, n, check_shapes)
        del _tree
        report("W2", dt / n)
    if "W4" in wanted:
        _tree, dt = wl.w4(flags_name, n)
        del _tree
        report("W4", dt / n)
    if "W5" in wanted:
        report("W5", wl.w5(flags_name, n) / n)
    if {"W6a", "W6b"} & wanted:
        w6_tree, ranges, top = wl.build_w6(n)
        if "W6a" in wanted:
            report("W6a", wl.w6a(w6_tree, ranges, top, n) / n)
        if "W6b" in wanted:
            report("W6b", wl.w6b(w6_tree, ranges, top, n) / n)
        del w6_tree, ranges
    if "W6c" in wanted:
        _tree, dt = wl.w6c(n)
        del _tree
        report("W6c", dt / n)
    if "W6d" in wanted:
        _tree, dt = wl.w6d(n)
        del _tree
        report("W6d", dt / n)


def print_row(name: str, flags_name: str, n: int, per_op: float) -> None:
    c_ns = c_figure(name, flags_name, n)
    c_col = f"{c_ns:g}" if c_ns is not None else "-"
    ratio = f"{per_op * 1e9 / c_ns:.0f}x" if c_ns else "-"
    print(f"{name + ' ' + DESCRIPTIONS[name]:<52} {flags_name:<6} {n:>9,} "
          f"{per_op * 1e6:>11.3f} {c_col:>8} {ratio:>7}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append",
                   help="entry count N (repeatable; default 10000)")
    p.add_argument("--flags", choices=("alloc", "plain", "both"), default="both",
                   help="flag set: alloc = MT_FLAGS_ALLOC_RANGE, plain = 0 (default both)")
    p.add_argument("--workloads", default=",".join(ALL),
                   help=f"comma-separated subset of {','.join(ALL)}")
    p.add_argument("--repeat", type=int, default=1,
                   help="passes per (flags, N); the median per-op time is reported")
    p.add_argument("--no-gc", action="store_true",
                   help="disable Python's cyclic GC for the whole run (default: GC on)")
    p.add_argument("--no-shape-checks", action="store_true",
                   help="do not require the kernel's W1/W2 node counts and heights")
    p.add_argument("--compare-n", type=int, default=100_000,
                   help="N of the SortedDict point-load comparison (0 to skip)")
    p.add_argument("--gapq-n", type=int, default=100_000,
                   help="N of the SortedDict no-fit gap query comparison (0 to skip)")
    p.add_argument("--gapq-queries", type=int, default=300,
                   help="queries of the no-fit gap query comparison (default 300)")
    args = p.parse_args(argv)
    ns = args.n or [10_000]
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in names if w not in DESCRIPTIONS]
    if bad:
        p.error(f"unknown workload(s): {', '.join(bad)}")
    flag_sets = ["alloc", "plain"] if args.flags == "both" else [args.flags]
    if args.no_gc:
        gc.disable()

    print(f"maple-tree benchmarks: Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, "
          f"GC {'off' if args.no_gc else 'on'}, repeat {args.repeat}")
    if args.no_shape_checks:
        print("(kernel node-count/height checks skipped)")
    header = (f"{'workload':<52} {'flags':<6} {'N':>9} {'us/op ours':>11} "
              f"{'C ns/op':>8} {'ratio':>7}")
    print()
    print(header)
    print("-" * len(header))
    started = time.perf_counter()
    for n in ns:
        for flags_name in flag_sets:
            times: dict[str, list[float]] = {name: [] for name in names}
            for rep in range(args.repeat):
                last_pass = rep == args.repeat - 1

                def report(name: str, per_op: float) -> None:
                    times[name].append(per_op)
                    if last_pass:
                        print_row(name, flags_name, n, statistics.median(times[name]))

                run_once(flags_name, n, names, not args.no_shape_checks, report)
    print("ratio = ours / C kernel (C figures from shared/docs/benchmarks.md, another "
          "machine and run: a scale, not a same-run comparison)")

    if args.compare_n:
        print()
        try:
            import sortedcontainers  # noqa: F401
        except ImportError:
            print("point-load comparison skipped: sortedcontainers is not installed "
                  "(pip install '.[bench]')")
        else:
            n = args.compare_n
            t_sd, t_alloc, t_plain = wl.sorteddict_point_loads(n)
            print(f"point loads, W3 queries on the W1 ranges, N={n:,}, same process:")
            print(f"  sortedcontainers.SortedDict range map (bisect_right + peekitem): "
                  f"{t_sd / n * 1e6:.3f} us/op")
            for label, t in (("alloc", t_alloc), ("plain", t_plain)):
                print(f"  MapleTree.load, {label:<5}: {t / n * 1e6:.3f} us/op  "
                      f"= {t / t_sd:.2f}x SortedDict")
    if args.gapq_n:
        print()
        try:
            import sortedcontainers  # noqa: F401
        except ImportError:
            print("no-fit gap query comparison skipped: sortedcontainers is not installed "
                  "(pip install '.[bench]')")
        else:
            n = args.gapq_n
            t_ours, t_sd, q = wl.nofit_gap_query(n, args.gapq_queries)
            print(f"no-fit gap query (lowest free x >= lo with [x, x+256) free; no gap "
                  f"between ranges fits), N={n:,}, {q} queries, same process, same answers:")
            print(f"  sortedcontainers.SortedDict range map (bisect_right + peekitem, "
                  f"then irange): {t_sd / q * 1e6:,.1f} us/query")
            print(f"  MaState.empty_area(lo, ULONG_MAX, 256), ALLOC_RANGE tree: "
                  f"{t_ours / q * 1e6:,.1f} us/query")
            print(f"  speed ratio SortedDict / MapleTree: {t_sd / t_ours:,.0f}x")
            if n == 100_000:
                print(f"  (shared/docs/benchmarks.md lists SortedDict at {SD_NOFIT_US:,} us/query "
                      f"for s=256, N=100,000, on its machine: {SD_NOFIT_US / (t_ours / q * 1e6):,.0f}x "
                      f"our figure)")
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
