"""The W1-W5 and W8 workloads of ../shared/docs/benchmarks.md, on maple_tree.MapleTree.

Each workload is replayed exactly as defined there (same splitmix64 streams, same
seeds, same ranges and values; ``xa_mk_value(v)`` is stored as the Python int ``v``)
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
* W8: every entry is seen once, in order.
"""
from __future__ import annotations

import time
from maple_tree import MT_FLAGS_ALLOC_RANGE, ULONG_MAX, MapleTree
from maple_tree.cli import tree_stats

MASK64 = (1 << 64) - 1

FLAG_SETS: dict[str, int] = {"alloc": MT_FLAGS_ALLOC_RANGE, "plain": 0}

SEED_W2 = 0x5702
SEED_W3 = 0x5703
SEED_W4 = 0x5704
SEED_W5 = 0x5705


class WorkloadCheckError(AssertionError):
    """A workload produced a result that differs from its definition."""


def check(cond: bool, message: str) -> None:
    """Raise :class:`WorkloadCheckError` unless ``cond`` (works under ``python -O``)."""
    if not cond:
        raise WorkloadCheckError(message)


class SplitMix64:
    """The splitmix64 generator of benchmarks.md (state = seed)."""

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
    """W8a iterate the W1 tree with the tree iterator (the mas_for_each analogue)."""
    t0 = time.perf_counter()
    items = list(w1_tree)
    dt = time.perf_counter() - t0
    check(len(items) == n and all(it == (10 * i, 10 * i + 5, i) for i, it in enumerate(items)),
          "W8a: iteration did not yield every entry in order")
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


def sorteddict_point_loads(n: int) -> tuple[float, float, float]:
    """W3's queries on a sortedcontainers.SortedDict range map vs MapleTree, same process.

    The range map holds start -> (end, value) for the W1 ranges; a lookup is
    ``i = d.bisect_right(q) - 1`` then ``d.peekitem(i)`` and an end check.
    Returns (seconds SortedDict, seconds MapleTree alloc, seconds MapleTree plain)
    for n lookups each; the results of all three are checked to agree.
    """
    from sortedcontainers import SortedDict

    rng = SplitMix64(SEED_W3)
    queries = [rng.below(10 * n) for _ in range(n)]
    d = SortedDict({10 * i: (10 * i + 5, i) for i in range(n)})
    bisect_right = d.bisect_right
    peekitem = d.peekitem

    def sd_load(q: int):
        i = bisect_right(q) - 1
        if i < 0:
            return None
        _start, (end, value) = peekitem(i)
        return value if q <= end else None

    t0 = time.perf_counter()
    sd_results = [sd_load(q) for q in queries]
    t_sd = time.perf_counter() - t0
    want = [q // 10 if q % 10 <= 5 else None for q in queries]
    check(sd_results == want, "SortedDict range map gave a wrong answer")
    times = []
    for flags_name in ("alloc", "plain"):
        tree = build_w1(flags_name, n)
        load = tree.load
        t0 = time.perf_counter()
        results = [load(q) for q in queries]
        times.append(time.perf_counter() - t0)
        check(results == want, f"MapleTree {flags_name}: wrong point-load answer")
    return t_sd, times[0], times[1]

