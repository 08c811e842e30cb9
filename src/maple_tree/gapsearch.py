"""Gap search: the lowest or highest free run of keys (``mas_empty_area[_rev]``).

In an allocation tree every ``arange_64`` node keeps the largest free gap
under each child, so a search descends only into children whose gap is big
enough: O(log n).  In a plain tree (no gaps) the walk visits every leaf of
the window.  Both searches follow Linux 6.12.117 step by step, including how
a search *continues* from where a previous one stopped (``offset`` rewound by
two slots), which the allocation calls never use.

The walk moves the cursor state itself (node, bounds, offset) with the
window in its ``index``/``last``, as the kernel's does.

>>> from maple_tree import MapleTree, MT_FLAGS_ALLOC_RANGE
>>> from maple_tree.cursor import CursorState
>>> t = MapleTree(MT_FLAGS_ALLOC_RANGE); t.store_range(0, 4095, "low")
>>> c = CursorState(t, 0, 0)
>>> empty_area(c, 0, 2**20 - 1, 4096); (c._index, c._last)
(4096, 8191)
"""
from __future__ import annotations

from collections.abc import Callable

from .constants import EBUSY, LEAF_64, ULONG_MAX
from .cursor import ERROR, NONE, ROOT, START, CursorState
from .errors import BusyError, StateError
from .node import Node
from .walk import parent_position

__all__ = ["empty_area", "empty_area_rev"]

_MOVED = 0   # the walk moved (down a level, or along a node): keep walking
_FOUND = 1   # the state is at the leaf slot of a fit
_BUSY = 2    # nothing fits in the window (EBUSY)
_END = 3     # the walk ran off the end of the tree

#: one step of a search in a node: ``(state, node, size) -> (code, value)``
_Step = Callable[[CursorState, Node, int], "tuple[int, int]"]
#: moving on from a searched node: ``(state, node) -> moved``
_MoveOn = Callable[[CursorState, Node], bool]


def _busy(min_: int, max_: int, size: int) -> BusyError:
    return BusyError(f"no free range of size {size} in [{min_}, {max_}]")


def _node(mas: CursorState) -> Node:
    """The node a search walks from; a search can only go on from a node of
    the tree as it is now."""
    node = mas._node
    if node is None:
        return mas._require_node()  # raises
    if mas._seen != mas._tree._writes:
        raise StateError("the tree was written since this search stopped; reset() the "
                         "state to search again")
    return node


def _ascend(mas: CursorState, node: Node) -> Node:
    """``mas_ascend`` of the state from ``node`` (not the root)."""
    mas._node, mas._min, mas._max, mas._offset = parent_position(node, mas._min)
    return mas._node


def _sparse_area(mas: CursorState, min_: int, max_: int, size: int, fwd: bool) -> None:
    """``mas_sparse_area``: a gap search in an empty or direct-root tree (key
    0 is taken by a direct root)."""
    if mas._status != NONE and min_ == 0:
        min_ += 1
        if min_ > max_ or max_ - min_ + 1 < size:
            raise _busy(min_, max_, size)
    if fwd:
        mas._index = min_
        mas._last = min_ + size - 1
    else:
        mas._last = max_
        mas._index = max_ - size + 1


def _search(mas: CursorState, size: int, step: _Step, move_on: _MoveOn,
            last_node: Node | None) -> tuple[int, int, Node]:
    """The loop both searches share: take ``step`` after step; when one
    leaves the state in the node it has just searched, ``move_on`` to the
    next candidate slot of an ancestor first.  Returns the code and value of
    the last step (``_END`` if there was nowhere to move on to) and the node
    the state is in."""
    node = _node(mas)
    while True:
        code, value = step(mas, node, size)
        moved = mas._node
        assert moved is not None  # the walk goes from node to node
        node = moved
        if code != _MOVED:
            return code, value, node
        if last_node is node:
            if not move_on(mas, node):
                return _END, 0, node
            moved = mas._node
            assert moved is not None
            node = moved
        else:
            last_node = node


# -- lowest fit ----------------------------------------------------------------------------


def _skip_node(mas: CursorState, node: Node) -> bool:
    """``mas_skip_node``: move to the next slot of the nearest ancestor that
    has one; False at the right end of the tree."""
    while True:
        if node.parent is None:
            if mas._offset >= node.end:
                return False
        else:
            node = _ascend(mas, node)
        if mas._offset < node.end:
            break
    mas._offset += 1
    return True


def _anode_descend(mas: CursorState, node: Node, size: int) -> tuple[int, int]:
    """``mas_anode_descend``: one step of the lowest-fit walk in ``node`` from
    ``mas._offset``: go down into the first child (or stop at the first leaf
    slot) with room for ``size`` keys inside the window."""
    pivots = node.pivots
    gaps = node.gaps
    slots = node.slots
    leaf = node.type == LEAF_64
    index, last = mas._index, mas._last
    off = mas._offset
    mn = pivots[off - 1] + 1 if off else mas._min
    end = node.end
    while off <= end:
        pivot = pivots[off]
        if index <= pivot:
            if gaps is not None:
                gap = gaps[off]
            elif slots[off] is None:
                gap = (min(pivot, last) - max(index, mn) + 1) & ULONG_MAX
            else:
                gap = -1
            if gap >= size:
                if leaf:
                    mas._offset = off
                    return _FOUND, 0
                mas._node = slots[off]
                mas._min = mn
                mas._max = pivot
                mas._offset = 0
                return _MOVED, 0
        mn = pivot + 1
        if last <= pivot:
            return _BUSY, 0
        off += 1
    mas._offset = off
    return _MOVED, 0


def empty_area(mas: CursorState, min_: int, max_: int, size: int) -> None:
    """``mas_empty_area``: the lowest free run of ``size`` keys in
    ``[min_, max_]`` (checked by the caller); on success ``index``/``last``
    hold it.  Raises :class:`BusyError` if nothing fits (status ``error``,
    ``index``/``last`` = the window).  O(log n) on allocation trees."""
    if mas._status == START:
        mas._start()
    elif mas._offset >= 2:
        mas._offset -= 2
    elif mas._status == ERROR or not _skip_node(mas, _node(mas)):
        mas._set_error(EBUSY)
        raise _busy(min_, max_, size)
    if mas._status in (NONE, ROOT):
        _sparse_area(mas, min_, max_, size, True)
        return
    mas._index, mas._last = min_, max_
    if mas._status == ERROR:
        raise _busy(min_, max_, size)
    code, _, node = _search(mas, size, _anode_descend, _skip_node, None)
    if code != _FOUND:
        mas._set_error(EBUSY)
        raise _busy(min_, max_, size)
    off = mas._offset
    start = node.pivots[off - 1] + 1 if off else mas._min
    if mas._index < start:
        mas._index = start
    mas._last = mas._index + size - 1
    mas._end = node.end


# -- highest fit ---------------------------------------------------------------------------


def _rewind_node(mas: CursorState, node: Node) -> bool:
    """``mas_rewind_node``: move to the previous slot of the nearest ancestor
    that has one; False at the left end of the tree."""
    while True:
        if node.parent is None:
            slot = mas._offset
            if not slot:
                return False
        else:
            node = _ascend(mas, node)
            slot = mas._offset
        if slot:
            break
    mas._offset = slot - 1
    return True


def _rev_awalk(mas: CursorState, node: Node, size: int) -> tuple[int, int]:
    """``mas_rev_awalk``: one step of the highest-fit walk in ``node`` from
    ``mas._offset`` down: ``(_FOUND, gap max)`` at a leaf slot that fits,
    ``(_MOVED, 0)`` after going down a level (or when the parent must go on),
    ``(_BUSY, 0)`` when nothing fits."""
    pivots = node.pivots
    slots = node.slots
    gaps = node.gaps
    index, last = mas._index, mas._last
    off = mas._offset
    mn = pivots[off - 1] + 1 if off else mas._min
    while last < mn:
        off -= 1
        mn = pivots[off - 1] + 1 if off else mas._min
    mx = pivots[off]
    gap = 0
    while index <= mx:
        gap = 0
        if gaps is not None:
            gap = gaps[off]
        elif slots[off] is None:
            gap = (mx - mn + 1) & ULONG_MAX
        if gap:
            if size <= gap and size <= ((last - mn + 1) & ULONG_MAX):
                break
            if gaps is None:
                if off < 2:
                    return _rev_ascend(node)
                off -= 2
                mx = pivots[off]
                mn = pivots[off - 1] + 1 if off else mas._min
                continue
        if not off:
            return _rev_ascend(node)
        off -= 1
        mx = mn - 1
        mn = pivots[off - 1] + 1 if off else mas._min
    if index > mx or size - 1 > mx - index:
        return _BUSY, 0
    if node.type == LEAF_64:
        mas._offset = off
        return _FOUND, mn + gap - 1
    child: Node = slots[off]
    mas._node = child
    mas._min = mn
    mas._max = mx
    mas._offset = child.end
    return _MOVED, 0


def _rev_ascend(node: Node) -> tuple[int, int]:
    """The end of a node's slots in the highest-fit walk: the parent goes on,
    but at the root nothing fits."""
    return (_MOVED, 0) if node.parent is not None else (_BUSY, 0)


def empty_area_rev(mas: CursorState, min_: int, max_: int, size: int) -> None:
    """``mas_empty_area_rev``: the highest free run of ``size`` keys in
    ``[min_, max_]`` (checked by the caller); same contract as
    :func:`empty_area`."""
    last_node = mas._node
    if mas._status == START:
        mas._start()
    elif mas._offset < 2 and (mas._status == ERROR or not _rewind_node(mas, _node(mas))):
        raise _busy(min_, max_, size)
    if mas._status in (NONE, ROOT):
        _sparse_area(mas, min_, max_, size, False)
        return
    node = _node(mas)
    mas._offset = mas._offset - 2 if mas._offset >= 2 else node.end
    mas._index, mas._last = min_, max_
    code, gap_max, node = _search(mas, size, _rev_awalk, _rewind_node, last_node)
    if code == _END:  # (6.12.117 leaves the status as it is here)
        raise _busy(min_, max_, size)
    if code == _BUSY:
        mas._set_error(EBUSY)
        raise _busy(min_, max_, size)
    if gap_max < mas._last:
        mas._last = gap_max
    mas._index = mas._last - size + 1
    mas._end = node.end
