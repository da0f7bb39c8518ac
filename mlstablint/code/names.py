"""Name resolution from the module's own import table and scopes — no libcst metadata pass.

`Resolver` is a batchable visitor that runs first in the one traversal of a file. It records,
in source order, every binding of a name (imports, assignments, parameters, defs, loop
targets...) per scope, so that when a rule visits a node it can ask:

* `qualname(expr)` — the dotted name an expression stands for (`np.linalg.inv` ->
  `numpy.linalg.inv`), or None when the name is local, rebound or unknown;
* `binding(name)` — the latest binding of a name visible here, whose `value` is the assigned
  expression for simple assignments (the def-use chain rules follow).

Every binding carries a sequence number; the names inside a binding's value are resolved
against the bindings made *before* it (`before=binding.seq`), so `x = f(x)` refers to the
previous `x` and chains cannot loop.

QualifiedNameProvider and ScopeProvider would give the same answers at ~10x the parse's cost
(measured on scikit-learn's examples/), which is why this is hand-rolled and deliberately small.
"""

from __future__ import annotations

import bisect
import builtins
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst

INFINITY = 1 << 62
# The aug_op of a binding that records an in-place change of a name's value.
MUTATION = "Mutation"
BUILTIN_NAMES = frozenset(dir(builtins))
# Aliases of one API under another import path, mapped to the canonical spelling.
_PREFIX_ALIASES = (
    ("tensorflow.compat.v1.", "tensorflow."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("numpy.core.umath.", "numpy."),
)


def canonical(qualname: str) -> str:
    for prefix, replacement in _PREFIX_ALIASES:
        if qualname.startswith(prefix):
            return replacement + qualname[len(prefix):]
    return qualname


@dataclass(slots=True)
class Binding:
    seq: int
    # The dotted name this binding stands for (imports and aliases), else None.
    qualname: str | None = None
    # The expression assigned (simple assignments, walrus, augmented assignments' right side).
    value: cst.BaseExpression | None = None
    # For `a, b = rhs`: the position of this name in the target tuple.
    unpack_index: int | None = None
    # For `x op= rhs`: the operator's node class name (e.g. "SubtractAssign").
    aug_op: str | None = None
    # A def or class this name is bound to (function summaries, models), or for a MUTATION binding the
    # statement or call that changed the value in place (`x[x < -88] = -88`, `x.clamp_(...)`, `out=x`).
    node: cst.CSTNode | None = None
    # The scope the binding was made in (to resolve the names inside `value` from elsewhere).
    scope: Scope | None = None
    # A relative import's absolute name (`pkg.helpers.f` for `from .helpers import f` in `pkg/mod.py`): a name
    # of the project, which only the value analysis asks about (`qualname(..., project=True)`).
    project: str | None = None


@dataclass
class Condition:
    """A test known to hold (`truth`) from `seq` on, for the code being walked: an enclosing
    `if`/`while` branch, a `where` branch, or the negation of an earlier `if ...: return/raise`."""

    test: cst.BaseExpression
    truth: bool
    seq: int
    # The `where` function (np.where, torch.where...) whose branch this is; None for if/while/else.
    where: cst.BaseExpression | None = None


@dataclass
class Scope:
    kind: Literal["module", "function", "class", "comprehension"]
    parent: Scope | None
    names: dict[str, list[Binding]] = field(default_factory=dict)
    # Class scopes: `self.<attr> = value` in any method, in source order.
    attributes: dict[str, list[Binding]] = field(default_factory=dict)
    # Function scopes: the values of its `return` statements.
    returns: list[Binding] = field(default_factory=list)


def dotted(expr: cst.BaseExpression) -> str | None:
    """`a.b.c` as a string when expr is a plain Name/Attribute chain."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = dotted(expr.value)
        return f"{base}.{expr.attr.value}" if base else None
    return None


class Resolver(cst.BatchableCSTVisitor):
    """Tracks bindings while the batched traversal walks the module in source order."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, package: str | None = None) -> None:
        """Start a file; `package` is where its relative imports start (modules.Module.package)."""
        self.package = package
        self.module_scope = Scope("module", None)
        self._scopes: list[Scope] = [self.module_scope]
        self.scope = self.module_scope
        self.seq = 0
        # Top-level modules this file imports (numpy, torch, ...).
        self.imported_roots: set[str] = set()
        # Dotted modules imported whole without an alias (`import scipy.linalg`): reachable from their root.
        self.imported_modules: set[str] = set()
        # Tests known to hold where the walk is (innermost last), and the branches that will push one.
        self.conditions: list[Condition] = []
        self._branches: dict[int, Condition] = {}
        self._marks: dict[int, int] = {}
        # `with torch.autocast(...)` / `torch.cuda.amp.autocast()` blocks around the walk, and a Keras
        # mixed-precision policy set in the file: the dtype computations there run in.
        self.autocast: list[str] = []
        self.policy_dtype: str | None = None
        # Values of expression statements: computed and thrown away.
        self.discarded: set[int] = set()
        # > 0 inside an `assert` statement or an argument of an `assert*(...)` call: a value there is
        # checked by the assertion itself (a test comparing log(p) with predict_log_proba).
        self.asserting = 0
        self._assert_args: set[int] = set()

    def release(self) -> None:
        """Empty the scopes of the file walked last, when nothing reads them any more: a binding points back at
        its scope, and breaking that cycle lets reference counting free the file's tree at once instead of
        leaving it to the cyclic collector (which runs rarely in workers: runner._quiet_gc)."""
        for scope in self._scopes:
            scope.names.clear()
            scope.attributes.clear()
            scope.returns.clear()

    # ---- queries -------------------------------------------------------------------------

    def lookup(self, name: str, before: int = INFINITY) -> Binding | None:
        scope: Scope | None = self.scope
        first = True
        while scope is not None:
            # Class bodies are not visible from the functions nested in them.
            if first or scope.kind != "class":
                bindings = scope.names.get(name)
                if bindings:
                    i = bisect.bisect_left([b.seq for b in bindings], before)
                    if i > 0:
                        return bindings[i - 1]
            first = False
            scope = scope.parent
        return None

    def qualname(
        self, expr: cst.BaseExpression, before: int = INFINITY, _depth: int = 0, project: bool = False
    ) -> str | None:
        """Canonical dotted name of a reference, resolved through imports and aliases (with `project`, relative
        imports too: `helpers.f` after `from . import helpers` in `pkg/mod.py` is `pkg.helpers.f`)."""
        if _depth > 20:
            return None
        if isinstance(expr, cst.Name):
            b = self.lookup(expr.value, before)
            if b is None:
                return f"builtins.{expr.value}" if expr.value in BUILTIN_NAMES else None
            if b.qualname is not None:
                return b.qualname
            if project and b.project is not None:
                return b.project
            if b.value is not None and b.aug_op is None and b.unpack_index is None and isinstance(
                b.value, (cst.Name, cst.Attribute)
            ):
                return self.qualname(b.value, b.seq, _depth + 1, project)  # `la = np.linalg`
            return None
        if isinstance(expr, cst.Attribute):
            base = self.qualname(expr.value, before, _depth + 1, project)
            return canonical(f"{base}.{expr.attr.value}") if base else None
        return None

    def call_name(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        """Qualified name of the function a Call node calls."""
        if isinstance(node, cst.Call):
            return self.qualname(node.func, before)
        return None

    # ---- binding -------------------------------------------------------------------------

    def bind(self, name: str, **kwargs: object) -> None:
        self.seq += 1
        self.scope.names.setdefault(name, []).append(
            Binding(self.seq, scope=self.scope, **kwargs))  # type: ignore[arg-type]

    def class_scope(self) -> Scope | None:
        """The class whose method is being walked (for `self.<attr>`)."""
        scope: Scope | None = self.scope
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        parent = scope.parent if scope is not None else None
        return parent if parent is not None and parent.kind == "class" else None

    def function_scope(self) -> Scope | None:
        scope: Scope | None = self.scope
        while scope is not None and scope.kind == "comprehension":
            scope = scope.parent
        return scope if scope is not None and scope.kind == "function" else None

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, value=value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for i, element in enumerate(target.elements):
                inner = element.value
                if isinstance(inner, cst.Name):
                    self.bind(inner.value, value=value, unpack_index=i)
                else:
                    self._bind_target(inner, None)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None)
        # Attribute and subscript targets bind no name.

    def _push(self, kind: Literal["function", "class", "comprehension"]) -> None:
        self.scope = Scope(kind, self.scope)
        self._scopes.append(self.scope)

    def _pop(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    # ---- imports -------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted(alias.name)
            if full is None:
                continue
            self.imported_roots.add(full.split(".")[0])
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.bind(alias.asname.name.value, qualname=canonical(full))
            else:
                root = full.split(".")[0]
                self.imported_modules.add(full)
                self.bind(root, qualname=root)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = dotted(node.module) if node.module is not None else None
        relative = bool(node.relative)
        if module and not relative:
            self.imported_roots.add(module.split(".")[0])
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = dotted(alias.name)
            if name is None:
                continue
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            if relative or module is None:
                self.bind(local, project=self._relative(len(node.relative), module, name))  # not a library name
            else:
                self.bind(local, qualname=canonical(f"{module}.{name}"))

    def _relative(self, level: int, module: str | None, name: str) -> str | None:
        """The absolute name `from <level dots><module> import <name>` binds, from this file's package."""
        if self.package is None:
            return None
        parts = self.package.split(".")
        if level - 1 >= len(parts):
            return None
        base = ".".join(parts[: len(parts) - (level - 1)])
        return ".".join(p for p in (base, module, name) if p)

    # ---- definitions and scopes ------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._push("function")
        function_scope = self.scope
        self.scope = function_scope.parent  # type: ignore[assignment]
        self.bind(node.name.value, node=node, value=None)
        self.scope.names[node.name.value][-1].scope = function_scope  # the def's body, for its summary
        self.scope = function_scope
        self._bind_params(node.params)

    def visit_Return(self, node: cst.Return) -> None:
        function = self.function_scope()
        if function is not None and node.value is not None:
            self.seq += 1
            function.returns.append(Binding(self.seq, value=node.value, scope=self.scope))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._push("function")
        self._bind_params(node.params)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._pop()

    def _bind_params(self, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.bind(param.name.value)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.bind(star.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._push("class")
        class_scope = self.scope
        self.scope = class_scope.parent  # type: ignore[assignment]
        self.bind(node.name.value, node=node)
        self.scope.names[node.name.value][-1].scope = class_scope
        self.scope = class_scope

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._pop()

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._push("comprehension")

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._push("comprehension")

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._push("comprehension")

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._push("comprehension")

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._pop()

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target, None)

    # ---- assignments ------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            if isinstance(target.target, (cst.Subscript, cst.Attribute)):
                self._bind_attribute(target.target, original_node.value)
                self._bind_mutation(target.target, original_node)
            else:
                self._bind_target(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            if isinstance(original_node.target, cst.Attribute):
                self._bind_attribute(original_node.target, original_node.value)
            self._bind_target(original_node.target, original_node.value)

    def _bind_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """`self.p = value` in a method: recorded on the class, for `self.p` in its other methods."""
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                and target.value.value == "self"):
            return
        owner = self.class_scope()
        if owner is not None:
            self.seq += 1
            owner.attributes.setdefault(target.attr.value, []).append(
                Binding(self.seq, value=value, scope=self.scope))

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        if isinstance(original_node.target, cst.Name):
            self.bind(
                original_node.target.value,
                value=original_node.value,
                aug_op=type(original_node.operator).__name__,
            )
        else:
            self._bind_mutation(original_node.target)

    def _bind_mutation(self, target: cst.BaseExpression, statement: cst.CSTNode | None = None) -> None:
        """`A[i] = v`, `A.flat[k] += v`: A is changed in place; what it was assigned no longer describes it
        (the statement is kept: `x[x < -88.7] = -88.7` is a clamp the value analysis reads)."""
        while isinstance(target, (cst.Subscript, cst.Attribute)):
            target = target.value
        if isinstance(target, cst.Name):
            b = self.lookup(target.value)
            if b is not None and b.qualname is None:
                self.bind(target.value, aug_op=MUTATION, node=statement)

    # ---- conditions, in-place calls, dtype contexts ------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        attr = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(
            func, cst.Name) else ""
        if attr.startswith(("assert", "assert_")) or attr in ("assertEqual", "assertAlmostEqual", "allclose"):
            self._assert_args.update(id(a) for a in node.args)
        if attr == "where":
            positional = [a for a in node.args if a.keyword is None and not a.star]
            if len(positional) == 3:
                test = positional[0].value
                self._branches[id(positional[1])] = Condition(test, True, self.seq, func)
                self._branches[id(positional[2])] = Condition(test, False, self.seq, func)
        elif attr.endswith("_") and not attr.startswith("_") and isinstance(func, cst.Attribute) and isinstance(
                func.value, cst.Name):
            self._bind_mutation(func.value, node)  # torch in-place methods: x.clamp_(...), x.add_(1)
        elif attr in ("set_global_policy", "set_policy") and node.args:
            value = node.args[0].value
            if isinstance(value, cst.SimpleString) and "float16" in value.value:
                self.policy_dtype = "bfloat16" if "bfloat16" in value.value else "float16"
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "out" and isinstance(arg.value, cst.Name):
                self._bind_mutation(arg.value, node)  # np.clip(x, lo, hi, out=x)

    def _enter(self, node: cst.CSTNode) -> None:
        condition = self._branches.pop(id(node), None)
        self._marks[id(node)] = len(self.conditions)
        if condition is not None:
            self.conditions.append(condition)

    def _leave(self, node: cst.CSTNode) -> None:
        del self.conditions[self._marks.pop(id(node), len(self.conditions)):]

    def visit_If(self, node: cst.If) -> None:
        self._enter(node)  # an `elif` is the `else` branch of the `if` before it
        self._branches[id(node.body)] = Condition(node.test, True, self.seq)
        if node.orelse is not None:
            branch = node.orelse.body if isinstance(node.orelse, cst.Else) else node.orelse
            self._branches[id(branch)] = Condition(node.test, False, self.seq)

    def leave_If(self, original_node: cst.If) -> None:
        self._leave(original_node)
        body = original_node.body
        if original_node.orelse is None and isinstance(body, cst.IndentedBlock) and body.body and _exits(body.body[-1]):
            # `if z > 18: return ...`: the rest of this block runs only where the test is false.
            self.conditions.append(Condition(original_node.test, False, self.seq))

    def visit_While(self, node: cst.While) -> None:
        self._branches[id(node.body)] = Condition(node.test, True, self.seq)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._branches[id(node.body)] = Condition(node.test, True, self.seq)
        self._branches[id(node.orelse)] = Condition(node.test, False, self.seq)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave(original_node)

    def visit_Arg(self, node: cst.Arg) -> None:
        self._enter(node)
        if id(node) in self._assert_args:
            self.asserting += 1

    def leave_Arg(self, original_node: cst.Arg) -> None:
        self._leave(original_node)
        if id(original_node) in self._assert_args:
            self._assert_args.discard(id(original_node))
            self.asserting -= 1

    def visit_Assert(self, node: cst.Assert) -> None:
        self.asserting += 1

    def leave_Assert(self, original_node: cst.Assert) -> None:
        self.asserting -= 1

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            call = item.item
            if isinstance(call, cst.Call):
                name = dotted(call.func) or ""
                if name.endswith("autocast"):
                    dtype = next((dotted(a.value) for a in call.args if a.keyword is not None
                                  and a.keyword.value == "dtype"), None) or ""
                    self.autocast.append("bfloat16" if dtype.endswith("bfloat16") else "float16")
                    return
        self.autocast.append("")

    def leave_With(self, original_node: cst.With) -> None:
        self.autocast.pop()

    def visit_Expr(self, node: cst.Expr) -> None:
        self.discarded.add(id(node.value))

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        self._bind_target(original_node.target, original_node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target, None)

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        if original_node.asname is not None:
            self._bind_target(original_node.asname.name, None)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self.bind(node.name.name.value)


def _exits(statement: cst.BaseStatement) -> bool:
    """Whether a statement always leaves its block (return, raise, continue, break)."""
    if isinstance(statement, cst.SimpleStatementLine) and statement.body:
        return isinstance(statement.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))
    return False
