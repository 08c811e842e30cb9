"""Read path: walking down to a leaf, and moving between nodes of one level.

A :class:`Pos` is the part of the kernel's ``ma_state`` that a walk needs:
the node, its bounds (``min``/``max``, which nodes do not store) and an
offset.  ``ascend``/``descend``/``prev_sibling``/``next_sibling`` are the
kernel's ``mas_ascend``/``mas_descend``/``mas_prev_sibling``/``mas_next_sibling``.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(20):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> pos = Pos(t._root.slots[0], 0, t._root.pivots[0])
>>> next_sibling(pos), pos.min == t._root.pivots[0] + 1, pos.node is t._root.slots[1]
(True, True, True)
"""
from __future__ import annotations


from .constants import ULONG_MAX
from .node import Node, node_min

__all__ = ["Pos", "ascend", "descend", "prev_sibling", "next_sibling"]


class Pos:
    """A position in the tree: ``node`` with bounds ``[min, max]`` and ``offset``.

    ``node is None`` plays the kernel's ``ma_none`` status for the helper
    states of split and rebalance.  ``index``/``last`` are the range the
    position stands for (used by walks and the spanning engine).
    """

    __slots__ = ("node", "min", "max", "offset", "index", "last")

    def __init__(self, node: Node | None = None, min_: int = 0, max_: int = ULONG_MAX,
                 offset: int = 0, index: int = 0, last: int = 0) -> None:
        self.node = node
        self.min = min_
        self.max = max_
        self.offset = offset
        self.index = index
        self.last = last

    def copy(self) -> "Pos":
        """A copy (the kernel copies ``struct ma_state`` by value)."""
        return Pos(self.node, self.min, self.max, self.offset, self.index, self.last)

    def set(self, other: "Pos") -> None:
        """Assign every field from ``other`` (``*mas = other``)."""
        self.node = other.node
        self.min = other.min
        self.max = other.max
        self.offset = other.offset
        self.index = other.index
        self.last = other.last

    def __repr__(self) -> str:
        return f"Pos({self.node!r}, [{self.min}, {self.max}], off={self.offset})"


def ascend(pos: Pos) -> None:
    """``mas_ascend``: move to the parent, with its bounds; the offset becomes
    the slot of the old node.  At the root only the offset is reset to 0."""
    node = pos.node
    parent = node.parent
    if parent is None:
        pos.offset = 0
        return
    slot = node.parent_slot
    pos.offset = slot
    pos.node = parent
    grand = parent.parent
    pos.max = grand.pivots[parent.parent_slot] if grand is not None else ULONG_MAX
    if slot:
        pos.min = node_min(parent)
    # slot 0: the parent starts where the child starts (pos.min unchanged)


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
    if parent is None or node.parent_slot + 1 >= len(parent.pivots):
        return False
    slot = node.parent_slot
    ascend(pos)
    pos.offset = slot + 1
    descend(pos)
    return True
