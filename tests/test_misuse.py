"""Misuse of the public API: "must not happen again".

Each section is a contract the library must keep whatever the caller does
wrong.  A refused call raises a :class:`MapleError` subclass (never a plain
``TypeError``, ``IndexError`` or ``AttributeError``) and leaves the tree
unchanged; a call that the kernel forbids but Python cannot prevent (writing
the tree under a live cursor) gives the answer a fresh cursor would give.

1. ``MaState.index`` / ``.last`` assignment is checked like every other key;
   a state with ``index > last`` is refused by the next write or search.
2. A cursor whose tree was written through another path (no ``pause()``)
   walks again to the end (start, going backwards) of the range it was on and
   steps on from there, or raises ``StateError`` if the tree has no node left.
3. The package's own classes (``Node``, ``RootEntry``) are ordinary entries.
4. ``InternalEntry`` checks its value; advanced values (<= 256) are refused
   by stores, reserved ones (pointer < 4096, i.e. value < 1024) by the
   allocation calls.
5. Every argument error names the parameter and the bad value.
6. A state machine interleaving random misuse with valid writes, checked
   against the reference model.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from maple_tree import (MT_FLAGS_ALLOC_RANGE, RETRY_ENTRY, ULONG_MAX, ZERO_ENTRY,
                        EntryExistsError, InternalEntry, InvalidArgumentError, InvalidTypeError,
                        MapleError, MapleTree, MaState, StateError)
from maple_tree.node import Node, RootEntry

from machines import machine_case
from refmodel import Obj, RefModel, check_structure, insert_quirk_applies

M = ULONG_MAX
FLAGS = [0, MT_FLAGS_ALLOC_RANGE]
FLAG_IDS = ["f0", "alloc"]


def snapshot(t: MapleTree) -> tuple:
    """What "the tree is unchanged" compares: exact shape and visible content."""
    return t.structure(), list(t)


def big_tree(flags: int = 0, n: int = 300) -> MapleTree:
    """The test tree: ``[10 i, 10 i + 5] -> i`` for ``i < n`` (height >= 2 for n >= 100)."""
    t = MapleTree(flags)
    for i in range(n):
        t.store_range(10 * i, 10 * i + 5, i)
    return t


def same_entry(a, b) -> bool:
    return a is b or (type(a) is int and type(b) is int and a == b)


# ===========================================================================
# 1. cursor fields

BAD_TYPE_FIELD = [True, False, 15.5, "15", None, b"15", [15]]
BAD_VALUE_FIELD = [-1, -2**64, 2**64, 2**64 + 5, 2**70]


BAD_FIELD = ([(v, InvalidTypeError) for v in BAD_TYPE_FIELD]
             + [(v, InvalidArgumentError) for v in BAD_VALUE_FIELD])


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("field", ["index", "last"])
@pytest.mark.parametrize("value,exc", BAD_FIELD, ids=lambda x: getattr(x, "__name__", repr(x)))
def test_field_assignment_refused(flags, field, value, exc):
    """A non-int (InvalidTypeError) or an int outside 0..ULONG_MAX
    (InvalidArgumentError) is refused at the assignment, changing nothing."""
    t = big_tree(flags)
    mas = MaState(t, 15)
    assert mas.find() == 1
    before = snapshot(t)
    old = (mas.index, mas.last)
    with pytest.raises(exc):
        setattr(mas, field, value)
    assert (mas.index, mas.last) == old
    assert snapshot(t) == before
    # the state is still usable and still where it was
    assert mas.next() == 2 and (mas.index, mas.last) == (20, 25)


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_field_assignment_valid_values_accepted(flags):
    """The edges 0 and ULONG_MAX, and ``index > last`` by itself, are accepted."""
    t = big_tree(flags)
    mas = MaState(t, 15)
    mas.index = 0
    mas.last = M
    assert (mas.index, mas.last) == (0, M)
    assert type(mas.index) is int and type(mas.last) is int
    mas.index = M  # index > last for a moment: fields are set one at a time
    mas.last = M
    assert mas.walk() is None and (mas.index, mas.last) == (2996, M)
    mas.index, mas.last = 2990, 2991
    assert mas.walk() == 299 and (mas.index, mas.last) == (2990, 2995)
    mas.index, mas.last = 100, 100
    assert mas.store("x") == 10
    assert t.load(100) == "x"
    t.validate()


def _tree_shape(shape: str, flags: int) -> MapleTree:
    t = MapleTree(flags)
    if shape == "root":
        t.store(0, "r")
    elif shape == "leaf":
        t.store_range(10, 19, "a")
        t.store_range(30, 39, "b")
    elif shape == "big":
        t = big_tree(flags)
    return t


IDX, LST = 2990, 1777  # index > last, both distinct substrings of any message

CURSOR_CALLS = {
    "store": lambda m: m.store("x"),
    "store_gfp": lambda m: m.store_gfp("x"),
    "erase": lambda m: m.erase(),
    "walk": lambda m: m.walk(),
    "find": lambda m: m.find(),
    "find_range": lambda m: m.find_range(),
    "find_rev": lambda m: m.find_rev(),
    "find_range_rev": lambda m: m.find_range_rev(),
    "next": lambda m: m.next(),
    "next_range": lambda m: m.next_range(),
    "prev": lambda m: m.prev(),
    "prev_range": lambda m: m.prev_range(),
    "empty_area": lambda m: m.empty_area(0, 10**6, 5),
    "empty_area_rev": lambda m: m.empty_area_rev(0, 10**6, 5),
    "for_each": lambda m: next(m.for_each()),
    "for_each_rev": lambda m: next(m.for_each_rev()),
}


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("shape", ["empty", "root", "leaf", "big"])
@pytest.mark.parametrize("positioned", [False, True], ids=["fresh", "positioned"])
@pytest.mark.parametrize("call", list(CURSOR_CALLS))
def test_index_after_last_refused_by_next_call(flags, shape, positioned, call):
    t = _tree_shape(shape, flags)
    mas = MaState(t, 15)
    if positioned:
        mas.walk()
    before = snapshot(t)
    mas.index = IDX
    mas.last = LST  # accepted: the fields are set one at a time
    assert (mas.index, mas.last) == (IDX, LST)
    with pytest.raises(InvalidArgumentError) as ei:
        CURSOR_CALLS[call](mas)
    msg = str(ei.value)
    assert str(IDX) in msg and str(LST) in msg, msg
    assert ei.value.errno == 22
    assert snapshot(t) == before
    assert (mas.index, mas.last) == (IDX, LST)
    t.validate()
    # set_range repairs the state
    mas.set_range(LST, IDX)
    mas.store("fixed")
    assert t.load(2000) == "fixed"
    t.validate()


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_constructor_index_after_last(flags):
    t = big_tree(flags)
    before = snapshot(t)
    with pytest.raises(InvalidArgumentError) as ei:
        MaState(t, 500, 300)
    assert "500" in str(ei.value) and "300" in str(ei.value)
    mas = MaState(t, 15)
    with pytest.raises(InvalidArgumentError):
        mas.set_range(5, 3)
    assert snapshot(t) == before


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_last_beyond_ulong_max_is_refused(flags):
    """Regression: a last beyond ULONG_MAX once went into a pivot and corrupted the tree."""
    t = MapleTree(flags)
    [t.store_range(10 * i, 10 * i + 5, i) for i in range(300)]
    before = snapshot(t)
    m = MaState(t, 15)
    with pytest.raises(InvalidArgumentError):
        m.index, m.last = 2990, 2**64 + 5  # raises at the assignment of last ...
        m.store("big")                      # ... so this never runs
    assert (m.index, m.last) == (2990, 15)  # index was assigned, last kept
    with pytest.raises(InvalidArgumentError):
        m.store("big")                      # now index > last
    t.validate()
    assert snapshot(t) == before


# ===========================================================================
# 2. a cursor whose tree was written elsewhere

def fresh_first(t: MapleTree, start: int, forward: bool) -> tuple:
    s = MaState(t, start)
    e = s.find() if forward else s.find_rev()
    return e, s.index, s.last


def fresh_step(t: MapleTree, pos: int, forward: bool) -> tuple:
    """What a fresh cursor gives after the range holding ``pos``: walk there, step once."""
    s = MaState(t, pos)
    s.walk()
    e = s.next() if forward else s.prev()
    return e, s.index, s.last


def leaf_bounds(struct: dict, key: int):
    """(min, max) of the leaf holding ``key`` in a maple-structure/1 dict, or None."""
    node = struct["root"]
    if node is None or "entry" in node:
        return None
    while node["type"] != "leaf_64":
        for p, child in zip(node["pivots"], node["slots"]):
            if key <= p:
                node = child
                break
    return node["min"], node["max"]


def clamp(k: int) -> int:
    return 0 if k < 0 else M if k > M else k


# "near" first (hypothesis shrinks towards it); a wipe ends most loops, so it is rare
WRITE_KINDS = (["near"] * 12 + ["null_near"] * 6 + ["erase_near"] * 6 + ["far"] * 4
               + ["null_wide"] * 2 + ["wipe"])


@st.composite
def looped_tree_specs(draw):
    """How to build a tree of 0..400 ranges (usually >= 50): ``(flags, n, step,
    width, base, zero_every, order, seed)``; see :func:`build_looped_tree`."""
    flags = draw(st.sampled_from(FLAGS))
    n = draw(st.one_of(st.integers(50, 400), st.integers(50, 400), st.integers(50, 400),
                       st.integers(0, 400)))
    step = draw(st.integers(2, 20))
    width = draw(st.integers(0, step - 1))  # step - 1: no gaps between ranges
    base = draw(st.sampled_from([0, 1, 5000, M - 10**5]))
    zero_every = draw(st.sampled_from([0, 0, 5, 11]))
    order = draw(st.sampled_from(["up", "down", "shuffled"]))
    seed = draw(st.integers(0, 2**16)) if order == "shuffled" else 0
    return flags, n, step, width, base, zero_every, order, seed


def build_looped_tree(spec) -> tuple:
    """``[base + i step, base + i step + width] -> "v{i}"`` (ZERO_ENTRY every
    ``zero_every``-th), stored in the given order; returns (tree, lo, hi)."""
    flags, n, step, width, base, zero_every, order, seed = spec
    spans = [(base + i * step, base + i * step + width, i) for i in range(n)]
    if order == "down":
        spans.reverse()
    elif order == "shuffled":
        random.Random(seed).shuffle(spans)
    t = MapleTree(flags)
    for a, b, i in spans:
        t.store_range(a, b, ZERO_ENTRY if zero_every and i % zero_every == 0 else f"v{i}")
    t.validate()
    return t, base, base + n * step


def do_writes(data, t: MapleTree, pos: int, lo: int, hi: int, stats: Counter) -> None:
    """1-3 writes through the tree's normal API, mostly around ``pos``."""
    for _ in range(data.draw(st.integers(1, 3), label="writes")):
        kind = data.draw(st.sampled_from(WRITE_KINDS), label="kind")
        entry = data.draw(st.sampled_from(["w", "w", "w", None, ZERO_ENTRY]), label="entry")
        if entry == "w":
            stats["serial"] += 1
            entry = f"w{stats['serial']}"
        if kind == "near":
            a = clamp(pos + data.draw(st.integers(-40, 40)))
            b = clamp(a + data.draw(st.integers(0, 30)))
            t.store_range(a, b, entry)
        elif kind == "null_near":
            a = clamp(pos - data.draw(st.integers(0, 300)))
            b = clamp(pos + data.draw(st.integers(0, 300)))
            t.store_range(a, b, None)
        elif kind == "erase_near":
            t.erase(clamp(pos + data.draw(st.integers(-20, 20))))
        elif kind == "far":
            a = data.draw(st.integers(lo, max(lo, hi)))
            t.store_range(a, clamp(a + data.draw(st.integers(0, 50))), entry)
        elif kind == "null_wide":
            a = clamp(pos - data.draw(st.integers(0, 5000)))
            t.store_range(a, clamp(pos + data.draw(st.integers(0, 5000))), None)
        else:  # wipe: the tree becomes empty or a direct root (height 0)
            t.store_range(data.draw(st.sampled_from([0, 1])), M, None)
            stats["wipes"] += 1
        stats["writes"] += 1
        t.validate()


MAX_STEPS = 150


def run_cursor_loop(data, forward: bool, stats: Counter) -> None:
    t, lo, hi = build_looped_tree(data.draw(looped_tree_specs(), label="tree"))
    mode = data.draw(st.sampled_from(["for_each", "step"] if forward else ["for_each_rev", "step"]))
    mid = (lo + hi) // 2
    start = data.draw(st.one_of(st.integers(lo, mid) if forward else st.integers(mid, hi),
                                st.integers(lo, max(lo, hi)),
                                st.sampled_from([0, lo] if forward else [hi, M])),
                      label="start")
    # the steps after which the body writes: the first one early
    write_steps = {data.draw(st.integers(0, 3), label="first write")}
    write_steps |= data.draw(st.sets(st.integers(0, 60), max_size=8), label="more writes")
    mas = MaState(t, start)
    if mode == "for_each":
        gen = mas.for_each()
    elif mode == "for_each_rev":
        gen = mas.for_each_rev()

    def step(first: bool):
        if mode != "step":
            return next(gen, None)
        if forward:
            return mas.find() if first else mas.next()
        return mas.find_rev() if first else mas.prev()

    stats["examples"] += 1
    wrote = moved = False
    expected = fresh_first(t, start, forward)
    i = 0
    while True:
        try:
            got = step(i == 0)
        except StateError:
            # only when the tree has no node left to walk to
            assert i > 0 and t.height == 0, f"StateError at step {i}, height {t.height}"
            stats["state_errors"] += 1
            break
        assert same_entry(got, expected[0]), (i, got, expected)
        if got is None:
            break
        assert (mas.index, mas.last) == expected[1:], (i, (mas.index, mas.last), expected)
        if i >= MAX_STEPS:
            break
        pos = mas.last if forward else mas.index
        if i in write_steps:
            bounds = leaf_bounds(t.structure(), pos)
            height = t.height
            do_writes(data, t, pos, lo, hi, stats)
            if not wrote:
                stats["with_writes"] += 1
                wrote = True
            if not moved and (bounds != leaf_bounds(t.structure(), pos) or t.height != height):
                stats["leaf_changed"] += 1  # the cursor's leaf was split, merged or replaced
                moved = True
        expected = fresh_step(t, pos, forward)
        i += 1


def _loop_test(forward: bool, max_examples: int) -> Counter:
    stats: Counter = Counter()

    # report_multiple_bugs=False and no explain phase: a broken cursor fails in
    # many distinct ways here, and shrinking each of them (and explaining the
    # result) takes minutes; one shrunk counterexample is enough.
    @settings(max_examples=max_examples, deadline=None, report_multiple_bugs=False,
              phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
    @given(data=st.data())
    def run(data):
        run_cursor_loop(data, forward, stats)

    run()
    return stats


def _check_loop_stats(stats: Counter) -> None:
    n = stats["examples"]
    assert n >= 20, stats
    # measured: ~0.9 and ~0.6-0.8 of the examples
    assert stats["with_writes"] >= 0.75 * n, stats     # the loop saw writes in most examples
    assert stats["leaf_changed"] >= 0.4 * n, stats     # and often ones that reshaped its leaf


@pytest.mark.parametrize("forward", [True, False], ids=["for_each_next", "for_each_rev_prev"])
def test_cursor_survives_writes_elsewhere(forward):
    _check_loop_stats(_loop_test(forward, 200))


@pytest.mark.slow
@pytest.mark.parametrize("forward", [True, False], ids=["for_each_next", "for_each_rev_prev"])
def test_cursor_survives_writes_elsewhere_slow(forward):
    _check_loop_stats(_loop_test(forward, 1000))


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_for_each_rewalks_after_in_place_write(flags):
    """A write elsewhere that rewrites the cursor's leaf in place (no split):
    the next step is still the fresh cursor's answer."""
    t = big_tree(flags)
    mas = MaState(t, 0)
    seen = []
    for e in mas.for_each(200):
        seen.append((mas.index, mas.last, e))
        if e == 3:
            t.store_range(36, 37, "new")   # same leaf, just ahead of the cursor
            t.erase(40)                    # the range after it
    assert seen == [(0, 5, 0), (10, 15, 1), (20, 25, 2), (30, 35, 3), (36, 37, "new"),
                    (50, 55, 5), (60, 65, 6), (70, 75, 7), (80, 85, 8), (90, 95, 9),
                    (100, 105, 10), (110, 115, 11), (120, 125, 12), (130, 135, 13),
                    (140, 145, 14), (150, 155, 15), (160, 165, 16), (170, 175, 17),
                    (180, 185, 18), (190, 195, 19), (200, 205, 20)]
    t.validate()


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_prev_rewalks_after_in_place_write(flags):
    t = big_tree(flags)
    mas = MaState(t, 95)
    assert mas.find_rev() == 9
    t.store_range(86, 88, "new")   # same leaf, just behind the cursor
    assert mas.prev() == "new" and (mas.index, mas.last) == (86, 88)
    t.erase(80)
    t.erase(70)
    assert mas.prev() == 6 and (mas.index, mas.last) == (60, 65)
    t.validate()


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
def test_for_each_after_tree_wiped(flags):
    """The whole tree erased under the loop: StateError or the end, nothing else."""
    t = big_tree(flags)
    mas = MaState(t, 0)
    seen = []
    with _either_state_error_or_end() as outcome:
        for e in mas.for_each():
            seen.append(e)
            if e == 5:
                t.store_range(0, M, None)
    assert seen == [0, 1, 2, 3, 4, 5]
    assert t.height == 0 and list(t) == []
    assert outcome.kind in ("end", "StateError")
    t.validate()


class _either_state_error_or_end:
    kind = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.kind = "end"
            return False
        if issubclass(exc_type, StateError):
            self.kind = "StateError"
            return True
        return False


# ===========================================================================
# 3. the package's own classes as entries

def _node_from_other_tree() -> Node:
    other = big_tree(0, 50)
    mas = MaState(other, 100)
    mas.walk()
    assert isinstance(mas.node, Node)
    return mas.node


OWN_ENTRIES = {
    "RootEntry": lambda: RootEntry("x"),
    "RootEntry_None": lambda: RootEntry(None),
    "Node_built": lambda: Node(1, [M], ["a"]),
    "Node_of_other_tree": _node_from_other_tree,
}


def _write(how: str, t: MapleTree, first: int, last: int, entry) -> None:
    if how == "store":
        assert first == last
        t.store(first, entry)
    elif how == "store_range":
        t.store_range(first, last, entry)
    elif how == "insert":
        assert first == last
        t.insert(first, entry)
    elif how == "insert_range":
        t.insert_range(first, last, entry)
    elif how == "mas_store":
        MaState(t, first, last).store(entry)
    elif how == "mas_store_gfp":
        mas = MaState(t)
        mas.set_range(first, last)
        mas.store_gfp(entry)
    elif how == "alloc_range":
        assert t.alloc_range(last - first + 1, entry, first, last) == first
    else:  # pragma: no cover
        raise AssertionError(how)


OWN_CASES = []  # (flags, how, place)
for _flags in FLAGS:
    for _how in ["store", "store_range", "insert", "insert_range", "mas_store",
                 "mas_store_gfp", "alloc_range"]:
        for _place in ["direct_root", "big_tree", "whole_range"]:
            if _place == "whole_range" and _how in ("store", "insert", "alloc_range"):
                continue  # one key only; alloc sizes stop at ULONG_MAX
            if _how == "alloc_range" and not _flags:
                continue  # needs MT_FLAGS_ALLOC_RANGE
            OWN_CASES.append((_flags, _how, _place))


def _check_holds(t: MapleTree, first: int, last: int, entry) -> None:
    t.validate()
    assert t.load(first) is entry and t.load(last) is entry
    assert any(f == first and l == last and e is entry for f, l, e in t)
    r = t.find(first)
    assert r is not None and r[2] is entry
    mas = MaState(t, first)
    assert mas.walk() is entry
    t.structure()
    t.dump()
    c = t.dup()
    c.validate()
    assert c.load(first) is entry


@pytest.mark.parametrize("flags,how,place", OWN_CASES,
                         ids=[f"{h}-{p}-{'alloc' if f else 'f0'}" for f, h, p in OWN_CASES])
@pytest.mark.parametrize("kind", list(OWN_ENTRIES))
def test_own_classes_are_ordinary_entries(flags, how, place, kind):
    entry = OWN_ENTRIES[kind]()
    if place == "direct_root":
        t, first, last = MapleTree(flags), 0, 0
    elif place == "big_tree":
        t, first, last = big_tree(flags), 1237, 1237  # in the gap [1236, 1239]
    else:
        t, first, last = MapleTree(flags), 0, M
    _write(how, t, first, last, entry)
    _check_holds(t, first, last, entry)
    if place == "direct_root":
        assert t.height == 0 and list(t) == [(0, 0, entry)]
    # more writes around it: the entry moves between nodes through splits and
    # merges (the whole-range entry is cut to [0, 4999] and pieces above)
    for i in range(400):
        t.store_range(5000 + 3 * i, 5000 + 3 * i + 1, i)
    last = 4999 if place == "whole_range" else last
    _check_holds(t, first, last, entry)
    t.store_range(5000, 7000, None)
    _check_holds(t, first, last, entry)
    assert t.erase(first) is entry
    t.validate()
    assert t.load(first) is None


def test_own_classes_big_tree_store_at_every_kind_of_slot():
    """RootEntry / Node entries in many slots of a multi-level tree, then validate."""
    for flags in FLAGS:
        t = big_tree(flags, 500)
        objs = {}
        for i in range(0, 500, 7):
            e = RootEntry(i) if i % 2 else Node(1, [M], [i])
            t.store_range(10 * i, 10 * i + 5, e)
            objs[10 * i] = e
        t.validate()
        for k, e in objs.items():
            assert t.load(k) is e
        assert sum(1 for _, _, e in t if e.__class__ in (Node, RootEntry)) == len(objs)
        t.structure()


# ===========================================================================
# 4. InternalEntry as an entry

BAD_INTERNAL = [
    ("x", InvalidTypeError), (None, InvalidTypeError), (1.5, InvalidTypeError),
    (True, InvalidTypeError), (False, InvalidTypeError), (b"1", InvalidTypeError),
    (-1, InvalidArgumentError), (2**70, InvalidArgumentError), (2**62, InvalidArgumentError),
]


@pytest.mark.parametrize("value,exc", BAD_INTERNAL, ids=[repr(v) for v, _ in BAD_INTERNAL])
def test_internal_entry_constructor_checks_value(value, exc):
    with pytest.raises(exc) as ei:
        InternalEntry(value)
    assert isinstance(ei.value, MapleError) and ei.value.errno == 22
    assert repr(value) in str(ei.value) or str(value) in str(ei.value), str(ei.value)


@pytest.mark.parametrize("value", [0, 1, 256, 300, 1023, 1024, 2**62 - 1])
def test_internal_entry_constructor_accepts(value):
    assert InternalEntry(value).value == value


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("how", ["store", "store_range", "insert", "insert_range", "mas_store",
                                 "mas_store_gfp"])
@pytest.mark.parametrize("value", [0, 1, 255, 256, "RETRY_ENTRY"])
def test_advanced_internal_entries_refused_by_stores(flags, how, value):
    entry = RETRY_ENTRY if value == "RETRY_ENTRY" else InternalEntry(value)
    t = big_tree(flags)
    before = snapshot(t)
    with pytest.raises(InvalidArgumentError):
        _write(how, t, 1237, 1237, entry)
    assert snapshot(t) == before


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("how", ["store", "store_range", "insert", "insert_range", "mas_store"])
def test_internal_entry_300_is_storable(flags, how):
    e = InternalEntry(300)
    t = big_tree(flags)
    _write(how, t, 1237, 1237, e)
    _check_holds(t, 1237, 1237, e)
    assert t.erase(1237) is e
    t.validate()


@pytest.mark.parametrize("flags", FLAGS, ids=FLAG_IDS)
@pytest.mark.parametrize("value", [257, 300, 5000])
def test_internal_entry_at_key_0_goes_into_a_leaf(flags, value):
    """Kernel ``mas_store_root``: an internal entry is never a direct root."""
    e = InternalEntry(value)
    for write in (lambda t: t.store(0, e), lambda t: MaState(t, 0).store(e)):
        t = MapleTree(flags)
        write(t)
        t.validate()
        assert t.height == 1 and MaState(t, 0).walk() is e
        want = "zero" if value == 257 else {"internal": value}  # 257 is ZERO_ENTRY
        assert t.structure()["root"]["slots"] == [want, None]


ALLOC_CALLS = {
    "alloc_range": lambda t, e: t.alloc_range(3, e, 1236, 1239),
    "alloc_rrange": lambda t, e: t.alloc_rrange(3, e, 1236, 1239),
    "alloc_cyclic": lambda t, e: t.alloc_cyclic(e, 1236, 1239, 0)[0],
}


@pytest.mark.parametrize("call", list(ALLOC_CALLS))
@pytest.mark.parametrize("value", [257, 300, 1000, 1023, "ZERO_ENTRY", "RETRY_ENTRY", 1])
def test_reserved_internal_entries_refused_by_alloc(call, value):
    entry = {"ZERO_ENTRY": ZERO_ENTRY, "RETRY_ENTRY": RETRY_ENTRY}.get(value)
    entry = entry if entry is not None else InternalEntry(value)
    t = big_tree(MT_FLAGS_ALLOC_RANGE)
    before = snapshot(t)
    with pytest.raises(InvalidArgumentError):
        ALLOC_CALLS[call](t, entry)
    assert snapshot(t) == before


@pytest.mark.parametrize("call", list(ALLOC_CALLS))
@pytest.mark.parametrize("value", [1024, 4096, 2**62 - 1])
def test_internal_entries_from_1024_allocatable(call, value):
    e = InternalEntry(value)
    t = big_tree(MT_FLAGS_ALLOC_RANGE)
    start = ALLOC_CALLS[call](t, e)
    assert 1236 <= start <= 1239
    assert t.load(start) is e
    t.validate()


# ===========================================================================
# 5. error messages name the argument and the value

def _v(value) -> tuple:
    """Ways a message may show ``value``: its str or its repr."""
    return (str(value), repr(value))


def _mas(t: MapleTree) -> MaState:
    mas = MaState(t, 15)
    mas.find()
    return mas


# (id, flags, call, exception, [needle or tuple of alternative needles, ...])
A = MT_FLAGS_ALLOC_RANGE
BIG = 2**64 + 7
ERROR_TABLE = [
    ("load-type", A, lambda t: t.load("seven"), InvalidTypeError, ["index", _v("seven")]),
    ("load-neg", A, lambda t: t.load(-3), InvalidArgumentError, ["index", "-3"]),
    ("store-big", A, lambda t: t.store(BIG, "x"), InvalidArgumentError, ["index", str(BIG)]),
    ("store-float", A, lambda t: t.store(1.5, "x"), InvalidTypeError, ["index", "1.5"]),
    ("store-retry", A, lambda t: t.store(5, RETRY_ENTRY), InvalidArgumentError,
     ["entry", "RETRY_ENTRY"]),
    ("store_range-order", A, lambda t: t.store_range(90, 80, "x"), InvalidArgumentError,
     ["first", "90", "last", "80"]),
    ("store_range-first-None", A, lambda t: t.store_range(None, 80, "x"), InvalidTypeError,
     ["first", "None"]),
    ("store_range-last-big", A, lambda t: t.store_range(5, 2**64, "x"), InvalidArgumentError,
     ["last", str(2**64)]),
    ("store_range-internal1", A, lambda t: t.store_range(5, 6, InternalEntry(1)),
     InvalidArgumentError, ["entry", "InternalEntry(1)"]),
    ("insert-bool", A, lambda t: t.insert(True, "x"), InvalidTypeError, ["index", "True"]),
    ("insert_range-order", A, lambda t: t.insert_range(70, 60, "x"), InvalidArgumentError,
     ["first", "70", "last", "60"]),
    ("insert_range-last-str", A, lambda t: t.insert_range(3, "nine", "x"), InvalidTypeError,
     ["last", _v("nine")]),
    ("erase-neg", A, lambda t: t.erase(-1), InvalidArgumentError, ["index", "-1"]),
    ("erase-bytes", A, lambda t: t.erase(b"k"), InvalidTypeError, ["index", "b'k'"]),
    ("find-str", A, lambda t: t.find("abc"), InvalidTypeError, ["index", _v("abc")]),
    ("find-max-neg", A, lambda t: t.find(5, -2), InvalidArgumentError, ["max", "-2"]),
    ("find_after-zero-float", A, lambda t: t.find_after(0.0), InvalidTypeError,
     ["index", "0.0"]),
    ("find_after-max-float", A, lambda t: t.find_after(5, 2.5), InvalidTypeError,
     ["max", "2.5"]),
    ("next-max-big", A, lambda t: t.next(5, 2**64), InvalidArgumentError, ["max", str(2**64)]),
    ("next-list", A, lambda t: t.next([1]), InvalidTypeError, ["index", "[1]"]),
    ("prev-min-neg", A, lambda t: t.prev(5, -7), InvalidArgumentError, ["min", "-7"]),
    ("prev-str", A, lambda t: t.prev("five"), InvalidTypeError, ["index", _v("five")]),
    ("alloc_range-size0", A, lambda t: t.alloc_range(0, "x"), InvalidArgumentError,
     ["size", "0"]),
    ("alloc_range-window", A, lambda t: t.alloc_range(4, "x", 500, 100), InvalidArgumentError,
     ["min", "500", "max", "100"]),
    ("alloc_range-size-str", A, lambda t: t.alloc_range("four", "x"), InvalidTypeError,
     ["size", _v("four")]),
    ("alloc_range-zero-entry", A, lambda t: t.alloc_range(4, ZERO_ENTRY), InvalidArgumentError,
     ["entry", "ZERO_ENTRY"]),
    ("alloc_range-not-alloc", 0, lambda t: t.alloc_range(4, "x"), InvalidArgumentError,
     ["MT_FLAGS_ALLOC_RANGE"]),
    ("alloc_rrange-min-neg", A, lambda t: t.alloc_rrange(4, "x", -5), InvalidArgumentError,
     ["min", "-5"]),
    ("alloc_rrange-max-float", A, lambda t: t.alloc_rrange(4, "x", 0, 3.0), InvalidTypeError,
     ["max", "3.0"]),
    ("alloc_rrange-size-too-big", A, lambda t: t.alloc_rrange(2000, "x", 0, 999),
     InvalidArgumentError, ["size", "2000"]),
    ("alloc_cyclic-lo-hi", A, lambda t: t.alloc_cyclic("x", 10, 5, 0), InvalidArgumentError,
     ["lo", "10", "hi", "5"]),
    ("alloc_cyclic-next-neg", A, lambda t: t.alloc_cyclic("x", 0, 10, -1), InvalidArgumentError,
     ["next", "-1"]),
    ("alloc_cyclic-lo-str", A, lambda t: t.alloc_cyclic("x", "zero", 10, 0), InvalidTypeError,
     ["lo", _v("zero")]),
    ("alloc_cyclic-retry", A, lambda t: t.alloc_cyclic(RETRY_ENTRY, 0, 10, 0),
     InvalidArgumentError, ["entry", "RETRY_ENTRY"]),
    ("validate-str", A, lambda t: t.validate("yes"), InvalidTypeError,
     ["exempt_rightmost", _v("yes")]),
    ("validate-None", A, lambda t: t.validate(None), InvalidTypeError,
     ["exempt_rightmost", "None"]),
    ("dump-fmt", A, lambda t: t.dump("oct"), InvalidArgumentError, ["fmt", _v("oct")]),
    ("dump-fmt-int", A, lambda t: t.dump(16), InvalidTypeError, ["fmt", "16"]),
    ("MapleTree-flags-str", A, lambda t: MapleTree("one"), InvalidTypeError,
     ["flags", _v("one")]),
    ("MapleTree-flags-bool", A, lambda t: MapleTree(True), InvalidTypeError, ["flags", "True"]),
    ("MapleTree-flags-unknown", A, lambda t: MapleTree(0x1000), InvalidArgumentError,
     ["flags", ("4096", "0x1000")]),
    ("MapleTree-flags-neg", A, lambda t: MapleTree(-1), InvalidArgumentError, ["flags", "-1"]),
    ("MaState-tree", A, lambda t: MaState("tree"), InvalidTypeError, ["tree", _v("tree")]),
    ("MaState-index-str", A, lambda t: MaState(t, "three"), InvalidTypeError,
     ["index", _v("three")]),
    ("MaState-last-neg", A, lambda t: MaState(t, 5, -1), InvalidArgumentError, ["last", "-1"]),
    ("MaState-order", A, lambda t: MaState(t, 500, 300), InvalidArgumentError,
     ["index", "500", "last", "300"]),
    ("MaState.set-neg", A, lambda t: _mas(t).set(-4), InvalidArgumentError, ["index", "-4"]),
    ("MaState.set_range-order", A, lambda t: _mas(t).set_range(900, 300), InvalidArgumentError,
     ["first", "900", "last", "300"]),
    ("MaState.set_range-last-str", A, lambda t: _mas(t).set_range(1, "zed"), InvalidTypeError,
     ["last", _v("zed")]),
    ("MaState.find-max-neg", A, lambda t: _mas(t).find(-1), InvalidArgumentError,
     ["max", "-1"]),
    ("MaState.find-max-float", A, lambda t: _mas(t).find(1.5), InvalidTypeError,
     ["max", "1.5"]),
    ("MaState.next-max-big", A, lambda t: _mas(t).next(2**64), InvalidArgumentError,
     ["max", str(2**64)]),
    ("MaState.prev-min-str", A, lambda t: _mas(t).prev("nil"), InvalidTypeError,
     ["min", _v("nil")]),
    ("MaState.find_rev-min-neg", A, lambda t: _mas(t).find_rev(-9), InvalidArgumentError,
     ["min", "-9"]),
    ("MaState.empty_area-window", A, lambda t: MaState(t).empty_area(50, 10, 1),
     InvalidArgumentError, ["min", "50", "max", "10"]),
    ("MaState.empty_area-size0", A, lambda t: MaState(t).empty_area(0, 100, 0),
     InvalidArgumentError, ["size", "0"]),
    ("MaState.empty_area-size-too-big", A, lambda t: MaState(t).empty_area(0, 10, 20),
     InvalidArgumentError, ["size", "20"]),
    ("MaState.empty_area_rev-max-str", A, lambda t: MaState(t).empty_area_rev(0, "nine", 1),
     InvalidTypeError, ["max", _v("nine")]),
    ("MaState.empty_area_rev-size-neg", A, lambda t: MaState(t).empty_area_rev(0, 100, -1),
     InvalidArgumentError, ["size", "-1"]),
    ("MaState.empty_area_rev-min-big", A, lambda t: MaState(t).empty_area_rev(2**64, M, 1),
     InvalidArgumentError, ["min", str(2**64)]),
]


@pytest.mark.parametrize("flags,call,exc,needles", [r[1:] for r in ERROR_TABLE],
                         ids=[r[0] for r in ERROR_TABLE])
def test_error_names_argument_and_value(flags, call, exc, needles):
    assert issubclass(exc, MapleError)
    t = big_tree(flags)
    before = snapshot(t)
    with pytest.raises(exc) as ei:
        call(t)
    assert ei.value.errno == 22
    msg = str(ei.value)
    for needle in needles:
        alts = needle if isinstance(needle, tuple) else (needle,)
        assert any(a in msg for a in alts), f"{msg!r} does not mention {' or '.join(alts)}"
    assert snapshot(t) == before
    t.validate()


# ===========================================================================
# 6. random misuse interleaved with valid writes

BAD_TYPES = [1.5, "3", None, True, False, b"1", [1], 2.0**64]
BAD_VALUES = [-1, -2**64, 2**64, 2**64 + 5, 2**70]
ADVANCED = [RETRY_ENTRY, InternalEntry(0), InternalEntry(1), InternalEntry(256)]
ALLOC_RESERVED = [ZERO_ENTRY, RETRY_ENTRY, InternalEntry(300), InternalEntry(1023)]
INTERNAL_300 = InternalEntry(300)

small_keys = st.one_of(st.integers(0, 3000), st.integers(0, 60),
                       st.sampled_from([0, 1, M - 1, M]), st.integers(M - 100, M))


@st.composite
def small_ranges(draw):
    a = draw(small_keys)
    return a, min(M, a + draw(st.one_of(st.integers(0, 5), st.integers(0, 500))))


entries_st = st.one_of(st.integers(0, 1000), st.builds(Obj), st.just(ZERO_ENTRY),
                       st.just(INTERNAL_300))
maybe_null_st = st.one_of(entries_st, st.none())

# key-taking calls: (name, call(tree, mas, key), allowed with None as key, needs alloc tree)
KEY_CALLS = [
    ("load", lambda t, m, k: t.load(k), True, False),
    ("store", lambda t, m, k: t.store(k, 1), True, False),
    ("store_range.first", lambda t, m, k: t.store_range(k, 10, 1), True, False),
    ("store_range.last", lambda t, m, k: t.store_range(0, k, 1), True, False),
    ("insert", lambda t, m, k: t.insert(k, 1), True, False),
    ("insert_range.first", lambda t, m, k: t.insert_range(k, 10, 1), True, False),
    ("insert_range.last", lambda t, m, k: t.insert_range(0, k, 1), True, False),
    ("erase", lambda t, m, k: t.erase(k), True, False),
    ("find.index", lambda t, m, k: t.find(k), True, False),
    ("find.max", lambda t, m, k: t.find(0, k), True, False),
    ("find_after.index", lambda t, m, k: t.find_after(k), True, False),
    ("find_after.max", lambda t, m, k: t.find_after(1, k), True, False),
    ("next.index", lambda t, m, k: t.next(k), True, False),
    ("next.max", lambda t, m, k: t.next(0, k), True, False),
    ("prev.index", lambda t, m, k: t.prev(k), True, False),
    ("prev.min", lambda t, m, k: t.prev(M, k), True, False),
    ("MaState.index", lambda t, m, k: MaState(t, k), True, False),
    ("MaState.last", lambda t, m, k: MaState(t, 0, k), False, False),  # last=None is legal
    ("mas.set", lambda t, m, k: m.set(k), True, False),
    ("mas.set_range.first", lambda t, m, k: m.set_range(k, 5), True, False),
    ("mas.set_range.last", lambda t, m, k: m.set_range(0, k), True, False),
    ("mas.find", lambda t, m, k: m.find(k), True, False),
    ("mas.next", lambda t, m, k: m.next(k), True, False),
    ("mas.prev", lambda t, m, k: m.prev(k), True, False),
    ("mas.find_rev", lambda t, m, k: m.find_rev(k), True, False),
    ("mas.for_each", lambda t, m, k: list(m.for_each(k)), True, False),
    ("mas.empty_area.min", lambda t, m, k: MaState(t).empty_area(k, M, 1), True, False),
    ("mas.empty_area.max", lambda t, m, k: MaState(t).empty_area(0, k, 1), True, False),
    ("mas.empty_area_rev.size", lambda t, m, k: MaState(t).empty_area_rev(0, M, k), True, False),
    ("alloc_range.size", lambda t, m, k: t.alloc_range(k, "x"), True, True),
    ("alloc_range.min", lambda t, m, k: t.alloc_range(1, "x", k), True, True),
    ("alloc_rrange.max", lambda t, m, k: t.alloc_rrange(1, "x", 0, k), True, True),
    ("alloc_cyclic.lo", lambda t, m, k: t.alloc_cyclic("x", k, M, 0), True, True),
    ("alloc_cyclic.hi", lambda t, m, k: t.alloc_cyclic("x", 0, k, 0), True, True),
    ("alloc_cyclic.next", lambda t, m, k: t.alloc_cyclic("x", 0, M, k), True, True),
]

# calls given first > last: (name, call(tree, mas, a, b) with a > b, needs alloc tree)
ORDER_CALLS = [
    ("store_range", lambda t, m, a, b: t.store_range(a, b, 1), False),
    ("insert_range", lambda t, m, a, b: t.insert_range(a, b, 1), False),
    ("MaState", lambda t, m, a, b: MaState(t, a, b), False),
    ("mas.set_range", lambda t, m, a, b: m.set_range(a, b), False),
    ("fields+store", lambda t, m, a, b: _assign_then(m, a, b, lambda: m.store(1)), False),
    ("fields+erase", lambda t, m, a, b: _assign_then(m, a, b, m.erase), False),
    ("fields+walk", lambda t, m, a, b: _assign_then(m, a, b, m.walk), False),
    ("fields+find", lambda t, m, a, b: _assign_then(m, a, b, m.find), False),
    ("fields+next", lambda t, m, a, b: _assign_then(m, a, b, m.next), False),
    ("fields+prev", lambda t, m, a, b: _assign_then(m, a, b, m.prev), False),
    ("empty_area", lambda t, m, a, b: MaState(t).empty_area(a, b, 1), False),
    ("empty_area_rev", lambda t, m, a, b: MaState(t).empty_area_rev(a, b, 1), False),
    ("alloc_range", lambda t, m, a, b: t.alloc_range(1, "x", a, b), True),
    ("alloc_cyclic", lambda t, m, a, b: t.alloc_cyclic("x", a, b, 0), True),
]

ENTRY_CALLS = [
    ("store", lambda t, k, e: t.store(k, e)),
    ("store_range", lambda t, k, e: t.store_range(k, k + 3, e)),
    ("insert", lambda t, k, e: t.insert(k, e)),
    ("insert_range", lambda t, k, e: t.insert_range(k, k + 3, e)),
    ("mas.store", lambda t, k, e: MaState(t, k, k + 3).store(e)),
    ("mas.store_gfp", lambda t, k, e: MaState(t, k).store_gfp(e)),
]

ALLOC_ENTRY_CALLS = [
    ("alloc_range", lambda t, e: t.alloc_range(1, e)),
    ("alloc_rrange", lambda t, e: t.alloc_rrange(1, e, 0, 10**6)),
    ("alloc_cyclic", lambda t, e: t.alloc_cyclic(e, 0, 10**6, 5)),
]

STALE_READS = ["next", "prev", "find", "find_rev", "next_range", "prev_range", "walk",
               "find_range", "find_range_rev"]


def _assign_then(mas: MaState, a: int, b: int, call) -> None:
    mas.index, mas.last = a, b
    call()


class MisuseMachine(RuleBasedStateMachine):
    """Random misuse between valid writes; misuse never changes the tree."""

    FLAGS = 0

    def __init__(self) -> None:
        super().__init__()
        self.tree = MapleTree(self.FLAGS)
        self.model = RefModel()
        self.other = MapleTree(self.FLAGS)
        self.other_model = RefModel()
        self.alloc = bool(self.FLAGS & MT_FLAGS_ALLOC_RANGE)
        self.cursors: list[list] = []        # [MaState on self.tree, positioned by a read]
        self.other_cursors: list[MaState] = []

    # -- checks ------------------------------------------------------------
    def _check(self) -> None:
        t, m = self.tree, self.model
        t.validate()
        check_structure(t.structure(), m, self.alloc)
        got = list(t)
        exp = m.items()
        assert len(got) == len(exp)
        assert all(g[:2] == e[:2] and same_entry(g[2], e[2]) for g, e in zip(got, exp))

    def _check_other(self) -> None:
        self.other.validate()
        check_structure(self.other.structure(), self.other_model, self.alloc)

    def _refused(self, call, exc) -> MapleError:
        before = snapshot(self.tree)
        with pytest.raises(exc) as ei:
            call()
        assert isinstance(ei.value, MapleError)
        assert snapshot(self.tree) == before, "a refused call changed the tree"
        return ei.value

    def _a_slot(self, data) -> list:
        """``[cursor, positioned by a read]``: one of the kept cursors (maybe
        stale) or a new one, kept from now on."""
        if self.cursors and data.draw(st.booleans(), label="reuse cursor"):
            return data.draw(st.sampled_from(self.cursors), label="cursor")
        slot = [MaState(self.tree, data.draw(small_keys, label="cursor at")), False]
        self.cursors.append(slot)
        del self.cursors[:-12]
        return slot

    def _a_cursor(self, data) -> MaState:
        return self._a_slot(data)[0]

    # -- valid writes ------------------------------------------------------
    @rule(r=small_ranges(), entry=maybe_null_st)
    def store(self, r, entry):
        self.tree.store_range(r[0], r[1], entry)
        self.model.store_range(r[0], r[1], entry)
        self._check()

    @rule(r=small_ranges(), entry=entries_st)
    def insert(self, r, entry):
        expected = self.model.copy()
        try:
            expected.insert_range(r[0], r[1], entry,
                                  leaf_root_quirk=insert_quirk_applies(self.tree.structure()))
        except EntryExistsError:
            self._refused(lambda: self.tree.insert_range(r[0], r[1], entry), EntryExistsError)
        else:
            self.tree.insert_range(r[0], r[1], entry)
            self.model = expected
        self._check()

    @rule(data=st.data())
    def erase(self, data):
        if self.model.ranges and data.draw(st.booleans()):
            k = data.draw(st.sampled_from(self.model.ranges))[0]
        else:
            k = data.draw(small_keys)
        got = self.tree.erase(k)
        assert same_entry(got, self.model.erase(k))
        self._check()

    @precondition(lambda self: len(self.model.ranges) < 1500)
    @rule(start=st.sampled_from([0, 1000, M - 2000]), count=st.integers(30, 250),
          step=st.integers(1, 4))
    def bulk(self, start, count, step):
        for i in range(count):
            a = start + i * step
            self.tree.store(a, i)
            self.model.store(a, i)
        self._check()

    @rule(r=small_ranges(), entry=maybe_null_st, data=st.data())
    def cursor_store(self, r, entry, data):
        slot = self._a_slot(data)
        slot[0].set_range(r[0], r[1])
        slot[0].store(entry)
        slot[1] = False  # positioned by a write: the fresh-cursor rule is not checked
        self.model.store_range(r[0], r[1], entry)
        self._check()

    @rule(k=small_keys, how=st.sampled_from(["find", "walk", "find_rev", "next", "prev"]))
    def new_cursor(self, k, how):
        mas = MaState(self.tree, k)
        getattr(mas, how)()
        self.cursors.append([mas, True])
        del self.cursors[:-12]

    @precondition(lambda self: len(self.model.ranges) > 0)
    @rule()
    def destroy(self):
        self.tree.destroy()
        self.model.destroy()
        self._check()

    # -- misuse --------------------------------------------------------------
    @rule(data=st.data())
    def bad_key(self, data):
        calls = [c for c in KEY_CALLS if self.alloc or not c[3]]
        name, call, none_ok, _ = data.draw(st.sampled_from(calls), label="call")
        if data.draw(st.booleans(), label="bad type"):
            key = data.draw(st.sampled_from([v for v in BAD_TYPES if none_ok or v is not None]))
            exc = InvalidTypeError
        else:
            key = data.draw(st.sampled_from(BAD_VALUES))
            exc = InvalidArgumentError
        mas = self._a_cursor(data)
        old = (mas.index, mas.last)
        self._refused(lambda: call(self.tree, mas, key), exc)
        assert (mas.index, mas.last) == old, name

    @rule(data=st.data())
    def first_after_last(self, data):
        calls = [c for c in ORDER_CALLS if self.alloc or not c[2]]
        name, call, _ = data.draw(st.sampled_from(calls), label="call")
        b = min(data.draw(small_keys, label="b"), M - 1)
        a = data.draw(st.integers(b + 1, M), label="a")
        mas = self._a_cursor(data)
        err = self._refused(lambda: call(self.tree, mas, a, b), InvalidArgumentError)
        assert str(a) in str(err) and str(b) in str(err), (name, str(err))
        if name.startswith("fields"):
            mas.set(0)  # repair it for later use

    @rule(data=st.data(), entry=st.sampled_from(ADVANCED))
    def advanced_entry(self, data, entry):
        name, call = data.draw(st.sampled_from(ENTRY_CALLS), label="call")
        k = data.draw(st.integers(0, M - 3), label="key")
        self._refused(lambda: call(self.tree, k, entry), InvalidArgumentError)

    @rule(data=st.data(), entry=st.sampled_from(ALLOC_RESERVED))
    def alloc_reserved_entry(self, data, entry):
        name, call = data.draw(st.sampled_from(ALLOC_ENTRY_CALLS), label="call")
        self._refused(lambda: call(self.tree, entry), InvalidArgumentError)

    @rule(data=st.data(), field=st.sampled_from(["index", "last"]))
    def bad_field(self, data, field):
        mas = self._a_cursor(data)
        if data.draw(st.booleans(), label="bad type"):
            value, exc = data.draw(st.sampled_from(BAD_TYPES)), InvalidTypeError
        else:
            value, exc = data.draw(st.sampled_from(BAD_VALUES)), InvalidArgumentError
        old = (mas.index, mas.last)
        self._refused(lambda: setattr(mas, field, value), exc)
        assert (mas.index, mas.last) == old

    @rule(which=st.integers(0, 4))
    def bad_misc(self, which):
        t = self.tree
        call, exc = [
            (lambda: t.validate("yes"), InvalidTypeError),
            (lambda: t.dump("oct"), InvalidArgumentError),
            (lambda: MaState(t.structure()), InvalidTypeError),
            (lambda: MapleTree(0x1000), InvalidArgumentError),
            (lambda: InternalEntry(-1), InvalidArgumentError),
        ][which]
        self._refused(call, exc)

    # -- legal but unusual: stale cursors, another tree's cursor, destroyed trees
    def _stale_read(self, tree: MapleTree, mas: MaState, op: str, by_read: bool):
        status, index, last = mas.status, mas.index, mas.last
        try:
            got = getattr(mas, op)()
        except StateError:
            if status == "active" and by_read and op in ("next", "prev"):
                assert tree.height == 0, "StateError while the tree has nodes"
            return
        except MapleError:
            return
        if status == "active" and by_read and op in ("next", "prev"):
            exp = fresh_step(tree, last if op == "next" else index, op == "next")
            assert same_entry(got, exp[0]), (op, got, exp)
            if got is not None:
                assert (mas.index, mas.last) == exp[1:], (op, (mas.index, mas.last), exp)

    @precondition(lambda self: self.cursors)
    @rule(data=st.data(), op=st.sampled_from(STALE_READS))
    def stale_cursor_read(self, data, op):
        slot = data.draw(st.sampled_from(self.cursors), label="cursor")
        before = snapshot(self.tree)
        self._stale_read(self.tree, slot[0], op, slot[1])
        slot[1] = True
        assert snapshot(self.tree) == before

    @rule(r=small_ranges(), entry=maybe_null_st, data=st.data())
    def other_tree_cursor_store(self, r, entry, data):
        """Legal: a cursor of another tree writes only to that tree."""
        if self.other_cursors and data.draw(st.booleans()):
            mas = data.draw(st.sampled_from(self.other_cursors))
        else:
            mas = MaState(self.other)
            self.other_cursors.append(mas)
        before = snapshot(self.tree)
        mas.set_range(r[0], r[1])
        mas.store(entry)
        self.other_model.store_range(r[0], r[1], entry)
        assert snapshot(self.tree) == before
        self._check_other()

    @rule(data=st.data(), op=st.sampled_from(STALE_READS))
    def destroyed_tree_cursor(self, data, op):
        """Cursor calls on a destroyed tree: an answer or a MapleError, nothing else."""
        before = snapshot(self.tree)
        if data.draw(st.booleans()):
            self.other.destroy()
            self.other_model.destroy()
        for mas in self.other_cursors:
            self._stale_read(self.other, mas, op, False)
        assert snapshot(self.tree) == before
        self._check_other()


MISUSE_FAST = dict(max_examples=30, stateful_step_count=40)
MISUSE_SLOW = dict(max_examples=400, stateful_step_count=80)


# One shrunk failure, no explain phase: see _loop_test.
_MISUSE_EXTRA = dict(report_multiple_bugs=False,
                     phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])


TestMisuseF0 = machine_case(MisuseMachine, 0, MISUSE_FAST, False, **_MISUSE_EXTRA)
TestMisuseAlloc = machine_case(MisuseMachine, MT_FLAGS_ALLOC_RANGE, MISUSE_FAST, False,
                               **_MISUSE_EXTRA)
TestMisuseF0Slow = machine_case(MisuseMachine, 0, MISUSE_SLOW, True, **_MISUSE_EXTRA)
TestMisuseAllocSlow = machine_case(MisuseMachine, MT_FLAGS_ALLOC_RANGE, MISUSE_SLOW, True,
                                   **_MISUSE_EXTRA)
