"""Everyday Python protocols of ``MapleTree``.

* ``tree[i]`` / ``tree.get(i, default)``: a mapping-style read of one key;
  ``KeyError(i)`` (``default``) where nothing is stored, ``ZERO_ENTRY``
  included; a bad key is an argument error, never a ``KeyError``.
* ``tree.items(first, last)``: the stored ranges meeting ``[first, last]``,
  whole, in key order (like ``iter(tree)``, NULL and ZERO_ENTRY skipped).
* ``reversed(tree)``: ``list(tree)`` backwards.
* ``==``: same non-NULL ranges (ZERO_ENTRY reservations included) with equal
  entries, whatever the flags or the node shape; unhashable.
* ``same_shape``: same height, node types, pivots, gaps and NULL pattern.
* ``repr``: every range of a small tree; a short summary of a big one.
* ``py.typed`` ships with the package.
"""
from __future__ import annotations

import importlib.resources
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maple_tree import (MT_FLAGS_ALLOC_RANGE, ULONG_MAX, ZERO_ENTRY, InvalidArgumentError,
                        InvalidTypeError, MapleError, MapleTree)

from refmodel import Obj, RefModel

M = ULONG_MAX
FLAGS = [0, MT_FLAGS_ALLOC_RANGE]
FLAG_IDS = ["f0", "alloc"]

BAD_KEYS = [("str", "5", InvalidTypeError), ("float", 5.0, InvalidTypeError),
            ("bool", True, InvalidTypeError), ("None", None, InvalidTypeError),
            ("neg", -1, InvalidArgumentError), ("big", M + 1, InvalidArgumentError)]


def small_tree(flags: int = 0) -> MapleTree:
    t = MapleTree(flags)
    t.store_range(10, 19, "a")
    t.store_range(30, 39, "b")
    return t


def same_ranges(got, exp) -> bool:
    return len(got) == len(exp) and all(
        g[:2] == e[:2] and (g[2] is e[2] or (type(e[2]) is int and g[2] == e[2]))
        for g, e in zip(got, exp))


# ---------------------------------------------------------------------------
# random trees: empty to multi-level, direct roots, ZERO_ENTRY ranges

keys = st.one_of(st.integers(0, 60), st.integers(0, 5000), st.sampled_from([0, 1, M - 1, M]),
                 st.integers(0, M))
entries = st.one_of(st.integers(0, 1000), st.builds(Obj), st.just(ZERO_ENTRY))


@st.composite
def tree_ops(draw):
    """A list of ``(first, last, entry-or-None)`` stores."""
    kind = draw(st.sampled_from(["random", "dense", "root", "bulk"]))
    if kind == "root":  # a direct root entry at 0, maybe after other writes emptied the tree
        ops = [(0, 0, draw(st.one_of(st.integers(0, 9), st.builds(Obj))))]
        if draw(st.booleans()):
            ops = [(5, 9, "x"), (0, M, None)] + ops
        return ops
    if kind == "bulk":  # enough ranges for height 2-3
        n = draw(st.integers(20, 600))
        step = draw(st.integers(1, 5))
        base = draw(st.sampled_from([0, 7, M - 4000]))
        zero_every = draw(st.sampled_from([0, 3]))
        ops = [(base + i * step, base + i * step + step // 2,
                ZERO_ENTRY if zero_every and i % zero_every == 0 else i) for i in range(n)]
        if draw(st.booleans()):
            random.Random(draw(st.integers(0, 1000))).shuffle(ops)
        return ops + draw(st.lists(st.tuples(keys, st.integers(0, 50), st.none()).map(
            lambda x: (x[0], min(M, x[0] + x[1]), None)), max_size=5))
    if kind == "dense":
        ops = []
        for a, w, e in draw(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 4),
                                               st.one_of(entries, st.none())), max_size=150)):
            ops.append((a, a + w, e))
        return ops
    ops = []
    for a, b, e in draw(st.lists(st.tuples(keys, keys, st.one_of(entries, st.none())),
                                 max_size=40)):
        ops.append((min(a, b), max(a, b), e))
    return ops


def build(flags: int, ops) -> tuple[MapleTree, RefModel]:
    t, m = MapleTree(flags), RefModel()
    for a, b, e in ops:
        t.store_range(a, b, e)
        m.store_range(a, b, e)
    return t, m


GIVEN = dict(deadline=None)  # tree building times vary a lot with the op list


# ---------------------------------------------------------------------------
# tree[i], get

def test_getitem_examples():
    t = small_tree()
    t.store_range(20, 25, ZERO_ENTRY)
    assert t[10] == "a" and t[19] == "a" and t[30] == "b"
    for k in (0, 9, 20, 25, 26, 40, M):
        with pytest.raises(KeyError) as ei:
            t[k]
        assert ei.value.args == (k,)
    assert t.get(15) == "a" and t.get(5) is None
    assert t.get(5, "d") == "d" and t.get(22, default="d") == "d"  # ZERO_ENTRY: nothing stored
    assert t.get(39, "d") == "b"
    d = MapleTree()
    d.store(0, "r")  # direct root
    assert d[0] == "r" and d.get(1, 7) == 7
    with pytest.raises(KeyError):
        d[1]
    with pytest.raises(KeyError):
        MapleTree()[0]


def test_getitem_stored_falsy_entries():
    t = MapleTree()
    t.store(1, 0)
    t.store(2, "")
    t.store(3, False)
    assert t[1] == 0 and t[2] == "" and t[3] is False
    assert t.get(1, "d") == 0 and t.get(3, "d") is False


@pytest.mark.parametrize("name,key,exc", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
def test_getitem_bad_key_is_not_key_error(name, key, exc):
    t = small_tree()
    with pytest.raises(exc) as ei:
        t[key]
    assert not isinstance(ei.value, KeyError) and isinstance(ei.value, MapleError)
    with pytest.raises(exc) as ei:
        t.get(key, "d")
    assert not isinstance(ei.value, KeyError)


@settings(max_examples=60, **GIVEN)
@given(flags=st.sampled_from(FLAGS), ops=tree_ops(), probes=st.lists(keys, max_size=20))
def test_getitem_matches_load(flags, ops, probes):
    t, m = build(flags, ops)
    sentinel = object()
    probes = list(probes)
    for f, l, _ in m.ranges[:20]:
        probes += [f, l, max(0, f - 1), min(M, l + 1)]
    for k in probes:
        v = m.load(k)
        assert t.get(k, sentinel) is (sentinel if v is None else t.load(k))
        if v is None:
            with pytest.raises(KeyError):
                t[k]
        else:
            assert t[k] is t.load(k)
            assert t[k] is v or (type(v) is int and t[k] == v)


# ---------------------------------------------------------------------------
# items

def test_items_examples():
    t = small_tree()
    assert list(t.items(15, 31)) == [(10, 19, "a"), (30, 39, "b")]
    assert list(t.items()) == list(t) == [(10, 19, "a"), (30, 39, "b")]
    assert list(t.items(19, 19)) == [(10, 19, "a")]
    assert list(t.items(20, 29)) == []
    assert list(t.items(0, 9)) == []
    assert list(t.items(39)) == [(30, 39, "b")]
    assert list(t.items(40)) == []
    assert list(t.items(last=10)) == [(10, 19, "a")]
    assert list(t.items(first=31, last=M)) == [(30, 39, "b")]
    t.store_range(20, 25, ZERO_ENTRY)
    assert list(t.items(15, 31)) == [(10, 19, "a"), (30, 39, "b")]
    it = t.items()
    assert iter(it) is it and next(it) == (10, 19, "a")
    r = MapleTree()
    r.store(0, "r")
    assert list(r.items()) == [(0, 0, "r")] and list(r.items(1)) == []
    assert list(MapleTree().items()) == []


@pytest.mark.parametrize("args,exc", [
    ((5, 3), InvalidArgumentError), ((M, 0), InvalidArgumentError),
    (("a",), InvalidTypeError), ((0, "z"), InvalidTypeError), ((1.0, 5), InvalidTypeError),
    ((True,), InvalidTypeError), ((-1,), InvalidArgumentError), ((0, M + 1), InvalidArgumentError),
], ids=["5>3", "M>0", "first-str", "last-str", "first-float", "first-bool", "first-neg",
        "last-big"])
def test_items_bad_arguments(args, exc):
    t = small_tree()
    with pytest.raises(exc):
        list(t.items(*args))


@settings(max_examples=80, **GIVEN)
@given(flags=st.sampled_from(FLAGS), ops=tree_ops(), data=st.data())
def test_items_matches_model(flags, ops, data):
    t, m = build(flags, ops)
    everything = m.items()
    assert same_ranges(list(t.items()), everything)
    for _ in range(8):
        if everything and data.draw(st.booleans()):
            f, l, _ = data.draw(st.sampled_from(everything))
            a = data.draw(st.sampled_from([max(0, f - 1), f, l, min(M, l + 1)]))
        else:
            a = data.draw(keys)
        b = data.draw(st.one_of(st.integers(a, min(M, a + 5000)), st.integers(a, M), st.just(a)))
        exp = [r for r in everything if r[1] >= a and r[0] <= b]
        assert same_ranges(list(t.items(a, b)), exp), (a, b)


# ---------------------------------------------------------------------------
# reversed

def test_reversed_examples():
    t = small_tree()
    t.store_range(20, 25, ZERO_ENTRY)
    assert list(reversed(t)) == [(30, 39, "b"), (10, 19, "a")]
    assert list(reversed(MapleTree())) == []
    r = MapleTree()
    r.store(0, "r")
    assert list(reversed(r)) == [(0, 0, "r")]


@settings(max_examples=80, **GIVEN)
@given(flags=st.sampled_from(FLAGS), ops=tree_ops())
def test_reversed_is_list_backwards(flags, ops):
    t, m = build(flags, ops)
    got = list(reversed(t))
    assert same_ranges(got, m.items()[::-1])
    assert same_ranges(got, list(t)[::-1])


# ---------------------------------------------------------------------------
# ==, hash

def test_eq_examples():
    a = small_tree()
    b = MapleTree(MT_FLAGS_ALLOC_RANGE)
    b.store_range(30, 39, "b")
    b.store_range(10, 19, "a")
    assert a == b and b == a and not (a != b)
    b.store_range(50, 59, ZERO_ENTRY)  # a reservation is content
    assert a != b and not (a == b)
    a.store_range(50, 59, ZERO_ENTRY)
    assert a == b
    a.store(15, "c")
    assert a != b
    assert MapleTree() == MapleTree(MT_FLAGS_ALLOC_RANGE)
    assert small_tree() != MapleTree()


def test_eq_compares_entries_by_value():
    a, b = MapleTree(), MapleTree()
    a.store_range(0, 5, [1, 2])
    b.store_range(0, 5, [1, 2])
    assert a == b
    b.store_range(0, 5, [1, 3])
    assert a != b


def test_eq_ranges_not_merged():
    """[0, 4] -> x, [5, 9] -> x is not [0, 9] -> x: the ranges differ."""
    a, b = MapleTree(), MapleTree()
    a.store_range(0, 4, "x")
    a.store_range(5, 9, "x")
    b.store_range(0, 9, "x")
    assert a != b


def test_eq_direct_root_and_leaf():
    """Same content, one as a direct root entry, one in a leaf node."""
    a = MapleTree()
    a.store(0, "r")
    b = MapleTree()
    b.store(0, "r")
    b.store(5, "s")
    b.erase(5)
    assert a.height == 0 and b.height == 1
    assert a == b


def test_eq_empty_leaf_and_empty():
    a = MapleTree()
    a.store_range(5, 9, "x")
    a.erase(5)
    assert list(a) == []
    assert a == MapleTree()


def test_eq_other_types_and_hash():
    t = small_tree()
    assert t.__eq__(5) is NotImplemented
    assert t.__eq__(list(t)) is NotImplemented
    assert (t == 5) is False and (t != 5) is True
    assert t != list(t)
    assert t == t
    with pytest.raises(TypeError):
        hash(t)
    with pytest.raises(TypeError):
        {t}


@settings(max_examples=60, **GIVEN)
@given(flags=st.sampled_from(FLAGS), flags2=st.sampled_from(FLAGS), ops=tree_ops(),
       seed=st.integers(0, 1000), data=st.data())
def test_eq_ignores_order_and_flags(flags, flags2, ops, seed, data):
    t, m = build(flags, ops)
    ranges = list(m.ranges)
    random.Random(seed).shuffle(ranges)
    u = MapleTree(flags2)
    for f, l, e in ranges:
        u.store_range(f, l, e)
    assert t == u and u == t and not (t != u)
    # one more entry somewhere breaks it
    k = data.draw(keys)
    u.store(k, Obj())
    assert t != u and not (t == u)
    # a ZERO_ENTRY reservation over a NULL key breaks it too
    free = [k for k in (0, 1, 17, 5001, M) if m._slot(k) is None]
    if free:
        w = MapleTree(flags2)
        for f, l, e in ranges:
            w.store_range(f, l, e)
        w.store(free[0], ZERO_ENTRY)
        assert t != w


# ---------------------------------------------------------------------------
# same_shape

def _ranges_tree(order, flags=0):
    t = MapleTree(flags)
    for i in order:
        t.store_range(10 * i, 10 * i + 5, f"v{i}")
    return t


def test_same_shape_dup_and_values():
    for flags in FLAGS:
        t = _ranges_tree(range(500), flags)
        assert t.same_shape(t.dup()) and t.dup().same_shape(t)
        assert t.same_shape(t)
        u = MapleTree(flags)  # same ranges, other values
        for i in range(500):
            u.store_range(10 * i, 10 * i + 5, i)
        assert t != u and t.same_shape(u)
        u.store_range(10, 15, ZERO_ENTRY)  # still non-NULL
        assert t.same_shape(u)
        u.store_range(10, 15, None)  # NULL pattern changes
        assert not t.same_shape(u)
    assert MapleTree().same_shape(MapleTree())


def test_same_shape_order_matters():
    seq = _ranges_tree(range(200))
    order = list(range(200))
    random.Random(1).shuffle(order)
    rnd = _ranges_tree(order)
    assert seq.structure() != rnd.structure()  # the premise: different node layouts
    assert seq == rnd
    assert not seq.same_shape(rnd) and not rnd.same_shape(seq)


def test_same_shape_pivots_and_null_pattern():
    a, b = MapleTree(), MapleTree()
    a.store_range(10, 19, "x")
    b.store_range(10, 18, "x")
    assert not a.same_shape(b)
    c, d = MapleTree(), MapleTree()
    c.store_range(0, 9, "x")
    c.store_range(10, 19, "y")
    d.store_range(10, 19, "y")  # pivots [9, 19, M] in both, slot 0 NULL only here
    assert not c.same_shape(d)


def test_same_shape_flags_multi_level():
    a = _ranges_tree(range(500), 0)
    b = _ranges_tree(range(500), MT_FLAGS_ALLOC_RANGE)
    assert a.height >= 2 and a == b
    assert not a.same_shape(b)  # range_64 vs arange_64 internal nodes


@pytest.mark.parametrize("other", [None, 5, "tree", [], {"height": 0, "root": None}],
                         ids=repr)
def test_same_shape_needs_a_tree(other):
    with pytest.raises(InvalidTypeError):
        small_tree().same_shape(other)


# ---------------------------------------------------------------------------
# repr

def test_repr_small_tree_shows_ranges():
    t = MapleTree()
    for i in range(8):
        t.store_range(10 * i + 10, 10 * i + 19, chr(ord("a") + i))
    r = repr(t)
    assert "(10, 19, 'a')" in r
    for i in range(8):
        assert repr((10 * i + 10, 10 * i + 19, chr(ord("a") + i))) in r, r
    assert repr(small_tree()).count("(") >= 2 and "(30, 39, 'b')" in repr(small_tree())


def test_repr_big_tree_is_short():
    t = MapleTree()
    for i in range(10_000):
        t.store_range(10 * i, 10 * i + 5, i)
    r = repr(t)
    assert len(r) < 120, r
    assert "entries=10000" in r and "height=" in r, r
    assert f"height={t.height}" in r, r


def test_repr_huge_tree():
    """200,000 ranges: repr stays short (and must be fast: no per-range text)."""
    t = MapleTree(MT_FLAGS_ALLOC_RANGE)
    for i in range(200_000):
        t.store_range(10 * i, 10 * i + 5, i)
    r = repr(t)
    assert len(r) < 120 and "entries=200000" in r, r


# ---------------------------------------------------------------------------
# py.typed

def test_py_typed_marker():
    assert importlib.resources.files("maple_tree").joinpath("py.typed").is_file()


# -- copy, deepcopy, pickle and weak references, in both builds --------------------------------

import copy as _copy  # noqa: E402
import pickle as _pickle  # noqa: E402
import weakref as _weakref  # noqa: E402

from maple_tree import COMPILED as _COMPILED  # noqa: E402
from maple_tree import MT_FLAGS_USE_RCU  # noqa: E402


def _varied_tree(flags: int) -> MapleTree:
    t = MapleTree(flags)
    for i in range(400):
        t.store_range(10 * i, 10 * i + 5, [i])
    t.store_range(5000, 5100, ZERO_ENTRY)
    t.erase(120)
    return t


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU])
def test_deepcopy_is_node_for_node_with_copied_entries(flags):
    t = _varied_tree(flags)
    c = _copy.deepcopy(t)
    c.validate()
    assert c == t and c.same_shape(t) and c.flags == t.flags and len(c) == len(t)
    assert all(a is not b for (_, _, a), (_, _, b) in zip(c, t))
    assert c.load(5050) is None and c.find(5000) == t.find(5000)
    c.store(0, "changed")
    assert t.load(0) == [0]


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
@pytest.mark.parametrize("make", [MapleTree, lambda f: _varied_tree(f),
                                  lambda f: MapleTree.from_ranges([(0, 0, "root")], f)])
def test_pickle_round_trip_keeps_shape_and_contents(flags, make):
    t = make(flags)
    u = _pickle.loads(_pickle.dumps(t))
    u.validate()
    assert u == t and u.same_shape(t) and u.flags == t.flags and len(u) == len(t)


@pytest.mark.skipif(_COMPILED, reason="a compiled (native) class has no __weakref__ slot: "
                                      "weakref.ref(tree) raises TypeError in that build")
def test_weak_reference_to_a_tree():
    t = MapleTree()
    ref = _weakref.ref(t)
    assert ref() is t
