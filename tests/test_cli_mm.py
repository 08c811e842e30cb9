"""``maple-tree demo``, ``maps`` and ``render``: address spaces on the command
line, in-process and as real subprocesses on this machine's processes; every
bad input gives one error line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from under_test import subprocess_env

from maple_tree import cli_mm, traces
from maple_tree.cli import main
from maple_tree.mm import AddressSpace

DATA = Path(__file__).resolve().parent / "data"
MAPS_FILES = sorted((DATA / "maps").glob("*.maps"))
TRACE = DATA / "kernel-tests" / "traces" / "set16.json"
OPS_FILE = DATA / "conformance" / "ops" / "trace_set2.ops"
HAS_PROC = os.path.exists("/proc/self/maps")
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="no /proc on this system")
SVG = "{http://www.w3.org/2000/svg}"


def svg_node_count(path: Path) -> int:
    """Nodes drawn plus nodes summarised in a picture (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag in ("svg", f"{SVG}svg")
    drawn = summarised = 0
    for g in root.iter():
        classes = (g.get("class") or "").split()
        drawn += "node" in classes
        if "summary" in classes:
            summarised += int(g.get("data-nodes", "0"))
    return drawn + summarised


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# -- demo ----------------------------------------------------------------------------------


@needs_proc
def test_demo_shows_this_process_and_writes_its_picture(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "demo")
    assert status == 0 and err == ""
    assert f"address space of /proc/self/maps (pid {os.getpid()}" in out
    assert "validate: ok" in out and "next mmap of 1 MiB would land at 0x" in out
    assert "wrote maple-tree-demo.svg" in out
    nodes = int(out.split("\nnodes: ")[1].split()[0])
    assert svg_node_count(tmp_path / "maple-tree-demo.svg") == nodes
    assert "more VMAs (--lines -1 shows all)" in out


def test_demo_without_proc_uses_the_bundled_process(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_mm.os.path, "exists", lambda path: False)
    status, out, _ = run_main(capsys, "demo", "--lines", "-1", "-o", str(tmp_path / "d.svg"))
    assert status == 0
    example = AddressSpace.example()
    assert "the bundled example process" in out
    assert example.to_proc_maps() in out.replace("\n\n", "\n") or all(
        line in out for line in example.to_proc_maps().splitlines())
    assert svg_node_count(tmp_path / "d.svg") == example.tree.stats().nodes


def test_demo_json(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_main(capsys, "demo", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["validate"] == "ok" and report["svg"] == "maple-tree-demo.svg"
    assert svg_node_count(tmp_path / "maple-tree-demo.svg") == report["tree"]["nodes"]
    assert len(report["vmas"]) == report["tree"]["entries"]


def test_demo_cannot_write_its_picture(tmp_path, capsys):
    status, _, err = run_main(capsys, "demo", "-o", str(tmp_path / "no" / "dir" / "x.svg"))
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("maple-tree: error: cannot write ")


# -- maps ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MAPS_FILES, ids=lambda p: p.stem)
def test_maps_of_a_file_prints_it_back(path, capsys):
    status, out, err = run_main(capsys, "maps", str(path))
    assert status == 0 and err == ""
    text = path.read_text()
    lines = out.splitlines()
    assert lines[0].startswith(f"address space of {path}: ")
    assert "\n".join(lines[1:1 + len(text.splitlines())]) + "\n" == text
    space = AddressSpace.from_proc_maps(text)
    assert f"height: {space.tree.height}\n" in out
    assert f"would land at {space.get_unmapped_area(1 << 20):#x}" in out


@pytest.mark.parametrize("path", MAPS_FILES[:2], ids=lambda p: p.stem)
def test_maps_json(path, capsys):
    status, out, _ = run_main(capsys, "maps", str(path), "--json", "--size", "64K", "--gaps", "3")
    assert status == 0
    report = json.loads(out)
    space = AddressSpace.from_proc_maps(path.read_text())
    assert set(report) == {"source", "vmas", "gate_areas", "task_size", "mmap_base",
                           "largest_gaps", "next_mmap", "tree"}
    assert [(v["start"], v["end"], v["perms"]) for v in report["vmas"]] == \
        [(v.start, v.end, v.perms) for v in space]
    assert report["next_mmap"] == {"size": 0x10000, "error": None,
                                   "address": space.get_unmapped_area(0x10000)}
    sizes = [g["size"] for g in report["largest_gaps"]]
    assert len(sizes) == 3 and sizes == sorted(sizes, reverse=True)
    assert sizes[0] == max(e - s for s, e in space.gaps())
    assert report["tree"]["nodes"] == space.tree.stats().nodes
    assert {v["kind"] for v in report["vmas"]} >= {"file", "anon", "stack"}


@needs_proc
@pytest.mark.parametrize("pid", ["self", str(os.getpid())])
def test_maps_of_a_process(pid, capsys):
    status, out, _ = run_main(capsys, "maps", pid, "--lines", "3")
    assert status == 0
    assert f"(pid {os.getpid()}" in out and "validate: ok" not in out
    assert "more VMAs (--lines -1 shows all)" in out


def test_maps_next_mmap_that_cannot_fit(tmp_path, capsys):
    path = tmp_path / "m.maps"
    path.write_text("00010000-00011000 rw-p 00000000 00:00 0 \n")
    status, out, _ = run_main(capsys, "maps", str(path), "--size", "0x7fff00000000")
    assert status == 0 and "would fail: OutOfMemoryError" in out


BAD_SOURCES = {
    "no_such_pid": (["maps", "999999999"], "cannot read /proc/999999999/maps"),
    "missing_file": (["maps", "/no/such/maps"], "/no/such/maps: cannot read the file"),
    "not_maps": (["maps", str(TRACE)], "not a /proc/PID/maps file"),
    "bad_line": (["maps", "@BAD"], "maps line 2"),
    "render_missing": (["render", "/no/such/file", "-o", "x.svg"], "cannot read the file"),
    "render_bad_trace": (["render", "@JUNK", "-o", "x.svg"], "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_sources_give_one_error_line(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "@BAD").write_text("00010000-00011000 rw-p 00000000 00:00 0 \nnonsense\n")
    (tmp_path / "@JUNK").write_text("{junk")
    argv, expected = BAD_SOURCES[case]
    status, out, err = run_main(capsys, *argv)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("maple-tree: error: ")
    assert expected in err


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1X"])
def test_bad_size_is_a_usage_error(size, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["maps", str(MAPS_FILES[0]), "--size", size])
    assert exc.value.code == 2
    assert "--size" in capsys.readouterr().err


def test_parse_size():
    assert [cli_mm.parse_size(t) for t in ("4096", "0x1000", "4K", "4KiB", "1m", "2G")] == \
        [4096, 4096, 4096, 4096, 1 << 20, 2 << 30]


# -- render --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", MAPS_FILES, ids=lambda p: p.stem)
def test_render_a_maps_file(path, tmp_path, capsys):
    out_svg = tmp_path / "t.svg"
    status, out, _ = run_main(capsys, "render", str(path), "-o", str(out_svg))
    assert status == 0 and out.startswith(f"wrote {out_svg}: ")
    space = AddressSpace.from_proc_maps(path.read_text())
    assert svg_node_count(out_svg) == space.tree.stats().nodes
    text = out_svg.read_text()
    assert "file" in text and "stack" in text            # the kinds are in the legend


@pytest.mark.parametrize("trace", [TRACE, OPS_FILE], ids=["json", "ops"])
def test_render_a_trace(trace, tmp_path, capsys):
    out_svg = tmp_path / "t.svg"
    status, out, _ = run_main(capsys, "render", str(trace), "-o", str(out_svg), "--json",
                              "--max-nodes", "5")
    assert status == 0
    tree = traces.run(traces.read_trace(str(trace))).tree
    report = json.loads(out)
    assert report["tree"]["nodes"] == tree.stats().nodes == svg_node_count(out_svg)


@needs_proc
def test_render_self(tmp_path, capsys):
    out_svg = tmp_path / "me.svg"
    status, _, _ = run_main(capsys, "render", "-o", str(out_svg), "--title", "me <&>")
    assert status == 0
    assert ET.parse(out_svg).getroot() is not None and "me &lt;&amp;&gt;" in out_svg.read_text()


# -- real subprocesses ---------------------------------------------------------------------


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "maple_tree", *args], check=False,
                          capture_output=True, text=True, env=subprocess_env(), timeout=120,
                          cwd=cwd)


@needs_proc
def test_subprocess_maps_of_another_process():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        done = _run("maps", str(sleeper.pid), "--json")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert f"pid {sleeper.pid}" in report["source"]
    assert any(v["kind"] == "stack" for v in report["vmas"])


@needs_proc
def test_subprocess_demo_and_render(tmp_path):
    done = _run("demo", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert svg_node_count(tmp_path / "maple-tree-demo.svg") > 0
    done = _run("render", "self", "-o", "r.svg", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "r.svg").exists()


def test_subprocess_bad_input_is_one_line(tmp_path):
    done = _run("maps", str(tmp_path / "missing.maps"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["demo", "maps", "render"])
def test_help_describes_the_sources(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for words in ("sources: digits are a process id", "examples:", "/proc/PID/maps"):
        assert words in out
    assert ("exit status" in out) and "../" not in out
