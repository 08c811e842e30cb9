"""Entries: what a slot may hold, and the kernel's reserved values.

Any Python object except ``None`` is an entry; ``None`` is the empty slot
(the kernel's NULL).  The kernel also reserves "internal" values (low bits
``10``) for itself.  :data:`ZERO_ENTRY` (``XA_ZERO_ENTRY``) is the one a user
meets: it occupies its range but the normal API hides it.

>>> ZERO_ENTRY
ZERO_ENTRY
>>> is_advanced(ZERO_ENTRY), is_reserved(ZERO_ENTRY)
(False, True)
>>> is_advanced(RETRY_ENTRY)
True
"""
from __future__ import annotations

from typing import Any, final

from .errors import InvalidArgumentError, InvalidTypeError

#: the largest value of an internal entry (``xa_mk_internal`` keeps 62 bits)
INTERNAL_MAX = (1 << 62) - 1


@final
class InternalEntry:
    """A kernel internal entry ``xa_mk_internal(value)``; compare by identity.

    ``value`` is an int in ``0 .. 2**62 - 1`` (InvalidTypeError /
    InvalidArgumentError otherwise); ``name``, if given, is its repr.  As in C, where ``xa_mk_internal(257)``
    *is* ``XA_ZERO_ENTRY``, the values of the named entries give the named
    objects; other values make new objects, useful to test the refusal rules
    (``InternalEntry(1)`` is an "advanced" value the store API rejects).

    >>> InternalEntry(300), InternalEntry(257) is ZERO_ENTRY
    (InternalEntry(300), True)
    >>> InternalEntry("x")
    Traceback (most recent call last):
    ...
    maple_tree.errors.InvalidTypeError: InternalEntry value must be an int, not str 'x'
    """

    __slots__ = ("value", "_name")
    value: int
    _name: str | None

    def __new__(cls, value: int, name: str | None = None) -> InternalEntry:
        if value.__class__ is not int:
            raise InvalidTypeError(f"InternalEntry value must be an int, not "
                                   f"{type(value).__name__} {value!r:.60}")
        if not 0 <= value <= INTERNAL_MAX:
            raise InvalidArgumentError(f"InternalEntry value {value} is outside 0..2**62-1")
        named = _NAMED.get(value)
        if named is not None:
            return named
        return cls._make(value, name)

    @classmethod
    def _make(cls, value: int, name: str | None) -> InternalEntry:
        entry = object.__new__(cls)
        entry.value = value
        entry._name = name
        return entry

    def __repr__(self) -> str:
        return self._name or f"InternalEntry({self.value})"

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles of the named ones are them
        return (InternalEntry, (self.value, self._name))


_NAMED: dict[int, InternalEntry] = {}
#: XA_RETRY_ENTRY (internal 256): an "advanced" entry the normal API refuses.
RETRY_ENTRY = _NAMED[256] = InternalEntry._make(256, "RETRY_ENTRY")
#: XA_ZERO_ENTRY (internal 257): occupies its range, hidden from load/find/iteration.
ZERO_ENTRY = _NAMED[257] = InternalEntry._make(257, "ZERO_ENTRY")


def is_advanced(entry: Any) -> bool:
    """``xa_is_advanced``: internal and <= XA_RETRY_ENTRY; store/insert refuse these."""
    return entry.__class__ is InternalEntry and entry.value <= 256


def is_reserved(entry: Any) -> bool:
    """``mt_is_reserved``: an internal entry whose encoded pointer is below
    4096 (``MAPLE_RESERVED_RANGE``), i.e. value < 1024; the allocation calls
    refuse these (ZERO_ENTRY among them)."""
    return entry.__class__ is InternalEntry and entry.value < 1024
