"""Address spaces: a process's virtual memory areas on a maple tree.

:class:`AddressSpace` is the part of Linux's ``struct mm_struct`` that lives on
the maple tree (``mm->mm_mt``): every VMA is stored over
``[vm_start, vm_end - 1]`` in an allocation tree with the kernel's flags
(``MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU``), so that
the largest free gap under every node is known and ``mmap`` finds room with
``empty_area_rev``.  The calls follow Linux 6.12 (``mm/mmap.c``,
``mm/vma.c``, ``mm/mprotect.c``, ``kernel/fork.c``) for x86_64 with 4 KiB
pages, and write the tree with the same stores in the same order, so the tree
has the shape the kernel's would have:

* :meth:`~AddressSpace.mmap`: ``do_mmap`` + ``get_unmapped_area`` (top-down
  from ``mmap_base``, the stack guard gap kept, bottom-up as the fallback) +
  ``mmap_region`` (``MAP_FIXED`` replaces what was there; the new area merges
  with a compatible neighbour as ``vma_merge_new_range`` does);
* :meth:`~AddressSpace.munmap`: ``do_vmi_munmap`` (edge splits, one NULL store);
* :meth:`~AddressSpace.mprotect`: ``do_mprotect_pkey`` + ``mprotect_fixup``
  (merge with a neighbour, else split);
* :meth:`~AddressSpace.brk`: the ``brk`` system call;
* :meth:`~AddressSpace.fork`: ``dup_mmap``, built on :meth:`MapleTree.fork`.

Errors are :class:`~maple_tree.MapleError` subclasses carrying the kernel's
errno: ``InvalidArgumentError`` (EINVAL), ``OutOfMemoryError`` (ENOMEM),
``EntryExistsError`` (EEXIST), :class:`AccessDeniedError` (EACCES) and
:class:`NotPermittedError` (EPERM).  Every check runs before the first change,
so a call that raises leaves the address space as it was.

What is not modelled: page contents and faults (so no ``anon_vma``: merging
depends on flags, file, offset and name only), resource limits other than
``max_map_count``, THP alignment, memory policies, sealing and ``mremap``.

>>> from maple_tree.vma import VM_READ, VM_WRITE
>>> mm = AddressSpace()
>>> a = mm.mmap(0x3000, VM_READ | VM_WRITE); hex(a)
'0x7ffff7ffc000'
>>> b = mm.mmap(0x1000, VM_READ | VM_WRITE); hex(b), len(mm)   # merged into one VMA
('0x7ffff7ffb000', 1)
>>> mm.munmap(a, 0x1000); [str(v) for v in mm]
['7ffff7ffb000-7ffff7ffc000 rw-p', '7ffff7ffd000-7ffff7fff000 rw-p']
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from importlib import resources
from typing import Final

from . import (
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_LOCK_EXTERN,
    MT_FLAGS_USE_RCU,
    EntryExistsError,
    InvalidArgumentError,
    MapleError,
    MapleTree,
    MaState,
    OutOfMemoryError,
    TreeCorruptError,
)
from .procmaps import MapsLine, format_maps, parse_maps
from .vma import (
    PAGE_SIZE,
    VM_ACCESS_FLAGS,
    VM_ACCOUNT,
    VM_DATA_DEFAULT_FLAGS,
    VM_DONTCOPY,
    VM_DONTDUMP,
    VM_DONTEXPAND,
    VM_EXEC,
    VM_GROWSDOWN,
    VM_HUGEPAGE,
    VM_HUGETLB,
    VM_LOCKED,
    VM_LOCKONFAULT,
    VM_MAY_FLAGS,
    VM_MAYSHARE,
    VM_NOHUGEPAGE,
    VM_NORESERVE,
    VM_READ,
    VM_SHARED,
    VM_SPECIAL,
    VM_STACK_FLAGS,
    VM_WIPEONFORK,
    VM_WRITE,
    VMA,
    MappedFile,
    can_merge_after,
    can_merge_before,
    page_align,
    pages,
    vm_start_gap,
)

__all__ = ["AddressSpace", "AccessDeniedError", "NotPermittedError", "TASK_SIZE",
           "STACK_GUARD_GAP", "MMAP_MIN_ADDR", "MAX_MAP_COUNT", "MM_MT_FLAGS",
           "MMAP_FLAGS", "default_mmap_base", "VMA", "MappedFile"]

#: x86_64's ``TASK_SIZE`` with 4-level paging: ``2**47`` less the top page,
#: which the kernel keeps unmapped
TASK_SIZE: Final = (1 << 47) - PAGE_SIZE
#: ``stack_guard_gap``: 256 pages kept free below a stack
STACK_GUARD_GAP: Final = 256 << 12
#: the usual ``vm.mmap_min_addr`` on x86
MMAP_MIN_ADDR: Final = 65536
#: ``vm.max_map_count``'s default
MAX_MAP_COUNT: Final = 65530
#: the flags of a process's VMA tree (``MM_MT_FLAGS``)
MM_MT_FLAGS: Final = MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU
#: the ``VM_*`` bits :meth:`AddressSpace.mmap` accepts (the rest it derives)
MMAP_FLAGS: Final = (VM_ACCESS_FLAGS | VM_SHARED | VM_GROWSDOWN | VM_LOCKED | VM_DONTCOPY
                     | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP | VM_HUGEPAGE | VM_NOHUGEPAGE)
#: the maps file :meth:`AddressSpace.example` loads (package data)
EXAMPLE_MAPS: Final = "python.maps"
#: where a small program's heap starts without ASLR (just past its bss)
DEFAULT_START_BRK: Final = 0x555555559000
_RLIMIT_STACK: Final = 8 << 20
_EACCES: Final = 13
_EPERM: Final = 1


class AccessDeniedError(MapleError, PermissionError):
    """The mapping does not allow the requested access (EACCES): ``mprotect``
    asked for a permission whose ``VM_MAY*`` bit the area lacks."""

    errno = _EACCES


class NotPermittedError(MapleError, PermissionError):
    """The address is reserved (EPERM): a mapping below ``mmap_min_addr``."""

    errno = _EPERM


def default_mmap_base(task_size: int = TASK_SIZE, stack_limit: int = _RLIMIT_STACK,
                      guard: int = STACK_GUARD_GAP) -> int:
    """x86's ``mmap_base()`` without address randomisation: the stack's
    limit and guard gap below ``task_size``, the gap clamped to
    ``[128 MiB, task_size / 6 * 5]``.  O(1).

    >>> hex(default_mmap_base())
    '0x7ffff7fff000'
    """
    gap = min(max(stack_limit + guard, 128 << 20), task_size // 6 * 5)
    return page_align(task_size - gap)


def _int_arg(name: str, value: object) -> int:
    """``value`` if it is an int >= 0 (not a bool); InvalidArgumentError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidArgumentError(f"{name} must be an int >= 0, got {value!r}")
    return value


class AddressSpace:
    """A process's address space: VMAs on an allocation maple tree.

    ``task_size`` is the end of user memory (x86_64: ``2**47 - 4096``);
    ``mmap_base`` is where top-down ``mmap`` searches start (default: the
    kernel's, without randomisation, 128 MiB below ``task_size``);
    ``start_brk`` is where the heap begins (default ``0x555555559000``, a
    small program's without randomisation, or a quarter of a small
    ``task_size``).  ``tree`` is the maple tree
    itself (read it, do not write it).  Iterating yields the VMAs in address
    order; ``len()`` is their number (``map_count``).

    >>> from maple_tree.vma import VM_READ
    >>> mm = AddressSpace(); hex(mm.mmap(4096, VM_READ)), len(mm), mm.tree.height
    ('0x7ffff7ffe000', 1, 1)
    """

    def __init__(self, task_size: int = TASK_SIZE, mmap_base: int | None = None, *,
                 start_brk: int | None = None, mmap_min_addr: int = MMAP_MIN_ADDR,
                 stack_guard_gap: int = STACK_GUARD_GAP,
                 max_map_count: int = MAX_MAP_COUNT) -> None:
        task_size = _int_arg("task_size", task_size)
        if not PAGE_SIZE < task_size < 1 << 64 or task_size % PAGE_SIZE:
            raise InvalidArgumentError(f"task_size must be a page multiple in (4096, 2**64), got {task_size:#x}")
        base = default_mmap_base(task_size) if mmap_base is None else \
            _int_arg("mmap_base", mmap_base)
        if start_brk is None:
            start_brk = DEFAULT_START_BRK if DEFAULT_START_BRK < task_size - (1 << 40) else \
                _page_floor(task_size // 4)
        for name, value in (("mmap_base", base), ("start_brk", start_brk)):
            if _int_arg(name, value) % PAGE_SIZE or value > task_size:
                raise InvalidArgumentError(f"{name} must be page-aligned and at most task_size, got {value:#x}")
        self.tree = MapleTree(MM_MT_FLAGS)
        self.task_size = task_size
        self.mmap_base = base
        self.mmap_legacy_base = page_align(task_size // 3)
        self.mmap_min_addr = _int_arg("mmap_min_addr", mmap_min_addr)
        self.stack_guard_gap = _int_arg("stack_guard_gap", stack_guard_gap)
        self.max_map_count = _int_arg("max_map_count", max_map_count)
        self.start_brk = start_brk
        self._brk = start_brk
        self.start_stack: int | None = None
        self._map_count = 0
        self._gate: list[VMA] = []
        self._shmem_inodes = 0

    # -- reading ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[VMA]:
        """The VMAs of user memory in address order (``for_each_vma``); areas
        above ``task_size`` are in :attr:`gate_areas`.  O(1) amortised per VMA."""
        for _first, _last, vma in self.tree:
            yield vma

    def __len__(self) -> int:
        """The number of VMAs (``mm->map_count``).  O(1)."""
        return self._map_count

    @property
    def map_count(self) -> int:
        """``mm->map_count``: how many VMAs user memory has."""
        return self._map_count

    @property
    def current_brk(self) -> int:
        """``mm->brk``: the program break (not necessarily page-aligned)."""
        return self._brk

    @property
    def gate_areas(self) -> tuple[VMA, ...]:
        """Areas above ``task_size`` (x86_64's ``[vsyscall]``): printed by
        :meth:`to_proc_maps`, not in the tree, not user memory."""
        return tuple(self._gate)

    def find_vma(self, addr: int) -> VMA | None:
        """``find_vma``: the first VMA ending above ``addr`` (the one holding
        it, else the next), or None.  O(log n).

        >>> from maple_tree.vma import VM_READ
        >>> mm = AddressSpace(); a = mm.mmap(4096, VM_READ); mm.find_vma(0) is mm.find_vma(a)
        True
        """
        found = self.tree.find(_int_arg("addr", addr))
        return None if found is None else found[2]

    def vma_at(self, addr: int) -> VMA | None:
        """The VMA holding ``addr``, or None.  O(log n)."""
        vma = self.tree.load(_int_arg("addr", addr))
        return vma if isinstance(vma, VMA) else None

    def name_of(self, vma: VMA) -> str:
        """The name ``/proc/PID/maps`` prints for ``vma`` (``get_vma_name``):
        the file's path, a special mapping's name, ``[heap]``, ``[stack]``,
        ``[anon:NAME]``, or ``""``.  O(1)."""
        if vma.file is not None:
            return vma.file.path
        if vma.is_special and vma.name is not None:
            return vma.name
        if vma.start < self._brk and vma.end > self.start_brk:
            return "[heap]"
        if self.start_stack is not None and vma.start <= self.start_stack <= vma.end:
            return "[stack]"
        return vma.name or ""

    def kind_of(self, vma: VMA) -> str:
        """What ``vma`` is, for pictures and summaries: ``file``, ``heap``,
        ``stack``, ``special`` (``[vdso]`` and the like) or ``anon``.  O(1)."""
        if vma.file is not None:
            return "file"
        name = self.name_of(vma)
        if name in ("[heap]", "[stack]"):
            return name[1:-1]
        return "special" if vma.is_special else "anon"

    def svg(self, title: str | None = None, max_nodes_per_level: int | None = None) -> str:
        """A picture of the tree (:meth:`MapleTree.svg`) with every VMA's
        cell coloured by :meth:`kind_of`: file, anon, heap, stack, special.
        O(n).

        >>> AddressSpace.example().svg().startswith("<svg")
        True
        """
        def kind(vma: object) -> str | None:
            return self.kind_of(vma) if isinstance(vma, VMA) else None
        if max_nodes_per_level is None:
            return self.tree.svg(title=title, kind=kind)
        return self.tree.svg(title=title, kind=kind, max_nodes_per_level=max_nodes_per_level)

    def gaps(self) -> list[tuple[int, int]]:
        """The free ranges ``(start, end)`` of user memory from
        ``mmap_min_addr`` to ``task_size``, in address order.  O(n).

        >>> AddressSpace(task_size=1 << 20, mmap_base=1 << 19).gaps()
        [(65536, 1048576)]
        """
        holes, cursor = [], self.mmap_min_addr
        for vma in self:
            if vma.start > cursor:
                holes.append((cursor, vma.start))
            cursor = max(cursor, vma.end)
        if cursor < self.task_size:
            holes.append((cursor, self.task_size))
        return holes

    def validate(self) -> None:
        """Check the tree (:meth:`MapleTree.validate`) and the VMAs: each
        stored over exactly ``[start, end - 1]``, page-aligned, non-empty,
        below ``task_size``, and ``map_count`` equal to their number.  Raises
        :class:`~maple_tree.TreeCorruptError` naming the first problem.  O(n)."""
        self.tree.validate()
        count = 0
        for first, last, vma in self.tree:
            count += 1
            if not isinstance(vma, VMA) or (vma.start, vma.end - 1) != (first, last):
                raise TreeCorruptError(f"range [{first:#x}, {last:#x}] holds {vma!r}")
            if vma.start % PAGE_SIZE or vma.end % PAGE_SIZE or vma.end > self.task_size:
                raise TreeCorruptError(f"{vma!r} is not page-aligned user memory")
        if count != self._map_count:
            raise TreeCorruptError(f"map_count is {self._map_count}, the tree holds {count}")

    # -- mmap ---------------------------------------------------------------------------------
    def mmap(self, length: int, flags: int, addr: int | None = None, fixed: bool = False, *,
             file: MappedFile | None = None, offset: int = 0, name: str | None = None,
             noreplace: bool = False) -> int:
        """``mmap``: map ``length`` bytes (rounded up to pages) with the
        ``VM_*`` bits of ``flags`` (any of :data:`MMAP_FLAGS`: ``VM_READ``,
        ``VM_WRITE``, ``VM_EXEC``, ``VM_SHARED``, ``VM_GROWSDOWN``,
        ``VM_DONTCOPY``...); return the address.

        Without ``fixed`` the address is ``addr`` if that hint is free (with
        the guard gap below a stack), else the highest free range under
        ``mmap_base`` (``empty_area_rev``) that keeps 1 MiB below any stack,
        else the lowest above ``task_size / 3``.  With ``fixed`` it is
        ``addr``, and whatever was mapped there is unmapped first
        (``MAP_FIXED``); with ``noreplace`` too, an overlap raises
        EntryExistsError (``MAP_FIXED_NOREPLACE``).  ``file`` and ``offset``
        (page-aligned) map a file; shared anonymous memory gets a new
        ``/dev/zero (deleted)`` file, as in the kernel.  ``name`` names
        anonymous memory, as ``prctl(PR_SET_VMA_ANON_NAME)`` does (maps shows
        ``[anon:NAME]``).  The new area merges with an
        adjacent VMA of equal flags, file, name and contiguous offset.

        Raises InvalidArgumentError (EINVAL: zero length, unaligned ``fixed``
        address or offset, unknown flags), OutOfMemoryError (ENOMEM: no room,
        too long, too many VMAs), EntryExistsError (EEXIST) or
        :class:`NotPermittedError` (EPERM: below ``mmap_min_addr``).  O(log n)
        plus the areas replaced.

        >>> from maple_tree.vma import VM_READ, VM_WRITE
        >>> mm = AddressSpace()
        >>> hex(mm.mmap(0x2000, VM_READ, addr=0x10000, fixed=True))
        '0x10000'
        >>> mm.mmap(0x1000, VM_READ, addr=0x11000, fixed=True, noreplace=True)
        Traceback (most recent call last):
          ...
        maple_tree.errors.EntryExistsError: MAP_FIXED_NOREPLACE: [0x11000, 0x12000) is in use
        """
        length, flags, offset = self._mmap_args(length, flags, addr, fixed, file, offset, name)
        fixed = fixed or noreplace
        hint = 0 if addr is None else addr if fixed else self._round_hint(addr)
        length = page_align(length)
        if length >= 1 << 64:
            raise OutOfMemoryError(f"length {length:#x} is too long")
        if self._map_count > self.max_map_count:
            raise OutOfMemoryError(f"{self._map_count} VMAs: more than max_map_count")
        vm_flags = self._mmap_vm_flags(flags, file)
        start = self.get_unmapped_area(length, hint, fixed, vm_flags)
        if noreplace and self._first_in(start, start + length) is not None:
            raise EntryExistsError(f"MAP_FIXED_NOREPLACE: [{start:#x}, {start + length:#x}) "
                                   "is in use")
        if vm_flags & VM_SHARED and file is None:
            file = self._shmem_file()
            offset = 0
        pgoff = offset >> 12 if file is not None else start >> 12
        label = None if name is None else f"[anon:{name}]"
        self._mmap_region(start, start + length, vm_flags, pgoff, file, label)
        return start

    def _mmap_args(self, length: int, flags: int, addr: int | None, fixed: bool,
                   file: MappedFile | None, offset: int, name: str | None) -> tuple[int, int, int]:
        """Check :meth:`mmap`'s arguments (the ones that need no tree walk)."""
        length, flags, offset = (_int_arg("length", length), _int_arg("flags", flags),
                                 _int_arg("offset", offset))
        if addr is not None:
            _int_arg("addr", addr)
        if length == 0:
            raise InvalidArgumentError("mmap of length 0")
        if flags & ~MMAP_FLAGS:
            raise InvalidArgumentError(f"flags {flags & ~MMAP_FLAGS:#x} are not mmap flags "
                          f"(allowed: {MMAP_FLAGS:#x})")
        if offset % PAGE_SIZE:
            raise InvalidArgumentError(f"offset {offset:#x} is not page-aligned")
        if fixed and addr is None:
            raise InvalidArgumentError("a fixed mapping needs addr")
        if file is not None and not isinstance(file, MappedFile):
            raise InvalidArgumentError(f"file must be a MappedFile or None, got {file!r}")
        if name is not None and (file is not None or not isinstance(name, str) or "\n" in name):
            raise InvalidArgumentError(f"name must be a one-line str, for anonymous memory; got {name!r}")
        if file is not None and offset + length >= 1 << 64:
            raise OutOfMemoryError(f"offset + length overflows ({offset:#x} + {length:#x})",
                                   errno=75)  # EOVERFLOW
        return length, flags, offset

    def _round_hint(self, addr: int) -> int:
        """``round_hint_to_min``: the hint page-masked, and a nonzero hint
        below ``mmap_min_addr`` raised to it."""
        addr &= -PAGE_SIZE
        if addr and addr < self.mmap_min_addr:
            return page_align(self.mmap_min_addr)
        return addr

    @staticmethod
    def _mmap_vm_flags(flags: int, file: MappedFile | None) -> int:
        """``do_mmap`` + ``mmap_region``'s flags: the ``VM_MAY*`` bits, shared
        as ``VM_SHARED | VM_MAYSHARE``, and ``VM_ACCOUNT`` for private writable
        memory (``accountable_mapping``)."""
        vm_flags = flags | VM_MAY_FLAGS
        if flags & VM_SHARED:
            vm_flags |= VM_MAYSHARE
        if vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE:
            vm_flags |= VM_ACCOUNT
        return vm_flags

    def _shmem_file(self) -> MappedFile:
        """The file ``shmem_zero_setup`` gives shared anonymous memory."""
        self._shmem_inodes += 1
        return MappedFile("/dev/zero (deleted)", 0, 1, self._shmem_inodes)

    def get_unmapped_area(self, length: int, addr: int = 0, fixed: bool = False,
                          flags: int = 0) -> int:
        """``__get_unmapped_area``: where ``mmap`` would place ``length`` bytes
        (page multiple) given the hint ``addr``, without mapping them.  Raises
        as :meth:`mmap`.  O(log n) per search round.

        >>> mm = AddressSpace(); hex(mm.get_unmapped_area(0x5000))
        '0x7ffff7ffa000'
        """
        length, addr = _int_arg("length", length), _int_arg("addr", addr)
        if length > self.task_size:
            raise OutOfMemoryError(f"length {length:#x} exceeds task_size")
        start = addr if fixed else self._topdown_area(length, addr)
        if start > self.task_size - length:
            raise OutOfMemoryError(f"[{start:#x}, {start + length:#x}) ends above task_size")
        if start % PAGE_SIZE:
            raise InvalidArgumentError(f"address {start:#x} is not page-aligned")
        if start < self.mmap_min_addr:
            raise NotPermittedError(f"address {start:#x} is below mmap_min_addr "
                                    f"({self.mmap_min_addr:#x})")
        return start

    def _topdown_area(self, length: int, hint: int) -> int:
        """x86's ``arch_get_unmapped_area_topdown``: the hint if it is free,
        else top-down under ``mmap_base``, else bottom-up above the legacy base."""
        hint &= -PAGE_SIZE
        if hint and hint <= self.task_size - length:
            vma = self.find_vma(hint)
            if vma is None or hint + length <= vm_start_gap(vma, self.stack_guard_gap):
                return hint
        try:
            return self._unmapped_area_topdown(length, max(PAGE_SIZE, self.mmap_min_addr),
                                               self.mmap_base)
        except OutOfMemoryError:
            return self._unmapped_area(length, max(self.mmap_legacy_base, self.mmap_min_addr),
                                       self.task_size)

    def _unmapped_area_topdown(self, length: int, low: int, high: int) -> int:
        """``unmapped_area_topdown``: the highest free range in ``[low, high)``
        that ends at least the guard gap below a stack above it."""
        while True:
            gap_first, gap_last = self._empty_area(low, high, length, rev=True)
            gap = gap_last + 1 - length
            above = self.find_vma(gap_last + 1)
            if above is not None and above.flags & VM_GROWSDOWN:
                if vm_start_gap(above, self.stack_guard_gap) <= gap_last:
                    high = vm_start_gap(above, self.stack_guard_gap)
                    continue
            else:
                below = self._vma_below(gap_first)
                if below is not None and below.end > gap:
                    high = below.start
                    continue
            return gap

    def _unmapped_area(self, length: int, low: int, high: int) -> int:
        """``unmapped_area``: the lowest free range in ``[low, high)`` whose end
        keeps the guard gap below a stack above it."""
        while True:
            gap, gap_last = self._empty_area(low, high, length, rev=False)
            above = self.find_vma(gap_last + 1)
            if above is not None and above.flags & VM_GROWSDOWN:
                if vm_start_gap(above, self.stack_guard_gap) < gap + length - 1:
                    low = above.end
                    continue
            else:
                below = self._vma_below(gap)
                if below is not None and below.end > gap:
                    low = below.end
                    continue
            return gap

    def _empty_area(self, low: int, high: int, length: int, rev: bool) -> tuple[int, int]:
        """``vma_iter_area_highest``/``_lowest``: a free run of ``length`` in
        ``[low, high - 1]`` (``mas_empty_area_rev``/``mas_empty_area``), as
        ``(first, last)``; OutOfMemoryError when there is none."""
        mas = MaState(self.tree)
        try:
            if rev:
                mas.empty_area_rev(low, high - 1, length)
            else:
                mas.empty_area(low, high - 1, length)
        except MapleError:
            raise OutOfMemoryError(f"no free range of {length:#x} bytes in [{low:#x}, {high:#x})") from None
        return mas.index, mas.last

    def _mmap_region(self, start: int, end: int, flags: int, pgoff: int,
                     file: MappedFile | None, name: str | None) -> None:
        """``__mmap_region``: split and detach what ``[start, end)`` covers
        (left in the tree), then one store: a neighbour grown over the range,
        or the new VMA."""
        replaced = self._gather(start, end) if self._first_in(start, end) else []
        prev, nxt = self._vma_below(start), self._first_in(end, self.task_size)
        self._map_count -= len(replaced)
        if self._merge_new_range(prev, nxt, start, end, flags, pgoff, file, name) is None:
            self._store(VMA(start, end, flags, pgoff, file, name))
            self._map_count += 1

    # -- merging and splitting ----------------------------------------------------------------
    def _merge_new_range(self, prev: VMA | None, nxt: VMA | None, start: int, end: int,
                         flags: int, pgoff: int, file: MappedFile | None,
                         name: str | None) -> VMA | None:
        """``vma_merge_new_range``: grow ``prev`` up and/or ``nxt`` down over
        the new range ``[start, end)`` if they may merge; one store.  Returns
        the grown VMA, or None (no merge)."""
        if flags & VM_SPECIAL:
            return None
        npages = pages(end - start)
        left = prev is not None and prev.end == start and \
            can_merge_after(prev, flags, file, name, pgoff)
        right = nxt is not None and nxt.start == end and \
            can_merge_before(nxt, flags, file, name, pgoff, npages)
        if left and prev is not None:
            top = nxt.end if right and nxt is not None else end
            prev._set_range(prev.start, top, prev.pgoff)
            self._store(prev)
            self._map_count -= 1 if right else 0
            return prev
        if right and nxt is not None:
            nxt._set_range(start, nxt.end, nxt.pgoff - npages)
            self._store(nxt)
            return nxt
        return None

    def _merge_existing_range(self, vma: VMA, prev: VMA | None, start: int, end: int,
                              flags: int) -> VMA | None:
        """``vma_merge_existing_range``: ``[start, end)`` of ``vma`` takes
        ``flags``; if it touches an edge of ``vma`` and the neighbour there
        may merge, grow the neighbour over it (one store).  Returns the VMA
        that now holds the range, or None (no merge: the caller splits)."""
        left, right = start == vma.start, end == vma.end
        if flags & VM_SPECIAL or not (left or right):
            return None
        pgoff = vma.pgoff + pages(start - vma.start)
        merge_left = left and prev is not None and prev is not vma and prev.end == start \
            and can_merge_after(prev, flags, vma.file, vma.name, pgoff)
        nxt = self._first_in(vma.end, self.task_size) if right else None
        merge_right = right and nxt is not None and nxt.start == end and \
            can_merge_before(nxt, flags, vma.file, vma.name, pgoff, pages(end - start))
        if merge_left and prev is not None:
            return self._merge_left(vma, prev, end, nxt if merge_right else None)
        if merge_right and nxt is not None:
            return self._merge_right(vma, nxt, start)
        return None

    def _merge_left(self, vma: VMA, prev: VMA, end: int, nxt: VMA | None) -> VMA:
        """``prev`` grows up to ``end`` (or over ``nxt`` too); the rest of
        ``vma``, if any, starts at ``end``."""
        top = nxt.end if nxt is not None else end
        prev._set_range(prev.start, top, prev.pgoff)
        self._store(prev)
        if end < vma.end and nxt is None:
            vma._set_range(end, vma.end, vma.pgoff + pages(end - vma.start))
        else:
            self._map_count -= 2 if nxt is not None else 1
        return prev

    def _merge_right(self, vma: VMA, nxt: VMA, start: int) -> VMA:
        """``nxt`` grows down to ``start``; ``vma`` keeps what lies below."""
        nxt._set_range(start, nxt.end, nxt.pgoff - pages(nxt.start - start))
        if start > vma.start:
            vma._set_range(vma.start, start, vma.pgoff)
        else:
            self._map_count -= 1
        self._store(nxt)
        return nxt

    def _split(self, vma: VMA, addr: int, new_below: bool) -> VMA:
        """``__split_vma``: cut ``vma`` at ``addr``; the new VMA (below or
        above ``addr``) is stored over its own range, ``vma`` keeps the rest."""
        new = vma.copy()
        if new_below:
            new._set_range(vma.start, addr, vma.pgoff)
            vma._set_range(addr, vma.end, vma.pgoff + pages(addr - vma.start))
        else:
            new._set_range(addr, vma.end, vma.pgoff + pages(addr - vma.start))
            vma._set_range(vma.start, addr, vma.pgoff)
        self._store(new)
        self._map_count += 1
        return new

    # -- munmap -------------------------------------------------------------------------------
    def munmap(self, addr: int, length: int) -> None:
        """``munmap``: unmap ``[addr, addr + length)`` (length rounded up to
        pages): VMAs partly inside are split, those inside removed, then one
        NULL store clears the range.  Unmapping nothing is not an error.

        Raises InvalidArgumentError (EINVAL: unaligned ``addr``, zero length,
        a range beyond ``task_size`` such as ``[vsyscall]``'s, or cutting a
        special mapping) or OutOfMemoryError (ENOMEM: the split would pass
        ``max_map_count``).  O(log n) plus the areas removed.

        >>> from maple_tree.vma import VM_READ
        >>> mm = AddressSpace(); a = mm.mmap(0x3000, VM_READ)
        >>> mm.munmap(a + 0x1000, 0x1000); len(mm)
        2
        """
        addr, length = _int_arg("addr", addr), _int_arg("length", length)
        end = self._munmap_end(addr, length)
        first = self._first_in(addr, end)
        if first is None:
            return
        if addr > first.start and end < first.end and self._map_count >= self.max_map_count:
            raise OutOfMemoryError(f"splitting {first!r} would pass max_map_count")
        self._check_cuts(addr, end)
        self._unmap(addr, end)

    def _unmap(self, start: int, end: int) -> None:
        """``do_vmi_align_munmap`` once checked: the edge splits, then one
        NULL store over ``[start, end - 1]``."""
        detached = self._gather(start, end)
        self._map_count -= len(detached)
        self.tree.store_range(start, end - 1, None)

    def _munmap_end(self, addr: int, length: int) -> int:
        """``do_vmi_munmap``'s checks; the end of the range to unmap."""
        if addr % PAGE_SIZE:
            raise InvalidArgumentError(f"address {addr:#x} is not page-aligned")
        if addr > self.task_size or length > self.task_size - addr:
            raise InvalidArgumentError(f"[{addr:#x}, +{length:#x}) is not in user memory "
                          f"(task_size {self.task_size:#x})")
        end = addr + page_align(length)
        if end == addr:
            raise InvalidArgumentError("munmap of length 0")
        return end

    def _check_cuts(self, start: int, end: int) -> None:
        """EINVAL if ``start`` or ``end`` falls inside a special mapping,
        which the kernel refuses to split (``special_mapping_split``)."""
        for cut in (start, end):
            vma = self.vma_at(cut) if cut < self.task_size else None
            if vma is not None and vma.start < cut and vma.is_special:
                raise InvalidArgumentError(f"cannot split the special mapping {vma!r} at {cut:#x}")

    def _gather(self, start: int, end: int) -> list[VMA]:
        """``vms_gather_munmap_vmas``: split the VMAs crossing ``start`` and
        ``end`` (one store each) and return those inside ``[start, end)``,
        still in the tree."""
        first = self._first_in(start, end)
        if first is not None and first.start < start:
            self._split(first, start, new_below=True)
        inside = []
        for _lo, _hi, vma in self.tree.items(start, end - 1):
            if vma.end > end:
                self._split(vma, end, new_below=False)
            inside.append(vma)
        return inside

    # -- mprotect -----------------------------------------------------------------------------
    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """``mprotect``: give ``[addr, addr + length)`` the permissions
        ``prot`` (``VM_READ | VM_WRITE | VM_EXEC`` bits).  Each VMA touched
        merges with its neighbour if the new flags allow it, else is split at
        the range's edges; a VMA whose flags do not change is left alone.

        Raises InvalidArgumentError (EINVAL: unaligned ``addr``, other bits in
        ``prot``, cutting a special mapping), OutOfMemoryError (ENOMEM: part
        of the range is unmapped, or the splits would pass
        ``max_map_count``) or :class:`AccessDeniedError` (EACCES: a VMA lacks
        the ``VM_MAY*`` bit of a requested permission).  Unlike the kernel,
        which changes the VMAs before a hole and then fails, every check runs
        first, so a failed call changes nothing.  O(log n) per VMA touched.

        >>> from maple_tree.vma import VM_READ, VM_WRITE
        >>> mm = AddressSpace(); a = mm.mmap(0x3000, VM_READ | VM_WRITE)
        >>> mm.mprotect(a + 0x1000, 0x1000, VM_READ); [v.perms for v in mm]
        ['rw-p', 'r--p', 'rw-p']
        >>> mm.mprotect(a + 0x1000, 0x1000, VM_READ | VM_WRITE); len(mm)
        1
        """
        addr, length, prot = (_int_arg("addr", addr), _int_arg("length", length),
                              _int_arg("prot", prot))
        if prot & ~VM_ACCESS_FLAGS:
            raise InvalidArgumentError(f"prot {prot:#x} has bits other than read, write and exec")
        if addr % PAGE_SIZE:
            raise InvalidArgumentError(f"address {addr:#x} is not page-aligned")
        if length == 0:
            return
        end = addr + page_align(length)
        if end <= addr or end > 1 << 64:
            raise OutOfMemoryError(f"[{addr:#x}, +{length:#x}) wraps around")
        self._check_mprotect(addr, end, prot)
        self._apply_mprotect(addr, end, prot)

    def _check_mprotect(self, start: int, end: int, prot: int) -> None:
        """Every error ``mprotect`` could meet, before any change: a hole,
        a missing ``VM_MAY*`` bit, a special mapping to cut, too many VMAs."""
        covered, splits = start, 0
        for _lo, _hi, vma in self.tree.items(start, end - 1):
            if vma.start > covered:
                break
            newflags = prot | (vma.flags & ~VM_ACCESS_FLAGS)
            if newflags & ~(newflags >> 4) & VM_ACCESS_FLAGS:
                raise AccessDeniedError(f"{vma!r} may not become {_perms(prot)}")
            cuts = (vma.start < start) + (vma.end > end)
            if newflags != vma.flags and cuts:
                if vma.is_special:
                    raise InvalidArgumentError(f"cannot split the special mapping {vma!r}")
                splits += cuts
            covered = vma.end
        if covered < end:
            raise OutOfMemoryError(f"[{covered:#x}, {min(end, self.task_size):#x}) is not mapped")
        if splits and self._map_count + splits > self.max_map_count:
            raise OutOfMemoryError("the splits would pass max_map_count")

    def _apply_mprotect(self, start: int, end: int, prot: int) -> None:
        """``do_mprotect_pkey``'s walk: ``mprotect_fixup`` on each VMA in turn."""
        vma = self._first_in(start, end)
        prev = self._vma_below(start) if vma is not None and vma.start == start else vma
        nstart = start
        while vma is not None:
            newflags = prot | (vma.flags & ~VM_ACCESS_FLAGS)
            prev = self._mprotect_fixup(vma, prev, nstart, min(vma.end, end), newflags)
            nstart = prev.end
            vma = self._first_in(nstart, end) if nstart < end else None

    def _mprotect_fixup(self, vma: VMA, prev: VMA | None, start: int, end: int,
                        newflags: int) -> VMA:
        """``mprotect_fixup``: ``[start, end)`` of ``vma`` gets ``newflags``;
        returns the VMA now holding it (the new ``prev``)."""
        old = vma.flags
        if newflags == old:
            return vma
        if newflags & VM_WRITE:
            if not old & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE):
                newflags |= VM_ACCOUNT
        elif old & VM_ACCOUNT and vma.file is None and not vma.is_special:
            newflags &= ~VM_ACCOUNT   # anonymous, and no anon_vma in this model
        result = self._merge_existing_range(vma, prev, start, end, newflags)
        if result is None:
            if vma.start < start:
                self._split(vma, start, new_below=True)
            if vma.end > end:
                self._split(vma, end, new_below=False)
            result = vma
        result._set_flags(newflags)
        return result

    # -- brk ----------------------------------------------------------------------------------
    def brk(self, new_brk: int) -> int:
        """The ``brk`` system call: move the program break to ``new_brk``
        and return the break, which is the old one if the move failed (brk
        reports no errno).  The heap grows by extending the VMA that ends at
        the old break (one store) or by a new VMA; shrinking unmaps.  It fails
        below ``start_brk``, or when growing would leave less than one free
        page (plus the guard gap below a stack) under the next VMA.  O(log n).

        >>> mm = AddressSpace(); base = mm.current_brk
        >>> mm.brk(base + 0x2100) == base + 0x2100, [str(v) for v in mm]
        (True, ['555555559000-55555555c000 rw-p'])
        >>> mm.brk(base - 1) == base + 0x2100
        True
        """
        new_brk = _int_arg("new_brk", new_brk)
        if new_brk < self.start_brk or new_brk > self.task_size:
            return self._brk
        newbrk, oldbrk = page_align(new_brk), page_align(self._brk)
        if newbrk == oldbrk:
            self._brk = new_brk
        elif new_brk <= self._brk:
            self._shrink_brk(new_brk, newbrk, oldbrk)
        else:
            self._grow_brk(new_brk, newbrk, oldbrk)
        return self._brk

    def _shrink_brk(self, new_brk: int, newbrk: int, oldbrk: int) -> None:
        """Shrink the heap: unmap ``[newbrk, oldbrk)`` if a VMA lies there."""
        heap = self._first_in(newbrk, oldbrk)
        if heap is None:
            return
        if newbrk > heap.start and oldbrk < heap.end and self._map_count >= self.max_map_count:
            return
        try:
            self._check_cuts(newbrk, oldbrk)
        except InvalidArgumentError:
            return
        self._brk = new_brk
        self._unmap(newbrk, oldbrk)

    def _grow_brk(self, new_brk: int, newbrk: int, oldbrk: int) -> None:
        """Grow the heap over ``[oldbrk, newbrk)`` (``do_brk_flags``)."""
        if newbrk > self.task_size or oldbrk < self.mmap_min_addr:
            return
        nxt = self._first_in(oldbrk, min(newbrk + PAGE_SIZE + self.stack_guard_gap,
                                         self.task_size))
        if nxt is not None and newbrk + PAGE_SIZE > vm_start_gap(nxt, self.stack_guard_gap):
            return
        if self._map_count > self.max_map_count:
            return
        flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT
        heap = self._vma_below(oldbrk)
        if heap is not None and heap.end <= self.start_brk:
            heap = None
        if heap is not None and heap.end == oldbrk and \
                can_merge_after(heap, flags, None, None, oldbrk >> 12):
            heap._set_range(heap.start, newbrk, heap.pgoff)
            self._store(heap)
        else:
            self._store(VMA(oldbrk, newbrk, flags))
            self._map_count += 1
        self._brk = new_brk

    # -- fork ---------------------------------------------------------------------------------
    def fork(self) -> AddressSpace:
        """``dup_mmap``: the child's address space.  Its tree is a
        node-for-node copy (:meth:`MapleTree.fork`) whose entries are copies of
        the parent's VMAs, minus ``VM_LOCKED``/``VM_LOCKONFAULT``; a
        ``VM_DONTCOPY`` area becomes a NULL range (one store).  The child
        shares no VMA with the parent; files are shared, as open files are.
        O(n) plus the dropped areas' stores.

        >>> from maple_tree.vma import VM_READ, VM_DONTCOPY
        >>> mm = AddressSpace(); a = mm.mmap(4096, VM_READ); b = mm.mmap(4096, VM_READ | VM_DONTCOPY)
        >>> child = mm.fork(); len(mm), len(child), child.vma_at(a) is mm.vma_at(a)
        (2, 1, False)
        """
        child = AddressSpace(self.task_size, self.mmap_base, start_brk=self.start_brk,
                             mmap_min_addr=self.mmap_min_addr,
                             stack_guard_gap=self.stack_guard_gap,
                             max_map_count=self.max_map_count)
        child.tree = self.tree.fork(_copy_for_child)
        child._map_count = len(child.tree)
        child._brk, child.start_stack = self._brk, self.start_stack
        child._gate = [vma.copy() for vma in self._gate]
        child.mmap_legacy_base = self.mmap_legacy_base
        child._shmem_inodes = self._shmem_inodes
        return child

    # -- /proc/PID/maps -----------------------------------------------------------------------
    @classmethod
    def from_proc_maps(cls, text: str, *, task_size: int = TASK_SIZE,
                       mmap_base: int | None = None) -> AddressSpace:
        """An address space holding the areas of a ``/proc/PID/maps`` text, in
        order (one store each).  ``[heap]`` sets the break, ``[stack]`` the
        stack (``VM_GROWSDOWN``); names in brackets other than ``[anon:...]``
        are special mappings; areas above ``task_size`` (``[vsyscall]``) are
        kept apart (:attr:`gate_areas`).  Lines of one file with the same
        device and inode map one :class:`MappedFile`.  ``mmap_base``
        defaults to the top of the highest area below the stack, where a real
        process's top-down mappings begin.  :meth:`to_proc_maps` gives the
        text back byte for byte.

        Raises InvalidArgumentError naming the line for a malformed line, or
        areas out of order or overlapping.  O(n log n).

        >>> text = ("7f0000000000-7f0000002000 r--p 00000000 fe:00 42"
        ...         + " " * 25 + "/usr/lib/x.so\\n")
        >>> mm = AddressSpace.from_proc_maps(text); mm.to_proc_maps() == text
        True
        """
        lines = parse_maps(text)
        space = cls(task_size, mmap_base, start_brk=0)
        space._load(lines)
        if mmap_base is None:
            space.mmap_base = space._estimated_mmap_base()
        return space

    @classmethod
    def example(cls) -> AddressSpace:
        """The address space of a small Python process on x86_64 Linux, from
        a ``/proc/PID/maps`` file that ships with the package (39 areas, a
        heap, a stack, ``[vdso]``, ``[vvar]`` and ``[vsyscall]``): the same
        on every machine.  O(n log n).

        >>> mm = AddressSpace.example(); len(mm), mm.tree.height
        (38, 2)
        """
        text = resources.files("maple_tree").joinpath("data", EXAMPLE_MAPS).read_text("utf-8")
        return cls.from_proc_maps(text)

    @classmethod
    def from_pid(cls, pid: int | str = "self", **kwargs: int) -> AddressSpace:
        """:meth:`from_proc_maps` of ``/proc/PID/maps`` (``"self"``: this
        process).  Raises OSError if it cannot be read (no such process, no
        permission, no ``/proc``).  O(n log n)."""
        with open(os.path.join("/proc", str(pid), "maps"), encoding="utf-8",
                  errors="surrogateescape") as fh:
            return cls.from_proc_maps(fh.read(), **kwargs)

    def to_proc_maps(self) -> str:
        """The ``/proc/PID/maps`` text of this address space: one line per VMA
        in address order, then the areas above ``task_size``, in the kernel's
        layout (``show_map_vma``).  O(n).

        >>> from maple_tree.vma import VM_READ, VM_WRITE
        >>> mm = AddressSpace(); _ = mm.mmap(0x1000, VM_READ | VM_WRITE, name="x")
        >>> print(mm.to_proc_maps(), end="")
        7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0                          [anon:x]
        """
        rows = [(vma, self.name_of(vma)) for vma in self]
        rows += [(vma, vma.name or "") for vma in self._gate]
        return format_maps(rows)

    def _load(self, lines: list[MapsLine]) -> None:
        """Store the parsed areas and set the break and the stack from them."""
        files: dict[tuple[str, int, int, int], MappedFile] = {}
        heap = [ln for ln in lines if ln.name == "[heap]" and not ln.inode]
        for ln in lines:
            vma = _vma_of(ln, files)
            if ln.start >= self.task_size:
                self._gate.append(vma)
                continue
            if ln.end > self.task_size:
                raise InvalidArgumentError(f"maps line {ln.number}: {ln.start:#x}-{ln.end:#x} crosses "
                              f"task_size {self.task_size:#x}")
            self._store(vma)
            self._map_count += 1
            if ln.name == "[stack]" and not ln.inode:
                self.start_stack = ln.end - 1
        self.start_brk = heap[0].start if heap else self._end_of_first_run()
        self._brk = heap[-1].end if heap else self.start_brk

    def _end_of_first_run(self) -> int:
        """Where the lowest run of adjacent areas (a program and its bss)
        ends: the break of a process that has no heap yet."""
        end = 0
        for vma in self:
            if end and vma.start != end:
                break
            end = vma.end
        return end

    def _estimated_mmap_base(self) -> int:
        """The top of the highest area below the stack (or the default base)."""
        top = 0
        for vma in self:
            if vma.flags & VM_GROWSDOWN:
                break
            top = vma.end
        return top or default_mmap_base(self.task_size)

    # -- tree helpers -------------------------------------------------------------------------
    def _store(self, vma: VMA) -> None:
        """``vma_iter_store``: ``vma`` over ``[start, end - 1]``."""
        self.tree.store_range(vma.start, vma.end - 1, vma)

    def _first_in(self, start: int, end: int) -> VMA | None:
        """``vma_find``: the first VMA meeting ``[start, end)``, or None."""
        if start >= end:
            return None
        found = self.tree.find(start, end - 1)
        return None if found is None else found[2]

    def _vma_below(self, addr: int) -> VMA | None:
        """The last VMA starting below ``addr`` (``vma_prev`` from ``addr``)."""
        if addr == 0:
            return None
        mas = MaState(self.tree, addr - 1)
        vma = mas.find_rev(0)
        return vma if isinstance(vma, VMA) else None

    def __repr__(self) -> str:
        return (f"<AddressSpace: {self._map_count} VMAs, tree height {self.tree.height}, "
                f"brk {self._brk:#x}>")


def _copy_for_child(_first: int, _last: int, vma: VMA) -> VMA | None:
    """``dup_mmap``'s choice for one VMA: None for ``VM_DONTCOPY``, else a
    copy without the lock flags."""
    if vma.flags & VM_DONTCOPY:
        return None
    child = vma.copy()
    child._set_flags(vma.flags & ~(VM_LOCKED | VM_LOCKONFAULT))
    return child


def _vma_of(line: MapsLine, files: dict[tuple[str, int, int, int], MappedFile]) -> VMA:
    """The VMA of one maps line; lines of the same file share one MappedFile."""
    flags = line.flags | VM_MAY_FLAGS
    if line.is_file:
        key = (line.name, line.major, line.minor, line.inode)
        file = files.get(key)
        if file is None:
            file = files[key] = MappedFile(*key)
        if flags & (VM_WRITE | VM_SHARED) == VM_WRITE:
            flags |= VM_ACCOUNT
        return VMA(line.start, line.end, flags, line.offset >> 12, file)
    if line.name == "[stack]":
        flags |= VM_STACK_FLAGS
    elif line.name and not line.name.startswith("[anon:") and line.name != "[heap]":
        return VMA(line.start, line.end, flags | VM_DONTEXPAND, 0, None, line.name)
    elif flags & VM_WRITE and not flags & VM_SHARED:
        flags |= VM_ACCOUNT
    name = line.name if line.name not in ("", "[heap]", "[stack]") else None
    return VMA(line.start, line.end, flags, None, None, name)


def _perms(prot: int) -> str:
    return "".join(c if prot & bit else "-" for c, bit in (("r", VM_READ), ("w", VM_WRITE),
                                                           ("x", VM_EXEC)))


def _page_floor(addr: int) -> int:
    return addr & -PAGE_SIZE

