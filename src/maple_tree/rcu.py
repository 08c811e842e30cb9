"""RCU mode: readers that take no lock beside one writer (``MT_FLAGS_USE_RCU``).

In RCU mode a writer never changes a node that a reader may be in, except
for the kernel's single-reference stores (an exact fit, a two-slot slot
store that writes the entry before the pivot): it builds the replacement
nodes, *publishes* them with one reference assignment (a parent's slot or the
tree's root), and only then marks the replaced nodes dead
(:func:`~maple_tree.node.kill_node`).  Writers are serialised by the tree's
lock (:class:`~maple_tree.core.TreeLock`).

A reader descends from the root without the lock (:func:`leaf_at`), keeping
each node's bounds from its parent instead of climbing parent links (which a
writer re-points), and checks after reading a node that it is not dead; a
reader that finds itself in a dead node walks again from the root, as the
kernel's ``mas_rewalk_if_dead`` does.  Moving to the next leaf is a descent
to ``max + 1``.  So every read returns what the tree held at some instant
during the call: a point load the old or the new entry, an iteration ranges
in strictly increasing order, each as it stood at some instant.

This module holds those reader walks, the test-only hook the writer calls at
each publish and mark-dead point (:func:`set_hook`), and the lock-debugging
switch that makes an advanced-API write without the lock an error
(:func:`set_lock_debug`).

>>> from maple_tree import MapleTree, MT_FLAGS_USE_RCU
>>> t = MapleTree(MT_FLAGS_USE_RCU)
>>> for i in range(40):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> seen = []
>>> _ = set_hook(lambda event, path: seen.append((event, path)))
>>> t.store_range(0, 12, "x")     # the leaf gets fewer slots: a new node is published
>>> _ = set_hook(None)
>>> seen
[('publish', 'node_store'), ('dead', 'node_store')]
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from .constants import LEAF_64, MT_FLAGS_LOCK_EXTERN, MT_FLAGS_USE_RCU, ULONG_MAX
from .core import TreeCore
from .errors import StateError
from .node import Node, RootEntry

__all__ = ["set_hook", "notify", "notify_rcu", "set_lock_debug", "check_write_lock", "leaf_at", "load",
           "ranges", "ranges_rev", "Hook", "PATHS"]

#: ``hook(event, path)``: ``event`` is ``"publish"`` or ``"dead"``
Hook = Callable[[str, str], None]
#: the write paths that report to the hook
PATHS = ("exact_fit", "slot_store", "node_store", "split", "rebalance", "spanning_store",
         "new_root", "root_expand", "bulk_end")

_hook: Hook | None = None
_lock_debug: bool = False


def set_hook(hook: Hook | None) -> Hook | None:
    """Install ``hook`` (None removes it) and return the previous one.

    A TEST-ONLY hook: in RCU mode every write path calls ``hook("publish",
    path)`` right after its change became visible to readers and
    ``hook("dead", path)`` right after it marked the replaced nodes dead
    (``path`` is one of :data:`PATHS`).  It runs in the writer's thread with
    the tree's lock held; it may read the tree (readers take no lock) and
    must not write it.  O(1).
    """
    global _hook
    previous = _hook
    _hook = hook
    return previous


def notify(event: str, path: str) -> None:
    """Tell the hook, if any, that ``event`` happened on write path ``path``."""
    hook = _hook
    if hook is not None:
        hook(event, path)


def notify_rcu(tree: TreeCore, event: str, path: str) -> None:
    """:func:`notify`, when ``tree`` is in RCU mode (the hook hears of RCU
    writes only)."""
    if tree._flags & MT_FLAGS_USE_RCU:
        notify(event, path)


def set_lock_debug(on: bool) -> bool:
    """Lock debugging: when on, a write through a ``MaState`` (``store``,
    ``store_gfp``, ``erase``, ``expected_entries``, ``destroy``) raises
    :class:`~maple_tree.errors.StateError` unless the calling thread holds
    the tree's lock (``with tree.lock:``), as lockdep would complain in the
    kernel; trees made with ``MT_FLAGS_LOCK_EXTERN`` are exempt.  Returns the
    previous setting.  O(1).

    >>> from maple_tree import MapleTree, MaState
    >>> t = MapleTree(); old = set_lock_debug(True)
    >>> MaState(t, 5).store("x")
    Traceback (most recent call last):
      ...
    maple_tree.errors.StateError: a write through a MaState must hold the tree's lock (with tree.lock: ...); lock debugging is on
    >>> with t.lock:
    ...     MaState(t, 5).store("x")
    >>> _ = set_lock_debug(old)
    """
    global _lock_debug
    previous = _lock_debug
    _lock_debug = bool(on)
    return previous


def check_write_lock(tree: TreeCore) -> None:
    """With lock debugging on, StateError unless the caller holds ``tree``'s lock."""
    if _lock_debug and not tree._flags & MT_FLAGS_LOCK_EXTERN and not tree._lock.held():
        raise StateError("a write through a MaState must hold the tree's lock "
                         "(with tree.lock: ...); lock debugging is on")


# -- reading without the lock ----------------------------------------------------------------


def leaf_at(tree: TreeCore, index: int) -> tuple[Node, int, int] | RootEntry | None:
    """The leaf holding ``index`` and its bounds ``(leaf, min, max)``, found by
    a descent from the root that walks again whenever a node it read is dead;
    when the tree had no node as the descent began, its root as read then
    (None: empty; or the direct root's :class:`RootEntry`).  The caller reads
    the leaf, then checks ``leaf.dead`` and starts again if it is set.
    O(height) per attempt.

    >>> from maple_tree import MapleTree
    >>> t = MapleTree(); t.store_range(10, 19, "a")
    >>> leaf, lo, hi = leaf_at(t, 15); lo, hi, leaf is t._root
    (0, 18446744073709551615, True)
    """
    while True:
        node = tree._root
        if not isinstance(node, Node):
            return node
        lo, hi = 0, ULONG_MAX
        while node.type != LEAF_64:
            pivots = node.pivots
            off = bisect_left(pivots, index)
            if off == len(pivots):  # only a stale node can miss the key
                break
            if off:
                lo = pivots[off - 1] + 1
            hi = pivots[off]
            child: Node = node.slots[off]
            if node.dead:
                break
            node = child
        else:
            return node, lo, hi


def load(tree: TreeCore, index: int) -> Any:
    """``mtree_load`` without the lock: the entry at ``index`` at some
    instant during the call (``ZERO_ENTRY`` as stored).  O(height)."""
    while True:
        found = leaf_at(tree, index)
        if not isinstance(found, tuple):
            return None if found is None or index else found.entry
        leaf = found[0]
        entry = leaf.slots[bisect_left(leaf.pivots, index)]
        if not leaf.dead:
            return entry


def _root_ranges(root: RootEntry | None, hidden: Any,
                 reaches_0: bool) -> list[tuple[int, int, Any]]:
    """What an iteration yields from a tree without nodes whose root is
    ``root``: the direct root's entry, when the iteration reaches key 0 and
    the entry is not ``hidden``, or nothing."""
    if reaches_0 and root is not None and root.entry is not hidden:
        return [(0, 0, root.entry)]
    return []


def ranges(tree: TreeCore, index: int, stop: int,
           hidden: Any) -> Iterator[tuple[int, int, Any]]:
    """Iteration without the lock: the ranges holding neither None nor
    ``hidden``, from the one holding ``index`` while they start at or before
    ``stop``, in strictly increasing order of their last key.  Each leaf is
    read while it is live; one found dead is read again from the root at the
    first key not yet yielded.  O(1) amortised per entry plus a descent per
    leaf."""
    key = index
    while True:
        found = leaf_at(tree, key)
        if not isinstance(found, tuple):
            yield from _root_ranges(found, hidden, key == 0)
            return
        leaf, lo, hi = found
        pivots, slots = leaf.pivots, leaf.slots
        off = bisect_left(pivots, key)
        first = pivots[off - 1] + 1 if off else lo
        restart = False
        for i in range(off, len(pivots)):
            entry = slots[i]
            last = pivots[i]
            if leaf.dead:
                restart = True
                break
            if entry is not None and entry is not hidden:
                if first > stop:
                    return
                yield first, last, entry
                if last >= stop:
                    return
                key = last + 1
            first = last + 1
        if restart:
            continue
        if hi >= stop or hi == ULONG_MAX:
            return
        key = max(key, hi + 1)


def ranges_rev(tree: TreeCore, index: int, hidden: Any) -> Iterator[tuple[int, int, Any]]:
    """:func:`ranges` backwards: from the range holding ``index`` down to key
    0, in strictly decreasing order of their first key."""
    key = index
    while True:
        found = leaf_at(tree, key)
        if not isinstance(found, tuple):
            yield from _root_ranges(found, hidden, True)
            return
        leaf, lo, _hi = found
        pivots, slots = leaf.pivots, leaf.slots
        restart = False
        for i in range(min(bisect_left(pivots, key), len(pivots) - 1), -1, -1):
            entry = slots[i]
            first = pivots[i - 1] + 1 if i else lo
            last = pivots[i]
            if leaf.dead:
                restart = True
                break
            if entry is not None and entry is not hidden:
                yield first, last, entry
                if not first:
                    return
                key = first - 1
        if restart:
            continue
        if not lo:
            return
        key = min(key, lo - 1)
