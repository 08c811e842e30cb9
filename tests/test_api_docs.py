"""Run every ```pycon block of docs/api.md, architecture.md, building.md and mm.md with doctest,
so the pages cannot drift from the code.

Each block runs on its own, in fresh globals holding ``from maple_tree import *``
(the page says so); doctest options: ELLIPSIS (only where a block enables it with
a directive) and the usual exception matching.
"""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC = DOCS / "api.md"
PAGES = [DOC, DOCS / "architecture.md", DOCS / "building.md"]
#: pages whose blocks form one session: each block goes on from the one before
SESSION_PAGES = [DOCS / "mm.md"]

_BLOCK = re.compile(r"^```pycon[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def _blocks(page: Path = DOC) -> list[tuple[int, str]]:
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start()) + 2  # first line of the block body
        out.append((line, m.group(1)))
    return out


BLOCKS = _blocks()
ALL = [(page, line, body) for page in PAGES for line, body in _blocks(page)]


def test_the_page_has_examples():
    assert len(BLOCKS) >= 30
    assert all(">>> " in body for _line, body in BLOCKS)
    # every fence is closed: as many ``` openers as closers
    text = DOC.read_text(encoding="utf-8")
    assert len(re.findall(r"^```pycon", text, re.M)) == len(BLOCKS)


@pytest.mark.parametrize("page,line,body", ALL, ids=[f"{p.name}:{ln}" for p, ln, _b in ALL])
def test_api_md_example(page, line, body):
    globs: dict = {}
    exec("from maple_tree import *", globs)
    _run_block(page, line, body, globs)


@pytest.mark.parametrize("page", SESSION_PAGES, ids=lambda p: p.name)
def test_session_page_examples(page):
    """The blocks of a session page run in order in one namespace."""
    blocks = _blocks(page)
    assert len(blocks) >= 3
    globs: dict = {}
    exec("from maple_tree import *", globs)
    for line, body in blocks:
        _run_block(page, line, body, globs)


def _run_block(page: Path, line: int, body: str, globs: dict) -> None:
    """Run one pycon block with doctest in ``globs``; fail with doctest's report."""
    parser = doctest.DocTestParser()
    test = parser.get_doctest(body, globs, f"{page.name}:{line}", str(page), line - 1)
    assert test.examples, "empty pycon block"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    out: list[str] = []
    runner.run(test, out=out.append, clear_globs=False)
    globs.update(test.globs)  # the DocTest ran on a copy: keep what it defined
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(out)


_PY_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def test_concurrency_page_example_runs():
    """The reader/writer example of docs/concurrency.md runs as written (its
    readers assert what they read) and leaves a valid tree."""
    import threading
    blocks = _PY_BLOCK.findall((DOCS / "concurrency.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1
    namespace: dict = {}
    failures: list = []
    old_hook = threading.excepthook
    threading.excepthook = failures.append  # a reader's failed assert ends its thread only
    try:
        exec(compile(blocks[0], "concurrency.md", "exec"), namespace)
    finally:
        threading.excepthook = old_hook
    assert not failures, [f.exc_value for f in failures]
    tree = namespace["tree"]   # range 123 ends split in two by the cursor's store
    assert tree.in_rcu and len(tree) == 1001 and tree.load(1234) == ("range", 123)
