"""The kernel's VMA-capture regression traces (``check_erase2_sets``), replayed
with the driver semantics of tests/data/kernel-tests/README.md sections 4.2/4.3.

Per row (``check_erase2_testset``):

* ``STORE a b``  -> ``store_range(a, b, a)``   (``xa_mk_value(a)`` is the int ``a``)
* ``SNULL a b``  -> ``store_range(a, b, None)``
* ``ERASE a b``  -> only if ``load(a)`` is not None: ``erase(a)`` must return ``a``

and after every row, in the driver's order: ``validate()``; a non-empty tree
has ``height >= 1``; the entry count equals the driver's expectation
(``derived.entry_count_after_op``) counted three ways (``len``, ``mt_for_each``
as a ``find`` loop, iteration); ``load(0) is None``.

Then the post-run checks of the set (section 4.3).  Those needing the
advanced API (``mas_empty_area_rev``, ``mas_find``, ``mas_prev``) are in
``test_trace_advanced_post_checks`` (xfail until ``maple_tree.MaState`` exists).

Runtime: validate and the three counts are O(n) per row.  Sets of more than
``BIG_TRACE_ROWS`` rows (set9/10/23/24/25) run them on every ``ROW_STRIDE``-th
row and the last row by default (height and ``load(0)`` still on every row);
``python -m pytest -m slow tests/test_traces.py`` runs them on every row of
those sets too (``test_trace_every_row``, about 2.5 minutes).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from maple_tree import MT_FLAGS_ALLOC_RANGE, ULONG_MAX, MapleTree
from maple_tree.cli import trace_step

TRACE_DIR = Path(__file__).resolve().parent / "data" / "kernel-tests" / "traces"
TRACES = sorted(TRACE_DIR.glob("set*.json"), key=lambda p: (len(p.stem), p.stem))
ADVANCED_CHECKS = {"mas_empty_area_rev", "mas_find", "mas_prev"}

_FLAG_BITS = {"MT_FLAGS_ALLOC_RANGE": MT_FLAGS_ALLOC_RANGE}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _flags(trace: dict) -> int:
    flags = 0
    for f in trace["driver"]["tree_flags"]:
        flags |= _FLAG_BITS[f]
    return flags


def _find_loop_count(tree: MapleTree) -> int:
    """``mt_for_each(mt, entry, index, ULONG_MAX)``: repeated ``mt_find``."""
    count, index = 0, 0
    while True:
        hit = tree.find(index, ULONG_MAX)
        if hit is None:
            return count
        first, last, entry = hit
        assert entry is not None
        assert first <= max(index, first) <= last, (index, hit)
        count += 1
        if last == ULONG_MAX:
            return count
        index = last + 1


def _iter_count(tree: MapleTree) -> int:
    """Iteration from 0 (``mas_for_each`` skipping zero entries); no range twice."""
    count, prev_last = 0, -1
    for first, last, entry in tree:
        assert entry is not None
        assert first > prev_last, "iteration went backwards or repeated a range"
        prev_last = last
        count += 1
    return count


def run_trace(trace: dict, *, row_stride: int = 1) -> MapleTree:
    """Replay a trace with the driver's checks.  ``row_stride`` > 1 runs the
    O(n) checks (validate, the three counts) only on every ``row_stride``-th
    row and the last one; height and ``load(0)`` are checked on every row."""
    tree = MapleTree(_flags(trace))
    expected_counts = trace["derived"]["entry_count_after_op"]
    assert len(expected_counts) == len(trace["ops"])
    last_row = len(trace["ops"]) - 1
    for row, (op, a, b) in enumerate(trace["ops"]):
        where = f"{trace['name']} row {row} ({op} {a} {b})"
        trace_step(tree, op, a, b)  # the driver's row semantics, incl. the erase check
        count = expected_counts[row]
        if row_stride == 1 or row % row_stride == 0 or row == last_row:
            tree.validate()
            assert len(tree) == count, f"{where}: len {len(tree)} != {count}"
            assert _find_loop_count(tree) == count, f"{where}: mt_for_each count"
            assert _iter_count(tree) == count, f"{where}: iteration count"
        if count:
            assert tree.height >= 1, f"{where}: entries but height {tree.height}"
        else:
            assert tree.load(ULONG_MAX) is None and tree.find(0) is None, where
        assert tree.load(0) is None, f"{where}: load(0) is not NULL"
    assert len(tree) == trace["derived"]["final_entry_count"]
    return tree


def _normal_post_check(tree: MapleTree, chk: dict, trace: dict) -> None:
    kind = chk.get("check") or chk.get("op")
    if kind == "load":
        assert tree.load(chk["index"]) == chk["expect"]
    elif kind == "mt_find":
        hit = tree.find(chk["index"], chk["max"])
        got = None if hit is None else hit[2]
        assert got == chk["expect"]
    elif kind == "loads_differ":
        assert tree.load(chk["index_a"]) != tree.load(chk["index_b"])
    elif kind == "count_entries":
        count = _iter_count(tree)
        assert count <= chk["max_count"]
        assert count == trace["derived"]["final_entry_count"]
    elif kind == "mtree_erase":
        index = chk["index"]
        assert tree.load(index) is not None       # the test erases an existing VMA
        tree.erase(index)
        assert tree.load(index) is None
        tree.validate()
    elif kind == "mt_validate":
        tree.validate()
    elif kind == "iterate":
        assert _iter_count(tree) == trace["derived"]["final_entry_count"]
    else:  # pragma: no cover
        raise AssertionError(f"unknown post check {chk}")


BIG_TRACE_ROWS = 500
ROW_STRIDE = 10
BIG_TRACES = [p for p in TRACES if len(_load(p)["ops"]) > BIG_TRACE_ROWS]


def _run_with_post_checks(path, row_stride):
    trace = _load(path)
    tree = run_trace(trace, row_stride=row_stride)
    checks = trace["driver"]["post_checks"]
    ran = 0
    for chk in checks:
        if chk.get("check") in ADVANCED_CHECKS:
            continue
        # the advanced checks are read-only queries, so skipping them does not
        # change what the following normal ones see
        _normal_post_check(tree, chk, trace)
        ran += 1
    tree.validate()
    assert ran == sum(1 for c in checks if c.get("check") not in ADVANCED_CHECKS)


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_trace(path):
    rows = len(_load(path)["ops"])
    _run_with_post_checks(path, 1 if rows <= BIG_TRACE_ROWS else ROW_STRIDE)


@pytest.mark.slow
@pytest.mark.parametrize("path", BIG_TRACES, ids=[p.stem for p in BIG_TRACES])
def test_trace_every_row(path):
    _run_with_post_checks(path, 1)


def test_trace_data_is_complete():
    assert [p.stem for p in TRACES] == ["set"] + [f"set{i}" for i in range(2, 26)]
    for path in TRACES:
        trace = _load(path)
        assert trace["row_count"] == len(trace["ops"])
        counts = {}
        for op, a, b in trace["ops"]:
            counts[op] = counts.get(op, 0) + 1
            assert 0 < a <= b <= ULONG_MAX
        assert counts == {k: v for k, v in trace["op_counts"].items() if v}


def test_trace_driver_detects_a_wrong_count():
    """The per-row checks really compare against the expected counts."""
    trace = _load(TRACE_DIR / "set.json")
    bad = json.loads(json.dumps(trace))
    bad["derived"]["entry_count_after_op"][5] += 1
    with pytest.raises(AssertionError, match="row 5"):
        run_trace(bad)


# ---------------------------------------------------------------------------
# post-checks needing the advanced API (maple_tree.MaState)
# ---------------------------------------------------------------------------

ADVANCED_TRACES = [p for p in TRACES
                   if any(c.get("check") in ADVANCED_CHECKS
                          for c in _load(p)["driver"]["post_checks"])]


def _mas_call(mas, name, *args):
    """Call ``mas.<name>`` (or ``mas.mas_<name>``); MapleError -> negative errno."""
    from maple_tree import MapleError
    fn = getattr(mas, name, None) or getattr(mas, "mas_" + name)
    try:
        return fn(*args)
    except MapleError as exc:
        return -exc.errno


@pytest.mark.parametrize("path", ADVANCED_TRACES, ids=[p.stem for p in ADVANCED_TRACES])
def test_trace_advanced_post_checks(path):
    from maple_tree import MaState

    trace = _load(path)
    tree = run_trace(trace, row_stride=len(trace["ops"]))
    derived = trace["derived"]["post_check_results"]
    mas = MaState(tree, 0, 0)
    found_entry = None
    for chk, oracle in zip(trace["driver"]["post_checks"], derived):
        kind = chk.get("check")
        if kind not in ADVANCED_CHECKS:
            _normal_post_check(tree, chk, trace)
            continue
        if kind == "mas_empty_area_rev":
            mas.reset()
            ret = _mas_call(mas, "empty_area_rev", chk["min"], chk["max"], chk["size"])
            assert ret in (0, None), ret
            if "expect_last" in chk:          # the kernel's assertion
                assert mas.last == chk["expect_last"]
            # the conformance corpus confirms the oracle's index/last for every set
            assert (mas.index, mas.last) == (oracle["index"], oracle["last"])
            assert mas.last - mas.index + 1 == chk["size"]
        elif kind == "mas_find":
            mas = MaState(tree, chk["index"], chk["index"])
            found_entry = mas.find(chk["max"])
            assert found_entry == chk["expect_value"]
        elif kind == "mas_prev":
            assert found_entry is not None
            assert mas.prev(chk["min"]) == chk["expect_value"]
