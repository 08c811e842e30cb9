"""Reader and replayer for the kernel conformance corpus (tests/data/conformance).

Three parts:

* :func:`read_ops` parses a ``maple-ops/1`` op file into an :class:`OpFile`.
* :class:`RefReader` / :func:`iter_reference` read the compact ``maple-ref/1``
  reference lines (node table with content-addressed ids, ``same``, ``h``/``root``,
  ``n`` pairs) and rebuild, on demand, the canonical ``maple-structure/1``
  string of the kernel's tree after each op.
* :class:`Replayer` runs ops against :class:`maple_tree.MapleTree`;
  :func:`replay` is the ``compare.py``-compatible generator
  (``python3 compare.py conformance_lib:replay trace_set2`` with ``tests`` and
  ``src`` on ``PYTHONPATH``).

Op kinds are dispatched through :data:`OPS` (kind -> :class:`OpSpec`).  Kinds
the port does not support yet are registered with ``unsupported=True``: their
handlers raise :class:`NotImplementedError`, which the replayer turns into a
:class:`NotImplementedResult` result without touching the tree.  Supporting
one is one function: replace its handler with :func:`register`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

ULONG_MAX = (1 << 64) - 1
VALUE_MASK = (1 << 63) - 1          # xa_mk_value keeps 63 bits

DATA_DIR = Path(__file__).resolve().parent / "data" / "conformance"
OPS_DIR = DATA_DIR / "ops"
REF_DIR = DATA_DIR / "ref"

EMPTY_STRUCTURE = '{"height":0,"root":null}'


def canonical(obj: Any) -> str:
    """Canonical JSON: keys sorted, no spaces (the maple-structure/1 form)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------
# op files (maple-ops/1)
# --------------------------------------------------------------------------

@dataclass
class OpFile:
    path: str
    header: dict
    ops: list            # list of tuples: (kind, int, int, ...)
    expects: list = field(default_factory=list)
    comments: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.header["name"]

    @property
    def flags(self) -> int:
        return int(self.header.get("flags") or 0)


def read_ops(path) -> OpFile:
    """Parse a ``maple-ops/1`` file.  Ops are tuples ``(KIND, *ints)``."""
    path = str(path)
    header = None
    ops: list = []
    expects: list = []
    comments: list = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            if line.startswith("#"):
                if line.startswith("#maple-ops/1 "):
                    if header is not None or ops:
                        raise ValueError(f"{path}:{lineno}: misplaced header")
                    header = json.loads(line[len("#maple-ops/1 "):])
                elif line.startswith("#expect "):
                    expects.append(json.loads(line[len("#expect "):]))
                else:
                    comments.append((len(ops), line[1:].strip()))
                continue
            if header is None:
                raise ValueError(f"{path}:{lineno}: op before the #maple-ops/1 header")
            parts = line.split()
            try:
                args = tuple(int(p) for p in parts[1:])
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: bad argument in {line!r}") from exc
            ops.append((parts[0],) + args)
    if header is None:
        raise ValueError(f"{path}: no #maple-ops/1 header")
    if header.get("format", "maple-ops/1") != "maple-ops/1":
        raise ValueError(f"{path}: unsupported format {header.get('format')!r}")
    return OpFile(path, header, ops, expects, comments)


def op_path(name: str) -> Path:
    return OPS_DIR / f"{name}.ops"


def ref_path(name: str) -> Path:
    return REF_DIR / f"{name}.jsonl.gz"


def all_names() -> list:
    return sorted(p.name[:-4] for p in OPS_DIR.glob("*.ops"))


def ops_value(name: str, index: int) -> int:
    """The value ``STORE``/``INSERT`` op ``index`` of file ``name`` stores."""
    op = read_ops(op_path(name)).ops[index]
    return xa_value(op[3] if op[0] == "STOREV" else op[1])


def op_text(op) -> str:
    return " ".join(str(x) for x in op)


# --------------------------------------------------------------------------
# reference files (maple-ref/1)
# --------------------------------------------------------------------------

class RefReader:
    """Node table of one reference file; rebuilds canonical structure strings.

    Leaves are kept as their final string; internal nodes as a template
    ``(prefix, child ids, suffix)``, so memory stays proportional to the number
    of distinct nodes while a whole tree string is assembled on demand.
    """

    def __init__(self) -> None:
        self._leaf: dict = {}       # id -> canonical string
        self._inner: dict = {}      # id -> (prefix, [child ids], suffix)

    def add(self, nid: int, node: dict) -> None:
        if nid in self._leaf or nid in self._inner:
            return              # content-addressed: an id never changes meaning
        keys = sorted(node)
        if node.get("type") == "leaf_64":
            self._leaf[nid] = canonical(node)
            return
        pre, post, children = [], [], None
        for k in keys:
            if k == "slots":
                children = [int(c) for c in node[k]]
                continue
            piece = json.dumps(k) + ":" + canonical(node[k])
            (pre if children is None else post).append(piece)
        if children is None:
            raise ValueError(f"reference node {nid} without slots")
        prefix = "{" + "".join(p + "," for p in pre) + '"slots":['
        suffix = "]" + "".join("," + p for p in post) + "}"
        self._inner[nid] = (prefix, children, suffix)

    def node_str(self, nid: int) -> str:
        s = self._leaf.get(nid)
        if s is not None:
            return s
        try:
            prefix, children, suffix = self._inner[nid]
        except KeyError:
            raise KeyError(f"reference names unknown node id {nid}") from None
        return prefix + ",".join(self.node_str(c) for c in children) + suffix

    def structure_str(self, key) -> str:
        """``key`` = ``(h, root)`` as in a reference line."""
        h, root = key
        if root is None:
            rs = "null"
        elif isinstance(root, dict):
            rs = canonical(root)
        else:
            rs = self.node_str(root)
        return '{"height":%d,"root":%s}' % (h, rs)


def _root_key(h, root):
    # dict roots ({"entry": V}) are made hashable through their canonical form
    if isinstance(root, dict):
        return (h, ("entry", canonical(root)))
    return (h, root)


@dataclass
class RefStep:
    i: int
    result: Any
    same: bool                  # structure unchanged since the previous line
    key: tuple                  # (h, root) of the structure after this op
    line: dict
    reader: RefReader

    @property
    def structure(self) -> str:
        return self.reader.structure_str(self.key)

    def sub_structure(self, field_name: str) -> Optional[str]:
        """``fork_s`` / ``dup_s`` copies, rebuilt from the same node table."""
        s = self.line.get(field_name)
        if s is None:
            return None
        return self.reader.structure_str((s["h"], s["root"]))


def iter_reference(path_or_name) -> Iterator[RefStep]:
    """Yield one :class:`RefStep` per reference line, in op order."""
    p = Path(path_or_name)
    if not p.exists():
        p = ref_path(str(path_or_name))
    reader = RefReader()
    key = (0, None)
    expect_i = 0
    with gzip.open(p, "rt", encoding="utf-8") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            line = json.loads(raw)
            if line.get("i") != expect_i:
                raise ValueError(f"{p}: line for op {line.get('i')} where op {expect_i} was due")
            for nid, node in line.get("n", ()):
                reader.add(nid, node)
            same = bool(line.get("same"))
            if not same:
                if "h" not in line or "root" not in line:
                    raise ValueError(f"{p}: op {expect_i}: neither 'same' nor h/root")
                key = (line["h"], line["root"])
            yield RefStep(expect_i, line.get("r"), same, key, line, reader)
            expect_i += 1


# --------------------------------------------------------------------------
# structure differences
# --------------------------------------------------------------------------

def _short(x, n=160) -> str:
    s = canonical(x)
    return s if len(s) <= n else s[: n - 3] + "..."


def _diff(a, b, path, out, limit):
    if len(out) >= limit:
        return
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        if a != b or type(a) is not type(b):
            out.append(f"{path}: expected {_short(a)}, got {_short(b)}")
        return
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: unexpected key (got {_short(b[k])})")
            elif k not in b:
                out.append(f"{path}.{k}: missing (expected {_short(a[k])})")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out, limit)
            if len(out) >= limit:
                return
        return
    for idx in range(min(len(a), len(b))):
        _diff(a[idx], b[idx], f"{path}[{idx}]", out, limit)
        if len(out) >= limit:
            return
    if len(a) != len(b):
        out.append(f"{path}: length expected {len(a)}, got {len(b)}")


def _levels(s: dict) -> str:
    counts = []
    level = [s.get("root")] if isinstance(s.get("root"), dict) and "slots" in s["root"] else []
    while level:
        counts.append(len(level))
        level = [c for n in level for c in n.get("slots", ()) if isinstance(c, dict)]
    return f"height {s.get('height')}, nodes per level {counts}"


def structure_diff(expected: str, got: str, limit: int = 4) -> str:
    """Short description: heights, nodes per level and the first differing paths."""
    try:
        e, g = json.loads(expected), json.loads(got)
    except ValueError as exc:  # pragma: no cover - only for corrupt input
        return f"unparsable structure: {exc}"
    out: list = []
    _diff(e, g, "", out, limit)
    out = [o[1:] if o.startswith(".") else o for o in out]
    return (f"expected {_levels(e)}; got {_levels(g)}; first differences: "
            + ("; ".join(out) if out else "(none)"))


def first_diff_path(expected: str, got: str) -> str:
    out: list = []
    _diff(json.loads(expected), json.loads(got), "", out, 1)
    return out[0].lstrip(".") if out else ""


# --------------------------------------------------------------------------
# replay
# --------------------------------------------------------------------------

class NotImplementedResult(str):
    """Result of an op whose API does not exist yet (never equals a kernel result)."""

    def __new__(cls, kind: str, why: str = ""):
        obj = super().__new__(cls, f"<not implemented: {kind}>")
        obj.kind = kind
        obj.why = why
        return obj


def is_not_implemented(result) -> bool:
    return isinstance(result, NotImplementedResult)


@dataclass
class OpSpec:
    kind: str
    handler: Callable
    nargs: int
    writes: bool        # may change the tree
    unsupported: bool   # the port does not support this op kind yet


OPS: dict = {}


def register(kind: str, nargs: int, *, writes: bool, unsupported: bool = False):
    """Decorator: register (or replace) the handler of an op kind."""
    def deco(fn):
        OPS[kind] = OpSpec(kind, fn, nargs, writes, unsupported)
        return fn
    return deco


def _mt():
    import maple_tree
    return maple_tree


_ZERO = None
_MapleError = None
_fast_structure = None


def _init_imports():
    global _ZERO, _MapleError, _fast_structure
    if _ZERO is None:
        from maple_tree.entries import ZERO_ENTRY
        from maple_tree.errors import MapleError
        _ZERO, _MapleError = ZERO_ENTRY, MapleError
        try:  # optional fast path: same bytes as canonical(tree.structure())
            from maple_tree.structure import tree_structure_string as fast
        except ImportError:
            fast = None
        _fast_structure = fast


def entry_value(e):
    """Python entry -> conformance value: None, int, or "zero"."""
    if e is None:
        return None
    if e is _ZERO:
        return "zero"
    if type(e) is int:
        return e
    if isinstance(e, bool) or not isinstance(e, int):
        raise TypeError(f"unexpected entry in a conformance tree: {e!r}")
    return int(e)


def xa_value(x: int) -> int:
    """xa_mk_value(x) as the corpus stores it: 63 bits."""
    return x & VALUE_MASK


class Replayer:
    """Replays ops on a fresh tree (flags from the op file), keeping per-file state.

    ``step(op)`` runs one op and returns its result in the corpus conventions;
    ``structure()`` returns the tree's canonical maple-structure/1 string.
    """

    def __init__(self, flags: int = 0) -> None:
        _init_imports()
        self.flags = flags
        self.tree = _mt().MapleTree(flags)
        # per-file state of the advanced ops (the cursor, the cyclic allocator)
        self.cursor = None
        self.cyclic_next = 0
        self.cyclic_counter = 0
        self.not_implemented = 0
        self.fork_structure: Optional[str] = None  # the last FORK copy, for a diff

    def structure(self) -> str:
        """Our canonical structure string (the engine's direct serialiser when it
        has one; :meth:`structure_via_dict` is the contract path it must equal)."""
        if _fast_structure is not None:
            return _fast_structure(self.tree)
        return canonical(self.tree.structure())

    def structure_via_dict(self) -> str:
        return canonical(self.tree.structure())

    def step(self, op):
        spec = OPS.get(op[0])
        if spec is None:
            raise ValueError(f"unknown op kind {op[0]!r}")
        if len(op) - 1 != spec.nargs:
            raise ValueError(f"{op_text(op)}: {spec.kind} takes {spec.nargs} arguments")
        try:
            return spec.handler(self, *op[1:])
        except NotImplementedError as exc:
            self.not_implemented += 1
            return NotImplementedResult(op[0], str(exc))

    def _rc(self, fn, *args) -> int:
        try:
            fn(*args)
        except _MapleError as exc:
            return -exc.errno
        return 0


# ---- normal API ----

@register("STORE", 2, writes=True)
def _op_store(rp: Replayer, a, b):
    return rp._rc(rp.tree.store_range, a, b, xa_value(a))


@register("STOREV", 3, writes=True)
def _op_storev(rp: Replayer, a, b, x):
    return rp._rc(rp.tree.store_range, a, b, xa_value(x))


@register("SNULL", 2, writes=True)
def _op_snull(rp: Replayer, a, b):
    return rp._rc(rp.tree.store_range, a, b, None)


@register("ZERO", 2, writes=True)
def _op_zero(rp: Replayer, a, b):
    return rp._rc(rp.tree.store_range, a, b, _ZERO)


@register("INSERT", 2, writes=True)
def _op_insert(rp: Replayer, a, b):
    return rp._rc(rp.tree.insert_range, a, b, xa_value(a))


@register("ERASE", 1, writes=True)
def _op_erase(rp: Replayer, a):
    return entry_value(rp.tree.erase(a))


@register("LOAD", 1, writes=False)
def _op_load(rp: Replayer, a):
    return entry_value(rp.tree.load(a))


@register("FIND", 2, writes=False)
def _op_find(rp: Replayer, a, mx):
    # idx = a; e = mt_find(mt, &idx, max): on success idx = last + 1 (wrapping to 0)
    hit = rp.tree.find(a, mx)
    if hit is None:
        return [None, a]
    first, last, entry = hit
    return [entry_value(entry), (last + 1) & ULONG_MAX]


@register("DUP", 0, writes=False)
def _op_dup(rp: Replayer):
    try:
        copy = rp.tree.dup()
    except _MapleError as exc:
        return [-exc.errno, False]
    copy.validate(exempt_rightmost=True)  # mt_validate: bulk-built trees may end short
    return [0, canonical(copy.structure()) == rp.structure()]


# ---- every op kind, first as unsupported: supporting one replaces its handler ----

def _unsupported(kind: str, what: str):
    def handler(rp: Replayer, *args):
        raise NotImplementedError(f"{kind}: {what}")
    handler.__name__ = f"_op_{kind.lower()}"
    return handler


_UNSUPPORTED_KINDS = [
    # kind, nargs, writes, what it needs
    ("MAS_FIND", 2, False, "advanced API (MaState)"),
    ("MAS_FIND_REV", 2, False, "advanced API (MaState)"),
    ("MAS_NEXT", 2, False, "advanced API (MaState)"),
    ("MAS_PREV", 2, False, "advanced API (MaState)"),
    ("MAS_NEXT_RANGE", 2, False, "advanced API (MaState)"),
    ("MAS_PREV_RANGE", 2, False, "advanced API (MaState)"),
    ("MAS_WALK", 1, False, "advanced API (MaState)"),
    ("EMPTY_AREA", 3, False, "gap search"),
    ("EMPTY_AREA_REV", 3, False, "gap search"),
    ("ALLOC", 3, True, "allocation API"),
    ("ALLOC_REV", 3, True, "allocation API"),
    ("CYCLIC", 2, True, "cyclic allocation"),
    ("RCU_ON", 0, False, "RCU mode"),
    ("RCU_OFF", 0, False, "RCU mode"),
    ("S_SET", 1, False, "persistent cursor"),
    ("S_SET_RANGE", 2, False, "persistent cursor"),
    ("S_RESET", 0, False, "persistent cursor"),
    ("S_PAUSE", 0, False, "persistent cursor"),
    ("S_INDEX", 2, False, "persistent cursor"),
    ("S_FORCE_NONE", 0, False, "persistent cursor"),
    ("S_WALK", 0, False, "persistent cursor"),
    ("S_FIND", 1, False, "persistent cursor"),
    ("S_FIND_RANGE", 1, False, "persistent cursor"),
    ("S_FIND_REV", 1, False, "persistent cursor"),
    ("S_FIND_RANGE_REV", 1, False, "persistent cursor"),
    ("S_NEXT", 1, False, "persistent cursor"),
    ("S_NEXT_RANGE", 1, False, "persistent cursor"),
    ("S_PREV", 1, False, "persistent cursor"),
    ("S_PREV_RANGE", 1, False, "persistent cursor"),
    ("S_STORE", 1, True, "persistent cursor"),
    ("S_MSTORE", 1, True, "persistent cursor"),
    ("S_ERASE", 0, True, "persistent cursor"),
    ("S_EMPTY_AREA", 3, False, "persistent cursor gap search"),
    ("S_EMPTY_AREA_REV", 3, False, "persistent cursor gap search"),
]

for _kind, _n, _w, _what in _UNSUPPORTED_KINDS:
    register(_kind, _n, writes=_w, unsupported=True)(_unsupported(_kind, _what))


def is_unsupported(kind: str) -> bool:
    return OPS[kind].unsupported


def is_unsupported_write(kind: str) -> bool:
    spec = OPS[kind]
    return spec.unsupported and spec.writes


def first_unsupported_write(ops) -> Optional[int]:
    """Index of the first op of an unsupported kind that may write, or None."""
    for i, op in enumerate(ops):
        if is_unsupported_write(op[0]):
            return i
    return None


def replay(path) -> Iterator[tuple]:
    """compare.py entry point: yield ``(result, structure)`` per op.

    ``structure`` is our canonical string after ops that may write, ``None``
    ("unchanged") after reads and after not-implemented ops.
    """
    opf = read_ops(path)
    rp = Replayer(opf.flags)
    for op in opf.ops:
        result = rp.step(op)
        if OPS[op[0]].writes and not is_not_implemented(result):
            yield result, rp.structure()
        else:
            yield result, None


def normalize_result(r):
    """Tuples -> lists, recursively, so results compare as canonical JSON."""
    if isinstance(r, (list, tuple)):
        return [normalize_result(x) for x in r]
    if isinstance(r, NotImplementedResult):
        return str(r)
    return r


def results_equal(expected, got) -> bool:
    return canonical(expected) == canonical(normalize_result(got))


# --------------------------------------------------------------------------
# file-level comparison (used by tests/test_conformance.py)
# --------------------------------------------------------------------------

@dataclass
class FileReport:
    name: str
    ops: int = 0
    results_compared: int = 0
    structures_compared: int = 0
    skipped_unsupported: int = 0          # unsupported read ops not compared
    stopped_at: Optional[int] = None     # first unsupported write (xfail point)
    stopped_op: Optional[tuple] = None
    failure: Optional[str] = None
    failure_index: Optional[int] = None


def compare_file(name: str, *, struct_stride: int = 1, check_reads: bool = False,
                 stop_at_unsupported_write: bool = True) -> FileReport:
    """Replay op file ``name`` against the reference and report the first failure.

    * unsupported ops that only read are skipped in the comparison (their
      handler may be unimplemented); the first unsupported op that writes stops
      the comparison (``stopped_at``) when ``stop_at_unsupported_write``;
    * every normal-API result is compared;
    * structures are compared after normal writes: every ``struct_stride``-th
      write, plus always after the last compared op (``check_reads`` also
      compares after read ops).  A ``"same"`` reference line is checked by
      comparing our string with the last string that matched.
    """
    opf = read_ops(op_path(name))
    rep = FileReport(name)
    rp = Replayer(opf.flags)
    refs = iter_reference(ref_path(name))
    verified_ours = EMPTY_STRUCTURE     # our last string that equalled the reference
    verified_key = (0, None)
    dirty = False                       # writes since the last structure comparison
    writes = 0

    def check_structure(i, op, st: RefStep) -> bool:
        nonlocal verified_ours, verified_key, dirty
        ours = rp.structure()
        rep.structures_compared += 1
        dirty = False
        if _root_key(*st.key) == verified_key and ours == verified_ours:
            return True
        expected = st.structure
        if ours == expected:
            verified_ours, verified_key = ours, _root_key(*st.key)
            return True
        rep.failure_index = i
        rep.failure = (f"{name}: op {i} ({op_text(op)}): structure differs"
                       + ("" if struct_stride == 1 else
                          f" (structures checked every {struct_stride} writes; the change"
                          f" happened after the previous check)")
                       + ": " + structure_diff(expected, ours))
        return False

    prev: Optional[tuple] = None        # (index, op, RefStep) of the last processed op
    for i, op in enumerate(opf.ops):
        try:
            st = next(refs)
        except StopIteration:
            rep.failure = f"{name}: reference ends before op {i}"
            return rep
        spec = OPS.get(op[0])
        if spec is None:
            rep.failure_index = i
            rep.failure = f"{name}: op {i}: unknown op kind {op[0]}"
            return rep
        if spec.unsupported and spec.writes and stop_at_unsupported_write:
            rep.stopped_at, rep.stopped_op = i, op
            break
        rep.ops += 1
        try:
            result = rp.step(op)
        except Exception as exc:  # the implementation raised
            rep.failure_index = i
            rep.failure = (f"{name}: op {i} ({op_text(op)}): replay raised "
                           f"{type(exc).__name__}: {exc}")
            return rep
        prev = (i, op, st)
        if is_not_implemented(result):
            if not spec.unsupported:  # pragma: no cover - normal ops are all implemented
                raise AssertionError(f"normal op {op[0]} not implemented")
            rep.skipped_unsupported += 1
            continue
        rep.results_compared += 1
        if not results_equal(st.result, result):
            rep.failure_index = i
            rep.failure = (f"{name}: op {i} ({op_text(op)}): result expected "
                           f"{canonical(st.result)}, got {canonical(normalize_result(result))}")
            fork_s = st.sub_structure("fork_s")
            if op[0] == "FORK" and fork_s is not None and rp.fork_structure is not None:
                rep.failure += "; the copy differs: " + structure_diff(fork_s, rp.fork_structure)
            return rep
        if spec.writes:
            writes += 1
            dirty = True
            if writes % struct_stride == 0 and not check_structure(i, op, st):
                return rep
        elif check_reads or i == 0:
            if not check_structure(i, op, st):
                return rep
    else:
        if next(refs, None) is not None:
            rep.failure = f"{name}: reference has more lines than the {len(opf.ops)} ops"
            return rep
    # final structure check: the state after the last processed op
    if prev is not None and (dirty or rep.structures_compared == 0):
        if not check_structure(*prev):
            return rep
    # the contract path (tree.structure() dict) must give the same bytes as the
    # serialiser used above
    if prev is not None and _fast_structure is not None:
        via_dict, direct = rp.structure_via_dict(), rp.structure()
        if via_dict != direct:
            rep.failure_index = prev[0]
            rep.failure = (f"{name}: after op {prev[0]}: canonical(tree.structure()) differs "
                           f"from tree_structure_string(tree): "
                           + structure_diff(direct, via_dict))
    return rep


__all__ = [
    "OpFile", "read_ops", "RefReader", "RefStep", "iter_reference", "structure_diff",
    "first_diff_path", "Replayer", "replay", "OPS", "OpSpec", "register",
    "NotImplementedResult", "is_not_implemented", "is_unsupported", "is_unsupported_write",
    "first_unsupported_write", "compare_file", "FileReport", "canonical", "all_names",
    "op_path", "ref_path", "ULONG_MAX",
]


#: (label, FileReport) of every compare_file run by the test suite (for the summary)
RUN_REPORTS: list = []


# --------------------------------------------------------------------------
# the advanced API (MaState), gap search and allocation
# --------------------------------------------------------------------------

def _mas(rp: Replayer, index: int):
    from maple_tree import MaState
    return MaState(rp.tree, index, index)


def _fresh_read(method: str):
    def handler(rp: Replayer, a, *limit):
        mas = _mas(rp, a)
        entry = getattr(mas, method)(*limit)
        return [entry_value(entry), mas.index, mas.last]
    return handler


for _kind, _method, _n in [("MAS_FIND", "find", 2), ("MAS_FIND_REV", "find_rev", 2),
                           ("MAS_NEXT", "next", 2), ("MAS_PREV", "prev", 2),
                           ("MAS_NEXT_RANGE", "next_range", 2),
                           ("MAS_PREV_RANGE", "prev_range", 2), ("MAS_WALK", "walk", 1)]:
    register(_kind, _n, writes=False)(_fresh_read(_method))


def _gap_search(rev: bool):
    def handler(rp: Replayer, lo, hi, size):
        mas = _mas(rp, 0)
        ret = rp._rc(mas.empty_area_rev if rev else mas.empty_area, lo, hi, size)
        return [ret, mas.index, mas.last]
    return handler


register("EMPTY_AREA", 3, writes=False)(_gap_search(False))
register("EMPTY_AREA_REV", 3, writes=False)(_gap_search(True))


def _alloc(rev: bool):
    def handler(rp: Replayer, size, lo, hi):
        fn = rp.tree.alloc_rrange if rev else rp.tree.alloc_range
        try:
            return [0, fn(size, xa_value(size), lo, hi)]
        except _MapleError as exc:
            return [-exc.errno, 0]
    return handler


register("ALLOC", 3, writes=True)(_alloc(False))
register("ALLOC_REV", 3, writes=True)(_alloc(True))


@register("CYCLIC", 2, writes=True)
def _op_cyclic(rp: Replayer, lo, hi):
    from maple_tree import MT_FLAGS_ALLOC_WRAPPED
    value = xa_value(rp.cyclic_counter)
    rp.cyclic_counter += 1
    try:
        start, rp.cyclic_next, wrapped = rp.tree.alloc_cyclic(value, lo, hi, rp.cyclic_next)
        ret = 1 if wrapped else 0
    except _MapleError as exc:
        ret, start = -exc.errno, 0
    return [ret, start, rp.cyclic_next, 1 if rp.tree.flags & MT_FLAGS_ALLOC_WRAPPED else 0]


def _cursor(rp: Replayer):
    if rp.cursor is None:
        rp.cursor = _mas(rp, 0)
    return rp.cursor


def _cursor_result(mas, value):
    return [value, mas.index, mas.last, mas.status]


def _cursor_op(fn):
    """Wrap a cursor op: result [value, index, last, status], or "crash" when
    Linux 6.12.117 would dereference a NULL node (state and tree untouched)."""
    def handler(rp: Replayer, *args):
        from maple_tree import StateError
        mas = _cursor(rp)
        try:
            value = fn(rp, mas, *args)
        except StateError:
            return "crash"
        return _cursor_result(mas, value)
    return handler


def _simple(kind, n, body, writes=False):
    register(kind, n, writes=writes)(_cursor_op(body))


_simple("S_SET", 1, lambda rp, m, a: m.set(a))
_simple("S_SET_RANGE", 2, lambda rp, m, a, b: m.set_range(a, b))
_simple("S_RESET", 0, lambda rp, m: m.reset())
_simple("S_PAUSE", 0, lambda rp, m: m.pause())


def _s_index(rp, m, a, b):
    m.index, m.last = a, b


def _s_force_none(rp, m):
    m.status = "none"


_simple("S_INDEX", 2, _s_index)
_simple("S_FORCE_NONE", 0, _s_force_none)
_simple("S_WALK", 0, lambda rp, m: entry_value(m.walk()))
for _kind, _method in [("S_FIND", "find"), ("S_FIND_RANGE", "find_range"),
                       ("S_FIND_REV", "find_rev"), ("S_FIND_RANGE_REV", "find_range_rev"),
                       ("S_NEXT", "next"), ("S_NEXT_RANGE", "next_range"),
                       ("S_PREV", "prev"), ("S_PREV_RANGE", "prev_range")]:
    _simple(_kind, 1, (lambda meth: lambda rp, m, a: entry_value(getattr(m, meth)(a)))(_method))


def _s_value(x):
    """``S_STORE -1`` / ``S_MSTORE -1`` store NULL; any other x stores v(x)."""
    return None if x == -1 else xa_value(x)


def _s_store(rp, m, x):
    return rp._rc(m.store_gfp, _s_value(x))


def _s_mstore(rp, m, x):
    # Linux 6.12 returns an internal node pointer for a spanning store ("node");
    # maple-tree documents None there (results_equal accepts that pair).
    return entry_value(m.store(_s_value(x)))


def _s_erase(rp, m):
    return entry_value(m.erase())


_simple("S_STORE", 1, _s_store, writes=True)
_simple("S_MSTORE", 1, _s_mstore, writes=True)
_simple("S_ERASE", 0, _s_erase, writes=True)
_simple("BULK_BEGIN", 1, lambda rp, m, n: (m.expected_entries(n), 0)[1], writes=True)
_simple("BULK_END", 0, lambda rp, m: m.destroy(), writes=True)


@register("FORK", 1, writes=False)
def _op_fork(rp: Replayer, d: int):
    """``FORK d``: ``MapleTree.fork`` with every value divisible by ``d``
    dropped (``VM_DONTCOPY``) and the others copied as ``v(x + 10**9)``;
    ``[0, sha256 of the copy's structure, its non-NULL entries]``.  The copy's
    structure is kept in ``rp.fork_structure`` for a diff."""
    copy = rp.tree.fork(lambda first, last, e: None if e % d == 0 else xa_value(e + 10**9))
    copy.validate(exempt_rightmost=True)
    rp.fork_structure = canonical(copy.structure())
    entries = sum(1 for _ in copy._occupied())
    return [0, hashlib.sha256(rp.fork_structure.encode()).hexdigest(), entries]


_simple("S_EMPTY_AREA", 3, lambda rp, m, a, b, c: rp._rc(m.empty_area, a, b, c))
_simple("S_EMPTY_AREA_REV", 3, lambda rp, m, a, b, c: rp._rc(m.empty_area_rev, a, b, c))

_results_equal_strict = results_equal


def results_equal(expected, got) -> bool:  # noqa: F811 - extends the strict version
    """Strict equality, except the one documented difference: where 6.12.117's
    ``mas_store`` returned an internal node pointer (``"node"``), maple-tree
    returns None."""
    if (isinstance(expected, list) and expected and expected[0] == "node"
            and isinstance(got, (list, tuple)) and got and got[0] is None):
        return _results_equal_strict(expected[1:], list(got[1:]))
    return _results_equal_strict(expected, got)
