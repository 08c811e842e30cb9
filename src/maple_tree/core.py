"""The tree's core record: the fields every layer of the tree shares.

:class:`TreeCore` is the kernel's ``struct maple_tree`` without its lock: the
root (``ma_root``), the height and flags (``ma_flags``), plus two fields the
Python layers need: whether the tree tracks gaps, and a counter of writes.
The write engine (``write.py``), the cursor (``cursor.py``, ``state.py``),
allocation (``alloc.py``), validation, dumps and the structure format all take
a ``TreeCore``; :class:`~maple_tree.tree.MapleTree` is a ``TreeCore`` with
the normal API on top.  Nothing here imports the modules above it.

The fields are package-internal (underscored); users read them through
``MapleTree``'s properties.

* ``_root``: ``None`` (empty tree), a :class:`~maple_tree.node.RootEntry`
  (a single entry at ``[0, 0]``) or the root :class:`~maple_tree.node.Node`;
* ``_height``: 0 for an empty tree or a direct root, else the node levels;
* ``_flags``: the ``MT_FLAGS_*`` bits (the height is kept apart);
* ``_alloc``: ``MT_FLAGS_ALLOC_RANGE`` is set (internal nodes are
  ``arange_64`` and keep gaps);
* ``_bulk``: the write in progress is a bulk-mode write (the kernel's
  ``MA_STATE_BULK`` of the writing cursor): splits favour the left node and
  short nodes are not rebalanced; ``_bulk_leaf_split``: such a write split a
  leaf (the kernel then sets ``MA_STATE_REBALANCE`` on the cursor);
* ``_writes``: bumped at the start and at the end of every write (odd while
  a write is in progress, a seqcount), so that iterators and cursors that
  hold a position can tell that the tree changed under them;
* ``_lock``: the tree's :class:`TreeLock` (``tree.lock``); ``_wlock``: what
  a normal-API write holds (the lock, or nothing for ``MT_FLAGS_LOCK_EXTERN``);
* ``_entries``: the number of ranges iteration yields (neither NULL nor
  ``ZERO_ENTRY``), kept by every write so that ``len()`` is O(1) (the kernel
  keeps no count; ``validate()`` checks this one against the leaves);
* ``_nodes_made`` / ``_nodes_freed``: the nodes the tree has allocated and
  freed since it was made (what the kernel pays for), for ``stats()``.

>>> core = TreeCore(0)
>>> core._root is None, core._height, core._writes
(True, 0, 0)
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, final

from .constants import MT_FLAGS_ALLOC_RANGE, MT_FLAGS_LOCK_EXTERN
from .node import Node, RootEntry

__all__ = ["TreeCore", "TreeLock", "gc_paused"]


@final
class TreeLock:
    """The tree's lock (the kernel's ``mtree_lock``/``mtree_unlock``): it
    serialises writers; readers in RCU mode never take it.  ``with
    tree.lock:`` holds it; :meth:`held` tells whether the calling thread
    holds it (what lock debugging checks).  Unlike the kernel's spinlock it is
    reentrant (a :class:`threading.RLock`), so a normal-API write inside
    ``with tree.lock:`` runs instead of deadlocking.

    >>> lock = TreeLock(); lock.held()
    False
    >>> with lock:
    ...     lock.held(), lock.locked()
    (True, True)
    """

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        self._raw: Any = threading.RLock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Take the lock (wait for it unless ``blocking`` is False, at most
        ``timeout`` seconds if given); True if taken."""
        return bool(self._raw.acquire(blocking, timeout))

    def release(self) -> None:
        """Let the lock go once (RuntimeError if this thread does not hold it)."""
        self._raw.release()

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return bool(self._raw._is_owned())

    def locked(self) -> bool:
        """Whether any thread holds the lock."""
        raw = self._raw
        if raw._is_owned():
            return True
        if raw.acquire(False):
            raw.release()
            return False
        return True

    def __enter__(self) -> TreeLock:
        self._raw.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.release()

    def __repr__(self) -> str:
        return f"<TreeLock {'locked' if self.locked() else 'unlocked'}>"


class TreeCore:
    """The shared fields of a maple tree (see the module docstring).

    ``flags`` is not checked here: :class:`~maple_tree.tree.MapleTree`
    checks what a user passes.  O(1).
    """

    __slots__ = ("_root", "_height", "_flags", "_alloc", "_bulk", "_bulk_leaf_split", "_writes",
                 "_entries", "_nodes_made", "_nodes_freed", "_lock", "_wlock", "__weakref__")

    def __init__(self, flags: int) -> None:
        self._root: Node | RootEntry | None = None
        self._height: int = 0
        self._flags: int = flags
        self._alloc: bool = bool(flags & MT_FLAGS_ALLOC_RANGE)
        self._bulk: bool = False
        self._bulk_leaf_split: bool = False
        self._writes: int = 0
        self._entries: int = 0
        self._nodes_made: int = 0
        self._nodes_freed: int = 0
        self._lock: TreeLock = TreeLock()
        # what the normal API's writes hold: the lock (its RLock, the cheapest
        # ``with``), or nothing when the caller locks (LOCK_EXTERN)
        self._wlock: AbstractContextManager[Any] = (
            nullcontext() if flags & MT_FLAGS_LOCK_EXTERN else self._lock._raw)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block, then restore it
    as it was (also on error).  The whole-tree makers (copies, the bottom-up
    builder) make nodes by the hundred thousand and no garbage; without the
    pause the collector's full passes over the growing heap take most of
    their time (6x at a million ranges).  The pause is process-wide, as any
    ``gc.disable()``.

    >>> with gc_paused():
    ...     gc.isenabled()
    False
    """
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
