"""Splitting a leaf that overflows, upwards (the kernel's ``mas_split``).

The new content of the leaf (a :class:`BigNode`) is cut in two; the two new
nodes replace the old one in a copy of the parent's content, which is cut in
turn if it overflows, up to a new root.  Before cutting, each level tries to
push entries into a sibling with room ("push left", then "push right", like
a B* tree), which ends the climb early.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(16):
...     t.store(i, i)
>>> [c.pivots[-1] for c in t._root.slots]   # 17 entries cut (count - 1) // 2
[8, 18446744073709551615]
"""
from __future__ import annotations

from .bignode import (
    BigNode,
    append_child,
    calc_split,
    copy_in,
    no_null_split,
    node_from_big,
    prepend_node,
)
from .constants import ARANGE_64, LEAF_64, MT_MIN_SLOTS, MT_SLOTS, RANGE_64, ULONG_MAX
from .core import TreeCore
from .install import replace_subtree
from .node import Node
from .walk import Pos, ascend, next_sibling, prev_sibling

__all__ = ["split_store"]


class _SplitState:
    """What ``struct maple_subtree_state`` carries through a split: the new
    left and right nodes of the level being cut, and every node built."""

    __slots__ = ("alloc", "l", "r", "new_nodes")

    def __init__(self, tree: TreeCore, mas: Pos) -> None:
        self.alloc: bool = tree._alloc
        self.l: Pos = mas.copy()
        self.r: Pos = mas.copy()
        self.new_nodes: list[Node] = []


def _split_data(st: _SplitState, bn: BigNode, mas: Pos, split: int) -> None:
    """``mast_split_data``: cut ``bn`` after ``split`` into the new ``l`` and ``r`` nodes."""
    l, r = st.l, st.r
    l.node = node_from_big(bn, 0, split, bn.type)
    r.node = node_from_big(bn, split + 1, len(bn.piv) - 1, bn.type)
    st.new_nodes.append(l.node)
    st.new_nodes.append(r.node)
    l.offset = mas.node.parent_slot
    l.max = bn.piv[split]
    r.min = l.max + 1


def _fill_parent(st: _SplitState, mas: Pos, skip: int) -> BigNode:
    """``mast_fill_bnode``: the parent's content with the new pair in place of
    ``skip`` old children; ``mas`` moves up to the parent."""
    l, r = st.l, st.r
    if mas.node.parent is None:
        cp = False
    else:
        cp = True
        ascend(mas)
    bn = BigNode(mas.node.type, gap=[] if st.alloc else None)
    if cp and l.offset:
        copy_in(bn, mas, 0, l.offset - 1)
    split = len(bn.piv)
    append_child(bn, l)
    r.offset = len(bn.piv)
    append_child(bn, r)
    if cp and bn.piv[-1] != mas.max:
        copy_in(bn, mas, split + skip, MT_SLOTS[mas.node.type] - 1)
    return bn


def _final_node(st: _SplitState, mas: Pos, bn: BigNode) -> Node:
    """``mas_split_final_node``: the content fits one node; a new root when
    ``mas`` is at the root (the tree grows by one level)."""
    if mas.node.parent is None:
        bn.type = ARANGE_64 if st.alloc else RANGE_64
    node = node_from_big(bn, 0, MT_SLOTS[bn.type] - 1, bn.type)
    st.new_nodes.append(node)
    st.l.node = node
    st.l.max = node.pivots[-1]
    mas.offset = len(bn.piv) - 1
    return node


def _push(st: _SplitState, mas: Pos, bn: BigNode, left: bool) -> Node | None:
    """``mas_push_data``: move entries into a sibling with room instead of
    adding a node; returns the rebuilt parent, or None if the sibling is full."""
    node = mas.node
    parent = node.parent
    if parent is None:
        return None
    sib_slot = node.parent_slot + (-1 if left else 1)
    if sib_slot < 0 or sib_slot >= len(parent.pivots):
        return None
    end = parent.slots[sib_slot].end
    slot_total = len(bn.piv) - 1 + end
    space = 2 * MT_SLOTS[node.type] - 2
    if bn.type == LEAF_64:
        space -= 1
    if mas.max == ULONG_MAX:
        space -= 1
    if slot_total >= space:  # checked before moving a state: most pushes fail here
        return None
    tmp = mas.copy()
    if left:
        prev_sibling(tmp)
    else:
        next_sibling(tmp)
    split = MT_SLOTS[bn.type] - 2  # the sibling side ends with slots - 1 entries
    right_keep = MT_MIN_SLOTS[bn.type]
    if left:
        prepend_node(bn, tmp.node)
        mas.set(tmp)
        st.l.set(tmp)
    else:
        copy_in(bn, tmp, 0, end)
        st.r.set(tmp)
        split = slot_total - split
        right_keep -= 1  # 6.12.117 counts entries here, not the last index
    split = no_null_split(bn, split, right_keep)
    _split_data(st, bn, mas, split)
    parent_bn = _fill_parent(st, mas, 2)
    return _final_node(st, mas, parent_bn)


def split_store(tree: TreeCore, mas: Pos, bn: BigNode) -> None:
    """``mas_split``: install ``bn`` (the overflowing new content of the leaf at
    ``mas``) by splitting upwards; O(height) nodes are built."""
    st = _SplitState(tree, mas)
    orig_height = tree._height
    height = 0
    top: Node | None = None
    while height <= orig_height:
        height += 1
        if MT_SLOTS[bn.type] > len(bn.piv) - 1:
            top = _final_node(st, mas, bn)
            break
        st.l.set(mas)
        st.r.set(mas)
        top = _push(st, mas, bn, True)
        if top is None:
            top = _push(st, mas, bn, False)
        if top is not None:
            height += 1
            break
        split, _ = calc_split(bn, tree)
        _split_data(st, bn, mas, split)
        st.r.max = mas.max
        bn = _fill_parent(st, mas, 1)
    assert top is not None, "a split always ends in one node"
    replace_subtree(tree, mas.node, top, height, mas.min, st.new_nodes, "split")
