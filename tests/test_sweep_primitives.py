"""The stable primitives against external truth (scipy.special, sklearn.metrics.log_loss) on extreme inputs,
and the naive twins failing exactly where the stable forms stay finite."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import log_loss as sk_log_loss

from mlstablint.sweep import primitives as P

DTYPES = [np.float16, np.float32, np.float64]
# Tolerances: relative to the dtype's epsilon, a few ulps for elementwise work, more for reductions.
RTOL = {np.float16: 4e-3, np.float32: 2e-6, np.float64: 1e-12}

EXTREME_64 = [
    np.array([1000.0, -1000.0, 0.0]),
    np.array([1e4, 1e4 - 1.0, -1e4]),
    np.array([-1000.0, -1001.0, -1002.0]),
    np.array([-1e4, -1e4, -1e4]),
    np.array([1e4, 1e4, 1e4]),
]
EXTREME_32 = [np.array(v, dtype=np.float32) for v in ([100.0, -100.0, 0.0], [100.0, 99.0, 98.0], [-100.0, -100.0])]


def _close(actual: np.ndarray, expected: np.ndarray, dtype: type) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=RTOL[dtype], atol=RTOL[dtype])


# ---------------------------------------------------------------------------------------------- logsumexp


@pytest.mark.parametrize("a", EXTREME_64 + EXTREME_32, ids=lambda a: f"{a.dtype}:{a.tolist()}")
def test_logsumexp_matches_scipy_on_extreme_inputs(a: np.ndarray) -> None:
    out = P.logsumexp(a)
    assert out.dtype == a.dtype and np.isfinite(out)
    _close(out, sp.logsumexp(a.astype(np.float64)), a.dtype.type)


@pytest.mark.parametrize("a", [EXTREME_64[0], EXTREME_64[1], EXTREME_64[4], EXTREME_32[0], EXTREME_32[1]],
                         ids=lambda a: f"{a.dtype}:{a.tolist()}")
def test_naive_logsumexp_overflows_where_the_stable_one_does_not(a: np.ndarray) -> None:
    with np.errstate(over="ignore"):
        assert np.isinf(P.naive_logsumexp(a))
    assert np.isfinite(P.logsumexp(a))


def test_naive_logsumexp_underflows_to_minus_inf_on_very_negative_inputs() -> None:
    a = np.array([-1000.0, -1001.0])
    with np.errstate(divide="ignore"):
        assert P.naive_logsumexp(a) == -np.inf
    _close(P.logsumexp(a), sp.logsumexp(a), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_all_equal_is_value_plus_log_n(dtype: type) -> None:
    for n in (1, 7, 1000):
        a = np.full(n, 5.0, dtype=dtype)
        out = P.logsumexp(a)
        assert out.dtype == dtype
        _close(out, 5.0 + np.log(n), dtype)


def test_logsumexp_large_float16_array_stays_finite_where_scipy_overflows() -> None:
    a = np.full(100_000, 3.0, dtype=np.float16)  # the sum of exp(0) = 1e5 is beyond float16's max 65504
    out = P.logsumexp(a)
    assert out.dtype == np.float16 and np.isfinite(out)
    _close(out, sp.logsumexp(a.astype(np.float64)), np.float16)
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(sp.logsumexp(a))  # scipy sums in float16 here: the stable shift alone is not enough


def test_logsumexp_large_float64_array_and_axis() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1000.0, size=(200, 5000))
    for axis in (None, 0, 1):
        _close(P.logsumexp(a, axis=axis), sp.logsumexp(a, axis=axis), np.float64)
    assert P.logsumexp(a, axis=1, keepdims=True).shape == (200, 1)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e4, 1e4)))
def test_logsumexp_property_vs_scipy(a: np.ndarray) -> None:
    _close(P.logsumexp(a), sp.logsumexp(a), np.float64)


def test_logsumexp_of_minus_inf_inputs_like_scipy() -> None:
    a = np.array([-np.inf, -np.inf])
    with np.errstate(divide="ignore"):
        assert P.logsumexp(a) == sp.logsumexp(a) == -np.inf
    b = np.array([-np.inf, 0.0])
    assert P.logsumexp(b) == sp.logsumexp(b) == 0.0


# ---------------------------------------------------------------------------------------------- softmax


@pytest.mark.parametrize("a", EXTREME_64 + EXTREME_32, ids=lambda a: f"{a.dtype}:{a.tolist()}")
def test_softmax_and_log_softmax_match_scipy(a: np.ndarray) -> None:
    s, ls = P.softmax(a), P.log_softmax(a)
    assert s.dtype == a.dtype and ls.dtype == a.dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    _close(s, sp.softmax(a.astype(np.float64)), a.dtype.type)
    _close(ls, sp.log_softmax(a.astype(np.float64)), a.dtype.type)
    assert abs(float(np.sum(s, dtype=np.float64)) - 1.0) < 10 * RTOL[a.dtype.type]


def test_naive_softmax_is_nan_where_the_stable_one_is_exact() -> None:
    a = np.array([1000.0, 0.0, -1000.0])
    with np.errstate(all="ignore"):
        naive = P.naive_softmax(a)
        naive_log = P.naive_log_softmax(np.array([0.0, -1000.0]))
    assert np.isnan(naive[0])  # inf / inf
    assert naive_log[1] == -np.inf  # exp(-1000) underflows to 0, log(0) = -inf
    np.testing.assert_array_equal(P.softmax(a), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(P.log_softmax(np.array([0.0, -1000.0])), [0.0, -1000.0])
    a32 = np.array([100.0, 0.0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(P.naive_softmax(a32)[0])
    assert P.softmax(a32)[0] == np.float32(1.0)


def test_softmax_rows_of_a_matrix() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 300.0, size=(500, 7))
    _close(P.softmax(z, axis=1), sp.softmax(z, axis=1), np.float64)
    _close(P.log_softmax(z, axis=1), sp.log_softmax(z, axis=1), np.float64)
    _close(P.log_softmax(z, axis=0), sp.log_softmax(z, axis=0), np.float64)


# ---------------------------------------------------------------------------------------------- sigmoid family


@pytest.mark.parametrize("x", [np.array([-1e4, -1000.0, -745.0, -30.0, 0.0, 30.0, 1000.0, 1e4]),
                               np.array([-100.0, -88.0, -20.0, 0.0, 20.0, 88.0, 100.0], dtype=np.float32),
                               np.array([-12.0, -8.0, 0.0, 8.0, 12.0], dtype=np.float16)],
                         ids=["float64", "float32", "float16"])
def test_sigmoid_log_sigmoid_softplus_match_scipy(x: np.ndarray) -> None:
    ref = x.astype(np.float64)
    for ours, theirs in ((P.sigmoid, sp.expit), (P.log_sigmoid, sp.log_expit),
                         (P.softplus, lambda v: -sp.log_expit(-v))):
        out = ours(x)
        assert out.dtype == x.dtype
        assert np.all(np.isfinite(out))
        _close(out, theirs(ref), x.dtype.type)


def test_naive_sigmoid_overflows_and_its_log_is_minus_inf() -> None:
    x = np.array([-1000.0])
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            P.naive_sigmoid(x)  # exp(1000) overflows (the answer 0 is right, the overflow is real)
        P.sigmoid(x)  # never overflows
    with np.errstate(over="ignore", divide="ignore"):
        assert np.log(P.naive_sigmoid(x))[0] == -np.inf
        assert np.isinf(P.naive_softplus(np.array([1000.0])))[0]
    assert P.log_sigmoid(x)[0] == -1000.0
    assert P.softplus(np.array([1000.0]))[0] == 1000.0
    x16 = np.array([-12.0], dtype=np.float16)  # exp(12) > 65504
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        P.naive_sigmoid(x16)
    assert P.sigmoid(x16).dtype == np.float16


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_primitive_preserves_the_dtype(dtype: type) -> None:
    a = np.array([[-3.0, 0.5, 2.0], [1.0, 1.0, -1.0]], dtype=dtype)
    y = np.array([0, 2])
    for f in (P.logsumexp, P.softmax, P.log_softmax, P.sigmoid, P.log_sigmoid, P.softplus):
        assert f(a).dtype == dtype, f.__name__
    assert P.softmax_cross_entropy(y, a).dtype == dtype
    assert P.binary_log_loss_from_logits(np.array([0, 1, 1]), a[0]).dtype == dtype
    assert P.logsumexp([1, 2, 3]).dtype == np.float64  # integers become float64


# ---------------------------------------------------------------------------------------------- log-losses


def test_binary_log_loss_from_logits_matches_sklearn_and_scipy() -> None:
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 8.0, size=1000)
    y = (rng.random(1000) < 0.5).astype(int)
    exact = -np.mean(y * sp.log_expit(z) + (1 - y) * sp.log_expit(-z))
    _close(P.binary_log_loss_from_logits(y, z), exact, np.float64)
    # sklearn works from probabilities: 1 - p loses digits once p is near 1, hence the looser tolerance.
    assert P.binary_log_loss_from_logits(y, z) == pytest.approx(sk_log_loss(y, sp.expit(z)), rel=1e-8)
    with np.errstate(all="ignore"):
        assert P.naive_binary_log_loss_from_logits(y, z) == pytest.approx(exact, rel=1e-8)


def test_binary_log_loss_is_exact_on_extreme_logits_where_probabilities_fail() -> None:
    y = np.array([1, 0, 1, 0])
    z = np.array([-1000.0, 1000.0, 1e4, -1e4])
    exact = -np.mean(y * sp.log_expit(z) + (1 - y) * sp.log_expit(-z))
    assert exact == pytest.approx(500.0)
    _close(P.binary_log_loss_from_logits(y, z), exact, np.float64)
    # From probabilities, sklearn clips at eps: a wrong prediction at logit 1000 costs -log(eps) ≈ 36, not 1000.
    assert sk_log_loss(y, sp.expit(z)) == pytest.approx(-np.log(np.finfo(float).eps) / 2)
    with np.errstate(all="ignore"):
        assert not np.isfinite(P.naive_binary_log_loss_from_logits(y, z))
    z32 = np.array([-100.0, 100.0, 100.0, -100.0], dtype=np.float32)
    out = P.binary_log_loss_from_logits(y, z32)
    assert out.dtype == np.float32 and out == pytest.approx(50.0)


def test_naive_log_loss_is_nan_on_a_confident_right_prediction() -> None:
    # σ(40) rounds to exactly 1 in float32: (1 - y)·log(1 - p) = 0·log(0) = 0·(-inf) = NaN, though y = 1 is right.
    y = np.array([1.0, 0.0])
    z = np.array([40.0, -40.0], dtype=np.float32)
    with np.errstate(all="ignore"):
        assert np.isnan(P.naive_binary_log_loss_from_logits(y, z))
    assert 0 <= P.binary_log_loss_from_logits(y, z) < 1e-15


def test_softmax_cross_entropy_matches_sklearn_and_scipy() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 5.0, size=(400, 4))
    y = rng.integers(0, 4, size=400)
    _close(P.softmax_cross_entropy(y, z), sk_log_loss(y, sp.softmax(z, axis=1), labels=[0, 1, 2, 3]), np.float64)
    extreme = np.array([[1000.0, 0.0, -1000.0], [1e4, -1e4, 0.0]])
    yy = np.array([2, 1])
    exact = -np.mean(sp.log_softmax(extreme, axis=1)[np.arange(2), yy])
    assert exact == pytest.approx(11000.0)  # (2000 + 20000) / 2
    _close(P.softmax_cross_entropy(yy, extreme), exact, np.float64)
    with np.errstate(all="ignore"):
        assert not np.isfinite(P.naive_softmax_cross_entropy(yy, extreme))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probability_log_loss_matches_sklearn_including_zeros_and_ones(dtype: type) -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.0, 1.0, 1e-300 if dtype == np.float64 else 1e-40, 1.0, 0.3], dtype=dtype)
    rel = 1e-12 if dtype == np.float64 else 1e-6  # sklearn computes float32 input in float32
    assert P.log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=rel)
    pm = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3], [0.0, 0.0, 1.0], [0.1, 0.1, 0.8]], dtype=dtype)
    ym = np.array(["a", "b", "a", "c"])
    assert P.log_loss(ym, pm) == pytest.approx(sk_log_loss(ym, pm), rel=1e-6)
