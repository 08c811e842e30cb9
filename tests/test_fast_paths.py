"""The cheap write paths stay cheap: the common writes change one leaf in
place and allocate nothing (``stats().nodes_made`` / ``nodes_freed`` count
what the kernel would allocate and free)."""
from __future__ import annotations

import pytest

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree
from maple_tree.node import Node

FLAGS = [0, MT_FLAGS_ALLOC_RANGE]


def _w1(flags: int, n: int) -> MapleTree:
    t = MapleTree(flags)
    for i in range(n):
        t.store_range(10 * i, 10 * i + 5, i)
    return t


def _leaf_holding(t: MapleTree, key: int) -> Node:
    node = t._root
    while node.type != 1:
        node = node.slots[next(i for i, p in enumerate(node.pivots) if p >= key)]
    return node


def _costs(t: MapleTree) -> tuple[int, int]:
    s = t.stats()
    return s.nodes_made, s.nodes_freed


@pytest.mark.parametrize("flags", FLAGS)
def test_append_to_the_rightmost_leaf_allocates_nothing(flags):
    t = _w1(flags, 98)
    leaf = _leaf_holding(t, 10 * 97)
    assert leaf.end < 14  # room for the entry and the NULL after it
    before = _costs(t)
    t.store_range(980, 985, "new")
    assert _costs(t) == before and _leaf_holding(t, 980) is leaf
    t.validate()


@pytest.mark.parametrize("flags", FLAGS)
def test_exact_fit_overwrite_touches_one_slot(flags):
    t = _w1(flags, 100)
    leaf = _leaf_holding(t, 500)
    slots_before = list(leaf.slots)
    pivots_before = leaf.pivots
    before = _costs(t)
    t.store_range(500, 505, "x")
    assert _costs(t) == before and _leaf_holding(t, 500) is leaf
    assert leaf.pivots is pivots_before
    changed = [i for i, (a, b) in enumerate(zip(slots_before, leaf.slots)) if a is not b]
    assert changed == [leaf.pivots.index(505)]
    t.validate()


@pytest.mark.parametrize("flags", FLAGS)
def test_erase_above_the_minimum_does_not_rebalance(flags):
    t = _w1(flags, 100)
    leaf = _leaf_holding(t, 500)
    assert leaf.end > 8  # still above the minimum after losing two slots
    before = _costs(t)
    assert t.erase(502) == 50
    assert _costs(t) == before and _leaf_holding(t, 500) is leaf
    assert len(t) == 99
    t.validate()
