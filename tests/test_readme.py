"""The README's Python examples run, and say what they print.

Each ```python block of README.md runs statement by statement (the blocks share
one namespace, in order).  An expression statement whose line ends in a comment
that starts with a Python literal -- ``t.load(15)   # 'a'`` -- must evaluate to
that literal; the rest of the comment is prose.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_NO_VALUE = object()


def literal_prefix(comment: str) -> Any:
    """The longest leading part of ``comment`` that is a Python literal, or
    ``_NO_VALUE``: ``"(1, 2): prose"`` -> ``(1, 2)``."""
    for end in range(len(comment), 0, -1):
        try:
            return ast.literal_eval(comment[:end].strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
    return _NO_VALUE


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_readme_has_examples():
    assert len(blocks()) >= 3


def test_readme_examples_run_and_print_what_they_say(capsys):
    namespace: dict[str, Any] = {}
    checked = 0
    for block in blocks():
        lines = block.splitlines()
        for stmt in ast.parse(block).body:
            source = ast.get_source_segment(block, stmt)
            assert source is not None
            line = lines[stmt.end_lineno - 1]
            comment = line.split("  # ", 1)[1] if "  # " in line else ""
            if isinstance(stmt, ast.Expr) and comment:
                want = literal_prefix(comment)
                got = eval(compile(ast.Expression(stmt.value), "README.md", "eval"), namespace)
                if want is not _NO_VALUE and got is not None:
                    assert got == want, f"README: {source!r} gives {got!r}, says {want!r}"
                    checked += 1
            else:
                exec(compile(ast.Module([stmt], []), "README.md", "exec"), namespace)
    assert checked >= 12
    assert capsys.readouterr().out.startswith("17\n")


@pytest.mark.parametrize("comment,value", [("17 (EEXIST)", 17), ("None", None),
                                           ("[(1, 2)]: prose", [(1, 2)]), ("prose", _NO_VALUE)])
def test_literal_prefix(comment, value):
    assert literal_prefix(comment) == value
