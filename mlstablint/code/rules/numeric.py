"""MSL1xx: numerically unstable expressions (exp, log, softmax, sigmoid, variance, NaN tests)."""

from __future__ import annotations

import libcst as cst

from mlstablint.code import apis, words
from mlstablint.code.apis import FLOAT_CONSTRUCTORS as _FLOATS
from mlstablint.code.apis import NAN as _NAN
from mlstablint.code.exprs import Exprs, source
from mlstablint.code.exprs import same as _same
from mlstablint.code.fixes import Fix, Replacement
from mlstablint.code.rule import CodeRule
from mlstablint.code.rules.common import (
    bare,
    call_text,
    fix_name,
    is_pure,
    keyword_args,
    module_of,
    negated,
    shorten,
    unchanged_since,
)
from mlstablint.code.values import AUTODIFF, EXP_OVERFLOW, KIND_WORDS, LINEAR, PREDICTION, PROBABILITY, RAW

# Overflow thresholds of exp: log(finfo(dtype).max).
# sqrt(finfo(float32).max) / 10: squares of magnitudes below this cannot overflow even in float32.
HYPOT_SAFE = 1.8e18


# Libraries with log1p and expm1 under those names (their fixes keep the library the code uses).
_HAS_LOG1P = frozenset({"numpy", "jax.numpy", "cupy", "math", "torch", "torch.special", "tensorflow.math"})
_LIBRARY_OF = {"tensorflow": "tensorflow.math"}
_LOG_SOFTMAX = {
    "scipy.special.softmax": "scipy.special.log_softmax", "torch.softmax": "torch.log_softmax",
    "torch.special.softmax": "torch.special.log_softmax",
    "torch.nn.functional.softmax": "torch.nn.functional.log_softmax",
    "tensorflow.nn.softmax": "tensorflow.nn.log_softmax", "tensorflow.math.softmax": "tensorflow.nn.log_softmax",
    "jax.nn.softmax": "jax.nn.log_softmax",
}
# The library sigmoid for the exp a naive sigmoid is written with.
_SIGMOID_FOR = {
    "numpy": "scipy.special.expit", "math": "scipy.special.expit", "torch": "torch.sigmoid",
    "jax.numpy": "jax.nn.sigmoid", "tensorflow": "tensorflow.math.sigmoid",
    "tensorflow.math": "tensorflow.math.sigmoid",
}
# (xlogy, entr) for the library of the log.
_XLOGY_FOR = {
    "numpy": ("scipy.special.xlogy", "scipy.special.entr"), "math": ("scipy.special.xlogy", "scipy.special.entr"),
    "torch": ("torch.xlogy", "torch.special.entr"),
    "jax.numpy": ("jax.scipy.special.xlogy", "jax.scipy.special.entr"),
}


def _same_module(qualname: str | None, name: str, libraries: frozenset[str]) -> str | None:
    """`numpy.log` -> `numpy.log1p` when the library has it under that name."""
    library = module_of(qualname)
    library = _LIBRARY_OF.get(library, library)
    return f"{library}.{name}" if library in libraries else None


def _call_fix(
    rule: CodeRule, node: cst.CSTNode, qualname: str | None, argument: cst.BaseExpression | None
) -> Fix | None:
    """Replace `node` by `qualname(argument)`, spelled as the module spells it."""
    spelled = rule.spell(qualname) if qualname is not None else None
    if spelled is None or argument is None:
        return None
    return Fix((Replacement(node, f"{spelled.text}({bare(argument)})"),), spelled.imports)


def _is_add(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add)


class Log1p(CodeRule):
    """`log(1 + x)` rounds 1 + x first, losing every digit of x below machine epsilon."""

    id = "MSL101"
    message = "`{expr}` loses precision for small |x| (1 + x rounds to 1 below 1.1e-16 in float64); use `{fix}`."
    requires_at = (words.LOG, words.ONE_WORDS, words.ADD)

    def visit_Call(self, node: cst.Call) -> None:
        op = self.x.op(node)
        if op not in ("log", "log2", "log10") or len(node.args) != 1:
            return
        found = self.x.binop(node.args[0].value)
        if found is None or found[0] != "add":
            return
        _, left, right = found
        for one, other in ((left, right), (right, left)):
            if not self.x.is_one(one) or self.x.is_constant(other) or self.x.op(other) == "exp":
                continue
            value = self.v.value(other)
            # Counts and sizes (integer-valued), or x >= 1: 1 + x loses nothing log1p would keep.
            if self.x.is_integer_valued(other) or value.kind == "integer-valued" or value.range.lo >= 1:
                return
            fix = f"{fix_name(node, 'log1p')}({source(other)})"
            if op != "log":
                fix += f" / {fix_name(node, 'log')}({2 if op == 'log2' else 10})"
            self.report(node, {"function": self.r.call_name(node)}, expr=shorten(node), fix=fix)
            return

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.Call) and node.args and isinstance(node.args[0].value, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        arg = node.args[0].value
        if not isinstance(arg.operator, cst.Add) or not (self.x.is_one(arg.left) or self.x.is_one(arg.right)):
            return None
        other = arg.right if self.x.is_one(arg.left) else arg.left
        return _call_fix(self, node, _same_module(self.r.call_name(node), "log1p", _HAS_LOG1P), other)


class Expm1(CodeRule):
    """`exp(x) - 1` (also `10 ** x - 1`, and the hand-written tanh `2 / (1 + exp(-2x)) - 1`) cancels
    catastrophically for small |x|."""

    id = "MSL102"
    message = "`{expr}` cancels catastrophically for small |x| (all digits lost below 1.1e-16 in float64); use `{fix}`."
    requires_at = (words.EXP | words.POWER, words.ONE_WORDS, words.SUBTRACT)

    def _check(self, node: cst.BaseExpression) -> None:
        found = self.x.binop(node)
        if found is None or found[0] != "subtract" or not self.x.is_one(found[2]):
            return
        left = found[1]
        inner = self.x.op_arg(left, "exp")
        if inner is not None and not self.x.is_constant(inner):
            assert isinstance(left, cst.Call)
            self.report(node, {"function": self.r.call_name(left)},
                        expr=shorten(node), fix=f"{fix_name(left, 'expm1')}({source(inner)})")
            return
        power = self._power_of_constant(left)
        if power is not None:
            base, exponent = power
            self.report(node, {"function": "power"}, expr=shorten(node),
                        fix=f"np.expm1({source(exponent)} * np.log({source(base)}))")
            return
        tanh = self._hand_tanh(left)
        if tanh is not None:
            self.report(node, {"function": "tanh"}, expr=shorten(node), fix=f"np.tanh({source(tanh)})")

    def _power_of_constant(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
        """`np.power(10, x)`, `torch.pow(10, x)` -> (10, x). (`10 ** x - 1` is left alone: on the ecosystem
        check it was decibel and bit arithmetic, never a small x.)"""
        if isinstance(node, cst.Call) and (self.r.call_name(node) or "") in apis.POWER and len(node.args) == 2:
            base, exponent = node.args[0].value, node.args[1].value
        else:
            return None
        number = self.x.number(base)
        if number is None or number <= 0 or number == 1 or self.x.is_constant(exponent):
            return None
        if number == int(number) and number != 10:
            return None  # 2 ** n - 1: bit arithmetic on integers
        if self.v.kind(exponent) in ("integer-valued", "constant"):
            return None  # 10 ** k - 1 of an integer k is exact up to 10 ** 15
        return base, exponent

    def _hand_tanh(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """`2 / (1 + exp(-2 * x))` -> x (2 * sigmoid(2x), whose `- 1` is tanh(x))."""
        found = self.x.binop(node)
        if found is None or found[0] != "divide" or self.x.number(found[1]) != 2.0:
            return None
        denominator = self.x.binop(found[2])
        if denominator is None or denominator[0] != "add":
            return None
        _, a, b = denominator
        exp_side = b if self.x.is_one(a) else a if self.x.is_one(b) else None
        argument = self.x.op_arg(exp_side, "exp") if exp_side is not None else None
        need = -2.0  # exp(-2 * x), or exp(-(2 * x))
        if isinstance(argument, cst.UnaryOperation) and isinstance(argument.operator, cst.Minus):
            argument, need = argument.expression, 2.0
        scaled = self.x.binop(argument) if argument is not None else None
        if scaled is None or scaled[0] != "multiply":
            return None
        _, c, x = scaled
        if self.x.number(c) == need:
            return x
        return c if self.x.number(x) == need else None

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BinaryOperation) and isinstance(node.left, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if not (isinstance(node.operator, cst.Subtract) and self.x.is_one(node.right)) or self.x.op(node.left) != "exp":
            return None
        inner = self.x.arg(node.left)
        return _call_fix(self, node, _same_module(self.r.call_name(node.left), "expm1", _HAS_LOG1P), inner)


class LogSumExp(CodeRule):
    """`log(sum(exp(x)))` overflows once any x exceeds ~709.78 (float64) / ~88.72 (float32)."""

    id = "MSL103"
    message = ("`{expr}` overflows to inf once any element exceeds {limit64} (float64) or {limit32} (float32); "
               "use `scipy.special.logsumexp` (or `torch.logsumexp(x, dim)`), which subtracts the max first.")
    requires = (words.SUM, words.EXP)
    requires_at = (words.LOG_ONLY,)

    def visit_Call(self, node: cst.Call) -> None:
        if self.x.op(node) != "log" or len(node.args) != 1:
            return
        total, before = self.x.follow(node.args[0].value)
        summed = self.x.reduction_arg(total, "sum", before)
        if summed is None:
            return
        if isinstance(summed, cst.GeneratorExp):
            summed = summed.elt
        summed, before = self.x.follow(summed, before)
        inner = self.x.op_arg(summed, "exp", before)
        if inner is None or self.x.is_bounded_above(inner, before) or self.x.is_constant(inner):
            return
        self.report(node, {"overflow_threshold": EXP_OVERFLOW},
                    expr=shorten(node), limit64=EXP_OVERFLOW["float64"], limit32=EXP_OVERFLOW["float32"])

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # Only the direct spelling: through local names, the sum may be used elsewhere too.
        if not (isinstance(node, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        total = node.args[0].value
        if not isinstance(total, cst.Call):
            return None
        if self.x.op(total) == "sum":
            summed, options = self.x.arg(total), None
            library = module_of(self.r.call_name(total))
            if library == "numpy":
                options = keyword_args(total, 1, ("axis",), frozenset({"axis", "keepdims"}))
            elif library == "torch":
                options = keyword_args(total, 1, ("dim",), frozenset({"dim", "keepdim"}))
        elif self.x.method(total) == "sum":
            summed = self.x.receiver(total)
            library = module_of(self.r.call_name(summed)) if isinstance(summed, cst.Call) else ""
            positional = ("dim",) if library == "torch" else ("axis",)
            allowed = frozenset({"dim", "keepdim"} if library == "torch" else {"axis", "keepdims"})
            options = keyword_args(total, 0, positional, allowed)
        else:
            return None
        if not isinstance(summed, cst.Call) or options is None or self.x.op(summed) != "exp" or len(summed.args) != 1:
            return None
        exp_library = module_of(self.r.call_name(summed))
        if exp_library == "numpy" and library in ("numpy", "") and "dim" not in options:
            target = "scipy.special.logsumexp"
        elif exp_library == "torch" and library in ("torch", "") and "dim" in options:
            target = "torch.logsumexp"  # torch.logsumexp needs `dim`: without it the axis is unknown
        else:
            return None
        spelled = self.spell(target)
        if spelled is None:
            return None
        extra = "".join(f", {key}={value}" for key, value in options.items())
        return Fix((Replacement(node, f"{spelled.text}({bare(summed.args[0].value)}{extra})"),), spelled.imports)


class LogOfSoftmax(CodeRule):
    """`log(softmax(x))` underflows to -inf where a probability rounds to 0."""

    id = "MSL104"
    message = ("`{expr}` returns -inf (and NaN gradients) wherever a softmax probability underflows to 0; "
               "use `{fix}`, which computes x - logsumexp(x) directly.{why}")
    requires = (words.SOFTMAX,)
    requires_at = (words.LOG,)

    def visit_Call(self, node: cst.Call) -> None:
        target = _log_target(self.x, node)
        if target is None or self.ctx.is_claimed("log-probability", node):  # MSL501's cross-entropy
            return
        softmax = self.x.softmax_like(target)
        if softmax is None:
            return
        self.ctx.claim("log-probability", node)
        value = self.v.value(target)
        fix = _activation_fix(softmax, "log_softmax", value.argument)
        self.report(node, {"softmax": softmax}, expr=shorten(node), fix=fix, why=_why(value.reason))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        return log_of_softmax_fix(self, node)


def log_of_softmax_fix(rule: CodeRule, node: cst.CSTNode) -> Fix | None:
    """`log(softmax(x, axis))` -> `log_softmax(x, axis)` (the softmax's own arguments kept); shared with
    MSL501, whose cross-entropy claims the log this rule would report."""
    if not (isinstance(node, cst.Call)):
        return None  # the trigger changed shape: no fix rather than a wrong one
    target = node.args[0].value if rule.x.op(node) == "log" else rule.x.receiver(node)
    call, before = rule.x.follow(target)
    if not isinstance(call, cst.Call) or not unchanged_since(rule.r, call, before) or _calls_again(call, target):
        return None
    name = _LOG_SOFTMAX.get(rule.r.call_name(call, before) or "")
    spelled = rule.spell(name) if name else None
    if spelled is None:
        return None
    return Fix((Replacement(node, call_text(spelled.text, call)),), spelled.imports)


class NaiveSigmoid(CodeRule):
    """`1 / (1 + exp(-x))` overflows in exp for large negative x; `exp(x) / (1 + exp(x))` gives inf/inf = NaN."""

    id = "MSL105"
    message = ("`{expr}` is a naive sigmoid: exp overflows beyond |x| > {limit64} (float64) or {limit32} "
               "(float32){nan}; use `scipy.special.expit` (or `torch.sigmoid`).")
    requires_at = (words.DIVIDE, words.ADD, words.ONE_WORDS, words.EXP)

    def _check(self, node: cst.BaseExpression) -> None:
        found = self.x.binop(node)
        if found is None or found[0] != "divide":
            return
        _, numerator, denominator = found
        terms = self.x.binop(denominator)
        if terms is None or terms[0] != "add":
            return
        for one, other in ((terms[1], terms[2]), (terms[2], terms[1])):
            if not self.x.is_one(one):
                continue
            exp_arg = self.x.op_arg(other, "exp")
            if exp_arg is None or self.x.is_bounded_above(exp_arg) or self.x.is_constant(exp_arg):
                continue
            self.ctx.claim("exp-explained", other)
            if self.x.is_one(numerator):
                self.report(node, {"overflow_threshold": EXP_OVERFLOW}, expr=shorten(node),
                            limit64=EXP_OVERFLOW["float64"], limit32=EXP_OVERFLOW["float32"], nan="")
                return
            numerator_arg = self.x.op_arg(numerator, "exp")
            if numerator_arg is not None and _same(numerator_arg, exp_arg):
                self.report(node, {"overflow_threshold": EXP_OVERFLOW}, expr=shorten(node),
                            limit64=EXP_OVERFLOW["float64"], limit32=EXP_OVERFLOW["float32"],
                            nan=", and inf/inf gives NaN")
                return

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BinaryOperation) and isinstance(node.right, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        denominator = node.right
        if not (isinstance(node.operator, cst.Divide) and isinstance(denominator.operator, cst.Add)):
            return None
        exp_call = denominator.right if self.x.is_one(denominator.left) else denominator.left
        if not self.x.is_one(denominator.left) and not self.x.is_one(denominator.right):
            return None
        if not isinstance(exp_call, cst.Call) or self.x.op(exp_call) != "exp":
            return None  # the trigger changed shape: no fix rather than a wrong one
        numerator = self.x.op_arg(node.left, "exp")
        if not self.x.is_one(node.left) and (numerator is None or not _same(numerator, self.x.arg(exp_call) or node)):
            return None  # a/(1 + exp(x)) with another numerator is no sigmoid
        exp_arg = self.x.arg(exp_call)
        if exp_arg is None:
            return None
        # 1 / (1 + exp(a)) is sigmoid(-a); exp(a) / (1 + exp(a)) is sigmoid(a).
        argument = negated(exp_arg) if self.x.is_one(node.left) else bare(exp_arg)
        name = _SIGMOID_FOR.get(module_of(self.r.call_name(exp_call)))
        spelled = self.spell(name) if name else None
        if spelled is None:
            return None
        return Fix((Replacement(node, f"{spelled.text}({argument})"),), spelled.imports)


class NaiveSoftplus(CodeRule):
    """`log(1 + exp(x))` and `log(exp(a) + exp(b))` overflow where the result is finite."""

    id = "MSL106"
    message = ("`{expr}` overflows to inf for arguments above {limit64} (float64) although the result is finite; "
               "use `{fix}`.")
    requires_at = (words.LOG, words.EXP, words.ADD)

    def _method_chain(self, node: cst.Call) -> None:
        """`z.exp().add(1).log()` and `(1 + z.exp()).log()`: the tensor-method spelling."""
        receiver = self.x.receiver(node)
        added = self.x.binop(receiver)
        if added is None and self.x.method(receiver) == "add" and isinstance(receiver, cst.Call) and len(
                receiver.args) == 1:
            added = ("add", self.x.receiver(receiver), receiver.args[0].value)
        if added is None or added[0] != "add":
            return
        for one, other in ((added[1], added[2]), (added[2], added[1])):
            if self.x.is_one(one) and self.x.method(other) == "exp" and isinstance(other, cst.Call) and not other.args:
                inner = self.x.receiver(other)
                if self.x.is_bounded_above(inner) or self.x.is_constant(inner):
                    return
                self.report(node, {"overflow_threshold": EXP_OVERFLOW}, expr=shorten(node),
                            fix=f"torch.nn.functional.softplus({source(inner)})", limit64=EXP_OVERFLOW["float64"])
                return

    def visit_Call(self, node: cst.Call) -> None:
        if self.x.method(node) == "log" and not node.args:
            self._method_chain(node)
            return
        if self.x.op(node) not in ("log", "log1p") or len(node.args) != 1:
            return
        arg = node.args[0].value
        if self.x.op(node) == "log1p":
            return  # log1p(exp(x)) with a guard is the stable idiom; without one it is MSL109's business
        if not _is_add(arg):
            return
        assert isinstance(arg, cst.BinaryOperation)
        exps = [self.x.op_arg(side, "exp") for side in (arg.left, arg.right)]
        prefix = "np." if "numpy" in (self.r.call_name(node) or "") else ""
        if all(e is not None for e in exps):
            a, b = exps
            assert a is not None and b is not None
            if self.x.is_bounded_above(a) and self.x.is_bounded_above(b):
                return
            fix = f"{prefix}logaddexp({source(a)}, {source(b)})"
        else:
            ones = [self.x.is_one(side) for side in (arg.left, arg.right)]
            if not ((ones[0] and exps[1] is not None) or (ones[1] and exps[0] is not None)):
                return
            inner = exps[1] if exps[1] is not None else exps[0]
            assert inner is not None
            if self.x.is_bounded_above(inner) or self.x.is_constant(inner):
                return
            fix = f"{prefix}logaddexp(0, {source(inner)})"
        self.report(node, {"overflow_threshold": EXP_OVERFLOW}, expr=shorten(node), fix=fix,
                    limit64=EXP_OVERFLOW["float64"])

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.Call) and node.args and isinstance(node.args[0].value, cst.BinaryOperation)):
            return None  # the trigger changed shape (e.g. `z.exp().add(1).log()`): no fix rather than a wrong one
        arg = node.args[0].value
        sides = [side for side in (arg.left, arg.right) if self.x.op(side) == "exp"]
        if not isinstance(arg.operator, cst.Add) or not (
            len(sides) == 2 or (len(sides) == 1 and (self.x.is_one(arg.left) or self.x.is_one(arg.right)))
        ):
            return None
        library = module_of(self.r.call_name(node))
        exps = [bare(self.x.arg(side) or side) for side in sides if isinstance(side, cst.Call)]
        if library == "torch":
            name, args = ("torch.nn.functional.softplus", exps) if len(exps) == 1 else ("torch.logaddexp", exps)
        elif library in ("numpy", "jax.numpy", "cupy", "math"):
            # math has no logaddexp: numpy's, where the module already imports numpy (no new import).
            name = f"{'numpy' if library == 'math' else library}.logaddexp"
            args = ["0", *exps] if len(exps) == 1 else exps
        else:
            return None
        spelled = self.spell(name)
        if spelled is None or (library == "math" and spelled.imports):
            return None
        return Fix((Replacement(node, f"{spelled.text}({', '.join(args)})"),), spelled.imports)


_LOG_SIGMOID = {
    "scipy.special": "scipy.special.log_expit", "torch": "torch.nn.functional.logsigmoid",
    "torch.special": "torch.nn.functional.logsigmoid", "torch.nn.functional": "torch.nn.functional.logsigmoid",
    "tensorflow": "tf.math.log_sigmoid", "tensorflow.math": "tf.math.log_sigmoid",
    "tensorflow.nn": "tf.math.log_sigmoid", "jax.nn": "jax.nn.log_sigmoid",
    "jax.scipy.special": "jax.nn.log_sigmoid",
}
# The same functions as qualified names, for the fix to spell.
_LOG_SIGMOID_FIX = {module: name.replace("tf.", "tensorflow.", 1) for module, name in _LOG_SIGMOID.items()}


class LogOfSigmoid(CodeRule):
    """`log(sigmoid(x))` and `log(1 - sigmoid(x))` give -inf where the sigmoid saturates."""

    id = "MSL107"
    message = ("`{expr}` returns -inf once the sigmoid saturates (|x| > ~37 in float64, ~17 in float32); "
               "use `{fix}`.{why}")
    requires = (words.SIGMOID,)
    requires_at = (words.LOG,)

    def visit_Call(self, node: cst.Call) -> None:
        target = _log_target(self.x, node)
        if target is None or self.ctx.is_claimed("log-probability", node):  # MSL501's cross-entropy
            return
        negate = False
        if isinstance(target, cst.BinaryOperation) and isinstance(target.operator, cst.Subtract) and self.x.is_one(
            target.left
        ):
            target, negate = target.right, True
        sigmoid = self.x.sigmoid_like(target)
        if sigmoid is None:
            return
        self.ctx.claim("log-probability", node)
        value = self.v.value(target)
        fix = _LOG_SIGMOID.get(sigmoid.rsplit(".", 1)[0]) or _activation_fix(sigmoid, "log_sigmoid", None).split("(")[0]
        argument = value.argument
        inner = source(argument) if argument is not None else "logits"
        fix_expr = f"{fix}(-({inner}))" if negate else f"{fix}({inner})"
        self.report(node, {"sigmoid": sigmoid}, expr=shorten(node), fix=fix_expr, why=_why(value.reason))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        return log_of_sigmoid_fix(self, node)


def _calls_again(activation: cst.Call, at: cst.BaseExpression) -> bool:
    """Whether moving an activation's input from where it was assigned to `at` calls something a second
    time (`p = torch.sigmoid(model(x))`: a second forward pass, with its own dropout); inline, it is not moved."""
    import libcst.matchers as matchers  # imported on use: ~0.2 s, which most runs never pay
    return activation is not at and any(
        matchers.findall(arg.value, matchers.Call()) for arg in activation.args)


def log_of_sigmoid_fix(rule: CodeRule, node: cst.CSTNode) -> Fix | None:
    """`log(sigmoid(x))` -> `log_sigmoid(x)`, `log(1 - sigmoid(x))` -> `log_sigmoid(-x)` in the sigmoid's
    library; shared with MSL501, whose binary cross-entropy claims the logs this rule would report."""
    if not (isinstance(node, cst.Call)):
        return None  # the trigger changed shape: no fix rather than a wrong one
    target = node.args[0].value if rule.x.op(node) == "log" else rule.x.receiver(node)
    negate = _is_complement(rule.x, target)
    if negate:
        if not (isinstance(target, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        target = target.right
    call, before = rule.x.follow(target)
    if not isinstance(call, cst.Call) or not unchanged_since(rule.r, call, before) or _calls_again(call, target):
        return None
    argument = rule.x.arg(call)
    sigmoid = rule.r.call_name(call, before) or ""
    name = _LOG_SIGMOID_FIX.get(module_of(sigmoid))
    spelled = rule.spell(name) if name else None
    if argument is None or spelled is None or len(call.args) != 1:
        return None
    text = negated(argument) if negate else bare(argument)
    return Fix((Replacement(node, f"{spelled.text}({text})"),), spelled.imports)


class UnshiftedSoftmax(CodeRule):
    """`exp(x) / sum(exp(x))` without subtracting max(x) overflows to inf/inf = NaN."""

    id = "MSL108"
    message = ("`{expr}` is a softmax without the max subtracted: any x above {limit64} (float64) or {limit32} "
               "(float32) gives inf/inf = NaN; use `scipy.special.softmax`, or compute `exp(x - x.max())` first.")
    requires = (words.EXP,)
    requires_at = (words.DIVIDE, words.SUM)

    def _check(self, node: cst.BaseExpression) -> None:
        found = self.x.binop(node)
        if found is None or found[0] != "divide":
            return
        _, numerator, denominator = found
        left, lb = self.x.follow(numerator)
        left_arg = self.x.op_arg(left, "exp", lb)
        if left_arg is None:
            return
        summed = self.x.reduction_arg(denominator, "sum")
        if summed is None:
            return
        right, rb = self.x.follow(summed)
        right_arg = self.x.op_arg(right, "exp", rb)
        if right_arg is None or not (_same(left_arg, right_arg) or _same(numerator, summed)):
            return
        if self.x.is_bounded_above(left_arg, lb) or self.x.is_constant(left_arg):
            return
        # The exps of a naive softmax are this finding, not also MSL109's.
        self.ctx.claim("exp-explained", left)
        self.ctx.claim("exp-explained", right)
        self.report(node, {"overflow_threshold": EXP_OVERFLOW}, expr=shorten(node),
                    limit64=EXP_OVERFLOW["float64"], limit32=EXP_OVERFLOW["float32"])

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BinaryOperation) and isinstance(node.right, cst.Call)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        total = node.right
        summed = self.x.reduction_arg(total, "sum")
        if not (summed is not None):
            return None  # the trigger changed shape: no fix rather than a wrong one
        exps: dict[int, cst.Call] = {}
        named: list[str] = []
        for side in (node.left, summed):
            call, before = self.x.follow(side)
            if not isinstance(call, cst.Call) or self.x.op(call, before) != "exp" or len(call.args) != 1:
                return None
            if isinstance(side, cst.Name):
                named.append(side.value)
            exps[id(call)] = call
        # An exp stored in a variable may only be shifted where that variable is used by this ratio alone.
        for name in set(named):
            if self.ctx.uses(name) != 1 + named.count(name):
                return None
        library = module_of(self.r.call_name(next(iter(exps.values()))))
        method = self.x.op(total) != "sum"  # x.sum(...) rather than np.sum(x, ...)
        if library == "numpy":
            options = keyword_args(total, 0 if method else 1, ("axis",), frozenset({"axis", "keepdims"}))
            maximum, axis, keep = "numpy.max", "axis", "keepdims"
        elif library == "torch":
            options = keyword_args(total, 0 if method else 1, ("dim",), frozenset({"dim", "keepdim"}))
            maximum, axis, keep = "torch.amax", "dim", "keepdim"
        else:
            return None
        if options is None or (axis in options and options.get(keep) != "True"):
            return None  # a sum over an axis without keepdims: the shift would broadcast differently
        if library == "torch" and axis not in options:
            maximum = "torch.max"
        spelled = self.spell(maximum)
        if spelled is None:
            return None
        extra = "".join(f", {key}={value}" for key, value in options.items())
        replacements = []
        for call in exps.values():
            value = call.args[0].value
            if not is_pure(value):
                return None  # the shift evaluates the argument twice: a temporary would be needed
            replacements.append(Replacement(value, f"{source(value)} - {spelled.text}({bare(value)}{extra})"))
        return Fix(tuple(replacements), spelled.imports)


class UnguardedExp(CodeRule):
    """`exp` of a linear predictor, a model prediction or a raw data column, with no clip or shift."""

    id = "MSL109"
    message = ("`{expr}` exponentiates {kind} with no clip or shift: {overflow}; clip to the dtype's safe range "
               "or stay in log space.{why}")
    requires = (KIND_WORDS[LINEAR] | KIND_WORDS[PREDICTION] | KIND_WORDS[RAW],)
    requires_at = (words.EXP,)

    def visit_Call(self, node: cst.Call) -> None:
        if self.x.op(node) != "exp" or not node.args or self.ctx.is_claimed("exp-explained", node):
            return
        arg = node.args[0].value
        if isinstance(arg, cst.UnaryOperation) and isinstance(arg.operator, cst.Minus) and (
                self.v.kind(arg.expression) == PREDICTION):
            return  # exp(-mu) of a mean/rate prediction is a probability, bounded by 1 (Poisson P(0))
        value = self.v.value(arg)
        if value.kind not in (LINEAR, PREDICTION, RAW):
            return
        if value.where is None and self.x.is_bounded_above(arg):
            return
        name = self.r.call_name(node) or ""
        limit = self.v.exp_limit(node, value)
        if value.where is not None and value.where.startswith(AUTODIFF) and value.range.hi <= limit:
            overflow = (f"`{value.where}` keeps the forward value finite, but exp is still evaluated in the "
                        f"branch not taken, and its inf there makes the gradient NaN (inf * 0) in the backward pass")
        elif value.where is not None and value.range.hi <= limit:
            return  # numpy's where: the overflowing branch is computed but never used
        elif name == "math.exp":
            overflow = f"`math.exp` raises OverflowError above {EXP_OVERFLOW['float64']} instead of returning inf"
        elif value.dtype in EXP_OVERFLOW:
            overflow = f"in {value.dtype} values above {EXP_OVERFLOW[value.dtype]} give inf"
        else:
            overflow = (f"values above {EXP_OVERFLOW['float64']} give inf in float64 "
                        f"({EXP_OVERFLOW['float32']} in float32)")
        kind = _KIND_PHRASES[value.kind]
        if value.kind == RAW:
            kind = f"raw data ({value.origin})"
        self.report(node, {"argument": kind, "overflow_threshold": EXP_OVERFLOW}, expr=shorten(node), kind=kind,
                    overflow=overflow, why=_why(value.reason))


_KIND_PHRASES = {LINEAR: "a linear predictor", PREDICTION: "a model prediction", RAW: "raw data"}


class UnguardedLog(CodeRule):
    """`log(p)` of a probability that can be exactly 0 (predict_proba, a normalised ratio)."""

    id = "MSL110"
    message = ("`{expr}` takes the log of {kind}, which can be exactly 0 and give -inf; use `{fix}` "
               "(or `scipy.special.xlogy` / `sklearn.metrics.log_loss`).{why}")
    requires = (KIND_WORDS[PROBABILITY],)
    requires_at = (words.LOG,)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.x.is_log(node) or len(node.args) != 1:
            return
        arg = node.args[0].value
        kind = self.x.probability_source(arg)
        if kind is None or self.ctx.is_claimed("log-probability", node):
            return
        prefix = source(node.func).rsplit(".", 1)[0] + "." if isinstance(node.func, cst.Attribute) else ""
        fix = f"{source(node.func)}({prefix}clip({source(arg)}, eps, 1))"
        self.report(node, {"probability": kind}, expr=shorten(node), kind=kind, fix=fix,
                    why=_why(self.v.value(arg).reason))


class XLogY(CodeRule):
    """`x * log(y)` is 0 * -inf = NaN where x and y are both 0 (entropies, cross-entropies)."""

    id = "MSL111"
    message = "`{expr}` evaluates 0 * log(0) = NaN where both factors are 0; use `{fix}`."
    requires_at = (words.LOG_ONLY, words.MULTIPLY)

    def _check(self, node: cst.BaseExpression, in_reduction: bool) -> None:
        if not (isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)):
            return
        if self.ctx.is_claimed("guarded", node):
            return
        for factor, other in ((node.left, node.right), (node.right, node.left)):
            log = other.expression if isinstance(other, cst.UnaryOperation) else other
            y = self.x.op_arg(log, "log")
            if y is None or not isinstance(log, cst.Call) or len(log.args) != 1:
                continue
            if self.x.is_constant(y) or self.x.is_constant(factor) or self.x.is_guard_call(y) or _is_add(y):
                continue
            if self.v.range(y).lo > 0:
                continue  # log(y) is finite: y was clipped away from 0 (`1 - clip(p, eps, 1 - eps)`)
            y_def, yb = self.x.follow(y)
            if self.x.is_guard_call(y_def, yb) or _is_add(y_def):
                continue
            same_operand = _same(factor, y)
            # (1 - y) * log(1 - p): the second term of a binary cross-entropy.
            complement_pair = _is_complement(self.x, factor) and _is_complement(self.x, y)
            # x * log(x / y): a KL divergence or G-statistic term.
            ratio_of_factor = _same(_numerator(factor), _numerator(y)) and _numerator(y) is not y
            log_of_activation = self.x.softmax_like(y) or self.x.sigmoid_like(y) or (
                _is_complement(self.x, y) and isinstance(y, cst.BinaryOperation) and self.x.sigmoid_like(y.right))
            if log_of_activation:
                continue  # MSL104/MSL107 name the better fix (log_softmax, log_expit)
            probability = self.x.probability_source(y) is not None
            # Entropy and KL terms are summed; a lone scalar `n * log(n)` is almost always a count.
            if (in_reduction and (same_operand or ratio_of_factor)) or complement_pair or probability:
                self.ctx.claim("log-probability", log)
                fix = "scipy.special.entr" if same_operand else "scipy.special.xlogy"
                fix_expr = f"-{fix}({source(y)})" if same_operand else f"{fix}({source(factor)}, {source(y)})"
                self.report(node, {}, expr=shorten(node), fix=fix_expr)
                return

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node, in_reduction=False)

    def visit_Call(self, node: cst.Call) -> None:
        if (self.r.call_name(node) or "").endswith(".where"):
            # np.where(x == 0, 0, x * log(x)): the zero case is handled by the caller.
            for argument in node.args[1:]:
                self.ctx.claim("guarded", argument.value)
            return
        for op in ("sum", "mean"):
            inner = self.x.reduction_arg(node, op)
            if inner is not None:
                # Unwrap `-(y * log p)` and sums of products (`y*log(p) + (1-y)*log(1-p)`).
                stack = [inner]
                while stack:
                    expr = stack.pop()
                    if isinstance(expr, cst.UnaryOperation):
                        stack.append(expr.expression)
                    elif isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Add, cst.Subtract)):
                        stack.extend((expr.left, expr.right))
                    else:
                        self._check(expr, in_reduction=True)
                return

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if not isinstance(node.operator, cst.Multiply):
            return None
        for factor, other in ((node.left, node.right), (node.right, node.left)):
            minus = isinstance(other, cst.UnaryOperation) and isinstance(other.operator, cst.Minus)
            log = other.expression if isinstance(other, cst.UnaryOperation) else other
            y = self.x.op_arg(log, "log")
            if y is None or not isinstance(log, cst.Call):
                continue
            names = _XLOGY_FOR.get(module_of(self.r.call_name(log)))
            if names is None:
                return None
            if _same(factor, y):  # x log x = -entr(x)
                spelled = self.spell(names[1])
                text = f"{'' if minus else '-'}{spelled.text}({bare(y)})" if spelled else ""
            else:
                spelled = self.spell(names[0])
                text = f"{'-' if minus else ''}{spelled.text}({bare(factor)}, {bare(y)})" if spelled else ""
            if spelled is None:
                return None
            return Fix((Replacement(node, text),), spelled.imports)
        return None


def _log_target(x: Exprs, node: cst.Call) -> cst.BaseExpression | None:
    """What `log(t)`, `log2(t)`, `log10(t)` or `t.log()` takes the log of."""
    if x.is_log(node) and len(node.args) == 1:
        return node.args[0].value
    if x.method(node) in ("log", "log2", "log10") and not node.args:
        return x.receiver(node)
    return None


_LOG_ACTIVATIONS = {
    "torch": "torch.nn.functional.{name}", "tensorflow": "tf.nn.{name}", "keras": "tf.nn.{name}",
    "jax": "jax.nn.{name}", "scipy": "scipy.special.{name}",
}


def _activation_fix(origin: str, name: str, argument: cst.BaseExpression | None) -> str:
    """`log_softmax` spelled in the library the activation came from, on its argument (or the logits)."""
    if origin.startswith(("scipy.", "torch.", "tensorflow.", "jax.", "keras.")) and "(" not in origin and (
            "." in origin and not origin.startswith(("torch.nn.Sigmoid", "torch.nn.Softmax"))):
        module = origin.rsplit(".", 1)[0]
        if name == "log_sigmoid":
            return _LOG_SIGMOID.get(module, "scipy.special.log_expit")
        return f"{module}.{name}"
    root = origin.split(".")[0].lstrip(".")
    if root not in _LOG_ACTIVATIONS:
        root = "torch" if origin.startswith(".") else "scipy"
    spelled = _LOG_ACTIVATIONS[root].format(name=name if root != "scipy" or name != "log_sigmoid" else "log_expit")
    if root == "torch" and name == "log_sigmoid":
        spelled = "torch.nn.functional.logsigmoid"
    return f"{spelled}({source(argument) if argument is not None else 'logits'})"


def _why(reason: str) -> str:
    """The value analysis' reason, as a sentence appended to a message."""
    return f" (Value analysis: {reason}.)" if reason else ""


def _is_complement(x: Exprs, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract) and x.is_one(node.left)


def _numerator(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        node = node.left
    return node


class NaiveVariance(CodeRule):
    """`mean(x**2) - mean(x)**2` cancels catastrophically when the mean is large against the spread."""

    id = "MSL112"
    message = ("`{expr}` computes a variance as E[x^2] - E[x]^2, which cancels catastrophically (and can go "
               "negative) when |mean| >> std; use `{fix}`.")
    requires = (words.MEAN,)
    requires_at = (words.SUBTRACT,)

    def _mean_of_square(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        node, b = self.x.follow(node)
        inner = self.x.reduction_arg(node, "mean", b)
        return self.x.square_base(inner, b) if inner is not None else None

    def _square_of_mean(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        node, b = self.x.follow(node)
        base = self.x.square_base(node, b)
        if base is None:
            return None
        base, b = self.x.follow(base, b)
        return self.x.reduction_arg(base, "mean", b)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Subtract):
            return
        a, b = self._mean_of_square(node.left), self._square_of_mean(node.right)
        if a is None or b is None or not _same(a, b):
            return
        self.report(node, {}, expr=shorten(node), fix=f"np.var({source(a)})")

    def _mean_call(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, dict[str, str]] | None:
        """`np.mean(x, axis=0)` / `x.mean(0)` (written here, not through names) -> (x, its options)."""
        if not isinstance(node, cst.Call):
            return None
        allowed = frozenset({"axis", "keepdims"})
        if self.x.op(node) == "mean" and module_of(self.r.call_name(node)) == "numpy":
            inner = self.x.arg(node)
            options = keyword_args(node, 1, ("axis",), allowed)
        elif self.x.method(node) == "mean":
            inner, options = self.x.receiver(node), keyword_args(node, 0, ("axis",), allowed)
        else:
            return None
        return (inner, options) if inner is not None and options is not None else None

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if not isinstance(node.operator, cst.Subtract):
            return None
        left = self._mean_call(node.left)
        base = self.x.square_base(node.right)
        right = self._mean_call(base) if base is not None else None
        if left is None or right is None or left[1] != right[1]:
            return None
        x = self.x.square_base(left[0])
        spelled = self.spell("numpy.var")
        if x is None or spelled is None or not _same(x, right[0]):
            return None
        extra = "".join(f", {key}={value}" for key, value in left[1].items())
        return Fix((Replacement(node, f"{spelled.text}({bare(right[0])}{extra})"),), spelled.imports)


class NanEquality(CodeRule):
    """`x == nan` is always False (and `!=` always True): NaN compares unequal to everything."""

    id = "MSL113"
    message = ("`{expr}` is always {value}: NaN compares unequal to everything, itself included; use `{fix}` "
               "(`pd.isna` for pandas objects).")
    trigger = "nan"
    requires_at = (words.NAN, words.EQUALITY)
    reports_comparisons = True

    def _is_nan(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.Name, cst.Attribute)):
            return self.r.qualname(node) in _NAN
        if isinstance(node, cst.Call) and self.r.qualname(node.func) in _FLOATS and len(node.args) == 1:
            value = node.args[0].value
            if isinstance(value, cst.SimpleString):
                return value.evaluated_value.strip().lower().lstrip("+-") == "nan" if isinstance(
                    value.evaluated_value, str) else False
        return False

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                other = None
                if self._is_nan(target.comparator):
                    other = left
                elif self._is_nan(left):
                    other = target.comparator
                if other is not None:
                    equal = isinstance(target.operator, cst.Equal)
                    fix = f"np.isnan({source(other)})" if equal else f"~np.isnan({source(other)})"
                    self.report(node, {}, expr=shorten(node), value="False" if equal else "True", fix=fix)
                    return
            left = target.comparator

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.Comparison)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        if len(node.comparisons) != 1:
            return None  # a chained comparison: its meaning with isnan needs a person
        target = node.comparisons[0]
        if not isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            return None
        nan, other = (target.comparator, node.left) if self._is_nan(target.comparator) else (node.left,
                                                                                            target.comparator)
        library = "torch" if self.r.qualname(nan) == "torch.nan" else "numpy"
        spelled = self.spell(f"{library}.isnan")
        if spelled is None or spelled.imports:
            return None  # no import added: the operand's type (float, array, tensor) is not known here
        negation = "" if isinstance(target.operator, cst.Equal) else "~"
        return Fix((Replacement(node, f"{negation}{spelled.text}({bare(other)})"),))


class NaiveHypot(CodeRule):
    """`sqrt(x**2 + y**2)` overflows (or underflows) in the squares although the result is representable."""

    id = "MSL114"
    message = ("`{expr}` overflows in the squares once |x| > 1.3e154 (float64) or 1.8e19 (float32), and "
               "underflows for tiny values; use `{fix}`.")
    requires_at = (words.SQRT, words.ADD)

    def _check(self, node: cst.BaseExpression) -> None:
        arg = self.x.sqrt_arg(node)
        if not (isinstance(arg, cst.BinaryOperation) and isinstance(arg.operator, cst.Add)):
            return
        a, b = self.x.square_base(arg.left), self.x.square_base(arg.right)
        if a is None or b is None:
            return
        if max(self.v.range(a).magnitude(), self.v.range(b).magnitude()) < HYPOT_SAFE:
            return  # both magnitudes are known far below where the squares overflow
        self.report(node, {}, expr=shorten(node), fix=f"np.hypot({source(a)}, {source(b)})")

    def visit_Call(self, node: cst.Call) -> None:
        self._check(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        self._check(node)

    def fix(self, node: cst.CSTNode) -> Fix | None:
        if not (isinstance(node, cst.BaseExpression)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        arg = self.x.sqrt_arg(node)
        if not (isinstance(arg, cst.BinaryOperation)):
            return None  # the trigger changed shape: no fix rather than a wrong one
        a, b = self.x.square_base(arg.left), self.x.square_base(arg.right)
        if not (a is not None and b is not None):
            return None  # the trigger changed shape: no fix rather than a wrong one
        library = module_of(self.r.call_name(node)) if isinstance(node, cst.Call) else "numpy"
        if library not in ("numpy", "math", "torch", "jax.numpy", "cupy"):
            return None
        spelled = self.spell(f"{library}.hypot")
        if spelled is None or (not isinstance(node, cst.Call) and spelled.imports):
            return None
        return Fix((Replacement(node, f"{spelled.text}({bare(a)}, {bare(b)})"),), spelled.imports)


RULES: list[type[CodeRule]] = [
    Log1p, Expm1, LogSumExp, LogOfSoftmax, NaiveSigmoid, NaiveSoftplus, LogOfSigmoid, UnshiftedSoftmax,
    UnguardedExp, UnguardedLog, XLogY, NaiveVariance, NanEquality, NaiveHypot,
]
