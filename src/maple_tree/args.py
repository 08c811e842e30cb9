"""Argument checks shared by the normal API and ``MaState``.

Keys are ``int`` (not ``bool``) in ``0..ULONG_MAX``; a bad type raises
InvalidTypeError (also a ``TypeError``), a bad value InvalidArgumentError
(also a ``ValueError``); both carry errno EINVAL.

>>> check_key(5, "index")
5
>>> check_range(9, 3)
Traceback (most recent call last):
...
maple_tree.errors.InvalidArgumentError: first 9 > last 3
"""
from __future__ import annotations

from typing import Any

from .constants import ULONG_MAX
from .entries import is_advanced
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = ["check_key", "check_range", "check_entry"]


def check_key(value: Any, name: str) -> int:
    """Check one key: an ``int`` (not ``bool``) in ``0..ULONG_MAX``."""
    if value.__class__ is not int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__}")
        value = int(value)
    if value < 0 or value > ULONG_MAX:
        raise InvalidArgumentError(f"{name} {value} is outside 0..ULONG_MAX")
    return value


def check_range(first: Any, last: Any) -> tuple[int, int]:
    """Check ``first <= last``, both keys."""
    first = check_key(first, "first")
    last = check_key(last, "last")
    if first > last:
        raise InvalidArgumentError(f"first {first} > last {last}")
    return first, last


def check_entry(entry: Any) -> Any:
    """Refuse the kernel's advanced internal entries (``xa_is_advanced``)."""
    if is_advanced(entry):
        raise InvalidArgumentError(f"{entry!r} is reserved for the tree's internal use")
    return entry
