"""RCU mode: lock-free readers beside one writer, the tree lock, lock debugging.

What is tested (``maple_tree.rcu``, ``MT_FLAGS_USE_RCU``, ``tree.lock``):

* **Deterministic interleavings** (``test_interleaving``): for every write
  path of RCU mode (exact fit, slot store, node store, split, rebalance,
  spanning store, new root, root expand, bulk end), in several variants
  (normal API and cursor writes, root leaves, a split climbing through a
  full root, a rebalance collapsing the root, NULL writes), a tree is built
  whose next write takes that path, on flags 0 and
  ``MT_FLAGS_ALLOC_RANGE``; the keys are read from ``structure()``.  The
  test-only hook (``rcu.set_hook``) runs readers at every publish and
  mark-dead point: point loads, ``get``/``in``/``[]``, ``find``,
  ``find_after``, ``next``, ``prev``, ``len``, full and windowed iteration
  (both ways) and ``MaState`` reads started inside the hook.  Each result
  must be the one the tree gives before the write or the one it gives after
  it (both computed on an identical tree built the same way, in a quiescent
  state); iterations must besides be strictly ordered, hold only old or new
  values and yield every range the write did not touch.  Readers created
  *before* the write (iterators, ``MaState`` forward and backward) are
  stepped at every hook event and drained afterwards: no range twice, none
  out of order, every untouched range yielded, every value an old or a new
  one at both ends of its range.  The expected path must have fired (and,
  where nodes were replaced, the mark-dead point), the height must change
  as planned, and the tree validates after.
* **Stress** (``test_stress_rcu``): four reader threads and one writer on a
  tree of N ranges ``[10i, 10i+5]`` tagged ``i``, with
  ``sys.setswitchinterval(1e-6)``; the writer changes the structure (exact
  fits, splitting a range into two pieces, merging them back, NULL stores
  over gaps, cursor stores under the lock) but keeps the invariant "keys
  ``10i..10i+5`` hold a value tagged ``i``, keys ``10i+6..10i+9`` are
  empty", which the readers check (loads, ``get``, ``in``, ``[]``,
  ``find``, windowed iteration, ``MaState`` chains both ways; a chain must
  cover every occupied key, except that a cursor step may skip keys of the
  block it stood in, as the kernel's ``mas_rewalk`` makes it do).  Zero
  wrong reads and no reader exception; every write path but the root ones
  happened (counted with the hook).  A sampled 2-second run by default, at
  least 10**6 reads with ``-m slow``.
* **Non-RCU control** (``test_stress_control_without_rcu``, slow): the
  same stress on a tree not in RCU mode must be caught failing, which shows
  the stress can detect an unsafe tree; it prints its failure rate.
* **Locking**: two writer threads give the sequential result; every
  normal-API write takes ``tree.lock`` (and does not with
  ``MT_FLAGS_LOCK_EXTERN``); lock debugging refuses cursor writes without
  the lock and leaves normal-API writes alone; the lock is reentrant (a
  normal-API write inside ``with tree.lock:`` runs); ``held()`` is per
  thread; the hook runs with the lock held.
* **Same-thread interleaving** (hypothesis): random writes between the
  steps of iterators and cursors in RCU mode.
"""
from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_LOCK_EXTERN,
    MT_FLAGS_USE_RCU,
    ULONG_MAX,
    MapleTree,
    MaState,
    StateError,
    rcu,
)
from maple_tree.core import TreeLock

M = ULONG_MAX
FLAGS = [0, MT_FLAGS_ALLOC_RANGE]
FLAG_IDS = ["f0", "alloc"]
#: entries the scenario writes store (the trees hold 0..n-1 before)
NEW = 10_000


# ---------------------------------------------------------------------------
# shared helpers


@contextmanager
def hooked(fn: Callable[[str, str], None] | None) -> Iterator[None]:
    """Install ``fn`` as the RCU hook for the block, then put back the previous one."""
    previous = rcu.set_hook(fn)
    try:
        yield
    finally:
        rcu.set_hook(previous)


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """``sys.setswitchinterval(seconds)`` for the block (restored after)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@contextmanager
def lock_debugging(on: bool = True) -> Iterator[None]:
    previous = rcu.set_lock_debug(on)
    try:
        yield
    finally:
        rcu.set_lock_debug(previous)


@pytest.fixture(autouse=True)
def _no_hook_no_lock_debug():
    """Every test starts without a hook and without lock debugging, and
    leaves them as it found them."""
    prev_hook = rcu.set_hook(None)
    prev_debug = rcu.set_lock_debug(False)
    yield
    rcu.set_hook(prev_hook)
    rcu.set_lock_debug(prev_debug)


def leaves(tree: MapleTree) -> list[dict[str, Any]]:
    """The leaves of ``tree``, left to right, as ``structure()`` dicts."""
    out: list[dict[str, Any]] = []

    def rec(node: dict[str, Any]) -> None:
        if node["type"] == "leaf_64":
            out.append(node)
        else:
            for child in node["slots"]:
                rec(child)

    root = tree.structure()["root"]
    if root is not None and "entry" not in root:
        rec(root)
    return out


def slot_range(leaf: dict[str, Any], s: int) -> tuple[int, int]:
    pivots = leaf["pivots"]
    return (pivots[s - 1] + 1 if s else leaf["min"]), pivots[s]


class Snapshot:
    """The ranges of a tree at one instant, with point lookups."""

    def __init__(self, items: list[tuple[int, int, Any]]) -> None:
        self.items = items
        self.lasts = [r[1] for r in items]

    def load(self, key: int) -> Any:
        i = bisect_right(self.lasts, key - 1)  # first range with last >= key
        if i < len(self.items) and self.items[i][0] <= key:
            return self.items[i][2]
        return None


def same(a: Any, b: Any) -> bool:
    """Entries match: identity, or equality for the plain ints/tuples used here."""
    return a is b or (a is not None and b is not None and a == b)


def check_forward(seq: list[tuple[int, int, Any]], start: int, old: Snapshot, new: Snapshot,
                  what: str, stop: int = M) -> list[str]:
    """The checks on a forward iteration / cursor chain that ran across the
    write over the window ``[start, stop]``; returns the failures."""
    return _check_chain(seq, old, new, what, forward=True,
                        in_window=lambda r: r[1] >= start and r[0] <= stop)


def check_backward(seq: list[tuple[int, int, Any]], start: int, old: Snapshot, new: Snapshot,
                   what: str, stop: int = 0) -> list[str]:
    """:func:`check_forward` for a reverse iteration / cursor chain from ``start`` down."""
    return _check_chain(seq, old, new, what, forward=False,
                        in_window=lambda r: r[0] <= start and r[1] >= stop)


def _check_chain(seq: list[tuple[int, int, Any]], old: Snapshot, new: Snapshot, what: str,
                 forward: bool, in_window: Any) -> list[str]:
    """Ranges strictly ordered (by last key forward, by first key backward),
    each value held at both ends before or after the write, and every range
    the write left untouched inside the window yielded."""
    errs: list[str] = []
    prev = -1 if forward else M + 1
    for f, l, v in seq:
        if not f <= l:
            errs.append(f"{what}: yielded ({f}, {l}) with first > last")
        key = l if forward else f
        if (key <= prev) if forward else (key >= prev):
            errs.append(f"{what}: ({f}, {l}, {v!r}) after a range {'ending' if forward else 'starting'}"
                        f" at {prev} (a range twice or out of order)")
        prev = key
        for k in (f, l):
            if not (same(v, old.load(k)) or same(v, new.load(k))):
                errs.append(f"{what}: ({f}, {l}, {v!r}): key {k} held {old.load(k)!r} before "
                            f"and {new.load(k)!r} after the write")
    got = set(seq)
    for r in set(old.items) & set(new.items):
        if in_window(r) and r not in got:
            errs.append(f"{what}: range {r} untouched by the write was not yielded")
    return errs


# ---------------------------------------------------------------------------
# 1. deterministic interleavings: one scenario per write path

_MISSING = object()


def _getitem(t: MapleTree, k: int) -> Any:
    try:
        return t[k]
    except KeyError:
        return _MISSING


def _mas_chain(t: MapleTree, k: int, first: str, step: str, steps: int = 3) -> list[Any]:
    """A cursor at ``k``: ``first`` (find / find_rev), then ``steps`` times
    ``step`` (next / prev); each result with the cursor's range and status."""
    mas = MaState(t, k)
    out = []
    for name in [first] + [step] * steps:
        out.append((getattr(mas, name)(), mas.index, mas.last, mas.status))
    return out


def _mas_forward(t: MapleTree, k: int, steps: int = 3) -> list[Any]:
    return _mas_chain(t, k, "find", "next", steps)


def _mas_backward(t: MapleTree, k: int, steps: int = 3) -> list[Any]:
    return _mas_chain(t, k, "find_rev", "prev", steps)


def _mas_walk(t: MapleTree, k: int) -> tuple[Any, int, int]:
    mas = MaState(t, k)
    return mas.walk(), mas.index, mas.last


def _mas_for_each(t: MapleTree, k: int, limit: int) -> list[tuple[int, int, Any]]:
    mas = MaState(t, k)
    return [(mas.index, mas.last, e) for e in mas.for_each(limit)]


class ReadPlan:
    """The reads run at every hook event, and their results on a tree."""

    def __init__(self, keys: list[int], probes: list[int], window: tuple[int, int]) -> None:
        self.keys = keys
        self.probes = probes
        self.window = window

    def point_reads(self, t: MapleTree) -> dict[str, Any]:
        """Reads whose result must be the old or the new one, item by item."""
        p = self.probes
        lo, hi = self.window
        return {
            "load": [t.load(k) for k in self.keys],
            "get": [t.get(k, _MISSING) for k in p],
            "in": [k in t for k in p],
            "getitem": [_getitem(t, k) for k in p],
            "find": [t.find(k) for k in p],
            "find_window": [t.find(k, min(M, k + 12)) for k in p],
            "find_after": [t.find_after(k) for k in p],
            "next": [t.next(k) for k in p],
            "prev": [t.prev(k) for k in p],
            "mas_walk": [_mas_walk(t, k) for k in p],
            "mas_forward": [_mas_forward(t, k) for k in p],
            "mas_backward": [_mas_backward(t, k) for k in p],
            "mas_for_each": [_mas_for_each(t, lo, hi)],
            "len": [len(t)],
        }

    def iterations(self, t: MapleTree) -> dict[str, tuple[str, int, int, list[Any]]]:
        """Whole iterations: (direction, start key, stop key, ranges)."""
        lo, hi = self.window
        return {
            "iter": ("fwd", 0, M, list(t)),
            "items": ("fwd", lo, hi, list(t.items(lo, hi))),
            "reversed": ("bwd", M, 0, list(reversed(t))),
        }


class PreReaders:
    """Readers made before the write, stepped once before it, once at every
    hook event and drained after it."""

    def __init__(self, t: MapleTree, focus: tuple[int, int]) -> None:
        first, last = focus
        self.fwd_start = max(0, first - 15)
        self.bwd_start = min(M, last + 15)
        self.items_start = max(0, first - 25)
        self.it_all = iter(t)
        self.it_items = t.items(self.items_start, M)
        self.it_rev = reversed(t)
        self.mas_f = MaState(t, self.fwd_start)
        self.mas_b = MaState(t, self.bwd_start)
        self.seqs: dict[str, list[tuple[int, int, Any]]] = {
            "iter": [], "items": [], "reversed": [], "mas_next": [], "mas_prev": []}
        self.done: set[str] = set()
        # position the full iterators near the write, so that they sit in the
        # leaves it replaces
        for r in self.it_all:
            self.seqs["iter"].append(r)
            if r[1] >= self.fwd_start:
                break
        else:
            self.done.add("iter")
        for r in self.it_rev:
            self.seqs["reversed"].append(r)
            if r[0] <= self.bwd_start:
                break
        else:
            self.done.add("reversed")
        self._step_items()
        e = self.mas_f.find()
        if e is None:
            self.done.add("mas_next")
        else:
            self.seqs["mas_next"].append((self.mas_f.index, self.mas_f.last, e))
        e = self.mas_b.find_rev()
        if e is None:
            self.done.add("mas_prev")
        else:
            self.seqs["mas_prev"].append((self.mas_b.index, self.mas_b.last, e))

    def _step_iter(self, name: str, it: Iterator[Any]) -> None:
        if name in self.done:
            return
        r = next(it, None)
        if r is None:
            self.done.add(name)
        else:
            self.seqs[name].append(r)

    def _step_items(self) -> None:
        self._step_iter("items", self.it_items)

    def _step_mas(self, name: str, mas: MaState, forward: bool) -> None:
        if name in self.done:
            return
        e = mas.next() if forward else mas.prev()
        if e is None:
            self.done.add(name)
        else:
            self.seqs[name].append((mas.index, mas.last, e))

    def step(self) -> None:
        self._step_iter("iter", self.it_all)
        self._step_items()
        self._step_iter("reversed", self.it_rev)
        self._step_mas("mas_next", self.mas_f, True)
        self._step_mas("mas_prev", self.mas_b, False)

    def drain(self) -> None:
        for _ in range(100_000):
            if len(self.done) == 5:
                return
            self.step()
        raise AssertionError("a reader made before the write never ended")

    def check(self, old: Snapshot, new: Snapshot) -> list[str]:
        s = self.seqs
        return (check_forward(s["iter"], 0, old, new, "iter() made before the write")
                + check_forward(s["items"], self.items_start, old, new,
                                "items() made before the write")
                + check_forward(s["mas_next"], self.fwd_start, old, new,
                                "MaState.find/next made before the write")
                + check_backward(s["reversed"], M, old, new, "reversed() made before the write")
                + check_backward(s["mas_prev"], self.bwd_start, old, new,
                                 "MaState.find_rev/prev made before the write"))


Built = tuple[MapleTree, Callable[[], None], tuple[int, int]]


def _base(flags: int, n: int = 40) -> MapleTree:
    """An RCU tree holding ``[10i, 10i+5] = i`` for ``i < n`` (NULL gaps between)."""
    t = MapleTree(flags | MT_FLAGS_USE_RCU)
    for i in range(n):
        t.store_range(10 * i, 10 * i + 5, i)
    return t


def _find(t: MapleTree, leaf_ok: Callable[[int, dict[str, Any]], bool],
          slot_ok: Callable[[dict[str, Any], int], bool]) -> tuple[dict[str, Any], int]:
    """The first (leaf, slot) of ``t`` satisfying both predicates."""
    ls = leaves(t)
    for li, leaf in enumerate(ls):
        if leaf_ok(li, leaf):
            for s in range(len(leaf["pivots"])):
                if slot_ok(leaf, s):
                    return leaf, s
    raise AssertionError("scenario construction failed: no leaf/slot fits "
                         f"(leaf sizes {[len(x['pivots']) for x in ls]})")


def _data(leaf: dict[str, Any], s: int, min_keys: int = 1) -> bool:
    a, b = slot_range(leaf, s)
    return leaf["slots"][s] is not None and b - a + 1 >= min_keys


def _null(leaf: dict[str, Any], s: int) -> bool:
    return 0 <= s < len(leaf["slots"]) and leaf["slots"][s] is None


def _store(t: MapleTree, a: int, b: int, v: Any) -> Built:
    return t, (lambda: t.store_range(a, b, v)), (a, b)


def sc_exact_fit_data(flags: int) -> Built:
    t = _base(flags)
    leaf, s = _find(t, lambda li, _: li == 1, _data)
    return _store(t, *slot_range(leaf, s), NEW)


def sc_exact_fit_null(flags: int) -> Built:
    """Fill a NULL gap exactly (an allocation tree's gaps change)."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, _: li == 1, lambda lf, s: _null(lf, s) and s < len(lf["slots"]) - 1)
    return _store(t, *slot_range(leaf, s), NEW)


def sc_exact_fit_mas(flags: int) -> Built:
    """An exact fit through a cursor standing on the slot, under the lock."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, _: li == 2, _data)
    a, b = slot_range(leaf, s)
    mas = MaState(t, a)
    assert mas.walk() is not None

    def write() -> None:
        with t.lock:
            mas.index, mas.last = a, b
            mas.store(NEW)
    return t, write, (a, b)


def _range_then_gap(t: MapleTree, leaf_index: int, width: int = 1) -> tuple[Any, int]:
    """In leaf ``leaf_index``, a data slot (of at least ``width`` keys)
    followed by a NULL gap that is not the leaf's last slot."""
    return _find(t, lambda li, _: li == leaf_index,
                 lambda lf, s: _data(lf, s, width) and _null(lf, s + 1)
                 and s + 1 < len(lf["slots"]) - 1)


def sc_slot_store_head(flags: int) -> Built:
    """Overwrite a whole range and the first key of the NULL gap after it."""
    t = _base(flags)
    leaf, s = _range_then_gap(t, 1)
    a, _ = slot_range(leaf, s)
    a2, _ = slot_range(leaf, s + 1)
    return _store(t, a, a2, NEW)


def sc_slot_store_tail(flags: int) -> Built:
    """Overwrite the tail of a range and the whole NULL gap after it."""
    t = _base(flags)
    leaf, s = _range_then_gap(t, 1, 2)
    a, _ = slot_range(leaf, s)
    _, b2 = slot_range(leaf, s + 1)
    return _store(t, a + 1, b2, NEW)


def sc_slot_store_mas(flags: int) -> Built:
    """A slot store through a cursor, under the lock."""
    t = _base(flags)
    leaf, s = _range_then_gap(t, 2)
    a, _ = slot_range(leaf, s)
    a2, _ = slot_range(leaf, s + 1)

    def write() -> None:
        with t.lock:
            MaState(t, a, a2).store(NEW)
    return t, write, (a, a2)


def sc_node_store_grow(flags: int) -> Built:
    """Cut a range in three in a non-root leaf with room: two more slots."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) <= 13, lambda lf, s: _data(lf, s, 4))
    a, _ = slot_range(leaf, s)
    return _store(t, a + 1, a + 2, NEW)


def sc_node_store_shrink(flags: int) -> Built:
    """Cover three whole slots in a leaf that stays above the minimum."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) >= 10 and li < len(leaves(t)) - 1,
                    lambda lf, s: s >= 1 and s + 3 < len(lf["pivots"]) and _data(lf, s))
    a, _ = slot_range(leaf, s)
    _, b = slot_range(leaf, s + 2)
    return _store(t, a, b, NEW)


def sc_node_store_root_leaf(flags: int) -> Built:
    t = _base(flags, 3)
    return _store(t, 11, 12, NEW)


def sc_split_leaf(flags: int) -> Built:
    """Two more slots in a full non-root leaf."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) == 16, lambda lf, s: _data(lf, s, 4))
    a, _ = slot_range(leaf, s)
    return _store(t, a + 1, a + 2, NEW)


def sc_split_root_leaf(flags: int) -> Built:
    """Two more slots in a full root leaf: the tree grows a level."""
    t = _base(flags, 8)
    assert t.height == 1 and len(leaves(t)[0]["pivots"]) == 16
    return _store(t, 41, 42, NEW)


def sc_split_cascade(flags: int) -> Built:
    """Two more slots in a full leaf under a full root: both split, the tree
    grows a level."""
    cap = 10 if flags & MT_FLAGS_ALLOC_RANGE else 16
    for n in range(40, 400):
        t = _base(flags, n)
        if t.height == 2 and len(t.structure()["root"]["slots"]) == cap:
            break
    else:
        raise AssertionError("scenario construction failed: no full root")
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) == 16, lambda lf, s: _data(lf, s, 4))
    a, _ = slot_range(leaf, s)
    return _store(t, a + 1, a + 2, NEW)


def sc_rebalance_collapse(flags: int) -> Built:
    """A two-leaf tree whose right leaf drops below the minimum: the leaves
    merge into a root leaf, the tree loses a level."""
    t = _base(flags, 9)
    ls = leaves(t)
    assert t.height == 2 and len(ls) == 2
    a, _ = slot_range(ls[1], 1)
    _, b = slot_range(ls[1], 5)
    return _store(t, a, b, NEW)


def _lone_range_in_a_short_leaf(flags: int) -> tuple[MapleTree, int, int]:
    """A tree and a data range between two NULL gaps in a non-root leaf of
    7 slots: erasing it rebalances."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) <= 8,
                    lambda lf, s: s >= 1 and _data(lf, s) and _null(lf, s - 1) and _null(lf, s + 1))
    a, b = slot_range(leaf, s)
    return t, a, b


def sc_rebalance_erase(flags: int) -> Built:
    """Erase a range between two NULL gaps in a non-root leaf of 7 slots."""
    t, a, b = _lone_range_in_a_short_leaf(flags)
    return t, (lambda: t.erase(a)), (a, b)


def sc_rebalance_store(flags: int) -> Built:
    """Cover three whole slots of a non-root leaf of 7 slots."""
    t = _base(flags)
    leaf, s = _find(t, lambda li, lf: len(lf["pivots"]) <= 8,
                    lambda lf, s: s >= 1 and s + 3 < len(lf["pivots"]) and _data(lf, s))
    a, _ = slot_range(leaf, s)
    _, b = slot_range(leaf, s + 2)
    return _store(t, a, b, NEW)


def sc_rebalance_mas_erase(flags: int) -> Built:
    t, a, b = _lone_range_in_a_short_leaf(flags)

    def write() -> None:
        with t.lock:
            MaState(t, a).erase()
    return t, write, (a, b)


def sc_spanning_store(flags: int) -> Built:
    """A write across the boundary between the second and third leaves."""
    t = _base(flags)
    m = leaves(t)[1]["max"]
    return _store(t, m - 1, m + 2, NEW)


def sc_spanning_null(flags: int) -> Built:
    """A NULL write over several leaves."""
    t = _base(flags)
    ls = leaves(t)
    return _store(t, ls[1]["min"] + 2, ls[3]["max"] - 2, None)


def sc_spanning_wide(flags: int) -> Built:
    """A value written over most of a taller tree."""
    t = _base(flags, 200)
    assert t.height >= 3
    return _store(t, 13, 1900, NEW)


def sc_new_root(flags: int) -> Built:
    return _store(_base(flags), 0, M, NEW)


def sc_new_root_null(flags: int) -> Built:
    return _store(_base(flags), 0, M, None)


def sc_new_root_leaf(flags: int) -> Built:
    return _store(_base(flags, 3), 0, M, NEW)


def sc_root_expand_empty(flags: int) -> Built:
    return _store(MapleTree(flags | MT_FLAGS_USE_RCU), 5, 9, NEW)


def sc_root_expand_direct(flags: int) -> Built:
    t = MapleTree(flags | MT_FLAGS_USE_RCU)
    t.store(0, 7)
    return _store(t, 3, 9, NEW)


def sc_bulk_end(flags: int) -> Built:
    """A bulk load whose last leaf is left short (test_fork_bulk's recipe);
    the write is ``mas.destroy()``, which moves entries into it."""
    t = MapleTree(flags | MT_FLAGS_USE_RCU)
    mas = MaState(t)
    with t.lock:
        mas.expected_entries(100)
        for i in range(24):
            mas.set_range(i, i)
            mas.store(i)
        mas.set_range(14, 23)
        mas.store(None)
    assert [len(lf["pivots"]) for lf in leaves(t)] == [11, 4]

    def write() -> None:
        with t.lock:
            mas.destroy()
    return t, write, (8, 14)


SCENARIOS: list[tuple[str, Callable[[int], Built], str]] = [
    ("exact_fit", sc_exact_fit_data, "exact_fit"),
    ("exact_fit_null", sc_exact_fit_null, "exact_fit"),
    ("exact_fit_mas", sc_exact_fit_mas, "exact_fit"),
    ("slot_store_head", sc_slot_store_head, "slot_store"),
    ("slot_store_tail", sc_slot_store_tail, "slot_store"),
    ("slot_store_mas", sc_slot_store_mas, "slot_store"),
    ("node_store_grow", sc_node_store_grow, "node_store"),
    ("node_store_shrink", sc_node_store_shrink, "node_store"),
    ("node_store_root_leaf", sc_node_store_root_leaf, "node_store"),
    ("split", sc_split_leaf, "split"),
    ("split_root_leaf", sc_split_root_leaf, "split"),
    ("split_cascade", sc_split_cascade, "split"),
    ("rebalance_erase", sc_rebalance_erase, "rebalance"),
    ("rebalance_collapse", sc_rebalance_collapse, "rebalance"),
    ("rebalance_store", sc_rebalance_store, "rebalance"),
    ("rebalance_mas_erase", sc_rebalance_mas_erase, "rebalance"),
    ("spanning_store", sc_spanning_store, "spanning_store"),
    ("spanning_null", sc_spanning_null, "spanning_store"),
    ("spanning_wide", sc_spanning_wide, "spanning_store"),
    ("new_root", sc_new_root, "new_root"),
    ("new_root_null", sc_new_root_null, "new_root"),
    ("new_root_leaf", sc_new_root_leaf, "new_root"),
    ("root_expand_empty", sc_root_expand_empty, "root_expand"),
    ("root_expand_direct", sc_root_expand_direct, "root_expand"),
    ("bulk_end", sc_bulk_end, "bulk_end"),
]


def _plan(t: MapleTree, focus: tuple[int, int]) -> ReadPlan:
    items = list(t)
    top = max([r[1] for r in items if r[1] < M] + [focus[1] if focus[1] < M else 0, 20]) + 12
    a, b = focus
    edges = {0, 1, M - 1, M, a, b}
    for k in (a - 1, b + 1, a + 1, b - 1):
        if 0 <= k <= M:
            edges.add(k)
    keys = sorted(set(range(min(top, 2200))) | edges)
    probes = sorted(set(range(0, min(top, 2200), 7)) | edges)
    lo = max(0, a - 30)
    hi = min(M, b + 30) if b < M - 30 else M
    return ReadPlan(keys, probes, (lo, hi))


def _compare_point(got: dict[str, Any], old: dict[str, Any], new: dict[str, Any],
                   plan: ReadPlan, where: str) -> list[str]:
    errs: list[str] = []
    for name, values in got.items():
        args = (plan.keys if name == "load" else
                [plan.window[0]] if name == "mas_for_each" else
                ["-"] if name == "len" else plan.probes)
        for arg, g, o, n in zip(args, values, old[name], new[name]):
            if not (g == o or g == n):
                errs.append(f"{where}: {name}({arg}) = {g!r}; before the write {o!r}, after {n!r}")
    return errs


def _compare_iterations(got: dict[str, Any], old: dict[str, Any], new: dict[str, Any],
                        os_: Snapshot, ns: Snapshot, where: str) -> list[str]:
    errs: list[str] = []
    for name, (direction, start, stop, seq) in got.items():
        check = check_forward if direction == "fwd" else check_backward
        errs += check(seq, start, os_, ns, f"{where}: {name}", stop)
        if seq != old[name][3] and seq != new[name][3]:
            errs.append(f"{where}: {name} gave {seq!r}, neither the old {old[name][3]!r} "
                        f"nor the new {new[name][3]!r}")
    return errs


def run_interleaving(build: Callable[[], Built], expected_path: str,
                     exempt_rightmost: bool = False) -> tuple[Counter[tuple[str, str]], int]:
    """Run the write of ``build()`` with readers at every hook event (see the
    module docstring); return the (event, path) counts and the height change."""
    # the oracle: an identical tree, read before and after the same write
    oracle, write, focus = build()
    plan = _plan(oracle, focus)
    old_points = plan.point_reads(oracle)
    old_iters = plan.iterations(oracle)
    old_snap = Snapshot(list(oracle))
    write()
    new_points = plan.point_reads(oracle)
    new_iters = plan.iterations(oracle)
    new_snap = Snapshot(list(oracle))

    t, write, _ = build()
    assert list(t) == old_snap.items
    height_before = t.height
    pre = PreReaders(t, focus)
    events: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []

    def hook(event: str, path: str) -> None:
        events[(event, path)] += 1
        where = f"at {event}/{path}"
        try:
            failures.extend(_compare_point(plan.point_reads(t), old_points, new_points, plan, where))
            failures.extend(_compare_iterations(plan.iterations(t), old_iters, new_iters,
                                                old_snap, new_snap, where))
            pre.step()
        except Exception:  # noqa: BLE001 - a reader raised: report it, let the writer finish
            failures.append(f"{where}: a reader raised\n{traceback.format_exc()}")

    with hooked(hook):
        write()
    pre.drain()
    failures += pre.check(old_snap, new_snap)
    assert not failures, "\n".join(failures[:20])
    seen = {p for _, p in events}
    assert expected_path in seen, f"the write took {dict(events)}, not {expected_path!r}"
    assert seen <= set(rcu.PATHS), seen
    assert {e for e, _ in events} <= {"publish", "dead"}, events
    assert ("publish", expected_path) in events
    t.validate(exempt_rightmost=exempt_rightmost)
    assert list(t) == new_snap.items
    assert len(t) == len(new_snap.items)
    assert t.height == oracle.height
    return events, t.height - height_before


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("name,build,path", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_interleaving(name, build, path, flags):
    """Readers at every publish / mark-dead point of one write see the tree
    before or after it, never a mix; readers made before it stay ordered
    and complete (see the module docstring)."""
    events, grew = run_interleaving(lambda: build(flags), path,
                                    exempt_rightmost=(name == "bulk_end"))
    if path not in ("exact_fit", "slot_store", "root_expand"):
        # a write that replaced nodes marks them dead after publishing
        assert ("dead", path) in events, events
    assert grew == HEIGHT_CHANGE.get(name, 0), (name, grew)


#: scenarios that change the tree's height (the others keep it)
HEIGHT_CHANGE = {"split_root_leaf": 1, "split_cascade": 1, "rebalance_collapse": -1,
                 "spanning_wide": -1,
                 "new_root": -1, "new_root_null": -2, "root_expand_empty": 1,
                 "root_expand_direct": 1}


def test_paths_list():
    """The hook's path names are the nine the scenarios cover."""
    assert set(rcu.PATHS) == {s[2] for s in SCENARIOS}


def test_hook_not_called_outside_rcu_mode():
    """Outside RCU mode nothing is published: the hook stays silent."""
    seen: list[Any] = []
    t = MapleTree()
    with hooked(lambda e, p: seen.append((e, p))):
        for i in range(60):
            t.store_range(10 * i, 10 * i + 5, i)
        t.store_range(0, 300, None)
    assert seen == []


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_set_in_rcu_and_clear_in_rcu(flags):
    """``set_in_rcu()`` on a tree made without the flag turns RCU mode on
    (the writes publish), ``clear_in_rcu()`` turns it off again."""
    t = MapleTree(flags)
    for i in range(40):
        t.store_range(10 * i, 10 * i + 5, i)
    seen: list[tuple[str, str]] = []
    with hooked(lambda e, p: seen.append((e, p))):
        t.store_range(81, 82, "x")            # a node store
        assert seen == []
        t.set_in_rcu()
        assert t.in_rcu
        t.store_range(91, 92, "y")
        assert seen == [("publish", "node_store"), ("dead", "node_store")]
        t.clear_in_rcu()
        assert not t.in_rcu
        t.store_range(101, 102, "z")
    assert len(seen) == 2
    t.validate()


def test_hook_runs_with_the_lock_held():
    """The hook runs in the writer's thread with the tree's lock held, for
    a normal-API write and for a cursor write under ``with tree.lock``."""
    t = _base(0)
    seen: list[tuple[bool, bool, int]] = []

    def hook(event: str, path: str) -> None:
        seen.append((t.lock.locked(), t.lock.held(), threading.get_ident()))

    with hooked(hook):
        t.store_range(0, 300, "x")                    # normal API
        with t.lock:
            MaState(t, 500, 600).store("y")           # advanced API
    assert seen and all(s == (True, True, threading.get_ident()) for s in seen), seen


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_hook_readers_see_the_tree_during_a_bulk_load(flags):
    """Every write of a bulk load (not only its end) runs readers at its
    hook events: loads give the entry before or after that write."""
    t = MapleTree(flags | MT_FLAGS_USE_RCU)
    mas = MaState(t)
    current: dict[int, Any] = {}      # the keys written so far
    pending: dict[int, Any] = {}      # the keys the write in progress writes
    failures: list[str] = []
    paths: Counter[str] = Counter()

    def hook(event: str, path: str) -> None:
        paths[path] += 1
        for k in range(0, 10 * 300, 3):
            v = t.load(k)
            if not (v == current.get(k) or v == pending.get(k, current.get(k))):
                failures.append(f"{event}/{path}: load({k}) = {v!r}")

    with hooked(hook), t.lock:
        mas.expected_entries(300)
        for i in range(300):
            pending.clear()
            pending.update({k: ("b", i) for k in range(10 * i, 10 * i + 6)})
            mas.set_range(10 * i, 10 * i + 5)
            mas.store(("b", i))
            current.update(pending)
        mas.destroy()
    assert not failures, failures[:10]
    assert paths["split"] > 0 and paths["root_expand"] == 1, paths
    t.validate(exempt_rightmost=True)
    assert len(t) == 300


# ---------------------------------------------------------------------------
# 2./3. stress: 4 readers, 1 writer


class Stress:
    """A tree of ``n`` ranges ``[10i, 10i+5]`` tagged ``i`` (values
    ``(i, version)``), one writer keeping the invariant, readers checking it."""

    READERS = 4

    def __init__(self, flags: int, n: int, seed: int) -> None:
        self.n = n
        self.t = MapleTree(flags)
        for i in range(n):
            self.t.store_range(10 * i, 10 * i + 5, (i, 0))
        self.seed = seed
        self.stop = threading.Event()
        self.reads = [0] * self.READERS      # each reader bumps its own counter
        self.wrong = [0] * self.READERS
        self.errors: list[str] = []          # the first wrong reads, with a repr
        self.exceptions: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self.writer_error: str | None = None

    # -- the invariant --------------------------------------------------------
    def occupied(self, k: int) -> bool:
        i, r = divmod(k, 10)
        return r <= 5 and 0 <= i < self.n

    def next_occupied(self, k: int) -> int | None:
        """The first occupied key >= k, None past the last range."""
        i, r = divmod(k, 10)
        if r > 5:
            i, r = i + 1, 0
        return 10 * i + r if i < self.n else None

    def range_ok(self, f: int, l: int, v: Any) -> bool:
        """A range the invariant allows: inside one ``[10i, 10i+5]``, tagged i."""
        if not (isinstance(v, tuple) and len(v) == 2):
            return False
        i = v[0]
        return 0 <= i < self.n and 10 * i <= f <= l <= 10 * i + 5

    def _bad(self, who: int, what: str) -> None:
        self.wrong[who] += 1
        if len(self.errors) < 20:
            self.errors.append(what)

    # -- readers --------------------------------------------------------------
    def chain_error(self, seq: list[tuple[int, int, Any]], lo: int, hi: int,
                    cursor: str = "") -> str | None:
        """What is wrong with a forward chain of ranges meant to cover the
        occupied keys of ``[lo, hi]`` in order (None if nothing).

        ``cursor`` is "next" / "prev" for a ``MaState`` chain read forwards
        or backwards: a cursor step that finds its node replaced walks again
        to the range now holding its ``last`` (``index`` going backwards),
        as the kernel's ``mas_rewalk`` does, and steps past that range, so
        it may skip keys of the ``[10i, 10i+5]`` block it was in (a merge
        made that range longer); it never skips a key of another block.
        """
        want = self.next_occupied(lo)
        if want is not None and want > hi:
            want = None
        prev: tuple[int, int, Any] | None = None
        for f, l, v in seq:
            if not self.range_ok(f, l, v):
                return f"bad range {(f, l, v)!r}"
            if prev is not None and l <= prev[1]:
                return "a range twice or out of order"
            if l < lo or f > hi:
                return f"{(f, l, v)!r} outside [{lo}, {hi}]"
            if want is not None and f > want:
                # a cursor may skip the rest of a block it was in, no more
                if cursor == "next" and prev is not None and want // 10 == prev[2][0]:
                    nxt = self.next_occupied(10 * prev[2][0] + 6)
                    ok = nxt is not None and f <= nxt
                elif cursor == "prev":  # (read forwards: the skip is in cur's block)
                    ok = want // 10 == v[0]
                else:
                    ok = False
                if not ok:
                    return f"occupied key {want} skipped"
            prev = (f, l, v)
            want = self.next_occupied(l + 1)
            if want is not None and want > hi:
                want = None
        if want is not None and cursor == "next" and prev is not None and want // 10 == prev[2][0]:
            want = self.next_occupied(10 * prev[2][0] + 6)   # (the same skip, at the end)
            if want is not None and want > hi:
                want = None
        if want is not None:
            return f"ended before occupied key {want}"
        return None

    def check_chain(self, who: int, seq: list[tuple[int, int, Any]], lo: int, hi: int,
                    what: str, cursor: str = "") -> None:
        err = self.chain_error(seq, lo, hi, cursor)
        if err is not None:
            self._bad(who, f"{what}: {err}: {seq!r}")

    def reader(self, who: int) -> None:
        rng = random.Random(self.seed * 1000 + who)
        t = self.t
        top = 10 * self.n + 20
        stop = self.stop
        while not stop.is_set():
            for _ in range(50):
                try:
                    self.read_once(who, rng, t, top)
                except Exception as exc:  # noqa: BLE001 - every reader failure counts
                    self.wrong[who] += 1
                    self.exceptions[repr(exc)[:200]] += 1
                    if len(self.errors) < 20:
                        self.errors.append("".join(traceback.format_exception(exc))[-1500:])
            self.reads[who] += 50

    def read_once(self, who: int, rng: random.Random, t: MapleTree, top: int) -> None:
        x = rng.random()
        k = rng.randrange(top)
        if x < 0.80:
            v = t.load(k)
            ok = self.range_ok(k, k, v) if self.occupied(k) else v is None
            if not ok:
                self._bad(who, f"load({k}) = {v!r}")
        elif x < 0.84:
            kind = rng.randrange(3)
            occ = self.occupied(k)
            if kind == 0:
                v = t.get(k, "dflt")
                ok = self.range_ok(k, k, v) if occ else v == "dflt"
            elif kind == 1:
                v = k in t
                ok = v == occ
            else:
                try:
                    v = t[k]
                    ok = occ and self.range_ok(k, k, v)
                except KeyError:
                    v, ok = "KeyError", not occ
            if not ok:
                self._bad(who, f"{['get', 'in', '[]'][kind]}({k}) = {v!r}")
        elif x < 0.92:
            r = t.find(k)
            want = self.next_occupied(k)
            if want is None:
                if r is not None:
                    self._bad(who, f"find({k}) = {r!r}, expected None")
            elif r is None or not self.range_ok(*r) or not r[0] <= want <= r[1]:
                self._bad(who, f"find({k}) = {r!r}, expected the range holding {want}")
        elif x < 0.97:
            lo = k
            hi = min(lo + rng.randrange(1, 300), top)
            seq = []
            for r in t.items(lo, hi):
                seq.append(r)
                if len(seq) > 200:
                    break
            self.check_chain(who, seq, lo, hi, f"items({lo}, {hi})")
        elif x < 0.985:
            mas = MaState(t, k)
            seq = []
            e = mas.find()
            while e is not None and len(seq) < 6:
                seq.append((mas.index, mas.last, e))
                e = mas.next()
            hi = seq[-1][1] if len(seq) == 6 else M
            self.check_chain(who, seq, k, hi, f"MaState({k}).find/next", "next")
        else:
            mas = MaState(t, k)
            seq = []
            e = mas.find_rev()
            while e is not None and len(seq) < 6:
                seq.append((mas.index, mas.last, e))
                e = mas.prev()
            firsts = [r[0] for r in seq]
            if any(a <= b for a, b in pairwise(firsts)):
                return self._bad(who, f"MaState({k}).find_rev/prev out of order: {seq!r}")
            lo = seq[-1][0] if len(seq) == 6 else 0
            # the reverse chain, read forwards, covers the occupied keys of [lo, k]
            self.check_chain(who, seq[::-1], lo, k, f"MaState({k}).find_rev/prev", "prev")

    # -- the writer -----------------------------------------------------------
    def writer(self) -> None:
        rng = random.Random(self.seed)
        t = self.t
        n = self.n
        cut = [0] * n              # 0: whole; s: pieces [10i, 10i+s-1] [10i+s, 10i+5]
        version = 0
        try:
            while not self.stop.is_set():
                version += 1
                x = rng.random()
                if x < 0.05:  # a burst on consecutive ranges: splits, then rebalances
                    i0 = rng.randrange(n)
                    for i in range(i0, min(n, i0 + rng.randrange(4, 24))):
                        if not cut[i]:
                            cut[i] = rng.randrange(1, 6)
                            t.store_range(10 * i + cut[i], 10 * i + 5, (i, version))
                            self.writes["split"] += 1
                    for i in range(i0, min(n, i0 + rng.randrange(4, 24))):
                        if cut[i]:
                            cut[i] = 0
                            t.store_range(10 * i, 10 * i + 5, (i, version))
                            self.writes["merge"] += 1
                    continue
                i = rng.randrange(n)
                a = 10 * i
                if x < 0.35:   # exact fit over the range or one of its pieces
                    if cut[i]:
                        if rng.random() < 0.5:
                            t.store_range(a, a + cut[i] - 1, (i, version))
                        else:
                            t.store_range(a + cut[i], a + 5, (i, version))
                    else:
                        t.store_range(a, a + 5, (i, version))
                    self.writes["exact"] += 1
                elif x < 0.60:  # cut the range in two pieces: one more slot
                    if not cut[i]:
                        cut[i] = rng.randrange(1, 6)
                        t.store_range(a + cut[i], a + 5, (i, version))
                        self.writes["split"] += 1
                elif x < 0.78:  # merge the pieces: one slot less
                    if cut[i]:
                        cut[i] = 0
                        t.store_range(a, a + 5, (i, version))
                        self.writes["merge"] += 1
                elif x < 0.86:  # move the cut: two slots touched, as many slots (slot store)
                    if cut[i]:
                        s = rng.choice([c for c in range(1, 6) if c != cut[i]])
                        if s < cut[i]:
                            t.store_range(a + s, a + 5, (i, version))
                        else:
                            t.store_range(a, a + s - 1, (i, version))
                        cut[i] = s
                        self.writes["recut"] += 1
                elif x < 0.93:  # a NULL store over a gap (spans where the gap ends a leaf)
                    t.store_range(a + 6, a + 9, None)
                    self.writes["null_gap"] += 1
                else:  # cursor writes under the lock: make whole, then re-cut
                    s = rng.randrange(1, 6)
                    with t.lock:
                        mas = MaState(t, a, a + 5)
                        mas.store((i, version))
                        mas.set_range(a + s, a + 5)
                        mas.store((i, -version))
                    cut[i] = s
                    self.writes["cursor"] += 1
        except BaseException:  # noqa: BLE001 - reported by run()
            self.writer_error = traceback.format_exc()
            self.stop.set()

    # -- running --------------------------------------------------------------
    def run(self, seconds: float | None = None, min_reads: int | None = None,
            max_seconds: float = 300.0) -> dict[str, Any]:
        """Run the readers and the writer until ``seconds`` passed or the
        readers made ``min_reads`` reads, at most ``max_seconds``."""
        def hook(event: str, path: str) -> None:
            if event == "publish":
                self.paths[path] += 1

        threads = [threading.Thread(target=self.reader, args=(w,), daemon=True)
                   for w in range(self.READERS)]
        writer = threading.Thread(target=self.writer, daemon=True)
        start = time.monotonic()
        with switch_interval(1e-6), hooked(hook):
            for th in threads:
                th.start()
            writer.start()
            try:
                while not self.stop.is_set():
                    time.sleep(0.05)
                    elapsed = time.monotonic() - start
                    if elapsed >= max_seconds:
                        break
                    if seconds is not None and elapsed >= seconds:
                        break
                    if min_reads is not None and sum(self.reads) >= min_reads:
                        break
            finally:
                self.stop.set()
                writer.join(30)
                for th in threads:
                    th.join(30)
        elapsed = time.monotonic() - start
        hung = [th.name for th in threads + [writer] if th.is_alive()]
        assert not hung, f"threads still running after the stop: {hung}"
        assert self.writer_error is None, self.writer_error
        reads, wrong = sum(self.reads), sum(self.wrong)
        return {"reads": reads, "wrong": wrong, "rate": wrong / max(reads, 1),
                "seconds": round(elapsed, 2), "writes": sum(self.writes.values()),
                "write_kinds": dict(self.writes), "paths": dict(self.paths),
                "exceptions": dict(self.exceptions)}

    def check_final(self) -> None:
        """Quiescent: the tree validates and holds the invariant everywhere."""
        t = self.t
        t.validate()
        seq = list(t)
        top = 10 * self.n + 20
        assert self.chain_error(seq, 0, top) is None, self.chain_error(seq, 0, top)
        assert len(t) == len(seq)
        for k in range(0, top, 7):
            assert (t.load(k) is not None) == self.occupied(k), k


def _print_stress(label: str, res: dict[str, Any]) -> None:
    print(f"\n[{label}] reads={res['reads']} wrong={res['wrong']} rate={res['rate']:.3e} "
          f"seconds={res['seconds']} writes={res['writes']} kinds={res['write_kinds']} "
          f"paths={res['paths']} exceptions={res['exceptions']}")


def _stress(flags: int, **run: Any) -> tuple[Stress, dict[str, Any]]:
    s = Stress(flags, 2000, seed=1234 + flags)
    return s, s.run(**run)


#: the write paths every RCU stress run must have made
STRESS_PATHS = {"exact_fit", "slot_store", "node_store", "split", "rebalance", "spanning_store"}


def _check_rcu_stress(s: Any, res: dict[str, Any]) -> None:
    """No wrong read, no reader exception, every path made, a valid tree."""
    assert res["wrong"] == 0, "\n".join(s.errors)
    assert STRESS_PATHS <= set(res["paths"]), res["paths"]
    s.check_final()


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_stress_rcu(flags):
    """4 readers + 1 writer for ~2 s on an RCU tree: no wrong read, no
    reader exception; several write paths happened; the tree validates."""
    s, res = _stress(flags | MT_FLAGS_USE_RCU, seconds=2.0)
    _print_stress(f"rcu flags={flags:#x}", res)
    assert res["reads"] > 1000 and res["writes"] > 100, res
    _check_rcu_stress(s, res)


@pytest.mark.slow
@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_stress_rcu_slow(flags):
    """The stress until the readers made at least 10**6 reads."""
    s, res = _stress(flags | MT_FLAGS_USE_RCU, min_reads=10**6, max_seconds=600)
    _print_stress(f"rcu slow flags={flags:#x}", res)
    assert res["reads"] >= 10**6, res
    _check_rcu_stress(s, res)


@pytest.mark.slow
@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_stress_control_without_rcu(flags):
    """The same stress on a tree NOT in RCU mode (readers still take no
    lock): it must be caught failing, else the stress proves nothing.  Pure
    build only: compiled code lets the interpreter switch threads only
    between its calls, so an in-place rewrite there is never caught half
    done (none in 3.2 million reads), which says nothing about the stress."""
    import maple_tree
    if maple_tree.COMPILED:
        pytest.skip("the compiled build's writes are not interrupted mid-rewrite under the "
                    "GIL: the control can only show torn reads on the pure build")
    s, res = _stress(flags, min_reads=10**6, max_seconds=600)
    _print_stress(f"control (no RCU) flags={flags:#x}", res)
    print(f"[control flags={flags:#x}] failure rate {res['wrong']}/{res['reads']} "
          f"= {res['rate']:.3e}; first failures: {s.errors[:3]}")
    assert res["wrong"] > 0, (
        f"the non-RCU control detected nothing in {res['reads']} reads: the stress "
        f"cannot tell a safe tree from an unsafe one")


# ---------------------------------------------------------------------------
# 4. locking


def test_tree_lock_object():
    t = MapleTree()
    assert isinstance(t.lock, TreeLock)
    assert t.lock is t.lock
    assert not t.lock.locked() and not t.lock.held()
    with t.lock:
        assert t.lock.locked() and t.lock.held()
    assert t.lock.acquire()
    assert t.lock.held()
    t.lock.release()
    assert not t.lock.locked()
    assert MapleTree().lock is not t.lock


def test_held_is_per_thread():
    """While one thread holds the lock, ``locked()`` is True everywhere but
    ``held()`` only in that thread."""
    t = MapleTree()
    taken, go = threading.Event(), threading.Event()
    inside: list[bool] = []

    def holder() -> None:
        with t.lock:
            inside.append(t.lock.held())
            taken.set()
            go.wait(10)

    th = threading.Thread(target=holder)
    th.start()
    try:
        assert taken.wait(10)
        assert t.lock.locked()
        assert not t.lock.held()
        assert not t.lock.acquire(blocking=False)
    finally:
        go.set()
        th.join(10)
    assert inside == [True]
    assert not t.lock.locked()


def _normal_writes(t: MapleTree) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("store_range", lambda: t.store_range(100, 109, "a")),
        ("store", lambda: t.store(200, "b")),
        ("insert_range", lambda: t.insert_range(300, 309, "c")),
        ("insert", lambda: t.insert(400, "d")),
        ("erase", lambda: t.erase(100)),
        ("alloc_range", lambda: t.alloc_range(10, "e", 1000, 2000)),
        ("alloc_rrange", lambda: t.alloc_rrange(10, "f", 1000, 2000)),
        ("alloc_cyclic", lambda: t.alloc_cyclic("g", 3000, 4000, 3000)),
        ("set_in_rcu", t.set_in_rcu),
        ("clear_in_rcu", t.clear_in_rcu),
        ("destroy", t.destroy),
    ]


def _blocked_while_held(t: MapleTree, call: Callable[[], Any], wait: float) -> tuple[bool, bool]:
    """Hold ``t.lock`` in one thread and make ``call`` in another: (did it
    finish within ``wait`` seconds while the lock was held, did it finish
    after the release)."""
    taken, go, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        with t.lock:
            taken.set()
            go.wait(10)

    def writer() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        done.set()

    h = threading.Thread(target=holder)
    h.start()
    assert taken.wait(10)
    w = threading.Thread(target=writer)
    w.start()
    during = done.wait(wait)
    go.set()
    after = done.wait(10)
    h.join(10)
    w.join(10)
    assert not errors, errors
    return during, after


@pytest.mark.parametrize("i", range(11), ids=[n for n, _ in _normal_writes(MapleTree())])
def test_normal_writes_take_the_lock(i):
    """Every normal-API write waits while another thread holds ``tree.lock``."""
    t = MapleTree(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU)
    t.store_range(100, 105, "z")
    name, call = _normal_writes(t)[i]
    during, after = _blocked_while_held(t, call, 0.15)
    assert not during, f"{name} completed while another thread held the lock"
    assert after, f"{name} never completed after the lock was released"
    t.validate()


@pytest.mark.parametrize("i", range(11), ids=[n for n, _ in _normal_writes(MapleTree())])
def test_lock_extern_writes_do_not_take_the_lock(i):
    """With ``MT_FLAGS_LOCK_EXTERN`` the caller serialises writers: a
    normal-API write completes while another thread holds ``tree.lock``."""
    t = MapleTree(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN)
    t.store_range(100, 105, "z")
    name, call = _normal_writes(t)[i]
    during, after = _blocked_while_held(t, call, 10)
    assert during, f"{name} blocked on the lock of an MT_FLAGS_LOCK_EXTERN tree"
    assert after
    t.validate()


CURSOR_WRITES = ["store", "store_gfp", "store_null", "erase", "expected_entries", "bulk_destroy"]


def _cursor_write(t: MapleTree, name: str) -> tuple[Callable[[], Any], Callable[[], None]]:
    """A cursor write on ``t`` (holding ``[10i, 10i+5] = i``, or, for
    ``bulk_destroy``, a bulk load left with a short last leaf) and a check
    that it was made."""
    if name == "store":
        return lambda: MaState(t, 50, 59).store("w"), lambda: t.load(55) == "w" or _fail(name)
    if name == "store_gfp":
        return lambda: MaState(t, 50, 59).store_gfp("w"), lambda: t.load(55) == "w" or _fail(name)
    if name == "store_null":
        return (lambda: MaState(t, 10, 12).store(None),
                lambda: t.load(11) is None and t.load(13) == 1 or _fail(name))
    if name == "erase":
        return lambda: MaState(t, 12).erase(), lambda: t.load(10) is None or _fail(name)
    if name == "expected_entries":
        mas = MaState(t)
        return lambda: mas.expected_entries(10), lambda: None
    assert name == "bulk_destroy"
    mas = MaState(t)
    with t.lock:                       # test_interleaving's bulk_end recipe
        mas.expected_entries(100)
        for i in range(24):
            mas.set_range(i, i)
            mas.store(i)
        mas.set_range(14, 23)
        mas.store(None)
    return mas.destroy, lambda: [len(lf["pivots"]) for lf in leaves(t)] == [9, 6] or _fail(name)


def _fail(name: str) -> None:
    raise AssertionError(f"the cursor write {name} was not made")


@pytest.mark.parametrize("flags", [0, MT_FLAGS_USE_RCU, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU],
                         ids=["f0", "rcu", "alloc_rcu"])
@pytest.mark.parametrize("name", CURSOR_WRITES)
def test_lock_debug_refuses_cursor_writes_without_the_lock(name, flags):
    """Lock debugging: a cursor write without the lock raises StateError and
    changes nothing; the same write under ``with tree.lock`` is made."""
    t = MapleTree(flags)
    if name != "bulk_destroy":
        for i in range(30):
            t.store_range(10 * i, 10 * i + 5, i)
    call, made = _cursor_write(t, name)
    before = t.structure()
    with lock_debugging():
        with pytest.raises(StateError):
            call()
        assert t.structure() == before
        assert not t.lock.locked()
        with t.lock:
            call()
    made()
    t.validate(exempt_rightmost=True)


def test_lock_debug_bulk_load_under_the_lock():
    t = MapleTree(MT_FLAGS_USE_RCU)
    mas = MaState(t)
    with lock_debugging(), t.lock:
        mas.expected_entries(10)
        for i in range(10):
            mas.set_range(10 * i, 10 * i + 5)
            mas.store(i)
        mas.destroy()
    assert len(t) == 10
    t.validate(exempt_rightmost=True)


def test_lock_debug_spares_normal_writes_and_reads():
    """Normal-API writes take the lock themselves: lock debugging changes
    nothing for them, nor for reads (cursor reads included)."""
    with lock_debugging():
        for flags in (MT_FLAGS_ALLOC_RANGE, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU):
            t = MapleTree(flags)
            for i in range(100):
                t.store_range(10 * i, 10 * i + 5, i)
            for i in range(0, 100, 3):
                assert t.erase(10 * i) == i
            t.insert(7, "x")
            assert t.load(t.alloc_range(3, "y")) == "y"
            assert t.load(t.alloc_rrange(3, "z")) == "z"
            t.alloc_cyclic("c", 2000, 3000, 2000)
            t.set_in_rcu()
            t.clear_in_rcu()
            t.validate()
            mas = MaState(t, 0)
            assert mas.find() is not None and mas.next() is not None
            assert MaState(t, 15).walk() == 1
            t.destroy()
            assert t.empty


def test_lock_debug_off_allows_cursor_writes_without_the_lock():
    t = MapleTree(MT_FLAGS_USE_RCU)
    MaState(t, 5, 9).store("x")
    assert t.load(7) == "x"


def test_lock_debug_exempts_lock_extern():
    """A tree whose caller serialises writers (LOCK_EXTERN) is not checked."""
    t = MapleTree(MT_FLAGS_LOCK_EXTERN)
    with lock_debugging():
        MaState(t, 5, 9).store("x")
    assert t.load(7) == "x"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "lock_debug"])
def test_normal_write_inside_with_tree_lock_runs(debug):
    """``tree.lock`` is reentrant (``TreeLock``'s documented choice, unlike
    the kernel's spinlock): a normal-API write while the same thread holds
    the lock runs instead of deadlocking, with or without lock debugging,
    and the thread still holds the lock after it.  (Run in a helper thread:
    should the write deadlock after all, the test fails instead of hanging.)"""
    t = MapleTree(MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE)
    t.store_range(5, 9, "a")
    results: dict[str, Any] = {}
    done = threading.Event()
    calls = [("store_range", lambda: t.store_range(20, 29, "b")),
             ("store", lambda: t.store(40, "c")),
             ("insert", lambda: t.insert(50, "d")),
             ("erase", lambda: t.erase(5)),
             ("alloc_range", lambda: t.alloc_range(3, "e", 100, 200)),
             ("cursor store", lambda: MaState(t, 60, 61).store("f"))]

    def body() -> None:
        try:
            with t.lock:
                for name, call in calls:
                    try:
                        call()
                        results[name] = t.lock.held()
                    except Exception as exc:  # noqa: BLE001 - reported below
                        results[name] = repr(exc)
        finally:
            done.set()

    with lock_debugging(debug):
        th = threading.Thread(target=body, daemon=True)
        th.start()
        if not done.wait(10):
            try:
                t.lock.release()      # a plain lock would let us unblock it
            except RuntimeError:
                pass
            pytest.fail(f"a normal-API write inside `with tree.lock:` deadlocked: {results}")
        th.join(10)
    assert results == {name: True for name, _ in calls}, results
    assert not t.lock.locked()
    assert list(t) == [(20, 29, "b"), (40, 40, "c"), (50, 50, "d"), (60, 61, "f"),
                       (100, 102, "e")]
    t.validate()


@pytest.mark.parametrize("flags", [0, MT_FLAGS_USE_RCU, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU],
                         ids=["f0", "rcu", "alloc_rcu"])
def test_two_writer_threads(flags):
    """Two threads write through the normal API at once, on interleaved
    cells of their own (stores, NULL stores, erases) and on a shared region
    where both only store the same object: the result is the sequential one
    (order-independent by design), the tree validates, len is right."""
    shared = ("shared",)
    cells = 400                       # cell c = [10c, 10c+9], owned by thread c % 2
    s_lo, s_hi = 10 * cells + 100, 10 * cells + 3000
    t = MapleTree(flags)
    for c in range(cells):
        t.store_range(10 * c, 10 * c + 5, ("init", c))

    def ops_of(who: int) -> list[tuple[str, int, int, Any]]:
        rng = random.Random(77 + who)
        out: list[tuple[str, int, int, Any]] = []
        for n in range(2500):
            x = rng.random()
            if x < 0.25:
                a = rng.randrange(s_lo, s_hi)
                out.append(("store", a, min(s_hi, a + rng.randrange(60)), shared))
                continue
            c = rng.randrange(who, cells, 2)
            a = 10 * c + rng.randrange(10)
            b = min(10 * c + 9, a + rng.randrange(6))
            if x < 0.75:
                out.append(("store", a, b, (who, n)))
            elif x < 0.9:
                out.append(("store", a, b, None))
            else:
                out.append(("erase", a, a, None))
        return out

    ops = [ops_of(0), ops_of(1)]
    errors: list[str] = []

    def run(who: int) -> None:
        try:
            for kind, a, b, v in ops[who]:
                if kind == "store":
                    t.store_range(a, b, v)
                else:
                    t.erase(a)
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    with switch_interval(1e-6):
        threads = [threading.Thread(target=run, args=(w,)) for w in (0, 1)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    assert not any(th.is_alive() for th in threads)
    assert not errors, errors[0]
    t.validate()

    model = MapleTree()               # the sequential run, thread 0 then thread 1
    for c in range(cells):
        model.store_range(10 * c, 10 * c + 5, ("init", c))
    for who in (0, 1):
        for kind, a, b, v in ops[who]:
            if kind == "store":
                model.store_range(a, b, v)
            else:
                model.erase(a)

    def normal(items: list[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
        """Merge touching ranges of the same entry (the shared region's stores
        leave order-dependent boundaries)."""
        out: list[tuple[int, int, Any]] = []
        for f, l, v in items:
            if out and out[-1][2] is v and out[-1][1] + 1 == f:
                out[-1] = (out[-1][0], l, v)
            else:
                out.append((f, l, v))
        return out

    got = list(t)
    assert normal(got) == normal(list(model))
    assert len(t) == len(got)


def test_writer_threads_serialise_with_a_cursor_writer():
    """A cursor writer under ``with tree.lock`` and a normal-API writer in
    another thread: both complete, the tree validates and holds both
    threads' (disjoint) writes."""
    t = MapleTree(MT_FLAGS_USE_RCU)
    errors: list[str] = []

    def normal() -> None:
        try:
            for i in range(1500):
                t.store_range(10 * i, 10 * i + 5, ("n", i))
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    def cursor() -> None:
        try:
            base = 10 * 2000
            for i in range(1500):
                with t.lock:
                    MaState(t, base + 10 * i, base + 10 * i + 5).store(("c", i))
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())

    with switch_interval(1e-6), lock_debugging():
        threads = [threading.Thread(target=normal), threading.Thread(target=cursor)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    assert not errors, errors[0]
    t.validate()
    assert len(t) == 3000
    assert t.load(10 * 1499 + 5) == ("n", 1499) and t.load(20000 + 10 * 1499) == ("c", 1499)


# ---------------------------------------------------------------------------
# 5. same-thread writes between the steps of a reader


class Val:
    """A unique entry (compared by identity)."""

    __slots__ = ("n",)
    _count = 0

    def __init__(self) -> None:
        Val._count += 1
        self.n = Val._count

    def __repr__(self) -> str:
        return f"V{self.n}"


@st.composite
def write_ops(draw):
    kind = draw(st.sampled_from(["store", "store", "null", "erase", "wide", "whole"]))
    a = draw(st.integers(0, 1300))
    if kind == "wide":
        return ("store", a, a + draw(st.integers(100, 800)), draw(st.booleans()))
    if kind == "whole":
        return ("store", 0, M, draw(st.booleans()))
    return (kind, a, a + draw(st.integers(0, 30)), True)


READER_KINDS = ["iter", "items", "reversed", "mas_next", "mas_for_each", "mas_prev"]


def _reader(t: MapleTree, kind: str, start: int) -> Iterator[tuple[int, int, Any]]:
    if kind == "iter":
        return iter(t)
    if kind == "items":
        return t.items(start, M)
    if kind == "reversed":
        return reversed(t)
    mas = MaState(t, start)
    if kind == "mas_for_each":
        return ((mas.index, mas.last, e) for e in mas.for_each())

    def chain() -> Iterator[tuple[int, int, Any]]:
        e = mas.find() if kind == "mas_next" else mas.find_rev()
        while e is not None:
            yield (mas.index, mas.last, e)
            e = mas.next() if kind == "mas_next" else mas.prev()
    return chain()


@settings(max_examples=250, deadline=None)
@given(flags=st.sampled_from(FLAGS), n=st.one_of(st.integers(0, 12), st.integers(30, 130)),
       kind=st.sampled_from(READER_KINDS), start=st.integers(0, 1400),
       ops=st.lists(write_ops(), max_size=40), gaps=st.lists(st.integers(0, 3), max_size=200))
def test_writes_between_reader_steps(flags, n, kind, start, ops, gaps):
    """RCU mode, one thread: random writes between the steps of an iterator
    or cursor.  No exception; no range twice or out of order; every range
    present the whole time is yielded; each yielded entry was held at both
    ends of its range at some instant since the reader was made."""
    t = MapleTree(flags | MT_FLAGS_USE_RCU)
    for i in range(n):
        t.store_range(10 * i, 10 * i + 5, Val())
    forward = kind not in ("reversed", "mas_prev")
    if kind in ("iter", "reversed"):
        start = 0 if forward else M
    snaps = [Snapshot(list(t))]
    reader = _reader(t, kind, start)
    seq: list[tuple[tuple[int, int, Any], int]] = []   # (range, snapshots existing then)
    ops = list(ops)
    gaps = list(gaps)
    for _ in range(5000):
        r = next(reader, None)
        if r is None:
            break
        seq.append((r, len(snaps)))
        for _ in range(gaps.pop() if gaps else 1):
            if not ops:
                break
            kind_, a, b, val = ops.pop()
            if kind_ == "erase":
                t.erase(a)
            else:
                t.store_range(a, b, Val() if val and kind_ != "null" else None)
            snaps.append(Snapshot(list(t)))
    else:
        raise AssertionError("the reader never ended")
    t.validate()
    got = [r for r, _ in seq]
    ends = [r[1] for r in got] if forward else [-r[0] for r in got]
    assert all(x < y for x, y in pairwise(ends)), got
    for (f, l, v), upto in seq:
        assert f <= l
        for k in (f, l):
            assert any(s.load(k) is v for s in snaps[:upto]), (
                f"{(f, l, v)} yielded, but key {k} never held {v!r}")
    # ranges present from the reader's making to its end
    always = set(snaps[0].items)
    for s in snaps[1:]:
        always &= set(s.items)
    for r in always:
        if (r[1] >= start) if forward else (r[0] <= start):
            assert r in got, f"{r} was present throughout but not yielded"
