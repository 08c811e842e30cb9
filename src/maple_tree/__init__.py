"""maple-tree: a faithful Python implementation of the Linux kernel's Maple Tree.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> t.store_range(10, 19, "a")
>>> t.load(15)
'a'

``COMPILED`` tells which build is loaded: True for the mypyc-compiled
modules, False for the plain Python ones (the same source either way).
"""
from .constants import (
                        MT_FLAGS_ALLOC_RANGE,
                        MT_FLAGS_ALLOC_WRAPPED,
                        MT_FLAGS_LOCK_EXTERN,
                        MT_FLAGS_USE_RCU,
                        ULONG_MAX,
)
from .entries import RETRY_ENTRY, ZERO_ENTRY, InternalEntry
from .errors import (
                        BusyError,
                        EntryExistsError,
                        InvalidArgumentError,
                        InvalidTypeError,
                        MapleError,
                        OutOfMemoryError,
                        StateError,
                        TreeCorruptError,
)
from .node import COMPILED
from .state import MaState
from .tree import MapleTree

__all__ = ["COMPILED", "MapleTree", "MaState", "ZERO_ENTRY", "RETRY_ENTRY", "InternalEntry", "ULONG_MAX",
           "MT_FLAGS_ALLOC_RANGE", "MT_FLAGS_USE_RCU", "MT_FLAGS_LOCK_EXTERN",
           "MT_FLAGS_ALLOC_WRAPPED", "MapleError", "EntryExistsError", "InvalidArgumentError",
           "InvalidTypeError", "BusyError", "OutOfMemoryError", "StateError", "TreeCorruptError"]
__version__ = "0.1.0"
