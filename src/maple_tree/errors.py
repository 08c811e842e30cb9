"""Exceptions carrying the kernel's errno.

The kernel returns ``-EEXIST``, ``-EINVAL``, ``-EBUSY`` and ``-ENOMEM``; the
Python API raises the matching exception, all subclasses of :class:`MapleError`
with an ``errno`` attribute.  Argument errors are also ``ValueError`` or
``TypeError`` so ordinary Python code can catch them the usual way.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> t.insert(5, "a")
>>> try:
...     t.insert(5, "b")
... except MapleError as e:
...     print(type(e).__name__, e.errno)
EntryExistsError 17
"""
from __future__ import annotations

from .constants import EBUSY, EEXIST, EINVAL, ENOMEM


class MapleError(Exception):
    """Base class of every maple-tree error; ``errno`` is the kernel's errno."""

    errno: int = 0

    def __init__(self, message: str = "", errno: int | None = None) -> None:
        super().__init__(message)
        if errno is not None:
            self.errno = errno


class EntryExistsError(MapleError):
    """An insert met an occupied range (``-EEXIST``)."""

    errno = EEXIST


class InvalidArgumentError(MapleError, ValueError):
    """A bad value: first > last, key out of 0..ULONG_MAX, refused entry (``-EINVAL``)."""

    errno = EINVAL


class InvalidTypeError(MapleError, TypeError):
    """A key that is not an ``int`` (``-EINVAL`` in kernel terms)."""

    errno = EINVAL


class BusyError(MapleError):
    """No free range of the requested size (``-EBUSY``)."""

    errno = EBUSY


class OutOfMemoryError(MapleError, MemoryError):
    """Node allocation failed (``-ENOMEM``); only raised by fault injection."""

    errno = ENOMEM


class TreeCorruptError(AssertionError):
    """``validate()`` found a broken invariant; the message names node and offset."""


class StateError(MapleError, RuntimeError):
    """A cursor (``MaState``) call the kernel would crash on or refuse."""

    errno = EINVAL
