"""MSL5xx: a loss given the wrong side of its activation (probabilities where it wants logits, a softmax
applied twice, a hand-written cross-entropy that takes log(0)); MSL115/MSL116: guards and functions that the
dtype in use cannot hold (an eps that rounds to 0 in float16, exp overflowing above 11.09).

Every rule asks the value analysis (values.py) what the loss's input is: a probability from a sigmoid or a
softmax (a call, a tensor method, a model whose last layer is one), a linear predictor, and its dtype.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

import libcst as cst

from mlstablint.code import apis, words
from mlstablint.code.exprs import Exprs, same, source
from mlstablint.code.fixes import Fix, Replacement
from mlstablint.code.rule import CodeRule, RuleContext
from mlstablint.code.rules.common import bare, shorten
from mlstablint.code.rules.numeric import log_of_sigmoid_fix, log_of_softmax_fix
from mlstablint.code.values import DTYPE_WORDS, KIND_WORDS, LINEAR, LOG_PROBABILITY, PROBABILITY, Value, keras_name
from mlstablint.code.walk import children, descendants

LOSS_LIBRARIES = frozenset({"torch", "tensorflow", "keras", "optax", "jax", "tf_keras"})


@dataclass(frozen=True)
class Loss:
    """What a loss does to its prediction argument: applies a `softmax`/`sigmoid` itself (it wants logits),
    or wants `probabilities` (binary or categorical), or `log-probabilities` (NLL)."""

    wants: str  # "softmax" | "sigmoid" | "probabilities" | "log-probabilities"
    index: int  # the prediction's position
    keyword: str  # and its keyword
    keras: bool = False  # `from_logits=True` turns "probabilities" into "softmax"/"sigmoid"
    binary: bool = False


_TORCH_INPUT = (0, "input")
_TF_LOGITS = (1, "logits")
_KERAS_PRED = (1, "y_pred")
# Losses called as functions.
FUNCTION_LOSSES: dict[str, Loss] = {
    "torch.nn.functional.cross_entropy": Loss("softmax", *_TORCH_INPUT),
    "torch.nn.functional.nll_loss": Loss("log-probabilities", *_TORCH_INPUT),
    "torch.nn.functional.binary_cross_entropy": Loss("probabilities", *_TORCH_INPUT, binary=True),
    "torch.nn.functional.binary_cross_entropy_with_logits": Loss("sigmoid", *_TORCH_INPUT, binary=True),
    "tensorflow.nn.softmax_cross_entropy_with_logits": Loss("softmax", *_TF_LOGITS),
    "tensorflow.nn.softmax_cross_entropy_with_logits_v2": Loss("softmax", *_TF_LOGITS),
    "tensorflow.nn.sparse_softmax_cross_entropy_with_logits": Loss("softmax", *_TF_LOGITS),
    "tensorflow.nn.sigmoid_cross_entropy_with_logits": Loss("sigmoid", *_TF_LOGITS, binary=True),
    "tensorflow.losses.softmax_cross_entropy": Loss("softmax", *_TF_LOGITS),
    "tensorflow.losses.sparse_softmax_cross_entropy": Loss("softmax", *_TF_LOGITS),
    "tensorflow.losses.sigmoid_cross_entropy": Loss("sigmoid", *_TF_LOGITS, binary=True),
    "tensorflow.compat.v1.losses.softmax_cross_entropy": Loss("softmax", *_TF_LOGITS),
    "tensorflow.compat.v1.losses.sparse_softmax_cross_entropy": Loss("softmax", *_TF_LOGITS),
    "tensorflow.compat.v1.losses.sigmoid_cross_entropy": Loss("sigmoid", *_TF_LOGITS, binary=True),
    "tensorflow.losses.log_loss": Loss("probabilities", 1, "predictions", binary=True),
    "tensorflow.compat.v1.losses.log_loss": Loss("probabilities", 1, "predictions", binary=True),
    "optax.softmax_cross_entropy": Loss("softmax", 0, "logits"),
    "optax.softmax_cross_entropy_with_integer_labels": Loss("softmax", 0, "logits"),
    "optax.sigmoid_binary_cross_entropy": Loss("sigmoid", 0, "logits", binary=True),
    "keras.losses.categorical_crossentropy": Loss("probabilities", *_KERAS_PRED, keras=True),
    "keras.losses.sparse_categorical_crossentropy": Loss("probabilities", *_KERAS_PRED, keras=True),
    "keras.losses.binary_crossentropy": Loss("probabilities", *_KERAS_PRED, keras=True, binary=True),
    "keras.backend.categorical_crossentropy": Loss("probabilities", 1, "output", keras=True),
    "keras.backend.sparse_categorical_crossentropy": Loss("probabilities", 1, "output", keras=True),
    "keras.backend.binary_crossentropy": Loss("probabilities", 1, "output", keras=True, binary=True),
}
# Losses instantiated, then called (`criterion = nn.CrossEntropyLoss(); criterion(out, y)`).
CLASS_LOSSES: dict[str, Loss] = {
    "torch.nn.CrossEntropyLoss": Loss("softmax", *_TORCH_INPUT),
    "torch.nn.NLLLoss": Loss("log-probabilities", *_TORCH_INPUT),
    "torch.nn.BCELoss": Loss("probabilities", *_TORCH_INPUT, binary=True),
    "torch.nn.BCEWithLogitsLoss": Loss("sigmoid", *_TORCH_INPUT, binary=True),
    "keras.losses.CategoricalCrossentropy": Loss("probabilities", *_KERAS_PRED, keras=True),
    "keras.losses.SparseCategoricalCrossentropy": Loss("probabilities", *_KERAS_PRED, keras=True),
    "keras.losses.BinaryCrossentropy": Loss("probabilities", *_KERAS_PRED, keras=True, binary=True),
}
# `model.compile(loss="...")` strings: probability losses.
KERAS_LOSS_STRINGS = {
    "categorical_crossentropy": False, "sparse_categorical_crossentropy": False, "binary_crossentropy": True,
}
LOSS_NAMES = words.finals(FUNCTION_LOSSES, CLASS_LOSSES, KERAS_LOSS_STRINGS)
# The Keras loss class of each loss function / compile string (the same loss, with a from_logits option).
KERAS_LOSS_CLASSES = {
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy", "binary_crossentropy": "BinaryCrossentropy",
}
# Where a softmax loss takes its class axis (position, keyword): the fix drops a softmax only over the same,
# last, axis. Losses not listed reduce over the last axis with no option to change it.
_CLASS_AXIS = {
    "tensorflow.nn.softmax_cross_entropy_with_logits": 2, "tensorflow.nn.softmax_cross_entropy_with_logits_v2": 2,
    "optax.softmax_cross_entropy": 2, "optax.softmax_cross_entropy_with_integer_labels": 2,
    "keras.losses.categorical_crossentropy": 4, "keras.losses.sparse_categorical_crossentropy": 4,
    "keras.backend.categorical_crossentropy": 3, "keras.backend.sparse_categorical_crossentropy": 3,
    "keras.losses.CategoricalCrossentropy": 2, "keras.losses.SparseCategoricalCrossentropy": 4,
}
# The activations a loss of each library may be given inline (the same library's, or Keras's in TensorFlow).
_KERAS_ROOTS = ("tensorflow.", "keras.", "tf_keras.")
_ACTIVATION_ROOTS = {"tensorflow": _KERAS_ROOTS, "keras": _KERAS_ROOTS, "optax": ("jax.",)}



class _LossRule(CodeRule):
    """Shared by the loss-call rules: which loss a call is, and what its prediction argument is."""

    libraries = LOSS_LIBRARIES

    def loss_call(self, node: cst.Call) -> tuple[str, Loss, bool | None, cst.BaseExpression] | None:
        """(loss name, what it wants, from_logits if Keras says it, the prediction argument) of a loss call."""
        name = keras_name(self.r.call_name(node))
        if name in FUNCTION_LOSSES:
            loss = FUNCTION_LOSSES[name]
            prediction = self.x.arg(node, loss.index, loss.keyword)
            return (name, loss, _from_logits(node), prediction) if prediction is not None else None
        constructor = self.constructor(node.func)
        if constructor is None:
            return None
        cname = keras_name(self.r.call_name(constructor[0], constructor[1]))
        if cname not in CLASS_LOSSES:
            return None
        loss = CLASS_LOSSES[cname]
        prediction = self.x.arg(node, loss.index, loss.keyword)
        return (cname, loss, _from_logits(constructor[0]), prediction) if prediction is not None else None

    def constructor(self, func: cst.BaseExpression) -> tuple[cst.Call, int] | None:
        """The call that made a loss object: inline, through a name, or through `self.<attr>`."""
        if isinstance(func, cst.Call):
            return func, 1 << 62
        if isinstance(func, cst.Name):
            target, before = self.x.follow(func)
            return (target, before) if isinstance(target, cst.Call) else None
        if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"):
            owner = self.r.class_scope()
            assignments = owner.attributes.get(func.attr.value) if owner is not None else None
            if assignments and isinstance(assignments[-1].value, cst.Call):
                return assignments[-1].value, assignments[-1].seq
        return None


    # ---- fixes: only an activation written inline as the loss's argument, whose input (the logits) is at hand;
    # a probability kept in a variable may be used elsewhere (reported, thresholded), so it is not touched.

    def inline_activation(self, loss_name: str, prediction: cst.BaseExpression,
                          op: str) -> tuple[cst.Call, cst.BaseExpression, cst.BaseExpression | None] | None:
        """A loss's prediction written as an activation call (op 'softmax' or 'sigmoid') -> (the activation
        call, z, its dim/axis if any): in torch `F.softmax(z, dim=1)`, `torch.sigmoid(z)`, `z.softmax(1)`,
        `z.sigmoid()`; in TensorFlow/Keras `tf.nn.softmax(z)`, `tf.sigmoid(z)`, `keras.activations.softmax(z)`;
        for optax `jax.nn.softmax(z)`, `jax.nn.sigmoid(z)`. None for anything else, and for an activation with
        options beyond its input and dim/axis (dtype=..., name=...)."""
        if not isinstance(prediction, cst.Call) or any(a.star for a in prediction.args):
            return None
        if not loss_name.startswith("torch."):
            return self._library_activation(loss_name, prediction, op)
        name = self.r.call_name(prediction)
        if name is not None and name.startswith("torch.") and self.x.op(prediction) == op:
            z, dim = self.x.arg(prediction, 0, "input"), self.x.arg(prediction, 1, "dim")
            given = 1 + (dim is not None)
        elif name is None and self.x.method(prediction) == op:
            z, dim = self.x.receiver(prediction), self.x.arg(prediction, 0, "dim")
            given = dim is not None
        else:
            return None
        if z is None or len(prediction.args) != given or (op == "sigmoid" and dim is not None):
            return None
        return prediction, z, dim

    def _library_activation(self, loss_name: str, prediction: cst.Call,
                            op: str) -> tuple[cst.Call, cst.BaseExpression, cst.BaseExpression | None] | None:
        name = self.r.call_name(prediction)
        roots = _ACTIVATION_ROOTS.get(loss_name.split(".")[0])
        if name is None or roots is None or not name.startswith(roots) or self.x.op(prediction) != op:
            return None
        keywords = {"x", "logits", "axis", "dim"} if op == "softmax" else {"x", "logits"}
        positional = [a.value for a in prediction.args if a.keyword is None]
        named = {a.keyword.value: a.value for a in prediction.args if a.keyword is not None}
        if not set(named) <= keywords or len(positional) > (2 if op == "softmax" else 1):
            return None
        z = positional[0] if positional else named.get("x", named.get("logits"))
        axis = positional[1] if len(positional) > 1 else named.get("axis", named.get("dim"))
        if z is None or len(positional) + len(named) != 1 + (axis is not None):
            return None
        return prediction, z, axis

    def class_axis_is_last(self, node: cst.Call, loss_name: str) -> bool:
        """Whether a TensorFlow/Keras/optax softmax loss reduces over the last axis (its default)."""
        if loss_name in FUNCTION_LOSSES:
            call: cst.Call | None = node
        else:
            found = self.constructor(node.func)
            call = found[0] if found is not None else None
        if call is None or any(a.star for a in call.args):
            return False
        position = _CLASS_AXIS.get(loss_name, 1 << 30)
        return all(_is_last_axis(self.x.arg(call, position, keyword)) for keyword in ("axis", "dim"))

    def keras_from_logits(self, node: cst.Call, loss_name: str, loss: Loss,
                          logits: Replacement) -> Fix | None:
        """A Keras probability loss on `sigmoid(z)` -> the same loss on z with from_logits=True: set on the
        call for a loss function, on the constructor for a loss object built inline (one built elsewhere
        may serve other calls). Not where from_logits could be given positionally."""
        if loss_name in FUNCTION_LOSSES:
            if len([a for a in node.args if a.keyword is None]) > loss.index + 1:
                return None
            edits = _set_keyword(node, "from_logits", "True", logits)
        elif isinstance(node.func, cst.Call) and all(a.keyword is not None for a in node.func.args):
            edits = _set_keyword(node.func, "from_logits", "True")
            edits = (*edits, logits) if edits is not None else None
        else:
            return None
        return Fix(edits) if edits is not None else None


def _is_one(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Integer) and node.value == "1"


def _is_last_axis(node: cst.BaseExpression | None) -> bool:
    """No axis given, `None` (TensorFlow's default: the last) or -1."""
    if node is None or (isinstance(node, cst.Name) and node.value == "None"):
        return True
    return isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and _is_one(node.expression)


def _set_keyword(call: cst.Call, keyword: str, value: str,
                 inner: Replacement | None = None) -> tuple[Replacement, ...] | None:
    """The replacements that give `call` the argument `keyword=value` (replacing its value where it is
    given, else appended after the last argument), together with `inner`, a replacement of one of the
    call's argument values (merged with the appended text when it is the last one)."""
    rest = (inner,) if inner is not None else ()
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return (Replacement(arg.value, value), *rest) if inner is None or arg.value is not inner.node else None
    if any(a.star for a in call.args):
        return None  # **options may hold the keyword already
    if not call.args:
        added = cst.Arg(cst.parse_expression(value), keyword=cst.Name(keyword),
                        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
        return (Replacement(call, source(call.with_changes(args=[added], lpar=[], rpar=[]))), *rest)
    last = call.args[-1].value
    if last.lpar:
        return None  # the span of a node is inside its parentheses: the keyword would land in them
    if inner is not None and last is inner.node:
        return (Replacement(last, f"{inner.text}, {keyword}={value}"),)
    return (Replacement(last, f"{bare(last)}, {keyword}={value}"), *rest)


def _from_logits(call: cst.Call) -> bool | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "from_logits":
            if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
                return arg.value.value == "True"
            return None  # set from a variable: unknown
    return False


def _applies(loss: Loss, from_logits: bool | None) -> str | None:
    """What the loss really does to its input: 'softmax'/'sigmoid' (logits in), 'probabilities' or
    'log-probabilities'; None when a Keras loss's from_logits cannot be read."""
    if not loss.keras:
        return loss.wants
    if from_logits is None:
        return None
    if from_logits:
        return "sigmoid" if loss.binary else "softmax"
    return "probabilities"


def _said(value: Value) -> str:
    """Why the analysis thinks the value is what it is, for a message."""
    return f" ({value.reason})" if value.reason else ""


def _short_name(name: str) -> str:
    return name.replace("torch.nn.functional.", "F.").replace("tensorflow.", "tf.").replace("torch.nn.", "nn.")


class DoubleSoftmax(_LossRule):
    """A softmax output (or a model ending in softmax) passed to a loss that applies softmax itself."""

    id = "MSL502"
    message = ("`{expr}` gives {what} to `{loss}`, which applies softmax itself: the softmax is applied twice, "
               "the loss flattens and its gradient all but vanishes; pass the logits{logits}.{why}")
    requires = (LOSS_NAMES, words.SOFTMAX)

    def visit_Call(self, node: cst.Call) -> None:
        found = self.loss_call(node)
        if found is None or _applies(found[1], found[2]) != "softmax":
            return
        name, _, _, prediction = found
        value = self.v.value(prediction)
        if value.kind != PROBABILITY or value.family != "softmax":
            return
        logits = f" (`{source(value.argument)}`)" if value.argument is not None else ""
        self.report(node, {"loss": name, "input": value.origin or "softmax"}, expr=shorten(node),
                    what=f"`{shorten(prediction)}`, a softmax probability from {value.origin or 'softmax'},",
                    loss=_short_name(name), logits=logits, why=_said(value))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # F.cross_entropy(F.softmax(z, dim=1), y) -> F.cross_entropy(z, y): the loss applies the softmax itself,
        # over dim 1 (torch's class dimension); a softmax over another or an unstated dim is not the same one.
        # TensorFlow, Keras (from_logits=True) and optax losses apply theirs over the last axis: their softmax
        # is dropped where it is over the last axis too (tf.nn.softmax's and jax.nn.softmax's default).
        found = self.loss_call(node) if isinstance(node, cst.Call) else None
        if found is None or not isinstance(node, cst.Call):
            return None
        name, _, _, prediction = found
        inline = self.inline_activation(name, prediction, "softmax")
        if inline is None:
            return None
        if name.startswith("torch.") and not _is_one(inline[2]):
            return None
        if not name.startswith("torch.") and not (_is_last_axis(inline[2]) and self.class_axis_is_last(node, name)):
            return None
        return Fix((Replacement(inline[0], bare(inline[1])),))


class SigmoidThenBCE(_LossRule):
    """A binary cross-entropy on `sigmoid(z)` with z at hand (saturates: loss capped, gradient 0), or a
    sigmoid output given to a with-logits loss (a second sigmoid: the wrong loss)."""

    id = "MSL503"
    message = "`{expr}` {problem}; use `{fix}`.{why}"
    requires = (LOSS_NAMES, words.SIGMOID)

    def visit_Call(self, node: cst.Call) -> None:
        found = self.loss_call(node)
        if found is None:
            return
        name, loss, from_logits, prediction = found
        applies = _applies(loss, from_logits)
        value = self.v.value(prediction)
        if value.kind != PROBABILITY or value.family != "sigmoid" or not loss.binary:
            return
        z = source(value.argument) if value.argument is not None else None
        keras = name.startswith("keras.")
        if applies == "sigmoid":
            problem = (f"gives `{shorten(prediction)}`, already a sigmoid probability, to `{_short_name(name)}`, "
                       "which applies a sigmoid itself: the loss is computed on sigmoid(sigmoid(z)), a different and "
                       "wrong loss")
            fix = f"{_short_name(name)} on the logits{f' `{z}`' if z else ''}"
        elif applies == "probabilities" and z is not None:
            problem = (f"computes a binary cross-entropy on `{shorten(prediction)}` = sigmoid(`{z}`): once |z| passes "
                       "~17 (float32) the sigmoid rounds to 0 or 1, the loss is capped and its gradient is 0")
            fix = (f"keras.losses.BinaryCrossentropy(from_logits=True)(y, {z})" if keras else
                   f"tf.compat.v1.losses.sigmoid_cross_entropy(y, {z})" if name.startswith("tensorflow.") else
                   f"torch.nn.functional.binary_cross_entropy_with_logits({z}, y)")
        else:
            return
        self.report(node, {"loss": name, "input": value.origin or "sigmoid"}, expr=shorten(node),
                    problem=problem, fix=fix, why=_said(value))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # A with-logits loss on sigmoid(z) -> the same loss on z (one sigmoid, the loss's own), and a
        # probability loss on sigmoid(z) -> its with-logits form on z (the same loss, computed from z without
        # rounding the sigmoid): F.binary_cross_entropy -> F.binary_cross_entropy_with_logits (the same
        # options), Keras -> from_logits=True, TF1 tf.losses.log_loss -> tf.losses.sigmoid_cross_entropy.
        found = self.loss_call(node) if isinstance(node, cst.Call) else None
        if found is None:
            return None
        name, loss, from_logits, prediction = found
        inline = self.inline_activation(name, prediction, "sigmoid")
        if inline is None or not isinstance(node, cst.Call):
            return None
        logits = Replacement(inline[0], bare(inline[1]))
        applies = _applies(loss, from_logits)
        if applies == "sigmoid":
            return Fix((logits,))
        if applies != "probabilities":
            return None
        if loss.keras:
            return self.keras_from_logits(node, name, loss, logits)
        if name.endswith("losses.log_loss"):
            return _log_loss_fix(node, logits)
        if name != "torch.nn.functional.binary_cross_entropy":
            return None
        spelled = self.spell("torch.nn.functional.binary_cross_entropy_with_logits")
        if spelled is None:
            return None
        return Fix((Replacement(node.func, spelled.text), logits), spelled.imports)


# tf.compat.v1.losses.log_loss(labels, predictions, weights, epsilon, scope, loss_collection, reduction) and
# sigmoid_cross_entropy(multi_class_labels, logits, weights, label_smoothing, scope, loss_collection, reduction):
# the same first three arguments and the same options after the fourth.
_LOG_LOSS_KEYWORDS = {"labels": "multi_class_labels", "predictions": "logits", "weights": "weights",
                      "scope": "scope", "loss_collection": "loss_collection", "reduction": "reduction"}


def _log_loss_fix(node: cst.Call, logits: Replacement) -> Fix | None:
    """`tf.losses.log_loss(y, tf.sigmoid(z))` -> `tf.losses.sigmoid_cross_entropy(y, z)`; not with an
    epsilon (the with-logits loss has none) or arguments it would read differently."""
    if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "log_loss":
        return None  # imported by name: the with-logits loss would need an import of its own
    if any(a.star for a in node.args) or len([a for a in node.args if a.keyword is None]) > 3:
        return None
    edits = [Replacement(node.func.attr, "sigmoid_cross_entropy"), logits]
    for arg in node.args:
        if arg.keyword is None:
            continue
        renamed = _LOG_LOSS_KEYWORDS.get(arg.keyword.value)
        if renamed is None:
            return None
        if renamed != arg.keyword.value:
            edits.append(Replacement(arg.keyword, renamed))
    return Fix(tuple(edits))


class NllOnProbabilities(_LossRule):
    """`F.nll_loss`/`nn.NLLLoss` on softmax probabilities instead of log-probabilities."""

    id = "MSL504"
    message = ("`{expr}` gives `{loss}` probabilities ({what}) where it expects log-probabilities: the result is "
               "-p[target], not a cross-entropy (a wrong loss, not only an unstable one); apply `log_softmax` "
               "instead of softmax, or use `F.cross_entropy` on the logits{logits}.{why}")
    requires = (LOSS_NAMES, KIND_WORDS[PROBABILITY])

    def visit_Call(self, node: cst.Call) -> None:
        found = self.loss_call(node)
        if found is None or found[1].wants != "log-probabilities":
            return
        value = self.v.value(found[3])
        if value.kind != PROBABILITY:
            return
        logits = f" `{source(value.argument)}`" if value.argument is not None else ""
        self.report(node, {"loss": found[0], "input": value.origin or "a probability"}, expr=shorten(node),
                    loss=_short_name(found[0]), what=value.describe(), logits=logits, why=_said(value))

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # F.nll_loss(F.softmax(z, dim), y) -> F.nll_loss(F.log_softmax(z, dim), y): the log-probabilities the
        # loss expects, over the same dim (torch.softmax -> torch.log_softmax, z.softmax -> z.log_softmax).
        found = self.loss_call(node) if isinstance(node, cst.Call) else None
        inline = self.inline_activation(found[0], found[3], "softmax") if found is not None else None
        if inline is None:
            return None
        call = inline[0]
        name = self.r.call_name(call)
        if name is None:  # the tensor method
            assert isinstance(call.func, cst.Attribute)
            return Fix((Replacement(call.func.attr, "log_softmax"),))
        spelled = self.spell(name.rpartition(".")[0] + ".log_softmax")
        return Fix((Replacement(call.func, spelled.text),), spelled.imports) if spelled is not None else None


class FromLogitsMismatch(_LossRule):
    """A Keras model whose last activation and compiled loss disagree about logits."""

    id = "MSL505"
    message = "`{expr}` compiles {model}, whose last layer {last}, with {loss}: {consequence}; {fix}."
    libraries = frozenset({"tensorflow", "keras", "tf_keras"})
    value_hazard = False  # `model.compile(...)` is a statement: its effect is the finding
    requires = (LOSS_NAMES, KIND_WORDS[PROBABILITY] | KIND_WORDS[LINEAR])
    requires_at = (frozenset({"compile"}),)

    def __init__(self) -> None:
        super().__init__()
        # The last layer `.add`ed to a Sequential model, per binding of the model's name (a `model` in
        # another function is another model), for the file being checked (`layers`).
        self._added: dict[int, cst.BaseExpression] = {}
        self._added_in: RuleContext | None = None

    @property
    def layers(self) -> dict[int, cst.BaseExpression]:
        if self._added_in is not self.ctx:  # a new file: no Module hook, so that a walk can go statement-wise
            self._added, self._added_in = {}, self.ctx
        return self._added

    def visit_Call(self, node: cst.Call) -> None:
        method = Exprs.method(node)
        if method == "add" and isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
            layer = self.x.arg(node, 0, "layer")
            model = self.r.lookup(node.func.value.value)
            if layer is not None and model is not None:
                self.layers[id(model)] = layer
            return
        if method != "compile" or not isinstance(node.func, cst.Attribute):
            return
        loss = self.x.arg(node, 1, "loss")
        if loss is None:
            return
        output = self._model_output(node.func.value)
        wants = self._loss_wants(loss)
        if output is None or wants is None:
            return
        if output.kind == PROBABILITY and output.family in ("softmax", "sigmoid") and wants == "logits":
            self.report(node, {"activation": output.family}, expr=shorten(node), model=f"`{source(node.func.value)}`",
                        last=f"applies a {output.family}", loss=f"`{shorten(loss)}` (from_logits=True)",
                        consequence=f"the loss applies a second {output.family} to the model's probabilities",
                        fix="drop the last activation (keep the logits) or set from_logits=False")
        elif output.kind == LINEAR and wants == "probabilities":
            self.report(node, {"activation": "none"}, expr=shorten(node), model=f"`{source(node.func.value)}`",
                        last="has no activation (it outputs logits)", loss=f"`{shorten(loss)}` (from_logits=False)",
                        consequence="the loss reads the logits as probabilities, clips them to [1e-7, 1 - 1e-7] "
                                    "and trains the wrong objective",
                        fix="pass from_logits=True to the loss, or end the model with a softmax/sigmoid")

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # The loss is changed, not the model: its outputs (what `predict` returns) stay as they are. A model
        # ending in a softmax/sigmoid with from_logits=True -> from_logits=False (the loss of the probabilities
        # it outputs); a model ending in logits with a probability loss -> the loss with from_logits=True.
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
            return None
        loss = self.x.arg(node, 1, "loss")
        output = self._model_output(node.func.value)
        if loss is None or output is None:
            return None
        if output.kind == PROBABILITY:
            if not isinstance(loss, cst.Call):
                return None
            edits = _set_keyword(loss, "from_logits", "False")
            return Fix(edits) if edits is not None else None
        if isinstance(loss, cst.Call):
            if any(a.keyword is None for a in loss.args):
                return None  # from_logits may be given positionally
            edits = _set_keyword(loss, "from_logits", "True")
            return Fix(edits) if edits is not None else None
        if isinstance(loss, cst.SimpleString):
            text = loss.evaluated_value
            spelled = self._keras_class(KERAS_LOSS_CLASSES[text]) if isinstance(text, str) else None
            return Fix((Replacement(loss, f"{spelled}(from_logits=True)"),)) if spelled is not None else None
        name = keras_name(self.r.qualname(loss)) or ""
        module, _, function = name.rpartition(".")
        if module != "keras.losses" or function not in KERAS_LOSS_CLASSES:
            return None  # keras.backend's functions have no loss class beside them
        if isinstance(loss, cst.Attribute):  # the prefix the code wrote: `tf.keras.losses.`, `losses.`
            return Fix((Replacement(loss, f"{source(loss.value)}.{KERAS_LOSS_CLASSES[function]}(from_logits=True)"),))
        qualname = (self.r.qualname(loss) or "").rpartition(".")[0]  # the Keras it was imported from
        spelled_class = self.spell(f"{qualname}.{KERAS_LOSS_CLASSES[function]}")
        if spelled_class is None:
            return None
        return Fix((Replacement(loss, f"{spelled_class.text}(from_logits=True)"),), spelled_class.imports)

    def _keras_class(self, name: str) -> str | None:
        """`keras.losses.<name>` spelled with the module's own Keras (keras, tf.keras, tf_keras); None when
        none is imported, or more than one (which one the model uses is then not said)."""
        spellings, found = set(), None
        for flavour in ("keras", "tensorflow.keras", "tf_keras"):
            spelled = self.spell(f"{flavour}.losses.{name}")
            if spelled is not None and not spelled.imports:
                spellings.add(flavour.split(".")[0])
                found = spelled.text
        return found if len(spellings) == 1 else None

    def _model_output(self, model: cst.BaseExpression) -> Value | None:
        value = self.v.value(model)
        if value.output is not None and value.output.kind in (PROBABILITY, LINEAR):
            return value.output
        binding = self.r.lookup(model.value) if isinstance(model, cst.Name) else None
        if binding is not None and id(binding) in self.layers:
            layer = self.v.value(self.layers[id(binding)])
            if layer.output is not None and layer.output.kind in (PROBABILITY, LINEAR):
                return layer.output
        return None

    def _loss_wants(self, loss: cst.BaseExpression) -> str | None:
        """'logits' or 'probabilities' for a loss given to compile (a string, a function or a loss object)."""
        if isinstance(loss, cst.SimpleString):
            text = loss.evaluated_value
            return "probabilities" if isinstance(text, str) and text in KERAS_LOSS_STRINGS else None
        if isinstance(loss, cst.Call):
            name = keras_name(self.r.call_name(loss))
            if name in CLASS_LOSSES and CLASS_LOSSES[name].keras:
                from_logits = _from_logits(loss)
                return None if from_logits is None else ("logits" if from_logits else "probabilities")
            return None
        name = keras_name(self.r.qualname(loss))
        if name in FUNCTION_LOSSES and FUNCTION_LOSSES[name].keras:
            return "probabilities"
        return None


# ---- MSL501: the hand-written cross-entropy -----------------------------------------------------------

_PREDICTION_NAME = re.compile(
    r"(^|_)(probs?|probas?|probabilit(y|ies)|preds?|predictions?|predicted|y_?hat|p_?hat|yhat|phat|y_?pred|"
    r"y_?prob|activations?|sigmoid|softmax|y_conv)$", re.IGNORECASE)


def _unminus(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    return node


class CrossEntropyOnProbabilities(CodeRule):
    """A hand-written (binary) cross-entropy on probabilities with no clip or eps: log(0) = -inf, and
    0 * -inf = NaN where the label is 0, as soon as one probability rounds to 0 or 1."""

    id = "MSL501"
    message = ("`{expr}` is a hand-written {what} on `{p}`{said}, with no clip or eps: where a probability rounds to "
               "{edge} the log is -inf and the loss inf or NaN; use {fix}.")
    # In the statement: `y * log(p) + (1 - y) * log(1 - p)` (a literal 1: `_is_complement`), or a sum or mean of
    # `y * log(p)` (`_check`).
    requires_either = (
        ((), (words.LOG_ONLY, words.MULTIPLY, words.ONE_WORDS)),
        ((), (words.LOG_ONLY, words.MULTIPLY, words.SUM | words.MEAN)),
    )

    def __init__(self) -> None:
        super().__init__()
        self._logs: tuple[cst.Call, ...] = ()  # the logs of the cross-entropy being reported, for its fix

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        # Statements are visited before the expressions in them: the claims made here keep MSL110/MSL111
        # silent on the logs and products of a cross-entropy this rule reports (one finding per hazard).
        if not any(isinstance(n, cst.Call) and self.x.op(n) == "log" for n in descendants(node)):
            return  # both shapes need a natural log call (`_log_term`): one cheap pass instead of one per term
        stack: list[cst.CSTNode] = [node]
        while stack:
            expr = stack.pop()
            if isinstance(expr, cst.BaseExpression) and self._check(expr):
                continue
            if isinstance(expr, (cst.Lambda, cst.Name)):
                continue
            stack.extend(reversed(children(expr)))  # trivia (strings, numbers, punctuation) left out

    def _log_term(self, node: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression, cst.Call] | None:
        """`factor * log(p)` (in either order, under unary minus) -> (factor, p, the log call)."""
        found = self.x.binop(_unminus(node))
        if found is None or found[0] != "multiply":
            return None
        _, left, right = found
        for factor, side in ((left, right), (right, left)):
            log = _unminus(side)
            if isinstance(log, cst.Call) and self.x.op(log) == "log" and len(log.args) == 1:
                return _unminus(factor), log.args[0].value, log
        return None

    def _terms(self, node: cst.BaseExpression) -> list[cst.BaseExpression]:
        """The summands of `a + b - c` (operators spelled as functions included)."""
        found = self.x.binop(_unminus(node))
        if found is not None and found[0] in ("add", "subtract"):
            return [*self._terms(found[1]), *self._terms(found[2])]
        return [node]

    def _check(self, node: cst.BaseExpression) -> bool:
        terms = self._terms(node)
        if len(terms) == 2:
            a, b = self._log_term(terms[0]), self._log_term(terms[1])
            if a is not None and b is not None:
                for (y, p, log_p), (ny, q, log_q) in ((a, b), (b, a)):
                    if _is_complement(self.x, ny, y) and _is_complement(self.x, q, p):
                        return self._binary(node, y, p, (log_p, log_q))
        inner = None
        for op in ("sum", "mean"):
            inner = inner or self.x.reduction_arg(node, op)
        if inner is None:
            return False
        term = self._log_term(inner)
        if term is None:
            return False
        y, p, log = term
        if same(y, p) or self.x.is_constant(y):
            return False
        value = self.v.value(p)
        if value.kind == PROBABILITY:
            if value.range.lo > 0:
                return False
        elif value.kind is not None or not self._named(p) or self._guarded(p):
            return False
        self._report(node, "cross-entropy", p, value, "0", (log,), binary=False)
        return True

    def _named(self, node: cst.BaseExpression) -> bool:
        """A parameter or attribute named as a prediction (`y_pred`, `probs`, `self.p_hat`)."""
        name = node.attr.value if isinstance(node, cst.Attribute) else node.value if isinstance(node, cst.Name) else ""
        return bool(_PREDICTION_NAME.search(name))

    def _guarded(self, p: cst.BaseExpression) -> bool:
        """log(p + eps), log(clip(p, ...)), p kept inside (0, 1) by the analysis."""
        found = self.x.binop(p)
        if found is not None and found[0] == "add":
            return True
        followed, before = self.x.follow(p)
        if self.x.is_guard_call(p) or self.x.is_guard_call(followed, before):
            return True
        rng = self.v.range(p)
        return rng.lo > 0 and rng.hi < 1

    def _binary(self, node: cst.BaseExpression, y: cst.BaseExpression, p: cst.BaseExpression,
                logs: tuple[cst.Call, cst.Call]) -> bool:
        if self._guarded(p):
            return False
        value = self.v.value(p)
        if value.kind not in (PROBABILITY, None):
            return False
        self._report(node, "binary cross-entropy", p, value, "0 or 1", logs, binary=True)
        return True

    def _report(self, node: cst.BaseExpression, what: str, p: cst.BaseExpression, value: Value, edge: str,
                logs: tuple[cst.Call, ...], binary: bool) -> None:
        for log in logs:
            self.ctx.claim("log-probability", log)
        for claimed in self._products(node):
            self.ctx.claim("guarded", claimed)
        root = (self.r.call_name(logs[0]) or "numpy").split(".")[0]
        z = source(value.argument) if value.kind == PROBABILITY and value.argument is not None else None
        if root == "torch":
            fix = (f"`F.binary_cross_entropy_with_logits({z}, y)`" if binary and z else
                   f"`F.cross_entropy({z}, target)`" if z else "`F.binary_cross_entropy` (it clamps the log at -100) "
                   "or `torch.clamp(p, eps, 1 - eps)`")
        elif root == "tensorflow":
            fix = (f"`tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits={z})`" if binary and z else
                   f"`tf.nn.softmax_cross_entropy_with_logits(labels=y, logits={z})`" if z else
                   "`tf.clip_by_value(p, eps, 1 - eps)` or the Keras loss with from_logits=True")
        else:
            fix = ("`sklearn.metrics.log_loss`, or `np.clip(p, eps, 1 - eps)` first" if not z else
                   f"`np.logaddexp(0, {z}) - y * {z}` (the loss on the logits)" if binary else
                   f"`-(y * scipy.special.log_softmax({z}, axis=-1)).sum()`")
        said = f" ({value.reason})" if value.reason else ""
        self._logs = logs
        self.report(node, {"probability": value.origin or source(p)}, expr=shorten(node), what=what,
                    p=shorten(p), said=said, edge=edge, fix=fix)
        self._logs = ()

    def fix(self, node: cst.CSTNode) -> Fix | None:
        # Each log of a probability computed from logits at hand becomes the log-probability computed from the
        # logits (MSL107's and MSL104's rewrites, which this finding claims): log(sigmoid(z)) -> log_sigmoid(z),
        # log(1 - sigmoid(z)) -> log_sigmoid(-z), log(softmax(z, axis)) -> log_softmax(z, axis). The rest of
        # the expression (labels, signs, reduction) is kept, so its shape is. Where any log is of a
        # probability without its logits, no fix: an eps or a clip depends on the dtype, which the code
        # does not say.
        if not self._logs:
            return None
        rewrite = log_of_sigmoid_fix if len(self._logs) == 2 else log_of_softmax_fix
        fixes = [rewrite(self, log) for log in self._logs]
        if any(f is None for f in fixes):
            return None
        replacements = tuple(r for f in fixes if f is not None for r in f.replacements)
        imports = tuple(dict.fromkeys(i for f in fixes if f is not None for i in f.imports))
        return Fix(replacements, imports)

    def _products(self, node: cst.BaseExpression) -> list[cst.BaseExpression]:
        out: list[cst.BaseExpression] = []
        stack: list[cst.CSTNode] = [node]
        while stack:
            expr = stack.pop()
            if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Multiply):
                out.append(expr)
            stack.extend(expr.children)
        return out


def _is_complement(x: Exprs, node: cst.BaseExpression, of: cst.BaseExpression) -> bool:
    """`1 - of` (or `tf.subtract(1, of)`)."""
    found = x.binop(node)
    return found is not None and found[0] == "subtract" and x.is_one(found[1]) and same(found[2], of)


# ---- MSL115 / MSL116: what the dtype in use can hold --------------------------------------------------

# Machine epsilon (the gap above 1; 1 - c rounds to 1 once c is below half the gap below 1 = eps / 4) and the
# smallest positive subnormal (a value below half of it rounds to 0): numpy.finfo / ml_dtypes.finfo.
EPSILON = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23, "float64": 2.0 ** -52}
SMALLEST = {"float16": 2.0 ** -24, "bfloat16": 2.0 ** -133, "float32": 2.0 ** -149, "float64": 2.0 ** -1074}
EXP_LIMIT = {"float16": math.log(65504.0), "bfloat16": 88.72, "float32": 88.72}
_DEFAULT_FLOAT = {"torch": "float32", "tensorflow": "float32", "jax": "float32", "keras": "float32"}
# A file that mentions any of these may compute in float64: the library default is not assumed there.
_WIDER_DEFAULTS = ("float64", "double", "set_default_dtype", "enable_x64", "set_floatx")


# IEEE half and single precision through `struct` (no numpy import on the linting path).
_STRUCT = {"float16": "e", "float32": "f"}


def _stored(value: float, dtype: str) -> float:
    code = _STRUCT[dtype]
    stored: float = struct.unpack(code, struct.pack(code, value))[0]
    return stored


def rounds_to_zero(c: float, dtype: str) -> bool:
    """Whether a positive constant c is stored as 0 in `dtype` (below half the smallest subnormal)."""
    if dtype in _STRUCT:
        return _stored(c, dtype) == 0
    return 0 < c < SMALLEST[dtype] / 2


def one_minus_is_one(c: float, dtype: str) -> bool:
    """Whether 1 - c rounds to 1 in `dtype` (c at most a quarter of its machine epsilon: half the gap below 1)."""
    if dtype in _STRUCT:
        return _stored(1 - c, dtype) == 1
    return 0 < c <= EPSILON[dtype] / 4


class EpsBelowPrecision(CodeRule):
    """An epsilon or clamp bound that vanishes in the dtype in use: the guard silently does nothing."""

    id = "MSL115"
    message = "`{expr}` {problem} in {dtype}{where}: the guard does nothing and `log` still gives -inf; {fix}."
    # A bound that vanishes: in float16 / bfloat16, any eps clamped at, or an added eps that rounds to 0 there (at
    # most 2**-25: a TINY literal, in the sum or a name assigned it: `_constant`); otherwise only a TINY literal
    # clamped at, with a dtype to measure it in (a dtype word, or a torch/TF/JAX/Keras call's default float:
    # `_dtype`).
    requires_either = (
        ((words.LOW_PRECISION,), (words.CLAMPS,)),
        ((words.LOW_PRECISION,), (frozenset({"+"}), frozenset({words.TINY}))),
        ((DTYPE_WORDS | frozenset(_DEFAULT_FLOAT),), (words.CLAMPS, frozenset({words.TINY}))),
    )

    def visit_Call(self, node: cst.Call) -> None:
        shape = self._clamp(node)
        if shape is None:
            return
        target, low, high = shape
        dtype, where = self._dtype(target, node)
        if dtype is None:
            return
        c = self._constant(low)
        if c is not None and 0 < c < 1 and rounds_to_zero(c, dtype):
            self.report(node, {"dtype": dtype, "bound": c}, expr=shorten(node), dtype=dtype, where=where,
                        problem=f"clamps at {c:g}, which is 0", fix=self._fix(dtype))
            return
        if high is None:
            return
        found = self.x.binop(high)
        if found is not None and found[0] == "subtract" and self.x.is_one(found[1]):
            c = self._constant(found[2])
            if c is not None and 0 < c < 1 and one_minus_is_one(c, dtype):
                self.report(node, {"dtype": dtype, "bound": 1 - c}, expr=shorten(node), dtype=dtype, where=where,
                            problem=f"clamps at `{shorten(high)}`, which is exactly 1", fix=self._fix(dtype))

    def _clamp(self, node: cst.Call) -> tuple[cst.BaseExpression, cst.BaseExpression | None,
                                              cst.BaseExpression | None] | None:
        """(value, lower bound, upper bound) of a clamp: `clip`/`clamp`/`clip_by_value`/`maximum` as functions,
        `.clamp()`/`.clip()`/`.clamp_min()` as methods."""
        name = self.r.call_name(node)
        method = Exprs.method(node) if name is None else None
        if name is not None:
            short = name.rsplit(".", 1)[-1]
            if self.x.op(node) != "guard" or short not in ("clip", "clamp", "clamp_min", "clip_by_value", "maximum",
                                                             "fmax"):
                return None
            target, offset = self.x.arg(node), 1
        elif method in ("clip", "clamp", "clamp_", "clip_", "clamp_min", "clamp_min_"):
            target, offset, short = Exprs.receiver(node), 0, method.rstrip("_")
        else:
            return None
        if target is None:
            return None
        low = self.x.arg(node, offset, "min") or self._keyword(node, ("clip_value_min", "a_min", "lower"))
        if short in ("maximum", "fmax", "clamp_min"):
            return target, low, None
        high = self.x.arg(node, offset + 1, "max") or self._keyword(node, ("clip_value_max", "a_max", "upper"))
        return target, low, high

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        # `p + eps` with eps that is 0 in p's dtype.
        if not isinstance(node.operator, cst.Add):
            return
        for value, eps in ((node.left, node.right), (node.right, node.left)):
            c = self._constant(eps)
            if c is None or not 0 < c < 1e-3:
                continue
            declared = self.v.dtype(value)
            if declared in ("float16", "bfloat16") and rounds_to_zero(c, declared):
                self.report(node, {"dtype": declared, "eps": c}, expr=shorten(node), dtype=declared, where="",
                            problem=f"adds {c:g}, which is 0", fix=self._fix(declared))
                return

    def _keyword(self, node: cst.Call, names: tuple[str, ...]) -> cst.BaseExpression | None:
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in names:
                return arg.value
        return None

    def _constant(self, node: cst.BaseExpression | None) -> float | None:
        if node is None:
            return None
        number = Exprs.number(node)
        if number is not None:
            return number
        followed, _ = self.x.follow(node)
        return Exprs.number(followed)

    def _dtype(self, target: cst.BaseExpression, call: cst.Call) -> tuple[str | None, str]:
        """The clamped value's dtype, else the library's default float for a torch/TF/JAX clamp (not numpy)."""
        declared = self.v.dtype(target)
        if declared is not None:
            return declared, ""
        root = (self.r.call_name(call) or "").split(".")[0]
        text = self.ctx.text
        if root in _DEFAULT_FLOAT and not any(word in text for word in _WIDER_DEFAULTS):
            return _DEFAULT_FLOAT[root], f" ({root}'s default dtype)"
        return None, ""

    @staticmethod
    def _fix(dtype: str) -> str:
        if dtype == "float16":
            return ("use an eps float16 can hold (at least 6e-8 as a value, 1e-3 next to 1) or compute the loss in "
                    "float32")
        return f"use an eps {dtype} can hold (at least {EPSILON[dtype] / 2:.1e} next to 1) or compute it in float64"


_LOW_PRECISION_OPS = {"exp", "log", "softmax", "logsumexp", "log_softmax"}


class LowPrecisionExpLog(CodeRule):
    """`exp`/`log`/`softmax`/`logsumexp` evaluated in float16 or bfloat16 outside an autocast region."""

    id = "MSL116"
    message = ("`{expr}` evaluates `{op}` in {dtype}{said}: {consequence}; upcast to float32 for the {purpose} "
               "(`.float()`, `astype(np.float32)`, `dtype=\"float32\"` on the last Keras layer).")
    requires = (words.LOW_PRECISION,)
    requires_at = (words.LOW_PRECISION_OPS,)

    def visit_Call(self, node: cst.Call) -> None:
        name = self.r.call_name(node)
        op = self._op(node, name)
        if op is None:
            return
        argument = self.x.arg(node) if name is not None else (
            Exprs.receiver(node) if isinstance(node.func, cst.Attribute) else None)
        if argument is None:
            return
        if any(self.r.autocast) and not (name or "").startswith(("numpy", "scipy")):
            return  # torch.autocast runs exp, log, softmax and logsumexp in float32
        value = self.v.value(argument)
        dtype = value.dtype
        if dtype not in ("float16", "bfloat16"):
            return
        if op == "exp" and (value.kind in (LINEAR,) or value.range.hi <= EXP_LIMIT[dtype]):
            return  # MSL109 reports a linear predictor's exp with the dtype's threshold; a bounded one is safe
        if op == "log" and (value.kind == LOG_PROBABILITY or value.range.lo >= SMALLEST[dtype] * 2 ** 14):
            return
        consequence = {
            "exp": f"exp overflows to inf above {EXP_LIMIT[dtype]:.2f} in {dtype}",
            "log": f"values below {SMALLEST[dtype]:.1e} are 0 in {dtype} and give -inf",
            "softmax": f"the exponentials overflow above {EXP_LIMIT[dtype]:.2f} and the sum keeps "
                       f"{int(-math.log2(EPSILON[dtype]))} bits" if dtype == "float16" else
                       "the normalising sum keeps 8 bits: the probabilities lose 2-3 digits",
            "log_softmax": "the log-sum-exp keeps too few bits: log-probabilities lose their small terms",
            "logsumexp": "the log-sum-exp keeps too few bits: small terms vanish from the sum",
        }[op]
        purpose = "loss and the softmax" if op in ("softmax", "log_softmax", "logsumexp") else "exp/log"
        self.report(node, {"dtype": dtype, "op": op}, expr=shorten(node), op=op, dtype=dtype,
                    said=f" ({value.reason})" if value.reason else "", consequence=consequence, purpose=purpose)

    def _op(self, node: cst.Call, name: str | None) -> str | None:
        if name is not None:
            if name in apis.EXP:
                return "exp"
            if name in apis.LOG:
                return "log"
            if name in apis.SOFTMAX:
                return "softmax"
            if name in apis.LOG_SOFTMAX:
                return "log_softmax"
            if name in apis.LOGSUMEXP and not name.startswith("numpy.logaddexp"):
                return "logsumexp"
            return None
        method = Exprs.method(node)
        return method if method in _LOW_PRECISION_OPS else None


RULES: list[type[CodeRule]] = [
    CrossEntropyOnProbabilities, DoubleSoftmax, SigmoidThenBCE, NllOnProbabilities, FromLogitsMismatch,
    EpsBelowPrecision, LowPrecisionExpLog,
]
