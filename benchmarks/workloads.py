"""The kernel's maple-tree workloads W1-W6 and W8, on maple_tree.MapleTree.

Each workload is replayed exactly as defined in benchmarks/README.md (same
splitmix64 streams, same seeds, same ranges and values, as the C figures were
measured with; ``xa_mk_value(v)`` is stored as the Python int ``v``)
and *checked*: a workload whose result is wrong raises :class:`WorkloadCheckError`
instead of returning a time, so a broken tree cannot produce a figure.

Timing: the random inputs (shuffles, query points, overwrite ranges) are drawn
before the clock starts; the timed loop only calls the tree (through a bound
method held in a local) and keeps the results, which are checked after the clock
stops.  Every function returns seconds for the whole timed loop; divide by the
operation count for a per-op figure.

Checks (beyond every returned value being the expected one):

* W1 / W2 node counts and W1 height at N = 10,000 and 1,000,000 (the kernel's
  figures; ``check_shapes=False`` skips them);
* W3 hit count 6,070 / 600,441 and every loaded value;
* W4 final non-NULL entry count 7,201 / 717,834 (at other N: only structural
  validity and ordering of the result);
* W5: every erase returns ``p`` and the tree ends with no entry;
* W6: the W6 tree's top (101,587,111 / 10,247,336,448); every gap-search and
  allocation answer equals the one computed from the list of free intervals
  (no tree involved); W6a successes 9,999 at N = 10,000 and all at
  1,000,000; W6b, W6c and W6d all succeed;
* W8: every entry is seen once, in order.

The module imports ``maple_tree`` when it is imported: ``run.py --baseline``
imports it once per package it measures (see ``run.py``).
"""
from __future__ import annotations

import time
from bisect import bisect_right

from maple_tree import MT_FLAGS_ALLOC_RANGE, ULONG_MAX, MapleError, MapleTree, MaState
from maple_tree.cli import tree_stats

MASK64 = (1 << 64) - 1

FLAG_SETS: dict[str, int] = {"alloc": MT_FLAGS_ALLOC_RANGE, "plain": 0}

SEED_W2 = 0x5702
SEED_W3 = 0x5703
SEED_W4 = 0x5704
SEED_W5 = 0x5705
SEED_W6 = 0x5706
SEED_W6A = 0x5761
SEED_W6B = 0x5762

W6_SIZE = 4096


class WorkloadCheckError(AssertionError):
    """A workload produced a result that differs from its definition."""


def check(cond: bool, message: str) -> None:
    """Raise :class:`WorkloadCheckError` unless ``cond`` (works under ``python -O``)."""
    if not cond:
        raise WorkloadCheckError(message)


class SplitMix64:
    """The workloads' random number generator, splitmix64 (state = seed).

    One step adds 0x9E3779B97F4A7C15 to the state (mod 2**64) and mixes it;
    :meth:`below` is the output mod n."""

    __slots__ = ("s",)

    def __init__(self, seed: int) -> None:
        self.s = seed & MASK64

    def next(self) -> int:
        self.s = s = (self.s + 0x9E3779B97F4A7C15) & MASK64
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """The next output mod ``n``."""
        return self.next() % n


def shuffle(n: int, seed: int) -> list[int]:
    """Fisher-Yates shuffle of [0, n) with j = below(i + 1), i from n-1 down to 1."""
    rng = SplitMix64(seed)
    a = list(range(n))
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        a[i], a[j] = a[j], a[i]
    return a


# Kernel figures the finished trees must match: (flags name, N) -> value.
W1_NODES = {("alloc", 10_000): 1_409, ("alloc", 1_000_000): 140_628,
            ("plain", 10_000): 1_342, ("plain", 1_000_000): 133_932}
W1_HEIGHT = {("alloc", 10_000): 5, ("alloc", 1_000_000): 7,
             ("plain", 10_000): 4, ("plain", 1_000_000): 6}
W2_NODES = {("alloc", 10_000): 1_750, ("alloc", 1_000_000): 175_014,
            ("plain", 10_000): 1_658, ("plain", 1_000_000): 165_079}
W3_HITS = {10_000: 6_070, 1_000_000: 600_441}
W4_FINAL = {10_000: 7_201, 1_000_000: 717_834}
W6_TOP = {10_000: 101_587_111, 1_000_000: 10_247_336_448}
W6A_OK = {10_000: 9_999, 1_000_000: 1_000_000}


def _flags(flags_name: str) -> int:
    return FLAG_SETS[flags_name]


def _check_shape(tree: MapleTree, what: str, flags_name: str, n: int,
                 nodes: dict, height: dict | None = None) -> None:
    key = (flags_name, n)
    if key not in nodes and (height is None or key not in height):
        return
    st = tree_stats(tree)
    if key in nodes:
        check(st["nodes"] == nodes[key],
              f"{what} {flags_name} N={n}: {st['nodes']} nodes, kernel has {nodes[key]}")
    if height is not None and key in height:
        check(tree.height == height[key],
              f"{what} {flags_name} N={n}: height {tree.height}, kernel has {height[key]}")


def build_w1(flags_name: str, n: int) -> MapleTree:
    """The W1 tree, untimed: [10i, 10i+5] -> i for i in 0..n-1."""
    tree = MapleTree(_flags(flags_name))
    store_range = tree.store_range
    for i in range(n):
        store_range(10 * i, 10 * i + 5, i)
    return tree


def w1(flags_name: str, n: int, check_shapes: bool = True) -> tuple[MapleTree, float]:
    """W1 sequential append; times the n store_range calls. Returns (tree, seconds)."""
    tree = MapleTree(_flags(flags_name))
    store_range = tree.store_range
    t0 = time.perf_counter()
    for i in range(n):
        store_range(10 * i, 10 * i + 5, i)
    dt = time.perf_counter() - t0
    check(len(tree) == n, f"W1: {len(tree)} entries, expected {n}")
    if check_shapes:
        _check_shape(tree, "W1", flags_name, n, W1_NODES, W1_HEIGHT)
    return tree, dt


def w2(flags_name: str, n: int, check_shapes: bool = True) -> tuple[MapleTree, float]:
    """W2 random-order insert (order shuffle(0x5702)); times the n stores."""
    order = shuffle(n, SEED_W2)
    tree = MapleTree(_flags(flags_name))
    store_range = tree.store_range
    t0 = time.perf_counter()
    for i in order:
        store_range(10 * i, 10 * i + 5, i)
    dt = time.perf_counter() - t0
    items = list(tree)
    check(items == [(10 * i, 10 * i + 5, i) for i in range(n)], "W2: wrong tree contents")
    if check_shapes:
        _check_shape(tree, "W2", flags_name, n, W2_NODES)
    return tree, dt


def w3(w1_tree: MapleTree, n: int) -> float:
    """W3 random point loads on the W1 tree (q = below(10n), seed 0x5703)."""
    rng = SplitMix64(SEED_W3)
    queries = [rng.below(10 * n) for _ in range(n)]
    load = w1_tree.load
    t0 = time.perf_counter()
    results = [load(q) for q in queries]
    dt = time.perf_counter() - t0
    hits = 0
    for q, got in zip(queries, results):
        want = q // 10 if q % 10 <= 5 else None
        check(got == want, f"W3: load({q}) = {got!r}, expected {want!r}")
        hits += got is not None
    if n in W3_HITS:
        check(hits == W3_HITS[n], f"W3 N={n}: {hits} hits, expected {W3_HITS[n]}")
    return dt


def w4_inputs(n: int) -> list[tuple[int, int]]:
    """The W4 overwrites: (a, L) pairs, a = below(10n) then L = 1 + below(50)."""
    rng = SplitMix64(SEED_W4)
    out = []
    for _ in range(n):
        a = rng.below(10 * n)
        out.append((a, 1 + rng.below(50)))
    return out


def w4(flags_name: str, n: int) -> tuple[MapleTree, float]:
    """W4 random range overwrites on a fresh W1 tree; times the n stores."""
    inputs = w4_inputs(n)
    tree = build_w1(flags_name, n)
    store_range = tree.store_range
    t0 = time.perf_counter()
    for a, length in inputs:
        store_range(a, a + length, a)
    dt = time.perf_counter() - t0
    items = list(tree)
    prev_last = -1
    for first, last, _v in items:
        check(prev_last < first <= last, "W4: ranges out of order or overlapping")
        prev_last = last
    if n in W4_FINAL:
        check(len(items) == W4_FINAL[n], f"W4 N={n}: {len(items)} entries, expected {W4_FINAL[n]}")
    return tree, dt


def w5(flags_name: str, n: int) -> float:
    """W5: on a fresh W1 tree, erase(10p) for p in shuffle(0x5705); times the n erases."""
    order = shuffle(n, SEED_W5)
    tree = build_w1(flags_name, n)
    erase = tree.erase
    t0 = time.perf_counter()
    results = [erase(10 * p) for p in order]
    dt = time.perf_counter() - t0
    check(results == order, "W5: an erase did not return its value p")
    check(len(tree) == 0 and tree.find(0) is None, "W5: tree not empty at the end")
    return dt


def w8a(w1_tree: MapleTree, n: int) -> float:
    """W8a: ``mas_set(0)`` then ``mas_for_each(..., ULONG_MAX)`` over the W1 tree,
    i.e. ``MaState(tree).for_each()``; the cursor steps slot by slot."""
    t0 = time.perf_counter()
    mas = MaState(w1_tree)
    mas.set(0)
    seen = list(mas.for_each(ULONG_MAX))
    dt = time.perf_counter() - t0
    check(seen == list(range(n)), "W8a: mas_for_each did not yield every entry in order")
    return dt


def w8a_list(w1_tree: MapleTree, n: int) -> float:
    """W8a with the tree iterator instead: ``list(tree)`` of (first, last, entry)."""
    t0 = time.perf_counter()
    items = list(w1_tree)
    dt = time.perf_counter() - t0
    check(len(items) == n and all(it == (10 * i, 10 * i + 5, i) for i, it in enumerate(items)),
          "W8a-list: iteration did not yield every entry in order")
    return dt


def w8b(w1_tree: MapleTree, n: int) -> float:
    """W8b mt_for_each: find(0), then find_after(last + 1) until None (walks from the root)."""
    find = w1_tree.find
    find_after = w1_tree.find_after
    seen = []
    append = seen.append
    t0 = time.perf_counter()
    r = find(0, ULONG_MAX)
    while r is not None:
        append(r)
        r = find_after((r[1] + 1) & ULONG_MAX, ULONG_MAX)
    dt = time.perf_counter() - t0
    check(len(seen) == n and all(it == (10 * i, 10 * i + 5, i) for i, it in enumerate(seen)),
          "W8b: mt_for_each did not yield every entry in order")
    return dt


# -- W6: gap search and allocation (ALLOC_RANGE only) -------------------------

def w6_ranges(n: int) -> tuple[list[tuple[int, int]], int]:
    """The W6 ranges ``[start, last]`` (seed 0x5706) and ``top`` (the highest occupied key)."""
    rng = SplitMix64(SEED_W6)
    cursor = 0
    ranges = []
    for _ in range(n):
        gap = rng.below(16384)
        length = 1 + rng.below(4096)
        start = cursor + gap
        last = start + length - 1
        ranges.append((start, last))
        cursor = last + 1
    top = cursor - 1
    if n in W6_TOP:
        check(top == W6_TOP[n], f"W6 N={n}: top {top:,}, expected {W6_TOP[n]:,}")
    return ranges, top


def build_w6(n: int) -> tuple[MapleTree, list[tuple[int, int]], int]:
    """The W6 tree (untimed): range i holds value i.  Returns (tree, ranges, top)."""
    ranges, top = w6_ranges(n)
    tree = MapleTree(MT_FLAGS_ALLOC_RANGE)
    store_range = tree.store_range
    for i, (start, last) in enumerate(ranges):
        store_range(start, last, i)
    return tree, ranges, top


def free_intervals(ranges: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The free keys around sorted disjoint ``[start, last]`` ranges, as two lists
    (firsts, lasts) of inclusive intervals; an interval may be empty (last = first - 1)."""
    firsts, lasts = [], []
    nxt = 0
    for start, last in ranges:
        firsts.append(nxt)
        lasts.append(start - 1)
        nxt = last + 1
    firsts.append(nxt)
    lasts.append(ULONG_MAX)
    return firsts, lasts


def ref_lowest(firsts: list[int], lasts: list[int], lo: int, hi: int, size: int) -> int:
    """Lowest x in [lo, hi] with [x, x+size-1] free and inside the window; -EBUSY if none."""
    j = max(bisect_right(firsts, lo) - 1, 0)
    while j < len(firsts) and firsts[j] <= hi:
        x = max(firsts[j], lo)
        if min(lasts[j], hi) - x + 1 >= size:
            return x
        j += 1
    return -16


def ref_highest(firsts: list[int], lasts: list[int], lo: int, hi: int, size: int) -> int:
    """Highest x with [x, x+size-1] free inside [lo, hi]; -EBUSY if none."""
    j = bisect_right(firsts, hi) - 1
    while j >= 0 and lasts[j] >= lo:
        end = min(lasts[j], hi)
        if end - max(firsts[j], lo) + 1 >= size:
            return end - size + 1
        j -= 1
    return -16


def w6a(w6_tree: MapleTree, ranges: list[tuple[int, int]], top: int, n: int) -> float:
    """W6a: n ``empty_area_rev(0, hi, 4096)`` from a reset state, hi = below(top + 1),
    seed 0x5761.  A failed search is recorded as ``-errno``."""
    rng = SplitMix64(SEED_W6A)
    his = [rng.below(top + 1) for _ in range(n)]
    size = W6_SIZE
    mas = MaState(w6_tree)
    reset = mas.reset
    search = mas.empty_area_rev
    results = []
    append = results.append
    t0 = time.perf_counter()
    for hi in his:
        reset()
        try:
            search(0, hi, size)
            append(mas.index)
        except MapleError as e:
            append(-e.errno)
    dt = time.perf_counter() - t0
    firsts, lasts = free_intervals(ranges)
    ok = 0
    for hi, got in zip(his, results):
        want = -22 if hi < size - 1 else ref_highest(firsts, lasts, 0, hi, size)
        check(got == want, f"W6a: empty_area_rev(0, {hi}, {size}) gave {got}, expected {want}")
        ok += got >= 0
    if n in W6A_OK:
        check(ok == W6A_OK[n], f"W6a N={n}: {ok} searches succeeded, expected {W6A_OK[n]}")
    return dt


def w6b(w6_tree: MapleTree, ranges: list[tuple[int, int]], top: int, n: int) -> float:
    """W6b: n ``empty_area(lo, ULONG_MAX, 4096)`` from a reset state, lo = below(top + 1),
    seed 0x5762.  Every search succeeds (the space above top is free)."""
    rng = SplitMix64(SEED_W6B)
    los = [rng.below(top + 1) for _ in range(n)]
    size = W6_SIZE
    mas = MaState(w6_tree)
    reset = mas.reset
    search = mas.empty_area
    results = []
    append = results.append
    t0 = time.perf_counter()
    for lo in los:
        reset()
        try:
            search(lo, ULONG_MAX, size)
            append(mas.index)
        except MapleError as e:
            append(-e.errno)
    dt = time.perf_counter() - t0
    firsts, lasts = free_intervals(ranges)
    for lo, got in zip(los, results):
        want = ref_lowest(firsts, lasts, lo, ULONG_MAX, size)
        check(got == want, f"W6b: empty_area({lo}, ULONG_MAX, {size}) gave {got}, expected {want}")
    return dt


def _w6_alloc(n: int, rev: bool) -> tuple[MapleTree, float]:
    tree, ranges, top = build_w6(n)
    size = W6_SIZE
    alloc = tree.alloc_rrange if rev else tree.alloc_range
    values = range(n, 2 * n)
    t0 = time.perf_counter()
    starts = [alloc(size, v, 0, top) for v in values]
    dt = time.perf_counter() - t0
    # reference: highest (lowest) fit only ever moves down (up) through the free intervals
    firsts, lasts = free_intervals(ranges)
    lasts[-1] = top  # the window is [0, top]; the tail interval lies above it
    want = []
    if rev:
        j = len(firsts) - 1
        for _ in range(n):
            while lasts[j] - firsts[j] + 1 < size:
                j -= 1
            lasts[j] -= size
            want.append(lasts[j] + 1)
    else:
        j = 0
        for _ in range(n):
            while lasts[j] - firsts[j] + 1 < size:
                j += 1
            want.append(firsts[j])
            firsts[j] += size
    name = "W6c alloc_rrange" if rev else "W6d alloc_range"
    check(starts == want, f"{name}: an allocation differs from the highest/lowest fit")
    return tree, dt


def w6c(n: int) -> tuple[MapleTree, float]:
    """W6c: on a fresh W6 tree, n ``alloc_rrange(4096, N + k, 0, top)`` (top-down)."""
    return _w6_alloc(n, True)


def w6d(n: int) -> tuple[MapleTree, float]:
    """W6d: on a fresh W6 tree, n ``alloc_range(4096, N + k, 0, top)`` (bottom-up)."""
    return _w6_alloc(n, False)
