"""The ``maple-tree`` command line: demo and dump on the bundled kernel trace."""
from __future__ import annotations

import json
import re

import pytest

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree
from maple_tree.cli import load_trace, main, replay, tree_stats


def _reference_count(ops):
    """Non-NULL ranges after the trace, by a naive interval model (no tree)."""
    ranges: list[tuple[int, int, int]] = []  # (first, last, value), disjoint
    for op, a, b in ops:
        if op == "ERASE":
            hit = [r for r in ranges if r[0] <= a <= r[1]]
            if hit:
                assert hit[0][2] == a
                ranges.remove(hit[0])
            continue
        kept = []
        for f, l, v in ranges:
            if l < a or f > b:
                kept.append((f, l, v))
                continue
            if f < a:
                kept.append((f, a - 1, v))
            if l > b:
                kept.append((b + 1, l, v))
        if op == "STORE":
            kept.append((a, b, a))
        ranges = kept
    return len(ranges)


def test_bundled_trace_is_set16():
    trace = load_trace()
    assert trace["name"] == "set16"
    assert len(trace["ops"]) == 208
    assert trace["tree_flags"] == ["MT_FLAGS_ALLOC_RANGE"]


def test_replay_matches_reference_model():
    trace = load_trace()
    tree = replay(trace)
    assert tree.flags & MT_FLAGS_ALLOC_RANGE
    tree.validate()
    assert len(tree) == _reference_count(trace["ops"]) == 80
    assert tree.load(0) is None


def test_tree_stats_consistent():
    tree = replay(load_trace())
    st = tree_stats(tree)
    assert st["height"] == tree.height == len(st["levels"])
    assert st["entries"] == len(tree)
    assert st["levels"][0]["nodes"] == 1
    assert st["nodes"] == sum(lv["nodes"] for lv in st["levels"])
    assert sum(st["nodes_by_type"].values()) == st["nodes"]
    assert set(st["levels"][-1]["types"]) == {"leaf_64"}
    for lv in st["levels"][:-1]:
        assert set(lv["types"]) == {"arange_64"}
    for lv in st["levels"]:
        assert 0 < lv["fill"] <= 1
    # every level below the root holds one slot per node of the next level
    for upper, lower in zip(st["levels"], st["levels"][1:]):
        assert upper["slots_used"] == lower["nodes"]


def test_tree_stats_empty_and_direct_root():
    t = MapleTree()
    assert tree_stats(t)["nodes"] == 0
    t.store(0, "x")
    st = tree_stats(t)
    assert st["nodes"] == 0 and st["height"] == 0 and st["entries"] == 1


def test_demo_output(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    tree = replay(load_trace())
    st = tree_stats(tree)
    assert "replayed trace set16: 208 rows (148 STORE, 42 SNULL, 18 ERASE)" in out
    assert f"height: {tree.height}\n" in out
    assert f"entries: {len(tree)}\n" in out
    assert f"nodes: {st['nodes']} (" in out
    assert "MT_FLAGS_ALLOC_RANGE" in out
    assert "validate: ok" in out
    for lv in st["levels"]:
        assert re.search(rf"^  depth {lv['depth']}: .*\(\d+%\)$", out, re.M)
    # the dump excerpt is the head of the tree's own dump
    head = out.split("lines:\n", 1)[1].splitlines()
    dump = tree.dump().splitlines()
    assert head == dump[:25]
    assert f"first {min(25, len(dump))} of {len(dump)} lines" in out


def test_demo_all_lines_dec(capsys):
    assert main(["demo", "--lines", "-1", "--format", "dec"]) == 0
    out = capsys.readouterr().out
    tree = replay(load_trace())
    assert out.rstrip("\n").endswith(tree.dump("dec").rstrip("\n"))


def test_dump_file(tmp_path, capsys):
    trace = {"name": "t", "tree_flags": [], "ops": [["STORE", 10, 19], ["STORE", 30, 39],
                                                    ["SNULL", 12, 13], ["ERASE", 30, 39]]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(trace))
    assert main(["dump", str(path)]) == 0
    out = capsys.readouterr().out
    tree = replay(trace)
    assert len(tree) == 2 and tree.load(30) is None
    assert out == tree.dump() + ("" if tree.dump().endswith("\n") else "\n")


def test_bad_input(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("{}")
    assert main(["dump", str(path)]) == 1
    assert "not a trace" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])
