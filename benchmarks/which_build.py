"""Which ``maple_tree`` the benchmarks import, and a second one beside it.

By default this checkout's ``src/`` (no install needed); with
``MAPLE_TREE_USE_INSTALLED=1`` the installed package instead, e.g. the
compiled build (``MAPLE_TREE_COMPILE=1 pip install .``).  Every table says
which build it measured.  :class:`Checkout` imports another package (an
earlier version's ``src/``, or this checkout's pure build beside the compiled
one) into the same process, so that both are measured in one run.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
USE_INSTALLED = os.environ.get("MAPLE_TREE_USE_INSTALLED", "") == "1"


def use_package() -> None:
    """Put ``src/`` first on the import path unless the installed package is asked for."""
    if not USE_INSTALLED and os.path.isdir(os.path.join(SRC, "maple_tree")) \
            and SRC not in sys.path:
        sys.path.insert(0, SRC)


def build_name(package: ModuleType) -> str:
    """``compiled`` or ``pure``: the build of the ``maple_tree`` module
    ``package`` (``pure`` for a version older than the compiled build)."""
    return "compiled" if getattr(package, "COMPILED", False) else "pure"


# -- a second package beside the first, in one process ---------------------------

def _is_package_module(name: str) -> bool:
    return name == "maple_tree" or name.startswith("maple_tree.")


def _take_package_modules() -> dict[str, ModuleType]:
    """Remove ``maple_tree`` and every ``maple_tree.*`` from sys.modules; return them."""
    return {name: sys.modules.pop(name) for name in list(sys.modules)
            if _is_package_module(name)}


@dataclass
class Checkout:
    """One ``maple_tree`` package, with the workloads module bound to it.

    ``modules`` holds the package's entries of sys.modules (``maple_tree`` and
    ``maple_tree.*``).  Two checkouts live in one process under the same name:
    :meth:`active` puts this one's modules in sys.modules for the duration, so
    the imports the package makes inside its functions find its own modules.
    """

    label: str
    modules: dict[str, ModuleType]
    wl: ModuleType

    @property
    def location(self) -> str:
        """The directory the package was imported from, and its build."""
        package = self.modules["maple_tree"]
        return f"{os.path.dirname(package.__file__ or '?')} ({build_name(package)})"

    @classmethod
    def current(cls, label: str) -> "Checkout":
        """The package already imported (from ../src or the installed one),
        with the workloads module imported beside it."""
        import workloads
        return cls(label, {name: mod for name, mod in sys.modules.items()
                           if _is_package_module(name)}, workloads)

    @classmethod
    def load(cls, label: str, src_dir: str) -> "Checkout":
        """Import the ``maple_tree`` package found in ``src_dir``, and a fresh copy of
        workloads.py bound to it, without disturbing the package already imported."""
        src_dir = os.path.abspath(src_dir)
        if not os.path.isfile(os.path.join(src_dir, "maple_tree", "__init__.py")):
            raise SystemExit(f"--baseline: no maple_tree package in {src_dir}")
        saved = _take_package_modules()
        sys.path.insert(0, src_dir)
        try:
            importlib.import_module("maple_tree")
            name = f"workloads_{label}"
            spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "workloads.py"))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(src_dir)
            modules = _take_package_modules()
            sys.modules.update(saved)
        strays = [m.__name__ for m in modules.values()
                  if not os.path.abspath(m.__file__ or src_dir).startswith(src_dir + os.sep)]
        if strays:
            raise SystemExit(f"--baseline: {', '.join(strays)} did not come from {src_dir} "
                             "(an import hook redirects maple_tree?)")
        return cls(label, modules, module)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this package the one ``maple_tree`` names; restore the previous after.
        Modules the package imports meanwhile stay with it."""
        saved = _take_package_modules()
        sys.modules.update(self.modules)
        try:
            yield
        finally:
            self.modules = _take_package_modules()
            sys.modules.update(saved)
