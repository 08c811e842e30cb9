"""Every docstring example of the package, run against the build that is loaded.

The examples are read from the source files (``src/maple_tree/*.py``) with
``ast``, not found on the imported objects: a compiled module's functions are
not Python functions, and ``doctest``'s own finder skips them.  Each example
runs in a copy of its *loaded* module's globals, so the compiled build answers
the same examples as the pure one.
"""
from __future__ import annotations

import ast
import doctest
import importlib

import pytest

from under_test import PACKAGE_SRC

_Docstring = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def _docstrings(tree: ast.Module, module: str) -> list[tuple[str, int, str]]:
    """(qualified name, line, docstring) of the module and every class and
    function in it, nested ones included."""
    found: list[tuple[str, int, str]] = []

    def visit(node: _Docstring, name: str) -> None:
        doc = ast.get_docstring(node, clean=False)
        if doc and ">>>" in doc:
            body = node.body[0]
            found.append((name, body.lineno, doc))
        for child in node.body:
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{name}.{child.name}")

    visit(tree, module)
    return found


def _collect() -> list[tuple[str, str, int, str]]:
    out = []
    for path in sorted(PACKAGE_SRC.glob("*.py")):
        module = "maple_tree" if path.stem == "__init__" else f"maple_tree.{path.stem}"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        out += [(module, name, line, doc) for name, line, doc in _docstrings(tree, module)]
    return out


EXAMPLES = _collect()


def test_the_package_has_examples():
    assert len(EXAMPLES) >= 100
    assert {module for module, *_ in EXAMPLES} >= {"maple_tree", "maple_tree.tree",
                                                    "maple_tree.node", "maple_tree.state"}


@pytest.mark.parametrize("module,name,line,doc", EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_docstring_example(module, name, line, doc):
    loaded = importlib.import_module(module)
    globs = dict(vars(loaded))
    path = PACKAGE_SRC / (module.split(".")[-1] + ".py" if "." in module else "__init__.py")
    test = doctest.DocTestParser().get_doctest(doc, globs, name, str(path), line - 1)
    runner = doctest.DocTestRunner()
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
