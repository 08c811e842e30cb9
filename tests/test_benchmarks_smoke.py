"""The benchmark workloads at tiny N: correctness only, no timing assertions."""
from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import sys

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_BENCH = os.path.join(_ROOT, "benchmarks")
_SRC = os.path.join(_ROOT, "src")


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
    pytest.importorskip("sortedcontainers")
    run = _load("bench_run", "run.py")
    assert run.main(["--n", "300", "--peer-n", "300", "--gapq-queries", "20"]) == 0
    out = capsys.readouterr().out
    for name in run.ALL:
        # one row per flag set; W6 is defined for ALLOC_RANGE only
        assert out.count(f"\n{name} ") == (1 if name in run.ALLOC_ONLY else 2), name
    peers = _load_peers()
    for label in peers.OPERATIONS.values():
        assert out.count(f"\n{label} ") == 1, label


def test_run_py_baseline_tiny(capsys):
    """--baseline runs the chosen workloads on both packages and prints new/base."""
    run = _load("bench_run", "run.py")
    assert run.main(["--n", "300", "--workloads", "W1,W3,W6b", "--flags", "alloc",
                     "--baseline", _SRC, "--repeat", "2", "--peer-n", "0"]) == 0
    out = capsys.readouterr().out
    assert "new/base" in out and f"baseline: {os.path.join(_SRC, 'maple_tree')}" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("W")]
    assert [r[0] for r in rows] == ["W1", "W3", "W6b"]
    assert all(float(r[-1]) > 0 for r in rows)


def test_checkouts_keep_their_own_modules():
    """A baseline loaded beside the current package is a separate package, and
    while it is active, `maple_tree` (and its lazy imports) resolve to it."""
    run = _load("bench_run", "run.py")
    new = run.Checkout.current("new")
    base = run.Checkout.load("baseline", _SRC)
    assert base.wl is not new.wl and base.wl.MapleTree is not new.wl.MapleTree
    assert sys.modules["maple_tree"] is new.modules["maple_tree"]
    with base.active():
        assert sys.modules["maple_tree"] is base.modules["maple_tree"]
        tree = base.wl.build_w1("alloc", 50)
        assert tree.next(3) == (10, 15, 1)      # imports maple_tree.state lazily
        assert type(tree).__module__ == "maple_tree.tree"
    assert sys.modules["maple_tree"] is new.modules["maple_tree"]
    assert all(sys.modules[name] is mod for name, mod in new.modules.items())


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


# -- the SortedDict range map and the everyday comparison ---------------------

def _load_peers():
    pytest.importorskip("sortedcontainers")
    return sys.modules.get("peers") or _load("peers", "peers.py")


def test_gapq_data_tiny():
    peers = _load_peers()
    data = peers.gapq_ranges(2000)
    gaps = [data[0][0]] + [b[0] - a[1] for a, b in zip(data, data[1:])]
    assert all(0 <= g <= 64 for g in gaps)
    assert all(1 <= e - s <= 32 for s, e in data)
    zero = sum(g == 0 for g in gaps) / len(gaps)
    assert 0.6 < zero < 0.8


def _brute_lowest_gap(items, lo, size):
    occupied = {k for f, l, _v in items for k in range(f, l + 1)}
    x = lo
    while any(k in occupied for k in range(x, x + size)):
        x += 1
    return x


@pytest.mark.parametrize("seed", range(6))
def test_sorteddict_range_map_matches_mapletree(seed):
    """Differential: random stores (some of None), erases, loads and gap queries
    give the same answers and contents on SortedDictRangeMap and MapleTree."""
    from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree

    peers = _load_peers()
    rng = random.Random(seed)
    theirs = peers.SortedDictRangeMap()
    ours = MapleTree(MT_FLAGS_ALLOC_RANGE)
    ours_gap = peers.MAPLETREE.gap_query
    for step in range(400):
        op = rng.random()
        if op < 0.5:
            first = rng.randrange(300)
            last = first + rng.choice((0, 1, 3, 8, 20, 60))
            value = None if rng.random() < 0.1 else step
            theirs.store_range(first, last, value)
            ours.store_range(first, last, value)
        elif op < 0.7:
            k = rng.randrange(400)
            assert theirs.erase(k) == ours.erase(k)
        elif op < 0.9:
            k = rng.randrange(400)
            assert theirs.load(k) == ours.load(k)
        else:
            lo, size = rng.randrange(400), rng.choice((1, 2, 5, 30))
            want = _brute_lowest_gap(list(ours), lo, size)
            assert theirs.lowest_gap(lo, size) == want
            assert ours_gap(ours, size)(lo) == want
        assert list(theirs) == list(ours)
        assert len(theirs) == len(ours)


def test_sorteddict_range_map_split_and_trim():
    peers = _load_peers()
    m = peers.SortedDictRangeMap()
    m.store_range(10, 30, "a")
    m.store_range(15, 19, "b")                  # split
    m.store_range(28, 40, "c")                  # trim a tail
    m.store_range(5, 12, None)                  # trim a head, store nothing
    assert list(m) == [(13, 14, "a"), (15, 19, "b"), (20, 27, "a"), (28, 40, "c")]
    assert m.erase(25) == "a" and m.load(25) is None and m.erase(25) is None
    assert m.lowest_gap(0, 13) == 0 and m.lowest_gap(14, 1) == 20 and m.lowest_gap(14, 10) == 41


def test_everyday_pass_tiny():
    """Both sides run every operation, report each once, and agree."""
    peers = _load_peers()
    inp = peers.Inputs.draw(N, 25)
    agree = peers.Agreement()
    for side in (peers.SORTEDDICT, peers.MAPLETREE):
        reported = []
        agree(peers.everyday_pass(side, inp, lambda name, per_op: reported.append(name)))
        assert reported == list(peers.OPERATIONS)


def test_agreement_catches_a_difference():
    peers = _load_peers()
    agree = peers.Agreement()
    agree({"loads": [1, None]})
    agree({"loads": [1, None]})
    with pytest.raises(wl.WorkloadCheckError):
        agree({"loads": [1, 2]})


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


# -- building.py and jitter.py ------------------------------------------------------------

def test_building_tiny(capsys, tmp_path):
    """Every way of building runs and holds the kept ranges (building.py
    checks each result); the CSV has a row per way, drop, shape and flags."""
    building = _load("building", "building.py")
    csv_path = tmp_path / "rows.csv"
    assert building.main(["--n", "200", "--repeat", "1", "--drop", "0", "--drop", "0.1",
                          "--csv", str(csv_path)]) == 0
    out = capsys.readouterr().out
    for way in building.WAYS:
        assert way in out
    assert csv_path.read_text().count("\n") == 2 * 2 * (2 + 4 * 2) + 1


def test_building_plots_tiny(tmp_path):
    pytest.importorskip("matplotlib", reason="the figures need the 'plot' extra")
    building = _load("building", "building.py")
    plots = _load("building_plots", "building_plots.py")
    rows = [building.measure("vma", "alloc", n, drop, way, 1)
            for n in (100, 300) for way in building.WAYS
            for drop in ((0.0,) if way in building.NO_DROP else (0.1,))]
    paths = plots.draw(rows, str(tmp_path))
    assert len(paths) == 3 and all(os.path.getsize(p) > 1000 for p in paths)


def test_building_check_catches_a_wrong_result():
    from maple_tree import MapleTree
    building = _load("building", "building.py")
    ranges = building.vma_ranges(50)
    wrong = MapleTree()
    for first, last, k in ranges[:-1]:
        wrong.store_range(first, last, k)
    with pytest.raises(AssertionError):
        building._check(wrong, ranges, 0.0, "stores")


def test_building_w7_table():
    """The W7 copies run, each checked against the source, and the table has
    a row per way and flag set with the C figures at E = 134."""
    building = _load("building", "building.py")
    lines = building.w7_table(134, rounds=1, budget=0.001)
    assert len(lines) == 1 + 2 * len(building.W7_WAYS)
    assert "14,879" in lines[4] and lines[1].split()[-3] == "1.0"


def test_dropped_spreads_evenly():
    building = _load("building", "building.py")
    for rate in (0.01, 0.1, 0.5):
        assert sum(building.dropped(k, rate) for k in range(1000)) == round(1000 * rate)
    assert not any(building.dropped(k, 0.0) for k in range(100))


def test_jitter_two_leaf_shows_the_difference(capsys):
    """The boundary case: the textbook rule allocates two nodes per write,
    the kernel's none after the first split (node counts, not timings)."""
    jitter = _load("jitter", "jitter.py")
    kernel = jitter.run("two-leaf", 50, textbook=False)
    textbook = jitter.run("two-leaf", 50, textbook=True)
    assert kernel["allocated"] < 0.05 and textbook["allocated"] == 2.0
    from maple_tree.constants import MT_MIN_SLOTS, LEAF_64
    assert MT_MIN_SLOTS[LEAF_64] == 6  # the rule is restored after the study


# -- the other peers: intervaltree and portion ----------------------------------

@pytest.mark.parametrize("adapter,module", [("IntervalTreeRangeMap", "intervaltree"),
                                            ("PortionRangeMap", "portion")])
@pytest.mark.parametrize("seed", range(3))
def test_peer_adapters_match_mapletree(adapter, module, seed):
    """Differential: random stores (some of None), erases, loads and copies give
    the same answers and contents on each adapter and on MapleTree."""
    pytest.importorskip(module)
    from maple_tree import MapleTree

    peers = _load_peers()
    rng = random.Random(seed)
    theirs = getattr(peers, adapter)()
    ours = MapleTree()
    for step in range(250):
        op = rng.random()
        if op < 0.55:
            first = rng.randrange(300)
            last = first + rng.choice((0, 1, 3, 8, 20, 60))
            value = None if rng.random() < 0.1 else rng.choice((step, 7))  # equal values too
            theirs.store_range(first, last, value)
            ours.store_range(first, last, value)
        elif op < 0.75:
            k = rng.randrange(400)
            assert theirs.erase(k) == ours.erase(k)
        else:
            k = rng.randrange(400)
            assert theirs.load(k) == ours.load(k)
        assert list(theirs) == list(ours)
    copied = theirs.copy()
    theirs.store_range(0, 400, None)
    assert list(copied) == list(ours) and list(theirs) == []


def test_peers_py_tiny(capsys):
    """peers.py runs its table and the memory row on whatever peers are installed."""
    peers = _load_peers()
    assert peers.main(["--n", "300", "--repeat", "1", "--gapq-queries", "10",
                       "--memory-n", "300"]) == 0
    out = capsys.readouterr().out
    for label in peers.OPERATIONS.values():
        assert out.count(f"\n{label} ") == 1, label
    assert "memory per range at N=300" in out


# -- concurrency.py: readers beside a writer ----------------------------------------

def test_concurrency_py_tiny():
    """concurrency.py runs as a script (threads, in a subprocess importing the
    package under test), checks what its threads saw and prints its tables."""
    pytest.importorskip("sortedcontainers")
    from under_test import subprocess_env

    proc = subprocess.run(
        [sys.executable, os.path.join(_BENCH, "concurrency.py"), "--seconds", "0.2",
         "--n", "2000", "--readers", "0", "1", "2"],
        capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "sys.getswitchinterval()" in out and "GIL:" in out
    assert "| map | readers R | reads/s (all readers) |" in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| maple ")
            or line.startswith("| locked SortedDict ")]
    assert [(r[1].strip().split()[0], int(r[2])) for r in rows] == [
        (side, r) for side in ("maple", "locked") for r in (0, 1, 2)]
    assert all(float(r[5].replace(",", "")) > 0 for r in rows)     # writer ops/s
    assert out.count("reads/s ÷ locked reads/s") == 1
    assert "goal 1, maple" in out and "goal 2, maple" in out


def test_concurrency_checks_catch_an_implausible_load():
    """The plausibility rule of a concurrent load, the writer's stream (W4's,
    continued) and one tiny run on the locked map, in process."""
    pytest.importorskip("sortedcontainers")
    conc = _load("concurrency", "concurrency.py")
    assert conc.plausible(15, 1) and conc.plausible(60, 20) and conc.plausible(7, None)
    assert not conc.plausible(160, 1) and not conc.plausible(71, 20)
    assert conc.writer_inputs(300)[:300] == wl.w4_inputs(300)
    cell = conc.run_cell(conc.LOCKED, 200, 1, 0.05, conc.writer_inputs(200, 500))
    assert cell.writes > 0 and cell.reads[0] > 0
    # a reader seeing a value no moment held, and a lost store, are caught
    import dataclasses
    wrong_read = dataclasses.replace(
        conc.LOCKED, read_block=lambda m, keys: [10 ** 9 for _ in keys])
    with pytest.raises(wl.WorkloadCheckError, match="which no moment held"):
        conc.run_cell(wrong_read, 200, 1, 0.05, conc.writer_inputs(200, 500))
    lost_store = dataclasses.replace(
        conc.LOCKED, write_block=lambda m, pairs: conc._locked_write_block(m, pairs[1:]))
    with pytest.raises(wl.WorkloadCheckError, match="does not hold"):
        conc.run_cell(lost_store, 200, 0, 0.05, conc.writer_inputs(200, 500))
