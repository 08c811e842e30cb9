"""The build backend of maple-tree: setuptools, plus an optional compiled build.

``pip install .`` builds the pure-Python package.  With the environment
variable ``MAPLE_TREE_COMPILE=1`` the same modules are compiled with mypyc
into C extensions (see ``setup.py`` for which); only then does the build ask
for mypy, the compiler's package, which the installed package never imports.

Only building a wheel compiles: the hooks that list requirements or write
metadata run ``setup.py`` without extensions, and editable installs
(``pip install -e .``) always stay pure Python, since compiled modules in the
source tree would hide every later edit of the ``.py`` files.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the hooks not redefined here)

#: the compiler the compiled build was tested with
MYPYC_REQUIREMENT = "mypy==2.4.1"
#: set while a hook runs ``setup.py`` for something other than a compiled wheel
NO_EXTENSIONS = "MAPLE_TREE_NO_EXTENSIONS"


def compile_requested() -> bool:
    """True when ``MAPLE_TREE_COMPILE`` asks for the compiled build."""
    return os.environ.get("MAPLE_TREE_COMPILE", "").strip().lower() in ("1", "true", "yes")


@contextmanager
def _without_extensions() -> Iterator[None]:
    os.environ[NO_EXTENSIONS] = "1"
    try:
        yield
    finally:
        del os.environ[NO_EXTENSIONS]


def get_requires_for_build_wheel(config_settings=None):  # type: ignore[no-untyped-def]
    with _without_extensions():
        requires = _setuptools.get_requires_for_build_wheel(config_settings)
    return requires + ([MYPYC_REQUIREMENT] if compile_requested() else [])


def prepare_metadata_for_build_wheel(metadata_directory,  # type: ignore[no-untyped-def]
                                     config_settings=None):
    with _without_extensions():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def get_requires_for_build_editable(config_settings=None):  # type: ignore[no-untyped-def]
    with _without_extensions():
        return _setuptools.get_requires_for_build_editable(config_settings)


def prepare_metadata_for_build_editable(metadata_directory,  # type: ignore[no-untyped-def]
                                        config_settings=None):
    with _without_extensions():
        return _setuptools.prepare_metadata_for_build_editable(metadata_directory,
                                                               config_settings)


def build_editable(wheel_directory, config_settings=None,  # type: ignore[no-untyped-def]
                   metadata_directory=None):
    if compile_requested():
        print("maple-tree: an editable install stays pure Python "
              "(MAPLE_TREE_COMPILE applies to 'pip install .')")
    with _without_extensions():
        return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
