"""Duplication: copying a tree node for node (``__mt_dup`` / ``mas_dup_build``).

A copy has the same shape as the original (node types, pivots, gaps,
height) and shares its entry objects, as the kernel's copy shares the
pointers it stores; the nodes themselves are new, so the two trees evolve
independently.  Two orders build the same copy:

* :func:`copy_depth_first`, the kernel's ``mas_dup_build``: each node, then
  its subtrees one after the other;
* :func:`copy_breadth_first`, the order proposed on the maple-tree list when
  fork's duplication was designed: a whole level, then the level below.

``benchmarks/building.py`` measures both; :func:`dup_into` uses the faster
(see ``docs/building.md``).

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(40):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> a, b = copy_depth_first(t._root), copy_breadth_first(t._root)
>>> c = MapleTree(); dup_into(t, c)
>>> c.structure() == t.structure(), c._root is t._root
(True, False)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .constants import LEAF_64, MT_FLAGS_USE_RCU
from .core import TreeCore, gc_paused
from .entries import ZERO_ENTRY
from .node import COMPILED, Node, RootEntry
from .state import MaState

__all__ = ["copy_depth_first", "copy_breadth_first", "dup_into", "fork_into", "CopyOrder",
           "CopyEntry"]

#: what fork asks for each range: ``(first, last, entry) -> the copy's entry``
#: (None drops the range from the copy)
CopyEntry = Callable[[int, int, Any], Any]

#: a way to copy a subtree: ``(root of the subtree) -> (its copy, nodes made)``
CopyOrder = Callable[[Node], "tuple[Node, int]"]


def _clone(node: Node, parent: Node | None, slot: int) -> Node:
    """A new node with ``node``'s type, pivots, slots and gaps (lists copied,
    entries shared), hanging from ``parent`` at ``slot``.  O(slots)."""
    gaps = node.gaps
    new = Node(node.type, node.pivots[:], node.slots[:], None if gaps is None else gaps[:])
    new.parent = parent
    new.parent_slot = slot
    return new


def _native_blank(cls: type[Node]) -> Node:
    """A node whose fields the caller sets next (compiled build: a native
    class is made through its constructor)."""
    return cls(LEAF_64, _NO_KEYS, _NO_KEYS)


_NO_KEYS: list[Any] = []
#: a node with no field set, for :func:`_clone_children` to fill in; the pure
#: build skips ``Node.__init__`` (a fifth of the time per copied node)
_new_node: Callable[[type[Node]], Node] = _native_blank if COMPILED else object.__new__


def _clone_children(node: Node) -> list[Node]:
    """Replace every child of the internal ``node`` (a new node whose slots
    still point at the source's children) with a :func:`_clone` of it;
    return ``node.slots``.  The clone is inlined, every field of
    :class:`~maple_tree.node.Node` set here: a copy is one node after
    another, and a call per node is a sixth of the copy's time.  O(slots
    of the children)."""
    slots = node.slots
    for i, child in enumerate(slots):
        new: Node = _new_node(Node)
        new.type = child.type
        new.pivots = child.pivots[:]
        new.slots = child.slots[:]
        gaps = child.gaps
        new.gaps = None if gaps is None else gaps[:]
        new.end = child.end
        new.parent = node
        new.parent_slot = i
        new.dead = False
        slots[i] = new
    return slots


def copy_depth_first(root: Node) -> tuple[Node, int]:
    """Copy ``root``'s subtree in depth-first pre-order (``mas_dup_build``);
    return the copy and the number of nodes made.  O(nodes)."""
    top = _clone(root, None, 0)
    made = 1
    stack = [top] if top.type != LEAF_64 else []
    while stack:
        children = _clone_children(stack.pop())
        made += len(children)
        if children[0].type != LEAF_64:
            stack += reversed(children)  # the leftmost child is copied next
    return top, made


def copy_breadth_first(root: Node) -> tuple[Node, int]:
    """Copy ``root``'s subtree level by level; return the copy and the number
    of nodes made.  O(nodes)."""
    top = _clone(root, None, 0)
    made = 1
    level = [top]
    while level[0].type != LEAF_64:
        below: list[Node] = []
        for node in level:
            below += _clone_children(node)
        made += len(below)
        level = below
    return top, made


def dup_into(src: TreeCore, dst: TreeCore, order: CopyOrder = copy_breadth_first) -> None:
    """Make the empty tree ``dst`` a node-for-node copy of ``src``
    (``__mt_dup``), copying nodes in ``order``, with Python's cyclic garbage
    collector paused (:func:`~maple_tree.core.gc_paused`) for trees of
    height 4 or more.  O(n)."""
    root = src._root
    if isinstance(root, RootEntry):
        dst._root = RootEntry(root.entry)
    elif root is not None:
        if src._height > 3:  # a few hundred nodes at most below: not worth a pause
            with gc_paused():
                dst._root, made = order(root)
        else:
            dst._root, made = order(root)
        dst._nodes_made += made
    dst._height = src._height
    dst._entries = src._entries


def fork_into(src: TreeCore, dst: TreeCore, copy: CopyEntry) -> None:
    """What ``dup_mmap`` does to a new process's tree: make the empty tree
    ``dst`` a node-for-node copy of ``src`` (:func:`dup_into`), then walk the
    copy with one cursor and store ``copy(first, last, entry)`` over each
    range (an exact fit), or NULL where ``copy`` returns None (a
    ``VM_DONTCOPY`` area: the store merges NULL neighbours and may rebalance).
    ``ZERO_ENTRY`` ranges are left alone.  The copy is out of RCU mode
    during the walk and back in it after, if ``src`` was.  Whatever ``copy``
    raises propagates; ``src`` is never changed.  O(n) plus the dropped
    ranges' stores.
    """
    dup_into(src, dst)
    rcu = dst._flags & MT_FLAGS_USE_RCU
    dst._flags &= ~MT_FLAGS_USE_RCU
    try:
        _replace_entries(dst, copy)
    finally:
        dst._flags |= rcu


def _replace_entries(tree: TreeCore, copy: CopyEntry) -> None:
    """The ``dup_mmap`` walk of :func:`fork_into` over ``tree``, the copy."""
    mas = MaState(tree, 0)
    root = tree._root
    if isinstance(root, RootEntry):
        # A direct root is copied by one store: the kernel's walk would meet
        # it again and again (a store into a direct root restarts the state),
        # which a process's tree, never holding an entry at 0, does not meet.
        mas.store(copy(0, 0, root.entry))
        return
    for entry in mas.for_each():
        if entry is ZERO_ENTRY:
            continue
        replacement = copy(mas.index, mas.last, entry)
        if replacement is None:
            mas.store_gfp(None)
        else:
            mas.store(replacement)
    mas.destroy()
