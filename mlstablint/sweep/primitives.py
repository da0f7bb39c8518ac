"""Numerically stable primitives, and the naive twins that the lab's "naive loss" arms use.

The stable forms never evaluate `exp` of a large positive number:

* `logsumexp(a) = m + log(sum(exp(a - m)))` with `m = max(a)` (the max-shift), so every exponent is ≤ 0;
* `softmax` and `log_softmax` use the same shift, and `log_softmax` subtracts in the shifted frame
  (`(a - m) - log(sum(exp(a - m)))`) so large `m` does not cancel against itself;
* `sigmoid`, `log_sigmoid` and `softplus` are piecewise in the sign of x and only ever call
  `exp(-|x|)`, which cannot overflow (it can underflow to 0, which is harmless there);
* the log-losses are computed from *logits* through `softplus` / `log_softmax`, never as
  `log(probability)`; the probability form (`log_loss`) clips like `sklearn.metrics.log_loss`.

Every function preserves a floating input's dtype (float16 in, float16 out, bfloat16 too; integers
become float64). Reductions over float16 and bfloat16 accumulate in float32 and round the result back
to the 16-bit dtype, as numpy's own float16 dot product and GPU mixed-precision kernels do; elementwise work
stays in the input dtype. The naive twins are the textbook formulas (`log(sum(exp(a)))`, `exp(a) / sum(exp(a))`,
`1 / (1 + exp(-x))`, `-(y log p + (1 - y) log(1 - p))`): they overflow, return inf or NaN where the
stable forms stay finite, and the tests show both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]
ArrayLike = npt.ArrayLike


# bfloat16 (from ml_dtypes) is a floating dtype to the lab, although numpy files it as kind "V".
BFLOAT16: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
HALF_DTYPES = (np.dtype(np.float16), BFLOAT16)


def as_float(a: ArrayLike) -> FloatArray:
    """`a` as a floating array: floating dtypes (bfloat16 included) are kept, anything else becomes float64."""
    arr: FloatArray = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.floating) and arr.dtype != BFLOAT16:
        arr = arr.astype(np.float64)
    return arr


def _acc(dtype: np.dtype[Any]) -> np.dtype[Any] | None:
    """The accumulator dtype of a reduction over `dtype`: float32 for the 16-bit floats, else the dtype itself."""
    return np.dtype(np.float32) if dtype in HALF_DTYPES else None


def _mean(values: FloatArray, dtype: np.dtype[Any]) -> FloatArray:
    """The mean of `values`, accumulated as `_acc` says, returned in `dtype` (a 0-d array)."""
    return np.asarray(np.mean(values, dtype=_acc(dtype)).astype(dtype))


def _shift(a: FloatArray, axis: int | None) -> FloatArray:
    """The max along `axis` (keepdims), with non-finite maxima replaced by 0 so `a - m` stays defined."""
    m = np.max(a, axis=axis, keepdims=True)
    return np.asarray(np.where(np.isfinite(m), m, np.zeros_like(m)), dtype=a.dtype)


# ---------------------------------------------------------------------------------------------
# stable forms


def logsumexp(a: ArrayLike, axis: int | None = None, keepdims: bool = False) -> FloatArray:
    """log(sum(exp(a))) along `axis` by the max-shift; finite wherever the answer is representable."""
    x = as_float(a)
    m = _shift(x, axis)
    with np.errstate(under="ignore", divide="ignore"):
        s = np.sum(np.exp(x - m), axis=axis, keepdims=True, dtype=_acc(x.dtype))
        out = (np.log(s) + m).astype(x.dtype, copy=False)
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return np.asarray(out)


def softmax(a: ArrayLike, axis: int = -1) -> FloatArray:
    """exp(a) / sum(exp(a)) along `axis`, computed on `a - max(a)`."""
    x = as_float(a)
    with np.errstate(under="ignore"):
        e = np.exp(x - _shift(x, axis))
        s = np.sum(e, axis=axis, keepdims=True, dtype=_acc(x.dtype))
        return np.asarray((e / s).astype(x.dtype, copy=False))


def log_softmax(a: ArrayLike, axis: int = -1) -> FloatArray:
    """a - logsumexp(a) along `axis`, subtracting in the shifted frame."""
    x = as_float(a)
    shifted = x - _shift(x, axis)
    with np.errstate(under="ignore", divide="ignore"):
        s = np.sum(np.exp(shifted), axis=axis, keepdims=True, dtype=_acc(x.dtype))
        return np.asarray((shifted - np.log(s)).astype(x.dtype, copy=False))


def sigmoid(x: ArrayLike) -> FloatArray:
    """1 / (1 + exp(-x)), piecewise: `1/(1+e)` for x ≥ 0 and `e/(1+e)` for x < 0, with e = exp(-|x|)."""
    v = as_float(x)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(v))
        return np.asarray(np.where(v >= 0, 1 / (1 + e), e / (1 + e)).astype(v.dtype, copy=False))


def softplus(x: ArrayLike) -> FloatArray:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    v = as_float(x)
    with np.errstate(under="ignore"):
        return np.asarray((np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))).astype(v.dtype, copy=False))


def log_sigmoid(x: ArrayLike) -> FloatArray:
    """log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    v = as_float(x)
    with np.errstate(under="ignore"):
        return np.asarray((np.minimum(v, 0) - np.log1p(np.exp(-np.abs(v)))).astype(v.dtype, copy=False))


def binary_log_loss_from_logits(y: ArrayLike, z: ArrayLike) -> FloatArray:
    """Mean binary cross-entropy of labels y ∈ {0, 1} given logits z: mean(softplus(z) - y·z).

    Equal to -mean(y·log σ(z) + (1 - y)·log(1 - σ(z))) without ever forming σ(z); exact for any
    finite z (a wrong prediction at logit 1000 costs 1000, not a clipped 36).
    """
    zz = as_float(z)
    yy = np.asarray(y).astype(zz.dtype)
    per_row = softplus(zz) - yy * zz
    return _mean(per_row, zz.dtype)


def softmax_cross_entropy(y: ArrayLike, z: ArrayLike) -> FloatArray:
    """Mean multiclass cross-entropy of class indices y given logits z (rows × classes), via log_softmax."""
    return _cross_entropy(y, z, log_softmax)


def _cross_entropy(y: ArrayLike, z: ArrayLike, log_probabilities: Callable[..., FloatArray]) -> FloatArray:
    """-mean of the true classes' log-probabilities, computed from logits by `log_probabilities`."""
    zz = as_float(z)
    idx = np.asarray(y, dtype=np.intp)
    picked = np.take_along_axis(log_probabilities(zz, axis=1), idx[:, None], axis=1)[:, 0]
    return _mean(-picked, zz.dtype)


def log_loss(y_true: ArrayLike, proba: ArrayLike, labels: ArrayLike | None = None) -> float:
    """Log-loss from probabilities, like `sklearn.metrics.log_loss` (binary or multiclass).

    `proba` is a vector of P(positive class) or a rows × classes matrix; probabilities are clipped to
    [eps, 1 - eps] with eps the machine epsilon of their dtype (as sklearn does), and each row is
    renormalised. Columns follow the sorted labels (those of `labels` when given, else of `y_true`).
    """
    p = as_float(proba)
    yt = np.asarray(y_true)
    classes = np.unique(yt if labels is None else np.asarray(labels))
    if p.ndim == 1:
        p = np.stack([1 - p, p], axis=1)
    if p.shape[1] != len(classes):
        raise ValueError(f"proba has {p.shape[1]} columns for {len(classes)} classes")
    eps = float(np.finfo(p.dtype).eps)
    p64 = np.clip(p.astype(np.float64), eps, 1 - eps)
    p64 = p64 / p64.sum(axis=1, keepdims=True)
    col = np.searchsorted(classes, yt)
    return float(-np.mean(np.log(p64[np.arange(len(yt)), col])))


# ---------------------------------------------------------------------------------------------
# naive twins (deliberately unstable: the lab's "naive loss" arms and the tests' counter-examples)


def naive_logsumexp(a: ArrayLike, axis: int | None = None) -> FloatArray:
    """log(sum(exp(a))): overflows to inf once any a exceeds log(max float) (≈ 709.8 in float64, 88.7 in float32,
    11.1 in float16), and gives -inf once every a is below the underflow threshold."""
    x = as_float(a)
    return np.asarray(np.log(np.sum(np.exp(x), axis=axis, dtype=_acc(x.dtype))).astype(x.dtype))


def naive_softmax(a: ArrayLike, axis: int = -1) -> FloatArray:
    """exp(a) / sum(exp(a)): inf / inf = NaN as soon as the largest exp overflows."""
    x = as_float(a)
    e = np.exp(x)
    return np.asarray((e / np.sum(e, axis=axis, keepdims=True, dtype=_acc(x.dtype))).astype(x.dtype))


def naive_log_softmax(a: ArrayLike, axis: int = -1) -> FloatArray:
    """log(softmax(a)) from the naive softmax: -inf where a probability underflows to 0, NaN after overflow."""
    return np.asarray(np.log(naive_softmax(a, axis=axis)))


def naive_sigmoid(x: ArrayLike) -> FloatArray:
    """1 / (1 + exp(-x)): exp(-x) overflows for very negative x (the result 0 is right, the warning is real),
    and rounds to exactly 0 or 1 once |x| exceeds about 17 in float32 or 8 in float16."""
    v = as_float(x)
    return np.asarray((1 / (1 + np.exp(-v))).astype(v.dtype, copy=False))


def naive_softplus(x: ArrayLike) -> FloatArray:
    """log(1 + exp(x)): inf once exp(x) overflows."""
    v = as_float(x)
    return np.asarray(np.log(1 + np.exp(v)).astype(v.dtype, copy=False))


def naive_binary_log_loss_from_logits(y: ArrayLike, z: ArrayLike) -> FloatArray:
    """-mean(y·log σ(z) + (1 - y)·log(1 - σ(z))) with the naive σ: a confident prediction (σ rounded to exactly
    0 or 1) gives log(0) = -inf, and 0·(-inf) = NaN even when that prediction is right."""
    zz = as_float(z)
    yy = np.asarray(y).astype(zz.dtype)
    p = naive_sigmoid(zz)
    per_row = -(yy * np.log(p) + (1 - yy) * np.log(1 - p))
    return _mean(per_row, zz.dtype)


def naive_softmax_cross_entropy(y: ArrayLike, z: ArrayLike) -> FloatArray:
    """-mean(log(naive_softmax(z))[y]): inf when the true class's probability underflows, NaN after overflow."""
    return _cross_entropy(y, z, naive_log_softmax)
