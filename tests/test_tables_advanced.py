"""Kernel tables of the advanced API, gap search and allocation.

Ported from tests/data/kernel-tests/tables (format: kernel-tests README 5.2,
5.3): ``check_alloc_range``, ``check_alloc_rev_range``,
``check_gap_combining``, ``check_empty_area_window``, ``next_prev_test``,
``check_rev_find``, ``check_prev_entry``, ``check_next_entry`` and
``check_rcu_simulated`` (its single-threaded part: the "reader" and "writer"
maple states on the same tree).  tests/test_tables.py runs none of them.

Every ``expect_*`` field is asserted; ``mt_validate`` becomes
``tree.validate()`` wherever the kernel calls it, after every allocation
request and at the end of every table.  The ``internal`` node-identity
assertions ("the entry must live in a different leaf node") are checked on
``MaState.node``.
"""
from __future__ import annotations

import json

import pytest

from maple_tree import MT_FLAGS_USE_RCU, MapleTree, MaState

from test_tables import TABLE_DIR, AdvancedRunner, Values, _flags, _rc

STEP_TABLES = ["check_gap_combining", "check_empty_area_window", "next_prev_test",
               "check_rev_find", "check_prev_entry", "check_next_entry",
               "check_rcu_simulated"]


def _load(name: str) -> dict:
    return json.loads((TABLE_DIR / f"{name}.json").read_text())


class GapRunner(AdvancedRunner):
    """AdvancedRunner + gap searches, node-identity checks and two states."""

    def __init__(self, flags: int = 0) -> None:
        super().__init__(flags)
        self.states = {"reader": self.mas, "writer": MaState(self.tree, 0, 0)}
        self.find_node = None   # leaf of the last mas_find
        self.read_node = None   # leaf of the last read step

    def _new_tree(self):
        super()._new_tree()
        for mas in getattr(self, "states", {}).values():
            mas.tree = self.tree

    def op_mt_set_in_rcu(self, s, where):
        setter = getattr(self.tree, "set_in_rcu", None)
        if setter is not None:
            setter()
        else:  # same thing on an empty tree: a tree created in RCU mode
            assert self.tree.empty, f"{where}: cannot emulate mt_set_in_rcu on a non-empty tree"
            self.tree = MapleTree(self.tree.flags | MT_FLAGS_USE_RCU)
            self._new_tree()
        assert self.tree.in_rcu, where

    # -- gap search --
    def _gap(self, fn, s, where):
        rc = _rc(fn, s["min"], s["max"], s["size"])
        if s.get("result_unused"):
            return
        assert rc == s["expect_ret"], f"{where}: returned {rc}, expected {s['expect_ret']}"
        if "expect_index" in s:
            assert self.mas.index == s["expect_index"], f"{where}: index {self.mas.index}"
        if "expect_last" in s:
            assert self.mas.last == s["expect_last"], f"{where}: last {self.mas.last}"

    def op_mas_empty_area(self, s, where):
        self._gap(self.mas.empty_area, s, where)

    def op_mas_empty_area_rev(self, s, where):
        self._gap(self.mas.empty_area_rev, s, where)

    # -- reads with node identity checks --
    def _internal_node_check(self, s, where):
        text = s.get("internal")
        if not text:
            return
        if "mas_find" in text or "first one" in text:
            other = self.find_node
        elif "previous result" in text:
            other = self.read_node
        else:  # pragma: no cover
            raise AssertionError(f"{where}: no port for internal assertion {text!r}")
        assert other is not None and self.mas.node is not None, where
        assert self.mas.node is not other, f"{where}: same leaf node ({text})"

    def op_mas_next(self, s, where):
        super().op_mas_next(s, where)
        self._internal_node_check(s, where)
        self.read_node = self.mas.node

    def op_mas_prev(self, s, where):
        super().op_mas_prev(s, where)
        self.read_node = self.mas.node

    def op_mas_find(self, s, where):
        super().op_mas_find(s, where)
        self.find_node = self.read_node = self.mas.node

    def op_mas_walk(self, s, where):
        super().op_mas_walk(s, where)
        self.read_node = self.mas.node

    def op_note(self, s, where):
        if s["text"].startswith("mas_next(&mas, 1000) x up to 101"):
            # next_prev_test: the unasserted loops, run for crashes only;
            # mas_for_each with and without mas_pause must agree (not a kernel
            # assertion: both iterate the same unchanged tree)
            mas = self.mas
            mas.set(0)
            for _ in range(101):
                mas.next(1000)
                if mas.status == "none":
                    break
            mas.set(0)
            plain = [(mas.index, mas.last, e) for e in mas.for_each(1000)]
            mas.set(0)
            paused = []
            for e in mas.for_each(1000):
                paused.append((mas.index, mas.last, e))
                mas.pause()
            assert plain == paused and len(plain) == 101, where


class StateSwitchingRunner(GapRunner):
    """check_rcu_simulated: each step names the state it uses."""

    def run(self, steps, label: str = "") -> None:
        for n, step in enumerate(steps):
            where = f"{label} step {n} {json.dumps(step)[:200]}"
            if "state" in step:
                self.mas = self.states[step["state"]]
            handler = getattr(self, "op_" + step["op"], None)
            assert handler is not None, f"{where}: no port for this op"
            handler(step, where)
            self.ran += 1
        self.tree.validate()


@pytest.mark.parametrize("name", STEP_TABLES)
def test_table_advanced_api(name):
    d = _load(name)
    steps = d["steps"]
    cls = StateSwitchingRunner if any("state" in s for s in steps) else GapRunner
    runner = cls(_flags(d.get("tree_flags")))
    runner.run(steps, name)
    assert runner.ran == len(steps) and not runner.skipped, runner.skipped


# ---------------------------------------------------------------------------
# check_alloc_range / check_alloc_rev_range (README 5.3)

def _alloc_table(name: str, rev: bool) -> None:
    d = _load(name)
    tree = MapleTree(_flags(d["tree_flags"]))
    values = Values()
    for n, s in enumerate(d["setup"]):
        where = f"{name} setup {n}"
        value = values(s["value"])
        if s["op"] == "mtree_store_range":
            tree.store_range(s["first"], s["last"], value)
        else:
            assert s["op"] == "mtree_insert_range", where
            rc = _rc(tree.insert_range, s["first"], s["last"], value)
            assert rc == s["expect_ret"], f"{where}: returned {rc}"
            if "then" in s:  # check_load of every index, then mt_validate
                for i in range(s["first"], s["last"] + 1):
                    assert tree.load(i) == value, f"{where}: load({i})"
                tree.validate()
    tree.validate()

    mas = MaState(tree, 0, 0)
    for n, s in enumerate(d["hole_checks"]):
        where = f"{name} hole_check {n} {s}"
        fn = mas.empty_area_rev if s["op"] == "mas_empty_area_rev" else mas.empty_area
        assert s["op"] == ("mas_empty_area_rev" if rev else "mas_empty_area"), where
        rc = _rc(fn, s["min"], s["max"], s["size"])
        assert rc == s["expect_ret"], f"{where}: returned {rc}"
        assert mas.index == s["expect_index"], f"{where}: index {mas.index}"
        if "expect_last" in s:
            assert mas.last == s["expect_last"], f"{where}: last {mas.last}"
        mas.reset()

    def request(s, where):
        value = values(s["value"])
        fn = tree.alloc_rrange if s["op"] == "mtree_alloc_rrange" else tree.alloc_range
        before = tree.structure()
        try:
            start = fn(s["size"], value, s["min"], s["max"])
            rc = 0
        except Exception as exc:  # MapleError carries errno
            rc = -getattr(exc, "errno", 0)
            start = None
        assert rc == s["expect_ret"], f"{where}: returned {rc}, expected {s['expect_ret']}"
        if rc == 0:
            assert start == s["expect_start"], f"{where}: start {start}, expected {s['expect_start']}"
            last = start + s["size"] - 1
            for i in {start, last, (start + last) // 2}:
                got = tree.load(i)
                assert got is value or got == value, f"{where}: load({i}) = {got!r}"
        else:
            assert tree.structure() == before, f"{where}: failed request changed the tree"
        tree.validate()

    for n, s in enumerate(d["requests"]):
        assert s["op"] == ("mtree_alloc_rrange" if rev else "mtree_alloc_range")
        request(s, f"{name} request {n} {s}")
    for n, s in enumerate(d["after"]):
        where = f"{name} after {n} {s}"
        if s["op"] == "mtree_erase":
            tree.erase(s["index"])  # return value not asserted by the kernel
            assert tree.load(s["index"]) is None, where
            tree.validate()
        else:
            request(s, where)
    tree.validate()


def test_check_alloc_range():
    _alloc_table("check_alloc_range", rev=False)


def test_check_alloc_rev_range():
    _alloc_table("check_alloc_rev_range", rev=True)
