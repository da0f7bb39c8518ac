"""The value analysis: what can this value be?

For an expression at a point of the file being walked, `Values.value(expr)` answers with a
`Value`: its range (an `Interval`), its kind (probability, log-probability, linear predictor,
model prediction, raw data, integer-valued, constant, explicit inverse), its dtype where the code
says it, where it comes from (`origin`, a qualified name or a short description) and a `reason`
a message can quote. It follows what `names.Resolver` records while the one traversal walks the
file: local assignments, augmented assignments, tuple unpacking, in-place clamps (`x[x < c] = c`,
`x.clamp_(...)`, `out=x`), the tests known to hold here (enclosing `if`/`while`/`where` branches and
earlier `if ...: return/raise`), `self.<attr>` assignments of the class, the `return` values of
functions and methods of the module, models (`nn.Sequential(..., nn.Sigmoid())`, Keras layers and
models with a sigmoid/softmax last activation), tensor methods (`z.sigmoid()`, `x.exp().add(1)`) and
operators spelled as functions (`tf.add`, `torch.div`, `np.true_divide`).

Everything is conservative in one direction: an unknown value is `Value()` (any range, no kind),
so a rule that reports only where the analysis cannot prove the hazard away keeps reporting.
Functions and attributes are read in source order (a method defined after its use is not seen),
and parameters are unknown.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

import libcst as cst

from mlstablint.code import apis, words
from mlstablint.code.exprs import MAX_DEPTH, Exprs, same, source
from mlstablint.code.names import INFINITY, MUTATION, Binding, Condition, Resolver, Scope

INF = math.inf

PROBABILITY = "probability"
LOG_PROBABILITY = "log-probability"
LINEAR = "linear predictor"
PREDICTION = "model prediction"
RAW = "raw data"
INTEGER = "integer-valued"
CONSTANT = "constant"
INVERSE = "explicit inverse"
GRAM = "Gram matrix"
MODEL = "model"

# The words without which the analysis never gives a value this kind (the sources above, through any chain
# of names): rules that need a kind declare them (`CodeRule.requires`), and a call of a project helper whose
# summary has the kind counts as containing them (prepass.py). Kinds missing here only ever prove a hazard
# away (a count, a constant), or come from the file's own nodes (an inverse, a Gram matrix).
KIND_WORDS: dict[str, frozenset[str]] = {
    PROBABILITY: words.SIGMOID | words.SOFTMAX | {"predict_proba"} | words.SUM | words.EXP,
    LOG_PROBABILITY: words.LOG_ACTIVATIONS | words.LOG | {"log"},
    LINEAR: words.MATMUL | words.LINEAR_LAYERS,
    PREDICTION: words.PREDICTIONS,
    RAW: words.RAW,
}
# Narrower, for a function's summary (summaries.py): the words the code must hold for the analysis to make each
# exported kind itself. A probability from a sigmoid or softmax (function, layer, method or activation string),
# from predict_proba, or from a division (`e / e.sum()`, `1 / (1 + exp(-z))`); a log-probability from a log-softmax
# or the log of a probability; raw data only from a reader (`.values` of anything else is not raw).
_PROBABILITY_MAKERS = words.SIGMOID | words.SOFTMAX | {"predict_proba"}
# A probability stands for its kind's words, a sigmoid's or softmax's for its family's only (the rules about one
# family, MSL104/107/502/503, check it): a helper's ratio e / e.sum() gives its callers no softmax word.
_PROBABILITY_BASE = KIND_WORDS[PROBABILITY] - words.SIGMOID - words.SOFTMAX
_FAMILY_WORDS = {"sigmoid": words.SIGMOID, "softmax": words.SOFTMAX}
_RAW_MAKERS = words.finals(apis.READERS)

# exp overflows above log(finfo(dtype).max).
EXP_OVERFLOW = {"float64": 709.78, "float32": 88.72, "float16": 11.09, "bfloat16": 88.72}
AUTODIFF = ("torch", "tensorflow", "jax")
_DTYPE_WORDS = {"float64": "float64", "double": "float64", "float32": "float32", "float": "float32",
                "single": "float32", "float16": "float16", "half": "float16", "bfloat16": "bfloat16",
                "float_": "float64", "longdouble": "float64"}
_DTYPE_METHODS = {"half": "float16", "float": "float32", "double": "float64", "bfloat16": "bfloat16"}
# The words without which the analysis gives no value a dtype (a dtype name or method, an autocast region, a Keras
# policy), and the dtypes it gives: a summary with a dtype stands for its name (words_of).
DTYPE_WORDS = frozenset(_DTYPE_WORDS) | frozenset(_DTYPE_METHODS) | words.LOW_PRECISION
DTYPES = frozenset(_DTYPE_WORDS.values())
# Every word a project helper's summary can stand for (words_of).
ANY_KIND_WORDS = frozenset().union(*KIND_WORDS.values()) | words.LOW_PRECISION | DTYPES
def dtypes_in(present: frozenset[str]) -> frozenset[str]:
    """The dtypes the analysis can give a value in code holding these words: a dtype's name or method (`float`
    is torch's float32 or Python's float64), and either low precision for an autocast region or a Keras policy."""
    found = {_DTYPE_WORDS[word] for word in present & _DTYPE_WORDS.keys()}
    found |= {_DTYPE_METHODS[word] for word in present & _DTYPE_METHODS.keys()}
    if "float" in present:
        found.add("float64")
    if not present.isdisjoint(words.LOW_PRECISION):
        found |= {"float16", "bfloat16"}
    return frozenset(found)


def possible_words(present: frozenset[str], given: frozenset[str] = frozenset()) -> frozenset[str]:
    """A superset of the words (`words_of`) of any value the analysis can make from code that holds `present`
    words and calls functions whose values stand for `given` words: the kinds it can make there (the makers
    above, KIND_WORDS for the others) with the dtypes it can give them (summaries.py's text bound)."""
    out = set(given)
    probability = not (present | given).isdisjoint(_PROBABILITY_MAKERS) or (
        not present.isdisjoint(words.DIVIDE) and not present.isdisjoint(words.SUM | words.EXP))
    if probability:
        out |= _PROBABILITY_BASE
        for family in _FAMILY_WORDS.values():
            if not present.isdisjoint(family):
                out |= family
    if not present.isdisjoint(words.LOG_ACTIVATIONS) or (probability and not present.isdisjoint(words.LOG)):
        out |= KIND_WORDS[LOG_PROBABILITY]
    for kind in (LINEAR, PREDICTION):
        if not present.isdisjoint(KIND_WORDS[kind]):
            out |= KIND_WORDS[kind]
    if not present.isdisjoint(_RAW_MAKERS):
        out |= KIND_WORDS[RAW]
    if out:  # a dtype only comes with a kind (a summary without one is not exported)
        dtypes = dtypes_in(present)
        out |= dtypes | (words.LOW_PRECISION if dtypes & {"float16", "bfloat16"} else frozenset())
    return frozenset(out)


# Methods that return their receiver's values (views, copies, moves, reshapes).
_SAME_VALUE_METHODS = frozenset({
    "copy", "clone", "detach", "cpu", "cuda", "numpy", "reshape", "view", "squeeze", "unsqueeze", "flatten",
    "ravel", "contiguous", "item", "tolist", "expand", "expand_as", "view_as", "reshape_as", "permute",
    "transpose", "to_numpy", "values",
})
# Names that say they hold a count (`n`, `n_samples`, `num_items`, `feature_count_`): integer-valued.
_COUNT_NAME = re.compile(r"^(?:n|k|m|n_\w+|num_\w+|\w*counts?_?|\w*_count_\w*)$")
# Functions whose result is fixed when their arguments are: numerical libraries (random draws included),
# data generators, and a few builtins; not the ones that read files or build models.
_FIXED_LIBRARIES = ("numpy.", "scipy.special.", "scipy.linalg.", "scipy.stats.", "scipy.sparse.", "math.",
                    "torch.", "jax.numpy.", "jax.random.", "jax.nn.", "jax.scipy.", "sklearn.datasets.make_",
                    "sklearn.utils.check_random_state", "pandas.DataFrame", "pandas.Series")
_NOT_FIXED = ("numpy.load", "numpy.genfromtxt", "numpy.loadtxt", "numpy.fromfile", "numpy.memmap", "torch.load",
              "torch.nn.", "torch.from_file")
_FIXED_BUILTINS = frozenset(f"builtins.{name}" for name in (
    "len", "range", "abs", "min", "max", "sum", "float", "int", "list", "tuple", "zip", "sorted", "round", "pow",
    "reversed", "enumerate", "dict"))
# What a probability's clip bound we cannot read (`eps`, `1 - eps`) stands for: just inside (0, 1).
_GUARD_LOW = 5e-324
_GUARD_HIGH = math.nextafter(1.0, 0.0)
_KERAS_PREFIXES = ("tensorflow.keras.", "tensorflow.python.keras.", "tf_keras.")


@dataclass(frozen=True)
class Interval:
    """A closed range [lo, hi] of real values (infinite ends for unbounded)."""

    lo: float = -INF
    hi: float = INF

    @staticmethod
    def point(v: float) -> Interval:
        return Interval(v, v)

    def join(self, other: Interval) -> Interval:
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def meet(self, other: Interval) -> Interval:
        lo, hi = max(self.lo, other.lo), min(self.hi, other.hi)
        return Interval(lo, hi) if lo <= hi else self

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __add__(self, other: Interval) -> Interval:
        return Interval(_safe(self.lo + other.lo, -INF), _safe(self.hi + other.hi, INF))

    def __sub__(self, other: Interval) -> Interval:
        return self + (-other)

    def __mul__(self, other: Interval) -> Interval:
        products = [_times(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Interval(min(products), max(products))

    def divide(self, other: Interval) -> Interval:
        if other.lo > 0 or other.hi < 0:
            inverses = [1 / b if b not in (INF, -INF) else 0.0 for b in (other.lo, other.hi)]
            return self * Interval(min(inverses), max(inverses))
        return Interval()

    def exp(self) -> Interval:
        return Interval(_exp(self.lo), _exp(self.hi))

    def log(self) -> Interval:
        return Interval(_log(self.lo), _log(self.hi)) if self.lo >= 0 else Interval(-INF, _log(self.hi))

    def magnitude(self) -> float:
        return max(abs(self.lo), abs(self.hi))

    @property
    def unbounded(self) -> bool:
        return self.lo == -INF and self.hi == INF

    def describe(self) -> str:
        if self.lo == self.hi:
            return f"= {_num(self.lo)}"
        if self.lo == -INF:
            return f"<= {_num(self.hi)}"
        if self.hi == INF:
            return f">= {_num(self.lo)}"
        return f"in [{_num(self.lo)}, {_num(self.hi)}]"


def _safe(v: float, default: float) -> float:
    return default if math.isnan(v) else v


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0 or b == 0 else a * b


def _exp(v: float) -> float:
    return INF if v > 709.78 else math.exp(v)


def _log(v: float) -> float:
    return -INF if v <= 0 else math.log(v)


def _num(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class Value:
    """What the analysis knows about a value. `kind` None and an unbounded range mean: unknown."""

    kind: str | None = None
    range: Interval = field(default_factory=Interval)
    dtype: str | None = None
    # Where it comes from: the qualified name of the call that made it ("torch.sigmoid"), else a phrase.
    origin: str | None = None
    # Why the analysis thinks so, for messages ("`p` = `torch.sigmoid(z)`, set on `self.p`").
    reason: str = ""
    # For an activation: the family ("sigmoid", "softmax", "ratio", "predict_proba") and its argument.
    family: str | None = None
    argument: cst.BaseExpression | None = None
    # A model or layer: what calling it returns.
    output: Value | None = None
    # The `where` a range was proven under, when an autodiff framework still computes the other branch.
    where: str | None = None

    def describe(self) -> str:
        """`a probability from torch.sigmoid`, `a value <= 18`, ..."""
        parts = []
        if self.kind is not None:
            article = "an" if self.kind[0] in "aeiou" else "a"
            parts.append(f"{article} {self.kind}")
        else:
            parts.append("a value")
        if self.origin:
            parts.append(f"from {self.origin}")
        if not self.range.unbounded and self.kind not in (PROBABILITY, CONSTANT):
            parts.append(self.range.describe())
        return " ".join(parts)

    def because(self, reason: str) -> Value:
        return replace(self, reason=reason if not self.reason else f"{reason}; {self.reason}")


UNKNOWN = Value()


def words_of(value: Value) -> frozenset[str]:
    """The words a value stands for in the pre-pass (prepass.py): its kind's (a probability's family's), its
    dtype's (with the low-precision words for float16 / bfloat16), and its output's for a model."""
    out = KIND_WORDS.get(value.kind or "", frozenset())
    if value.kind == PROBABILITY:
        out = _PROBABILITY_BASE | _FAMILY_WORDS.get(value.family or "", frozenset())
    if value.dtype in ("float16", "bfloat16"):
        out |= words.LOW_PRECISION
    if value.dtype is not None:
        out |= {value.dtype}
    if value.output is not None:
        out |= words_of(value.output)
    return out


class Helpers(Protocol):
    """The other modules of the checked project (summaries.py): what calling one of their functions returns."""

    def returns(self, qualname: str) -> Value | None:
        """The summary of the project function `qualname` (None: not a project function, or nothing known)."""


def keras_name(name: str | None) -> str | None:
    """`tensorflow.keras.layers.Dense` -> `keras.layers.Dense` (one spelling for the model rules)."""
    if name is None:
        return None
    for prefix in _KERAS_PREFIXES:
        if name.startswith(prefix):
            return "keras." + name[len(prefix):]
    return name


class Values:
    """The value analysis of one file, asked while the batched traversal walks it."""

    def __init__(self, resolver: Resolver, exprs: Exprs, helpers: Helpers | None = None) -> None:
        self.r = resolver
        self.x = exprs
        self.helpers = helpers
        self._summaries: dict[int, Value] = {}
        self._busy: set[int] = set()
        # Conditions used when evaluating outside the point being walked (another function's body).
        self._conditions: list[Condition] | None = None
        # Set while a name is being narrowed by the tests that hold: the values a test compares with are read
        # without narrowing them in turn (that recursion is exponential in the number of tests of a function).
        self._refining = False

    # ---- the questions rules ask ---------------------------------------------------------------

    def kind(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        return self.value(node, before).kind

    def range(self, node: cst.BaseExpression, before: int = INFINITY) -> Interval:
        return self.value(node, before).range

    def dtype(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        return self.value(node, before).dtype

    def origin(self, node: cst.BaseExpression, before: int = INFINITY) -> str | None:
        return self.value(node, before).origin

    def exp_limit(self, call: cst.Call, argument: Value) -> float:
        """Where exp overflows for this call: the argument's dtype, else the library's default float."""
        if argument.dtype in EXP_OVERFLOW:
            return EXP_OVERFLOW[argument.dtype]
        name = self.r.call_name(call) or ""
        return EXP_OVERFLOW["float32" if name.startswith(AUTODIFF) else "float64"]

    def exp_is_safe(self, call: cst.Call, argument: cst.BaseExpression, before: int = INFINITY) -> Value | None:
        """The argument's value if it cannot overflow exp (its range is bounded below the threshold)."""
        value = self.value(argument, before)
        return value if value.range.hi <= self.exp_limit(call, value) else None

    def exceeds_exp_limit(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """Whether a guarded exp argument has a known top above the overflow threshold (a clip to 50 in
        float16); a guard whose bounds cannot be read counts as a guard."""
        value = self.value(node, before)
        return value.range.hi != INF and not self.bounded_for_exp(node, before)

    def bounded_for_exp(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """Whether exp(node) cannot overflow: its range's top is below the threshold of its dtype (else of
        float32 in a file using torch/TensorFlow/JAX, float64 otherwise)."""
        value = self.value(node, before)
        if value.range.hi == INF:
            return False
        dtype = value.dtype or ("float32" if self.r.imported_roots & set(AUTODIFF) else "float64")
        return value.range.hi <= EXP_OVERFLOW.get(dtype, EXP_OVERFLOW["float32"])

    def fixed(self, node: cst.BaseExpression, before: int = INFINITY) -> bool:
        """Whether the value is fixed by the code itself: built only from literals, random draws and data
        generators (`np.random.*`, `rng.normal(...)`, `sklearn.datasets.make_*`), through local names, pure
        library functions and methods of fixed values. In a test, such a value is the test's own data: no
        input reaches it. A parameter, an attribute of `self`, a loop variable or an unknown call is not."""
        try:
            return self._fixed(node, before, 0)
        except RecursionError:
            return False

    def _fixed(self, node: cst.BaseExpression, before: int, hops: int) -> bool:
        """`fixed`, having followed `hops` names to their definitions (the syntax tree bounds the rest)."""
        if hops > MAX_DEPTH:
            return False
        d = hops
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)):
            return True
        if isinstance(node, cst.Name):
            if node.value in ("None", "True", "False"):
                return True
            b = self.r.lookup(node.value, before)
            if b is None or b.qualname is not None or (b.node is not None and b.aug_op != MUTATION):
                return b is not None and _library_object(self.r.qualname(node, before))
            d = hops + 1
            if b.aug_op == MUTATION:
                statement = b.node
                return isinstance(statement, cst.Assign) and self._fixed(node, b.seq, d) and all(
                    self._fixed(part, b.seq, d) for part in (statement.value, *(t.target for t in statement.targets)))
            if b.value is None:
                return self._fixed_parameter(node.value, b, d)  # else a loop variable or a fixture
            if b.aug_op is not None and not self._fixed(node, b.seq, d):
                return False
            return self._fixed(b.value, b.seq, d)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return all(not isinstance(e, cst.StarredElement) and self._fixed(e.value, before, d) for e in node.elements)
        if isinstance(node, cst.Attribute):
            name = self.r.qualname(node, before)
            return _library_object(name) if name is not None else self._fixed(node.value, before, d)
        if isinstance(node, cst.Subscript):
            return self._fixed(node.value, before, d) and all(
                self._fixed(part, before, d) for element in node.slice for part in _slice_parts(element.slice))
        if isinstance(node, cst.UnaryOperation):
            return self._fixed(node.expression, before, d)
        if isinstance(node, (cst.BinaryOperation, cst.BooleanOperation)):
            return self._fixed(node.left, before, d) and self._fixed(node.right, before, d)
        if isinstance(node, cst.Comparison):
            return self._fixed(node.left, before, d) and all(
                self._fixed(c.comparator, before, d) for c in node.comparisons)
        if isinstance(node, cst.IfExp):
            return all(self._fixed(part, before, d) for part in (node.test, node.body, node.orelse))
        if isinstance(node, cst.Call):
            if any(a.star for a in node.args) or not all(self._fixed(a.value, before, d) for a in node.args):
                return False
            name = self.r.call_name(node, before)
            if name is not None:
                library = name.startswith(_FIXED_LIBRARIES) and not name.startswith(_NOT_FIXED)
                return library or name in _FIXED_BUILTINS
            return isinstance(node.func, cst.Attribute) and self._fixed(node.func.value, before, d)
        return False

    def _fixed_parameter(self, name: str, b: Binding, depth: int) -> bool:
        """A parameter of a helper nested in another function (a test's reference log-likelihood) that is only
        ever called there, with fixed arguments: loop variables over literal lists count as fixed."""
        import libcst.matchers as matchers  # imported on use: ~0.2 s, which most runs never pay
        inner = b.scope
        outer = inner.parent if inner is not None else None
        if inner is None or outer is None or inner.kind != "function" or outer.kind != "function":
            return False
        helper, enclosing = _def_of(inner), _def_of(outer)
        if helper is None or enclosing is None:
            return False
        positional = [p.name.value for p in (*helper.params.posonly_params, *helper.params.params)]
        if name not in positional or isinstance(helper.params.star_arg, cst.Param) or helper.params.star_kwarg:
            return False
        named = helper.name.value
        not_references = {id(helper.name)} | {  # `res.llf`, `f(llf=...)` name something else
            id(node.attr) for node in matchers.findall(enclosing.body, matchers.Attribute(attr=matchers.Name(named)))
            if isinstance(node, cst.Attribute)} | {
            id(node.keyword) for node in matchers.findall(enclosing.body, matchers.Arg(keyword=matchers.Name(named)))
            if isinstance(node, cst.Arg)}
        uses = [n for n in matchers.findall(enclosing.body, matchers.Name(named)) if id(n) not in not_references]
        calls = [c for c in matchers.findall(enclosing.body, matchers.Call(func=matchers.Name(named)))]
        if not calls or len(uses) != len(calls):
            return False  # passed on (to an optimiser, a test runner): called with values we do not see
        with self._inside(outer):
            for call in calls:
                assert isinstance(call, cst.Call)
                if any(a.star for a in call.args):
                    return False
                keyword = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == name), None)
                index = positional.index(name)
                given = [a.value for a in call.args if a.keyword is None]
                argument = keyword if keyword is not None else given[index] if index < len(given) else None
                if argument is None or not self._fixed_argument(argument, enclosing, depth):
                    return False
        return True

    def _fixed_argument(self, node: cst.BaseExpression, enclosing: cst.FunctionDef, depth: int) -> bool:
        """A call's argument in `enclosing`, read before the walk reaches it: a name bound there only as the
        target of `for` loops over fixed iterables, or else fixed as far as the walk has seen."""
        import libcst.matchers as matchers  # imported on use: ~0.2 s, which most runs never pay
        if isinstance(node, cst.Name):
            loops = [f for f in matchers.findall(enclosing.body, matchers.For(target=matchers.Name(node.value)))]
            targets = matchers.findall(enclosing.body, matchers.AssignTarget(target=matchers.Name(node.value)) | (
                matchers.AugAssign(target=matchers.Name(node.value))) | matchers.AsName(name=matchers.Name(node.value)))
            if loops and not targets:
                return all(isinstance(f, cst.For) and self._fixed(f.iter, INFINITY, depth) for f in loops)
        return self._fixed(node, INFINITY, depth)

    # ---- evaluation ---------------------------------------------------------------------------

    def value(self, node: cst.BaseExpression, before: int = INFINITY, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            return UNKNOWN
        try:
            return self._value(node, before, depth + 1)
        except RecursionError:
            return UNKNOWN

    def _value(self, node: cst.BaseExpression, before: int, depth: int) -> Value:
        number = Exprs.number(node)
        if number is not None:
            kind = INTEGER if isinstance(node, cst.Integer) or (
                isinstance(node, cst.UnaryOperation) and isinstance(node.expression, cst.Integer)) else CONSTANT
            return Value(kind, Interval.point(number), origin=None)
        if isinstance(node, cst.Name):
            return self._name(node, before, depth)
        if isinstance(node, cst.Attribute):
            return self._attribute(node, before, depth)
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Attribute) and node.value.attr.value == "shape":
                return Value(INTEGER, Interval(0, INF), origin="a shape")
            inner = self.value(node.value, before, depth)
            if inner.kind == INVERSE:
                return UNKNOWN  # a block of an inverse is no inverse a solve could replace
            return replace(inner, output=None) if inner.kind != MODEL else UNKNOWN
        if isinstance(node, cst.Call):
            return self._call(node, before, depth)
        if isinstance(node, cst.UnaryOperation):
            inner = self.value(node.expression, before, depth)
            if isinstance(node.operator, cst.Minus):
                negated = inner.kind if inner.kind in (LINEAR, INTEGER, CONSTANT, PREDICTION, RAW) else None
                return Value(negated, -inner.range, inner.dtype, inner.origin, inner.reason)
            if isinstance(node.operator, cst.Plus):
                return inner
            return Value(INTEGER, Interval(0, 1)) if isinstance(node.operator, cst.Not) else UNKNOWN
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, before, depth)
        if isinstance(node, cst.IfExp):
            return self._join(self.value(node.body, before, depth), self.value(node.orelse, before, depth))
        if isinstance(node, cst.Comparison):
            return Value(INTEGER, Interval(0, 1), origin="a comparison")
        return UNKNOWN

    # ---- names, attributes, conditions ----------------------------------------------------------

    def _name(self, node: cst.Name, before: int, depth: int) -> Value:
        b = self.r.lookup(node.value, before)
        if b is None:
            return self._refine(node, UNKNOWN, -1, before)  # a global defined elsewhere: tests still hold
        if b.qualname is not None:
            if self.r.qualname(node, before) in apis.CONSTANTS:
                return Value(CONSTANT, Interval(0, INF))
            return UNKNOWN
        if isinstance(b.node, (cst.FunctionDef, cst.ClassDef)):
            return self._callable(b)
        value = self._binding_value(node, b, depth)
        if value.kind is None and b.value is None and _COUNT_NAME.match(node.value):
            value = Value(INTEGER, Interval(0, INF), origin=f"`{node.value}`", reason=f"`{node.value}` names a count")
        if value.kind == PROBABILITY and value.range.lo <= 0 and b.scope is not None:
            value = self._clamped_through_alias(node, value, b, before, depth)
        return self._refine(node, value, b.seq, before)

    def _clamped_through_alias(self, node: cst.Name, value: Value, b: Binding, before: int, depth: int) -> Value:
        """`proba = p` then `np.clip(proba, eps, None, out=proba)`: the in-place clamp of the alias clamps the
        array `p` names as well."""
        assert b.scope is not None
        for alias, bindings in b.scope.names.items():
            for previous, mutation in itertools.pairwise(bindings):
                if mutation.aug_op != MUTATION or not b.seq < previous.seq < mutation.seq < before:
                    continue
                if previous.aug_op is None and isinstance(previous.value, cst.Name) and (
                        previous.value.value == node.value):
                    clamped = self._mutated(cst.Name(alias), value, mutation, depth)
                    if clamped.kind == value.kind:
                        value = clamped
        return value

    def _binding_value(self, node: cst.Name, b: Binding, depth: int) -> Value:
        if b.aug_op == MUTATION:
            previous = self.value(node, b.seq, depth)
            return self._mutated(node, previous, b, depth)
        if b.value is None:
            return UNKNOWN
        if b.aug_op is not None:
            previous = self.value(node, b.seq, depth)
            if b.aug_op == "SubtractAssign" and self._is_max_of(b.value, node.value, b.seq):
                # `z -= z.max()`: every element is now <= 0 (the shifted exp of a softmax or a likelihood).
                return replace(previous, range=Interval(-INF, 0.0)).because(
                    f"`{node.value} -= {_short(b.value)}` shifts it by its max")
            operand = self.value(b.value, b.seq, depth)
            op = {"AddAssign": "add", "SubtractAssign": "subtract", "MultiplyAssign": "multiply",
                  "DivideAssign": "divide"}.get(b.aug_op)
            return self._arith(op, previous, operand) if op else UNKNOWN
        if b.unpack_index is not None:
            if isinstance(b.value, (cst.Tuple, cst.List)) and b.unpack_index < len(b.value.elements):
                element = b.value.elements[b.unpack_index].value
                return self.value(element, b.seq, depth)
            if (isinstance(b.value, cst.Attribute) and b.value.attr.value == "shape") or (
                    isinstance(b.value, cst.Call) and Exprs.method(b.value) == "size" and not b.value.args):
                # `n, d = X.shape`: sizes are non-negative integers.
                return Value(INTEGER, Interval(0, INF), origin="a shape", reason=f"`{node.value}` is a size of a shape")
            return UNKNOWN
        inner = self.value(b.value, b.seq, depth)
        if inner.kind is not None and inner.kind != MODEL:
            return inner.because(f"`{node.value}` = `{_short(b.value)}`") if not inner.reason else inner
        return inner

    def _mutated(self, node: cst.Name, previous: Value, b: Binding, depth: int) -> Value:
        """An in-place change: a clamp keeps the kind and narrows the range; anything else is unknown."""
        statement = b.node
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            target = statement.targets[0].target
            if isinstance(target, cst.Subscript) and len(target.slice) == 1:
                index = target.slice[0].slice
                test = index.value if isinstance(index, cst.Index) else None
                assigned = self.value(statement.value, b.seq, depth)
                if test is not None and assigned.kind in (CONSTANT, INTEGER):
                    # x[x < c] = v: what stays was >= c; what was replaced is v.
                    bound = self._test_bounds(test, node, True, b.seq)
                    if bound is not None:
                        kept = Interval(bound.hi, INF) if bound.lo == -INF else Interval(-INF, bound.lo)
                        narrowed = previous.range.meet(kept).join(assigned.range)
                        return replace(previous, range=narrowed).because(f"clamped in place by `{_short(statement)}`")
            return UNKNOWN
        if isinstance(statement, cst.Call):
            name = self.r.call_name(statement, b.seq)
            method = Exprs.method(statement)
            probability = previous.kind == PROBABILITY
            if name is not None and name in apis.GUARDS:
                bounds = self._clip_bounds(statement, name.rsplit(".", 1)[-1], b.seq, depth, receiver=False,
                                           probability=probability)
            elif method in ("clamp_", "clip_", "clamp_min_", "clamp_max_"):
                bounds = self._clip_bounds(statement, method, b.seq, depth, receiver=True, probability=probability)
            else:
                bounds = None
            if bounds is not None:
                return replace(previous, range=previous.range.meet(bounds)).because(
                    f"clamped in place by `{_short(statement)}`")
        return UNKNOWN

    def _refine(self, node: cst.Name, value: Value, assigned: int, before: int) -> Value:
        """Narrow a name's range by the tests known to hold here that were made after its assignment."""
        if self._refining:
            return value
        self._refining = True
        try:
            return self._narrowed(node, value, assigned, before)
        finally:
            self._refining = False

    def _narrowed(self, node: cst.Name, value: Value, assigned: int, before: int) -> Value:
        conditions = self.r.conditions if self._conditions is None else self._conditions
        for condition in conditions:
            if not assigned <= condition.seq < before:
                continue
            # Names in the test resolve as bound when it ran (a binding made at seq n is visible from n + 1).
            bound = self._test_bounds(condition.test, node, condition.truth, condition.seq + 1)
            if bound is None:
                continue
            narrowed = value.range.meet(bound)
            if narrowed == value.range:
                continue
            where = None
            why = f"`{_short(condition.test)}` is {'true' if condition.truth else 'false'} here"
            if condition.where is not None:
                where = self.r.qualname(condition.where, condition.seq + 1) or "where"
                why = f"inside `{where}({_short(condition.test)}, ...)`"
            value = replace(value, range=narrowed, where=where or value.where).because(why)
        return value

    def _test_bounds(self, test: cst.BaseExpression, node: cst.Name, truth: bool, before: int) -> Interval | None:
        """The range `node` has where `test` is `truth` (None: the test says nothing about it)."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self._test_bounds(test.expression, node, not truth, before)
        if isinstance(test, cst.BooleanOperation):
            both = isinstance(test.operator, cst.And) == truth  # a and b true / a or b false: both hold
            if not both:
                return None
            first = self._test_bounds(test.left, node, truth, before)
            second = self._test_bounds(test.right, node, truth, before)
            if first is None or second is None:
                return first or second
            return first.meet(second)
        if not isinstance(test, cst.Comparison):
            return None
        result: Interval | None = None
        left = test.left
        for target in test.comparisons:
            bound = self._compare(left, target.operator, target.comparator, node, truth, before)
            if bound is not None:
                if not truth and len(test.comparisons) > 1:
                    return None  # not (a < x < b) is a union
                result = bound if result is None else result.meet(bound)
            left = target.comparator
        return result

    def _compare(self, left: cst.BaseExpression, op: cst.BaseCompOp, right: cst.BaseExpression, node: cst.Name,
                 truth: bool, before: int) -> Interval | None:
        flipped = {cst.LessThan: cst.GreaterThan, cst.LessThanEqual: cst.GreaterThanEqual,
                   cst.GreaterThan: cst.LessThan, cst.GreaterThanEqual: cst.LessThanEqual}
        op_type: type = type(op)
        if op_type not in flipped:
            return None
        subject, other = left, right
        if not self._mentions(subject, node):
            subject, other, op_type = right, left, flipped[op_type]
        if not self._mentions(subject, node):
            return None
        reduction = self._reduction(subject)
        if reduction is not None:
            subject = reduction[1]
        bound = Exprs.number(other)
        if bound is None:
            constant = self.value(other, before)
            if constant.range.lo != constant.range.hi:
                return None
            bound = constant.range.lo
        upper = op_type in (cst.LessThan, cst.LessThanEqual)
        if not truth:
            upper = not upper
        if reduction is not None and (reduction[0] == "max") != upper:
            return None  # max(z) <= c bounds every z above; max(z) >= c says nothing of the others
        magnitude = self.x.op_arg(subject, "abs", before) is not None
        if magnitude:
            return Interval(-bound, bound) if upper else None
        return Interval(-INF, bound) if upper else Interval(bound, INF)

    def _is_max_of(self, expr: cst.BaseExpression, name: str, before: int) -> bool:
        """`expr` is the max (or the logsumexp, which is at least the max) of the name `name`."""
        expr, before = self.x.follow(expr, before)
        reduction = self._reduction(expr)
        inner: cst.BaseExpression | None
        if reduction is not None and reduction[0] == "max":
            inner = reduction[1]
        elif self.x.op(expr, before) == "logsumexp":
            inner = self.x.arg(expr) if isinstance(expr, cst.Call) else None
        else:
            return False
        return isinstance(inner, cst.Name) and inner.value == name

    def _reduction(self, subject: cst.BaseExpression) -> tuple[str, cst.BaseExpression] | None:
        """`z.max()`, `np.max(z)`, `np.abs(z).max()` -> ('max', the reduced expression); min likewise."""
        for op in ("max", "min"):
            inner = self.x.reduction_arg(subject, op)
            if inner is None and Exprs.method(subject) in (f"a{op}", f"nan{op}"):
                assert isinstance(subject, cst.Call)
                inner = Exprs.receiver(subject)
            if inner is not None:
                return op, inner
        return None

    def _mentions(self, subject: cst.BaseExpression, node: cst.Name) -> bool:
        reduction = self._reduction(subject)
        if reduction is not None:
            subject = reduction[1]
        inner = self.x.op_arg(subject, "abs")
        if inner is not None:
            subject = inner
        return isinstance(subject, cst.Name) and subject.value == node.value

    def _attribute(self, node: cst.Attribute, before: int, depth: int) -> Value:
        attr = node.attr.value
        if (attr in ("size", "ndim") and not isinstance(node.value, cst.Name)) or attr in ("ndim",):
            return Value(INTEGER, Interval(0, INF), origin=f".{attr}")
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            return self._self_attribute(attr, depth)
        name = self.r.qualname(node, before)
        if name is not None:
            if name in apis.CONSTANTS:
                return Value(CONSTANT, Interval(0, INF))
            return UNKNOWN
        if _COUNT_NAME.match(attr) and attr not in ("n", "k", "m"):
            return Value(INTEGER, Interval(0, INF), origin=f"`.{attr}`", reason=f"`{attr}` names a count")
        if attr in ("T", "mT", "data", "values", "real"):
            inner = self.value(node.value, before, depth)
            if attr in ("values",) and inner.kind is None:
                raw = self.x.is_raw(node, before)
                return Value(RAW, origin=raw) if raw else UNKNOWN
            return inner
        return UNKNOWN

    def _self_attribute(self, attr: str, depth: int) -> Value:
        owner = self.r.class_scope()
        if owner is None:
            return UNKNOWN
        assignments = owner.attributes.get(attr)
        if not assignments:
            method = owner.names.get(attr)
            if method and isinstance(method[-1].node, cst.FunctionDef):
                return self._callable(method[-1])
            return UNKNOWN
        result: Value | None = None
        for b in assignments:
            assert b.value is not None and b.scope is not None
            with self._inside(b.scope):
                value = self.value(b.value, b.seq, depth)
            result = value if result is None else self._join(result, value)
        assert result is not None
        if result.kind is None:
            return result
        if result.kind == MODEL:
            return replace(result, reason=f"`self.{attr}` = `{_short(assignments[-1].value)}`")
        return result.because(f"`self.{attr}` = `{_short(assignments[-1].value)}`")

    @contextmanager
    def _inside(self, scope: Scope) -> Iterator[None]:
        """Evaluate as if walking `scope` (another function's body): its names, none of our conditions."""
        saved, saved_conditions = self.r.scope, self._conditions
        self.r.scope, self._conditions = scope, []
        try:
            yield
        finally:
            self.r.scope, self._conditions = saved, saved_conditions

    # ---- functions and models -------------------------------------------------------------------

    def returned(self, b: Binding) -> Value | None:
        """What calling the function `b` defines returns (None when nothing is known): its summary."""
        return self._callable(b).output

    def _callable(self, b: Binding) -> Value:
        """A def of this module: a value of kind MODEL whose `output` is what the function returns."""
        node = b.node
        if not isinstance(node, cst.FunctionDef) or b.scope is None:
            return UNKNOWN
        key = id(node)
        if key in self._summaries:
            return self._summaries[key]
        if key in self._busy:
            return UNKNOWN
        self._busy.add(key)
        try:
            result: Value | None = None
            for ret in b.scope.returns:
                assert ret.value is not None and ret.scope is not None
                with self._inside(ret.scope):
                    value = self.value(ret.value, ret.seq)
                result = value if result is None else self._join(result, value)
        finally:
            self._busy.discard(key)
        summary = UNKNOWN
        if result is not None and result.kind is not None:
            returned = _short(b.scope.returns[-1].value)
            summary = Value(MODEL, output=result.because(f"`{node.name.value}()` returns `{returned}`"))
        self._summaries[key] = summary
        return summary

    def _layer(self, name: str, node: cst.Call, before: int, depth: int) -> Value | None:
        """What calling a torch/Keras layer or model returns (its last activation), or None."""
        name = keras_name(name) or name
        short = name.rsplit(".", 1)[-1]
        if name in apis.SIGMOID_LAYERS:
            return _model(Value(PROBABILITY, Interval(0, 1), origin=name, family="sigmoid"), name)
        if name in apis.SOFTMAX_LAYERS:
            return _model(Value(PROBABILITY, Interval(0, 1), origin=name, family="softmax"), name)
        if name in ("torch.nn.LogSoftmax", "torch.nn.LogSigmoid"):
            return _model(Value(LOG_PROBABILITY, Interval(-INF, 0), origin=name), name)
        if name in apis.LINEAR_LAYERS and name.startswith("torch."):
            return _model(Value(LINEAR, origin=name), name)
        if name in ("torch.nn.Tanh",):
            return _model(Value(None, Interval(-1, 1), origin=name), name)
        if name == "torch.nn.Sequential":
            layers = [a.value for a in node.args if a.keyword is None and not a.star]
            return self._last_layer(layers, name, before, depth)
        if (name.startswith("keras.") and short == "Dense") or short in ("Activation", "Softmax"):
            if not name.startswith("keras."):
                return None
            activation = self.x.arg(node, 1, "activation") if short == "Dense" else self.x.arg(node, 0, "activation")
            if short == "Softmax":
                return _model(Value(PROBABILITY, Interval(0, 1), origin=name, family="softmax"), name)
            act = activation.evaluated_value if isinstance(activation, cst.SimpleString) else None
            if act is None and activation is not None:
                act_name = self.r.qualname(activation, before)
                act = act_name.rsplit(".", 1)[-1] if act_name else "?"
            if act in ("sigmoid", "softmax"):
                return _model(Value(PROBABILITY, Interval(0, 1), origin=f"{name}(activation='{act}')",
                                    family=str(act)), name)
            if act in (None, "linear") and short == "Dense":
                return _model(Value(LINEAR, origin=name), name)
            return None
        if name in ("keras.Sequential", "keras.models.Sequential"):
            listing = self.x.arg(node, 0, "layers")
            if isinstance(listing, (cst.List, cst.Tuple)):
                return self._last_layer([e.value for e in listing.elements], name, before, depth)
            return None
        if name in ("keras.Model", "keras.models.Model"):
            outputs = self.x.arg(node, 1, "outputs")
            if outputs is not None:
                out = self.value(outputs, before, depth)
                return _model(out, name) if out.kind is not None else None
        return None

    def _last_layer(self, layers: list[cst.BaseExpression], name: str, before: int, depth: int) -> Value | None:
        if not layers:
            return None
        last = self.value(layers[-1], before, depth)
        if last.kind == MODEL and last.output is not None:
            return _model(replace(last.output, reason=""), f"{name.rsplit('.', 1)[-1]}(..., {_short(layers[-1])})")
        return None

    # ---- calls --------------------------------------------------------------------------------

    def _call(self, node: cst.Call, before: int, depth: int) -> Value:
        name = self.r.call_name(node, before)
        method = Exprs.method(node)
        dtype = self._dtype_argument(node, before)
        if name is not None:
            result = self._library_call(name, node, before, depth)
            if result is not None:
                if dtype is not None:
                    result = replace(result, dtype=dtype)
                elif result.dtype is None and self.r.autocast and self.r.autocast[-1] and result.kind == LINEAR:
                    result = replace(result, dtype=self.r.autocast[-1])
                return result
        helper = self._helper(node, name, before)
        if helper is not None:
            return helper
        if name is not None:
            return Value(dtype=dtype) if dtype else UNKNOWN
        if method is not None:
            result = self._method(node, method, before, depth)
            if result is not UNKNOWN:
                return result
        callee = self.value(node.func, before, depth)
        if callee.kind == MODEL and callee.output is not None:
            out = callee.output
            if out.kind == LINEAR and out.dtype is None:
                # Layers run in float16 under autocast or a Keras mixed-precision policy.
                keras = (callee.origin or "").startswith("keras.") or (out.origin or "").startswith("keras.")
                dtype = self.r.autocast[-1] if self.r.autocast and self.r.autocast[-1] else (
                    self.r.policy_dtype if keras else None)
                out = replace(out, dtype=dtype) if dtype else out
            return out if out.reason else out.because(f"the output of `{_short(node.func)}`")
        return UNKNOWN

    def _helper(self, node: cst.Call, name: str | None, before: int) -> Value | None:
        """A function of another module of the project: its summary (`pkg.helpers.f` for `helpers.f(x)`,
        `f(x)` after `from .helpers import f` or `from pkg.helpers import f`)."""
        if self.helpers is None:
            return None
        target = name or self.r.qualname(node.func, before, project=True)
        return self.helpers.returns(target) if target is not None else None

    def _dtype_argument(self, node: cst.Call, before: int) -> str | None:
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "dtype":
                return self._dtype_of(arg.value, before)
        return None

    def _dtype_of(self, node: cst.BaseExpression, before: int) -> str | None:
        if isinstance(node, cst.SimpleString):
            text = node.evaluated_value
            return _DTYPE_WORDS.get(text) if isinstance(text, str) else None
        name = self.r.qualname(node, before)
        if name is None:
            return None
        if name == "builtins.float":
            return "float64"  # `dtype=float`, `astype(float)`: Python's float is a double (torch.float is not)
        return _DTYPE_WORDS.get(name.rsplit(".", 1)[-1]) if name.split(".")[0] in (
            "numpy", "torch", "tensorflow", "jax", "builtins") else None

    def _library_call(self, name: str, node: cst.Call, before: int, depth: int) -> Value | None:
        first = self.x.arg(node)
        if name in apis.SIGMOID:
            return Value(PROBABILITY, Interval(0, 1), self._dtype_or_none(first, before, depth), name,
                         family="sigmoid", argument=first)
        if name in apis.SOFTMAX:
            return Value(PROBABILITY, Interval(0, 1), self._dtype_or_none(first, before, depth), name,
                         family="softmax", argument=first)
        if name in apis.LOG_SOFTMAX or name in apis.LOG_SIGMOID:
            return Value(LOG_PROBABILITY, Interval(-INF, 0), origin=name)
        if name in apis.TANH or name in apis.SIN_COS:
            return Value(None, Interval(-1, 1), self._dtype_or_none(first, before, depth), name)
        if name in apis.MATMUL:
            a, b = self.x.arg(node, 0), self.x.arg(node, 1)
            return self._matmul(a, b, before, depth, name)
        if name in apis.INV or name in apis.PINV:
            return Value(INVERSE, origin=name, argument=first)
        if name in apis.READERS:
            return Value(RAW, origin=name)
        if name in apis.INTEGER_FUNCS:
            argument_range = self.value(first, before, depth).range if first is not None else Interval(0, INF)
            rng = Interval(0, INF) if name in ("builtins.len", "builtins.range") or name.endswith(
                ("count_nonzero", "bincount", "arange", "argmax", "argmin", "numel", "factorial")) else argument_range
            return Value(INTEGER, rng, origin=name)
        if name in apis.ABS or name in apis.SQRT or name in apis.SQUARE or name in apis.NORM:
            inner = self.value(first, before, depth) if first is not None else UNKNOWN
            if name in apis.ABS or name in apis.SQUARE:
                m = inner.range.magnitude()
                rng = Interval(0, m if name in apis.ABS else _times(m, m))
            elif name in apis.SQRT:
                rng = Interval(0, math.sqrt(inner.range.hi) if inner.range.hi >= 0 else INF)
            else:
                rng = Interval(0, INF)
            return Value(None if inner.kind not in (INTEGER,) else INTEGER, rng, inner.dtype, name)
        if name in apis.EXP:
            inner = self.value(first, before, depth) if first is not None else UNKNOWN
            return Value(None, inner.range.exp(), inner.dtype, name)
        if name in apis.LOG or name in apis.LOG2 or name in apis.LOG10:
            inner = self.value(first, before, depth) if first is not None else UNKNOWN
            kind = LOG_PROBABILITY if inner.kind == PROBABILITY else None
            return Value(kind, inner.range.log(), inner.dtype, name)
        if name in apis.GUARDS:
            return self._guard(name, node, before, depth)
        if name in apis.DIVIDE or name in apis.ADD or name in apis.SUBTRACT or name in apis.MULTIPLY:
            found = self.x.binop(node, before)
            if found is not None:
                op, a, b = found
                return self._arith(op, self.value(a, before, depth), self.value(b, before, depth))
        if name in apis.NEGATIVE and first is not None:
            inner = self.value(first, before, depth)
            return Value(inner.kind if inner.kind in (LINEAR, PREDICTION, RAW) else None, -inner.range, inner.dtype)
        if name in apis.POWER and first is not None:
            base, exponent = self.value(first, before, depth), self.value(self.x.arg(node, 1) or first, before, depth)
            return self._power(base, exponent)
        if name in apis.RAW_PASSTHROUGH_FUNCS and first is not None:
            inner = self.value(first, before, depth)
            if inner.kind is not None:
                return inner
            raw = self.x.is_raw(node, before)
            return Value(RAW, origin=raw) if raw else None
        if name.startswith(("torch.nn.", "keras.", "tensorflow.keras.", "tf_keras.")):
            return self._layer(name, node, before, depth)
        if name in ("builtins.float", "math.exp"):
            return None
        return None

    def _dtype_or_none(self, node: cst.BaseExpression | None, before: int, depth: int) -> str | None:
        return self.value(node, before, depth).dtype if node is not None else None

    def _guard(self, name: str, node: cst.Call, before: int, depth: int) -> Value:
        """clip / clamp / minimum / maximum / where: the argument's kind, a narrowed range."""
        short = name.rsplit(".", 1)[-1]
        if short == "where":
            a, b = self.x.arg(node, 1), self.x.arg(node, 2)
            if a is None or b is None:
                return UNKNOWN
            return self._join(self.value(a, before, depth), self.value(b, before, depth))
        first = self.x.arg(node)
        inner = self.value(first, before, depth) if first is not None else UNKNOWN
        bounds = self._clip_bounds(node, short, before, depth, receiver=False, probability=inner.kind == PROBABILITY)
        if bounds is None:
            return replace(inner, range=Interval(), kind=inner.kind if inner.kind != RAW else None)
        where = None if bounds.hi < INF else inner.where  # the clamp bounds both branches
        return replace(inner, range=inner.range.meet(bounds), where=where).because(f"bounded by `{_short(node)}`")

    def _clip_bounds(self, node: cst.Call, short: str, before: int, depth: int, receiver: bool,
                     probability: bool = False) -> Interval | None:
        """The bounds a clip/clamp/minimum/maximum call imposes (None when it names none we can read).

        For a probability, a bound written as something we cannot read (`eps`, `backend.epsilon()`,
        `1 - eps`) reads as just inside (0, 1): the clip is the guard the log rules ask for, as an unread
        clip of an exp argument counts as a guard for the exp rules."""
        offset = 0 if receiver else 1
        short = short.rstrip("_")

        def bound(index: int, keywords: tuple[str, ...], guarded: float) -> float | None:
            expr = self.x.arg(node, index, keywords[0])
            for keyword in keywords[1:]:
                if expr is None:
                    expr = self.x.arg(node, 99, keyword)
            if expr is None or (isinstance(expr, cst.Name) and expr.value == "None"):
                return None
            number = Exprs.number(expr)
            if number is not None:
                return number
            value = self.value(expr, before, depth)
            if value.range.lo == value.range.hi:
                return value.range.lo
            return guarded if probability else None

        low, high = ("min", "a_min", "clip_value_min", "lower"), ("max", "a_max", "clip_value_max", "upper")
        if short in ("clip", "clamp", "clip_by_value"):
            lo = bound(offset, low, _GUARD_LOW)
            hi = bound(offset + 1, high, _GUARD_HIGH)
        elif short in ("minimum", "fmin", "clamp_max", "min"):
            lo, hi = None, bound(offset, ("max", "other"), _GUARD_HIGH)
        elif short in ("maximum", "fmax", "clamp_min", "max"):
            lo, hi = bound(offset, ("min", "other"), _GUARD_LOW), None
        else:
            return None
        if lo is None and hi is None:
            return None
        return Interval(-INF if lo is None else lo, INF if hi is None else hi)

    def _method(self, node: cst.Call, method: str, before: int, depth: int) -> Value:
        receiver = Exprs.receiver(node)
        if method in apis.PROBABILITY_METHODS:
            model = self.value(receiver, before, depth)
            return Value(PROBABILITY, Interval(0, 1), origin="predict_proba", family="predict_proba",
                         reason=model.reason if model.kind == MODEL else "")
        if method in ("predict", "decision_function", "forward", "__call__"):
            model = self.value(receiver, before, depth)
            if model.kind == MODEL and model.output is not None:
                return model.output
            return Value(PREDICTION, origin=f".{method}()") if method in ("predict", "decision_function") else UNKNOWN
        if method in ("sigmoid", "softmax"):
            return Value(PROBABILITY, Interval(0, 1), origin=f".{method}()", family=method, argument=receiver)
        if method in ("log_softmax",):
            return Value(LOG_PROBABILITY, Interval(-INF, 0), origin=".log_softmax()")
        if method in ("dot", "matmul", "mm") and len(node.args) == 1:
            return self._matmul(receiver, node.args[0].value, before, depth, f".{method}()")
        inner = self.value(receiver, before, depth)
        if inner.kind == MODEL:
            return UNKNOWN
        if method in _DTYPE_METHODS and not node.args:
            return replace(inner, dtype=_DTYPE_METHODS[method])
        if method in ("astype", "to", "type") and node.args:
            dtype = self._dtype_of(node.args[0].value, before) or self._dtype_argument(node, before)
            return replace(inner, dtype=dtype) if dtype else inner
        if method in _SAME_VALUE_METHODS:
            return inner
        if method in ("clip", "clamp", "clamp_min", "clamp_max", "clip_by_value"):
            bounds = self._clip_bounds(node, method, before, depth, receiver=True,
                                       probability=inner.kind == PROBABILITY)
            if bounds is None:
                return replace(inner, range=Interval())
            return replace(inner, range=inner.range.meet(bounds), where=None if bounds.hi < INF else inner.where)
        if method in ("exp",) and not node.args:
            return Value(None, inner.range.exp(), inner.dtype, ".exp()")
        if method in ("log", "log2", "log10") and not node.args:
            return Value(LOG_PROBABILITY if inner.kind == PROBABILITY else None, inner.range.log(), inner.dtype,
                         f".{method}()")
        if method in ("abs",) and not node.args:
            return Value(None, Interval(0, inner.range.magnitude()), inner.dtype, ".abs()")
        if method in ("tanh", "sin", "cos") and not node.args:
            return Value(None, Interval(-1, 1), inner.dtype, f".{method}()")
        if method in ("add", "sub", "mul", "div", "subtract", "multiply", "divide", "true_divide") and node.args:
            op = {"sub": "subtract", "mul": "multiply", "div": "divide", "true_divide": "divide"}.get(method, method)
            return self._arith(op, inner, self.value(node.args[0].value, before, depth))
        if method in ("size", "numel", "count", "nunique", "__len__"):
            return Value(INTEGER, Interval(0, INF), origin=f".{method}()")
        if method in ("sum", "mean", "max", "min", "amax", "amin") and inner.kind in (INTEGER,):
            return Value(INTEGER, inner.range if method != "sum" else Interval(
                min(0.0, inner.range.lo * INF if inner.range.lo < 0 else 0.0), INF if inner.range.hi > 0 else 0.0))
        if method in ("max", "min", "mean", "amax", "amin") and inner.kind in (PROBABILITY, LOG_PROBABILITY):
            return replace(inner, family=None)
        if method in ("to_numpy",):
            raw = self.x.is_raw(node, before)
            return Value(RAW, origin=raw) if raw else inner
        return UNKNOWN

    # ---- arithmetic ---------------------------------------------------------------------------

    def _matmul(self, a: cst.BaseExpression | None, b: cst.BaseExpression | None, before: int, depth: int,
                origin: str) -> Value:
        left = self.value(a, before, depth) if a is not None else UNKNOWN
        right = self.value(b, before, depth) if b is not None else UNKNOWN
        dtype = left.dtype or right.dtype or (self.r.autocast[-1] if self.r.autocast and self.r.autocast[-1]
                                              else None)
        if a is not None and b is not None:
            base = self.x.transposed(a, before)
            if base is not None and same(base, b):
                return Value(GRAM, Interval(), dtype, origin, argument=b)
        return Value(LINEAR, Interval(), dtype, "a matrix product")

    def _binary(self, node: cst.BinaryOperation, before: int, depth: int) -> Value:
        found = self.x.binop(node, before)
        if found is None:
            return UNKNOWN
        op, a, b = found
        if op == "matmul":
            return self._matmul(a, b, before, depth, "a matrix product")
        left, right = self.value(a, before, depth), self.value(b, before, depth)
        if op == "divide" and self.x.reduction_arg(b, "sum", before) is not None:
            return Value(PROBABILITY, Interval(0, 1), left.dtype, "a ratio normalised by its sum", family="ratio")
        if op == "divide" and self.x.is_one(a) and isinstance(b, cst.BinaryOperation) and isinstance(
                b.operator, cst.Add) and any(self.x.op(side, before) == "exp" for side in (b.left, b.right)):
            return Value(PROBABILITY, Interval(0, 1), right.dtype, "a naive sigmoid", family="naive-sigmoid")
        if op == "power":
            return self._power(left, right)
        return self._arith(op, left, right)

    def _power(self, base: Value, exponent: Value) -> Value:
        e = exponent.range
        if e.lo == e.hi and e.lo == int(e.lo) and e.lo >= 0:
            n = int(e.lo)
            if n % 2 == 0:
                m = base.range.magnitude()
                return Value(INTEGER if base.kind == INTEGER else None, Interval(0, m ** n if m < 1e100 else INF),
                             base.dtype)
            rng = Interval(_pow(base.range.lo, n), _pow(base.range.hi, n))
            return Value(INTEGER if base.kind == INTEGER else None, rng, base.dtype)
        if base.range.lo > 0 and base.range.lo == base.range.hi:
            c = base.range.lo  # c ** x = exp(x log c)
            scaled = exponent.range * Interval.point(math.log(c))
            return Value(None, scaled.exp(), exponent.dtype)
        return Value(None, Interval(0, INF) if base.range.lo >= 0 else Interval(), base.dtype)

    def _arith(self, op: str | None, left: Value, right: Value) -> Value:
        dtype = left.dtype or right.dtype
        kinds = {left.kind, right.kind}
        if op == "add":
            rng = left.range + right.range
        elif op == "subtract":
            rng = left.range - right.range
        elif op == "multiply":
            rng = left.range * right.range
        elif op == "divide":
            rng = left.range.divide(right.range)
        else:
            return UNKNOWN
        kind: str | None = None
        origin = None
        if kinds <= {INTEGER, CONSTANT} and op != "divide":
            kind = INTEGER if kinds == {INTEGER} else CONSTANT
        elif (LINEAR in kinds and op in ("add", "subtract")) or (
                LINEAR in kinds and op in ("multiply", "divide") and kinds & {INTEGER, CONSTANT}):
            kind, origin = LINEAR, "a linear predictor"
        elif kinds & {PREDICTION, RAW} and op in ("add", "subtract", "multiply") and kinds <= {
                PREDICTION, RAW, INTEGER, CONSTANT, None} and not (kinds - {PREDICTION, RAW} - {INTEGER, CONSTANT}):
            kind = PREDICTION if PREDICTION in kinds else RAW
            origin = left.origin if left.kind == kind else right.origin
        elif kinds == {PROBABILITY} and op == "multiply":
            kind = PROBABILITY
        source_value = left if left.kind is not None else right
        reason = left.reason or right.reason
        return Value(kind, rng, dtype, origin or (source_value.origin if kind == source_value.kind else None),
                     reason if kind is not None else "", where=left.where or right.where)

    @staticmethod
    def _join(a: Value, b: Value) -> Value:
        kind = a.kind if a.kind == b.kind else None
        family = a.family if a.family == b.family else None
        output = a.output if kind == MODEL and a.output is not None and b.output is not None and (
            a.output.kind == b.output.kind) else None
        if kind == MODEL and output is None:
            return UNKNOWN
        return Value(kind, a.range.join(b.range), a.dtype if a.dtype == b.dtype else None,
                     a.origin if a.origin == b.origin else a.origin if kind is not None else None,
                     a.reason if kind is not None else "", family, a.argument if family else None, output,
                     a.where or b.where)


def _library_object(name: str | None) -> bool:
    """A constant, dtype or function of a numerical library (`np.pi`, `np.float64`, `torch.float32`)."""
    return name is not None and (name in apis.CONSTANTS or (
        name.startswith(_FIXED_LIBRARIES) and not name.startswith(_NOT_FIXED)))


def _def_of(scope: Scope) -> cst.FunctionDef | None:
    """The `def` whose body a function scope is (None for a lambda)."""
    parent = scope.parent
    if parent is None:
        return None
    for bindings in parent.names.values():
        for b in bindings:
            if b.scope is scope and isinstance(b.node, cst.FunctionDef):
                return b.node
    return None


def _slice_parts(index: cst.BaseSlice) -> list[cst.BaseExpression]:
    if isinstance(index, cst.Index):
        return [index.value]
    assert isinstance(index, cst.Slice)
    return [part for part in (index.lower, index.upper, index.step) if part is not None]


def _model(output: Value, origin: str) -> Value:
    return Value(MODEL, origin=origin, output=replace(output, origin=output.origin or origin))


def _pow(v: float, n: int) -> float:
    try:
        return float(v ** n) if abs(v) != INF else (v if n % 2 else INF)
    except OverflowError:
        return INF if v > 0 or n % 2 == 0 else -INF


def _short(node: cst.CSTNode | None) -> str:
    if node is None:
        return "?"
    text = " ".join(source(node).split())
    return text if len(text) <= 50 else text[:47] + "..."
