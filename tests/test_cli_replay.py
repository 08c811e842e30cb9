"""``maple-tree replay``: kernel JSON traces and maple-ops/1 op files (plain or
gzip-compressed) replayed and checked, the text and ``--json`` summaries,
mismatches, one error line for every bad input, and progress on stderr only
(tqdm or the plain-text fallback).  Most runs are in-process (``main``); a few
are real subprocesses."""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import conformance_lib as cl
import pytest
from test_cli import BAD_FILES, BAD_PATHS, _assert_error_line, _bad_input, write_input
from under_test import subprocess_env

from maple_tree import COMPILED, MapleTree, TreeCorruptError, cli, traces
from maple_tree.cli import REPLAY_JSON_KEYS, main
from maple_tree.traces import (
    OP_KINDS,
    OpReplayer,
    TraceError,
    canonical,
    read_trace,
    run,
)

TRACE_DIR = Path(__file__).resolve().parent / "data" / "kernel-tests" / "traces"
INDEX = {f["name"]: f for f in json.loads((cl.DATA_DIR / "index.json").read_text())["files"]}
#: small op files of different families: kernel trace, kernel test, fork, cyclic
#: allocation, persistent cursor, spec probes of the normal and advanced API
OP_FILES = ["trace_set2", "kt_check_empty_area_window", "fork_trace_set3", "cyc_nonalloc_f0",
            "cur_ends_f0", "spec_probes_api_f0"]
#: op files whose #expect lines (spec predictions) Linux 6.12 itself does not meet:
#: the port matches the kernel's recording there, so replay reports them apart and
#: does not fail
EXPECTS_THE_KERNEL_FAILS = {"spec_probes_dense16_f0": 1, "spec_probes_dense16_f1": 1,
                            "spec_probes_gap_wrap_f0": 12, "spec_probes_gap_wrap_f1": 11}
SUMMARY_LINES = ("ops by kind: ", "checks: ", "tree flags: ", "height: ", "entries: ",
                 "nodes: ", "fill per level", "validate: ok", "elapsed: ")


def _op_file(name: str) -> str:
    return str(cl.op_path(name))


def _replay(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["replay", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _replay_json(capsys, *args: str) -> tuple[int, dict, str]:
    status, out, err = _replay(capsys, "--json", *args)
    return status, json.loads(out), err


# -- what replay reads and reports ------------------------------------------------------------


def test_json_trace_summary(capsys):
    path = str(TRACE_DIR / "set16.json")
    status, out, err = _replay(capsys, path)
    assert (status, err) == (0, "")
    assert out.startswith(f"replayed {path}: JSON kernel trace 'set16', 208 ops\n")
    assert "ops by kind: 148 STORE, 42 SNULL, 18 ERASE\n" in out
    # one entry count per row (derived.entry_count_after_op) and the final one
    assert "checks: 209 passed, 0 mismatched\n" in out
    assert "entries: 80\n" in out and "tree flags: 0x1 (MT_FLAGS_ALLOC_RANGE)\n" in out
    for start in SUMMARY_LINES:
        assert re.search(rf"^{re.escape(start)}", out, re.MULTILINE), start
    assert re.search(r"^elapsed: \d+\.\d{3} s \([\d,]+ ops/s\)$", out, re.MULTILINE)


def test_json_trace_tree_is_the_kernel_drivers(capsys):
    trace = traces.load_trace(str(TRACE_DIR / "set25.json"))
    status, summary, _ = _replay_json(capsys, str(TRACE_DIR / "set25.json"))
    tree = traces.replay(trace)
    assert status == 0
    assert summary["tree"] == cli.tree_stats(tree)
    assert summary["tree"]["entries"] == trace["derived"]["final_entry_count"]


@pytest.mark.parametrize("name", OP_FILES)
def test_op_file_ends_in_the_kernels_tree(capsys, name):
    status, summary, err = _replay_json(capsys, _op_file(name))
    assert (status, err) == (0, "")
    record = INDEX[name]
    assert summary["format"] == "maple-ops/1" and summary["name"] == name
    assert summary["ops"] == record["ops"]
    assert summary["ops_by_kind"] == record["op_counts"]
    assert summary["checks"]["mismatched"] == 0
    assert summary["checks"]["first_mismatch"] is None
    # the corpus counts ZERO_ENTRY ranges too; len(tree) does not
    assert summary["tree"]["entries"] == record["final_entries"] - record["final_zero_entries"]
    assert summary["tree"]["height"] == record["final_height"]
    assert summary["tree"]["flags"] & 1 == record["flags"]
    final = list(cl.iter_reference(name))[-1].structure
    assert canonical(read_trace_tree(name).structure()) == final


def read_trace_tree(name: str) -> MapleTree:
    return run(read_trace(_op_file(name))).tree


@pytest.mark.parametrize("name", OP_FILES)
def test_every_result_is_the_kernels(name):
    """The package's replayer gives, op for op, the result the kernel recorded."""
    trace = read_trace(_op_file(name))
    rp = OpReplayer(trace.flags)
    refs = list(cl.iter_reference(name))
    assert len(refs) == len(trace.steps)
    for step, ref in zip(trace.steps, refs):
        result = rp.step(step.kind, step.args)
        assert cl.results_equal(ref.result, result), (step, ref.result, result)


def test_every_corpus_kind_is_replayed():
    assert set(cl.OPS) == set(OP_KINDS)
    for kind, spec in cl.OPS.items():
        assert len(OP_KINDS[kind].args) == spec.nargs, kind


def test_expectations_are_checked(capsys):
    status, summary, _ = _replay_json(capsys, _op_file("kt_check_empty_area_window"))
    assert status == 0
    assert summary["checks"] == {"passed": 14, "mismatched": 0, "unchecked": 0,
                                 "spec_not_held": 0, "first_mismatch": None}
    status, summary, _ = _replay_json(capsys, _op_file("spec_probes_api_f0"))
    assert summary["checks"]["passed"] > 40 and summary["checks"]["unchecked"] == 1


@pytest.mark.parametrize("name", sorted(EXPECTS_THE_KERNEL_FAILS))
def test_spec_predictions_the_kernel_does_not_meet(capsys, name):
    status, summary, err = _replay_json(capsys, _op_file(name))
    assert status == 0 and err == ""
    assert summary["checks"]["mismatched"] == 0
    assert summary["checks"]["spec_not_held"] == EXPECTS_THE_KERNEL_FAILS[name]
    status, out, _ = _replay(capsys, _op_file(name))
    assert status == 0 and "spec predictions not held: " in out


def test_a_failed_kernel_assertion_still_fails(tmp_path, capsys):
    """An #expect that does not hold fails the replay; in a spec_probes_* file
    (a spec's predictions) it is reported and does not."""
    body = '#maple-ops/1 {"name": "%s"}\nSTORE 5 9\nLOAD 7\n#expect {"i": 1, "r": 6}\n'
    for name, status_expected in (("t", 1), ("spec_probes_t", 0)):
        path = tmp_path / "t.ops"
        path.write_text(body % name)
        status, _, err = _replay(capsys, str(path))
        assert status == status_expected, name
        assert (err.count("\n") == 1) == bool(status_expected)


def test_json_keys(capsys):
    status, summary, _ = _replay_json(capsys, _op_file("trace_set2"))
    assert status == 0
    assert list(summary) == list(REPLAY_JSON_KEYS)
    assert set(summary["checks"]) == {"passed", "mismatched", "unchecked", "spec_not_held",
                                      "first_mismatch"}
    assert {"flags", "height", "entries", "nodes", "nodes_by_type", "levels"} <= set(
        summary["tree"])
    assert summary["validate"] == "ok"
    assert summary["build"] == ("compiled" if COMPILED else "pure")
    assert summary["elapsed_s"] >= 0 and summary["ops_per_s"] >= 0
    assert summary["file"] == _op_file("trace_set2")


def test_gzip_is_read_by_content(tmp_path, capsys):
    for source, name in ((_op_file("trace_set2"), "a.ops.gz"),
                         (str(TRACE_DIR / "set16.json"), "no-suffix")):
        packed = tmp_path / name
        packed.write_bytes(gzip.compress(Path(source).read_bytes()))
        _, plain, _ = _replay_json(capsys, source)
        status, unpacked, err = _replay_json(capsys, str(packed))
        assert (status, err) == (0, "")
        for key in ("format", "name", "ops", "ops_by_kind", "checks", "tree"):
            assert unpacked[key] == plain[key], key


def test_op_file_detected_without_its_suffix(tmp_path, capsys):
    path = tmp_path / "trace.json"
    path.write_text('# leading comment\n#maple-ops/1 {"name": "x", "flags": 1}\nSTORE 5 9\n'
                    'ERASE 7\n#expect {"i": 1, "r": 5}\n')
    status, summary, _ = _replay_json(capsys, str(path))
    assert status == 0 and summary["format"] == "maple-ops/1"
    assert summary["tree"]["flags"] == 1 and summary["checks"]["passed"] == 1


def test_dump_takes_an_op_file(capsys):
    assert main(["dump", _op_file("fork_trace_set3")]) == 0
    assert capsys.readouterr().out == read_trace_tree("fork_trace_set3").dump()


# -- mismatches ---------------------------------------------------------------------------------


def _tampered(tmp_path: Path) -> tuple[str, int, int]:
    """kt_check_empty_area_window with one #expect changed: (path, op index, line)."""
    lines = Path(_op_file("kt_check_empty_area_window")).read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith('#expect {"i":23,'))
    assert lines[at].startswith('#expect {"i":23,"r0":0,"r1":5,')
    lines[at] = lines[at].replace('"r1":5,', '"r1":6,')
    path = tmp_path / "tampered.ops"
    path.write_text("\n".join(lines) + "\n")
    op_line = 1 + [i for i, line in enumerate(lines) if line and not line.startswith("#")][23]
    return str(path), 23, op_line


def test_tampered_expectation_is_reported(tmp_path, capsys):
    path, op, line = _tampered(tmp_path)
    status, out, err = _replay(capsys, path)
    assert status == 1
    assert "checks: 13 passed, 1 mismatched\n" in out
    first = f"line {line} (1-based), op {op} (0-based): EMPTY_AREA_REV 5 90 5: "
    assert f"\nfirst mismatch: {first}" in out
    assert "result item 1: expected 6, got 5" in out
    assert "validate: ok" in out  # the summary is printed in full
    assert err.count("\n") == 1 and err.startswith(f"maple-tree: error: {path}: 1 of 14 ")
    assert first in err


def test_tampered_expectation_in_json(tmp_path, capsys):
    path, op, line = _tampered(tmp_path)
    status, summary, err = _replay_json(capsys, path)
    assert status == 1 and err.count("\n") == 1
    first = summary["checks"]["first_mismatch"]
    assert summary["checks"]["mismatched"] == 1
    assert (first["op"], first["line"]) == (op, line)
    assert first["text"] == "EMPTY_AREA_REV 5 90 5"
    assert "expected 6, got 5" in first["message"]


def test_wrong_entry_count_in_a_json_trace(tmp_path, capsys):
    trace = {"name": "t", "ops": [["STORE", 10, 19], ["STORE", 30, 39], ["ERASE", 30, 30]],
             "derived": {"entry_count_after_op": [1, 3, 1], "final_entry_count": 2}}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(trace))
    status, out, err = _replay(capsys, str(path))
    assert status == 1
    assert "checks: 2 passed, 2 mismatched\n" in out
    assert ("first mismatch: row 1 (0-based): STORE 30 39: entries (len): expected 3, got 2 "
            "(derived.entry_count_after_op[1])\n") in out
    assert err.count("\n") == 1 and "2 of 4 checks mismatched" in err


def test_differs_from_and_shape_checks(tmp_path, capsys):
    path = tmp_path / "x.ops"
    path.write_text('#maple-ops/1 {"name": "x"}\n'
                    '#expect {"i": 1, "differs_from": 0}\n'
                    '#expect {"i": 1, "s_root_null": true, "why": "nothing stored yet"}\n'
                    '#expect {"i": 2, "s_root_entry": 0}\n'
                    '#expect {"i": 3, "leaf_pivots": [[0, 4, 9, 18446744073709551615]]}\n'
                    '#expect {"i": 3, "note": "nothing to check"}\n'
                    '#expect {"i": 3, "s_root_entry": 7}\n'
                    "LOAD 0\nLOAD 1\nSTORE 0 0\nSTORE 5 9\n")
    status, summary, _ = _replay_json(capsys, str(path))
    checks = summary["checks"]
    assert status == 1
    assert (checks["passed"], checks["mismatched"], checks["unchecked"]) == (3, 2, 1)
    first = checks["first_mismatch"]
    assert (first["op"], first["line"], first["text"]) == (1, 9, "LOAD 1")
    assert first["message"] == ("expected a result different from op 0's, got the same: null "
                                "(#expect on line 2)")


# -- bad input: one error line, exit 1 ----------------------------------------------------------

#: name -> (op file content, fragments of the error line besides the file name)
BAD_OPS: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "no_header": ("STORE 1 2\n", ("line 1 (1-based)", "before the '#maple-ops/1")),
    "comments_only": ("# just a comment\n", ("no '#maple-ops/1 {...}' header",)),
    "header_not_json": ("#maple-ops/1 {bad\n", ("line 1 (1-based)", "header: not valid JSON")),
    "header_missing_json": ("#maple-ops/1\n", ("line 1", "header: not valid JSON")),
    "header_not_object": ("#maple-ops/1 [1]\n", ("header: expected a JSON object", "[1]")),
    "other_version": ("#maple-ops/2 {}\n", ("unsupported format 'maple-ops/2'",)),
    "header_format": ('#maple-ops/1 {"format": "x"}\n', ('unsupported format "x"',)),
    "header_bad_flags": ('#maple-ops/1 {"flags": 4096}\n',
                        ("header: flags", "unknown tree flag", "0x1000")),
    "header_name": ('#maple-ops/1 {"name": 5}\n', ('"name" must be a string',)),
    "second_header": ("#maple-ops/1 {}\nSTORE 1 2\n#maple-ops/1 {}\n",
                      ("line 3 (1-based)", "a second header")),
    "unknown_kind": ("#maple-ops/1 {}\nSTORE 1 2\nPUT 1 2\n",
                     ("line 3 (1-based)", 'unknown op kind "PUT"', "replay --help")),
    "lower_case_kind": ("#maple-ops/1 {}\nstore 1 2\n", ("line 2", 'unknown op kind "store"')),
    "too_few_args": ("#maple-ops/1 {}\nSTORE 1\n",
                     ("line 2 (1-based)", "STORE takes 2 arguments (STORE a b), got 1")),
    "too_many_args": ("#maple-ops/1 {}\nDUP 1\n", ("DUP takes 0 arguments (DUP), got 1",)),
    "arg_not_int": ("#maple-ops/1 {}\nSTORE 1 x\n", ("line 2", "expected an integer", '"x"')),
    "arg_float": ("#maple-ops/1 {}\nLOAD 1.5\n", ("LOAD: expected an integer", '"1.5"')),
    "arg_huge": ("#maple-ops/1 {}\nLOAD " + "9" * 50 + "\n", ("at most 40 digits",)),
    "expect_not_json": ("#maple-ops/1 {}\n#expect {\nLOAD 1\n",
                        ("line 2 (1-based)", "#expect: not valid JSON")),
    "expect_not_object": ("#maple-ops/1 {}\n#expect 5\nLOAD 1\n",
                          ("#expect: expected a JSON object", "got 5")),
    "expect_index_missing": ('#maple-ops/1 {}\n#expect {"r": 1}\nLOAD 1\n',
                             ('"i" must be an op index in 0..0', "got null")),
    "expect_index_too_big": ('#maple-ops/1 {}\nLOAD 1\n#expect {"i": 1, "r": 0}\n',
                             ("line 3 (1-based)", "0..0", "got 1")),
    "expect_without_ops": ('#maple-ops/1 {}\n#expect {"i": 0, "r": 0}\n',
                           ("there is no op",)),
    "expect_differs_from_later": (('#maple-ops/1 {}\n#expect {"i": 0, "differs_from": 1}\n'
                                   "LOAD 1\nLOAD 2\n"), ('"differs_from" must be the index',)),
    "tree_refuses_a_read": ("#maple-ops/1 {}\nSTORE 1 2\nLOAD -1\n",
                            ("line 3 (1-based): LOAD -1: ", "index")),
    "tree_refuses_a_key": ("#maple-ops/1 {}\nMAS_WALK 18446744073709551616\n",
                           ("line 2 (1-based): MAS_WALK 18446744073709551616: ",)),
    "bad_gzip": (b"\x1f\x8b\x08\x00garbage", ("not valid gzip",)),
    "truncated_gzip": (gzip.compress(b"#maple-ops/1 {}\nSTORE 1 2\n")[:-6], ("not valid gzip",)),
    "gzip_bad_line": (gzip.compress(b"#maple-ops/1 {}\nSTORE 1\n"), ("line 2 (1-based)",)),
    "gzip_not_utf8": (gzip.compress(b"\xff\xfe"), ("not UTF-8",)),
    "derived_not_object": ('{"ops": [], "derived": 5}', ('"derived" must be a JSON object',)),
    "derived_counts_short": (('{"ops": [["STORE", 1, 2]], "derived": '
                              '{"entry_count_after_op": []}}'),
                             ("derived.entry_count_after_op must be a list of 1 counts",)),
    "derived_final_bad": ('{"ops": [], "derived": {"final_entry_count": "x"}}',
                          ("derived.final_entry_count must be a count",)),
}


def _write_bad_op(tmp_path: Path, name: str) -> str:
    return write_input(tmp_path / f"{name}.ops", BAD_OPS[name][0])


@pytest.mark.parametrize("name", [*BAD_FILES, *BAD_PATHS])
def test_bad_json_input_one_error_line(tmp_path, capsys, name):
    path, fragments = _bad_input(tmp_path, name)
    status, out, err = _replay(capsys, path)
    _assert_error_line(status, out, err, path, fragments)


@pytest.mark.parametrize("name", BAD_OPS)
def test_bad_op_file_one_error_line(tmp_path, capsys, name):
    path = _write_bad_op(tmp_path, name)
    status, out, err = _replay(capsys, path)
    _assert_error_line(status, out, err, path, BAD_OPS[name][1])


@pytest.mark.skipif(COMPILED, reason="a compiled MapleTree's methods cannot be patched")
@pytest.mark.parametrize("ops, fragments", [
    ("STORE 1 2\n", ("the final tree fails validate", "pivot out of order")),
    ("STORE 1 2\nDUP\n", ("line 3 (1-based): DUP: ", "pivot out of order")),
])
def test_tree_that_fails_validate(tmp_path, monkeypatch, capsys, ops, fragments):
    def corrupt(self, exempt_rightmost=False):
        raise TreeCorruptError("node 0x100: pivot out of order")

    monkeypatch.setattr(MapleTree, "validate", corrupt)
    path = tmp_path / "v.ops"
    path.write_text("#maple-ops/1 {}\n" + ops)
    status, out, err = _replay(capsys, str(path))
    _assert_error_line(status, out, err, str(path), fragments)


def test_trace_error_names_the_op(tmp_path):
    path = _write_bad_op(tmp_path, "tree_refuses_a_read")
    with pytest.raises(TraceError, match=r": line 3 \(1-based\): LOAD -1: "):
        run(read_trace(path))


# -- progress -----------------------------------------------------------------------------------

PROGRESS_LINE = re.compile(r"^replay: (\d+)% \(([\d,]+)/([\d,]+) ops\)$")


@pytest.fixture
def no_tqdm(monkeypatch):
    """Make ``import tqdm`` fail, as when the optional extra is not installed."""
    monkeypatch.setitem(sys.modules, "tqdm", None)


@pytest.fixture
def terminal(monkeypatch):
    """Make stderr look like a terminal."""
    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)


def _progress_lines(err: str) -> list[tuple[int, int, int]]:
    found = []
    for line in err.splitlines():
        match = PROGRESS_LINE.match(line)
        assert match, line
        found.append(tuple(int(g.replace(",", "")) for g in match.groups()))
    return found


def test_forced_progress_goes_to_stderr_only(capsys, no_tqdm):
    path = _op_file("cyc_nonalloc_f0")
    status, plain, _ = _replay(capsys, path)
    status_p, out, err = _replay(capsys, "--progress", path)
    assert status == status_p == 0
    assert _without_times(out) == _without_times(plain)  # nothing of it on stdout
    lines = _progress_lines(err)
    assert lines[0] == (0, 0, 200) and lines[-1] == (100, 200, 200)
    percents = [p for p, _, _ in lines]
    assert percents == sorted(percents)


def _without_times(out: str) -> str:
    return re.sub(r"^elapsed: .*$", "", out, flags=re.MULTILINE)


def test_plain_progress_every_tenth():
    stream = _Stream()
    progress = cli._Progress(1000, True, stream)
    for done in range(0, 1001, 10):
        progress(done)
    progress.close()
    assert [p for p, _, _ in _progress_lines(stream.text)] == list(range(0, 101, 10))


class _Stream:
    """A text stream that is not a terminal and keeps what is written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_no_progress_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cli, "PROGRESS_MIN_OPS", 0)
    status, _, err = _replay(capsys, _op_file("trace_set2"))
    assert (status, err) == (0, "")


def test_progress_on_a_terminal_for_long_files(capsys, monkeypatch, no_tqdm, terminal):
    path = _op_file("trace_set2")  # 24 ops
    assert _replay(capsys, path)[2] == ""  # short and quick: no progress
    monkeypatch.setattr(cli, "PROGRESS_MIN_OPS", 20)
    assert _progress_lines(_replay(capsys, path)[2])[-1] == (100, 24, 24)
    assert _replay(capsys, "--no-progress", path)[2] == ""


def test_progress_on_a_terminal_after_a_while(capsys, monkeypatch, no_tqdm, terminal):
    monkeypatch.setattr(cli, "PROGRESS_AFTER_S", 0.0)
    err = _replay(capsys, _op_file("trace_set2"))[2]
    assert _progress_lines(err)[-1] == (100, 24, 24)


def test_progress_uses_tqdm_when_installed(capsys, monkeypatch, terminal):
    bars = []

    class FakeBar:
        def __init__(self, **kwargs):
            self.kwargs, self.done, self.closed = kwargs, kwargs["initial"], False
            bars.append(self)

        def update(self, n):
            self.done += n

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    status, out, err = _replay(capsys, "--progress", _op_file("cyc_nonalloc_f0"))
    assert (status, err) == (0, "")
    assert out.startswith("replayed ")
    [bar] = bars
    assert bar.kwargs["total"] == bar.done == 200 and bar.closed
    assert bar.kwargs["file"] is sys.stderr


def test_progress_bar_closed_on_error(capsys, monkeypatch, tmp_path, terminal):
    closed = []

    class FakeBar:
        def __init__(self, **kwargs):
            pass

        def update(self, n):
            pass

        def close(self):
            closed.append(True)

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    path = _write_bad_op(tmp_path, "tree_refuses_a_read")
    status, out, err = _replay(capsys, "--progress", path)
    _assert_error_line(status, out, err, path, ("LOAD -1",))
    assert closed == [True]


def test_progress_options_exclusive(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["replay", "--progress", "--no-progress", "x.ops"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# -- real subprocesses --------------------------------------------------------------------------

PYTHON_M = (sys.executable, "-m", "maple_tree")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTHON_M, "replay", *args], check=False, capture_output=True,
                          text=True, env=subprocess_env(), timeout=120)


def test_subprocess_json_and_progress():
    proc = _run("--json", "--progress", _op_file("fork_trace_set3"))
    assert proc.returncode == 0
    summary = json.loads(proc.stdout)  # stdout is the JSON object alone
    assert summary["checks"]["mismatched"] == 0 and summary["ops"] == 47
    # a pipe is no terminal: plain lines even where tqdm is installed
    assert _progress_lines(proc.stderr)[-1] == (100, 47, 47)


@pytest.mark.parametrize("name", ["unknown_kind", "too_few_args", "tree_refuses_a_read",
                                  "bad_gzip"])
def test_subprocess_bad_op_file(tmp_path, name):
    path = _write_bad_op(tmp_path, name)
    proc = _run(path)
    _assert_error_line(proc.returncode, proc.stdout, proc.stderr, path, BAD_OPS[name][1])


def test_subprocess_mismatch(tmp_path):
    path, _op, line = _tampered(tmp_path)
    proc = _run(path)
    assert proc.returncode == 1
    assert "checks: 13 passed, 1 mismatched" in proc.stdout
    assert proc.stderr.count("\n") == 1 and f"line {line} (1-based)" in proc.stderr


# -- the whole corpus (slow) --------------------------------------------------------------------


@pytest.mark.slow
def test_whole_corpus_replays():
    """Every recording of the corpus replays without an error, passes validate,
    and meets every #expect except the spec predictions the kernel fails too."""
    for name in cl.all_names():
        report = run(read_trace(_op_file(name)))
        report.tree.validate()
        assert len(report.spec_not_held) == EXPECTS_THE_KERNEL_FAILS.get(name, 0), name
        assert report.failures == [], name
