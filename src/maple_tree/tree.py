"""``MapleTree``: the normal API (``mtree_*``, ``mt_*``) with kernel semantics.

A maple tree maps non-overlapping inclusive ranges ``[first, last]`` of keys
``0..ULONG_MAX`` to entries.  Every key not stored reads as ``None``.

>>> t = MapleTree()
>>> t.store_range(0x1000, 0x1fff, "text")
>>> t.insert_range(0x3000, 0x3fff, "heap")
>>> t.load(0x1800), t.load(0x2000)
('text', None)
>>> t.find(0x2000)
(12288, 16383, 'heap')
>>> t.erase(0x1234)
'text'
>>> list(t)
[(12288, 16383, 'heap')]
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Generator, Iterator, Optional

from .constants import (LEAF_64, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_ALLOC_WRAPPED, MT_FLAGS_USE_RCU, MT_FLAGS_USER_MASK,
                        ULONG_MAX)
from .entries import ZERO_ENTRY, InternalEntry, is_reserved
from .errors import InvalidArgumentError, InvalidTypeError
from .node import Node, RootEntry, kill_subtree
from .args import check_entry as _entry, check_key as _key, check_range as _range
from .write import store

__all__ = ["MapleTree"]

Range = tuple[int, int, Any]


def iter_leaves(root: Node, height: int, index: int = 0) -> Iterator[tuple[Node, int, int]]:
    """Every leaf ``(leaf, leaf_min, first_offset)`` from the one holding
    ``index`` on; ``first_offset`` is the slot of ``index`` in the first leaf
    and 0 afterwards.  O(1) amortised per leaf."""
    # descend, remembering the path (node, offset) for the climb back
    path: list[list] = []
    node, mn = root, 0
    for _ in range(height - 1):
        off = bisect_left(node.pivots, index)
        path.append([node, off])
        if off:
            mn = node.pivots[off - 1] + 1
        node = node.slots[off]
    yield node, mn, bisect_left(node.pivots, index)
    while path:
        mn = node.pivots[-1] + 1  # the next leaf starts after this one
        # climb to the first ancestor with a slot to the right, then go down its left edge
        while path:
            step = path[-1]
            parent, poff = step
            if poff + 1 < len(parent.pivots):
                step[1] = poff + 1
                node = parent.slots[poff + 1]
                while node.type != LEAF_64:
                    path.append([node, 0])
                    node = node.slots[0]
                yield node, mn, 0
                break
            path.pop()


def iter_slots(root: Node, height: int, index: int = 0) -> Iterator[tuple[int, int, Any]]:
    """Every leaf slot ``(first, last, entry)`` from the one holding ``index``
    on, NULL ranges included; O(1) amortised per slot."""
    for leaf, mn, off in iter_leaves(root, height, index):
        pivots = leaf.pivots
        slots = leaf.slots
        first = pivots[off - 1] + 1 if off else mn
        for i in range(off, len(pivots)):
            last = pivots[i]
            yield first, last, slots[i]
            first = last + 1


class MapleTree:
    """A maple tree; ``flags`` is a combination of ``MT_FLAGS_*``.

    ``MT_FLAGS_ALLOC_RANGE`` makes an allocation tree (10-slot internal nodes
    tracking the largest free gap); ``MT_FLAGS_USE_RCU`` and
    ``MT_FLAGS_LOCK_EXTERN`` are accepted and kept.

    >>> MapleTree(MT_FLAGS_ALLOC_RANGE).is_alloc
    True
    """

    __slots__ = ("_root", "_height", "_flags", "_alloc", "_bulk", "_writes", "__weakref__")

    def __init__(self, flags: int = 0) -> None:
        if flags.__class__ is not int:
            raise InvalidTypeError("flags must be an int")
        if flags & ~MT_FLAGS_USER_MASK or flags < 0:
            raise InvalidArgumentError(f"unknown tree flags {flags:#x}")
        self._root: Node | RootEntry | None = None
        self._height = 0
        self._flags = flags
        self._alloc = bool(flags & MT_FLAGS_ALLOC_RANGE)
        self._bulk = False
        self._writes = 0  # bumped by every write; lets iterators notice one

    # -- attributes -------------------------------------------------------
    @property
    def flags(self) -> int:
        """The tree's ``ma_flags`` without the height bits (``mt_attr``)."""
        return self._flags

    @property
    def height(self) -> int:
        """``mt_height``: 0 for an empty tree or a direct root, else node levels."""
        return self._height

    @property
    def is_alloc(self) -> bool:
        """True for an allocation tree (``MT_FLAGS_ALLOC_RANGE``)."""
        return self._alloc

    @property
    def in_rcu(self) -> bool:
        """``mt_in_rcu``."""
        return bool(self._flags & MT_FLAGS_USE_RCU)

    def set_in_rcu(self) -> None:
        """``mt_set_in_rcu``: set ``MT_FLAGS_USE_RCU``.  In-leaf stores then
        give the leaf new lists instead of rewriting its own, so a reader
        holding the old ones keeps a consistent snapshot; the rest of the
        RCU-safe write mode comes with the concurrency issue.  Shapes never
        depend on the flag.

        >>> t = MapleTree(); t.set_in_rcu(); t.in_rcu
        True
        """
        self._flags |= MT_FLAGS_USE_RCU

    def clear_in_rcu(self) -> None:
        """``mt_clear_in_rcu``: clear ``MT_FLAGS_USE_RCU``."""
        self._flags &= ~MT_FLAGS_USE_RCU

    @property
    def empty(self) -> bool:
        """``mtree_empty``: True when the tree holds no root at all.

        >>> t = MapleTree(); t.empty
        True
        """
        return self._root is None

    # -- reads ------------------------------------------------------------
    def load(self, index: int) -> Any:
        """``mtree_load``: the entry at ``index`` or None; ZERO_ENTRY reads as None.

        O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.load(15), t.load(21)
        ('x', None)
        """
        if index.__class__ is not int or index < 0 or index > ULONG_MAX:
            index = _key(index, "index")
        root = self._root
        if root.__class__ is Node:
            node = root
            for _ in range(self._height - 1):
                node = node.slots[bisect_left(node.pivots, index)]
            entry = node.slots[bisect_left(node.pivots, index)]
        elif root is None or index:
            return None
        else:
            entry = root.entry
        return None if entry is ZERO_ENTRY else entry

    def __contains__(self, index: int) -> bool:
        """``index in tree``: the key holds an entry (ZERO_ENTRY counts as empty)."""
        return self.load(index) is not None

    def find(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        """``mt_find``: the first entry at or after ``index`` that starts at or
        before ``max``, as ``(first, last, entry)``; None if there is none.

        NULL ranges and ZERO_ENTRY are skipped.  The range returned may start
        before ``index``.  O(log n + skipped slots).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.find(0), t.find(0, 9)
        ((10, 20, 'x'), None)
        """
        if not (index.__class__ is int and max.__class__ is int and 0 <= index <= ULONG_MAX
                and 0 <= max <= ULONG_MAX):
            index, max = _key(index, "index"), _key(max, "max")
        if index > max:
            return None
        root = self._root
        if root.__class__ is not Node:
            if root is not None and index == 0 and root.entry is not ZERO_ENTRY:
                return (0, 0, root.entry)
            return None
        # the leaf holding index first (the usual case), then the leaves after it
        node, mn = root, 0
        for _ in range(self._height - 1):
            pivots = node.pivots
            off = bisect_left(pivots, index)
            if off:
                mn = pivots[off - 1] + 1
            node = node.slots[off]
        pivots = node.pivots
        slots = node.slots
        off = bisect_left(pivots, index)
        first = pivots[off - 1] + 1 if off else mn
        for i in range(off, len(pivots)):
            if first > max:
                return None
            entry = slots[i]
            if entry is not None and entry is not ZERO_ENTRY:
                return (first, pivots[i], entry)
            first = pivots[i] + 1
        if pivots[-1] == ULONG_MAX or first > max:
            return None
        for first, last, entry in iter_slots(root, self._height, first):
            if first > max:
                return None
            if entry is not None and entry is not ZERO_ENTRY:
                return (first, last, entry)
        return None

    def find_after(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        """``mt_find_after``: :meth:`find`, except that ``index == 0`` means the
        previous range ended at ULONG_MAX (the kernel's cursor wrapped), so None.

        Use it to continue a search: pass ``(last + 1) & ULONG_MAX`` of the
        previous result.

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.find_after(0)
        """
        if index == 0:
            return None
        return self.find(index, max)

    def next(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        """``mt_next``: the first entry after the range holding ``index`` that
        starts at or before ``max``; may return ZERO_ENTRY.  A fresh
        :class:`~maple_tree.state.MaState` at ``index`` and its ``next(max)``,
        as in the kernel.  O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.store(30, "y")
        >>> t.next(15)
        (30, 30, 'y')
        """
        return self._step(index, max, "max", True)

    def prev(self, index: int, min: int = 0) -> Optional[Range]:
        """``mt_prev``: the last entry before the range holding ``index`` that
        ends at or after ``min``; may return ZERO_ENTRY.  A fresh
        :class:`~maple_tree.state.MaState` at ``index`` and its ``prev(min)``.
        O(log n).

        As in the kernel, a direct root entry at 0 is returned even when
        ``min > 0``.

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.store(30, "y")
        >>> t.prev(30)
        (10, 20, 'x')
        """
        return self._step(index, min, "min", False)

    def _step(self, index: int, limit: int, limit_name: str, forward: bool) -> Optional[Range]:
        """One ``mas_next`` / ``mas_prev`` of a fresh state at ``index``."""
        if not (index.__class__ is int and limit.__class__ is int and 0 <= index <= ULONG_MAX
                and 0 <= limit <= ULONG_MAX):
            index, limit = _key(index, "index"), _key(limit, limit_name)
        from .state import MaState
        mas = MaState(self, index)
        entry = mas.next(limit) if forward else mas.prev(limit)
        return None if entry is None else (mas.index, mas.last, entry)

    def __iter__(self) -> Iterator[Range]:
        """Every stored range ``(first, last, entry)`` in key order, NULL ranges
        and ZERO_ENTRY skipped (``mt_for_each``); O(1) amortised per entry.

        The tree may be written between steps: the kernel's ``mt_for_each``
        walks again from the root for every entry, and this iterator does the
        same, but only after a write, so each step yields what
        ``find_after(previous last + 1)`` would return at that moment.

        >>> t = MapleTree()
        >>> for i in range(4):
        ...     t.store_range(10 * i, 10 * i + 5, i)
        >>> seen = []
        >>> for first, last, v in t:  # erase the next range at every step
        ...     seen.append(v); _ = t.erase(first + 10)
        >>> seen, list(t)
        ([0, 2], [(0, 5, 0), (20, 25, 2)])
        """
        index: Optional[int] = 0
        while index is not None:  # one pass per write seen between steps
            index = yield from self._iter_until_write(index)

    def _iter_until_write(self, index: int) -> Generator[Range, None, Optional[int]]:
        """Yield the stored ranges from the one holding ``index`` on; after a
        step that saw a write, stop and return where to walk again from
        (None when iteration is over)."""
        root = self._root
        zero = ZERO_ENTRY
        if root.__class__ is not Node:
            if index == 0 and root is not None and root.entry is not zero:
                yield (0, 0, root.entry)
            return None
        writes = self._writes
        for leaf, first, off in iter_leaves(root, self._height, index):
            pivots = leaf.pivots
            slots = leaf.slots
            if off:
                first = pivots[off - 1] + 1
            for i in range(off, len(pivots)):
                entry = slots[i]
                last = pivots[i]
                if entry is not None and entry is not zero:
                    yield first, last, entry
                    if self._writes != writes:
                        return None if last == ULONG_MAX else last + 1
                first = last + 1
        return None

    def __len__(self) -> int:
        """The number of ranges iteration yields; O(n)."""
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        """True when at least one entry is visible."""
        for _ in self:
            return True
        return False

    # -- writes -----------------------------------------------------------
    def store_range(self, first: int, last: int, entry: Any) -> None:
        """``mtree_store_range``: make ``[first, last]`` hold ``entry``.

        Overlapped ranges are truncated or dropped; ``entry=None`` erases the
        range (NULL ranges merge).  Raises InvalidArgumentError (EINVAL) for
        ``first > last``, keys outside 0..ULONG_MAX or an advanced internal
        entry.  O(log n).

        >>> t = MapleTree(); t.store_range(0, 9, "a"); t.store_range(5, 14, "b"); list(t)
        [(0, 4, 'a'), (5, 14, 'b')]
        """
        if not (first.__class__ is int and last.__class__ is int
                and 0 <= first <= last <= ULONG_MAX) or entry.__class__ is InternalEntry:
            first, last = _range(first, last)
            entry = _entry(entry)
        store(self, first, last, entry)

    def store(self, index: int, entry: Any) -> None:
        """``mtree_store``: :meth:`store_range` of the single key ``index``.

        >>> t = MapleTree(); t.store(7, "x"); t.load(7)
        'x'
        """
        index = _key(index, "index")
        store(self, index, index, _entry(entry))

    def insert_range(self, first: int, last: int, entry: Any) -> None:
        """``mtree_insert_range``: store only if every key of ``[first, last]``
        is empty, else raise :class:`EntryExistsError` (EEXIST) and change
        nothing.  ZERO_ENTRY counts as occupied.  O(log n).

        >>> t = MapleTree(); t.insert_range(5, 9, "a")
        >>> t.insert_range(9, 12, "b")
        Traceback (most recent call last):
        ...
        maple_tree.errors.EntryExistsError: [9, 12] is occupied
        """
        first, last = _range(first, last)
        store(self, first, last, _entry(entry), insert=True)

    def insert(self, index: int, entry: Any) -> None:
        """``mtree_insert``: :meth:`insert_range` of the single key ``index``."""
        index = _key(index, "index")
        store(self, index, index, _entry(entry), insert=True)

    def erase(self, index: int) -> Any:
        """``mtree_erase``: remove the whole range holding ``index`` and return
        its entry (None if it was empty; ZERO_ENTRY is returned as is).  O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.erase(12), t.load(10)
        ('x', None)
        """
        index = _key(index, "index")
        root = self._root
        if root.__class__ is not Node:
            if root is None or index:
                return None
            entry = root.entry
            store(self, 0, 0, None)
            return entry
        node = root
        mn, mx = 0, ULONG_MAX
        for _ in range(self._height - 1):
            off = bisect_left(node.pivots, index)
            if off:
                mn = node.pivots[off - 1] + 1
            node = node.slots[off]
        off = bisect_left(node.pivots, index)
        entry = node.slots[off]
        if entry is None:
            return None
        store(self, node.pivots[off - 1] + 1 if off else mn, node.pivots[off], None)
        return entry

    def destroy(self) -> None:
        """``mtree_destroy``: drop every node; the flags stay.  O(n).

        >>> t = MapleTree(); t.store(1, "x"); t.destroy(); t.empty
        True
        """
        root = self._root
        self._root = None
        self._height = 0
        self._writes += 1
        if root.__class__ is Node:
            kill_subtree(root)

    def dup(self) -> "MapleTree":
        """``mtree_dup``: a node-for-node copy (same shape, same entry objects),
        independent of this tree.  O(n).

        >>> t = MapleTree(); t.store_range(1, 5, "x"); c = t.dup(); c.store(3, "y")
        >>> t.load(3), c.load(3)
        ('x', 'y')
        """
        new = MapleTree(self._flags)
        root = self._root
        if root.__class__ is RootEntry:
            new._root = RootEntry(root.entry)
        elif root is not None:
            new._root = _copy_subtree(root)
        new._height = self._height
        return new

    __copy__ = dup

    # -- allocation ---------------------------------------------------------
    def _alloc_check(self, entry: Any) -> None:
        if not self._alloc:
            raise InvalidArgumentError("allocation needs a tree with MT_FLAGS_ALLOC_RANGE")
        if is_reserved(entry):
            raise InvalidArgumentError(f"{entry!r} is reserved for the tree's internal use")

    def _allocate(self, entry: Any, size: int, min: int, max: int, rev: bool) -> int:
        from .state import MaState
        self._alloc_check(entry)
        min = _key(min, "min")
        max = _key(max, "max")
        size = _key(size, "size")
        mas = MaState(self)
        if rev:
            mas.empty_area_rev(min, max, size)
        else:
            mas.empty_area(min, max, size)
        store(self, mas.index, mas.last, entry, insert=True)
        return mas.index

    def alloc_range(self, size: int, entry: Any, min: int = 0, max: int = ULONG_MAX) -> int:
        """``mtree_alloc_range``: store ``entry`` in the lowest free run of
        ``size`` keys inside ``[min, max]`` and return its first key.

        Raises InvalidArgumentError (EINVAL) on a tree without
        ``MT_FLAGS_ALLOC_RANGE``, for a reserved entry or a bad window, and
        BusyError (EBUSY) when nothing fits.  O(log n).

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(0, 99, "a")
        >>> t.alloc_range(10, "b")
        100
        """
        return self._allocate(entry, size, min, max, False)

    def alloc_rrange(self, size: int, entry: Any, min: int = 0, max: int = ULONG_MAX) -> int:
        """``mtree_alloc_rrange``: like :meth:`alloc_range`, highest fit.

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.alloc_rrange(16, "top", 0, 4095)
        4080
        """
        return self._allocate(entry, size, min, max, True)

    def alloc_cyclic(self, entry: Any, lo: int, hi: int, next: int) -> tuple[int, int, bool]:
        """``mtree_alloc_cyclic``: store ``entry`` at the first free key of
        ``[max(lo, next), hi]``, wrapping to ``lo`` if none is free.

        Returns ``(start, new_next, wrapped)``: ``wrapped`` is the kernel's
        return value 1 (the search wrapped, or an earlier allocation at
        ULONG_MAX set ``MT_FLAGS_ALLOC_WRAPPED``).  ``new_next`` is
        ``start + 1`` modulo 2**64; reaching 0 sets ``MT_FLAGS_ALLOC_WRAPPED``.
        Raises InvalidArgumentError (EINVAL: not an allocation tree, reserved
        entry, ``lo > hi``) or BusyError (EBUSY: no free key).

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE)
        >>> t.alloc_cyclic("a", 1, 3, 0), t.alloc_cyclic("b", 1, 3, 2)
        ((1, 2, False), (2, 3, False))
        """
        from .state import MaState
        from .errors import MapleError
        self._alloc_check(entry)
        lo = _key(lo, "lo")
        hi = _key(hi, "hi")
        next = _key(next, "next")
        mas = MaState(self)
        start = lo if lo > next else next
        wrapped = False
        try:
            mas.empty_area(start, hi, 1)
            if self._flags & MT_FLAGS_ALLOC_WRAPPED:
                self._flags &= ~MT_FLAGS_ALLOC_WRAPPED
                wrapped = True
        except MapleError:
            if start <= lo:
                raise
            mas.reset()
            mas.empty_area(lo, hi, 1)
            wrapped = True
        store(self, mas.index, mas.last, entry, insert=True)
        start = mas.index
        new_next = (start + 1) & ULONG_MAX
        if new_next == 0:
            self._flags |= MT_FLAGS_ALLOC_WRAPPED
        return start, new_next, wrapped

    # -- inspection -------------------------------------------------------
    def validate(self, exempt_rightmost: bool = False) -> None:
        """``mt_validate``: check every structural invariant; raise
        :class:`TreeCorruptError` naming the node and offset.  O(n).

        Occupancy is checked strictly by default: outside bulk mode Linux
        6.12.117 never leaves a non-root node short, rightmost or not
        (conformance finding 2).  ``exempt_rightmost=True`` applies the
        kernel's own, looser ``mt_validate`` rule (nodes ending at ULONG_MAX
        are exempt), which bulk-built trees need.

        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.validate()
        """
        from .validate import validate_tree
        validate_tree(self, exempt_rightmost=exempt_rightmost)

    def structure(self) -> dict:
        """The tree's exact shape as a maple-structure/1 object (see docs)."""
        from .structure import tree_structure
        return tree_structure(self)

    @classmethod
    def from_structure(cls, obj: Any, flags: int | None = None) -> "MapleTree":
        """Rebuild a tree node for node from a maple-structure/1 object."""
        from .structure import tree_from_structure
        return tree_from_structure(obj, flags)

    def dump(self, fmt: str = "hex") -> str:
        """``mt_dump``: the tree as text in the kernel's layout (``fmt`` hex or dec)."""
        from .dump import dump_tree
        return dump_tree(self, fmt)

    def __repr__(self) -> str:
        return f"<MapleTree flags={self._flags:#x} height={self._height}>"


def _copy_subtree(node: Node) -> Node:
    """Copy ``node`` and everything below it (DFS, like ``mas_dup_build``)."""
    new = Node(node.type, node.pivots[:], node.slots[:],
               node.gaps[:] if node.gaps is not None else None)
    if node.type != LEAF_64:
        slots = new.slots
        for i, child in enumerate(slots):
            c = _copy_subtree(child)
            c.parent = new
            c.parent_slot = i
            slots[i] = c
    return new
