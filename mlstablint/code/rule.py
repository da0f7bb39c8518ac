"""The code-rule base class (Fixit's shape): one small class per rule, with a docstring, a
message and `visit_*` methods; every rule of a file runs in one batched libcst traversal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from mlstablint.code.apis import LIBRARY_ROOTS
from mlstablint.code.exprs import Exprs
from mlstablint.code.fixes import Fix, Spelling, spell
from mlstablint.code.names import Resolver
from mlstablint.code.values import Helpers, Values
from mlstablint.code.words import Group


@dataclass
class PendingFinding:
    """A finding before positions are resolved (positions cost a pass; files without findings skip it)."""

    rule: str
    node: cst.CSTNode
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None


class RuleContext:
    """What a rule sees of the file being checked."""

    def __init__(self, resolver: Resolver, text: str = "", path: str = "", helpers: Helpers | None = None) -> None:
        self.resolver = resolver
        self.text = text
        self.path = path  # as shown in reports (a rule family may scope itself by it, e.g. MSL3xx and tests)
        self.helpers = helpers  # the project's other modules (summaries.py), for the analyses that follow calls
        self._uses: dict[str, int] = {}
        self.exprs = Exprs(resolver)
        self.values = Values(resolver, self.exprs, helpers)
        self.exprs.values = self.values
        self.pending: list[PendingFinding] = []
        # Nodes already reported by a more specific rule, per rule family that defers to it.
        self.claimed: dict[str, set[int]] = {}
        # Per-file analyses a rule family shares, built by the first rule that asks (e.g. dataflow.flow_of).
        self.analyses: dict[str, object] = {}

    def uses(self, name: str) -> int:
        """How often an identifier occurs in the file's text (a cheap upper bound on its uses)."""
        if name not in self._uses:
            self._uses[name] = len(re.findall(rf"(?<![\w.]){re.escape(name)}\b", self.text))
        return self._uses[name]

    def claim(self, key: str, node: cst.CSTNode) -> None:
        self.claimed.setdefault(key, set()).add(id(node))

    def is_claimed(self, key: str, node: cst.CSTNode) -> bool:
        return id(node) in self.claimed.get(key, ())


class CodeRule(cst.BatchableCSTVisitor):
    """Base class. Subclasses set `id` and `message` and implement `visit_<Node>` methods."""

    id: ClassVar[str]
    message: ClassVar[str]
    # Top-level modules the rule is about: files importing none of them skip the rule.
    libraries: ClassVar[frozenset[str]] = LIBRARY_ROOTS
    # Text that makes the rule relevant even without a library import (e.g. float("nan")).
    trigger: ClassVar[str | None] = None
    # The words a file needs for the rule to report or claim anything in it (vocabulary: words.py): a word of
    # every group of `requires` somewhere in the file, and a word of every group of `requires_at` in the
    # statement of the node reported or claimed (a name counting as the names it may stand for; a predicate group
    # of `requires_at` is read on the node's own words, with no alias). The pre-pass
    # (prepass.py) runs a rule only on files where its groups hold; tests/test_perf_invariants.py checks them
    # against every finding of the test material.
    requires: ClassVar[tuple[Group, ...]] = ()
    requires_at: ClassVar[tuple[Group, ...]] = ()
    # Or, for a rule whose hazards need different words, alternatives: (requires, requires_at) or (requires,
    # requires_at, requires_nearby), of which one must hold (then the three attributes stay empty).
    requires_either: ClassVar[tuple[tuple[tuple[Group, ...], ...], ...]] = ()
    # For a rule without `requires_at`: a word of every group in the top-level def or class that holds the node
    # reported or claimed, or in a top-level def or class that names it (its caller), or in module-level code
    # (narrow.py: libcst parses only those). Verify mode checks it against every finding of the test material.
    requires_nearby: ClassVar[tuple[frozenset[str], ...]] = ()
    # For a rule that reports only `==` / `!=` comparisons: `requires_at` holds within the comparison reported.
    reports_comparisons: ClassVar[bool] = False
    # Whether the hazard is in the value computed (then an expression statement, whose value is thrown
    # away, is not reported); False for rules about a call's effect (fitting an estimator).
    value_hazard: ClassVar[bool] = True

    def __init__(self) -> None:
        self.ctx: RuleContext = RuleContext(Resolver())

    @classmethod
    def applies_to(cls, path: str) -> bool:
        """Whether the rule looks at the file at this (display) path at all."""
        return True

    @property
    def r(self) -> Resolver:
        return self.ctx.resolver

    @property
    def x(self) -> Exprs:
        return self.ctx.exprs

    @property
    def v(self) -> Values:
        """The value analysis: `self.v.value(expr)` says what a value can be (values.py)."""
        return self.ctx.values

    def report(self, node: cst.CSTNode, evidence: dict[str, Any] | None = None, **fields: object) -> None:
        if self.value_hazard and id(node) in self.r.discarded and not _writes_out(node):
            return  # an expression statement: the value is thrown away, nothing downstream sees it
        if self.value_hazard and self.r.asserting:
            return  # inside an assertion: the value is what the assertion checks (a -inf or NaN fails it)
        if self.value_hazard and is_test_path(self.ctx.path) and isinstance(node, cst.BaseExpression) and (
                self.v.fixed(node)):
            return  # a test's own data (literals, seeded draws): no input reaches it, the test shows what it gives
        pending = PendingFinding(self.id, node, self.message.format(**fields), evidence or {})
        pending.fix = self.fix(node)
        self.ctx.pending.append(pending)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        """The rewrite that removes the finding at `node`, or None where the code does not say enough
        (a rule's fix sits next to its trigger; called when the rule reports, names resolved as there)."""
        return None

    def spell(self, qualname: str) -> Spelling | None:
        """`qualname` written with the file's own aliases, or with an import where the name is missing."""
        return spell(self.r, self.ctx.uses(qualname.rpartition(".")[2]), qualname)


def is_test_path(path: str) -> bool:
    """A test module by the conventions of pytest and unittest (`tests/`, `test_*.py`, `*_test.py`)."""
    parts = re.split(r"[\\/]", path)
    name = parts[-1]
    return any(part in ("tests", "test", "testing") for part in parts[:-1]) or name.startswith("test_") or (
        name.endswith("_test.py") or name == "conftest.py")


def _writes_out(node: cst.CSTNode) -> bool:
    """`np.exp(x, out=y)` as a statement still stores its value."""
    return isinstance(node, cst.Call) and any(a.keyword is not None and a.keyword.value == "out" for a in node.args)
