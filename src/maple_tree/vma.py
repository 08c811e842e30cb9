"""Virtual memory areas: what an address space keeps on its maple tree.

A :class:`VMA` is one mapping ``[start, end)`` (``end`` exclusive, as the
kernel's ``vm_end``) with its ``vm_flags``, its page offset (``vm_pgoff``),
the file it maps (a :class:`MappedFile`, or None for anonymous memory) and an
optional name (an anonymous area's ``[anon:NAME]`` or a special mapping such as
``[vdso]``).  The tree of an :class:`~maple_tree.mm.AddressSpace` stores each
VMA over ``[start, end - 1]``, as Linux does; holes are NULL ranges.

This module holds the flag bits (``include/linux/mm.h``, Linux 6.12) and the
rules that look at one or two VMAs at a time: whether two may merge
(``is_mergeable_vma``, ``can_vma_merge_after``/``_before`` in ``mm/vma.c``),
the stack guard gap (``vm_start_gap``) and the permission string of a
``/proc/PID/maps`` line.

>>> v = VMA(0x10000, 0x13000, VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE)
>>> v, v.pages, v.perms
(VMA(0x10000-0x13000 rw-p), 3, 'rw-p')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from . import InvalidArgumentError

__all__ = ["VMA", "MappedFile", "PAGE_SIZE", "PAGE_SHIFT", "page_align", "pages",
           "VM_READ", "VM_WRITE", "VM_EXEC", "VM_SHARED", "VM_MAYREAD", "VM_MAYWRITE",
           "VM_MAYEXEC", "VM_MAYSHARE", "VM_GROWSDOWN", "VM_PFNMAP", "VM_LOCKED", "VM_IO",
           "VM_DONTCOPY", "VM_DONTEXPAND", "VM_LOCKONFAULT", "VM_ACCOUNT", "VM_NORESERVE",
           "VM_HUGETLB", "VM_WIPEONFORK", "VM_DONTDUMP", "VM_SOFTDIRTY", "VM_MIXEDMAP",
           "VM_HUGEPAGE", "VM_NOHUGEPAGE", "VM_SPECIAL", "VM_ACCESS_FLAGS", "VM_MAY_FLAGS",
           "VM_DATA_DEFAULT_FLAGS", "VM_STACK_FLAGS", "flag_names"]

PAGE_SHIFT: Final = 12
#: the page size of the model (x86_64's 4 KiB)
PAGE_SIZE: Final = 1 << PAGE_SHIFT

VM_READ: Final = 0x1
VM_WRITE: Final = 0x2
VM_EXEC: Final = 0x4
VM_SHARED: Final = 0x8
VM_MAYREAD: Final = 0x10
VM_MAYWRITE: Final = 0x20
VM_MAYEXEC: Final = 0x40
VM_MAYSHARE: Final = 0x80
VM_GROWSDOWN: Final = 0x100
VM_PFNMAP: Final = 0x400
VM_LOCKED: Final = 0x2000
VM_IO: Final = 0x4000
VM_DONTCOPY: Final = 0x20000
VM_DONTEXPAND: Final = 0x40000
VM_LOCKONFAULT: Final = 0x80000
VM_ACCOUNT: Final = 0x100000
VM_NORESERVE: Final = 0x200000
VM_HUGETLB: Final = 0x400000
VM_WIPEONFORK: Final = 0x2000000
VM_DONTDUMP: Final = 0x4000000
VM_SOFTDIRTY: Final = 0x8000000
VM_MIXEDMAP: Final = 0x10000000
VM_HUGEPAGE: Final = 0x20000000
VM_NOHUGEPAGE: Final = 0x40000000

#: flags that never merge (``VM_SPECIAL``)
VM_SPECIAL: Final = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP
#: the permission bits mprotect sets (``VM_ACCESS_FLAGS``)
VM_ACCESS_FLAGS: Final = VM_READ | VM_WRITE | VM_EXEC
#: the ``VM_MAY*`` bits ``do_mmap`` gives every mapping
VM_MAY_FLAGS: Final = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC
#: x86's ``VM_DATA_DEFAULT_FLAGS``: a heap's flags before ``VM_ACCOUNT``
VM_DATA_DEFAULT_FLAGS: Final = VM_READ | VM_WRITE | VM_MAY_FLAGS
#: ``VM_STACK_FLAGS``: what a process's stack carries
VM_STACK_FLAGS: Final = VM_GROWSDOWN | VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT

_FLAG_NAMES: Final = {
    VM_READ: "READ", VM_WRITE: "WRITE", VM_EXEC: "EXEC", VM_SHARED: "SHARED",
    VM_MAYREAD: "MAYREAD", VM_MAYWRITE: "MAYWRITE", VM_MAYEXEC: "MAYEXEC",
    VM_MAYSHARE: "MAYSHARE", VM_GROWSDOWN: "GROWSDOWN", VM_PFNMAP: "PFNMAP",
    VM_LOCKED: "LOCKED", VM_IO: "IO", VM_DONTCOPY: "DONTCOPY", VM_DONTEXPAND: "DONTEXPAND",
    VM_LOCKONFAULT: "LOCKONFAULT", VM_ACCOUNT: "ACCOUNT", VM_NORESERVE: "NORESERVE",
    VM_HUGETLB: "HUGETLB", VM_WIPEONFORK: "WIPEONFORK", VM_DONTDUMP: "DONTDUMP",
    VM_SOFTDIRTY: "SOFTDIRTY", VM_MIXEDMAP: "MIXEDMAP", VM_HUGEPAGE: "HUGEPAGE",
    VM_NOHUGEPAGE: "NOHUGEPAGE",
}


def flag_names(flags: int) -> list[str]:
    """The names of the ``VM_*`` bits set in ``flags``, lowest bit first; bits
    without a name show as hex.  O(number of bits).

    >>> flag_names(VM_READ | VM_WRITE | VM_ACCOUNT)
    ['READ', 'WRITE', 'ACCOUNT']
    """
    names = [name for bit, name in _FLAG_NAMES.items() if flags & bit]
    rest = flags & ~sum(_FLAG_NAMES)
    return names + ([f"{rest:#x}"] if rest else [])


def page_align(length: int) -> int:
    """``PAGE_ALIGN``: ``length`` rounded up to a multiple of :data:`PAGE_SIZE`.

    >>> page_align(1), page_align(4096), page_align(4097)
    (4096, 4096, 8192)
    """
    return (length + PAGE_SIZE - 1) & -PAGE_SIZE


def pages(length: int) -> int:
    """``PHYS_PFN``: how many pages ``length`` bytes are (rounded down).

    >>> pages(0x3000)
    3
    """
    return length >> PAGE_SHIFT


@dataclass(frozen=True, eq=False)
class MappedFile:
    """An open file that VMAs map.  As with the kernel's ``struct file``,
    identity matters: two VMAs merge only if they map the *same* object, not
    merely the same path.  ``path`` is the name ``/proc/PID/maps`` prints
    (``/usr/lib/libc.so.6``, ``/dev/zero (deleted)``); ``major``, ``minor``
    and ``inode`` are the device and inode numbers it prints.

    >>> f = MappedFile("/usr/lib/libc.so.6", 0xfe, 0, 339380); f
    MappedFile('/usr/lib/libc.so.6', fe:00 339380)
    """

    path: str
    major: int = 0
    minor: int = 0
    inode: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path or "\n" in self.path:
            raise InvalidArgumentError(f"a mapped file's path must be a non-empty str "
                                       f"without newlines, got {self.path!r}")
        for name in ("major", "minor", "inode"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgumentError(f"a mapped file's {name} must be an int >= 0, "
                                           f"got {value!r}")

    def __repr__(self) -> str:
        return f"MappedFile({self.path!r}, {self.major:02x}:{self.minor:02x} {self.inode})"


class VMA:
    """One virtual memory area, ``[start, end)``: the kernel's
    ``vm_area_struct`` as far as the tree and ``/proc/PID/maps`` see it.

    ``flags`` are ``VM_*`` bits; ``pgoff`` is the offset in pages of
    ``start`` into ``file`` (for private anonymous memory, ``start >> 12`` at
    creation, as in the kernel, so that neighbours created apart still merge);
    ``name`` is an anonymous area's name as printed (``[anon:NAME]``) or a
    special mapping's (``[vdso]``, ``[vvar]``).  The address space changes a
    VMA in place, as the kernel does (a split shrinks it, a merge grows it), so
    the attributes are read-only to users.

    >>> v = VMA(0x7000, 0x9000, VM_READ | VM_MAYREAD, pgoff=2,
    ...         file=MappedFile("/bin/true", 0xfe, 0, 7))
    >>> v.start, v.end, v.offset, v.perms
    (28672, 36864, 8192, 'r--p')
    """

    __slots__ = ("_start", "_end", "_flags", "_pgoff", "_file", "_name")

    def __init__(self, start: int, end: int, flags: int, pgoff: int | None = None,
                 file: MappedFile | None = None, name: str | None = None) -> None:
        self._start = start
        self._end = end
        self._flags = flags
        self._pgoff = pages(start) if pgoff is None else pgoff
        self._file = file
        self._name = name

    @property
    def start(self) -> int:
        """First address (``vm_start``)."""
        return self._start

    @property
    def end(self) -> int:
        """One past the last address (``vm_end``)."""
        return self._end

    @property
    def flags(self) -> int:
        """``VM_*`` bits (``vm_flags``)."""
        return self._flags

    @property
    def pgoff(self) -> int:
        """Page offset of ``start`` into the file (``vm_pgoff``)."""
        return self._pgoff

    @property
    def file(self) -> MappedFile | None:
        """The mapped file, or None (anonymous memory)."""
        return self._file

    @property
    def name(self) -> str | None:
        """``[anon:NAME]`` or a special mapping's name, or None."""
        return self._name

    @property
    def length(self) -> int:
        """``end - start``, in bytes."""
        return self._end - self._start

    @property
    def pages(self) -> int:
        """The number of pages the area spans (``vma_pages``)."""
        return pages(self._end - self._start)

    @property
    def offset(self) -> int:
        """The file offset ``/proc/PID/maps`` prints: ``pgoff << 12`` for a file
        mapping, 0 for anonymous memory."""
        return self._pgoff << PAGE_SHIFT if self._file is not None else 0

    @property
    def is_special(self) -> bool:
        """True for a special mapping (``[vdso]``, ``[vvar]``...): never
        merged, never split (the kernel's ``special_mapping_split`` refuses)."""
        return self._name is not None and not self._name.startswith("[anon:")

    @property
    def perms(self) -> str:
        """The ``rwxp`` column of ``/proc/PID/maps``; ``s`` when ``VM_MAYSHARE``."""
        f = self._flags
        return ("r" if f & VM_READ else "-") + ("w" if f & VM_WRITE else "-") + \
            ("x" if f & VM_EXEC else "-") + ("s" if f & VM_MAYSHARE else "p")

    def copy(self) -> VMA:
        """A new VMA with the same fields (``vm_area_dup``)."""
        return VMA(self._start, self._end, self._flags, self._pgoff, self._file, self._name)

    def __str__(self) -> str:
        """``start-end perms`` and the file or name, in hex as in ``/proc/PID/maps``."""
        label = self._file.path if self._file is not None else self._name
        return f"{self._start:x}-{self._end:x} {self.perms}" + (f" {label}" if label else "")

    def __repr__(self) -> str:
        label = self._file.path if self._file is not None else self._name
        return (f"VMA({self._start:#x}-{self._end:#x} {self.perms}"
                + (f" {label}" if label else "") + ")")

    # -- changes, made only by the address space ----------------------------------------------
    def _set_range(self, start: int, end: int, pgoff: int) -> None:
        """``vma_set_range``."""
        self._start, self._end, self._pgoff = start, end, pgoff

    def _set_flags(self, flags: int) -> None:
        """``vm_flags_reset``."""
        self._flags = flags


def vm_start_gap(vma: VMA, guard: int) -> int:
    """``vm_start_gap``: where the area's guard gap begins: ``start - guard``
    for a ``VM_GROWSDOWN`` area (a stack), clamped at 0; else ``start``.

    >>> vm_start_gap(VMA(0x800000, 0x900000, VM_GROWSDOWN), 0x100000)
    7340032
    """
    if vma.flags & VM_GROWSDOWN:
        return max(vma.start - guard, 0)
    return vma.start


def mergeable(vma: VMA, flags: int, file: MappedFile | None, name: str | None) -> bool:
    """``is_mergeable_vma``: ``vma`` has ``flags`` (``VM_SOFTDIRTY`` aside),
    maps the same file object and has the same name."""
    return not ((vma.flags ^ flags) & ~VM_SOFTDIRTY) and vma.file is file and vma.name == name


def can_merge_after(prev: VMA, flags: int, file: MappedFile | None, name: str | None,
                    pgoff: int) -> bool:
    """``can_vma_merge_after``: an area with these fields, starting at page
    ``pgoff`` of its file, may extend ``prev`` upwards."""
    return mergeable(prev, flags, file, name) and prev.pgoff + prev.pages == pgoff


def can_merge_before(nxt: VMA, flags: int, file: MappedFile | None, name: str | None,
                     pgoff: int, npages: int) -> bool:
    """``can_vma_merge_before``: an area of ``npages`` pages starting at page
    ``pgoff`` may extend ``nxt`` downwards."""
    return mergeable(nxt, flags, file, name) and nxt.pgoff == pgoff + npages
