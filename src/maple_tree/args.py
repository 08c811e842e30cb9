"""Argument checks shared by the normal API and ``MaState``.

Keys are ``int`` (not ``bool``) in ``0..ULONG_MAX``; a bad type raises
InvalidTypeError (also a ``TypeError``), a bad value InvalidArgumentError
(also a ``ValueError``); both carry errno EINVAL.  Every message names the
argument and the value that is wrong, and nothing has changed when one is
raised.

>>> check_key(5, "index")
5
>>> check_range(9, 3)
Traceback (most recent call last):
...
maple_tree.errors.InvalidArgumentError: first 9 > last 3
>>> check_key("7", "index")
Traceback (most recent call last):
...
maple_tree.errors.InvalidTypeError: index must be an int, not str '7'
"""
from __future__ import annotations

from typing import Any, TypeAlias

from .constants import ULONG_MAX
from .entries import is_advanced
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = ["Key", "Flag", "check_key", "check_range", "check_entry", "check_window", "check_bool", "show"]

#: A key argument of the public API: an ``int`` in ``0..ULONG_MAX``, which
#: :func:`check_key` checks.  Annotated ``Any`` on purpose: a compiled build
#: turns an ``int`` annotation into a check of its own with another error, so
#: the public boundary leaves every check to this module, in both builds.
Key: TypeAlias = Any
#: A flag argument of the public API (``True`` or ``False``, checked by
#: :func:`check_bool`); ``Any`` for the same reason as :data:`Key`.
Flag: TypeAlias = Any


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_key(value: Any, name: str) -> int:
    """Check one key: an ``int`` (not ``bool``) in ``0..ULONG_MAX``; return it
    as a plain ``int``.  O(1)."""
    if value.__class__ is not int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidTypeError(f"{name} must be an int, not {type(value).__name__} "
                                   f"{show(value)}")
        value = int(value)
    if value < 0 or value > ULONG_MAX:
        raise InvalidArgumentError(f"{name} {value} is outside 0..ULONG_MAX")
    return int(value)


def check_range(first: Any, last: Any) -> tuple[int, int]:
    """Check ``first <= last``, both keys.  O(1)."""
    first = check_key(first, "first")
    last = check_key(last, "last")
    if first > last:
        raise InvalidArgumentError(f"first {first} > last {last}")
    return first, last


def check_window(min_: Any, max_: Any, size: Any) -> tuple[int, int, int]:
    """Check a gap search window ``[min, max]`` and ``size`` as the kernel
    does (``-EINVAL``): keys, ``min <= max``, ``size >= 1`` and a window of at
    least ``size`` keys.  O(1).

    >>> check_window(0, 9, 20)
    Traceback (most recent call last):
    ...
    maple_tree.errors.InvalidArgumentError: window [min 0, max 9] holds 10 keys, fewer than size 20
    """
    if not (min_.__class__ is int and max_.__class__ is int and size.__class__ is int
            and 0 <= min_ and max_ <= ULONG_MAX and 0 <= size <= ULONG_MAX):
        min_ = check_key(min_, "min")
        max_ = check_key(max_, "max")
        size = check_key(size, "size")
    if min_ > max_:
        raise InvalidArgumentError(f"min {min_} > max {max_}")
    if size == 0:
        raise InvalidArgumentError("size 0: a gap search needs size >= 1")
    if max_ - min_ < size - 1:
        raise InvalidArgumentError(f"window [min {min_}, max {max_}] holds {max_ - min_ + 1} "
                                   f"keys, fewer than size {size}")
    return min_, max_, size


def check_entry(entry: Any) -> Any:
    """Refuse the kernel's advanced internal entries (``xa_is_advanced``).  O(1)."""
    if is_advanced(entry):
        raise InvalidArgumentError(f"entry {entry!r} is reserved for the tree's internal use")
    return entry


def check_bool(value: Any, name: str) -> bool:
    """Check a flag argument: exactly ``True`` or ``False``.  O(1)."""
    if value.__class__ is not bool:
        raise InvalidTypeError(f"{name} must be a bool, not {type(value).__name__} "
                               f"{show(value)}")
    return bool(value)
