"""The cursor's state: fields, statuses, and walking from the root.

:class:`CursorState` is the kernel's ``struct ma_state`` without its public
face: the range of interest (``index``/``last``), the position (``node``,
its bounds ``min``/``max``, ``offset`` and the node's ``end``) and the status
(``enum maple_status``, an int here; :data:`STATUS_NAMES` gives the kernel's
words).  The operations on it live beside it, one idea per module:

* ``stepping.py``: ``next``/``prev``/``find`` and their status setups;
* ``gapsearch.py``: ``empty_area``/``empty_area_rev``;
* ``cursorwrite.py``: stores and erases through the cursor;
* ``state.py``: :class:`~maple_tree.state.MaState`, the public cursor.

A cursor remembers the tree's write counter when it loads the root
(``_seen``).  A step that finds the counter changed -- the tree was written
by another path while the cursor held a node, which the kernel forbids --
walks again from the root (``mas_rewalk``) instead of reading a node that
may have been rewritten or replaced.

>>> from maple_tree import MapleTree
>>> t = MapleTree(); t.store_range(10, 19, "a")
>>> c = CursorState(t, 15, 15)
>>> c.walk(), (c._index, c._last), STATUS_NAMES[c._status]
('a', (10, 19), 'active')
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .constants import MT_FLAGS_USE_RCU, ULONG_MAX
from .core import TreeCore
from .errors import StateError
from .node import Node, RootEntry, node_min
from .rcu import leaf_at
from .walk import leaf_of

__all__ = ["CursorState", "START", "ROOT", "NONE", "PAUSE", "ACTIVE", "UNDERFLOW", "OVERFLOW",
           "ERROR", "STATUS_NAMES", "STATUS_BY_NAME", "NODE_SLOTS", "root_entry"]

# enum maple_status of Linux 6.12
START = 0       #: not walked yet: the next call loads the root (ma_start)
ROOT = 1        #: the tree is a direct root entry (ma_root)
NONE = 2        #: the tree is empty, or the search left the root entry (ma_none)
PAUSE = 3       #: dropped its node; the next call resumes from index/last (ma_pause)
ACTIVE = 4      #: holds a node (ma_active)
UNDERFLOW = 5   #: a backward step hit its limit (ma_underflow)
OVERFLOW = 6    #: a forward step hit its limit (ma_overflow)
ERROR = 7       #: a gap search failed; errno holds why (ma_error)

#: the kernel's word for each status, indexed by status
STATUS_NAMES: tuple[str, ...] = ("start", "root", "none", "pause", "active", "underflow",
                                 "overflow", "error")
STATUS_BY_NAME: dict[str, int] = {name: i for i, name in enumerate(STATUS_NAMES)}

#: MAPLE_NODE_SLOTS: the offset of a state that holds no node
NODE_SLOTS = 31


class CursorState:
    """The fields of a cursor on ``tree`` for ``[index, last]`` and its walks.

    Fields: ``_tree``; ``_index``/``_last`` (the range of interest);
    ``_node`` (None when the state holds none), ``_min``/``_max`` (its
    bounds), ``_offset``, ``_end`` (the node's last used offset when it was
    read); ``_status`` (an int status above); ``_errno`` (why a search
    failed); ``_seen`` (the tree's write counter when the root was loaded);
    ``_unordered`` (a caller assigned ``index``/``last`` one at a time, and
    ``index <= last`` is still to be checked); ``_bulk`` and
    ``_bulk_rebalance`` (the kernel's ``MA_STATE_BULK`` and
    ``MA_STATE_REBALANCE``: bulk mode, and a bulk split of a leaf that asks
    :func:`~maple_tree.cursorwrite.destroy` for a final check).
    Arguments are trusted: ``MaState`` checks what users pass.
    """

    __slots__ = ("_tree", "_index", "_last", "_node", "_min", "_max", "_offset", "_end", "_status",
                 "_errno", "_seen", "_unordered", "_bulk", "_bulk_rebalance")

    def __init__(self, tree: TreeCore, index: int, last: int) -> None:
        self._tree: TreeCore = tree
        self._index: int = index
        self._last: int = last
        self._node: Node | None = None
        self._min: int = 0
        self._max: int = ULONG_MAX
        self._offset: int = 0
        self._end: int = 0
        self._status: int = START
        self._errno: int = 0
        self._seen: int = tree._writes
        self._unordered: bool = False
        self._bulk: bool = False
        self._bulk_rebalance: bool = False

    # -- statuses without a walk ------------------------------------------------
    def reset(self) -> None:
        """``mas_reset``: walk again from the root at the next call.  O(1).

        >>> from maple_tree import MapleTree, MaState
        >>> t = MapleTree(); t.store(3, "a"); mas = MaState(t, 3); _ = mas.walk()
        >>> mas.reset(); mas.status, mas.node is None
        ('start', True)
        """
        self._status = START
        self._node = None

    def pause(self) -> None:
        """``mas_pause``: drop the node; the next call resumes after ``last``
        (forward) or before ``index`` (backward).  Call it before writing
        through anything but the cursor inside a loop.  O(1).

        >>> from maple_tree import MapleTree, MaState
        >>> t = MapleTree(); t.store(3, "a"); t.store(9, "b"); mas = MaState(t, 0)
        >>> mas.find(); mas.pause(); t.store(5, "new"); mas.find()
        'a'
        'new'
        """
        self._status = PAUSE
        self._node = None

    def _set_error(self, errno: int) -> None:
        """``mas_set_err``: status ``error`` with ``errno``; no node.  O(1)."""
        self._status = ERROR
        self._node = None
        self._errno = errno

    def _snapshot(self) -> tuple[Any, ...]:
        """Every field that a call may change, to undo a refused call."""
        return (self._index, self._last, self._node, self._min, self._max, self._offset, self._end,
                self._status, self._errno, self._seen)

    def _restore(self, snap: tuple[Any, ...]) -> None:
        """Put back the fields of :meth:`_snapshot`."""
        (self._index, self._last, self._node, self._min, self._max, self._offset, self._end,
         self._status, self._errno, self._seen) = snap

    def _require_node(self) -> Node:
        """The state's node; :class:`StateError` where Linux 6.12.117 would
        dereference a node the state does not hold."""
        node = self._node
        if node is None:
            raise StateError(f"state {STATUS_NAMES[self._status]} holds no node: Linux "
                             f"6.12.117 dereferences NULL here")
        return node

    # -- walking from the root --------------------------------------------------
    def _start(self) -> Any:
        """``mas_start``: if the status is ``start``, load the root: status
        ``active`` at the root node, ``root`` (the direct root's entry is
        returned when ``index`` is 0) or ``none``.  O(1)."""
        if self._status != START:
            return None
        self._min = 0
        self._max = ULONG_MAX
        tree = self._tree
        self._seen = tree._writes
        root = tree._root
        if isinstance(root, Node):
            self._status = ACTIVE
            self._node = root
            self._offset = 0
            return None
        self._node = None
        self._offset = NODE_SLOTS
        if root is None:
            self._status = NONE
            return None
        self._status = ROOT
        return root.entry if self._index == 0 else None

    def _range_walk(self) -> Any:
        """``mtree_range_walk`` from the root node the state holds: move to
        the leaf slot holding ``index``; ``index``/``last`` become its range.
        Returns the slot's entry.  O(height)."""
        index = self._index
        tree = self._tree
        if tree._flags & MT_FLAGS_USE_RCU:  # bounds from a descent, not parent links
            found = leaf_at(tree, index)
            if not isinstance(found, tuple):  # the tree lost its nodes since _start
                self._status = START
                return self._state_walk()
            leaf, mn, _mx = found
        else:
            leaf = leaf_of(self._require_node(), index)
            mn = node_min(leaf)
        pivots = leaf.pivots
        off = bisect_left(pivots, index)
        self._node = leaf
        self._min = mn
        self._max = pivots[-1]
        self._offset = off
        self._end = leaf.end
        self._index = pivots[off - 1] + 1 if off else mn
        self._last = pivots[off]
        return leaf.slots[off]

    def _state_walk(self) -> Any:
        """``mas_state_walk``: :meth:`_start`, then the range walk if the tree
        has nodes.  O(height)."""
        entry = self._start()
        if self._status == NONE:
            return None
        if self._status == ROOT:
            return entry
        return self._range_walk()

    def walk(self) -> Any:
        """``mas_walk``: the entry at ``index`` (NULL ranges too); ``index`` and
        ``last`` become that slot's range.  Always walks from the root, as
        Linux 6.12 does.  O(height)."""
        self._status = START
        entry = self._state_walk()
        if self._status == NONE:
            self._index = 0
            self._last = ULONG_MAX
        elif self._status == ROOT:
            if not self._index:
                self._last = 0
                return entry
            self._index = 1
            self._last = ULONG_MAX
            self._status = NONE
            return None
        return entry

    def _rewalk(self, index: int) -> Node:
        """``mas_rewalk``: the tree was written since this state loaded its
        node, so walk again from the root to the slot holding ``index`` and
        return the leaf.  Raises :class:`StateError` (state unchanged) if the
        tree has no node left.  O(height)."""
        snap = self._snapshot()
        self._index = self._last = index
        self._status = START
        self._state_walk()
        node = self._node
        if self._status != ACTIVE or node is None:
            self._restore(snap)
            raise StateError(
                "the tree was written through another path while this cursor held a "
                "position, and it now holds no node (it became empty or a single entry "
                "at 0): call pause() before writing through the tree, or write through "
                "the cursor itself")
        return node

    def _stale(self) -> bool:
        """Has the tree been written since the state loaded the root?  O(1)."""
        return self._seen != self._tree._writes


def root_entry(tree: TreeCore) -> Any:
    """The direct root's entry, or None when the tree is not a direct root."""
    root = tree._root
    return root.entry if isinstance(root, RootEntry) else None
