"""Writes through a cursor: ``mas_store``, ``mas_store_gfp`` and ``mas_erase``.

The write engine (:func:`maple_tree.write.store`) does the write and reports
what it did (a :class:`~maple_tree.write.WriteResult`); :func:`settle` then
moves the cursor where Linux 6.12.117 leaves it: on the written slot when the
write stayed in its leaf, walked again to the written index when nodes were
rebuilt, at the new root when the write covered every key.

>>> from maple_tree import MapleTree
>>> from maple_tree.cursor import CursorState, STATUS_NAMES
>>> t = MapleTree(); t.store_range(10, 19, "a")
>>> c = CursorState(t, 12, 13)
>>> cursor_store(c, "b"), (c._index, c._last), STATUS_NAMES[c._status]
('a', (12, 13), 'active')
>>> list(t)
[(10, 11, 'a'), (12, 13, 'b'), (14, 19, 'a')]
"""
from __future__ import annotations

from typing import Any

from .constants import LEAF_64, ULONG_MAX
from .cursor import ACTIVE, NONE, OVERFLOW, PAUSE, START, UNDERFLOW, CursorState
from .node import Node
from .write import (
    SETTLE_EXPAND,
    SETTLE_KEEP,
    SETTLE_LEAF,
    SETTLE_NEW_ROOT,
    SETTLE_START,
    SETTLE_WALK,
    WriteResult,
    store,
)

__all__ = ["cursor_store", "cursor_erase", "settle", "prealloc_setup"]


def prealloc_setup(mas: CursorState, entry: Any) -> None:
    """``mas_wr_prealloc_setup``: keep the position only if the write stays
    inside the current node; otherwise start from the root."""
    status = mas._status
    if status == START:
        return
    if status in (PAUSE, NONE, OVERFLOW, UNDERFLOW) or mas._last > mas._max:
        mas.reset()
        return
    node = mas._node
    if entry is None and (node is None or node.type == LEAF_64) and mas._last == mas._max:
        mas.reset()


def settle(mas: CursorState, result: WriteResult) -> None:
    """Move ``mas`` to where the kernel leaves a state after ``result``."""
    how = result.settle
    tree = mas._tree
    if how == SETTLE_LEAF:
        node = result.node
        assert node is not None
        mas._index, mas._last = result.index, result.last
        mas._node, mas._min, mas._max = node, result.min, result.max
        mas._offset, mas._end, mas._status = result.offset, node.end, ACTIVE
    elif how == SETTLE_WALK:
        mas._index = result.index
        mas._node = tree._root if isinstance(tree._root, Node) else None
        mas._min, mas._max, mas._status = 0, ULONG_MAX, ACTIVE
        mas._range_walk()
    elif how == SETTLE_NEW_ROOT:
        mas._index, mas._last, mas._min, mas._max = 0, ULONG_MAX, 0, ULONG_MAX
        root = tree._root
        if isinstance(root, Node):
            mas._node, mas._status = root, ACTIVE
        else:
            mas.reset()
    elif how == SETTLE_EXPAND:
        mas._node, mas._offset, mas._status = result.node, result.offset, ACTIVE
    elif how == SETTLE_START:
        mas.reset()
    else:
        assert how == SETTLE_KEEP
    mas._seen = tree._writes


def cursor_store(mas: CursorState, entry: Any) -> Any:
    """``mas_store``: store ``entry`` (checked by the caller) over
    ``[index, last]`` and return the entry found at ``index`` (None for a
    spanning store).  ``index``/``last`` may widen when NULL ranges merge.
    O(log n)."""
    prealloc_setup(mas, entry)
    content = mas._start()
    result = store(mas._tree, mas._index, mas._last, entry, root_content=content)
    settle(mas, result)
    return result.content


def cursor_erase(mas: CursorState) -> Any:
    """``mas_erase``: erase the whole range holding ``index`` and return its
    entry (None if it was empty).  Always walks from the root.  O(log n)."""
    mas._status = START
    entry = mas._state_walk()
    if entry is None:
        return None
    mas.reset()
    content = mas._start()
    settle(mas, store(mas._tree, mas._index, mas._last, None, root_content=content))
    return entry
