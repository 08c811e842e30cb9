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

from .constants import LEAF_64, MT_MIN_SLOTS, ULONG_MAX
from .cursor import ACTIVE, ERROR, NONE, OVERFLOW, PAUSE, START, UNDERFLOW, CursorState
from .node import Node, node_min
from .rebalance import destroy_rebalance
from .write import (
    SETTLE_EXPAND,
    SETTLE_KEEP,
    SETTLE_LEAF,
    SETTLE_NEW_ROOT,
    SETTLE_START,
    SETTLE_WALK,
    WriteResult,
    store,
    store_exact,
)

__all__ = ["cursor_store", "cursor_erase", "settle", "prealloc_setup", "bulk_begin", "destroy"]


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


def _write(mas: CursorState, entry: Any, content: Any) -> Any:
    """Store ``entry`` over the state's range, as a bulk-mode write when the
    state is in bulk mode; settle the state; return the entry found."""
    tree = mas._tree
    tree._bulk = mas._bulk
    tree._bulk_leaf_split = False
    try:
        result = store(tree, mas._index, mas._last, entry, root_content=content)
    finally:
        if tree._bulk_leaf_split:
            mas._bulk_rebalance = True  # MA_STATE_REBALANCE
        tree._bulk = tree._bulk_leaf_split = False
    settle(mas, result)
    return result.content


def cursor_store(mas: CursorState, entry: Any) -> Any:
    """``mas_store``: store ``entry`` (checked by the caller) over
    ``[index, last]`` and return the entry found at ``index`` (None for a
    spanning store).  ``index``/``last`` may widen when NULL ranges merge.
    Bulk mode goes on.  O(log n); O(1) when the state stands on exactly the
    slot it writes (the kernel's write walk starts from the state's node and
    finds it at once: the walk-and-replace loop of ``dup_mmap``)."""
    content = _store_here(mas, entry)
    if content is not _NOT_HERE:
        return content
    prealloc_setup(mas, entry)
    return _write(mas, entry, mas._start())


_NOT_HERE: Any = object()


def _store_here(mas: CursorState, entry: Any) -> Any:
    """An exact fit at the state's own slot: a non-NULL entry over exactly
    the range of the slot the active state stands on, in a tree not written
    since it got there.  Returns the entry replaced, or ``_NOT_HERE`` when
    the write is not such a store (the general path then runs; it would end
    in the same state)."""
    node = mas._node
    if (entry is None or mas._status != ACTIVE or node is None or node.type != LEAF_64
            or mas._seen != mas._tree._writes):
        return _NOT_HERE
    off = mas._offset
    pivots = node.pivots
    if off > node.end or pivots[off] != mas._last or \
            (pivots[off - 1] + 1 if off else mas._min) != mas._index:
        return _NOT_HERE
    tree = mas._tree
    tree._writes += 1  # odd while the write runs (see write.store)
    mas._end = node.end  # the write walk reads the node's end
    try:
        return store_exact(tree, node, off, mas._min, entry)
    finally:
        tree._writes += 1
        mas._seen = tree._writes


def cursor_erase(mas: CursorState) -> Any:
    """``mas_erase``: erase the whole range holding ``index`` and return its
    entry (None if it was empty).  Always walks from the root; when it erases
    something it ends bulk mode (:func:`destroy`).  O(log n)."""
    mas._status = START
    entry = mas._state_walk()
    if entry is None:
        return None
    mas.reset()
    _write(mas, None, mas._start())
    destroy(mas)
    return entry


def bulk_begin(mas: CursorState) -> None:
    """``mas_expected_entries``: bulk mode, for loading entries in ascending
    order through this state (``MA_STATE_BULK``; the kernel also preallocates
    nodes, which Python does not need).  O(1)."""
    mas._bulk = True


def destroy(mas: CursorState) -> None:
    """``mas_destroy``: end bulk mode.  If a bulk split asked for it, first
    walk to ``index`` and, when that leaf holds fewer than ``min - 1``
    entries, move entries into it from its left sibling
    (``mas_destroy_rebalance``).  Raises :class:`StateError`, changing
    nothing, where Linux 6.12.117 would walk from a node the state does not
    hold.  O(log n)."""
    if mas._bulk_rebalance:
        if mas._status == ERROR:
            mas.reset()
        if mas._status != START:
            mas._require_node()  # a state without a node cannot walk: the kernel crashes
        mas._start()
        node = mas._node
        assert node is not None
        if not node_min(node) <= mas._index <= node.pivots[-1]:
            mas.reset()  # (the kernel would walk from a node not holding index)
            mas._start()
        mas._range_walk()
        leaf = mas._node
        assert leaf is not None
        if mas._end + 1 < MT_MIN_SLOTS[leaf.type] - 1:
            tree = mas._tree
            tree._writes += 1  # odd while the write runs
            try:
                moved = destroy_rebalance(tree, leaf)
            finally:
                tree._writes += 1
            if moved:
                mas.reset()  # (the kernel leaves the state on the parent node)
        mas._bulk_rebalance = False
    mas._bulk = False
