"""Duplication: copying a tree node for node (``__mt_dup`` / ``mas_dup_build``).

A copy has the same shape as the original (node types, pivots, gaps,
height) and shares its entry objects, as the kernel's copy shares the
pointers it stores; the nodes themselves are new, so the two trees evolve
independently.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(40):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> c = MapleTree(); dup_into(t, c)
>>> c.structure() == t.structure(), c._root is t._root
(True, False)
"""
from __future__ import annotations

from .constants import LEAF_64
from .core import TreeCore
from .node import Node, RootEntry

__all__ = ["copy_subtree", "dup_into"]


def copy_subtree(node: Node) -> Node:
    """Copy ``node`` and everything below it, depth first (``mas_dup_build``);
    entries are shared.  O(nodes below)."""
    new = Node(node.type, node.pivots[:], node.slots[:],
               node.gaps[:] if node.gaps is not None else None)
    if node.type != LEAF_64:
        slots = new.slots
        for i, child in enumerate(slots):
            copy = copy_subtree(child)
            copy.parent = new
            copy.parent_slot = i
            slots[i] = copy
    return new


def dup_into(src: TreeCore, dst: TreeCore) -> None:
    """Make the empty tree ``dst`` a node-for-node copy of ``src``
    (``__mt_dup``).  O(n)."""
    root = src._root
    if isinstance(root, RootEntry):
        dst._root = RootEntry(root.entry)
    elif root is not None:
        dst._root = copy_subtree(root)
    dst._height = src._height
