"""The build backend of maple-tree: setuptools, plus an optional compiled build.

``pip install .`` builds the pure-Python package.  With the environment
variable ``MAPLE_TREE_COMPILE=1`` the same modules are compiled with mypyc
into C extensions (see ``setup.py`` for which); only then does the build ask
for mypy, the compiler's package, which the installed package never imports.

Editable installs (``pip install -e .``) always stay pure Python: compiled
modules in the source tree would hide every later edit of the ``.py`` files.
"""
from __future__ import annotations

import os

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the hooks not redefined here)

#: the compiler the compiled build was tested with
MYPYC_REQUIREMENT = "mypy==2.4.1"


def compile_requested() -> bool:
    """True when ``MAPLE_TREE_COMPILE`` asks for the compiled build."""
    return os.environ.get("MAPLE_TREE_COMPILE", "").strip().lower() in ("1", "true", "yes")


def get_requires_for_build_wheel(config_settings=None):  # type: ignore[no-untyped-def]
    if not compile_requested():
        return _setuptools.get_requires_for_build_wheel(config_settings)
    # setuptools runs setup.py to list its requirements, before mypy is there
    os.environ["MAPLE_TREE_LISTING_REQUIREMENTS"] = "1"
    try:
        return _setuptools.get_requires_for_build_wheel(config_settings) + [MYPYC_REQUIREMENT]
    finally:
        del os.environ["MAPLE_TREE_LISTING_REQUIREMENTS"]


def build_editable(wheel_directory, config_settings=None,  # type: ignore[no-untyped-def]
                   metadata_directory=None):
    if compile_requested():
        print("maple-tree: an editable install stays pure Python "
              "(MAPLE_TREE_COMPILE applies to 'pip install .')")
    os.environ["MAPLE_TREE_COMPILE"] = "0"
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
