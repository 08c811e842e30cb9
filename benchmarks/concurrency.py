"""Readers beside one writer: MapleTree in RCU mode (lock-free loads) against a
SortedDict range map behind one threading.Lock; prints markdown tables.

    python benchmarks/concurrency.py                        # N = 10,000, 4 s per run, R = 0 1 2 4 (~50 s)
    python benchmarks/concurrency.py --n 2000 --seconds 0.2 # a quick look
    python benchmarks/concurrency.py --baseline BASE/src    # another maple_tree beside this one

(``BASE``: a git worktree of an earlier commit, e.g. ``git worktree add BASE HEAD~1``.)

In one process, for each R of ``--readers`` and each map, one writer thread and
R reader threads run together for ``--seconds`` of wall time on a map built as
W1 builds its tree (``[10i, 10i+5] -> i``, i < N):

* the writer does W4's random range overwrites, ``[a, a+L] -> a`` with
  ``a = below(10N)``, ``L = 1 + below(50)`` (seed 0x5704, the stream continued
  past N and then repeated);
* each reader does random point loads, ``below(10N)`` (seed 0x5703 + reader).

The maps:

* ``maple``: ``MapleTree(MT_FLAGS_USE_RCU)``; readers call ``tree.load`` without
  any lock, the writer calls ``tree.store_range`` (which takes ``tree.lock``);
* ``locked SortedDict``: benchmarks/peers.py's ``SortedDictRangeMap`` guarded
  by one ``threading.Lock``, taken around every load and every store.

Every figure is checked, outside the timed region: each reader keeps every
8th block of its results, and every kept value must be one the key could
hold at some moment (None, its W1 value, or an overwrite's ``a`` with
``a <= key <= a + 50``); after the run the map must hold exactly what the
writer's overwrites, replayed alone on a fresh ``SortedDictRangeMap``, give
(and the tree must pass ``validate()``).  A wrong answer or an exception in a
thread raises :class:`workloads.WorkloadCheckError` instead of printing a figure.

See benchmarks/README.md ("Concurrency") for the figures and what
the GIL does to them.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import which_build  # noqa: E402  (src/ or the installed build)
from which_build import Checkout  # noqa: E402

which_build.use_package()

import maple_tree  # noqa: E402
from peers import SortedDictRangeMap  # noqa: E402  (needs sortedcontainers)
from workloads import SEED_W3, SEED_W4, SplitMix64, WorkloadCheckError, check  # noqa: E402

#: loads (stores) between two looks at the stop flag
READ_BLOCK = 512
WRITE_BLOCK = 64
#: a reader keeps one block of results in this many for the check
KEEP_EVERY = 8
#: keys per reader stream and overwrites in the writer's stream (then repeated)
READER_KEYS = 1 << 16
WRITER_OPS = 1 << 17


# -- inputs -------------------------------------------------------------------

def writer_inputs(n: int, count: int = WRITER_OPS) -> list[tuple[int, int]]:
    """W4's overwrite stream continued: ``count`` pairs (a, L), a = below(10n),
    L = 1 + below(50), seed 0x5704 (the first n are ``workloads.w4_inputs(n)``)."""
    rng = SplitMix64(SEED_W4)
    out = []
    for _ in range(max(count, n)):
        a = rng.below(10 * n)
        out.append((a, 1 + rng.below(50)))
    return out


def reader_keys(n: int, reader: int, count: int = READER_KEYS) -> list[int]:
    """Reader ``reader``'s load keys: below(10n), seed 0x5703 + reader."""
    rng = SplitMix64(SEED_W3 + reader)
    return [rng.below(10 * n) for _ in range(count)]


def plausible(key: int, value: Any) -> bool:
    """Whether ``value`` is one a load of ``key`` may see at some moment of the
    run: nothing, its W1 value, or the ``a`` of an overwrite ``[a, a+L]``, L <= 50."""
    return value is None or 10 * value <= key <= 10 * value + 5 or value <= key <= value + 50


# -- the two kinds of map -------------------------------------------------------

@dataclass
class Side:
    """One map under test: how to make it and the bodies of its threads.

    ``make(n)`` returns the map holding W1's ranges.  ``read_block(m, keys)``
    loads every key of ``keys`` and returns the values; ``write_block(m, pairs)``
    does the overwrites.  ``active()`` is entered around a run (a second
    package's modules)."""

    name: str
    make: Callable[[int], Any]
    read_block: Callable[[Any, list[int]], list[Any]]
    write_block: Callable[[Any, list[tuple[int, int]]], None]
    contents: Callable[[Any], list[tuple[int, int, Any]]]
    validate: Callable[[Any], None] = lambda m: None
    active: Callable[[], AbstractContextManager[Any]] = field(default=nullcontext)
    lock_free_reads: bool = False


def maple_side(name: str, package: Any,
               active: Callable[[], AbstractContextManager[Any]] = nullcontext) -> Side:
    """``MapleTree(MT_FLAGS_USE_RCU)`` of ``package``: lock-free ``load``, the
    writer's ``store_range`` takes ``tree.lock`` itself."""
    tree_class = package.MapleTree
    flags = package.MT_FLAGS_USE_RCU

    def make(n: int) -> Any:
        tree = tree_class(flags)
        store_range = tree.store_range
        for i in range(n):
            store_range(10 * i, 10 * i + 5, i)
        check(tree.in_rcu, f"{name}: the tree is not in RCU mode")
        return tree

    def read_block(tree: Any, keys: list[int]) -> list[Any]:
        load = tree.load
        out = []
        append = out.append
        for q in keys:
            append(load(q))
        return out

    def write_block(tree: Any, pairs: list[tuple[int, int]]) -> None:
        store_range = tree.store_range
        for a, length in pairs:
            store_range(a, a + length, a)

    return Side(name, make, read_block, write_block, list, lambda t: t.validate(), active,
                lock_free_reads=True)


class LockedMap:
    """``SortedDictRangeMap`` and the one lock every reader and the writer take."""

    __slots__ = ("map", "lock")

    def __init__(self) -> None:
        self.map = SortedDictRangeMap()
        self.lock = threading.Lock()


def _locked_make(n: int) -> LockedMap:
    m = LockedMap()
    store_range = m.map.store_range
    for i in range(n):
        store_range(10 * i, 10 * i + 5, i)
    return m


def _locked_read_block(m: LockedMap, keys: list[int]) -> list[Any]:
    load = m.map.load
    lock = m.lock
    out = []
    append = out.append
    for q in keys:
        with lock:
            append(load(q))
    return out


def _locked_write_block(m: LockedMap, pairs: list[tuple[int, int]]) -> None:
    store_range = m.map.store_range
    lock = m.lock
    for a, length in pairs:
        with lock:
            store_range(a, a + length, a)


LOCKED = Side("locked SortedDict", _locked_make, _locked_read_block, _locked_write_block,
              lambda m: list(m.map))


# -- one run: R readers and the writer for a fixed wall time -------------------------

@dataclass
class Cell:
    """What one run measured: per-thread operation counts and seconds."""

    side: str
    readers: int
    reads: list[int]
    read_seconds: list[float]
    writes: int
    write_seconds: float

    @property
    def reads_per_s(self) -> float:
        """Loads per second, summed over the readers (each over its own time)."""
        return sum(r / s for r, s in zip(self.reads, self.read_seconds) if s > 0)

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.write_seconds if self.write_seconds > 0 else 0.0


def run_cell(side: Side, n: int, readers: int, seconds: float,
             inputs: list[tuple[int, int]]) -> Cell:
    """Build the map, start the writer and ``readers`` readers together, stop them
    after ``seconds``; check what they saw and what the map ends holding."""
    with side.active():
        m = side.make(n)
        keys = [reader_keys(n, r) for r in range(readers)]
        stop = threading.Event()
        start = threading.Barrier(readers + 2)
        errors: list[BaseException] = []
        kept: list[list[tuple[list[int], list[Any]]]] = [[] for _ in range(readers)]
        reads = [0] * readers
        read_seconds = [0.0] * readers
        write_count = [0, 0.0]
        read_block, write_block = side.read_block, side.write_block

        def timed_loop(items: list[Any], size: int, do_block: Callable[[list[Any], int], None],
                       report: Callable[[int, float], None]) -> None:
            """Run ``do_block(block, b)`` over ``items`` cut in blocks of ``size``,
            round and round, from the start barrier until ``stop``; then
            ``report(items done, seconds)``.  An exception stops every thread."""
            blocks = [items[i:i + size] for i in range(0, len(items), size)]
            done = 0
            b = 0
            try:
                start.wait()
                t0 = time.perf_counter()
                while not stop.is_set():
                    block = blocks[b % len(blocks)]
                    do_block(block, b)
                    done += len(block)
                    b += 1
                report(done, time.perf_counter() - t0)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                stop.set()

        def reader(r: int) -> None:
            keep = kept[r]

            def read(block: list[int], b: int) -> None:
                got = read_block(m, block)
                if b % KEEP_EVERY == 0:
                    keep.append((block, got))

            def report(done: int, seconds: float) -> None:
                reads[r], read_seconds[r] = done, seconds

            timed_loop(keys[r], READ_BLOCK, read, report)

        def writer() -> None:
            def report(done: int, seconds: float) -> None:
                write_count[:] = [done, seconds]

            timed_loop(inputs, WRITE_BLOCK, lambda block, _b: write_block(m, block), report)

        threads = [threading.Thread(target=writer, name="writer")]
        threads += [threading.Thread(target=reader, args=(r,), name=f"reader{r}")
                    for r in range(readers)]
        gc.collect()
        for t in threads:
            t.start()
        start.wait()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        if errors:
            raise WorkloadCheckError(f"{side.name}, R={readers}: a thread raised "
                                     f"{type(errors[0]).__name__}: {errors[0]}") from errors[0]
        # the checks, outside the timed region
        for r in range(readers):
            for block, got in kept[r]:
                for q, v in zip(block, got):
                    check(plausible(q, v), f"{side.name}, R={readers}: reader {r} loaded "
                                           f"{v!r} at {q}, which no moment held")
        side.validate(m)
        ref = SortedDictRangeMap()
        for i in range(n):
            ref.store_range(10 * i, 10 * i + 5, i)
        done = write_count[0]
        full, part = divmod(done, len(inputs))
        for a, length in inputs * full + inputs[:part]:
            ref.store_range(a, a + length, a)
        check(side.contents(m) == list(ref),
              f"{side.name}, R={readers}: the map does not hold what the {done} overwrites give")
        return Cell(side.name, readers, reads, read_seconds, done, write_count[1])


# -- the tables ---------------------------------------------------------------------

def _rate(x: float) -> str:
    return f"{x:,.0f}"


def report(cells: dict[tuple[str, int], Cell], sides: Sequence[Side],
           readers: Sequence[int]) -> list[str]:
    """The markdown tables and the verdict lines."""
    base_r = 0 if 0 in readers else min(readers)
    lines = [f"| map | readers R | reads/s (all readers) | reads/s per reader "
             f"| writer ops/s | writer vs R={base_r} |",
             "|---|---:|---:|---:|---:|---:|"]
    for side in sides:
        w0 = cells[(side.name, base_r)].writes_per_s
        for r in readers:
            c = cells[(side.name, r)]
            reads = _rate(c.reads_per_s) if r else "-"
            per = _rate(c.reads_per_s / r) if r else "-"
            rel = f"{c.writes_per_s / w0:.2f}" if w0 else "-"
            lines.append(f"| {side.name} | {r} | {reads} | {per} | {_rate(c.writes_per_s)} "
                         f"| {rel} |")
    maples = [s for s in sides if s.lock_free_reads]
    with_readers = [r for r in readers if r > 0]
    if with_readers:
        lines += ["", "| readers R | " + " | ".join(
            f"{s.name} reads/s ÷ locked reads/s" for s in maples) + " |",
                  "|---:|" + "---:|" * len(maples)]
        for r in with_readers:
            locked = cells[(LOCKED.name, r)].reads_per_s
            lines.append(f"| {r} | " + " | ".join(
                f"{cells[(s.name, r)].reads_per_s / locked:.2f}" for s in maples) + " |")
    lines.append("")
    top = max(readers)
    for s in maples:
        if top > 0:
            ratio = cells[(s.name, top)].reads_per_s / cells[(LOCKED.name, top)].reads_per_s
            lines.append(f"- goal 1, {s.name}: lock-free readers do not lose to the locked map "
                         f"at R={top}: reads/s ratio {ratio:.2f} -> "
                         f"{'met' if ratio >= 1 else 'NOT met'}")
        w0 = cells[(s.name, base_r)].writes_per_s
        if top != base_r and w0:
            rel = cells[(s.name, top)].writes_per_s / w0
            lines.append(f"- goal 2, {s.name}: the writer keeps at least half its R={base_r} "
                         f"throughput at R={top}: {rel:.2f} -> "
                         f"{'met' if rel >= 0.5 else 'NOT met'}")
    return lines


def gil_note() -> str:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_enabled is None:
        return "GIL: always on (this Python has no sys._is_gil_enabled)"
    return f"GIL: {'on' if is_enabled() else 'off (free-threaded build)'} (sys._is_gil_enabled())"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000,
                   help="ranges in the map at the start (W1's; default 10000)")
    p.add_argument("--seconds", type=float, default=4.0,
                   help="wall time of each run (default 4)")
    p.add_argument("--readers", type=int, nargs="+", default=[0, 1, 2, 4],
                   help="reader thread counts R (default 0 1 2 4)")
    p.add_argument("--baseline", metavar="SRC_DIR",
                   help="a directory holding another maple_tree package (e.g. src/ of an "
                        "earlier commit's worktree): measure its RCU-mode tree too")
    args = p.parse_args(argv)
    if args.n < 1 or args.seconds <= 0 or any(r < 0 for r in args.readers):
        p.error("--n and --seconds must be positive, --readers at least 0")
    readers = sorted(set(args.readers))

    sides = [maple_side(f"maple {which_build.build_name(maple_tree)}", maple_tree)]
    if args.baseline:
        base = Checkout.load("baseline", args.baseline)
        sides.append(maple_side("maple baseline", base.modules["maple_tree"], base.active))
    sides.append(LOCKED)

    print(f"maple-tree readers beside a writer: Python {platform.python_version()} "
          f"({platform.python_implementation()}), {platform.machine()}, "
          f"{os.cpu_count()} CPUs, {gil_note()}, "
          f"sys.getswitchinterval() = {sys.getswitchinterval() * 1e3:g} ms, GC on")
    print(f"  maple: {os.path.dirname(maple_tree.__file__ or '?')} "
          f"({which_build.build_name(maple_tree)})")
    if args.baseline:
        print(f"  baseline: {base.location}")
    print(f"N = {args.n:,}, {args.seconds:g} s per run, R = "
          f"{' '.join(map(str, readers))}; one writer thread (W4 overwrites) in every run\n")

    inputs = writer_inputs(args.n)
    started = time.perf_counter()
    cells: dict[tuple[str, int], Cell] = {}
    for r in readers:           # the maps in turn at each R
        for side in sides:
            cells[(side.name, r)] = run_cell(side, args.n, r, args.seconds, inputs)
    for line in report(cells, sides, readers):
        print(line)
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
