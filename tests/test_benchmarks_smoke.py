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
    assert run.main(["--n", "300", "--compare-n", "300"]) == 0
    out = capsys.readouterr().out
    for name in run.ALL:
        assert out.count(f"\n{name} ") == 2  # one row per flag set
    assert "SortedDict" in out


def test_sorteddict_comparison_tiny():
    pytest.importorskip("sortedcontainers")
    t_sd, t_alloc, t_plain = wl.sorteddict_point_loads(N)
    assert min(t_sd, t_alloc, t_plain) >= 0
