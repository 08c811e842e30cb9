"""Stepping a cursor: ``next``, ``prev``, ``find`` and ``find_rev`` of Linux 6.12.117.

Each cursor read is a *setup* that settles the status (loading the root,
resuming a paused state, leaving ``overflow``/``underflow``, or answering at a
limit without moving), then a *step* from slot to slot:

=================  ===========================  ===========================
call               setup                        step
=================  ===========================  ===========================
``next``           :func:`next_setup`           :func:`next_slot`
``prev``           :func:`prev_setup`           :func:`prev_slot`
``find``           :func:`find_setup`           :func:`find_step`
``find_range``     :func:`find_setup`           :func:`next_slot`
``find_rev``       :func:`find_rev_setup`       :func:`prev_slot`
=================  ===========================  ===========================

A setup returns ``(done, entry)``: ``done`` means the call is answered
(``entry``) without a step.  :func:`guarded` runs the pair and undoes a call
that Linux 6.12.117 would crash on (:class:`~maple_tree.errors.StateError`).
A step that finds the tree written since the state loaded its node walks again
first (:meth:`~maple_tree.cursor.CursorState._rewalk`): forward from the end of
the current range, backward from its start, as ``mas_rewalk_if_dead`` does.

>>> from maple_tree import MapleTree
>>> from maple_tree.cursor import CursorState
>>> t = MapleTree()
>>> for i in range(1, 4):
...     t.store_range(10 * i, 10 * i + 4, i)
>>> c = CursorState(t, 0, 0)
>>> guarded(c, find_setup, find_step, 100, False), (c._index, c._last)
(1, (10, 14))
>>> guarded(c, next_setup, next_slot, 100, False), (c._index, c._last)
(2, (20, 24))
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from .constants import MT_FLAGS_USE_RCU, ULONG_MAX
from .cursor import (
    ACTIVE,
    ERROR,
    NONE,
    OVERFLOW,
    PAUSE,
    ROOT,
    START,
    UNDERFLOW,
    CursorState,
    root_entry,
)
from .errors import StateError
from .node import Node, node_min
from .rcu import leaf_at
from .walk import neighbour

__all__ = ["next_setup", "prev_setup", "find_setup", "find_rev_setup", "next_slot",
           "prev_slot", "find_step", "guarded", "Setup", "Step"]

#: a status setup: ``(state, limit) -> (done, entry)``
Setup = Callable[[CursorState, int], "tuple[bool, Any]"]
#: a step: ``(state, limit, empty) -> entry``
Step = Callable[[CursorState, int, bool], Any]


def guarded(mas: CursorState, setup: Setup, step: Step, limit: int, empty: bool) -> Any:
    """Run ``setup`` then, unless it answered, ``step``.  A state without a
    node is snapshotted first, so that a :class:`StateError` (a call the
    kernel would crash on) leaves it exactly as it was.  A ``root`` state
    whose direct-root tree has since grown nodes walks again first, as a
    state whose node was rewritten does (its status describes a tree that is
    gone)."""
    if mas._node is not None:  # only a state without a node can crash
        done, entry = setup(mas, limit)
        return entry if done else step(mas, limit, empty)
    if mas._status == ROOT and mas._seen != mas._tree._writes and isinstance(
            mas._tree._root, Node):
        # the direct root this status describes has grown into nodes: go on from
        # the slot holding the range, as a state whose node was rewritten does
        mas._rewalk(mas._index if step is prev_slot else mas._last)
        done, entry = setup(mas, limit)
        return entry if done else step(mas, limit, empty)
    snap = mas._snapshot()
    try:
        done, entry = setup(mas, limit)
        return entry if done else step(mas, limit, empty)
    except StateError:
        mas._restore(snap)
        raise


# -- moving between leaves ---------------------------------------------------------------


def _beside_leaf(mas: CursorState, node: Node, limit: int, forward: bool) -> Node | None:
    """``mas_next_node`` / ``mas_prev_node``: move to the leaf after (before)
    ``node``, unless the state's node already reaches the limit or there is
    none: then set ``overflow`` (``underflow``) and return None."""
    if (mas._max >= limit) if forward else (not mas._min or mas._min - 1 < limit):
        mas._status = OVERFLOW if forward else UNDERFLOW
        return None
    if mas._tree._flags & MT_FLAGS_USE_RCU:
        return _beside_leaf_rcu(mas, forward)
    leaf = neighbour(node, forward)
    if leaf is None:
        mas._status = OVERFLOW if forward else UNDERFLOW
        return None
    mas._node = leaf
    if forward:
        mas._min, mas._max, mas._offset = mas._max + 1, leaf.pivots[-1], 0
    else:
        mas._min, mas._max, mas._offset = node_min(leaf), mas._min - 1, leaf.end
    mas._end = leaf.end
    return leaf


def _lost_nodes(mas: CursorState) -> bool:
    """In RCU mode, has another thread's write left the tree without nodes
    (empty, or one entry at 0) since the state loaded its node?  Then there
    is nothing past the state's range to step to: the step ends at the limit
    instead of raising as a misused cursor does outside RCU mode."""
    tree = mas._tree
    return bool(tree._flags & MT_FLAGS_USE_RCU) and not isinstance(tree._root, Node)


def _beside_leaf_rcu(mas: CursorState, forward: bool) -> Node | None:
    """:func:`_beside_leaf` in RCU mode, where a writer in another thread may
    have re-pointed parent links: descend from the root to the key after
    (before) the state's node instead of climbing, and stand on the slot
    holding it with the bounds the descent found."""
    key = mas._max + 1 if forward else mas._min - 1
    found = leaf_at(mas._tree, key)
    if not isinstance(found, tuple):  # the tree lost its nodes meanwhile
        mas._status = OVERFLOW if forward else UNDERFLOW
        return None
    leaf, mas._min, mas._max = found
    mas._node = leaf
    mas._offset = min(bisect_left(leaf.pivots, key), leaf.end)
    mas._end = leaf.end
    return leaf


# -- steps ---------------------------------------------------------------------------------


def next_slot(mas: CursorState, max_: int, empty: bool) -> Any:
    """``mas_next_slot``: the next slot's entry (NULL ranges skipped unless
    ``empty``); None and status ``overflow`` at ``max_``.  O(1) amortised.

    The position is kept in locals and stored back when the step ends: this
    is the cursor's inner loop (``for_each`` runs it once per entry).  Like
    the kernel, it trusts the state's cached ``end``; the one state whose
    cached end may differ from its node's (after ``mas_root_expand``) is in
    the root leaf, whose last pivot ULONG_MAX stops the step at the limit
    before it could read past the node."""
    node = mas._node
    if node is None:
        node = mas._require_node()  # raises
    if mas._seen != mas._tree._writes:  # written meanwhile: from the end of the range
        if _lost_nodes(mas):
            mas._status = OVERFLOW
            return None
        node = mas._rewalk(mas._last)
    pivots = node.pivots
    off = mas._offset
    end = mas._end
    if mas._max >= max_ and (pivots[off] if off < end else mas._max) >= max_:
        mas._status = OVERFLOW
        return None
    if off < end:  # inside the leaf, index and last are only written
        index = pivots[off] + 1
    else:
        if mas._last >= max_:
            mas._status = OVERFLOW
            return None
        nxt = _beside_leaf(mas, node, max_, True)
        if nxt is None:
            return None
        node, pivots, off, end = nxt, nxt.pivots, mas._offset - 1, mas._end
        index = pivots[off] + 1 if off >= 0 else mas._min
    slots = node.slots
    while True:
        off += 1
        last = pivots[off]
        entry = slots[off]
        if entry is not None or empty:
            mas._offset, mas._index, mas._last = off, index, last
            return entry
        if last >= max_:
            mas._offset, mas._index, mas._last = off, index, last
            mas._status = OVERFLOW
            return None
        index = last + 1
        if off >= end:
            mas._offset, mas._index, mas._last = off, index, last
            nxt = _beside_leaf(mas, node, max_, True)
            if nxt is None:
                return None
            node, pivots, slots, off, end = nxt, nxt.pivots, nxt.slots, mas._offset - 1, mas._end
            index = pivots[off] + 1 if off >= 0 else mas._min


def prev_slot(mas: CursorState, min_: int, empty: bool) -> Any:
    """``mas_prev_slot``: the previous slot's entry (NULL ranges skipped
    unless ``empty``); None and status ``underflow`` at ``min_``.  O(1)
    amortised."""
    node = mas._require_node()
    if mas._seen != mas._tree._writes:  # written meanwhile: from the start of the range
        if _lost_nodes(mas):
            mas._status = UNDERFLOW
            return None
        node = mas._rewalk(mas._index)
    pivots = node.pivots
    if mas._min <= min_:
        start = pivots[mas._offset - 1] + 1 if mas._offset else mas._min
        if start <= min_:
            mas._status = UNDERFLOW
            return None
    while True:
        if mas._offset:
            mas._offset -= 1
            mas._last = mas._index - 1
            mas._index = pivots[mas._offset - 1] + 1 if mas._offset else mas._min
        else:
            if mas._index <= min_:
                mas._status = UNDERFLOW
                return None
            prv = _beside_leaf(mas, node, min_, False)
            if prv is None:
                return None
            node = prv
            pivots = node.pivots
            mas._last = pivots[mas._offset]
            mas._index = pivots[mas._offset - 1] + 1 if mas._offset else mas._min
        entry = node.slots[mas._offset]
        if entry is not None or empty:
            return entry
        if mas._index <= min_:
            mas._status = UNDERFLOW
            return None


def find_step(mas: CursorState, max_: int, empty: bool) -> Any:
    """The step of ``mas_find``: :func:`next_slot`, and the state stays
    ``active`` even at the limit ("ignore overflow")."""
    entry = next_slot(mas, max_, empty)
    mas._status = ACTIVE
    return entry


# -- status setups -------------------------------------------------------------------------


def _restore_walk(mas: CursorState) -> Any:
    """Leave ``overflow``/``underflow`` the way 6.12.117 does on the side that
    walks again: mark the state active and walk from the root."""
    mas._status = ACTIVE
    return mas.walk()


def _leave_limit(mas: CursorState, same: int, other: int) -> tuple[bool, Any] | None:
    """The part ``mas_next_setup`` and ``mas_prev_setup`` share: a state at
    the limit of this direction (``same``) is active again; one at the limit
    of the other direction walks again and answers with the entry it finds
    there, if any; an ``error`` state answers None.  None: go on."""
    status = mas._status
    if status == same:
        mas._status = ACTIVE
    elif status == other:
        entry = _restore_walk(mas)
        if entry is not None:
            return True, entry
    elif status == ERROR:
        return True, None
    return None


def next_setup(mas: CursorState, max_: int) -> tuple[bool, Any]:
    """``mas_next_setup``: settle the status before a forward step.

    Answers at once (``done``) when ``last`` is at the limit (``overflow``),
    in status ``error``, or when the tree has no node (``none``/``root``:
    the direct root is behind a forward step).  A state without a node
    (``start``, ``pause``, ``none``) walks to ``index`` first, so the step
    leaves the range holding ``index``; ``underflow`` walks and returns what
    it finds there; ``overflow`` just becomes ``active`` again.
    """
    was_none = mas._status == NONE
    if mas._last >= max_:
        mas._status = OVERFLOW
        return True, None
    status = mas._status
    if status == ACTIVE:
        return False, None
    if status in (NONE, PAUSE, START):
        mas.walk()
    else:
        answer = _leave_limit(mas, OVERFLOW, UNDERFLOW)
        if answer is not None:
            return answer
    if mas._status == ACTIVE:
        return False, None
    if mas._status == ROOT:
        if was_none and mas._index == 0:
            mas._index = mas._last = 0
            return True, None
        mas._index = 1
        mas._last = ULONG_MAX
        mas._status = NONE
        return True, None
    return mas._status == NONE, None


def prev_setup(mas: CursorState, min_: int) -> tuple[bool, Any]:
    """``mas_prev_setup``: settle the status before a backward step.

    Answers at once when ``index`` is at the limit (``underflow``), in status
    ``error``, or on a tree without nodes: there the only entry before any
    index > 0 is the direct root's (status ``root``, range ``[0, 0]``).  A
    paused or ``none`` state walks to ``index`` first; ``overflow`` walks and
    returns what it finds there; ``underflow`` becomes ``active`` again.
    """
    if mas._index <= min_:
        mas._status = UNDERFLOW
        return True, None
    status = mas._status
    if status == ACTIVE:
        return False, None
    if status in (NONE, PAUSE):
        mas._status = START
    else:
        answer = _leave_limit(mas, UNDERFLOW, OVERFLOW)
        if answer is not None:
            return answer
    if mas._status == START:
        mas.walk()
    if mas._status == ROOT:
        if not mas._index:
            mas._status = NONE
            return True, None
        mas._index = mas._last = 0
        return True, root_entry(mas._tree)
    if mas._status == NONE:
        if mas._index:
            mas._index = mas._last = 0
            mas._status = ROOT
            return True, root_entry(mas._tree)
        return True, None
    return False, None


def _walk_first(mas: CursorState, beyond_limit: bool) -> tuple[bool, Any] | None:
    """The first call of a find (status ``start``): None beyond the limit;
    else walk to ``index`` and answer with the entry there, if there is one
    (None: go on)."""
    if beyond_limit:
        return True, None
    entry = mas.walk()
    return (True, entry) if entry is not None else None


def find_setup(mas: CursorState, max_: int) -> tuple[bool, Any]:
    """``mas_find_setup``: settle the status before ``mas_find``.

    The first call (status ``start``) walks to ``index`` and answers with the
    entry there if there is one; a paused state resumes at ``last + 1``;
    ``none`` resumes at ``last``; ``overflow``/``underflow`` walk again and
    answer with what they find; ``active`` steps on.  A direct root is
    behind every index > 0 (status ``none``, range ``[1, ULONG_MAX]``).
    """
    status = mas._status
    if status == ACTIVE:
        return (mas._last >= max_), None
    if status == PAUSE:
        if mas._last >= max_:
            return True, None
        mas._last += 1
        mas._index = mas._last
        mas._status = START
    elif status == NONE:
        if mas._last >= max_:
            return True, None
        mas._index = mas._last
        mas._status = START
    elif status == UNDERFLOW:
        if mas._index >= max_:
            mas._status = OVERFLOW
            return True, None
        entry = _restore_walk(mas)
        if entry is not None:
            return True, entry
    elif status == OVERFLOW:
        if mas._last >= max_:
            return True, None
        entry = _restore_walk(mas)
        if entry is not None:
            return True, entry
    elif status == ERROR:
        return True, None
    if mas._status == START:
        answer = _walk_first(mas, mas._index > max_)
        if answer is not None:
            return answer
    if mas._status == ROOT:
        mas._status = NONE
        mas._index = 1
        mas._last = ULONG_MAX
        return True, None
    if mas._status == NONE:
        return True, None
    if mas._index == max_:
        return True, None
    return False, None


def find_rev_setup(mas: CursorState, min_: int) -> tuple[bool, Any]:
    """``mas_find_rev_setup``: settle the status before ``mas_find_rev``.

    The first call walks to ``index`` and answers with the entry there if
    there is one; a paused state resumes at ``index - 1``; ``none`` resumes
    at ``index``; ``overflow``/``underflow`` become ``active`` unless
    ``index`` is at the limit.  On a tree without nodes the direct root's
    entry is the answer below any index.
    """
    status = mas._status
    if status == ACTIVE:
        return mas._index < min_, None
    if status == PAUSE:
        if mas._index <= min_:
            mas._status = UNDERFLOW
            return True, None
        mas._index -= 1
        mas._last = mas._index
        mas._status = START
    elif status == NONE:
        if mas._index <= min_:
            mas._status = NONE
            return True, None
        mas._last = mas._index
        mas._status = START
    elif status in (OVERFLOW, UNDERFLOW):
        if mas._index <= min_:
            if status == OVERFLOW:
                mas._status = UNDERFLOW
            return True, None
        mas._status = ACTIVE
    elif status == ERROR:
        return True, None
    if mas._status == START:
        answer = _walk_first(mas, mas._index < min_)
        if answer is not None:
            return answer
    if mas._status == ROOT:
        mas._status = NONE
        return True, None
    if mas._status == NONE:
        mas._last = mas._index = 0
        mas._status = ROOT
        return True, root_entry(mas._tree)
    if mas._index < min_:
        return True, None
    return False, None
