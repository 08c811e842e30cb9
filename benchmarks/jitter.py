"""Node 'jitter': inserts and erases at a node boundary, under two merge rules.

The maple tree's authors wrote that strict split/join rules made nodes split
and merge over and over as the entry count of a node moved just above and
below the threshold ("jitter"), so they relaxed the merging: a 16-slot node is
rebalanced only when it falls below 7 used slots (``mt_min_slots``), not below
half full.  This study shows the difference, counting the nodes the tree
allocates and frees (``MapleTree.stats()``) per operation:

* **6.12 rules**: the tree as it is;
* **textbook rule**: the same engine with the minimum raised to half full
  (8 of 16 slots, 5 of 10 for ``arange_64``), which is how a classic B-tree
  merges.  The rule exists only here: :func:`textbook_rule` raises the
  minimum for the duration of a ``with`` block.

Scenarios (each repeats a sequence of writes many times, after building the
tree; the number of ranges stays the same):

* ``two-leaf``: a root leaf holding 16 slots; the insert splits it into two
  leaves under a new root, the erase takes it back out;
* ``packed``: 10,000 ranges appended in order (leaves packed full, as appends
  and bulk loads leave them); the insert and erase hit one leaf in the middle;
* ``churn``: 10,000 ranges inserted in random order, every second one erased
  (leaves thinned towards their minimum); each round erases a random
  remaining range and stores it again.

    python benchmarks/jitter.py            # --rounds R (default 1000)

Prints, per scenario and rule, the nodes allocated and freed per operation
over the rounds (after the build), and how many operations changed the
node count at all.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)

which_build.use_package()

from maple_tree import MapleTree  # noqa: E402
from maple_tree.constants import ARANGE_64, LEAF_64, MT_MIN_SLOTS, RANGE_64  # noqa: E402

#: the minimum end offset (used slots - 1) of the textbook rule: half full
HALF_FULL = {LEAF_64: 7, RANGE_64: 7, ARANGE_64: 4}


@contextmanager
def textbook_rule() -> Iterator[None]:
    """Run the tree with nodes merged below half full (study only)."""
    saved = dict(MT_MIN_SLOTS)
    MT_MIN_SLOTS.update(HALF_FULL)
    try:
        yield
    finally:
        MT_MIN_SLOTS.clear()
        MT_MIN_SLOTS.update(saved)


Write = tuple[int, int, object]  # (first, last, entry or None): a store_range


def two_leaf() -> tuple[MapleTree, list[list[Write]]]:
    """A root leaf of exactly 16 slots (``[10i, 10i+5]`` for i < 8 and the
    NULL gaps after them), and a range inside the first gap: inserting it
    adds two slots (the gap is cut in two), so the leaf splits; erasing it
    merges the gap again."""
    t = MapleTree()
    for i in range(8):
        t.store_range(10 * i, 10 * i + 5, i)
    return t, [[(7, 8, "x"), (7, 8, None)]]


def packed(n: int = 10_000) -> tuple[MapleTree, list[list[Write]]]:
    """``n`` ranges ``[10i, 10i+5]`` appended in order (full leaves), and a
    key inside the last gap of a leaf in the middle: the insert cuts that gap
    (two more slots: the leaf splits, and the inserted range lands in the
    smaller right half), the erase merges it again."""
    t = MapleTree()
    for i in range(n):
        t.store_range(10 * i, 10 * i + 5, i)
    first, last, _ = t.find(10 * (n // 2))
    leaf_max = _leaf_max(t, first)  # the leaf ends with [leaf_max - 5, leaf_max]
    key = leaf_max - 8               # inside the gap [leaf_max - 9, leaf_max - 6]
    return t, [[(key, key, "x"), (key, key, None)]]


def churn(n: int = 10_000) -> tuple[MapleTree, list[list[Write]]]:
    """``n`` ranges inserted in random order, then every second one erased
    (the leaves thin out towards their minimum), and rounds that each erase
    one random remaining range and store it again (seeded, so both rules see
    the same writes)."""
    rng = random.Random(0x717)
    order = list(range(n))
    rng.shuffle(order)
    t = MapleTree()
    for i in order:
        t.store_range(10 * i, 10 * i + 5, i)
    for i in order[::2]:
        t.store_range(10 * i, 10 * i + 5, None)
    kept = sorted(order[1::2])
    picks = [rng.choice(kept) for _ in range(997)]
    return t, [[(10 * i, 10 * i + 5, None), (10 * i, 10 * i + 5, i)] for i in picks]


def _leaf_max(t: MapleTree, key: int) -> int:
    """The max of the leaf holding ``key`` (read from the tree's structure)."""
    node = t.structure()["root"]
    while node["type"] != "leaf_64":
        node = next(child for child in node["slots"] if key <= child["max"])
    return int(node["max"])


def run(build: str, rounds: int, textbook: bool) -> dict[str, float]:
    """Build the scenario (with the 6.12 rules), then run ``rounds`` of its
    writes under the chosen rule; return the nodes allocated and freed per
    write and the share of writes that allocated any.  The tree is
    validated at the end with the kernel's minimum and ``mt_validate``'s
    rightmost exemption (the raised minimum is not the one the engine's
    split arithmetic keeps for the rightmost nodes)."""
    tree, cycle = SCENARIOS[build]()
    made, freed = tree.stats().nodes_made, tree.stats().nodes_freed
    busy = writes = 0
    with textbook_rule() if textbook else nullcontext():
        for r in range(rounds):
            for first, last, entry in cycle[r % len(cycle)]:
                before = tree._nodes_made
                tree.store_range(first, last, entry)
                busy += tree._nodes_made != before
                writes += 1
    tree.validate(exempt_rightmost=True)  # with the kernel's minimum
    s = tree.stats()
    return {"allocated": (s.nodes_made - made) / writes, "freed": (s.nodes_freed - freed) / writes,
            "busy": busy / writes, "nodes": s.nodes, "height": s.height}


SCENARIOS = {"two-leaf": two_leaf, "packed": packed, "churn": churn}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1000,
                        help="insert/erase pairs per scenario (default 1000)")
    args = parser.parse_args(argv)
    print(f"{'scenario':10} {'rule':9} {'alloc/write':>11} {'freed/write':>11} "
          f"{'writes that allocate':>21} {'nodes':>6} {'height':>6}")
    for name in SCENARIOS:
        for rule in ("6.12", "textbook"):
            res = run(name, args.rounds, textbook=rule == "textbook")
            print(f"{name:10} {rule:9} {res['allocated']:11.3f} {res['freed']:11.3f} "
                  f"{res['busy']:20.1%} {res['nodes']:6d} {res['height']:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
