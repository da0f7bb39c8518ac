"""The loss fixes in TensorFlow, Keras and optax spellings (MSL502, MSL503, MSL505) and MSL501's in numpy,
checked numerically against cross-entropies computed with mpmath at 50 digits from the same logits.

TensorFlow, Keras, JAX and optax are not installed for the tests (too heavy): the tool's rewrite of each
snippet is run against numpy implementations of the formulas those libraries document
(tests/loss_reference.py), in the dtype of the inputs. What is verified is therefore the rewrite itself:
that the call it writes (the activation dropped, from_logits set, the with-logits loss chosen, the
arguments kept in their places) computes the cross-entropy of the logits, to a stated tolerance, in the
safe range and at the dtype's edge, where the original does not. The figures are on the pages.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlstablint.code.fixer import fix_text
from tests.loss_reference import (
    batches,
    binary_cross_entropy,
    cross_entropy,
    error,
    gap,
    keras_loss,
    libraries,
)
from tests.test_fix_numerics import CHECKER, DIGITS, SETTINGS, floats, forms

Forms = tuple[Callable[..., Any], Callable[..., Any]]


def library_forms(rule: str, params: str, body: str, imports: str) -> Forms:
    """(original, fixed) functions `f(params)`, fixed by the tool for `rule` only, that run against the
    reference implementations: the import lines (which the fixes here leave as they are) are not run."""
    source = f"{imports}\n\n\ndef f({params}):\n{body}"
    fixed, count, _ = fix_text(CHECKER, source, "snippet.py", (), lambda finding: finding.rule == rule)
    assert count >= 1 and fixed != source, f"{rule}: no fix applied to\n{source}"
    assert fixed.startswith(f"{imports}\n\n\n"), "these fixes add no import"
    return _run(source, imports), _run(fixed, imports)


def _run(source: str, imports: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = dict(libraries())
    exec(compile(source[len(imports):], "snippet.py", "exec"), namespace)  # test material written here
    function: Callable[..., Any] = namespace["f"]

    def quiet(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.asarray(function(*args))
    return quiet


TF, JAX = "import tensorflow as tf", "import jax\nimport optax"


# ---- MSL503 a probability loss on sigmoid(z) -> the loss on z; a with-logits loss on sigmoid(z) -> on z --------

# (snippet, reduction): "none" = one loss per element (inputs are columns, so Keras's mean over the last
# axis is the element's), "mean" = the mean over all.
ON_SIGMOID = {
    "keras function": (TF, "    return tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z))\n", "none"),
    "keras backend": (TF, "    return tf.keras.backend.binary_crossentropy(y, tf.sigmoid(z))\n", "none"),
    "keras object": (TF, "    return tf.keras.losses.BinaryCrossentropy()(y, tf.sigmoid(z))\n", "mean"),
    "tf1 log_loss": (TF, "    return tf.compat.v1.losses.log_loss(labels=y, predictions=tf.sigmoid(z))\n", "mean"),
}
SIGMOID_TWICE = {
    "tf.nn": (TF, "    return tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=tf.sigmoid(z))\n", "none"),
    "tf1": (TF, "    return tf.losses.sigmoid_cross_entropy(y, tf.sigmoid(z))\n", "mean"),
    "keras": (TF, "    return tf.keras.losses.binary_crossentropy(y, tf.sigmoid(z), from_logits=True)\n", "none"),
    "optax": (JAX, "    return optax.sigmoid_binary_cross_entropy(jax.nn.sigmoid(z), y)\n", "none"),
}


def _binary(case: tuple[str, str, str], pairs: list[tuple[float, float]], dtype: type) -> list[tuple[float, float,
                                                                                                      float, mp.mpf]]:
    """(fixed, original, |z| scale, reference) per element, or once for the mean."""
    original, fixed = library_forms("MSL503", "z, y", case[1], case[0])
    z = np.array([[p[0]] for p in pairs], dtype=dtype)
    y = np.array([[p[1]] for p in pairs], dtype=dtype)
    got, before = fixed(z, y), original(z, y)
    # The reference from the logits as the dtype holds them.
    references = [binary_cross_entropy(float(zi), float(yi)) for zi, yi in zip(z.ravel(), y.ravel(), strict=True)]
    if case[2] == "mean":
        with mp.workdps(DIGITS):
            return [(float(got), float(before), float(np.abs(z).max()), mp.fsum(references) / len(references))]
    return [(float(g), float(b), abs(float(zi)), r)
            for g, b, zi, r in zip(got.ravel(), before.ravel(), z.ravel(), references, strict=True)]


@pytest.mark.parametrize("case", sorted(ON_SIGMOID))
@SETTINGS
@given(st.lists(st.tuples(floats(-10.0, 10.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl503_probability_loss_on_sigmoid_fixed_in_the_safe_range(case: str,
                                                                    pairs: list[tuple[float, float]]) -> None:
    for got, _, scale, reference in _binary(ON_SIGMOID[case], pairs, np.float64):
        assert error(got, reference, scale) <= 1e-15


@pytest.mark.parametrize("case", sorted(ON_SIGMOID))
@SETTINGS
@given(st.lists(floats(17.5, 80.0), min_size=1, max_size=8))
def test_msl503_probability_loss_on_sigmoid_at_the_edge(case: str, magnitudes: list[float]) -> None:
    # float32, y = 0: past z = 17 the sigmoid rounds to 1; Keras clips it to 1 - 1e-7 and adds 1e-7 in the log,
    # log_loss adds 1e-7: the loss is capped at 15.3 / 16.1 where the reference is z.
    for got, before, scale, reference in _binary(ON_SIGMOID[case], [(m, 0.0) for m in magnitudes], np.float32):
        assert error(got, reference, scale) <= 5e-7
        assert before <= 16.2 and error(before, reference, scale) > 0.05


@pytest.mark.parametrize("case", sorted(SIGMOID_TWICE))
@SETTINGS
@given(st.lists(st.tuples(floats(-50.0, 50.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl503_second_sigmoid_removed(case: str, pairs: list[tuple[float, float]]) -> None:
    for got, before, scale, reference in _binary(SIGMOID_TWICE[case], pairs, np.float64):
        assert error(got, reference, scale) <= 1e-15
        if SIGMOID_TWICE[case][2] == "none" and abs(1 / (1 + np.exp(-scale)) - scale) > 0.05:
            assert gap(before, reference) > 1e-4  # a second sigmoid: a different loss


# ---- MSL502 a softmax loss on softmax(z) -> the loss on z --------------------------------------------------

# (imports, body, labels): "onehot" or "index" labels; every form is reduced to its mean here.
SOFTMAX_TWICE = {
    "tf.nn": (TF, "    return tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=tf.nn.softmax(z))\n", "onehot"),
    "tf1": (TF, "    return tf.losses.softmax_cross_entropy(y, tf.nn.softmax(z))\n", "onehot"),
    "keras object": (TF, "    return tf.keras.losses.CategoricalCrossentropy(from_logits=True)(y, tf.nn.softmax(z))\n",
                     "onehot"),
    "keras function": (TF, "    return tf.keras.losses.sparse_categorical_crossentropy(y, tf.nn.softmax(z, axis=-1), "
                           "from_logits=True)\n", "index"),
    "optax": (JAX, "    return optax.softmax_cross_entropy(jax.nn.softmax(z), y)\n", "onehot"),
    "optax integer labels": (JAX, "    return optax.softmax_cross_entropy_with_integer_labels(jax.nn.softmax(z), y)\n",
                             "index"),
}
# As for torch (tests/test_fix_numerics_losses.py): eight ulps of the dtype, scaled by the logits.
SAFE_AND_EDGE = [(-10.0, 10.0, np.float64, 2e-15), (-1e4, 1e4, np.float32, 1e-6)]


@pytest.mark.parametrize("case", sorted(SOFTMAX_TWICE))
@pytest.mark.parametrize(("low", "high", "dtype", "tolerance"), SAFE_AND_EDGE)
@SETTINGS
@given(data=st.data())
def test_msl502_fixed_is_the_cross_entropy_of_the_logits(case: str, low: float, high: float, dtype: type,
                                                         tolerance: float, data: st.DataObject) -> None:
    imports, body, labels = SOFTMAX_TWICE[case]
    original, fixed = library_forms("MSL502", "z, y", body, imports)
    rows, targets = data.draw(batches(low, high))
    assume(all(max(row) - min(row) > 1.0 for row in rows))  # equal logits: both forms give log(classes)
    z = np.array(rows, dtype=dtype)
    y = np.eye(z.shape[1], dtype=dtype)[targets] if labels == "onehot" else np.array(targets)
    reference = cross_entropy(z.astype(np.float64).tolist(), targets)
    assert error(float(np.mean(fixed(z, y))), reference, float(np.abs(z).max())) <= tolerance
    assert gap(float(np.mean(original(z, y))), reference) > 1e-3


# ---- MSL505 model.compile(loss=...) -> the loss that reads what the model outputs ---------------------------

def _compiled_losses(model: str, loss: str) -> tuple[Any, Any]:
    """The `loss=` of `model.compile(...)` as written and as the tool fixes it, evaluated with the reference
    Keras, as what compile trains with."""
    source = (f"from tensorflow import keras\n\nmodel = keras.Sequential([\n    keras.layers.Dense(64, "
              f"activation=\"relu\"),\n    {model},\n])\nmodel.compile(optimizer=\"adam\", loss={loss})\n")
    fixed, count, _ = fix_text(CHECKER, source, "snippet.py", (), lambda finding: finding.rule == "MSL505")
    assert count == 1

    def spec(text: str) -> Any:
        call = ast.parse(text).body[-1]
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        expression = next(k.value for k in call.value.keywords if k.arg == "loss")
        return keras_loss(eval(compile(ast.Expression(expression), "loss", "eval"), dict(libraries())))
    return spec(source), spec(fixed)


LOGITS_OUT = _compiled_losses("keras.layers.Dense(10)", "\"sparse_categorical_crossentropy\"")
PROBABILITIES_OUT = _compiled_losses("keras.layers.Dense(10, activation=\"softmax\")",
                                     "keras.losses.SparseCategoricalCrossentropy(from_logits=True)")


@pytest.mark.parametrize(("low", "high", "dtype", "tolerance"), SAFE_AND_EDGE)
@SETTINGS
@given(data=st.data())
def test_msl505_logits_out_fixed_is_the_cross_entropy(low: float, high: float, dtype: type, tolerance: float,
                                                      data: st.DataObject) -> None:
    # The model outputs z; the fixed loss reads it as logits.
    _, fixed = LOGITS_OUT
    rows, targets = data.draw(batches(low, high))
    z = np.array(rows, dtype=dtype)
    reference = cross_entropy(z.astype(np.float64).tolist(), targets)
    with np.errstate(all="ignore"):
        assert error(float(fixed(np.array(targets), z)), reference, float(np.abs(z).max())) <= tolerance


def test_msl505_logits_out_original_trains_on_clipped_logits() -> None:
    # Logits [2, -1, 0.5], target 0: Keras normalises them by their sum (1.5) and clips to [1e-7, 1 - 1e-7].
    original, fixed = LOGITS_OUT
    z, t = np.array([[2.0, -1.0, 0.5]]), np.array([0])
    reference = cross_entropy(z.tolist(), [0])
    with np.errstate(all="ignore"):
        assert gap(float(original(t, z)), reference) > 0.2
    assert error(float(fixed(t, z)), reference, 2.0) <= 2e-16


@SETTINGS
@given(data=st.data())
def test_msl505_probabilities_out_fixed_in_the_safe_range(data: st.DataObject) -> None:
    # The model outputs softmax(z); the fixed loss reads probabilities. Keras clips them at 1e-7: the range
    # where every probability is above it (logits within 10 of each other, K <= 6: p >= 7.5e-6) is exact.
    original, fixed = PROBABILITIES_OUT
    for dtype, tolerance in ((np.float64, 1e-15), (np.float32, 2e-7)):
        rows, targets = data.draw(batches(-5.0, 5.0))
        z = np.array(rows, dtype=dtype)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p = p / p.sum(axis=1, keepdims=True)  # the model's softmax layer, in its dtype
        reference = cross_entropy(z.astype(np.float64).tolist(), targets)
        assert error(float(fixed(np.array(targets), p)), reference, float(np.abs(z).max())) <= tolerance
        if all(max(row) - min(row) > 1.0 for row in rows):
            assert gap(float(original(np.array(targets), p)), reference) > 1e-3  # a second softmax


def test_msl505_probabilities_out_fixed_is_capped_past_the_clip() -> None:
    # What from_logits=False cannot do from probabilities alone (when Keras does not recover the logits it
    # cached on its own softmax): a probability below 1e-7 is clipped there, the loss capped at -log(1e-7).
    _, fixed = PROBABILITIES_OUT
    z = np.array([[0.0, 20.0, 0.0]])
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert abs(float(fixed(np.array([0]), p)) - -np.log(1e-7)) < 1e-9
    assert float(cross_entropy(z.tolist(), [0])) > 20.0


# ---- MSL501 the hand-written cross-entropy on expit(z) / softmax(z): the logs on the logits ------------------

SCIPY = "import numpy as np\nfrom scipy import special"
HAND_WRITTEN = forms("MSL501", "z, y", "    return -(y * np.log(special.expit(z)) + (1 - y) * np.log(1 - special.expit(z)))\n",
                     SCIPY)
HAND_WRITTEN_CATEGORICAL = forms("MSL501", "z, y", "    return -np.sum(y * np.log(special.softmax(z, axis=1)), axis=1)\n",
                                 SCIPY)


def _per_element(pairs: list[tuple[float, float]]) -> list[tuple[float, float, float, mp.mpf]]:
    original, fixed = HAND_WRITTEN
    z, y = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return [(float(g), float(b), zi, binary_cross_entropy(zi, yi))
            for g, b, (zi, yi) in zip(fixed(z, y), original(z, y), pairs, strict=True)]


@SETTINGS
@given(st.lists(st.tuples(floats(-10.0, 10.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl501_agrees_in_the_safe_range(pairs: list[tuple[float, float]]) -> None:
    for got, before, zi, reference in _per_element(pairs):
        assert error(got, reference, zi) <= 1e-15
        assert error(before, reference, zi) <= 1e-12  # 1 - expit(z) loses digits as |z| grows, not yet all


@SETTINGS
@given(st.lists(st.tuples(floats(37.5, 700.0), st.sampled_from([0.0, 1.0])), min_size=1, max_size=8))
def test_msl501_at_the_edge(pairs: list[tuple[float, float]]) -> None:
    # float64: past z = 37 expit rounds to 1 and log(1 - 1) = -inf: the original is inf (y = 0) or NaN (y = 1).
    for got, before, zi, reference in _per_element(pairs):
        assert error(got, reference, zi) <= 1e-15
        assert not np.isfinite(before)


@SETTINGS
@given(data=st.data())
def test_msl501_categorical_fixed_is_the_cross_entropy(data: st.DataObject) -> None:
    original, fixed = HAND_WRITTEN_CATEGORICAL
    for low, high, edge in ((-10.0, 10.0, False), (-2e3, 2e3, True)):
        rows, targets = data.draw(batches(low, high))
        z = np.array(rows)
        y = np.eye(z.shape[1])[targets]
        got, before = fixed(z, y), original(z, y)
        for row, target, value, was in zip(rows, targets, got, before, strict=True):
            reference = cross_entropy([row], [target])
            assert error(float(value), reference, max(abs(v) for v in row)) <= 2e-15
            if not edge:
                assert error(float(was), reference, max(abs(v) for v in row)) <= 1e-14
            elif max(row) - min(row) > 746:  # a probability underflows to 0: 0 * log(0) = NaN
                assert not np.isfinite(was)
