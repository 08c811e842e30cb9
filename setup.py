"""Extension modules for the optional compiled build (``MAPLE_TREE_COMPILE=1``).

Everything else about the package lives in ``pyproject.toml``.  The compiled
build runs mypyc over the modules below; the rest stay Python in both builds:
``__init__``, the command line and its trace reader, the address-space layer
and the SVG renderer (not hot; ``mm`` also defines exceptions), ``errors`` (its
exceptions subclass built-in exceptions, which mypyc cannot compile) and
``entries`` (``InternalEntry`` interns its named values in ``__new__``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).resolve().parent / "build_backend"))
from maple_build import NO_EXTENSIONS, compile_requested  # noqa: E402

PURE = {"__init__.py", "__main__.py", "cli.py", "cli_mm.py", "traces.py", "errors.py",
        "entries.py", "vma.py", "procmaps.py", "mm.py", "render.py"}


def compiled_modules() -> list[str]:
    """The package's modules that the compiled build compiles."""
    package = Path("src", "maple_tree")
    return sorted(str(p) for p in package.glob("*.py") if p.name not in PURE)


def ext_modules() -> list[object]:
    """mypyc's extensions when the compiled build is asked for, else none."""
    if not compile_requested() or os.environ.get(NO_EXTENSIONS):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        raise SystemExit(f"maple-tree: MAPLE_TREE_COMPILE=1 needs mypy's compiler: {exc}")
    print("maple-tree: compiling with mypyc (set MAPLE_TREE_COMPILE=0 for pure Python)")
    return mypycify(compiled_modules(), opt_level=os.environ.get("MYPYC_OPT_LEVEL", "3"))


class BuildExtOrExplain(build_ext):  # type: ignore[misc]
    """``build_ext`` that, when the C compiler fails, says what is missing
    and how to get the pure build instead of ending in a compiler trace."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # CompileError, DistutilsExecError, PlatformError...
            raise SystemExit(
                f"maple-tree: the compiled build failed ({type(exc).__name__}; the "
                "compiler's own output is above). It needs a C compiler and the Python "
                "headers; install without MAPLE_TREE_COMPILE for the pure-Python build "
                "(same API, same results)."
            ) from exc


setup(ext_modules=ext_modules(), cmdclass={"build_ext": BuildExtOrExplain})
