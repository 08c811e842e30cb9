"""Bottom-up building: a whole tree from ranges sorted by key, in one pass.

:func:`build_into` makes an empty tree hold ``(first, last, entry)`` ranges
given in key order, without walking from the root for each range (Peng
Zhang's bulk-building proposal on the maple-tree list; no kernel has it):

1. **read** the ranges once (a generator is consumed once), checking each,
   into two flat lists, the pivot and the slot of every leaf slot in key
   order: a NULL slot in every gap (before the first range, between two
   ranges, after the last), none between adjacent ranges (``last + 1 ==``
   next ``first``), so the leaf level covers ``0..ULONG_MAX`` exactly as
   stores would leave it;
2. **cut** the leaf level into leaves of ``fill`` slots, left to right;
3. **build** each parent level from the level below, until one node is left:
   the root;
4. **install** the root, the height and the node count in the tree.

Nothing touches the tree before step 4, so a bad range (or an exception from
the iterable) leaves it empty.

**Input.** ``first <= last`` are ``int`` keys in ``0..ULONG_MAX`` (int
subclasses are stored as plain ``int``), each range starts after the previous
one ends (sorted, not overlapping).  A range whose entry is ``None`` stores
nothing: it must be in order like the others, but only widens the gap around
it (as ``store_range(first, last, None)`` into that gap would).
``ZERO_ENTRY`` is an ordinary entry that occupies its range; the advanced
internal entries (``RETRY_ENTRY``, ``InternalEntry(v)`` with ``v <= 256``)
are refused, as ``store_range`` refuses them.  Each item is a tuple (any
sequence of three items but a string is accepted).

**Errors** (the message names the item as ``ranges[i]`` and the offending value)::

    InvalidTypeError      ranges not iterable; an item not a 3-item sequence;
                          a key not an int (bool included); fill not an int
    InvalidArgumentError  a key outside 0..ULONG_MAX; first > last; first <=
                          the previous last (unsorted or overlapping); an
                          advanced internal entry; fill outside 8..16; a tree
                          that is not empty

**Shape.** Every tree made here passes the strict ``validate()``
(``exempt_rightmost=False``):

* no ranges (or only ``None`` entries): the tree stays empty; a single entry
  at ``[0, 0]`` that is not an :class:`~maple_tree.entries.InternalEntry`: a
  direct root (height 0); up to 16 leaf slots: a single leaf root; in these
  cases the tree is exactly the one one-by-one stores build (``structure()``
  agrees);
* otherwise each leaf takes ``fill`` slots, one fewer when its last slot
  would be NULL (a leaf other than the last never ends in NULL: the NULL
  moves to the next leaf, which may then start with it), until at most
  ``fill`` slots are left for the last leaf;
* internal nodes (``range_64``, 16 slots; ``arange_64``, 10 slots, with the
  exact max gap of each child, in allocation trees) take
  :func:`internal_fill` children: the same share of their capacity as
  ``fill`` is of 16, so one parameter sets the whole tree;
* on every level, when the last node would keep fewer than the kernel's
  minimum (7 used slots, 5 for ``arange_64``), it and the node before it
  share their slots again: two halves when they hold more than ``fill``
  slots together and both halves keep the minimum (and the left one does not
  end in NULL), else one node (it has room: 16 or 10 slots, and a pair that
  cannot be halved holds at most that many);
* a level that fits in one node is one node, the root; an internal root has
  at least two children.

The contents are those of the same ranges stored one by one (``list(tree)``
and ``==`` agree); beyond one leaf the shapes differ (appending stores fill
each leaf to 16 before splitting it).

**Cost.** O(n) time and two flat lists of the leaf slots beside the nodes;
per range, the loop only checks it and appends to the two lists.  The nodes
made are added to ``tree._nodes_made``.

**Garbage collector.** While the nodes are made (after the last range is
read), Python's cyclic garbage collector is paused and then restored as it
was, also on error: the build makes no garbage, and the collector's full
passes over the growing heap of new nodes and lists took two thirds of the
build time at 10**7 ranges (8 of 13 s).  The pause is process-wide, as any
``gc.disable()``.

**The default fill: 12 of 16 leaf slots** (internal: 12 of 16, 8 of 10).
``benchmarks/fill.py`` builds 1,000,000 ranges at several fills, then grows
the result by 10% (100,000 writes in random order: one-page
``insert_range`` into random gaps of VMA-like ranges; an overwrite turning
one slot into three for dense sequential keys) and counts the nodes those
writes allocate (Python 3.11, x86_64; plain trees unless marked alloc; the
node counts are exact, the times vary by some 20% between runs)::

    VMA-like      build s  nodes    height  leaf %  grow us/op  grow allocs  nodes after
    fill 8        0.30     223,564  7       47.9     3.8              0      223,564
    fill 10       0.27     172,401  6       60.4     4.0            327      172,402
    fill 12       0.25     140,251  6       72.9     4.4         11,400      141,104
    fill 13       0.25     128,305  6       79.2     9.1         54,760      134,109
    fill 14       0.25     118,209  6       85.4    17.0         81,797      137,530
    fill 16       0.25     102,133  6       97.9    30.1        244,143      142,556
    stores        4.45     104,831  6       95.8    22.9        234,689      144,300
    alloc fill 12 0.32     146,928  7       72.9     7.1         11,343      147,857
    alloc fill 16 0.34     106,386  6       97.9    33.6        251,185      151,277
    alloc stores  8.03     110,074  7       95.8    24.2        238,745      153,167

    dense         build s  nodes    height  leaf %  grow us/op  grow allocs  nodes after
    fill 8        0.23     142,857  7       50.0     3.4            183      142,858
    fill 12       0.21      90,912  6       75.0     7.6         39,353       96,353
    fill 13       0.21      83,338  6       81.2    19.9        141,534       99,643
    fill 14       0.20      76,927  6       87.5    10.6        111,079      100,062
    fill 16       0.21      66,670  5      100.0    26.1        232,076      100,331
    stores        3.43      71,432  6       93.7    18.7        232,720      102,756

(``stores``: the same ranges stored one by one into an empty tree.)  The
build costs nearly the same at every fill, 16-25x less than the stores, so
the choice is between a small tree and cheap growth.  Fill 16 makes the fewest
nodes, but the first writes then split nearly every leaf they touch: 10%
growth allocates 2.3-2.5 nodes per write and costs 3-7x more per write than
at fill 12, and ends with *more* nodes than fill 12 has after the same
growth (a split leaves two half-full leaves).  Fill 12 keeps 4 free slots
per leaf (a write adds 1 or 2), so the same growth allocates 6-21x fewer
nodes than at 16, and the grown tree is the smallest of all fills for dense
keys and 5% above the smallest (fill 13) for VMA-like ranges.  Fills below
12 make trees 22-60% bigger for growth that is hardly cheaper; 13 and 14
make 8-16% fewer nodes before growth,
but their growth allocates 3-7x more nodes than at 12 and costs 1.4-4x more
per write.  A tree that will not grow can ask for ``fill=16``.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> build_into(t, [(10 * i, 10 * i + 5, i) for i in range(60)])
>>> t.height, len(t), t.load(425), t.load(427)
(2, 60, 42, None)
>>> t.validate()
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .args import Key, check_entry, check_key, show
from .constants import ARANGE_64, LEAF_64, MT_MIN_SLOTS, MT_SLOTS, RANGE_64, ULONG_MAX
from .core import TreeCore, gc_paused
from .entries import InternalEntry
from .errors import InvalidArgumentError, InvalidTypeError
from .node import Node, RootEntry, count_visible, leaf_max_gap

__all__ = ["build_into", "check_fill", "internal_fill", "DEFAULT_FILL", "FILL_MIN", "FILL_MAX"]

#: the fewest and most slots ``fill`` may ask a leaf to hold: a leaf cut one
#: slot short (so that it does not end in NULL) still keeps the kernel's
#: minimum of 7 used slots, and no node holds more than 16
FILL_MIN: int = MT_MIN_SLOTS[LEAF_64] + 2
FILL_MAX: int = MT_SLOTS[LEAF_64]
#: the measured default (see the module docstring)
DEFAULT_FILL: int = 12

_LEAF_LEAST = MT_MIN_SLOTS[LEAF_64] + 1  # used slots a non-root leaf keeps at least


def check_fill(fill: Any) -> int:
    """Check ``fill``: an ``int`` (not ``bool``) in ``FILL_MIN..FILL_MAX``
    (8..16); return it.  O(1).

    >>> check_fill(12)
    12
    >>> check_fill(20)
    Traceback (most recent call last):
    ...
    maple_tree.errors.InvalidArgumentError: fill 20 is outside 8..16 (slots per leaf)
    """
    if fill.__class__ is not int:
        raise InvalidTypeError(f"fill must be an int, not {type(fill).__name__} {show(fill)}")
    if not FILL_MIN <= fill <= FILL_MAX:
        raise InvalidArgumentError(f"fill {fill} is outside {FILL_MIN}..{FILL_MAX} "
                                   f"(slots per leaf)")
    return int(fill)


def internal_fill(fill: int, node_type: int) -> int:
    """Children per internal node of ``node_type`` for a leaf ``fill``: the
    same share of the node's capacity as ``fill`` is of a leaf's 16 slots,
    rounded to the nearest (so 16 -> 16 / 10, 12 -> 12 / 8, 8 -> 8 / 5), and
    never below the node's minimum.  O(1).

    >>> internal_fill(12, RANGE_64), internal_fill(12, ARANGE_64)
    (12, 8)
    """
    capacity = MT_SLOTS[node_type]
    share = (fill * capacity + FILL_MAX // 2) // FILL_MAX
    return max(MT_MIN_SLOTS[node_type] + 1, min(capacity, share))


# -- reading the ranges --------------------------------------------------------------------


def _unpack(item: Any, index: int) -> tuple[Any, Any, Any]:
    """The three fields of ``ranges[index]`` when it is not a plain 3-tuple:
    any sequence of three items but a string; InvalidTypeError otherwise."""
    if isinstance(item, (str, bytes, bytearray)) or not isinstance(item, Sequence):
        raise InvalidTypeError(f"ranges[{index}] must be a (first, last, entry) tuple, not "
                               f"{type(item).__name__} {show(item)}")
    if len(item) != 3:
        raise InvalidTypeError(f"ranges[{index}] must hold 3 items (first, last, entry), not "
                               f"{len(item)}: {show(item)}")
    first, last, entry = item
    return first, last, entry


def _check_keys(first: Any, last: Any, prev: int, index: int) -> tuple[int, int]:
    """The keys of ``ranges[index]`` when the fast test failed: raise the
    error that names the problem, or return them as plain ints (int subclasses)."""
    first = check_key(first, f"ranges[{index}]: first")
    last = check_key(last, f"ranges[{index}]: last")
    if first > last:
        raise InvalidArgumentError(f"ranges[{index}]: first {first} > last {last}")
    if first <= prev:
        raise InvalidArgumentError(f"ranges[{index}]: first {first} <= previous last {prev} "
                                   f"(ranges must be sorted and not overlap)")
    return first, last


def _refuse(entry: Any, index: int) -> None:
    """Raise for an advanced internal entry (``RETRY_ENTRY``, ``InternalEntry(v)``,
    ``v <= 256``) at ``ranges[index]``; return quietly for any other entry."""
    try:
        check_entry(entry)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"ranges[{index}]: {exc}") from None


def _read(ranges: Iterable[Any]) -> tuple[list[int], list[Any]]:
    """The leaf level of the tree holding ``ranges``, as two flat lists: the
    pivot and the slot of every leaf slot in key order, a NULL slot in every
    gap (before the first range, between ranges, after the last), ``None``
    entries dropped.  Both lists are empty when nothing is stored.  Raises
    on the first bad item.  One pass; O(n)."""
    try:
        items = iter(ranges)
    except TypeError:
        raise InvalidTypeError(f"ranges must be an iterable of (first, last, entry) tuples, "
                               f"not {type(ranges).__name__} {show(ranges)}") from None
    pivots: list[int] = []
    slots: list[Any] = []
    add_pivot = pivots.append
    add_slot = slots.append
    internal = InternalEntry
    prev = -1      # last key of the previous range (None entries included)
    covered = -1   # last key of the last slot appended
    for index, item in enumerate(items):
        if item.__class__ is tuple and len(item) == 3:
            first, last, entry = item
        else:
            first, last, entry = _unpack(item, index)
        if (first.__class__ is not int or last.__class__ is not int or first <= prev
                or first > last or last > ULONG_MAX):
            first, last = _check_keys(first, last, prev, index)
        prev = last
        if entry is None:
            continue  # nothing stored: the range only widens the gap around it
        if entry.__class__ is internal:
            _refuse(entry, index)
        if first != covered + 1:
            add_pivot(first - 1)
            add_slot(None)
        add_pivot(last)
        add_slot(entry)
        covered = last
    if covered >= 0 and covered != ULONG_MAX:
        add_pivot(ULONG_MAX)
        add_slot(None)
    return pivots, slots


# -- cutting a level into nodes -------------------------------------------------------------


def _cuts(count: int, per_node: int, capacity: int, least: int,
          slots: list[Any] | None = None) -> list[int]:
    """Where a level of ``count`` slots is cut into nodes: the end offset
    (exclusive) of each node, left to right.

    A level that fits in one node is one node (the root).  Otherwise each
    node takes ``per_node`` slots, one fewer when its last slot would be
    NULL (``slots`` given: the leaf level), until at most ``per_node`` are
    left for the last node.  When the last node would keep fewer than
    ``least``, the last two nodes share their slots again: two halves when
    both keep ``least`` (and, for leaves, the left one does not end in
    NULL), else one node.  O(count / per_node).

    >>> _cuts(40, 16, 16, 7)
    [16, 32, 40]
    >>> _cuts(35, 16, 16, 7)
    [16, 25, 35]
    """
    if count <= capacity:
        return [count]
    ends: list[int] = []
    pos = 0
    while count - pos > per_node:
        end = pos + per_node
        if slots is not None and slots[end - 1] is None:
            end -= 1  # a leaf other than the last never ends in NULL
        ends.append(end)
        pos = end
    ends.append(count)
    if count - pos >= least:
        return ends
    start = ends[-3] if len(ends) > 2 else 0
    joined = count - start
    del ends[-2:]
    if joined > per_node:
        half = joined // 2
        for left in (half, half + 1, half - 1):
            if (least <= left <= capacity and least <= joined - left <= capacity
                    and (slots is None or slots[start + left - 1] is not None)):
                ends.append(start + left)
                break
    ends.append(count)
    return ends


def _leaves(pivots: list[int], slots: list[Any], ends: list[int],
            alloc: bool) -> tuple[list[Node], list[int], list[int] | None]:
    """The leaves cut at ``ends``, with their maxes and (allocation trees)
    their max gaps.  O(n)."""
    nodes: list[Node] = []
    maxes: list[int] = []
    gaps: list[int] | None = [] if alloc else None
    add_node = nodes.append
    start = 0
    for end in ends:
        add_node(Node(LEAF_64, pivots[start:end], slots[start:end]))
        maxes.append(pivots[end - 1])
        start = end
    if gaps is not None:
        lo = 0
        for leaf, hi in zip(nodes, maxes):
            gaps.append(leaf_max_gap(leaf, lo))
            lo = hi + 1
    return nodes, maxes, gaps


def _parents(children: list[Node], maxes: list[int], gaps: list[int] | None, node_type: int,
             ends: list[int]) -> tuple[list[Node], list[int], list[int] | None]:
    """The internal nodes of ``node_type`` over ``children`` cut at ``ends``,
    with their maxes and (``gaps`` given) their max gaps; the children are
    linked to them.  O(children)."""
    nodes: list[Node] = []
    up_maxes: list[int] = []
    up_gaps: list[int] | None = None if gaps is None else []
    start = 0
    for end in ends:
        kids = children[start:end]
        node = Node(node_type, maxes[start:end], kids,
                    None if gaps is None else gaps[start:end])
        for offset, kid in enumerate(kids):
            kid.parent = node
            kid.parent_slot = offset
        nodes.append(node)
        up_maxes.append(maxes[end - 1])
        if up_gaps is not None and gaps is not None:
            up_gaps.append(max(gaps[start:end]))
        start = end
    return nodes, up_maxes, up_gaps


# -- the builder ------------------------------------------------------------------------------


def build_into(tree: TreeCore, ranges: Iterable[tuple[int, int, Any]],
               fill: Key = DEFAULT_FILL) -> None:
    """Make the empty tree ``tree`` hold ``ranges``: ``(first, last, entry)``
    sorted by ``first`` and not overlapping, built bottom-up with ``fill``
    slots per leaf (8..16; see the module docstring for the rules, the shape
    and the measured default).

    ``ranges`` is iterated once; ``None`` entries store nothing.  ``tree`` is
    a fresh ``MapleTree(flags)`` (its flags choose ``range_64`` or
    ``arange_64`` internal nodes).  On success ``tree`` holds exactly what
    storing the ranges one by one would, passes the strict ``validate()``,
    and its ``_nodes_made`` counts the nodes made.  On any error (see the
    module docstring; also whatever the iterable raises) ``tree`` is left
    empty and unchanged.  O(n) time, never walking from the root.

    >>> from maple_tree import MapleTree, ZERO_ENTRY
    >>> t = MapleTree()
    >>> build_into(t, iter([(0, 9, "a"), (10, 19, None), (20, 29, ZERO_ENTRY),
    ...                     (40, 49, "b")]))
    >>> t.structure()["root"]["pivots"], list(t)
    ([9, 19, 29, 39, 49, 18446744073709551615], [(0, 9, 'a'), (40, 49, 'b')])
    >>> build_into(MapleTree(), [(0, 9, "a"), (5, 7, "b")])
    Traceback (most recent call last):
    ...
    maple_tree.errors.InvalidArgumentError: ranges[1]: first 5 <= previous last 9 (ranges must be sorted and not overlap)
    """
    fill = check_fill(fill)
    if tree._root is not None:
        raise InvalidArgumentError(f"build_into needs an empty tree, not one whose root is "
                                   f"{show(tree._root)}")
    pivots, slots = _read(ranges)
    count = len(slots)
    if not count:
        return  # nothing stored: the tree stays empty
    if (count == 2 and pivots[0] == 0 and slots[1] is None
            and slots[0].__class__ is not InternalEntry):
        tree._root = RootEntry(slots[0])  # one entry at [0, 0]: a direct root, as stores make
        tree._entries = count_visible(slots)
        tree._writes += 1
        return
    with gc_paused():  # see "Garbage collector" in the module docstring
        root, height, made = _build_nodes(pivots, slots, fill, tree._alloc)
    tree._root = root
    tree._height = height
    tree._nodes_made += made
    tree._entries = count_visible(slots)
    tree._writes += 1


def _build_nodes(pivots: list[int], slots: list[Any], fill: int,
                 alloc: bool) -> tuple[Node, int, int]:
    """The nodes over the leaf level ``pivots`` / ``slots``: the root, the
    height and the number of nodes made.  O(n)."""
    leaf_ends = _cuts(len(slots), fill, FILL_MAX, _LEAF_LEAST, slots)
    nodes, maxes, gaps = _leaves(pivots, slots, leaf_ends, alloc)
    made = len(nodes)
    height = 1
    node_type = ARANGE_64 if alloc else RANGE_64
    per_node = internal_fill(fill, node_type)
    capacity = MT_SLOTS[node_type]
    least = MT_MIN_SLOTS[node_type] + 1
    while len(nodes) > 1:
        ends = _cuts(len(nodes), per_node, capacity, least)
        nodes, maxes, gaps = _parents(nodes, maxes, gaps, node_type, ends)
        made += len(nodes)
        height += 1
    return nodes[0], height, made
