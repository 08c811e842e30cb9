"""A naive model of the advanced API cursor (``MaState``) on top of refmodel.py.

``CursorModel`` keeps the tree's content as a :class:`refmodel.RefModel`
(sorted non-NULL ranges, ``ZERO_ENTRY`` included) plus a cursor
``(index, last, mode)`` and *predicts*, by linear scans, what each
``MaState`` call returns and where it leaves ``index``/``last``.

Every NULL range of the model is maximal: the tree never holds two adjacent
NULL slots (conformance finding 2), so "the slot holding key k" is the model
range holding k or the whole NULL run around k.

Modes (a coarser view of the kernel's status):

* ``start``  -- just set / reset (status ``start``): the next call walks
  from the root at ``index``;
* ``pause``  -- after ``pause()``: ``find`` resumes at ``last + 1``,
  ``find_rev`` at ``index - 1``, ``next``/``prev`` re-walk ``index``;
* ``active`` -- positioned on the slot ``[index, last]`` (which may be a NULL
  range);
* ``limit``  -- anything the model does not predict exactly: a call that
  returned NULL at a limit (``overflow``/``underflow``, where 6.12.117's
  follow-up behaviour is subtle, conformance finding 9), and every cursor read
  on a tree with no node (empty or direct root: statuses ``none``/``root``).
  In this mode the caller only checks weak properties (see ``loose``), and
  ``index``/``last`` are re-read from the state before the next call.

The predictions follow kernel-maple-spec.md section 5 and the 6.12.117
setup functions quoted there:

* ``walk``: the slot holding ``index`` (NULL ranges too), always from the root.
* ``find(max)``: from start, the slot at ``index`` if non-NULL, else the next
  non-NULL range starting <= max; from active, the next non-NULL range after
  the current slot; a NULL result leaves the state ``active`` on the NULL slot
  it reached ("ignore overflow").  ``find_range`` returns NULL slots too.
* ``find_rev(min)`` mirrors ``find`` (ends >= min).
* ``next(max)``/``prev(min)``: the first non-NULL range after / before the
  slot holding the position (from start or pause: the slot holding ``index``),
  starting <= max / ending >= min; ``*_range`` return the adjacent slot.
* ``store(entry)``: writes ``[index, last]``; returns the old entry at
  ``index`` (or NULL for a spanning store, where 6.12.117 returns an internal
  node pointer, finding 10); a NULL store widens ``index``/``last`` to the
  merged NULL range.
* ``erase()``: removes the range holding ``index``, returns its entry;
  ``index``/``last`` become the merged NULL range.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from refmodel import RefModel

ULONG_MAX = 2**64 - 1

START, PAUSE, ACTIVE, LIMIT = "start", "pause", "active", "limit"


@dataclass
class Pred:
    """An exact prediction: returned ``entry``, then ``index``/``last`` and the mode."""

    entry: Any
    index: int
    last: int
    mode: str


@dataclass
class Loose:
    """Only weak checks: the result is NULL (``must_be_none``) or an exact
    model range; forward results start <= ``limit``, reverse ones end >= it.
    ``unchanged``: index/last must not move (a setup limit check fired)."""

    must_be_none: bool
    forward: bool
    limit: int
    ranges: bool = False  # a *_range call (a NULL result is not a failure)
    unchanged: bool = False


class CursorModel:
    """Content model + predicted cursor."""

    def __init__(self) -> None:
        self.ref = RefModel()
        self.index = 0
        self.last = 0
        self.mode = START

    # -- geometry ---------------------------------------------------------
    def slot(self, index: int) -> tuple[int, int, Any]:
        """``(first, last, entry)`` of the slot holding ``index``; NULL runs maximal."""
        lo, hi = 0, ULONG_MAX
        for f, l, e in self.ref.ranges:
            if f <= index <= l:
                return f, l, e
            if l < index:
                lo = l + 1
            else:
                hi = f - 1
                break
        return lo, hi, None

    def next_entry(self, last: int, max_: int) -> Optional[tuple[int, int, Any]]:
        """First non-NULL range starting after ``last`` and at or before ``max_``."""
        for f, l, e in self.ref.ranges:
            if f > last:
                return (f, l, e) if f <= max_ else None
        return None

    def prev_entry(self, index: int, min_: int) -> Optional[tuple[int, int, Any]]:
        """Last non-NULL range ending before ``index`` and at or after ``min_``."""
        for f, l, e in reversed(self.ref.ranges):
            if l < index:
                return (f, l, e) if l >= min_ else None
        return None

    def gaps(self) -> list[tuple[int, int]]:
        """Every maximal NULL run ``[g0, g1]``, ascending."""
        out = []
        nxt = 0
        for f, l, _ in self.ref.ranges:
            if f > nxt:
                out.append((nxt, f - 1))
            nxt = l + 1
        if nxt <= ULONG_MAX:
            out.append((nxt, ULONG_MAX))
        return out

    # -- gap search (brute force) -------------------------------------------
    def empty_area(self, min_: int, max_: int, size: int, rev: bool) -> Optional[tuple[int, int]]:
        """The lowest (highest if ``rev``) ``[index, last]`` of ``size`` free keys
        inside ``[min_, max_]``; None if nothing fits.  Arguments must be valid."""
        best = None
        for g0, g1 in self.gaps():
            lo, hi = max(g0, min_), min(g1, max_)
            if hi < lo or hi - lo + 1 < size:
                continue
            if not rev:
                return lo, lo + size - 1
            best = (hi - size + 1, hi)
        return best

    @staticmethod
    def gap_args_invalid(min_: int, max_: int, size: int) -> bool:
        return min_ > max_ or size == 0 or max_ - min_ < size - 1

    # -- cursor control -----------------------------------------------------
    def set_range(self, first: int, last: int) -> None:
        self.index, self.last, self.mode = first, last, START

    def reset(self) -> None:
        self.mode = START

    def pause(self) -> None:
        self.mode = PAUSE

    # -- predictions (the tree must hold a node: height >= 1) ----------------
    def _commit(self, p):
        if isinstance(p, Pred):
            self.index, self.last, self.mode = p.index, p.last, p.mode
        else:
            self.mode = LIMIT
        return p

    def _base(self, fwd: bool) -> tuple[int, int]:
        """The slot the position stands for: the walked slot from start/pause."""
        if self.mode == ACTIVE:
            return self.index, self.last
        a, b, _ = self.slot(self.index)
        return a, b

    def walk(self) -> Pred:
        a, b, e = self.slot(self.index)
        return self._commit(Pred(e, a, b, ACTIVE))

    def next(self, max_: int, empty: bool = False):
        if self.last >= max_:
            return self._commit(Loose(True, True, max_, empty, unchanged=True))
        _, b = self._base(True)
        if b >= max_:
            return self._commit(Loose(True, True, max_, empty))
        if empty:
            a2, b2, e2 = self.slot(b + 1)
            return self._commit(Pred(e2, a2, b2, ACTIVE))
        r = self.next_entry(b, max_)
        if r is None:
            return self._commit(Loose(True, True, max_))
        return self._commit(Pred(r[2], r[0], r[1], ACTIVE))

    def prev(self, min_: int, empty: bool = False):
        if self.index <= min_:
            return self._commit(Loose(True, False, min_, empty, unchanged=True))
        a, _ = self._base(False)
        if a <= min_:
            return self._commit(Loose(True, False, min_, empty))
        if empty:
            a2, b2, e2 = self.slot(a - 1)
            return self._commit(Pred(e2, a2, b2, ACTIVE))
        r = self.prev_entry(a, min_)
        if r is None:
            return self._commit(Loose(True, False, min_))
        return self._commit(Pred(r[2], r[0], r[1], ACTIVE))

    def find(self, max_: int, empty: bool = False):
        if self.mode == PAUSE:
            if self.last >= max_:
                return self._commit(Pred(None, self.index, self.last, PAUSE))
            self.index = self.last = self.last + 1
            self.mode = START
        if self.mode == ACTIVE:
            if self.last >= max_:
                return self._commit(Pred(None, self.index, self.last, ACTIVE))
            if empty:
                a2, b2, e2 = self.slot(self.last + 1)
                return self._commit(Pred(e2, a2, b2, ACTIVE))
            r = self.next_entry(self.last, max_)
            if r is None:  # stopped on the NULL run after the slot, "ignore overflow"
                a2, b2, _ = self.slot(self.last + 1)
                return self._commit(Pred(None, a2, b2, ACTIVE))
            return self._commit(Pred(r[2], r[0], r[1], ACTIVE))
        assert self.mode == START
        if self.index > max_:
            return self._commit(Pred(None, self.index, self.last, START))
        a, b, e = self.slot(self.index)
        if e is not None:
            return self._commit(Pred(e, a, b, ACTIVE))
        if a == max_:
            return self._commit(Pred(None, a, b, ACTIVE))
        if b >= max_:
            if empty:  # mas_find_range keeps the overflow
                return self._commit(Loose(True, True, max_, True))
            return self._commit(Pred(None, a, b, ACTIVE))
        # a NULL run is always followed by a non-NULL range
        a2, b2, e2 = self.slot(b + 1)
        assert e2 is not None
        return self._commit(Pred(e2, a2, b2, ACTIVE))

    def find_rev(self, min_: int, empty: bool = False):
        if self.mode == PAUSE:
            if self.index <= min_:
                return self._commit(Loose(True, False, min_, empty, unchanged=True))
            self.index = self.last = self.index - 1
            self.mode = START
        if self.mode == ACTIVE:
            if self.index < min_:
                return self._commit(Pred(None, self.index, self.last, ACTIVE))
            if self.index == min_:
                return self._commit(Loose(True, False, min_, empty))
            if empty:
                a2, b2, e2 = self.slot(self.index - 1)
                return self._commit(Pred(e2, a2, b2, ACTIVE))
            r = self.prev_entry(self.index, min_)
            if r is None:
                return self._commit(Loose(True, False, min_))
            return self._commit(Pred(r[2], r[0], r[1], ACTIVE))
        assert self.mode == START
        if self.index < min_:
            return self._commit(Pred(None, self.index, self.last, START))
        a, b, e = self.slot(self.index)
        if e is not None:
            return self._commit(Pred(e, a, b, ACTIVE))
        if a < min_:
            return self._commit(Pred(None, a, b, ACTIVE))
        if a == min_:
            return self._commit(Loose(True, False, min_, empty))
        a2, b2, e2 = self.slot(a - 1)
        assert e2 is not None
        return self._commit(Pred(e2, a2, b2, ACTIVE))

    # -- writes through the cursor ------------------------------------------
    def store(self, entry: Any) -> tuple[Any, Pred]:
        """Apply a cursor store; returns (old entry at index, prediction)."""
        i, l = self.index, self.last
        old = self.slot(i)[2]
        self.ref.store_range(i, l, entry)
        if entry is None:
            a, b, _ = self.slot(i)
            return old, self._commit(Pred(old, a, b, ACTIVE))
        return old, self._commit(Pred(old, i, l, ACTIVE))

    def erase(self) -> Pred:
        a, b, e = self.slot(self.index)
        if e is not None:
            self.ref.store_range(a, b, None)
            a, b, _ = self.slot(a)
        return self._commit(Pred(e, a, b, ACTIVE))
