"""Command-line interface: ``maple-tree demo`` and ``maple-tree dump``.

``maple-tree demo`` replays a kernel VMA trace that ships with the package
(``set16`` of ``check_erase2_sets`` in ``tools/testing/radix-tree/maple.c``,
208 mmap/munmap rows recorded from a real process, on an ALLOC_RANGE tree)
and prints a summary of the resulting tree: height, nodes per type, entry
count, how full each level is, and the first lines of the kernel-style dump.

``maple-tree dump [TRACE.json]`` replays a trace file of the same shape (the
``setN.json`` files of the kernel test data; the bundled trace when no path is
given) and prints the whole ``mt_dump``-style dump.

Example commands::

    maple-tree demo
    maple-tree demo --lines 60 --format dec
    maple-tree dump ../shared/kernel-tests/traces/set11.json

The statistics only read the tree (public API plus a read-only walk of the
root node); nothing here changes how the tree works.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib import resources
from typing import Any

from .constants import MT_FLAGS_ALLOC_RANGE, MT_SLOTS, TYPE_NAMES
from .node import Node, RootEntry
from .tree import MapleTree

__all__ = ["main", "load_trace", "replay", "tree_stats", "BUNDLED_TRACE"]

#: the trace ``maple-tree demo`` replays (package data, ``maple_tree/data``)
BUNDLED_TRACE = "set16.json"

_FLAG_NAMES = {"MT_FLAGS_ALLOC_RANGE": MT_FLAGS_ALLOC_RANGE}


def load_trace(path: str | None = None) -> dict[str, Any]:
    """Read a trace: the bundled one (``path`` None) or a ``setN.json`` file."""
    if path is None:
        text = resources.files("maple_tree").joinpath("data", BUNDLED_TRACE).read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    trace = json.loads(text)
    if "ops" not in trace:
        raise ValueError(f"{path or BUNDLED_TRACE}: not a trace (no 'ops')")
    return trace


def _trace_flags(trace: dict[str, Any]) -> int:
    names = trace.get("tree_flags")
    if names is None:
        names = trace.get("driver", {}).get("tree_flags", [])
    flags = 0
    for name in names:
        if name not in _FLAG_NAMES:
            raise ValueError(f"unknown tree flag {name!r} in trace")
        flags |= _FLAG_NAMES[name]
    return flags


def replay(trace: dict[str, Any]) -> MapleTree:
    """Replay a trace the way the kernel's ``check_erase2_testset`` does.

    ``STORE a b`` stores the value ``a`` (``xa_mk_value(a)``) over ``[a, b]``;
    ``SNULL a b`` stores NULL over ``[a, b]``; ``ERASE a b`` erases the entry
    holding ``a`` if there is one, and that entry must be ``a``.
    """
    tree = MapleTree(_trace_flags(trace))
    for row, (op, a, b) in enumerate(trace["ops"]):
        try:
            trace_step(tree, op, a, b)
        except (RuntimeError, ValueError) as exc:
            raise type(exc)(f"row {row}: {exc}") from None
    return tree


def trace_step(tree: MapleTree, op: str, a: int, b: int) -> None:
    """One row of a kernel VMA trace (``check_erase2_testset``): ``STORE a b``
    stores ``a`` over ``[a, b]``, ``SNULL a b`` stores NULL, ``ERASE a b``
    erases the entry holding ``a`` if there is one, which must be ``a``.

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
                raise RuntimeError(f"erase({a}) returned {old!r}, expected {a}")
    else:
        raise ValueError(f"unknown op {op!r}")


def tree_stats(tree: MapleTree) -> dict[str, Any]:
    """Shape statistics of ``tree``, read by walking its nodes (read-only).

    Returns a dict with ``height``, ``entries`` (``len(tree)``), ``nodes``
    (total), ``nodes_by_type`` ({type name: count}) and ``levels``: one dict
    per depth (0 = root) with ``nodes``, ``types``, ``slots_used``,
    ``capacity`` (sum of ``mt_slots`` of its nodes) and ``fill``
    (``slots_used / capacity``, the average occupancy of that level).
    """
    stats: dict[str, Any] = {
        "height": tree.height,
        "entries": len(tree),
        "flags": tree.flags,
        "nodes": 0,
        "nodes_by_type": {},
        "levels": [],
    }
    root = tree._root
    if root is None or isinstance(root, RootEntry):
        return stats
    level: list[Node] = [root]
    depth = 0
    while level:
        types: dict[str, int] = {}
        used = cap = 0
        below: list[Node] = []
        for node in level:
            name = TYPE_NAMES.get(node.type, str(node.type))
            types[name] = types.get(name, 0) + 1
            used += len(node.slots)
            cap += MT_SLOTS[node.type]
            if not node.is_leaf:
                below.extend(node.slots)
        stats["levels"].append({"depth": depth, "nodes": len(level), "types": types,
                                "slots_used": used, "capacity": cap,
                                "fill": used / cap if cap else 0.0})
        for name, n in types.items():
            stats["nodes_by_type"][name] = stats["nodes_by_type"].get(name, 0) + n
        stats["nodes"] += len(level)
        level = below
        depth += 1
    return stats


def _format_flags(flags: int) -> str:
    names = [n for n, v in (("MT_FLAGS_ALLOC_RANGE", 0x01), ("MT_FLAGS_USE_RCU", 0x02))
             if flags & v]
    return f"0x{flags:x}" + (f" ({' | '.join(names)})" if names else "")


def _summary(trace: dict[str, Any], tree: MapleTree, lines: int, fmt: str) -> str:
    ops = trace["ops"]
    counts: dict[str, int] = {}
    for op, _a, _b in ops:
        counts[op] = counts.get(op, 0) + 1
    st = tree_stats(tree)
    out = [
        f"replayed trace {trace.get('name', '?')}: {len(ops)} rows "
        f"({', '.join(f'{n} {op}' for op, n in counts.items())})",
        f"source: {trace.get('source', '?')}",
        f"tree flags: {_format_flags(st['flags'])}",
        f"height: {st['height']}",
        f"entries: {st['entries']}",
        f"nodes: {st['nodes']} ("
        + ", ".join(f"{name}: {n}" for name, n in sorted(st["nodes_by_type"].items())) + ")",
        "fill per level (average used slots / capacity):",
    ]
    for lv in st["levels"]:
        kinds = ", ".join(f"{n} {name}" for name, n in sorted(lv["types"].items()))
        avg_used = lv["slots_used"] / lv["nodes"]
        avg_cap = lv["capacity"] / lv["nodes"]
        out.append(f"  depth {lv['depth']}: {kinds}; {avg_used:.1f}/{avg_cap:g} slots "
                   f"per node ({lv['fill']:.0%})")
    tree.validate()
    out.append("validate: ok")
    dump = tree.dump(fmt).splitlines()
    shown = dump if lines < 0 else dump[:lines]
    out.append(f"dump ({fmt}), first {len(shown)} of {len(dump)} lines:")
    out.extend(shown)
    return "\n".join(out)


def _cmd_demo(args: argparse.Namespace) -> int:
    trace = load_trace(None)
    tree = replay(trace)
    print("maple-tree demo: a kernel VMA trace replayed on a MapleTree")
    print(_summary(trace, tree, args.lines, args.format))
    return 0


def _cmd_dump(args: argparse.Namespace) -> int:
    trace = load_trace(args.trace)
    tree = replay(trace)
    text = tree.dump(args.format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maple-tree",
        description="Python port of the Linux 6.12 maple tree: replay kernel traces and show trees.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    demo = sub.add_parser("demo", help="replay the bundled kernel VMA trace and summarise the tree")
    demo.add_argument("--lines", type=int, default=25,
                      help="dump lines to show (default 25; -1 for all)")
    demo.add_argument("--format", choices=("hex", "dec"), default="hex",
                      help="number format of the dump (default hex)")
    demo.set_defaults(func=_cmd_demo)
    dump = sub.add_parser("dump", help="replay a trace file and print the whole tree dump")
    dump.add_argument("trace", nargs="?", default=None,
                      help="setN.json trace (rows [op, a, b]); default: the bundled trace")
    dump.add_argument("--format", choices=("hex", "dec"), default="hex",
                      help="number format of the dump (default hex)")
    dump.set_defaults(func=_cmd_dump)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``maple-tree`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # output cut short by the reader (``maple-tree dump | head``): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except (OSError, ValueError) as exc:
        print(f"maple-tree: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
