"""A cheap, conservative pre-pass: can this file produce any finding at all?

Parsing with libcst costs ~10x `ast.parse` and the batched walk ~0.5-1x the parse again; of
scikit-learn's 553 files that import a library, 36 have findings and this pre-pass sends 79 to
libcst (measured: 13.7 s -> ~4.5 s of libcst parsing, one process). Each rule gets a *trigger*:
a predicate that holds for every file on which the rule can report. Only files where some
trigger holds go to libcst, and there every enabled rule runs as before, so findings are
unchanged. (Claims between rules, `RuleContext.claim`, only ever suppress findings, so they need
no trigger: a file with no finding in the full analysis has nothing to lose by being skipped.)

Why the triggers are conservative. Every rule reports at a call whose callee resolves (through
`names.Resolver.qualname`) to a name in an `apis` set, or at an operator over such calls. A
qualified name is built from an import statement's dotted names and attribute chains, so its
last component is always written as an identifier somewhere in the file (`from numpy import
log as ln` contains `log`; `la = np.linalg; la.inv(A)` contains `inv`); `canonical()` only
rewrites prefixes. A rule that needs an operation therefore needs its last name among the
file's identifier tokens, which a regex finds without parsing. Identifiers in comments and
strings only add false positives. Stage two looks at the `ast` for the shapes the rules report
on (`log(1 + x)` needs a one-argument log call whose argument is an addition with a literal 1),
resolving callees through the file's import aliases and simple `f = np.log` assignments, and
following names through every assignment in the file (scope- and order-insensitive, hence a
superset of the rules' def-use chains).

tests/test_perf_invariants.py checks on the catalogue examples, tests/test_rules.py snippets
and generated programs that no file with findings is filtered out; the corpus comparison
(scikit-learn, scipy, statsmodels: identical findings with and without the pre-pass) is the
other half of the proof.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from mlstablint.code import apis, dataflow
from mlstablint.code.rules import losses

_WORD = re.compile(r"\w+")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _finals(*groups: Iterable[str]) -> frozenset[str]:
    """The last components of qualified names (`numpy.linalg.inv` -> `inv`)."""
    return frozenset(name.rsplit(".", 1)[-1] for group in groups for name in group)


LOG = _finals(apis.LOG, apis.LOG2, apis.LOG10)
LOG1P = _finals(apis.LOG1P)
EXP = _finals(apis.EXP)
SUM = _finals(apis.SUM) | {"sum"}
MEAN = _finals(apis.MEAN) | {"mean"}
# The value analysis also finds activations in torch/Keras layers and models, tensor methods and
# `activation="sigmoid"` strings (values.py): their words count as well.
SOFTMAX = _finals(apis.SOFTMAX, apis.SOFTMAX_LAYERS) | {"softmax"}
SIGMOID = _finals(apis.SIGMOID, apis.SIGMOID_LAYERS) | {"sigmoid"}
LAYERS = _finals(apis.LINEAR_LAYERS)
OPERATOR_FUNCS = _finals(apis.DIVIDE, apis.SUBTRACT)
ADD_FUNCS = _finals(apis.ADD)
POWER = _finals(apis.POWER)
SQRT = _finals(apis.SQRT)
SQUARE = _finals(apis.SQUARE)
READERS = _finals(apis.READERS)
INV = _finals(apis.INV)
DET = _finals(apis.DET)
SOLVERS = _finals(apis.INV, apis.PINV, apis.SOLVE, apis.LSTSQ, apis.SVD_EIG)
MATMUL = _finals(apis.MATMUL, apis.LINEAR_LAYERS) | {"dot", "matmul", "mm"}
MATMUL_OPS = _finals(apis.MATMUL)
TRANSPOSE_OPS = _finals(apis.TRANSPOSE)
TRANSPOSED = _finals(apis.TRANSPOSE) | {"T", "mT", "H", "transpose", "t"}
# exprs.is_raw returns a source only for a reader call, `.to_numpy()` or `.values`.
RAW = _finals(apis.READERS) | {"to_numpy", "values"}
PREDICTIONS = frozenset({"predict", "decision_function"})
NAN = _finals(apis.NAN)
FLOATS = _finals(apis.FLOAT_CONSTRUCTORS)
FITS = apis.FIT_METHODS | _finals(apis.CV_FUNCTIONS)
SCALE_SENSITIVE = _finals(apis.SCALE_SENSITIVE)
# Every MSL3xx finding needs a split in the file (dataflow.split_of): a split function, a CV function, or a
# `.split`/`.fit` whose receiver resolves to a splitter or search class, whose name is then in the file.
SPLITS = _finals(dataflow.SPLIT_FUNCS, dataflow.CV_FUNCS, dataflow.SEARCHES, dataflow.SPLITTERS)


class Facts:
    """What a file's text (and, when asked, its `ast`) contains."""

    def __init__(self, text: str, tree: ast.Module | None = None) -> None:
        self.text = text
        self.words = frozenset(_WORD.findall(text))
        self.matmul_op = "@" in text
        self.power_op = "**" in text
        self._tree = tree
        self._shapes: set[str] | None = None
        self.syntax_error = False

    @property
    def tree(self) -> ast.Module | None:
        """The `ast` if a shape needed it (None otherwise, or if the text does not parse)."""
        return None if self.syntax_error else self._tree

    def parses(self) -> bool:
        """Whether `ast.parse` accepts the text (parsed once, shared with `shape`)."""
        self.shape("")
        return not self.syntax_error

    def any(self, names: frozenset[str]) -> bool:
        return not self.words.isdisjoint(names)

    def has_nan_word(self) -> bool:
        # float("NaN") may spell it in any case, or with escapes (`"\x6ean"`).
        return any(w.lower() == "nan" for w in self.words) or ("\\" in self.text and self.any(FLOATS))

    # ---- stage two: shapes in the ast ------------------------------------------------------

    def shape(self, name: str) -> bool:
        """Whether the ast holds the shape `name` (see `_Shapes`); True when the text does not parse
        (the libcst path then reports the syntax error exactly as before)."""
        if self._shapes is None:
            if self._tree is None:
                try:
                    self._tree = ast.parse(self.text)
                except (SyntaxError, RecursionError, MemoryError, ValueError):
                    self.syntax_error = True
                    self._shapes = {"*"}
                    return True
            self._shapes = _Shapes(self._tree, self.text).found
        return "*" in self._shapes or name in self._shapes


def _single_value(call: ast.Call) -> ast.expr | None:
    """The one argument of a call that has exactly one (libcst counts keywords and stars as args)."""
    values: list[ast.expr] = [*call.args, *(k.value for k in call.keywords)]
    if len(values) != 1:
        return None
    value = values[0]
    return value.value if isinstance(value, ast.Starred) else value


def _values(call: ast.Call) -> list[ast.expr]:
    """Every argument value of a call (positional, starred, keyword)."""
    return [a.value if isinstance(a, ast.Starred) else a for a in call.args] + [k.value for k in call.keywords]


# Child fields per node type, without `ctx`: every Name, Attribute and Subscript carries a Load/Store
# node that ast.walk yields too. This walk lists the nodes in ~half of ast.walk's time (measured on
# scikit-learn: 1.9 s -> 0.9 s for 553 files); the order does not matter to the callers.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _nodes(tree: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    fields_of, AST = _FIELDS, ast.AST
    while stack:
        node = stack.pop()
        out.append(node)
        node_type = type(node)
        fields = fields_of.get(node_type)
        if fields is None:
            fields = fields_of[node_type] = tuple(f for f in node_type._fields if f not in ("ctx", "type_comment"))
        for name in fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, AST))
            elif isinstance(value, AST):
                stack.append(value)
    return out


def _is_sub(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub)


def _number(node: ast.expr) -> float | None:
    """exprs.Exprs.number on the ast (a superset: `0x1` and `True` count here)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _number(node.operand)
        return -inner if inner is not None else None
    return None


def _assignments(nodes: Sequence[ast.AST]) -> list[tuple[set[str], ast.expr]]:
    """(names bound, value) of every assignment that gives a name a value (names.Resolver's bindings)."""
    out: list[tuple[set[str], ast.expr]] = []
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # The value analysis gives a call the kind of what the function returns (values.py).
            out.extend(({node.name}, r.value) for r in ast.walk(node) if isinstance(r, ast.Return) and r.value)
        elif isinstance(node, ast.Assign):
            out.append(({n for t in node.targets for n in _target_names(t)}, node.value))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
            out.append((_target_names(node.target), node.value))
    return out


_BINDING_NODES = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.FunctionDef,
                  ast.AsyncFunctionDef)


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    if isinstance(target, ast.Attribute):
        names.add(target.attr)  # `self.p = ...`: the value analysis follows `self.p` (values.py)
    return names


def _is_add(node: ast.expr | None) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)


class _Shapes:
    """One `ast.walk`: which rule shapes occur, with callees resolved via aliases (see TRIGGERS)."""

    def __init__(self, tree: ast.Module, text: str) -> None:
        found: set[str] = set()
        # Lines as the tokenizer counts them (str.splitlines also splits at \f, \x1c, \u2028...).
        self.lines = _NEWLINE.split(text)
        nodes = _nodes(tree)
        # One pass picks the statements both analyses below read (each scanning all nodes cost ~0.3 s).
        bindings = [n for n in nodes if isinstance(n, _BINDING_NODES)]
        self.alias = self._aliases(bindings)
        log, exp, sums = self._names(LOG), self._names(EXP), self._names(SUM)
        solvers, inv, nan = self._names(SOLVERS), self._names(INV), self._names(NAN)
        floats, sqrt, square = self._names(FLOATS), self._names(SQRT), self._names(SQUARE)
        means, readers = self._names(MEAN), self._names(READERS)
        matmul, transpose = self._names(MATMUL_OPS), self._names(TRANSPOSE_OPS)
        callee = self._callee
        fits = self._names(_finals(apis.CV_FUNCTIONS))
        # (shapes with the feature each needs, the expressions that must reach it) — see _flow.
        sites: list[tuple[tuple[tuple[str, str], ...], list[ast.expr]]] = []

        def site(*args: Any) -> None:
            """site((shape, feature), ..., expressions): record a flow question for _flow."""
            needs = args[:-1]
            if len(needs) == 1 and isinstance(needs[0][0], tuple):
                needs = needs[0]
            sites.append((tuple(needs), list(args[-1])))
        # Shapes that need def-use: checked after the walk, once assignments are known (see direct).
        later: list[tuple[str, Callable[[], bool]]] = []
        self._preds = {
            "exp": lambda n: isinstance(n, ast.Call) and callee(n) in exp,
            "sum-of-exp": lambda n: self._sum_of_exp(n, sums),
            "prob": lambda n: self._prob(n, sums, exp),
            # A named left operand may be a transpose made in an earlier step (`XT = X.T; XT @ X`).
            "gram": lambda n: (isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult) and (self._transposed(
                n.left, transpose) or isinstance(n.left, ast.Name))) or (
                isinstance(n, ast.Call) and self._gram(n, matmul, transpose)),
            "mean-of-square": lambda n: isinstance(n, ast.Call) and callee(n) in means and self._mean_of_square(
                n, square),
        }
        self._taints: dict[str, set[str]] = {}
        self._assignments = _assignments(bindings)
        for node in nodes:
            if isinstance(node, ast.Call):
                name = callee(node)
                has_args = bool(node.args or node.keywords)
                if name in log:
                    value = _single_value(node)
                    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
                        sides = (value.left, value.right)
                        is_exp = [isinstance(v, ast.Call) and callee(v) in exp for v in sides]
                        is_one = [_number(v) == 1.0 for v in sides]
                        if any(is_one):
                            found.add("log-of-sum")  # MSL101
                        if all(is_exp) or (is_one[0] and is_exp[1]) or (is_one[1] and is_exp[0]):
                            found.add("log-of-exps")  # MSL106
                    elif isinstance(value, ast.Call) and callee(value) in ADD_FUNCS and any(
                            _number(v) == 1.0 for v in _values(value)):
                        found.add("log-of-sum")  # MSL101, `log(tf.add(1.0, x))`
                    if value is not None:
                        found.add("log-call")
                        # MSL104/107 log(softmax/sigmoid)
                        site((("log-of-softmax", "softmax"), ("log-of-sigmoid", "sigmoid")), _values(node))
                        later.append(("log-of-exp", partial(self.direct, value, "sum-of-exp")))  # MSL103
                        later.append(("log-of-prob", partial(self.direct, value, "prob")))  # MSL110
                method = node.func.attr if isinstance(node.func, ast.Attribute) else None
                if method in ("log", "log2", "log10") and not has_args:
                    assert isinstance(node.func, ast.Attribute)
                    site((("log-of-softmax", "softmax"), ("log-of-sigmoid", "sigmoid")), [node.func.value])
                    chained = node.func.value
                    if _is_add(chained) or (isinstance(chained, ast.Call) and isinstance(
                            chained.func, ast.Attribute) and chained.func.attr == "add"):
                        found.add("log-of-exps")  # MSL106: z.exp().add(1).log()
                if name in OPERATOR_FUNCS and isinstance(node.func, ast.Attribute) and any(
                        isinstance(v, (ast.Call, ast.BinOp)) for v in _values(node)):
                    # MSL102/105/108 spelled with np.divide / tf.divide / torch.div / np.subtract: an operand is
                    # a call (exp, sum) or an operation (1 + exp); `re.sub(pattern, repl, s)` is not.
                    found.update(("exp-minus", "over-one-plus-exp", "over-sum", "over-sum-or-add", "softmax-naive"))
                if name in exp and has_args:
                    found.add("exp-call")
                    site((("exp-of-hot", "matmul"), ("exp-of-hot", "pred"), ("exp-of-hot", "raw")),
                                 _values(node))  # MSL109
                if name in solvers and has_args:
                    found.add("solver-call")
                    site((("solve-raw", "raw"),), _values(node))  # MSL203
                    later.append(("solve-gram", partial(self.any_direct, _values(node), "gram")))
                if name in fits or (isinstance(node.func, ast.Attribute) and node.func.attr in FITS):
                    site((("fit-raw", "raw"),), _values(node))  # MSL205
                    receiver = [node.func.value] if isinstance(node.func, ast.Attribute) else []
                    site((("fit-estimator", "estimator"),), receiver + _values(node))
                if name in matmul:
                    site((("inv-matmul", "inv"),), _values(node)[:1])  # MSL201
                if isinstance(node.func, ast.Attribute) and node.func.attr in ("dot", "matmul", "mm"):
                    site((("inv-matmul", "inv"),), [node.func.value])
                if name in inv:
                    found.add("inv-call")
                if name in sums or name in means:
                    # MSL111 inside sum/mean: a product with a log factor under unary minus, + and -.
                    inner = [a for a in node.args if not isinstance(a, ast.Starred)][:1]
                    if isinstance(node.func, ast.Attribute):
                        inner.append(node.func.value)
                    stack = inner
                    while stack:
                        expr = stack.pop()
                        if isinstance(expr, ast.UnaryOp):
                            stack.append(expr.operand)
                        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)):
                            stack.extend((expr.left, expr.right))
                        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult) and any(
                            isinstance(f, ast.Call) and callee(f) in log and _single_value(f) is not None
                            for f in (expr.left, expr.right,
                                      *(x.operand for x in (expr.left, expr.right) if isinstance(x, ast.UnaryOp)))
                        ):
                            found.add("times-log")
                if name in readers:
                    found.add("raw")
                if name in means and self._mean_of_square(node, square):
                    found.add("mean-of-square")  # MSL112
                if self._gram(node, matmul, transpose):
                    found.add("gram")  # MSL202
                if name in sqrt:
                    positional = [a for a in node.args if not isinstance(a, ast.Starred)]
                    if positional and self._sum_of_squares(positional[0], square):
                        found.add("hypot")  # MSL114
            elif isinstance(node, ast.Attribute):
                if node.attr in ("values", "to_numpy"):
                    found.add("raw")
            elif isinstance(node, ast.BinOp):
                op, left, right = node.op, node.left, node.right
                if isinstance(op, ast.MatMult):
                    if self._transposed(left, transpose):
                        found.add("gram")
                    site((("inv-matmul", "inv"),), [left])
                if isinstance(op, ast.Sub):
                    if isinstance(left, ast.Call) and callee(left) in exp:
                        found.add("exp-minus")  # MSL102
                    elif (isinstance(left, ast.Call) and callee(left) in POWER) or (
                            isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div) and _is_add(left.right)):
                        found.add("exp-minus")  # MSL102: np.power(10, x) - 1, 2 / (1 + exp(-2x)) - 1
                    if isinstance(right, ast.Name) or self._square_like(right, square):
                        later.append(("variance", partial(self.direct, left, "mean-of-square")))  # MSL112
                elif isinstance(op, ast.Div):
                    if _is_add(right):
                        assert isinstance(right, ast.BinOp)
                        found.add("over-sum-or-add")  # MSL110
                        sides = (right.left, right.right)
                        if any(isinstance(side, ast.Call) and callee(side) in exp for side in sides):
                            found.add("over-one-plus-exp")  # MSL105
                    elif isinstance(right, ast.Call) and callee(right) in sums:
                        found.add("over-sum")
                        found.add("over-sum-or-add")
                        site((("softmax-naive", "exp"),), [left])  # MSL108
                elif isinstance(op, ast.Mult):
                    # MSL111 outside a reduction: (1 - y) * log(1 - p), or y * log(p) of a probability p.
                    for factor, side in ((left, right), (right, left)):
                        if isinstance(side, ast.UnaryOp):
                            side = side.operand
                        y = _single_value(side) if isinstance(side, ast.Call) and callee(side) in log else None
                        if y is None:
                            continue
                        if _is_sub(factor) and _is_sub(y):
                            found.add("times-log")
                        later.append(("times-log", partial(self.direct, y, "prob")))
                elif isinstance(op, ast.Pow):
                    if isinstance(right, (ast.Constant, ast.UnaryOp)) and self._sum_of_squares(left, square):
                        found.add("hypot")
            elif isinstance(node, ast.Compare):
                if any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops) and any(
                    self._is_nan(operand, nan, floats) for operand in (node.left, *node.comparators)
                ):
                    found.add("nan-compare")  # MSL113
        self.found = found
        for shape, check in later:
            if shape not in found and check():
                found.add(shape)
        self._flow(nodes, sites, exp, inv, readers, matmul, sums)

    # ---- def-use, conservatively: any assignment anywhere in the file, scopes and order ignored ----

    def any_direct(self, nodes: list[ast.expr], pred: str) -> bool:
        return any(self.direct(node, pred) for node in nodes)

    def direct(self, node: ast.expr, pred: str) -> bool:
        """Whether `node` is (after exprs.follow-style name following) an expression with `pred`."""
        if pred == "prob":
            while isinstance(node, ast.Subscript):
                node = node.value
        if isinstance(node, ast.Name):
            return node.id in self._taint(pred)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in self._taint(pred):
            return True
        return bool(self._preds[pred](node))

    def _taint(self, pred: str) -> set[str]:
        """Names some assignment gives a value with `pred` (or another such name), to a fixpoint."""
        names = self._taints.get(pred)
        if names is None:
            names = self._taints[pred] = set()
            changed = True
            while changed:
                changed = False
                for targets, value in self._assignments:
                    if not targets <= names and self.direct(value, pred):
                        names |= targets
                        changed = True
        return names

    def _sum_of_exp(self, node: ast.expr, sums: frozenset[str]) -> bool:
        """`sum(exp(x))`, `exp(x).sum()`, `sum(exp(v) for v in x)` (LogSumExp's reduction_arg + follow)."""
        if not isinstance(node, ast.Call):
            return False
        candidates: list[ast.expr] = []
        if self._callee(node) in sums:
            candidates += [a for a in node.args if not isinstance(a, ast.Starred)][:1]
        if isinstance(node.func, ast.Attribute) and node.func.attr == "sum":
            candidates.append(node.func.value)
        for summed in candidates:
            if isinstance(summed, ast.GeneratorExp):
                summed = summed.elt
            if self.direct(summed, "exp"):
                return True
        return False

    def _prob(self, node: ast.expr, sums: frozenset[str], exp: frozenset[str]) -> bool:
        """exprs.probability_source: predict_proba, a ratio over a sum, a naive sigmoid 1 / (1 + exp)."""
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Attribute) and node.func.attr in apis.PROBABILITY_METHODS
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = node.right
            if isinstance(right, ast.Call) and (self._callee(right) in sums or (
                    isinstance(right.func, ast.Attribute) and right.func.attr == "sum")):
                return True
            if isinstance(right, ast.BinOp) and isinstance(right.op, ast.Add):
                sides = (right.left, right.right)
                return any(isinstance(side, ast.Call) and self._callee(side) in exp for side in sides)
        return False

    def _flow(self, nodes: list[ast.AST], sites: list[tuple[tuple[tuple[str, str], ...], list[ast.expr]]],
              exp: frozenset[str], inv: frozenset[str], readers: frozenset[str], matmul: frozenset[str],
              sums: frozenset[str]) -> None:
        """Shapes that hold only if an expression can *reach* a feature through local names.

        The rules follow def-use chains (exprs.follow / definitions / is_raw) from a call's argument
        through names to what was assigned to them. Here, conservatively: an expression reaches a
        feature if the source lines it spans hold a word with that feature (an exp callee, `@`,
        `values`, ...) or a name that any assignment anywhere in the file taints with it (scopes and
        order ignored). Reading the lines' words instead of walking each subtree: 4.1 s -> 0.3 s of
        the pre-pass on scikit-learn (profiled), and a superset of what the subtree holds.
        """
        if not sites:
            return
        lines = self.lines
        words_of: dict[int, frozenset[str]] = {}
        by_feature = {
            "exp": exp, "inv": inv, "sigmoid": self._names(SIGMOID), "softmax": self._names(SOFTMAX),
            "raw": readers | {"values", "to_numpy"}, "matmul": matmul | {"dot", "matmul", "mm"} | LAYERS,
            "pred": PREDICTIONS, "prob": frozenset({"predict_proba"}), "estimator": self._names(SCALE_SENSITIVE),
        }
        feats_of: dict[int, tuple[set[str], set[str]]] = {}

        def feats(expr: ast.expr) -> tuple[set[str], set[str]]:
            """(features on the expression's lines, the words there: the names it may load)."""
            key = id(expr)
            if key not in feats_of:
                words: set[str] = set()
                chars = ""
                for number in range(expr.lineno, (expr.end_lineno or expr.lineno) + 1):
                    if number not in words_of:
                        words_of[number] = frozenset(_WORD.findall(lines[number - 1])) if number <= len(
                            lines) else frozenset()
                    words |= words_of[number]
                    if number <= len(lines):
                        chars += "@" if "@" in lines[number - 1] else ""
                        chars += "/" if "/" in lines[number - 1] else ""
                features = {name for name, finals in by_feature.items() if not words.isdisjoint(finals)}
                if "@" in chars:
                    features.add("matmul")
                if "/" in chars:
                    features.add("prob")
                feats_of[key] = (features, words)
            return feats_of[key]

        assignments = self._assignments
        wanted = {feature for needs, _ in sites for _, feature in needs}
        tainted: dict[str, set[str]] = {}
        for feature in wanted:
            names: set[str] = set()
            changed = True
            while changed:
                changed = False
                for targets, value in assignments:
                    if targets <= names:
                        continue
                    features, loads = feats(value)
                    if feature in features or not loads.isdisjoint(names):
                        names |= targets
                        changed = True
            tainted[feature] = names
        for needs, exprs in sites:
            for shape, feature in needs:
                if shape in self.found:
                    continue
                for expr in exprs:
                    features, loads = feats(expr)
                    if feature in features or not loads.isdisjoint(tainted[feature]):
                        self.found.add(shape)
                        break

    def _square_like(self, node: ast.expr, square: frozenset[str]) -> bool:
        """Could be `x**2`, `x*x` or `np.square(x)` (exprs.square_base)."""
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, (ast.Pow, ast.Mult))
        return isinstance(node, ast.Call) and self._callee(node) in square

    def _mean_of_square(self, call: ast.Call, square: frozenset[str]) -> bool:
        """`np.mean(x**2)` or `(x**2).mean()` (exprs.reduction_arg, then square_base unfollowed)."""
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        if positional and self._square_like(positional[0], square):
            return True
        func = call.func
        return isinstance(func, ast.Attribute) and func.attr == "mean" and self._square_like(func.value, square)

    def _transposed(self, node: ast.expr, transpose: frozenset[str]) -> bool:
        """Could be `X.T`, `X.transpose()`, `np.transpose(X)` (exprs.transposed)."""
        if isinstance(node, ast.Attribute):
            return node.attr in ("T", "mT", "H")
        if isinstance(node, ast.Call):
            func = node.func
            return (isinstance(func, ast.Attribute) and func.attr in ("transpose", "t")) or (
                self._callee(node) in transpose)
        return False

    def _gram(self, call: ast.Call, matmul: frozenset[str], transpose: frozenset[str]) -> bool:
        """A call form of `X.T @ X` (exprs.matmul_operands with a transposed left operand)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("dot", "matmul", "mm") and self._transposed(
                func.value, transpose):
            return True
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        return self._callee(call) in matmul and bool(positional) and self._transposed(positional[0], transpose)

    def _sum_of_squares(self, node: ast.expr, square: frozenset[str]) -> bool:
        return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and self._square_like(
            node.left, square) and self._square_like(node.right, square)

    def _is_nan(self, node: ast.expr, nan: frozenset[str], floats: frozenset[str]) -> bool:
        """Could be `np.nan` or `float("nan")` (NanEquality._is_nan)."""
        if isinstance(node, ast.Name):
            return node.id in nan
        if isinstance(node, ast.Attribute):
            return node.attr in nan
        if isinstance(node, ast.Call) and self._callee(node) in floats:
            value = _single_value(node)
            return isinstance(value, ast.Constant) and isinstance(value.value, str) and (
                value.value.strip().lower().lstrip("+-") == "nan")
        return False

    @staticmethod
    def _aliases(nodes: Sequence[ast.AST]) -> dict[str, set[str]]:
        """Local name -> the last names it may stand for (import aliases, `f = np.log`)."""
        alias: dict[str, set[str]] = {}
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for a in node.names:
                    if a.asname:
                        alias.setdefault(a.asname, set()).add(a.name.rsplit(".", 1)[-1])
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
                value = node.value
                if isinstance(value, (ast.Name, ast.Attribute)):
                    last = value.id if isinstance(value, ast.Name) else value.attr
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            alias.setdefault(target.id, set()).add(last)
        return alias

    def _names(self, finals: frozenset[str]) -> frozenset[str]:
        """Every local name that may resolve to one of `finals` (transitively through aliases)."""
        names = set(finals)
        changed = True
        while changed:
            changed = False
            for local, sources in self.alias.items():
                if local not in names and not sources.isdisjoint(names):
                    names.add(local)
                    changed = True
        return frozenset(names)

    @staticmethod
    def _callee(call: ast.Call) -> str:
        func = call.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
        return ""


# Rule id -> predicate. Each holds whenever the rule can report or claim a node in the file.
# MSL5xx: the losses' own names; MSL115/116: words that name a low-precision dtype, and (MSL115, where
# torch/TF/JAX default to float32) a float literal of 1e-8 or less.
LOSSES = _finals(losses.FUNCTION_LOSSES, losses.CLASS_LOSSES, losses.KERAS_LOSS_STRINGS)
LOW_PRECISION = frozenset({"float16", "half", "bfloat16", "autocast", "mixed_float16", "mixed_bfloat16", "HalfTensor"})
LOW_PRECISION_OPS = _finals(apis.EXP, apis.LOG, apis.SOFTMAX, apis.LOG_SOFTMAX, apis.LOGSUMEXP) | {"log_softmax"}
_TINY_LITERAL = re.compile(r"\d[eE]-0*(?:[89]|[1-9]\d)\b|\b0?\.0{7,}\d")

TRIGGERS: dict[str, Callable[[Facts], bool]] = {
    "MSL501": lambda f: f.any(LOG) and f.shape("times-log"),
    "MSL502": lambda f: f.any(LOSSES) and f.any(SOFTMAX),
    "MSL503": lambda f: f.any(LOSSES) and f.any(SIGMOID),
    "MSL504": lambda f: f.any(LOSSES) and (f.any(SOFTMAX) or f.any(SIGMOID)),
    "MSL505": lambda f: "compile" in f.words and f.any(LOSSES),
    "MSL115": lambda f: f.any(LOW_PRECISION) or _TINY_LITERAL.search(f.text) is not None,
    "MSL116": lambda f: f.any(LOW_PRECISION) and f.any(LOW_PRECISION_OPS),
    "MSL101": lambda f: f.any(LOG) and f.shape("log-of-sum"),
    "MSL102": lambda f: (f.any(EXP) or f.any(POWER) or f.any(OPERATOR_FUNCS)) and f.shape("exp-minus"),
    "MSL103": lambda f: f.any(LOG) and f.any(EXP) and f.any(SUM) and f.shape("log-of-exp"),
    "MSL104": lambda f: f.any(SOFTMAX) and f.any(LOG) and f.shape("log-of-softmax"),
    "MSL105": lambda f: f.any(EXP) and f.shape("over-one-plus-exp"),
    "MSL106": lambda f: f.any(EXP) and f.any(LOG) and f.shape("log-of-exps"),
    "MSL107": lambda f: f.any(SIGMOID) and f.any(LOG) and f.shape("log-of-sigmoid"),
    "MSL108": lambda f: f.any(EXP) and f.any(SUM) and f.shape("softmax-naive"),
    "MSL109": lambda f: f.any(EXP) and (f.matmul_op or f.any(MATMUL) or f.any(PREDICTIONS) or f.any(RAW))
    and f.shape("exp-of-hot"),
    "MSL110": lambda f: f.any(LOG) and f.shape("log-of-prob"),
    "MSL111": lambda f: f.any(LOG) and f.shape("times-log"),
    "MSL112": lambda f: f.any(MEAN) and f.shape("variance"),
    "MSL113": lambda f: f.has_nan_word() and f.shape("nan-compare"),
    "MSL114": lambda f: (f.any(SQRT) or f.power_op) and f.shape("hypot"),
    "MSL201": lambda f: f.any(INV) and (f.matmul_op or f.any(MATMUL)) and f.shape("inv-matmul"),
    "MSL202": lambda f: f.any(SOLVERS) and f.any(TRANSPOSED) and (f.matmul_op or f.any(MATMUL))
    and f.shape("solve-gram"),
    "MSL203": lambda f: f.any(SOLVERS) and f.any(RAW) and f.shape("solve-raw"),
    "MSL204": lambda f: f.any(LOG) and f.any(DET) and f.shape("log-call"),
    "MSL205": lambda f: f.any(FITS) and f.any(SCALE_SENSITIVE) and f.any(RAW) and f.shape("fit-raw")
    and f.shape("fit-estimator"),
    "MSL301": lambda f: f.any(SPLITS),
    "MSL302": lambda f: f.any(SPLITS),
    # A fit on a test-named value whose training counterpart the same object was fitted on needs no split.
    "MSL303": lambda f: f.any(FITS),
    "MSL304": lambda f: f.any(SPLITS),
    "MSL305": lambda f: f.any(SPLITS),
}


def triggered(rule_ids: Iterable[str], facts: Facts) -> bool:
    """Whether any of these rules can fire on the file (an unknown rule id always can)."""
    return any(TRIGGERS.get(rule_id, _always)(facts) for rule_id in rule_ids)


def _always(facts: Facts) -> bool:
    return True
