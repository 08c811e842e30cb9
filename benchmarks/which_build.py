"""Which ``maple_tree`` the benchmarks import.

By default this checkout's ``src/`` (no install needed); with
``MAPLE_TREE_USE_INSTALLED=1`` the installed package instead, e.g. the
compiled build (``MAPLE_TREE_COMPILE=1 pip install .``).  Every table says
which build it measured.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
USE_INSTALLED = os.environ.get("MAPLE_TREE_USE_INSTALLED", "") == "1"


def use_package() -> None:
    """Put ``src/`` first on the import path unless the installed package is asked for."""
    if not USE_INSTALLED and os.path.isdir(os.path.join(SRC, "maple_tree")) \
            and SRC not in sys.path:
        sys.path.insert(0, SRC)


def build_name() -> str:
    """``compiled`` or ``pure``: the build of the ``maple_tree`` imported."""
    import maple_tree
    return "compiled" if maple_tree.COMPILED else "pure"
