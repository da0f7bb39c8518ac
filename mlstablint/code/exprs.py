"""Expression predicates shared by the rules: what operation a call is, literals, squares,
guards, and the def-use properties (shifted, raw data, probability) followed through local
assignments.

Every function takes the file's `Resolver` and a `before` sequence number: names are resolved
as they were bound at that point of the file (see `names.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import libcst as cst

from mlstablint.code import apis
from mlstablint.code.names import INFINITY, MUTATION, Binding, Resolver

if TYPE_CHECKING:
    from mlstablint.code.values import Values

MAX_DEPTH = 12

_OPS: dict[str, str] = {}
for _op, _names in (
    ("exp", apis.EXP), ("log", apis.LOG), ("log2", apis.LOG2), ("log10", apis.LOG10),
    ("divide", apis.DIVIDE), ("add", apis.ADD), ("subtract", apis.SUBTRACT), ("multiply", apis.MULTIPLY),
    ("log1p", apis.LOG1P), ("sqrt", apis.SQRT),
    ("square", apis.SQUARE), ("sum", apis.SUM), ("mean", apis.MEAN), ("max", apis.MAX),
    ("logsumexp", apis.LOGSUMEXP), ("softmax", apis.SOFTMAX), ("sigmoid", apis.SIGMOID),
    ("inv", apis.INV), ("pinv", apis.PINV), ("solve", apis.SOLVE), ("lstsq", apis.LSTSQ),
    ("cholesky", apis.CHOLESKY), ("det", apis.DET), ("matmul", apis.MATMUL),
    ("transpose", apis.TRANSPOSE), ("abs", apis.ABS), ("read", apis.READERS),
    ("scale", apis.SCALING_FUNCS), ("passthrough", apis.RAW_PASSTHROUGH_FUNCS),
):
    for _name in _names:
        _OPS.setdefault(_name, _op)
for _name in apis.GUARDS:
    _OPS.setdefault(_name, "guard")


class Exprs:
    """Predicates over expressions of one file, resolved through its `Resolver`."""

    def __init__(self, resolver: Resolver) -> None:
        self.r = resolver
        # The value analysis of the same file (set by RuleContext): ranges behind `is_bounded_above`.
        self.values: Values | None = None

    # ---- calls ---------------------------------------------------------------------------------

    def op(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        """The operation a call performs ('exp', 'log', 'inv', ...), or None."""
        if not isinstance(node, cst.Call):
            return None
        name = self.r.qualname(node.func, before)
        return _OPS.get(name) if name else None

    def binop(
        self, node: cst.BaseExpression, before: int = INFINITY
    ) -> tuple[str, cst.BaseExpression, cst.BaseExpression] | None:
        """`a / b`, `np.divide(a, b)`, `tf.add(a, b)`, `torch.div(a, b)` -> ('divide', a, b); the same for
        'add', 'subtract', 'multiply' (operators spelled as functions are the operator)."""
        if isinstance(node, cst.BinaryOperation):
            name = _BINARY.get(type(node.operator))
            return (name, node.left, node.right) if name is not None else None
        op = self.op(node, before)
        if op in ("add", "subtract", "multiply", "divide"):
            assert isinstance(node, cst.Call)
            a, b = self.arg(node, 0), self.arg(node, 1)
            if a is not None and b is not None:
                return op, a, b
        return None

    def is_log(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """A natural, base-2 or base-10 log (each gives -inf at 0)."""
        return self.op(node, before) in ("log", "log2", "log10")

    @staticmethod
    def method(node: cst.BaseExpression) -> str | None:
        """`x.name(...)` -> 'name' (receiver unresolved)."""
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return node.func.attr.value
        return None

    @staticmethod
    def receiver(node: cst.Call) -> cst.BaseExpression:
        assert isinstance(node.func, cst.Attribute)
        return node.func.value

    @staticmethod
    def arg(node: cst.Call, index: int = 0, keyword: str | None = None) -> cst.BaseExpression | None:
        """The argument at a position (or passed by keyword), skipping *args/**kwargs."""
        positional = [a for a in node.args if a.keyword is None and not a.star]
        if index < len(positional):
            return positional[index].value
        if keyword is not None:
            for a in node.args:
                if a.keyword is not None and a.keyword.value == keyword:
                    return a.value
        return None

    def op_arg(self, node: cst.BaseExpression, op: str, before: int = INFINITY) -> cst.BaseExpression | None:
        """The first argument of a call to `op`, else None."""
        if self.op(node, before) == op:
            assert isinstance(node, cst.Call)
            return self.arg(node)
        return None

    def reduction_arg(self, node: cst.BaseExpression, op: str, before: int = INFINITY) -> cst.BaseExpression | None:
        """`np.sum(x)` or `x.sum()` -> x (op is 'sum', 'mean' or 'max')."""
        inner = self.op_arg(node, op, before)
        if inner is not None:
            return inner
        if self.method(node) == op and isinstance(node, cst.Call):
            return self.receiver(node)
        return None

    # ---- def-use -------------------------------------------------------------------------------

    def binding(self, node: cst.BaseExpression, before: int) -> Binding | None:
        if isinstance(node, cst.Name):
            return self.r.lookup(node.value, before)
        return None

    def follow(self, node: cst.BaseExpression, before: int = INFINITY) -> tuple[cst.BaseExpression, int]:
        """Replace a name by the expression last assigned to it (simple assignments only)."""
        for _ in range(MAX_DEPTH):
            b = self.binding(node, before)
            if b is None or b.value is None or b.unpack_index is not None or b.aug_op is not None:
                break
            node, before = b.value, b.seq
        return node, before

    def definitions(self, node: cst.BaseExpression, before: int) -> Iterator[tuple[cst.BaseExpression, int]]:
        """The expression, then what it is defined from through names (nearest first)."""
        yield node, before
        b = self.binding(node, before)
        depth = 0
        while b is not None and b.value is not None and depth < MAX_DEPTH:
            depth += 1
            value = b.value
            yield value, b.seq
            if b.aug_op is not None:  # x op= v: x is still derived from its earlier value
                assert isinstance(node, cst.Name)
                b = self.r.lookup(node.value, b.seq)
                continue
            if b.unpack_index is not None:
                return
            node, before = value, b.seq
            b = self.binding(node, before)
            if b is not None and b.value is None:
                return

    # ---- literals and shapes -------------------------------------------------------------------

    @staticmethod
    def number(node: cst.BaseExpression) -> float | None:
        if isinstance(node, (cst.Integer, cst.Float)):
            try:
                return float(node.value.replace("_", ""))
            except ValueError:
                return None
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = Exprs.number(node.expression)
            return -inner if inner is not None else None
        return None

    def is_one(self, node: cst.BaseExpression) -> bool:
        return self.number(node) == 1.0

    def is_constant(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """A literal, a named math constant, or arithmetic of those (e.g. `2 * np.pi`)."""
        if self.number(node) is not None:
            return True
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self.r.qualname(node, before) in apis.CONSTANTS
        if isinstance(node, cst.BinaryOperation):
            return self.is_constant(node.left, before) and self.is_constant(node.right, before)
        if isinstance(node, cst.UnaryOperation):
            return self.is_constant(node.expression, before)
        return False

    def is_integer_valued(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """Counts and indices (`len(x)`, `np.arange(n)`, `x.shape[0]`, `x.size`): log1p gains nothing there."""
        if isinstance(node, cst.Integer):
            return True
        if isinstance(node, cst.Call):
            return self.r.qualname(node.func, before) in (
                "builtins.len", "builtins.range", "numpy.arange", "builtins.int", "math.factorial")
        if isinstance(node, cst.Subscript):
            return isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape"
        if isinstance(node, cst.Attribute):
            return node.attr.value in ("size", "ndim")
        return False

    def square_base(self, node: cst.BaseExpression, before: int = INFINITY) -> cst.BaseExpression | None:
        """`x**2`, `x*x`, `np.square(x)` -> x."""
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Power) and self.number(node.right) == 2.0:
                return node.left
            if isinstance(node.operator, cst.Multiply) and same(node.left, node.right):
                return node.left
        return self.op_arg(node, "square", before)

    def sqrt_arg(self, node: cst.BaseExpression, before: int = INFINITY) -> cst.BaseExpression | None:
        """`np.sqrt(x)`, `x ** 0.5` -> x."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power):
            if self.number(node.right) == 0.5:
                return node.left
        return self.op_arg(node, "sqrt", before)

    def transposed(self, node: cst.BaseExpression, before: int = INFINITY) -> cst.BaseExpression | None:
        """`X.T`, `X.transpose()`, `np.transpose(X)` -> X."""
        if isinstance(node, cst.Attribute) and node.attr.value in ("T", "mT", "H"):
            return node.value
        if self.method(node) in ("transpose", "t") and isinstance(node, cst.Call) and not node.args:
            return self.receiver(node)
        return self.op_arg(node, "transpose", before)

    def matmul_operands(
        self, node: cst.BaseExpression, before: int = INFINITY
    ) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        """`A @ B`, `A.dot(B)`, `np.dot(A, B)`, `np.matmul(A, B)` -> (A, B)."""
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.MatrixMultiply):
            return node.left, node.right
        if isinstance(node, cst.Call):
            if self.method(node) in ("dot", "matmul", "mm") and len(node.args) == 1:
                return self.receiver(node), node.args[0].value
            if self.op(node, before) == "matmul":
                a, b = self.arg(node, 0), self.arg(node, 1)
                if a is not None and b is not None:
                    return a, b
        return None

    def gram_base(self, node: cst.BaseExpression, before: int = INFINITY) -> cst.BaseExpression | None:
        """`X.T @ X` (any spelling, through local names) -> X."""
        node, before = self.follow(node, before)
        operands = self.matmul_operands(node, before)
        if operands is None:
            return None
        left, right = operands
        base = self.transposed(self.follow(left, before)[0], before)
        if base is not None and same(base, right):
            return right
        return None

    # ---- guards and def-use properties ---------------------------------------------------------

    def is_guard_call(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        return self.op(node, before) == "guard" or (
            self.method(node) in apis.GUARD_METHODS and isinstance(node, cst.Call)
        )

    def is_negative_scaled_square(self, node: cst.BaseExpression, before: int) -> bool:
        """`-0.5 / s2 * x**2`, `-gamma * d**2`: a Gaussian exponent, never positive."""
        factors: list[cst.BaseExpression] = []
        stack = [node]
        while stack:
            expr = stack.pop()
            if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Multiply, cst.Divide)):
                stack.extend((expr.left, expr.right))
            else:
                factors.append(expr)
        negatives = [f for f in factors if (self.number(f) or 0.0) < 0 or (
            isinstance(f, cst.UnaryOperation) and isinstance(f.operator, cst.Minus))]
        squares = [f for f in factors if self.square_base(f, before) is not None]
        return len(factors) > 1 and len(negatives) == 1 and bool(squares)

    def is_two_sided_guard(self, node: cst.BaseExpression, before: int) -> bool:
        """clip/clamp with both bounds: its negation is bounded as well."""
        name = self.r.call_name(node, before) or ""
        method = self.method(node)
        return isinstance(node, cst.Call) and len(node.args) >= 3 and (
            name.endswith((".clip", ".clamp", ".clip_by_value")) or method in ("clip", "clamp"))

    def is_max_like(self, node: cst.BaseExpression, before: int) -> bool:
        for expr, b in self.definitions(node, before):
            if self.reduction_arg(expr, "max", b) is not None or self.op(expr, b) in ("logsumexp", "max"):
                return True
            if (self.r.call_name(expr, b) or "").endswith((".maximum", ".fmax")):
                return True
            if self.method(expr) in ("max", "amax", "nanmax", "logsumexp"):
                return True
            total = self.op_arg(expr, "log", b)
            if total is not None:
                summed = self.reduction_arg(self.follow(total, b)[0], "sum", b)
                if summed is not None and self.op(self.follow(summed, b)[0], b) == "exp":
                    return True
        return False

    def is_bounded_above(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """An exp argument that cannot overflow: shifted by its max, clipped, or minus a square/abs."""
        for expr, b in self.definitions(node, before):
            if self.is_guard_call(expr, b):
                return self.values is None or not self.values.exceeds_exp_limit(expr, b)
            if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Subtract):
                if self.is_max_like(expr.right, b):
                    return True
            if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
                inner = expr.expression
                if self.op(inner, b) == "abs" or self.square_base(inner, b) is not None:
                    return True
                if self.is_two_sided_guard(inner, b):
                    return True
            if self.is_negative_scaled_square(expr, b):
                return True
        return self.values is not None and self.values.bounded_for_exp(node, before)

    def is_raw(self, node: cst.BaseExpression, before: int = INFINITY, depth: int = 0) -> str | None:
        """Where the value comes from if it is raw, unscaled data (e.g. 'pandas.read_csv'), else None."""
        if depth > MAX_DEPTH:
            return None
        d = depth + 1
        if isinstance(node, cst.Name):
            b = self.r.lookup(node.value, before)
            if b is not None and b.aug_op == MUTATION:
                return self.is_raw(node, b.seq, d)
            if b is None or b.value is None:
                return None
            if b.aug_op is not None:
                if b.aug_op in ("DivideAssign", "SubtractAssign"):
                    return None  # `X -= X.mean(0)`, `X /= X.std(0)`: scaling in place
                return self.is_raw(node, b.seq, d)
            if b.unpack_index is not None:
                value = b.value
                if isinstance(value, cst.Call):
                    name = self.r.qualname(value.func, b.seq)
                    if name == "sklearn.model_selection.train_test_split":
                        part = self.arg(value, b.unpack_index // 2)
                        return self.is_raw(part, b.seq, d) if part is not None else None
                    if name in apis.READERS and name.startswith("sklearn.datasets.") and b.unpack_index == 0:
                        return name
                return None
            return self.is_raw(b.value, b.seq, d)
        if isinstance(node, cst.Call):
            name = self.r.qualname(node.func, before)
            op = _OPS.get(name) if name else None
            if op == "read":
                return name
            if op == "scale":
                return None
            if op == "passthrough" or op == "guard":
                for a in node.args:
                    value = a.value
                    if isinstance(value, (cst.List, cst.Tuple)):
                        for element in value.elements:
                            src = self.is_raw(element.value, before, d)
                            if src:
                                return src
                    else:
                        src = self.is_raw(value, before, d)
                        if src:
                            return src
                return None
            method = self.method(node)
            if method == "to_numpy":
                receiver = self.receiver(node)
                return self.is_raw(receiver, before, d) or (
                    None if self.is_derived(receiver, before) else "DataFrame.to_numpy()")
            if method in apis.RAW_PASSTHROUGH_METHODS:
                return self.is_raw(self.receiver(node), before, d)
            return None
        if isinstance(node, cst.Attribute):
            if node.attr.value == "values":
                return self.is_raw(node.value, before, d) or (
                    None if self.is_derived(node.value, before) else "DataFrame.values")
            if node.attr.value in apis.RAW_ATTRIBUTES:
                return self.is_raw(node.value, before, d)
            return None
        if isinstance(node, cst.Subscript):
            return self.is_raw(node.value, before, d)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, (cst.Divide, cst.Subtract)):
                # Standardising or centring expressions are the scaling we ask for.
                right = node.right
                if isinstance(right, (cst.Call, cst.Attribute, cst.Name, cst.BinaryOperation)):
                    if not self.is_raw(right, before, d) and self.number(right) is None:
                        return None
            return self.is_raw(node.left, before, d) or self.is_raw(node.right, before, d)
        return None

    def is_derived(self, node: cst.BaseExpression, before: int, depth: int = 0) -> bool:
        """A table computed from data (scaled, transformed, a covariance...) rather than read as is."""
        if depth > MAX_DEPTH:
            return False
        for expr, b in self.definitions(node, before):
            while isinstance(expr, cst.Subscript):
                expr = expr.value
            if isinstance(expr, cst.Call):
                name = self.r.qualname(expr.func, b)
                if name in apis.SCALING_FUNCS:
                    return True
                if name in ("pandas.DataFrame", "pandas.Series"):
                    inner = self.arg(expr, 0, "data")
                    return inner is not None and self.is_derived(inner, b, depth + 1)
                method = self.method(expr)
                if method is not None and name is None:
                    if method not in apis.RAW_PASSTHROUGH_METHODS:
                        return True  # fit_transform, transform, cov, corr, mean...
                    return self.is_derived(self.receiver(expr), b, depth + 1)
                return False
            if isinstance(expr, cst.BinaryOperation):
                return True
        return False

    def probability_source(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        """Why a value is a probability that can be exactly 0 (predict_proba, a normalising ratio, a naive
        sigmoid, a sigmoid/softmax...), from the value analysis; None if it is kept away from 0 or unknown."""
        if self.values is None:
            return None
        value = self.values.value(node, before)
        if value.kind != "probability" or value.range.lo > 0:
            return None
        return _PROBABILITY_PHRASES.get(value.family or "", value.origin or "a probability")

    def activation(self, node: cst.BaseExpression, family: str, before: int = INFINITY) -> str | None:
        """Where a sigmoid/softmax probability comes from (a qualified name, a model, a method), when the
        value is one and nothing keeps it away from 0."""
        if self.values is None:
            return None
        value = self.values.value(node, before)
        if value.kind != "probability" or value.family != family or value.range.lo > 0:
            return None
        return value.origin or family

    def softmax_like(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        return self.activation(node, "softmax", before)

    def sigmoid_like(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        return self.activation(node, "sigmoid", before)


_PROBABILITY_PHRASES = {
    "predict_proba": "predict_proba", "ratio": "a ratio normalised by its sum", "naive-sigmoid": "a naive sigmoid",
}
_BINARY: dict[type, str] = {
    cst.Add: "add", cst.Subtract: "subtract", cst.Multiply: "multiply", cst.Divide: "divide",
    cst.Power: "power", cst.MatrixMultiply: "matmul",
}
_EMPTY = cst.Module(body=[])


def source(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def same(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    """Structurally the same expression, whitespace and parentheses aside."""
    return "".join(source(a).split()).strip("()") == "".join(source(b).split()).strip("()")
