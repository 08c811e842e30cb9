"""Gap upkeep in allocation trees (``MT_FLAGS_ALLOC_RANGE``).

Every ``arange_64`` node keeps, per child, the largest free (NULL) range
below it.  After a write changes a node, :func:`update_gap` recomputes that
node's largest gap and carries the change up while an ancestor's maximum
changes (the kernel's ``mas_update_gap`` / ``mas_parent_gap``).  The values
are a pure function of the tree, so ``validate()`` can recompute them.

>>> from maple_tree import MapleTree, MT_FLAGS_ALLOC_RANGE
>>> t = MapleTree(MT_FLAGS_ALLOC_RANGE)
>>> for i in range(20):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> t._root.gaps
[4, 4, 18446744073709551420]
"""
from __future__ import annotations

from .node import Node, node_max_gap

__all__ = ["update_gap", "propagate_gap"]


def propagate_gap(node: Node, gap: int) -> None:
    """Store ``gap`` as ``node``'s entry in its parent and carry the change up
    while the parent's largest gap changes; one pass over each parent's gaps.
    O(height x slots)."""
    parent = node.parent
    while parent is not None:
        gaps = parent.gaps
        if gaps is None:  # not an allocation tree: nothing to keep
            return
        slot = node.parent_slot
        old = gaps[slot]
        if gap < old:
            gaps[slot] = gap
            new_max = max(gaps)
            if new_max >= old:
                return  # another child holds (at least) the old largest gap
        elif gap > old:
            old_max = max(gaps)
            gaps[slot] = gap
            if gap <= old_max:
                return  # the largest gap lies elsewhere and stays
            new_max = gap
        else:
            return
        node = parent
        parent = node.parent
        gap = new_max


def update_gap(node: Node, min_: int) -> None:
    """``mas_update_gap``: refresh ``node``'s gap in its parent (no-op for the root)."""
    if node.parent is None:
        return
    propagate_gap(node, node_max_gap(node, min_))
