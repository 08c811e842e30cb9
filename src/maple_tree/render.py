"""An SVG picture of a tree: one band per level, one box per node, one cell per slot.

:func:`render_svg` draws, top to bottom:

* the title (optional) and a header line: height, entries (``len``), node
  count and flags;
* one band per level, depth 0 (the root) at the top, labelled on the left
  with its depth, node count, node type and fill (used slots / capacity);
* in each band, one box per node, left to right in key order, wrapping onto
  further lines when the canvas is full.  A box is one cell per slot of its
  type, so a 16-slot ``leaf_64`` / ``range_64`` box is 1.6 times as wide as a
  10-slot ``arange_64`` box.  Above the cells: the node's range (min, then
  ``–max``, hex); below them: its fill (used / capacity) and, in an
  allocation tree, its largest gap (``gaps`` of an ``arange_64`` node, the
  largest NULL range of a leaf);
* the cells: a used slot is filled, a child slot of an internal node in
  grey-blue, a leaf entry in the default entry colour or, with ``kind=``, in
  the colour of the entry's kind; a NULL slot is hatched pale grey; a
  reserved entry (``ZERO_ENTRY``) is pale yellow; a slot past the node's end
  (unused capacity) is white;
* a level of more than ``max_nodes_per_level`` nodes shows its first and
  last nodes and, between them, one dashed summary box for the rest
  ("… 412 more nodes …" with their fill and range), so the picture stays
  readable at any size: the canvas is never wider than :data:`MAX_WIDTH`;
* a legend: the kinds drawn with their colours, then the cell styles drawn.

Every node box is a ``<g class="node">`` carrying ``data-depth``,
``data-min``, ``data-max`` (decimal), ``data-type``, ``data-slots-used``,
``data-capacity`` and, in an allocation tree, ``data-gap``; every summary box
is a ``<g class="summary">`` with ``data-depth`` and ``data-nodes`` (how many
nodes it stands for).  The SVG text is written directly (no dependency) and
is deterministic: the same tree gives the same bytes.

>>> from maple_tree import MapleTree
>>> t = MapleTree()
>>> for i in range(10):
...     t.store_range(10 * i, 10 * i + 5, i)
>>> svg = render_svg(t, title="ten ranges")
>>> svg.startswith("<svg"), svg.count('class="node"'), svg.count('class="summary"')
(True, 3, 0)
"""
from __future__ import annotations

import colorsys
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias
from xml.sax.saxutils import escape

from .args import show
from .constants import (
    ARANGE_64,
    LEAF_64,
    MT_FLAGS_ALLOC_RANGE,
    MT_FLAGS_ALLOC_WRAPPED,
    MT_FLAGS_LOCK_BH,
    MT_FLAGS_LOCK_EXTERN,
    MT_FLAGS_LOCK_IRQ,
    MT_FLAGS_LOCK_MASK,
    MT_FLAGS_USE_RCU,
    MT_SLOTS,
    TYPE_NAMES,
    ULONG_MAX,
)
from .core import TreeCore
from .entries import InternalEntry
from .errors import InvalidArgumentError, InvalidTypeError
from .node import Node, RootEntry, leaf_max_gap

__all__ = ["DEFAULT_MAX_NODES_PER_LEVEL", "DEFAULT_PALETTE", "MAX_WIDTH", "KindFn",
           "kind_colour", "render_svg"]

#: a ``kind`` callback: entry -> kind name, or None for the default colour
KindFn: TypeAlias = Callable[[Any], "str | None"]

#: the canvas is never wider than this (pixels)
MAX_WIDTH: Final = 2400
#: a level with more nodes shows its first and last ones and one summary box
DEFAULT_MAX_NODES_PER_LEVEL: Final = 40
#: the smallest ``max_nodes_per_level``: one first node, a summary, one last node
MIN_NODES_PER_LEVEL: Final = 3
#: the colours of the usual VMA kinds; other names get :func:`kind_colour`'s hue
DEFAULT_PALETTE: Final[Mapping[str, str]] = {
    "file": "#4e79a7", "anon": "#f28e2b", "stack": "#e15759", "heap": "#59a14f"}

# geometry (pixels); every text is monospace, a character is CHAR_EM font sizes wide
_MARGIN = 16
_LABEL_W = 92  # the level labels' column
_CELL_W = 13
_CELL_H = 14
_CELLS_Y = 26  # the cell row's offset in a box
_BOX_H = 66
_GAP_X = 10
_PITCH = _BOX_H + 12  # from one line of boxes to the next
_LEVEL_GAP = 16
_SUMMARY_W = 16 * _CELL_W
_MIN_WIDTH = 420
_CHAR_EM = 0.6
_FONT = 9  # node boxes
_LABEL_FONT = 10
_HEAD_FONT = 11
_TITLE_FONT = 16
_FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"

# cell and box colours
_ENTRY = "#76b7b2"
_CHILD = "#a9b8cc"
_RESERVED = "#f3e3a0"
_FREE = "#ffffff"
_NULL = "url(#mt-null)"
_BOX_FILL = "#fbfbfb"
_STROKE = "#555555"
_CELL_STROKE = "#c4c4c4"
_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,30}|(rgb|rgba|hsl|hsla)\([0-9.,%\s]*\)")
_FLAG_NAMES = ((MT_FLAGS_ALLOC_RANGE, "ALLOC_RANGE"), (MT_FLAGS_USE_RCU, "USE_RCU"),
               (MT_FLAGS_ALLOC_WRAPPED, "ALLOC_WRAPPED"))
_LOCK_NAMES = {MT_FLAGS_LOCK_IRQ: "LOCK_IRQ", MT_FLAGS_LOCK_BH: "LOCK_BH",
               MT_FLAGS_LOCK_EXTERN: "LOCK_EXTERN"}
#: the hatching of NULL cells
_NULL_PATTERN = ('<defs><pattern id="mt-null" patternUnits="userSpaceOnUse" width="5" height="5" '
                 'patternTransform="rotate(45)"><rect width="5" height="5" fill="#efefef"/>'
                 '<line x1="0" y1="0" x2="0" y2="5" stroke="#b3b3b3" stroke-width="2"/>'
                 "</pattern></defs>")
#: legend order and labels of the cell styles other than kinds
_STYLES = (("entry", _ENTRY, "entry (no kind)"), ("child", _CHILD, "child node"),
           ("null", _NULL, "NULL"), ("reserved", _RESERVED, "reserved entry"),
           ("free", _FREE, "unused slot"))


# -- arguments ---------------------------------------------------------------------------------


def _check_title(title: Any) -> str | None:
    """``title`` is None or a str.  O(1)."""
    if title is not None and not isinstance(title, str):
        raise InvalidTypeError(f"title must be a str or None, not {type(title).__name__} "
                               f"{show(title)}")
    return title


def _check_kind(kind: Any) -> KindFn | None:
    """``kind`` is None or callable.  O(1)."""
    if kind is not None and not callable(kind):
        raise InvalidTypeError(f"kind must be a callable or None, not {type(kind).__name__} "
                               f"{show(kind)}")
    return kind  # type: ignore[no-any-return]


def _check_palette(palette: Any) -> dict[str, str]:
    """``palette`` is None or a mapping of str kind names to colours
    (``#rgb`` / ``#rrggbb`` hex, a colour keyword or ``rgb(...)``).
    O(len(palette))."""
    if palette is None:
        return {}
    if not isinstance(palette, Mapping):
        raise InvalidTypeError(f"palette must be a mapping of kind names to colours or None, "
                               f"not {type(palette).__name__} {show(palette)}")
    checked: dict[str, str] = {}
    for name, colour in palette.items():
        if not isinstance(name, str) or not isinstance(colour, str):
            raise InvalidTypeError(f"palette maps str kind names to str colours, not "
                                   f"{show(name)} -> {show(colour)}")
        if not _COLOUR.fullmatch(colour):
            raise InvalidArgumentError(f"palette colour {colour!r} of kind {name!r} is not "
                                       f"'#rrggbb', a colour name or rgb(...)")
        checked[name] = colour
    return checked


def _check_limit(limit: Any) -> int:
    """``max_nodes_per_level`` is an int (not bool) >= MIN_NODES_PER_LEVEL.  O(1)."""
    if limit.__class__ is bool or not isinstance(limit, int):
        raise InvalidTypeError(f"max_nodes_per_level must be an int, not "
                               f"{type(limit).__name__} {show(limit)}")
    if limit < MIN_NODES_PER_LEVEL:
        raise InvalidArgumentError(f"max_nodes_per_level must be >= {MIN_NODES_PER_LEVEL} (a "
                                   f"first node, a summary, a last node), not {limit}")
    return int(limit)


# -- colours and the legend ----------------------------------------------------------------------


def kind_colour(name: str, palette: Mapping[str, str] | None = None) -> str:
    """The colour of kind ``name``: ``palette``'s, else :data:`DEFAULT_PALETTE`'s,
    else a hue fixed by the name's CRC-32 (the same in every run).  O(len(name)).

    >>> kind_colour("file"), kind_colour("file", {"file": "navy"})
    ('#4e79a7', 'navy')
    >>> kind_colour("vdso") == kind_colour("vdso") != kind_colour("vvar")
    True
    """
    if palette and name in palette:
        return palette[name]
    if name in DEFAULT_PALETTE:
        return DEFAULT_PALETTE[name]
    hue = zlib.crc32(name.encode("utf-8")) % 360 / 360
    red, green, blue = colorsys.hls_to_rgb(hue, 0.55, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


class _Paint:
    """Picks each cell's style and colour, and remembers what it drew for the
    legend: the kinds and the styles."""

    def __init__(self, kind: KindFn | None, palette: dict[str, str]) -> None:
        self.kind = kind
        self.palette = palette
        self.kinds: set[str] = set()
        self.styles: set[str] = set()

    def style(self, style: str, fill: str) -> tuple[str, str, str | None]:
        """(style, fill, kind None) of a cell, noted for the legend.  O(1)."""
        self.styles.add(style)
        return style, fill, None

    def entry(self, entry: Any) -> tuple[str, str, str | None]:
        """(style, fill, kind) of a leaf slot holding ``entry``; calls ``kind``
        for an entry that is neither NULL nor reserved.  O(1) + the callback."""
        if entry is None:
            return self.style("null", _NULL)
        if entry.__class__ is InternalEntry:
            return self.style("reserved", _RESERVED)
        name = self.kind(entry) if self.kind is not None else None
        if name is None:
            return self.style("entry", _ENTRY)
        if not isinstance(name, str):
            raise InvalidTypeError(f"kind() must return a str or None, not "
                                   f"{type(name).__name__} {show(name)} (for entry {show(entry)})")
        self.kinds.add(name)
        return "entry", kind_colour(name, self.palette), name


# -- the levels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """A node and its bounds ``[lo, hi]``."""

    node: Node
    lo: int
    hi: int


@dataclass(frozen=True)
class _Hidden:
    """The nodes a summary box stands for: count, slots used, capacity, range."""

    nodes: int
    used: int
    capacity: int
    lo: int
    hi: int


@dataclass(frozen=True)
class _Level:
    """One level: its totals and what its band shows (nodes and at most one summary)."""

    depth: int
    nodes: int
    used: int
    capacity: int
    types: str
    items: list[_At | _Hidden]


def _children(at: _At) -> Iterator[_At]:
    """The child nodes of an internal node, with their bounds.  O(slots)."""
    lo = at.lo
    for child, hi in zip(at.node.slots, at.node.pivots):
        yield _At(child, lo, hi)
        lo = hi + 1


def _node_levels(root: Node) -> Iterator[list[_At]]:
    """Every level of the tree under ``root``, top down, nodes in key order.  O(n)."""
    level = [_At(root, 0, ULONG_MAX)]
    while level:
        yield level
        if level[0].node.type == LEAF_64:
            return
        level = [child for at in level for child in _children(at)]


def _summarise(hidden: list[_At]) -> _Hidden:
    """The totals of the nodes a summary box stands for.  O(len(hidden))."""
    return _Hidden(len(hidden), sum(at.node.end + 1 for at in hidden),
                   sum(MT_SLOTS[at.node.type] for at in hidden), hidden[0].lo, hidden[-1].hi)


def _shown(level: list[_At], limit: int) -> list[_At | _Hidden]:
    """All of a level's nodes if there are at most ``limit``, else the first
    and last ones (``limit - 1`` in all) around one summary.  O(len(level))."""
    if len(level) <= limit:
        return list(level)
    tail = (limit - 1) // 2
    head = limit - 1 - tail
    return [*level[:head], _summarise(level[head:len(level) - tail]), *level[len(level) - tail:]]


def _plan(depth: int, level: list[_At], limit: int) -> _Level:
    """A level's totals and the items its band shows.  O(len(level))."""
    names = sorted({TYPE_NAMES.get(at.node.type, str(at.node.type)) for at in level})
    return _Level(depth, len(level), sum(at.node.end + 1 for at in level),
                  sum(MT_SLOTS[at.node.type] for at in level), "/".join(names),
                  _shown(level, limit))


def _plans(root: Node | RootEntry | None, limit: int) -> list[_Level]:
    """The plan of every level; none without a root node.  O(n)."""
    if not isinstance(root, Node):
        return []
    return [_plan(depth, level, limit) for depth, level in enumerate(_node_levels(root))]


# -- SVG text ------------------------------------------------------------------------------------


def _attrs(**values: object) -> str:
    """``name="value"`` pairs, escaped; ``data_x`` becomes ``data-x`` and
    ``class_`` ``class``.  O(len)."""
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v), {chr(34): "&quot;"})}"'
                    for k, v in values.items())


def _element(tag: str, body: str | None = None, **attrs: object) -> str:
    """``<tag attrs/>``, or ``<tag attrs>body</tag>`` (``body`` is SVG, not escaped).  O(len)."""
    if body is None:
        return f"<{tag} {_attrs(**attrs)}/>"
    return f"<{tag} {_attrs(**attrs)}>{body}</{tag}>"


def _text(x: float, y: float, text: str, size: int, **extra: object) -> str:
    """One ``<text>`` element with its baseline at ``y``.  O(len(text))."""
    return f"<text {_attrs(x=x, y=y, font_size=size, **extra)}>{escape(text)}</text>"


def _text_width(text: str, size: int) -> int:
    """The width of monospace ``text`` at font ``size``, rounded up.  O(1)."""
    return int(len(text) * size * _CHAR_EM) + 1


def _fit(text: str, size: int, width: int) -> str:
    """``text``, cut with ``…`` to at most ``width`` pixels.  O(len(text))."""
    chars = max(int(width / (size * _CHAR_EM)), 1)
    return text if len(text) <= chars else text[:chars - 1] + "…"


# -- node boxes ----------------------------------------------------------------------------------


def _cell(x: int, y: int, style: str, fill: str, kind: str | None, tip: str) -> str:
    """One slot's cell, with a tooltip naming its range and contents.  O(1)."""
    extra = {"data_kind": kind} if kind is not None else {}
    return _element("rect", f"<title>{escape(tip)}</title>", class_=f"cell {style}", x=x, y=y,
                    width=_CELL_W, height=_CELL_H, fill=fill, stroke=_CELL_STROKE,
                    stroke_width=0.5, **extra)


def _slot_style(at: _At, i: int, paint: _Paint) -> tuple[str, str, str | None]:
    """The style, fill and kind of slot ``i`` of ``at``'s node.  O(1)."""
    node = at.node
    if i > node.end:
        return paint.style("free", _FREE)
    if node.type != LEAF_64:
        return paint.style("child", _CHILD)
    return paint.entry(node.slots[i])


def _slot_tip(at: _At, i: int, style: str, kind: str | None) -> str:
    """A cell's tooltip: slot number, range and what it holds.  O(1)."""
    node = at.node
    if i > node.end:
        return f"slot {i}: unused"
    lo = at.lo if i == 0 else node.pivots[i - 1] + 1
    what = kind if kind is not None else style
    return f"slot {i}: {lo:#x}–{node.pivots[i]:#x} {what}"


def _cells(at: _At, x: int, y: int, paint: _Paint) -> list[str]:
    """The cells of a node box, one per slot of its type.  O(slots)."""
    out = []
    for i in range(MT_SLOTS[at.node.type]):
        style, fill, kind = _slot_style(at, i, paint)
        out.append(_cell(x + i * _CELL_W, y + _CELLS_Y, style, fill, kind,
                         _slot_tip(at, i, style, kind)))
    return out


def _gap(at: _At) -> int:
    """The largest gap under ``at``'s node (stored gaps, or the leaf's NULL
    ranges).  O(slots)."""
    if at.node.type == ARANGE_64:
        return max(at.node.gaps or (0,))
    return leaf_max_gap(at.node, at.lo) if at.node.type == LEAF_64 else 0


def _node_box(at: _At, depth: int, x: int, y: int, alloc: bool, paint: _Paint) -> list[str]:
    """One node: its ``<g class="node">`` with box, range, cells, fill and
    (allocation trees) largest gap.  O(slots)."""
    node = at.node
    capacity = MT_SLOTS[node.type]
    data: dict[str, object] = {
        "data_depth": depth, "data_min": at.lo, "data_max": at.hi,
        "data_type": TYPE_NAMES.get(node.type, str(node.type)),
        "data_slots_used": node.end + 1, "data_capacity": capacity}
    lines = [f"{at.lo:#x}", f"–{at.hi:#x}", "", f"fill {node.end + 1}/{capacity}"]
    if alloc:
        data["data_gap"] = _gap(at)
        lines.append(f"gap {_gap(at):#x}")
    out = [f'<g {_attrs(class_="node", **data)}>',
           _element("rect", class_="box", x=x, y=y, width=capacity * _CELL_W, height=_BOX_H,
                    fill=_BOX_FILL, stroke=_STROKE)]
    out += _box_lines(lines, x, y, capacity * _CELL_W)
    out += _cells(at, x, y, paint)
    out.append("</g>")
    return out


def _box_lines(lines: list[str], x: int, y: int, width: int) -> list[str]:
    """Text lines of a box at fixed baselines (two above the cells, two
    below); empty lines are skipped.  O(total length)."""
    baselines = (11, 22, _CELLS_Y + _CELL_H, 51, 62)
    return [_text(x + 3, y + base, _fit(line, _FONT, width - 5), _FONT)
            for line, base in zip(lines, baselines) if line]


def _summary_box(hidden: _Hidden, depth: int, x: int, y: int) -> list[str]:
    """The dashed box standing for ``hidden.nodes`` nodes.  O(1)."""
    lines = [f"… {hidden.nodes:,} more nodes …",
             f"fill {_percent(hidden.used, hidden.capacity)} ({hidden.used:,}/{hidden.capacity:,})",
             "", f"{hidden.lo:#x}", f"–{hidden.hi:#x}"]
    data = _attrs(class_="summary", data_depth=depth, data_nodes=hidden.nodes,
                  data_slots_used=hidden.used, data_capacity=hidden.capacity,
                  data_min=hidden.lo, data_max=hidden.hi)
    box = _attrs(class_="box", x=x, y=y, width=_SUMMARY_W, height=_BOX_H, fill="#f2f2f2",
                 stroke=_STROKE, stroke_dasharray="4 3")
    return [f"<g {data}>", f"<rect {box}/>", *_box_lines(lines, x, y, _SUMMARY_W), "</g>"]


# -- layout --------------------------------------------------------------------------------------


def _width_of(item: _At | _Hidden) -> int:
    """A box's width: one cell per slot of its node type; a summary's is fixed."""
    return MT_SLOTS[item.node.type] * _CELL_W if isinstance(item, _At) else _SUMMARY_W


def _flow(widths: list[int], left: int, right: int) -> list[tuple[int, int]]:
    """(x, line) of boxes of ``widths`` placed left to right from ``left``,
    starting a new line before a box that would pass ``right``.  O(len(widths))."""
    spots = []
    x, line = left, 0
    for width in widths:
        if x > left and x + width > right:
            x, line = left, line + 1
        spots.append((x, line))
        x += width + _GAP_X
    return spots


def _level_label(level: _Level, y: int) -> list[str]:
    """The level's label in the left column: depth, nodes, type, fill.  O(1)."""
    lines = [f"depth {level.depth}", _count(level.nodes, "node", "nodes"), level.types,
             f"fill {_percent(level.used, level.capacity)}"]
    return [_text(_MARGIN, y + 12 + 13 * i, _fit(line, _LABEL_FONT, _LABEL_W - 6), _LABEL_FONT,
                  class_="level-label") for i, line in enumerate(lines)]


def _level_band(level: _Level, y: int, alloc: bool, paint: _Paint) -> tuple[list[str], int, int]:
    """A level's band at ``y``: (SVG lines, band height, right edge).  O(boxes shown)."""
    spots = _flow([_width_of(item) for item in level.items], _MARGIN + _LABEL_W,
                  MAX_WIDTH - _MARGIN)
    out = [f'<g {_attrs(class_="level", data_depth=level.depth, data_nodes=level.nodes)}>',
           *_level_label(level, y)]
    for item, (x, line) in zip(level.items, spots):
        top = y + line * _PITCH
        if isinstance(item, _At):
            out += _node_box(item, level.depth, x, top, alloc, paint)
        else:
            out += _summary_box(item, level.depth, x, top)
    out.append("</g>")
    right = max(x + _width_of(item) for item, (x, _line) in zip(level.items, spots))
    return out, (spots[-1][1] + 1) * _PITCH - (_PITCH - _BOX_H), right


def _levels_svg(levels: list[_Level], y: int, alloc: bool,
                paint: _Paint) -> tuple[list[str], int, int, list[int]]:
    """Every level band from ``y`` down: (SVG lines, bottom y, right edge,
    the y of a rule between each two bands).  O(boxes shown)."""
    out: list[str] = []
    rules: list[int] = []
    right = 0
    for level in levels:
        if level.depth:
            rules.append(y - _LEVEL_GAP // 2)
        band, height, edge = _level_band(level, y, alloc, paint)
        out += band
        right = max(right, edge)
        y += height + _LEVEL_GAP
    return out, y - _LEVEL_GAP, right, rules


def _rules(ys: list[int], width: int) -> list[str]:
    """Pale horizontal lines across the canvas between level bands.  O(len(ys))."""
    return [_element("line", class_="rule", x1=_MARGIN, y1=y, x2=width - _MARGIN, y2=y,
                     stroke="#dddddd") for y in ys]


# -- header, note, legend ------------------------------------------------------------------------


def _flag_text(flags: int) -> str:
    """``flags`` in hex with the names of its bits.  O(1)."""
    names = [name for bit, name in _FLAG_NAMES if flags & bit]
    if flags & MT_FLAGS_LOCK_MASK:
        names.append(_LOCK_NAMES[flags & MT_FLAGS_LOCK_MASK])
    return f"flags {flags:#x}" + (f" ({' | '.join(names)})" if names else "")


def _header_text(tree: TreeCore, levels: list[_Level]) -> str:
    """The header line: height, entries, nodes, flags.  O(height)."""
    nodes = sum(level.nodes for level in levels)
    return (f"height {tree._height} · {_count(tree._entries, 'entry', 'entries')} · "
            f"{_count(nodes, 'node', 'nodes')} · {_flag_text(tree._flags)}")


def _count(n: int, one: str, many: str) -> str:
    """``n`` and the noun, singular or plural.  O(1).

    >>> _count(1, "node", "nodes"), _count(5000, "entry", "entries")
    ('1 node', '5,000 entries')
    """
    return f"{n:,} {one if n == 1 else many}"


def _percent(used: int, capacity: int) -> str:
    """``used / capacity`` in whole percent, rounded down (100% means full).  O(1).

    >>> _percent(10000, 10016), _percent(3, 16), _percent(0, 0)
    ('99%', '18%', '0%')
    """
    return f"{used * 100 // capacity if capacity else 0}%"


def _note(root: RootEntry | None, y: int,
          paint: _Paint) -> tuple[list[str], int, int]:
    """What stands for the levels of a tree without nodes: a note (and, for
    a root entry, its cell).  (SVG lines, bottom y, right edge).  O(1) + the
    callback."""
    if root is None:
        text, x, cell = "empty tree: no entries, no nodes", _MARGIN, []
    else:
        style, fill, kind = paint.entry(root.entry)
        text, x = "no node: the root pointer holds the only entry, at index 0", _MARGIN + 20
        cell = [_cell(_MARGIN, y - _CELLS_Y, style, fill, kind, f"index 0: {kind or style}")]
    note = _text(x, y + 11, text, _LABEL_FONT, class_="note")
    return [*cell, note], y + 16, x + _text_width(text, _LABEL_FONT)


def _legend_items(paint: _Paint) -> list[tuple[str, str, str]]:
    """(class, fill, label) of each legend entry: the kinds drawn (sorted),
    then the cell styles drawn.  O(kinds)."""
    items = [("legend-kind", kind_colour(name, paint.palette), name)
             for name in sorted(paint.kinds)]
    return items + [(f"legend-item {style}", fill, label)
                    for style, fill, label in _STYLES if style in paint.styles]


def _legend(paint: _Paint, y: int, width: int) -> tuple[list[str], int]:
    """The legend from ``y``, wrapped to ``width``: (SVG lines, bottom y).  O(kinds)."""
    items = _legend_items(paint)
    if not items:
        return [], y
    labels = [_fit(label, _LABEL_FONT, width - 2 * _MARGIN - 20) for _c, _f, label in items]
    spots = _flow([18 + _text_width(label, _LABEL_FONT) for label in labels], _MARGIN,
                  width - _MARGIN)
    out = ['<g class="legend">']
    for (cls, fill, _label), label, (x, line) in zip(items, labels, spots):
        top = y + 18 * line
        kind = {"data_kind": _label} if cls == "legend-kind" else {}
        out += [f"<g {_attrs(class_=cls, **kind)}>",
                _element("rect", x=x, y=top, width=12, height=12, fill=fill, stroke=_STROKE,
                         stroke_width=0.5),
                _text(x + 16, top + 10, label, _LABEL_FONT), "</g>"]
    out.append("</g>")
    return out, y + 18 * (spots[-1][1] + 1)


# -- the picture ---------------------------------------------------------------------------------


def _document(width: int, height: int, title: str | None, body: list[str]) -> str:
    """The ``<svg>`` element around ``body``: size, fonts, the NULL hatching.  O(len)."""
    head = _attrs(xmlns="http://www.w3.org/2000/svg", width=width, height=height,
                  viewBox=f"0 0 {width} {height}", font_family=_FONT_FAMILY, fill="#222222")
    parts = [f"<svg {head}>"]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts += [_NULL_PATTERN,
              _element("rect", class_="background", width=width, height=height, fill="#ffffff"),
              *body, "</svg>"]
    return "\n".join(parts) + "\n"


def _head(title: str | None, header: str) -> tuple[list[str], int, int]:
    """The title and header lines: (SVG lines, bottom y, widest text).  O(len)."""
    out: list[str] = []
    y, widest = _MARGIN, 0
    room = MAX_WIDTH - 2 * _MARGIN
    if title:
        text = _fit(title, _TITLE_FONT, room)
        out.append(_text(_MARGIN, y + 14, text, _TITLE_FONT, class_="title", font_weight="bold"))
        y, widest = y + 22, _text_width(text, _TITLE_FONT)
    header = _fit(header, _HEAD_FONT, room)
    out.append(_text(_MARGIN, y + 11, header, _HEAD_FONT, class_="header"))
    return out, y + 26, max(widest, _text_width(header, _HEAD_FONT))


def _body(tree: TreeCore, levels: list[_Level], y: int,
          paint: _Paint) -> tuple[list[str], int, int, list[int]]:
    """The level bands from ``y`` or, without a root node, the note:
    (SVG lines, bottom y, right edge, rule ys).  O(boxes shown)."""
    if levels:
        return _levels_svg(levels, y, tree._alloc, paint)
    root = tree._root
    assert not isinstance(root, Node), "a root node has levels"
    body, y, right = _note(root, y, paint)
    return body, y, right, []


def render_svg(tree: TreeCore, *, title: str | None = None, kind: KindFn | None = None,
               palette: Mapping[str, str] | None = None,
               max_nodes_per_level: int = DEFAULT_MAX_NODES_PER_LEVEL) -> str:
    """The SVG picture of ``tree`` described in the module docstring, as text.

    ``kind(entry)`` (optional) names the kind of a drawn leaf entry (neither
    NULL nor reserved), or returns None for the default colour; it is called
    once per drawn cell.  ``palette`` maps kind names to colours over
    :data:`DEFAULT_PALETTE`.  A level of more than ``max_nodes_per_level``
    (>= 3) nodes shows the first and last ``max_nodes_per_level - 1`` of them
    around one summary box.  Bad arguments raise InvalidTypeError /
    InvalidArgumentError before anything is drawn.  O(n) for the walk, plus
    O(height x max_nodes_per_level x 16) for what is drawn.

    >>> from maple_tree import MapleTree
    >>> import xml.etree.ElementTree as ET
    >>> t = MapleTree()
    >>> t.store_range(0x1000, 0x1fff, "text"); t.store_range(0x3000, 0x3fff, "heap")
    >>> svg = render_svg(t, kind=lambda entry: entry if entry == "heap" else None)
    >>> root = ET.fromstring(svg)
    >>> [g.get("data-kind") for g in root.iter("{http://www.w3.org/2000/svg}g")
    ...  if g.get("class") == "legend-kind"]
    ['heap']
    >>> render_svg(t, max_nodes_per_level=2)
    Traceback (most recent call last):
    ...
    maple_tree.errors.InvalidArgumentError: max_nodes_per_level must be >= 3 (a first node, a summary, a last node), not 2
    """
    paint = _Paint(_check_kind(kind), _check_palette(palette))
    title = _check_title(title)
    levels = _plans(tree._root, _check_limit(max_nodes_per_level))
    head, y, widest = _head(title, _header_text(tree, levels))
    body, y, right, rules = _body(tree, levels, y, paint)
    width = min(MAX_WIDTH, max(_MIN_WIDTH, right + _MARGIN, widest + 2 * _MARGIN))
    legend, y = _legend(paint, y + 18, width)
    return _document(width, y + _MARGIN, title, head + _rules(rules, width) + body + legend)
