"""Kernel constants of the 64-bit maple tree (``include/linux/maple_tree.h``).

Every number here is the kernel's: node capacities, minimum occupancies, the
tree flag bits and the errno values the API reports.  They are ``Final``: the
compiled build folds them into the code instead of looking them up.

>>> ULONG_MAX == 2**64 - 1
True
>>> MT_SLOTS[LEAF_64], MT_SLOTS[ARANGE_64]
(16, 10)
"""
from __future__ import annotations

from typing import Final

ULONG_MAX: Final = (1 << 64) - 1

# Node types (enum maple_type); maple_dense (0) is never created by the kernel.
LEAF_64: Final = 1
RANGE_64: Final = 2
ARANGE_64: Final = 3

TYPE_NAMES: Final[dict[int, str]] = {LEAF_64: "leaf_64", RANGE_64: "range_64", ARANGE_64: "arange_64"}
TYPES_BY_NAME: Final[dict[str, int]] = {v: k for k, v in TYPE_NAMES.items()}

#: slots per node type (mt_slots)
MT_SLOTS: Final[dict[int, int]] = {LEAF_64: 16, RANGE_64: 16, ARANGE_64: 10}
#: explicit pivots per node type (mt_pivots)
MT_PIVOTS: Final[dict[int, int]] = {LEAF_64: 15, RANGE_64: 15, ARANGE_64: 9}
#: minimum data end of a non-root node (mt_min_slots); a node needs end >= this
MT_MIN_SLOTS: Final[dict[int, int]] = {LEAF_64: 6, RANGE_64: 6, ARANGE_64: 4}

MAPLE_HEIGHT_MAX: Final = 31

# Tree flags (ma_flags)
MT_FLAGS_ALLOC_RANGE: Final = 0x01
MT_FLAGS_USE_RCU: Final = 0x02
MT_FLAGS_HEIGHT_OFFSET: Final = 2
MT_FLAGS_HEIGHT_MASK: Final = 0x7C
MT_FLAGS_LOCK_IRQ: Final = 0x100
MT_FLAGS_LOCK_BH: Final = 0x200
MT_FLAGS_LOCK_EXTERN: Final = 0x300
MT_FLAGS_LOCK_MASK: Final = 0x300
MT_FLAGS_ALLOC_WRAPPED: Final = 0x800
#: flags a caller may pass to ``MapleTree(flags=...)``
MT_FLAGS_USER_MASK: Final = (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU | MT_FLAGS_LOCK_MASK
                           | MT_FLAGS_ALLOC_WRAPPED)

# errno values (returned negated by the kernel)
ENOMEM: Final = 12
EBUSY: Final = 16
EEXIST: Final = 17
EINVAL: Final = 22

#: highest index ``mtree_alloc_*`` of the mm layer hands out (MTREE_ALLOC_MAX)
MTREE_ALLOC_MAX: Final = 0x2000000000000
