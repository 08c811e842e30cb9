"""Example-based tests of the normal API with exact expected values.

Expected structures come from the kernel recordings in tests/data/conformance
(spec_probes_api_f0, spec_probes_dense16_f0/f1) and the maple-structure/1
format.
"""
from __future__ import annotations

import json

import pytest

from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    RETRY_ENTRY,
    ULONG_MAX,
    ZERO_ENTRY,
    EntryExistsError,
    InternalEntry,
    InvalidArgumentError,
    InvalidTypeError,
    MapleError,
    MapleTree,
)

from refmodel import RefModel, check_structure

M = ULONG_MAX


def canon(tree: MapleTree) -> str:
    return json.dumps(tree.structure(), sort_keys=True, separators=(",", ":"))


def leaf(pivots, slots, lo=0, hi=M):
    return {"max": hi, "min": lo, "pivots": pivots, "slots": slots, "type": "leaf_64"}


def root_of(tree: MapleTree):
    return tree.structure()["root"]


# --------------------------------------------------------------------------
# empty tree and direct root

def test_empty_tree():
    t = MapleTree()
    assert t.empty and t.height == 0 and len(t) == 0
    assert t.structure() == {"height": 0, "root": None}
    assert t.load(0) is None and t.load(M) is None
    assert t.find(0) is None and t.find_after(1) is None
    assert list(t) == []
    assert t.erase(5) is None
    assert t.empty
    assert t.flags == 0 and not t.is_alloc
    t.validate()


def test_direct_root():
    t = MapleTree()
    t.store(0, 7)
    assert t.height == 0 and not t.empty
    assert t.structure() == {"height": 0, "root": {"entry": 7}}
    assert t.load(0) == 7 and t.load(1) is None
    assert list(t) == [(0, 0, 7)] and len(t) == 1
    assert t.find(0) == (0, 0, 7)
    assert t.find(1) is None
    assert t.find_after(0) is None  # wrap guard
    t.validate()


def test_direct_root_null_store_above_zero_keeps_it():
    t = MapleTree()
    t.store(0, 0)
    t.store_range(5, 10, None)
    assert t.structure() == {"height": 0, "root": {"entry": 0}}
    t.store_range(0, 10, None)
    assert t.structure() == {"height": 0, "root": None}
    assert t.empty


def test_direct_root_overwrite_and_erase():
    t = MapleTree()
    t.store(0, 1)
    t.store(0, 2)
    assert t.structure() == {"height": 0, "root": {"entry": 2}}
    assert t.erase(0) == 2
    assert t.empty and t.structure() == {"height": 0, "root": None}


def test_direct_root_insert_conflict():
    t = MapleTree()
    t.insert(0, 3)
    assert t.structure() == {"height": 0, "root": {"entry": 3}}
    before = t.structure()
    with pytest.raises(EntryExistsError) as ei:
        t.insert(0, 4)
    assert ei.value.errno == 17
    assert t.structure() == before


def test_zero_entry_at_0_is_not_a_direct_root():
    # conformance finding 6: XA_ZERO_ENTRY has low bits 10 -> leaf ["zero", null]
    t = MapleTree()
    t.store_range(0, 0, ZERO_ENTRY)
    assert t.structure() == {"height": 1, "root": leaf([0, M], ["zero", None])}
    assert t.load(0) is None
    assert t.find(0) is None
    assert list(t) == [] and len(t) == 0
    with pytest.raises(EntryExistsError):
        t.insert(0, 0)
    assert t.structure() == {"height": 1, "root": leaf([0, M], ["zero", None])}
    assert t.erase(0) is ZERO_ENTRY
    assert t.structure() == {"height": 0, "root": None}


def test_store_range_on_empty():
    t = MapleTree()
    t.store_range(5, 9, 5)
    assert t.structure() == {"height": 1, "root": leaf([4, 9, M], [None, 5, None])}
    assert t.load(4) is None and t.load(5) == 5 and t.load(9) == 5 and t.load(10) is None
    assert list(t) == [(5, 9, 5)]
    t.validate()


def test_root_expand_from_direct_root():
    # spec_probes_api_f0 ops 17..18
    t = MapleTree()
    t.store(0, 0)
    t.store_range(5, 9, 5)
    assert t.structure() == {"height": 1, "root": leaf([0, 4, 9, M], [0, None, 5, None])}


def test_erase_last_entry_empties_tree():
    t = MapleTree()
    t.store_range(5, 9, 5)
    assert t.erase(7) == 5
    assert t.structure() == {"height": 0, "root": None}
    assert t.empty and t.height == 0


def test_null_store_everything_empties_tree():
    t = MapleTree()
    t.store(0, 0)
    t.store_range(5, 9, 5)
    t.store_range(0, M, None)
    assert t.structure() == {"height": 0, "root": None}


def test_exact_fit_erase_of_full_range_keeps_leaf():
    # conformance finding 3 / spec_probes_api_f0 ops 20..21
    t = MapleTree()
    t.store_range(0, M, 0)
    assert t.structure() == {"height": 1, "root": leaf([M], [0])}
    assert t.load(12345) == 0 and list(t) == [(0, M, 0)]
    assert t.erase(7) == 0
    assert t.structure() == {"height": 1, "root": leaf([M], [None])}
    assert not t.empty and len(t) == 0 and list(t) == []
    t.validate()
    # a node root never collapses back to a direct root (ops 22..25)
    t.store(1, 1)
    assert t.structure() == {"height": 1, "root": leaf([0, 1, M], [None, 1, None])}
    t.store(0, 0)
    assert t.structure() == {"height": 1, "root": leaf([0, 1, M], [0, 1, None])}
    assert t.erase(1) == 1
    assert t.structure() == {"height": 1, "root": leaf([0, M], [0, None])}
    assert t.erase(0) == 0
    assert t.structure() == {"height": 0, "root": None}


def test_exact_fit_null_store_of_full_range_keeps_leaf():
    t = MapleTree()
    t.store_range(0, M, "x")
    t.store_range(0, M, None)
    assert t.structure() == {"height": 1, "root": leaf([M], [None])}
    assert not t.empty
    t.validate()


def test_adjacent_equal_entries_not_merged():
    t = MapleTree()
    t.store_range(0, 9, 1)
    t.store_range(10, 19, 1)
    assert t.structure() == {"height": 1, "root": leaf([9, 19, M], [1, 1, None])}
    assert list(t) == [(0, 9, 1), (10, 19, 1)]


def test_overwrite_splits_and_truncates():
    t = MapleTree()
    t.store_range(10, 29, 1)
    t.store_range(15, 19, 2)  # split
    assert t.structure() == {"height": 1, "root": leaf([9, 14, 19, 29, M], [None, 1, 2, 1, None])}
    t.store_range(25, 40, 3)  # truncate right neighbour's tail
    assert t.structure() == {"height": 1,
                             "root": leaf([9, 14, 19, 24, 40, M], [None, 1, 2, 1, 3, None])}
    t.store_range(0, 16, 4)  # cover the start
    assert list(t) == [(0, 16, 4), (17, 19, 2), (20, 24, 1), (25, 40, 3)]
    t.validate()


def test_null_merging():
    t = MapleTree()
    t.store_range(10, 19, 10)
    t.store_range(20, 29, 20)
    t.store_range(30, 39, 30)
    assert t.structure() == {"height": 1,
                             "root": leaf([9, 19, 29, 39, M], [None, 10, 20, 30, None])}
    assert t.erase(25) == 20
    assert t.structure() == {"height": 1,
                             "root": leaf([9, 19, 29, 39, M], [None, 10, None, 30, None])}
    assert t.erase(10) == 10  # merges with both NULL neighbours
    assert t.structure() == {"height": 1, "root": leaf([29, 39, M], [None, 30, None])}
    t.store_range(35, 50, None)  # NULL store merging with the NULL to its right
    assert t.structure() == {"height": 1, "root": leaf([29, 34, M], [None, 30, None])}
    t.store_range(20, 31, None)  # ... and to its left
    assert t.structure() == {"height": 1, "root": leaf([31, 34, M], [None, 30, None])}
    t.validate()


def test_erase_of_empty_index_is_noop():
    t = MapleTree()
    t.store_range(10, 19, 10)
    before = t.structure()
    assert t.erase(5) is None
    assert t.erase(M) is None
    assert t.structure() == before


# --------------------------------------------------------------------------
# dense16: the split point (spec correction 1)

DENSE16_F0 = ('{"height":2,"root":{"max":18446744073709551615,"min":0,"pivots":[8,18446744073709551615],'
              '"slots":[{"max":8,"min":0,"pivots":[0,1,2,3,4,5,6,7,8],"slots":[0,1,2,3,4,5,6,7,8],'
              '"type":"leaf_64"},{"max":18446744073709551615,"min":9,"pivots":[9,10,11,12,13,14,15,'
              '18446744073709551615],"slots":[9,10,11,12,13,14,15,null],"type":"leaf_64"}],'
              '"type":"range_64"}}')
# the kernel's structure after the last op of spec_probes_dense16_f1
DENSE16_F1 = ('{"height":2,"root":{"gaps":[0,18446744073709551600],"max":18446744073709551615,"min":0,'
              '"pivots":[8,18446744073709551615],"slots":[{"max":8,"min":0,"pivots":[0,1,2,3,4,5,6,7,8],'
              '"slots":[0,1,2,3,4,5,6,7,8],"type":"leaf_64"},{"max":18446744073709551615,"min":9,'
              '"pivots":[9,10,11,12,13,14,15,18446744073709551615],"slots":[9,10,11,12,13,14,15,null],'
              '"type":"leaf_64"}],"type":"arange_64"}}')


@pytest.mark.parametrize("flags,expected", [(0, DENSE16_F0), (MT_FLAGS_ALLOC_RANGE, DENSE16_F1)])
def test_dense16(flags, expected):
    t = MapleTree(flags)
    for i in range(15):
        t.store(i, i)
    # keys 0..14: one full leaf, NULL [15..MAX]
    assert t.structure() == {"height": 1,
                             "root": leaf(list(range(15)) + [M], list(range(15)) + [None])}
    t.store(15, 15)
    assert canon(t) == expected
    assert t.height == 2
    assert json.loads(expected)["root"]["gaps" if flags else "type"] == (
        [0, M - 15] if flags else "range_64")
    t.validate()
    assert list(t) == [(i, i, i) for i in range(16)]


# --------------------------------------------------------------------------
# mt_find semantics (spec_probes_api_f0 ops 31..39)

def _find_tree():
    t = MapleTree()
    t.store_range(100, M, 100)
    t.store_range(10, 19, 10)
    t.store_range(20, 29, 20)
    t.store_range(30, 39, ZERO_ENTRY)
    t.store_range(40, 49, 40)
    return t


def test_find():
    t = _find_tree()
    assert t.structure() == {"height": 1, "root": leaf(
        [9, 19, 29, 39, 49, 99, M], [None, 10, 20, "zero", 40, None, 100])}
    assert t.find(200) == (100, M, 100)  # range starting before index
    assert t.find(50, 99) is None
    assert t.find(101, 100) is None  # index > max
    assert t.find(30) == (40, 49, 40)  # skips the zero entry
    assert t.find(0, 10) == (10, 19, 10)  # start <= max suffices
    assert t.find(0, 9) is None
    assert t.find(25, 25) == (20, 29, 20)
    assert t.find(M) == (100, M, 100)
    assert t.find_after(0) is None
    assert t.find_after(1) == (10, 19, 10)
    assert t.find_after(50) == (100, M, 100)


def test_for_each_idiom():
    # mt_for_each: find, then find_after(last + 1) until None; wraps to 0 after ULONG_MAX
    t = _find_tree()
    got = []
    r = t.find(0)
    while r is not None:
        got.append(r)
        r = t.find_after((r[1] + 1) & M)
    assert got == [(10, 19, 10), (20, 29, 20), (40, 49, 40), (100, M, 100)]
    assert list(t) == got and len(t) == 4


def test_load_hides_zero_erase_returns_it():
    t = _find_tree()
    assert t.load(35) is None
    assert t.erase(35) is ZERO_ENTRY
    assert t.load(35) is None
    assert t.erase(35) is None


def test_next_prev():
    # spec_probes_api_f0 ops 41..48 (mt_next/mt_prev from a fresh state)
    t = _find_tree()
    assert t.next(15) == (20, 29, 20)
    assert t.next(25) == (30, 39, ZERO_ENTRY)  # may return the zero entry
    assert t.next(60, 99) is None
    assert t.next(60, 100) == (100, M, 100)
    assert t.prev(25) == (10, 19, 10)
    assert t.prev(0) is None
    assert t.prev(55) == (40, 49, 40)
    assert t.prev(45) == (30, 39, ZERO_ENTRY)
    assert t.prev(5) is None


def test_prev_direct_root_quirk():
    # spec 5.6: a direct root entry is returned even when min > 0
    t = MapleTree()
    t.store(0, 9)
    assert t.prev(10, 5) == (0, 0, 9)
    assert t.next(0) is None


# --------------------------------------------------------------------------
# insert

def test_insert_semantics():
    t = _find_tree()
    before = t.structure()
    for first, last in [(35, 36), (30, 30), (0, 10), (9, 10), (49, 50), (1, M), (101, 101)]:
        with pytest.raises(EntryExistsError) as ei:
            t.insert_range(first, last, 1)
        assert ei.value.errno == 17 and isinstance(ei.value, MapleError)
        assert t.structure() == before
    t.insert_range(0, 9, 0)
    t.insert_range(50, 99, 50)
    assert list(t) == [(0, 9, 0), (10, 19, 10), (20, 29, 20), (40, 49, 40), (50, 99, 50),
                       (100, M, 100)]
    with pytest.raises(EntryExistsError):
        t.insert(M, 1)


def test_insert_into_empty_and_null_ranges():
    t = MapleTree()
    t.insert_range(5, 9, 5)
    assert t.structure() == {"height": 1, "root": leaf([4, 9, M], [None, 5, None])}
    t.insert(0, 0)
    assert t.structure() == {"height": 1, "root": leaf([0, 4, 9, M], [0, None, 5, None])}
    t.insert_range(10, M, 10)
    assert list(t) == [(0, 0, 0), (5, 9, 5), (10, M, 10)]


# --------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("call", [
    lambda t: t.store_range(5, 4, 1),
    lambda t: t.insert_range(5, 4, 1),
    lambda t: t.store_range(-1, 4, 1),
    lambda t: t.store(M + 1, 1),
    lambda t: t.insert(-1, 1),
    lambda t: t.store_range(0, M + 1, 1),
    lambda t: t.store(3, RETRY_ENTRY),
    lambda t: t.insert(3, RETRY_ENTRY),
    lambda t: t.store_range(0, 0, RETRY_ENTRY),
    lambda t: t.store(3, InternalEntry(1)),
    lambda t: t.load(-1),
    lambda t: t.erase(M + 1),
])
@pytest.mark.parametrize("populated", [False, True])
def test_invalid_argument(call, populated):
    t = MapleTree()
    if populated:
        t.store_range(10, 19, 10)
    before = t.structure()
    with pytest.raises(InvalidArgumentError) as ei:
        call(t)
    assert ei.value.errno == 22
    assert isinstance(ei.value, ValueError) and isinstance(ei.value, MapleError)
    assert t.structure() == before


@pytest.mark.parametrize("call", [
    lambda t: t.store(1.0, 1),
    lambda t: t.store_range("3", 4, 1),
    lambda t: t.insert(None, 1),
    lambda t: t.load(2.5),
    lambda t: t.erase("0"),
])
def test_invalid_type(call):
    t = MapleTree()
    t.store_range(10, 19, 10)
    before = t.structure()
    with pytest.raises(InvalidTypeError) as ei:
        call(t)
    assert ei.value.errno == 22 and isinstance(ei.value, TypeError)
    assert t.structure() == before


def test_zero_entry_store_allowed():
    t = MapleTree()
    t.store_range(3, 8, ZERO_ENTRY)
    assert t.structure() == {"height": 1, "root": leaf([2, 8, M], [None, "zero", None])}
    assert len(t) == 0 and t.load(5) is None


# --------------------------------------------------------------------------
# dup / destroy

@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
def test_dup_and_destroy(flags):
    t = MapleTree(flags)
    model = RefModel()
    for i in range(0, 600, 3):
        t.store_range(i, i + 1, i)
        model.store_range(i, i + 1, i)
    t.store_range(1000, 1010, ZERO_ENTRY)
    model.store_range(1000, 1010, ZERO_ENTRY)
    assert t.height >= 3
    c = t.dup()
    assert c.flags == t.flags and c.structure() == t.structure()
    c.validate()
    before = t.structure()
    c.store_range(0, 500, None)
    c.store(7, "x")
    assert t.structure() == before
    check_structure(t.structure(), model, bool(flags))
    c.destroy()
    assert c.empty and c.height == 0 and c.flags == flags
    assert c.structure() == {"height": 0, "root": None}
    assert t.structure() == before
    t.destroy()
    assert t.empty and t.flags == flags and list(t) == [] and len(t) == 0
    t.store_range(5, 9, 5)  # usable after destroy
    assert t.structure() == {"height": 1, "root": leaf([4, 9, M], [None, 5, None])}


def test_dup_of_empty_and_direct_root():
    t = MapleTree()
    c = t.dup()
    assert c.structure() == {"height": 0, "root": None}
    t.store(0, 1)
    c = t.dup()
    assert c.structure() == {"height": 0, "root": {"entry": 1}}
    c.store(0, 2)
    assert t.load(0) == 1


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
def test_insert_everything_leaf_root_quirk(flags):
    # Linux 6.12.117: on a height-1 leaf root with more than one slot, an insert of
    # exactly [0, ULONG_MAX] is a wr_new_root store, for which mas_insert skips its
    # occupancy check: it succeeds and replaces everything (conformance corpus
    # rnd_edges_f0 op 15 and others).  At height >= 2 it is a spanning store: EEXIST.
    t = MapleTree(flags)
    t.store_range(0, 0, ZERO_ENTRY)
    t.store_range(21, 24, 21)
    t.insert_range(0, M, 0)
    assert t.structure() == {"height": 1, "root": leaf([M], [0])}
    # single occupied slot [0, MAX]: exact fit, occupied -> EEXIST
    with pytest.raises(EntryExistsError):
        t.insert_range(0, M, 1)
    for i in range(16):
        t.store(i, i)
    assert t.height == 2
    before = t.structure()
    with pytest.raises(EntryExistsError):
        t.insert_range(0, M, 1)
    assert t.structure() == before
