"""Everyday range-map operations: maple-tree against the range maps a Python
user would otherwise reach for, in one process.

Run it (``python benchmarks/peers.py``; see benchmarks/README.md) for the peer
table: every operation of :data:`OPERATIONS` and the memory per range, on

* ``MapleTree`` of the build imported (and, when that is the compiled build,
  the pure build of this checkout beside it);
* :class:`SortedDictRangeMap`, the reference every ratio is taken against:
  ``start -> (last, value)`` in a ``sortedcontainers.SortedDict``, with the
  ``bisect`` + neighbour-trimming code a user would write;
* :class:`IntervalTreeRangeMap` on ``intervaltree.IntervalTree`` (``chop`` then
  ``add`` for an overwrite; it has no gap search);
* :class:`PortionRangeMap` on ``portion.IntervalDict`` (its operations are
  linear in the map's size, so it runs at N <= 2,000 only).

All share the contract of ``MapleTree.store_range`` / ``load`` / ``erase`` /
iteration for ranges holding non-None values.  :func:`everyday_pass` times the
operations on one side and returns what each produced; :class:`Agreement`
checks, outside the timed regions, that every pass of every side produced the
same.  A wrong answer raises :class:`workloads.WorkloadCheckError`, as in the W
workloads.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, TypeVar

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)

which_build.use_package()

from sortedcontainers import SortedDict  # noqa: E402

from maple_tree import ULONG_MAX, MaState, MapleTree  # noqa: E402
from workloads import (SEED_W3, W4_FINAL, SplitMix64, check, shuffle,  # noqa: E402
                       w4_inputs)

T = TypeVar("T")

#: seed of the section-2 range-map data of the no-fit gap query
#: (the benchmark definitions give the distributions, not a seed)
SEED_GAPQ = 0x5790
#: seed of the order in which the everyday pass erases the ranges
SEED_ERASE = 0x57E5
#: the no-fit gap query's size: no gap between the section-2 ranges is this long
NOFIT_SIZE = 256

#: the rows of the comparison table, in the order a pass measures them:
#: name -> what one operation is
OPERATIONS: dict[str, str] = {
    "build": "build: append [10i, 10i+5] -> i in order",
    "load": "point load at a random key (W3's keys)",
    "list": "list(map) of the N ranges, per range",
    "copy": "copy the map (independent of the original), per range",
    "overwrite": "overwrite [a, a+L] -> a, L = 1..50 (W4's)",
    "erase": "erase every range, random order, by a key inside",
    "gap": "no-fit gap query: lowest free [x, x+256), x >= lo",
}


class SortedDictRangeMap:
    """The range map a Python user would write: ``start -> (last, value)`` in a
    ``sortedcontainers.SortedDict``.

    Contract (the same as ``MapleTree`` for non-None values): the map holds
    disjoint inclusive ranges ``[start, last]``; ``store_range`` replaces whatever
    lies in ``[first, last]``, truncating or splitting the ranges it overlaps, and
    storing ``None`` only clears; ``load`` / ``erase`` find the range holding a key;
    iteration yields ``(start, last, value)`` in key order.  Adjacent ranges are
    never merged.  There are no argument checks: ``0 <= first <= last`` is assumed.
    """

    __slots__ = ("_d",)

    def __init__(self) -> None:
        self._d = SortedDict()

    def store_range(self, first: int, last: int, value: Any) -> None:
        """Map every key of ``[first, last]`` to ``value`` (``None``: to nothing)."""
        d = self._d
        i = d.bisect_left(first)
        if i:                                   # the range starting before first
            start, (end, v) = d.peekitem(i - 1)
            if end >= first:
                d[start] = (first - 1, v)       # keeps its head
                if end > last:
                    d[last + 1] = (end, v)      # and its tail: [first, last] lay inside it
        inside = list(d.irange(first, last))    # the ranges starting in [first, last]
        if inside:
            end, v = d[inside[-1]]
            if end > last:
                d[last + 1] = (end, v)          # the last one's tail survives
            for start in inside:
                del d[start]
        if value is not None:
            d[first] = (last, value)

    def copy(self) -> SortedDictRangeMap:
        """An independent map with the same ranges (values shared)."""
        new = SortedDictRangeMap()
        new._d = self._d.copy()
        return new

    def load(self, index: int) -> Any:
        """The value of the range holding ``index``, or ``None``."""
        d = self._d
        i = d.bisect_right(index)
        if i:
            _start, (end, value) = d.peekitem(i - 1)
            if index <= end:
                return value
        return None

    def erase(self, index: int) -> Any:
        """Remove the whole range holding ``index``; return its value (``None`` if none)."""
        d = self._d
        i = d.bisect_right(index)
        if i:
            start, (end, value) = d.peekitem(i - 1)
            if index <= end:
                del d[start]
                return value
        return None

    def lowest_gap(self, lo: int, size: int) -> int:
        """The lowest ``x >= lo`` with ``[x, x+size-1]`` free: the floor range via
        ``bisect_right`` + ``peekitem``, then a walk over ``irange(minimum=x)``."""
        d = self._d
        x = lo
        i = d.bisect_right(lo)
        if i:
            _start, (end, _v) = d.peekitem(i - 1)
            if end >= x:
                x = end + 1
        for start in d.irange(minimum=x):
            if start - x >= size:
                return x
            x = d[start][0] + 1
        return x

    def __iter__(self) -> Iterator[tuple[int, int, Any]]:
        d = self._d
        for start in d:
            last, value = d[start]
            yield start, last, value

    def __len__(self) -> int:
        return len(self._d)


class RangeMap(Protocol):
    """What the everyday pass needs of a side's map."""

    def store_range(self, first: int, last: int, value: Any) -> None: ...
    def load(self, index: int) -> Any: ...
    def erase(self, index: int) -> Any: ...
    def __iter__(self) -> Iterator[tuple[int, int, Any]]: ...


class IntervalTreeRangeMap:
    """The range map on ``intervaltree.IntervalTree``, whose intervals are
    half-open ``[begin, end)`` and may overlap: an overwrite chops
    ``[first, last + 1)`` out, then adds the new interval."""

    __slots__ = ("_t",)

    def __init__(self) -> None:
        from intervaltree import IntervalTree
        self._t = IntervalTree()

    def store_range(self, first: int, last: int, value: Any) -> None:
        """Map every key of ``[first, last]`` to ``value`` (``None``: to nothing)."""
        t = self._t
        t.chop(first, last + 1)
        if value is not None:
            t.addi(first, last + 1, value)

    def load(self, index: int) -> Any:
        """The value of the interval holding ``index``, or ``None``."""
        hits = self._t.at(index)
        return next(iter(hits)).data if hits else None

    def erase(self, index: int) -> Any:
        """Remove the whole interval holding ``index``; return its value."""
        hits = self._t.at(index)
        if not hits:
            return None
        iv = next(iter(hits))
        self._t.remove(iv)
        return iv.data

    def copy(self) -> IntervalTreeRangeMap:
        """An independent map with the same ranges."""
        new = IntervalTreeRangeMap.__new__(IntervalTreeRangeMap)
        new._t = self._t.copy()
        return new

    def __iter__(self) -> Iterator[tuple[int, int, Any]]:
        for iv in sorted(self._t):
            yield iv.begin, iv.end - 1, iv.data


class PortionRangeMap:
    """The range map on ``portion.IntervalDict`` (closed integer intervals).

    ``IntervalDict`` merges adjacent intervals holding equal values, which a
    range map must not do (``[3, 30] -> 3`` next to ``[31, 35] -> 3`` are two
    ranges), so each store's value is kept as ``(store number, value)``; an
    erase finds the atomic interval holding the key among those of its value.
    """

    __slots__ = ("_d", "_p", "_stores")

    def __init__(self) -> None:
        import portion
        self._p = portion
        self._d = portion.IntervalDict()
        self._stores = 0

    def store_range(self, first: int, last: int, value: Any) -> None:
        """Map every key of ``[first, last]`` to ``value`` (``None``: to nothing)."""
        iv = self._p.closed(first, last)
        if value is None:
            self._d.pop(iv, None)
        else:
            self._stores += 1
            self._d[iv] = (self._stores, value)

    def load(self, index: int) -> Any:
        """The value at ``index``, or ``None``."""
        tagged = self._d.get(index)
        return None if tagged is None else tagged[1]

    def erase(self, index: int) -> Any:
        """Remove the whole range holding ``index``; return its value."""
        tagged = self._d.get(index)
        if tagged is None:
            return None
        for atomic in self._d.find(tagged):
            if index in atomic:
                del self._d[atomic]
        return tagged[1]

    def copy(self) -> PortionRangeMap:
        """An independent map with the same ranges."""
        new = PortionRangeMap.__new__(PortionRangeMap)
        new._p, new._d, new._stores = self._p, self._d.copy(), self._stores
        return new

    def lowest_gap(self, lo: int, size: int) -> int:
        """The lowest ``x >= lo`` with ``[x, x+size-1]`` free, from the
        complement of the map's domain."""
        p = self._p
        for atomic in p.closed(lo, p.inf) - self._d.domain():
            x = atomic.lower if atomic.left == p.CLOSED else atomic.lower + 1
            if atomic.upper == p.inf:
                return x
            y = atomic.upper if atomic.right == p.CLOSED else atomic.upper - 1
            if y - x + 1 >= size:
                return x
        raise AssertionError("the domain's complement ends at infinity")

    def __iter__(self) -> Iterator[tuple[int, int, Any]]:
        p = self._p
        out = []
        for iv, (_store, value) in self._d.items():
            for atomic in iv:
                lo = atomic.lower if atomic.left == p.CLOSED else atomic.lower + 1
                hi = atomic.upper if atomic.right == p.CLOSED else atomic.upper - 1
                if lo <= hi:  # (5, 6) is not empty in portion's reals, but holds no key
                    out.append((lo, hi, value))
        out.sort(key=lambda r: r[0])
        return iter(out)


GapQuery = Callable[[int], int]


@dataclass(frozen=True)
class Side:
    """One side of the comparison: how to make its maps and its gap query.

    ``new_map()`` gives the empty map of the everyday operations,
    ``new_gap_map()`` the empty map of the gap query, and ``gap_query(map, size)``
    a callable ``lo -> lowest x >= lo with [x, x+size-1] free`` on such a map
    (None: the map has no gap search).  ``copy(map)`` is an independent copy.
    ``active()`` is entered around each pass (a second package's modules);
    ``max_n`` is the largest N the side is run at (None: any).
    """

    name: str
    new_map: Callable[[], Any]
    new_gap_map: Callable[[], Any]
    gap_query: Callable[[Any, int], GapQuery] | None
    copy: Callable[[Any], Any]
    active: Callable[[], AbstractContextManager[Any]] = field(default=nullcontext)
    max_n: int | None = None


def _tree_gap_query(tree: MapleTree, size: int, cursor: Any = MaState) -> GapQuery:
    """``mas.reset(); mas.empty_area(lo, ULONG_MAX, size)``, answering
    ``mas.index``; ``cursor`` is the ``MaState`` class of the tree's package."""
    mas = cursor(tree)
    reset = mas.reset
    search = mas.empty_area

    def query(lo: int) -> int:
        reset()
        search(lo, ULONG_MAX, size)
        return mas.index
    return query


def _lowest_gap_query(m: Any, size: int) -> GapQuery:
    lowest_gap = m.lowest_gap
    return lambda lo: lowest_gap(lo, size)


def mapletree_side(name: str, package: Any,
                   active: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Side:
    """The ``MapleTree`` side of ``package`` (a ``maple_tree`` module): flags 0
    for the everyday operations, ``MT_FLAGS_ALLOC_RANGE`` for the gap query."""
    tree = package.MapleTree
    return Side(name, tree, lambda: tree(package.MT_FLAGS_ALLOC_RANGE),
                lambda t, size: _tree_gap_query(t, size, package.MaState),
                lambda t: t.dup(), active)


SORTEDDICT = Side("SortedDict", SortedDictRangeMap, SortedDictRangeMap, _lowest_gap_query,
                  lambda m: m.copy())
MAPLETREE = mapletree_side("MapleTree", sys.modules["maple_tree"])
INTERVALTREE = Side("intervaltree", IntervalTreeRangeMap, IntervalTreeRangeMap, None,
                    lambda m: m.copy())
#: portion's operations are linear in the map's size (a load at N = 2,000
#: takes about 0.8 ms): it runs at N <= 2,000 only
PORTION = Side("portion", PortionRangeMap, PortionRangeMap, _lowest_gap_query,
               lambda m: m.copy(), max_n=2_000)


# -- inputs -------------------------------------------------------------------

def gapq_ranges(n: int) -> list[tuple[int, int]]:
    """The section-2 data of the benchmark definitions: n half-open ranges
    ``[start, end)``, 1-32 long, left to right; the gap before each is 0 (70 %),
    1-15 (25 %) or 16-64 (5 %).  No gap is 256 long."""
    rng = SplitMix64(SEED_GAPQ)
    pos = 0
    out = []
    for _ in range(n):
        r = rng.below(100)
        if r < 70:
            gap = 0
        elif r < 95:
            gap = 1 + rng.below(15)
        else:
            gap = 16 + rng.below(49)
        start = pos + gap
        end = start + 1 + rng.below(32)
        out.append((start, end))
        pos = end
    return out


@dataclass(frozen=True)
class Inputs:
    """Everything an everyday pass needs, drawn before any clock starts."""

    n: int
    load_keys: list[int]
    overwrites: list[tuple[int, int]]
    gap_ranges: list[tuple[int, int]]
    gap_los: list[int]

    @classmethod
    def draw(cls, n: int, gap_queries: int) -> "Inputs":
        """n ranges / loads / overwrites (W3's and W4's streams) and ``gap_queries``
        no-fit queries with lo uniform over the section-2 data's occupied keys."""
        rng = SplitMix64(SEED_W3)
        load_keys = [rng.below(10 * n) for _ in range(n)]
        gap_ranges = gapq_ranges(n)
        extent = gap_ranges[-1][1]
        rng = SplitMix64(SEED_GAPQ ^ 0xFFFF)
        gap_los = [rng.below(extent) for _ in range(gap_queries)]
        return cls(n, load_keys, w4_inputs(n), gap_ranges, gap_los)


# -- one pass -----------------------------------------------------------------

Report = Callable[[str, float], None]


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), seconds it took)``, after a ``gc.collect()``: every operation starts
    from the same collector state and pays for the collections it triggers itself."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _erase_keys(items: list[tuple[int, int, Any]]) -> tuple[list[int], list[Any]]:
    """A key inside each range (its middle), in the order ``shuffle(SEED_ERASE)``,
    and the values their erases must return."""
    order = shuffle(len(items), SEED_ERASE)
    return ([(items[j][0] + items[j][1]) // 2 for j in order], [items[j][2] for j in order])


def everyday_pass(side: Side, inp: Inputs, report: Report) -> dict[str, Any]:
    """Time every operation of :data:`OPERATIONS` once on ``side``, calling
    ``report(name, seconds per operation)`` after each.

    Every timed loop only calls the map through a bound method held in a local.
    Checks, outside the timed regions, what needs no other side (loads, listed
    ranges, erased values, gap answers; see benchmarks/README.md) and returns
    the loads, the contents after the overwrites and the gap answers, for
    :class:`Agreement`.
    """
    n = inp.n
    m = side.new_map()
    store_range = m.store_range

    def build() -> None:
        for i in range(n):
            store_range(10 * i, 10 * i + 5, i)

    def overwrite() -> None:
        for a, length in inp.overwrites:
            store_range(a, a + length, a)

    _, dt = _timed(build)
    report("build", dt / n)
    load = m.load
    loads, dt = _timed(lambda: [load(q) for q in inp.load_keys])
    report("load", dt / n)
    check(loads == [q // 10 if q % 10 <= 5 else None for q in inp.load_keys],
          f"{side.name}: a point load gave a wrong value")
    listed, dt = _timed(lambda: list(m))
    report("list", dt / n)
    check(listed == [(10 * i, 10 * i + 5, i) for i in range(n)],
          f"{side.name}: the built map does not hold the N ranges")
    copy = side.copy
    copied, dt = _timed(lambda: copy(m))
    report("copy", dt / n)
    _, dt = _timed(overwrite)
    report("overwrite", dt / n)
    check(list(copied) == listed, f"{side.name}: the copy changed with the original")
    del copied
    overwritten = list(m)
    if n in W4_FINAL:
        check(len(overwritten) == W4_FINAL[n],
              f"{side.name}: {len(overwritten)} ranges after the overwrites, expected {W4_FINAL[n]}")
    keys, want = _erase_keys(overwritten)
    erase = m.erase
    erased, dt = _timed(lambda: [erase(k) for k in keys])
    report("erase", dt / len(keys))
    check(erased == want and not list(m), f"{side.name}: an erase went wrong")
    answers = _gap_queries(side, inp, report)
    return {"loads": loads, "overwritten": overwritten, "gap": answers}


def _gap_queries(side: Side, inp: Inputs, report: Report) -> list[int] | None:
    """Time the no-fit gap queries on a map of the section-2 data (built untimed);
    a side without a gap search reports NaN and answers None."""
    if side.gap_query is None:
        report("gap", float("nan"))
        return None
    m = side.new_gap_map()
    for i, (start, end) in enumerate(inp.gap_ranges):
        m.store_range(start, end - 1, i)
    query = side.gap_query(m, NOFIT_SIZE)
    answers, dt = _timed(lambda: [query(lo) for lo in inp.gap_los])
    report("gap", dt / len(inp.gap_los))
    extent = inp.gap_ranges[-1][1]
    check(answers == [max(lo, extent) for lo in inp.gap_los],
          f"{side.name}: a no-fit gap query did not answer the free tail")
    return answers


class Agreement:
    """Checks that every pass, of either side, produced what the first one did."""

    def __init__(self) -> None:
        self.first: dict[str, Any] | None = None

    def __call__(self, outcome: dict[str, Any]) -> None:
        """Keep the first outcome; raise WorkloadCheckError if a later one
        differs (a result a side could not give, None, is not compared)."""
        if self.first is None:
            self.first = dict(outcome)
            return
        for key, value in outcome.items():
            if value is None:
                continue
            if self.first.get(key) is None:
                self.first[key] = value
            check(value == self.first[key], f"the sides' {key} results differ")


def memory_per_range(side: Side, n: int) -> float:
    """Bytes per range that the side's map holds after the appends of the
    build operation, by ``tracemalloc`` (the values' int objects included, as
    for every side)."""
    with side.active():
        gc.collect()
        tracemalloc.start()
        try:
            m = side.new_map()
            store_range = m.store_range
            for i in range(n):
                store_range(10 * i, 10 * i + 5, i)
            held, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        check(sum(1 for _ in m) == n, f"{side.name}: the map does not hold {n} ranges")
    return held / n


# -- the table ----------------------------------------------------------------

def _short(name: str) -> str:
    """A side's name in a ratio column heading: ``SortedDict`` is ``SD``."""
    return "SD" if name == "SortedDict" else name

def peer_table(sides: Sequence[Side], n: int, gap_queries: int, repeat: int,
               memory: bool = True) -> None:
    """Print the everyday operations at ``n`` ranges on ``sides`` (the first is
    the reference of the ratios), interleaved ``repeat`` rounds, fastest pass
    per cell; then, with ``memory``, bytes per range."""
    from run import interleave  # (run.py imports this module in a function only)
    sides = [s for s in sides if s.max_n is None or n <= s.max_n]
    inp = Inputs.draw(n, gap_queries)
    agree = Agreement()

    def make_pass(side: Side) -> Callable[[Report], None]:
        def run_pass(report: Report) -> None:
            with side.active():
                agree(everyday_pass(side, inp, report))
        return run_pass

    ref = sides[0].name
    head = (f"{'operation':<52}" + "".join(f" {s.name:>14}" for s in sides)
            + "".join(f" {s.name + '/' + _short(ref):>18}" for s in sides[1:]))
    print(f"\nrange maps, N={n:,}, us/op (fastest of {repeat}), same process, same "
          f"results; ratio = side / {ref} (below 1: faster than {ref})")
    print(f"{head}\n{'-' * len(head)}")

    def cell(x: float) -> str:
        return f" {'-':>14}" if x != x else f" {x * 1e6:>14.3f}"

    def ratio(x: float, r: float) -> str:
        return f" {'-':>18}" if x != x else f" {x / r:>18.3g}"

    def on_final(name: str, per_op: list[float]) -> None:
        print(f"{OPERATIONS[name]:<52}" + "".join(cell(x) for x in per_op)
              + "".join(ratio(x, per_op[0]) for x in per_op[1:]), flush=True)
    interleave([make_pass(s) for s in sides], repeat, on_final)
    if memory:
        per_range = [memory_per_range(s, n) for s in sides]
        print(f"{'memory per range, bytes (tracemalloc)':<52}"
              + "".join(f" {b:>14.0f}" for b in per_range)
              + "".join(f" {b / per_range[0]:>18.3g}" for b in per_range[1:]), flush=True)


def available_sides(with_pure: bool = True) -> list[Side]:
    """SortedDict first, then MapleTree of the build imported, the pure build
    of this checkout beside a compiled one, and the peers that are installed."""
    import maple_tree
    sides = [SORTEDDICT, mapletree_side(f"maple {which_build.build_name(maple_tree)}", maple_tree)]
    if maple_tree.COMPILED and with_pure and os.path.isdir(which_build.SRC):
        pure = which_build.Checkout.load("pure", which_build.SRC)
        sides.append(mapletree_side("maple pure", pure.modules["maple_tree"], pure.active))
    for module, side in (("intervaltree", INTERVALTREE), ("portion", PORTION)):
        try:
            __import__(module)
        except ImportError:
            print(f"({module} is not installed: pip install '.[bench]')")
            continue
        sides.append(side)
    return sides


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="maple-tree against other Python range maps")
    p.add_argument("--n", type=int, action="append",
                   help="ranges per map (repeatable; default 10000 and 200000)")
    p.add_argument("--repeat", type=int, default=3, help="passes; the fastest counts")
    p.add_argument("--gapq-queries", type=int, default=300, help="no-fit gap queries")
    p.add_argument("--memory-n", type=int, action="append", default=[],
                   help="also measure only the memory per range at this N (repeatable)")
    p.add_argument("--no-pure", action="store_true",
                   help="beside a compiled build, do not also run the pure one")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    print(f"maple-tree range-map peers: Python {platform.python_version()}, "
          f"{platform.machine()}, GC on")
    sides = available_sides(not args.no_pure)
    for n in args.n or [10_000, 200_000]:
        peer_table(sides, n, args.gapq_queries, args.repeat)
    for n in args.memory_n:
        kept = [s for s in sides if s.max_n is None or n <= s.max_n]
        per_range = [memory_per_range(s, n) for s in kept]
        print(f"\nmemory per range at N={n:,}, bytes (tracemalloc): "
              + ", ".join(f"{s.name} {b:.0f}" for s, b in zip(kept, per_range)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
