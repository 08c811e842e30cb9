"""Shared pytest setup for the maple-tree test suite.

* Chooses the package under test (``tests/under_test.py``): this checkout's
  ``src/`` by default, the installed package with
  ``MAPLE_TREE_USE_INSTALLED=1`` (how CI tests the compiled build), and
  names the build in the report header.
* (The ``slow`` marker and its default deselection live in pyproject.toml:
  ``addopts = -m "not slow"``; ``python -m pytest -m slow`` runs only the
  exhaustive variants, ``-m "slow or not slow"`` everything.)
* Prints the conformance counters collected by ``tests/test_conformance.py``
  at the end of the run.
"""
from __future__ import annotations

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

import under_test  # noqa: E402

under_test.put_package_on_path()
_LOADED = under_test.check_loaded_build()


def pytest_report_header(config):
    return _LOADED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    try:
        import conformance_lib as cl
    except ImportError:  # pragma: no cover
        return
    reports = getattr(cl, "RUN_REPORTS", None)
    if not reports:
        return
    tr = terminalreporter
    tr.section("maple-tree conformance")
    for label in sorted({r[0] for r in reports}):
        reps = [r[1] for r in reports if r[0] == label]
        full = sum(1 for r in reps if r.failure is None and r.stopped_at is None)
        stopped = [r for r in reps if r.failure is None and r.stopped_at is not None]
        failed = [r for r in reps if r.failure is not None]
        tr.write_line(
            f"{label}: {len(reps)} files: {full} matched completely, "
            f"{len(stopped)} xfailed at an unsupported write, {len(failed)} failed; "
            f"{sum(r.results_compared for r in reps)} results and "
            f"{sum(r.structures_compared for r in reps)} structures compared, "
            f"{sum(r.skipped_unsupported for r in reps)} unsupported read ops skipped, "
            f"{sum(r.ops for r in reps)} ops replayed")
        for r in failed:
            tr.write_line(f"  FAILED {r.failure[:300]}")
