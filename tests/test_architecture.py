"""The package's layering: who may import whom, no cycles, imports at the top.

``LAYERS`` is the architecture of ``src/maple_tree`` (docs/architecture.md
draws it): a module may import modules of its own layer or of the layers
below, never above, and the import graph has no cycle.  Imports sit at module
level only, so no call pays for the import machinery.  ``python
tests/test_architecture.py`` prints the table that docs/architecture.md shows.
"""
from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "maple_tree"

#: bottom up: (layer name, modules); a module imports only from its layer and below
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("kernel numbers, errors, entries, argument checks",
     ("constants", "errors", "entries", "args")),
    ("nodes and the tree's core fields", ("node", "core")),
    ("walking, gap upkeep and lock-free reads", ("walk", "gaps", "rcu")),
    ("the write engine", ("bignode", "install", "split", "rebalance", "write")),
    ("the cursor and what uses it", ("cursor", "stepping", "gapsearch", "cursorwrite", "alloc",
                                     "state")),
    ("whole-tree views, copies, building and statistics",
     ("validate", "dump", "structure", "dup", "build", "stats", "render")),
    ("the normal API", ("tree", "__init__")),
    ("address spaces on the public API", ("vma", "procmaps", "mm")),
    ("tools on the public API", ("traces", "cli_mm", "cli", "__main__")),
]
RANK = {mod: rank for rank, (_name, mods) in enumerate(LAYERS) for mod in mods}
#: what the address-space layer may import: the public API and its own modules
MM_MAY_USE = {"__init__", "vma", "procmaps", "mm"}
#: what the tools may import besides the package itself (``from . import ...``)
TOOLS_MAY_USE = {"__init__", "constants", "node", "traces", "cli_mm", "cli"} | MM_MAY_USE


def imports_of(path: Path) -> tuple[set[str], list[int]]:
    """The package modules ``path`` imports, and the line numbers of imports
    that are not at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deps: set[str] = set()
    nested: list[int] = []
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
            nested.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            deps.add(node.module.split(".")[0] if node.module else "__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("maple_tree"):
            parts = (node.module or "").split(".")
            deps.add(parts[1] if len(parts) > 1 else "__init__")
    return deps, nested


def import_graph() -> dict[str, set[str]]:
    """Module name -> the package modules it imports."""
    return {p.stem: imports_of(p)[0] for p in sorted(PKG.glob("*.py"))}


def test_every_module_has_a_layer():
    assert set(import_graph()) == set(RANK)


def test_no_import_cycle():
    graphlib.TopologicalSorter(import_graph()).prepare()  # raises CycleError


@pytest.mark.parametrize("module", sorted(RANK))
def test_imports_only_from_its_layer_or_below(module):
    deps, nested = imports_of(PKG / f"{module}.py")
    up = sorted(d for d in deps if RANK[d] > RANK[module])
    assert not up, f"{module} (layer {RANK[module]}) imports {up} from above"
    assert not nested, f"{module}: imports inside functions at lines {nested}"


@pytest.mark.parametrize("tool", LAYERS[-1][1])
def test_tools_use_the_public_api(tool):
    deps, _ = imports_of(PKG / f"{tool}.py")
    assert deps <= TOOLS_MAY_USE, f"{tool} reaches into {sorted(deps - TOOLS_MAY_USE)}"


@pytest.mark.parametrize("module", LAYERS[-2][1])
def test_address_spaces_use_the_public_api(module):
    deps, _ = imports_of(PKG / f"{module}.py")
    assert deps <= MM_MAY_USE, f"{module} reaches into {sorted(deps - MM_MAY_USE)}"


def test_import_graph_catches_a_cycle(tmp_path, monkeypatch):
    """The checks above can fail: a two-module cycle is reported."""
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("from .a import y\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", tmp_path)
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter(import_graph()).prepare()
    (tmp_path / "c.py").write_text("def f():\n    from .a import y\n")
    assert imports_of(tmp_path / "c.py")[1] == [2]


def layer_table() -> str:
    """The markdown table of docs/architecture.md: each layer, its modules and
    what each module imports from the package."""
    graph = import_graph()
    rows = ["| layer | module | imports from the package |", "|---|---|---|"]
    for rank in range(len(LAYERS) - 1, -1, -1):
        name, mods = LAYERS[rank]
        for i, mod in enumerate(mods):
            deps = ", ".join(f"`{d}`" for d in sorted(graph[mod], key=lambda d: (RANK[d], d)))
            layer = f"{rank}: {name}" if i == 0 else ""
            rows.append(f"| {layer} | `{mod}` | {deps or '-'} |")
    return "\n".join(rows)


def test_architecture_doc_shows_the_current_table():
    doc = (PKG.parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert layer_table() in doc, "regenerate with: python tests/test_architecture.py"


if __name__ == "__main__":
    print(layer_table())
