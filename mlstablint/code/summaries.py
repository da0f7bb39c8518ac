"""Cross-module function summaries: what a function of another checked module returns.

`returns("pkg.helpers.my_sigmoid")` is the value the analysis gives a call of that function: a
probability from a sigmoid, a linear predictor, a model whose last layer is a softmax... computed once
per function (per process) by the same value analysis (values.py) that summarises a module's own
functions, not re-derived at each call. A function is analysed on a slice of its module: the module's
text with every top-level statement it cannot need blanked (line numbers kept), i.e. all but its own
def and, transitively, the top-level statements binding a word its kept statements mention (imports,
helpers, constants). A summary may use another module's summaries one level further (`DEPTH`); a
re-export (`from .helpers import f` in `pkg/__init__.py`) is followed to the def. A name that stands
for a library function is not followed (the caller gets nothing, as before summaries existed).

Only kinds that say what a value is are exported (no inverse or Gram matrix, whose meaning is a node of
the helper's code); the helper's own expressions are dropped (`argument`), and the reason names where
the value comes from: "`my_sigmoid(z)` is the return value of `pkg.helpers.my_sigmoid`
(pkg/helpers.py:12), a probability from torch.sigmoid".

What a file's results depended on is recorded while it is checked: every file read for a summary in
`read` (root-relative path -> SHA-256 of its bytes) and every name looked up in the module index in
`found` (name -> the module file it resolved to, "" for none). The runner stores both with the file's
cached result, which is served again only while they still hold (cache.py).
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import replace

import libcst as cst

from mlstablint.code.engine import nesting_depth
from mlstablint.code.exprs import Exprs
from mlstablint.code.modules import Module, ModuleIndex
from mlstablint.code.names import Resolver
from mlstablint.code.textio import decode_source
from mlstablint.code.values import GRAM, INVERSE, MODEL, Value, Values, words_of
from mlstablint.code.walk import BatchedWalker
from mlstablint.config import DEFAULT_MAX_NESTING

# How many modules deep a summary follows other summaries (a helper calling a helper of another module).
DEPTH = 2
# Re-exports followed from one name to the next before giving up.
MAX_HOPS = 8
_NOT_EXPORTED = (INVERSE, GRAM)
_WORD = re.compile(r"\w+")
_NEWLINE = re.compile(r"\r\n|\r|\n")


class _Source:
    """A module's text and top-level statements, read once per process."""

    def __init__(self, text: str, tree: ast.Module) -> None:
        self.text = text
        self.tree = tree
        self.lines = _NEWLINE.split(text)
        # Per top-level statement: its first and last line, the names it binds, the words it mentions.
        self.statements: list[tuple[int, int, frozenset[str], frozenset[str]]] = []
        for stmt in tree.body:
            first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
            last = stmt.end_lineno or stmt.lineno
            mentioned = frozenset(w for line in self.lines[first - 1:last] for w in _WORD.findall(line))
            self.statements.append((first, last, _bound(stmt), mentioned))
        self.names = frozenset().union(*(bound for _, _, bound, _ in self.statements)) - {"*"}

    def slice(self, name: str) -> str | None:
        """The text with only the statements the last top-level binding of `name` needs (others blanked)."""
        defining = [i for i, (_, _, bound, _) in enumerate(self.statements) if name in bound]
        if not defining:
            return None
        keep = {defining[-1]}
        wanted = set(self.statements[defining[-1]][3])
        changed = True
        while changed:
            changed = False
            for i, (_, _, bound, mentioned) in enumerate(self.statements):
                if i not in keep and (not bound.isdisjoint(wanted) or "*" in bound):
                    keep.add(i)
                    wanted |= mentioned
                    changed = True
        kept = [False] * len(self.lines)
        for i in keep:
            first, last, _, _ = self.statements[i]
            for line in range(first - 1, min(last, len(self.lines))):
                kept[line] = True
        return "\n".join(line if kept[n] else "" for n, line in enumerate(self.lines))


def _bound(stmt: ast.stmt) -> frozenset[str]:
    """The names a top-level statement may bind or change: a def's or class's name, an import's names ("*" for
    a star import), and for anything else every name it mentions outside nested defs (a superset)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return frozenset({stmt.name})
    if isinstance(stmt, ast.Import):
        return frozenset(a.asname or a.name.split(".")[0] for a in stmt.names)
    if isinstance(stmt, ast.ImportFrom):
        return frozenset(a.asname or a.name for a in stmt.names)
    found: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
            continue
        elif isinstance(node, ast.alias):
            found.add("*" if node.name == "*" else node.asname or node.name.split(".")[0])
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(found)


class Summaries:
    """The checked project's function summaries, computed on demand (values.Helpers)."""

    def __init__(self, index: ModuleIndex, max_nesting: int = DEFAULT_MAX_NESTING) -> None:
        self.index = index
        self.max_nesting = max_nesting
        self._sources: dict[str, _Source | None] = {}
        self._digests: dict[str, str] = {}  # path -> SHA-256 of the bytes read ("" if unreadable)
        self._memo: dict[tuple[str, int], tuple[Value | None, dict[str, str], dict[str, str]]] = {}
        # What the current file's results depend on (see begin()): files read and index look-ups.
        self.read: dict[str, str] = {}
        self.found: dict[str, str] = {}

    def begin(self) -> None:
        """Start a file: `read` and `found` collect what its results will depend on."""
        self.read, self.found = {}, {}

    def returns(self, qualname: str, depth: int = DEPTH) -> Value | None:
        if depth <= 0:
            return None
        found = self._find(qualname)
        if found is None:
            return None
        key = (qualname, depth)
        memo = self._memo.get(key)
        if memo is None:
            outer = self.read, self.found
            self.read, self.found = {}, {}
            try:
                value = self._summary(found[0], found[1], depth, MAX_HOPS)
            finally:
                (read, looked), (self.read, self.found) = (self.read, self.found), outer
            memo = self._memo[key] = (value, read, looked)
        self.read.update(memo[1])
        self.found.update(memo[2])
        return memo[0]

    def _find(self, qualname: str) -> tuple[Module, str] | None:
        found = self.index.find(qualname)
        self.found[qualname] = found[0].rel if found is not None else ""
        return found

    def names(self, module: Module) -> frozenset[str]:
        """The names a module binds at top level (what another file can import from it)."""
        source = self._source(module)
        return source.names if source is not None else frozenset()

    def virtual_words(self, present: set[str], own: Module | None) -> frozenset[str]:
        """The words of the summaries of every project function a file may call: a function of a module the
        file names (its last name component is a word of the file), named itself by a word of the file."""
        out: set[str] = set()
        for last in present & self.index.by_last.keys():
            for module in self.index.by_last[last]:
                if module is own:
                    continue
                for name in sorted(self.names(module) & present):
                    value = self.returns(f"{module.name}.{name}")
                    if value is not None:
                        out |= words_of(value)
        return frozenset(out)

    def _source(self, module: Module) -> _Source | None:
        if module.path not in self._sources:
            source: _Source | None = None
            digest = ""
            try:
                with open(module.path, "rb") as handle:
                    data = handle.read()
                digest = hashlib.sha256(data).hexdigest()
                text = decode_source(data)
                tree = ast.parse(text)
                if nesting_depth(tree, self.max_nesting) <= self.max_nesting:
                    source = _Source(text, tree)
            except (OSError, ValueError, SyntaxError, RecursionError, MemoryError):
                source = None
            self._sources[module.path] = source
            self._digests[module.path] = digest
        self.read[module.rel] = self._digests[module.path]
        return self._sources[module.path]

    def _summary(self, module: Module, name: str, depth: int, hops: int) -> Value | None:
        source = self._source(module)
        text = source.slice(name) if source is not None else None
        if source is None or text is None or hops <= 0:
            return None
        try:
            tree = cst.parse_module(text)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        resolver = Resolver()
        resolver.reset(module.package)
        BatchedWalker([resolver]).walk(tree)
        b = resolver.lookup(name)
        if b is None:
            return None
        if isinstance(b.node, cst.FunctionDef):
            exprs = Exprs(resolver)
            values = exprs.values = Values(resolver, exprs, _Deeper(self, depth - 1))
            return _exported(values.returned(b), f"{module.name}.{name}", module, source, name)
        target = b.project or b.qualname
        if target is None and isinstance(b.value, (cst.Name, cst.Attribute)) and b.aug_op is None:
            target = resolver.qualname(b.value, b.seq, project=True)
        found = self._find(target) if target is not None else None
        return self._summary(found[0], found[1], depth, hops - 1) if found is not None else None


class _Deeper:
    """The summaries one level further down, for the functions a summarised function calls."""

    def __init__(self, summaries: Summaries, depth: int) -> None:
        self.summaries = summaries
        self.depth = depth

    def returns(self, qualname: str) -> Value | None:
        return self.summaries.returns(qualname, self.depth)


def _exported(value: Value | None, qualname: str, module: Module, source: _Source, name: str) -> Value | None:
    """What a caller may know of a helper's return value (no nodes of the helper's code), with where it is."""
    if value is None or value.kind is None or value.kind in _NOT_EXPORTED:
        return None
    output = _exported(value.output, qualname, module, source, name) if value.kind == MODEL else None
    if value.kind == MODEL and output is None:
        return None
    line = next((s.lineno for s in source.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and s.name == name), 0)
    what = replace(value, reason="").describe()
    return replace(value, argument=None, output=output,
                   reason=f"the return value of `{qualname}` ({module.display}:{line}), {what}")

