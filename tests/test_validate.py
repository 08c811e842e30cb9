"""validate_tree: good trees pass; each broken invariant is reported with node path and offset.

The trees are built by hand from Node objects (and through MapleTree.from_structure),
so these tests do not depend on the write paths.
"""
from __future__ import annotations

import re

import pytest

from maple_tree import (COMPILED, MT_FLAGS_ALLOC_RANGE, ULONG_MAX, ZERO_ENTRY, MapleTree,
                        TreeCorruptError)
from maple_tree.constants import ARANGE_64, LEAF_64, RANGE_64
from maple_tree.entries import RETRY_ENTRY
from maple_tree.walk import count_entries
from maple_tree.node import Node, RootEntry, leaf_max_gap
from maple_tree.validate import _check_leaf_gap_formula, validate_tree

M = ULONG_MAX


# -- builders -----------------------------------------------------------------------------


def leaf(*items) -> Node:
    """A leaf from (last, entry) pairs."""
    return Node(LEAF_64, [last for last, _ in items], [entry for _, entry in items])


def link(parent: Node) -> Node:
    for offset, child in enumerate(parent.slots):
        child.parent = parent
        child.parent_slot = offset
    return parent


def internal(children: list, alloc: bool, lo: int = 0) -> Node:
    """An internal node over ``children`` (gaps computed for alloc trees)."""
    pivots = [c.pivots[-1] for c in children]
    gaps = None
    if alloc:
        gaps, child_min = [], lo
        for child, pivot in zip(children, pivots):
            gaps.append(leaf_max_gap(child, child_min) if child.type == LEAF_64
                        else max(child.gaps))
            child_min = pivot + 1
    return link(Node(ARANGE_64 if alloc else RANGE_64, pivots, children, gaps))


def make_tree(root, height: int, alloc: bool = False) -> MapleTree:
    tree = MapleTree(MT_FLAGS_ALLOC_RANGE if alloc else 0)
    tree._root = root
    tree._height = height
    if root is None or isinstance(root, (Node, RootEntry)):
        tree._entries = count_entries(root)  # as from_structure() sets it
    return tree


def three_leaves(alloc: bool = False) -> MapleTree:
    """A good height-2 tree: three leaves, NULL ranges inside leaves 0 and 1 and at the end.

    root.slots[0] [0, 9]: 0 1 2 NULL[3-4] 5 6 7 8 9      (9 slots)
    root.slots[1] [10, 19]: 10 11 NULL[12-14] 15 .. 19  (8 slots)
    root.slots[2] [20, M]: 20 .. 26 NULL[27-M]           (8 slots)
    """
    l0 = leaf((0, 0), (1, 1), (2, 2), (4, None), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9))
    l1 = leaf((10, 10), (11, 11), (14, None), (15, 15), (16, 16), (17, 17), (18, 18), (19, 19))
    l2 = leaf(*[(k, k) for k in range(20, 27)], (M, None))
    return make_tree(internal([l0, l1, l2], alloc), 2, alloc)


def three_levels(alloc: bool = False) -> MapleTree:
    """A good height-3 tree: root with two internal children of 7 leaves each (5 for alloc)."""
    fanout = 5 if alloc else 7
    mids, key = [], 0
    for m in range(2):
        leaves = []
        for i in range(fanout):
            items = [(key + j, key + j) for j in range(8)]
            key += 8
            if m == 1 and i == fanout - 1:
                items.append((M, None))
            leaves.append(leaf(*items))
        mids.append(internal(leaves, alloc, lo=0 if m == 0 else mids[0].pivots[-1] + 1))
    return make_tree(internal(mids, alloc), 3, alloc)


def corrupt(tree: MapleTree, path: str, offset: int, words: str, **kw) -> str:
    """Assert validate_tree raises naming ``path`` (exactly) and ``offset``; return the message."""
    with pytest.raises(TreeCorruptError) as info:
        validate_tree(tree, **kw)
    msg = str(info.value)
    assert msg.startswith(path + " (") or msg.startswith(path + ":"), msg
    assert re.search(rf"\boffset {offset}\b", msg), msg
    assert words in msg, msg
    return msg


# -- good trees ------------------------------------------------------------------------------


@pytest.mark.parametrize("alloc", [False, True])
def test_good_trees_pass(alloc):
    validate_tree(three_leaves(alloc))
    validate_tree(three_leaves(alloc), exempt_rightmost=False)
    validate_tree(three_levels(alloc))
    validate_tree(three_levels(alloc), exempt_rightmost=False)


def test_empty_and_direct_roots_pass():
    validate_tree(make_tree(None, 0))
    validate_tree(make_tree(RootEntry(5), 0))
    validate_tree(make_tree(RootEntry("x"), 0, alloc=True))


@pytest.mark.parametrize("alloc", [False, True])
def test_leaf_roots_pass(alloc):
    # a single NULL slot over the whole key space (conformance finding 3)
    validate_tree(make_tree(leaf((M, None)), 1, alloc))
    validate_tree(make_tree(leaf((0, ZERO_ENTRY), (M, None)), 1, alloc))
    validate_tree(make_tree(leaf((4, None), (9, "a"), (M, None)), 1, alloc))
    validate_tree(make_tree(leaf(*[(k, k) for k in range(15)], (M, "last")), 1, alloc))


def test_structure_format_example_passes():
    example = ('{"height":2,"root":{"max":18446744073709551615,"min":0,"pivots":[8,'
               '18446744073709551615],"slots":[{"max":8,"min":0,"pivots":[0,1,2,3,4,5,6,7,8],'
               '"slots":[0,1,2,3,4,5,6,7,8],"type":"leaf_64"},{"max":18446744073709551615,'
               '"min":9,"pivots":[9,10,11,12,13,14,15,18446744073709551615],"slots":[9,10,11,'
               '12,13,14,15,null],"type":"leaf_64"}],"type":"range_64"}}')
    tree = MapleTree.from_structure(example)
    validate_tree(tree, exempt_rightmost=False)


def test_engine_trees_pass():
    for flags in (0, MT_FLAGS_ALLOC_RANGE):
        tree = MapleTree(flags)
        for k in range(0, 600, 3):
            tree.store_range(k, k + 1, k)
        validate_tree(tree, exempt_rightmost=False)
        tree.validate()


# -- occupancy: the rightmost exemption ----------------------------------------------------------


@pytest.mark.parametrize("alloc", [False, True])
def test_short_rightmost_leaf_exempt_only_by_default(alloc):
    tree = three_leaves(alloc)
    l2 = leaf((20, 20), (M, None))  # bulk mode can leave this
    tree._root.slots[2] = l2
    l2.parent, l2.parent_slot = tree._root, 2
    if alloc:
        tree._root.gaps[2] = leaf_max_gap(l2, 20)
    tree._entries = count_entries(tree._root)
    validate_tree(tree)
    corrupt(tree, "root.slots[2]", 1, "short node", exempt_rightmost=False)


def test_short_rightmost_internal_exempt_only_by_default():
    tree = three_levels()
    lo = tree._root.pivots[0] + 1
    leaves = [leaf(*[(lo + 8 * i + j, j) for j in range(8)]) for i in range(2)]
    leaves.append(leaf(*[(lo + 16 + j, j) for j in range(8)], (M, None)))
    tree._root.slots[1] = internal(leaves, False, lo)  # 3 children: end 2 < 6
    link(tree._root)
    tree._entries = count_entries(tree._root)
    validate_tree(tree)
    corrupt(tree, "root.slots[1]", 2, "short node", exempt_rightmost=False)


# -- one test per invariant --------------------------------------------------------------------


def test_short_non_rightmost_leaf():
    tree = three_leaves()
    l1 = leaf((10, 10), (11, 11), (14, None), (19, 19))
    tree._root.slots[1] = l1
    link(tree._root)
    corrupt(tree, "root.slots[1]", 3, "short node: end 3 < minimum 6")


def test_short_non_rightmost_arange_node():
    tree = three_levels(alloc=True)
    left = tree._root.slots[0]
    # merge the left subtree's first four leaves' ranges away: keep 2 leaves covering it all
    lo = 0
    leaves = [leaf(*[(lo + j, j) for j in range(8)])]
    leaves.append(leaf(*[(8 + j, j) for j in range(7)], (left.pivots[-1], 99)))
    tree._root.slots[0] = internal(leaves, True)
    link(tree._root)
    corrupt(tree, "root.slots[0]", 1, "short node: end 1 < minimum 4")


def test_swapped_pivots():
    tree = three_leaves()
    p = tree._root.slots[1].pivots
    p[1], p[2] = p[2], p[1]
    corrupt(tree, "root.slots[1]", 2, "not above previous pivot")


def test_pivot_below_node_min():
    tree = three_leaves()
    tree._root.slots[1].pivots[0] = 5
    corrupt(tree, "root.slots[1]", 0, "outside the node range [10, 19]")


def test_pivot_above_node_max():
    tree = three_leaves()
    tree._root.slots[1].pivots[6] = 25
    corrupt(tree, "root.slots[1]", 6, "outside the node range [10, 19]")


def test_pivot_zero_after_offset_zero():
    tree = three_leaves()
    tree._root.slots[0].pivots[3] = 0
    corrupt(tree, "root.slots[0]", 3, "pivot 0")


def test_last_pivot_not_parent_pivot():
    tree = three_leaves()
    tree._root.pivots[0] = 10  # parent says leaf 0 ends at 10, leaf 0 says 9
    corrupt(tree, "root.slots[0]", 8, "last pivot 9 != node max 10")


def test_root_max_not_ulong_max():
    tree = make_tree(leaf((4, None), (9, "a"), (M - 1, None)), 1)
    corrupt(tree, "root", 2, f"last pivot {M - 1} != node max {M}")


def test_two_nulls_within_a_leaf():
    tree = three_leaves()
    tree._root.slots[0].slots[4] = None  # slot 3 is NULL already
    corrupt(tree, "root.slots[0]", 4, "two consecutive NULL slots")


def test_two_nulls_across_leaves():
    tree = three_leaves()
    tree._root.slots[0].slots[-1] = None
    tree._root.slots[1].slots[0] = None
    msg = corrupt(tree, "root.slots[1]", 0, "two consecutive NULL slots")
    assert "root.slots[0] offset 8" in msg


def test_non_rightmost_leaf_ends_in_null():
    tree = three_leaves()
    tree._root.slots[0].slots[-1] = None
    corrupt(tree, "root.slots[0]", 8, "ends in NULL but is not the rightmost leaf")


def test_wrong_gap():
    tree = three_leaves(alloc=True)
    assert tree._root.gaps == [2, 3, M - 26]
    tree._root.gaps[1] = 4
    corrupt(tree, "root", 1, "gap 4 != child's max gap 3")


def test_wrong_gap_deeper():
    tree = three_levels(alloc=True)
    tree._root.slots[1].gaps[4] += 1
    corrupt(tree, "root.slots[1]", 4, "child's max gap")
    tree = three_levels(alloc=True)
    tree._root.gaps[0] = 1
    corrupt(tree, "root", 0, "gap 1 != child's max gap 0")


def test_leaf_gap_formula_differs_from_largest_null_range():
    # only reachable together with a trailing NULL, so the check is called directly
    node = leaf((0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (9, None))
    with pytest.raises(TreeCorruptError, match=r"root.slots\[0\] .* offset 6: kernel leaf gap"):
        _check_leaf_gap_formula((node, "root.slots[0]", 0, 9, 2))


def test_wrong_parent_pointer():
    tree = three_leaves()
    tree._root.slots[1].parent = tree._root.slots[0]
    corrupt(tree, "root", 1, "parent pointer")


def test_wrong_parent_slot():
    tree = three_leaves()
    tree._root.slots[2].parent_slot = 1
    corrupt(tree, "root", 2, "parent_slot is 1, not 2")


def test_root_has_a_parent():
    tree = three_leaves()
    tree._root.parent = Node(RANGE_64, [M], [tree._root])
    corrupt(tree, "root", 0, "root node has a parent")


def test_wrong_height():
    tree = three_leaves()
    tree._height = 3
    corrupt(tree, "root.slots[0]", 0, "tree height is 3 but the leaves are at depth 2")
    tree._height = 0
    corrupt(tree, "root", 0, "height 0 invalid for a node root")


def test_mixed_leaf_depths():
    tree = three_levels()
    # replace the right subtree by a single leaf covering its range
    lo = tree._root.pivots[0] + 1
    tree._root.slots[1] = leaf(*[(lo + j, j) for j in range(8)], (M, None))
    link(tree._root)
    corrupt(tree, "root.slots[1]", 0, "leaf at depth 2, but the first leaf root.slots[0].slots[0]"
                                      " is at depth 3")


def test_dead_node():
    tree = three_leaves()
    tree._root.slots[1].dead = True
    corrupt(tree, "root.slots[1]", 1, "node is dead")


def test_leaf_typed_as_internal():
    tree = three_leaves()
    tree._root.slots[1].type = RANGE_64
    corrupt(tree, "root.slots[1]", 0, "range_64 node at the leaf level")


def test_internal_type_does_not_match_flags():
    tree = three_leaves()
    tree._root.type = ARANGE_64
    tree._root.gaps = [0, 0, 0]
    corrupt(tree, "root", 0, "internal node of type arange_64 in a tree whose flags need range_64")
    tree = three_leaves(alloc=True)
    tree._root.type = RANGE_64
    tree._root.gaps = None
    corrupt(tree, "root", 0, "internal node of type range_64 in a tree whose flags need arange_64")


def test_internal_root_with_one_child():
    only = leaf(*[(k, k) for k in range(10)], (M, None))
    tree = make_tree(internal([only], False), 2)
    corrupt(tree, "root", 0, "internal root with a single child")


def test_too_many_slots():
    tree = make_tree(leaf(*[(k, k) for k in range(16)], (M, None)), 1)
    corrupt(tree, "root", 16, "17 slots exceed the capacity 16")
    leaves = [leaf(*[(10 * i + j, j) for j in range(10)]) for i in range(11)]
    leaves[-1].pivots[-1] = M
    tree = make_tree(internal(leaves, True), 2, alloc=True)
    corrupt(tree, "root", 10, "11 slots exceed the capacity 10")


def test_pivots_and_slots_differ_in_length():
    tree = three_leaves()
    tree._root.slots[2].slots.append(None)
    corrupt(tree, "root.slots[2]", 8, "8 pivots but 9 slots")


def test_empty_node():
    tree = make_tree(Node(LEAF_64, [], []), 1)
    corrupt(tree, "root", 0, "node has no slots")


def test_gaps_shape():
    tree = three_leaves(alloc=True)
    tree._root.gaps.pop()
    corrupt(tree, "root", 0, "arange_64 needs 3 gaps")
    tree = three_leaves()
    tree._root.slots[0].gaps = [0] * 9
    corrupt(tree, "root.slots[0]", 0, "gaps [0, 0, 0, 0, 0, 0, 0, 0, 0] on a node")


def test_internal_slot_not_a_node():
    tree = three_leaves()
    tree._root.slots[1] = "x"
    corrupt(tree, "root", 1, "internal slot holds 'x', not a node")


def test_node_reached_twice():
    tree = three_leaves()
    tree._root.slots[2] = tree._root.slots[1]
    corrupt(tree, "root.slots[2]", 1, "node already reached as root.slots[1]")


def test_entry_count_checked():
    tree = three_leaves()
    tree._entries += 1
    with pytest.raises(TreeCorruptError, match=r"root: the tree counts 23 entries, its leaves hold 22"):
        validate_tree(tree)


def test_node_in_a_leaf_is_an_entry():
    """A leaf's slots are entries whatever their class (the package's own
    classes included): a Node there is a stored object, not corruption."""
    tree = three_leaves()
    tree._root.slots[0].slots[5] = Node(LEAF_64, [M], [None])
    validate_tree(tree)


def test_bad_root_forms():
    with pytest.raises(TreeCorruptError, match="root: empty tree .* height 1"):
        validate_tree(make_tree(None, 1))
    with pytest.raises(TreeCorruptError, match="root: direct root entry with height 1"):
        validate_tree(make_tree(RootEntry(5), 1))
    with pytest.raises(TreeCorruptError, match="root: direct root entry is None"):
        validate_tree(make_tree(RootEntry(None), 0))
    for entry in (ZERO_ENTRY, RETRY_ENTRY):
        with pytest.raises(TreeCorruptError, match="root: direct root holds the internal"):
            validate_tree(make_tree(RootEntry(entry), 0))


@pytest.mark.skipif(COMPILED, reason="the compiled build refuses a root that is not a Node, "
                                     "RootEntry or None when it is assigned (a native field)")
def test_unknown_root_object():
    with pytest.raises(TreeCorruptError, match="root: unknown root object"):
        validate_tree(make_tree("x", 0))


def test_messages_name_type_and_range():
    tree = three_leaves()
    tree._root.slots[2].dead = True
    msg = corrupt(tree, "root.slots[2]", 2, "dead")
    assert msg.startswith(f"root.slots[2] (leaf_64 [20, {M}]) offset 2: ")
