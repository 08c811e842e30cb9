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
from typing import Any

from .bignode import BigNode, copy_in
from .constants import LEAF_64, MT_FLAGS_USE_RCU, MT_MIN_SLOTS, MT_SLOTS, ULONG_MAX
from .entries import InternalEntry
from .errors import EntryExistsError
from .gaps import update_gap
from .node import Node, RootEntry, kill_subtree
from .rebalance import extend_spanning_null, rebalance, spanning_rebalance
from .split import split_store
from .walk import Pos

__all__ = ["store", "LeafWrite"]


class LeafWrite:
    """The kernel's ``ma_wr_state`` at a leaf: where ``[index, last]`` lands."""

    __slots__ = ("node", "min", "max", "offset", "offset_end", "r_min", "r_max",
                 "end_piv", "content", "index", "last", "entry_offset")

    def __init__(self, node: Node, min_: int, max_: int, index: int, last: int) -> None:
        self.node = node
        self.min = min_
        self.max = max_
        self.index = index
        self.last = last
        pivots = node.pivots
        off = bisect_left(pivots, index)
        if off == len(pivots):  # index past the node (r side of a spanning store)
            off -= 1
        self.offset = off
        self.r_min = pivots[off - 1] + 1 if off else min_
        self.r_max = pivots[off]
        self.content = node.slots[off]
        self.offset_end = off
        self.end_piv = 0
        self.entry_offset = off

    def pos(self) -> Pos:
        """A :class:`Pos` at this leaf."""
        return Pos(self.node, self.min, self.max, self.offset, self.index, self.last)

    def find_end(self) -> None:
        """``mas_wr_end_piv``: the slot holding ``last`` and its upper bound."""
        pivots = self.node.pivots
        end = len(pivots) - 1
        oe = self.offset
        last = self.last
        while oe < end and last > pivots[oe]:
            oe += 1
        self.offset_end = oe
        self.end_piv = pivots[oe]

    def extend_null(self) -> None:
        """``mas_wr_extend_null``: absorb NULL neighbours of a NULL store."""
        slots = self.node.slots
        pivots = self.node.pivots
        end = len(pivots) - 1
        if slots[self.offset_end] is None:
            self.last = self.end_piv
        elif (self.last == self.end_piv and end != self.offset_end
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

    def new_end(self) -> int:
        """``mas_wr_new_end``: the leaf's data end after the write."""
        n = len(self.node.pivots) + 1 - (self.offset_end - self.offset)
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
        pivots = self.node.pivots
        off = self.offset
        index = self.index
        last = self.last
        start = pivots[off - 1] + 1 if off else self.min
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
                sl.append(self.node.slots[offset_end])
        return piv, sl

    def new_content(self, entry: Any, offset_end: int) -> tuple[list[int], list[Any]]:
        """The leaf's pivots and slots after the write, as new lists (what
        every in-leaf store type -- append, slot store, node store --
        produces; a write spanning past the leaf passes its last offset)."""
        node = self.node
        off = self.offset
        piv, sl = self.window(entry, offset_end)
        return (node.pivots[:off] + piv + node.pivots[offset_end + 1:],
                node.slots[:off] + sl + node.slots[offset_end + 1:])

    def write_in_place(self, entry: Any, offset_end: int) -> None:
        """Apply the write to the leaf's own lists (``mas_wr_slot_store`` /
        ``mas_wr_append``, and ``mas_wr_node_store`` outside RCU mode, which
        rebuilds into a buffer and copies it back over the node).  Nothing
        survives the write but the leaf, which keeps CPython's cyclic GC idle."""
        node = self.node
        off = self.offset
        piv, sl = self.window(entry, offset_end)
        node.pivots[off:offset_end + 1] = piv
        node.slots[off:offset_end + 1] = sl


def _walk_to_leaf(node: Node, mn: int, mx: int, index: int, last: int) -> LeafWrite:
    """``mas_wr_walk_index``: descend to the leaf holding ``index``, or to the
    last slot when ``index`` lies past the node (``last + 1`` of a spanning
    store that ends exactly at the spanning node's max)."""
    while node.type != LEAF_64:
        pivots = node.pivots
        off = bisect_left(pivots, index)
        if off == len(pivots):  # mas_wr_node_walk stops at the last slot
            off -= 1
        if off:
            mn = pivots[off - 1] + 1
        mx = pivots[off]
        node = node.slots[off]
    return LeafWrite(node, mn, mx, index, last)


def _write_walk(root: Node, index: int, last: int, entry: Any):
    """``mas_wr_walk``: the leaf write state, or the spanning node as a :class:`Pos`."""
    node = root
    mn = 0
    mx = ULONG_MAX
    while True:
        pivots = node.pivots
        off = bisect_left(pivots, index)
        r_max = pivots[off]
        leaf = node.type == LEAF_64
        if last >= r_max:
            bound = mx if leaf else r_max
            if last > bound or (last == bound and entry is None and last != ULONG_MAX):
                return Pos(node, mn, mx, off, index, last)
        if leaf:
            return LeafWrite(node, mn, mx, index, last)
        if off:
            mn = pivots[off - 1] + 1
        mx = r_max
        node = node.slots[off]


def _new_root(tree, entry: Any) -> None:
    """``mas_new_root``: the whole range holds ``entry`` (or nothing)."""
    old = tree._root
    if old.__class__ is Node:
        kill_subtree(old)
    if entry is None:
        tree._root = None
        tree._height = 0
    else:
        tree._root = Node(LEAF_64, [ULONG_MAX], [entry])
        tree._height = 1


def _store_root(tree, index: int, last: int, entry: Any) -> None:
    """``mas_store_root``: a store into an empty tree or a direct root."""
    if entry is None:
        if index == 0:
            tree._root = None
        return
    if last == 0 and index == 0 and entry.__class__ is not InternalEntry:
        tree._root = RootEntry(entry)
        return
    root = tree._root
    contents = root.entry if root is not None else None
    pivots: list[int] = []
    slots: list[Any] = []
    if index:
        if contents is not None:
            slots.append(contents)
            pivots.append(0)
            if index > 1:
                slots.append(None)
                pivots.append(index - 1)
        else:
            slots.append(None)
            pivots.append(index - 1)
    slots.append(entry)
    pivots.append(last)
    if last != ULONG_MAX:
        slots.append(None)
        pivots.append(ULONG_MAX)
    tree._root = Node(LEAF_64, pivots, slots)
    tree._height = 1


def _spanning_store(tree, span: Pos, entry: Any) -> int:
    """``mas_wr_spanning_store``: join the leaves holding ``index`` and ``last + 1``.

    Returns the (NULL-extended) index of the write, or -1 when the write
    became a new root.
    """
    index, last = span.index, span.last
    if index == 0 and last == ULONG_MAX:
        _new_root(tree, entry)
        return -1
    height = tree._height
    r_index = last + 1 if last != ULONG_MAX else last
    r = _walk_to_leaf(span.node, span.min, span.max, r_index, last)
    r.index = last
    l = _walk_to_leaf(span.node, span.min, span.max, index, last)
    if entry is None:
        extend_spanning_null(l, r)
        l.last = r.last
    if l.index == 0 and r.last == ULONG_MAX:
        _new_root(tree, entry)
        return -1
    bn = l.big_node(entry, len(l.node.pivots) - 1)
    rpos = r.pos()
    if r.max > r.last:
        copy_in(bn, rpos, r.offset, len(r.node.pivots) - 1)
    lpos = l.pos()
    lpos.index = lpos.last = l.index
    spanning_rebalance(tree, bn, lpos, rpos, height + 1)
    return l.index


def store(tree, index: int, last: int, entry: Any, insert: bool = False, mas=None,
          root_content: Any = None) -> Any:
    """Store ``entry`` over ``[index, last]``; return the entry the write found
    at ``index`` (the kernel's ``wr_mas->content``; None for a spanning store,
    where the kernel returns its internal node pointer or NULL).

    With ``insert=True`` this is ``mas_insert``: raise :class:`EntryExistsError`
    (tree unchanged) when any part of the range is occupied.  With ``mas`` (a
    :class:`~maple_tree.state.MaState`, already set up by the caller, which
    passes what ``mas_start`` returned as ``root_content``) the state ends
    where the kernel's does.
    O(log n) plus O(height) rebuilt nodes for a split or rebalance.
    """
    tree._writes += 1
    root = tree._root
    if root.__class__ is not Node:
        if mas is None:
            content = root.entry if (root is not None and index == 0) else None
        else:
            content = root_content
        if insert and content is not None:
            raise EntryExistsError(f"[{index}, {last}] is occupied")
        _store_root(tree, index, last, entry)
        if mas is not None and entry is not None:
            new_root = tree._root
            if new_root.__class__ is Node:
                mas.status = "active"
                mas.node = new_root
                mas.offset = 0 if not index else (2 if root is not None and index > 1 else 1)
            else:
                mas.status = "start"
        return content
    wr = _write_walk(root, index, last, entry)
    if wr.__class__ is Pos:
        if insert:
            raise EntryExistsError(f"[{index}, {last}] is occupied")
        where = _spanning_store(tree, wr, entry)
        if mas is not None:
            _settle(tree, mas, where, entry)
        return None
    wr.find_end()
    if entry is None:
        wr.extend_null()
    content = wr.content
    exact = wr.r_min == wr.index and wr.r_max == wr.last
    new_root = not exact and wr.index == 0 and wr.last == ULONG_MAX
    if insert and not new_root and (content is not None or wr.last > wr.r_max):
        raise EntryExistsError(f"[{index}, {last}] is occupied")
    node = wr.node
    if mas is not None:
        mas.index, mas.last = wr.index, wr.last
        mas.node, mas.min, mas.max = node, wr.min, wr.max
        mas.offset, mas.end, mas.status = wr.offset, len(node.pivots) - 1, "active"
    if exact:
        node.slots[wr.offset] = entry
        if tree._alloc and (entry is None) != (content is None):
            update_gap(node, wr.min)
        return content
    if new_root:
        _new_root(tree, entry)
        if mas is not None:
            _settle(tree, mas, -1, entry)
        return content
    new_end = wr.new_end()
    big = new_end >= MT_SLOTS[LEAF_64] or (
        new_end < MT_MIN_SLOTS[LEAF_64] and node.parent is not None and not tree._bulk)
    if big:
        # mas_store_b_node reports the slot it copies the tail from
        oe = wr.offset_end
        if wr.last < wr.max and oe != wr.offset and node.pivots[oe] > wr.last:
            content = node.slots[oe]
    if new_end < MT_MIN_SLOTS[LEAF_64] and node.parent is not None and not tree._bulk:
        rebalance(tree, wr.pos(), wr.big_node(entry, wr.offset_end))
        if mas is not None:
            _settle(tree, mas, wr.index, entry)
        return content
    if new_end >= MT_SLOTS[LEAF_64]:
        split_store(tree, wr.pos(), wr.big_node(entry, wr.offset_end))
        if mas is not None:
            _settle(tree, mas, wr.index, entry)
        return content
    if tree._alloc and node.parent is not None:
        # a gap changes only if a NULL range is written or cut
        gap_changed = entry is None or _has_null(node.slots, wr.offset, wr.offset_end)
    else:
        gap_changed = False
    if tree._flags & MT_FLAGS_USE_RCU:  # readers may hold the old lists
        node.pivots, node.slots = wr.new_content(entry, wr.offset_end)
    else:
        wr.write_in_place(entry, wr.offset_end)
    if mas is not None:
        mas.offset = wr.entry_offset
        mas.end = new_end
    if gap_changed:
        update_gap(node, wr.min)
    return content


def _has_null(slots: list, first: int, last: int) -> bool:
    """Is any of ``slots[first..last]`` empty (identity test, no ``==``)?"""
    for i in range(first, last + 1):
        if slots[i] is None:
            return True
    return False


def _settle(tree, mas, index: int, entry: Any) -> None:
    """Where the kernel leaves a state after a rebuilt write: re-walked to
    ``index`` (``mtree_range_walk``), or at a new root (``index == -1``)."""
    if index < 0:
        mas.index, mas.last = 0, ULONG_MAX
        mas.min, mas.max = 0, ULONG_MAX
        if entry is None:
            mas.status = "start"
        else:
            mas.status = "active"
            mas.node = tree._root
        return
    mas.index = index
    mas.node = tree._root
    mas.min, mas.max = 0, ULONG_MAX
    mas.status = "active"
    mas._range_walk()
