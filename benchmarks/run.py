"""Run the kernel's workloads (W1-W6, W8) and the SortedDict comparison; print tables.

    python benchmarks/run.py --n 10000 --n 1000000
    python benchmarks/run.py --baseline BASE/src --repeat 5 --peer-n 0

(``BASE``: a git worktree of an earlier commit, e.g. ``git worktree add BASE HEAD~1``.)

See benchmarks/README.md for what is measured.  Every workload checks its own
result (benchmarks/workloads.py, benchmarks/peers.py) and aborts on a wrong answer.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from types import ModuleType
from typing import Callable, Sequence, TypeVar

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)
from which_build import Checkout  # noqa: E402

which_build.use_package()


# The C kernel's ns/op for the same workloads (Linux 6.12.117 lib/maple_tree.c,
# -O2, userspace); the figures and how they were measured are documented in
# benchmarks/README.md.  workload -> (alloc 10k, alloc 1M, plain 10k, plain 1M)
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

T = TypeVar("T")
#: ``report(name, seconds per operation)``: how a pass hands over each figure
Report = Callable[[str, float], None]
#: one pass over some workloads, reporting each figure as it is measured
Pass = Callable[[Report], None]


def c_figure(name: str, flags_name: str, n: int) -> float | None:
    """The C kernel's ns/op for a workload, flag set and N; None where not measured."""
    col = {("alloc", 10_000): 0, ("alloc", 1_000_000): 1,
           ("plain", 10_000): 2, ("plain", 1_000_000): 3}.get((flags_name, n))
    return None if col is None else C_NS[name][col]


# -- passes ---------------------------------------------------------------------

def run_once(w: ModuleType, flags_name: str, n: int, names: list[str], check_shapes: bool,
             report: Report) -> None:
    """One pass of the chosen workloads with the workloads module ``w``; calls
    ``report(name, seconds per op)`` after each.  Each workload starts after a
    ``gc.collect()``, so none pays for collecting an earlier one's objects."""
    wanted = set(names)
    if flags_name != "alloc":
        wanted -= ALLOC_ONLY

    def run(fn: Callable[..., T], *args: object) -> T:
        gc.collect()
        return fn(*args)

    if {"W1", "W3", "W8a", "W8a-list", "W8b"} & wanted:
        w1_tree, dt = run(w.w1, flags_name, n, check_shapes)
        if "W1" in wanted:
            report("W1", dt / n)
        for name, fn in (("W3", w.w3), ("W8a", w.w8a), ("W8a-list", w.w8a_list),
                         ("W8b", w.w8b)):
            if name in wanted:
                report(name, run(fn, w1_tree, n) / n)
        del w1_tree
    if "W2" in wanted:
        report("W2", run(w.w2, flags_name, n, check_shapes)[1] / n)
    if "W4" in wanted:
        report("W4", run(w.w4, flags_name, n)[1] / n)
    if "W5" in wanted:
        report("W5", run(w.w5, flags_name, n) / n)
    if {"W6a", "W6b"} & wanted:
        w6_tree, ranges, top = w.build_w6(n)
        for name, fn in (("W6a", w.w6a), ("W6b", w.w6b)):
            if name in wanted:
                report(name, run(fn, w6_tree, ranges, top, n) / n)
        del w6_tree, ranges
    for name, fn in (("W6c", w.w6c), ("W6d", w.w6d)):
        if name in wanted:
            report(name, run(fn, n)[1] / n)


def interleave(passes: Sequence[Pass], repeat: int,
               on_final: Callable[[str, list[float]], None]) -> None:
    """Run the passes in turn, ``repeat`` rounds (A, B, A, B, ...).

    Every pass must report the same names.  In the last round, as the last pass
    reports a name, ``on_final(name, [fastest seconds/op of each pass])`` is called.
    """
    samples: list[dict[str, list[float]]] = [{} for _ in passes]
    for rnd in range(repeat):
        for k, run_pass in enumerate(passes):
            final = rnd == repeat - 1 and k == len(passes) - 1

            def report(name: str, per_op: float, k: int = k, final: bool = final) -> None:
                samples[k].setdefault(name, []).append(per_op)
                if final:
                    on_final(name, [min(s[name]) for s in samples])
            run_pass(report)


# -- tables ---------------------------------------------------------------------

def _label(name: str) -> str:
    return f"{name} {DESCRIPTIONS[name]}"


def workload_tables(checkouts: list[Checkout], ns: list[int], flag_sets: list[str],
                    names: list[str], repeat: int, check_shapes: bool) -> None:
    """The W table: against the C figures for one checkout, or new against baseline."""
    ab = len(checkouts) == 2
    if ab:
        header = (f"{'workload':<52} {'flags':<6} {'N':>9} {'us/op new':>10} "
                  f"{'us/op base':>10} {'new/base':>8}")
    else:
        header = (f"{'workload':<52} {'flags':<6} {'N':>9} {'us/op ours':>11} "
                  f"{'C ns/op':>8} {'ratio':>7}")
    print(f"\n{header}\n{'-' * len(header)}")
    for n in ns:
        for flags_name in flag_sets:
            def make_pass(c: Checkout) -> Pass:
                def run_pass(report: Report) -> None:
                    with c.active():
                        run_once(c.wl, flags_name, n, names, check_shapes, report)
                return run_pass

            def on_final(name: str, per_op: list[float]) -> None:
                lead = f"{_label(name):<52} {flags_name:<6} {n:>9,}"
                if ab:
                    print(f"{lead} {per_op[0] * 1e6:>10.3f} {per_op[1] * 1e6:>10.3f} "
                          f"{per_op[0] / per_op[1]:>8.3f}", flush=True)
                    return
                c_ns = c_figure(name, flags_name, n)
                c_col = f"{c_ns:g}" if c_ns is not None else "-"
                ratio = f"{per_op[0] * 1e9 / c_ns:.0f}x" if c_ns else "-"
                print(f"{lead} {per_op[0] * 1e6:>11.3f} {c_col:>8} {ratio:>7}", flush=True)
            interleave([make_pass(c) for c in checkouts], repeat, on_final)
    if ab:
        print("new/base < 1: the new package is faster")
    else:
        print("ratio = ours / C kernel (the C figures of benchmarks/README.md, measured on "
              "another machine and run: a scale, not a same-run comparison)")


def peer_table(n: int, gap_queries: int, repeat: int) -> None:
    """The everyday range-map operations, SortedDict range map against MapleTree
    (``benchmarks/peers.py`` runs the full peer table, more maps and memory)."""
    try:
        import peers
    except ImportError as e:
        print(f"\nSortedDict comparison skipped: {e} (pip install '.[bench]')")
        return
    peers.peer_table([peers.SORTEDDICT, peers.MAPLETREE], n, gap_queries, repeat,
                     memory=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, action="append",
                   help="entry count N of the W workloads (repeatable; default 10000)")
    p.add_argument("--flags", choices=("alloc", "plain", "both"), default="both",
                   help="flag set: alloc = MT_FLAGS_ALLOC_RANGE, plain = 0 (default both)")
    p.add_argument("--workloads", default=",".join(ALL),
                   help=f"comma-separated subset of {','.join(ALL)}; empty: none")
    p.add_argument("--repeat", type=int, default=1,
                   help="passes of each table; the fastest per-op time is reported")
    p.add_argument("--baseline", metavar="SRC_DIR",
                   help="a directory holding another maple_tree package (e.g. src/ of an "
                        "earlier commit's worktree): run the W workloads on both, "
                        "interleaved, and report new/baseline")
    p.add_argument("--no-gc", action="store_true",
                   help="disable Python's cyclic GC for the whole run (default: GC on)")
    p.add_argument("--no-shape-checks", action="store_true",
                   help="do not require the kernel's W1/W2 node counts and heights")
    p.add_argument("--peer-n", type=int, default=200_000,
                   help="N of the SortedDict range-map comparison (default 200000; 0 skips it)")
    p.add_argument("--gapq-queries", type=int, default=300,
                   help="no-fit gap queries of that comparison (default 300)")
    args = p.parse_args(argv)
    ns = args.n or [10_000]
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in names if w not in DESCRIPTIONS]
    if bad:
        p.error(f"unknown workload(s): {', '.join(bad)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    flag_sets = ["alloc", "plain"] if args.flags == "both" else [args.flags]
    if args.no_gc:
        gc.disable()

    checkouts = [Checkout.current("new")]
    if args.baseline:
        checkouts.append(Checkout.load("baseline", args.baseline))
    print(f"maple-tree benchmarks: Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, "
          f"GC {'off' if args.no_gc else 'on'}, fastest of {args.repeat} pass(es)")
    for c in checkouts:
        print(f"  {c.label}: {c.location}")
    if args.no_shape_checks:
        print("(kernel node-count/height checks skipped)")
    started = time.perf_counter()
    if names:
        workload_tables(checkouts, ns, flag_sets, names, args.repeat, not args.no_shape_checks)
    if args.peer_n:
        peer_table(args.peer_n, args.gapq_queries, args.repeat)
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
