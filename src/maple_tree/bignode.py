"""The big node: the staging area of splits, rebalances and spanning stores.

The kernel's ``struct maple_big_node`` holds up to 34 slots: the content of
one or two nodes plus the new write, before it is cut into new nodes.  Here
it is three parallel lists (pivots, slots, gaps) and the node type they will
be written as.  The helpers are the kernel's ``mas_mab_cp`` (copy a node in),
``mab_set_b_end`` (append a new child), ``mab_calc_split`` /
``mab_no_null_split`` / ``mab_middle_node`` (where to cut) and
``mab_mas_cp`` (write a node out).

>>> bn = BigNode(LEAF_64, list(range(17)), list(range(16)) + [None])
>>> calc_split(bn)   # 17 entries ending in NULL: left takes 0..8
(8, 0)
"""
from __future__ import annotations

from typing import Any, final

from .constants import ARANGE_64, LEAF_64, MT_MIN_SLOTS, MT_PIVOTS, MT_SLOTS
from .core import TreeCore
from .node import Node, node_max_gap
from .walk import Pos

__all__ = ["BigNode", "calc_split", "no_null_split", "node_from_big", "copy_in",
           "append_child"]


@final
class BigNode:
    """Parallel lists ``piv``/``slot``/``gap`` and the target node ``type``.

    ``gap`` is None where no gap is kept: leaf-level content, and every level
    of a tree without ``MT_FLAGS_ALLOC_RANGE``.
    """

    __slots__ = ("piv", "slot", "gap", "type")

    def __init__(self, type: int, piv: list[int] | None = None, slot: list[Any] | None = None,
                 gap: list[int] | None = None) -> None:
        self.type: int = type
        self.piv: list[int] = piv if piv is not None else []
        self.slot: list[Any] = slot if slot is not None else []
        self.gap: list[int] | None = gap

    def __len__(self) -> int:
        return len(self.piv)

    def __repr__(self) -> str:
        return f"BigNode(type={self.type}, piv={self.piv})"


def copy_in(bn: BigNode, pos: Pos, start: int, end: int) -> None:
    """``mas_mab_cp``: append slots ``start..end`` (clipped to the node end) of ``pos.node``."""
    node = pos.node
    stop = min(end, node.end) + 1
    bn.piv.extend(node.pivots[start:stop])
    bn.slot.extend(node.slots[start:stop])
    if bn.gap is not None and node.gaps is not None:
        bn.gap.extend(node.gaps[start:stop])


def prepend_node(bn: BigNode, node: Node) -> int:
    """Put every slot of ``node`` in front of ``bn`` (``mab_shift_right`` + copy); returns the count."""
    bn.piv[:0] = node.pivots
    bn.slot[:0] = node.slots
    if bn.gap is not None and node.gaps is not None:
        bn.gap[:0] = node.gaps
    return len(node.pivots)


def append_child(bn: BigNode, pos: Pos | None) -> None:
    """``mab_set_b_end``: append the new node at ``pos`` (if any) with pivot
    ``pos.max``, and its max gap when ``bn`` keeps gaps."""
    if pos is None:
        return
    node = pos.node
    bn.slot.append(node)
    if bn.gap is not None:
        bn.gap.append(node_max_gap(node, pos.min))
    bn.piv.append(pos.max)


def no_null_split(bn: BigNode, split: int, right_keep: int) -> int:
    """``mab_no_null_split``: never end a node on a NULL entry.  If entry
    ``split`` of ``bn`` is NULL, move the cut one entry right when the left
    node has room and more than ``right_keep`` entries stay to the right of
    it, else one entry left.  O(1).

    ``right_keep`` is ``mt_min_slots`` of the node type, except after a push
    to the right sibling, where Linux 6.12.117 compares with the entry count
    instead of the last index and so allows one entry fewer (``min - 1``).

    >>> bn = BigNode(LEAF_64, list(range(20)), [1, 2, 3, None] + list(range(16)))
    >>> no_null_split(bn, 3, 6), no_null_split(bn, 2, 6)
    (4, 2)
    """
    if bn.slot[split] is None:
        last = len(bn.piv) - 1
        if split < MT_SLOTS[bn.type] - 1 and last - split > right_keep:
            return split + 1
        return split - 1
    return split


def calc_split(bn: BigNode, tree: TreeCore | None = None) -> tuple[int, int]:
    """``mab_calc_split`` of Linux 6.12.117: ``(split, mid_split)`` for the
    entries of ``bn``, written by a write to ``tree``.  O(1).

    The left node takes entries ``0..split``; with a three-way split
    (``mid_split`` > 0) the middle node takes ``split+1..mid_split``.  A
    bulk-mode write (``tree._bulk``) favours the left node: the right one
    gets ``mt_min_slots`` entries (one more when that would cut a leaf at a
    NULL), and a leaf split sets ``tree._bulk_leaf_split`` (the kernel's
    ``MA_STATE_REBALANCE``, for ``mas_destroy``).  There is no "dense key"
    shift in 6.12.117 (the split is half the entries, then the NULL rule).
    """
    last = len(bn.piv) - 1
    min_slots = MT_MIN_SLOTS[bn.type]
    if tree is not None and tree._bulk:
        split = last - min_slots
        if bn.type == LEAF_64:
            tree._bulk_leaf_split = True
            if bn.slot[split] is None:
                split -= 1
        return split, 0
    slot_count = MT_SLOTS[bn.type]
    split = last // 2
    if last >= 2 * slot_count or (bn.slot[split] is None and last >= 2 * slot_count - 1):
        split = last // 3
        mid = split * 2
    else:
        mid = 0
    split = no_null_split(bn, split, min_slots)
    if mid:
        mid = no_null_split(bn, mid, min_slots)
    return split, mid


def node_from_big(bn: BigNode, start: int, end: int, type: int) -> Node:
    """``mab_mas_cp``: a new node of ``type`` holding entries ``start..end`` of ``bn``."""
    if end - start > MT_PIVOTS[type]:
        end -= 1
    stop = min(end, len(bn.piv) - 1) + 1
    gaps = bn.gap[start:stop] if type == ARANGE_64 and bn.gap is not None else None
    return Node(type, bn.piv[start:stop], bn.slot[start:stop], gaps)
