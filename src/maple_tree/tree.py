"""``MapleTree``: the normal API (``mtree_*``, ``mt_*``) with kernel semantics.

A maple tree maps non-overlapping inclusive ranges ``[first, last]`` of keys
``0..ULONG_MAX`` to entries.  Every key not stored reads as ``None``.  Beside
the kernel's names the tree speaks the everyday Python protocols: ``tree[i]``,
``get``, ``in``, ``len``, iteration (also ``reversed`` and ``items`` over a
key window), ``==`` on contents.

>>> t = MapleTree()
>>> t.store_range(0x1000, 0x1fff, "text")
>>> t.insert_range(0x3000, 0x3fff, "heap")
>>> t.load(0x1800), t.get(0x2000, "-"), t[0x3000]
('text', '-', 'heap')
>>> t.find(0x2000)
(12288, 16383, 'heap')
>>> t.erase(0x1234)
'text'
>>> list(t)
[(12288, 16383, 'heap')]
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Generator, Iterable, Iterator
from copy import deepcopy
from itertools import islice
from typing import Any

from .alloc import alloc_cyclic, alloc_range
from .args import Flag, Key, check_bool, check_entry, check_key, check_range, show
from .build import DEFAULT_FILL, build_into
from .constants import (
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_USE_RCU,
    MT_FLAGS_USER_MASK,
    ULONG_MAX,
)
from .core import TreeCore, TreeLock
from .dump import dump_tree
from .dup import CopyEntry, dup_into, fork_into
from .entries import ZERO_ENTRY, InternalEntry
from .errors import InvalidArgumentError, InvalidTypeError
from .node import Node, kill_subtree, node_min
from .rcu import load as rcu_load
from .rcu import ranges as rcu_ranges
from .rcu import ranges_rev as rcu_ranges_rev
from .render import DEFAULT_MAX_NODES_PER_LEVEL, render_svg
from .state import MaState
from .stats import TreeStats, tree_stats
from .structure import root_from_structure, same_shape, tree_structure
from .validate import validate_tree
from .walk import count_entries, iter_leaves, leaf_of, next_node, prev_node
from .write import erase_slot, store

__all__ = ["MapleTree", "Range"]

#: a stored range as the API returns it: ``(first, last, entry)``
Range = tuple[int, int, Any]

#: trees with at most this many stored ranges show them in their repr
_REPR_RANGES = 8


class MapleTree(TreeCore):
    """A maple tree; ``flags`` is a combination of ``MT_FLAGS_*``.

    ``MT_FLAGS_ALLOC_RANGE`` makes an allocation tree (10-slot internal nodes
    tracking the largest free gap); ``MT_FLAGS_USE_RCU`` and the lock flags
    are accepted and kept.  O(1).

    >>> MapleTree(MT_FLAGS_ALLOC_RANGE).is_alloc
    True
    """

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable: compares by contents

    def __init__(self, flags: Key = 0) -> None:
        if flags.__class__ is not int:
            raise InvalidTypeError(f"flags must be an int, not {type(flags).__name__} "
                                   f"{show(flags)}")
        if flags < 0:
            raise InvalidArgumentError(f"flags {flags} is negative")
        if flags & ~MT_FLAGS_USER_MASK:
            raise InvalidArgumentError(f"flags {flags:#x} has unknown bits "
                                       f"{flags & ~MT_FLAGS_USER_MASK:#x}")
        super().__init__(flags)

    # -- attributes -------------------------------------------------------------------------
    @property
    def flags(self) -> int:
        """The tree's ``ma_flags`` without the height bits (``mt_attr``).  O(1).

        >>> MapleTree(MT_FLAGS_ALLOC_RANGE).flags
        1
        """
        return self._flags

    @property
    def height(self) -> int:
        """``mt_height``: 0 for an empty tree or a direct root, else node
        levels.  O(1).

        >>> t = MapleTree(); t.store(5, "x"); t.height
        1
        """
        return self._height

    @property
    def is_alloc(self) -> bool:
        """True for an allocation tree (``MT_FLAGS_ALLOC_RANGE``).  O(1)."""
        return self._alloc

    @property
    def lock(self) -> TreeLock:
        """The tree's lock (``mtree_lock``): every normal-API write takes it
        (unless the tree was made with ``MT_FLAGS_LOCK_EXTERN``); writes
        through a :class:`~maple_tree.state.MaState` are made under
        ``with tree.lock:``, as in the kernel.  Unlike the kernel's, it is
        reentrant: a normal-API write inside ``with tree.lock:`` runs.  See
        docs/concurrency.md.

        >>> t = MapleTree(); m = MaState(t, 5)
        >>> with t.lock:
        ...     m.store("x")
        >>> t.load(5)
        'x'
        """
        return self._lock

    @property
    def in_rcu(self) -> bool:
        """``mt_in_rcu``: ``MT_FLAGS_USE_RCU`` is set.  O(1)."""
        return bool(self._flags & MT_FLAGS_USE_RCU)

    def set_in_rcu(self) -> None:
        """``mt_set_in_rcu``: RCU mode.  Writers then never change a node a
        reader may be in (they publish new nodes and mark the old ones
        dead), so ``load``, ``find``, iteration and every ``MaState`` read
        may run in other threads without the lock while one writer works.
        Shapes never depend on the flag.  Takes the lock.  O(1).

        >>> t = MapleTree(); t.set_in_rcu(); t.in_rcu
        True
        """
        with self._wlock:
            self._flags |= MT_FLAGS_USE_RCU

    def clear_in_rcu(self) -> None:
        """``mt_clear_in_rcu``: leave RCU mode (writers may change nodes in
        place again).  Takes the lock.  O(1).

        >>> t = MapleTree(MT_FLAGS_USE_RCU); t.clear_in_rcu(); t.in_rcu
        False
        """
        with self._wlock:
            self._flags &= ~MT_FLAGS_USE_RCU

    @property
    def empty(self) -> bool:
        """``mtree_empty``: True when the tree holds no root at all.

        >>> t = MapleTree(); t.empty
        True
        """
        return self._root is None

    # -- point reads --------------------------------------------------------------------------
    def load(self, index: Key) -> Any:
        """``mtree_load``: the entry at ``index`` or None; ZERO_ENTRY reads as None.

        O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.load(15), t.load(21)
        ('x', None)
        """
        if index.__class__ is not int or index < 0 or index > ULONG_MAX:
            index = check_key(index, "index")
        if self._flags & MT_FLAGS_USE_RCU:
            entry = rcu_load(self, index)
            return None if entry is ZERO_ENTRY else entry
        root = self._root
        if isinstance(root, Node):
            leaf = leaf_of(root, index)
            entry = leaf.slots[bisect_left(leaf.pivots, index)]
        elif root is None or index:
            return None
        else:
            entry = root.entry
        return None if entry is ZERO_ENTRY else entry

    def __getitem__(self, index: Key) -> Any:
        """``tree[index]``: :meth:`load`, but ``KeyError`` where nothing is
        stored (a NULL range or a ZERO_ENTRY reservation).  O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t[12]
        'x'
        >>> t[30]
        Traceback (most recent call last):
        ...
        KeyError: 30
        """
        if isinstance(index, slice):
            raise InvalidTypeError("a MapleTree is indexed by keys, not slices: use "
                                   "tree.items(first, last) for the ranges in a window")
        entry = self.load(index)
        if entry is None:
            raise KeyError(index)
        return entry

    def get(self, index: Key, default: Any = None) -> Any:
        """The entry at ``index``, or ``default`` where nothing is stored.  O(log n).

        >>> MapleTree().get(5, "none")
        'none'
        """
        entry = self.load(index)
        return default if entry is None else entry

    def __contains__(self, index: Key) -> bool:
        """``index in tree``: the key holds an entry (ZERO_ENTRY counts as
        empty).  O(log n).

        >>> t = MapleTree(); t.store_range(1, 5, "x"); 3 in t, 6 in t
        (True, False)
        """
        return self.load(index) is not None

    # -- searches -----------------------------------------------------------------------------
    def find(self, index: Key, max: Key = ULONG_MAX) -> Range | None:
        """``mt_find``: the first entry at or after ``index`` that starts at or
        before ``max``, as ``(first, last, entry)``; None if there is none.

        NULL ranges and ZERO_ENTRY are skipped.  The range returned may start
        before ``index``.  O(log n + skipped slots).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.find(0), t.find(0, 9)
        ((10, 20, 'x'), None)
        """
        if not (index.__class__ is int and max.__class__ is int and 0 <= index <= ULONG_MAX
                and 0 <= max <= ULONG_MAX):
            index, max = check_key(index, "index"), check_key(max, "max")
        if index > max:
            return None
        if self._flags & MT_FLAGS_USE_RCU:
            return next(rcu_ranges(self, index, max, ZERO_ENTRY), None)
        root = self._root
        if not isinstance(root, Node):
            if root is not None and index == 0 and root.entry is not ZERO_ENTRY:
                return (0, 0, root.entry)
            return None
        start = leaf_of(root, index)
        off = bisect_left(start.pivots, index)
        first = start.pivots[off - 1] + 1 if off else node_min(start)
        leaf: Node | None = start
        while leaf is not None:
            pivots = leaf.pivots
            slots = leaf.slots
            for i in range(off, len(pivots)):
                if first > max:
                    return None
                entry = slots[i]
                if entry is not None and entry is not ZERO_ENTRY:
                    return (first, pivots[i], entry)
                first = pivots[i] + 1
            if first > max:
                return None
            leaf = next_node(leaf)
            off = 0
        return None

    def find_after(self, index: Key, max: Key = ULONG_MAX) -> Range | None:
        """``mt_find_after``: :meth:`find`, except that ``index == 0`` means the
        previous range ended at ULONG_MAX (the kernel's cursor wrapped), so None.

        Use it to continue a search: pass ``(last + 1) & ULONG_MAX`` of the
        previous result.  O(log n + skipped slots).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.find_after(0)
        """
        if index == 0 and index.__class__ is int:
            check_key(max, "max")
            return None
        return self.find(index, max)

    def next(self, index: Key, max: Key = ULONG_MAX) -> Range | None:
        """``mt_next``: the first entry after the range holding ``index`` that
        starts at or before ``max``; may return ZERO_ENTRY.  A fresh
        :class:`~maple_tree.state.MaState` at ``index`` and its ``next(max)``,
        as in the kernel.  O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.store(30, "y")
        >>> t.next(15)
        (30, 30, 'y')
        """
        mas = MaState(self, index)
        entry = mas.next(max)
        return None if entry is None else (mas.index, mas.last, entry)

    def prev(self, index: Key, min: Key = 0) -> Range | None:
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
        mas = MaState(self, index)
        entry = mas.prev(min)
        return None if entry is None else (mas.index, mas.last, entry)

    # -- iteration ----------------------------------------------------------------------------
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
        return self._ranges(0, ULONG_MAX, ZERO_ENTRY)

    def items(self, first: Key = 0, last: Key = ULONG_MAX) -> Iterator[Range]:
        """The ``(first, last, entry)`` of every stored range that intersects
        ``[first, last]``, in key order and whole (not clipped to the window);
        NULL ranges and ZERO_ENTRY are skipped.  Walks from the root once, then
        leaf by leaf: O(log n + ranges yielded).  Writes between steps are
        handled as by iteration.

        >>> t = MapleTree(); t.store_range(10, 19, "a"); t.store_range(30, 39, "b")
        >>> list(t.items(15, 31))
        [(10, 19, 'a'), (30, 39, 'b')]
        """
        first, last = check_range(first, last)
        return self._ranges(first, last, ZERO_ENTRY)

    def _ranges(self, index: int, stop: int, hidden: Any) -> Iterator[Range]:
        """The ranges that hold neither None nor ``hidden``, from the one
        holding ``index`` while they start at or before ``stop``, walking
        again after a write between steps (in RCU mode, also after a write
        made meanwhile by another thread: :func:`maple_tree.rcu.ranges`)."""
        if self._flags & MT_FLAGS_USE_RCU:
            return rcu_ranges(self, index, stop, hidden)
        return self._ranges_walk(index, stop, hidden)

    def _ranges_walk(self, index: int, stop: int, hidden: Any) -> Iterator[Range]:
        """:meth:`_ranges` outside RCU mode."""
        resume: int | None = index
        while resume is not None:  # one pass per write seen between steps
            resume = yield from self._ranges_until_write(resume, stop, hidden)

    def _ranges_until_write(self, index: int, stop: int, zero: Any
                            ) -> Generator[Range, None, int | None]:
        """Yield the ranges of :meth:`_ranges` (``zero`` is what is hidden)
        until a step sees a write, then return where to walk again from (None
        when iteration is over)."""
        root = self._root
        writes = self._writes
        if not isinstance(root, Node):
            if index == 0 and root is not None and root.entry is not zero:
                yield (0, 0, root.entry)
                if self._writes != writes and stop:
                    return 1
            return None
        first = -1
        for leaf, off in iter_leaves(root, index):
            pivots = leaf.pivots
            slots = leaf.slots
            if first < 0:
                first = pivots[off - 1] + 1 if off else node_min(leaf)
            for i in range(off, len(pivots)):
                entry = slots[i]
                last = pivots[i]
                if entry is not None and entry is not zero:
                    if first > stop:
                        return None
                    yield first, last, entry
                    if self._writes != writes:
                        return None if last >= stop else last + 1
                first = last + 1
        return None

    def __reversed__(self) -> Iterator[Range]:
        """The stored ranges in reverse key order (``mt_for_each_rev``-like);
        writes between steps are handled as by iteration, walking again from
        ``previous first - 1``.  O(1) amortised per entry.

        >>> t = MapleTree(); t.store_range(10, 19, "a"); t.store_range(30, 39, "b")
        >>> list(reversed(t))
        [(30, 39, 'b'), (10, 19, 'a')]
        """
        if self._flags & MT_FLAGS_USE_RCU:
            return rcu_ranges_rev(self, ULONG_MAX, ZERO_ENTRY)
        return self._reversed_walk()

    def _reversed_walk(self) -> Iterator[Range]:
        """:meth:`__reversed__` outside RCU mode."""
        resume: int | None = ULONG_MAX
        while resume is not None:
            resume = yield from self._ranges_rev_until_write(resume)

    def _ranges_rev_until_write(self, index: int) -> Generator[Range, None, int | None]:
        """Yield the stored ranges from the one holding ``index`` down to key 0;
        after a step that saw a write, return where to walk again from."""
        root = self._root
        zero = ZERO_ENTRY
        if not isinstance(root, Node):
            if root is not None and root.entry is not zero:
                yield (0, 0, root.entry)
            return None
        writes = self._writes
        start = leaf_of(root, index)
        off = bisect_left(start.pivots, index)
        leaf: Node | None = start
        while leaf is not None:
            pivots = leaf.pivots
            slots = leaf.slots
            leaf_min = node_min(leaf)
            for i in range(off, -1, -1):
                entry = slots[i]
                if entry is not None and entry is not zero:
                    first = pivots[i - 1] + 1 if i else leaf_min
                    yield first, pivots[i], entry
                    if self._writes != writes:
                        return first - 1 if first else None
            leaf = prev_node(leaf)
            if leaf is not None:
                off = leaf.end
        return None

    def __len__(self) -> int:
        """The number of ranges iteration yields (NULL and ZERO_ENTRY ranges
        are not counted).  O(1): every write keeps the count.

        >>> t = MapleTree(); t.store_range(1, 5, "a"); t.store(9, ZERO_ENTRY); len(t)
        1
        """
        return self._entries

    def __bool__(self) -> bool:
        """True when at least one entry is visible.  O(log n) on a tree that has one."""
        for _ in self:
            return True
        return False

    # -- comparison and display ----------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        """``tree == other``: both hold the same ranges with equal entries,
        ZERO_ENTRY reservations included; flags and node structure are not
        compared (see :meth:`same_shape`).  O(n).

        >>> a, b = MapleTree(), MapleTree(MT_FLAGS_ALLOC_RANGE)
        >>> a.store_range(1, 5, "x"); b.store_range(1, 5, "x"); a == b
        True
        """
        if not isinstance(other, MapleTree):
            return NotImplemented
        if other is self:
            return True
        mine, theirs = self._occupied(), other._occupied()
        sentinel = object()
        for a in mine:
            if a != next(theirs, sentinel):
                return False
        return next(theirs, sentinel) is sentinel

    def _occupied(self) -> Iterator[Range]:
        """Every range that is not NULL, ZERO_ENTRY included, in key order."""
        return self._ranges(0, ULONG_MAX, None)

    def same_shape(self, other: object) -> bool:
        """True iff ``other`` has the same height and, node for node, the same
        node types, pivots, gaps and NULL slots (entry values are not
        compared: use ``==`` for contents).  O(nodes).

        >>> a, b = MapleTree(), MapleTree()
        >>> a.store_range(1, 5, "x"); b.store_range(1, 5, "y"); a.same_shape(b)
        True
        """
        if not isinstance(other, MapleTree):
            raise InvalidTypeError(f"same_shape needs a MapleTree, not {type(other).__name__}")
        return same_shape(self, other)

    def __repr__(self) -> str:
        """A small tree shows its ranges, a big one its size and height.  O(n)
        for a big tree (counting the entries), O(1) per range shown otherwise.

        >>> t = MapleTree(); t.store_range(10, 19, "a"); t
        <MapleTree flags=0x0 height=1 [(10, 19, 'a')]>
        """
        head = f"<MapleTree flags={self._flags:#x} height={self._height}"
        shown = list(islice(iter(self), _REPR_RANGES + 1))
        if len(shown) <= _REPR_RANGES:
            return f"{head} {shown!r}>"
        return f"{head} entries={len(self)}>"

    # -- writes -------------------------------------------------------------------------------
    def store_range(self, first: Key, last: Key, entry: Any) -> None:
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
            first, last = check_range(first, last)
            entry = check_entry(entry)
        with self._wlock:
            store(self, first, last, entry)

    def store(self, index: Key, entry: Any) -> None:
        """``mtree_store``: :meth:`store_range` of the single key ``index``.
        O(log n).

        >>> t = MapleTree(); t.store(7, "x"); t.load(7)
        'x'
        """
        index = check_key(index, "index")
        entry = check_entry(entry)
        with self._wlock:
            store(self, index, index, entry)

    def insert_range(self, first: Key, last: Key, entry: Any) -> None:
        """``mtree_insert_range``: store only if every key of ``[first, last]``
        is empty, else raise :class:`EntryExistsError` (EEXIST) and change
        nothing.  ZERO_ENTRY counts as occupied.  O(log n).

        >>> t = MapleTree(); t.insert_range(5, 9, "a")
        >>> t.insert_range(9, 12, "b")
        Traceback (most recent call last):
        ...
        maple_tree.errors.EntryExistsError: [9, 12] is occupied
        """
        first, last = check_range(first, last)
        entry = check_entry(entry)
        with self._wlock:
            store(self, first, last, entry, insert=True)

    def insert(self, index: Key, entry: Any) -> None:
        """``mtree_insert``: :meth:`insert_range` of the single key ``index``.
        O(log n).

        >>> t = MapleTree(); t.insert(4, "x"); t.load(4)
        'x'
        """
        index = check_key(index, "index")
        entry = check_entry(entry)
        with self._wlock:
            store(self, index, index, entry, insert=True)

    def erase(self, index: Key) -> Any:
        """``mtree_erase``: remove the whole range holding ``index`` and return
        its entry (None if it was empty; ZERO_ENTRY is returned as is).  O(log n).

        >>> t = MapleTree(); t.store_range(10, 20, "x"); t.erase(12), t.load(10)
        ('x', None)
        """
        index = check_key(index, "index")
        with self._wlock:
            return self._erase(index)

    def _erase(self, index: int) -> Any:
        """:meth:`erase` once the lock is held."""
        root = self._root
        if not isinstance(root, Node):
            if root is None or index:
                return None
            store(self, 0, 0, None)
            return root.entry
        leaf = leaf_of(root, index)
        pivots = leaf.pivots
        off = bisect_left(pivots, index)
        entry = leaf.slots[off]
        if entry is None:
            return None
        erase_slot(self, leaf, off)
        return entry

    def destroy(self) -> None:
        """``mtree_destroy``: drop every node; the flags stay.  O(n).

        >>> t = MapleTree(); t.store(1, "x"); t.destroy(); t.empty
        True
        """
        with self._wlock:
            root = self._root
            self._writes += 1
            self._root = None
            self._height = 0
            self._entries = 0
            if isinstance(root, Node):
                self._nodes_freed += kill_subtree(root)
            self._writes += 1

    def dup(self) -> MapleTree:
        """``mtree_dup``: a node-for-node copy (same shape, same entry objects),
        independent of this tree.  O(n).

        >>> t = MapleTree(); t.store_range(1, 5, "x"); c = t.dup(); c.store(3, "y")
        >>> t.load(3), c.load(3)
        ('x', 'y')
        """
        new = MapleTree(self._flags)
        with self._wlock:  # the source holds still while it is copied
            dup_into(self, new)
        return new

    def fork(self, copy: CopyEntry) -> MapleTree:
        """What fork does to a process's VMA tree (``__mt_dup`` + the
        ``dup_mmap`` walk): a node-for-node copy of this tree whose entries
        are then replaced, range by range, with ``copy(first, last, entry)``;
        where ``copy`` returns None the range is dropped from the copy (a
        ``VM_DONTCOPY`` area).  ``ZERO_ENTRY`` ranges are kept as they are.
        This tree never changes; if ``copy`` raises, the exception propagates
        and no copy is returned.  O(n) plus the dropped ranges' stores.

        >>> t = MapleTree()
        >>> for i in range(5):
        ...     t.store_range(10 * i, 10 * i + 4, i)
        >>> child = t.fork(lambda first, last, e: None if e % 2 else e * 10)
        >>> list(child), len(t)
        ([(0, 4, 0), (20, 24, 20), (40, 44, 40)], 5)
        """
        new = MapleTree(self._flags)
        try:
            with self._wlock:  # the source holds still while it is copied
                fork_into(self, new, copy)
        except BaseException:
            new.destroy()
            raise
        return new

    def __copy__(self) -> MapleTree:
        """``copy.copy(tree)``: :meth:`dup`."""
        return self.dup()

    def __deepcopy__(self, memo: dict[int, Any]) -> MapleTree:
        """``copy.deepcopy(tree)``: a node-for-node copy, as :meth:`dup`,
        whose entries are deep copies (made by :meth:`fork`).  O(n) plus the
        entries' copies.

        >>> import copy
        >>> t = MapleTree(); t.store_range(1, 5, ["x"]); c = copy.deepcopy(t)
        >>> c == t, c.load(1) is t.load(1), c.same_shape(t)
        (True, False, True)
        """
        new = self.fork(lambda _first, _last, entry: deepcopy(entry, memo))
        memo[id(self)] = new
        return new

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling: the tree's :meth:`structure` and flags, rebuilt node for
        node by :meth:`from_structure` (entries are pickled as they are).
        O(n).

        >>> import pickle
        >>> t = MapleTree(); t.store_range(1, 5, "x"); u = pickle.loads(pickle.dumps(t))
        >>> u == t, u.same_shape(t)
        (True, True)
        """
        return (type(self).from_structure, (self.structure(), self._flags))

    # -- allocation ---------------------------------------------------------------------------
    def alloc_range(self, size: Key, entry: Any, min: Key = 0, max: Key = ULONG_MAX) -> int:
        """``mtree_alloc_range``: store ``entry`` in the lowest free run of
        ``size`` keys inside ``[min, max]`` and return its first key.

        Raises InvalidArgumentError (EINVAL) on a tree without
        ``MT_FLAGS_ALLOC_RANGE``, for a reserved entry or a bad window, and
        BusyError (EBUSY) when nothing fits.  O(log n).

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(0, 99, "a")
        >>> t.alloc_range(10, "b")
        100
        """
        with self._wlock:
            return alloc_range(self, size, entry, min, max, rev=False)

    def alloc_rrange(self, size: Key, entry: Any, min: Key = 0, max: Key = ULONG_MAX) -> int:
        """``mtree_alloc_rrange``: like :meth:`alloc_range`, highest fit.  O(log n).

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.alloc_rrange(16, "top", 0, 4095)
        4080
        """
        with self._wlock:
            return alloc_range(self, size, entry, min, max, rev=True)

    def alloc_cyclic(self, entry: Any, lo: Key, hi: Key, next: Key) -> tuple[int, int, bool]:
        """``mtree_alloc_cyclic``: store ``entry`` at the first free key of
        ``[max(lo, next), hi]``, wrapping to ``lo`` if none is free.

        Returns ``(start, new_next, wrapped)``: ``wrapped`` is the kernel's
        return value 1 (the search wrapped, or an earlier allocation at
        ULONG_MAX set ``MT_FLAGS_ALLOC_WRAPPED``).  ``new_next`` is
        ``start + 1`` modulo 2**64; reaching 0 sets ``MT_FLAGS_ALLOC_WRAPPED``.
        Raises InvalidArgumentError (EINVAL: not an allocation tree, reserved
        entry, ``lo > hi``) or BusyError (EBUSY: no free key).  O(log n).

        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE)
        >>> t.alloc_cyclic("a", 1, 3, 0), t.alloc_cyclic("b", 1, 3, 2)
        ((1, 2, False), (2, 3, False))
        """
        with self._wlock:
            return alloc_cyclic(self, entry, lo, hi, next)

    # -- inspection ---------------------------------------------------------------------------
    def validate(self, exempt_rightmost: Flag = False) -> None:
        """``mt_validate``: check every structural invariant; raise
        :class:`TreeCorruptError` naming the node and offset.  O(n).

        Occupancy is checked strictly by default: outside bulk mode Linux
        6.12.117 never leaves a non-root node short, rightmost or not.
        ``exempt_rightmost=True`` applies the kernel's own, looser
        ``mt_validate`` rule (nodes ending at ULONG_MAX are exempt), which
        bulk-built trees need.

        >>> t = MapleTree(); t.store_range(5, 9, "x"); t.validate()
        """
        validate_tree(self, exempt_rightmost=check_bool(exempt_rightmost, "exempt_rightmost"))

    def structure(self) -> dict[str, Any]:
        """The tree's exact shape as a maple-structure/1 object (see
        ``docs/api.md``).  O(n).

        >>> t = MapleTree(); t.store(0, 5); t.structure()
        {'height': 0, 'root': {'entry': 5}}
        """
        return tree_structure(self)

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[int, int, Any]], flags: Key = 0, *,
                    fill: Key = DEFAULT_FILL) -> MapleTree:
        """A new tree holding ``ranges``: ``(first, last, entry)`` sorted by
        ``first`` and not overlapping, built bottom-up (leaves left to right,
        then each parent level) in one pass over the iterable, never walking
        from the root: Peng Zhang's proposal, which no kernel has.

        The tree holds exactly what storing the ranges one by one would hold
        (the gaps between them are NULL ranges; a ``None`` entry stores
        nothing), passes ``validate()`` and takes every later operation.  Its
        leaves get ``fill`` slots each (8..16; internal nodes the same share
        of their capacity): 12 by default, which leaves room for the next
        inserts (see ``docs/building.md``); pass ``fill=16`` for a tree that
        will not grow.  Bad input (unsorted, overlapping, ``first > last``,
        keys out of range, reserved entries, items that are not 3-tuples)
        raises an error naming the item and its position, and nothing is
        built.  Python's cyclic garbage collector is paused while the nodes
        are made.  O(n).

        >>> t = MapleTree.from_ranges([(10, 19, "a"), (20, 29, "b"), (40, 49, "c")])
        >>> list(t), t.load(35)
        ([(10, 19, 'a'), (20, 29, 'b'), (40, 49, 'c')], None)
        """
        tree = cls(flags)
        build_into(tree, ranges, fill)
        return tree

    @classmethod
    def from_structure(cls, obj: Any,
                       flags: Key | None = None) -> MapleTree:
        """Rebuild a tree node for node from a maple-structure/1 object (or its
        JSON text); ``flags`` defaults to ``MT_FLAGS_ALLOC_RANGE`` when the
        structure holds ``arange_64`` nodes, else 0.  The result is validated
        (the kernel's rule: rightmost nodes may be short); bad input raises
        InvalidArgumentError.  O(n).

        >>> MapleTree.from_structure({"height": 0, "root": {"entry": 7}}).load(0)
        7
        """
        root, height, has_gaps = root_from_structure(obj)
        if flags is None:
            flags = MT_FLAGS_ALLOC_RANGE if has_gaps else 0
        tree = cls(flags)
        tree._root = root
        tree._height = height
        tree._entries = count_entries(root)
        try:
            validate_tree(tree)
        except AssertionError as exc:
            raise InvalidArgumentError(str(exc)) from exc
        return tree

    def stats(self) -> TreeStats:
        """The tree's shape and node costs: height, entries, nodes per type,
        fill per level, and the nodes allocated and freed since the tree was
        made (what the kernel pays for; see :mod:`maple_tree.stats`).  O(n).

        >>> t = MapleTree()
        >>> for i in range(16):
        ...     t.store(i, i)
        >>> s = t.stats(); s.height, s.nodes, s.nodes_made, s.nodes_freed
        (2, 3, 4, 1)
        """
        return tree_stats(self)

    def dump(self, fmt: Any = "hex") -> str:
        """``mt_dump``: the tree as text in the kernel's layout (``fmt`` hex or
        dec); see ``docs/api.md`` for how to read it.  O(n).

        >>> t = MapleTree(); t.store(0, 7); print(t.dump("dec"), end="")
        maple_tree(0x10) flags 0, height 0 root 0xf
        0: value 7 (0x7) [0xf]
        """
        return dump_tree(self, fmt)

    def svg(self, *, title: Any = None, kind: Any = None, palette: Any = None,
            max_nodes_per_level: Key = DEFAULT_MAX_NODES_PER_LEVEL) -> str:
        """An SVG picture of the tree, as text: one band per level (root on
        top), one box per node with a cell per slot, its range, fill and (in an
        allocation tree) largest gap; see :mod:`maple_tree.render` for how to
        read it.

        ``title``: a str or None.  ``kind``: None or a callable ``entry ->
        str | None`` naming each drawn entry's kind (``"file"``, ``"anon"``,
        ``"stack"``, ``"heap"`` or any name), which colours its cells and is
        listed in the legend.  ``palette``: None or a mapping of kind names to
        colours, over the default ones.  ``max_nodes_per_level``: an int >= 3;
        a level with more nodes shows its first and last ones around one
        summary box, so the canvas stays at most 2400 pixels wide.  Bad
        arguments raise InvalidTypeError / InvalidArgumentError.  The same
        tree gives the same text.  O(n), plus what is drawn.

        >>> import xml.etree.ElementTree as ET
        >>> t = MapleTree(MT_FLAGS_ALLOC_RANGE)
        >>> for i in range(10):
        ...     t.store_range(0x1000 * (2 * i + 1), 0x1000 * (2 * i + 2) - 1, i)
        >>> picture = t.svg(title="ten ranges", kind=lambda e: "anon" if e % 2 else "file")
        >>> picture.startswith("<svg"), ET.fromstring(picture).tag
        (True, '{http://www.w3.org/2000/svg}svg')
        >>> t.svg(title=7)
        Traceback (most recent call last):
        ...
        maple_tree.errors.InvalidTypeError: title must be a str or None, not int 7
        """
        return render_svg(self, title=title, kind=kind, palette=palette,
                          max_nodes_per_level=max_nodes_per_level)
