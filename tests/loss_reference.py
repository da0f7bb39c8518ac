"""References for the loss fixes' numerical tests (tests/test_fix_numerics_loss*.py).

- Cross-entropies at 50 digits with mpmath, from the logits: the truth every fixed loss is measured against.
- The TensorFlow, Keras, optax and JAX losses and activations that the fixes rewrite, implemented in numpy
  from the formulas their documentation states, for the machines where those libraries are not installed
  (they are not test dependencies: too heavy). The tool's rewrite is run against them in the input's dtype;
  each function cites the formula it implements. They are written here from the documentation, not copied.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import mpmath as mp
import numpy as np
from hypothesis import strategies as st
from scipy import special

from tests.test_fix_numerics import DIGITS, floats

Array = Any


def cross_entropy(rows: list[list[float]], targets: list[int]) -> mp.mpf:
    """Mean of logsumexp(z) - z[target] over the rows, at 50 digits."""
    with mp.workdps(DIGITS):
        total = mp.fsum(mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in row)) - mp.mpf(row[t])
                        for row, t in zip(rows, targets, strict=True))
        return total / len(rows)


def binary_cross_entropy(z: float, y: float) -> mp.mpf:
    """-(y log s(z) + (1 - y) log(1 - s(z))) = y log(1 + e^-z) + (1 - y) log(1 + e^z), at 50 digits."""
    with mp.workdps(DIGITS):
        zm = mp.mpf(z)
        return mp.mpf(y) * mp.log1p(mp.exp(-zm)) + (1 - mp.mpf(y)) * mp.log1p(mp.exp(zm))


def error(value: float, reference: mp.mpf, logits: float) -> float:
    """|value - reference| / (1 + |logits|): a loss is a difference of terms as large as the logits (z[t] and
    logsumexp(z)), so a stable computation is accurate to a few ulps of the logits, not of the loss."""
    if not np.isfinite(value):
        return float("inf")
    with mp.workdps(DIGITS):
        return float(abs(mp.mpf(value) - reference) / (1 + abs(mp.mpf(logits))))


def gap(value: float, reference: mp.mpf) -> float:
    with mp.workdps(DIGITS):
        return float(abs(mp.mpf(value) - reference)) if np.isfinite(value) else float("inf")


@st.composite
def batches(draw: st.DrawFn, low: float, high: float) -> tuple[list[list[float]], list[int]]:
    classes = draw(st.integers(2, 6))
    rows = draw(st.lists(st.lists(floats(low, high), min_size=classes, max_size=classes), min_size=1, max_size=6))
    targets = draw(st.lists(st.integers(0, classes - 1), min_size=len(rows), max_size=len(rows)))
    return rows, targets


# ---- the libraries' documented formulas, in numpy ---------------------------------------------------------

KERAS_EPSILON = 1e-7  # keras.backend.epsilon()


def _sigmoid(x: Array) -> Array:
    return special.expit(x)


def _softmax(x: Array, axis: int | None = -1) -> Array:
    """softmax(x) = exp(x - max) / sum(exp(x - max)) over `axis` (tf.nn.softmax: None means the last)."""
    return special.softmax(x, axis=-1 if axis is None else axis)


def sigmoid_cross_entropy_with_logits(labels: Array, logits: Array) -> Array:
    """tf.nn.sigmoid_cross_entropy_with_logits: `max(x, 0) - x * z + log(1 + exp(-abs(x)))` (its docs)."""
    x, z = np.asarray(logits), np.asarray(labels, dtype=np.asarray(logits).dtype)
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


def softmax_cross_entropy_with_logits(labels: Array, logits: Array, axis: int = -1) -> Array:
    """tf.nn.softmax_cross_entropy_with_logits: `-sum(labels * log_softmax(logits), axis)`."""
    x = np.asarray(logits)
    return -np.sum(np.asarray(labels, dtype=x.dtype) * special.log_softmax(x, axis=axis), axis=axis)


def _one_hot(targets: Array, like: Array) -> Array:
    return np.eye(like.shape[-1], dtype=like.dtype)[np.asarray(targets)]


def keras_binary_crossentropy(y_true: Array, y_pred: Array, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> Array:
    """keras.losses.binary_crossentropy (tf.keras 2): on probabilities, clipped to [eps, 1 - eps] with eps added
    inside the logs; from_logits=True: tf.nn.sigmoid_cross_entropy_with_logits. Mean over `axis`."""
    y_pred = np.asarray(y_pred)
    y = np.asarray(y_true, dtype=y_pred.dtype) * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return np.mean(sigmoid_cross_entropy_with_logits(y, y_pred), axis=axis)
    eps = y_pred.dtype.type(KERAS_EPSILON)
    p = np.clip(y_pred, eps, 1 - eps)
    return np.mean(-(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)), axis=axis)


def keras_backend_binary_crossentropy(target: Array, output: Array, from_logits: bool = False) -> Array:
    """keras.backend.binary_crossentropy: the same per element, without the mean over an axis."""
    return keras_binary_crossentropy(np.expand_dims(target, -1), np.expand_dims(output, -1), from_logits)


def keras_categorical_crossentropy(y_true: Array, y_pred: Array, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> Array:
    """keras.losses.categorical_crossentropy (tf.keras 2): on probabilities, normalised by their sum over `axis`
    and clipped to [eps, 1 - eps]: `-sum(y * log(p), axis)`; from_logits=True: the softmax cross-entropy."""
    y_pred = np.asarray(y_pred)
    y = np.asarray(y_true, dtype=y_pred.dtype)
    y = y * (1 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return softmax_cross_entropy_with_logits(y, y_pred, axis)
    eps = y_pred.dtype.type(KERAS_EPSILON)
    p = np.clip(y_pred / np.sum(y_pred, axis=axis, keepdims=True), eps, 1 - eps)
    return -np.sum(y * np.log(p), axis=axis)


def keras_sparse_categorical_crossentropy(y_true: Array, y_pred: Array, from_logits: bool = False,
                                          axis: int = -1) -> Array:
    """keras.losses.sparse_categorical_crossentropy: the categorical one on one-hot labels."""
    return keras_categorical_crossentropy(_one_hot(y_true, np.asarray(y_pred)), y_pred, from_logits, axis=axis)


class _KerasLoss:
    """A Keras loss object: the function's values averaged over the batch (reduction sum_over_batch_size)."""

    function: Any = None

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __call__(self, y_true: Array, y_pred: Array) -> Array:
        return np.mean(type(self).function(y_true, y_pred, **self.options))


class BinaryCrossentropy(_KerasLoss):
    function = staticmethod(keras_binary_crossentropy)


class CategoricalCrossentropy(_KerasLoss):
    function = staticmethod(keras_categorical_crossentropy)


class SparseCategoricalCrossentropy(_KerasLoss):
    function = staticmethod(keras_sparse_categorical_crossentropy)


_KERAS_STRINGS = {"binary_crossentropy": keras_binary_crossentropy,
                  "categorical_crossentropy": keras_categorical_crossentropy,
                  "sparse_categorical_crossentropy": keras_sparse_categorical_crossentropy}


def keras_loss(spec: Any) -> Any:
    """What `model.compile(loss=spec)` trains with: a string names the loss function (keras.losses.get); a
    function's values are averaged over the batch, as a loss object's are."""
    function = _KERAS_STRINGS[spec] if isinstance(spec, str) else spec
    if isinstance(function, _KerasLoss):
        return function
    return lambda y_true, y_pred: np.mean(function(y_true, y_pred))


def v1_log_loss(labels: Array, predictions: Array, weights: float = 1.0, epsilon: float = 1e-7) -> Array:
    """tf.compat.v1.losses.log_loss: `-labels log(p + eps) - (1 - labels) log(1 - p + eps)`, reduced by
    SUM_BY_NONZERO_WEIGHTS (the mean, for weights of 1)."""
    p = np.asarray(predictions)
    y = np.asarray(labels, dtype=p.dtype)
    eps = p.dtype.type(epsilon)
    return np.mean(weights * (-y * np.log(p + eps) - (1 - y) * np.log(1 - p + eps)))


def v1_sigmoid_cross_entropy(multi_class_labels: Array, logits: Array, weights: float = 1.0) -> Array:
    """tf.compat.v1.losses.sigmoid_cross_entropy: the sigmoid cross-entropy with logits, SUM_BY_NONZERO_WEIGHTS."""
    return np.mean(weights * sigmoid_cross_entropy_with_logits(multi_class_labels, logits))


def v1_softmax_cross_entropy(onehot_labels: Array, logits: Array, weights: float = 1.0) -> Array:
    """tf.compat.v1.losses.softmax_cross_entropy: the softmax cross-entropy with logits, SUM_BY_NONZERO_WEIGHTS."""
    return np.mean(weights * softmax_cross_entropy_with_logits(onehot_labels, logits))


def optax_sigmoid_binary_cross_entropy(logits: Array, labels: Array) -> Array:
    """optax.sigmoid_binary_cross_entropy: `-labels log_sigmoid(x) - (1 - labels) log_sigmoid(-x)`, elementwise."""
    x = np.asarray(logits)
    y = np.asarray(labels, dtype=x.dtype)
    return -y * special.log_expit(x) - (1 - y) * special.log_expit(-x)


def optax_softmax_cross_entropy(logits: Array, labels: Array, axis: int = -1) -> Array:
    """optax.softmax_cross_entropy: `-sum(labels * log_softmax(logits), axis)`."""
    return softmax_cross_entropy_with_logits(labels, logits, axis)


def optax_softmax_cross_entropy_with_integer_labels(logits: Array, labels: Array, axis: int = -1) -> Array:
    """optax.softmax_cross_entropy_with_integer_labels: `logsumexp(logits) - logits[label]`."""
    return optax_softmax_cross_entropy(logits, _one_hot(labels, np.asarray(logits)), axis)


def libraries() -> dict[str, SimpleNamespace]:
    """`tf`, `keras`, `jax` and `optax` as the tests' snippets name them."""
    losses = SimpleNamespace(
        binary_crossentropy=keras_binary_crossentropy, categorical_crossentropy=keras_categorical_crossentropy,
        sparse_categorical_crossentropy=keras_sparse_categorical_crossentropy, BinaryCrossentropy=BinaryCrossentropy,
        CategoricalCrossentropy=CategoricalCrossentropy, SparseCategoricalCrossentropy=SparseCategoricalCrossentropy)
    keras = SimpleNamespace(losses=losses, activations=SimpleNamespace(sigmoid=_sigmoid, softmax=_softmax),
                            backend=SimpleNamespace(binary_crossentropy=keras_backend_binary_crossentropy))
    v1_losses = SimpleNamespace(log_loss=v1_log_loss, sigmoid_cross_entropy=v1_sigmoid_cross_entropy,
                                softmax_cross_entropy=v1_softmax_cross_entropy)
    tf = SimpleNamespace(
        sigmoid=_sigmoid, keras=keras, losses=v1_losses, compat=SimpleNamespace(v1=SimpleNamespace(losses=v1_losses)),
        nn=SimpleNamespace(sigmoid=_sigmoid, softmax=_softmax,
                           sigmoid_cross_entropy_with_logits=sigmoid_cross_entropy_with_logits,
                           softmax_cross_entropy_with_logits=softmax_cross_entropy_with_logits))
    jax = SimpleNamespace(nn=SimpleNamespace(sigmoid=_sigmoid, softmax=_softmax))
    optax = SimpleNamespace(
        sigmoid_binary_cross_entropy=optax_sigmoid_binary_cross_entropy,
        softmax_cross_entropy=optax_softmax_cross_entropy,
        softmax_cross_entropy_with_integer_labels=optax_softmax_cross_entropy_with_integer_labels)
    return {"tf": tf, "keras": keras, "jax": jax, "optax": optax}
