"""Kernel constants of the 64-bit maple tree (``include/linux/maple_tree.h``).

Every number here is the kernel's: node capacities, minimum occupancies, the
tree flag bits and the errno values the API reports.

>>> ULONG_MAX == 2**64 - 1
True
>>> MT_SLOTS[LEAF_64], MT_SLOTS[ARANGE_64]
(16, 10)
"""
from __future__ import annotations

ULONG_MAX: int = (1 << 64) - 1

# Node types (enum maple_type); maple_dense (0) is never created by the kernel.
LEAF_64: int = 1
RANGE_64: int = 2
ARANGE_64: int = 3

TYPE_NAMES: dict[int, str] = {LEAF_64: "leaf_64", RANGE_64: "range_64", ARANGE_64: "arange_64"}
TYPES_BY_NAME: dict[str, int] = {v: k for k, v in TYPE_NAMES.items()}

#: slots per node type (mt_slots)
MT_SLOTS: dict[int, int] = {LEAF_64: 16, RANGE_64: 16, ARANGE_64: 10}
#: explicit pivots per node type (mt_pivots)
MT_PIVOTS: dict[int, int] = {LEAF_64: 15, RANGE_64: 15, ARANGE_64: 9}
#: minimum data end of a non-root node (mt_min_slots); a node needs end >= this
MT_MIN_SLOTS: dict[int, int] = {LEAF_64: 6, RANGE_64: 6, ARANGE_64: 4}

MAPLE_HEIGHT_MAX: int = 31

# Tree flags (ma_flags)
MT_FLAGS_ALLOC_RANGE: int = 0x01
MT_FLAGS_USE_RCU: int = 0x02
MT_FLAGS_HEIGHT_OFFSET: int = 2
MT_FLAGS_HEIGHT_MASK: int = 0x7C
MT_FLAGS_LOCK_IRQ: int = 0x100
MT_FLAGS_LOCK_BH: int = 0x200
MT_FLAGS_LOCK_EXTERN: int = 0x300
MT_FLAGS_LOCK_MASK: int = 0x300
MT_FLAGS_ALLOC_WRAPPED: int = 0x800
#: flags a caller may pass to ``MapleTree(flags=...)``
MT_FLAGS_USER_MASK: int = (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU | MT_FLAGS_LOCK_MASK
                           | MT_FLAGS_ALLOC_WRAPPED)

# errno values (returned negated by the kernel)
ENOMEM: int = 12
EBUSY: int = 16
EEXIST: int = 17
EINVAL: int = 22

#: highest index ``mtree_alloc_*`` of the mm layer hands out (MTREE_ALLOC_MAX)
MTREE_ALLOC_MAX: int = 0x2000000000000
