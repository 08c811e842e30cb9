"""Bad input for every ``MaState`` method and the allocation calls.

One test per case.  After every refused call the tree is unchanged
(``tree.structure()`` before/after) and, where the kernel defines it (argument
errors are refused before anything is touched; ``mas_empty_area*`` returns
``-EINVAL`` with the state untouched, conformance README "Details"), so is the
state: ``index``, ``last``, ``status``, ``node``, ``offset``, ``min``,
``max``.  ``-EBUSY`` instead leaves ``index``/``last`` = the window and status
``error`` (conformance finding 11).  Finally the 6.12.117 NULL dereferences of
finding 9 raise ``StateError`` and leave the state exactly as it was.
"""
from __future__ import annotations

import pytest

from maple_tree import (MT_FLAGS_ALLOC_RANGE, RETRY_ENTRY, ULONG_MAX, ZERO_ENTRY, BusyError,
                        InternalEntry, InvalidArgumentError, InvalidTypeError, MapleTree,
                        MaState, StateError)

M = ULONG_MAX
EINVAL, EBUSY = 22, 16

BAD_KEYS = [
    ("str", "5", InvalidTypeError),
    ("float", 5.0, InvalidTypeError),
    ("bool", True, InvalidTypeError),
    ("none", None, InvalidTypeError),
    ("negative", -1, InvalidArgumentError),
    ("too_big", M + 1, InvalidArgumentError),
]


def make_tree(flags: int = MT_FLAGS_ALLOC_RANGE) -> MapleTree:
    t = MapleTree(flags)
    t.store_range(10, 20, "a")
    t.store_range(30, 40, "b")
    for i in range(100, 200):  # height 2
        t.store_range(2 * i, 2 * i, i)
    t.validate()
    assert t.height >= 2
    return t


def active_state(tree: MapleTree) -> MaState:
    mas = MaState(tree, 15)
    assert mas.find(M) == "a" and mas.status == "active"
    return mas


def fields(mas: MaState) -> tuple:
    return (mas.index, mas.last, mas.status, mas.node, mas.offset, mas.min, mas.max)


def expect_refused(tree, mas, exc, fn, *args, errno=EINVAL, state_kept=True):
    before = tree.structure()
    snap = fields(mas) if mas is not None else None
    with pytest.raises(exc) as ei:
        fn(*args)
    assert ei.value.errno == errno
    assert tree.structure() == before, "a refused call changed the tree"
    if state_kept and mas is not None:
        assert fields(mas) == snap, "a refused call changed the state"
    return ei.value


# ---------------------------------------------------------------------------
# MaState construction

@pytest.mark.parametrize("bad", [None, object(), {}, "tree", 0], ids=lambda v: type(v).__name__)
def test_state_needs_a_maple_tree(bad):
    with pytest.raises(TypeError):
        MaState(bad)


BAD_CTOR = [(w,) + b for w in ("index", "last") for b in BAD_KEYS
            if not (w == "last" and b[1] is None)]  # last=None means last = index


@pytest.mark.parametrize("where,name,value,exc", BAD_CTOR,
                         ids=[f"{c[0]}-{c[1]}" for c in BAD_CTOR])
def test_state_bad_index_or_last(where, name, value, exc):
    tree = make_tree()
    args = (value, 5) if where == "index" else (5, value)
    expect_refused(tree, None, exc, MaState, tree, *args)


# ---------------------------------------------------------------------------
# one-key methods: limits of searches, set()

LIMIT_METHODS = ["find", "find_range", "find_rev", "find_range_rev", "next", "next_range",
                 "prev", "prev_range", "set"]


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("method", LIMIT_METHODS)
def test_bad_limit(method, name, value, exc):
    tree = make_tree()
    mas = active_state(tree)
    expect_refused(tree, mas, exc, getattr(mas, method), value)


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("method", ["for_each", "for_each_rev"])
def test_bad_iterator_limit(method, name, value, exc):
    tree = make_tree()
    mas = active_state(tree)
    expect_refused(tree, mas, exc, lambda v: list(getattr(mas, method)(v)), value)


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("pos", [0, 1])
def test_set_range_bad_key(pos, name, value, exc):
    tree = make_tree()
    mas = active_state(tree)
    args = [50, 60]
    args[pos] = value
    expect_refused(tree, mas, exc, mas.set_range, *args)


def test_set_range_first_after_last():
    tree = make_tree()
    mas = active_state(tree)
    expect_refused(tree, mas, InvalidArgumentError, mas.set_range, 61, 60)


# ---------------------------------------------------------------------------
# gap search

GAP = ["empty_area", "empty_area_rev"]


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("pos", [0, 1, 2], ids=["min", "max", "size"])
@pytest.mark.parametrize("method", GAP)
def test_gap_bad_key(method, pos, name, value, exc):
    tree = make_tree()
    mas = MaState(tree, 7)
    args = [0, 1000, 3]
    args[pos] = value
    expect_refused(tree, mas, exc, getattr(mas, method), *args)


@pytest.mark.parametrize("method", GAP)
@pytest.mark.parametrize("args", [(50, 49, 1), (50, 60, 0), (50, 60, 12), (0, 8, 10), (0, 0, 2),
                                  (M, M, 2), (0, M, 0)],
                         ids=["min_gt_max", "size0", "size_gt_window", "kernel_0_8_10",
                              "point_window_size2", "top_point_size2", "full_window_size0"])
def test_gap_invalid_window(method, args):
    tree = make_tree()
    mas = MaState(tree, 7)  # status start; -EINVAL leaves it untouched
    expect_refused(tree, mas, InvalidArgumentError, getattr(mas, method), *args)
    assert mas.status == "start"


@pytest.mark.parametrize("method", GAP)
@pytest.mark.parametrize("window", [(10, 20, 1), (30, 40, 2), (200, 399, 2), (10, 40, 10)],
                         ids=["full_range_a", "full_range_b", "dense_singles", "gap_too_small"])
def test_gap_busy(method, window):
    tree = make_tree()
    mas = MaState(tree, 7)
    err = expect_refused(tree, mas, BusyError, getattr(mas, method), *window, errno=EBUSY,
                         state_kept=False)
    assert isinstance(err, BusyError)
    # conformance README: -EBUSY leaves index/last = the window
    assert (mas.index, mas.last) == window[:2]
    # and a store through a state in error status is refused (contract rule 2)
    if mas.status == "error":
        expect_refused(tree, mas, StateError, mas.store, "x")


# ---------------------------------------------------------------------------
# stores through the state

@pytest.mark.parametrize("entry", [RETRY_ENTRY, InternalEntry(1), InternalEntry(256)],
                         ids=["RETRY_ENTRY", "internal_1", "internal_256"])
@pytest.mark.parametrize("how", ["store", "store_gfp"])
def test_store_advanced_entry(how, entry):
    tree = make_tree()
    mas = MaState(tree, 50)
    mas.set_range(50, 60)
    expect_refused(tree, mas, InvalidArgumentError, getattr(mas, how), entry)


@pytest.mark.parametrize("how", ["store", "store_gfp"])
@pytest.mark.parametrize("active", [False, True], ids=["start", "active"])
def test_store_index_after_last(how, active):
    tree = make_tree()
    mas = active_state(tree) if active else MaState(tree, 0)
    mas.index, mas.last = 50, 40  # set via the fields, as S_INDEX does
    expect_refused(tree, mas, InvalidArgumentError, getattr(mas, how), "x")


# ---------------------------------------------------------------------------
# allocation

ALLOC = ["alloc_range", "alloc_rrange"]


@pytest.mark.parametrize("method", ALLOC)
def test_alloc_on_non_alloc_tree(method):
    tree = make_tree(0)
    expect_refused(tree, None, InvalidArgumentError, getattr(tree, method), 4, "x", 0, 1000)


def test_alloc_cyclic_on_non_alloc_tree():
    tree = make_tree(0)
    expect_refused(tree, None, InvalidArgumentError, tree.alloc_cyclic, "x", 0, 1000, 0)


@pytest.mark.parametrize("entry", [ZERO_ENTRY, RETRY_ENTRY], ids=["ZERO_ENTRY", "RETRY_ENTRY"])
@pytest.mark.parametrize("method", ALLOC)
def test_alloc_reserved_entry(method, entry):
    tree = make_tree()
    expect_refused(tree, None, InvalidArgumentError, getattr(tree, method), 4, entry, 0, 1000)


@pytest.mark.parametrize("entry", [ZERO_ENTRY, RETRY_ENTRY], ids=["ZERO_ENTRY", "RETRY_ENTRY"])
def test_alloc_cyclic_reserved_entry(entry):
    tree = make_tree()
    expect_refused(tree, None, InvalidArgumentError, tree.alloc_cyclic, entry, 0, 1000, 0)


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("pos", [0, 2, 3], ids=["size", "min", "max"])
@pytest.mark.parametrize("method", ALLOC)
def test_alloc_bad_key(method, pos, name, value, exc):
    tree = make_tree()
    args = [4, "x", 0, 1000]
    args[pos] = value
    expect_refused(tree, None, exc, getattr(tree, method), *args)


@pytest.mark.parametrize("method", ALLOC)
@pytest.mark.parametrize("args", [(1, 50, 49), (0, 50, 60), (12, 50, 60)],
                         ids=["min_gt_max", "size0", "size_gt_window"])
def test_alloc_invalid_window(method, args):
    tree = make_tree()
    size, lo, hi = args
    expect_refused(tree, None, InvalidArgumentError, getattr(tree, method), size, "x", lo, hi)


@pytest.mark.parametrize("method", ALLOC)
def test_alloc_busy(method):
    tree = make_tree()
    expect_refused(tree, None, BusyError, getattr(tree, method), 2, "x", 200, 399, errno=EBUSY)


@pytest.mark.parametrize("name,value,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
@pytest.mark.parametrize("pos", [1, 2, 3], ids=["lo", "hi", "next"])
def test_alloc_cyclic_bad_key(pos, name, value, exc):
    tree = make_tree()
    args = ["x", 0, 1000, 0]
    args[pos] = value
    expect_refused(tree, None, exc, tree.alloc_cyclic, *args)


@pytest.mark.parametrize("nxt", [0, 60, 100], ids=["next_below", "next_inside", "next_above"])
def test_alloc_cyclic_lo_gt_hi(nxt):
    tree = make_tree()
    expect_refused(tree, None, InvalidArgumentError, tree.alloc_cyclic, "x", 61, 60, nxt)


def test_alloc_cyclic_busy():
    tree = make_tree()
    flags = tree.flags
    expect_refused(tree, None, BusyError, tree.alloc_cyclic, "x", 10, 20, 15, errno=EBUSY)
    assert tree.flags == flags


# ---------------------------------------------------------------------------
# conformance finding 9: 6.12.117 dereferences a NULL mas->node

def _two_ranges(flags):
    t = MapleTree(flags)
    t.store_range(10, 20, 10)
    t.store_range(30, 40, 30)
    return t


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
@pytest.mark.parametrize("case", [
    ("set", 5, "next", 3, "next", M),
    ("set", 5, "next", 3, "next_range", M),
    ("set", 35, "prev", 36, "prev", 0),
    ("set", 35, "prev", 36, "prev_range", 0),
    ("set", 35, "prev", 36, "find_rev", 0),
    ("set", 35, "prev", 36, "find_range_rev", 0),
    ("set", 5, "next", 3, "find_rev", 0),
], ids=["next_after_overflow", "next_range_after_overflow", "prev_after_underflow",
        "prev_range_after_underflow", "find_rev_after_underflow",
        "find_range_rev_after_underflow", "find_rev_after_overflow"])
def test_null_node_dereference_raises_state_error(flags, case):
    tree = _two_ranges(flags)
    mas = MaState(tree, 0)
    getattr(mas, case[0])(case[1])
    assert getattr(mas, case[2])(case[3]) is None
    assert mas.status in ("overflow", "underflow") and mas.node is None
    snap = (mas.index, mas.last, mas.status)
    before = tree.structure()
    with pytest.raises(StateError):
        getattr(mas, case[4])(case[5])
    assert (mas.index, mas.last, mas.status) == snap
    assert tree.structure() == before
    # and the state recovers after set()
    mas.set(15)
    assert mas.find(M) == 10 and (mas.index, mas.last) == (10, 20)


def test_paused_find_rev_chain_raises_state_error():
    """The natural route of finding 9: pause at 149, find_rev(149) underflows
    without a node, then find_rev(147) would dereference it."""
    tree = MapleTree()
    for i in range(100, 200, 2):
        tree.store_range(i, i, i)
    mas = MaState(tree, 149)
    mas.pause()
    assert mas.find_rev(149) is None and mas.status == "underflow"
    snap = (mas.index, mas.last, mas.status)
    with pytest.raises(StateError):
        mas.find_rev(147)
    assert (mas.index, mas.last, mas.status) == snap
