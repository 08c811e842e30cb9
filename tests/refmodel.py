"""A deliberately dumb reference model of the maple tree's normal API.

The model is a sorted Python list of disjoint ``(first, last, entry)`` tuples
holding every non-NULL range (``ZERO_ENTRY`` ranges included) over the keys
``0 .. 2**64 - 1``.  Every operation is a linear scan or a rebuild of that
list, so each one can be checked by eye against the kernel's documented
semantics (kernel-maple-spec.md sections 1, 5.5, 5.6, 5.8, 6.1):

* ``store_range`` overwrites: overlapped neighbours are truncated or split,
  fully covered ones vanish; ``None`` erases; adjacent equal entries are NOT
  merged (NULL ranges are implicit, so "NULL merging" is automatic here).
* ``insert_range`` fails (``EntryExistsError``) if any key of the range holds
  a non-NULL entry -- ``ZERO_ENTRY`` counts as occupied.
* ``erase(index)`` removes the whole range holding ``index`` and returns its
  entry raw (``ZERO_ENTRY`` included), ``None`` if the index is empty.
* ``load`` hides ``ZERO_ENTRY`` (reads as ``None``).
* ``find(index, max)`` is ``mt_find``: the first range with ``last >= index``
  and ``first <= max`` whose entry is not ``ZERO_ENTRY``; ``None`` when
  ``index > max`` or nothing matches.  ``find_after`` adds the wrap guard
  (``index == 0`` -> ``None``).
* ``next``/``prev`` are ``mt_next``/``mt_prev`` from a fresh state (they may
  return ``ZERO_ENTRY``).  ``prev`` does NOT model the direct-root quirk
  (spec 5.6: a direct root entry is returned even when ``min > 0``); callers
  must special-case a tree whose root is a direct entry.
* iteration and ``len`` skip ``ZERO_ENTRY``.

Argument validation is not modelled: callers pass valid keys (the tests check
the tree's errors separately).
"""
from __future__ import annotations

import itertools

from typing import Any, Iterator, Optional

from maple_tree import ZERO_ENTRY, EntryExistsError

ULONG_MAX = 2**64 - 1

Range = tuple[int, int, Any]


class RefModel:
    """Sorted list of disjoint non-NULL ranges; O(n) per operation."""

    def __init__(self, ranges: Optional[list[Range]] = None) -> None:
        self.ranges: list[Range] = list(ranges or [])
        self.check()

    # -- helpers ---------------------------------------------------------
    def check(self) -> None:
        """Assert the model's own invariants (sorted, disjoint, in range, non-NULL)."""
        prev_last = -1
        for first, last, entry in self.ranges:
            assert 0 <= first <= last <= ULONG_MAX, (first, last)
            assert first > prev_last, self.ranges
            assert entry is not None
            prev_last = last

    def copy(self) -> "RefModel":
        return RefModel(self.ranges)

    def _slot(self, index: int) -> Optional[Range]:
        for r in self.ranges:
            if r[0] <= index <= r[1]:
                return r
        return None

    # -- writes ----------------------------------------------------------
    def store_range(self, first: int, last: int, entry: Any) -> None:
        assert 0 <= first <= last <= ULONG_MAX
        out: list[Range] = []
        for f, l, e in self.ranges:
            if l < first or f > last:
                out.append((f, l, e))
                continue
            if f < first:
                out.append((f, first - 1, e))
            if l > last:
                out.append((last + 1, l, e))
        if entry is not None:
            out.append((first, last, entry))
        out.sort(key=lambda r: r[0])
        self.ranges = out
        self.check()

    def store(self, index: int, entry: Any) -> None:
        self.store_range(index, index, entry)

    def occupied(self, first: int, last: int) -> bool:
        """True if any key of [first, last] holds a non-NULL entry (ZERO counts)."""
        return any(not (l < first or f > last) for f, l, _ in self.ranges)

    def insert_range(self, first: int, last: int, entry: Any, leaf_root_quirk: bool = False) -> None:
        """mtree_insert_range.

        ``leaf_root_quirk``: pass True when the tree's root is a height-1 leaf
        holding more than one slot.  Linux 6.12.117 then lets an insert of
        exactly [0, ULONG_MAX] succeed and overwrite everything: the store type
        is ``wr_new_root`` and ``mas_insert`` skips its occupancy check for
        that type (recorded in the conformance corpus: rnd_edges_f0 ops 15,
        371, 397, 566, 596; rnd_edges_f1 ops 263, 367, 779; at height 2 the
        same insert is a spanning store and fails, rnd_edges_f1 op 482).
        """
        if leaf_root_quirk and first == 0 and last == ULONG_MAX:
            self.store_range(first, last, entry)
            return
        if self.occupied(first, last):
            raise EntryExistsError("model: occupied")
        self.store_range(first, last, entry)

    def insert(self, index: int, entry: Any) -> None:
        self.insert_range(index, index, entry)

    def erase(self, index: int) -> Any:
        """mtree_erase: remove the whole range holding index; its entry, raw."""
        r = self._slot(index)
        if r is None:
            return None
        self.ranges.remove(r)
        return r[2]

    def destroy(self) -> None:
        self.ranges = []

    # -- reads -----------------------------------------------------------
    def load(self, index: int) -> Any:
        r = self._slot(index)
        if r is None or r[2] is ZERO_ENTRY:
            return None
        return r[2]

    def find(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        if index > max:
            return None
        for f, l, e in self.ranges:
            if l >= index and f <= max and e is not ZERO_ENTRY:
                return (f, l, e)
        return None

    def find_after(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        if index == 0:
            return None
        return self.find(index, max)

    def _containing(self, index: int) -> tuple[int, int]:
        """Bounds of the (possibly NULL) range holding index."""
        lo, hi = 0, ULONG_MAX
        for f, l, _ in self.ranges:
            if f <= index <= l:
                return f, l
            if l < index:
                lo = l + 1
            elif f > index:
                hi = f - 1
                break
        return lo, hi

    def next(self, index: int, max: int = ULONG_MAX) -> Optional[Range]:
        """mt_next: first non-NULL range after the one holding index, starting <= max."""
        if index >= max:
            return None
        _, hi = self._containing(index)
        for f, l, e in self.ranges:
            if f > hi:
                return (f, l, e) if f <= max else None
        return None

    def prev(self, index: int, min: int = 0) -> Optional[Range]:
        """mt_prev: last non-NULL range before the one holding index, ending >= min."""
        if index <= min:
            return None
        lo, _ = self._containing(index)
        for f, l, e in reversed(self.ranges):
            if l < lo:
                return (f, l, e) if l >= min else None
        return None

    def items(self) -> list[Range]:
        """What iteration yields: every non-ZERO range, ascending."""
        return [r for r in self.ranges if r[2] is not ZERO_ENTRY]

    def __iter__(self) -> Iterator[Range]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self.items())

    @property
    def empty(self) -> bool:
        return not self.ranges


def insert_quirk_applies(struct: dict) -> bool:
    """True if the tree (as a maple-structure/1 dict) has a height-1 leaf root
    with more than one slot: see RefModel.insert_range(leaf_root_quirk=...)."""
    root = struct["root"]
    return (struct["height"] == 1 and root is not None and "entry" not in root
            and len(root["slots"]) > 1)


# ---------------------------------------------------------------------------
# checks on a maple-structure/1 dict (the format of MapleTree.structure(), see docs/api.md)

def entry_matches(struct_value: Any, entry: Any) -> bool:
    """Does a structure slot value stand for ``entry``?

    Integers are written as themselves, ZERO_ENTRY as "zero", NULL as None.
    Other Python objects have a project-chosen form; only their non-NULL-ness
    and non-"zero"-ness is checked.
    """
    if entry is None:
        return struct_value is None
    if entry is ZERO_ENTRY:
        return struct_value == "zero"
    if type(entry) is int:
        return type(struct_value) is int and struct_value == entry
    return struct_value is not None and struct_value != "zero"


def leaves(struct: dict) -> list[dict]:
    """The leaf node objects of a structure, left to right."""
    out: list[dict] = []

    def rec(node: dict) -> None:
        if node["type"] == "leaf_64":
            out.append(node)
        else:
            for child in node["slots"]:
                rec(child)

    root = struct["root"]
    if root is not None and "entry" not in root:
        rec(root)
    return out


def check_structure(struct: dict, model: RefModel, alloc: bool) -> None:
    """Check a structure against the model and the kernel's shape invariants.

    * the leaf slots, flattened, are exactly the model's ranges with NULL gaps
      between them (so every key maps to the model's entry);
    * no two consecutive NULL slots, also across leaves (NULL merging);
    * a leaf that does not end at ULONG_MAX never ends with NULL;
    * every node's min/max/pivots are consistent with its parent;
    * node types match the flags; no node exceeds its capacity; internal nodes
      of height >= 2 have no NULL children;
    * no non-root node is short (finding 2 of the conformance README:
      leaf/range_64 >= 7 slots, arange_64 >= 5; never violated by 6.12.117);
    * all leaves at the same depth == height;
    * arange_64 gaps equal the largest NULL range under each child.
    """
    height = struct["height"]
    root = struct["root"]
    if root is None:
        assert height == 0, struct
        assert model.empty, ("tree empty but model holds", model.ranges)
        return
    if "entry" in root:
        assert height == 0, struct
        assert len(model.ranges) == 1 and model.ranges[0][:2] == (0, 0), model.ranges
        assert model.ranges[0][2] is not ZERO_ENTRY
        assert entry_matches(root["entry"], model.ranges[0][2]), (root, model.ranges)
        return

    internal_type = "arange_64" if alloc else "range_64"
    cap = {"leaf_64": 16, "range_64": 16, "arange_64": 10}
    min_slots = {"leaf_64": 7, "range_64": 7, "arange_64": 5}
    flat: list[tuple[int, int, Any]] = []

    def rec(node: dict, lo: int, hi: int, depth: int, is_root: bool) -> int:
        """Returns the largest NULL-range size in the subtree (mod 2**64)."""
        t = node["type"]
        assert node["min"] == lo and node["max"] == hi, (node["min"], node["max"], lo, hi)
        piv, slots = node["pivots"], node["slots"]
        assert len(piv) == len(slots) >= 1
        assert len(slots) <= cap[t], (t, len(slots))
        if not is_root:
            assert len(slots) >= min_slots[t], f"short non-root {t} with {len(slots)} slots [{lo},{hi}]"
        assert piv[-1] == hi
        prev = lo - 1
        for p in piv:
            assert p > prev, ("pivots not ascending", piv, lo)
            prev = p
        if t == "leaf_64":
            assert depth == height, ("leaf depth", depth, height)
            start = lo
            best = 0
            for p, v in zip(piv, slots):
                flat.append((start, p, v))
                if v is None:
                    best = max(best, (p - start + 1) & ULONG_MAX)
                start = p + 1
            return best
        assert t == internal_type, (t, internal_type)
        assert depth < height
        if t == "arange_64":
            assert len(node["gaps"]) == len(slots)
        else:
            assert "gaps" not in node or node["gaps"] is None
        start = lo
        best = 0
        for i, (p, child) in enumerate(zip(piv, slots)):
            assert isinstance(child, dict), ("internal slot not a node", child)
            g = rec(child, start, p, depth + 1, False)
            if t == "arange_64":
                assert node["gaps"][i] == g, ("gap", lo, hi, i, node["gaps"][i], g)
            best = max(best, g)
            start = p + 1
        return best

    assert height >= 1
    assert root["min"] == 0 and root["max"] == ULONG_MAX
    rec(root, 0, ULONG_MAX, 1, True)

    # leaf-level invariants
    for a, b in zip(flat, flat[1:]):
        assert not (a[2] is None and b[2] is None), ("adjacent NULL ranges", a[:2], b[:2])
    for leaf in leaves(struct):
        if leaf["max"] != ULONG_MAX:
            assert leaf["slots"][-1] is not None, ("leaf ends in NULL", leaf["min"], leaf["max"])

    # content equality with the model (NULL ranges implicit in the model)
    non_null = [r for r in flat if r[2] is not None]
    assert len(non_null) == len(model.ranges), (
        "range count", [r[:2] for r in non_null], [r[:2] for r in model.ranges])
    for (f, l, v), (mf, ml, me) in zip(non_null, model.ranges):
        assert (f, l) == (mf, ml), ("range bounds", (f, l), (mf, ml))
        assert entry_matches(v, me), ("entry", (f, l), v, me)


class Obj:
    """A distinct, non-int entry for tests (compared by identity)."""

    _ids = itertools.count()

    def __init__(self) -> None:
        self.n = next(Obj._ids)

    def __repr__(self) -> str:
        return f"Obj#{self.n}"
