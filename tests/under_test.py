"""Which ``maple_tree`` the suite tests, and how subprocesses import the same one.

By default the suite tests this checkout: ``src/`` goes first on the import
path (of this process and of every subprocess a test starts), so a plain clone
needs no install.  With ``MAPLE_TREE_USE_INSTALLED=1`` it tests the installed
package instead (e.g. the compiled build: ``MAPLE_TREE_COMPILE=1 pip install .``)
and ``src/`` is left off the path; the benchmarks honour the same variable.
``MAPLE_TREE_EXPECT_BUILD=compiled`` (or ``pure``) makes the run fail at once
when another build was loaded, so that CI cannot test the wrong one silently.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
#: the package source, whatever build is loaded (doctests and checks read it)
PACKAGE_SRC = SRC / "maple_tree"
USE_INSTALLED = os.environ.get("MAPLE_TREE_USE_INSTALLED", "") == "1"


def put_package_on_path() -> None:
    """Put ``src/`` first on ``sys.path`` unless the installed package is tested."""
    if not USE_INSTALLED and str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))


def check_loaded_build() -> str:
    """Import the package, check it is the one asked for; describe it."""
    import maple_tree
    where = Path(maple_tree.__file__ or "?").resolve().parent
    build = "compiled" if maple_tree.COMPILED else "pure"
    if USE_INSTALLED and where == PACKAGE_SRC:
        raise RuntimeError(f"MAPLE_TREE_USE_INSTALLED=1 but maple_tree came from {where}")
    if not USE_INSTALLED and where != PACKAGE_SRC:
        raise RuntimeError(f"testing the checkout, but maple_tree came from {where}")
    expected = os.environ.get("MAPLE_TREE_EXPECT_BUILD")
    if expected and expected != build:
        raise RuntimeError(f"MAPLE_TREE_EXPECT_BUILD={expected}, but the {build} build "
                           f"was loaded from {where}")
    return f"maple-tree: {build} build from {where}"


def subprocess_env() -> dict[str, str]:
    """The environment for a subprocess that must import the package under test."""
    if USE_INSTALLED:
        return dict(os.environ)
    paths = (str(SRC), os.environ.get("PYTHONPATH", ""))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
