"""Rewrite the example pictures of docs/img: ``python tests/render_examples.py``.

* ``tree-small.svg``: a 10-entry allocation tree (``MT_FLAGS_ALLOC_RANGE``),
  its entries coloured by a made-up VMA kind;
* ``tree-5000.svg``: 5,000 entries in a plain tree, where every level past
  the first ones is summarised;
* ``mm-before.svg`` / ``mm-after.svg``: the bundled example process
  (``AddressSpace.example()``) as loaded, and after the calls of docs/mm.md.

A plain script, not a test; it imports the package from this checkout's
``src/`` (see ``under_test.py``).
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import under_test

under_test.put_package_on_path()

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree
from maple_tree.mm import AddressSpace
from maple_tree.vma import VM_DONTCOPY, VM_READ, VM_WRITE

IMG = HERE.parent / "docs" / "img"
#: what each entry of the examples stands for
KINDS = ("file", "file", "anon", "heap", "file", "anon", "stack")


def kind(entry: int) -> str:
    """A made-up VMA kind for entry ``entry``."""
    return KINDS[entry % len(KINDS)]


def small_tree() -> MapleTree:
    """Ten page-aligned mappings with holes between them, in an allocation tree."""
    tree = MapleTree(MT_FLAGS_ALLOC_RANGE)
    for i in range(10):
        first = 0x400000 + 0x3000 * i
        tree.store_range(first, first + 0x1fff, i)
    return tree


def big_tree() -> MapleTree:
    """5,000 ranges with a NULL gap after each."""
    tree = MapleTree()
    for i in range(5000):
        tree.store_range(10 * i, 10 * i + 5, i)
    return tree


def main() -> None:
    """Write both pictures."""
    IMG.mkdir(parents=True, exist_ok=True)
    small = small_tree().svg(title="A 10-entry allocation tree", kind=kind)
    (IMG / "tree-small.svg").write_text(small, encoding="utf-8")
    big = big_tree().svg(title="5,000 entries", kind=kind)
    (IMG / "tree-5000.svg").write_text(big, encoding="utf-8")
    mm = AddressSpace.example()
    before = mm.svg(title="A Python process's address space, as loaded from /proc/PID/maps")
    (IMG / "mm-before.svg").write_text(before, encoding="utf-8")
    mm.mmap(1 << 20, VM_READ | VM_WRITE)
    mm.mmap(0x4000, VM_READ | VM_WRITE | VM_DONTCOPY, name="secret")
    mm.munmap(0x7ff02c454000, 0x1000)
    after = mm.svg(title="After mmap 1 MiB, mmap a DONTCOPY area, munmap a page of libc")
    (IMG / "mm-after.svg").write_text(after, encoding="utf-8")


if __name__ == "__main__":
    main()
