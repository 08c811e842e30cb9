"""MapleTree.svg / render.render_svg: the SVG picture of a tree.

The picture is checked as XML: node boxes (``<g class="node">``) and summary
boxes (``<g class="summary" data-nodes=N>``) must account for every node of
every level (``tree.stats()``), NULL slots must be cells of their own style,
kind colours and the legend must agree, big trees must stay narrow and
summarised, nothing may overlap, and the same tree gives the same bytes.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from functools import cache
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maple_tree import (
    MT_FLAGS_ALLOC_RANGE,
    ZERO_ENTRY,
    InvalidArgumentError,
    InvalidTypeError,
    MapleTree,
)
from maple_tree.node import Node
from maple_tree.render import (
    DEFAULT_MAX_NODES_PER_LEVEL,
    DEFAULT_PALETTE,
    MAX_WIDTH,
    kind_colour,
    render_svg,
)

NS = "{http://www.w3.org/2000/svg}"
KINDS = ("file", "anon", "stack", "heap", "vdso")


@cache
def spaced_tree(n: int, flags: int = 0) -> MapleTree:
    """``n`` ranges ``[10 i, 10 i + 5] -> i`` with NULL gaps between them."""
    tree = MapleTree(flags)
    for i in range(n):
        tree.store_range(10 * i, 10 * i + 5, i)
    return tree


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg"
    return root


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(NS + "g") if g.get("class") == cls]


def cells(root: ET.Element, style: str | None = None) -> list[ET.Element]:
    found = [r for r in root.iter(NS + "rect") if (r.get("class") or "").startswith("cell ")]
    return [r for r in found if style is None or r.get("class") == f"cell {style}"]


def box(group: ET.Element) -> tuple[float, float, float, float]:
    """(x, y, width, height) of a node or summary box."""
    rect = next(r for r in group.iter(NS + "rect") if r.get("class") == "box")
    return tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore


def all_nodes(tree: MapleTree) -> list[Node]:
    """Every node, level by level."""
    level = [tree._root] if isinstance(tree._root, Node) else []
    out: list[Node] = []
    while level:
        out += level
        level = [c for n in level if not n.is_leaf for c in n.slots]
    return out


def assert_counts_match(tree: MapleTree, svg: str) -> None:
    """Drawn nodes + summarised nodes == the tree's nodes, per level and in all."""
    root = parse(svg)
    drawn = Counter(int(g.get("data-depth")) for g in groups(root, "node"))
    hidden: Counter[int] = Counter()
    for g in groups(root, "summary"):
        hidden[int(g.get("data-depth"))] += int(g.get("data-nodes"))
    stats = tree.stats()
    assert {lv.depth: lv.nodes for lv in stats.levels} == {
        d: drawn[d] + hidden[d] for d in set(drawn) | set(hidden)}
    assert sum(drawn.values()) + sum(hidden.values()) == stats.nodes


# -- well-formed, counts ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 10, 100])
def test_output_is_well_formed_svg(n):
    svg = spaced_tree(n).svg(title="t")
    root = parse(svg)
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert 0 < width <= MAX_WIDTH and height > 0
    assert svg == render_svg(spaced_tree(n), title="t")


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
@pytest.mark.parametrize("n", [0, 1, 10, 100, 5000])
def test_drawn_plus_summarised_nodes_equal_the_tree_nodes(n, flags):
    tree = spaced_tree(n, flags)
    assert_counts_match(tree, tree.svg())


@pytest.mark.parametrize("limit", [3, 4, 7, 40])
def test_a_level_shows_at_most_limit_boxes(limit):
    tree = spaced_tree(5000)
    root = parse(tree.svg(max_nodes_per_level=limit))
    for level in tree.stats().levels:
        shown = [g for g in groups(root, "node") if g.get("data-depth") == str(level.depth)]
        summaries = [g for g in groups(root, "summary") if g.get("data-depth") == str(level.depth)]
        assert len(summaries) == (level.nodes > limit)
        assert len(shown) + len(summaries) == min(level.nodes, limit)


ops = st.lists(st.tuples(st.booleans(), st.integers(0, 3000), st.integers(0, 40)),
               max_size=120)


@settings(max_examples=40, deadline=None)
@given(flags=st.sampled_from([0, MT_FLAGS_ALLOC_RANGE]), op_list=ops,
       limit=st.integers(3, 8))
def test_counts_match_after_random_stores_and_erases(flags, op_list, limit):
    tree = MapleTree(flags)
    for is_store, first, length in op_list:
        if is_store:
            tree.store_range(first, first + length, first)
        else:
            tree.erase(first)
    assert_counts_match(tree, tree.svg(max_nodes_per_level=limit))


# -- cells --------------------------------------------------------------------------------------


def test_null_and_unused_slots_have_cells_of_their_own():
    tree = spaced_tree(30, MT_FLAGS_ALLOC_RANGE)
    root = parse(tree.svg())
    nodes = all_nodes(tree)
    leaf_slots = [s for n in nodes if n.is_leaf for s in n.slots[:n.end + 1]]
    assert len(cells(root, "null")) == sum(s is None for s in leaf_slots) > 0
    assert len(cells(root, "entry")) == sum(s is not None for s in leaf_slots)
    assert len(cells(root, "free")) == sum(n.capacity - n.end - 1 for n in nodes)
    assert len(cells(root, "child")) == sum(n.end + 1 for n in nodes if not n.is_leaf)
    assert {c.get("fill") for c in cells(root, "null")} == {"url(#mt-null)"}
    assert not {c.get("fill") for c in cells(root, "null")} & {
        c.get("fill") for c in cells(root) if c.get("class") != "cell null"}
    assert root.find(f".//{NS}pattern[@id='mt-null']") is not None


def test_reserved_entries_are_neither_null_nor_kinded():
    tree = MapleTree()
    tree.store_range(5, 9, ZERO_ENTRY)
    tree.store(20, 1)
    seen = []
    root = parse(tree.svg(kind=lambda e: seen.append(e) or "anon"))
    assert [c.get("class") for c in cells(root)][:5] == [
        "cell null", "cell reserved", "cell null", "cell entry", "cell null"]
    assert seen == [1]
    assert groups(root, "legend-item reserved") and legend_kinds(root) == ["anon"]


def test_box_width_is_one_cell_per_slot():
    root = parse(spaced_tree(30, MT_FLAGS_ALLOC_RANGE).svg())
    widths = {g.get("data-type"): box(g)[2] for g in groups(root, "node")}
    assert widths["leaf_64"] / widths["arange_64"] == 16 / 10
    for g in groups(root, "node"):
        assert len(cells(g)) == int(g.get("data-capacity"))


def test_allocation_trees_show_the_largest_gap():
    tree = spaced_tree(30, MT_FLAGS_ALLOC_RANGE)
    root = parse(tree.svg())
    top = next(g for g in groups(root, "node") if g.get("data-depth") == "0")
    assert int(top.get("data-gap")) == max(tree._root.gaps)
    assert all(g.get("data-gap") is not None for g in groups(root, "node"))
    assert any(t.text.startswith("gap 0x") for t in top.iter(NS + "text"))
    assert all(g.get("data-gap") is None for g in groups(parse(spaced_tree(30).svg()), "node"))


# -- kinds and the legend -------------------------------------------------------------------------


def kind_of(entry):
    return KINDS[entry % len(KINDS)] if entry % 7 else None


def legend_kinds(root: ET.Element) -> list[str]:
    return [g.get("data-kind") for g in groups(root, "legend-kind")]


@pytest.mark.parametrize("palette", [None, {"file": "#000000", "vdso": "navy"}])
def test_kind_cells_take_the_kind_colour_and_the_legend_lists_the_kinds(palette):
    tree = spaced_tree(30)
    root = parse(tree.svg(kind=kind_of, palette=palette))
    kinded = [c for c in cells(root) if c.get("data-kind")]
    assert kinded
    for c in kinded:
        assert c.get("fill") == kind_colour(c.get("data-kind"), palette)
    present = {kind_of(e) for _f, _l, e in tree} - {None}
    assert sorted(legend_kinds(root)) == sorted(present) == sorted({c.get("data-kind")
                                                                    for c in kinded})
    for g in groups(root, "legend-kind"):
        assert g.find(NS + "rect").get("fill") == kind_colour(g.get("data-kind"), palette)
    # entries of no kind keep the default colour, listed apart from the kinds
    assert len(cells(root, "entry")) - len(kinded) == sum(kind_of(e) is None for _f, _l, e in tree)
    assert groups(root, "legend-item entry")


def test_default_palette_and_deterministic_fallback():
    assert set(DEFAULT_PALETTE) == {"file", "anon", "stack", "heap"}
    assert len(set(DEFAULT_PALETTE.values())) == 4
    assert kind_colour("vdso") == kind_colour("vdso")
    assert kind_colour("vdso").startswith("#") and len(kind_colour("vdso")) == 7


def test_no_kind_no_kinds_in_the_legend():
    root = parse(spaced_tree(10).svg())
    assert legend_kinds(root) == []
    assert not [c for c in cells(root) if c.get("data-kind")]


def test_kind_is_called_only_for_drawn_entries():
    seen = []
    tree = spaced_tree(5000)
    tree.svg(kind=lambda e: seen.append(e), max_nodes_per_level=5)
    assert 0 < len(seen) < 100


# -- size and layout ------------------------------------------------------------------------------


def overlaps(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def assert_layout_clean(root: ET.Element) -> None:
    """Boxes inside the canvas and disjoint; level bands top-down, disjoint;
    every text line inside the canvas and on its own baseline in its column."""
    width, height = int(root.get("width")), int(root.get("height"))
    boxes = [(int(g.get("data-depth")), box(g)) for g in groups(root, "node") + groups(root,
                                                                                    "summary")]
    for _d, (x, y, w, h) in boxes:
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
    for i, (_d, a) in enumerate(boxes):
        assert not any(overlaps(a, b) for _e, b in boxes[i + 1:])
    depths = sorted({d for d, _b in boxes})
    for upper, lower in pairwise(depths):
        bottom = max(b[1] + b[3] for d, b in boxes if d == upper)
        assert bottom < min(b[1] for d, b in boxes if d == lower)
    for text in root.iter(NS + "text"):
        x, size = float(text.get("x")), float(text.get("font-size"))
        assert x + len(text.text) * size * 0.6 <= width
    free = [t for t in root.iter(NS + "text") if t.get("class") in ("title", "header",
                                                                    "level-label", "note")]
    spots = [(t.get("x"), t.get("y")) for t in free]
    assert len(spots) == len(set(spots))


@pytest.mark.parametrize("n", [1, 10, 100, 5000])
def test_layout_is_clean(n):
    assert_layout_clean(parse(spaced_tree(n, MT_FLAGS_ALLOC_RANGE).svg(title="x" * 500,
                                                                      kind=kind_of)))


def test_5000_entries_is_bounded_and_summarised_10_is_not():
    big = parse(spaced_tree(5000).svg())
    assert int(big.get("width")) <= MAX_WIDTH
    summaries = groups(big, "summary")
    assert summaries
    assert any(t.text.startswith("… ") and "more nodes" in t.text
               for g in summaries for t in g.iter(NS + "text"))
    assert len(groups(big, "node")) <= DEFAULT_MAX_NODES_PER_LEVEL * spaced_tree(5000).height
    small = parse(spaced_tree(10).svg())
    assert groups(small, "summary") == []
    assert len(groups(small, "node")) == spaced_tree(10).stats().nodes


def test_header_line():
    tree = spaced_tree(100, MT_FLAGS_ALLOC_RANGE)
    root = parse(tree.svg(title="<a & b>"))
    title = next(t for t in root.iter(NS + "text") if t.get("class") == "title")
    header = next(t for t in root.iter(NS + "text") if t.get("class") == "header")
    assert title.text == "<a & b>" and root.find(NS + "title").text == "<a & b>"
    s = tree.stats()
    assert header.text == (f"height {s.height} · 100 entries · {s.nodes} nodes · "
                           f"flags 0x1 (ALLOC_RANGE)")


# -- small trees, determinism, arguments --------------------------------------------------------


def test_empty_tree_and_root_entry():
    empty = parse(MapleTree().svg())
    assert groups(empty, "node") == [] and cells(empty) == []
    assert any("empty tree" in t.text for t in empty.iter(NS + "text"))
    tree = MapleTree()
    tree.store(0, 7)
    root = parse(tree.svg(kind=lambda e: "heap"))
    assert groups(root, "node") == []
    assert [c.get("data-kind") for c in cells(root)] == ["heap"]
    assert legend_kinds(root) == ["heap"]
    texts = [t.text for t in root.iter(NS + "text")]
    assert "height 0 · 1 entry · 0 nodes · flags 0x0" in texts
    assert any("root pointer" in t for t in texts)
    assert_layout_clean(root)


def test_same_tree_same_bytes():
    tree = spaced_tree(100, MT_FLAGS_ALLOC_RANGE)
    once = tree.svg(kind=kind_of, title="t")
    assert tree.svg(kind=kind_of, title="t") == once
    assert tree.dup().svg(kind=kind_of, title="t") == once


@pytest.mark.parametrize("kwargs,error", [
    ({"title": 5}, InvalidTypeError),
    ({"kind": "file"}, InvalidTypeError),
    ({"palette": ["file"]}, InvalidTypeError),
    ({"palette": {"file": 3}}, InvalidTypeError),
    ({"palette": {1: "red"}}, InvalidTypeError),
    ({"palette": {"file": '"/><script>'}}, InvalidArgumentError),
    ({"max_nodes_per_level": 2}, InvalidArgumentError),
    ({"max_nodes_per_level": "4"}, InvalidTypeError),
    ({"max_nodes_per_level": True}, InvalidTypeError),
    ({"max_nodes_per_level": 4.0}, InvalidTypeError),
    ({"kind": lambda e: 3}, InvalidTypeError),
])
def test_bad_arguments_raise_the_package_errors(kwargs, error):
    with pytest.raises(error):
        spaced_tree(10).svg(**kwargs)
    with pytest.raises(error):
        render_svg(spaced_tree(10), **kwargs)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        spaced_tree(10).svg("title")  # type: ignore[misc]
