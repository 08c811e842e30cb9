"""Property tests: MapleTree driven against the dumb reference model (refmodel.py).

* ``MapleMachine``: a hypothesis rule-based state machine doing random stores,
  NULL stores, inserts (successful and failing), erases, bulk runs of small
  ranges (to reach height 3-4), dup and destroy, on flags 0 and
  MT_FLAGS_ALLOC_RANGE.  After every write ``tree.validate()`` runs; after
  every step the whole structure is checked against the model and the
  kernel's shape invariants (refmodel.check_structure) and iteration, len
  and some loads are compared.
* plain ``@given`` tests for errors (tree unchanged after every failed call),
  mt_find iteration, len, load and erase of zero entries.

The ``slow`` variants run many more examples (CI deselects ``-m slow``).
"""
from __future__ import annotations


import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

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

from machines import machine_case
from refmodel import Obj, RefModel, check_structure, insert_quirk_applies

M = ULONG_MAX

# ---------------------------------------------------------------------------
# strategies




EDGE_KEYS = [0, 1, 2, 15, 16, 17, 255, 256, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**63 + 1,
             M - 16, M - 15, M - 2, M - 1, M]

tiny_keys = st.integers(0, 40)
keys = st.one_of(
    tiny_keys,
    st.integers(0, 3000),
    st.sampled_from(EDGE_KEYS),
    st.integers(0, M),
)


@st.composite
def ranges(draw):
    kind = draw(st.integers(0, 7))
    if kind == 0:  # single key
        k = draw(keys)
        return k, k
    if kind == 1:  # tiny dense
        a = draw(tiny_keys)
        return a, a + draw(st.integers(0, 3))
    if kind == 2:  # mid-size
        a = draw(st.integers(0, 3000))
        return a, a + draw(st.integers(0, 400))
    if kind == 3:  # touching 0
        return 0, draw(keys)
    if kind == 4:  # touching ULONG_MAX
        return draw(keys), M
    if kind == 5:  # huge
        return draw(st.integers(0, 50)), M - draw(st.integers(0, 50))
    if kind == 6:  # near the top
        a = M - draw(st.integers(0, 60))
        return a, min(M, a + draw(st.integers(0, 5)))
    a, b = draw(keys), draw(keys)  # anything
    return min(a, b), max(a, b)


small_ints = st.integers(0, 1000)
entries = st.one_of(small_ints, small_ints, st.just(ZERO_ENTRY), st.builds(Obj))
maybe_null = st.one_of(entries, st.none())

# ---------------------------------------------------------------------------
# the state machine


class MapleMachine(RuleBasedStateMachine):
    FLAGS = 0
    MAX_RANGES = 2500  # keep steps cheap: the model is O(n)

    def __init__(self) -> None:
        super().__init__()
        self.tree = MapleTree(self.FLAGS)
        self.model = RefModel()
        self.alloc = bool(self.FLAGS & MT_FLAGS_ALLOC_RANGE)
        self.max_height = 0

    # -- helpers --------------------------------------------------------
    def _validate(self) -> None:
        self.tree.validate()

    def _boundary_key(self, data) -> int:
        """A key at an existing range boundary, +-1 (where the bugs live)."""
        if not self.model.ranges:
            return data.draw(keys)
        f, l, _ = data.draw(st.sampled_from(self.model.ranges))
        k = data.draw(st.sampled_from([f - 1, f, f + 1, l - 1, l, l + 1]))
        return min(max(k, 0), M)

    def _store(self, first: int, last: int, entry) -> None:
        self.tree.store_range(first, last, entry)
        self.model.store_range(first, last, entry)
        self._validate()

    # -- writes ---------------------------------------------------------
    @rule(r=ranges(), entry=entries)
    def store(self, r, entry):
        self._store(r[0], r[1], entry)

    @rule(k=keys, entry=entries)
    def store_single(self, k, entry):
        self.tree.store(k, entry)
        self.model.store(k, entry)
        self._validate()

    @rule(r=ranges())
    def store_null(self, r):
        self._store(r[0], r[1], None)

    @rule(data=st.data(), entry=maybe_null)
    def store_at_boundary(self, data, entry):
        a = self._boundary_key(data)
        b = self._boundary_key(data) if data.draw(st.booleans()) else a + data.draw(st.integers(0, 20))
        first, last = min(a, b), min(max(a, b), M)
        self._store(first, last, entry)

    @rule(data=st.data())
    def store_null_exact(self, data):
        """NULL over exactly an existing range, or spanning several (merging)."""
        if not self.model.ranges:
            return
        i = data.draw(st.integers(0, len(self.model.ranges) - 1))
        j = data.draw(st.integers(i, min(i + 40, len(self.model.ranges) - 1)))
        self._store(self.model.ranges[i][0], self.model.ranges[j][1], None)

    def _insert(self, first: int, last: int, entry) -> None:
        before = self.tree.structure()
        quirk = insert_quirk_applies(before)
        expected = self.model.copy()
        try:
            expected.insert_range(first, last, entry, leaf_root_quirk=quirk)
        except EntryExistsError:
            with pytest.raises(EntryExistsError) as ei:
                self.tree.insert_range(first, last, entry)
            assert ei.value.errno == 17
            assert self.tree.structure() == before, "failed insert changed the tree"
        else:
            self.tree.insert_range(first, last, entry)
            self.model = expected
        self._validate()

    @rule(r=ranges(), entry=entries)
    def insert(self, r, entry):
        self._insert(r[0], r[1], entry)

    @rule(entry=entries)
    def insert_everything(self, entry):
        """insert [0, ULONG_MAX]: the 6.12.117 leaf-root quirk (refmodel.insert_range)."""
        self._insert(0, M, entry)

    @rule(data=st.data(), entry=entries)
    def insert_at_boundary(self, data, entry):
        k = self._boundary_key(data)
        self._insert(k, min(M, k + data.draw(st.integers(0, 3))), entry)

    @rule(data=st.data())
    def erase_occupied(self, data):
        if not self.model.ranges:
            return
        f, l, e = data.draw(st.sampled_from(self.model.ranges))
        k = data.draw(st.sampled_from([f, l, (f + l) // 2]))
        got = self.tree.erase(k)
        assert got is e or (type(e) is int and got == e), (k, got, e)
        assert self.model.erase(k) is e
        self._validate()

    @rule(k=keys)
    def erase_any(self, k):
        before = self.tree.structure() if self.model._slot(k) is None else None
        got = self.tree.erase(k)
        exp = self.model.erase(k)
        assert got is exp or (type(exp) is int and got == exp), (k, got, exp)
        if before is not None:
            assert got is None
            assert self.tree.structure() == before, "erase of a NULL index changed the tree"
        self._validate()

    @precondition(lambda self: len(self.model.ranges) < self.MAX_RANGES)
    @rule(start=st.one_of(st.integers(0, 5000), st.just(0), st.integers(M - 5000, M - 1000)),
          count=st.integers(50, 300),
          width=st.integers(1, 4),
          gap=st.integers(0, 3),
          descending=st.booleans(),
          kind=st.sampled_from(["int", "zero", "obj", "null_every_3rd"]))
    def bulk(self, start, count, width, gap, descending, kind):
        """Many consecutive small ranges in one step: grows the tree to height 3-4."""
        step = width + gap
        starts = [start + i * step for i in range(count) if start + i * step <= M]
        if descending:
            starts.reverse()
        for n, a in enumerate(starts):
            b = min(a + width - 1, M)
            if kind == "int":
                e = a & 0xFFFF
            elif kind == "zero":
                e = ZERO_ENTRY if n % 2 else n
            elif kind == "obj":
                e = Obj()
            else:
                e = None if n % 3 == 2 else n
            self.tree.store_range(a, b, e)
            self.model.store_range(a, b, e)
        self._validate()

    @precondition(lambda self: len(self.model.ranges) < 300)
    @rule(start=st.sampled_from([0, 10**6, M - 5000]), count=st.integers(700, 1200),
          gap=st.integers(0, 1), descending=st.booleans())
    def grow_tall(self, start, count, gap, descending):
        """Enough single-key ranges for height 4 (flags 0 needs ~1500+ slots)."""
        starts = [start + i * (1 + gap) for i in range(count) if start + i * (1 + gap) <= M]
        if descending:
            starts.reverse()
        for a in starts:
            self.tree.store(a, a & 0xFFFFF)
            self.model.store(a, a & 0xFFFFF)
        self._validate()

    @rule(data=st.data())
    def bulk_erase(self, data):
        """Erase a run of consecutive ranges one by one (forces rebalancing)."""
        n = len(self.model.ranges)
        if n == 0:
            return
        i = data.draw(st.integers(0, n - 1))
        cnt = data.draw(st.integers(1, min(120, n - i)))
        victims = self.model.ranges[i:i + cnt]
        if data.draw(st.booleans()):
            victims = victims[::-1]
        for f, l, e in victims:
            got = self.tree.erase(f)
            assert got is e or (type(e) is int and got == e), (f, got, e)
            self.model.erase(f)
        self._validate()

    @rule(r=ranges(), entry=maybe_null, keep_copy=st.booleans())
    def dup(self, r, entry, keep_copy):
        before = self.tree.structure()
        copy = self.tree.dup()
        assert copy.flags == self.tree.flags
        assert copy.structure() == before
        copy.validate()
        copy.store_range(r[0], r[1], entry)
        copy.validate()
        assert self.tree.structure() == before, "mutating the dup changed the source"
        self.tree.validate()
        if keep_copy:  # continue with the copy: its nodes must be fully independent
            self.tree = copy
            self.model.store_range(r[0], r[1], entry)
        else:
            c_model = self.model.copy()
            c_model.store_range(r[0], r[1], entry)
            check_structure(copy.structure(), c_model, self.alloc)

    @precondition(lambda self: len(self.model.ranges) > 0)
    @rule()
    def destroy(self):
        self.tree.destroy()
        self.model.destroy()
        assert self.tree.empty and self.tree.height == 0
        assert self.tree.flags == self.FLAGS
        assert self.tree.structure() == {"height": 0, "root": None}

    # -- reads ----------------------------------------------------------
    @rule(data=st.data())
    def queries(self, data):
        for _ in range(5):
            k = self._boundary_key(data) if data.draw(st.booleans()) else data.draw(keys)
            mx = data.draw(st.one_of(st.just(M), keys, st.just(k), st.just(min(M, k + 10))))
            v, ev = self.tree.load(k), self.model.load(k)
            assert v is ev or (type(ev) is int and v == ev), ("load", k, v, ev)
            assert self._same(self.tree.find(k, mx), self.model.find(k, mx)), ("find", k, mx)
            assert self._same(self.tree.find_after(k, mx), self.model.find_after(k, mx)), (
                "find_after", k, mx)
            assert self._same(self.tree.next(k, mx), self.model.next(k, mx)), ("next", k, mx)
            mn = data.draw(st.one_of(st.just(0), keys, st.just(k), st.just(max(0, k - 10))))
            exp = self.model.prev(k, mn)
            root = self.tree.structure()["root"]
            if root is not None and "entry" in root and k > mn:
                exp = (0, 0, root_entry(self.model))  # spec 5.6 direct-root quirk
            assert self._same(self.tree.prev(k, mn), exp), ("prev", k, mn)

    @staticmethod
    def _same(a, b) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return a[0] == b[0] and a[1] == b[1] and (a[2] is b[2] or (type(b[2]) is int and a[2] == b[2]))

    # -- invariants -----------------------------------------------------
    @invariant()
    def matches_model(self):
        t, m = self.tree, self.model
        check_structure(t.structure(), m, self.alloc)
        got = list(t)
        exp = m.items()
        assert len(got) == len(exp), (len(got), len(exp))
        for g, e in zip(got, exp):
            assert self._same(g, e), (g, e)
        assert len(t) == len(exp)
        for f, l, e in m.ranges[:3] + m.ranges[-3:]:
            for k in (f, l):
                v = t.load(k)
                assert v is not ZERO_ENTRY
                assert v is (None if e is ZERO_ENTRY else e) or (type(e) is int and v == e)
        assert t.load(0) is not ZERO_ENTRY and t.load(M) is not ZERO_ENTRY
        self.max_height = max(self.max_height, t.height)

    def teardown(self):
        HEIGHTS.append(self.max_height)


def root_entry(model: RefModel):
    return model.ranges[0][2]


HEIGHTS: list[int] = []

FAST = dict(max_examples=40, stateful_step_count=35)
SLOW = dict(max_examples=600, stateful_step_count=80)


TestMachineF0 = machine_case(MapleMachine, 0, FAST, False)
TestMachineF1 = machine_case(MapleMachine, MT_FLAGS_ALLOC_RANGE, FAST, False)
TestMachineF0Slow = machine_case(MapleMachine, 0, SLOW, True)
TestMachineF1Slow = machine_case(MapleMachine, MT_FLAGS_ALLOC_RANGE, SLOW, True)


# ---------------------------------------------------------------------------
# plain @given tests

ops = st.lists(st.tuples(ranges(), maybe_null), max_size=60)
flags_st = st.sampled_from([0, MT_FLAGS_ALLOC_RANGE])


def build(flags, op_list):
    t = MapleTree(flags)
    m = RefModel()
    for (a, b), e in op_list:
        t.store_range(a, b, e)
        m.store_range(a, b, e)
    return t, m


dense_ops = st.lists(st.tuples(st.tuples(st.integers(0, 200), st.integers(0, 3)).map(
    lambda x: (x[0], x[0] + x[1])), maybe_null), min_size=20, max_size=150)
any_ops = st.one_of(ops, dense_ops)

bad_key = st.one_of(st.integers(max_value=-1), st.integers(min_value=M + 1),
                    st.sampled_from([-1, -2**64, M + 1, 2**65]))
non_int_key = st.sampled_from([1.0, "3", None, 3.5, b"1", [1], (1,), 2**64 * 1.0, object()])


@settings(max_examples=60, deadline=None)
@given(flags=flags_st, op_list=any_ops, good=keys, bad=bad_key, nonint=non_int_key,
       which=st.integers(0, 12))
def test_errors_leave_tree_unchanged(flags, op_list, good, bad, nonint, which):
    t, m = build(flags, op_list)
    before = t.structure()
    calls = [
        (InvalidArgumentError, lambda: t.store_range(good + 1, good, 1) if good < M else t.store_range(M, 0, 1)),
        (InvalidArgumentError, lambda: t.insert_range(good + 1, good, 1) if good < M else t.insert_range(M, 0, 1)),
        (InvalidArgumentError, lambda: t.store_range(bad, M, 1) if bad < 0 else t.store_range(0, bad, 1)),
        (InvalidArgumentError, lambda: t.store(bad, 1)),
        (InvalidArgumentError, lambda: t.insert(bad, 1)),
        (InvalidArgumentError, lambda: t.erase(bad)),
        (InvalidArgumentError, lambda: t.store_range(good, good, RETRY_ENTRY)),
        (InvalidArgumentError, lambda: t.insert_range(good, good, RETRY_ENTRY)),
        (InvalidArgumentError, lambda: t.store(good, InternalEntry(0))),
        (InvalidTypeError, lambda: t.store(nonint, 1)),
        (InvalidTypeError, lambda: t.store_range(0, nonint, 1)),
        (InvalidTypeError, lambda: t.insert(nonint, 1)),
        (InvalidTypeError, lambda: t.erase(nonint)),
    ]
    exc, call = calls[which]
    with pytest.raises(exc) as ei:
        call()
    assert ei.value.errno == 22
    if exc is InvalidTypeError:
        assert isinstance(ei.value, TypeError)
    else:
        assert isinstance(ei.value, ValueError)
    assert t.structure() == before
    t.validate()
    check_structure(t.structure(), m, bool(flags))


def test_retry_entry_refused_everywhere():
    for flags in (0, MT_FLAGS_ALLOC_RANGE):
        for setup in ([], [((0, 0), 1)], [((5, 9), 1)], [((i, i), i) for i in range(40)]):
            t, m = build(flags, setup)
            before = t.structure()
            for call in (lambda: t.store(0, RETRY_ENTRY), lambda: t.store_range(3, 100, RETRY_ENTRY),
                         lambda: t.insert(1000, RETRY_ENTRY), lambda: t.store_range(0, M, RETRY_ENTRY)):
                with pytest.raises(InvalidArgumentError) as ei:
                    call()
                assert ei.value.errno == 22
                assert t.structure() == before


def test_bool_keys():
    # bool is a subclass of int, but MapleTree refuses bool keys: every call
    # taking a key raises InvalidTypeError ("index must be an int, not bool"),
    # like any other non-int key, and the tree is left unchanged.  (Tried on
    # the engine; a deliberate choice -- True/False are almost always a bug.)
    t = MapleTree()
    t.store_range(0, 5, "x")
    before = t.structure()
    for call in (lambda: t.store(True, "y"), lambda: t.store_range(False, 3, "y"),
                 lambda: t.insert(True, "y"), lambda: t.load(False), lambda: t.erase(True),
                 lambda: t.store_range(0, True, "y")):
        with pytest.raises(InvalidTypeError) as ei:
            call()
        assert isinstance(ei.value, TypeError) and ei.value.errno == 22
    assert t.structure() == before
    assert t.load(1) == "x"


@settings(max_examples=80, deadline=None)
@given(flags=flags_st, op_list=any_ops, data=st.data())
def test_find_iteration_len_load(flags, op_list, data):
    t, m = build(flags, op_list)
    t.validate()
    exp = m.items()
    # mt_for_each idiom: find, then find_after(last + 1) (wraps to 0 after ULONG_MAX)
    got = []
    r = t.find(0)
    while r is not None:
        got.append(r)
        assert len(got) <= len(exp), "find/find_after loop did not terminate"
        r = t.find_after((r[1] + 1) & M)
    assert [g[:2] for g in got] == [e[:2] for e in exp]
    assert all(g[2] is e[2] or g[2] == e[2] for g, e in zip(got, exp))
    assert len(t) == len(exp)
    assert [g[:2] for g in t] == [e[:2] for e in exp]
    # windows
    for _ in range(10):
        a = data.draw(keys)
        b = data.draw(st.one_of(keys, st.just(M)))
        r1, r2 = t.find(a, b), m.find(a, b)
        assert (r1 is None) == (r2 is None) and (r1 is None or r1[:2] == r2[:2]), (a, b, r1, r2)
        r1, r2 = t.find_after(a, b), m.find_after(a, b)
        assert (r1 is None) == (r2 is None) and (r1 is None or r1[:2] == r2[:2]), (a, b, r1, r2)
    # load at every boundary +-1 never returns ZERO_ENTRY and matches the model
    for f, l, e in m.ranges:
        for k in {max(f - 1, 0), f, l, min(l + 1, M)}:
            v = t.load(k)
            assert v is not ZERO_ENTRY
            exp_v = m.load(k)
            assert v is exp_v or (type(exp_v) is int and v == exp_v), (k, v, exp_v)


@settings(max_examples=60, deadline=None)
@given(flags=flags_st, op_list=any_ops, zr=ranges(), data=st.data())
def test_zero_entries(flags, op_list, zr, data):
    t, m = build(flags, op_list)
    t.store_range(zr[0], zr[1], ZERO_ENTRY)
    m.store_range(zr[0], zr[1], ZERO_ENTRY)
    t.validate()
    check_structure(t.structure(), m, bool(flags))
    assert len(t) == len(m.items())
    k = data.draw(st.integers(zr[0], zr[1]))
    assert t.load(k) is None
    assert all(e is not ZERO_ENTRY for _, _, e in t)
    before = t.structure()
    with pytest.raises(EntryExistsError):
        t.insert(k, 1)
    assert t.structure() == before
    assert t.erase(k) is ZERO_ENTRY
    m.erase(k)
    t.validate()
    check_structure(t.structure(), m, bool(flags))
