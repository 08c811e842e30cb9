"""Address spaces on the command line: what ``maple-tree maps``, ``render``
and ``demo`` load and print.

A *source* names what to load: a process id (digits) or ``self`` (the
command's own process) reads ``/proc/PID/maps``; anything else is a file,
either a ``/proc/PID/maps`` text (recognised by its first line) or, where the
command accepts one, a trace that :mod:`maple_tree.traces` replays.
:func:`load_source` returns a :class:`Source`; :func:`maps_report` collects
what ``maps`` shows as plain data (its ``--json`` output) and
:func:`maps_lines` words it.  Every bad input raises
:class:`~maple_tree.traces.TraceError` with a one-line message.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Final

from . import MapleError, MapleTree
from .mm import AddressSpace
from .procmaps import format_line
from .traces import TraceError, read_trace, run
from .vma import VMA, page_align

__all__ = ["Source", "load_source", "load_demo_source", "parse_size", "human_size",
           "maps_report", "maps_lines", "gap_lines", "largest_gaps", "DEFAULT_SIZE"]

#: the mmap size ``maps`` places when not told (1 MiB)
DEFAULT_SIZE: Final = 1 << 20
_PID: Final = re.compile(r"[0-9]+|self")
_MAPS_LINE: Final = re.compile(r"[0-9a-f]+-[0-9a-f]+ [r-][w-][x-][sp] ")
_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass
class Source:
    """What a source loaded: a ``label`` for messages and titles, the tree,
    and the address space when it was a maps file or a process (else None)."""

    label: str
    tree: MapleTree
    space: AddressSpace | None = None


def load_source(source: str | None, *, traces: bool = False) -> Source:
    """Load ``source`` (None: this process): a PID, ``self``, a maps file,
    or (``traces=True``) a trace file.  Raises TraceError naming the source.
    O(n log n) in its areas or ops.

    >>> load_source("/no/such/file")
    Traceback (most recent call last):
      ...
    maple_tree.traces.TraceError: /no/such/file: cannot read the file: No such file or directory
    """
    if source is None or _PID.fullmatch(source):
        return _load_pid(source or "self")
    text = _read_text(source)
    if _MAPS_LINE.match(text) or not text.strip():
        return _load_maps_text(text, source)
    if not traces:
        raise TraceError(f"{source}: not a /proc/PID/maps file (its first line is not "
                         "'START-END PERMS ...')")
    return Source(source, run(read_trace(source)).tree)


def load_demo_source() -> Source:
    """This process's address space, or, without ``/proc/self/maps``, the
    example process that ships with the package (:meth:`AddressSpace.example`)."""
    if os.path.exists("/proc/self/maps"):
        return _load_pid("self")
    space = AddressSpace.example()
    return Source("the bundled example process (no /proc/self/maps here)", space.tree, space)


def _load_pid(pid: str) -> Source:
    """The address space of process ``pid`` (``self``: this one)."""
    path = f"/proc/{pid}/maps"
    try:
        space = AddressSpace.from_pid(pid)
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except MapleError as exc:
        raise TraceError(f"{path}: {exc}") from None
    number = os.getpid() if pid == "self" else int(pid)
    return Source(f"{path} (pid {number}{_command_name(pid)})", space.tree, space)


def _command_name(pid: str) -> str:
    """``, NAME`` from ``/proc/PID/comm``, or nothing if it cannot be read."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as fh:
            return ", " + fh.read().strip()
    except OSError:
        return ""


def _read_text(path: str) -> str:
    """The text of file ``path``; TraceError if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError as exc:
        raise TraceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


def _load_maps_text(text: str, label: str) -> Source:
    """An address space from a maps text; TraceError naming the file and line."""
    try:
        space = AddressSpace.from_proc_maps(text)
    except MapleError as exc:
        raise TraceError(f"{label}: {exc}") from None
    return Source(label, space.tree, space)


def parse_size(text: str) -> int:
    """A size as the command line takes it: ``4096``, ``0x1000``, ``64K``,
    ``1M``, ``2MiB``, ``1G`` (binary units).  Raises ValueError otherwise.

    >>> parse_size("1M"), parse_size("0x2000"), parse_size("2MiB")
    (1048576, 8192, 2097152)
    """
    match = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|[0-9]+)\s*([kKmMgGtT]?)(?:i?B)?\s*", text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (e.g. 4096, 0x1000, 64K, 1M)")
    size = int(match.group(1), 0) * _UNITS[match.group(2).lower()]
    if size <= 0:
        raise ValueError(f"the size must be positive, got {text!r}")
    return size


def human_size(size: int) -> str:
    """``size`` in bytes as a short binary-unit text.

    >>> human_size(4096), human_size(3 << 30), human_size(1536)
    ('4 KiB', '3 GiB', '1.5 KiB')
    """
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} B"


def largest_gaps(space: AddressSpace, count: int) -> list[tuple[int, int]]:
    """The ``count`` largest free ranges ``(start, end)`` of user memory,
    largest first.  O(n log n)."""
    return sorted(space.gaps(), key=lambda gap: (gap[0] - gap[1], gap[0]))[:count]


def _vma_row(space: AddressSpace, vma: VMA) -> dict[str, Any]:
    """One area as JSON: range, permissions, offset, device, inode, name, kind."""
    file = vma.file
    return {"start": vma.start, "end": vma.end, "perms": vma.perms, "offset": vma.offset,
            "dev": f"{file.major:02x}:{file.minor:02x}" if file else "00:00",
            "inode": file.inode if file else 0, "name": space.name_of(vma),
            "kind": space.kind_of(vma)}


def _next_mmap(space: AddressSpace, size: int) -> dict[str, Any]:
    """Where an ``mmap`` of ``size`` bytes would land, or why it would fail."""
    length = page_align(size)
    try:
        return {"size": length, "address": space.get_unmapped_area(length), "error": None}
    except MapleError as exc:
        return {"size": length, "address": None, "error": f"{type(exc).__name__}: {exc}"}


def maps_report(source: Source, size: int = DEFAULT_SIZE, gaps: int = 5) -> dict[str, Any]:
    """What ``maple-tree maps`` shows, as JSON-ready data: the areas, the
    gate areas, ``mmap_base``, the largest gaps and the next mmap of ``size``.
    The tree's statistics are added by the caller.  O(n log n)."""
    space = source.space
    assert space is not None
    return {
        "source": source.label,
        "vmas": [_vma_row(space, vma) for vma in space],
        "gate_areas": [_vma_row(space, vma) for vma in space.gate_areas],
        "task_size": space.task_size,
        "mmap_base": space.mmap_base,
        "largest_gaps": [{"start": s, "end": e, "size": e - s}
                         for s, e in largest_gaps(space, gaps)],
        "next_mmap": _next_mmap(space, size),
    }


def maps_lines(source: Source, report: dict[str, Any], lines: int = -1) -> list[str]:
    """The text of ``maps``: a title, the maps lines (the first ``lines``,
    all if negative), then the gaps and the next mmap; the tree's lines go
    between them (the caller's)."""
    space = source.space
    assert space is not None
    shown = list(space)
    cut = shown if lines < 0 else shown[:lines]
    title = (f"address space of {source.label}: {len(space)} VMAs"
             + (f" + {len(space.gate_areas)} above task_size" if space.gate_areas else ""))
    body = [format_line(vma, space.name_of(vma)).rstrip("\n") for vma in cut]
    if len(cut) < len(shown):
        body.append(f"... {len(shown) - len(cut)} more VMAs (--lines -1 shows all)")
    if len(cut) == len(shown):
        body += [format_line(vma, vma.name or "").rstrip("\n") for vma in space.gate_areas]
    return [title, *body]


def gap_lines(report: dict[str, Any]) -> list[str]:
    """The largest gaps and the next mmap, as text lines."""
    out = ["largest gaps (free ranges of user memory):"]
    out += [f"  {g['start']:#014x}-{g['end']:#014x}  {human_size(g['size'])}"
            for g in report["largest_gaps"]]
    nxt = report["next_mmap"]
    where = (f"would land at {nxt['address']:#x}" if nxt["address"] is not None
             else f"would fail: {nxt['error']}")
    out.append(f"next mmap of {human_size(nxt['size'])} {where} "
               f"(top-down from mmap_base {report['mmap_base']:#x})")
    return out
