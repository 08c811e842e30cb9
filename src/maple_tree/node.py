"""Tree nodes: the kernel's ``maple_leaf_64``, ``maple_range_64`` and ``maple_arange_64``.

A node holds what the kernel node holds, shaped for Python speed:

* ``pivots``: the inclusive upper bound of every *used* slot, so
  ``pivots[-1]`` is the node's max (the kernel leaves it implied for a full
  node; keeping it explicit lets ``bisect_left(pivots, index)`` find the slot
  of ``index`` in one C call);
* ``end``: the offset of the last used slot, ``len(pivots) - 1`` (the
  kernel's ``ma_data_end``, which it keeps in the node's metadata); whoever
  changes the length of a node's lists sets it again;
* ``slots``: entries (leaves; ``None`` is an empty slot) or child nodes;
* ``gaps``: for ``arange_64`` the largest free gap under each child, else None;
* ``parent`` / ``parent_slot``: the kernel's encoded parent pointer (``None``
  for the root);
* ``dead``: set when the node is replaced (``mte_set_node_dead``); a dead
  node's parent becomes :data:`DEAD_PARENT` (see :func:`kill_node`).

A node's min is not stored: it comes from the parent during a walk, as in C.

>>> n = Node(LEAF_64, [9, ULONG_MAX], ["a", None])
>>> n.end, n.max, n.is_leaf
(1, 18446744073709551615, True)
"""
from __future__ import annotations

from itertools import repeat
from operator import is_
from types import FunctionType
from typing import Any, Final, final

from .constants import (
    ARANGE_64,
    LEAF_64,
    MT_MIN_SLOTS,
    MT_SLOTS,
    RANGE_64,
    TYPE_NAMES,
    ULONG_MAX,
)
from .entries import ZERO_ENTRY

__all__ = ["COMPILED", "Node", "RootEntry", "LEAF_64", "RANGE_64", "ARANGE_64", "node_min",
           "leaf_max_gap", "node_max_gap", "leaf_entries", "count_visible", "kill_node", "kill_subtree",
           "DEAD_PARENT"]


@final
class Node:
    """One tree node; see the module docstring for the fields."""

    __slots__ = ("type", "pivots", "slots", "gaps", "end", "parent", "parent_slot", "dead")

    def __init__(self, type: int, pivots: list[int], slots: list[Any],
                 gaps: list[int] | None = None) -> None:
        self.type: int = type
        self.pivots: list[int] = pivots
        self.slots: list[Any] = slots
        self.gaps: list[int] | None = gaps
        self.end: int = len(pivots) - 1
        self.parent: Node | None = None
        self.parent_slot: int = 0
        self.dead: bool = False

    @property
    def is_leaf(self) -> bool:
        """``ma_is_leaf``."""
        return self.type == LEAF_64

    @property
    def max(self) -> int:
        """The node's upper bound (the last pivot)."""
        return self.pivots[-1]

    @property
    def capacity(self) -> int:
        """``mt_slots`` of the node's type."""
        return MT_SLOTS[self.type]

    @property
    def min_end(self) -> int:
        """``mt_min_slots``: the smallest ``end`` a non-root node keeps."""
        return MT_MIN_SLOTS[self.type]

    def __repr__(self) -> str:
        return f"<Node {TYPE_NAMES.get(self.type, self.type)} end={self.end} max={self.pivots[-1]}>"


#: the parent of every dead node: itself dead, with no parent.  The kernel
#: points a dead node's parent at the node itself; a shared sentinel forgets
#: the old parent as well, without a reference cycle, so CPython frees dead
#: nodes by reference counting as soon as the last reader lets go instead of
#: leaving them to the cyclic GC (whose full collections over a large heap of
#: dead nodes once doubled write times at N = 1,000,000).  A climb that meets
#: it has met a dead node: it must not take it for the root (whose parent is
#: None).
DEAD_PARENT: Final = Node(LEAF_64, [ULONG_MAX], [None])
DEAD_PARENT.dead = True


def kill_node(node: Node) -> None:
    """``mte_set_node_dead``: mark a replaced node dead; its parent becomes
    :data:`DEAD_PARENT`.  Readers in RCU mode check ``dead`` after reading a
    node and walk again from the root if it is set.  O(1).

    >>> parent = Node(RANGE_64, [ULONG_MAX], [Node(LEAF_64, [ULONG_MAX], [None])])
    >>> child = parent.slots[0]; child.parent = parent
    >>> kill_node(child); child.dead, child.parent is DEAD_PARENT
    (True, True)
    """
    node.dead = True
    node.parent = DEAD_PARENT


def kill_subtree(top: Node) -> int:
    """``mte_destroy_walk``: :func:`kill_node` ``top`` and every node below it
    that still points back at its parent there, and return how many died.
    O(nodes killed x slots).

    In an intact tree that is the whole subtree.  After a rebuild, children
    that a new node adopted point at it instead, so they are kept: only what
    the rebuild dropped dies (``mas_topiary_replace``).
    """
    stack: list[Node] = [top]
    killed = 0
    while stack:
        node = stack.pop()
        if node.type != LEAF_64:
            for child in node.slots:
                if child.parent is node:
                    stack.append(child)
        kill_node(node)
        killed += 1
    return killed


def node_min(node: Node) -> int:
    """The lower bound of ``node``, found by climbing parents: O(1) amortised
    (only a first child climbs further), O(height) at worst.

    >>> parent = Node(RANGE_64, [9, ULONG_MAX], [Node(LEAF_64, [9], ["a"]),
    ...                                          Node(LEAF_64, [ULONG_MAX], ["b"])])
    >>> for i, child in enumerate(parent.slots):
    ...     child.parent, child.parent_slot = parent, i
    >>> node_min(parent.slots[0]), node_min(parent.slots[1])
    (0, 10)
    """
    parent = node.parent
    while parent is not None:
        slot = node.parent_slot
        if slot:
            return parent.pivots[slot - 1] + 1
        node = parent
        parent = node.parent
    return 0


def leaf_max_gap(node: Node, min_: int) -> int:
    """``mas_leaf_max_gap``: the largest NULL range of a leaf.

    A trailing NULL slot counts only when the leaf ends at ULONG_MAX (a
    non-rightmost leaf never ends in NULL outside bulk mode).

    >>> leaf_max_gap(Node(LEAF_64, [4, 9, ULONG_MAX], [None, "a", None]), 0)
    18446744073709551606
    """
    pivots = node.pivots
    slots = node.slots
    end = node.end
    max_gap = 0
    if slots[0] is None:
        max_gap = pivots[0] - min_ + 1
        i = 2
    else:
        i = 1
    if end == 0:
        return max_gap & ULONG_MAX
    max_piv = end - 1
    if pivots[end] == ULONG_MAX and slots[end] is None:
        gap = ULONG_MAX - pivots[max_piv]
        if gap > max_gap:
            max_gap = gap
        if max_gap > pivots[max_piv] - min_:
            return max_gap
    while i <= max_piv:
        if slots[i] is None:
            gap = pivots[i] - pivots[i - 1]
            if gap > max_gap:
                max_gap = gap
            i += 1
        i += 1
    return max_gap


def leaf_entries(leaf: Node) -> int:
    """How many slots of ``leaf`` hold an entry that iteration yields: not
    None and not ``ZERO_ENTRY``, compared by identity, never ``==``.
    O(slots), in C-level passes.

    >>> leaf_entries(Node(LEAF_64, [3, 5, 9, ULONG_MAX], ["a", None, ZERO_ENTRY, "b"]))
    2
    """
    return count_visible(leaf.slots)


def count_visible(slots: list[Any]) -> int:
    """How many of ``slots`` are neither None nor ``ZERO_ENTRY`` (identity,
    never ``==``).  O(len(slots)), in C-level passes.

    >>> count_visible(["a", None, ZERO_ENTRY, 0])
    2
    """
    return (len(slots) - sum(map(is_, slots, repeat(None)))
            - sum(map(is_, slots, repeat(ZERO_ENTRY))))


def node_max_gap(node: Node, min_: int) -> int:
    """``mas_max_gap``: the largest gap under ``node`` (leaf scan or stored gaps)."""
    if node.type == LEAF_64:
        return leaf_max_gap(node, min_)
    return max(node.gaps or (0,))


@final
class RootEntry:
    """A direct root: the tree holds a single entry at ``[0, 0]`` and no node.

    >>> RootEntry("x").entry
    'x'
    """

    __slots__ = ("entry",)

    def __init__(self, entry: Any) -> None:
        self.entry: Any = entry

    def __repr__(self) -> str:
        return f"RootEntry({self.entry!r})"


#: True when this module (and with it the whole package) runs as the compiled
#: build: mypyc turns its functions into native ones, which are not Python
#: ``FunctionType`` objects.
COMPILED: Final = not isinstance(node_min, FunctionType)
