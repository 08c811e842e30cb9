"""The kernel conformance corpus replayed with RCU mode on from the start.

Every op file of ``tests/data/conformance`` is replayed on a fresh tree on
which ``tree.set_in_rcu()`` is called before the first op (files that switch
RCU mode themselves, the ``rcu_*`` ones, just run their ``RCU_ON``), and its
results and structures are compared with the *same* file's kernel reference
(``conformance_lib.compare_file(..., rcu=True)``).  That is the claim of corpus
finding 14, "RCU mode changes write paths, never shapes": over the kernel's
``rcu_*`` recordings and their ``rnd_*`` twins not one structure and not one
result differs; RCU mode only turns in-place appends and most slot stores into
node stores (a new node with the same content).  So in RCU mode too the port
must give the kernel's results and byte-identical canonical structures, and
after the last op the tree must still be in RCU mode (no op but ``RCU_OFF``
clears the flag; none of the corpus files has one).

Caveat for the ``bulk_*`` files: the kernel was never recorded running bulk
mode in RCU mode (the corpus generator keeps ``BULK_BEGIN`` out of RCU mode),
so for them the reference is the non-RCU recording and the claim rests on
finding 14 alone.

* Default run: :data:`SAMPLE`, a dozen files of every family, structures
  compared after every :data:`STRIDE`-th write and after the last op (a few
  seconds).  A sampled structure difference is re-run with a check after every
  write, so the reported op is exact.
* ``python -m pytest -m slow tests/test_conformance_rcu.py``: every file,
  structure after every op, reads included (about half a minute).
"""
from __future__ import annotations

import pytest

import conformance_lib as cl

NAMES = cl.all_names()
STRIDE = 5

#: the default sample: every family, the write paths RCU mode changes most
#: (appends, slot stores) and the cursor, fork, bulk and cyclic paths
SAMPLE = [
    "trace_set23",                  # captured VMA trace
    "kt_check_alloc_range",         # kernel table test
    "spec_probes_gap_wrap_f1",      # spec probes
    "rnd_append_seq_f0",            # appends: node stores in RCU mode
    "rnd_overwrite_span_mid_f1",    # spanning stores and slot stores
    "rnd_zero_entries_f1",
    "cur_iter_writes_f1",           # persistent cursor writing while iterating
    "cyc_mid_f1",                   # cyclic allocation
    "fork_rnd_vma_like_f1",         # fork emulation
    "bulk_short_f0",                # bulk mode (see the caveat above)
    "rcu_vma_like_f1",              # a recording made in RCU mode
]


def _finish(label: str, rep: cl.FileReport) -> None:
    cl.RUN_REPORTS.append((label, rep))
    assert rep.rcu
    if rep.failure is not None:
        pytest.fail(rep.failure, pytrace=False)
    # every op kind is supported: nothing may stop or be skipped
    assert rep.stopped_at is None and rep.skipped_unsupported == 0
    n_ops = len(cl.read_ops(cl.op_path(rep.name)).ops)
    assert rep.results_compared == rep.ops == n_ops
    assert rep.structures_compared >= 1


def test_sample_covers_every_family():
    assert set(SAMPLE) <= set(NAMES)
    families = {n.split("_")[0] for n in NAMES}
    assert {n.split("_")[0] for n in SAMPLE} == families


@pytest.mark.parametrize("name", SAMPLE)
def test_conformance_rcu(name):
    _finish("rcu sampled", cl.compare_pinpointed(name, STRIDE, rcu=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_conformance_rcu_full(name):
    rep = cl.compare_file(name, struct_stride=1, check_reads=True, rcu=True)
    _finish("rcu full", rep)


def test_rcu_replay_starts_and_stays_in_rcu_mode():
    rp_results = list(cl.replay(cl.op_path("trace_set2"), rcu=True))
    plain = list(cl.replay(cl.op_path("trace_set2")))
    assert rp_results == plain                   # same results and structures
    rp = cl.Replayer(0)
    rp.tree.set_in_rcu()
    for op in cl.read_ops(cl.op_path("spec_probes_dense16_f0")).ops:
        rp.step(op)
        assert rp.tree.in_rcu, op


def test_rcu_replay_reports_a_lost_rcu_flag(monkeypatch):
    # a write that (wrongly) clears the flag is caught after the last op
    spec = cl.OPS["ERASE"]

    def erase_and_clear(rp, *args):
        result = spec.handler(rp, *args)
        rp.tree.clear_in_rcu()
        return result

    monkeypatch.setitem(cl.OPS, "ERASE", cl.OpSpec("ERASE", erase_and_clear, spec.nargs,
                                                   spec.writes, spec.unsupported))
    rep = cl.compare_file("trace_set5", rcu=True)
    assert rep.failure is not None and "tree.in_rcu is False" in rep.failure
    assert "[RCU mode from the start]" in rep.failure
    assert cl.compare_file("trace_set5").failure is None     # off: nothing to lose
