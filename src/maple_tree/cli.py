"""The ``maple-tree`` command line: address spaces on the tree, pictures, trace replays.

Commands (``python -m maple_tree`` is the same command):

``maple-tree demo [-o SVG] [--lines N] [--json]``
    loads the command's own address space (``/proc/self/maps``; without
    ``/proc``, the example process that ships with the package) into an
    :class:`~maple_tree.mm.AddressSpace` and prints its maps, the tree's
    shape, the largest gaps and where the next 1 MiB mmap would land, then
    writes the tree's picture (``maple-tree-demo.svg`` by default) and says where.
``maple-tree maps [PID|FILE] [--size SIZE] [--gaps N] [--lines N] [--json]``
    the same facts for a process or a saved maps file (:mod:`maple_tree.cli_mm`).
``maple-tree render [PID|FILE|TRACE] [-o SVG] [--title T] [--max-nodes N] [--json]``
    writes the SVG picture of an address space's tree or of a trace's tree.
``maple-tree dump [TRACE] [--legend]``
    replays a trace file (the bundled one when none is given) and prints the
    whole ``mt_dump``-style dump, exactly in the kernel's layout unless
    ``--legend`` asks for the legend first.
``maple-tree replay TRACE [--json] [--progress | --no-progress]``
    replays a trace file, checks the results it records, and prints a
    summary: the ops by kind, the checks passed and mismatched (with the
    first mismatch), the final tree's shape, ``validate: ok``, the time taken
    and ops/s; ``--json`` prints the same facts as one JSON object
    (:data:`REPLAY_JSON_KEYS`).  Progress goes to stderr, never stdout: a tqdm
    bar if ``tqdm`` is installed (``pip install maple-tree[progress]``) and
    stderr is a terminal, else a line every 10%.

A trace file (:mod:`maple_tree.traces` reads it) is a JSON kernel trace
``{"ops": [[op, a, b], ...]}`` with optional tree flags (:data:`OPS` and
:data:`FLAGS` list the op and flag names) or a ``maple-ops/1`` op file of the
conformance corpus (``#maple-ops/1 {...}`` header, one ``KIND int ...`` op per
line, ``#expect`` lines), either one possibly gzip-compressed; the content
tells which.  The help texts (``maple-tree --help``) are built from the tables.

Every bad input (a file that cannot be read, is not UTF-8, is empty or is not
JSON; a trace of the wrong shape; a bad row or op line; an unknown flag or op
kind; an op the tree refuses or a check that fails while replaying) raises
:class:`TraceError`, whose message names the file and the row of a JSON
trace, counted from 0 (``FILE: row N (0-based): ...``), or the line of an op
file, counted from 1 (``FILE: line N (1-based): ...``).  :func:`main` prints it
as the single line ``maple-tree: error: ...`` on stderr and returns 1; a replay
whose recorded results do not match prints its summary, then such a line,
and returns 1; usage errors exit 2.

The statistics and pictures only read the tree; nothing here changes how the
tree works.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from . import COMPILED, MapleTree, TreeCorruptError, __version__
from .constants import MT_FLAGS_HEIGHT_OFFSET
from .traces import (
    BUNDLED_TRACE,
    FLAGS,
    FORMAT_JSON,
    OP_KINDS,
    OPS,
    ReplayReport,
    TraceError,
    load_trace,
    read_trace,
    replay,
    run,
    trace_step,
)
from .traces import file_label as _file_label
from .cli_mm import (
    DEFAULT_SIZE,
    Source,
    gap_lines,
    load_demo_source,
    load_source,
    maps_lines,
    maps_report,
    parse_size,
)

__all__ = ["BUNDLED_TRACE", "FLAGS", "OPS", "REPLAY_JSON_KEYS", "TraceError", "load_trace",
           "main", "replay", "replay_summary", "trace_step", "tree_stats", "version_text"]

#: the program name in usage lines and error messages
PROG = "maple-tree"

#: ``replay`` without ``--progress``: on a terminal, a file of more ops than this
#: shows its progress from the start ...
PROGRESS_MIN_OPS = 20_000
#: ... and a shorter one once it has run this many seconds
PROGRESS_AFTER_S = 1.0


# -- statistics and text ----------------------------------------------------------------------


def tree_stats(tree: MapleTree) -> dict[str, Any]:
    """Shape statistics of ``tree`` (``MapleTree.stats()``) as a plain dict.

    Returns a dict with ``height``, ``entries`` (``len(tree)``), ``flags``,
    ``nodes`` (total), ``nodes_by_type`` ({type name: count}), ``nodes_made``
    / ``nodes_freed`` (allocated and freed since the tree was made) and
    ``levels``: one dict per depth (0 = root) with ``depth``, ``nodes``,
    ``types``, ``slots_used``, ``capacity`` (sum of ``mt_slots`` of its
    nodes) and ``fill`` (``slots_used / capacity``, the average occupancy of
    that level).
    """
    stats = asdict(tree.stats())
    stats["levels"] = list(stats["levels"])
    return stats


def _format_flags(flags: int) -> str:
    """``0x1 (MT_FLAGS_ALLOC_RANGE)``: the value, then the names that make it up."""
    names, rest = [], flags
    for name, (value, _meaning) in sorted(FLAGS.items(), key=lambda kv: -kv[1][0]):
        if rest & value == value:
            names.append(name)
            rest &= ~value
    names.reverse()
    return f"{flags:#x}" + (f" ({' | '.join(names)})" if names else "")


def _ma_flags(tree: MapleTree) -> int:
    """The dump header's ``flags``: the kernel's ``ma_flags``, tree flags | height << 2."""
    return tree.flags | tree.height << MT_FLAGS_HEIGHT_OFFSET


def _summary(trace: dict[str, Any], tree: MapleTree) -> list[str]:
    """The demo's summary lines: rows, flags, height, entries, nodes, fill per level."""
    counts = Counter(row[0] for row in trace["ops"])
    return [
        (f"replayed trace {trace.get('name', '?')}: {len(trace['ops'])} rows "
         f"({', '.join(f'{n} {op}' for op, n in counts.items())})"),
        f"source: {trace.get('source', '?')}",
        (f"tree flags: {_format_flags(tree.flags)}; the dump header shows "
         f"ma_flags = flags | height << 2 = {_ma_flags(tree):#x}"),
        *_tree_lines(tree),
    ]


def _tree_lines(tree: MapleTree) -> list[str]:
    """Summary lines of the tree's shape: height, entries, nodes by type, fill per level."""
    st = tree_stats(tree)
    by_type = ", ".join(f"{name}: {n}" for name, n in sorted(st["nodes_by_type"].items()))
    lines = [
        f"height: {st['height']}",
        f"entries: {st['entries']}",
        f"nodes: {st['nodes']} ({by_type})",
        "fill per level (average used slots / capacity):",
    ]
    for lv in st["levels"]:
        kinds = ", ".join(f"{n} {name}" for name, n in sorted(lv["types"].items()))
        lines.append(f"  depth {lv['depth']}: {kinds}; {lv['slots_used'] / lv['nodes']:.1f}/"
                     f"{lv['capacity'] / lv['nodes']:g} slots per node ({lv['fill']:.0%})")
    return lines


def _legend(tree: MapleTree) -> list[str]:
    """What the encoded numbers of ``tree``'s dump mean (kernel encodings, symbolic addresses)."""
    return [
        "legend of the dump (the kernel's encodings; addresses are symbolic):",
        "  addresses: the tree is 0x10; node k of a depth-first pre-order walk",
        "    (root first, k = 0, 1, ...) is at 0x100 * (k + 1)",
        "  header: flags is ma_flags = tree flags | height << 2, printed in hex",
        (f"    (here {tree.flags:#x} | {tree.height} << 2 = {_ma_flags(tree):#x}: flags "
         f"{_ma_flags(tree):X}); root is the root node's pointer | 0x2"),
        "    (a tree holding only an entry at index 0 shows that entry instead)",
        "  node line: range, address, depth, type (1 leaf_64, 2 range_64, 3 arange_64),",
        "    parent, contents: slot pivot slot pivot ... slot; an arange_64 node",
        "    first lists its gaps, then | end offset-of-largest-gap |",
        "  child pointer: node address | type << 3 | 0x4",
        "    (...0c leaf_64, ...14 range_64, ...1c arange_64)",
        "  parent: 0x11 for the root (tree | 1); else parent address | slot << 3 | 0x6",
        "  entries: (nil) is NULL; the value x is stored as x << 1 | 1, shown as",
        "    value x (0x...) [x << 1 | 1]; ZERO_ENTRY is 0x406, shown as zero (257)",
        "  slot 15 of a leaf_64/range_64 node that is not full holds its metadata:",
        "    the offset of its last used slot",
    ]


def _dump_head(tree: MapleTree, lines: int, fmt: str) -> list[str]:
    """The title line and the first ``lines`` lines of the dump (all if negative)."""
    dump = tree.dump(fmt).splitlines()
    shown = dump if lines < 0 else dump[:lines]
    return [f"dump ({fmt}), first {len(shown)} of {len(dump)} lines:", *shown]


def _write_lines(lines: list[str]) -> None:
    """Print ``lines`` on stdout, one ``\\n`` after each."""
    sys.stdout.write("".join(line + "\n" for line in lines))


# -- the replay summary -----------------------------------------------------------------------

#: the keys of ``maple-tree replay --json``, in order, and what each holds
REPLAY_JSON_KEYS: dict[str, str] = {
    "file": "the trace file as given",
    "format": '"kernel-trace-json" or "maple-ops/1"',
    "name": "the trace's name (JSON \"name\", op file header \"name\"), or null",
    "ops": "the number of ops replayed (every op of the file)",
    "ops_by_kind": "{kind: count}, in the order the kinds first appear",
    "checks": '{"passed", "mismatched", "unchecked" (#expect lines with nothing to check), '
              '"spec_not_held" (#expect lines of a spec_probes_* file that did not hold: '
              'a spec\'s predictions, reported, not failed), '
              '"first_mismatch": null or {"op" (0-based), "line" (1-based; null for a '
              'JSON trace), "text", "message"}}',
    "tree": "the final tree: flags, height, entries, nodes, nodes_by_type, nodes_made, "
            "nodes_freed, levels [{depth, nodes, types, slots_used, capacity, fill}]",
    "validate": '"ok" (a tree that fails validate is an error instead)',
    "elapsed_s": "seconds the replay took (reading the file excluded)",
    "ops_per_s": "ops / elapsed_s",
    "build": '"pure" or "compiled": which build replayed it',
}


def _rate(report: ReplayReport) -> float:
    """Ops replayed per second (0 when no time was measured)."""
    return report.ops / report.elapsed if report.elapsed > 0 else 0.0


def replay_summary(report: ReplayReport, validated: str = "ok") -> dict[str, Any]:
    """The facts of a replay as the JSON object ``maple-tree replay --json``
    prints (keys :data:`REPLAY_JSON_KEYS`, in that order)."""
    failures = report.failures
    first = failures[0] if failures else None
    trace = report.trace
    return {
        "file": trace.label,
        "format": trace.format,
        "name": trace.name,
        "ops": report.ops,
        "ops_by_kind": report.by_kind,
        "checks": {
            "passed": report.passed,
            "mismatched": len(failures),
            "unchecked": trace.unchecked,
            "spec_not_held": len(report.spec_not_held),
            "first_mismatch": None if first is None else {
                "op": first.index, "line": first.line, "text": first.op,
                "message": first.message},
        },
        "tree": tree_stats(report.tree),
        "validate": validated,
        "elapsed_s": round(report.elapsed, 6),
        "ops_per_s": round(_rate(report), 1),
        "build": "compiled" if COMPILED else "pure",
    }


def _replay_lines(report: ReplayReport) -> list[str]:
    """The text summary of a replay: what was replayed, the checks, the tree, the time."""
    trace = report.trace
    kind = "JSON kernel trace" if trace.format == FORMAT_JSON else "maple-ops/1 op file"
    name = f" {trace.name!r}" if trace.name else ""
    by_kind = ", ".join(f"{n:,} {op}" for op, n in report.by_kind.items()) or "none"
    return [
        f"replayed {trace.label}: {kind}{name}, {report.ops:,} ops",
        *textwrap.wrap(f"ops by kind: {by_kind}", 79, subsequent_indent="  "),
        *_check_lines(report),
        f"tree flags: {_format_flags(report.tree.flags)}",
        *_tree_lines(report.tree),
        "validate: ok",
        f"elapsed: {report.elapsed:.3f} s ({_rate(report):,.0f} ops/s)",
    ]


def _check_lines(report: ReplayReport) -> list[str]:
    """The checks line of the summary, and the first mismatch if there is one."""
    unchecked = report.trace.unchecked
    note = (f" ({unchecked} #expect line{'s' if unchecked != 1 else ''} with nothing to "
            f"check)" if unchecked else "")
    failures, spec = report.failures, report.spec_not_held
    lines = [f"checks: {report.passed:,} passed, {len(failures):,} mismatched{note}"]
    if failures:
        lines.append(f"first mismatch: {failures[0]}")
    if spec:
        lines += textwrap.wrap(
            f"spec predictions not held: {len(spec):,} (a spec_probes_* file's #expect lines "
            f"are a written spec's predictions, not a kernel test's assertions; they do not "
            f"fail the replay); first: {spec[0]}", 79, subsequent_indent="  ")
    return lines


def _validate(report: ReplayReport) -> None:
    """``validate()`` the final tree; :class:`TraceError` naming the file if it fails."""
    try:
        report.tree.validate()
    except TreeCorruptError as exc:
        raise TraceError(f"{report.trace.label}: the final tree fails validate: {exc}") from None


# -- progress on stderr -----------------------------------------------------------------------


def _load_tqdm() -> Any:
    """The ``tqdm.tqdm`` class if the optional ``tqdm`` package is installed, else None.

    Imported on first use only, so a run without progress never pays for it."""
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


def _is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an open terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """The progress of a replay of ``total`` ops on ``stream`` (stderr), as the
    hook :func:`maple_tree.traces.run` calls with the ops done so far.

    Unless ``forced``, it shows only when ``total`` exceeds
    :data:`PROGRESS_MIN_OPS` or the replay has run :data:`PROGRESS_AFTER_S`
    seconds.  It is a tqdm bar when tqdm is installed and ``stream`` is a
    terminal, else plain lines ``replay: 40% (95,000/237,936 ops)`` at each
    tenth.  :meth:`close` ends the bar.
    """

    def __init__(self, total: int, forced: bool, stream: TextIO) -> None:
        self.total = total
        self.forced = forced
        self.stream = stream
        self.start = time.perf_counter()
        self.bar: Any = None
        self.shown = False
        self.done = 0
        self.next_tenth = 0

    def __call__(self, done: int) -> None:
        if not self.shown:
            if not self._due():
                return
            self._begin(done)
        if self.bar is not None:
            self.bar.update(done - self.done)
        else:
            self._lines(done)
        self.done = done

    def _due(self) -> bool:
        """Whether the progress starts showing now."""
        return (self.forced or self.total > PROGRESS_MIN_OPS
                or time.perf_counter() - self.start >= PROGRESS_AFTER_S)

    def _begin(self, done: int) -> None:
        """Start showing: a tqdm bar at ``done`` if possible, else plain lines."""
        self.shown = True
        tqdm = _load_tqdm() if _is_terminal(self.stream) else None
        if tqdm is not None:
            self.bar = tqdm(total=self.total, initial=done, desc="replay", unit="op",
                            unit_scale=True, file=self.stream, leave=False)
        self.done = done

    def _lines(self, done: int) -> None:
        """Print a line for each tenth of the ops reached since the last one."""
        percent = 100 * done // self.total if self.total else 100
        if percent // 10 < self.next_tenth:
            return
        self.next_tenth = percent // 10 + 1
        print(f"replay: {percent}% ({done:,}/{self.total:,} ops)", file=self.stream,
              flush=True)

    def close(self) -> None:
        """End the tqdm bar, if one is showing."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress(args: argparse.Namespace, total: int) -> _Progress | None:
    """The progress hook ``args`` ask for: ``--progress`` always, ``--no-progress``
    never, by default only when stderr is a terminal (then as :class:`_Progress` decides)."""
    if args.progress is False or (args.progress is None and not _is_terminal(sys.stderr)):
        return None
    return _Progress(total, bool(args.progress), sys.stderr)


# -- commands ---------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    """``maple-tree demo``: this process's address space on a maple tree, its
    tree summary, and its picture written to ``args.output``."""
    source = load_demo_source()
    report = maps_report(source)
    source.tree.validate()
    svg = _write_svg(source, args.output, title=f"maple-tree demo: {source.label}")
    if args.json:
        report.update(tree=tree_stats(source.tree), validate="ok", svg=args.output)
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    _write_lines([
        "maple-tree demo: a real address space, kept as the Linux kernel keeps it, "
        "on a maple tree",
        *maps_lines(source, report, args.lines), "",
        f"the tree (flags {_format_flags(source.tree.flags)}):", *_tree_lines(source.tree),
        "validate: ok", "", *gap_lines(report), "",
        f"wrote {args.output}: the tree, one row per level, a box per node and a cell per "
        f"slot, VMAs coloured by kind ({svg}); open it in a browser",
        f"more: {PROG} maps [PID|FILE], {PROG} render [PID|FILE|TRACE] -o tree.svg, "
        f"{PROG} replay TRACE, {PROG} --help",
    ])
    return 0


def _cmd_maps(args: argparse.Namespace) -> int:
    """``maple-tree maps``: an address space's VMAs, tree, gaps and next mmap."""
    source = load_source(args.source)
    report = maps_report(source, args.size, args.gaps)
    source.tree.validate()
    report["tree"] = tree_stats(source.tree)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    _write_lines([*maps_lines(source, report, args.lines), "",
                  f"the tree (flags {_format_flags(source.tree.flags)}):",
                  *_tree_lines(source.tree), "", *gap_lines(report)])
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    """``maple-tree render``: the SVG picture of an address space's or a trace's tree."""
    source = load_source(args.source, traces=True)
    summary = _write_svg(source, args.output, title=args.title or source.label,
                         max_nodes=args.max_nodes)
    if args.json:
        sys.stdout.write(json.dumps({"source": source.label, "output": args.output,
                                     "tree": tree_stats(source.tree)}, indent=2) + "\n")
    else:
        _write_lines([f"wrote {args.output}: {summary}"])
    return 0


def _write_svg(source: Source, path: str, title: str, max_nodes: int | None = None) -> str:
    """Write the picture of ``source`` to ``path``; return a short description.
    TraceError if the file cannot be written."""
    if source.space is not None:
        svg = source.space.svg(title=title, max_nodes_per_level=max_nodes)
    elif max_nodes is None:
        svg = source.tree.svg(title=title)
    else:
        svg = source.tree.svg(title=title, max_nodes_per_level=max_nodes)
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(svg)
    except OSError as exc:
        raise TraceError(f"cannot write {path}: {exc.strerror or exc}") from None
    stats = source.tree.stats()
    return (f"{stats.nodes} nodes in {stats.height} levels, {len(source.tree)} entries, "
            f"{len(svg):,} bytes")


def _cmd_dump(args: argparse.Namespace) -> int:
    """``maple-tree dump``: the whole dump of a trace file's tree (legend first if asked)."""
    tree = run(read_trace(args.trace)).tree
    if args.legend:
        _write_lines(_legend(tree))
    _write_lines(tree.dump(args.format).splitlines())
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    """``maple-tree replay``: replay a trace file, check it, print the summary.

    Returns 1 (after the summary, with one error line on stderr) when a
    recorded result does not match."""
    trace = read_trace(args.trace)
    progress = _progress(args, len(trace.steps))
    try:
        report = run(trace, progress)
    finally:
        if progress is not None:
            progress.close()
    _validate(report)
    if args.json:
        sys.stdout.write(json.dumps(replay_summary(report), indent=2) + "\n")
    else:
        _write_lines(_replay_lines(report))
    failures = report.failures
    if failures:
        sys.stdout.flush()
        count, total = len(failures), len(report.mismatches) + report.passed
        return _error(f"{trace.label}: {count} of {total} checks mismatched; "
                      f"first: {failures[0]}")
    return 0


_Command = Callable[[argparse.Namespace], int]


def version_text() -> str:
    """What ``--version`` prints: ``maple-tree X.Y.Z``, then ``(name: value, ...)``
    for each of :func:`_version_fields`."""
    extra = ", ".join(f"{name}: {value}" for name, value in _version_fields())
    return f"{PROG} {__version__}" + (f" ({extra})" if extra else "")


def _version_fields() -> list[tuple[str, str]]:
    """The facts ``--version`` reports after the version number, as (name, value).

    Today one: which build is loaded (``compiled`` with mypyc, or ``pure``
    Python), so that a report names what it measured."""
    return [("build", "compiled" if COMPILED else "pure")]


# -- help texts -------------------------------------------------------------------------------


def _format_help() -> str:
    """The input formats: the JSON trace shape, its ops and the tree flags, then op files."""
    ops = "\n".join(f"  {op:<6} {meaning}" for op, meaning in OPS.items())
    flags = "\n".join(f"  {name:<23} {value:<#6x} {meaning}"
                      for name, (value, meaning) in FLAGS.items())
    return f"""\
trace file: a UTF-8 JSON object, e.g.
  {{"name": "example", "tree_flags": ["MT_FLAGS_ALLOC_RANGE"],
   "ops": [["STORE", 4096, 8191], ["SNULL", 6000, 6999], ["ERASE", 4096, 4096]]}}
"ops" is a list of rows [op, a, b], replayed in order; a and b are integers
with 0 <= a <= b <= 2**64-1.  Messages count rows from 0.  "name" and
"source" are optional labels; "derived": {{"entry_count_after_op": [one count
per row], "final_entry_count": n}} (optional, both) are the entry counts the
kernel's driver expects, which replay checks; other keys are ignored.

ops:
{ops}

tree flags: "tree_flags" (or "driver": {{"tree_flags": ...}}) is a flag name or
an integer, or a list of them, ORed together; default 0:
{flags}

or a maple-ops/1 op file (tests/data/conformance/ops/*.ops: recordings of the
Linux 6.12 maple tree): a first line '#maple-ops/1 {{"name": ..., "flags": ...}}'
(flags as above), then one op per line, 'KIND int ...' (the kinds:
{PROG} replay --help), '#expect {{"i": op index, "r": result, ...}}' lines
and '#' comments.  Messages count its lines from 1.  A file whose first
non-blank line starts with '#' (or an op kind) is an op file, any other is
read as JSON; either may be gzip-compressed.

exit status: 0 done; 1 bad input or a failed check, reported on stderr as one
line, "{PROG}: error: FILE: row N (0-based): ..." (a JSON trace) or
"{PROG}: error: FILE: line N (1-based): ..." (an op file);
2 bad command line."""


def _replay_help() -> str:
    """What replay adds to the help: the op kinds, the checks, progress, the JSON keys."""
    usages = {kind: " ".join((kind, *spec.args)) for kind, spec in OP_KINDS.items()}
    width = max(map(len, usages.values()))
    kinds = "\n".join(f"  {usages[kind]:<{width}}  {spec.meaning}"
                      for kind, spec in OP_KINDS.items())
    keys = "\n".join(textwrap.fill(meaning, 79, initial_indent=f"  {key:<12} ",
                                   subsequent_indent=" " * 15)
                     for key, meaning in REPLAY_JSON_KEYS.items())
    return f"""\
op kinds of maple-ops/1, every one replayed through the public API (an unknown
kind is an error); v(x) is xa_mk_value(x), the integer x & (2**63 - 1):
{kinds}

checks: a JSON trace's "derived" entry counts (len of the tree after each row
and at the end); an op file's #expect lines: "r" (the op's result, in the
corpus conventions: -errno, an entry's integer, "zero", null, lists),
"r0".."r3" (one item of it), "differs_from" (an earlier op whose result must
differ), "s_root_null", "s_root_entry", "leaf_pivots" (the tree's shape after
the op); "why" and "note" are comments, and an #expect line with no check is
counted as unchecked.  Mismatches are summarised (count, and the first one
with its line and op index) and make the exit status 1.

progress (stderr only): --progress always, --no-progress never; by default only
when stderr is a terminal, for files of more than {PROGRESS_MIN_OPS:,} ops or replays
running over {PROGRESS_AFTER_S:g} s.  A tqdm bar when tqdm is installed (pip install
'maple-tree[progress]') and stderr is a terminal, else a line per 10%:
  replay: 40% (95,000/237,936 ops)

--json prints one JSON object with these keys:
{keys}"""


def _epilog(*examples: str, extra: str = "", traces: bool = True) -> str:
    """A help epilog: the trace formats (if the command reads ``traces``),
    ``extra``, then ``examples`` (one command each)."""
    parts = [_format_help()] if traces else []
    parts += [extra] if extra else []
    parts.append("examples:\n" + "\n".join(f"  {cmd}" for cmd in examples))
    return "\n\n".join(parts)


def _add_format(parser: argparse.ArgumentParser) -> None:
    """The ``--format`` option shared by the commands that print a dump."""
    parser.add_argument("--format", choices=("hex", "dec"), default="hex",
                        help="number format of the dump (default hex)")


def _add_command(sub: Any, name: str, func: _Command, summary: str, *examples: str,
                 extra: str = "", dumps: bool = True,
                 traces: bool = True) -> argparse.ArgumentParser:
    """A subcommand ``name`` running ``func``, with its help and an epilog of
    ``examples`` (``extra`` help before them); ``dumps``: it takes ``--format``;
    ``traces``: it reads trace files (the epilog describes them)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".",
        epilog=_epilog(*examples, extra=extra, traces=traces),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    if dumps:
        _add_format(parser)
    return parser


def _parser() -> argparse.ArgumentParser:
    """The argument parser of ``maple-tree`` and its commands."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Python port of the Linux 6.12 maple tree: load real address spaces "
                    "onto it, draw it, replay kernel traces on it.",
        epilog=_epilog(f"{PROG} demo", f"{PROG} maps 1234 --size 64M",
                       f"{PROG} render self -o tree.svg", f"{PROG} dump my-trace.json | less",
                       f"{PROG} dump --legend --format dec my-trace.json",
                       f"{PROG} replay tests/data/conformance/ops/trace_set2.ops",
                       f"{PROG} replay --json my-trace.json.gz",
                       "python -m maple_tree demo --lines 60"))
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_demo(sub)
    _add_maps(sub)
    _add_render(sub)
    _add_dump(sub)
    _add_replay(sub)
    return parser


def _add_demo(sub: Any) -> None:
    """The ``demo`` command and its options."""
    demo = _add_command(sub, "demo", _cmd_demo,
                        "show this process's address space on a maple tree and draw it",
                        f"{PROG} demo", f"{PROG} demo --lines -1 -o /tmp/me.svg",
                        extra=_SOURCE_HELP + _EXIT_HELP, dumps=False, traces=False)
    demo.add_argument("--lines", type=int, default=12,
                      help="maps lines to show (default 12; -1 for all)")
    demo.add_argument("-o", "--output", default="maple-tree-demo.svg", metavar="SVG",
                      help="where to write the picture (default maple-tree-demo.svg)")
    demo.add_argument("--json", action="store_true",
                      help="print the facts as one JSON object (the keys of maps --json, "
                           "plus validate and svg)")


def _add_source(parser: argparse.ArgumentParser, what: str) -> None:
    """The optional SOURCE argument of ``maps`` and ``render``."""
    parser.add_argument("source", nargs="?", default=None, metavar=what,
                        help="a process id, 'self', or a file (see below); default: this "
                             "command's own process")
    parser.add_argument("--json", action="store_true", help="print the facts as one JSON object")


def _add_maps(sub: Any) -> None:
    """The ``maps`` command and its options."""
    maps = _add_command(sub, "maps", _cmd_maps,
                        "load an address space (a process or a maps file) and show its VMAs, "
                        "tree, gaps and next mmap",
                        f"{PROG} maps", f"{PROG} maps 1234 --size 64M",
                        f"{PROG} maps saved-maps.txt --json | jq .next_mmap",
                        extra=_SOURCE_HELP + _EXIT_HELP, dumps=False, traces=False)
    _add_source(maps, "PID|FILE")
    maps.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, metavar="SIZE",
                      help="place an mmap of SIZE bytes (4096, 0x1000, 64K, 1M; default 1M)")
    maps.add_argument("--gaps", type=int, default=5, metavar="N",
                      help="how many of the largest gaps to list (default 5)")
    maps.add_argument("--lines", type=int, default=-1,
                      help="maps lines to show (default all)")


def _add_render(sub: Any) -> None:
    """The ``render`` command and its options."""
    render = _add_command(sub, "render", _cmd_render,
                          "draw the tree of an address space or a trace as an SVG picture",
                          f"{PROG} render -o me.svg", f"{PROG} render 1234 -o tree.svg",
                          f"{PROG} render tests/data/kernel-tests/traces/set16.json -o t.svg",
                          extra=_SOURCE_HELP, dumps=False)
    _add_source(render, "PID|FILE|TRACE")
    render.add_argument("-o", "--output", default="tree.svg", metavar="SVG",
                        help="where to write the picture (default tree.svg)")
    render.add_argument("--title", default=None, help="the picture's title (default: the source)")
    render.add_argument("--max-nodes", type=int, default=None, metavar="N",
                        help="nodes drawn per level before the rest is summarised (default 40)")


_SOURCE_HELP = """\
sources: digits are a process id and 'self' this command's process: their
/proc/PID/maps is read.  Anything else is a file: a saved /proc/PID/maps text
(recognised by its first line), or, for render, a trace (JSON or maple-ops/1).
An address space is stored as Linux 6.12 stores it: one entry per VMA over
[start, end - 1] of an allocation tree; the picture colours VMAs by kind
(file, anon, heap, stack, special) and shows NULL slots hatched."""

_EXIT_HELP = f"""

exit status: 0 done; 1 bad input (a process or file that cannot be read, a
malformed maps line), reported on stderr as one line "{PROG}: error: ...";
2 bad command line."""


def _add_dump(sub: Any) -> None:
    """The ``dump`` command and its options."""
    dump = _add_command(sub, "dump", _cmd_dump,
                        "replay a trace file and print the whole tree dump",
                        f"{PROG} dump my-trace.json", f"{PROG} dump --legend my-trace.json",
                        f"{PROG} dump --format dec my-trace.json | head -5",
                        f"{PROG} dump tests/data/conformance/ops/trace_set2.ops")
    dump.add_argument("trace", nargs="?", default=None, metavar="TRACE",
                      help=f"trace file, JSON or op file (see below; its recorded results "
                           f"are not checked: use replay); default: the bundled "
                           f"{BUNDLED_TRACE}")
    dump.add_argument("--legend", action="store_true",
                      help="print a legend of the encoded values before the dump")


def _add_replay(sub: Any) -> None:
    """The ``replay`` command and its options."""
    replay_cmd = _add_command(
        sub, "replay", _cmd_replay,
        "replay a trace file, check its recorded results and summarise the run",
        f"{PROG} replay tests/data/kernel-tests/traces/set25.json",
        f"{PROG} replay tests/data/conformance/ops/bulk_big_f0.ops --progress",
        f"{PROG} replay --json my-ops.ops.gz | jq .checks",
        extra=_replay_help(), dumps=False)
    replay_cmd.add_argument("trace", metavar="TRACE",
                            help="trace file: JSON kernel trace or maple-ops/1 op file, "
                                 "optionally gzip-compressed (see below)")
    replay_cmd.add_argument("--json", action="store_true",
                            help="print the summary as one JSON object (keys below)")
    shown = replay_cmd.add_mutually_exclusive_group()
    shown.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="always show progress on stderr")
    shown.add_argument("--no-progress", dest="progress", action="store_false",
                       help="never show progress")


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``maple-tree`` and ``python -m maple_tree``; returns the exit status.

    ``argv`` defaults to ``sys.argv[1:]``.  0: done.  1: bad input or a failed
    check (:class:`TraceError`), or the output could not be written: one line
    ``maple-tree: error: ...`` on stderr, no traceback.  A reader that stops
    early (``maple-tree dump | head``) ends the command quietly with 1.  Usage
    errors, ``--help`` and ``--version`` exit through argparse (status 2, 0, 0).
    """
    args = _parser().parse_args(argv)
    command: _Command = args.func
    try:
        status = command(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _discard_stdout()
        return 1
    except KeyboardInterrupt:
        return _error("interrupted") + 129   # 130, as shells report SIGINT
    except TraceError as exc:
        return _error(str(exc))
    except OSError as exc:  # the trace was read already: this is writing the output
        _discard_stdout()
        return _error(f"cannot write the output: {exc.strerror or exc}")


def _error(message: str) -> int:
    """Print ``maple-tree: error: message`` as one line on stderr; return 1."""
    print(f"{PROG}: error: {' '.join(message.splitlines())}", file=sys.stderr)
    return 1


def _discard_stdout() -> None:
    """Point stdout at the null device, so the interpreter's final flush of a
    closed pipe or full device does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
