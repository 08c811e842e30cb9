"""``maple-structure/1``: the exact shape of a tree as JSON (``docs/structure-format.md``).

``{"height":H,"root":R}`` where ``R`` is ``null`` (empty tree), ``{"entry":V}``
(direct root) or a node ``{"gaps":[...],"max":M,"min":m,"pivots":[...],
"slots":[...],"type":T}`` (``gaps`` only for ``arange_64``).  Two trees have
the same shape iff their :func:`canonical` strings are byte-identical; this is
how the implementation is compared with the kernel recording.

Entry encoding (:func:`entry_to_json` / :func:`entry_from_json`):

=============================  ======================  ===============
Python entry                   JSON                    round trip
=============================  ======================  ===============
``None`` (empty slot)          ``null``                yes
``int`` (not ``bool``)         the integer             yes (int subclasses come back as int)
``ZERO_ENTRY``                 ``"zero"``              yes
``RETRY_ENTRY``, other         ``{"internal": v}``     yes for 256/257 (the named entries);
:class:`InternalEntry` ``v``                           others give a new, equal-valued object
anything JSON-serialisable     ``{"value": obj}``      yes for str, float, dict with str keys,
(``bool``, ``str``, ...)                               lists; tuples come back as lists
anything else                  ``{"repr": repr(obj)}`` **no**: :func:`entry_from_json` refuses it
=============================  ======================  ===============

The reference corpus only stores integers, ``"zero"`` and ``null``.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> t.store_range(5, 9, 100)
>>> s = tree_structure_string(t)
>>> s
'{"height":1,"root":{"max":18446744073709551615,"min":0,"pivots":[4,9,18446744073709551615],"slots":[null,100,null],"type":"leaf_64"}}'
>>> s == canonical(tree_structure(t))
True
>>> tree_structure_string(MapleTree.from_structure(s)) == s
True
"""
from __future__ import annotations

import json
from itertools import repeat
from operator import is_
from typing import Any

from .constants import ARANGE_64, LEAF_64, MAPLE_HEIGHT_MAX, TYPES_BY_NAME, ULONG_MAX
from .core import TreeCore
from .entries import ZERO_ENTRY, InternalEntry
from .errors import InvalidArgumentError
from .node import Node, RootEntry

__all__ = ["tree_structure", "tree_structure_string", "canonical", "entry_to_json",
           "entry_from_json", "root_from_structure", "same_shape"]

_NoneType = type(None)
#: leaf slot types whose JSON form is the Python repr with spaces dropped, None -> null
_PLAIN = frozenset((int, _NoneType))
_INT_ONLY = {int}
_RANGE_TAIL = '],"type":"range_64"}'
_ARANGE_TAIL = '],"type":"arange_64"}'


def canonical(obj: Any) -> str:
    """The canonical JSON string of ``obj``: keys sorted, separators ``,`` and ``:``.

    O(size of obj).

    >>> canonical({"root": None, "height": 0})
    '{"height":0,"root":null}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def entry_to_json(entry: Any) -> Any:
    """The JSON form of a leaf entry (see the module table).  O(1), or O(size) for ``value``.

    >>> from maple_tree import RETRY_ENTRY
    >>> [entry_to_json(e) for e in (None, 7, ZERO_ENTRY, RETRY_ENTRY, True, "a", object)]
    [None, 7, 'zero', {'internal': 256}, {'value': True}, {'value': 'a'}, {'repr': "<class 'object'>"}]
    """
    cls = entry.__class__
    if cls is int or entry is None:
        return entry
    if entry is ZERO_ENTRY:
        return "zero"
    if cls is InternalEntry:
        return {"internal": entry.value}
    if isinstance(entry, int) and cls is not bool:
        return int(entry)
    try:
        json.dumps(entry, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return {"repr": repr(entry)}
    return {"value": entry}


def entry_from_json(value: Any) -> Any:
    """The entry of a JSON form made by :func:`entry_to_json`; InvalidArgumentError otherwise.

    ``{"repr": ...}`` is refused: it does not carry the object.  O(1).

    >>> from maple_tree import RETRY_ENTRY
    >>> [entry_from_json(v) for v in (None, 7, "zero", {"internal": 256}, {"value": "a"})]
    [None, 7, ZERO_ENTRY, RETRY_ENTRY, 'a']
    >>> entry_from_json({"internal": 5})
    InternalEntry(5)
    """
    cls = value.__class__
    if cls is int or value is None:
        return value
    if cls is str and value == "zero":
        return ZERO_ENTRY
    if cls is dict and len(value) == 1:
        if "value" in value:
            return value["value"]
        internal = value.get("internal")
        if internal.__class__ is int:
            return InternalEntry(internal)  # 256 and 257 give the named entries
        if "repr" in value:
            raise InvalidArgumentError(f"entry {value!r} is only a repr, it cannot be rebuilt")
    raise InvalidArgumentError(f"not an entry of maple-structure/1: {value!r}")


# -- tree -> dict --------------------------------------------------------------------------------


def _leaf_slots_json(slots: list[Any]) -> list[Any]:
    if set(map(type, slots)) <= _PLAIN:
        return slots.copy()
    return [entry_to_json(e) for e in slots]


def _node_dict(node: Node, node_min: int) -> dict[str, Any]:
    pivots = node.pivots
    top = pivots[-1] if pivots else None  # (None only for a corrupt, empty node)
    if node.type == LEAF_64:
        return {"max": top, "min": node_min, "pivots": pivots.copy(),
                "slots": _leaf_slots_json(node.slots), "type": "leaf_64"}
    children: list[dict[str, Any]] = []
    append = children.append
    lo = node_min
    for child, pivot in zip(node.slots, pivots):
        append(_node_dict(child, lo))
        lo = pivot + 1
    if node.type == ARANGE_64:
        gaps = node.gaps
        return {"gaps": None if gaps is None else list(gaps), "max": top, "min": node_min,
                "pivots": pivots.copy(), "slots": children, "type": "arange_64"}
    return {"max": top, "min": node_min, "pivots": pivots.copy(), "slots": children,
            "type": "range_64"}


def tree_structure(tree: TreeCore) -> dict[str, Any]:
    """The ``maple-structure/1`` dict of ``tree`` (fresh lists: later writes do not alter it).

    Uses only ``tree._root`` and ``tree._height``.  O(nodes + entries).

    >>> from maple_tree import MapleTree
    >>> tree_structure(MapleTree())
    {'height': 0, 'root': None}
    >>> t = MapleTree(); t.store(0, 5)
    >>> tree_structure(t)
    {'height': 0, 'root': {'entry': 5}}
    """
    root = tree._root
    if root is None:
        rdict = None
    elif isinstance(root, RootEntry):
        rdict = {"entry": entry_to_json(root.entry)}
    else:
        rdict = _node_dict(root, 0)
    return {"height": tree._height, "root": rdict}


# -- tree -> canonical string, directly -----------------------------------------------------------


_NULL_GET = {None: "null"}.get
#: leaf template per slot count: max, min, pivots (%d) and plain slots (%s, None -> "null")
_LEAF_FMT = [""] + ['{"max":%%d,"min":%%d,"pivots":[%s],"slots":[%s],"type":"leaf_64"}'
                    % (",".join(["%d"] * n), ",".join(["%s"] * n)) for n in range(1, 17)]
#: internal node head per slot count: max, min, pivots; then the children follow
_HEAD_FMT = [""] + ['"max":%%d,"min":%%d,"pivots":[%s],"slots":[' % ",".join(["%d"] * n)
                    for n in range(1, 17)]
_GAPS_FMT = [""] + ['{"gaps":[%s],' % ",".join(["%d"] * n) for n in range(1, 17)]


#: Memo of node strings, ``id(node) -> (string, min, pivots copy, slots/gaps copy)``.
#: A hit needs equal content (and, for leaves, only int/None slots, whose equality
#: is exact), so a stale or recycled id can never give a wrong string; it only
#: saves the int formatting that dominates the cost.  Cleared when it grows big.
#: (The one blind spot: a pivot or gap replaced in place by an equal non-int, such
#: as ``True`` for ``1``; only a corrupt tree can hold one.)
_LEAF_MEMO: dict[int, tuple[str, int, list[int], list[Any]]] = {}
_HEAD_MEMO: dict[int, tuple[str, int, list[int], list[int] | None]] = {}
_MEMO_MAX = 1 << 13  # about 10 MB at most


def _leaf_str(node: Node, node_min: int) -> str:
    """Canonical JSON of a leaf whose min is ``node_min``."""
    pivots = node.pivots
    slots = node.slots
    n = len(pivots)
    if not 0 < n <= 16 or not set(map(type, slots)) <= _PLAIN:
        # rare: other entry kinds (or a corrupt node): the generic way
        return canonical({"max": pivots[-1] if pivots else None, "min": node_min,
                          "pivots": pivots,
                          "slots": [entry_to_json(e) for e in slots], "type": "leaf_64"})
    key = id(node)
    memo = _LEAF_MEMO.get(key)
    if memo is not None and memo[1] == node_min and memo[2] == pivots and memo[3] == slots:
        return memo[0]
    if set(map(type, pivots)) != _INT_ONLY:  # corrupt node: let json render it
        return canonical(_node_dict(node, node_min))
    text = _LEAF_FMT[n] % (pivots[-1], node_min, *pivots, *map(_NULL_GET, slots, slots))
    if len(_LEAF_MEMO) >= _MEMO_MAX:
        _LEAF_MEMO.clear()
    _LEAF_MEMO[key] = (text, node_min, pivots.copy(), slots.copy())
    return text


def _head_str(node: Node, node_min: int, n: int) -> str | None:
    """Canonical JSON of an internal node up to the ``[`` opening its children.

    None if the node is malformed (non-int pivots or gaps, wrong gaps length).
    """
    pivots = node.pivots
    gaps = node.gaps
    key = id(node)
    memo = _HEAD_MEMO.get(key)
    if memo is not None and memo[1] == node_min and memo[2] == pivots and memo[3] == gaps:
        return memo[0]
    if set(map(type, pivots)) != _INT_ONLY:
        return None
    if node.type == ARANGE_64:
        if gaps.__class__ is not list or len(gaps) != n or set(map(type, gaps)) != _INT_ONLY:
            return None
        text = (_GAPS_FMT[n] % tuple(gaps)) + (_HEAD_FMT[n] % (pivots[-1], node_min, *pivots))
    else:
        text = "{" + _HEAD_FMT[n] % (pivots[-1], node_min, *pivots)
    if len(_HEAD_MEMO) >= _MEMO_MAX:
        _HEAD_MEMO.clear()
    _HEAD_MEMO[key] = (text, node_min, pivots.copy(), None if gaps is None else gaps.copy())
    return text


def _node_str(node: Node, node_min: int, out: list[str]) -> None:
    """Append the canonical JSON of ``node`` (whose min is ``node_min``) to ``out``."""
    if node.type == LEAF_64:
        out.append(_leaf_str(node, node_min))
        return
    pivots = node.pivots
    slots = node.slots
    n = len(pivots)
    head = _head_str(node, node_min, n) if 0 < n <= 16 and n == len(slots) else None
    if head is None:  # corrupt node: the generic way, still the right bytes
        out.append(canonical(_node_dict(node, node_min)))
        return
    out.append(head)
    lo = node_min
    last = n - 1
    for i in range(n):
        _node_str(slots[i], lo, out)
        if i != last:
            out.append(",")
        lo = pivots[i] + 1
    out.append(_ARANGE_TAIL if node.type == ARANGE_64 else _RANGE_TAIL)


def tree_structure_string(tree: TreeCore) -> str:
    """``canonical(tree_structure(tree))``, built directly (faster, same bytes).

    O(nodes + entries).

    >>> from maple_tree import MapleTree
    >>> t = MapleTree(); t.store(3, ZERO_ENTRY)
    >>> tree_structure_string(t)
    '{"height":1,"root":{"max":18446744073709551615,"min":0,"pivots":[2,3,18446744073709551615],"slots":[null,"zero",null],"type":"leaf_64"}}'
    """
    root = tree._root
    if root is None:
        return f'{{"height":{tree._height},"root":null}}'
    if isinstance(root, RootEntry):
        return (f'{{"height":{tree._height},"root":{{"entry":'
                f'{canonical(entry_to_json(root.entry))}}}}}')
    out = [f'{{"height":{tree._height},"root":']
    _node_str(root, 0, out)
    out.append("}")
    return "".join(out)


# -- dict -> tree --------------------------------------------------------------------------------

_LEAF_KEYS = frozenset(("max", "min", "pivots", "slots", "type"))
_ARANGE_KEYS = _LEAF_KEYS | {"gaps"}


def _bad(path: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"maple-structure/1: {path}: {problem}")


def _int_list(value: Any, path: str, what: str) -> list[int]:
    if value.__class__ is not list or not all(v.__class__ is int for v in value):
        raise _bad(path, f"{what} must be a list of integers, got {value!r}")
    return value.copy()


def _build_node(obj: Any, path: str, lo: int, hi: int, level: int,
                seen_types: set[int]) -> Node:
    """One node (and its subtree) from its dict; checks keys, types, ranges and lengths."""
    if level > MAPLE_HEIGHT_MAX:
        raise _bad(path, f"deeper than MAPLE_HEIGHT_MAX {MAPLE_HEIGHT_MAX}")
    if obj.__class__ is not dict:
        raise _bad(path, f"a node must be an object, got {obj!r}")
    name = obj.get("type")
    type_ = TYPES_BY_NAME.get(name) if name.__class__ is str else None
    if type_ is None:
        raise _bad(path, f"unknown node type {name!r}")
    want_keys = _ARANGE_KEYS if type_ == ARANGE_64 else _LEAF_KEYS
    if obj.keys() != want_keys:
        raise _bad(path, f"{name} node needs keys {sorted(want_keys)}, has {sorted(obj)}")
    if obj["min"] != lo or obj["min"].__class__ is not int:
        raise _bad(path, f"min {obj['min']!r}, expected {lo}")
    if obj["max"] != hi or obj["max"].__class__ is not int:
        raise _bad(path, f"max {obj['max']!r}, expected {hi}")
    pivots = _int_list(obj["pivots"], path, "pivots")
    slots = obj["slots"]
    if slots.__class__ is not list or len(slots) != len(pivots) or not slots:
        raise _bad(path, f"slots must be a non-empty list as long as pivots "
                         f"({len(pivots)}), got {slots!r}")
    seen_types.add(type_)
    gaps = None
    if type_ == ARANGE_64:
        gaps = _int_list(obj["gaps"], path, "gaps")
        if len(gaps) != len(slots):
            raise _bad(path, f"{len(gaps)} gaps for {len(slots)} slots")
    if type_ == LEAF_64:
        entries = [e if e.__class__ is int or e is None else entry_from_json(e) for e in slots]
        return Node(LEAF_64, pivots, entries)
    children = []
    child_min = lo
    for offset, (child_obj, pivot) in enumerate(zip(slots, pivots)):
        child = _build_node(child_obj, f"{path}.slots[{offset}]", child_min, pivot, level + 1,
                            seen_types)
        child.parent_slot = offset
        children.append(child)
        child_min = pivot + 1
    node = Node(type_, pivots, children, gaps)
    for child in children:
        child.parent = node
    return node


def root_from_structure(obj: Any) -> tuple[Node | RootEntry | None, int, bool]:
    """The root, height and whether any node is ``arange_64``, built node for
    node from a ``maple-structure/1`` dict or its JSON string.

    Nodes are built directly (no stores replayed) and their parents set; the
    caller installs them in a tree and validates it
    (:meth:`~maple_tree.tree.MapleTree.from_structure`).  Raises
    :class:`~maple_tree.errors.InvalidArgumentError` for malformed input:
    wrong keys, unknown type names, min/max or pivot lengths that do not
    match, or entries :func:`entry_from_json` refuses.  O(nodes + entries).

    >>> root_from_structure({"height": 0, "root": {"entry": 7}})
    (RootEntry(7), 0, False)
    >>> root_from_structure({"height": 1, "root": 5})
    Traceback (most recent call last):
      ...
    maple_tree.errors.InvalidArgumentError: maple-structure/1: root: a node must be an object, got 5
    """
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise InvalidArgumentError(f"maple-structure/1: not JSON: {exc}") from None
    if obj.__class__ is not dict or obj.keys() != {"height", "root"}:
        raise _bad("top", f"needs exactly the keys height and root, got {obj!r:.200}")
    height = obj["height"]
    if height.__class__ is not int:
        raise _bad("height", f"must be an integer, got {height!r}")
    robj = obj["root"]
    seen_types: set[int] = set()
    root: Node | RootEntry | None
    if robj is None:
        root = None
    elif robj.__class__ is dict and robj.keys() == {"entry"}:
        root = RootEntry(entry_from_json(robj["entry"]))
    else:
        root = _build_node(robj, "root", 0, ULONG_MAX, 1, seen_types)
    return root, height, ARANGE_64 in seen_types


# -- shape comparison ------------------------------------------------------------------------------


def same_shape(a: TreeCore, b: TreeCore) -> bool:
    """Do ``a`` and ``b`` have the same height and, node for node, the same
    types, pivots, gaps and NULL slots?  Entry values are not compared.
    O(nodes).

    >>> from maple_tree import MapleTree
    >>> x, y = MapleTree(), MapleTree()
    >>> x.store_range(3, 4, "a"); y.store_range(3, 4, "b"); same_shape(x, y)
    True
    >>> y.store_range(3, 3, "c"); same_shape(x, y)
    False
    """
    if a._height != b._height:
        return False
    ra, rb = a._root, b._root
    if isinstance(ra, Node) and isinstance(rb, Node):
        return _same_node_shape(ra, rb)
    return ra.__class__ is rb.__class__


def _same_node_shape(a: Node, b: Node) -> bool:
    """The node-for-node comparison of :func:`same_shape`."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x.type != y.type or x.pivots != y.pivots or x.gaps != y.gaps:
            return False
        if x.type == LEAF_64:
            if list(map(is_, x.slots, repeat(None))) != list(map(is_, y.slots, repeat(None))):
                return False
        else:
            stack.extend(zip(x.slots, y.slots))
    return True
