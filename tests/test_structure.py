"""maple-structure/1: tree_structure, tree_structure_string, entry JSON."""
from __future__ import annotations

import gzip
import json
import os

import pytest

from maple_tree import (MT_FLAGS_ALLOC_RANGE, RETRY_ENTRY, ULONG_MAX, ZERO_ENTRY, InternalEntry,
                        InvalidArgumentError, MapleTree)
from maple_tree.constants import LEAF_64
from maple_tree.node import Node, RootEntry
from maple_tree.structure import (canonical, entry_from_json, entry_to_json,
                                  tree_structure, tree_structure_string)

from test_validate import make_tree, three_leaves, three_levels

M = ULONG_MAX

DENSE16 = ('{"height":2,"root":{"max":18446744073709551615,"min":0,"pivots":[8,'
           '18446744073709551615],"slots":[{"max":8,"min":0,"pivots":[0,1,2,3,4,5,6,7,8],'
           '"slots":[0,1,2,3,4,5,6,7,8],"type":"leaf_64"},{"max":18446744073709551615,'
           '"min":9,"pivots":[9,10,11,12,13,14,15,18446744073709551615],"slots":[9,10,11,'
           '12,13,14,15,null],"type":"leaf_64"}],"type":"range_64"}}')

SMALL = [
    '{"height":0,"root":null}',
    '{"height":0,"root":{"entry":5}}',
    '{"height":1,"root":{"max":18446744073709551615,"min":0,"pivots":[18446744073709551615],'
    '"slots":[null],"type":"leaf_64"}}',
    '{"height":1,"root":{"max":18446744073709551615,"min":0,"pivots":[0,18446744073709551615],'
    '"slots":["zero",null],"type":"leaf_64"}}',
    '{"height":1,"root":{"max":18446744073709551615,"min":0,"pivots":[4,9,18446744073709551615],'
    '"slots":[null,100,null],"type":"leaf_64"}}',
    DENSE16,
]

REF_DIR = os.path.join(os.path.dirname(__file__), "data", "conformance", "ref")


def reference_structures(name: str):
    """Every distinct structure of a reference file (maple-ref/1 node tables expanded)."""
    nodes: dict[int, dict] = {}

    def node_str(nid: int) -> str:
        n = nodes[nid]
        if n["type"] == "leaf_64":
            return canonical(n)
        children = ",".join(node_str(c) for c in n["slots"])
        head = canonical({k: v for k, v in n.items() if k != "slots"})
        # put the children back at their sorted position ("slots" < "type")
        return head.replace(',"type":', ',"slots":[' + children + '],"type":', 1)

    out = []
    with gzip.open(os.path.join(REF_DIR, name + ".jsonl.gz"), "rt") as f:
        for text in f:
            d = json.loads(text)
            for nid, node in d.get("n", ()):
                nodes[nid] = node
            if not d.get("same", False):
                root = d["root"]
                rs = node_str(root) if isinstance(root, int) else canonical(root)
                out.append('{"height":%d,"root":%s}' % (d["h"], rs))
    return list(dict.fromkeys(out))


# -- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", SMALL)
def test_round_trip_examples(text):
    tree = MapleTree.from_structure(text)
    assert tree_structure_string(tree) == text
    assert canonical(tree_structure(tree)) == text
    tree2 = MapleTree.from_structure(json.loads(text))
    assert tree_structure_string(tree2) == text


def test_dense16_example_builds_the_expected_tree():
    tree = MapleTree.from_structure(DENSE16)
    assert tree.flags == 0 and tree.height == 2
    root = tree._root
    assert [c.parent is root for c in root.slots] == [True, True]
    assert [c.parent_slot for c in root.slots] == [0, 1]
    assert all(tree.load(k) == k for k in range(16)) and tree.load(16) is None


@pytest.mark.parametrize("alloc", [False, True])
def test_round_trip_hand_built_shapes(alloc):
    for tree in (three_leaves(alloc), three_levels(alloc)):
        text = tree_structure_string(tree)
        assert text == canonical(tree_structure(tree))
        again = MapleTree.from_structure(text)
        assert again.flags == (MT_FLAGS_ALLOC_RANGE if alloc else 0)
        assert tree_structure_string(again) == text
        assert again._root is not tree._root


def test_round_trip_engine_trees():
    for flags in (0, MT_FLAGS_ALLOC_RANGE):
        tree = MapleTree(flags)
        for k in range(0, 3000, 5):
            tree.store_range(k, k + 2, k)
        tree.store(7, ZERO_ENTRY)
        text = tree_structure_string(tree)
        assert text == canonical(tree.structure())
        again = MapleTree.from_structure(json.loads(text), flags)
        assert tree_structure_string(again) == text
        assert list(again) == list(tree)


@pytest.mark.parametrize("name", ["spec_probes_dense16_f0", "spec_probes_dense16_f1",
                                  "spec_probes_api_f0", "spec_probes_api_f1",
                                  "spec_probes_alloc_f1", "trace_set2", "trace_set4",
                                  "trace_set13", "kt_check_alloc_range"])
def test_round_trip_reference_corpus(name):
    if not os.path.exists(os.path.join(REF_DIR, name + ".jsonl.gz")):
        pytest.skip("reference corpus not present")
    structures = reference_structures(name)
    assert structures
    for text in structures:
        tree = MapleTree.from_structure(text)
        assert tree_structure_string(tree) == text
        assert canonical(tree_structure(tree)) == text


# -- the fast string ----------------------------------------------------------------------------


def test_string_with_every_entry_kind_equals_canonical_dict():
    class Opaque:
        def __repr__(self):
            return "<opaque>"

    entries = [0, "s", None, 2**70, ZERO_ENTRY, None, True, RETRY_ENTRY, InternalEntry(900),
               {"b": 1, "a": [1.5, None]}, (1, 2), Opaque(), 3.25, -4]
    pivots = list(range(len(entries) - 1)) + [M]
    tree = make_tree(Node(LEAF_64, pivots, entries), 1)
    text = tree_structure_string(tree)
    assert text == canonical(tree_structure(tree))
    assert '"slots":[0,{"value":"s"},null,1180591620717411303424,"zero",null,{"value":true},' \
           '{"internal":256},{"internal":900},{"value":{"a":[1.5,null],"b":1}},' \
           '{"value":[1,2]},{"repr":"<opaque>"},{"value":3.25},-4]' in text
    for root in (RootEntry("x"), RootEntry(7), None):
        tree = make_tree(root, 0)
        assert tree_structure_string(tree) == canonical(tree_structure(tree))


def test_string_follows_in_place_changes():
    tree = three_leaves(alloc=True)
    before = tree_structure_string(tree)
    leaf = tree._root.slots[1]
    leaf.slots[0] = 1000
    changed = tree_structure_string(tree)
    assert changed != before and '"slots":[1000,11,' in changed
    assert changed == canonical(tree_structure(tree))
    leaf.slots[0] = True  # equal to 1 but not an int entry: must not reuse a memo
    leaf.slots[1] = 1
    tree_structure_string(tree)
    leaf.slots[1] = True
    assert '"slots":[{"value":true},{"value":true},' in tree_structure_string(tree)
    tree._root.gaps[0] = 77
    assert '"gaps":[77,' in tree_structure_string(tree)
    tree._root.pivots[0] = 8  # (corrupt, but the string must still follow)
    assert tree_structure_string(tree) == canonical(tree_structure(tree))


def test_string_of_malformed_nodes_still_equals_canonical_dict():
    tree = three_leaves(alloc=True)
    tree._root.gaps = None
    assert tree_structure_string(tree) == canonical(tree_structure(tree))
    tree = three_leaves()
    tree._root.slots[0].pivots[0] = True
    tree._root.slots[1].pivots[1] = 11.5
    assert tree_structure_string(tree) == canonical(tree_structure(tree))
    assert '"pivots":[true,1,' in tree_structure_string(tree)


def test_structure_dict_is_a_copy():
    tree = three_leaves()
    d = tree_structure(tree)
    tree._root.slots[0].pivots[0] = 99
    tree._root.slots[0].slots[0] = 99
    assert d["root"]["slots"][0]["pivots"][0] == 0
    assert d["root"]["slots"][0]["slots"][0] == 0


# -- entries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry, js", [
    (None, None), (0, 0), (2**64 + 5, 2**64 + 5), (-3, -3), (ZERO_ENTRY, "zero"),
    (RETRY_ENTRY, {"internal": 256}), (True, {"value": True}), (False, {"value": False}),
    ("zero", {"value": "zero"}), ([1, "a"], {"value": [1, "a"]}), (2.5, {"value": 2.5}),
])
def test_entry_json_round_trip(entry, js):
    assert entry_to_json(entry) == js
    assert type(entry_to_json(entry)) is type(js)
    back = entry_from_json(js)
    assert back == entry and type(back) is type(entry)
    if entry is ZERO_ENTRY or entry is RETRY_ENTRY:
        assert back is entry


def test_entry_json_special_cases():
    assert entry_from_json({"internal": 257}) is ZERO_ENTRY
    other = entry_from_json({"internal": 12})
    assert isinstance(other, InternalEntry) and other.value == 12
    assert entry_to_json(InternalEntry(12)) == {"internal": 12}
    assert entry_to_json(float("nan")) == {"repr": "nan"}
    assert entry_to_json((1, 2)) == {"value": (1, 2)}  # comes back as a list
    assert entry_from_json({"value": [1, 2]}) == [1, 2]

    class Color(int):
        pass

    assert entry_to_json(Color(3)) == 3 and type(entry_to_json(Color(3))) is int
    assert entry_to_json(object)["repr"] == repr(object)


@pytest.mark.parametrize("bad", [{"repr": "x"}, "one", True, 1.5, [1], {"a": 1},
                                 {"value": 1, "internal": 2}, {"internal": "x"}, {}])
def test_entry_from_json_refuses(bad):
    with pytest.raises(InvalidArgumentError):
        entry_from_json(bad)


# -- from_structure ---------------------------------------------------------------------------


def test_flags_default_and_explicit():
    alloc_text = tree_structure_string(three_leaves(alloc=True))
    assert MapleTree.from_structure(alloc_text).flags == MT_FLAGS_ALLOC_RANGE
    assert MapleTree.from_structure(DENSE16).flags == 0
    assert MapleTree.from_structure(SMALL[4]).flags == 0
    assert MapleTree.from_structure(SMALL[4], MT_FLAGS_ALLOC_RANGE).flags == MT_FLAGS_ALLOC_RANGE
    with pytest.raises(InvalidArgumentError, match="flags need"):
        MapleTree.from_structure(DENSE16, MT_FLAGS_ALLOC_RANGE)
    with pytest.raises(InvalidArgumentError, match="flags need"):
        MapleTree.from_structure(alloc_text, 0)


def _mutated(text: str, **changes):
    obj = json.loads(text)
    for path, value in changes.items():
        target = obj
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return obj


_DELETE = object()


@pytest.mark.parametrize("obj, words", [
    ("not json", "not JSON"),
    ([], "height and root"),
    ({"height": 0}, "height and root"),
    ({"height": 0, "root": None, "x": 1}, "height and root"),
    ({"height": "2", "root": None}, "height: must be an integer"),
    ({"height": True, "root": None}, "height: must be an integer"),
    ({"height": 1, "root": None}, "empty tree"),
    ({"height": 0, "root": {"entry": None}}, "direct root entry is None"),
    ({"height": 0, "root": {"entry": "zero"}}, "internal entry"),
    ({"height": 0, "root": {"entry": {"repr": "x"}}}, "only a repr"),
    ({"height": 0, "root": 5}, "must be an object"),
    (_mutated(DENSE16, root__type="dense"), "unknown node type 'dense'"),
    (_mutated(DENSE16, root__slots__0__type="leaf"), "unknown node type 'leaf'"),
    (_mutated(DENSE16, root__gaps=[0, 0]), "needs keys"),
    (_mutated(DENSE16, root__slots__1__extra=1), "needs keys"),
    (_mutated(DENSE16, root__slots__0__min=_DELETE), "needs keys"),
    (_mutated(DENSE16, root__min=1), "min 1, expected 0"),
    (_mutated(DENSE16, root__slots__1__min=10), "min 10, expected 9"),
    (_mutated(DENSE16, root__slots__0__max=9), "max 9, expected 8"),
    (_mutated(DENSE16, root__pivots=[8]), "as long as pivots"),
    (_mutated(DENSE16, root__slots__0__pivots=[0, 1]), "as long as pivots"),
    (_mutated(DENSE16, root__slots__0__pivots__3="3"), "list of integers"),
    (_mutated(DENSE16, root__slots__0__slots__3="three"), "not an entry"),
    (_mutated(DENSE16, root__slots__0__slots__3=1.5), "not an entry"),
    (_mutated(DENSE16, root__slots__0__slots__3=None, root__slots__0__slots__4=None),
     "root.slots[0] (leaf_64 [0, 8]) offset 4: two consecutive NULL slots"),
    (_mutated(DENSE16, root__slots__0__pivots__8=7), "root.slots[0] (leaf_64 [0, 8]) offset 8"),
    (_mutated(DENSE16, height=3), "tree height is 3"),
    (_mutated(DENSE16, root__slots__0=5), "must be an object"),
])
def test_malformed_input(obj, words):
    with pytest.raises(InvalidArgumentError) as info:
        MapleTree.from_structure(obj)
    assert words in str(info.value)


def test_malformed_arange_gaps():
    text = tree_structure_string(three_leaves(alloc=True))
    with pytest.raises(InvalidArgumentError, match="needs keys"):
        MapleTree.from_structure(_mutated(text, root__gaps=_DELETE))
    with pytest.raises(InvalidArgumentError, match="2 gaps for 3 slots"):
        MapleTree.from_structure(_mutated(text, root__gaps=[1, 2]))
    with pytest.raises(InvalidArgumentError, match=r"root \(arange_64 .*offset 1: gap 9"):
        MapleTree.from_structure(_mutated(text, root__gaps__1=9))


def test_deep_nesting_refused():
    obj = {"height": 40, "root": None}
    node = {"max": M, "min": 0, "pivots": [M], "slots": [None], "type": "leaf_64"}
    for _ in range(40):
        node = {"max": M, "min": 0, "pivots": [M], "slots": [node], "type": "range_64"}
    obj["root"] = node
    with pytest.raises(InvalidArgumentError, match="MAPLE_HEIGHT_MAX"):
        MapleTree.from_structure(obj)
