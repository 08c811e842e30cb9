"""The compiled and the pure build answer bad input alike, and take every key.

Bad input: every case of ``test_misuse.ERROR_TABLE``, plus every public call
that takes a key given each bad type and out-of-range value, is run here (on
the build under test) and in a subprocess that imports the pure build from
``src/``; the exception types and messages must be equal, case by case.  When
the suite tests the pure build the two sides are the same code, and the test
still checks that every case raised one of the package's errors; under the
compiled build (``MAPLE_TREE_USE_INSTALLED=1``, as CI runs it) it compares
the two builds.

Keys: a native int of the compiled build holds 63 bits; keys above 2**62 up to
ULONG_MAX must still store, load, split, erase and gap-search exactly.

Run as a script (``python tests/test_builds_agree.py``) it prints the bad-input
outcomes of the build it imports, as JSON.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
if __name__ == "__main__":  # the subprocess: the pure build from src/, the tests' helpers
    sys.path[:0] = [str(TESTS.parent / "src"), str(TESTS)]

from maple_tree import (COMPILED, MT_FLAGS_ALLOC_RANGE, ULONG_MAX, MapleError,  # noqa: E402
                        MapleTree, MaState)
from test_misuse import BAD_TYPES, BAD_VALUES, ERROR_TABLE, big_tree  # noqa: E402

#: public calls taking a key, each given every bad key in turn
KEY_CALLS: dict[str, Callable[[MapleTree, Any], Any]] = {
    "load": lambda t, k: t.load(k),
    "getitem": lambda t, k: t[k],
    "contains": lambda t, k: k in t,
    "store": lambda t, k: t.store(k, "x"),
    "store_range-first": lambda t, k: t.store_range(k, 5, "x"),
    "store_range-last": lambda t, k: t.store_range(0, k, "x"),
    "insert": lambda t, k: t.insert(k, "x"),
    "erase": lambda t, k: t.erase(k),
    "find": lambda t, k: t.find(k),
    "find-max": lambda t, k: t.find(0, k),
    "find_after": lambda t, k: t.find_after(k),
    "next": lambda t, k: t.next(k),
    "prev": lambda t, k: t.prev(k),
    "items": lambda t, k: list(t.items(k)),
    "alloc_range-size": lambda t, k: t.alloc_range(k, "x"),
    "alloc_rrange-max": lambda t, k: t.alloc_rrange(1, "x", 0, k),
    "alloc_cyclic-next": lambda t, k: t.alloc_cyclic("x", 0, 1000, k),
    "MaState": lambda t, k: MaState(t, k),
    "MaState.index": lambda t, k: setattr(MaState(t), "index", k),
    "MaState.for_each": lambda t, k: list(MaState(t).for_each(k)),
    "MaState.empty_area": lambda t, k: MaState(t).empty_area(0, k, 1),
    "from_ranges-fill": lambda t, k: MapleTree.from_ranges([], fill=k),
    "flags": lambda t, k: MapleTree(k),
    "validate": lambda t, k: t.validate(k),  # a flag, not a key
    "dump": lambda t, k: t.dump(k),
    "same_shape": lambda t, k: t.same_shape(k),
}


def _outcome(call: Callable[[MapleTree], Any], flags: int) -> list[str]:
    try:
        call(big_tree(flags, 120))
    except MapleError as exc:
        return [type(exc).__name__, str(exc)]
    except Exception as exc:  # noqa: BLE001  (reported, and then the test fails)
        return ["not a MapleError: " + type(exc).__name__, str(exc)]
    return ["no error", ""]


def outcomes() -> dict[str, Any]:
    """Every bad-input case -> [exception type, message], for this build."""
    cases: dict[str, list[str]] = {}
    for case_id, flags, call, _exc, _needles in ERROR_TABLE:
        cases[case_id] = _outcome(call, flags)
    for name, call in KEY_CALLS.items():
        for bad in [*BAD_TYPES, *BAD_VALUES]:
            if name == "validate" and isinstance(bad, bool):
                continue  # its argument is a flag: True and False are good input
            cases[f"{name}({bad!r})"] = _outcome(lambda t, c=call, b=bad: c(t, b),
                                                  MT_FLAGS_ALLOC_RANGE)
    return {"compiled": COMPILED, "cases": cases}


def test_bad_input_is_refused_alike_by_both_builds():
    here = outcomes()
    proc = subprocess.run([sys.executable, str(Path(__file__))], capture_output=True,
                          text=True, timeout=300, check=True)
    pure = json.loads(proc.stdout)
    assert pure["compiled"] is False
    assert here["cases"].keys() == pure["cases"].keys()
    differ = {k: (v, pure["cases"][k]) for k, v in here["cases"].items()
              if v != pure["cases"][k]}
    assert not differ, differ
    not_refused = {k: v for k, v in here["cases"].items()
                   if v[0] == "no error" or v[0].startswith("not a")}
    # a bool is a key in no call; bad flags refuse, and so on: nothing passes quietly
    assert not not_refused, not_refused


BIG_KEYS = [2**62 - 1, 2**62, 2**62 + 1, 2**63 - 1, 2**63, 2**63 + 1, ULONG_MAX - 1, ULONG_MAX]


@pytest.mark.parametrize("flags", [0, MT_FLAGS_ALLOC_RANGE])
def test_keys_above_2_62(flags):
    """Store, load, overwrite, erase, iterate and search keys around 2**62,
    2**63 and ULONG_MAX, through splits (200 ranges near the top)."""
    t = MapleTree(flags)
    base = ULONG_MAX - 10_000
    for i in range(200):
        t.store_range(base + 40 * i, base + 40 * i + 9, i)
    for k in BIG_KEYS:
        t.store(k, ("k", k))
        assert t.load(k) == ("k", k)
        t.validate()
    assert [r[0] for r in t if r[0] in BIG_KEYS] == BIG_KEYS
    t.store_range(2**63 - 5, 2**63 + 5, "span")
    assert t.load(2**63 - 1) == t.load(2**63 + 5) == "span"
    assert t.find(2**63 - 20) == (2**63 - 5, 2**63 + 5, "span")
    assert t.erase(ULONG_MAX) == ("k", ULONG_MAX) and t.load(ULONG_MAX) is None
    assert t.prev(ULONG_MAX) == (ULONG_MAX - 1, ULONG_MAX - 1, ("k", ULONG_MAX - 1))
    t.validate()
    if flags:
        start = t.alloc_rrange(5, "top", 2**63, ULONG_MAX)
        assert start == ULONG_MAX - 6 and t.load(ULONG_MAX - 2) == "top"  # [ULONG_MAX-1] is taken
        mas = MaState(t)
        mas.empty_area(2**62, ULONG_MAX, 3)
        assert mas.index >= 2**62 and t.load(mas.index) is None
        t.validate()


if __name__ == "__main__":
    json.dump(outcomes(), sys.stdout)
