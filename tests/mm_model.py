"""A naive model of an address space: a sorted Python list of VMA records.

It follows the same rules as ``maple_tree.mm`` (Linux 6.12's mmap, munmap,
mprotect, brk and fork, as described in docs/mm.md) but keeps the areas in a
plain list and finds free room by scanning the holes, with no tree, no gap
search and no object sharing: what the address space does with its maple
tree must come out the same as what this list does.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from maple_tree import EntryExistsError, InvalidArgumentError, OutOfMemoryError
from maple_tree.mm import NotPermittedError
from maple_tree.vma import (
    PAGE_SIZE, VM_ACCESS_FLAGS, VM_ACCOUNT, VM_DATA_DEFAULT_FLAGS, VM_DONTCOPY, VM_GROWSDOWN,
    VM_HUGETLB, VM_LOCKED, VM_LOCKONFAULT, VM_MAY_FLAGS, VM_MAYSHARE, VM_NORESERVE, VM_SHARED,
    VM_SPECIAL, VM_WRITE, MappedFile, page_align,
)


@dataclass
class Rec:
    start: int
    end: int
    flags: int
    pgoff: int
    file: Any
    name: Any

    @property
    def pages(self) -> int:
        return (self.end - self.start) >> 12


def file_key(file: MappedFile | None) -> Any:
    return None if file is None else (file.path, file.major, file.minor, file.inode)


def snapshot_of(space: Any) -> list[tuple]:
    """The comparable view of a real AddressSpace."""
    return [(v.start, v.end, v.flags, v.pgoff, file_key(v.file), v.name) for v in space]


class MmModel:
    def __init__(self, task_size: int, mmap_base: int, start_brk: int, mmap_min_addr: int,
                 guard: int) -> None:
        self.task_size, self.mmap_base = task_size, mmap_base
        self.legacy_base = page_align(task_size // 3)
        self.min_addr, self.guard = mmap_min_addr, guard
        self.start_brk = self.brk_value = start_brk
        self.vmas: list[Rec] = []
        self.shmem = 0

    def snapshot(self) -> list[tuple]:
        return [(v.start, v.end, v.flags, v.pgoff, file_key(v.file), v.name) for v in self.vmas]

    def fork(self) -> MmModel:
        child = MmModel(self.task_size, self.mmap_base, self.start_brk, self.min_addr, self.guard)
        child.brk_value, child.shmem = self.brk_value, self.shmem
        child.vmas = [replace(v, flags=v.flags & ~(VM_LOCKED | VM_LOCKONFAULT))
                      for v in self.vmas if not v.flags & VM_DONTCOPY]
        return child

    # -- helpers ----------------------------------------------------------------------------
    def holes(self) -> list[tuple[int, int, Rec | None]]:
        """(start, end, the VMA starting at end or None) for each free range."""
        out, cursor = [], 0
        for v in self.vmas:
            if v.start > cursor:
                out.append((cursor, v.start, v))
            cursor = v.end
        if cursor < self.task_size:
            out.append((cursor, self.task_size, None))
        return out

    def start_gap(self, v: Rec) -> int:
        return max(v.start - self.guard, 0) if v.flags & VM_GROWSDOWN else v.start

    def hinted(self, addr: int, length: int) -> int:
        """The hint, page-masked and raised to mmap_min_addr, if the area there
        is free below the next VMA's guard gap; else a search."""
        addr &= -PAGE_SIZE
        if addr and addr < self.min_addr:
            addr = page_align(self.min_addr)
        if addr and addr <= self.task_size - length:
            above = next((v for v in self.vmas if v.end > addr), None)
            if above is None or addr + length <= self.start_gap(above):
                return addr
        return self.find_area(length)

    def find_area(self, length: int) -> int:
        low, high = max(PAGE_SIZE, self.min_addr), self.mmap_base
        holes = self.holes()
        while True:
            fits = [(min(he, high), nxt) for hs, he, nxt in holes
                    if min(he, high) - max(hs, low) >= length]
            if not fits:
                break
            end, nxt = fits[-1]              # the highest hole that fits under high
            if nxt is not None and nxt.flags & VM_GROWSDOWN and self.start_gap(nxt) < end:
                high = self.start_gap(nxt)   # a stack above: search again below its guard gap
                continue
            return end - length
        low, high = max(self.legacy_base, self.min_addr), self.task_size
        for hs, he, nxt in self.holes():
            s, e = max(hs, low), min(he, high)
            if e - s < length:
                continue
            if nxt is not None and nxt.flags & VM_GROWSDOWN and self.start_gap(nxt) < s + length - 1:
                continue
            return s
        raise OutOfMemoryError("no room")

    def cut(self, start: int, end: int) -> None:
        """Remove [start, end) from every record, keeping the pieces outside."""
        kept: list[Rec] = []
        for v in self.vmas:
            if v.end <= start or v.start >= end:
                kept.append(v)
                continue
            if v.start < start:
                kept.append(replace(v, end=start))
            if v.end > end:
                kept.append(replace(v, start=end, pgoff=v.pgoff + ((end - v.start) >> 12)))
        self.vmas = kept

    def insert(self, rec: Rec) -> None:
        self.vmas.append(rec)
        self.vmas.sort(key=lambda r: r.start)

    @staticmethod
    def mergeable(v: Rec, flags: int, file: Any, name: Any) -> bool:
        return v.flags == flags and v.file is file and v.name == name

    # -- calls ------------------------------------------------------------------------------
    def mmap(self, length: int, flags: int, addr: int | None, fixed: bool, file: Any,
             offset: int, name: Any, noreplace: bool = False) -> int:
        if length == 0:
            raise InvalidArgumentError("len 0")
        length = page_align(length)
        vm = flags | VM_MAY_FLAGS | (VM_MAYSHARE if flags & VM_SHARED else 0)
        if vm & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE:
            vm |= VM_ACCOUNT
        if length > self.task_size:
            raise OutOfMemoryError("too long")
        start = addr if fixed else self.hinted(addr or 0, length)
        assert start is not None
        if start > self.task_size - length:
            raise OutOfMemoryError("above task size")
        if start % PAGE_SIZE:
            raise InvalidArgumentError("unaligned")
        if start < self.min_addr:
            raise NotPermittedError("low")
        end = start + length
        if noreplace and any(v.start < end and v.end > start for v in self.vmas):
            raise EntryExistsError("in use")
        if flags & VM_SHARED and file is None:
            self.shmem += 1
            file, offset = MappedFile("/dev/zero (deleted)", 0, 1, self.shmem), 0
        pgoff = offset >> 12 if file is not None else start >> 12
        label = None if name is None else f"[anon:{name}]"
        self.cut(start, end)
        self.merge_new(Rec(start, end, vm, pgoff, file, label))
        return start

    def merge_new(self, new: Rec) -> None:
        prev = next((v for v in reversed(self.vmas) if v.end <= new.start), None)
        nxt = next((v for v in self.vmas if v.start >= new.end), None)
        ok = not new.flags & VM_SPECIAL
        left = ok and prev is not None and prev.end == new.start and \
            self.mergeable(prev, new.flags, new.file, new.name) and \
            prev.pgoff + prev.pages == new.pgoff
        right = ok and nxt is not None and nxt.start == new.end and \
            self.mergeable(nxt, new.flags, new.file, new.name) and \
            nxt.pgoff == new.pgoff + new.pages
        if left and right:
            assert prev is not None and nxt is not None
            prev.end = nxt.end
            self.vmas.remove(nxt)
        elif left:
            assert prev is not None
            prev.end = new.end
        elif right:
            assert nxt is not None
            nxt.pgoff -= new.pages
            nxt.start = new.start
        else:
            self.insert(new)

    def munmap(self, addr: int, length: int) -> None:
        if addr % PAGE_SIZE or addr > self.task_size or length > self.task_size - addr:
            raise InvalidArgumentError("bad range")
        end = addr + page_align(length)
        if end == addr:
            raise InvalidArgumentError("len 0")
        self.cut(addr, end)

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        if prot & ~VM_ACCESS_FLAGS or addr % PAGE_SIZE:
            raise InvalidArgumentError("bad prot or addr")
        if length == 0:
            return
        end = addr + page_align(length)
        covered = addr
        for v in self.vmas:
            if v.end <= addr or v.start >= end:
                continue
            if v.start > covered:
                break
            new = prot | (v.flags & ~VM_ACCESS_FLAGS)
            if new & ~(new >> 4) & VM_ACCESS_FLAGS:
                from maple_tree.mm import AccessDeniedError
                raise AccessDeniedError("may not")
            covered = v.end
        if covered < end:
            raise OutOfMemoryError("hole")
        pos = addr
        while pos < end:
            i = next(i for i, v in enumerate(self.vmas) if v.end > pos)
            v = self.vmas[i]
            if v.start >= end:
                break
            pos = self.fixup(i, max(pos, v.start), min(end, v.end), prot)

    def fixup(self, i: int, s: int, e: int, prot: int) -> int:
        """mprotect_fixup on self.vmas[i] over [s, e); returns where the walk goes on."""
        v = self.vmas[i]
        new = prot | (v.flags & ~VM_ACCESS_FLAGS)
        if new == v.flags:
            return v.end
        if new & VM_WRITE:
            if not v.flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE):
                new |= VM_ACCOUNT
        elif v.flags & VM_ACCOUNT and v.file is None:
            new &= ~VM_ACCOUNT
        prev = self.vmas[i - 1] if i > 0 else None
        nxt = self.vmas[i + 1] if i + 1 < len(self.vmas) else None
        pgoff = v.pgoff + ((s - v.start) >> 12)
        npages = (e - s) >> 12
        ok = not new & VM_SPECIAL
        left = ok and s == v.start and prev is not None and prev.end == s and \
            self.mergeable(prev, new, v.file, v.name) and prev.pgoff + prev.pages == pgoff
        right = ok and e == v.end and nxt is not None and nxt.start == e and \
            self.mergeable(nxt, new, v.file, v.name) and nxt.pgoff == pgoff + npages
        if left and right:
            assert prev is not None and nxt is not None
            prev.end = nxt.end
            del self.vmas[i:i + 2]
            return prev.end
        if left:
            assert prev is not None
            prev.end = e
            if e == v.end:
                del self.vmas[i]
            else:
                v.pgoff += (e - v.start) >> 12
                v.start = e
            return e
        if right:
            assert nxt is not None
            nxt.pgoff -= (nxt.start - s) >> 12
            nxt.start = s
            if s == v.start:
                del self.vmas[i]
            else:
                v.end = s
            return nxt.end
        pieces = []
        if v.start < s:
            pieces.append(replace(v, end=s))
        pieces.append(replace(v, start=s, end=e, pgoff=pgoff, flags=new))
        if v.end > e:
            pieces.append(replace(v, start=e, pgoff=v.pgoff + ((e - v.start) >> 12)))
        self.vmas[i:i + 1] = pieces
        return e

    def brk(self, new_brk: int) -> int:
        if new_brk < self.start_brk or new_brk > self.task_size:
            return self.brk_value
        newbrk, oldbrk = page_align(new_brk), page_align(self.brk_value)
        if newbrk == oldbrk:
            self.brk_value = new_brk
        elif new_brk <= self.brk_value:
            if any(v.start < oldbrk and v.end > newbrk for v in self.vmas):
                self.brk_value = new_brk
                self.cut(newbrk, oldbrk)
        else:
            self.grow_brk(new_brk, newbrk, oldbrk)
        return self.brk_value

    def grow_brk(self, new_brk: int, newbrk: int, oldbrk: int) -> None:
        if oldbrk < self.min_addr:
            return
        limit = newbrk + PAGE_SIZE + self.guard
        nxt = next((v for v in self.vmas if v.end > oldbrk and v.start < limit), None)
        if nxt is not None and newbrk + PAGE_SIZE > self.start_gap(nxt):
            return
        flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT
        below = [v for v in self.vmas if v.start < oldbrk]
        heap = below[-1] if below and below[-1].end > self.start_brk else None
        if heap is not None and heap.end == oldbrk and self.mergeable(heap, flags, None, None) \
                and heap.pgoff + heap.pages == oldbrk >> 12:
            heap.end = newbrk
        else:
            self.insert(Rec(oldbrk, newbrk, flags, oldbrk >> 12, None, None))
        self.brk_value = new_brk
