"""The ``maple-tree`` command line: replay a trace of range stores, show the tree.

Commands (``python -m maple_tree`` is the same command):

``maple-tree demo``
    replays the trace that ships with the package (``set16`` of
    ``check_erase2_sets`` in the kernel's ``tools/testing/radix-tree/maple.c``:
    208 mmap/munmap rows recorded from a real process, on an ALLOC_RANGE tree)
    and prints a summary of the tree (height, nodes per type, entries, fill per
    level), a legend of the dump's encodings and the first lines of the dump.
``maple-tree dump [TRACE.json] [--legend]``
    replays a trace file (the bundled one when none is given) and prints the
    whole ``mt_dump``-style dump, exactly in the kernel's layout unless
    ``--legend`` asks for the legend first.

A trace is a JSON object ``{"ops": [[op, a, b], ...]}`` with optional tree
flags; :data:`OPS` and :data:`FLAGS` list the op and flag names, and the help
texts (``maple-tree --help``) are built from them.

Every bad input (a file that cannot be read, is not UTF-8, is empty or is not
JSON; a trace of the wrong shape; a bad row; an unknown flag; a row the tree
refuses or whose check fails while replaying) raises :class:`TraceError`, whose
message names the file and, for a row, its number counted from 0
(``FILE: row N (0-based): ...``).  :func:`main` prints it as the single line
``maple-tree: error: ...`` on stderr and returns 1; usage errors exit 2.

The statistics only read the tree (public API plus a read-only walk of the
root node); nothing here changes how the tree works.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from importlib import resources
from typing import Any, TypeGuard

from . import (
    COMPILED,
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_ALLOC_WRAPPED,
    MT_FLAGS_LOCK_EXTERN,
    MT_FLAGS_USE_RCU,
    ULONG_MAX,
    MapleError,
    MapleTree,
    __version__,
)
from .constants import (
    MT_FLAGS_HEIGHT_OFFSET,
    MT_FLAGS_LOCK_BH,
    MT_FLAGS_LOCK_IRQ,
    MT_FLAGS_USER_MASK,
)

__all__ = ["main", "load_trace", "replay", "trace_step", "tree_stats", "BUNDLED_TRACE",
           "TraceError", "OPS", "FLAGS", "version_text"]

#: the program name in usage lines and error messages
PROG = "maple-tree"

#: the trace ``maple-tree demo`` replays (package data, ``maple_tree/data``)
BUNDLED_TRACE = "set16.json"

#: op name -> what the row ``[op, a, b]`` does (``check_erase2_testset``)
OPS: dict[str, str] = {
    "STORE": "store the value a over [a, b]",
    "SNULL": "store NULL over [a, b], emptying that range",
    "ERASE": "erase the entry holding a, if any; it must be the value a (b unused)",
}

#: tree flag name -> (value, meaning): every flag ``MapleTree(flags)`` accepts
FLAGS: dict[str, tuple[int, str]] = {
    "MT_FLAGS_ALLOC_RANGE": (MT_FLAGS_ALLOC_RANGE, "allocation tree: arange_64 nodes track gaps"),
    "MT_FLAGS_USE_RCU": (MT_FLAGS_USE_RCU, "RCU mode (mt_set_in_rcu)"),
    "MT_FLAGS_LOCK_IRQ": (MT_FLAGS_LOCK_IRQ, "lock type, kept in the flags"),
    "MT_FLAGS_LOCK_BH": (MT_FLAGS_LOCK_BH, "lock type, kept in the flags"),
    "MT_FLAGS_LOCK_EXTERN": (MT_FLAGS_LOCK_EXTERN, "external lock, kept in the flags"),
    "MT_FLAGS_ALLOC_WRAPPED": (MT_FLAGS_ALLOC_WRAPPED, "alloc_cyclic wrapped, kept in the flags"),
}

#: one row of a checked trace: (op, a, b)
Row = tuple[str, int, int]

_SHAPE = '{"ops": [[op, a, b], ...]}'


class TraceError(ValueError):
    """A trace that cannot be read or replayed.  ``str()`` is the whole message
    for the user: it names the file (or trace) and the row, and says what was
    expected."""


# -- reading and checking a trace ----------------------------------------------------------


def load_trace(path: str | None = None) -> dict[str, Any]:
    """Read and check a trace: the bundled one (``path`` None) or a JSON file.

    Returns the parsed JSON object once its shape, flags and every row are
    valid (see :func:`replay`).  Raises :class:`TraceError` naming the file when
    it cannot be read, is not UTF-8, is empty, is not JSON or is not a valid trace.
    """
    label = _file_label(path)
    trace = _as_object(_parse_json(_read_text(path, label), label), label)
    _checked(trace, label)
    return trace


def _file_label(path: str | None) -> str:
    """How messages name the trace file: the path as given, escaped if unprintable."""
    if path is None:
        return f"{BUNDLED_TRACE} (bundled)"
    return path if path.isprintable() else repr(path)


def _read_text(path: str | None, label: str) -> str:
    """The text of the file (UTF-8, optional BOM); :class:`TraceError` if it cannot be read."""
    try:
        if path is None:
            data = resources.files("maple_tree").joinpath("data", BUNDLED_TRACE).read_bytes()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise TraceError(f"{label}: cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceError(f"{label}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); expected a JSON trace {_SHAPE}") from None


def _parse_json(text: str, label: str) -> Any:
    """The JSON value of ``text``; :class:`TraceError` if it is empty or not JSON."""
    if not text.strip():
        raise TraceError(f"{label}: empty file; expected a JSON trace {_SHAPE}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:  # an integer literal longer than Python converts
        problem = str(exc).split(";")[0]  # drop the advice meant for programmers
    except RecursionError:
        problem = "nested too deeply"
    raise TraceError(f"{label}: not valid JSON ({problem}); expected a JSON trace {_SHAPE}")


def _as_object(value: object, label: str) -> dict[str, Any]:
    """``value`` if it is a JSON object with an ``"ops"`` key, else :class:`TraceError`."""
    if not isinstance(value, dict):
        raise TraceError(f"{label}: expected a JSON object {_SHAPE}, got {_show(value)}")
    if "ops" not in value:
        raise TraceError(f'{label}: not a trace: no "ops" key; expected {_SHAPE}')
    return value


def _checked(trace: dict[str, Any], label: str) -> tuple[int, list[Row]]:
    """The tree flags and the rows of ``trace``, all checked; :class:`TraceError` otherwise."""
    ops = trace["ops"]
    if not isinstance(ops, (list, tuple)):
        raise TraceError(f'{label}: "ops" must be a list of [op, a, b] rows, got {_show(ops)}')
    rows = [_check_row(row, _row_label(label, i)) for i, row in enumerate(ops)]
    return _trace_flags(trace, label), rows


def _row_label(label: str, index: int) -> str:
    """How messages name row ``index`` of the trace: counted from 0, and saying so."""
    return f"{label}: row {index} (0-based)"


def _check_row(row: object, where: str) -> Row:
    """``row`` as ``(op, a, b)`` if it is ``[op, a, b]`` with a known op and
    ``0 <= a <= b <= ULONG_MAX``; otherwise :class:`TraceError` saying what was expected."""
    if not isinstance(row, (list, tuple)) or len(row) != 3:
        size = f" ({len(row)} items)" if isinstance(row, (list, tuple)) else ""
        raise TraceError(f"{where}: expected a row [op, a, b] (a list of 3 items), "
                         f"got {_show(row)}{size}")
    op, a, b = row
    if not isinstance(op, str) or op not in OPS:
        raise TraceError(f"{where}: expected an op {_choices(OPS)}, got {_show(op)}")
    for name, key in (("a", a), ("b", b)):
        if not (_is_int(key) and 0 <= key <= ULONG_MAX):
            raise TraceError(f"{where}: expected {name} to be an integer in 0..2**64-1, "
                             f"got {_show(key)}")
    if a > b:
        raise TraceError(f"{where}: expected a <= b, got a = {a} > b = {b}")
    return op, a, b


def _trace_flags(trace: dict[str, Any], label: str) -> int:
    """The tree flags of ``trace``: ``"tree_flags"``, else ``"driver": {"tree_flags"}``,
    else 0; each a name of :data:`FLAGS` or an int of their bits, alone or in a list."""
    key, value = "tree_flags", trace.get("tree_flags")
    if value is None and trace.get("driver") is not None:
        driver = trace["driver"]
        if not isinstance(driver, dict):
            raise TraceError(f'{label}: "driver" must be a JSON object, got {_show(driver)}')
        key, value = "driver.tree_flags", driver.get("tree_flags")
    items = [] if value is None else value if isinstance(value, list) else [value]
    flags = 0
    for item in items:
        flags |= _flag_value(item, f"{label}: {key}")
    return flags


def _flag_value(item: object, where: str) -> int:
    """The value of one flag: a name of :data:`FLAGS` or an int of their bits."""
    if isinstance(item, str) and item in FLAGS:
        return FLAGS[item][0]
    if not _is_int(item) or item < 0:
        problem = f"got {_show(item)}"
    elif item & ~MT_FLAGS_USER_MASK:
        problem = f"bits {item & ~MT_FLAGS_USER_MASK:#x} of {item:#x} are not tree flags"
    else:
        return item
    raise TraceError(f"{where}: unknown tree flag ({problem}); expected a flag name "
                     f"({', '.join(FLAGS)}) or an integer of their bits "
                     f"(mask {MT_FLAGS_USER_MASK:#x})")


def _is_int(value: object) -> TypeGuard[int]:
    """True for an ``int`` that is not a ``bool`` (JSON ``true`` is not a key)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _choices(names: dict[str, Any]) -> str:
    """``A, B or C`` of the keys of ``names``."""
    keys = list(names)
    return ", ".join(keys[:-1]) + " or " + keys[-1] if len(keys) > 1 else keys[0]


def _show(value: object, limit: int = 60) -> str:
    """``value`` as the user wrote it (JSON), on one line, cut after ``limit`` characters."""
    try:
        text = json.dumps(value, default=repr)
    except (ValueError, RecursionError):
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- replaying --------------------------------------------------------------------------------


def replay(trace: dict[str, Any], *, label: str | None = None) -> MapleTree:
    """Replay a trace the way the kernel's ``check_erase2_testset`` does; return the tree.

    The trace's shape, flags and every row are checked first; then each row
    runs through :func:`trace_step`.  Raises :class:`TraceError` for a bad
    trace, a row the tree refuses (a :class:`~maple_tree.MapleError`) or a
    failed ERASE check, naming ``label`` (default: ``trace`` and its name) and
    the row.
    """
    where = _trace_label(trace) if label is None else label
    flags, rows = _checked(_as_object(trace, where), where)
    tree = MapleTree(flags)
    for index, row in enumerate(rows):
        try:
            trace_step(tree, *row)
        except (TraceError, MapleError) as exc:
            raise TraceError(f"{_row_label(where, index)}: {' '.join(map(str, row))}: "
                             f"{exc}") from None
    return tree


def _trace_label(trace: object) -> str:
    """How messages name a trace given as an object: ``trace NAME``, or ``trace``."""
    name = trace.get("name") if isinstance(trace, dict) else None
    return f"trace {name}" if isinstance(name, str) and name.isprintable() else "trace"


def trace_step(tree: MapleTree, op: str, a: int, b: int) -> None:
    """One row of a kernel VMA trace (``check_erase2_testset``): ``STORE a b``
    stores ``a`` over ``[a, b]``, ``SNULL a b`` stores NULL, ``ERASE a b``
    erases the entry holding ``a`` if there is one, which must be ``a``.

    Raises :class:`TraceError` for an unknown op or a failed ERASE check, and
    whatever the tree raises for bad keys.

    >>> t = MapleTree(); trace_step(t, "STORE", 4096, 8191); t.load(5000)
    4096
    """
    if op == "STORE":
        tree.store_range(a, b, a)
    elif op == "SNULL":
        tree.store_range(a, b, None)
    elif op == "ERASE":
        if tree.load(a) is not None:
            old = tree.erase(a)
            if old != a:
                raise TraceError(f"erase({a}) returned {old!r}; the entry holding {a} "
                                 f"must be the value {a}")
    else:
        raise TraceError(f"unknown op {op!r}; expected {_choices(OPS)}")


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
    st = tree_stats(tree)
    by_type = ", ".join(f"{name}: {n}" for name, n in sorted(st["nodes_by_type"].items()))
    lines = [
        f"replayed trace {trace.get('name', '?')}: {len(trace['ops'])} rows "
        f"({', '.join(f'{n} {op}' for op, n in counts.items())})",
        f"source: {trace.get('source', '?')}",
        f"tree flags: {_format_flags(tree.flags)}; the dump header shows "
        f"ma_flags = flags | height << 2 = {_ma_flags(tree):#x}",
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
        f"    (here {tree.flags:#x} | {tree.height} << 2 = {_ma_flags(tree):#x}: flags "
        f"{_ma_flags(tree):X}); root is the root node's pointer | 0x2",
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


# -- commands ---------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    """``maple-tree demo``: summary, legend and dump head of the bundled trace's tree."""
    trace = load_trace(None)
    tree = replay(trace, label=_file_label(None))
    summary = _summary(trace, tree)
    tree.validate()
    _write_lines(["maple-tree demo: a kernel VMA trace replayed on a MapleTree", *summary,
                  "validate: ok", *_legend(tree), *_dump_head(tree, args.lines, args.format)])
    return 0


def _cmd_dump(args: argparse.Namespace) -> int:
    """``maple-tree dump``: the whole dump of a trace file's tree (legend first if asked)."""
    tree = replay(load_trace(args.trace), label=_file_label(args.trace))
    if args.legend:
        _write_lines(_legend(tree))
    _write_lines(tree.dump(args.format).splitlines())
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
    """The input format: the trace JSON shape, the ops and the tree flags."""
    ops = "\n".join(f"  {op:<6} {meaning}" for op, meaning in OPS.items())
    flags = "\n".join(f"  {name:<23} {value:<#6x} {meaning}"
                      for name, (value, meaning) in FLAGS.items())
    return f"""\
trace file: a UTF-8 JSON object, e.g.
  {{"name": "example", "tree_flags": ["MT_FLAGS_ALLOC_RANGE"],
   "ops": [["STORE", 4096, 8191], ["SNULL", 6000, 6999], ["ERASE", 4096, 4096]]}}
"ops" is a list of rows [op, a, b], replayed in order; a and b are integers
with 0 <= a <= b <= 2**64-1.  Messages count rows from 0.  "name" and
"source" are optional labels; other keys are ignored.

ops:
{ops}

tree flags: "tree_flags" (or "driver": {{"tree_flags": ...}}) is a flag name or
an integer, or a list of them, ORed together; default 0:
{flags}

exit status: 0 done; 1 bad input or a failed check, reported on stderr as one
line "{PROG}: error: FILE: row N (0-based): ..."; 2 bad command line."""


def _epilog(*examples: str) -> str:
    """A help epilog: the input format, then ``examples`` (one command each)."""
    return _format_help() + "\n\nexamples:\n" + "\n".join(f"  {cmd}" for cmd in examples)


def _add_format(parser: argparse.ArgumentParser) -> None:
    """The ``--format`` option shared by the commands that print a dump."""
    parser.add_argument("--format", choices=("hex", "dec"), default="hex",
                        help="number format of the dump (default hex)")


def _add_command(sub: Any, name: str, func: _Command, summary: str,
                 *examples: str) -> argparse.ArgumentParser:
    """A subcommand ``name`` running ``func``, with its help and an epilog of ``examples``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".",
        epilog=_epilog(*examples), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    _add_format(parser)
    return parser


def _parser() -> argparse.ArgumentParser:
    """The argument parser of ``maple-tree`` and its commands."""
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Python port of the Linux 6.12 maple tree: replay traces of range "
                    "stores and show the tree.",
        epilog=_epilog(f"{PROG} demo", f"{PROG} dump my-trace.json | less",
                       f"{PROG} dump --legend --format dec my-trace.json",
                       "python -m maple_tree demo --lines 60"))
    parser.add_argument("--version", action="version", version=version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = _add_command(sub, "demo", _cmd_demo,
                        "replay the bundled kernel VMA trace and summarise the tree",
                        f"{PROG} demo", f"{PROG} demo --lines 60 --format dec",
                        f"{PROG} demo --lines -1")
    demo.add_argument("--lines", type=int, default=25,
                      help="dump lines to show (default 25; -1 for all)")
    dump = _add_command(sub, "dump", _cmd_dump,
                        "replay a trace file and print the whole tree dump",
                        f"{PROG} dump my-trace.json", f"{PROG} dump --legend my-trace.json",
                        f"{PROG} dump --format dec my-trace.json | head -5")
    dump.add_argument("trace", nargs="?", default=None, metavar="TRACE.json",
                      help=f"trace file (see below); default: the bundled {BUNDLED_TRACE}")
    dump.add_argument("--legend", action="store_true",
                      help="print a legend of the encoded values before the dump")
    return parser


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
