"""Everyday range-map operations: MapleTree against the range map a Python user
would write on ``sortedcontainers.SortedDict``, in the same process.

:class:`SortedDictRangeMap` is that reference: ``start -> (last, value)`` in a
``SortedDict``, with the ``bisect`` + neighbour-trimming code a user would write,
and the same contract as ``MapleTree.store_range`` / ``load`` / ``erase`` /
iteration for ranges holding non-None values.

:func:`everyday_pass` times, on one side (the SortedDict range map or
``MapleTree(0)``), the operations of the comparison table (see
:data:`OPERATIONS`) and returns what each produced; :class:`Agreement` checks,
outside the timed regions, that every pass of both sides produced the same.
A wrong answer raises :class:`workloads.WorkloadCheckError`, as in the W
workloads.
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, TypeVar

from sortedcontainers import SortedDict

from maple_tree import MT_FLAGS_ALLOC_RANGE, ULONG_MAX, MapleTree, MaState
from workloads import SEED_W3, W4_FINAL, SplitMix64, check, shuffle, w4_inputs

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


GapQuery = Callable[[int], int]


@dataclass(frozen=True)
class Side:
    """One side of the comparison: how to make its maps and its gap query.

    ``new_map()`` gives the empty map of the everyday operations,
    ``new_gap_map()`` the empty map of the gap query, and ``gap_query(map, size)``
    a callable ``lo -> lowest x >= lo with [x, x+size-1] free`` on such a map.
    """

    name: str
    new_map: Callable[[], RangeMap]
    new_gap_map: Callable[[], RangeMap]
    gap_query: Callable[[Any, int], GapQuery]


def _tree_gap_query(tree: MapleTree, size: int) -> GapQuery:
    """``mas.reset(); mas.empty_area(lo, ULONG_MAX, size)``, answering ``mas.index``."""
    mas = MaState(tree)
    reset = mas.reset
    search = mas.empty_area

    def query(lo: int) -> int:
        reset()
        search(lo, ULONG_MAX, size)
        return mas.index
    return query


def _sorteddict_gap_query(m: SortedDictRangeMap, size: int) -> GapQuery:
    lowest_gap = m.lowest_gap
    return lambda lo: lowest_gap(lo, size)


SORTEDDICT = Side("SortedDict", SortedDictRangeMap, SortedDictRangeMap, _sorteddict_gap_query)
#: flags 0 for the everyday operations; the gap query needs MT_FLAGS_ALLOC_RANGE
MAPLETREE = Side("MapleTree", MapleTree, lambda: MapleTree(MT_FLAGS_ALLOC_RANGE),
                 _tree_gap_query)


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
    _, dt = _timed(overwrite)
    report("overwrite", dt / n)
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


def _gap_queries(side: Side, inp: Inputs, report: Report) -> list[int]:
    """Time the no-fit gap queries on a map of the section-2 data (built untimed)."""
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
        """Keep the first outcome; raise WorkloadCheckError if a later one differs."""
        if self.first is None:
            self.first = outcome
            return
        for key, value in outcome.items():
            check(value == self.first[key], f"the sides' {key} results differ")
