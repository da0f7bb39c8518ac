"""Check one source file: prefilter, parse, run every enabled rule in one traversal, locate."""

from __future__ import annotations

import ast
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import libcst as cst
from libcst._position import CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider

from mlstablint.catalog import load_catalog
from mlstablint.code import notebook
from mlstablint.code.cstparse import parse_module
from mlstablint.code.exprs import source
from mlstablint.code.fixes import apply_edits, import_line
from mlstablint.code.modules import package_words
from mlstablint.code.names import Resolver
from mlstablint.code.narrow import DEFINITIONS, blank, kept_statements, statement_lines
from mlstablint.code.positions import statement_positions
from mlstablint.code.prepass import CodeFacts, RuleWords, ast_children, holds, passes_text
from mlstablint.code.rule import CodeRule, PendingFinding, RuleContext
from mlstablint.code.rules import ALL_RULES
from mlstablint.code.textio import decode_source
from mlstablint.code.walk import BatchedWalker
from mlstablint.code.words import text_words
from mlstablint.config import DEFAULT_MAX_NESTING
from mlstablint.findings import Edit, Finding, FixInfo, Report, ToolError, code_fingerprint

if TYPE_CHECKING:
    from mlstablint.code.modules import Module
    from mlstablint.code.summaries import Summaries

_IMPORT_ROOTS = re.compile(r"^[ \t]*(?:from[ \t]+([A-Za-z_]\w*)|import[ \t]+([^\n#;]+))", re.M)
_NOQA = re.compile(r"#\s*noqa(?::[ \t]*(?P<codes>[A-Za-z]+\d+(?:[ \t]*,?[ \t]*[A-Za-z]+\d+)*))?", re.I)
_IGNORE = re.compile(r"#\s*mlstablint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?", re.I)
_CODE = re.compile(r"[A-Za-z]+\d+")


def imported_roots(text: str) -> set[str]:
    """Top-level modules named in import statements, read from text without parsing."""
    roots: set[str] = set()
    for frm, imp in _IMPORT_ROOTS.findall(text):
        if frm:
            roots.add(frm)
        else:
            for part in imp.replace("(", " ").replace(")", " ").split(","):
                words = part.split()
                if words:
                    roots.add(words[0].split(".")[0])
    return roots


NESTING_MESSAGE = "too deeply nested for the parser; file skipped"


# CPython's messages for Python 2 statements, and Python 2 spellings on the line CPython rejects.
_PY2_MESSAGES = ("Missing parentheses in call to 'print'", "Missing parentheses in call to 'exec'",
                 "leading zeros in decimal integer literals are not permitted",
                 "multiple exception types must be parenthesized")
_PY2_LINE = re.compile(r"""^\s*raise\s+[\w.]+\s*,|`|<>|\b\d+[lL]\b""")
_PY2_PREFIX = re.compile(r"""\bur['"]""")
_STRING = re.compile(r"""'[^']*'|"[^"]*\"""")


def python_syntax_error(exc: SyntaxError, text: str | None = None) -> str:
    """CPython's syntax error as a one-line report message: its message, its line and column. A file that
    fails on a Python 2 spelling (a print statement, `except E, e`, backticks, `<>`, `0777`, `10L`) is said
    to be Python 2, so that the user ports it instead of hunting for a typo."""
    message = f"syntax error at line {exc.lineno}, column {exc.offset}: {exc.msg}"
    line = ""
    if text is not None and exc.lineno is not None and exc.lineno >= 1:
        lines = text.splitlines()
        line = lines[exc.lineno - 1] if exc.lineno <= len(lines) else ""
    # Strings are blanked first: a backtick or `<>` inside one says nothing about the language version.
    if exc.msg.startswith(_PY2_MESSAGES) or _PY2_LINE.search(_STRING.sub("''", line)) or _PY2_PREFIX.search(line):
        message += " (this is Python 2 code, which mlstablint does not read: port the file to Python 3)"
    return message


def parse_or_none(text: str) -> ast.Module | None:
    """The text's `ast`, or None where Python's parser rejects it (a syntax error, or nesting it cannot take)."""
    try:
        return ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None


def nesting_depth(tree: ast.AST, limit: int) -> int:
    """The depth of the syntax tree, counted up to `limit + 1` (iterative: the tree may be deep)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
        stack.extend((child, depth + 1) for child in ast_children(node))
    return deepest


def suppressed_codes(line: str) -> set[str] | None:
    """Codes suppressed on a line; an empty set means all (bare `# noqa`); None means none."""
    codes: set[str] | None = None
    for pattern in (_NOQA, _IGNORE):
        for m in pattern.finditer(line):
            found = m.group("codes")
            if found is None or not _CODE.findall(found):
                return set()
            codes = (codes or set()) | {c.upper() for c in _CODE.findall(found)}
    return codes


def is_suppressed(rule: str, lines: Sequence[str], start: int, end: int) -> bool:
    for lineno in {start, end}:
        if 1 <= lineno <= len(lines):
            codes = suppressed_codes(lines[lineno - 1])
            if codes is not None and (not codes or rule in codes):
                return True
    return False


class FileChecker:
    """Runs a fixed set of rules over files; rule instances are built once and reused."""

    def __init__(
        self, enabled: set[str], prefilter: bool = True, fast_positions: bool = True,
        max_nesting: int = DEFAULT_MAX_NESTING, verify: bool = False, project: Summaries | None = None,
    ) -> None:
        # The switches exist for the equivalence tests (tests/test_perf_invariants.py): `verify` checks every
        # finding against its rule's declared words (`CodeRule.requires`) and raises where they do not hold.
        self.prefilter = prefilter
        self.verify = verify
        # The other checked modules' function summaries (summaries.py), for the value analysis and the pre-pass.
        self.project = project
        self.module: Module | None = None
        # The file's words that name a module of the project (last component -> its files), or None when the
        # text could not tell (words.text_words): with `project.read`/`found`, what its result depends on.
        self.mentions: dict[str, list[str]] | None = {}
        self.max_nesting = max_nesting
        self.fast_positions = fast_positions
        # The depth of the file's `ast` when the pre-pass measured it (CodeFacts), for `_before_libcst`.
        self.depth: int | None = None
        catalog = load_catalog()
        self.severity = {rule_id: doc.severity for rule_id, doc in catalog.items()}
        self.fix_safety = {rule_id: doc.fix_safety for rule_id, doc in catalog.items()}
        self.resolver = Resolver()
        self.rules: list[CodeRule] = [cls() for cls in ALL_RULES if cls.id in enabled]
        self.words = {rule.id: RuleWords(rule.requires, rule.requires_at, rule.requires_either,
                                         rule.reports_comparisons, rule.requires_nearby) for rule in self.rules}
        self._walkers: dict[tuple[str, ...], BatchedWalker] = {}
        # id(finding) -> (context lines, occurrence): what its fingerprint hashes besides rule and path,
        # for the cache (cache.py), which stores findings without their path. Reset per file.
        self.fingerprint_inputs: dict[int, tuple[list[str], int]] = {}

    def _rules_for(self, text: str, path: str, ignored: Sequence[str]) -> list[CodeRule]:
        roots = imported_roots(text)
        return [
            rule for rule in self.rules
            if (rule.libraries & roots or (rule.trigger is not None and rule.trigger in text))
            and rule.applies_to(path) and not any(rule.id.startswith(s) or s == "ALL" for s in ignored)
        ]

    def _prefilter(self, rules: list[CodeRule], text: str
                   ) -> tuple[list[CodeRule], ast.Module | None, dict[str, set[int]] | None]:
        """The rules whose declared words the file holds (prepass.py), the file's `ast` (None when it does not
        parse: then every rule is kept and the libcst path reports the syntax error as CPython does), and per
        rule the top-level statements it needs (narrow.py; None for all)."""
        present = text_words(text)
        helpers: frozenset[str] = frozenset()
        relative = package_words(self.module.package if self.module is not None else None, text)
        if present is not None:
            present |= relative
        if self.project is not None:
            # A file that names another checked module may get any kind from its functions' summaries.
            self.mentions = self.project.index.mentions(present)
            helpers = self.project.words if self.mentions is None or self.mentions else frozenset()
        candidates = [rule for rule in rules if passes_text(self.words[rule.id], present, helpers)]
        # A module of the project is parsed once per process: here, or by the summaries of its functions.
        project, module = self.project, self.module
        tree = project.shared_tree(module, text) if project is not None and module is not None else None
        if tree is None:
            tree = parse_or_none(text)
            if tree is None:
                return rules, None, None
            if project is not None and module is not None:
                project.adopt(module, text, tree)
        if not candidates:
            return [], tree, None
        facts = CodeFacts(tree)
        self.depth = facts.depth
        selected = {rule.id for rule in candidates if facts.may_fire(self.words[rule.id])}
        # A project function's name may stand for the leakage summaries' words (`call_words`: a fit) in its
        # statements too, for a rule that follows the calls (MSL303: `scale(X_te)`).
        at = helpers & self.project.call_words if self.project is not None else frozenset()
        rest = [rule for rule in candidates if rule.id not in selected and helpers
                and facts.may_fire(self.words[rule.id], helpers, anywhere=at)]
        if rest and self.project is not None:
            names = self.project.virtual_names(facts.words | relative, self.module, self._kind_words(rest))
            virtual = frozenset().union(*names.values())
            calls = self.project.statement_names(names)
            selected.update(rule.id for rule in rest if facts.may_fire(self.words[rule.id], virtual, calls))
        chosen = [rule for rule in rules if rule.id in selected]
        return chosen, tree, self._statements(chosen, tree, facts, helpers, relative)

    def _statements(self, rules: list[CodeRule], tree: ast.Module, facts: CodeFacts, helpers: frozenset[str],
                    relative: frozenset[str]) -> dict[str, set[int]] | None:
        """Per rule, the top-level statements it must see to report all it can (narrow.py): where its
        `requires_at` or `requires_nearby` words hold (a project function's name standing for a fit in a
        statement, or for what its summary may give nearby), and what those use; None for all of them."""
        if not rules or not any(isinstance(node, DEFINITIONS) for node in tree.body):
            return None
        names: dict[str, frozenset[str]] = {}
        if helpers and self.project is not None:
            alternatives = [a for rule in rules for a in self.words[rule.id].alternatives]
            at = {word for a in alternatives for group in a.requires_at if isinstance(group, frozenset)
                  for word in group}
            nearby = {word for a in alternatives for group in a.nearby for word in group}
            needed = helpers & ((self.project.call_words & at) | nearby)
            if needed:
                names = self.project.virtual_names(facts.words | relative, self.module, needed)
        calls = self.project.statement_names(names) if names and self.project is not None else None
        every = set(range(len(tree.body)))
        keeps: dict[str, set[int]] = {}
        for rule in rules:
            statements = facts.statements(self.words[rule.id], calls, names)
            keeps[rule.id] = every if statements is None else kept_statements(tree, facts, statements)
        return keeps

    def _walker(self, rules: list[CodeRule]) -> BatchedWalker:
        """The batched walk of these rules and the names' resolver (one per combination, built once)."""
        key = tuple(rule.id for rule in rules)
        walker = self._walkers.get(key)
        if walker is None:
            walker = self._walkers[key] = BatchedWalker([self.resolver, *rules])
        return walker

    def _kind_words(self, rules: list[CodeRule]) -> frozenset[str]:
        """The words a summary could give these rules' groups (in a statement: the leakage summaries')."""
        assert self.project is not None
        found: set[str] = set()
        for alternative in (a for rule in rules for a in self.words[rule.id].alternatives):
            for group in alternative.requires:
                if not isinstance(group, frozenset):
                    return self.project.words
                found |= group
            for group in alternative.requires_at:
                if isinstance(group, frozenset):  # always (RuleWords)
                    found |= group & self.project.call_words
        return self.project.words & found

    def check_source(
        self, text: str, path: str, ignored: Sequence[str] = (), fingerprint_path: str | None = None,
        as_module: Module | None = None,
    ) -> Report:
        """Check one file's text. `path` is shown in reports; `fingerprint_path` (relative to the project
        root, so that fingerprints do not depend on where the tool runs) defaults to it; `as_module` is the file
        as a module of the checked project (its relative imports start from its package)."""
        report = Report(files_checked=1)
        self.fingerprint_inputs = {}
        self.module = as_module
        self.mentions = {}
        self.depth = None
        package = as_module.package if as_module is not None else None
        if self.project is not None:
            self.project.begin()
        rules = self._rules_for(text, path, ignored)
        tree: ast.Module | None = None
        keeps: dict[str, set[int]] | None = None
        if rules and self.prefilter:
            rules, tree, keeps = self._prefilter(rules, text)
            if not rules:
                return report  # the file parses (else every rule is kept) and no rule can fire on it
        if not rules:
            # Nothing to look for, but a file that does not parse is still reported (ast is ~10x cheaper).
            try:
                ast.parse(text, filename=path)
            except SyntaxError as exc:
                report.errors.append(ToolError(path, python_syntax_error(exc, text)))
            except (RecursionError, MemoryError, ValueError):
                report.errors.append(ToolError(path, NESTING_MESSAGE))
            return report
        problem = self._before_libcst(text, tree)
        if problem is not None:
            report.errors.append(ToolError(path, problem))
            return report
        # The statements no selected rule needs are blanked (narrow.py): the text libcst parses, and its `ast`.
        parsed, parsed_tree = text, tree
        kept: list[int | None] | None = None  # the original index of each statement parsed (None: blanked ones)
        if keeps is not None and tree is not None:
            keep = set().union(*keeps.values())
            if len(keep) < len(tree.body):
                parsed, order = blank(text, tree, keep)
                kept = [index for index, _ in order]
                parsed_tree = ast.Module(body=[tree.body[index] if index is not None else ast.Expr(
                    value=ast.Constant(""), lineno=first, col_offset=0) for index, first in order], type_ignores=[])
        try:
            module = parse_module(parsed)
        except cst.ParserSyntaxError as exc:
            # CPython accepted the text (it was parsed above): syntax newer than the installed libcst knows.
            first = str(exc.message).splitlines()[0] if exc.message else "invalid syntax"
            where = f"line {exc.raw_line}, column {exc.raw_column + 1}"
            report.errors.append(ToolError(path, f"valid Python that the installed libcst cannot parse ({where}: "
                                                 f"{first}); upgrade libcst to check this file"))
            return report
        except RecursionError:
            report.errors.append(ToolError(path, NESTING_MESSAGE))
            return report
        ctx = RuleContext(self.resolver, text, path, self.project)
        self.resolver.release()  # the last file's (values computed there are not read again)
        self.resolver.reset(package)
        for rule in rules:
            rule.ctx = ctx
        walker = self._walker(rules)
        # Top-level statement index -> the pending findings reported while walking it (positions.py).
        flagged: dict[int, list[cst.CSTNode]] | None = None
        try:
            if walker.visits_module:
                walker.walk(module)
            else:
                # Walking the body statement by statement visits the same nodes in the same order (the
                # Module node itself has no hooks and its header/footer are trivia) and tells which
                # statement each finding is in. A rule walks only the statements it needs (narrow.py); the
                # names' resolver walks them all.
                flagged = {}
                position = 0  # in `kept`: a line of simple statements is several `ast` statements
                for index, stmt in enumerate(module.body):
                    before = len(ctx.pending)
                    if kept is not None and keeps is not None:
                        original = kept[position]
                        if original is not None:  # not a run of blanked statements
                            self._walker([r for r in rules if original in keeps[r.id]]).walk(stmt)
                    else:
                        walker.walk(stmt)
                    position += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
                    if len(ctx.pending) > before:
                        flagged[index] = [node for p in ctx.pending[before:] for node in _located_nodes(p)]
        except RecursionError:
            report.errors.append(ToolError(path, "expression nesting too deep to analyse; file skipped"))
            return report
        if ctx.pending and self.verify:
            verified = ast.parse(text)
            facts = CodeFacts(verified)
            self._verify(ctx, text, facts)
            self._verify_statements(ctx, module, text, verified, facts)
        if ctx.pending:
            try:
                report.findings = self._locate(module, text, path, fingerprint_path or path, ctx, flagged, tree,
                                               (parsed, parsed_tree))
            except RecursionError:  # libcst's position metadata recurses once per nesting level
                report.errors.append(ToolError(path, NESTING_MESSAGE))
        return report

    def _verify(self, ctx: RuleContext, text: str, facts: CodeFacts) -> None:
        """Raise if a finding's rule does not declare words the file (and the reported node's statement) holds:
        the pre-pass would have dropped the file or the rule (`facts`: the file's)."""
        present = facts.words
        names: dict[str, frozenset[str]] = {}
        if self.project is not None:
            relative = package_words(self.module.package if self.module is not None else None, text)
            names = self.project.virtual_names(facts.words | relative, self.module, self.project.words, exact=True)
            present = present | frozenset().union(*names.values())
            names = self.project.statement_names(names)
        for pending in ctx.pending:
            node: set[str] | None = None
            missing: list[object] = []
            for declared in self.words[pending.rule].alternatives:  # one must hold
                missing = [group for group in (*declared.requires, *declared.requires_at)
                           if not holds(group, present)]
                if declared.comparisons and not isinstance(pending.node, cst.Comparison):
                    missing = ["a comparison reported"]
                if not missing and declared.requires_at:
                    if node is None:
                        node = CodeFacts(ast.parse(f"(\n{source(pending.node)}\n)")).words
                    missing = [group for group in declared.requires_at if (
                        node.isdisjoint(facts.expanded(group, names)) if isinstance(group, frozenset)
                        else not holds(group, node))]
                if not missing:
                    break
            if missing:
                raise AssertionError(f"{pending.rule} reported `{source(pending.node)[:80]}` where its declared "
                                     f"words {missing!r} do not hold")

    def _verify_statements(self, ctx: RuleContext, module: cst.Module, text: str, tree: ast.Module,
                           facts: CodeFacts) -> None:
        """Raise if a finding is in a top-level statement that narrow.py would leave out for its rule alone."""
        relative = package_words(self.module.package if self.module is not None else None, text)
        helpers = self.project.words if self.project is not None else frozenset()
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        spans = [statement_lines(node) for node in tree.body]
        for pending in ctx.pending:
            rule = next(r for r in self.rules if r.id == pending.rule)
            keeps = self._statements([rule], tree, facts, helpers, relative)
            line = positions[pending.node].start.line
            index = next(i for i, (first, last) in enumerate(spans) if first <= line <= last)
            if keeps is not None and index not in keeps[rule.id]:
                raise AssertionError(f"{pending.rule} reported `{source(pending.node)[:80]}` in a top-level statement "
                                     f"that its words (requires_at / requires_nearby) would not keep")

    def _before_libcst(self, text: str, tree: ast.Module | None) -> str | None:
        """Why libcst must not be given this text (CPython's syntax error when it rejects the text), or None.
        libcst's native parse cannot be interrupted and takes time superlinear in the nesting depth (see
        DEFAULT_MAX_NESTING), so the depth is measured on the `ast` first (the prefilter's when it has one).
        A text `ast` rejects is reported with CPython's message; libcst is never given it."""
        if tree is None:
            try:
                tree = ast.parse(text)
            except SyntaxError as exc:
                # CPython's tokenizer stops at 200 open brackets; libcst would parse them, then recurse.
                if "too many nested parentheses" in str(exc.msg):
                    return NESTING_MESSAGE
                # CPython's own message and line (libcst's "expected one of ..." points a line later).
                return python_syntax_error(exc, text)
            except (RecursionError, MemoryError, ValueError):
                return NESTING_MESSAGE
        depth = self.depth if self.depth is not None else nesting_depth(tree, self.max_nesting)
        if depth > self.max_nesting:
            return f"skipped: syntax nested more than {self.max_nesting} deep (max-nesting)"
        return None

    def _positions(
        self, module: cst.Module, text: str, flagged: dict[int, list[cst.CSTNode]] | None, tree: ast.Module | None
    ) -> Mapping[cst.CSTNode, CodeRange]:
        """Positions of the flagged nodes; `text` and `tree` are what libcst parsed (narrow.py may have blanked
        statements: every kept node has the same position in the file)."""
        if flagged is not None and self.fast_positions:
            if tree is None:
                tree = parse_or_none(text)
            if tree is not None:
                found = statement_positions(module, text, tree, flagged)
                if found is not None:
                    return found
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def _locate(
        self, module: cst.Module, text: str, path: str, fingerprint_path: str, ctx: RuleContext,
        flagged: dict[int, list[cst.CSTNode]] | None = None, tree: ast.Module | None = None,
        parsed: tuple[str, ast.Module | None] | None = None,
    ) -> list[Finding]:
        parsed_text, parsed_tree = parsed if parsed is not None else (text, tree)
        positions = self._positions(module, parsed_text, flagged, parsed_tree)
        lines = text.splitlines()
        imports_at: list[int | None] = []  # where added imports go, computed once when a fix needs one
        seen: Counter[tuple[str, str]] = Counter()
        out: list[Finding] = []
        unique = {(p.rule, id(p.node)): p for p in ctx.pending}
        located = sorted(
            ((positions[p.node], p) for p in unique.values()),
            key=lambda item: (item[0].start.line, item[0].start.column, item[1].rule),
        )
        for pos, pending in located:
            start, end = pos.start, pos.end
            if is_suppressed(pending.rule, lines, start.line, end.line):
                continue
            context = lines[max(0, start.line - 2): start.line + 1]
            key = (pending.rule, "\n".join(" ".join(c.split()) for c in context))
            seen[key] += 1
            out.append(Finding(
                rule=pending.rule,
                severity=self.severity.get(pending.rule, "warning"),  # type: ignore[arg-type]
                message=pending.message,
                path=path,
                line=start.line,
                column=start.column + 1,
                end_line=end.line,
                end_column=end.column + 1,
                evidence=pending.evidence,
                fingerprint=code_fingerprint(pending.rule, fingerprint_path, context, seen[key]),
                fix=self._fix_info(pending, positions, text, tree, imports_at),
            ))
            self.fingerprint_inputs[id(out[-1])] = (context, seen[key])
        return out


    def _fix_info(
        self, pending: PendingFinding, positions: Mapping[cst.CSTNode, CodeRange], text: str, tree: ast.Module | None,
        imports_at: list[int | None],
    ) -> FixInfo | None:
        fix, safety = pending.fix, self.fix_safety.get(pending.rule, "none")
        if fix is None or safety not in ("safe", "unsafe"):
            return None
        edits = [Edit(positions[r.node].start.line, positions[r.node].start.column + 1, positions[r.node].end.line,
                      positions[r.node].end.column + 1, r.text) for r in fix.replacements]
        if fix.imports:
            if not imports_at:
                if tree is None:
                    tree = parse_or_none(text)
                imports_at.append(import_line(tree) if tree is not None else None)
            line = imports_at[0]
            if line is None:
                return None  # nowhere to add the import the fix needs: no fix rather than a guess
            newline = "\r\n" if "\r\n" in text else "\n"
            added = "".join(f"{statement}{newline}" for statement in fix.imports)
            if line > len(text.splitlines()):  # the last import ends the file without a newline
                line, added = line - 1, newline + added.removesuffix(newline)
                edits.append(Edit(line, len(text.splitlines()[-1]) + 1, line, len(text.splitlines()[-1]) + 1, added))
            else:
                edits.append(Edit(line, 1, line, 1, added))
        return FixInfo(safety, tuple(sorted(edits, key=lambda e: (e.line, e.column))))


def _located_nodes(pending: PendingFinding) -> list[cst.CSTNode]:
    """The nodes whose positions a finding needs: its own and those its fix replaces."""
    if pending.fix is None:
        return [pending.node]
    return [pending.node, *(r.node for r in pending.fix.replacements)]


def check_notebook(
    checker: FileChecker, data: bytes, path: str, ignored: Sequence[str] = (), fingerprint_path: str | None = None
) -> Report:
    """Lint a notebook's code cells as one module; report findings at raw-file, cell and line positions."""
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Report(errors=[ToolError(path, f"not a notebook: not valid UTF-8 at byte {exc.start}")], files_checked=1)
    try:
        joined = notebook.join(raw)
    except notebook.NotebookError as exc:
        return Report(errors=[ToolError(path, str(exc))], files_checked=1)
    # A cell that does not parse is reported and blanked; the other cells are still linted.
    errors: list[ToolError] = []
    text = joined.text
    for _ in range(len(joined.cells) + 1):
        try:
            ast.parse(text, filename=path)
            break
        except SyntaxError as exc:
            origin = joined.origin(exc.lineno or 1)
            errors.append(ToolError(path, f"cell {origin.cell}: syntax error at line {origin.cell_line}: {exc.msg}; "
                                          "the other cells are still checked"))
            text = notebook.blank_cell(joined, origin.cell)
        except (RecursionError, MemoryError, ValueError):
            errors.append(ToolError(path, "too deeply nested for the parser; notebook skipped"))
            return Report(errors=errors, files_checked=1)
    report = checker.check_source(text, path, ignored, fingerprint_path)
    report.errors.extend(errors)
    related = [f for f in report.findings if isinstance(f.evidence.get("split_call"), str)]
    counts = notebook.execution_counts(raw) if related else {}
    for finding in related if counts else ():
        note = notebook.order_note(joined, counts, finding.line, str(finding.evidence["split_call"]))
        if note is not None:
            finding.evidence["execution_order"] = note
            finding.message += (f" Note: the saved execution counts ran cell {note['related_cell']} "
                                f"[{note['related_count']}] and cell {note['cell']} [{note['cell_count']}] in the "
                                "other order; this follows the written order, as a fresh top-to-bottom run does.")
    # A fix as edits of the .ipynb file (SARIF's `fixes`), only where `--fix` would apply it: every cell parses.
    whole = text == joined.text
    for finding in report.findings:
        if finding.fix is not None:
            finding.fix = FixInfo(finding.fix.safety, tuple(_in_cell(joined, e) for e in finding.fix.edits),
                                  _in_file(raw, joined, finding.fix.edits) if whole else ())
        start, end = joined.origin(finding.line), joined.origin(finding.end_line)
        finding.cell, finding.cell_line, finding.cell_column = start.cell, start.cell_line, finding.column
        line, end_line = finding.line, finding.end_line
        finding.line, finding.column = start.raw_line, joined.raw_column(line, finding.column)
        finding.end_line, finding.end_column = end.raw_line, joined.raw_column(end_line, finding.end_column)
    return report


def _in_file(raw: str, joined: notebook.JoinedNotebook, edits: Sequence[Edit]) -> tuple[Edit, ...]:
    """A fix of the joined code cells as edits of the raw .ipynb text (none where it cannot be placed)."""
    fixed, _ = apply_edits(joined.text, [edits])
    try:
        return notebook.file_edits(raw, joined, fixed)
    except notebook.NotebookError:
        return ()


def _in_cell(joined: notebook.JoinedNotebook, edit: Edit) -> Edit:
    """An edit of the joined code cells, placed in its cell (an edit never spans two cells)."""
    start, end = joined.origin(edit.line), joined.origin(edit.end_line)
    return Edit(start.cell_line, edit.column, end.cell_line, edit.end_column, edit.text, cell=start.cell)


def check_bytes(
    checker: FileChecker, data: bytes, path: str, ignored: Sequence[str] = (), fingerprint_path: str | None = None,
    as_module: Module | None = None,
) -> Report:
    """Check one file's bytes (a notebook by its suffix): the entry point of the runner."""
    with warnings.catch_warnings():
        # `ast.parse` warns about the user's code (invalid escape sequences: a SyntaxWarning on stderr from
        # Python 3.12, for every regex written "\d"); that is not ours to print, and stderr carries our errors.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if path.endswith(".ipynb"):
            return check_notebook(checker, data, path, ignored, fingerprint_path)
        try:
            text = decode_source(data)
        except ValueError as exc:
            return Report(errors=[ToolError(path, str(exc))], files_checked=1)
        return checker.check_source(text, path, ignored, fingerprint_path, as_module)
