"""Allocation: store an entry in a free run of keys (``mtree_alloc_*``).

Each call is a gap search (``gapsearch.py``) followed by an insert of the
entry over the run found, on an allocation tree (``MT_FLAGS_ALLOC_RANGE``).
:class:`~maple_tree.tree.MapleTree` exposes them as ``alloc_range``,
``alloc_rrange`` and ``alloc_cyclic``.

>>> from maple_tree import MapleTree, MT_FLAGS_ALLOC_RANGE
>>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(0, 99, "a")
>>> alloc_range(t, 10, "b", 0, 1000, rev=False), alloc_range(t, 10, "c", 0, 1000, rev=True)
(100, 991)
"""
from __future__ import annotations

from typing import Any

from .args import check_key, check_window
from .constants import MT_FLAGS_ALLOC_WRAPPED, ULONG_MAX
from .core import TreeCore
from .cursor import CursorState
from .entries import is_reserved
from .errors import InvalidArgumentError, MapleError
from .gapsearch import empty_area, empty_area_rev
from .write import store

__all__ = ["alloc_range", "alloc_cyclic"]


def _check_alloc(tree: TreeCore, entry: Any) -> None:
    """The allocation calls need an allocation tree and a storable entry."""
    if not tree._alloc:
        raise InvalidArgumentError("allocation needs a tree with MT_FLAGS_ALLOC_RANGE")
    if is_reserved(entry):
        raise InvalidArgumentError(f"entry {entry!r} is reserved for the tree's internal use")


def alloc_range(tree: TreeCore, size: Any, entry: Any, min_: Any, max_: Any, rev: bool) -> int:
    """``mtree_alloc_range`` (lowest fit) or ``mtree_alloc_rrange`` (highest
    fit, ``rev``): store ``entry`` over a free run of ``size`` keys inside
    ``[min_, max_]`` and return its first key.  Raises InvalidArgumentError
    (EINVAL) on a bad call and BusyError (EBUSY) when nothing fits.  O(log n).
    """
    _check_alloc(tree, entry)
    min_, max_, size = check_window(min_, max_, size)
    mas = CursorState(tree, 0, 0)
    if rev:
        empty_area_rev(mas, min_, max_, size)
    else:
        empty_area(mas, min_, max_, size)
    store(tree, mas._index, mas._last, entry, insert=True)
    return mas._index


def alloc_cyclic(tree: TreeCore, entry: Any, lo: Any, hi: Any, next_: Any
                 ) -> tuple[int, int, bool]:
    """``mtree_alloc_cyclic``: store ``entry`` at the first free key of
    ``[max(lo, next_), hi]``, wrapping to ``lo`` if none is free; return
    ``(start, new_next, wrapped)`` (see ``MapleTree.alloc_cyclic``).  O(log n).
    """
    _check_alloc(tree, entry)
    lo = check_key(lo, "lo")
    hi = check_key(hi, "hi")
    next_ = check_key(next_, "next")
    if lo > hi:
        raise InvalidArgumentError(f"lo {lo} > hi {hi}")
    mas = CursorState(tree, 0, 0)
    start = lo if lo > next_ else next_
    wrapped = False
    try:
        if start > hi:  # past the window: search from lo at once
            raise InvalidArgumentError(f"next {next_} > hi {hi}")
        empty_area(mas, start, hi, 1)
        if tree._flags & MT_FLAGS_ALLOC_WRAPPED:
            tree._flags &= ~MT_FLAGS_ALLOC_WRAPPED
            wrapped = True
    except MapleError:
        if start <= lo:
            raise
        mas.reset()
        empty_area(mas, lo, hi, 1)
        wrapped = True
    store(tree, mas._index, mas._last, entry, insert=True)
    start = mas._index
    new_next = (start + 1) & ULONG_MAX
    if new_next == 0:
        tree._flags |= MT_FLAGS_ALLOC_WRAPPED
    return start, new_next, wrapped
