"""The store pipeline: write walk, NULL extension, store-type selection, and
the stores that stay inside one leaf.

``store(tree, index, last, entry)`` is the kernel's ``mas_wr_preallocate`` +
``mas_wr_store_entry`` for a state freshly set to ``[index, last]``:

1. **walk** (``mas_wr_walk``) from the root to the leaf holding ``index``,
   stopping early at the first node where the write *spans* a child boundary
   (or writes NULL up to a node's end, which must merge with what follows);
2. **extend NULLs** (``mas_wr_extend_null``): a NULL store absorbs the NULL
   ranges next to it, so two NULL slots are never adjacent;
3. **classify** (``mas_wr_store_type``) and **execute**:

   ============== ===========================================================
   store root     empty tree or direct root entry (``mas_store_root``)
   spanning       :func:`maple_tree.rebalance.spanning_store`
   exact fit      the write covers exactly one slot: overwrite it
   new root       ``[0, ULONG_MAX]``: a one-slot leaf, or an empty tree
   rebalance      a non-root leaf would keep fewer than 7 slots
   split          the leaf would need more than 16 slots
   in-leaf        append / slot store / node store: the leaf is rewritten
   ============== ===========================================================

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> t.store_range(10, 19, "a"); t.store_range(15, 29, "b")
>>> list(t)
[(10, 14, 'a'), (15, 29, 'b')]
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, final

from .bignode import BigNode, copy_in
from .constants import LEAF_64, MT_FLAGS_USE_RCU, MT_MIN_SLOTS, MT_SLOTS, ULONG_MAX
from .core import TreeCore
from .entries import ZERO_ENTRY, InternalEntry
from .errors import EntryExistsError
from .gaps import update_gap
from .install import replace_subtree
from .node import Node, RootEntry, kill_subtree, leaf_entries, node_min
from .rcu import notify, notify_rcu
from .rebalance import rebalance, spanning_rebalance
from .split import split_store
from .walk import Pos, leaf_of, next_node

__all__ = ["store", "store_exact", "erase_slot", "WriteResult", "LeafWrite", "FROM_TREE", "SETTLE_LEAF", "SETTLE_WALK",
           "SETTLE_NEW_ROOT", "SETTLE_KEEP", "SETTLE_START", "SETTLE_EXPAND"]

# Where a write leaves a cursor (``WriteResult.settle``): the engine reports
# what it did and :class:`~maple_tree.state.MaState` moves itself accordingly.
#: the write stayed in leaf ``node`` (bounds ``min``/``max``); ``offset`` is the
#: slot written and ``index``/``last`` its range
SETTLE_LEAF = 0
#: nodes were rebuilt: walk again from the root to ``index`` (``mtree_range_walk``)
SETTLE_WALK = 1
#: the write covered every key: the tree is one leaf, or empty (``mas_new_root``)
SETTLE_NEW_ROOT = 2
#: a NULL written to an empty tree or next to a direct root: nothing moves
SETTLE_KEEP = 3
#: the tree is now a direct root entry: the cursor starts over
SETTLE_START = 4
#: an empty tree or a direct root grew a root leaf (``mas_root_expand``): the
#: cursor is in ``node`` at ``offset``; like the kernel, nothing else moves (its
#: cached ``end`` stays as it was, which a later step can see)
SETTLE_EXPAND = 5


class _FromTree:
    """The type of :data:`FROM_TREE`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FROM_TREE"


#: default of ``store(root_content=...)``: read the direct root's entry from the tree
FROM_TREE: Any = _FromTree()


class WriteResult:
    """What one store did (the kernel's ``ma_wr_state`` after the write).

    ``content`` is the entry the write found at ``index`` (what ``mas_store``
    returns; None for a spanning store).  ``settle`` says where a cursor that
    made the write ends (one of the ``SETTLE_*`` constants), with ``node``,
    ``min``, ``max``, ``offset``, ``index`` and ``last`` as that constant
    describes.
    """

    __slots__ = ("settle", "content", "index", "last", "node", "min", "max", "offset")

    def __init__(self, settle: int, content: Any, index: int, last: int,
                 node: Node | None = None, min_: int = 0, max_: int = ULONG_MAX,
                 offset: int = 0) -> None:
        self.settle: int = settle
        self.content: Any = content
        self.index: int = index
        self.last: int = last
        self.node: Node | None = node
        self.min: int = min_
        self.max: int = max_
        self.offset: int = offset


@final
class LeafWrite(WriteResult):
    """The kernel's ``ma_wr_state`` at a leaf: where ``[index, last]`` lands.

    ``offset``..``offset_end`` are the slots the write touches, ``r_min`` /
    ``r_max`` the range of slot ``offset``, ``end_piv`` the pivot of slot
    ``offset_end``; ``entry_offset`` is the slot the entry ends in.  After the
    store it is the :class:`WriteResult`.
    """

    __slots__ = ("leaf", "offset_end", "r_min", "r_max", "end_piv", "entry_offset")

    def __init__(self, leaf: Node, index: int, last: int) -> None:
        pivots = leaf.pivots
        off = bisect_left(pivots, index)
        if off == len(pivots):  # index past the leaf (r side of a spanning store)
            off -= 1
        mn = node_min(leaf)
        # the WriteResult fields, set here rather than through super().__init__ (hot path)
        self.settle = SETTLE_LEAF
        self.content = leaf.slots[off]
        self.index = index
        self.last = last
        self.node = leaf
        self.min = mn
        self.max = pivots[-1]
        self.offset = off
        self.leaf: Node = leaf
        self.r_min: int = pivots[off - 1] + 1 if off else mn
        self.r_max: int = pivots[off]
        self.offset_end: int = off
        self.end_piv: int = 0
        self.entry_offset: int = off

    def pos(self) -> Pos:
        """A :class:`Pos` at this leaf."""
        return Pos(self.leaf, self.min, self.max, self.offset, self.index, self.last)

    def find_end(self) -> None:
        """``mas_wr_end_piv``: the slot holding ``last`` and its upper bound."""
        leaf = self.leaf
        pivots = leaf.pivots
        end = leaf.end
        oe = self.offset
        last = self.last
        while oe < end and last > pivots[oe]:
            oe += 1
        self.offset_end = oe
        self.end_piv = pivots[oe]

    def extend_null(self) -> None:
        """``mas_wr_extend_null``: absorb NULL neighbours of a NULL store."""
        leaf = self.leaf
        slots = leaf.slots
        pivots = leaf.pivots
        if slots[self.offset_end] is None:
            self.last = self.end_piv
        elif (self.last == self.end_piv and leaf.end != self.offset_end
              and slots[self.offset_end + 1] is None):
            self.offset_end += 1
            self.last = self.end_piv = pivots[self.offset_end]
        if self.content is None:
            self.index = self.r_min
        elif self.index == self.r_min and self.offset and slots[self.offset - 1] is None:
            self.offset -= 1
            off = self.offset
            self.r_min = self.index = pivots[off - 1] + 1 if off else self.min
            self.r_max = pivots[off]

    def extend_spanning_null(self, r: LeafWrite) -> None:
        """``mas_extend_spanning_null``: widen a NULL spanning store (this is
        its left leaf, ``r`` its right one) to the NULL ranges touching it."""
        l_slot = self.offset
        slots = self.leaf.slots
        if self.content is None:
            self.index = self.r_min
        if self.index == self.r_min and l_slot and slots[l_slot - 1] is None:
            self.index = self.leaf.pivots[l_slot - 2] + 1 if l_slot > 1 else self.min
            self.offset = l_slot - 1
        if r.content is None:
            if r.last < r.r_max:
                r.last = r.r_max
            r.offset += 1
        elif (r.last == r.r_max and r.last < r.max
              and r.leaf.slots[r.offset + 1] is None):
            r.last = r.leaf.pivots[r.offset + 1]
            r.offset += 1

    def new_end(self) -> int:
        """``mas_wr_new_end``: the leaf's data end after the write."""
        n = len(self.leaf.pivots) + 1 - (self.offset_end - self.offset)
        if self.r_min == self.index:
            n -= 1
        if self.end_piv == self.last:
            n -= 1
        return n

    def big_node(self, entry: Any, offset_end: int) -> BigNode:
        """``mas_store_b_node``: the leaf's content with the write applied."""
        piv, sl = self.new_content(entry, offset_end)
        return BigNode(LEAF_64, piv, sl)

    def window(self, entry: Any, offset_end: int) -> tuple[list[int], list[Any]]:
        """The pivots and slots that replace slots ``offset..offset_end``: the
        head of the range the write cuts, the write itself, and the tail of
        the slot it ends in.  Sets ``entry_offset``."""
        leaf = self.leaf
        pivots = leaf.pivots
        off = self.offset
        index = self.index
        last = self.last
        start = pivots[off - 1] + 1 if off else self.min
        piv: list[int]
        sl: list[Any]
        if start < index:
            piv = [index - 1, last]
            sl = [self.content, entry]
            self.entry_offset = off + 1
        else:
            piv = [last]
            sl = [entry]
            self.entry_offset = off
        if last < self.max:
            p = pivots[offset_end]
            if p > last:
                piv.append(p)
                sl.append(leaf.slots[offset_end])
        return piv, sl

    def new_content(self, entry: Any, offset_end: int) -> tuple[list[int], list[Any]]:
        """The leaf's pivots and slots after the write, as new lists (what
        every in-leaf store type -- append, slot store, node store --
        produces; a write spanning past the leaf passes its last offset)."""
        leaf = self.leaf
        off = self.offset
        piv, sl = self.window(entry, offset_end)
        return (leaf.pivots[:off] + piv + leaf.pivots[offset_end + 1:],
                leaf.slots[:off] + sl + leaf.slots[offset_end + 1:])

    def slot_store(self, entry: Any) -> None:
        """``mas_wr_slot_store`` in RCU mode: a write over two slots that keeps
        the leaf's slot count.  The entry is stored before the pivot moves
        (two single-reference stores), so a reader without the lock sees, key
        by key, the old entry or the new one."""
        leaf = self.leaf
        off = self.offset
        piv, sl = self.window(entry, self.offset_end)
        leaf.slots[off:off + 2] = sl
        leaf.pivots[off:off + 2] = piv

    def write_in_place(self, entry: Any, offset_end: int) -> None:
        """Apply the write to the leaf's own lists (``mas_wr_slot_store`` /
        ``mas_wr_append``, and ``mas_wr_node_store`` outside RCU mode, which
        rebuilds into a buffer and copies it back over the node).  Nothing
        survives the write but the leaf, which keeps CPython's cyclic GC idle."""
        leaf = self.leaf
        off = self.offset
        piv, sl = self.window(entry, offset_end)
        leaf.pivots[off:offset_end + 1] = piv
        leaf.slots[off:offset_end + 1] = sl
        leaf.end = len(leaf.pivots) - 1


def _spans(bound: int, last: int, entry: Any) -> bool:
    """Does a write ending at ``last`` cross a node ending at ``bound``?  It
    does past the bound, and a NULL write that reaches the bound must merge
    with the NULL that may follow (except at ULONG_MAX)."""
    return last > bound or (last == bound and entry is None and last != ULONG_MAX)


def _spanning_node(leaf: Node, index: int, last: int, entry: Any) -> Pos:
    """The node a spanning write is done from, found from ``leaf`` (the leaf
    holding ``index``, whose bound the write crosses): the highest ancestor
    whose child on the path is crossed (see :func:`_store_from_leaf`)."""
    span = leaf.parent
    assert span is not None, "a root leaf ends at ULONG_MAX"
    while span.parent is not None and _spans(span.pivots[-1], last, entry):
        span = span.parent
    return Pos(span, node_min(span), span.pivots[-1], bisect_left(span.pivots, index),
               index, last)


def _visible(entry: Any) -> int:
    """1 if iteration yields a range holding ``entry`` (neither None nor
    ``ZERO_ENTRY``, by identity), else 0."""
    return 0 if entry is None or entry is ZERO_ENTRY else 1


def _span_entries_delta(wr: LeafWrite, entry: Any, right: Node) -> int:
    """How ``tree._entries`` changes when ``entry`` is stored over
    ``[wr.index, wr.last]`` from slot ``wr.offset`` of leaf ``wr.leaf`` on,
    across leaves up to ``right`` (the leaf holding ``last + 1``, or the
    last one), read before the write: the stored range, less every visible
    range it meets, plus the head of the first and the tail of the last when
    they stick out.  O(slots met), one ``bisect`` per leaf.
    """
    zero = ZERO_ENTRY
    delta = 0 if entry is None or entry is zero else 1
    last = wr.last
    leaf: Node | None = wr.leaf
    off = wr.offset
    head = wr.leaf.slots[off]
    if wr.r_min < wr.index and head is not None and head is not zero:
        delta += 1
    while leaf is not None:
        pivots = leaf.pivots
        slots = leaf.slots
        end = bisect_left(pivots, last)  # the slot holding last; len(pivots): further on
        for e in slots[off:end + 1]:
            if e is not None and e is not zero:
                delta -= 1
        if end < len(pivots):
            tail = slots[end]
            if pivots[end] > last and tail is not None and tail is not zero:
                delta += 1
            return delta
        # the next leaf: ``right`` itself when it is the next sibling (the
        # common case: no climb), else found by climbing
        if right.parent is leaf.parent and right.parent_slot == leaf.parent_slot + 1:
            leaf = right
        else:
            leaf = next_node(leaf)
        off = 0
    return delta


def _leaf_entries_delta(wr: LeafWrite, entry: Any) -> int:
    """:func:`_span_entries_delta` for a write inside one leaf (slots
    ``offset..offset_end``).  O(slots touched); the one-slot case (most
    writes) reads no list: the slot holds the content the write found."""
    if wr.offset != wr.offset_end:
        return _span_entries_delta(wr, entry, wr.leaf)
    zero = ZERO_ENTRY
    delta = 0 if entry is None or entry is zero else 1
    content = wr.content
    if content is not None and content is not zero:
        delta += (wr.r_min < wr.index) + (wr.end_piv > wr.last) - 1
    return delta


def _new_root(tree: TreeCore, entry: Any) -> None:
    """``mas_new_root``: the whole range holds ``entry`` (or nothing): the
    new root is published first, then the old nodes die."""
    tree._entries = _visible(entry)
    old = tree._root
    if entry is None:
        tree._root = None
        tree._height = 0
    else:
        tree._root = Node(LEAF_64, [ULONG_MAX], [entry])
        tree._height = 1
        tree._nodes_made += 1
    notify_rcu(tree, "publish", "new_root")
    if isinstance(old, Node):
        tree._nodes_freed += kill_subtree(old)
        notify_rcu(tree, "dead", "new_root")


def _store_root(tree: TreeCore, index: int, last: int, entry: Any, insert: bool,
                root_content: Any) -> WriteResult:
    """``mas_store_root``: a store into an empty tree or a direct root."""
    root = tree._root
    assert not isinstance(root, Node)
    contents = None if root is None else root.entry
    found = (contents if index == 0 else None) if root_content is FROM_TREE else root_content
    if insert and found is not None:
        raise EntryExistsError(f"[{index}, {last}] is occupied")
    if entry is None:
        if index == 0:
            tree._root = None
            tree._entries = 0
            notify_rcu(tree, "publish", "root_expand")
        return WriteResult(SETTLE_KEEP, found, index, last)
    if last == 0 and index == 0 and entry.__class__ is not InternalEntry:
        tree._root = RootEntry(entry)
        tree._entries = _visible(entry)
        notify_rcu(tree, "publish", "root_expand")
        return WriteResult(SETTLE_START, found, index, last)
    pivots: list[int] = []
    slots: list[Any] = []
    if index:
        if contents is not None:
            slots.append(contents)
            pivots.append(0)
        if index > 1 or contents is None:
            slots.append(None)
            pivots.append(index - 1)
    offset = len(slots)
    slots.append(entry)
    pivots.append(last)
    if last != ULONG_MAX:
        slots.append(None)
        pivots.append(ULONG_MAX)
    leaf = Node(LEAF_64, pivots, slots)
    tree._root = leaf
    tree._height = 1
    tree._nodes_made += 1
    tree._entries = leaf_entries(leaf)
    notify_rcu(tree, "publish", "root_expand")
    return WriteResult(SETTLE_EXPAND, found, index, last, leaf, 0, ULONG_MAX, offset)



def _spanning_store(tree: TreeCore, span: Pos, entry: Any) -> WriteResult:
    """``mas_wr_spanning_store``: join the leaves holding ``index`` and ``last + 1``."""
    index, last = span.index, span.last
    if index == 0 and last == ULONG_MAX:
        _new_root(tree, entry)
        return WriteResult(SETTLE_NEW_ROOT, None, 0, ULONG_MAX)
    height = tree._height
    r_index = last + 1 if last != ULONG_MAX else last
    # past the spanning node's max, the right walk stops at its last slot
    r = LeafWrite(leaf_of(span.node, min(r_index, span.max)), r_index, last)
    r.index = last
    l = LeafWrite(leaf_of(span.node, index), index, last)
    tree._entries += _span_entries_delta(l, entry, r.leaf)
    if entry is None:
        l.extend_spanning_null(r)
        l.last = r.last
    if l.index == 0 and r.last == ULONG_MAX:
        _new_root(tree, entry)
        return WriteResult(SETTLE_NEW_ROOT, None, 0, ULONG_MAX)
    bn = l.big_node(entry, l.leaf.end)
    rpos = r.pos()
    if r.max > r.last:
        copy_in(bn, rpos, r.offset, r.leaf.end)
    lpos = l.pos()
    lpos.index = lpos.last = l.index
    spanning_rebalance(tree, bn, lpos, rpos, height + 1, "spanning_store")
    return WriteResult(SETTLE_WALK, None, l.index, l.last)


def store(tree: TreeCore, index: int, last: int, entry: Any, insert: bool = False,
          root_content: Any = FROM_TREE) -> WriteResult:
    """Store ``entry`` over ``[index, last]`` (checked by the caller) and
    report what happened (:class:`WriteResult`; its ``content`` is the
    kernel's ``wr_mas->content``).

    With ``insert=True`` this is ``mas_insert``: raise :class:`EntryExistsError`
    (tree unchanged) when any part of the range is occupied.  A cursor passes
    as ``root_content`` what its ``mas_start`` found, which is what a store
    into a direct-root tree reports.  O(log n) plus O(height) rebuilt nodes
    for a split or rebalance.
    """
    tree._writes += 1  # odd while the write runs (a seqcount), even again after
    try:
        root = tree._root
        if not isinstance(root, Node):
            return _store_root(tree, index, last, entry, insert, root_content)
        return _store_from_leaf(tree, leaf_of(root, index), index, last, entry, insert)
    finally:
        tree._writes += 1


def _store_from_leaf(tree: TreeCore, leaf: Node, index: int, last: int, entry: Any,
                     insert: bool) -> WriteResult:
    """The store after the descent (``mas_wr_walk`` and what follows):
    ``leaf`` holds ``index``.

    The kernel stops its descent at the first node in which the write crosses
    the bound of the child holding ``index``.  Child bounds shrink on the way
    down, so that node is found from the leaf: the write spans iff it crosses
    the leaf's bound (then :func:`_spanning_node` climbs to the spanning
    node), else it stays in the leaf.  (A root leaf ends at ULONG_MAX and
    never is crossed.)
    """
    if not _spans(leaf.pivots[-1], last, entry):
        return _leaf_store(tree, LeafWrite(leaf, index, last), entry, insert)
    if insert:
        raise EntryExistsError(f"[{index}, {last}] is occupied")
    return _spanning_store(tree, _spanning_node(leaf, index, last, entry), entry)


def erase_slot(tree: TreeCore, leaf: Node, offset: int) -> None:
    """``mtree_erase`` after its walk: store NULL over the range of slot
    ``offset`` of ``leaf`` (a leaf of ``tree`` that the caller just walked
    to), starting the write walk at the leaf instead of the root.  O(1) plus
    what the store rebuilds (see :func:`store`)."""
    pivots = leaf.pivots
    index = pivots[offset - 1] + 1 if offset else node_min(leaf)
    tree._writes += 1
    try:
        _store_from_leaf(tree, leaf, index, pivots[offset], None, False)
    finally:
        tree._writes += 1


def _leaf_store(tree: TreeCore, wr: LeafWrite, entry: Any, insert: bool) -> WriteResult:
    """The store types of a write that lands in one leaf (``mas_wr_store_type``)."""
    wr.find_end()
    if entry is None:
        wr.extend_null()
    content = wr.content
    exact = wr.r_min == wr.index and wr.r_max == wr.last
    new_root = not exact and wr.index == 0 and wr.last == ULONG_MAX
    if insert and not new_root and (content is not None or wr.last > wr.r_max):
        raise EntryExistsError(f"[{wr.index}, {wr.last}] is occupied")
    leaf = wr.leaf
    if exact:
        store_exact(tree, leaf, wr.offset, wr.min, entry)
        return wr
    if new_root:
        _new_root(tree, entry)
        return WriteResult(SETTLE_NEW_ROOT, content, 0, ULONG_MAX)
    tree._entries += _leaf_entries_delta(wr, entry)
    new_end = wr.new_end()
    short = new_end < MT_MIN_SLOTS[LEAF_64] and leaf.parent is not None and not tree._bulk
    if short or new_end >= MT_SLOTS[LEAF_64]:
        oe = wr.offset_end
        bn = wr.big_node(entry, oe)  # (reads wr.content: the head of the cut range)
        # mas_store_b_node reports the slot it copies the tail from
        if wr.last < wr.max and oe != wr.offset and leaf.pivots[oe] > wr.last:
            wr.content = leaf.slots[oe]
        if short:
            rebalance(tree, wr.pos(), bn)
        else:
            split_store(tree, wr.pos(), bn)
        wr.settle = SETTLE_WALK
        return wr
    # a gap changes only if a NULL range is written or cut
    gap_changed = tree._alloc and leaf.parent is not None and (
        entry is None or _has_null(leaf.slots, wr.offset, wr.offset_end))
    if not tree._flags & MT_FLAGS_USE_RCU:
        wr.write_in_place(entry, wr.offset_end)
    elif new_end == leaf.end and wr.offset_end - wr.offset == 1:
        wr.slot_store(entry)  # the one in-leaf store RCU mode makes in place
        notify("publish", "slot_store")
    else:
        leaf = _node_store(tree, wr, entry)
    wr.offset = wr.entry_offset
    if gap_changed:
        update_gap(leaf, wr.min)
    return wr


def _node_store(tree: TreeCore, wr: LeafWrite, entry: Any) -> Node:
    """``mas_wr_node_store`` in RCU mode: the leaf's new content goes into a
    new leaf, installed as a rebuild installs its top node (published, then
    the old leaf dies).  Returns the new leaf (the write's node from now on)."""
    piv, sl = wr.new_content(entry, wr.offset_end)
    new = Node(LEAF_64, piv, sl)
    replace_subtree(tree, wr.leaf, new, tree._height, wr.min, [new], "node_store")
    wr.leaf = wr.node = new
    return new


def store_exact(tree: TreeCore, leaf: Node, offset: int, leaf_min: int, entry: Any) -> Any:
    """``mas_wr_exact_fit``: the write covers exactly slot ``offset`` of
    ``leaf`` (whose min is ``leaf_min``): replace the slot's entry (in place,
    in RCU mode too: one reference store) and refresh the gaps if the slot
    became, or stopped being, NULL.  Returns the entry it replaced.  O(1),
    O(height) when a gap changes."""
    slots = leaf.slots
    content = slots[offset]
    slots[offset] = entry
    if tree._flags & MT_FLAGS_USE_RCU:
        notify("publish", "exact_fit")
    tree._entries += _visible(entry) - _visible(content)
    if tree._alloc and (entry is None) != (content is None):
        update_gap(leaf, leaf_min)
    return content


def _has_null(slots: list[Any], first: int, last: int) -> bool:
    """Is any of ``slots[first..last]`` empty (identity test, no ``==``)?"""
    for i in range(first, last + 1):
        if slots[i] is None:
            return True
    return False
