"""Shape and cost statistics of a tree: what ``MapleTree.stats()`` returns.

A Python timing mixes the tree's work with the interpreter's; what the kernel
pays for is nodes.  :class:`TreeStats` gives the shape of a tree (height,
nodes per type, how full each level is) and what it has cost so far: the
nodes allocated and freed since the tree was made (splits, rebalances,
spanning stores, new roots, copies), counted as the write paths install and
kill nodes.  Writes inside one leaf are made in place, as the kernel makes
them outside RCU mode; in RCU mode (``set_in_rcu``) the kernel rewrites the
leaf into a new node unless the write changes at most two slots in place, and
such a write counts one node made and one freed.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(100):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> s = tree_stats(t)
>>> s.height, s.nodes, s.nodes_by_type, s.entries
(2, 14, {'range_64': 1, 'leaf_64': 13}, 100)
>>> s.nodes_made - s.nodes_freed == s.nodes
True
>>> [round(level.fill, 2) for level in s.levels]
[0.81, 0.96]
"""
from __future__ import annotations

from dataclasses import dataclass

from .constants import LEAF_64, MT_SLOTS, TYPE_NAMES
from .core import TreeCore
from .entries import ZERO_ENTRY
from .node import Node, RootEntry, leaf_entries

__all__ = ["TreeStats", "LevelStats", "tree_stats"]


@dataclass(frozen=True)
class LevelStats:
    """One level of a tree (``depth`` 0 is the root): its node count, node
    types, used slots, capacity (the slots its nodes could hold) and
    ``fill`` = ``slots_used / capacity``."""

    depth: int
    nodes: int
    types: dict[str, int]
    slots_used: int
    capacity: int
    fill: float


@dataclass(frozen=True)
class TreeStats:
    """A tree's shape and its node costs so far (see the module docstring).

    ``entries`` counts the stored ranges iteration yields; ``nodes_made`` /
    ``nodes_freed`` count the nodes allocated and freed since the tree was
    made (``nodes_made - nodes_freed == nodes``).
    """

    height: int
    entries: int
    nodes: int
    nodes_by_type: dict[str, int]
    levels: tuple[LevelStats, ...]
    nodes_made: int
    nodes_freed: int
    flags: int


def _level(nodes: list[Node], depth: int) -> LevelStats:
    types: dict[str, int] = {}
    for node in nodes:
        name = TYPE_NAMES.get(node.type, str(node.type))
        types[name] = types.get(name, 0) + 1
    used = sum(node.end + 1 for node in nodes)
    capacity = sum(MT_SLOTS[node.type] for node in nodes)
    return LevelStats(depth, len(nodes), types, used, capacity,
                      used / capacity if capacity else 0.0)


def tree_stats(tree: TreeCore) -> TreeStats:
    """The :class:`TreeStats` of ``tree``, by one walk of its nodes, level by
    level.  O(n)."""
    root = tree._root
    levels: list[LevelStats] = []
    entries = 0
    if isinstance(root, RootEntry):
        entries = 0 if root.entry is ZERO_ENTRY else 1
    level: list[Node] = [root] if isinstance(root, Node) else []
    while level:
        levels.append(_level(level, len(levels)))
        if level[0].type == LEAF_64:
            entries += sum(leaf_entries(leaf) for leaf in level)
            break
        level = [child for node in level for child in node.slots]
    by_type: dict[str, int] = {}
    for lv in levels:
        for name, count in lv.types.items():
            by_type[name] = by_type.get(name, 0) + count
    return TreeStats(tree._height, entries, sum(lv.nodes for lv in levels), by_type,
                     tuple(levels), tree._nodes_made, tree._nodes_freed, tree._flags)
