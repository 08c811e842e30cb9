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
* ``_writes``: bumped by every write, so that iterators and cursors that
  hold a position can tell that the tree changed under them;
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
from collections.abc import Iterator
from contextlib import contextmanager

from .constants import MT_FLAGS_ALLOC_RANGE
from .node import Node, RootEntry

__all__ = ["TreeCore", "gc_paused"]


class TreeCore:
    """The shared fields of a maple tree (see the module docstring).

    ``flags`` is not checked here: :class:`~maple_tree.tree.MapleTree`
    checks what a user passes.  O(1).
    """

    __slots__ = ("_root", "_height", "_flags", "_alloc", "_bulk", "_bulk_leaf_split", "_writes",
                 "_entries", "_nodes_made", "_nodes_freed", "__weakref__")

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
