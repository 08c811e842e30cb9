"""Tree validation: the kernel's ``mt_validate()`` checks plus the extras it omits.

:func:`validate_tree` walks the whole tree once and raises
:class:`~maple_tree.errors.TreeCorruptError` at the first broken invariant.
The message names the node by its path from the root (``root``,
``root.slots[1]``, ``root.slots[1].slots[6]``, ...), its type and range, and
the offending offset, e.g.::

    root.slots[1] (leaf_64 [9, 18446744073709551615]) offset 3: pivot 7 not above previous pivot 12

Checks, in the order they run (spec section 9.1 and its list of extras):

1. root form and height: an empty tree (``_root is None``) and a direct root
   (:class:`~maple_tree.node.RootEntry`) have height 0; a direct root holds an
   entry that is not ``None``, not an internal entry (any
   :class:`~maple_tree.entries.InternalEntry`, ``ZERO_ENTRY`` included: its low
   bits ``10`` forbid the direct form); a node root has no parent and
   ``1 <= height <= MAPLE_HEIGHT_MAX``;
2. the walk: every node reached once (no node twice, no cycle); node shape:
   ``len(pivots) == len(slots) == end + 1``, ``1 <= count <= capacity`` (16,
   or 10 for ``arange_64``), ``gaps`` a list of that length for ``arange_64``
   and ``None`` otherwise;
3. all leaves at the same depth, and that depth is the tree height;
4. per node: not dead; type known, ``leaf_64`` exactly at the leaf level and
   the internal type of the tree flags (``arange_64`` iff ``tree.is_alloc``)
   above it; pivots: no 0 at an offset > 0, strictly ascending, within
   ``[node min, node max]``, last pivot == node max (the parent's pivot for
   that slot; ``ULONG_MAX`` for the root); occupancy: a non-root node has
   ``end >= MT_MIN_SLOTS[type]`` (6 for leaf/range_64, 4 for arange_64) --
   nodes whose max is ``ULONG_MAX`` are exempt when ``exempt_rightmost`` (the
   kernel's rule, needed after bulk mode); children: every internal slot a
   :class:`~maple_tree.node.Node` whose ``parent`` is this node and whose
   ``parent_slot`` is the offset; an internal root has at least 2 children
   (a leaf's slots are entries, whatever their class: any object but
   ``None`` may be stored, the package's own classes included);
5. leaf level, in key order: no two consecutive ``None`` slots, also across
   leaf boundaries; a leaf whose max is not ``ULONG_MAX`` does not end in
   ``None``;
6. gaps (``tree.is_alloc`` only): every ``arange_64`` ``gaps[i]`` equals the
   child's max gap exactly (:func:`~maple_tree.node.leaf_max_gap`, the
   kernel's ``mas_leaf_max_gap`` formula, for leaf children; the largest
   stored gap for ``arange_64`` children); for a leaf whose max is not
   ``ULONG_MAX`` the kernel formula also equals its largest ``None`` range
   (``mt_validate`` itself counts every ``None`` slot).

Every check is O(size of the node), so a validation is O(nodes) in total.
Entries are compared by identity only: an entry's own ``__eq__`` is never
called.

>>> from maple_tree.node import Node, RootEntry
>>> from maple_tree.constants import LEAF_64, ULONG_MAX
>>> class T:  # validate_tree needs only these four attributes
...     flags, is_alloc, _height = 0, False, 1
...     _root = Node(LEAF_64, [4, 9, ULONG_MAX], [None, "a", None])
>>> validate_tree(T())
>>> T._root.pivots[1] = 2
>>> validate_tree(T())
Traceback (most recent call last):
  ...
maple_tree.errors.TreeCorruptError: root (leaf_64 [0, 18446744073709551615]) offset 1: pivot 2 not above previous pivot 4
"""
from __future__ import annotations

from itertools import chain, compress, islice, repeat
from operator import is_, lt, sub
from typing import Any

from .constants import (
    ARANGE_64,
    LEAF_64,
    MAPLE_HEIGHT_MAX,
    MT_MIN_SLOTS,
    MT_SLOTS,
    RANGE_64,
    TYPE_NAMES,
    ULONG_MAX,
)
from .entries import ZERO_ENTRY, InternalEntry
from .errors import TreeCorruptError
from .node import Node, RootEntry, leaf_entries, leaf_max_gap, node_max_gap

__all__ = ["validate_tree"]

#: one walked node: (node, path, min, max, level); level 1 is the root
_Info = tuple[Node, str, int, int, int]
_INT_ONLY = {int}


def validate_tree(tree: Any, *, exempt_rightmost: bool = True) -> None:
    """Check every structural invariant of ``tree``; raise on the first broken one.

    ``tree`` needs only ``_root``, ``_height``, ``flags`` and ``is_alloc``;
    its ``_entries`` count, where it has one, must equal the leaves' count.
    ``exempt_rightmost=True`` (the default, the kernel's rule) skips the
    minimum-occupancy check for nodes whose max is ``ULONG_MAX``; bulk mode
    leaves such nodes short.  ``exempt_rightmost=False`` is the strict check
    that every tree built outside bulk mode passes (conformance finding 2).

    Returns ``None``; raises :class:`~maple_tree.errors.TreeCorruptError` with
    a message naming the node path, type, range and offset.  O(nodes).

    >>> from maple_tree.node import Node
    >>> from maple_tree.constants import LEAF_64, ULONG_MAX
    >>> class T:
    ...     flags, is_alloc, _height = 0, False, 1
    ...     _root = Node(LEAF_64, [ULONG_MAX], ["a"])
    >>> validate_tree(T())
    >>> T._height = 2
    >>> validate_tree(T())
    Traceback (most recent call last):
      ...
    maple_tree.errors.TreeCorruptError: root (leaf_64 [0, 18446744073709551615]) offset 0: tree height is 2 but the leaves are at depth 1
    """
    root = tree._root
    _check_root_form(tree)
    if not isinstance(root, Node):
        _check_entry_count(tree, [] if root is None or root.entry is ZERO_ENTRY else [1])
        return  # empty tree or direct root: nothing more to check
    infos = _walk(root)
    _check_depths(tree, infos)
    is_alloc = bool(tree.is_alloc)
    for info in infos:
        node = info[0]
        _check_dead(info)
        _check_type(info, tree._height, is_alloc)
        _check_pivots(info)
        _check_occupancy(info, exempt_rightmost)
        if node.type != LEAF_64:
            _check_children(info)
    _check_root_children(infos[0])
    leaves = [info for info in infos if info[0].type == LEAF_64]
    _check_nulls(leaves)
    if is_alloc:
        for info in reversed(infos):  # children before parents, as the kernel's post-order
            if info[0].type == ARANGE_64:
                _check_parent_gaps(info)
        for info in leaves:
            _check_leaf_gap_formula(info)
    _check_entry_count(tree, [leaf_entries(info[0]) for info in leaves])


# -- helpers -------------------------------------------------------------------------------

def _check_entry_count(tree: Any, per_leaf: list[int]) -> None:
    """The tree's kept count of visible ranges (what ``len()`` answers)
    equals the sum of ``per_leaf``, the counts in its leaves."""
    kept = getattr(tree, "_entries", None)
    if kept is None:
        return
    counted = sum(per_leaf)
    if kept != counted:
        raise TreeCorruptError(f"root: the tree counts {kept} entries, its leaves hold {counted}")



def _fail(info: _Info, offset: int, problem: str) -> TreeCorruptError:
    """The error for ``problem`` at ``offset`` of the walked node ``info``."""
    node, path, lo, hi, _level = info
    name = TYPE_NAMES.get(node.type, f"type {node.type!r}")
    return TreeCorruptError(f"{path} ({name} [{lo}, {hi}]) offset {offset}: {problem}")


# -- 1. root form ----------------------------------------------------------------------------


def _check_root_form(tree: Any) -> None:
    """Root form consistent with the height; a node root has no parent."""
    root = tree._root
    height = tree._height
    if root is None:
        if height != 0:
            raise TreeCorruptError(f"root: empty tree (root None) has height {height}, not 0")
        return
    if isinstance(root, RootEntry):
        if height != 0:
            raise TreeCorruptError(f"root: direct root entry with height {height}, not 0")
        entry = root.entry
        if entry is None:
            raise TreeCorruptError("root: direct root entry is None (an empty tree has root None)")
        if entry.__class__ is InternalEntry:
            raise TreeCorruptError(f"root: direct root holds the internal entry {entry!r}")
        return
    if not isinstance(root, Node):
        raise TreeCorruptError(f"root: unknown root object {root!r}")
    info = (root, "root", 0, ULONG_MAX, 1)
    if root.parent is not None:
        raise _fail(info, 0, f"root node has a parent {root.parent!r}")
    if not isinstance(height, int) or not 1 <= height <= MAPLE_HEIGHT_MAX:
        raise _fail(info, 0, f"tree height {height!r} invalid for a node root "
                             f"(1..{MAPLE_HEIGHT_MAX})")


# -- 2. walk and node shape -------------------------------------------------------------------


def _walk(root: Node) -> list[_Info]:
    """All nodes in DFS pre-order (so leaves come in key order), with bounds and paths.

    Checks on the way what the walk itself relies on: node shape (lists of
    equal length, count within capacity, gaps list for arange_64 only) and
    that no node is reached twice (which also rules out cycles).
    """
    out: list[_Info] = []
    seen: dict[int, str] = {}
    stack: list[_Info] = [(root, "root", 0, ULONG_MAX, 1)]
    while stack:
        info = stack.pop()
        node, path, lo, hi, level = info
        key = id(node)
        if key in seen:
            raise _fail(info, node.parent_slot, f"node already reached as {seen[key]}")
        seen[key] = path
        if level > MAPLE_HEIGHT_MAX:
            raise _fail(info, 0, f"node at depth {level} > MAPLE_HEIGHT_MAX {MAPLE_HEIGHT_MAX}")
        _check_shape(info)
        out.append(info)
        if node.type == LEAF_64:
            continue
        children = []
        child_min = lo
        pivots = node.pivots
        for offset, child in enumerate(node.slots):
            child_max = pivots[offset]
            if isinstance(child, Node):
                children.append((child, f"{path}.slots[{offset}]", child_min, child_max,
                                 level + 1))
            child_min = child_max + 1
        children.reverse()
        stack.extend(children)
    return out


def _check_shape(info: _Info) -> None:
    """Lists of equal length, 1 <= count <= capacity, gaps only (and exactly) for arange_64."""
    node = info[0]
    pivots, slots, gaps = node.pivots, node.slots, node.gaps
    if not isinstance(pivots, list) or not isinstance(slots, list):
        raise _fail(info, 0, "pivots and slots must be lists")
    if len(pivots) != len(slots):
        raise _fail(info, min(len(pivots), len(slots)),
                    f"{len(pivots)} pivots but {len(slots)} slots")
    if node.end != len(pivots) - 1:
        raise _fail(info, 0, f"end {node.end!r} but {len(pivots)} used slots")
    if set(map(type, pivots)) != _INT_ONLY:
        for offset, pivot in enumerate(pivots):
            if pivot.__class__ is not int:
                raise _fail(info, offset, f"pivot {pivot!r} is not an int")
    capacity = MT_SLOTS.get(node.type, 0)
    if not slots:
        raise _fail(info, 0, "node has no slots")
    if capacity and len(slots) > capacity:
        raise _fail(info, capacity, f"{len(slots)} slots exceed the capacity {capacity}")
    if node.type == ARANGE_64:
        if not isinstance(gaps, list) or len(gaps) != len(slots):
            raise _fail(info, 0, f"arange_64 needs {len(slots)} gaps, has {gaps!r}")
        if set(map(type, gaps)) != _INT_ONLY:
            for offset, gap in enumerate(gaps):
                if gap.__class__ is not int:
                    raise _fail(info, offset, f"gap {gap!r} is not an int")
    elif gaps is not None:
        raise _fail(info, 0, f"gaps {gaps!r} on a node that is not arange_64")


# -- 3. depths --------------------------------------------------------------------------------


def _check_depths(tree: Any, infos: list[_Info]) -> None:
    """All leaves at one depth, and that depth is the tree height."""
    leaves = [info for info in infos if info[0].type == LEAF_64]
    if not leaves:
        return  # the per-node type check reports the missing leaf level
    depth = leaves[0][4]
    for info in leaves:
        if info[4] != depth:
            raise _fail(info, 0, f"leaf at depth {info[4]}, but the first leaf "
                                 f"{leaves[0][1]} is at depth {depth}")
    if tree._height != depth:
        raise _fail(leaves[0], 0, f"tree height is {tree._height} but the leaves are at "
                                  f"depth {depth}")


# -- 4. per node ------------------------------------------------------------------------------


def _check_dead(info: _Info) -> None:
    """No reachable node is dead."""
    if info[0].dead:
        raise _fail(info, info[0].parent_slot, "node is dead")


def _check_type(info: _Info, height: int, is_alloc: bool) -> None:
    """leaf_64 exactly at the leaf level; internal nodes of the tree's internal type."""
    node, _path, _lo, _hi, level = info
    if node.type not in TYPE_NAMES:
        raise _fail(info, 0, f"unknown node type {node.type!r}")
    if level == height:
        if node.type != LEAF_64:
            raise _fail(info, 0, f"{TYPE_NAMES[node.type]} node at the leaf level "
                                 f"(depth {level} == height)")
        return
    want = ARANGE_64 if is_alloc else RANGE_64
    if node.type != want:
        raise _fail(info, 0, f"internal node of type {TYPE_NAMES[node.type]} in a tree whose "
                             f"flags need {TYPE_NAMES[want]}")


def _check_pivots(info: _Info) -> None:
    """No pivot 0 after offset 0; strictly ascending; within [min, max]; last == max."""
    _node, _path, lo, hi, _level = info
    pivots = info[0].pivots
    if pivots[0] >= lo and pivots[-1] == hi and all(map(lt, pivots, islice(pivots, 1, None))):
        return  # fast path: ascending from >= min up to max (so no 0 after offset 0)
    prev = None
    for offset, pivot in enumerate(pivots):
        if pivot == 0 and offset > 0:
            raise _fail(info, offset, "pivot 0 at an offset > 0 (missing node limit pivot)")
        if prev is not None and pivot <= prev:
            raise _fail(info, offset, f"pivot {pivot} not above previous pivot {prev}")
        if pivot < lo or pivot > hi:
            raise _fail(info, offset, f"pivot {pivot} outside the node range [{lo}, {hi}]")
        prev = pivot
    if pivots[-1] != hi:
        raise _fail(info, info[0].end, f"last pivot {pivots[-1]} != node max {hi}")


def _check_occupancy(info: _Info, exempt_rightmost: bool) -> None:
    """A non-root node keeps end >= MT_MIN_SLOTS[type] (max == ULONG_MAX may be exempt)."""
    node, _path, _lo, hi, level = info
    if level == 1 or (exempt_rightmost and hi == ULONG_MAX):
        return
    need = MT_MIN_SLOTS[node.type]
    if node.end < need:
        raise _fail(info, node.end, f"short node: end {node.end} < minimum {need} "
                                      f"({len(node.slots)} slots)")


def _check_children(info: _Info) -> None:
    """Every internal slot is a Node whose parent is this node and parent_slot the offset."""
    node = info[0]
    for offset, child in enumerate(node.slots):
        if not isinstance(child, Node):
            raise _fail(info, offset, f"internal slot holds {child!r}, not a node")
        if child.parent is not node:
            raise _fail(info, offset, f"child's parent pointer is {child.parent!r}, "
                                      f"not this node")
        if child.parent_slot != offset:
            raise _fail(info, offset, f"child's parent_slot is {child.parent_slot!r}, "
                                      f"not {offset}")


def _check_root_children(root_info: _Info) -> None:
    """An internal root has at least two children (a one-child level is collapsed)."""
    root = root_info[0]
    if root.type != LEAF_64 and len(root.slots) < 2:
        raise _fail(root_info, 0, "internal root with a single child")


# -- 5. NULL runs ------------------------------------------------------------------------------


def _has_null(slots: list[Any]) -> bool:
    """Is any slot None?  By identity: entries' own ``__eq__`` is never called."""
    return any(map(is_, slots, repeat(None)))


def _check_nulls(leaves: list[_Info]) -> None:
    """No two consecutive None slots (across leaves too); only the last leaf may end in None.

    ``leaves`` must be in key order (the walk's pre-order).
    """
    pending: _Info | None = None  # previous leaf, if it ends in None
    for info in leaves:
        slots = info[0].slots
        if pending is None and not _has_null(slots):
            continue
        if pending is not None:
            if slots[0] is None:
                raise _fail(info, 0, f"two consecutive NULL slots: this one and "
                                     f"{pending[1]} offset {pending[0].end}")
            raise _fail(pending, pending[0].end,
                        "leaf ends in NULL but is not the rightmost leaf")
        prev_null = False
        for offset, entry in enumerate(slots):
            if entry is None:
                if prev_null:
                    raise _fail(info, offset, f"two consecutive NULL slots "
                                              f"(offsets {offset - 1} and {offset})")
                prev_null = True
            else:
                prev_null = False
        if prev_null and info[3] != ULONG_MAX:
            pending = info
    if pending is not None:
        raise _fail(pending, pending[0].end, "leaf ends in NULL but is not the rightmost leaf")


# -- 6. gaps -------------------------------------------------------------------------------------


def _check_parent_gaps(info: _Info) -> None:
    """Every gaps[i] of an arange_64 node equals the max gap of child i."""
    node, _path, lo, _hi, _level = info
    gaps = node.gaps or []  # (_check_shape made sure an arange_64 node has them)
    child_min = lo
    for offset, child in enumerate(node.slots):
        expect = node_max_gap(child, child_min)
        if gaps[offset] != expect:
            raise _fail(info, offset, f"gap {gaps[offset]} != child's max gap {expect}")
        child_min = node.pivots[offset] + 1


def _largest_null_range(leaf: Node, lo: int) -> tuple[int, int]:
    """(size, offset) of the largest None range of a leaf (size 0 / offset 0 if none)."""
    best, best_off = 0, 0
    start = lo
    for offset, (pivot, entry) in enumerate(zip(leaf.pivots, leaf.slots)):
        if entry is None and pivot - start + 1 > best:
            best, best_off = pivot - start + 1, offset
        start = pivot + 1
    return best, best_off


def _check_leaf_gap_formula(info: _Info) -> None:
    """A leaf not ending at ULONG_MAX: the kernel gap formula == its largest NULL range."""
    leaf, _path, lo, hi, level = info
    if hi == ULONG_MAX or level == 1 or not _has_null(leaf.slots):
        return  # (without NULL slots both are 0)
    kernel = leaf_max_gap(leaf, lo)
    pivots = leaf.pivots
    sizes = map(sub, pivots, chain((lo - 1,), pivots))  # slot i covers pivots[i] - start + 1
    if kernel == max(compress(sizes, map(is_, leaf.slots, repeat(None))), default=0):
        return
    plain, offset = _largest_null_range(leaf, lo)
    if kernel != plain:
        raise _fail(info, offset, f"kernel leaf gap formula gives {kernel} but the largest "
                                  f"NULL range is {plain}")
