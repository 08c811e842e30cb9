"""Fork, duplication in both orders, bulk mode and node accounting.

The kernel's own recordings check fork and bulk mode node for node
(``tests/data/conformance``: ``fork_*``, ``bulk_*``); these tests drive them
with random trees against simple expectations: what a fork must hold, that
the source never changes, that both copy orders build the same tree, that a
bulk load holds what one-by-one stores hold, and that the node counters
always agree with the tree.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maple_tree import (MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU, ULONG_MAX, ZERO_ENTRY,
                        MapleTree, MaState)
from maple_tree.dup import copy_breadth_first, copy_depth_first

from refmodel import RefModel

FLAGS = [0, MT_FLAGS_ALLOC_RANGE]
M = ULONG_MAX


@st.composite
def trees(draw, max_ranges: int = 300):
    """A tree built by random stores (values are ints), sometimes with
    ZERO_ENTRY ranges and RCU mode on; returns ``(tree, ops)``."""
    flags = draw(st.sampled_from(FLAGS)) | draw(st.sampled_from([0, MT_FLAGS_USE_RCU]))
    t = MapleTree(flags)
    n = draw(st.integers(0, max_ranges))
    step = draw(st.integers(1, 20))
    width = draw(st.integers(0, step - 1))
    for i in range(n):
        value = ZERO_ENTRY if draw(st.integers(0, 30)) == 0 else i
        t.store_range(step * i, step * i + width, value)
    for _ in range(draw(st.integers(0, 10))):
        a = draw(st.integers(0, step * max(n, 1)))
        t.store_range(a, a + draw(st.integers(0, 50)), draw(st.sampled_from([None, 10**6 + a])))
    return t


def occupied(t: MapleTree) -> list:
    """Every non-NULL range, ZERO_ENTRY included."""
    mas = MaState(t, 0)
    return [(mas.index, mas.last, e) for e in mas.for_each()]


WRITES = st.lists(st.tuples(st.sampled_from(["store", "null", "erase"]),
                            st.integers(0, 6000), st.integers(0, 80)), max_size=30)


def writes_agree_with_the_model(t: MapleTree, ops: list, exempt_rightmost: bool) -> None:
    """Apply random stores, NULL stores and erases to ``t`` and to a
    reference model of its contents, validating ``t`` after each write."""
    model = RefModel(occupied(t))
    for kind, a, length in ops:
        if kind == "erase":
            got, want = t.erase(a), model.erase(a)
            assert got is want or want is ZERO_ENTRY
        else:
            entry = None if kind == "null" else ("w", a)
            t.store_range(a, a + length, entry)
            model.store_range(a, a + length, entry)
        t.validate(exempt_rightmost=exempt_rightmost)
        assert occupied(t) == model.ranges


@settings(max_examples=120, deadline=None)
@given(t=trees(), d=st.integers(1, 7), shift=st.integers(1, 3), ops=WRITES)
def test_fork_drops_and_copies_as_asked(t, d, shift, ops):
    before = t.structure()
    source = occupied(t)
    child = t.fork(lambda first, last, e: None if e % d == 0 else e * 1000 + shift)
    child.validate()
    assert t.structure() == before                     # the source never changes
    expected = [(f, l, e if e is ZERO_ENTRY else e * 1000 + shift)
                for f, l, e in source if e is ZERO_ENTRY or e % d]
    assert occupied(child) == expected
    assert child.flags == t.flags                      # RCU mode is back if it was on
    s = child.stats()
    assert s.nodes_made - s.nodes_freed == s.nodes
    writes_agree_with_the_model(child, ops, exempt_rightmost=False)  # and the copy keeps working
    assert t.structure() == before


def test_fork_keeping_everything_is_a_node_for_node_copy():
    t = MapleTree(MT_FLAGS_ALLOC_RANGE)
    for i in range(500):
        t.store_range(10 * i, 10 * i + 5, i)
    child = t.fork(lambda first, last, e: e)
    assert child.same_shape(t) and child == t
    assert child._root is not t._root


def test_fork_dropping_everything_leaves_an_empty_tree():
    t = MapleTree()
    for i in range(200):
        t.store_range(10 * i, 10 * i + 5, i)
    child = t.fork(lambda first, last, e: None)
    assert child.empty and child.height == 0 and len(t) == 200


def test_fork_when_copy_raises():
    t = MapleTree()
    for i in range(200):
        t.store_range(10 * i, 10 * i + 5, i)
    before = t.structure()
    seen = []

    def copy(first, last, e):
        seen.append(e)
        if e == 150:
            raise KeyError("no copy for 150")
        return None if e % 3 == 0 else e

    with pytest.raises(KeyError):
        t.fork(copy)
    assert seen[-1] == 150 and t.structure() == before
    t.validate()


def test_fork_refuses_a_reserved_replacement():
    from maple_tree import RETRY_ENTRY, InvalidArgumentError
    t = MapleTree()
    t.store_range(5, 9, "a")
    with pytest.raises(InvalidArgumentError):
        t.fork(lambda first, last, e: RETRY_ENTRY)
    assert list(t) == [(5, 9, "a")]


def test_fork_of_empty_and_direct_root_trees():
    assert MapleTree().fork(lambda f, l, e: e).empty
    t = MapleTree()
    t.store(0, 4)
    assert list(t.fork(lambda f, l, e: e + 1)) == [(0, 0, 5)]
    assert t.fork(lambda f, l, e: None).empty


@settings(max_examples=80, deadline=None)
@given(t=trees(max_ranges=2000))
def test_both_copy_orders_build_the_same_tree(t):
    if t._root is None or not hasattr(t._root, "pivots"):
        return
    for order in (copy_depth_first, copy_breadth_first):
        copy, made = order(t._root)
        other = MapleTree(t.flags)
        other._root, other._height, other._entries = copy, t.height, len(t)
        other.validate()
        assert other.structure() == t.structure()
        assert made == t.stats().nodes
        # entries shared, nodes not
        assert [e for _f, _l, e in occupied(other)] == [e for _f, _l, e in occupied(t)]
        assert all(a is b for (_, _, a), (_, _, b) in zip(occupied(other), occupied(t)))
        assert copy is not t._root


@st.composite
def sorted_ranges(draw):
    n = draw(st.integers(0, 800))
    ranges, key = [], draw(st.integers(0, 5))
    for i in range(n):
        key += draw(st.sampled_from([0, 0, 1, 3, 17]))
        length = draw(st.integers(0, 9))
        ranges.append((key, key + length, i))
        key += length + 1
    return ranges


@settings(max_examples=120, deadline=None)
@given(ranges=sorted_ranges(), flags=st.sampled_from(FLAGS), announce=st.integers(0, 2),
       assign=st.booleans(), ops=WRITES)
def test_bulk_load_holds_what_stores_hold(ranges, flags, announce, assign, ops):
    """``expected_entries`` + ascending cursor stores + ``destroy`` holds the
    same ranges as one-by-one stores; the tree validates with the kernel's
    rule (bulk mode may leave the rightmost nodes short) and keeps working."""
    t = MapleTree(flags)
    mas = MaState(t)
    mas.expected_entries(len(ranges) * announce)  # fewer, as many, twice as many
    for first, last, value in ranges:
        if assign:  # the vma_iter_bulk_store pattern: assign index/last, store
            mas.index, mas.last = first, last
        else:
            mas.set_range(first, last)
        mas.store(value)
        t.validate(exempt_rightmost=True)
    mas.destroy()
    t.validate(exempt_rightmost=True)
    ref = MapleTree(flags)
    for first, last, value in ranges:
        ref.store_range(first, last, value)
    assert t == ref
    if ranges:  # and it keeps working
        a = ranges[len(ranges) // 2][0]
        t.store_range(a, a + 40, "x")
        ref.store_range(a, a + 40, "x")
        t.erase(ranges[0][0])
        ref.erase(ranges[0][0])
        t.validate(exempt_rightmost=True)
        assert t == ref
    writes_agree_with_the_model(t, ops, exempt_rightmost=True)


def test_bulk_load_packs_leaves_to_the_left():
    """A bulk load packs its leaves to the left (finding of the recordings:
    most hold 15-16 slots); ascending one-by-one appends pack as well, since
    their splits first push into the left sibling, while random-order
    inserts leave the leaves about 80% full."""
    import random

    def leaf_fill(t):
        return t.stats().levels[-1].fill

    bulk, appends, shuffled = MapleTree(), MapleTree(), MapleTree()
    mas = MaState(bulk)
    mas.expected_entries(5000)
    for i in range(5000):
        mas.set_range(10 * i, 10 * i + 5)
        mas.store(i)
        appends.store_range(10 * i, 10 * i + 5, i)
    mas.destroy()
    order = list(range(5000))
    random.Random(1).shuffle(order)
    for i in order:
        shuffled.store_range(10 * i, 10 * i + 5, i)
    assert bulk == appends == shuffled
    assert leaf_fill(bulk) > 0.95 and leaf_fill(appends) > 0.95 > 0.9 > leaf_fill(shuffled)
    assert bulk.stats().nodes_made <= appends.stats().nodes_made < shuffled.stats().nodes_made


def test_store_gfp_and_erase_end_bulk_mode():
    t = MapleTree()
    mas = MaState(t)
    mas.expected_entries(10)
    mas.set_range(0, 5)
    mas.store_gfp("a")                  # mas_store_gfp ends with mas_destroy
    assert not mas._bulk
    mas.expected_entries(10)
    mas.set(100)
    assert mas.erase() is None and mas._bulk  # nothing erased: bulk mode goes on
    mas.set(3)
    assert mas.erase() == "a" and not mas._bulk


def test_destroy_without_a_node_where_the_kernel_would_crash():
    """A bulk split asked for the final check, but the state was paused: the
    kernel would walk from a NULL node; here StateError, nothing changed."""
    from maple_tree import StateError
    t = MapleTree()
    mas = MaState(t)
    mas.expected_entries(100)
    for i in range(40):
        mas.set_range(10 * i, 10 * i + 5)
        mas.store(i)
    assert mas._bulk_rebalance
    mas.pause()
    before = t.structure()
    with pytest.raises(StateError):
        mas.destroy()
    assert t.structure() == before and mas._bulk and mas.status == "pause"
    mas.reset()
    mas.destroy()
    assert not mas._bulk


def test_destroy_rebalances_a_short_last_leaf():
    """``mas_destroy_rebalance``: a bulk load whose last leaf holds fewer
    than 5 slots takes the entries after slot 8 of its left sibling.
    Ascending loads never leave one (the recordings show it); a NULL store in
    bulk mode, which never rebalances, does."""
    t = MapleTree(MT_FLAGS_ALLOC_RANGE)
    mas = MaState(t)
    mas.expected_entries(100)
    for i in range(24):
        mas.set_range(i, i)
        mas.store(i)
    assert [len(leaf.slots) for leaf in t._root.slots] == [11, 14]
    mas.set_range(14, 23)
    mas.store(None)                      # bulk mode: the last leaf is left with 4 slots
    assert [len(leaf.slots) for leaf in t._root.slots] == [11, 4]
    mas.destroy()
    assert [len(leaf.slots) for leaf in t._root.slots] == [9, 6]
    assert [leaf.pivots[-1] for leaf in t._root.slots] == [8, M]
    t.validate(exempt_rightmost=True)
    assert [e for _f, _l, e in t] == list(range(14))


@settings(max_examples=60, deadline=None)
@given(t=trees(), ops=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3000),
                                        st.integers(0, 60)), max_size=40))
def test_node_counters_agree_with_the_tree(t, ops):
    """``nodes_made - nodes_freed`` is always the number of nodes in the tree."""
    trees_ = [t]
    for kind, a, length in ops:
        if kind == 0:
            t.store_range(a, a + length, a)
        elif kind == 1:
            t.store_range(a, a + length, None)
        elif kind == 2:
            t.erase(a)
        elif kind == 3:
            trees_.append(t.dup())
        else:
            trees_.append(t.fork(lambda f, l, e: None if f % 3 == 0 else e))
    t.store_range(0, M, "all")
    t.store_range(0, M, None)
    for tree in trees_:
        s = tree.stats()
        assert s.nodes_made - s.nodes_freed == s.nodes
    t.destroy()
    s = t.stats()
    assert s.nodes == 0 and s.nodes_made == s.nodes_freed


def test_rcu_leaf_rewrites_count_a_node():
    """Outside RCU mode an in-leaf write is made in place (no node); in RCU
    mode the kernel's node store allocates a new leaf (one made, one freed),
    while its two-slot slot store stays in place."""
    counts = []
    for rcu in (False, True):
        t = MapleTree()
        for i in range(3):
            t.store_range(10 * i, 10 * i + 5, i)
        if rcu:
            t.set_in_rcu()
        before = t.stats()
        t.store_range(2, 3, "cut")             # one range becomes three: a node store
        mid = t.stats()
        t.store_range(12, 19, "two")           # [10,15] [16,19] -> [10,11] [12,19]: a two-slot write
        after = t.stats()
        counts.append((mid.nodes_made - before.nodes_made, mid.nodes_freed - before.nodes_freed,
                       after.nodes_made - mid.nodes_made))
        assert after.nodes == 1
    assert counts == [(0, 0, 0), (1, 1, 0)]
