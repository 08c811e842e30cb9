"""``MaState``: the kernel's advanced API cursor (``struct ma_state``).

A state remembers a position (node, bounds, offset) and a status, so
``next``/``prev`` cost O(1) amortised inside a leaf.  Its semantics follow
Linux 6.12.117 exactly, including the statuses ``start``, ``root``, ``none``,
``pause``, ``active``, ``underflow``, ``overflow`` and ``error``.

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

from bisect import bisect_left
from typing import Any, Iterator

from .constants import EBUSY, EINVAL, LEAF_64, ULONG_MAX
from .entries import ZERO_ENTRY
from .errors import BusyError, InvalidArgumentError, StateError
from .args import check_entry, check_key, check_range
from .node import Node, RootEntry, node_min
from .walk import ascend

__all__ = ["MaState", "START", "ROOT", "NONE", "PAUSE", "ACTIVE", "UNDERFLOW", "OVERFLOW",
           "ERROR"]

ACTIVE = "active"
START = "start"
ROOT = "root"
NONE = "none"
PAUSE = "pause"
OVERFLOW = "overflow"
UNDERFLOW = "underflow"
ERROR = "error"

_NODE_SLOTS = 31  # MAPLE_NODE_SLOTS: the offset of a state with no node


class MaState:
    """A cursor on ``tree`` for the range ``[index, last]`` (``MA_STATE``).

    ``last`` defaults to ``index``.  Fields follow the kernel: ``index`` and
    ``last`` (the range of interest, rewritten by every call), ``status``,
    ``node``/``min``/``max``/``offset`` (the position, ``node`` is None when
    the state holds no node).
    """

    __slots__ = ("tree", "index", "last", "node", "min", "max", "offset", "end", "status",
                 "errno")

    def __init__(self, tree, index: int = 0, last: int | None = None) -> None:
        from .tree import MapleTree
        if not isinstance(tree, MapleTree):
            raise TypeError(f"MaState needs a MapleTree, not {type(tree).__name__}")
        index = check_key(index, "index")
        last = index if last is None else check_key(last, "last")
        self.tree = tree
        self.index = index
        self.last = last
        self.node: Node | None = None
        self.min = 0
        self.max = ULONG_MAX
        self.offset = 0
        self.end = 0
        self.status = START
        self.errno = 0

    def __repr__(self) -> str:
        return (f"<MaState {self.status} [{self.index}, {self.last}] "
                f"node={self.node!r} offset={self.offset}>")

    # -- state handling ---------------------------------------------------
    def reset(self) -> None:
        """``mas_reset``: walk again from the root at the next call."""
        self.status = START
        self.node = None

    def set_range(self, first: int, last: int) -> None:
        """``mas_set_range``: reset and point at ``[first, last]``."""
        first, last = check_range(first, last)
        self.index = first
        self.last = last
        self.reset()

    def set(self, index: int) -> None:
        """``mas_set``: reset and point at ``index``."""
        self.set_range(index, index)

    def pause(self) -> None:
        """``mas_pause``: drop the node; the next find resumes after ``last``."""
        self.status = PAUSE
        self.node = None

    def _set_err(self, errno: int) -> None:
        self.status = ERROR
        self.node = None
        self.errno = errno

    def _snapshot(self) -> tuple:
        return (self.index, self.last, self.node, self.min, self.max, self.offset, self.end,
                self.status, self.errno)

    def _restore(self, snap: tuple) -> None:
        (self.index, self.last, self.node, self.min, self.max, self.offset, self.end,
         self.status, self.errno) = snap

    def _guard(self, setup, step, limit, empty: bool) -> Any:
        if self.node is not None:  # only a state without a node can crash
            done, entry = setup(limit)
            return entry if done else step(limit, empty)
        snap = self._snapshot()
        try:
            done, entry = setup(limit)
            if done:
                return entry
            return step(limit, empty)
        except StateError:
            self._restore(snap)
            raise

    def _require_node(self) -> Node:
        node = self.node
        if node is None:
            raise StateError(
                f"state {self.status} holds no node: Linux 6.12.117 dereferences NULL here")
        return node

    # -- walking ----------------------------------------------------------
    def _start(self) -> Any:
        """``mas_start``: load the root if the status is ``start``."""
        if self.status != START:
            return None
        self.min = 0
        self.max = ULONG_MAX
        root = self.tree._root
        if root.__class__ is Node:
            self.status = ACTIVE
            self.node = root
            self.offset = 0
            return None
        self.node = None
        self.offset = _NODE_SLOTS
        if root is None:
            self.status = NONE
            return None
        self.status = ROOT
        return root.entry if self.index == 0 else None

    def _range_walk(self) -> Any:
        """``mtree_range_walk``: descend to the leaf slot holding ``index``."""
        node = self.node
        index = self.index
        mn, mx = self.min, self.max
        while True:
            pivots = node.pivots
            pmin, pmax = mn, mx
            off = bisect_left(pivots, index)
            if off:
                mn = pivots[off - 1] + 1
            mx = pivots[off]
            if node.type == LEAF_64:
                self.end = len(pivots) - 1
                self.offset = off
                self.index = mn
                self.last = mx
                self.min = pmin
                self.max = pmax
                self.node = node
                return node.slots[off]
            node = node.slots[off]

    def _state_walk(self) -> Any:
        entry = self._start()
        if self.status == NONE:
            return None
        if self.status == ROOT:
            return entry
        return self._range_walk()

    def walk(self) -> Any:
        """``mas_walk``: the entry at ``index`` (NULL ranges too); ``index`` and
        ``last`` become that slot's range.  Always walks from the root (6.12)."""
        self.status = START
        entry = self._state_walk()
        if self.status == NONE:
            self.index = 0
            self.last = ULONG_MAX
        elif self.status == ROOT:
            if not self.index:
                self.last = 0
                return entry
            self.index = 1
            self.last = ULONG_MAX
            self.status = NONE
            return None
        return entry

    def _next_node(self, max_: int) -> None:
        """``mas_next_node``: move to the next leaf, or status ``overflow``."""
        if self.max >= max_:
            self.status = OVERFLOW
            return
        mn = self.max + 1
        node = self.node
        level = 0
        while True:
            if node.parent is None:
                self.status = OVERFLOW
                return
            slot = node.parent_slot
            node = node.parent
            level += 1
            if slot < len(node.pivots) - 1:
                break
        off = slot + 1
        mx = node.pivots[off]
        child = node.slots[off]
        while level > 1:
            level -= 1
            node = child
            child = node.slots[0]
            mx = node.pivots[0]
            off = 0
        self.node = child
        self.min = mn
        self.max = mx
        self.offset = off
        self.end = len(child.pivots) - 1

    def _prev_node(self, min_: int) -> None:
        """``mas_prev_node``: move to the previous leaf, or status ``underflow``."""
        if not self.min or self.min - 1 < min_:
            self.status = UNDERFLOW
            return
        mx = self.min - 1
        node = self.node
        level = 0
        while True:
            if node.parent is None:
                self.status = UNDERFLOW
                return
            slot = node.parent_slot
            node = node.parent
            level += 1
            if slot:
                break
        off = slot - 1
        while level > 1:
            level -= 1
            node = node.slots[off]
            off = len(node.pivots) - 1
        child = node.slots[off]
        self.min = node.pivots[off - 1] + 1 if off else node_min(node)
        self.max = mx
        self.node = child
        self.offset = self.end = len(child.pivots) - 1

    def _rewalk(self, index: int) -> None:
        """``mas_rewalk``: the state's node died (a write made elsewhere
        replaced it), so walk again from the root to the slot holding
        ``index`` before stepping on.  Raises :class:`StateError` (state
        unchanged) if the tree has no node left, where Linux 6.12.117 would
        dereference NULL."""
        snap = self._snapshot()
        self.index = self.last = index
        self.status = START
        self._state_walk()
        if self.status != ACTIVE:
            self._restore(snap)
            raise StateError("the tree holding this state's node became a direct root "
                             "or empty: Linux 6.12.117 dereferences NULL here")

    def _next_slot(self, max_: int, empty: bool) -> Any:
        """``mas_next_slot``: the next slot's entry (NULL ranges skipped unless ``empty``)."""
        node = self._require_node()
        if node.dead:  # mas_rewalk_if_dead, from the end of the current range
            self._rewalk(self.last)
            node = self.node
        pivots = node.pivots
        if self.max >= max_:
            pivot = pivots[self.offset] if self.offset < self.end else self.max
            if pivot >= max_:
                self.status = OVERFLOW
                return None
        if self.offset < self.end:
            self.index = pivots[self.offset] + 1
        else:
            if self.last >= max_:
                self.status = OVERFLOW
                return None
            self._next_node(max_)
            if self.status == OVERFLOW:
                return None
            node = self.node
            pivots = node.pivots
            self.offset = -1
            self.index = self.min
        while True:
            self.offset += 1
            self.last = pivots[self.offset] if self.offset < self.end else self.max
            entry = node.slots[self.offset] if self.offset <= self.end else None
            if entry is not None or empty:
                return entry
            if self.last >= max_:
                self.status = OVERFLOW
                return None
            self.index = self.last + 1
            if self.offset >= self.end:
                self._next_node(max_)
                if self.status == OVERFLOW:
                    return None
                node = self.node
                pivots = node.pivots
                self.offset = -1

    def _prev_slot(self, min_: int, empty: bool) -> Any:
        """``mas_prev_slot``: the previous slot's entry (NULL ranges skipped unless ``empty``)."""
        node = self._require_node()
        if node.dead:  # mas_rewalk_if_dead, from the start of the current range
            self._rewalk(self.index)
            node = self.node
        pivots = node.pivots
        if self.min <= min_:
            start = pivots[self.offset - 1] + 1 if self.offset else self.min
            if start <= min_:
                self.status = UNDERFLOW
                return None
        while True:
            if self.offset:
                self.offset -= 1
                self.last = self.index - 1
                self.index = pivots[self.offset - 1] + 1 if self.offset else self.min
            else:
                if self.index <= min_:
                    self.status = UNDERFLOW
                    return None
                self._prev_node(min_)
                if self.status == UNDERFLOW:
                    return None
                node = self.node
                pivots = node.pivots
                self.last = self.max
                self.index = pivots[self.offset - 1] + 1 if self.offset else self.min
            entry = node.slots[self.offset]
            if entry is not None or empty:
                return entry
            if self.index <= min_:
                self.status = UNDERFLOW
                return None

    # -- next / prev ------------------------------------------------------
    def _restore_walk(self) -> Any:
        """Leave ``overflow``/``underflow`` the way 6.12.117 does on the side
        that re-walks: mark the state active and walk from the root."""
        self.status = ACTIVE
        return self.walk()

    def _next_setup(self, max_: int) -> tuple[bool, Any]:
        was_none = self.status == NONE
        if self.last >= max_:
            self.status = OVERFLOW
            return True, None
        status = self.status
        if status == ACTIVE:
            return False, None
        if status in (NONE, PAUSE, START):
            self.walk()
        elif status == OVERFLOW:
            self.status = ACTIVE
        elif status == UNDERFLOW:
            entry = self._restore_walk()
            if entry is not None:
                return True, entry
        elif status == ERROR:
            return True, None
        if self.status == ACTIVE:
            return False, None
        if self.status == ROOT:
            if was_none and self.index == 0:
                self.index = self.last = 0
                return True, None
            self.index = 1
            self.last = ULONG_MAX
            self.status = NONE
            return True, None
        if self.status == NONE:
            return True, None
        return False, None

    def next(self, max: int = ULONG_MAX) -> Any:
        """``mas_next``: the next entry after the current range, starting at or
        before ``max`` (may be ZERO_ENTRY); None at the limit (``overflow``)."""
        max = _limit(max)
        return self._guard(self._next_setup, self._next_slot, max, False)

    def next_range(self, max: int = ULONG_MAX) -> Any:
        """``mas_next_range``: like :meth:`next` but NULL ranges are returned too."""
        max = _limit(max)
        return self._guard(self._next_setup, self._next_slot, max, True)

    def _prev_setup(self, min_: int) -> tuple[bool, Any]:
        if self.index <= min_:
            self.status = UNDERFLOW
            return True, None
        status = self.status
        if status == ACTIVE:
            return False, None
        if status in (NONE, PAUSE):
            self.status = START
        elif status == UNDERFLOW:
            self.status = ACTIVE
        elif status == OVERFLOW:
            entry = self._restore_walk()
            if entry is not None:
                return True, entry
        elif status == ERROR:
            return True, None
        if self.status == START:
            self.walk()
        if self.status == ROOT:
            if not self.index:
                self.status = NONE
                return True, None
            self.index = self.last = 0
            return True, _root_entry(self.tree)
        if self.status == NONE:
            if self.index:
                self.index = self.last = 0
                self.status = ROOT
                return True, _root_entry(self.tree)
            return True, None
        return False, None

    def prev(self, min: int = 0) -> Any:
        """``mas_prev``: the entry before the current range, ending at or after
        ``min`` (may be ZERO_ENTRY); None at the limit (``underflow``)."""
        min = _limit(min)
        return self._guard(self._prev_setup, self._prev_slot, min, False)

    def prev_range(self, min: int = 0) -> Any:
        """``mas_prev_range``: like :meth:`prev` but NULL ranges are returned too."""
        min = _limit(min)
        return self._guard(self._prev_setup, self._prev_slot, min, True)

    # -- find -------------------------------------------------------------
    def _find_setup(self, max_: int) -> tuple[bool, Any]:
        status = self.status
        if status == ACTIVE:
            return (self.last >= max_), None
        if status == PAUSE:
            if self.last >= max_:
                return True, None
            self.last += 1
            self.index = self.last
            self.status = START
        elif status == NONE:
            if self.last >= max_:
                return True, None
            self.index = self.last
            self.status = START
        elif status == UNDERFLOW:
            if self.index >= max_:
                self.status = OVERFLOW
                return True, None
            entry = self._restore_walk()
            if entry is not None:
                return True, entry
        elif status == OVERFLOW:
            if self.last >= max_:
                return True, None
            entry = self._restore_walk()
            if entry is not None:
                return True, entry
        elif status == ERROR:
            return True, None
        if self.status == START:
            if self.index > max_:
                return True, None
            entry = self.walk()
            if entry is not None:
                return True, entry
        if self.status == ROOT:
            self.status = NONE
            self.index = 1
            self.last = ULONG_MAX
            return True, None
        if self.status == NONE:
            return True, None
        if self.index == max_:
            return True, None
        return False, None

    def find(self, max: int = ULONG_MAX) -> Any:
        """``mas_find``: first call, the entry at or after ``index`` up to ``max``;
        later calls, the next entry.  May return ZERO_ENTRY."""
        max = _limit(max)
        return self._guard(self._find_setup, self._find_step, max, False)

    def _find_step(self, max_: int, empty: bool) -> Any:
        entry = self._next_slot(max_, empty)
        self.status = ACTIVE  # mas_find: "ignore overflow"
        return entry

    def find_range(self, max: int = ULONG_MAX) -> Any:
        """``mas_find_range``: like :meth:`find` but NULL ranges are returned too."""
        max = _limit(max)
        return self._guard(self._find_setup, self._next_slot, max, True)

    def _find_rev_setup(self, min_: int) -> tuple[bool, Any]:
        status = self.status
        if status == ACTIVE:
            return self.index < min_, None
        if status == PAUSE:
            if self.index <= min_:
                self.status = UNDERFLOW
                return True, None
            self.index -= 1
            self.last = self.index
            self.status = START
        elif status == NONE:
            if self.index <= min_:
                self.status = NONE
                return True, None
            self.last = self.index
            self.status = START
        elif status in (OVERFLOW, UNDERFLOW):
            if self.index <= min_:
                if status == OVERFLOW:
                    self.status = UNDERFLOW
                return True, None
            self.status = ACTIVE
        elif status == ERROR:
            return True, None
        if self.status == START:
            if self.index < min_:
                return True, None
            entry = self.walk()
            if entry is not None:
                return True, entry
        if self.status == ROOT:
            self.status = NONE
            return True, None
        if self.status == NONE:
            self.last = self.index = 0
            self.status = ROOT
            return True, _root_entry(self.tree)
        if self.index < min_:
            return True, None
        return False, None

    def find_rev(self, min: int = 0) -> Any:
        """``mas_find_rev``: first call, the entry at or below ``index`` down to
        ``min``; later calls, the previous entry.  May return ZERO_ENTRY."""
        min = _limit(min)
        return self._guard(self._find_rev_setup, self._prev_slot, min, False)

    def find_range_rev(self, min: int = 0) -> Any:
        """``mas_find_range_rev``: like :meth:`find_rev` with NULL ranges too."""
        min = _limit(min)
        return self._guard(self._find_rev_setup, self._prev_slot, min, True)

    def for_each(self, max: int = ULONG_MAX) -> Iterator[Any]:
        """``mas_for_each``: yield every entry up to ``max`` (ZERO_ENTRY included);
        ``index``/``last`` hold the current range.  O(1) amortised per step:
        inside a leaf the state steps slot by slot without any setup (the
        in-leaf case of ``mas_next_slot``); at a leaf's end, or when the caller
        used the state between steps (even to write through it), the step goes
        through :meth:`find`."""
        max = _limit(max)
        while True:
            entry = self.find(max)
            if entry is None:
                return
            yield entry
            while self.status == ACTIVE:
                node = self.node
                if node.dead:
                    break  # find() walks again (mas_rewalk_if_dead)
                pivots = node.pivots
                end = len(pivots) - 1
                off = self.offset
                if self.end != end:
                    break
                if off < end:
                    last = pivots[off]
                else:  # the next leaf (mas_next_node), unless at the limit
                    if self.last >= max:
                        break
                    self._next_node(max)
                    if self.status == OVERFLOW:  # nothing moved: find() reports it
                        self.status = ACTIVE
                        break
                    node = self.node
                    pivots = node.pivots
                    end = self.end
                    off = -1
                    last = self.min - 1
                    self.offset, self.index, self.last = 0, self.min, pivots[0]
                slots = node.slots
                entry = None
                while off < end and last < max:
                    first = last + 1
                    off += 1
                    last = pivots[off]
                    entry = slots[off]
                    if entry is not None:
                        break
                if entry is None:
                    break  # find() takes it from here
                self.offset = off
                self.index = first
                self.last = last
                yield entry

    def for_each_rev(self, min: int = 0) -> Iterator[Any]:
        """``mas_for_each_rev``: yield every entry down to ``min``."""
        while True:
            entry = self.find_rev(min)
            if entry is None:
                return
            yield entry

    # -- writes ------------------------------------------------------------
    def _write(self, entry: Any) -> Any:
        from .write import store
        if self.status == ERROR:
            raise StateError("the state is in error status")
        if self.index > self.last:
            raise InvalidArgumentError(f"index {self.index} > last {self.last}")
        entry = check_entry(entry)
        self._prealloc_setup(entry)
        content = self._start()
        return store(self.tree, self.index, self.last, entry, mas=self, root_content=content)

    def _prealloc_setup(self, entry: Any) -> None:
        """``mas_wr_prealloc_setup``: keep the position only if the write stays
        inside the current node."""
        status = self.status
        if status == START:
            return
        if status in (PAUSE, NONE, OVERFLOW, UNDERFLOW):
            self.reset()
            return
        if self.last > self.max:
            self.reset()
        elif entry is None and (self.node is None or self.node.type == LEAF_64) \
                and self.last == self.max:
            self.reset()

    def store(self, entry: Any) -> Any:
        """``mas_store``: store ``entry`` over ``[index, last]``; return the entry
        found at ``index`` before the write (None for a spanning store, where
        Linux 6.12 returns an internal node pointer).  ``index``/``last`` may
        widen when NULL ranges merge."""
        return self._write(entry)

    def store_gfp(self, entry: Any) -> None:
        """``mas_store_gfp``: :meth:`store` without the return value."""
        self._write(entry)

    def erase(self) -> Any:
        """``mas_erase``: erase the whole range holding ``index``; return its
        entry (None if it was empty).  Always walks from the root."""
        self.status = START
        entry = self._state_walk()
        if entry is None:
            return None
        from .write import store
        self.reset()
        content = self._start()
        store(self.tree, self.index, self.last, None, mas=self, root_content=content)
        return entry

    # -- gap search -------------------------------------------------------
    def _skip_node(self) -> bool:
        """``mas_skip_node``: move to the next slot of an ancestor."""
        if self.status == ERROR:
            return False
        while True:
            node = self.node
            if node.parent is None:
                if self.offset >= len(node.pivots) - 1:
                    self._set_err(EBUSY)
                    return False
            else:
                ascend(self)
            if self.offset < len(self.node.pivots) - 1:
                break
        self.offset += 1
        return True

    def _anode_descend(self, size: int) -> bool:
        """``mas_anode_descend``: one step of the lowest-fit gap walk."""
        node = self.node
        pivots = node.pivots
        gaps = node.gaps
        slots = node.slots
        leaf = node.type == LEAF_64
        off = self.offset
        mn = pivots[off - 1] + 1 if off else self.min
        end = len(pivots) - 1
        while off <= end:
            pivot = pivots[off]
            if self.index <= pivot:
                if gaps is not None:
                    gap = gaps[off]
                elif slots[off] is None:
                    gap = (min(pivot, self.last) - max(self.index, mn) + 1) & ULONG_MAX
                else:
                    gap = -1
                if gap >= size:
                    if leaf:
                        self.offset = off
                        return True
                    self.node = slots[off]
                    self.min = mn
                    self.max = pivot
                    self.offset = 0
                    return False
            mn = pivot + 1
            if self.last <= pivot:
                self._set_err(EBUSY)
                return True
            off += 1
        self.offset = off
        return False

    def empty_area(self, min: int, max: int, size: int) -> None:
        """``mas_empty_area``: the lowest free run of ``size`` keys inside
        ``[min, max]``; on success ``index``/``last`` hold it.

        Raises InvalidArgumentError (EINVAL) for ``min > max``, ``size == 0``
        or a window smaller than ``size``, BusyError (EBUSY) if nothing fits
        (the state is then in status ``error`` with ``index``/``last`` = the
        window).  O(log n) on allocation trees.
        """
        min, max, size = check_key(min, "min"), check_key(max, "max"), check_key(size, "size")
        if min > max or size == 0 or max - min < size - 1:
            raise InvalidArgumentError("invalid gap search window or size")
        if self.status == START:
            self._start()
        elif self.offset >= 2:
            self.offset -= 2
        elif not self._skip_node():
            raise BusyError("no free range")
        if self.status in (NONE, ROOT):
            self._sparse_area(min, max, size, True)
            return
        self.index = min
        self.last = max
        last_node = None
        while self.status != ERROR and not self._anode_descend(size):
            if last_node is self.node:
                self._skip_node()
            else:
                last_node = self.node
        if self.status == ERROR:
            raise BusyError("no free range of that size in the window")
        node = self.node
        off = self.offset
        start = node.pivots[off - 1] + 1 if off else self.min
        if self.index < start:
            self.index = start
        self.last = self.index + size - 1
        self.end = len(node.pivots) - 1

    def _sparse_area(self, min_: int, max_: int, size: int, fwd: bool) -> None:
        """``mas_sparse_area``: a gap search in an empty or direct-root tree."""
        if self.status != NONE and min_ == 0:
            min_ += 1
            if min_ > max_ or max_ - min_ + 1 < size:
                raise BusyError("no free range")
        if fwd:
            self.index = min_
            self.last = min_ + size - 1
        else:
            self.last = max_
            self.index = max_ - size + 1

    def _rewind_node(self) -> bool:
        """``mas_rewind_node``: step back to the previous slot of an ancestor."""
        while True:
            if self.node.parent is None:
                slot = self.offset
                if not slot:
                    return False
            else:
                ascend(self)
                slot = self.offset
            if slot:
                break
        self.offset = slot - 1
        return True

    def _rev_awalk(self, size: int, found: list) -> bool:
        """``mas_rev_awalk``: one step of the highest-fit gap walk."""
        node = self.node
        pivots = node.pivots
        slots = node.slots
        gaps = node.gaps
        off = self.offset
        mn = pivots[off - 1] + 1 if off else self.min
        while self.last < mn:
            off -= 1
            mn = pivots[off - 1] + 1 if off else self.min
        mx = pivots[off]
        gap = 0
        while self.index <= mx:
            gap = 0
            if gaps is not None:
                gap = gaps[off]
            elif slots[off] is None:
                gap = (mx - mn + 1) & ULONG_MAX
            if gap:
                if size <= gap and size <= ((self.last - mn + 1) & ULONG_MAX):
                    break
                if gaps is None:
                    if off < 2:
                        return self._rev_ascend()
                    off -= 2
                    mx = pivots[off]
                    mn = pivots[off - 1] + 1 if off else self.min
                    continue
            if not off:
                return self._rev_ascend()
            off -= 1
            mx = mn - 1
            mn = pivots[off - 1] + 1 if off else self.min
        if self.index > mx or size - 1 > mx - self.index:
            self._set_err(EBUSY)
            return False
        if node.type == LEAF_64:
            self.offset = off
            found[:] = [mn, mn + gap - 1]
            return True
        self.node = slots[off]
        self.min = mn
        self.max = mx
        self.offset = len(self.node.pivots) - 1
        return False

    def _rev_ascend(self) -> bool:
        if self.node.parent is not None:
            return False
        self._set_err(EBUSY)
        return False

    def empty_area_rev(self, min: int, max: int, size: int) -> None:
        """``mas_empty_area_rev``: the highest free run of ``size`` keys inside
        ``[min, max]``; same contract as :meth:`empty_area`."""
        min, max, size = check_key(min, "min"), check_key(max, "max"), check_key(size, "size")
        if min > max or size == 0 or max - min < size - 1:
            raise InvalidArgumentError("invalid gap search window or size")
        last_node = self.node
        if self.status == START:
            self._start()
        elif self.offset < 2 and not self._rewind_node():
            raise BusyError("no free range")
        if self.status in (NONE, ROOT):
            self._sparse_area(min, max, size, False)
            return
        elif self.offset >= 2:
            self.offset -= 2
        else:
            self.offset = len(self.node.pivots) - 1
        self.index = min
        self.last = max
        found: list = []
        while not self._rev_awalk(size, found):
            if self.status == ERROR:
                break
            if last_node is self.node:
                if not self._rewind_node():
                    raise BusyError("no free range")
            else:
                last_node = self.node
        if self.status == ERROR:
            raise BusyError("no free range of that size in the window")
        gap_max = found[1]
        if gap_max < self.last:
            self.last = gap_max
        self.index = self.last - size + 1
        self.end = len(self.node.pivots) - 1


def _limit(value: Any) -> int:
    """A search limit: fast path for plain ints, else the full key check."""
    if value.__class__ is int and 0 <= value <= ULONG_MAX:
        return value
    return check_key(value, "limit")


def _root_entry(tree) -> Any:
    root = tree._root
    return root.entry if root.__class__ is RootEntry else None
