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

Before any parse, a text bound (`possible`: the words of every kind whose words the slice holds,
values.KIND_WORDS) says whether the function can return an exported kind at all; most cannot, and
are never parsed. Only the kinds of KIND_WORDS are exported (and a model returning one): a count or a
constant would only prove a hazard away, an inverse's meaning is a node of the helper's code. The
helper's own expressions are dropped (`argument`), and the reason names where the value comes
from: "the return value of `pkg.helpers.my_sigmoid` (pkg/helpers.py:12), a probability from
torch.sigmoid".

`leak_summary` is the same for the leakage flow (dataflow.ProjectHelper): what a function does to the rows
it is given (fits, resamples, splits), read by the flow of its module's slice, one module further down too.

What a file's results depended on is recorded while it is checked: every file read for a summary in
`read` (root-relative path -> SHA-256 of its bytes) and every name looked up in the module index in
`found` (name -> the module file it resolved to, "" for none). The runner stores both with the file's
cached result, which is served again only while they still hold (cache.py).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import libcst as cst

from mlstablint.code.cstparse import parse_module
from mlstablint.code.dataflow import LEAK_WORDS, SPLIT_WORDS, Flow, FlowRecorder, ProjectHelper
from mlstablint.code.engine import nesting_depth
from mlstablint.code.exprs import Exprs
from mlstablint.code.modules import Module, ModuleIndex, package_words
from mlstablint.code.names import Resolver, canonical
from mlstablint.code.narrow import statement_lines, string_over
from mlstablint.code.prepass import CodeFacts, ast_children
from mlstablint.code.rule import RuleContext
from mlstablint.code.textio import decode_source
from mlstablint.code.values import ANY_KIND_WORDS, KIND_WORDS, MODEL, Value, Values, possible_words, words_of
from mlstablint.code.walk import BatchedWalker
from mlstablint.code.words import FITS
from mlstablint.config import DEFAULT_MAX_NESTING

# How many modules deep a summary follows other summaries (a helper calling a helper of another module): the
# caller's helper and one more, in a third module. A deeper chain, or a cycle (`a.f` calls `b.g` calls `a.f`),
# ends there: the innermost call is then an unknown function, as before summaries existed. The depth decreases
# at every level, so it is also the cycle guard (a summary being computed is never asked for again).
DEPTH = 2
# What a call of a project function may stand for in the pre-pass: a kind's words (values.KIND_WORDS) and a
# leakage summary's (dataflow.ProjectHelper): the split it performs, the fit it makes.
HELPER_WORDS = ANY_KIND_WORDS | SPLIT_WORDS | FITS
# What its name may stand for in its statements (prepass.CodeFacts.expanded): the fit of a leakage summary,
# which the flow reports at the call (MSL303's `scale(X_te)`); a kind is a value's, not a statement's.
CALL_WORDS = FITS
# Re-exports followed from one name to the next before giving up.
MAX_HOPS = 8
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Where a `global` statement may start: a line's first word, or after `;` or a compound statement's `:` (the word
# in a docstring or comment made every def of scikit-learn's utils walk its tree).
_GLOBAL = re.compile(r"(?:^|[;:])[ \t\f]*global\b", re.M)


class _Source:
    """A module's text and top-level statements, read once per process."""

    def __init__(self, text: str, tree: ast.Module, relative: frozenset[str]) -> None:
        self.text = text
        self.tree = tree
        self.relative = relative  # the words its relative imports stand for (modules.package_words)
        self.walrus = ":=" in text  # whether a statement may bind with `:=` (else `_walrus_binds` is skipped)
        self.lines = _NEWLINE.split(text)
        # Per top-level statement: its first and last line, the names it binds. The global names it may read and
        # the words of its code are computed when a slice needs them (`_reads_of`, `_code_words`).
        self.statements: list[tuple[int, int, frozenset[str]]] = []
        for stmt in tree.body:
            first, last = statement_lines(stmt)
            text = "\n".join(self.lines[first - 1:last])
            self.statements.append((first, last, _bound(stmt, "global" in text and bool(_GLOBAL.search(text)),
                                                        ":=" in text)))
        # What another module can call from this one: its functions and the names its imports bind.
        bound = frozenset().union(*(statement[2] for statement in self.statements))
        self.names = bound - {"*"}
        self.star = "*" in bound  # a star import: any name may be bound by it
        self._kept: dict[str, tuple[frozenset[int], frozenset[str], frozenset[str]] | None] = {}
        self._reads: dict[int, frozenset[str]] = {}
        self._code: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self._deep: bool | None = None
        self._binding_index: dict[str, list[int]] | None = None

    def too_deep(self, limit: int) -> bool:
        """Nested deeper than libcst may be given (engine.nesting_depth), measured once, when a slice is parsed."""
        if self._deep is None:
            self._deep = nesting_depth(self.tree, limit) > limit
        return self._deep

    def _reads_of(self, i: int) -> frozenset[str]:
        if i not in self._reads:
            self._reads[i] = _reads(self.tree.body[i])
        return self._reads[i]

    def _last_binding(self, name: str) -> int | None:
        """The index of the last top-level statement binding `name`."""
        found = self.bindings(name)
        return found[-1] if found else None

    def defining(self, name: str) -> ast.stmt | None:
        """The last top-level statement binding `name`."""
        last = self._last_binding(name)
        return None if last is None else self.tree.body[last]

    def resolved(self, name: str) -> ast.stmt | None:
        """The last top-level statement binding `name` that the resolver reads as a binding (`_binds`): not an
        expression statement, which may only change its receiver in place (`x.append(1)`: a MUTATION binding, which
        a summary does not follow) or mention the name (`print(version)`), leaving the binding before it."""
        found = self.bindings(name)
        while found and not _binds(self.tree.body[found[-1]], name, self.walrus):
            found.pop()
        return self.tree.body[found[-1]] if found else None

    def bindings(self, name: str) -> list[int]:
        """The indices of the top-level statements that may bind `name`."""
        return [i for i, statement in enumerate(self.statements) if name in statement[2]]

    def kept(self, name: str) -> tuple[frozenset[int], frozenset[str], frozenset[str]] | None:
        """The statements `name`'s last binding needs (it, and transitively every statement binding a global
        name a kept statement may read), the words of their code, and those words without the string literals';
        None when `name` is not bound here."""
        if name not in self._kept:
            last = self._last_binding(name)
            if last is None:
                self._kept[name] = None
            else:
                keep = {last}
                pending = [last]
                binders = self._binders()
                while pending:
                    reads = self._reads_of(pending.pop())
                    for i in (*(j for name in reads for j in binders.get(name, ())), *binders.get("*", ())):
                        if i not in keep:
                            keep.add(i)
                            pending.append(i)
                code = [self._code_words(i) for i in keep]
                self._kept[name] = (frozenset(keep), frozenset().union(*(c[0] for c in code)),
                                    frozenset().union(*(c[1] for c in code)))
        return self._kept[name]

    def _binders(self) -> dict[str, list[int]]:
        """Per name, the top-level statements that may bind it ("*": star imports, which may bind any)."""
        if self._binding_index is None:
            self._binding_index = {}
            for i, (_, _, bound) in enumerate(self.statements):
                for name in bound:
                    self._binding_index.setdefault(name, []).append(i)
        return self._binding_index

    def _code_words(self, i: int) -> tuple[frozenset[str], frozenset[str]]:
        """The words of a top-level statement's code, as the pre-pass reads a file's (prepass.CodeFacts), without
        annotations: its docstrings, comments and annotations cannot give a summary a kind (their `/`, `sum`,
        `float` and `Array` made most helpers look able to return a probability); and those words without the
        string literals' (`hasattr(est, "fit")`, an error message's "call fit first" call nothing)."""
        words = self._code.get(i)
        if words is None:
            module = ast.Module(body=[self.tree.body[i]], type_ignores=[])
            facts = CodeFacts(module, annotations=False, strings=False)
            words = self._code[i] = (frozenset(facts.words | facts.string_words), frozenset(facts.words))
        return words

    def slice(self, name: str) -> str | None:
        """The text with only the statements `name` needs (`kept`), line numbers kept: each run of two or more other
        lines becomes one string literal over them (`\"\"\"` on its first and last line; libcst reads it as one token
        where it made a node of each blank line: 83 % of the lines of scikit-learn's slices), a single one blank."""
        kept = self.kept(name)
        if kept is None:
            return None
        lines = [False] * len(self.lines)
        for i in kept[0]:
            first, last = self.statements[i][:2]
            for line in range(first - 1, min(last, len(self.lines))):
                lines[line] = True
        out = [line if lines[n] else "" for n, line in enumerate(self.lines)]
        n = 0
        while n < len(out):
            if lines[n]:
                n += 1
                continue
            end = n
            while end + 1 < len(out) and not lines[end + 1]:
                end += 1
            if end > n:
                string_over(out, n, end)
            n = end + 1
        return "\n".join(out)


def _bound(stmt: ast.stmt, declares: bool = True, walrus: bool = True) -> frozenset[str]:
    """The names a top-level statement may bind or change (a superset): a def's name, an import's names ("*"
    for a star import), assignment, loop and `with` targets (a subscript's or attribute's base too: changed in
    place), `:=` targets, the names an expression statement mentions, those of the statements nested in a
    compound one, and the globals a def or class declares. A class's own name binds nothing here: the analysis
    gives a class's call no value, so no summary needs one. `declares` / `walrus`: whether its text may hold
    a `global` statement / a `:=` (else their walks are skipped)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        declared = _declared_globals(stmt) if declares else set()
        return frozenset(declared | ({stmt.name} if not isinstance(stmt, ast.ClassDef) else set()))
    if isinstance(stmt, ast.Import):
        return frozenset(a.asname or a.name.split(".")[0] for a in stmt.names)
    if isinstance(stmt, ast.ImportFrom):
        return frozenset("*" if a.name == "*" else a.asname or a.name for a in stmt.names)
    found = {node.id for target in _targets(stmt) for node in ast.walk(target) if isinstance(node, ast.Name)}
    # `:=` anywhere in it (a test, a value) binds its target here too.
    if walrus:
        found |= {node.target.id for node in ast.walk(stmt) if isinstance(node, ast.NamedExpr)
                  and isinstance(node.target, ast.Name)}
    for inner in _nested(stmt):
        found |= _bound(inner, declares, walrus)
    return frozenset(found)


def _declared_globals(stmt: ast.stmt) -> set[str]:
    """The names `global` statements anywhere in a statement declare, nested defs and classes included: only the
    statements are walked (a `global` is one), not their expressions."""
    found: set[str] = set()
    stack: list[ast.stmt] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            found.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(node.body)
        else:
            stack.extend(_nested(node))
    return found


def _targets(stmt: ast.stmt) -> list[ast.AST]:
    """What a statement assigns to: an assignment's targets, an expression statement's expression (a call may
    change what it names), a loop's target, a `with`'s `as` targets."""
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return [stmt.target]
    if isinstance(stmt, ast.Expr):
        return [stmt.value]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    return []


def _nested(stmt: ast.stmt) -> list[ast.stmt]:
    """The statements nested in a compound statement other than a def or class: its branches, its loop body and
    `else`, its handlers, its cases (none for a simple statement)."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.If, ast.While)):
        return [*stmt.body, *stmt.orelse]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return list(stmt.body)
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        return [*stmt.body, *stmt.orelse, *stmt.finalbody,  # type: ignore[attr-defined]
                *(inner for handler in stmt.handlers for inner in handler.body)]  # type: ignore[attr-defined]
    if isinstance(stmt, ast.Match):
        return [inner for case in stmt.cases for inner in case.body]
    return []


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)
_SCOPE_TYPES = frozenset(_SCOPES)


def _reads(stmt: ast.stmt) -> frozenset[str]:
    """The global names a top-level statement may read (a superset): every name it loads, less, in a def, the
    names local to the def's own body (its parameters and what it binds outside nested scopes, unless declared
    `global`); a nested scope's names all count."""
    loads: set[str] = set()
    local: set[str] = set()
    declared: set[str] = set()
    function = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = stmt.args
        local.update(a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                     arguments.vararg, arguments.kwarg) if a is not None)
    # `Any`: the node's type is tested with `type(node) is` (exact, and cheaper than isinstance on ast's classes).
    stack: list[tuple[Any, bool]] = [(child, True) for child in ast_children(stmt)]
    Name = ast.Name
    while stack:
        node, outer = stack.pop()
        node_type = type(node)
        if node_type is Name:
            if type(node.ctx) is ast.Load:
                loads.add(node.id)
            elif outer:
                local.add(node.id)
            continue  # its only child is its context
        if node_type is ast.Global:
            declared.update(node.names)
        elif outer and node_type in (ast.Import, ast.ImportFrom):
            local.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif outer and node_type in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            local.add(node.name)
        elif outer and node_type is ast.ExceptHandler and node.name:
            local.add(node.name)
        inner = outer and node_type not in _SCOPE_TYPES
        stack.extend((child, inner) for child in ast_children(node))
    return frozenset(loads - (local - declared)) if function else frozenset(loads | local)


class Summaries:
    """The checked project's function summaries, computed on demand (values.Helpers)."""

    def __init__(self, index: ModuleIndex, max_nesting: int = DEFAULT_MAX_NESTING) -> None:
        self.index = index
        self.max_nesting = max_nesting
        self._sources: dict[str, _Source | None] = {}
        self._digests: dict[str, str] = {}  # path -> SHA-256 of the bytes read ("" if unreadable)
        Memo = dict[tuple[str, str, int], tuple[Any, dict[str, str], dict[str, str]]]
        self._summaries: Memo = {}
        self._possible: Memo = {}
        self._leaks: Memo = {}
        # What the current file's results depend on (see begin()): files read and index look-ups.
        self.read: dict[str, str] = {}
        self.found: dict[str, str] = {}
        # path -> the text and `ast` the checker parsed (engine._prefilter), until a summary reads the module.
        self._trees: dict[str, tuple[str, ast.Module]] = {}
        self._resolver = Resolver()
        self._walker: BatchedWalker | None = None

    def begin(self) -> None:
        """Start a file: `read` and `found` collect what its results will depend on."""
        self.read, self.found = {}, {}

    def returns(self, qualname: str, depth: int = DEPTH) -> Value | None:
        found = self._find(qualname) if depth > 0 else None
        if found is None:
            return None
        module, name = found
        value: Value | None = self._tracked(self._summaries, (module.path, name, depth),
                                            lambda: self._summary(module, name, depth, MAX_HOPS))
        return value

    def names(self, module: Module) -> frozenset[str]:
        """The names a module binds at top level (what another file can import from it)."""
        source = self._source(module)
        return source.names if source is not None else frozenset()

    words = HELPER_WORDS
    call_words = CALL_WORDS

    @staticmethod
    def statement_names(names: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
        """The names of `virtual_names` that stand for `CALL_WORDS`, with those words only."""
        return {name: words & CALL_WORDS for name, words in names.items() if words & CALL_WORDS}

    def virtual_words(self, present: set[str], own: Module | None, needed: frozenset[str],
                      exact: bool = False) -> frozenset[str]:
        """The union of `virtual_names`."""
        return frozenset().union(*self.virtual_names(present, own, needed, exact).values())

    def virtual_names(self, present: set[str], own: Module | None, needed: frozenset[str],
                      exact: bool = False) -> dict[str, frozenset[str]]:
        """Per name of the file, the `needed` words the summaries of the project functions a file may call can
        stand for (a function of a module the file names by its last name component, named itself by a word of
        the file): read from
        their text (`possible`, a superset), or with `exact` from the summaries themselves. The pre-pass takes
        the bound: a summary costs a libcst parse of its slice, and a file that names a few dozen of the
        project's functions costs more to summarise them all than to parse it; the rules then ask only for
        the summaries of the calls they look at. The name stands for its words in a statement too (`scale(X_te)`
        for the `fit_transform` in `scale`: prepass.CodeFacts.expanded)."""
        out: dict[str, frozenset[str]] = {}
        for module in self._modules_named(present, own):
            for name in sorted(self.names(module) & present):
                possible = self.possible(module, name) & needed
                if not possible:
                    continue
                if exact:
                    qualname = f"{module.name}.{name}"
                    value = self.returns(qualname)
                    leak = self.leak_summary(qualname)
                    found = set(words_of(value)) if value is not None else set()
                    if leak is not None and leak.splits:
                        found |= possible & SPLIT_WORDS
                    if leak is not None and leak.learned:
                        found |= possible & FITS
                    possible = frozenset(found)
                if possible:
                    out[name] = out.get(name, frozenset()) | possible
        return out

    def _modules_named(self, present: frozenset[str] | set[str], own: Module | None = None) -> Iterator[Module]:
        """The checked modules other than `own` that code holding these words can name (`_named`)."""
        for last in sorted(present & self.index.by_last.keys()):
            for module in self.index.by_last[last]:
                if module is not own and _named(module, present):
                    yield module

    def possible(self, module: Module, name: str, depth: int = DEPTH, hops: int = MAX_HOPS) -> frozenset[str]:
        """A superset of the words of `module.name`'s summary, read from text, without libcst: the words of
        every kind whose words its slice holds (values.KIND_WORDS) and the possible words of the other modules'
        functions the slice names, one level down."""
        words: frozenset[str] = self._tracked(self._possible, (module.path, name, depth),
                                              lambda: self._bound_words(module, name, depth, hops))
        return words

    def _bound_words(self, module: Module, name: str, depth: int, hops: int) -> frozenset[str]:
        source = self._source(module)
        kept = source.kept(name) if source is not None and hops > 0 else None
        if source is None or kept is None:
            return frozenset()
        statement = source.resolved(name)
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return self._binding_words(module, source, statement, name, depth, hops)
        words = kept[1] | source.relative
        given: set[str] = set()
        if depth > 1:
            for other in self._modules_named(words):
                for called in sorted(self.names(other) & words):
                    given |= self.possible(other, called, depth - 1)
        # The kinds the analysis can make from these words, with those the functions it calls may return; and the
        # splits and fits of a leakage summary, which only calls make (named in code, never in a string).
        return possible_words(words, frozenset(given) & ANY_KIND_WORDS) | (kept[2] | source.relative | given) & (
            LEAK_WORDS)

    def _binding_words(self, module: Module, source: _Source, statement: ast.stmt | None, name: str, depth: int,
                       hops: int) -> frozenset[str]:
        """The bound for a name a top-level statement other than a def binds: an import's is what it imports
        (a name of another module followed, any other module's name nothing); a value that is no name, or a name
        the module binds nowhere (a builtin: `Array = object`), gives the summary nothing to follow; the bindings
        nested in an `if`, `for`, `while`, `try` or `with` give the union of theirs. Any other binding may stand
        for any kind: what it stands for is resolved by the analysis."""
        if hops <= 0:
            return ANY_KIND_WORDS
        if isinstance(statement, ast.ImportFrom):
            target = _imported(statement, name, module)
            found = self._find(target) if target is not None else None
            return self.possible(found[0], found[1], depth, hops - 1) if found is not None else frozenset()
        if isinstance(statement, ast.Import):  # a module bound to the name: what `_summary` looks up is its name
            out: set[str] = set()
            for target in _import_targets(statement, name):
                found = self._find(target)
                if found is not None:
                    out |= self.possible(found[0], found[1], depth, hops - 1)
            return frozenset(out)
        if statement is None or isinstance(statement, ast.AugAssign) or _assigns_no_name(statement, name):
            # No binding; `name op= value` (its binding has an operator); `name = <a call, a literal...>`: the
            # summary follows only a plain name (`_summary`).
            return frozenset()
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and isinstance(statement.value, ast.Name) and not (
                source.star or (source.walrus and _walrus_binds(statement, name))):
            # An alias: of a name the module binds nowhere (a builtin: `Array = object`), nothing; else what any
            # of the statements binding that name may stand for (the resolver reads one of them).
            alias = statement.value.id
            bindings = source.bindings(alias)
            out = set(self.possible(module, alias, depth, hops - 1)) if bindings else set()
            for i in bindings[:-1]:
                earlier = source.tree.body[i]
                out |= ANY_KIND_WORDS if isinstance(earlier, (ast.FunctionDef, ast.AsyncFunctionDef)) else (
                    self._binding_words(module, source, earlier, alias, depth, hops - 1))
            return frozenset(out)
        nested = _nested_bindings(statement, name, source.walrus) if statement is not None else None
        if nested is None:
            return ANY_KIND_WORDS
        out = set()
        for inner in nested:
            out |= self._binding_words(module, source, inner, name, depth, hops)
        return frozenset(out)

    def _tracked(self, memo: dict[tuple[str, str, int], tuple[Any, dict[str, str], dict[str, str]]],
                 key: tuple[str, str, int], compute: Callable[[], Any]) -> Any:
        """`compute()` once per key; what it read and looked up is recorded for every file that asks again."""
        hit = memo.get(key)
        if hit is None:
            outer = self.read, self.found
            self.read, self.found = {}, {}
            try:
                value = compute()
            finally:
                (read, found), (self.read, self.found) = (self.read, self.found), outer
            hit = memo[key] = (value, read, found)
        self.read.update(hit[1])
        self.found.update(hit[2])
        return hit[0]

    def _find(self, qualname: str) -> tuple[Module, str] | None:
        found = self.index.find(qualname)
        self.found[qualname] = found[0].rel if found is not None else ""
        return found

    def shared_tree(self, module: Module, text: str) -> ast.Module | None:
        """The `ast` of a module already read for a summary, if it was read from this text."""
        source = self._sources.get(module.path)
        return source.tree if source is not None and source.text == text else None

    def adopt(self, module: Module, text: str, tree: ast.Module) -> None:
        """The checker's `ast` of a module, for a summary that reads it later (the file's bytes are still read
        then, for its digest, and the tree used only if they decode to this text)."""
        if module.path not in self._sources:
            self._trees[module.path] = (text, tree)

    def _source(self, module: Module) -> _Source | None:
        if module.path not in self._sources:
            source: _Source | None = None
            digest = ""
            try:
                with open(module.path, "rb") as handle:
                    data = handle.read()
                digest = hashlib.sha256(data).hexdigest()
                text = decode_source(data)
                adopted = self._trees.pop(module.path, None)
                tree = adopted[1] if adopted is not None and adopted[0] == text else ast.parse(text)
                source = _Source(text, tree, package_words(module.package, text))
            except (OSError, ValueError, SyntaxError, RecursionError, MemoryError):
                source = None
            self._sources[module.path] = source
            self._digests[module.path] = digest
        self.read[module.rel] = self._digests[module.path]
        return self._sources[module.path]

    def leak_summary(self, qualname: str, words: frozenset[str] = LEAK_WORDS,
                     depth: int = DEPTH) -> ProjectHelper | None:
        """What a function of another module does to the rows passed to it (dataflow.ProjectHelper): read by the
        leakage flow on the part of its module it needs, once per process; the functions of other modules it
        calls are followed `depth` - 1 levels further (`DEPTH`). None, unread, when the text it and they need
        holds none of `words`."""
        found = self._find(qualname) if depth > 0 else None
        if found is None:
            return None
        module, name = found
        if not self.possible(module, name, depth) & words:
            return None
        helper: ProjectHelper | None = self._tracked(self._leaks, (module.path, name, depth),
                                                     lambda: self._leak(module, name, qualname, MAX_HOPS, depth))
        return helper

    def _leak(self, module: Module, name: str, qualname: str, hops: int, depth: int) -> ProjectHelper | None:
        source = self._source(module)
        kept = source.kept(name) if source is not None and hops > 0 else None
        if source is None or kept is None:
            return None
        statement = source.defining(name)
        if isinstance(statement, ast.ImportFrom):  # a re-export: the def it names
            target = _imported(statement, name, module)
            found = self._find(target) if target is not None else None
            return self._leak(found[0], found[1], qualname, hops - 1, depth) if found is not None else None
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) or source.too_deep(self.max_nesting):
            return None
        text = source.slice(name)
        try:
            tree = _parse_slice(text or "")
            resolver = Resolver()
            resolver.reset(module.package)
            deeper = _Deeper(self, depth - 1) if depth > 1 else None
            flow = Flow(resolver, RuleContext(resolver, text or "", module.rel).exprs, deeper)
            BatchedWalker([resolver, FlowRecorder(flow)]).walk(tree)
            return flow.export(name, qualname)
        except (cst.ParserSyntaxError, RecursionError):
            return None

    def _summary(self, module: Module, name: str, depth: int, hops: int) -> Value | None:
        if not self.possible(module, name, depth) & ANY_KIND_WORDS:
            return None  # nothing in its text can give it an exported kind: no need to parse it
        source = self._source(module)
        text = source.slice(name) if source is not None and not source.too_deep(self.max_nesting) else None
        if source is None or text is None or hops <= 0:
            return None
        try:
            tree = _parse_slice(text)
        except (cst.ParserSyntaxError, RecursionError):
            return None
        resolver = self._resolver
        if self._walker is None:
            self._walker = BatchedWalker([resolver])
        resolver.reset(module.package)
        try:
            self._walker.walk(tree)
        except RecursionError:
            return None
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


@functools.lru_cache(maxsize=16)
def _parse_slice(text: str) -> cst.Module:
    """A slice's tree, parsed once while it is asked for again: the summaries of one function at several depths,
    and its return and leakage summaries, read the same slice (trees are immutable; each reader walks it with
    its own resolver)."""
    return parse_module(text)


def _import_targets(statement: ast.Import, name: str) -> set[str]:
    """The names `_summary` looks up for `name` bound by `import a.b as name` (`a.b`) or `import name.c`
    (`name`, which is no module's function: `ModuleIndex.find` needs a dot)."""
    out: set[str] = set()
    for alias in statement.names:
        if alias.asname == name:
            out |= {alias.name, canonical(alias.name)}
        elif alias.asname is None and alias.name.split(".")[0] == name:
            out.add(name)
    return out


def _named(module: Module, present: frozenset[str] | set[str]) -> bool:
    """Whether code holding these words can name the module: every component of its name is among them (an
    import spells them, `from ..externals.compat import linalg`, with a relative import's package in
    `modules.package_words`; an attribute chain from an imported package too). `np.linalg.svd` names no
    project module `pkg.compat.linalg` in a file that never spells `compat`."""
    return all(part in present for part in module.name.split("."))


def _walrus_binds(statement: ast.stmt, name: str) -> bool:
    return any(isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name) and node.target.id == name
               for node in ast.walk(statement))


def _nested_bindings(statement: ast.stmt, name: str, walrus: bool = True) -> list[ast.stmt] | None:
    """The statements nested in an `if`, `for`, `while`, `try` or `with` that may bind `name` (`_bound`), or None
    when the statement is none of those or binds it with a `:=`. A loop's, `with`'s or `except`'s own target
    gives a summary nothing to follow (the resolver binds it without a value: names.Resolver)."""
    # A `match` stays whole: the resolver does not read its captures.
    body = _nested(statement) if not isinstance(statement, ast.Match) else []
    if not body or (walrus and _walrus_binds(statement, name)):
        return None
    return [inner for inner in body if _binds(inner, name, walrus)]


def _assigned(target: ast.expr) -> set[str]:
    """The names an assignment target binds: names and unpacked ones. Not a subscript's or attribute's base
    (`X[name] = v` changes X in place: the resolver's MUTATION binding, which a summary does not follow, or none,
    leaving the binding before it), nor the names in an index."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_assigned(element) for element in target.elts))
    if isinstance(target, ast.Starred):
        return _assigned(target.value)
    return set()


def _binds(statement: ast.stmt, name: str, walrus: bool = True) -> bool:
    """Whether the resolver may read the statement as binding `name` with a value a summary could follow: `_bound`
    without the names an expression statement only mentions (a `:=` in it binds) or an assignment changes in place
    (`_assigned`), nor a compound statement whose nested statements only do. `walrus`: whether its module's text
    may hold a `:=`."""
    if walrus and _walrus_binds(statement, name):
        return True
    if isinstance(statement, ast.Expr):
        return False
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return any(name in _assigned(target) for target in targets)
    nested = _nested_bindings(statement, name, walrus)
    if nested is None:
        return name in _bound(statement, walrus=walrus)
    if nested:
        return True
    if (isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar") and any(
            handler.name == name for handler in statement.handlers):  # type: ignore[attr-defined]
        return True
    # A loop's or `with`'s own target.
    return any(isinstance(node, ast.Name) and node.id == name
               for target in _targets(statement) for node in ast.walk(target))


def _assigns_no_name(statement: ast.stmt | None, name: str) -> bool:
    """`name = value` (or annotated) at top level with a value that is not a name or an attribute, nor holds a
    `:=`: the binding `_summary` looks up then has no name to follow and gives no value."""
    if isinstance(statement, ast.Assign):
        targets, value = statement.targets, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets, value = [statement.target], statement.value
    else:
        return False
    return (any(isinstance(t, ast.Name) and t.id == name for t in targets)
            and not isinstance(value, (ast.Name, ast.Attribute))
            and not any(isinstance(node, ast.NamedExpr) for node in ast.walk(value)))


def _imported(statement: ast.ImportFrom, name: str, module: Module) -> str | None:
    """The absolute name `from ... import <original> as <name>` binds `name` to (relative to `module`)."""
    original = next((a.name for a in statement.names if (a.asname or a.name) == name), None)
    if original is None:
        return None
    base = statement.module or ""
    if statement.level:
        if module.package is None:
            return None
        parts = module.package.split(".")
        if statement.level - 1 >= len(parts):
            return None
        base = ".".join(p for p in (".".join(parts[: len(parts) - (statement.level - 1)]), base) if p)
    return f"{base}.{original}" if base else original


class _Deeper:
    """The summaries one level further down, for the functions a summarised function calls (values.Helpers,
    dataflow.ProjectHelpers)."""

    def __init__(self, summaries: Summaries, depth: int) -> None:
        self.summaries = summaries
        self.depth = depth

    def returns(self, qualname: str) -> Value | None:
        return self.summaries.returns(qualname, self.depth)

    def leak_summary(self, qualname: str, words: frozenset[str] = LEAK_WORDS) -> ProjectHelper | None:
        return self.summaries.leak_summary(qualname, words, self.depth)


def _exported(value: Value | None, qualname: str, module: Module, source: _Source, name: str) -> Value | None:
    """What a caller may know of a helper's return value (no nodes of the helper's code), with where it is."""
    if value is None or (value.kind not in KIND_WORDS and value.kind != MODEL):
        return None
    output = _exported(value.output, qualname, module, source, name) if value.kind == MODEL else None
    if value.kind == MODEL and output is None:
        return None
    line = next((s.lineno for s in source.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and s.name == name), 0)
    what = replace(value, reason="").describe()
    return replace(value, argument=None, output=output,
                   reason=f"the return value of `{qualname}` ({module.display}:{line}), {what}")

