"""dump_tree: golden mt_dump text, derived by hand from spec section 9.2 and mt_dump_*().

Symbolic addresses: tree 0x10 (root parent 0x11), node k of the pre-order walk at
0x100 * (k + 1); child pointers add type << 3 | 4, the root pointer also 2;
a non-root node's parent is parent_addr | slot << 3 | 6; an int x is x << 1 | 1.
"""
from __future__ import annotations

import pytest

from maple_tree import ULONG_MAX, ZERO_ENTRY, InvalidArgumentError, MapleTree
from maple_tree.entries import InternalEntry
from maple_tree.node import RootEntry
from maple_tree.dump import dump_tree

from test_validate import leaf, make_tree, three_leaves
from test_structure import DENSE16

M = ULONG_MAX
NIL0 = "(nil) 0 "


def leaf_root():
    """[0-4] NULL, [5] zero entry, [6-9] 100, [10-M] NULL."""
    return make_tree(leaf((4, None), (5, ZERO_ENTRY), (9, 100), (M, None)), 1)


def test_leaf_root_hex():
    expected = (
        "maple_tree(0x10) flags 4, height 1 root 0x10e\n"
        "0-ffffffffffffffff: node 0x100 depth 0 type 1 parent 0x11 contents: "
        "(nil) 4 0x406 5 0xc9 9 (nil) FFFFFFFFFFFFFFFF " + NIL0 * 11 + "0x3\n"
        "  0-4: (nil)\n"
        "  5: zero (257)\n"
        "  6-9: value 100 (0x64) [0xc9]\n"
        "  a-ffffffffffffffff: (nil)\n"
    )
    assert dump_tree(leaf_root()) == expected
    assert dump_tree(leaf_root(), "hex") == expected


def test_leaf_root_dec():
    expected = (
        "maple_tree(0x10) flags 4, height 1 root 0x10e\n"
        "0-18446744073709551615: node 0x100 depth 0 type 1 parent 0x11 contents: "
        "(nil) 4 0x406 5 0xc9 9 (nil) 18446744073709551615 " + NIL0 * 11 + "0x3\n"
        "  0-4: (nil)\n"
        "  5: zero (257)\n"
        "  6-9: value 100 (0x64) [0xc9]\n"
        "  10-18446744073709551615: (nil)\n"
    )
    assert dump_tree(leaf_root(), "dec") == expected


def _dense16_hex() -> str:
    root = ("0-ffffffffffffffff: node 0x100 depth 0 type 2 parent 0x11 contents: "
            "0x20c 8 0x30c FFFFFFFFFFFFFFFF " + NIL0 * 13 + "0x1\n")
    l0 = ("  0-8: node 0x200 depth 1 type 1 parent 0x106 contents: "
          "0x1 0 0x3 1 0x5 2 0x7 3 0x9 4 0xb 5 0xd 6 0xf 7 0x11 8 " + NIL0 * 6 + "0x8\n")
    l0 += "".join(f"    {k}: value {k} (0x{k}) [0x{2 * k + 1:x}]\n" for k in range(9))
    l1 = ("  9-ffffffffffffffff: node 0x300 depth 1 type 1 parent 0x10e contents: "
          "0x13 9 0x15 A 0x17 B 0x19 C 0x1b D 0x1d E 0x1f F (nil) FFFFFFFFFFFFFFFF "
          + NIL0 * 7 + "0x7\n")
    l1 += ("    9: value 9 (0x9) [0x13]\n"
           "    a: value 10 (0xa) [0x15]\n"
           "    b: value 11 (0xb) [0x17]\n"
           "    c: value 12 (0xc) [0x19]\n"
           "    d: value 13 (0xd) [0x1b]\n"
           "    e: value 14 (0xe) [0x1d]\n"
           "    f: value 15 (0xf) [0x1f]\n"
           "    10-ffffffffffffffff: (nil)\n")
    return "maple_tree(0x10) flags 8, height 2 root 0x116\n" + root + l0 + l1


def test_two_level_hex():
    assert dump_tree(MapleTree.from_structure(DENSE16)) == _dense16_hex()


def test_two_level_dec():
    root = ("0-18446744073709551615: node 0x100 depth 0 type 2 parent 0x11 contents: "
            "0x20c 8 0x30c 18446744073709551615 " + NIL0 * 13 + "0x1\n")
    l0 = ("  0-8: node 0x200 depth 1 type 1 parent 0x106 contents: "
          "0x1 0 0x3 1 0x5 2 0x7 3 0x9 4 0xb 5 0xd 6 0xf 7 0x11 8 " + NIL0 * 6 + "0x8\n")
    l0 += "".join(f"    {k}: value {k} (0x{k}) [0x{2 * k + 1:x}]\n" for k in range(9))
    l1 = ("  9-18446744073709551615: node 0x300 depth 1 type 1 parent 0x10e contents: "
          "0x13 9 0x15 10 0x17 11 0x19 12 0x1b 13 0x1d 14 0x1f 15 (nil) 18446744073709551615 "
          + NIL0 * 7 + "0x7\n")
    l1 += "".join(f"    {k}: value {k} (0x{k:x}) [0x{2 * k + 1:x}]\n" for k in range(9, 16))
    l1 += "    16-18446744073709551615: (nil)\n"
    expected = "maple_tree(0x10) flags 8, height 2 root 0x116\n" + root + l0 + l1
    assert dump_tree(MapleTree.from_structure(DENSE16), "dec") == expected


def test_engine_tree_matches_hand_built():
    tree = MapleTree()
    for k in range(16):
        tree.store(k, k)
    assert tree.dump() == _dense16_hex()


def test_arange_two_level_hex():
    tree = three_leaves(alloc=True)
    gap = f"{M - 26:x}"
    assert gap == "ffffffffffffffe5"
    lines = dump_tree(tree).splitlines()
    assert lines[0] == "maple_tree(0x10) flags 9, height 2 root 0x11e"
    assert lines[1] == (
        "0-ffffffffffffffff: node 0x100 depth 0 type 3 parent 0x11 contents: "
        f"2 3 {gap} 0 0 0 0 0 0 0 | 02 02| 0x20c 9 0x30c 13 0x40c FFFFFFFFFFFFFFFF "
        + NIL0 * 6 + "(nil)")
    assert lines[2].startswith("  0-9: node 0x200 depth 1 type 1 parent 0x106 contents: "
                               "0x1 0 0x3 1 0x5 2 (nil) 4 0xb 5 ")
    assert lines[3:5] == ["    0: value 0 (0x0) [0x1]", "    1: value 1 (0x1) [0x3]"]
    assert lines[6] == "    3-4: (nil)"
    node_lines = [line for line in lines if " node " in line]
    assert [line.split(" contents")[0] for line in node_lines[1:]] == [
        "  0-9: node 0x200 depth 1 type 1 parent 0x106",
        "  a-13: node 0x300 depth 1 type 1 parent 0x10e",
        "  14-ffffffffffffffff: node 0x400 depth 1 type 1 parent 0x116",
    ]
    assert lines[-1] == "    1b-ffffffffffffffff: (nil)"
    assert len(lines) == 1 + 1 + 3 + 9 + 8 + 8


def test_empty_and_direct_roots():
    assert dump_tree(make_tree(None, 0)) == (
        "maple_tree(0x10) flags 0, height 0 root (nil)\n(empty)\n")
    assert dump_tree(make_tree(RootEntry(7), 0)) == (
        "maple_tree(0x10) flags 0, height 0 root 0xf\n0: value 7 (0x7) [0xf]\n")
    assert dump_tree(make_tree(RootEntry("s"), 0, alloc=True), "dec") == (
        "maple_tree(0x10) flags 1, height 0 root 's'\n0: 's'\n")


def test_other_entries():
    tree = make_tree(leaf((0, InternalEntry(3)), (1, InternalEntry(2000)), (2, "x"), (M, None)), 1)
    lines = dump_tree(tree).splitlines()
    assert "contents: 0xe 0 0x1f42 1 'x' 2 (nil) FFFFFFFFFFFFFFFF " in lines[1]
    assert lines[2:] == ["  0: UNKNOWN ENTRY (0xe)", "  1: 0x1f42", "  2: 'x'",
                         "  3-ffffffffffffffff: (nil)"]


def test_bad_format():
    with pytest.raises(InvalidArgumentError):
        dump_tree(leaf_root(), "oct")
