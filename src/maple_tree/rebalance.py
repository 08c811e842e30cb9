"""Rebalancing and spanning stores: the kernel's ``mas_spanning_rebalance`` engine.

Two write paths end here:

* a **rebalance** (``mas_rebalance``): a non-root leaf would drop below its
  minimum occupancy, so its new content is joined with the next sibling
  (else the previous one);
* a **spanning store** (``mas_wr_spanning_store``): the write crosses a child
  boundary of some internal node, or writes NULL up to a node's end, so the
  content of the leaf holding ``index`` (with the write applied) and the rest
  of the leaf holding ``last + 1`` are joined.

Both hand a :class:`BigNode` and the two original leaf positions to
:func:`spanning_rebalance`, which climbs one level per round: cut the data
into one, two or three new nodes, put them between the untouched slots of
the parent level, and pull in a neighbour (possibly a cousin) when a level
would be left short.  It stops when one node replaces the old one, and may
make a new root (the tree shrinks) or add one (the tree grows).

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(40):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> t.height
2
>>> t.store_range(0, 395, None)     # spanning NULL store: the tree collapses
>>> t.height, list(t)
(0, [])
"""
from __future__ import annotations

from .bignode import (
    BigNode,
    append_child,
    calc_split,
    copy_in,
    node_from_big,
    prepend_node,
)
from .constants import LEAF_64, MT_FLAGS_USE_RCU, MT_MIN_SLOTS, MT_SLOTS, ULONG_MAX
from .core import TreeCore
from .gaps import update_gap
from .install import replace_subtree
from .node import Node, node_min
from .walk import Pos, ascend, descend, next_sibling, prev_sibling

__all__ = ["rebalance", "spanning_rebalance", "destroy_rebalance"]


def _pull_neighbour(bn: BigNode, orig_l: Pos, orig_r: Pos, l: Pos) -> bool:
    """``mast_spanning_rebalance``: join the nearest node at this level, right
    first (a cousin if need be), else the left one; False at the tree edges."""
    r_tmp = orig_r.copy()
    l_tmp = orig_l.copy()
    depth = 0
    while True:
        ascend(orig_r)
        ascend(orig_l)
        depth += 1
        if orig_r.offset < orig_r.node.end:
            orig_r.offset += 1
            for _ in range(depth):
                descend(orig_r)
                orig_r.offset = 0
            copy_in(bn, orig_r, 0, MT_SLOTS[orig_r.node.type])
            orig_r.last = orig_r.max
            orig_l.set(l_tmp)
            return True
        if orig_l.offset:
            orig_l.offset -= 1
            for _ in range(depth):
                descend(orig_l)
                orig_l.offset = orig_l.node.end
            count = prepend_node(bn, orig_l.node)
            l.min = orig_l.min
            orig_l.index = orig_l.min
            l.offset += count
            orig_r.set(r_tmp)
            return True
        if orig_r.node.parent is None:
            break
    orig_r.set(r_tmp)
    orig_l.set(l_tmp)
    return False


def _node_walk(pos: Pos, index: int) -> None:
    """``mas_wr_node_walk`` from offset 0: the slot of ``pos.node`` holding ``index``."""
    node = pos.node
    pivots = node.pivots
    end = node.end
    off = 0
    while off < end and index > pivots[off]:
        off += 1
    pos.offset = off


def _ascend_pair(orig_l: Pos, orig_r: Pos, l: Pos) -> None:
    """``mast_ascend``: move both original sides one level up and find the
    slots that the new nodes (from ``l.min`` to ``orig_r``'s max) replace."""
    r_max = orig_r.max
    ascend(orig_l)
    ascend(orig_r)
    orig_r.index = r_max
    if orig_r.last < orig_r.index:
        orig_r.last = orig_r.index
    _node_walk(orig_r, orig_r.index)
    orig_l.index = l.min
    _node_walk(orig_l, orig_l.index)


def spanning_rebalance(tree: TreeCore, bn: BigNode, orig_l: Pos, orig_r: Pos,
                       count: int, path: str) -> None:
    """``mas_spanning_rebalance``: rebuild the part of the tree between the
    leaves ``orig_l`` and ``orig_r`` from ``bn``, level by level, for at most
    ``count`` levels (one more when a pulled-in neighbour needs it).  ``path``
    names the write path for the RCU test hook."""
    alloc = tree._alloc
    l = Pos(orig_l.node)  # the new left node of each level (node set per round)
    new_nodes: list[Node] = []
    if (orig_l.min != 0 or orig_r.max != ULONG_MAX) and len(bn.piv) <= MT_MIN_SLOTS[bn.type]:
        _pull_neighbour(bn, orig_l, orig_r, l)
    new_height = 0
    while count:
        count -= 1
        b_end = len(bn.piv) - 1
        ntype = orig_l.node.type
        bn.type = ntype
        if b_end < MT_SLOTS[ntype]:
            split, mid, has_right = b_end, 0, False
        else:
            split, mid = calc_split(bn, tree)
            has_right = True
        left = node_from_big(bn, 0, split, ntype)
        new_nodes.append(left)
        l.node = left
        l.min = orig_l.min
        l.max = orig_r.max if split == b_end else left.pivots[-1]
        m: Pos | None = None
        if mid:
            middle = node_from_big(bn, split + 1, mid, ntype)
            new_nodes.append(middle)
            m = Pos(middle, bn.piv[split] + 1, middle.pivots[-1])
            split = mid
        r: Pos | None = None
        if has_right:
            right = node_from_big(bn, split + 1, b_end, ntype)
            new_nodes.append(right)
            r = Pos(right, bn.piv[split] + 1, orig_r.max)
        new_height += 1
        if l.min == 0 and l.max == ULONG_MAX:
            # one node covers everything: it is the new root (the tree may shrink)
            replace_subtree(tree, None, left, new_height, 0, new_nodes, path)
            return
        _ascend_pair(orig_l, orig_r, l)
        bn = BigNode(orig_l.node.type, gap=[] if alloc else None)
        if orig_l.offset:
            copy_in(bn, orig_l, 0, orig_l.offset - 1)
        l.offset = len(bn.piv)
        append_child(bn, l)
        append_child(bn, m)
        append_child(bn, r)
        if bn.piv[-1] < orig_r.max:
            copy_in(bn, orig_r, orig_r.offset + 1, MT_SLOTS[orig_r.node.type])
            orig_r.last = orig_r.max
        orig_l.last = orig_l.max
        ptype = orig_l.node.type
        if len(bn.piv) > MT_MIN_SLOTS[ptype]:
            if len(bn.piv) > MT_SLOTS[ptype]:
                continue
            if orig_l.node is orig_r.node:
                break
            continue
        if orig_l.min == 0 and orig_l.max == ULONG_MAX:
            break
        _pull_neighbour(bn, orig_l, orig_r, l)
        if not count:
            count += 1
    final = node_from_big(bn, 0, MT_SLOTS[bn.type] - 1, orig_l.node.type)
    new_nodes.append(final)
    new_height += 1
    if l.min == 0 and final.pivots[-1] == ULONG_MAX:
        replace_subtree(tree, None, final, new_height, 0, new_nodes, path)
    else:
        replace_subtree(tree, orig_l.node, final, new_height, orig_l.min, new_nodes, path)


def rebalance(tree: TreeCore, mas: Pos, bn: BigNode) -> None:
    """``mas_rebalance``: the leaf at ``mas`` would be short; join its new
    content ``bn`` with the next sibling (else the previous) and rebuild."""
    l = mas.copy()
    r = mas.copy()
    if next_sibling(r):
        copy_in(bn, r, 0, MT_SLOTS[r.node.type])
        r.last = r.index = r.max
    else:
        prev_sibling(l)
        prepend_node(bn, l.node)
        l.index = l.last = l.min
    spanning_rebalance(tree, bn, l, r, tree._height, "rebalance")


def destroy_rebalance(tree: TreeCore, leaf: Node) -> bool:
    """``mas_destroy_rebalance``: the end of a bulk load left ``leaf`` (the
    leaf the loading cursor is on, normally the last) with fewer entries than
    a node should keep; move the entries after the middle of its left sibling
    into it (the sibling keeps slots ``0..8``, ``0..9`` if slot 8 is NULL).
    Returns False, changing nothing, if ``leaf`` has no left sibling.
    O(slots + height).

    Outside RCU mode both leaves keep their node objects and get new lists
    (the kernel rewrites them in place); in RCU mode two new leaves and a new
    parent replace them (:func:`_publish_pair`).
    """
    parent = leaf.parent
    slot = leaf.parent_slot
    if parent is None or not slot:
        return False
    left: Node = parent.slots[slot - 1]
    split = MT_SLOTS[LEAF_64] // 2
    if left.slots[split] is None:
        split += 1
    left_piv, left_sl = left.pivots[:split + 1], left.slots[:split + 1]
    leaf_piv = left.pivots[split + 1:] + leaf.pivots
    leaf_sl = left.slots[split + 1:] + leaf.slots
    if tree._flags & MT_FLAGS_USE_RCU:
        left, leaf = _publish_pair(tree, parent, slot, Node(LEAF_64, left_piv, left_sl),
                                   Node(LEAF_64, leaf_piv, leaf_sl))
    else:
        leaf.pivots, leaf.slots, leaf.end = leaf_piv, leaf_sl, len(leaf_piv) - 1
        left.pivots, left.slots, left.end = left_piv, left_sl, split
        parent.pivots[slot - 1] = left_piv[-1]
    if tree._alloc:
        left_min = node_min(left)
        update_gap(left, left_min)
        update_gap(leaf, left.pivots[-1] + 1)
    return True


def _publish_pair(tree: TreeCore, parent: Node, slot: int, new_left: Node,
                  new_leaf: Node) -> tuple[Node, Node]:
    """:func:`destroy_rebalance` in RCU mode: ``new_left`` and ``new_leaf``
    take the place of children ``slot - 1`` and ``slot`` of ``parent`` in a
    new parent, which is published in one assignment before the old three
    die.  Returns the two new leaves."""
    pivots = parent.pivots.copy()
    pivots[slot - 1] = new_left.pivots[-1]
    slots = parent.slots.copy()
    slots[slot - 1:slot + 1] = [new_left, new_leaf]
    gaps = None if parent.gaps is None else parent.gaps.copy()
    new_parent = Node(parent.type, pivots, slots, gaps)
    replace_subtree(tree, parent, new_parent, tree._height, node_min(parent),
                    [new_left, new_leaf, new_parent], "bulk_end")
    return new_left, new_leaf
