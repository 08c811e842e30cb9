"""The address-space layer (maple_tree.mm): kernel test vectors, errors, real
/proc/PID/maps files, and a state machine against the naive list model
(mm_model.py) with validate() after every call.

The vectors are those of Linux 6.12 for x86_64 with 4 KiB pages, ASLR off
(mmap_base 0x7ffff7fff000), as docs/mm.md describes them.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_LOCK_EXTERN,
    MT_FLAGS_USE_RCU,
    EntryExistsError,
    InvalidArgumentError,
    MapleError,
    OutOfMemoryError,
)
from maple_tree.mm import (
    TASK_SIZE,
    AccessDeniedError,
    AddressSpace,
    NotPermittedError,
    default_mmap_base,
)
from maple_tree.procmaps import parse_maps
from maple_tree.vma import (
    VM_ACCOUNT, VM_DONTCOPY, VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_MAYREAD, VM_MAYWRITE,
    VM_READ, VM_SHARED, VM_WRITE, VMA, MappedFile,
)

from machines import machine_case
from mm_model import MmModel, snapshot_of

RW = VM_READ | VM_WRITE
MAPS_DIR = Path(__file__).resolve().parent / "data" / "maps"
MAPS_FILES = sorted(MAPS_DIR.glob("*.maps"))


def lines(space: AddressSpace) -> list[str]:
    return [str(v) for v in space]


def state(space: AddressSpace) -> tuple:
    """Everything a failed call must leave unchanged."""
    return (snapshot_of(space), space.tree.structure(), space.current_brk, len(space))


# -- kernel vectors ------------------------------------------------------------------------


def test_tree_has_the_kernels_flags():
    mm = AddressSpace()
    assert mm.tree.flags == MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU
    assert mm.task_size == 0x7ffffffff000 and mm.mmap_base == 0x7ffff7fff000
    assert default_mmap_base() == 0x7ffff7fff000


def test_first_mmaps_land_below_mmap_base_and_merge():
    mm = AddressSpace()
    a = mm.mmap(0x3000, RW)
    assert a == 0x7ffff7ffc000
    vma1 = mm.vma_at(a)
    b = mm.mmap(0x1000, RW)
    assert b == 0x7ffff7ffb000 and len(mm) == 1
    assert mm.vma_at(b) is vma1 and vma1.pgoff == 0x7ffff7ffb
    assert list(mm.tree) == [(0x7ffff7ffb000, 0x7ffff7ffefff, vma1)]
    mm.validate()


def test_munmap_in_the_middle_splits():
    mm = AddressSpace()
    mm.mmap(0x3000, RW)
    mm.mmap(0x1000, RW)
    mm.munmap(0x7ffff7ffc000, 0x1000)
    left, right = list(mm)
    assert (left.start, left.end) == (0x7ffff7ffb000, 0x7ffff7ffc000)
    assert (right.start, right.end, right.pgoff) == (0x7ffff7ffd000, 0x7ffff7fff000, 0x7ffff7ffd)
    mm.validate()


def test_munmap_errors_and_no_ops():
    mm = AddressSpace()
    a = mm.mmap(0x2000, RW)
    before = state(mm)
    mm.munmap(0x10000000, 0x1000)                  # nothing there: not an error
    for addr, length in ((a + 1, 0x1000), (a, 0), (TASK_SIZE + 0x1000, 0x1000),
                         (a, TASK_SIZE)):
        with pytest.raises(InvalidArgumentError) as exc:
            mm.munmap(addr, length)
        assert exc.value.errno == 22
    assert state(mm) == before


def test_split_file_mapping_shows_its_advanced_offset():
    mm = AddressSpace()
    f = MappedFile("/usr/lib/libx.so", 0xfe, 0, 77)
    a = mm.mmap(0x4000, VM_READ, file=f, offset=0x2000)
    mm.munmap(a, 0x1000)
    (v,) = list(mm)
    assert v.offset == 0x3000
    assert mm.to_proc_maps().split()[2] == "00003000"
    anon = mm.mmap(0x3000, RW)
    mm.munmap(anon + 0x1000, 0x1000)
    assert [line.split()[2] for line in mm.to_proc_maps().splitlines()] == ["00000000"] * 2 + ["00003000"]


def test_mprotect_splits_then_merges_back():
    mm = AddressSpace()
    mm.mmap(0x3000, RW, addr=0x10000, fixed=True)
    mm.mprotect(0x11000, 0x1000, VM_READ)
    a, b, c = list(mm)
    assert [(v.start, v.end, v.perms) for v in (a, b, c)] == [
        (0x10000, 0x11000, "rw-p"), (0x11000, 0x12000, "r--p"), (0x12000, 0x13000, "rw-p")]
    assert not b.flags & VM_ACCOUNT and a.flags & VM_ACCOUNT
    mm.validate()
    mm.mprotect(0x11000, 0x1000, RW)
    (merged,) = list(mm)
    assert merged is a and (merged.start, merged.end) == (0x10000, 0x13000)
    assert merged.flags & VM_ACCOUNT
    mm.validate()


def test_mprotect_errors_change_nothing():
    mm = AddressSpace()
    mm.mmap(0x2000, RW, addr=0x10000, fixed=True)
    mm.mmap(0x2000, RW, addr=0x13000, fixed=True)
    before = state(mm)
    with pytest.raises(OutOfMemoryError):
        mm.mprotect(0x10000, 0x5000, VM_READ)      # a hole at 0x12000
    with pytest.raises(OutOfMemoryError):
        mm.mprotect(0x20000, 0x1000, VM_READ)      # nothing mapped
    with pytest.raises(InvalidArgumentError):
        mm.mprotect(0x10001, 0x1000, VM_READ)
    with pytest.raises(InvalidArgumentError):
        mm.mprotect(0x10000, 0x1000, 0x100)
    assert state(mm) == before
    mm.mprotect(0x10000, 0, VM_READ)               # length 0: nothing to do
    assert state(mm) == before


def test_mprotect_without_the_may_bit_is_eacces():
    mm = AddressSpace.from_proc_maps("00010000-00012000 r--s 00000000 fe:00 5"
                                     + " " * 26 + "/f\n")
    vma = next(iter(mm))
    vma._set_flags(vma.flags & ~VM_MAYWRITE)
    with pytest.raises(AccessDeniedError) as exc:
        mm.mprotect(0x10000, 0x1000, RW)
    assert exc.value.errno == 13
    mm.validate()


def test_mmap_errors():
    mm = AddressSpace()
    before = state(mm)
    cases = [
        (dict(length=0, flags=RW), InvalidArgumentError),
        (dict(length=4096, flags=RW, addr=0x10001, fixed=True), InvalidArgumentError),
        (dict(length=4096, flags=0x10000000), InvalidArgumentError),
        (dict(length=4096, flags=RW, offset=5), InvalidArgumentError),
        (dict(length=4096, flags=RW, fixed=True), InvalidArgumentError),
        (dict(length=TASK_SIZE + 4096, flags=RW), OutOfMemoryError),
        (dict(length=8192, flags=RW, addr=TASK_SIZE - 4096, fixed=True), OutOfMemoryError),
        (dict(length=4096, flags=RW, addr=0x1000, fixed=True), NotPermittedError),
        (dict(length=-1, flags=RW), InvalidArgumentError),
        (dict(length=4096, flags=RW, file="libc"), InvalidArgumentError),
    ]
    for kwargs, error in cases:
        with pytest.raises(error):
            mm.mmap(**kwargs)
    assert state(mm) == before
    mm.mmap(0x2000, RW, addr=0x20000, fixed=True)
    with pytest.raises(EntryExistsError) as exc:
        mm.mmap(0x1000, RW, addr=0x21000, fixed=True, noreplace=True)
    assert exc.value.errno == 17


def test_enomem_when_nothing_fits():
    mm = AddressSpace(task_size=1 << 24, mmap_base=1 << 23, mmap_min_addr=0x1000)
    mm.mmap((1 << 24) - 0x2000, RW, addr=0x1000, fixed=True)
    before = state(mm)
    with pytest.raises(OutOfMemoryError) as exc:
        mm.mmap(0x2000, RW)
    assert exc.value.errno == 12
    assert state(mm) == before


def test_map_fixed_replaces_without_a_null_store():
    mm = AddressSpace()
    mm.mmap(0x5000, RW, addr=0x10000, fixed=True)
    mm.mmap(0x1000, VM_READ, addr=0x12000, fixed=True)
    assert [v.perms for v in mm] == ["rw-p", "r--p", "rw-p"]
    mm.mmap(0x1000, RW, addr=0x12000, fixed=True)   # same flags again: merges both sides
    assert lines(mm) == ["10000-15000 rw-p"]
    mm.validate()


def test_stack_guard_gap_is_kept():
    mm = AddressSpace()
    stack_top = mm.mmap_base
    mm.mmap(0x20000, RW | VM_GROWSDOWN, addr=stack_top - 0x20000, fixed=True)
    a = mm.mmap(0x1000, RW)
    assert a + 0x1000 <= stack_top - 0x20000 - mm.stack_guard_gap
    assert a + 0x1000 == stack_top - 0x20000 - mm.stack_guard_gap
    hint = stack_top - 0x20000 - 0x1000                  # inside the guard gap: refused
    assert mm.mmap(0x1000, VM_READ, addr=hint) != hint
    free = 0x40000000
    assert mm.mmap(0x1000, VM_READ, addr=free + 5) == free   # a free hint is taken, page-masked
    mm.validate()


def test_bottom_up_fallback():
    mm = AddressSpace(task_size=1 << 30, mmap_base=1 << 20, mmap_min_addr=0x10000)
    a = mm.mmap(0x200000, RW)                            # no room under mmap_base
    assert a == mm.mmap_legacy_base


def test_brk_grows_merges_and_shrinks():
    mm = AddressSpace()
    base = mm.current_brk
    assert mm.brk(base + 0x1800) == base + 0x1800
    assert mm.brk(base + 0x3000) == base + 0x3000
    assert lines(mm) == [f"{base:x}-{base + 0x3000:x} rw-p"]
    assert mm.to_proc_maps().rstrip("\n").endswith("[heap]")
    assert mm.brk(base + 0x1000) == base + 0x1000
    assert lines(mm) == [f"{base:x}-{base + 0x1000:x} rw-p"]
    assert mm.brk(base - 0x1000) == base + 0x1000       # below start_brk: refused
    assert mm.brk(0) == base + 0x1000                    # brk(0) asks for the break
    mm.mmap(0x1000, VM_READ, addr=base + 0x10000, fixed=True)
    assert mm.brk(base + 0x10000) == base + 0x1000       # one free page must stay
    assert mm.brk(base + 0xf000) == base + 0xf000
    mm.validate()


def test_fork_drops_dontcopy_and_shares_nothing():
    mm = AddressSpace()
    keep = mm.mmap(0x2000, RW | VM_LOCKED)
    drop = mm.mmap(0x1000, VM_READ | VM_DONTCOPY)
    mm.mmap(0x3000, VM_READ | VM_EXEC)
    child = mm.fork()
    child.validate()
    assert len(child) == 2 and len(mm) == 3
    assert child.vma_at(drop) is None and mm.vma_at(drop) is not None
    assert not child.vma_at(keep).flags & VM_LOCKED and mm.vma_at(keep).flags & VM_LOCKED
    assert all(c is not p for c in child for p in mm)
    before = state(mm)
    child.munmap(keep, 0x1000)
    child.mprotect(keep + 0x1000, 0x1000, VM_READ)
    assert state(mm) == before
    assert child.tree.flags == mm.tree.flags


def test_vsyscall_is_kept_printed_and_not_unmappable():
    text = (MAPS_DIR / "cat.maps").read_text()
    mm = AddressSpace.from_proc_maps(text)
    (gate,) = mm.gate_areas
    assert gate.start == 0xffffffffff600000 and gate.name == "[vsyscall]"
    assert mm.to_proc_maps() == text
    before = state(mm)
    with pytest.raises(InvalidArgumentError) as exc:
        mm.munmap(0xffffffffff600000, 0x1000)
    assert exc.value.errno == 22
    assert state(mm) == before and mm.to_proc_maps() == text


def test_special_mappings_cannot_be_cut():
    mm = AddressSpace.from_proc_maps((MAPS_DIR / "special.maps").read_text())
    vvar = next(v for v in mm if v.name == "[vvar]")
    before = state(mm)
    with pytest.raises(InvalidArgumentError):
        mm.munmap(vvar.start + 0x1000, 0x1000)
    with pytest.raises(InvalidArgumentError):
        mm.mprotect(vvar.start, 0x1000, RW)
    assert state(mm) == before
    mm.munmap(vvar.start, vvar.length)                    # the whole of it may go
    assert mm.vma_at(vvar.start) is None
    mm.validate()


def test_max_map_count():
    mm = AddressSpace(max_map_count=3)
    a = mm.mmap(0x5000, RW, addr=0x10000, fixed=True)
    mm.mmap(0x1000, VM_READ, addr=0x20000, fixed=True)
    mm.mmap(0x1000, VM_READ, addr=0x30000, fixed=True)
    before = state(mm)
    with pytest.raises(OutOfMemoryError):
        mm.munmap(a + 0x1000, 0x1000)                     # would make a fourth
    with pytest.raises(OutOfMemoryError):
        mm.mprotect(a + 0x1000, 0x1000, VM_READ)
    assert state(mm) == before
    mm.munmap(a, 0x1000)                                  # an edge: no new VMA
    mm.validate()


def test_shared_anonymous_memory_gets_its_own_file():
    mm = AddressSpace()
    a = mm.mmap(0x3000, RW | VM_SHARED)
    b = mm.mmap(0x1000, RW | VM_SHARED)
    assert len(mm) == 2 and b + 0x1000 == a              # adjacent, never merged
    mm.munmap(a + 0x1000, 0x1000)
    maps = mm.to_proc_maps().splitlines()
    assert [ln.split()[1] for ln in maps] == ["rw-s"] * 3
    assert maps[-1].split()[2] == "00002000" and maps[-1].endswith("/dev/zero (deleted)")


def test_named_anonymous_memory_merges_only_by_name():
    mm = AddressSpace()
    a = mm.mmap(0x1000, RW, name="cache")
    mm.mmap(0x1000, RW, name="other", addr=a - 0x1000, fixed=True)
    mm.mmap(0x1000, RW, name="cache", addr=a + 0x1000, fixed=True)
    assert [mm.name_of(v) for v in mm] == ["[anon:other]", "[anon:cache]"]


def test_bad_constructor_arguments():
    for kwargs in (dict(task_size=4095), dict(task_size="big"), dict(mmap_base=5),
                   dict(start_brk=-4096), dict(max_map_count=None)):
        with pytest.raises(InvalidArgumentError):
            AddressSpace(**kwargs)


# -- /proc/PID/maps ------------------------------------------------------------------------


@pytest.mark.parametrize("path", MAPS_FILES, ids=lambda p: p.stem)
def test_maps_round_trip_byte_for_byte(path):
    text = path.read_text()
    mm = AddressSpace.from_proc_maps(text)
    mm.validate()
    assert mm.to_proc_maps() == text
    assert len(mm) + len(mm.gate_areas) == len(text.splitlines())
    kinds = {mm.kind_of(v) for v in mm}
    assert {"file", "anon", "stack", "special"} <= kinds


def test_proc_self_maps():
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc on this system")
    mm = AddressSpace.from_pid("self")
    mm.validate()
    assert len(mm) > 5 and mm.to_proc_maps().count("\n") == len(mm) + len(mm.gate_areas)
    assert mm.find_vma(0) is next(iter(mm))


def test_from_pid_errors():
    with pytest.raises(OSError):
        AddressSpace.from_pid(2 ** 31)


@pytest.mark.parametrize("text, where", [
    ("junk\n", "line 1"),
    ("1000-2000 rw-p 00000000 00:00 0 \n1000-3000 rw-p 00000000 00:00 0 \n", "line 2"),
    ("1000-1800 rw-p 00000000 00:00 0 \n", "line 1"),
    ("2000-1000 rw-p 00000000 00:00 0 \n", "line 1"),
    ("1000-2000 rwzp 00000000 00:00 0 \n", "line 1"),
])
def test_malformed_maps_name_the_line(text, where):
    with pytest.raises(InvalidArgumentError, match=where):
        AddressSpace.from_proc_maps(text)


def test_maps_line_layout():
    mm = AddressSpace()
    mm.mmap(0x1000, RW, addr=0x400000, fixed=True)
    assert mm.to_proc_maps() == "00400000-00401000 rw-p 00000000 00:00 0 \n"
    mm.mmap(0x1000, VM_READ, addr=0x500000, fixed=True, file=MappedFile("/x", 0x103, 0x12, 7))
    line = mm.to_proc_maps().splitlines()[1]
    assert line == "00500000-00501000 r--p 00000000 103:12 7" + " " * 33 + "/x"
    assert line.index("/x") == 73
    wide = MappedFile("/y", 0x103, 0x12345, 10 ** 20)        # a 72-character prefix
    mm.mmap(0x1000, VM_READ, addr=0x7f0000000000, fixed=True, file=wide)
    line = mm.to_proc_maps().splitlines()[2]
    assert line == f"7f0000000000-7f0000001000 r--p 00000000 103:12345 {10 ** 20}  /y"


@pytest.mark.parametrize("path", MAPS_FILES, ids=lambda p: p.stem)
def test_calls_on_real_address_spaces(path):
    """munmap/mprotect/mmap/fork over every area of a real process, checked
    against the list model loaded from the same text."""
    text = path.read_text()
    mm = AddressSpace.from_proc_maps(text)
    model = model_from(mm)
    for i, vma in enumerate(list(mm)):
        if vma.is_special or vma.length < 0x2000:
            continue
        call = ("mprotect", "munmap")[i % 2]
        args = (vma.start + 0x1000, 0x1000)
        if call == "mprotect":
            prot = VM_READ if vma.flags & VM_WRITE else RW
            run_both(mm, model, "mprotect", *args, prot)
        else:
            run_both(mm, model, "munmap", *args)
        mm.validate()
    run_both(mm, model, "mmap", 0x3000, RW, None, False, None, 0, None)
    mm.validate()
    child = mm.fork()
    child.validate()
    assert snapshot_of(child) == model.fork().snapshot()
    again = AddressSpace.from_proc_maps(mm.to_proc_maps())
    assert again.to_proc_maps() == mm.to_proc_maps()


def model_from(mm: AddressSpace) -> MmModel:
    from mm_model import Rec
    model = MmModel(mm.task_size, mm.mmap_base, mm.start_brk, mm.mmap_min_addr,
                    mm.stack_guard_gap)
    model.brk_value = mm.current_brk
    model.vmas = [Rec(v.start, v.end, v.flags, v.pgoff, v.file, v.name) for v in mm]
    return model


def run_both(mm: AddressSpace, model: MmModel, call: str, *args):
    """Run ``call`` on both; the same result or the same error, the same areas."""
    before = state(mm)
    try:
        expected = getattr(model, call)(*args)
    except MapleError as exc:
        with pytest.raises(type(exc)):
            getattr(mm, call)(*args)
        assert state(mm) == before, f"failed {call}{args} changed the address space"
        return None
    if call == "mmap":
        length, flags, addr, fixed, file, offset, name = args
        got = mm.mmap(length, flags, addr, fixed, file=file, offset=offset, name=name)
    else:
        got = getattr(mm, call)(*args)
    assert got == expected, f"{call}{args}"
    assert snapshot_of(mm) == model.snapshot(), f"after {call}{args}"
    return got


# -- the state machine ---------------------------------------------------------------------

TASK = 0x10000000
BASE = 0x8000000
PAGE = 0x1000
FILES = [MappedFile("/lib/a.so", 8, 1, 11), MappedFile("/lib/b.so", 8, 1, 12)]
FLAG_CHOICES = [VM_READ, RW, RW, RW, VM_READ | VM_EXEC, RW | VM_SHARED, RW | VM_GROWSDOWN,
                VM_READ | VM_DONTCOPY, RW | VM_LOCKED, 0]


class AddressSpaceMachine(RuleBasedStateMachine):
    """mmap/munmap/mprotect/brk/fork on up to three address spaces (a parent
    and its forks), each against its own list model; validate() after every
    call, and a failed call must change nothing."""

    def __init__(self) -> None:
        super().__init__()
        mm = AddressSpace(TASK, BASE, start_brk=0x1000000, mmap_min_addr=0x10000,
                          stack_guard_gap=0x4000)
        self.pairs = [(mm, MmModel(TASK, BASE, 0x1000000, 0x10000, 0x4000))]

    def run(self, which: int, call: str, *args):
        mm, model = self.pairs[which % len(self.pairs)]
        run_both(mm, model, call, *args)
        mm.validate()

    @rule(which=st.integers(0, 2), pages=st.integers(1, 24), flags=st.sampled_from(FLAG_CHOICES),
          file=st.sampled_from([None, None, 0, 1]), off=st.integers(0, 8),
          name=st.sampled_from([None, None, None, "x"]))
    def mmap_anywhere(self, which, pages, flags, file, off, name):
        f = None if file is None or flags & VM_SHARED else FILES[file]
        self.run(which, "mmap", pages * PAGE, flags, None, False, f, off * PAGE if f else 0,
                 None if f else name)

    @rule(which=st.integers(0, 2), page=st.integers(-40, 600), pages=st.integers(1, 24),
          flags=st.sampled_from(FLAG_CHOICES), file=st.sampled_from([None, None, 0, 1]),
          off=st.integers(0, 8))
    def mmap_fixed(self, which, page, pages, flags, file, off):
        f = None if file is None or flags & VM_SHARED else FILES[file]
        self.run(which, "mmap", pages * PAGE, flags, BASE - 512 * PAGE + page * PAGE, True, f,
                 off * PAGE if f else 0, None)

    @rule(which=st.integers(0, 2), hint=st.integers(-600, 600), pages=st.integers(1, 24),
          flags=st.sampled_from(FLAG_CHOICES))
    def mmap_with_a_hint(self, which, hint, pages, flags):
        self.run(which, "mmap", pages * PAGE, flags, max(0, BASE + hint * PAGE + hint % 3),
                 False, None, 0, None)

    @rule(which=st.integers(0, 2), page=st.integers(0, 560), pages=st.integers(0, 40),
          odd=st.sampled_from([0, 0, 0, 1]))
    def munmap(self, which, page, pages, odd):
        self.run(which, "munmap", BASE - 512 * PAGE + page * PAGE + odd, pages * PAGE)

    @rule(which=st.integers(0, 2), page=st.integers(0, 560), pages=st.integers(0, 12),
          prot=st.sampled_from([VM_READ, RW, VM_READ | VM_EXEC, 0, RW | VM_EXEC]))
    def mprotect(self, which, page, pages, prot):
        self.run(which, "mprotect", BASE - 512 * PAGE + page * PAGE, pages * PAGE, prot)

    def pick(self, which: int, index: int):
        """The address space ``which`` and its VMA number ``index`` (None if it has none)."""
        mm, _model = self.pairs[which % len(self.pairs)]
        vmas = list(mm)
        return mm, (vmas[index % len(vmas)] if vmas else None)

    @rule(which=st.integers(0, 2), index=st.integers(0, 1000), lo=st.integers(0, 30),
          pages=st.integers(1, 30), prot=st.sampled_from([VM_READ, RW, VM_READ | VM_EXEC, 0]),
          inside=st.sampled_from([True, True, True, False]))
    def mprotect_part_of_a_vma(self, which, index, lo, pages, prot, inside):
        mm, vma = self.pick(which, index)
        if vma is not None:
            first = lo % vma.pages
            if inside:
                pages = 1 + pages % (vma.pages - first)
            self.run(which, "mprotect", vma.start + first * PAGE, pages * PAGE, prot)

    @rule(which=st.integers(0, 2), index=st.integers(0, 1000), lo=st.integers(0, 30),
          pages=st.integers(1, 30))
    def munmap_part_of_a_vma(self, which, index, lo, pages):
        mm, vma = self.pick(which, index)
        if vma is not None:
            self.run(which, "munmap", vma.start + (lo % vma.pages) * PAGE, pages * PAGE)

    @rule(which=st.integers(0, 2), index=st.integers(0, 1000), pages=st.integers(1, 8),
          above=st.booleans(), gap=st.sampled_from([0, 0, 0, 1]))
    def mmap_beside_a_vma(self, which, index, pages, above, gap):
        """A fixed mapping like an existing VMA, just above or below it: merges."""
        mm, vma = self.pick(which, index)
        if vma is None or vma.is_special:
            return
        length = pages * PAGE
        flags = vma.flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_GROWSDOWN
                             | VM_DONTCOPY | VM_LOCKED)
        file = vma.file if vma.file is not None and not flags & VM_SHARED else None
        if file is None:
            flags &= ~VM_SHARED
        start = vma.end + gap * PAGE if above else vma.start - length - gap * PAGE
        offset = max(0, vma.offset + (start - vma.start)) if file else 0
        name = vma.name[6:-1] if vma.name and file is None else None
        self.run(which, "mmap", length, flags, start, True, file, offset, name)

    @rule(which=st.integers(0, 2), delta=st.integers(-3 * PAGE, 6 * PAGE))
    def brk(self, which, delta):
        mm, model = self.pairs[which % len(self.pairs)]
        target = max(0, mm.current_brk + delta)
        assert mm.brk(target) == model.brk(target)
        assert snapshot_of(mm) == model.snapshot()
        mm.validate()

    @precondition(lambda self: len(self.pairs) < 3)
    @rule(which=st.integers(0, 2))
    def fork(self, which):
        mm, model = self.pairs[which % len(self.pairs)]
        parent_before = state(mm)
        child = mm.fork()
        child.validate()
        assert state(mm) == parent_before
        self.pairs.append((child, model.fork()))

    @invariant()
    def spaces_match_their_models(self):
        for mm, model in self.pairs:
            assert snapshot_of(mm) == model.snapshot()
            assert mm.current_brk == model.brk_value and len(mm) == len(model.vmas)

    def teardown(self):
        for mm, _model in self.pairs:
            text = mm.to_proc_maps()
            assert AddressSpace.from_proc_maps(text, mmap_base=BASE, task_size=TASK) \
                .to_proc_maps() == text


TestAddressSpace = machine_case(AddressSpaceMachine, 0,
                                {"max_examples": 60, "stateful_step_count": 60}, slow=False)
TestAddressSpaceSlow = machine_case(AddressSpaceMachine, 0,
                                    {"max_examples": 2000, "stateful_step_count": 100}, slow=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 16)), min_size=1, max_size=40))
def test_deepcopy_of_vma_free_of_tree(ops):
    """Areas mapped at random fixed places: the tree equals the list model,
    and a VMA's range always equals the range it is stored over."""
    mm = AddressSpace(TASK, BASE, start_brk=0x1000000, mmap_min_addr=0x10000)
    model = MmModel(TASK, BASE, 0x1000000, 0x10000, mm.stack_guard_gap)
    for page, pages in ops:
        run_both(mm, model, "mmap", pages * PAGE, RW if page % 3 else VM_READ,
                 BASE - 256 * PAGE + page * PAGE, True, None, 0, None)
        mm.validate()
    assert copy.copy(snapshot_of(mm)) == model.snapshot()


def test_vma_attributes_are_read_only():
    v = VMA(0x1000, 0x2000, VM_READ | VM_MAYREAD)
    with pytest.raises(AttributeError):
        v.start = 0  # type: ignore[misc]
    with pytest.raises(InvalidArgumentError):
        MappedFile("")
