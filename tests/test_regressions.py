"""Regression tests for bugs found after the conformance corpus passed."""
import pytest

from maple_tree import MT_FLAGS_ALLOC_RANGE, MapleTree
from maple_tree.node import node_min


def _internal_below_root(tree):
    return [c for c in tree._root.slots if not c.is_leaf]


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
def test_spanning_store_ending_at_the_spanning_nodes_max(flags):
    """A non-NULL store that crosses children of an internal node and ends
    exactly at that node's max: the right side walk (``last + 1``) lies past
    the node and must stop at its last slot (found by W4 at N=300,000)."""
    t = MapleTree(flags)
    for i in range(4000):
        t.store_range(10 * i, 10 * i + 5, i)
    assert t.height >= 3
    assert _internal_below_root(t)
    k = -1
    while (k := k + 1) < len(_internal_below_root(t)) - 1:  # not the rightmost (max ULONG_MAX)
        node = _internal_below_root(t)[k]  # read again: a store replaces the nodes it rebuilds
        lo, hi = node_min(node), node.max
        first = lo + 3
        before = {k: t.load(k) for k in (lo, lo + 2, hi + 1, hi + 2)}
        t.store_range(first, hi, "span")
        t.validate()
        assert t.load(first) == "span" and t.load(hi) == "span"
        assert t.load(lo) == before[lo] and t.load(hi + 1) == before[hi + 1]
        assert t.find(first) == (first, hi, "span")


@pytest.mark.parametrize("call", [
    lambda t: t.find(3, -1), lambda t: t.find(-1), lambda t: t.next(1, -5),
    lambda t: t.prev(-2, 0), lambda t: t.prev(5, 2**64), lambda t: t.find(2**64),
])
def test_search_fast_argument_path_still_rejects_bad_keys(call):
    """find/next/prev check plain ints inline; a negative or too large key or
    limit must still raise, never return a silent None."""
    from maple_tree import InvalidArgumentError
    t = MapleTree()
    t.store_range(0, 9, "a")
    with pytest.raises(InvalidArgumentError):
        call(t)


@pytest.mark.parametrize("method", ["next", "prev", "find", "find_rev"])
@pytest.mark.parametrize("grown", [True, False])
def test_root_status_cursor_after_a_write_elsewhere(method, grown):
    """A cursor left in status ``root`` (the tree was a direct root) whose tree
    was written since goes on as any cursor does after a write elsewhere: what
    a fresh cursor walked to its range and stepped gives.  Whether the tree
    grew nodes (a walk is needed) or is still a direct root (the status still
    describes it)."""
    from maple_tree import MaState
    t = MapleTree()
    t.store(0, "root")
    mas = MaState(t, 0)
    assert mas.walk() == "root" and mas.status == "root"
    if grown:
        t.store_range(5, 9, "grown")
        t.store(0, None)   # the entry at 0 is gone; [5, 9] remains
    else:
        t.store(0, "again")  # still a direct root, rewritten
    forward = method in ("next", "find")
    fresh = MaState(t, 0)
    fresh.walk()
    expected = fresh.next() if forward else fresh.prev()
    got = getattr(mas, method)()
    assert (got, mas.index, mas.last) == (expected, fresh.index, fresh.last)


class Hostile:
    """An entry like a numpy array: ``==`` and truth testing raise."""

    def __eq__(self, other):
        raise ValueError("the truth value of an array is ambiguous")

    __hash__ = object.__hash__

    def __bool__(self):
        raise ValueError("the truth value of an array is ambiguous")


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
def test_entries_whose_eq_raises(flags):
    """The tree compares entries by identity only: validate(), len, iteration,
    the views and every write path work with entries whose ``__eq__`` and
    ``__bool__`` raise."""
    from maple_tree import MaState
    t = MapleTree(flags)
    objs = [Hostile() for _ in range(300)]
    for i, obj in enumerate(objs):
        t.store_range(10 * i, 10 * i + 5, obj)
        if i % 7 == 0:
            t.store_range(10 * i + 2, 10 * i + 3, None)
    t.validate()
    for i in range(0, 300, 3):
        t.erase(10 * i)
    t.store_range(1000, 1900, objs[0])   # a spanning store
    t.validate()
    assert len(t) == sum(1 for _ in t) == len(list(reversed(t)))
    assert t.load(1500) is objs[0] and t.find(1000)[2] is objs[0]
    assert len(list(t.items(0, 999))) > 0 and t.same_shape(t.dup())
    mas = MaState(t, 0)
    assert sum(1 for _ in mas.for_each()) == len(t)
    t.structure(), t.dump()


@pytest.mark.parametrize("replace", [(0, 1), (0, 0), (5, 9)])
def test_iteration_over_a_direct_root_sees_a_write(replace):
    """A tree holding one entry at ``[0, 0]`` keeps it in the root, without a
    node; an iterator that yielded it and then sees a write walks again from
    key 1, as it does over nodes (it once stopped there)."""
    t = MapleTree()
    t.store(0, "r")
    it = iter(t)
    assert next(it) == (0, 0, "r")
    t.store_range(*replace, "w")
    assert next(it, None) == t.find(1)
