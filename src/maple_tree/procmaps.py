"""The ``/proc/PID/maps`` text format: read it line by line, write it back.

One line per VMA, as ``fs/proc/task_mmu.c`` (``show_map_vma``) prints it::

    7f8570f22000-7f8570f48000 r--p 00000000 fe:00 339380                     /usr/lib/libc.so.6

start and end in lowercase hex (at least 8 digits), the permissions (``s``
when the area may be shared, else ``p``), the file offset (8 hex digits at
least; 0 for anonymous memory), the device as ``major:minor`` (2 hex digits
each at least), the inode in decimal and a space.  A named area is padded
with spaces to column 72 and gets one more space before its name, so names
start at column 73 (a longer prefix gets no padding); an unnamed area's line
ends in ``"0 "``.  Names are a file's path (``" (deleted)"`` appended for an
unlinked one), a special mapping (``[vdso]``, ``[vvar]``, ``[vsyscall]``),
``[heap]``, ``[stack]`` or ``[anon:NAME]``.

:func:`parse_maps` checks every line and the order of the areas;
:func:`format_line` writes one line.

>>> line = parse_maps("00400000-00401000 r-xp 00000000 fe:00 12 /bin/x\\n")[0]
>>> line.start, line.perms, line.name, line.is_file
(4194304, 'r-xp', '/bin/x', True)
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from . import InvalidArgumentError
from .vma import PAGE_SIZE, VM_EXEC, VM_MAYSHARE, VM_READ, VM_SHARED, VM_WRITE, VMA

__all__ = ["MapsLine", "parse_maps", "format_line", "format_maps", "NAME_COLUMN"]

#: ``seq_setwidth(m, 25 + 6 * sizeof(void *) - 1)``: the padded width of a line's prefix
NAME_COLUMN: Final = 72

_LINE = re.compile(r"([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) "
                   r"([0-9a-f]+):([0-9a-f]+) ([0-9]+) ?(.*)")


@dataclass(frozen=True)
class MapsLine:
    """One parsed line: ``number`` counts from 1; ``name`` is ``""`` when
    the line has none; ``is_file`` says whether the area maps a file (a name
    that is not a bracketed kernel name, or a nonzero device or inode)."""

    number: int
    start: int
    end: int
    perms: str
    offset: int
    major: int
    minor: int
    inode: int
    name: str

    @property
    def is_file(self) -> bool:
        """True for a file mapping (its name is a path, or it has a device or inode)."""
        return bool(self.inode or self.major or self.minor
                    or (self.name and not self.name.startswith("[")))

    @property
    def flags(self) -> int:
        """The ``VM_*`` bits the permission column shows (``s`` as
        ``VM_MAYSHARE | VM_SHARED``)."""
        bits = (VM_READ, VM_WRITE, VM_EXEC)
        flags = sum(bit for bit, c in zip(bits, self.perms) if c != "-")
        return flags | (VM_MAYSHARE | VM_SHARED if self.perms[3] == "s" else 0)


def parse_maps(text: str) -> list[MapsLine]:
    """The lines of a ``/proc/PID/maps`` text, checked: each well-formed,
    page-aligned and non-empty, and the areas in increasing, non-overlapping
    order.  Raises InvalidArgumentError naming the first bad line (counted
    from 1).  O(n).

    >>> [ln.name for ln in parse_maps("1000-2000 rw-p 00000000 00:00 0 \\n"
    ...                               "2000-3000 rw-p 00000000 00:00 0      [heap]\\n")]
    ['', '[heap]']
    """
    if not isinstance(text, str):
        raise InvalidArgumentError(f"maps text must be a str, got {type(text).__name__}")
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    lines: list[MapsLine] = []
    for number, row in enumerate(rows, 1):
        line = _parse_line(number, row)
        if lines and line.start < lines[-1].end:
            raise InvalidArgumentError(f"maps line {number}: {line.start:x}-{line.end:x} starts "
                                       f"below the end of line {number - 1} ({lines[-1].end:x})")
        lines.append(line)
    return lines


def _parse_line(number: int, row: str) -> MapsLine:
    """One line as a :class:`MapsLine`; InvalidArgumentError if malformed."""
    match = _LINE.fullmatch(row)
    if match is None:
        raise InvalidArgumentError(f"maps line {number}: expected 'START-END PERMS OFFSET "
                                   f"MAJOR:MINOR INODE [NAME]', got {row[:80]!r}")
    start, end, perms, offset, major, minor, inode, name = match.groups()
    line = MapsLine(number, int(start, 16), int(end, 16), perms, int(offset, 16),
                    int(major, 16), int(minor, 16), int(inode), name.lstrip(" "))
    if line.start % PAGE_SIZE or line.end % PAGE_SIZE or line.start >= line.end \
            or line.end > 1 << 64:
        raise InvalidArgumentError(f"maps line {number}: {start}-{end} is not a non-empty "
                                   "page-aligned range")
    return line


def format_line(vma: VMA, name: str) -> str:
    """The maps line of ``vma`` printed under ``name`` (``show_map_vma``),
    with its newline.  O(1).

    >>> from maple_tree.vma import VMA, VM_READ, VM_WRITE
    >>> format_line(VMA(0x1000, 0x2000, VM_READ | VM_WRITE), "")
    '00001000-00002000 rw-p 00000000 00:00 0 \\n'
    """
    dev = (vma.file.major, vma.file.minor, vma.file.inode) if vma.file is not None else (0, 0, 0)
    prefix = (f"{vma.start:08x}-{vma.end:08x} {vma.perms} {vma.offset:08x} "
              f"{dev[0]:02x}:{dev[1]:02x} {dev[2]} ")
    if not name:
        return prefix + "\n"
    return prefix.ljust(NAME_COLUMN) + " " + name + "\n"


def format_maps(rows: Iterable[tuple[VMA, str]]) -> str:
    """The maps text of ``(vma, name)`` rows, in the order given.  O(n)."""
    return "".join(format_line(vma, name) for vma, name in rows)
