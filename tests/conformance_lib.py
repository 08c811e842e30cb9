"""Reader and replayer for the kernel conformance corpus (tests/data/conformance).

Three parts:

* :func:`read_ops` parses a ``maple-ops/1`` op file into an :class:`OpFile`.
* :class:`RefReader` / :func:`iter_reference` read the compact ``maple-ref/1``
  reference lines (node table with content-addressed ids, ``same``, ``h``/``root``,
  ``n`` pairs) and rebuild, on demand, the canonical ``maple-structure/1``
  string of the kernel's tree after each op.
* :class:`Replayer` replays ops through :mod:`maple_tree.traces`: every op
  kind's handler, with the corpus's result conventions, is the package's
  (:data:`maple_tree.traces.OP_KINDS`, run by its :class:`~maple_tree.traces.OpReplayer`);
  this module adds only what the comparison needs.  :func:`replay` is the
  ``compare.py``-compatible generator (``python3 compare.py conformance_lib:replay
  trace_set2`` with ``tests`` and ``src`` on ``PYTHONPATH``).

Op kinds are dispatched through :data:`OPS` (kind -> :class:`OpSpec`): the
traces handler, its arity, and whether it may change the tree (:data:`WRITES`).
Kinds the comparison does not support yet are registered with
``unsupported=True``: their handlers raise :class:`NotImplementedError`, which
the replayer turns into a :class:`NotImplementedResult` result without
touching the tree.  Supporting one is one call: replace its handler with
:func:`register`.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from maple_tree import ZERO_ENTRY
from maple_tree import traces as _traces
from maple_tree.traces import OP_KINDS, OpReplayer, canonical

try:  # optional fast path: same bytes as canonical(tree.structure())
    from maple_tree.structure import tree_structure_string as _fast_structure
except ImportError:  # pragma: no cover - a build without the direct serialiser
    _fast_structure = None

ULONG_MAX = (1 << 64) - 1
VALUE_MASK = (1 << 63) - 1          # xa_mk_value keeps 63 bits

DATA_DIR = Path(__file__).resolve().parent / "data" / "conformance"
OPS_DIR = DATA_DIR / "ops"
REF_DIR = DATA_DIR / "ref"

EMPTY_STRUCTURE = '{"height":0,"root":null}'


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
# replay (the op handlers are maple_tree.traces')
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


def entry_value(e):
    """Python entry -> conformance value: None, int, or "zero"."""
    if e is None:
        return None
    if e is ZERO_ENTRY:
        return "zero"
    if type(e) is int:
        return e
    if isinstance(e, bool) or not isinstance(e, int):
        raise TypeError(f"unexpected entry in a conformance tree: {e!r}")
    return int(e)


def xa_value(x: int) -> int:
    """xa_mk_value(x) as the corpus stores it: 63 bits."""
    return x & VALUE_MASK


@dataclass
class OpSpec:
    kind: str
    handler: Callable
    nargs: int
    writes: bool        # may change the tree
    unsupported: bool   # not replayed nor compared yet (NotImplementedResult)


#: the op kinds that may change the tree (structures are compared after them)
WRITES = frozenset({"STORE", "STOREV", "SNULL", "ZERO", "INSERT", "ERASE", "ALLOC", "ALLOC_REV",
                    "CYCLIC", "S_STORE", "S_MSTORE", "S_ERASE", "BULK_BEGIN", "BULK_END"})

#: kind -> :class:`OpSpec`; the handler ``handler(replayer, *args)`` of every
#: kind is :data:`maple_tree.traces.OP_KINDS`' (but for any unsupported ones below)
OPS: dict = {kind: OpSpec(kind, spec.run, len(spec.args), kind in WRITES, False)
             for kind, spec in OP_KINDS.items()}


def register(kind: str, nargs: int, *, writes: bool, unsupported: bool = False):
    """Decorator: register (or replace) the handler of an op kind."""
    def deco(fn):
        OPS[kind] = OpSpec(kind, fn, nargs, writes, unsupported)
        return fn
    return deco


def _unsupported(kind: str, what: str):
    def handler(rp: Replayer, *args):
        raise NotImplementedError(f"{kind}: {what}")
    handler.__name__ = f"_op_{kind.lower()}"
    return handler


# kinds the comparison does not support yet (kind -> what it needs): replayed as
# not implemented, the tree left alone, their results not compared.  None at
# present: ``RCU_ON``/``RCU_OFF`` run traces' handlers (``tree.set_in_rcu()`` /
# ``tree.clear_in_rcu()``) like every other kind.
UNSUPPORTED: dict = {}
for _kind, _what in UNSUPPORTED.items():
    register(_kind, OPS[_kind].nargs, writes=OPS[_kind].writes,
             unsupported=True)(_unsupported(_kind, _what))

#: ``STOREV a b x`` (the harness tests store a wrong value with it)
_op_storev = OPS["STOREV"].handler


class Replayer(OpReplayer):
    """Replays ops on a fresh tree (flags from the op file), keeping per-file state
    (the persistent cursor, the cyclic allocator: :class:`maple_tree.traces.OpReplayer`'s).

    ``step(op)`` runs one op (a tuple ``(KIND, *args)``) through :data:`OPS` and
    returns its result in the corpus conventions; ``structure()`` returns the
    tree's canonical maple-structure/1 string.
    """

    def __init__(self, flags: int = 0) -> None:
        super().__init__(flags)
        self.flags = flags
        self.not_implemented = 0

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

    _rc = staticmethod(_traces._rc)     # 0, or -errno when the tree refuses the call


class _KeepFork:
    """A view of a tree whose ``fork`` keeps the copy it returns."""

    def __init__(self, tree) -> None:
        self.tree, self.copy = tree, None

    def __getattr__(self, name: str):
        return getattr(self.tree, name)

    def fork(self, *args, **kwargs):
        self.copy = self.tree.fork(*args, **kwargs)
        return self.copy


def fork_copy_structure(rp: Replayer, d: int) -> Optional[str]:
    """The canonical structure of the copy ``FORK d`` makes of ``rp``'s tree (for
    a diff), or None if it makes none: the FORK handler run again, with
    ``tree.fork`` keeping its copy (FORK leaves the tree alone)."""
    view = _KeepFork(rp.tree)
    rp.tree = view
    try:
        OPS["FORK"].handler(rp, d)
    finally:
        rp.tree = view.tree
    return None if view.copy is None else canonical(view.copy.structure())


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


def replay(path, rcu: bool = False) -> Iterator[tuple]:
    """compare.py entry point: yield ``(result, structure)`` per op.

    ``structure`` is our canonical string after ops that may write, ``None``
    ("unchanged") after reads and after not-implemented ops.  ``rcu``: switch
    RCU mode on before the first op (as :func:`compare_file`).
    """
    opf = read_ops(path)
    rp = Replayer(opf.flags)
    if rcu:
        rp.tree.set_in_rcu()
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
    """:func:`maple_tree.traces.results_equal`: strict equality, except the one
    documented difference: where 6.12.117's ``mas_store`` returned an internal
    node pointer (``"node"``), maple-tree returns None."""
    return _traces.results_equal(expected, normalize_result(got))


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
    rcu: bool = False                     # replayed with RCU mode on from the start


def compare_pinpointed(name: str, stride: int, rcu: bool = False) -> "FileReport":
    """:func:`compare_file` at ``stride``; if that fails (and the stride is
    above 1), again at stride 1, to name the first op whose structure differs."""
    rep = compare_file(name, struct_stride=stride, rcu=rcu)
    if rep.failure is not None and stride != 1:
        exact = compare_file(name, struct_stride=1, rcu=rcu)
        if exact.failure is not None:
            rep = exact
    return rep


def compare_file(name: str, *, struct_stride: int = 1, check_reads: bool = False,
                 stop_at_unsupported_write: bool = True, rcu: bool = False) -> FileReport:
    """Replay op file ``name`` against the reference and report the first failure.

    * unsupported ops that only read are skipped in the comparison (their
      handler may be unimplemented); the first unsupported op that writes stops
      the comparison (``stopped_at``) when ``stop_at_unsupported_write``;
    * every normal-API result is compared;
    * structures are compared after normal writes: every ``struct_stride``-th
      write, plus always after the last compared op (``check_reads`` also
      compares after read ops).  A ``"same"`` reference line is checked by
      comparing our string with the last string that matched;
    * ``rcu``: RCU mode is switched on (``tree.set_in_rcu()``) on the fresh tree
      before the first op, and the file's own ``RCU_ON``/``RCU_OFF`` ops run as
      recorded.  The kernel's results and shapes do not depend on RCU mode
      (corpus finding 14), so the same reference applies.  Either way the
      tree's RCU flag after the last op must be the one the ops leave.
    """
    opf = read_ops(op_path(name))
    rep = FileReport(name, rcu=rcu)
    rp = Replayer(opf.flags)
    if rcu:
        rp.tree.set_in_rcu()
    label = name + (" [RCU mode from the start]" if rcu else "")   # for messages
    in_rcu = rcu                        # the RCU flag the ops so far leave
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
        rep.failure = (f"{label}: op {i} ({op_text(op)}): structure differs"
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
            rep.failure = f"{label}: reference ends before op {i}"
            return rep
        spec = OPS.get(op[0])
        if spec is None:
            rep.failure_index = i
            rep.failure = f"{label}: op {i}: unknown op kind {op[0]}"
            return rep
        if spec.unsupported and spec.writes and stop_at_unsupported_write:
            rep.stopped_at, rep.stopped_op = i, op
            break
        rep.ops += 1
        try:
            result = rp.step(op)
        except Exception as exc:  # the implementation raised
            rep.failure_index = i
            rep.failure = (f"{label}: op {i} ({op_text(op)}): replay raised "
                           f"{type(exc).__name__}: {exc}")
            return rep
        prev = (i, op, st)
        if op[0] in ("RCU_ON", "RCU_OFF") and not is_not_implemented(result):
            in_rcu = op[0] == "RCU_ON"
        if is_not_implemented(result):
            if not spec.unsupported:  # pragma: no cover - normal ops are all implemented
                raise AssertionError(f"normal op {op[0]} not implemented")
            rep.skipped_unsupported += 1
            continue
        rep.results_compared += 1
        if not results_equal(st.result, result):
            rep.failure_index = i
            rep.failure = (f"{label}: op {i} ({op_text(op)}): result expected "
                           f"{canonical(st.result)}, got {canonical(normalize_result(result))}")
            fork_s = st.sub_structure("fork_s")
            copy_s = fork_copy_structure(rp, op[1]) if op[0] == "FORK" else None
            if fork_s is not None and copy_s is not None:
                rep.failure += "; the copy differs: " + structure_diff(fork_s, copy_s)
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
            rep.failure = f"{label}: reference has more lines than the {len(opf.ops)} ops"
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
            rep.failure = (f"{label}: after op {prev[0]}: canonical(tree.structure()) differs "
                           f"from tree_structure_string(tree): "
                           + structure_diff(direct, via_dict))
            return rep
    # RCU mode is the tree's flag: only RCU_ON/RCU_OFF change it
    if prev is not None and bool(rp.tree.in_rcu) != in_rcu:
        rep.failure_index = prev[0]
        rep.failure = (f"{label}: after op {prev[0]}: tree.in_rcu is "
                       f"{bool(rp.tree.in_rcu)}, the ops leave it {in_rcu}")
    return rep


__all__ = [
    "OpFile", "read_ops", "RefReader", "RefStep", "iter_reference", "structure_diff",
    "first_diff_path", "Replayer", "replay", "OPS", "OpSpec", "register",
    "NotImplementedResult", "is_not_implemented", "is_unsupported", "is_unsupported_write",
    "first_unsupported_write", "compare_file", "FileReport", "canonical", "all_names",
    "op_path", "ref_path", "ULONG_MAX", "WRITES",
]


#: (label, FileReport) of every compare_file run by the test suite (for the summary)
RUN_REPORTS: list = []
