"""``MaState``: the kernel's advanced-API cursor (``struct ma_state``).

A state remembers a position (node, bounds, offset) and a status, so
``next``/``prev`` cost O(1) amortised inside a leaf.  Its semantics follow
Linux 6.12.117 exactly, including the statuses ``start``, ``root``, ``none``,
``pause``, ``active``, ``underflow``, ``overflow`` and ``error``.  This module
is the public face; the work is done in ``cursor.py`` (fields, walks),
``stepping.py`` (next/prev/find), ``gapsearch.py`` (empty areas) and
``cursorwrite.py`` (stores and erases).

Every argument is checked before anything changes: keys are ints in
``0 .. ULONG_MAX``.  ``index`` and ``last`` may be assigned, as the kernel's
callers do: an assignment checks the value, and the next search or write
refuses ``index > last``, changing nothing.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(1, 4):
...     t.store_range(10 * i, 10 * i + 4, i)
>>> mas = MaState(t, 0)
>>> mas.find(100), (mas.index, mas.last)
(1, (10, 14))
>>> mas.next(100), (mas.index, mas.last)
(2, (20, 24))
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, final

from .args import Key, check_entry, check_key, check_window
from .constants import ULONG_MAX
from .core import TreeCore
from .cursor import ACTIVE, ERROR, STATUS_BY_NAME, STATUS_NAMES, CursorState
from .cursorwrite import bulk_begin, cursor_erase, cursor_store, destroy
from .errors import InvalidArgumentError, InvalidTypeError, StateError
from .gapsearch import empty_area, empty_area_rev
from .node import Node
from .rcu import check_write_lock
from .stepping import (
    find_rev_setup,
    find_setup,
    find_step,
    guarded,
    next_setup,
    next_slot,
    prev_setup,
    prev_slot,
)

__all__ = ["MaState", "STATUS_NAMES"]


def _limit(value: Any, name: str) -> int:
    """A search limit: fast path for plain ints, else the full key check."""
    if value.__class__ is int and 0 <= value <= ULONG_MAX:
        return int(value)
    return check_key(value, name)


@final
class MaState(CursorState):
    """A cursor on ``tree`` for the range ``[index, last]`` (``MA_STATE``).

    ``last`` defaults to ``index``; ``index > last`` is refused.  The state
    shows ``index`` and ``last`` (the range of interest, rewritten by every
    call; assignable, checked), ``status`` (the kernel's word; assignable),
    ``tree`` (assignable), and, read only, ``node``/``min``/``max``/
    ``offset``/``end`` (the position; ``node`` is None when the state holds
    none) and ``errno``.  O(1).

    >>> from maple_tree import MapleTree
    >>> t = MapleTree(); t.store_range(5, 9, "x")
    >>> mas = MaState(t, 7); mas.walk(), mas.index, mas.last, mas.status
    ('x', 5, 9, 'active')
    """

    __slots__ = ()

    def __init__(self, tree: object, index: Key = 0, last: Key | None = None) -> None:
        if not isinstance(tree, TreeCore):
            raise InvalidTypeError(f"tree must be a MapleTree, not {type(tree).__name__}")
        index = check_key(index, "index")
        last = index if last is None else check_key(last, "last")
        if index > last:
            raise InvalidArgumentError(f"index {index} > last {last}")
        super().__init__(tree, index, last)

    def __repr__(self) -> str:
        return (f"<MaState {STATUS_NAMES[self._status]} [{self._index}, {self._last}] "
                f"node={self._node!r} offset={self._offset}>")

    # -- fields -------------------------------------------------------------------------------
    @property
    def tree(self) -> TreeCore:
        """The tree this state walks.  Assigning another tree keeps every
        other field, as re-pointing ``mas->tree`` does in C; a node the state
        held is then never read again: the next step walks the new tree."""
        return self._tree

    @tree.setter
    def tree(self, tree: object) -> None:
        if not isinstance(tree, TreeCore):
            raise InvalidTypeError(f"tree must be a MapleTree, not {type(tree).__name__}")
        self._tree = tree
        self._seen = -1  # whatever node it holds is stale

    @property
    def status(self) -> str:
        """The kernel's status word: ``start``, ``root``, ``none``, ``pause``,
        ``active``, ``underflow``, ``overflow`` or ``error``.  Assigning one
        (as ``mas.status = ma_none`` in C) is allowed, except ``active`` for a
        state that holds no node."""
        return STATUS_NAMES[self._status]

    @status.setter
    def status(self, value: object) -> None:
        if not isinstance(value, str):
            raise InvalidTypeError(f"status must be a str, not {type(value).__name__}")
        code = STATUS_BY_NAME.get(value)
        if code is None:
            raise InvalidArgumentError(f"status {value!r} is not one of {', '.join(STATUS_NAMES)}")
        if code == ACTIVE and self._node is None:
            raise InvalidArgumentError("status 'active' needs a node; this state holds none")
        self._status = code

    @property
    def node(self) -> Node | None:
        """The node the state is in, or None."""
        return self._node

    @property
    def min(self) -> int:
        """The lower bound of the state's node."""
        return self._min

    @property
    def max(self) -> int:
        """The upper bound of the state's node."""
        return self._max

    @property
    def offset(self) -> int:
        """The slot of the state's node it stands on (31 without a node)."""
        return self._offset

    @property
    def end(self) -> int:
        """The last used offset of the state's node when it was read."""
        return self._end

    @property
    def errno(self) -> int:
        """Why the last gap search failed (EBUSY), with status ``error``."""
        return self._errno

    @property
    def index(self) -> int:
        """The first key of the range of interest (``mas.index``).  May be
        assigned an int in ``0..ULONG_MAX`` (InvalidTypeError /
        InvalidArgumentError otherwise, the state unchanged)."""
        return self._index

    @index.setter
    def index(self, value: Key) -> None:
        self._index = check_key(value, "index")
        self._unordered = True

    @property
    def last(self) -> int:
        """The last key of the range of interest (``mas.last``); assigned as
        :attr:`index`.  The next search or write refuses ``index > last``."""
        return self._last

    @last.setter
    def last(self, value: Key) -> None:
        self._last = check_key(value, "last")
        self._unordered = True

    def _check_range(self) -> None:
        """Refuse a call when a caller assigned ``index > last``.  O(1)."""
        if self._unordered:
            if self._index > self._last:
                raise InvalidArgumentError(f"index {self._index} > last {self._last}: assign "
                                           f"both before searching or writing")
            self._unordered = False

    # -- state handling -----------------------------------------------------------------------
    def set_range(self, first: Key, last: Key) -> None:
        """``mas_set_range``: reset and point at ``[first, last]``.  O(1).

        >>> from maple_tree import MapleTree
        >>> mas = MaState(MapleTree()); mas.set_range(3, 9); mas.index, mas.last, mas.status
        (3, 9, 'start')
        """
        first = check_key(first, "first")
        last = check_key(last, "last")
        if first > last:
            raise InvalidArgumentError(f"first {first} > last {last}")
        self._index, self._last, self._unordered = first, last, False
        self.reset()

    def set(self, index: Key) -> None:
        """``mas_set``: reset and point at ``index``.  O(1).

        >>> from maple_tree import MapleTree
        >>> mas = MaState(MapleTree()); mas.set(7); mas.index, mas.last, mas.status
        (7, 7, 'start')
        """
        index = check_key(index, "index")
        self.set_range(index, index)

    # -- reading ------------------------------------------------------------------------------
    def walk(self) -> Any:
        """``mas_walk``: the entry at ``index`` (NULL ranges too); ``index`` and
        ``last`` become that slot's range.  Always walks from the root (6.12).
        O(log n).

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x")
        >>> mas = MaState(t, 20); mas.walk(), mas.index, mas.last
        (None, 10, 18446744073709551615)
        """
        self._check_range()
        return super().walk()

    def next(self, max: Key = ULONG_MAX) -> Any:
        """``mas_next``: the next entry after the current range, starting at or
        before ``max`` (may be ZERO_ENTRY); None at the limit (``overflow``).
        O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 6); mas.next(), (mas.index, mas.last), mas.next(), mas.status
        ('y', (20, 20), None, 'overflow')
        """
        max = _limit(max, "max")
        self._check_range()
        return guarded(self, next_setup, next_slot, max, False)

    def next_range(self, max: Key = ULONG_MAX) -> Any:
        """``mas_next_range``: like :meth:`next` but NULL ranges are returned
        too.  O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 6); mas.next_range(), (mas.index, mas.last)
        (None, (10, 19))
        """
        max = _limit(max, "max")
        self._check_range()
        return guarded(self, next_setup, next_slot, max, True)

    def prev(self, min: Key = 0) -> Any:
        """``mas_prev``: the entry before the current range, ending at or after
        ``min`` (may be ZERO_ENTRY); None at the limit (``underflow``).
        O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 20); mas.prev(), (mas.index, mas.last)
        ('x', (5, 9))
        """
        min = _limit(min, "min")
        self._check_range()
        return guarded(self, prev_setup, prev_slot, min, False)

    def prev_range(self, min: Key = 0) -> Any:
        """``mas_prev_range``: like :meth:`prev` but NULL ranges are returned
        too.  O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 20); mas.prev_range(), (mas.index, mas.last)
        (None, (10, 19))
        """
        min = _limit(min, "min")
        self._check_range()
        return guarded(self, prev_setup, prev_slot, min, True)

    def find(self, max: Key = ULONG_MAX) -> Any:
        """``mas_find``: first call, the entry at or after ``index`` up to ``max``;
        later calls, the next entry.  May return ZERO_ENTRY.  O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 0); mas.find(), mas.find(), mas.find()
        ('x', 'y', None)
        """
        max = _limit(max, "max")
        self._check_range()
        return guarded(self, find_setup, find_step, max, False)

    def find_range(self, max: Key = ULONG_MAX) -> Any:
        """``mas_find_range``: like :meth:`find` but NULL ranges are returned
        too.  O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x")
        >>> mas = MaState(t, 0); mas.find_range(), mas.find_range(), (mas.index, mas.last)
        ('x', None, (10, 18446744073709551615))
        """
        max = _limit(max, "max")
        self._check_range()
        return guarded(self, find_setup, next_slot, max, True)

    def find_rev(self, min: Key = 0) -> Any:
        """``mas_find_rev``: first call, the entry at or below ``index`` down to
        ``min``; later calls, the previous entry.  May return ZERO_ENTRY.
        O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.store(20, "y")
        >>> mas = MaState(t, 15); mas.find_rev(), mas.find_rev(), mas.find_rev()
        ('x', None, None)
        """
        min = _limit(min, "min")
        self._check_range()
        return guarded(self, find_rev_setup, prev_slot, min, False)

    def find_range_rev(self, min: Key = 0) -> Any:
        """``mas_find_range_rev``: like :meth:`find_rev` with NULL ranges too.
        O(1) amortised.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x")
        >>> mas = MaState(t, 15); mas.find_range_rev(), mas.find_range_rev(), (mas.index, mas.last)
        ('x', None, (0, 4))
        """
        min = _limit(min, "min")
        self._check_range()
        return guarded(self, find_rev_setup, prev_slot, min, True)

    def for_each(self, max: Key = ULONG_MAX) -> Iterator[Any]:
        """``mas_for_each``: yield every entry up to ``max`` (ZERO_ENTRY
        included); ``index``/``last`` hold the current range.  Each step is
        :meth:`find`; while the state stays ``active`` between steps it takes
        :meth:`find`'s step directly (which reads ``last`` only to leave the
        leaf, and checks it there).  O(1) amortised per entry.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree()
        >>> for i in range(3):
        ...     t.store_range(10 * i, 10 * i + 4, i)
        >>> mas = MaState(t, 0); [(mas.index, e) for e in mas.for_each(15)]
        [(0, 0), (10, 1)]
        """
        max = _limit(max, "max")
        step = next_slot
        entry = self.find(max)
        while entry is not None:
            yield entry
            if self._status == ACTIVE:  # step on as find() would ...
                entry = step(self, max, False)
                if entry is None:
                    self._status = ACTIVE  # ... ignoring overflow
            else:
                entry = self.find(max)

    def for_each_rev(self, min: Key = 0) -> Iterator[Any]:
        """``mas_for_each_rev``: yield every entry down to ``min`` (ZERO_ENTRY
        included), :meth:`find_rev` by :meth:`find_rev`.  O(1) amortised per
        entry.

        >>> from maple_tree import MapleTree
        >>> t = MapleTree()
        >>> for i in range(3):
        ...     t.store_range(10 * i, 10 * i + 4, i)
        >>> list(MaState(t, 100).for_each_rev(5))
        [2, 1]
        """
        min = _limit(min, "min")
        while True:
            entry = self.find_rev(min)
            if entry is None:
                return
            yield entry

    # -- writing ------------------------------------------------------------------------------
    def _check_write(self, entry: Any) -> None:
        self._check_range()
        check_write_lock(self._tree)
        if self._status == ERROR:
            raise StateError("the state is in error status after a failed search: reset() "
                             "or set() it before writing")
        check_entry(entry)

    def store(self, entry: Any) -> Any:
        """``mas_store``: store ``entry`` over ``[index, last]``; return the entry
        found at ``index`` before the write (None for a spanning store, where
        Linux 6.12 returns an internal node pointer).  ``index``/``last`` may
        widen when NULL ranges merge.  O(log n).

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); mas = MaState(t, 10, 19); mas.store("a"); t.load(15)
        'a'
        """
        self._check_write(entry)
        return cursor_store(self, entry)

    def store_gfp(self, entry: Any) -> None:
        """``mas_store_gfp``: :meth:`store` without the return value; it then
        ends bulk mode (:meth:`destroy`), as the kernel's does.  O(log n).

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); MaState(t, 3, 4).store_gfp("a"); list(t)
        [(3, 4, 'a')]
        """
        self._check_write(entry)
        cursor_store(self, entry)
        destroy(self)

    # -- bulk mode ----------------------------------------------------------------------------
    def expected_entries(self, count: Key) -> None:
        """``mas_expected_entries``: enter bulk mode to load about ``count``
        entries in ascending order through this state with :meth:`store`.
        In bulk mode a split leaves the left node nearly full (the right one
        gets the minimum), short nodes are not rebalanced, and :meth:`destroy`
        ends the mode; :meth:`store_gfp` and :meth:`erase` end it too.  Only
        this state's writes are bulk writes: writes through the tree or other
        states are not.  ``count`` must be an int in ``0..ULONG_MAX`` (the
        kernel uses it to preallocate nodes).  O(1).

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); mas = MaState(t)
        >>> mas.expected_entries(100)
        >>> for i in range(100):
        ...     mas.set_range(10 * i, 10 * i + 5); _ = mas.store(i)
        >>> mas.destroy(); len(t), t.height
        (100, 2)
        """
        check_key(count, "count")
        check_write_lock(self._tree)
        bulk_begin(self)

    def destroy(self) -> None:
        """``mas_destroy``: end bulk mode, after the kernel's final check of
        the leaf the state is on (``mas_destroy_rebalance``: a leaf left with
        fewer than 5 entries takes entries from its left sibling).  Outside
        bulk mode it does nothing.  Raises :class:`StateError` (nothing
        changed) where Linux 6.12.117 would walk from a node the state does
        not hold.  O(log n).

        >>> from maple_tree import MapleTree
        >>> mas = MaState(MapleTree()); mas.expected_entries(5); mas.destroy()
        """
        if self._bulk_rebalance:
            check_write_lock(self._tree)
        destroy(self)

    def erase(self) -> Any:
        """``mas_erase``: erase the whole range holding ``index``; return its
        entry (None if it was empty).  Always walks from the root; an erase
        that removes something ends bulk mode (:meth:`destroy`).  O(log n).

        >>> from maple_tree import MapleTree
        >>> t = MapleTree(); t.store_range(5, 9, "x")
        >>> mas = MaState(t, 7); mas.erase(), (mas.index, mas.last), t.load(7)
        ('x', (0, 18446744073709551615), None)
        """
        self._check_range()
        check_write_lock(self._tree)
        return cursor_erase(self)

    # -- gap search ---------------------------------------------------------------------------
    def empty_area(self, min: Key, max: Key, size: Key) -> None:
        """``mas_empty_area``: the lowest free run of ``size`` keys inside
        ``[min, max]``; on success ``index``/``last`` hold it.

        Raises InvalidArgumentError (EINVAL) for ``min > max``, ``size == 0``
        or a window smaller than ``size``, BusyError (EBUSY) if nothing fits
        (the state is then in status ``error`` with ``index``/``last`` = the
        window).  O(log n) on allocation trees.

        >>> from maple_tree import MapleTree, MT_FLAGS_ALLOC_RANGE
        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(0, 99, "a")
        >>> mas = MaState(t); mas.empty_area(0, 1000, 10); mas.index, mas.last
        (100, 109)
        """
        min, max, size = check_window(min, max, size)
        self._check_range()
        empty_area(self, min, max, size)

    def empty_area_rev(self, min: Key, max: Key, size: Key) -> None:
        """``mas_empty_area_rev``: the highest free run of ``size`` keys inside
        ``[min, max]``; same contract as :meth:`empty_area`.  O(log n) on
        allocation trees.

        >>> from maple_tree import MapleTree, MT_FLAGS_ALLOC_RANGE
        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(900, 999, "a")
        >>> mas = MaState(t); mas.empty_area_rev(0, 999, 10); mas.index, mas.last
        (890, 899)
        """
        min, max, size = check_window(min, max, size)
        self._check_range()
        empty_area_rev(self, min, max, size)
