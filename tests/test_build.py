"""The bottom-up builder ``maple_tree.build.build_into``.

* a hypothesis differential test: random sorted range lists (0..2000 ranges,
  dense and sparse, adjacent ranges, ranges touching 0 and ULONG_MAX,
  ZERO_ENTRY and None entries, both flag sets, several fills) built bottom-up
  hold what one-by-one stores hold, pass the strict ``validate()``, and then
  behave like the store-built tree (and the reference model) under random
  writes, validated after each;
* exact structures of the small cases, which must be what stores build;
* bad input: exception type, a message naming the item and the value, the
  tree left empty; the iterable consumed once;
* node occupancy and the fill rule at the sizes where a level's last node
  would be short, for both flag sets and several fills;
* ``benchmarks/fill.py`` at a tiny N.
"""
from __future__ import annotations

import gc
import importlib.util
import random
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    RETRY_ENTRY,
    ULONG_MAX,
    ZERO_ENTRY,
    EntryExistsError,
    InternalEntry,
    InvalidArgumentError,
    InvalidTypeError,
    MapleTree,
)
from maple_tree.build import (
    DEFAULT_FILL,
    FILL_MAX,
    FILL_MIN,
    build_into,
    internal_fill,
)
from maple_tree.constants import ARANGE_64, LEAF_64, MT_MIN_SLOTS, MT_SLOTS, RANGE_64
from maple_tree.node import Node, RootEntry

from refmodel import RefModel

M = ULONG_MAX
FLAGS = (0, MT_FLAGS_ALLOC_RANGE)


# -- helpers ------------------------------------------------------------------------------------


def built(ranges: Any, flags: int = 0, fill: int = DEFAULT_FILL) -> MapleTree:
    tree = MapleTree(flags)
    build_into(tree, ranges, fill)
    return tree


def stored(ranges: list[tuple[int, int, Any]], flags: int = 0) -> MapleTree:
    tree = MapleTree(flags)
    for first, last, entry in ranges:
        tree.store_range(first, last, entry)
    return tree


def levels(tree: MapleTree) -> list[list[Node]]:
    """The nodes of each level, root first."""
    root = tree._root
    if not isinstance(root, Node):
        return []
    out = [[root]]
    while out[-1][0].type != LEAF_64:
        out.append([child for node in out[-1] for child in node.slots])
    return out


def assert_empty(tree: MapleTree) -> None:
    assert tree._root is None and tree._height == 0 and tree._nodes_made == 0
    assert list(tree) == [] and tree.structure() == {"height": 0, "root": None}


def make_ranges(n: int, seed: int, *, gap_p: float, span: int, start0: bool, to_max: bool,
                zero_p: float = 0.0, none_p: float = 0.0) -> list[tuple[int, int, Any]]:
    """``n`` sorted, non-overlapping ranges: lengths 1..span, a gap of 1..span
    keys before a range with probability ``gap_p`` (else adjacent)."""
    rng = random.Random(seed)
    out: list[tuple[int, int, Any]] = []
    key = 0 if start0 else rng.randint(1, span)
    for i in range(n):
        if i and rng.random() < gap_p:
            key += rng.randint(1, span)
        last = key + rng.randint(1, span) - 1
        roll = rng.random()
        entry: Any = ZERO_ENTRY if roll < zero_p else None if roll < zero_p + none_p else i
        out.append((key, last, entry))
        key = last + 1
    if to_max and out:
        first, _last, entry = out[-1]
        out[-1] = (first, M, entry)
    return out


# -- the differential test --------------------------------------------------------------------

recipes = st.fixed_dictionaries({
    "n": st.one_of(st.integers(0, 40), st.integers(0, 2000)),
    "seed": st.integers(0, 2**32),
    "gap_p": st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
    "span": st.sampled_from([1, 3, 100, 2**40, 2**50]),   # dense .. sparse over 64 bits
    "start0": st.booleans(),
    "to_max": st.booleans(),
    "zero_p": st.sampled_from([0.0, 0.0, 0.05, 0.5]),
    "none_p": st.sampled_from([0.0, 0.0, 0.05, 0.3]),
})

small_keys = st.one_of(st.integers(0, 3000), st.sampled_from([0, 1, M - 1, M]),
                       st.integers(0, M))


@st.composite
def ops(draw: Any) -> list[tuple[str, int, int, Any]]:
    """Random writes; an op's keys may be far from the tree's ranges."""
    out = []
    for step in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["store", "store", "erase", "insert", "null"]))
        first = draw(small_keys)
        last = min(M, first + draw(st.sampled_from([0, 1, 5, 50, 1000, 2**45, M])))
        out.append((kind, first, last, ZERO_ENTRY if step % 7 == 3 else f"w{step}"))
    return out


def _place(op: tuple[str, int, int, Any], ranges: list[tuple[int, int, Any]],
           pick: int) -> tuple[str, int, int, Any]:
    """Move about half the ops onto a stored range, so they hit the tree."""
    kind, first, last, entry = op
    if ranges and pick % 2:
        f, _l, _e = ranges[pick % len(ranges)]
        first, last = f, min(M, f + (last - first))
    return kind, first, last, entry


@settings(max_examples=200, deadline=None)
@given(recipe=recipes, flags=st.sampled_from(FLAGS),
       fill=st.sampled_from([FILL_MIN, 10, DEFAULT_FILL, 13, FILL_MAX]),
       as_generator=st.booleans(), op_list=ops(), picks=st.lists(st.integers(0, 10**6),
                                                                  min_size=25, max_size=25))
def test_build_equals_stores_and_survives_writes(recipe, flags, fill, as_generator, op_list,
                                                 picks):
    ranges = make_ranges(**recipe)
    a = built((r for r in ranges) if as_generator else ranges, flags, fill)
    b = stored(ranges, flags)
    model = RefModel([r for r in ranges if r[2] is not None])
    a.validate()  # strict: exempt_rightmost=False
    assert list(a) == list(b) == model.items()
    assert a == b
    assert len(a) == len(b)
    if a.height <= 1:  # at most one leaf: the shape is fixed by the contents
        assert a.structure() == b.structure()
    for op, pick in zip(op_list, picks):
        kind, first, last, entry = _place(op, ranges, pick)
        if kind == "store":
            a.store_range(first, last, entry)
            b.store_range(first, last, entry)
            model.store_range(first, last, entry)
        elif kind == "null":
            a.store_range(first, last, None)
            b.store_range(first, last, None)
            model.store_range(first, last, None)
        elif kind == "erase":
            assert a.erase(first) is b.erase(first) is model.erase(first)
        else:
            if first == 0 and last == M:
                continue  # 6.12.117's leaf-root insert quirk depends on the shape
            outcome = []
            for target in (a, b, model):
                try:
                    target.insert_range(first, last, entry)
                    outcome.append(True)
                except EntryExistsError:
                    outcome.append(False)
            assert outcome[0] == outcome[1] == outcome[2]
        a.validate()
        assert list(a) == list(b) == model.items()
        assert a == b


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("shape", ["vma", "dense", "sparse"])
def test_larger_trees_equal_stores(flags, shape):
    kw = {"vma": dict(gap_p=0.5, span=64), "dense": dict(gap_p=0.0, span=1),
          "sparse": dict(gap_p=1.0, span=2**44)}[shape]
    ranges = make_ranges(30_000, 7, start0=False, to_max=False, zero_p=0.01, **kw)
    a = built(ranges, flags)
    b = stored(ranges, flags)
    a.validate()
    assert a.height >= 4
    assert list(a) == list(b) and a == b


# -- exact structures -----------------------------------------------------------------------------

SMALL_CASES = {
    "nothing": [],
    "only None entries": [(0, 5, None), (9, M, None)],
    "[0, 0] direct root": [(0, 0, "a")],
    "[0, 0] and None entries": [(0, 0, "a"), (1, 5, None), (7, M, None)],
    "[0, 0] ZERO_ENTRY": [(0, 0, ZERO_ENTRY)],
    "[0, 0] InternalEntry(300)": [(0, 0, InternalEntry(300))],
    "[0, 0] int 0": [(0, 0, 0)],
    "one range elsewhere": [(5, 9, "a")],
    "one range from 0": [(0, 5, "a")],
    "one range to ULONG_MAX": [(3, M, "a")],
    "everything": [(0, M, "a")],
    "[ULONG_MAX]": [(M, M, "a")],
    "two adjacent": [(5, 9, "a"), (10, 12, "b")],
    "two at [0] [1]": [(0, 0, "a"), (1, 1, "b")],
    "a few with gaps": [(1, 1, "a"), (3, 4, "b"), (5, 5, "c"), (100, 2**40, ZERO_ENTRY),
                        (M - 1, M, "d")],
    "16 slots": [(2 * i, 2 * i, i) for i in range(8)],  # 8 entries, 8 NULL
    "16 slots, last at ULONG_MAX": [(i, i, i) for i in range(15)] + [(15, M, "z")],
}


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("name", sorted(SMALL_CASES))
def test_small_cases_are_what_stores_build(name, flags):
    ranges = SMALL_CASES[name]
    a = built(ranges, flags)
    b = stored(ranges, flags)
    a.validate()
    assert a.structure() == b.structure()
    assert list(a) == list(b) and a == b
    nodes = sum(len(level) for level in levels(a))
    assert a._nodes_made == nodes


def test_small_case_shapes():
    assert_empty(built([]))
    assert_empty(built(iter([(3, 9, None)])))
    t = built([(0, 0, "a")])
    assert isinstance(t._root, RootEntry) and t._root.entry == "a" and t.height == 0
    assert t._nodes_made == 0
    t = built([(0, 0, ZERO_ENTRY)])
    assert t.structure()["root"]["slots"] == ["zero", None] and t.height == 1
    t = built([(5, 9, "a")])
    root = t.structure()["root"]
    assert (root["pivots"], root["slots"], t.height) == ([4, 9, M], [None, {"value": "a"}, None], 1)
    assert t._nodes_made == 1
    t = built([(i, i, i) for i in range(16)])  # 17 slots: two leaves under a root
    assert t.height == 2 and [len(leaf.slots) for leaf in t._root.slots] == [8, 9]


# -- bad input ---------------------------------------------------------------------------------

BAD = [
    # (ranges, exception, words the message must contain)
    (5, InvalidTypeError, ["ranges", "int 5"]),
    (None, InvalidTypeError, ["ranges", "None"]),
    ([(1, 2, "a"), "abc"], InvalidTypeError, ["ranges[1]", "str 'abc'"]),
    ([(1, 2, "a"), (3, 4)], InvalidTypeError, ["ranges[1]", "not 2", "(3, 4)"]),
    ([(1, 2, "a"), (3, 4, 5, 6)], InvalidTypeError, ["ranges[1]", "not 4", "(3, 4, 5, 6)"]),
    ([None], InvalidTypeError, ["ranges[0]", "None"]),
    ([{1, 2, 3}], InvalidTypeError, ["ranges[0]", "set"]),
    ([(1.0, 2, "a")], InvalidTypeError, ["ranges[0]: first", "float 1.0"]),
    ([(1, 2, "a"), (3, "4", "b")], InvalidTypeError, ["ranges[1]: last", "str '4'"]),
    ([(True, 2, "a")], InvalidTypeError, ["ranges[0]: first", "bool True"]),
    ([(-1, 2, "a")], InvalidArgumentError, ["ranges[0]: first -1", "0..ULONG_MAX"]),
    ([(1, 2**64, "a")], InvalidArgumentError, ["ranges[0]: last 18446744073709551616"]),
    ([(1, 2, "a"), (5, 3, "b")], InvalidArgumentError, ["ranges[1]: first 5 > last 3"]),
    ([(10, 19, "a"), (30, 39, "b"), (20, 25, "c")], InvalidArgumentError,
     ["ranges[2]: first 20 <= previous last 39", "sorted"]),
    ([(10, 19, "a"), (19, 25, "b")], InvalidArgumentError,
     ["ranges[1]: first 19 <= previous last 19"]),
    ([(5, 5, "a"), (5, 5, "b")], InvalidArgumentError, ["ranges[1]: first 5 <= previous last 5"]),
    ([(10, 19, None), (15, 25, "b")], InvalidArgumentError,
     ["ranges[1]: first 15 <= previous last 19"]),
    ([(1, 2, "a"), (3, 4, RETRY_ENTRY)], InvalidArgumentError, ["ranges[1]", "RETRY_ENTRY"]),
    ([(1, 2, InternalEntry(3))], InvalidArgumentError, ["ranges[0]", "InternalEntry(3)"]),
    ([(i, i, i) for i in range(6000)] + [(5990, 7000, "late")], InvalidArgumentError,
     ["ranges[6000]: first 5990 <= previous last 5999"]),
]


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("ranges, exc, words", BAD,
                         ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_builds_nothing(ranges, exc, words, flags):
    tree = MapleTree(flags)
    with pytest.raises(exc) as info:
        build_into(tree, ranges)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert_empty(tree)
    assert info.value.errno == 22


@pytest.mark.parametrize("fill, exc, words", [
    (FILL_MIN - 1, InvalidArgumentError, ["fill 7", "8..16"]),
    (FILL_MAX + 1, InvalidArgumentError, ["fill 17", "8..16"]),
    (12.0, InvalidTypeError, ["fill", "float 12.0"]),
    ("12", InvalidTypeError, ["fill", "str '12'"]),
    (True, InvalidTypeError, ["fill", "bool True"]),
])
def test_bad_fill(fill, exc, words):
    tree = MapleTree()
    pulled = []
    with pytest.raises(exc) as info:
        build_into(tree, (pulled.append(i) or (i, i, i) for i in range(5)), fill)
    for word in words:
        assert word in str(info.value)
    assert pulled == []  # checked before the ranges are read
    assert_empty(tree)


def test_tree_must_be_empty():
    tree = MapleTree()
    tree.store_range(5, 9, "x")
    before = tree.structure()
    with pytest.raises(InvalidArgumentError, match="empty tree"):
        build_into(tree, [(20, 29, "y")])
    assert tree.structure() == before
    direct = MapleTree()
    direct.store(0, "x")
    with pytest.raises(InvalidArgumentError, match="RootEntry"):
        build_into(direct, [])


def test_iterable_error_propagates_and_builds_nothing():
    def ranges():
        yield (1, 2, "a")
        yield (5, 9, "b")
        raise KeyError("from the caller")

    tree = MapleTree(MT_FLAGS_ALLOC_RANGE)
    with pytest.raises(KeyError, match="from the caller"):
        build_into(tree, ranges())
    assert_empty(tree)


def test_generator_is_consumed_once():
    pulled = []

    def ranges():
        for i in range(1000):
            pulled.append(i)
            yield (3 * i, 3 * i + 1, i)

    gen = ranges()
    tree = built(gen, MT_FLAGS_ALLOC_RANGE)
    assert pulled == list(range(1000))
    assert next(gen, "done") == "done"
    tree.validate()
    assert list(tree) == [(3 * i, 3 * i + 1, i) for i in range(1000)]


def test_other_item_and_key_types():
    class Key(int):
        pass

    Span = namedtuple("Span", "first last entry")
    tree = built([[1, 2, "list"], Span(4, 5, "named"), (Key(7), Key(8), "subclass"),
                  range(10, 13)])
    tree.validate()
    assert list(tree) == [(1, 2, "list"), (4, 5, "named"), (7, 8, "subclass"), (10, 11, 12)]
    assert all(type(p) is int for p in tree._root.pivots)


def test_gc_state_is_restored():
    ranges = [(i, i, i) for i in range(500)]
    assert gc.isenabled()
    built(ranges)
    assert gc.isenabled()
    gc.disable()
    try:
        built(ranges)
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- occupancy and the fill rule ------------------------------------------------------------------


def check_fill_rule(tree: MapleTree, fill: int) -> None:
    """Every node but the last two of its level holds its level's fill (a leaf
    one fewer where its last slot would be NULL); the last two hold at least
    the minimum; every internal node of a level has the tree's internal type."""
    all_levels = levels(tree)
    for depth, level in enumerate(all_levels):
        if len(level) == 1:
            continue
        kind = level[0].type
        per = fill if kind == LEAF_64 else internal_fill(fill, kind)
        least = MT_MIN_SLOTS[kind] + 1
        for i, node in enumerate(level):
            size = len(node.slots)
            assert least <= size <= MT_SLOTS[kind], (depth, i, size)
            if i < len(level) - 2:
                if kind == LEAF_64 and size == per - 1:
                    assert level[i + 1].slots[0] is None  # the NULL went to the next leaf
                else:
                    assert size == per, (depth, i, size, per)


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("fill", [FILL_MIN, 10, 12, 13, 14, FILL_MAX])
def test_occupancy_at_level_edges(flags, fill):
    """Sizes where the last leaf would get 1..fill slots (1..6 are short), on
    leaf levels with and without NULL slots, and leaf counts where the last
    internal node would be short."""
    per = internal_fill(fill, ARANGE_64 if flags else RANGE_64)
    sizes = set(range(0, 4 * fill + 2))
    for leaves in (per + 1, 2 * per, MT_SLOTS[ARANGE_64 if flags else RANGE_64] + 1,
                   per * per + 1, per * per + 6):
        sizes.update(range(leaves * fill - 8, leaves * fill + 8))
    for n in sorted(sizes):
        for pattern in ("dense", "alternate", "dense to ULONG_MAX"):
            if pattern == "alternate":  # entry, NULL, entry, NULL...: n + n slots
                ranges = [(2 * i, 2 * i, i) for i in range(n)]
            else:
                ranges = [(i, i, i) for i in range(n)]
                if pattern == "dense to ULONG_MAX" and n:
                    ranges[-1] = (n - 1, M, n - 1)
            tree = built(ranges, flags, fill)
            tree.validate()
            check_fill_rule(tree, fill)
            assert list(tree) == [r for r in ranges if r[2] is not ZERO_ENTRY]


def test_internal_fill():
    assert [internal_fill(f, RANGE_64) for f in range(FILL_MIN, FILL_MAX + 1)] == list(
        range(8, 17))
    assert [internal_fill(f, ARANGE_64) for f in range(FILL_MIN, FILL_MAX + 1)] == [
        5, 6, 6, 7, 8, 8, 9, 9, 10]


def test_node_count_and_gaps_of_a_deep_allocation_tree():
    ranges = [(10 * i, 10 * i + 3 + i % 5, i) for i in range(5000)]
    tree = built(ranges, MT_FLAGS_ALLOC_RANGE, FILL_MIN)
    tree.validate()  # checks every gap exactly
    assert tree.height >= 5
    assert tree._nodes_made == sum(len(level) for level in levels(tree))
    assert all(node.type == ARANGE_64 for level in levels(tree)[:-1] for node in level)
    assert tree._root.gaps is not None and max(tree._root.gaps) == M - (10 * 4999 + 3 + 4)


# -- the benchmark ---------------------------------------------------------------------------------


def test_fill_benchmark_tiny(capsys):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "fill.py"
    spec = importlib.util.spec_from_file_location("bench_fill", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--n", "2000", "--fill", "8", "--fill", "16"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("vma", "dense"))]
    assert len(rows) == 2 * 2 * 3  # workloads x flag sets x (2 fills + stores)
    assert {row[3] for row in rows} == {"8", "16", "stores"}
    assert out.count("build vs one-by-one stores") == 4
