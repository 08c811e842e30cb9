"""Op-by-op conformance with the Linux 6.12.117 maple tree (tests/data/conformance).

Every op file of the corpus is replayed on a fresh :class:`maple_tree.MapleTree`
(``conformance_lib.Replayer``) and compared with the kernel's recorded result
and tree structure (``maple-structure/1``, byte-identical canonical strings).

Policy: only ops of kinds the port does not support yet may be expected to fail.

* A file without unsupported ops must match on every op.
* In a file with unsupported ops, every normal-API op before the first
  unsupported op that *writes* (``S_STORE``, ``S_MSTORE``, ``S_ERASE``,
  ``ALLOC*``, ``CYCLIC``, ``BULK_*``) must match exactly.  Unsupported ops that
  only read (``MAS_*``, ``EMPTY_AREA*``, ``S_SET``/``S_FIND``/..., ``FORK``,
  ``RCU_*``) are not compared (their API does not exist yet: the replay
  records them as "not implemented" and leaves the tree alone), but the
  normal ops after them must still match.  At the first unsupported write
  the test is ``xfail``-ed with a reason naming that op.  Once an op kind
  is supported (``conformance_lib.register``), it is compared like the
  others.
* Failures name file, op index, op, expected vs got and (for structures) the
  first differing path, e.g. ``root.slots[1].slots[6].pivots[0]``.

Runtime: results are compared for every op.  Structures are compared after
every write for files of at most ``SMALL_FILE_OPS`` ops; for larger files
after every ``STRIDE``-th write and after the last op (the structure of
``trace_set25`` is ~100 KB, so a check on every op dominates the run).  When
a sampled run finds a structure difference, the file is re-run with a check
after every write so the reported op is exact.  This default run takes about
half a minute.

``python -m pytest -m slow tests/test_conformance.py`` runs the exhaustive
variant (``test_conformance_full``): structures after *every* op, reads
included (about two minutes).  A plain run deselects it (``tests/conftest.py``).

The file set is every recording in ``tests/data/conformance`` (117 files,
237,936 ops, fork, bulk and RCU mode included); ``RCU_ON``/``RCU_OFF`` run the
package's handlers (``tree.set_in_rcu()``/``clear_in_rcu()``) and the six
``rcu_*`` files are compared like the others.  ``tests/test_conformance_rcu.py``
replays every file again with RCU mode on from the start.
"""
from __future__ import annotations

import gzip
import hashlib
import json

import pytest

import conformance_lib as cl

NAMES = cl.all_names()
SMALL_FILE_OPS = 500
STRIDE = 5


def _n_ops(name: str) -> int:
    return len(cl.read_ops(cl.op_path(name)).ops)


def _finish(label: str, rep: cl.FileReport) -> None:
    cl.RUN_REPORTS.append((label, rep))
    if rep.failure is not None:
        pytest.fail(rep.failure, pytrace=False)
    if rep.stopped_at is not None:
        pytest.xfail(
            f"{rep.name}: op {rep.stopped_at} ({cl.op_text(rep.stopped_op)}) is an unsupported "
            f"write; {rep.results_compared} earlier results matched, "
            f"{rep.skipped_unsupported} unsupported reads skipped")
    # a complete match must really have compared something
    assert rep.results_compared + rep.skipped_unsupported == rep.ops == _n_ops(rep.name)
    assert rep.structures_compared >= 1


@pytest.mark.parametrize("name", NAMES)
def test_conformance(name):
    stride = 1 if _n_ops(name) <= SMALL_FILE_OPS else STRIDE
    _finish("sampled", cl.compare_pinpointed(name, stride))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_conformance_full(name):
    rep = cl.compare_file(name, struct_stride=1, check_reads=True)
    _finish("full", rep)


# ---------------------------------------------------------------------------
# the corpus itself and the reader (independent of the engine)
# ---------------------------------------------------------------------------

def test_corpus_is_complete_and_intact():
    index = json.loads((cl.DATA_DIR / "index.json").read_text())
    by_name = {f["name"]: f for f in index["files"]}
    assert sorted(by_name) == NAMES
    assert len(NAMES) == index["totals"]["files"] == 117
    total = 0
    for name in NAMES:
        rec = by_name[name]
        raw = cl.op_path(name).read_bytes()
        assert hashlib.sha256(raw).hexdigest() == rec["ops_sha256"], name
        ref = gzip.decompress(cl.ref_path(name).read_bytes())
        assert hashlib.sha256(ref).hexdigest() == rec["ref_sha256_uncompressed"], name
        opf = cl.read_ops(cl.op_path(name))
        assert opf.name == name and opf.flags == rec["flags"]
        assert len(opf.ops) == rec["ops"]
        counts: dict = {}
        for op in opf.ops:
            counts[op[0]] = counts.get(op[0], 0) + 1
        assert counts == rec["op_counts"], name
        total += len(opf.ops)
    assert total == index["totals"]["ops"] == 237936


def test_every_corpus_op_kind_is_registered_with_its_arity():
    for name in NAMES:
        for op in cl.read_ops(cl.op_path(name)).ops:
            spec = cl.OPS[op[0]]
            assert len(op) - 1 == spec.nargs, (name, op)


def test_unsupported_classification():
    # every op kind of the corpus is supported, the RCU mode switches included
    unsupported: set = set()
    writes = {"STORE", "STOREV", "SNULL", "ZERO", "INSERT", "ERASE", "S_STORE", "S_MSTORE",
              "S_ERASE", "ALLOC", "ALLOC_REV", "CYCLIC", "BULK_BEGIN", "BULK_END"}
    for kind, spec in cl.OPS.items():
        assert spec.unsupported == (kind in unsupported), kind
        if kind != "DUP":
            assert spec.writes == (kind in writes), kind
    assert cl.first_unsupported_write([("LOAD", 1), ("MAS_WALK", 3), ("S_STORE", 5),
                                       ("BULK_BEGIN", 1), ("RCU_ON",)]) is None
    assert cl.first_unsupported_write([("STORE", 1, 2), ("EMPTY_AREA", 0, 9, 1)]) is None
    # the RCU switches are traces' handlers, and they only flip the tree's flag
    for kind in ("RCU_ON", "RCU_OFF"):
        assert cl.OPS[kind].handler is cl.OP_KINDS[kind].run, kind
        assert cl.OPS[kind].nargs == 0 and not cl.OPS[kind].writes, kind


def test_replayer_rcu_switches_flip_the_flag_only():
    rp = cl.Replayer(0)
    for a in range(0, 400, 10):
        assert rp.step(("STORE", a, a + 4)) == 0
    before = rp.structure()
    assert not rp.tree.in_rcu
    assert rp.step(("RCU_ON",)) is None
    assert rp.tree.in_rcu and rp.structure() == before
    assert rp.step(("STORE", 402, 403)) == 0 and rp.step(("LOAD", 403)) == 402
    assert rp.step(("RCU_OFF",)) is None
    assert not rp.tree.in_rcu
    assert rp.not_implemented == 0


def test_rcu_files_begin_with_rcu_on_and_follow_their_twins():
    """``rcu_<s>_f<f>`` is ``RCU_ON`` then exactly the ops of ``rnd_<s>_f<f>``
    (compared where the twin is in the corpus: one of the six is)."""
    index = {f["name"]: f for f in
             json.loads((cl.DATA_DIR / "index.json").read_text())["files"]}
    rcu_names = [n for n in NAMES if n.startswith("rcu_")]
    assert len(rcu_names) == 6
    twins = 0
    for name in rcu_names:
        opf = cl.read_ops(cl.op_path(name))
        assert opf.ops[0] == ("RCU_ON",), name
        assert all(op[0] not in ("RCU_ON", "RCU_OFF") for op in opf.ops[1:]), name
        assert index[name]["final_rcu"] is True, name
        twin_name = "rnd_" + name[len("rcu_"):]
        assert index[name]["rcu_vs_twin"]["twin"] == twin_name
        assert index[name]["rcu_vs_twin"]["structure_differs"] == 0     # finding 14
        assert index[name]["rcu_vs_twin"]["result_differs"] == 0
        if twin_name in index:
            twin = cl.read_ops(cl.op_path(twin_name))
            assert opf.ops[1:] == twin.ops and opf.flags == twin.flags, name
            twins += 1
    assert twins >= 1


def test_read_ops(tmp_path):
    p = tmp_path / "x.ops"
    p.write_text(
        '#maple-ops/1 {"desc":"d","flags":1,"format":"maple-ops/1","name":"x","seed":7}\n'
        '#expect {"i":1,"r":0}\n'
        "# a comment\n"
        "STORE 1 18446744073709551615\n"
        "\n"
        "S_STORE -1\n"
        "DUP\n")
    opf = cl.read_ops(p)
    assert opf.name == "x" and opf.flags == 1 and opf.header["seed"] == 7
    assert opf.ops == [("STORE", 1, cl.ULONG_MAX), ("S_STORE", -1), ("DUP",)]
    assert opf.expects == [{"i": 1, "r": 0}]
    assert opf.comments == [(0, "a comment")]
    bad = tmp_path / "bad.ops"
    bad.write_text("STORE 1 2\n")
    with pytest.raises(ValueError):
        cl.read_ops(bad)


def _write_ref(tmp_path, lines):
    p = tmp_path / "r.jsonl.gz"
    with gzip.open(p, "wt") as fh:
        for line in lines:
            fh.write(cl.canonical(line) + "\n")
    return p


def test_reference_reader_rebuilds_structures(tmp_path):
    m = cl.ULONG_MAX
    leaf_a = {"max": 8, "min": 0, "pivots": [3, 8], "slots": [None, 4], "type": "leaf_64"}
    leaf_b = {"max": m, "min": 9, "pivots": [9, m], "slots": ["zero", None], "type": "leaf_64"}
    inner = {"gaps": [3, m - 9], "max": m, "min": 0, "pivots": [8, m], "slots": [1, 2],
             "type": "arange_64"}
    lines = [
        {"h": 0, "i": 0, "r": 0, "root": {"entry": 5}, "val": 0, "warn": 0},
        {"i": 1, "r": [5, 1], "same": True, "val": 0, "warn": 0},
        {"h": 2, "i": 2, "n": [[1, leaf_a], [2, leaf_b], [3, inner]], "r": 0, "root": 3,
         "val": 0, "warn": 0},
        {"h": 1, "i": 3, "r": None, "root": 1, "val": 0, "warn": 0},
        {"i": 4, "r": "zero", "same": True, "val": 0, "warn": 0},
        {"h": 0, "i": 5, "r": 0, "root": None, "val": 0, "warn": 0},
    ]
    steps = list(cl.iter_reference(_write_ref(tmp_path, lines)))
    assert [s.i for s in steps] == list(range(6))
    assert [s.same for s in steps] == [False, True, False, False, True, False]
    assert steps[1].result == [5, 1] and steps[4].result == "zero"
    assert steps[0].structure == '{"height":0,"root":{"entry":5}}'
    assert steps[1].structure == steps[0].structure
    full = dict(inner, slots=[leaf_a, leaf_b])
    assert steps[2].structure == cl.canonical({"height": 2, "root": full})
    assert steps[3].structure == cl.canonical({"height": 1, "root": leaf_a})
    assert steps[4].structure == steps[3].structure
    assert steps[5].structure == cl.EMPTY_STRUCTURE


def test_reference_reader_rejects_gaps(tmp_path):
    p = _write_ref(tmp_path, [{"h": 0, "i": 0, "r": 0, "root": None},
                              {"i": 2, "r": 0, "same": True}])
    with pytest.raises(ValueError):
        list(cl.iter_reference(p))


def test_reference_reader_on_real_file():
    steps = list(cl.iter_reference("spec_probes_dense16_f0"))
    assert len(steps) == 16
    last = json.loads(steps[-1].structure)
    assert last["height"] == 2
    assert [leaf["pivots"][-1] for leaf in last["root"]["slots"]] == [8, cl.ULONG_MAX]
    assert last["root"]["slots"][1]["slots"] == [9, 10, 11, 12, 13, 14, 15, None]


def test_structure_diff_names_first_differing_path():
    a = {"height": 2, "root": {"max": 9, "min": 0, "pivots": [4, 9],
                               "slots": [{"pivots": [1, 4], "slots": [1, None]},
                                         {"pivots": [6, 9], "slots": [5, None]}],
                               "type": "range_64"}}
    b = json.loads(json.dumps(a))
    b["root"]["slots"][1]["pivots"][0] = 7
    d = cl.structure_diff(cl.canonical(a), cl.canonical(b))
    assert "root.slots[1].pivots[0]: expected 6, got 7" in d
    assert cl.first_diff_path(cl.canonical(a), cl.canonical(b)) == \
        "root.slots[1].pivots[0]: expected 6, got 7"
    assert cl.first_diff_path(cl.canonical(a), cl.canonical(a)) == ""
    c = json.loads(json.dumps(a))
    c["root"]["slots"][0]["pivots"].append(9)
    assert cl.first_diff_path(cl.canonical(a), cl.canonical(c)) == \
        "root.slots[0].pivots: length expected 2, got 3"


def test_results_compare_as_canonical_json():
    assert cl.results_equal([0, True], (0, True))
    assert not cl.results_equal([0, True], [0, 1])
    assert not cl.results_equal(None, 0)
    assert cl.results_equal(["zero", 5], ("zero", 5))
    assert not cl.results_equal("crash", cl.NotImplementedResult("S_NEXT"))


# ---------------------------------------------------------------------------
# the replayer against the engine
# ---------------------------------------------------------------------------

def test_replayer_normal_ops_follow_the_conventions():
    rp = cl.Replayer(0)
    m = cl.ULONG_MAX
    assert rp.step(("STORE", 10, 20)) == 0
    assert rp.step(("LOAD", 15)) == 10
    assert rp.step(("INSERT", 15, 16)) == -17
    assert rp.step(("STORE", 30, 20)) == -22
    assert rp.step(("STOREV", 2 ** 63 + 5, m, 7)) == 0
    assert rp.step(("LOAD", m)) == 7
    assert rp.step(("INSERT", 2 ** 63 + 1, 2 ** 63 + 1)) == 0
    assert rp.step(("LOAD", 2 ** 63 + 1)) == 1            # xa_mk_value keeps 63 bits
    assert rp.step(("ZERO", 40, 41)) == 0
    assert rp.step(("LOAD", 40)) is None
    assert rp.step(("FIND", 0, m)) == [10, 21]
    assert rp.step(("FIND", 21, m)) == [1, 2 ** 63 + 2]
    assert rp.step(("FIND", 2 ** 63 + 5, m)) == [7, 0]     # idx wraps after ULONG_MAX
    assert rp.step(("FIND", 22, 35)) == [None, 22]
    assert rp.step(("ERASE", 40)) == "zero"
    assert rp.step(("ERASE", 40)) is None
    assert rp.step(("SNULL", 10, 12)) == 0
    assert rp.step(("LOAD", 11)) is None and rp.step(("LOAD", 13)) == 10
    assert rp.step(("DUP",)) == [0, True]


def test_not_implemented_ops_leave_the_tree_alone():
    rp = cl.Replayer(1)
    for a in range(0, 400, 10):
        assert rp.step(("STORE", a, a + 4)) == 0
    before = rp.structure()
    stubs = [(k, s) for k, s in cl.OPS.items()
             if s.unsupported and s.handler.__name__ == f"_op_{k.lower()}"
             and s.handler.__qualname__.startswith("_unsupported")]
    if not stubs:
        pytest.skip("every unsupported op kind is implemented")
    for kind, spec in stubs:
        args = {0: (), 1: (5,), 2: (5, 100), 3: (0, 1000, 4)}[spec.nargs]
        result = rp.step((kind,) + args)
        assert cl.is_not_implemented(result) and result.kind == kind
        assert rp.structure() == before, kind
    assert rp.not_implemented == len(stubs)


def test_replay_generator_matches_compare_py_protocol():
    out = list(cl.replay(cl.op_path("trace_set2")))
    refs = list(cl.iter_reference("trace_set2"))
    assert len(out) == len(refs) == 24
    prev = cl.EMPTY_STRUCTURE
    for (result, struct), st in zip(out, refs):
        assert cl.results_equal(st.result, result), st.i
        prev = struct if struct is not None else prev
        assert prev == st.structure, st.i


def test_kernel_test_expectations_hold_in_our_replay():
    """The ``#expect`` values the kernel's own tests assert (``why: kernel test``),
    checked directly on our results for normal-API ops."""
    checked = 0
    for name in NAMES:
        opf = cl.read_ops(cl.op_path(name))
        exps = {e["i"]: e for e in opf.expects
                if str(e.get("why", "")).startswith("kernel test")}
        if not exps:
            continue
        rp = cl.Replayer(opf.flags)
        results = []
        for i, op in enumerate(opf.ops):
            if cl.is_unsupported_write(op[0]):
                break
            results.append(rp.step(op))
            e = exps.get(i)
            if e is None or cl.is_not_implemented(results[-1]):
                continue
            got = cl.normalize_result(results[-1])
            if "r" in e:
                assert got == e["r"], (name, i, e)
            for k in ("r0", "r1", "r2", "r3"):
                if k in e:
                    assert got[int(k[1])] == e[k], (name, i, e)
            if "differs_from" in e:
                assert got != cl.normalize_result(results[e["differs_from"]]), (name, i, e)
            checked += 1
    assert checked >= 10


# ---------------------------------------------------------------------------
# the harness catches divergences (deliberately broken replays)
# ---------------------------------------------------------------------------

def _break_nth(monkeypatch, kind, n, make_bad):
    """Replace op ``kind``'s handler so that its ``n``-th call misbehaves."""
    spec = cl.OPS[kind]
    calls = {"n": 0}

    def handler(rp, *args):
        calls["n"] += 1
        if calls["n"] == n:
            return make_bad(spec.handler, rp, *args)
        return spec.handler(rp, *args)

    monkeypatch.setitem(cl.OPS, kind, cl.OpSpec(kind, handler, spec.nargs, spec.writes,
                                                spec.unsupported))


def _index_of_nth(name, kind, n):
    ops = cl.read_ops(cl.op_path(name)).ops
    return [i for i, op in enumerate(ops) if op[0] == kind][n - 1]


@pytest.mark.parametrize("stride", [1, 5])
def test_harness_reports_a_structure_divergence(monkeypatch, stride):
    name = "trace_set5"
    target = _index_of_nth(name, "STORE", 40)
    # same return code, but a different stored value: only the structure differs
    _break_nth(monkeypatch, "STORE", 40,
               lambda h, rp, a, b: cl._op_storev(rp, a, b, a + 1))
    rep = cl.compare_file(name, struct_stride=stride)
    assert rep.failure is not None and "structure differs" in rep.failure
    if stride == 1:
        assert rep.failure_index == target
    else:
        assert target <= rep.failure_index < target + 2 * stride + 2
    assert ".slots[" in rep.failure and f"got {cl.ops_value(name, target) + 1}" in rep.failure


def test_harness_reports_a_result_divergence(monkeypatch):
    name = "rnd_query_heavy_f0"
    target = _index_of_nth(name, "FIND", 7)
    _break_nth(monkeypatch, "FIND", 7, lambda h, rp, a, mx: [None, a + 1])
    rep = cl.compare_file(name)
    assert rep.failure_index == target
    assert f"op {target} (FIND " in rep.failure and "result expected" in rep.failure


def test_harness_stops_at_the_first_unsupported_write(monkeypatch):
    # no corpus file holds an unsupported write any more; pretend S_STORE is one
    spec = cl.OPS["S_STORE"]
    monkeypatch.setitem(cl.OPS, "S_STORE", cl.OpSpec("S_STORE", spec.handler, spec.nargs,
                                                     True, True))
    rep = cl.compare_file("cur_big_f0")
    assert rep.failure is None
    assert rep.stopped_at == 1401 and rep.stopped_op[0] == "S_STORE"
    assert rep.results_compared == 1401            # every op before it (S_SET_RANGE too)
    assert rep.skipped_unsupported == 0
