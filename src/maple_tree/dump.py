"""``mt_dump()``: the kernel's text dump of a tree (spec section 9.2).

:func:`dump_tree` reproduces the layout of ``mt_dump(mt, mt_dump_hex)`` and
``mt_dump(mt, mt_dump_dec)`` line by line, as the userspace test harness
prints it (``%p`` of NULL is ``(nil)``, other pointers ``0x`` + lowercase hex).

Addresses are symbolic but stable: the tree is ``0x10`` and the k-th node of
a depth-first pre-order walk (root first, k = 0, 1, ...) is at
``0x100 * (k + 1)`` (256-byte aligned like kernel nodes).  Encoded values are
built from them as in the kernel:

* child pointer in a node's contents: ``addr | type << 3 | 0x4`` (leaf child
  ``...0c``, range_64 ``...14``, arange_64 ``...1c``); the root pointer of the
  header adds ``0x2`` (``MAPLE_ROOT_NODE``);
* parent: the root's is ``0x10 | 1`` = ``0x11``; another node's is
  ``parent addr | parent_slot << 3 | 0x6``; a dead node's points to itself;
* an int entry ``x`` is the value entry ``x << 1 | 1``; ``ZERO_ENTRY`` is
  ``0x406``, ``InternalEntry(v)`` is ``v << 2 | 2``;
* any other Python object has no address: its ``repr()`` is printed instead.

The ``flags`` of the header are the kernel's ``ma_flags``: ``tree.flags`` with
the height in bits 2..6.  Metadata that the Python nodes do not store is
derived: the slot 15 of a non-full leaf/range_64 node shows its metadata
(``end``, gap offset 0) as a pointer, and the ``| end gap|`` of an arange_64
node uses the kernel's ``ma_max_gap`` offset rule (last offset holding the
largest gap, scanning down from the end).

>>> from maple_tree.node import Node
>>> from maple_tree.constants import LEAF_64, ULONG_MAX
>>> class T:
...     flags, is_alloc, _height = 0, False, 1
...     _root = Node(LEAF_64, [4, 9, ULONG_MAX], [None, 5, None])
>>> print(dump_tree(T()), end="")  # doctest: +NORMALIZE_WHITESPACE
maple_tree(0x10) flags 4, height 1 root 0x10e
0-ffffffffffffffff: node 0x100 depth 0 type 1 parent 0x11 contents: (nil) 4 0xb 9 (nil) FFFFFFFFFFFFFFFF (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 0x2
  0-4: (nil)
  5-9: value 5 (0x5) [0xb]
  a-ffffffffffffffff: (nil)
"""
from __future__ import annotations

from typing import Any

from .constants import ARANGE_64, LEAF_64, MT_FLAGS_HEIGHT_OFFSET, RANGE_64, ULONG_MAX
from .entries import ZERO_ENTRY, InternalEntry, is_reserved
from .errors import InvalidArgumentError, InvalidTypeError
from .node import Node, RootEntry

__all__ = ["dump_tree", "TREE_ADDR", "NODE_ADDR_STEP"]

#: symbolic address of the tree struct
TREE_ADDR = 0x10
#: node k of the pre-order walk is at NODE_ADDR_STEP * (k + 1)
NODE_ADDR_STEP = 0x100

_RANGE64_SLOTS = 16
_ARANGE64_SLOTS = 10
_SPACES = 32  # mt_dump_range's indentation string is 32 spaces long


def dump_tree(tree: Any, fmt: Any = "hex") -> str:
    """The ``mt_dump(tree, mt_dump_hex|mt_dump_dec)`` text of ``tree``, one ``\\n`` per line.

    ``fmt`` is ``"hex"`` (ranges ``%lx``, pivots ``%lX``, gaps ``%lx``) or
    ``"dec"`` (all ``%lu``); anything else raises
    :class:`~maple_tree.errors.InvalidArgumentError`.  Uses ``tree._root``,
    ``tree._height`` and ``tree.flags`` only.  O(nodes * 16).

    >>> class T:
    ...     flags, is_alloc, _height, _root = 0, False, 0, None
    >>> print(dump_tree(T()), end="")
    maple_tree(0x10) flags 0, height 0 root (nil)
    (empty)
    >>> T._root = RootEntry(ZERO_ENTRY)  # a corrupt tree: dumps print what is there
    >>> print(dump_tree(T(), "dec"), end="")
    maple_tree(0x10) flags 0, height 0 root 0x406
    0: zero (257)
    """
    if not isinstance(fmt, str):
        raise InvalidTypeError(f"fmt must be 'hex' or 'dec', not {type(fmt).__name__} {fmt!r}")
    if fmt not in ("hex", "dec"):
        raise InvalidArgumentError(f"fmt must be 'hex' or 'dec', not {fmt!r}")
    hexa = fmt == "hex"
    root = tree._root
    height = tree._height
    addrs = _addresses(root)
    ma_flags = tree.flags | (height << MT_FLAGS_HEIGHT_OFFSET if isinstance(height, int) else 0)
    if isinstance(root, Node):
        root_ptr = _ptr(_enode(root, addrs) | 0x2)
    elif isinstance(root, RootEntry):
        root_ptr = _entry_ptr(root.entry, addrs)
    else:
        root_ptr = _entry_ptr(root, addrs)
    lines = [f"maple_tree({_ptr(TREE_ADDR)}) flags {ma_flags:X}, height {height} root {root_ptr}"]
    if isinstance(root, Node):
        _dump_node(root, 0, ULONG_MAX, 0, hexa, addrs, lines)
    elif isinstance(root, RootEntry):
        lines.append(_range(0, 0, 0, hexa) + _entry_text(root.entry, addrs))
    elif root is not None:
        lines.append(_range(0, 0, 0, hexa) + _entry_text(root, addrs))
    else:
        lines.append("(empty)")
    return "\n".join(lines) + "\n"


# -- addresses and pointer formatting --------------------------------------------------------


def _addresses(root: Any) -> dict[int, int]:
    """id(node) -> symbolic address, in depth-first pre-order (each node once)."""
    addrs: dict[int, int] = {}
    if not isinstance(root, Node):
        return addrs
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in addrs:
            continue
        addrs[id(node)] = NODE_ADDR_STEP * (len(addrs) + 1)
        if node.type != LEAF_64:
            stack.extend(c for c in node.slots[::-1] if isinstance(c, Node))
    return addrs


def _ptr(value: int) -> str:
    """glibc ``%p``: ``(nil)`` for 0, else ``0x`` and lowercase hex."""
    return "(nil)" if value == 0 else f"0x{value:x}"


def _enode(node: Node, addrs: dict[int, int]) -> int:
    """The encoded node pointer ``addr | type << 3 | 0x4`` (``mt_mk_node``)."""
    return addrs.get(id(node), 0) | ((node.type & 0xF) << 3) | 0x4


def _raw_entry(entry: Any, addrs: dict[int, int]) -> int | None:
    """The pointer value of a slot's content, or None if it has none (opaque object)."""
    if entry is None:
        return 0
    if entry.__class__ is InternalEntry:
        return ((entry.value << 2) | 2) & ULONG_MAX
    if isinstance(entry, Node):
        return _enode(entry, addrs)
    if isinstance(entry, int) and not isinstance(entry, bool):
        return ((entry << 1) | 1) & ULONG_MAX
    return None


def _entry_ptr(entry: Any, addrs: dict[int, int]) -> str:
    raw = _raw_entry(entry, addrs)
    return repr(entry) if raw is None else _ptr(raw)


def _entry_text(entry: Any, addrs: dict[int, int]) -> str:
    """What ``mt_dump_entry`` prints after the range."""
    if isinstance(entry, int) and not isinstance(entry, bool):
        return f"value {entry} (0x{entry & ULONG_MAX:x}) [{_entry_ptr(entry, addrs)}]"
    if entry is ZERO_ENTRY:
        return "zero (257)"
    if entry.__class__ is InternalEntry and is_reserved(entry):
        return f"UNKNOWN ENTRY ({_entry_ptr(entry, addrs)})"
    return _entry_ptr(entry, addrs)


def _num(value: int, hexa: bool, upper: bool = False) -> str:
    value &= ULONG_MAX
    if not hexa:
        return str(value)
    return f"{value:X}" if upper else f"{value:x}"


def _range(lo: int, hi: int, depth: int, hexa: bool) -> str:
    """``mt_dump_range``: indentation, then ``min: `` or ``min-max: ``."""
    pad = " " * min(depth * 2, _SPACES)
    if lo == hi:
        return f"{pad}{_num(lo, hexa)}: "
    return f"{pad}{_num(lo, hexa)}-{_num(hi, hexa)}: "


# -- nodes -------------------------------------------------------------------------------------


def _parent_ptr(node: Node, addrs: dict[int, int]) -> str:
    if node.dead:
        return _ptr(addrs.get(id(node), 0))
    parent = node.parent
    if parent is None:
        return _ptr(TREE_ADDR | 1)
    return _ptr(addrs.get(id(parent), 0) | ((node.parent_slot & 0x1F) << 3) | 0x6)


def _slot_view(node: Node, count: int, addrs: dict[int, int]) -> list[str]:
    """The ``count`` raw slots of the kernel node, formatted as ``%p``."""
    slots = node.slots
    out = [_entry_ptr(slots[i], addrs) if i < len(slots) else "(nil)" for i in range(count)]
    if node.type != ARANGE_64 and len(slots) < _RANGE64_SLOTS:
        # not full: slot 15 holds the metadata {end, gap = 0} (little-endian bytes)
        out[_RANGE64_SLOTS - 1] = _ptr(max(len(slots) - 1, 0) & 0xFF)
    return out


def _pivot_view(node: Node, count: int) -> list[int]:
    """The ``count`` stored pivots of the kernel node (0 after the end)."""
    pivots = node.pivots
    return [pivots[i] if i < len(pivots) else 0 for i in range(count)]


def _meta_gap(gaps: list[int], end: int) -> int:
    """``ma_max_gap``'s offset: scanning down from ``end``, the first strictly larger gap."""
    offset, best = end, 0
    for i in range(end, -1, -1):
        if gaps[i] > best:
            best, offset = gaps[i], i
    return offset


def _dump_node(node: Node, lo: int, hi: int, depth: int, hexa: bool,
               addrs: dict[int, int], lines: list[str]) -> None:
    """``mt_dump_node``: the node line, then its entries or children."""
    head = (f"{_range(lo, hi, depth, hexa)}node {_ptr(addrs.get(id(node), 0))} depth {depth} "
            f"type {node.type} parent {_parent_ptr(node, addrs)}")
    if node.type in (LEAF_64, RANGE_64):
        nslots = _RANGE64_SLOTS
        slots = _slot_view(node, nslots, addrs)
        pivots = _pivot_view(node, nslots - 1)
        parts = [head, " contents: "]
    elif node.type == ARANGE_64:
        nslots = _ARANGE64_SLOTS
        slots = _slot_view(node, nslots, addrs)
        pivots = _pivot_view(node, nslots - 1)
        gaps = list(node.gaps or ())[:nslots]
        gaps += [0] * (nslots - len(gaps))
        end = max(len(node.slots) - 1, 0)
        parts = [head, " contents: "]
        parts.extend(f"{_num(g, hexa)} " for g in gaps)
        parts.append(f"| {end & 0xFF:02X} {_meta_gap(gaps, min(end, nslots - 1)):02X}| ")
    else:
        lines.append(head + " UNKNOWN TYPE")
        return
    for i in range(nslots - 1):
        parts.append(f"{slots[i]} {_num(pivots[i], hexa, upper=True)} ")
    parts.append(slots[nslots - 1])
    lines.append("".join(parts))
    _dump_children(node, lo, hi, depth, hexa, addrs, lines, nslots, pivots)


def _dump_children(node: Node, lo: int, hi: int, depth: int, hexa: bool,
                   addrs: dict[int, int], lines: list[str], nslots: int,
                   pivots: list[int]) -> None:
    """The second loop of ``mt_dump_range64`` / ``mt_dump_arange64``."""
    slots = node.slots
    leaf = node.type == LEAF_64
    first = lo
    for i in range(nslots):
        content = slots[i] if i < len(slots) else None
        if i < nslots - 1:
            last = pivots[i]
        elif content is None and (node.type == ARANGE_64 or hi != ULONG_MAX):
            break
        else:
            last = hi
        if last == 0 and i > 0:
            break
        if leaf:
            lines.append(_range(first, last, depth + 1, hexa) + _entry_text(content, addrs))
        elif isinstance(content, Node):
            _dump_node(content, first, last, depth + 1, hexa, addrs, lines)
        elif content is not None:
            lines.append(_range(first, last, depth + 1, hexa) + _entry_text(content, addrs))
        if last == hi:
            break
        if last > hi:
            lines.append(f"node {_ptr(addrs.get(id(node), 0))} last ({_num(last, hexa)}) > "
                         f"max ({_num(hi, hexa)}) at pivot {i}!")
        first = last + 1
