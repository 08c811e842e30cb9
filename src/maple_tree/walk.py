"""Moving through the tree: the one descent, the one leaf step, and positions.

Every read and write finds its leaf with :func:`leaf_of` (the kernel's
``mtree_range_walk`` / ``mas_wr_walk_index`` descent) and moves to the next or
previous node of a level with :func:`next_node` / :func:`prev_node` (the
climb-and-descend of ``mas_next_node`` / ``mas_prev_node``), so the rules of
moving through the tree are written once.  A node's max is its last pivot; its
min is found by :func:`~maple_tree.node.node_min` only where it is needed.

A :class:`Pos` is the part of the kernel's ``ma_state`` that the rebuilding
write paths carry: a node, its bounds and an offset.  :func:`ascend`,
:func:`descend`, :func:`prev_sibling` and :func:`next_sibling` are the
kernel's ``mas_ascend``, ``mas_descend``, ``mas_prev_sibling`` and
``mas_next_sibling`` on it.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(20):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> leaf = leaf_of(t._root, 5)
>>> leaf is t._root.slots[0], next_node(leaf) is t._root.slots[1]
(True, True)
>>> [leaf.pivots[-1] for leaf, first_offset in iter_leaves(t._root, 100)]
[125, 18446744073709551615]
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from typing import final

from .constants import LEAF_64, ULONG_MAX
from .entries import ZERO_ENTRY
from .node import Node, RootEntry, leaf_entries, node_min

__all__ = ["Pos", "count_entries", "leaf_of", "neighbour", "next_node", "prev_node", "iter_leaves",
           "parent_position", "ascend", "descend", "prev_sibling", "next_sibling"]


def leaf_of(node: Node, index: int) -> Node:
    """The leaf below ``node`` whose range holds ``index``; ``index`` must lie
    in ``node``'s range.  O(height).

    >>> leaf = Node(LEAF_64, [ULONG_MAX], ["a"])
    >>> leaf_of(leaf, 5) is leaf
    True
    """
    while node.type != LEAF_64:
        child: Node = node.slots[bisect_left(node.pivots, index)]
        node = child
    return node


def neighbour(node: Node, forward: bool) -> Node | None:
    """The node after (``forward``) or before ``node`` on the same level, or
    None at the edge: climb to the first ancestor with a slot on that side,
    then descend its near edge.  :func:`next_node` and :func:`prev_node`
    name the two directions.  O(1) amortised over a walk of a level."""
    level = 0
    parent = node.parent
    while parent is not None:
        slot = node.parent_slot
        level += 1
        node = parent
        if slot < node.end if forward else slot > 0:
            child: Node = node.slots[slot + 1 if forward else slot - 1]
            for _ in range(level - 1):
                child = child.slots[0 if forward else child.end]
            return child
        parent = node.parent
    return None


def next_node(node: Node) -> Node | None:
    """The node right of ``node`` on the same level, or None at the right
    edge (``mas_next_node`` without its limit).  The new node's min is
    ``node``'s max + 1.  O(1) amortised over a walk of a level.

    >>> from maple_tree.constants import RANGE_64
    >>> parent = Node(RANGE_64, [9, ULONG_MAX], [Node(LEAF_64, [9], ["a"]),
    ...                                          Node(LEAF_64, [ULONG_MAX], ["b"])])
    >>> for i, child in enumerate(parent.slots):
    ...     child.parent, child.parent_slot = parent, i
    >>> next_node(parent.slots[0]) is parent.slots[1], next_node(parent.slots[1])
    (True, None)
    """
    return neighbour(node, True)


def prev_node(node: Node) -> Node | None:
    """The node left of ``node`` on the same level, or None at the left edge
    (``mas_prev_node`` without its limit).  The new node's max is ``node``'s
    min - 1.  O(1) amortised over a walk of a level."""
    return neighbour(node, False)


def count_entries(root: Node | RootEntry | None) -> int:
    """The number of ranges iteration yields from a tree with this root
    (neither NULL nor ``ZERO_ENTRY``), counted in the leaves.  O(n), a few
    C-level passes per leaf.

    >>> count_entries(Node(LEAF_64, [4, 9, ULONG_MAX], [None, "a", "b"])), count_entries(None)
    (2, 0)
    """
    if isinstance(root, Node):
        return sum(leaf_entries(leaf) for leaf, _ in iter_leaves(root, 0))
    return 0 if root is None or root.entry is ZERO_ENTRY else 1


def iter_leaves(root: Node, index: int = 0) -> Iterator[tuple[Node, int]]:
    """Every leaf ``(leaf, first_offset)`` from the one holding ``index`` on;
    ``first_offset`` is the slot of ``index`` in the first leaf, 0 after.
    O(1) amortised per leaf.  The tree must not change during the walk."""
    first = leaf_of(root, index)
    off = bisect_left(first.pivots, index)
    leaf: Node | None = first
    while leaf is not None:
        yield leaf, off
        off = 0
        leaf = next_node(leaf)


@final
class Pos:
    """A position in the tree: ``node`` with bounds ``[min, max]`` and ``offset``.

    ``index``/``last`` are the range the position stands for (used by the
    spanning engine).
    """

    __slots__ = ("node", "min", "max", "offset", "index", "last")

    def __init__(self, node: Node, min_: int = 0, max_: int = ULONG_MAX,
                 offset: int = 0, index: int = 0, last: int = 0) -> None:
        self.node: Node = node
        self.min: int = min_
        self.max: int = max_
        self.offset: int = offset
        self.index: int = index
        self.last: int = last

    def copy(self) -> Pos:
        """A copy (the kernel copies ``struct ma_state`` by value)."""
        return Pos(self.node, self.min, self.max, self.offset, self.index, self.last)

    def set(self, other: Pos) -> None:
        """Assign every field from ``other`` (``*mas = other``)."""
        self.node = other.node
        self.min = other.min
        self.max = other.max
        self.offset = other.offset
        self.index = other.index
        self.last = other.last

    def __repr__(self) -> str:
        return f"Pos({self.node!r}, [{self.min}, {self.max}], off={self.offset})"


def parent_position(node: Node, min_: int) -> tuple[Node, int, int, int]:
    """``mas_ascend``'s result for a non-root ``node`` whose min is ``min_``:
    ``(parent, parent min, parent max, slot of node in parent)``.  O(1)
    amortised (the parent's min is climbed for only when ``node`` is not its
    first child; otherwise it is ``min_``)."""
    parent = node.parent
    assert parent is not None, "the root has no parent position"
    slot = node.parent_slot
    return parent, node_min(parent) if slot else min_, parent.pivots[-1], slot


def ascend(pos: Pos) -> None:
    """``mas_ascend``: move to the parent, with its bounds; the offset becomes
    the slot of the old node.  At the root only the offset is reset to 0."""
    if pos.node.parent is None:
        pos.offset = 0
        return
    pos.node, pos.min, pos.max, pos.offset = parent_position(pos.node, pos.min)


def descend(pos: Pos) -> None:
    """``mas_descend``: move into child ``pos.offset`` of an internal node."""
    node = pos.node
    off = pos.offset
    if off:
        pos.min = node.pivots[off - 1] + 1
    pos.max = node.pivots[off]
    pos.node = node.slots[off]


def prev_sibling(pos: Pos) -> bool:
    """``mas_prev_sibling``: move to the previous child of the same parent."""
    node = pos.node
    if node.parent is None or not node.parent_slot:
        return False
    slot = node.parent_slot
    ascend(pos)
    pos.offset = slot - 1
    descend(pos)
    return True


def next_sibling(pos: Pos) -> bool:
    """``mas_next_sibling``: move to the next child of the same parent."""
    node = pos.node
    parent = node.parent
    if parent is None or node.parent_slot >= parent.end:
        return False
    slot = node.parent_slot
    ascend(pos)
    pos.offset = slot + 1
    descend(pos)
    return True
