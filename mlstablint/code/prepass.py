"""The pre-pass: which rules can fire on a file, from the words each rule declares (`CodeRule.requires`,
`CodeRule.requires_at`, vocabulary in words.py) — no rule shape is written here.

Parsing with libcst costs ~5x `ast.parse` and the rules' walk as much again, so a rule runs only on
files that hold its words, and libcst parses only files where some rule may fire:

1. The text (`words.text_words`, no parsing): a superset of the code's words. Files that fail every
   rule here are only parsed by `ast` for the syntax check.
2. The code (`ast`, which the syntax check parses anyway): the identifiers, attribute and keyword names,
   words of string literals other than docstrings, operators, `1` and TINY literals, file-wide and per
   statement (a compound statement's own header). `requires` must hold file-wide, `requires_at` within one
   statement (within one `==`/`!=` comparison for a rule that reports only those; one of a rule's
   `requires_either` alternatives), a name counting as every name it may stand for (`ln` after
   `from numpy import log as ln`, `f` after `f = np.log`, `eps` after `eps = 1e-10` for TINY: the aliases
   `names.Resolver.qualname` and `Exprs.follow` follow, collected scope-insensitively;
   and a def's name as every word of its body, for rules that follow the file's helpers: `prepare(X_te)`
   when `prepare` calls `fit_transform`).
2b. Per top-level statement (`CodeFacts.statements`): where a rule's `requires_at` words hold in a unit, or its
   `requires_nearby` words in the statement, for narrow.py (libcst parses only those and what they name).
3. Project helpers: a file that names a function of another checked module (summaries.py) counts as
   containing the words of the kind that function's summary returns (`values.words_of`), since the value
   analysis gives its callers that kind, and the split and fit words of its leakage summary (the leakage
   flow sees the split and the fit at its call); the function's name stands for them in its statements.
   Summaries are computed only for a file that no rule passes without them but some rule could pass with
   them (at stage 1, naming such a module counts as holding every kind's words, and the leakage summaries'
   split and fit words).

Why this is conservative: a rule's declared words are checked against every finding of the test
material (tests/test_perf_invariants.py, verify mode) and the findings are the same with and without the
pre-pass on the catalogue examples, the rule tests, generated programs and scikit-learn's sources.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlstablint.code import words
from mlstablint.code.words import Group


def holds(group: Group, present: frozenset[str] | set[str]) -> bool:
    """Whether a word of the group is present."""
    if isinstance(group, frozenset):
        return not group.isdisjoint(present)
    return any(group(word) for word in present)


class RuleWords:
    """One rule's declaration, as the pre-pass reads it."""

    def __init__(self, requires: Sequence[Group], requires_at: Sequence[Group],
                 either: Sequence[tuple[Sequence[Group], ...]] = (), comparisons: bool = False,
                 nearby: Sequence[frozenset[str]] = ()) -> None:
        self.requires = tuple(requires)
        self.requires_at = tuple(requires_at)
        # A word of each group in the top-level def or class of what is reported, or in one that names it
        # (CodeRule.requires_nearby; narrow.py).
        self.nearby = tuple(nearby)
        self.comparisons = comparisons  # `requires_at` within one `==` / `!=` comparison (CodeRule.reports_comparisons)
        # A word set of `requires_at` counts a name as every word it may stand for (aliases, helpers); a predicate
        # is read on the statement's own words (`is_test_name`: the name the rule itself reads).
        self.at_sets = tuple(group for group in self.requires_at if isinstance(group, frozenset))
        self.at_predicates = tuple(group for group in self.requires_at if not isinstance(group, frozenset))
        if either and (self.requires or self.requires_at or self.nearby):
            raise TypeError("a rule declares either alternatives or requires / requires_at / requires_nearby")
        # The alternatives, of which one must hold (a rule without them is its own one alternative):
        # (requires, requires_at) or (requires, requires_at, requires_nearby).
        self.alternatives: tuple[RuleWords, ...] = tuple(
            RuleWords(alternative[0], alternative[1], nearby=tuple(
                group for group in (alternative[2] if len(alternative) > 2 else ()) if isinstance(group, frozenset)))
            for alternative in either) or (self,)


_OPERATOR_WORDS: dict[type, str] = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**",
}
_SCOPES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
# What CodeFacts reads of a node, by its type (one dict look-up instead of a chain of tests per node).
(_NAME, _ATTRIBUTE, _CONSTANT, _OPERATION, _COMPARE, _ARGUMENT, _ALIAS, _IMPORT_FROM, _ASSIGN, _NAMED,
 _REBINDING) = range(1, 12)
_KIND_OF: dict[type, int] = {
    ast.Name: _NAME, ast.Attribute: _ATTRIBUTE, ast.Constant: _CONSTANT, ast.BinOp: _OPERATION,
    ast.AugAssign: _OPERATION, ast.Compare: _COMPARE, ast.keyword: _ARGUMENT, ast.arg: _ARGUMENT, ast.alias: _ALIAS,
    ast.ImportFrom: _IMPORT_FROM, ast.Assign: _ASSIGN, ast.AnnAssign: _ASSIGN, ast.NamedExpr: _ASSIGN,
    ast.ExceptHandler: _NAMED, ast.Global: _REBINDING, ast.Nonlocal: _REBINDING,
}
# node type -> (what is read of it, whether it is a statement, whether it is a scope with a name and a body)
_NODE_KINDS: dict[type, tuple[int, bool, bool]] = {}


def _node_kind(node_type: type) -> tuple[int, bool, bool]:
    found = _NODE_KINDS[node_type] = (_KIND_OF.get(node_type, 0), issubclass(node_type, ast.stmt),
                                      issubclass(node_type, _SCOPES))
    return found
# Child fields per node type, without `ctx` (every Name carries a Load/Store node): half of ast.walk's time.
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def ast_fields(node_type: type[ast.AST]) -> tuple[str, ...]:
    fields = _FIELDS.get(node_type)
    if fields is None:
        fields = _FIELDS[node_type] = tuple(f for f in node_type._fields if f not in ("ctx", "type_comment"))
    return fields


def ast_children(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes(node)` as a list, without `ctx` and type comments (`ast_fields`)."""
    out: list[ast.AST] = []
    for field in ast_fields(type(node)):
        value = getattr(node, field, None)
        if type(value) is list:
            out.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


_CODE_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _code_fields(node_type: type[ast.AST]) -> tuple[str, ...]:
    """`_fields` without annotations (`annotation`, `returns`), which the value analysis never evaluates."""
    fields = _CODE_FIELDS.get(node_type)
    if fields is None:
        fields = _CODE_FIELDS[node_type] = tuple(f for f in ast_fields(node_type) if f not in ("annotation", "returns"))
    return fields


class _DefEnd:
    """Popped after every node of a def: its statements are the units from `start` on."""

    __slots__ = ("name", "start")

    def __init__(self, name: str, start: int) -> None:
        self.name = name
        self.start = start


class CodeFacts:
    """The words of a module's code, file-wide and per statement, and the names each name may stand for."""

    def __init__(self, tree: ast.Module, annotations: bool = True, strings: bool = True) -> None:
        self.words: set[str] = set()
        # With `strings` False, the words of string literals (docstrings aside) are left out of `words` and
        # `units` and gathered here (what no call can be named by: summaries.py bounds a leakage summary by the rest).
        self.string_words: set[str] = set()
        self.units: list[set[str]] = []
        self.aliases: dict[str, set[str]] = {}
        # Per def: its name and the range of `units` its statements fill (a call of a helper of the file
        # stands for what the helper does: `prepare(X_te)` for the `fit_transform` in `prepare`).
        self.defs: list[tuple[str, int, int]] = []
        self._def_words: list[tuple[str, set[str]]] | None = None
        self._comparisons: list[ast.Compare] = []  # those with `==` or `!=`; their words on demand
        self._comparison_words: list[set[str]] | None = None
        # Per top-level statement, in source order: the range of `units` it fills; and the units of the
        # `global` / `nonlocal` statements (a def that rebinds a module's name: narrow.py keeps it).
        self.tops: list[tuple[int, int]] = []
        self.rebinding_units: list[int] = []
        self._index: dict[str, list[int]] | None = None  # word -> the units holding it (on demand)
        self._tops_of_units: list[int] | None = None
        self._top_words: list[set[str]] | None = None
        self._expanded: dict[frozenset[str], frozenset[str]] = {}
        self._collect(tree, ast_fields if annotations else _code_fields, None if strings else self.string_words)

    def _collect(self, tree: ast.Module, fields_of: Callable[[type[ast.AST]], tuple[str, ...]],
                 strings: set[str] | None) -> None:
        docstrings: set[int] = set()
        file_words, units, aliases = self.words, self.units, self.aliases
        stack: list[tuple[Any, set[str], int]] = [(tree, file_words, 1)]
        AST = ast.AST
        kinds = _NODE_KINDS
        fields: dict[type, tuple[str, ...]] = {}
        # The stack visits a top-level statement's nodes together, the last statement first.
        top_starts: list[int] = []
        deepest = 0
        while stack:
            node, unit, depth = stack.pop()
            if depth > deepest:
                deepest = depth
            node_type = type(node)
            if node_type is _DefEnd:
                self.defs.append((node.name, node.start, len(units)))
                continue
            found = kinds.get(node_type)
            if found is None:
                found = _node_kind(node_type)
            kind, is_stmt, is_scope = found
            top = False
            if is_stmt:
                top = unit is file_words
                if top:
                    top_starts.append(len(units))
                unit = set()
                units.append(unit)
            if kind:
                if kind == _NAME:
                    unit.add(node.id)
                    continue
                if kind == _ATTRIBUTE:
                    unit.add(node.attr)
                elif kind == _CONSTANT:
                    value = node.value
                    if isinstance(value, str):
                        if id(node) not in docstrings:
                            (unit if strings is None else strings).update(words.WORD.findall(value))
                    elif isinstance(value, (int, float)) and not isinstance(value, bool):
                        if value == 1:
                            unit.add(words.ONE)
                        elif 0 < value <= words.TINY_LIMIT:
                            unit.add(words.TINY)
                    continue
                elif kind == _OPERATION:
                    op = _OPERATOR_WORDS.get(type(node.op))
                    if op is not None:
                        unit.add(op)
                elif kind == _COMPARE:
                    equalities = ["==" if type(op) is ast.Eq else "!=" for op in node.ops
                                  if type(op) in (ast.Eq, ast.NotEq)]
                    if equalities:
                        unit.update(equalities)
                        self._comparisons.append(node)
                elif kind == _ARGUMENT:  # a keyword's or a parameter's name
                    if node.arg:
                        unit.add(node.arg)
                elif kind == _ALIAS:
                    unit.update(node.name.split("."))
                    if node.asname:
                        unit.add(node.asname)
                        aliases.setdefault(node.asname, set()).add(node.name.rsplit(".", 1)[-1])
                elif kind == _IMPORT_FROM:
                    if node.module:
                        unit.update(node.module.split("."))
                elif kind == _ASSIGN:
                    self._alias(node)
                elif kind == _NAMED:  # an except handler's name
                    if node.name:
                        unit.add(node.name)
                elif kind == _REBINDING:
                    self.rebinding_units.append(len(units) - 1)
            if is_scope:
                if node_type is not ast.Module:
                    # A top-level def's or class's own name is no word of its statements (`class KFold` does not
                    # split): the file holds it, and the def stands for its words where it is named (`expanded`).
                    (file_words if top else unit).add(node.name)
                    if node_type is not ast.ClassDef:
                        stack.append((_DefEnd(node.name, len(units) - 1), unit, 0))
                body = node.body
                if body and type(body[0]) is ast.Expr and type(body[0].value) is ast.Constant and isinstance(
                        body[0].value.value, str):
                    docstrings.add(id(body[0].value))
            depth += 1
            names = fields.get(node_type)
            if names is None:
                names = fields[node_type] = fields_of(node_type)
            for name in names:
                value = getattr(node, name, None)
                if type(value) is list:
                    stack.extend((v, unit, depth) for v in value if isinstance(v, AST))
                elif isinstance(value, AST):
                    stack.append((value, unit, depth))
        # The depth of the tree (engine.nesting_depth; without annotations when they are left out).
        self.depth = deepest
        for unit in units:
            file_words |= unit
        ends = [*top_starts[1:], len(units)] if top_starts else []
        self.tops = list(zip(reversed(top_starts), reversed(ends), strict=True))

    def _alias(self, node: ast.Assign | ast.AnnAssign | ast.NamedExpr) -> None:
        """`f = np.log`, `f: Any = log`, `(f := np.log)`: f may stand for `log` (names.Resolver.qualname)."""
        value = node.value
        if isinstance(value, ast.Name):
            last = value.id
        elif isinstance(value, ast.Attribute):
            last = value.attr
        elif type(value) is ast.Constant and type(value.value) is float and 0 < value.value <= words.TINY_LIMIT:
            last = words.TINY  # `eps = 1e-10`: the name stands for its tiny literal (`Exprs.follow` reads it)
        else:
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                self.aliases.setdefault(target.id, set()).add(last)

    def expanded(self, group: frozenset[str], project: Mapping[str, frozenset[str]] | None = None) -> frozenset[str]:
        """The group with every name that may stand for one of its words (transitively): an alias of one, a
        def of the file whose statements hold one, or a function of another module whose summary may
        (`project`: name -> its words, summaries.Summaries.virtual_names)."""
        if not project:
            cached = self._expanded.get(group)
            if cached is None:
                cached = self._expanded[group] = self._expand(group, None)
            return cached
        return self._expand(group, project)

    def _expand(self, group: frozenset[str], project: Mapping[str, frozenset[str]] | None) -> frozenset[str]:
        if self._def_words is None:
            self._def_words = [(name, set().union(*self.units[start:end])) for name, start, end in self.defs]
        names = set(group)
        changed = True
        while changed:
            changed = False
            for local, sources in (*self.aliases.items(), *self._def_words, *(project or {}).items()):
                if local not in names and not sources.isdisjoint(names):
                    names.add(local)
                    changed = True
        return frozenset(names)

    def statements(self, rule: RuleWords, calls: Mapping[str, frozenset[str]] | None = None,
                   names: Mapping[str, frozenset[str]] | None = None) -> set[int] | None:
        """The top-level statements (indices in source order) holding a unit where the rule's `requires_at`
        words hold (`calls`: project functions' names in a statement, as `may_fire` reads them), or whose words
        hold its `nearby` words (`names`: what project functions' names may stand for); None for every
        statement (an alternative with neither). Every alternative counts, as if its `requires` held."""
        found: set[int] = set()
        for alternative in rule.alternatives:
            if alternative.requires_at:
                groups = [self.expanded(group, calls) for group in alternative.at_sets]
                top_of = self._top_of()
                found.update(top_of[u] for u in self._units_holding(groups, alternative.at_predicates))
            elif alternative.nearby:
                groups = [self.expanded(group, names) for group in alternative.nearby]
                found.update(index for index in range(len(self.tops)) if all(
                    not self.top_words(index).isdisjoint(group) for group in groups))
            else:
                return None
        return found

    def _units_holding(self, groups: Sequence[frozenset[str]], predicates: Sequence[Group]) -> set[int]:
        """The units holding a word of every group and satisfying every predicate (from an index of the units
        each word is in: a rule's groups are few words, a file's units many)."""
        if self._index is None:
            self._index = {}
            for number, unit in enumerate(self.units):
                for word in unit:
                    self._index.setdefault(word, []).append(number)
        index = self._index
        found: set[int] | None = None
        for group in sorted(groups, key=len):
            words = group if len(group) < len(index) else group & index.keys()
            holding = {number for word in words for number in index.get(word, ())}
            found = holding if found is None else found & holding
            if not found:
                return set()
        if found is None:
            found = set(range(len(self.units)))
        if predicates:
            units = self.units
            found = {number for number in found if all(holds(p, units[number]) for p in predicates)}
        return found

    def _top_of(self) -> list[int]:
        """The top-level statement of each unit."""
        if self._tops_of_units is None:
            self._tops_of_units = [0] * len(self.units)
            for index, (start, end) in enumerate(self.tops):
                self._tops_of_units[start:end] = [index] * (end - start)
        return self._tops_of_units

    def top_words(self, index: int) -> set[str]:
        """The words of a top-level statement (all its units), gathered once per file (the narrowing asks per rule
        and per group)."""
        if self._top_words is None:
            self._top_words = [set().union(*self.units[start:end]) for start, end in self.tops]
        return self._top_words[index]

    def may_fire(self, rule: RuleWords, virtual: frozenset[str] = frozenset(),
                 project: Mapping[str, frozenset[str]] | None = None, anywhere: frozenset[str] = frozenset()) -> bool:
        """Whether the rule's words hold, with `virtual` words file-wide and the `project` functions' names
        standing for theirs in a statement; a `requires_at` group holding one of the `anywhere` words holds in
        every statement (a project function's name may stand for it, before the names are known)."""
        if rule.alternatives != (rule,):
            return any(self.may_fire(alternative, virtual, project, anywhere) for alternative in rule.alternatives)
        present = self.words | virtual if virtual else self.words
        if not all(holds(group, present) for group in rule.requires):
            return False
        if not rule.requires_at:
            return True
        groups = [self.expanded(group, project) for group in rule.at_sets if group.isdisjoint(anywhere)]
        predicates = rule.at_predicates
        if not groups and not predicates:
            return True
        if not self._units_holding(groups, predicates):
            return False
        if rule.comparisons:
            if self._comparison_words is None:
                self._comparison_words = [CodeFacts(ast.Module(body=[ast.Expr(value=node)], type_ignores=[])).words
                                          for node in self._comparisons]
            return any(_unit_holds(words, groups, predicates) for words in self._comparison_words)
        return True


def _unit_holds(unit: set[str], groups: Sequence[frozenset[str]], predicates: Sequence[Group]) -> bool:
    """Whether a statement's words hold a word of every group and satisfy every predicate."""
    return all(not unit.isdisjoint(group) for group in groups) and all(holds(p, unit) for p in predicates)


def passes_text(rule: RuleWords, present: frozenset[str] | None, virtual: frozenset[str] = frozenset()) -> bool:
    """Stage 1 for one rule, on `words.text_words` (None: the text could not bound the words)."""
    if present is None:
        return True
    if virtual:
        present = present | virtual
    return any(all(holds(group, present) for group in (*alternative.requires, *alternative.requires_at))
               for alternative in rule.alternatives)

