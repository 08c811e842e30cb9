"""The kernel's table/step tests (tests/data/kernel-tests/tables), normal API.

Ported tables: ``check_ranges``, ``maple_tree_seed_basic``, ``check_root_expand``,
``check_spanning_write``, ``check_null_expand``,
``linux_next_store_null_deficient`` and ``check_fuzzer`` (step op table:
tests/data/kernel-tests/README.md section 5.2).

``test_table`` runs every step the normal API can express:

* ``mtree_*``, ``check_*``, ``store_series``, ``assert_empty``, ``assert_height``
  (a whitelisted ``<op> <int>`` condition on ``tree.height``), ``mt_validate``;
* the maple-state patterns that are plain normal-API calls: ``mas_set`` /
  ``mas_set_range`` / ``mas_reset`` followed by ``mas_store_gfp`` is
  ``store_range(index, last, value)`` (a state in ``start`` status walks from
  the root, as ``mtree_store_range`` does), and ``mas_walk`` from ``start``
  checks its ``expect_entry`` with ``load``;
* ``internal`` assertions on node shapes that ``structure()`` can answer (leaf
  ``data_end`` deltas of ``check_null_expand``, the full parent of
  ``check_spanning_write``).

Other maple-state steps (``mas_next``/``mas_prev``/..., the ``index``/``last``/
``status`` expectations of ``mas_walk``) are *skipped* while they only read;
a maple-state write the normal API cannot express would end the normal run
of that case (none occurs in these tables).  ``test_table_advanced`` runs
every step with ``maple_tree.MaState``.

The tree is validated wherever the kernel calls ``mt_validate``, at the end
of every case, and (the trees are tiny) after every step of ``check_fuzzer``.
``check_fuzzer``'s return values are not asserted by the kernel; they are
checked against the README's ``derived_*`` values, which follow from the
documented API semantics (``-EINVAL`` for first > last, ``-EEXIST`` for an
occupied insert, erase/load results).

Entry encoding: ``{"xa_value": n}`` -> ``n``; ``{"raw": n}`` -> ``(n-1)//2``;
``{"ptr": name}`` -> one unique object per name; ``{"ptr", "or_bits": 1}`` ->
another unique object per (name, bits); ``or_bits: 2`` -> an internal-looking
pointer ``InternalEntry(5000 + k)`` (not advanced, not reserved-colliding), so
the kernel's "an internal entry cannot be a direct root" rule applies;
``{"special": "XA_ZERO_ENTRY"}`` -> ``ZERO_ENTRY``.
"""
from __future__ import annotations

import json
import operator
import re
from pathlib import Path

import pytest

from maple_tree import (MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU, ZERO_ENTRY, InternalEntry,
                        MapleError, MapleTree)

TABLE_DIR = Path(__file__).resolve().parent / "data" / "kernel-tests" / "tables"
TABLES = ["maple_tree_seed_basic", "check_ranges", "check_root_expand", "check_null_expand",
          "check_spanning_write", "linux_next_store_null_deficient", "check_fuzzer"]
SLOT_COUNT = {"leaf_64": 16, "range_64": 16, "arange_64": 10}
FLAG_BITS = {"MT_FLAGS_ALLOC_RANGE": MT_FLAGS_ALLOC_RANGE, "MT_FLAGS_USE_RCU": MT_FLAGS_USE_RCU}


class Ptr:
    """An opaque kernel pointer (``&tree``, ``ptr``, ...); equal only to itself."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Ptr({self.name})"


class Values:
    """Decodes the README's value encoding; the same spec gives the same object."""

    def __init__(self) -> None:
        self._objs: dict = {}

    def __call__(self, spec):
        if spec is None:
            return None
        if "xa_value" in spec:
            return int(spec["xa_value"])
        if "raw" in spec:
            raw = int(spec["raw"])
            assert raw & 1, f"raw pointer {raw} is not an xa value"
            return (raw - 1) // 2
        if spec.get("special") == "XA_ZERO_ENTRY":
            return ZERO_ENTRY
        if "ptr" in spec:
            key = (spec["ptr"], spec.get("or_bits", 0))
            obj = self._objs.get(key)
            if obj is None:
                if key[1] == 2:
                    obj = InternalEntry(5000 + len(self._objs), f"Internal({key[0]}|2)")
                elif key[1] in (0, 1):
                    obj = Ptr(key[0] if key[1] == 0 else f"{key[0]}|1")
                else:  # pragma: no cover
                    raise ValueError(f"unsupported or_bits in {spec}")
                self._objs[key] = obj
            return obj
        raise ValueError(f"unknown value encoding {spec}")


_HEIGHT_COND = re.compile(r"^\s*(==|!=|<=|>=|<|>)\s*(\d+)\b")
_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def height_condition(cond: str):
    """Parse ``"< 4"``, ``"!= 0"``, ``">= 4 (64-bit only): ..."`` into a predicate.

    Only ``<op> <integer>`` (followed by free text) is accepted: never ``eval``."""
    m = _HEIGHT_COND.match(cond)
    if not m:
        raise ValueError(f"unsupported assert_height condition {cond!r}")
    fn, bound = _CMP[m.group(1)], int(m.group(2))
    return lambda h: fn(h, bound)


def _flags(names) -> int:
    flags = 0
    for n in names or ():
        flags |= FLAG_BITS[n]
    return flags


def _rc(fn, *args) -> int:
    try:
        fn(*args)
    except MapleError as exc:
        return -exc.errno
    return 0


def _leaf_path(tree: MapleTree, index: int) -> list:
    """Nodes (structure dicts) from the root down to the leaf holding ``index``."""
    root = tree.structure()["root"]
    assert isinstance(root, dict) and "pivots" in root, "tree has no node root"
    path = [root]
    node = root
    while node["type"] != "leaf_64":
        slot = next(i for i, p in enumerate(node["pivots"]) if p >= index)
        node = node["slots"][slot]
        path.append(node)
    return path


def _leaf_end(tree: MapleTree, index: int) -> int:
    return len(_leaf_path(tree, index)[-1]["pivots"]) - 1


class AdvancedWrite(Exception):
    """A maple-state write the normal API cannot express."""


class NormalRunner:
    """Runs steps through the normal API, emulating the simple maple-state patterns."""

    def __init__(self, flags: int = 0, *, validate_each_step: bool = False) -> None:
        self.tree = MapleTree(flags)
        self.value = Values()
        self.validate_each_step = validate_each_step
        # emulated maple state: (index, last, status); status "start" or "other"
        self.index = self.last = 0
        self.status = "start"
        self.walk_leaf_end = None
        self.ran = 0
        self.skipped: list = []

    # -- helpers --
    def check_value(self, got, expect_spec, where):
        exp = self.value(expect_spec)
        assert got is exp or (type(exp) is int and type(got) is int and got == exp), \
            f"{where}: got {got!r}, expected {exp!r}"

    def run(self, steps, label: str = "") -> None:
        for n, step in enumerate(steps):
            where = f"{label} step {n} {json.dumps(step)[:200]}"
            handler = getattr(self, "op_" + step["op"], None)
            if handler is None:
                raise AssertionError(f"{where}: no normal-API port for this op")
            handler(step, where)
            self.ran += 1
            if self.validate_each_step:
                self.tree.validate()
        self.tree.validate()

    # -- tree setup --
    def op_mt_init_flags(self, s, where):
        self.tree = MapleTree(_flags(s.get("flags")))
        self.status = "start"

    def op_mtree_destroy(self, s, where):
        flags = self.tree.flags
        self.tree.destroy()
        assert self.tree.empty and self.tree.height == 0, where
        assert self.tree.flags == flags, f"{where}: destroy changed the flags"
        self.status = "start"

    def op_mt_set_in_rcu(self, s, where):
        # RCU mode changes write paths, never shapes (conformance finding 14)
        self.tree.set_in_rcu()
        assert self.tree.in_rcu, where

    def op_mt_validate(self, s, where):
        self.tree.validate()

    # -- normal API --
    def _expect_ret(self, s, rc, where):
        for key in ("expect_ret", "derived_ret"):
            if key in s:
                assert rc == s[key], f"{where}: returned {rc}, expected {s[key]}"

    def op_mtree_store_range(self, s, where):
        rc = _rc(self.tree.store_range, s["first"], s["last"], self.value(s["value"]))
        self._expect_ret(s, rc, where)

    def op_mtree_store(self, s, where):
        rc = _rc(self.tree.store, s["index"], self.value(s["value"]))
        self._expect_ret(s, rc, where)

    def op_mtree_insert(self, s, where):
        rc = _rc(self.tree.insert, s["index"], self.value(s["value"]))
        self._expect_ret(s, rc, where)

    def op_mtree_insert_range(self, s, where):
        rc = _rc(self.tree.insert_range, s["first"], s["last"], self.value(s["value"]))
        self._expect_ret(s, rc, where)

    def op_mtree_erase(self, s, where):
        old = self.tree.erase(s["index"])
        for key in ("expect", "derived_value"):
            if key in s:
                self.check_value(old, s[key], where)
        assert self.tree.load(s["index"]) is None, f"{where}: index still loads after erase"

    def op_mtree_load(self, s, where):
        got = self.tree.load(s["index"])
        if "derived_value" in s:
            self.check_value(got, s["derived_value"], where)

    def op_check_load(self, s, where):
        self.check_value(self.tree.load(s["index"]), s["expect"], where)

    def _check_range(self, fn, s, where):
        value = self.value(s["value"])
        rc = _rc(fn, s["first"], s["last"], value)
        assert rc == s["expect_ret"], f"{where}: returned {rc}, expected {s['expect_ret']}"
        if rc == 0:
            for i in range(s["first"], s["last"] + 1):
                assert self.tree.load(i) is value, f"{where}: load({i}) is not the value"

    def op_check_store_range(self, s, where):
        self._check_range(self.tree.store_range, s, where)

    def op_check_insert_range(self, s, where):
        self._check_range(self.tree.insert_range, s, where)

    def op_check_seq(self, s, where):
        assert self.tree.empty, f"{where}: check_seq needs an empty tree"
        for i in range(s["max"] + 1):
            assert _rc(self.tree.insert, i, i) == 0, f"{where}: insert {i}"
            for j in range(i + 1):
                assert self.tree.load(j) == j, f"{where}: after insert {i}: load({j})"
            assert self.tree.load(i + 1) is None, f"{where}: load({i + 1})"
            if i:
                assert self.tree.height != 0, f"{where}: height 0 after insert {i}"

    def op_store_series(self, s, where):
        for i in range(s["i_from"], s["i_to"] + 1):
            value = i if s["value"] == "xa_i" else self.value(s["value"])
            first = i * s["stride"]
            self.tree.store_range(first, first + s["last_offset"], value)

    def op_assert_empty(self, s, where):
        assert self.tree.empty == s["expect"], f"{where}: empty is {self.tree.empty}"

    def op_assert_height(self, s, where):
        h = self.tree.height
        assert height_condition(s["cond"])(h), f"{where}: height {h}"

    # -- maple-state patterns expressible with the normal API --
    def op_mas_set(self, s, where):
        self.index = self.last = s["index"]
        self.status = "start"

    def op_mas_set_range(self, s, where):
        self.index, self.last = s["first"], s["last"]
        self.status = "start"

    def op_mas_reset(self, s, where):
        self.status = "start"

    def op_mas_store_gfp(self, s, where):
        if self.status != "start":
            raise AdvancedWrite(where)
        self.tree.store_range(self.index, self.last, self.value(s["value"]))
        self.status = "other"

    def op_mas_walk(self, s, where):
        if self.status != "start":
            self.skipped.append(where)
            return
        got = self.tree.load(self.index)
        if "expect_entry" in s and s["expect_entry"] != {"special": "XA_ZERO_ENTRY"}:
            self.check_value(got, s["expect_entry"], where)
        if set(s) & {"expect_index", "expect_last", "expect_status", "expect_index_or_last"}:
            self.skipped.append(where + " (index/last/status)")
        self.walk_leaf_end = _leaf_end(self.tree, self.index) if self.tree.height else None
        self.status = "other"

    def _skip_read(self, s, where):
        self.skipped.append(where)
        self.status = "other"

    op_mas_next = op_mas_prev = op_mas_find = op_mas_find_rev = _skip_read
    op_mas_empty_area = op_mas_empty_area_rev = _skip_read

    def op_note(self, s, where):
        pass

    def op_internal(self, s, where):
        text = s["text"]
        m = re.match(r"leaf data_end (unchanged|decreases by (\d+))", text)
        if m:
            assert self.walk_leaf_end is not None, where
            delta = 0 if m.group(1) == "unchanged" else int(m.group(2))
            got = _leaf_end(self.tree, self.index)
            assert got == self.walk_leaf_end - delta, \
                f"{where}: leaf data_end {got}, before the store {self.walk_leaf_end}"
            return
        m = re.search(r"parent of the leaf holding (\d+) must be full", text)
        if m:
            path = _leaf_path(self.tree, int(m.group(1)))
            assert len(path) >= 2, where
            parent = path[-2]
            assert len(parent["slots"]) == SLOT_COUNT[parent["type"]], \
                f"{where}: parent holds {len(parent['slots'])} slots"
            return
        raise AssertionError(f"{where}: no port for internal assertion {text!r}")


def _load(name: str) -> dict:
    return json.loads((TABLE_DIR / f"{name}.json").read_text())


def _parts(name: str):
    """(id, flags, steps) per runnable part: the table, or each of its cases."""
    d = _load(name)
    flags = _flags(d.get("tree_flags"))
    if "steps" in d:
        return [(name, flags, d["steps"])]
    out = []
    for k, case in enumerate(d["cases"]):
        out.append((f"{name}[{k}]", flags, case["steps"]))
    return out


PARTS = [p for name in TABLES for p in _parts(name)]
MAS_OPS = {"mas_set", "mas_set_range", "mas_reset", "mas_pause", "mas_set_fields", "mas_walk",
           "mas_next", "mas_prev", "mas_find", "mas_find_rev", "mas_store_gfp", "mas_store",
           "mas_empty_area", "mas_empty_area_rev"}
#: parts with maple-state steps: run again, all steps through MaState
ADVANCED_PARTS = [p for p in PARTS if any(s["op"] in MAS_OPS for s in p[2])]


@pytest.mark.parametrize("part", PARTS, ids=[p[0] for p in PARTS])
def test_table(part):
    pid, flags, steps = part
    runner = NormalRunner(flags, validate_each_step=pid.startswith("check_fuzzer"))
    runner.run(steps, pid)
    assert runner.ran == len(steps)
    # whatever was skipped is a read the advanced test covers
    assert len(runner.skipped) <= sum(1 for s in steps if s["op"].startswith("mas_"))


def test_root_expand_internal_pointer_is_never_a_direct_root():
    """check_root_expand's ``ptr | 2`` / ``ptr | 1`` stores at index 0, through
    the normal API: only the xa-value-looking one becomes a direct root."""
    values = Values()
    for bits, height in ((1, 0), (2, 1), (0, 0)):
        tree = MapleTree()
        obj = values({"ptr": "check_prev_entry", "or_bits": bits} if bits
                     else {"ptr": "check_prev_entry"})
        tree.store(0, obj)
        assert tree.height == height, bits
        assert tree.load(0) is obj and tree.load(1) is None
        assert list(tree) == [(0, 0, obj)]
        tree.validate()


def test_height_condition_parser():
    assert height_condition("< 4")(3) and not height_condition("< 4")(4)
    assert height_condition("!= 0")(1) and not height_condition("!= 0")(0)
    assert height_condition('>= 4 (64-bit only): "3 child split"')(4)
    assert not height_condition('== 4 (64-bit only): "x"')(3)
    for bad in ("__import__('os')", "h < 4", "< four", ""):
        with pytest.raises(ValueError):
            height_condition(bad)


def test_value_decoding():
    v = Values()
    assert v({"xa_value": 7}) == 7 and v({"raw": 177}) == 88 and v(None) is None
    assert v({"special": "XA_ZERO_ENTRY"}) is ZERO_ENTRY
    a, b = v({"ptr": "ptr"}), v({"ptr": "&tree"})
    assert a is v({"ptr": "ptr"}) and a is not b
    one, two = v({"ptr": "ptr", "or_bits": 1}), v({"ptr": "ptr", "or_bits": 2})
    assert one is not a and isinstance(two, InternalEntry) and two.value > 256
    assert two is v({"ptr": "ptr", "or_bits": 2})


def test_runner_catches_a_wrong_expectation():
    steps = [{"op": "mtree_insert", "index": 3, "value": {"xa_value": 3}, "expect_ret": 0},
             {"op": "check_load", "index": 3, "expect": {"xa_value": 4}}]
    with pytest.raises(AssertionError, match="step 1"):
        NormalRunner().run(steps, "t")


# ---------------------------------------------------------------------------
# the same tables through the advanced API (maple_tree.MaState)
# ---------------------------------------------------------------------------

class AdvancedRunner(NormalRunner):
    """Every mas_* step through ``maple_tree.MaState``."""

    def __init__(self, flags: int = 0, **kw) -> None:
        super().__init__(flags, **kw)
        from maple_tree import MaState
        self._MaState = MaState
        self.mas = MaState(self.tree, 0, 0)

    def _call(self, name, *args):
        fn = getattr(self.mas, name, None) or getattr(self.mas, "mas_" + name)
        return fn(*args)

    def _new_tree(self):
        # the C test reuses one MA_STATE on the same struct maple_tree across
        # mtree_destroy/mt_init: keep every field (a stale mas->end included)
        self.mas.tree = self.tree

    def op_mt_init_flags(self, s, where):
        super().op_mt_init_flags(s, where)
        self._new_tree()

    def op_mas_set(self, s, where):
        self._call("set", s["index"])

    def op_mas_set_range(self, s, where):
        self._call("set_range", s["first"], s["last"])

    def op_mas_reset(self, s, where):
        self._call("reset")

    def op_mas_pause(self, s, where):
        self._call("pause")

    def op_mas_store_gfp(self, s, where):
        self._call("store_gfp", self.value(s["value"]))

    def op_mas_store(self, s, where):
        self._call("store", self.value(s["value"]))

    def _check_state(self, s, entry, where):
        if "expect_entry" in s:
            self.check_value(entry, s["expect_entry"], where)
        if "expect_index" in s:
            assert self.mas.index == s["expect_index"], f"{where}: index {self.mas.index}"
        if "expect_last" in s:
            assert self.mas.last == s["expect_last"], f"{where}: last {self.mas.last}"
        if "expect_index_or_last" in s:
            i, l = s["expect_index_or_last"]
            assert self.mas.index == i or self.mas.last == l, where
        if "expect_status" in s:
            status = getattr(self.mas.status, "name", self.mas.status)
            assert str(status).lower().endswith(s["expect_status"]), f"{where}: {status}"

    def op_mas_walk(self, s, where):
        entry = self._call("walk")
        self.walk_leaf_end = _leaf_end(self.tree, self.mas.index) if self.tree.height else None
        self._check_state(s, entry, where)

    def op_mas_next(self, s, where):
        self._check_state(s, self._call("next", s["limit"]), where)

    def op_mas_prev(self, s, where):
        self._check_state(s, self._call("prev", s["min"]), where)

    def op_mas_find(self, s, where):
        self._check_state(s, self._call("find", s["limit"]), where)

    def op_mas_find_rev(self, s, where):
        self._check_state(s, self._call("find_rev", s["min"]), where)

    def op_mas_set_fields(self, s, where):
        for k in ("index", "last", "offset", "status"):
            if k in s:
                setattr(self.mas, k, s[k])

    def op_internal(self, s, where):
        if s["text"].startswith("leaf data_end"):
            saved, self.index = self.index, self.mas.index
            try:
                super().op_internal(s, where)
            finally:
                self.index = saved
        else:
            super().op_internal(s, where)


@pytest.mark.parametrize("part", ADVANCED_PARTS, ids=[p[0] for p in ADVANCED_PARTS])
def test_table_advanced(part):
    pid, flags, steps = part
    runner = AdvancedRunner(flags)
    runner.run(steps, pid)
    assert runner.ran == len(steps) and not runner.skipped
