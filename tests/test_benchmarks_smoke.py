"""The benchmark workloads at tiny N: correctness only, no timing assertions."""
from __future__ import annotations

import importlib.util
import os
import sys

import pytest

_BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


def _load(name: str, filename: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(_BENCH, filename))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


wl = _load("workloads", "workloads.py")

N = 500


def test_splitmix64_reference_values():
    # splitmix64 seeded with 0: the published first outputs
    rng = wl.SplitMix64(0)
    assert [rng.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_shuffle_is_a_permutation():
    a = wl.shuffle(1000, wl.SEED_W2)
    assert sorted(a) == list(range(1000)) and a != list(range(1000))
    assert a == wl.shuffle(1000, wl.SEED_W2)


def _reference_w4(n):
    """W4 on a sorted list of disjoint (first, last, value) ranges: no tree involved."""
    ranges = [(10 * i, 10 * i + 5, i) for i in range(n)]
    for a, length in wl.w4_inputs(n):
        b = a + length
        kept = []
        for f, l, v in ranges:
            if l < a or f > b:
                kept.append((f, l, v))
                continue
            if f < a:
                kept.append((f, a - 1, v))
            if l > b:
                kept.append((b + 1, l, v))
        kept.append((a, b, a))
        ranges = sorted(kept)
    return ranges


@pytest.mark.parametrize("flags_name", ["alloc", "plain"])
def test_workloads_tiny(flags_name):
    tree, dt = wl.w1(flags_name, N)
    assert dt >= 0
    tree.validate()
    wl.w3(tree, N)
    wl.w8a(tree, N)
    wl.w8a_list(tree, N)
    wl.w8b(tree, N)
    tree2, _ = wl.w2(flags_name, N)
    tree2.validate()
    tree4, _ = wl.w4(flags_name, N)
    tree4.validate()
    assert list(tree4) == _reference_w4(N)
    wl.w5(flags_name, N)


def test_checks_catch_a_wrong_answer():
    tree = wl.build_w1("plain", 50)
    tree.store_range(0, 499, "wrong")
    with pytest.raises(wl.WorkloadCheckError):
        wl.w3(tree, 50)


def test_run_py_tiny(capsys):
    run = _load("bench_run", "run.py")
    assert run.main(["--n", "300", "--compare-n", "300", "--gapq-n", "300",
                     "--gapq-queries", "20"]) == 0
    out = capsys.readouterr().out
    for name in run.ALL:
        # one row per flag set; W6 is defined for ALLOC_RANGE only
        assert out.count(f"\n{name} ") == (1 if name in run.ALLOC_ONLY else 2), name
    assert "SortedDict" in out
    assert "no-fit gap query" in out and "us/query" in out


# -- W6 and the no-fit gap query ---------------------------------------------

def test_w6_tree_top_matches_the_kernel_figure():
    # the assertion inside w6_ranges checks 101,587,111 at N = 10,000
    _ranges, top = wl.w6_ranges(10_000)
    assert top == 101_587_111


def test_w6_tree_tiny():
    tree, ranges, top = wl.build_w6(N)
    tree.validate()
    assert list(tree) == [(s, l, i) for i, (s, l) in enumerate(ranges)]
    assert top == ranges[-1][1]


def test_w6_workloads_tiny():
    tree, ranges, top = wl.build_w6(N)
    assert wl.w6a(tree, ranges, top, N) >= 0
    assert wl.w6b(tree, ranges, top, N) >= 0
    tree.validate()  # the searches do not change the tree
    assert list(tree) == [(s, l, i) for i, (s, l) in enumerate(ranges)]
    for fill in (wl.w6c, wl.w6d):
        t, dt = fill(N)
        assert dt >= 0
        t.validate()
        items = list(t)
        assert len(items) == 2 * N
        assert sorted(v for _f, _l, v in items) == list(range(2 * N))
        assert all(l - f + 1 == wl.W6_SIZE for f, l, v in items if v >= N)
        assert all(l <= top for _f, l, _v in items)


def test_w6_allocation_directions_tiny():
    # W6c fills from the top down, W6d from the bottom up
    _ranges, top = wl.w6_ranges(N)
    tc, _ = wl.w6c(N)
    td, _ = wl.w6d(N)
    c_starts = [f for f, _l, v in tc if v >= N]
    d_starts = [f for f, _l, v in td if v >= N]
    assert max(c_starts) > max(d_starts) and min(d_starts) < min(c_starts)


def test_gap_references_against_brute_force():
    ranges = [(3, 5), (10, 10), (11, 20), (40, 49)]
    firsts, lasts = wl.free_intervals(ranges)
    occupied = {k for s, l in ranges for k in range(s, l + 1)}

    def brute(lo, hi, size, rev):
        xs = [x for x in range(lo, hi - size + 2)
              if all(k not in occupied for k in range(x, x + size))]
        if not xs:
            return -16
        return xs[-1] if rev else xs[0]

    for lo in range(0, 60, 3):
        for hi in range(lo, 70, 4):
            for size in (1, 2, 3, 5, 9, 19):
                if hi - lo < size - 1:
                    continue
                assert wl.ref_lowest(firsts, lasts, lo, hi, size) == brute(lo, hi, size, False)
                assert wl.ref_highest(firsts, lasts, lo, hi, size) == brute(lo, hi, size, True)


def test_w6_checks_catch_a_wrong_answer():
    tree, ranges, top = wl.build_w6(50)
    tree.store_range(0, top, "wrong")
    with pytest.raises(wl.WorkloadCheckError):
        wl.w6b(tree, ranges, top, 50)


def test_gapq_data_tiny():
    data = wl.gapq_ranges(2000)
    gaps = [data[0][0]] + [b[0] - a[1] for a, b in zip(data, data[1:])]
    assert all(0 <= g <= 64 for g in gaps)
    assert all(1 <= e - s <= 32 for s, e in data)
    zero = sum(g == 0 for g in gaps) / len(gaps)
    assert 0.6 < zero < 0.8


def test_nofit_gap_query_tiny():
    pytest.importorskip("sortedcontainers")
    t_ours, t_sd, q = wl.nofit_gap_query(N, 25)
    assert q == 25 and min(t_ours, t_sd) >= 0


def test_sorteddict_comparison_tiny():
    pytest.importorskip("sortedcontainers")
    t_sd, t_alloc, t_plain = wl.sorteddict_point_loads(N)
    assert min(t_sd, t_alloc, t_plain) >= 0


def test_interpreter_floor_tiny(capsys):
    """benchmarks/floor.py runs, leaves the W1 tree as it was, prints 6 rows."""
    floor = _load("floor", "floor.py")
    assert floor.main(["--n", "300", "--repeat", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith(("store", "W3", "W8a"))]
    assert len(rows) == 6
    tree = wl.build_w1("plain", 300)
    before = list(tree)
    rng = wl.SplitMix64(wl.SEED_W3)
    floor.store_floor(tree._root, [10 * (rng.below(3000) // 10) for _ in range(300)])
    assert list(tree) == before
    tree.validate()
