"""Installing rebuilt nodes into the tree (``mas_wmb_replace`` / ``mas_topiary_replace``).

Split, rebalance and spanning stores build new nodes beside the old ones and
then swap the new top node in with one assignment (a parent slot or the
root), fix the parent links of every child of the new nodes, and mark the
replaced nodes dead so that a concurrent reader can tell (with the nodes that
a spanning store drops whole).  This is the single place where a rebuilt
subtree becomes visible.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(17):
...     t.store(i, i)
>>> t.height
2
"""
from __future__ import annotations

from collections.abc import Iterable

from .constants import LEAF_64
from .core import TreeCore
from .gaps import update_gap
from .node import Node, kill_subtree
from .rcu import notify_rcu

__all__ = ["adopt_children", "replace_subtree"]


def adopt_children(node: Node) -> None:
    """``mas_adopt_children``: point every child of ``node`` back at it."""
    for i, child in enumerate(node.slots):
        child.parent = node
        child.parent_slot = i


def replace_subtree(tree: TreeCore, old: Node | None, new: Node, new_height: int, min_: int,
                    new_nodes: Iterable[Node], path: str) -> None:
    """Put ``new`` where ``old`` was (or at the root when ``old`` was the root).

    ``new_nodes`` are the internal nodes built by the operation (their
    children are adopted).  The replaced node and everything below it that
    was not adopted die.  ``min_`` is the lower bound of ``new``, for the gap
    update.  The new subtree is published by one assignment before anything
    dies; in RCU mode the test hook hears of both steps as write path ``path``.
    """
    if old is None or old.parent is None:
        prev = tree._root
        replaced = prev if prev is not new and isinstance(prev, Node) else None
        new.parent = None
        new.parent_slot = 0
        tree._root = new
        tree._height = new_height
    else:
        replaced = old
        parent = old.parent
        new.parent = parent
        new.parent_slot = old.parent_slot
        parent.slots[old.parent_slot] = new
    notify_rcu(tree, "publish", path)
    made = 0
    for node in new_nodes:
        made += 1
        if node.type != LEAF_64:
            adopt_children(node)
    tree._nodes_made += made
    if replaced is not None:
        tree._nodes_freed += kill_subtree(replaced)  # after adoption: reused children survive
        notify_rcu(tree, "dead", path)
    if tree._alloc and new.type != LEAF_64:
        update_gap(new, min_)
