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

from typing import Any


class InternalEntry:
    """A kernel internal entry ``xa_mk_internal(value)``; compare by identity.

    Only the module-level constants should exist; create others only to test
    the refusal rules (``InternalEntry(1)`` is an "advanced" value the normal
    store API rejects).
    """

    __slots__ = ("value", "_name")

    def __init__(self, value: int, name: str | None = None) -> None:
        self.value = value
        self._name = name

    def __repr__(self) -> str:
        return self._name or f"InternalEntry({self.value})"

    def __reduce__(self):  # keep the singletons singletons under copy/pickle
        if self._name and self._name in globals():
            return self._name
        return (InternalEntry, (self.value, self._name))


#: XA_RETRY_ENTRY (internal 256): an "advanced" entry the normal API refuses.
RETRY_ENTRY = InternalEntry(256, "RETRY_ENTRY")
#: XA_ZERO_ENTRY (internal 257): occupies its range, hidden from load/find/iteration.
ZERO_ENTRY = InternalEntry(257, "ZERO_ENTRY")


def is_advanced(entry: Any) -> bool:
    """``xa_is_advanced``: internal and <= XA_RETRY_ENTRY; store/insert refuse these."""
    return entry.__class__ is InternalEntry and entry.value <= 256


def is_reserved(entry: Any) -> bool:
    """``mt_is_reserved``: internal and below 4096; the alloc APIs refuse these."""
    return entry.__class__ is InternalEntry and entry.value < 1024
