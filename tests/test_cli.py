"""The ``maple-tree`` command line: dump on the bundled kernel trace, help and
version texts, flags by name or value, and one error line (never a traceback)
for every bad input, in-process and as a real subprocess.
(``maple-tree replay`` is tested in tests/test_cli_replay.py; ``demo``,
``maps`` and ``render`` in tests/test_cli_mm.py.)"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from under_test import subprocess_env

import maple_tree
from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    EntryExistsError,
    MapleTree,
    cli,
    constants,
    traces,
)
from maple_tree.cli import FLAGS, OPS, TraceError, load_trace, main, replay, tree_stats
from maple_tree.constants import MT_FLAGS_USER_MASK

TRACE_DIR = Path(__file__).resolve().parent / "data" / "kernel-tests" / "traces"
ERROR_PREFIX = "maple-tree: error: "


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


# -- bad input: one error line naming the file (and row), exit 1, no traceback ----------------

#: name -> (file content, fragments the error line must contain besides the file name)
BAD_FILES: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "key_not_int": ('{"ops": [["STORE", "12", 20]]}', ("row 0 (0-based)", "integer", '"12"')),
    "key_float": ('{"ops": [["STORE", 1, 2.5]]}', ("row 0", "expected b", "2.5")),
    "key_bool": ('{"ops": [["SNULL", true, 5]]}', ("row 0", "expected a", "true")),
    "key_negative": ('{"ops": [["STORE", -1, 5]]}', ("row 0", "0..2**64-1", "-1")),
    "key_too_big": ('{"ops": [["STORE", 1, 18446744073709551616]]}', ("row 0", "0..2**64-1")),
    "key_nan": ('{"ops": [["STORE", NaN, 5]]}', ("row 0", "integer", "NaN")),
    "a_after_b": ('{"ops": [["STORE", 9, 2]]}', ("row 0", "a <= b", "a = 9 > b = 2")),
    "row_two_items": ('{"ops": [["STORE", 5]]}', ("row 0", "3 items", "(2 items)")),
    "row_four_items": ('{"ops": [["STORE", 1, 2, 3]]}', ("row 0", "3 items", "(4 items)")),
    "row_not_list": ('{"ops": ["STORE 1 2"]}', ("row 0", "[op, a, b]")),
    "ops_not_list": ('{"ops": 5}', ('"ops" must be a list', "got 5")),
    "ops_null_row": ('{"ops": [null]}', ("row 0", "[op, a, b]", "got null")),
    "unknown_op": ('{"ops": [["STORE", 1, 2], ["PUT", 1, 2]]}', ("row 1", "STORE, SNULL or ERASE")),
    "op_lower_case": ('{"ops": [["store", 1, 2]]}', ("row 0", '"store"')),
    "op_not_string": ('{"ops": [[1, 1, 2]]}', ("row 0", "expected an op")),
    "bad_row_late": ('{"ops": [["STORE", 1, 2], ["SNULL", 1, 2], ["ERASE", 1]]}', ("row 2",)),
    "failed_erase_check": ('{"ops": [["STORE", 10, 19], ["ERASE", 15, 15]]}',
                           ("row 1", "ERASE 15 15", "must be the value 15")),
    "not_json": ("this is not JSON", ("not valid JSON", "line 1 column 1")),
    "truncated_json": ('{"ops": [["STORE", 1, 2]', ("not valid JSON",)),
    "empty": ("", ("empty file",)),
    "blank": ("  \n\n", ("empty file",)),
    "not_utf8": (b'\xff\xfe{"ops": []}', ("not UTF-8",)),
    "top_level_list": ('[["STORE", 1, 2]]', ("expected a JSON object",)),
    "no_ops": ('{"name": "x"}', ("not a trace", '"ops"')),
    "unknown_flag_name": ('{"tree_flags": ["MT_FLAGS_BOGUS"], "ops": []}',
                          ("tree_flags", "MT_FLAGS_BOGUS", "MT_FLAGS_ALLOC_RANGE")),
    "unknown_flag_bits": ('{"tree_flags": 5, "ops": []}', ("tree_flags", "bits 0x4 of 0x5")),
    "flag_bool": ('{"tree_flags": [true], "ops": []}', ("tree_flags", "got true")),
    "flag_negative": ('{"tree_flags": -1, "ops": []}', ("tree_flags", "got -1")),
    "driver_not_object": ('{"driver": [], "ops": []}', ('"driver" must be a JSON object',)),
    "driver_bad_flag": ('{"driver": {"tree_flags": ["X"]}, "ops": []}',
                        ("driver.tree_flags", '"X"')),
    "huge_int": ('{"ops": [["STORE", ' + "9" * 5000 + ", 1]]}", ("not valid JSON", "digits")),
    "deep_nesting": ("[" * 200_000, ("not valid JSON", "nested too deeply")),
}


def _write_bad(tmp_path: Path, name: str) -> str:
    return write_input(tmp_path / f"{name}.json", BAD_FILES[name][0])


def write_input(path: Path, content: str | bytes) -> str:
    """Write a bad input file (text as UTF-8, or raw bytes); return its path."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _unreadable(tmp_path: Path) -> str:
    """A file whose reading fails: mode 000, or (as root, who reads those) /proc/self/mem."""
    path = tmp_path / "unreadable.json"
    path.write_text('{"ops": []}')
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return str(path)
    if os.path.exists("/proc/self/mem"):
        return "/proc/self/mem"  # reading offset 0 fails with EIO, even for root
    pytest.skip("no unreadable file available (running as root, no /proc)")


#: name -> (make the path in tmp_path, fragments the error line must contain)
BAD_PATHS: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "missing": (lambda tmp: str(tmp / "missing.json"), ("cannot read", "No such file")),
    "directory": (lambda tmp: str(tmp), ("cannot read", "directory")),
    "unreadable": (_unreadable, ("cannot read",)),
    "newline_in_name": (lambda tmp: str(tmp / "two\nlines.json"), ("cannot read", r"\n")),
}


def _bad_input(tmp_path: Path, name: str) -> tuple[str, tuple[str, ...]]:
    """The path of bad input ``name`` (a file or path case) and its expected fragments."""
    if name in BAD_FILES:
        return _write_bad(tmp_path, name), BAD_FILES[name][1]
    make, fragments = BAD_PATHS[name]
    return make(tmp_path), fragments


def _assert_error_line(status: int, out: str, err: str, path: str,
                       fragments: tuple[str, ...]) -> None:
    assert status == 1, (status, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(ERROR_PREFIX), err
    assert (path if path.isprintable() else repr(path)) in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


@pytest.mark.parametrize("name", [*BAD_FILES, *BAD_PATHS])
def test_bad_input_one_error_line(tmp_path, capsys, name):
    path, fragments = _bad_input(tmp_path, name)
    status = main(["dump", path])
    captured = capsys.readouterr()
    _assert_error_line(status, captured.out, captured.err, path, fragments)


def test_load_trace_names_the_file(tmp_path):
    path = _write_bad(tmp_path, "row_two_items")
    with pytest.raises(TraceError, match=rf"^{re.escape(path)}: row 0 \(0-based\): "):
        load_trace(path)


def test_replay_checks_a_trace_object():
    with pytest.raises(TraceError, match=r"^trace t1: row 1 \(0-based\): expected a <= b"):
        replay({"name": "t1", "ops": [["STORE", 1, 2], ["SNULL", 5, 4]]})
    with pytest.raises(TraceError, match=r"^mine: expected a JSON object"):
        replay([], label="mine")  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # TraceError stays a ValueError for old callers
        replay({"ops": [["ERASE", 1, 1, 1]]})


@pytest.mark.parametrize("command", ["dump", "replay"])
def test_library_error_during_a_row(tmp_path, capsys, monkeypatch, command):
    def refuse(tree, op, a, b):
        raise EntryExistsError("range is occupied")

    monkeypatch.setattr(traces, "trace_step", refuse)  # the replay engine's row step
    path = tmp_path / "t.json"
    path.write_text('{"ops": [["STORE", 1, 2]]}')
    status = main([command, str(path)])
    captured = capsys.readouterr()
    _assert_error_line(status, captured.out, captured.err, str(path),
                       ("row 0 (0-based)", "STORE 1 2", "range is occupied"))


def test_every_kernel_trace_loads():
    for path in TRACE_DIR.glob("set*.json"):
        assert load_trace(str(path))["ops"]


# -- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [
    {"tree_flags": ["MT_FLAGS_ALLOC_RANGE"]}, {"tree_flags": [1]}, {"tree_flags": 1},
    {"tree_flags": "MT_FLAGS_ALLOC_RANGE"}, {"driver": {"tree_flags": ["MT_FLAGS_ALLOC_RANGE"]}},
    {"driver": {"tree_flags": 1}}, {"tree_flags": [1, "MT_FLAGS_ALLOC_RANGE"]},
])
def test_flags_by_name_or_value_same_tree(spec):
    bundled = load_trace()
    expected = replay(bundled)
    tree = replay({"ops": bundled["ops"], **spec})
    assert tree.flags == expected.flags == MT_FLAGS_ALLOC_RANGE
    assert tree.structure() == expected.structure()


def test_no_flags_and_empty_flags():
    ops = [["STORE", 5, 9]]
    for trace in ({"ops": ops}, {"ops": ops, "tree_flags": []}, {"ops": ops, "tree_flags": 0},
                  {"ops": ops, "driver": {}}, {"ops": ops, "driver": {"tree_flags": []}}):
        assert replay(trace).flags == 0


def test_use_rcu_accepted(tmp_path, capsys):
    trace = {"ops": load_trace()["ops"], "tree_flags": ["MT_FLAGS_ALLOC_RANGE", "MT_FLAGS_USE_RCU"]}
    tree = replay(trace)
    assert tree.in_rcu and tree.is_alloc
    path = tmp_path / "rcu.json"
    path.write_text(json.dumps(trace))
    assert main(["dump", str(path)]) == 0
    assert capsys.readouterr().out == tree.dump()


def test_flag_table_is_what_the_tree_accepts():
    mask = 0
    for name, (value, _meaning) in FLAGS.items():
        assert getattr(constants, name) == value
        assert MapleTree(value).flags == value
        mask |= value
    assert mask == MT_FLAGS_USER_MASK


def test_format_flags_names_the_lock_type():
    assert cli._format_flags(0x303) == ("0x303 (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU | "
                                        "MT_FLAGS_LOCK_EXTERN)")
    assert cli._format_flags(0) == "0x0"


# -- demo flags line, legend, help and version ------------------------------------------------


def test_dump_legend_explains_the_encodings(capsys):
    assert main(["dump", "--legend"]) == 0
    out = capsys.readouterr().out
    tree = replay(load_trace())
    ma_flags = tree.flags | tree.height << 2
    assert f"maple_tree(0x10) flags {ma_flags:X}, height {tree.height}" in out
    legend = out[:out.index("maple_tree(0x10)")]
    for encoding in ("0x100 * (k + 1)", "type << 3 | 0x4", "| 0x2", "| 0x6", "x << 1 | 1",
                     "0x406", "(nil)", f"{tree.flags:#x} | {tree.height} << 2 = {ma_flags:#x}"):
        assert encoding in legend, encoding


def test_dump_legend_flag(capsys):
    assert main(["dump", "--legend"]) == 0
    out = capsys.readouterr().out
    tree = replay(load_trace())
    assert out.startswith("legend of the dump")
    assert out.endswith("\n" + tree.dump())
    assert main(["dump"]) == 0
    assert capsys.readouterr().out == tree.dump()  # no legend: exactly the kernel layout


@pytest.mark.parametrize("command", [[], ["render"], ["dump"], ["replay"]])
def test_help_describes_the_input_format(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: maple-tree")
    for word in (*OPS, *FLAGS, '"ops"', "[op, a, b]", "tree_flags", "examples:", "exit status"):
        assert word in out, word
    assert "../" not in out


#: what --version prints: the version, then which build is loaded
_VERSION = (f"maple-tree {maple_tree.__version__} "
            f"(build: {'compiled' if maple_tree.COMPILED else 'pure'})\n")


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == _VERSION


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["dump", "--bogus"])
    assert exc.value.code == 2
    assert "maple-tree: error: unrecognized arguments: --bogus" in capsys.readouterr().err


# -- real subprocesses: python -m maple_tree and the console script ---------------------------

PYTHON_M = (sys.executable, "-m", "maple_tree")
#: the bad inputs a user meets most, each run once as a real subprocess
SUBPROCESS_BAD = ["key_not_int", "row_two_items", "ops_not_list", "ops_null_row", "not_json",
                  "failed_erase_check", "missing", "directory", "unreadable", "not_utf8",
                  "empty"]


def _console_script() -> tuple[str, ...]:
    """The ``maple-tree`` script: on PATH or beside this interpreter; skip if absent."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    script = shutil.which("maple-tree", path=path)
    if script is None:
        pytest.skip("the maple-tree console script is not installed (pip install -e .)")
    return (script,)


def _env() -> dict[str, str]:
    """The environment of a subprocess: it imports the package under test."""
    return subprocess_env()


def _run(command: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``command args`` (output as text), importing this checkout."""
    return subprocess.run([*command, *args], check=False, capture_output=True, text=True,
                          env=_env(), timeout=120)


@pytest.mark.parametrize("name", SUBPROCESS_BAD)
def test_subprocess_bad_input(tmp_path, name):
    path, fragments = _bad_input(tmp_path, name)
    proc = _run(PYTHON_M, "dump", path)
    _assert_error_line(proc.returncode, proc.stdout, proc.stderr, path, fragments)


@pytest.mark.parametrize("name", ["key_not_int", "not_json", "failed_erase_check", "missing"])
def test_console_script_bad_input(tmp_path, name):
    command = _console_script()
    path, fragments = _bad_input(tmp_path, name)
    proc = _run(command, "dump", path)
    _assert_error_line(proc.returncode, proc.stdout, proc.stderr, path, fragments)


def test_subprocess_version_and_usage():
    expected = _VERSION
    assert _run(PYTHON_M, "--version").stdout == expected
    assert _run(_console_script(), "--version").stdout == expected
    proc = _run(PYTHON_M)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: maple-tree ")
    assert "maple-tree: error: the following arguments are required: COMMAND" in proc.stderr


def test_subprocess_help_and_dump_by_value(tmp_path, capsys):
    proc = _run(PYTHON_M, "--help")
    assert proc.returncode == 0 and "STORE" in proc.stdout and "MT_FLAGS_USE_RCU" in proc.stdout
    ops = load_trace()["ops"]
    by_name, by_value = tmp_path / "name.json", tmp_path / "value.json"
    by_name.write_text(json.dumps({"ops": ops, "tree_flags": ["MT_FLAGS_ALLOC_RANGE",
                                                              "MT_FLAGS_USE_RCU"]}))
    by_value.write_text(json.dumps({"ops": ops, "tree_flags": 3}))
    proc = _run(PYTHON_M, "dump", "--format", "dec", str(by_value))
    assert proc.returncode == 0 and proc.stderr == ""
    assert main(["dump", "--format", "dec", str(by_name)]) == 0
    assert proc.stdout == capsys.readouterr().out


def test_subprocess_closed_pipe_is_quiet():
    proc = subprocess.Popen([*PYTHON_M, "dump"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env())
    proc.stdout.close()  # the reader is gone before the dump is written
    assert proc.wait(timeout=120) == 1
    assert proc.stderr.read() == b""
    proc.stderr.close()
