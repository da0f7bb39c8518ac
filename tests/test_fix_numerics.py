"""Every numeric rewrite of the autofix, verified numerically against mpmath.

Each test takes a rule's flagged expression, lets the tool fix it (the rewrite under test is the
tool's own output, not a hand-written stand-in), and compiles both forms. Then, with hypothesis:
- in the safe range the original and the fixed form agree to a stated tolerance;
- at the dtype's edge the fixed form is finite and within a stated relative error of a reference
  computed with mpmath at 50 significant digits from the same float inputs, where the original is
  not (it overflows, underflows, cancels or returns NaN).
The tolerances below are the figures stated on the catalogue pages (section *Fix safety*).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import LinAlgWarning

from mlstablint.code.engine import FileChecker
from mlstablint.code.fixer import fix_text
from mlstablint.code.rules import ALL_RULES
from tests.data_support import NIST
from tests.fuzz_support import fuzz_settings
from tests.test_data_nist import design_table, read_regression

CHECKER = FileChecker({rule.id for rule in ALL_RULES})
SETTINGS = fuzz_settings(40)
DIGITS = 50


def forms(rule: str, params: str, body: str, imports: str = "import numpy as np") -> tuple[Callable[..., Any], ...]:
    """(original, fixed) functions `f(params)` whose body is `body`, fixed by the tool for `rule` only."""
    source = f"{imports}\n\n\ndef f({params}):\n{body}"
    fixed, count, _ = fix_text(CHECKER, source, "snippet.py", (), lambda finding: finding.rule == rule)
    assert count >= 1 and fixed != source, f"{rule}: no fix applied to\n{source}"
    return _compiled(source), _compiled(fixed)


def _compiled(source: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "snippet.py", "exec"), namespace)  # test material written here, not user code
    function: Callable[..., Any] = namespace["f"]

    def quiet(*args: Any) -> Any:
        with np.errstate(all="ignore"):
            return function(*args)
    return quiet


def rel(value: float, reference: mp.mpf) -> float:
    """Relative error of a float against a high-precision reference (absolute where the reference is 0)."""
    if not np.isfinite(value):
        return float("inf")
    with mp.workdps(DIGITS):
        diff = abs(mp.mpf(float(value)) - reference)
        return float(diff / abs(reference)) if reference != 0 else float(diff)


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def signed_magnitudes(low: float, high: float) -> st.SearchStrategy[float]:
    return st.tuples(st.sampled_from([-1.0, 1.0]), floats(np.log10(low), np.log10(high))).map(
        lambda pair: pair[0] * 10.0 ** pair[1])


# ---- MSL101 log(1 + x) -> log1p(x), MSL102 exp(x) - 1 -> expm1(x) ----------------------------------

LOG1P = forms("MSL101", "x", "    return np.log(1 + x)\n")
EXPM1 = forms("MSL102", "x", "    return np.exp(x) - 1\n")
NEAR_ZERO = {"MSL101": (LOG1P, mp.log1p, 1e-12, floats(1e-3, 1e6)), "MSL102": (EXPM1, mp.expm1, 1e-14, floats(0.5, 700.0))}


@pytest.mark.parametrize("rule", sorted(NEAR_ZERO))
@SETTINGS
@given(data=st.data())
def test_msl101_msl102_agree_in_the_safe_range(rule: str, data: st.DataObject) -> None:
    (original, fixed), _, tolerance, safe = NEAR_ZERO[rule]
    x = data.draw(safe)
    assert abs(original(x) - fixed(x)) <= tolerance * abs(fixed(x))


@pytest.mark.parametrize("rule", sorted(NEAR_ZERO))
@SETTINGS
@given(x=signed_magnitudes(1e-300, 1e-17))
def test_msl101_msl102_at_the_edge(rule: str, x: float) -> None:
    (original, fixed), function, _, _ = NEAR_ZERO[rule]
    with mp.workdps(DIGITS):
        reference = function(mp.mpf(x))
    assert rel(fixed(x), reference) <= 4e-16
    assert rel(original(x), reference) == 1.0  # 1 + x rounds to 1, exp(x) to 1: every digit lost


# ---- MSL103 log(sum(exp(x))) -> logsumexp(x) --------------------------------------------------------

LOGSUMEXP = forms("MSL103", "x", "    return np.log(np.sum(np.exp(x), axis=-1))\n")


def _lse(values: list[float]) -> mp.mpf:
    with mp.workdps(DIGITS):
        return mp.log(mp.fsum(mp.exp(mp.mpf(v)) for v in values))


@SETTINGS
@given(st.lists(floats(-50.0, 50.0), min_size=1, max_size=20))
def test_msl103_agrees_in_the_safe_range(values: list[float]) -> None:
    original, fixed = LOGSUMEXP
    x = np.array(values)
    assert abs(original(x) - fixed(x)) <= 1e-13 * max(1.0, abs(fixed(x)))


@SETTINGS
@given(st.lists(floats(710.0, 1e5), min_size=1, max_size=20))
def test_msl103_at_the_edge(values: list[float]) -> None:
    original, fixed = LOGSUMEXP
    x = np.array(values)
    reference = _lse(values)
    assert rel(fixed(x), reference) <= 1e-15
    assert original(x) == np.inf


# ---- MSL104 log(softmax(x)) -> log_softmax(x) -------------------------------------------------------

LOG_SOFTMAX = forms("MSL104", "x", "    return np.log(softmax(x))\n", "import numpy as np\nfrom scipy.special import softmax")


@SETTINGS
@given(st.lists(floats(-20.0, 20.0), min_size=2, max_size=10))
def test_msl104_agrees_in_the_safe_range(values: list[float]) -> None:
    original, fixed = LOG_SOFTMAX
    x = np.array(values)
    assert np.max(np.abs(original(x) - fixed(x))) <= 1e-13


@SETTINGS
@given(st.lists(floats(-1e4, -746.0), min_size=1, max_size=10))
def test_msl104_at_the_edge(lows: list[float]) -> None:
    original, fixed = LOG_SOFTMAX
    values = [0.0, *lows]  # probabilities below the smallest subnormal: the naive log is -inf
    x = np.array(values)
    lse = _lse(values)
    got = fixed(x)
    with mp.workdps(DIGITS):
        assert all(rel(g, mp.mpf(v) - lse) <= 1e-15 for g, v in zip(got, values, strict=True))
    assert np.all(np.isneginf(original(x)[1:]))


# ---- MSL105 1 / (1 + exp(-x)) -> expit(x) -----------------------------------------------------------

SIGMOID = forms("MSL105", "x", "    return 1 / (1 + np.exp(-x))\n")
SIGMOID_RATIO = forms("MSL105", "x", "    return np.exp(x) / (1 + np.exp(x))\n")


def _sigmoid(x: float) -> mp.mpf:
    with mp.workdps(DIGITS):
        return 1 / (1 + mp.exp(-mp.mpf(x)))


@SETTINGS
@given(floats(-30.0, 30.0))
def test_msl105_agrees_in_the_safe_range(x: float) -> None:
    for original, fixed in (SIGMOID, SIGMOID_RATIO):
        assert abs(original(x) - fixed(x)) <= 1e-15 * abs(fixed(x))


@SETTINGS
@given(floats(-1e4, -710.0))
def test_msl105_below_the_edge_both_forms_give_0(x: float) -> None:
    # exp(-x) overflows in the naive form; scipy's expit also returns 0 there (the answer, e^x, is a
    # subnormal number or smaller): the rewrite gains no digits, it only loses the overflow warning.
    original, fixed = SIGMOID
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fixed(x) == 0.0
    assert original(x) == 0.0
    assert rel(fixed(x), _sigmoid(x)) == 1.0


@SETTINGS
@given(floats(710.0, 1e6))
def test_msl105_at_the_edge_above(x: float) -> None:
    original, fixed = SIGMOID_RATIO
    assert np.isnan(original(x))  # inf / inf
    assert rel(fixed(x), _sigmoid(x)) <= 1e-16


# ---- MSL106 log(1 + exp(x)) -> logaddexp(0, x) ------------------------------------------------------

SOFTPLUS = forms("MSL106", "x", "    return np.log(1 + np.exp(x))\n")


@SETTINGS
@given(floats(-1.0, 30.0))
def test_msl106_agrees_in_the_safe_range(x: float) -> None:
    original, fixed = SOFTPLUS
    assert abs(original(x) - fixed(x)) <= 1e-14 * abs(fixed(x))


@SETTINGS
@given(floats(710.0, 1e6))
def test_msl106_at_the_edge(x: float) -> None:
    original, fixed = SOFTPLUS
    with mp.workdps(DIGITS):
        reference = mp.log1p(mp.exp(mp.mpf(x)))
    assert rel(fixed(x), reference) <= 1e-16
    assert original(x) == np.inf


# ---- MSL107 log(expit(x)) -> log_expit(x) -----------------------------------------------------------

LOG_SIGMOID = forms("MSL107", "x", "    return np.log(expit(x))\n", "import numpy as np\nfrom scipy.special import expit")


@SETTINGS
@given(floats(-30.0, 5.0))
def test_msl107_agrees_in_the_safe_range(x: float) -> None:
    original, fixed = LOG_SIGMOID
    assert abs(original(x) - fixed(x)) <= 1e-13 * abs(fixed(x))


@SETTINGS
@given(floats(-1e4, -746.0))
def test_msl107_at_the_edge(x: float) -> None:
    original, fixed = LOG_SIGMOID
    with mp.workdps(DIGITS):
        reference = -mp.log1p(mp.exp(-mp.mpf(x)))
    assert rel(fixed(x), reference) <= 1e-16
    assert original(x) == -np.inf


# ---- MSL108 exp(x) / sum(exp(x)) -> exp(x - max) / sum(exp(x - max)) -----------------------------------

SOFTMAX = forms("MSL108", "x", "    e = np.exp(x)\n    return e / e.sum(axis=-1, keepdims=True)\n")


def _softmax_row(values: list[float]) -> list[mp.mpf]:
    lse = _lse(values)
    with mp.workdps(DIGITS):
        return [mp.exp(mp.mpf(v) - lse) for v in values]


@SETTINGS
@given(st.lists(st.lists(floats(-30.0, 30.0), min_size=3, max_size=3), min_size=1, max_size=4))
def test_msl108_agrees_in_the_safe_range(rows: list[list[float]]) -> None:
    original, fixed = SOFTMAX
    x = np.array(rows)
    assert np.max(np.abs(original(x) - fixed(x))) <= 1e-15


@SETTINGS
@given(st.lists(floats(-1e4, 1e4), min_size=2, max_size=6), floats(710.0, 1e4))
def test_msl108_at_the_edge(values: list[float], big: float) -> None:
    original, fixed = SOFTMAX
    row = [big, *values]
    x = np.array([row])
    got = fixed(x)[0]
    reference = _softmax_row(row)
    assert np.all(np.isfinite(got)) and np.isnan(original(x)[0][0])
    with mp.workdps(DIGITS):
        assert all(abs(mp.mpf(float(g)) - r) <= 1e-15 for g, r in zip(got, reference, strict=True))
        assert all(rel(g, r) <= 1e-13 for g, r in zip(got, reference, strict=True) if r > 1e-300)


# ---- MSL111 p * log(p) -> -entr(p) ------------------------------------------------------------------

ENTROPY = forms("MSL111", "p", "    return -np.sum(p * np.log(p))\n")


def _entropy(values: list[float]) -> mp.mpf:
    with mp.workdps(DIGITS):
        return -mp.fsum(mp.mpf(v) * mp.log(mp.mpf(v)) for v in values if v > 0)


def _probabilities(weights: list[float]) -> np.ndarray:
    w = np.array(weights)
    return w / w.sum()


@SETTINGS
@given(st.lists(floats(1e-3, 1.0), min_size=2, max_size=20))
def test_msl111_agrees_in_the_safe_range(weights: list[float]) -> None:
    original, fixed = ENTROPY
    p = _probabilities(weights)
    assert abs(original(p) - fixed(p)) <= 1e-13 * max(1.0, abs(fixed(p)))


@SETTINGS
@given(st.lists(floats(1e-3, 1.0), min_size=1, max_size=20), st.integers(1, 5))
def test_msl111_at_the_edge(weights: list[float], zeros: int) -> None:
    original, fixed = ENTROPY
    p = _probabilities([*weights, *([0.0] * zeros)])
    reference = _entropy(list(p))
    assert np.isnan(original(p))  # 0 * log(0) = 0 * -inf
    assert rel(fixed(p), reference) <= 1e-14 or abs(float(reference)) < 1e-300


# ---- MSL112 mean(x**2) - mean(x)**2 -> var(x) -------------------------------------------------------

VARIANCE = forms("MSL112", "x", "    return np.mean(x**2) - np.mean(x)**2\n")


def _variance(values: np.ndarray) -> mp.mpf:
    with mp.workdps(DIGITS):
        xs = [mp.mpf(float(v)) for v in values]
        mean = mp.fsum(xs) / len(xs)
        return mp.fsum((v - mean) ** 2 for v in xs) / len(xs)


spread = st.lists(floats(-1.0, 1.0), min_size=2, max_size=50).filter(lambda v: np.std(v) >= 0.1)


@SETTINGS
@given(spread)
def test_msl112_agrees_in_the_safe_range(offsets: list[float]) -> None:
    original, fixed = VARIANCE
    x = np.array(offsets)
    assert abs(original(x) - fixed(x)) <= 1e-13 * fixed(x)


@SETTINGS
@given(spread, floats(1e8, 1e10))
def test_msl112_at_the_edge(offsets: list[float], mean: float) -> None:
    # |mean| >> std: E[x^2] and E[x]^2 agree in all their digits, and their difference is rounding noise.
    original, fixed = VARIANCE
    x = mean + np.array(offsets)
    reference = _variance(x)
    assert rel(fixed(x), reference) <= 1e-6
    assert rel(original(x), reference) > 1e-2


# ---- MSL113 x == nan -> isnan(x) --------------------------------------------------------------------

ISNAN = forms("MSL113", "x", "    return x == np.nan\n")


@SETTINGS
@given(st.lists(st.one_of(floats(-1e300, 1e300), st.just(float("nan")), st.just(float("inf"))), min_size=1,
                max_size=20))
def test_msl113_selects_exactly_the_nans(values: list[float]) -> None:
    original, fixed = ISNAN
    x = np.array(values)
    assert fixed(x).tolist() == [bool(mp.isnan(mp.mpf(v))) for v in values]
    assert not original(x).any()  # the original never selects anything


# ---- MSL114 sqrt(x**2 + y**2) -> hypot(x, y) --------------------------------------------------------

HYPOT = forms("MSL114", "x, y", "    return np.sqrt(x**2 + y**2)\n")


def _hypot(x: float, y: float) -> mp.mpf:
    with mp.workdps(DIGITS):
        return mp.sqrt(mp.mpf(x) ** 2 + mp.mpf(y) ** 2)


@SETTINGS
@given(signed_magnitudes(1e-100, 1e100), signed_magnitudes(1e-100, 1e100))
def test_msl114_agrees_in_the_safe_range(x: float, y: float) -> None:
    original, fixed = HYPOT
    reference = _hypot(x, y)
    assert rel(fixed(x, y), reference) <= 2.3e-16 and rel(original(x, y), reference) <= 4.5e-16


@SETTINGS
@given(st.one_of(signed_magnitudes(1.4e154, 1e307), signed_magnitudes(1e-300, 1e-170)),
       st.floats(0.0, 1.0))
def test_msl114_at_the_edge(x: float, ratio: float) -> None:
    original, fixed = HYPOT
    x, y = np.float64(x), np.float64(x * ratio)  # numpy floats: x**2 gives inf as in array code, not OverflowError
    reference = _hypot(x, y)
    assert rel(fixed(x, y), reference) <= 2.3e-16
    assert rel(original(x, y), reference) > 1e-3  # inf (squares overflow) or 0 / subnormal (they underflow)


# ---- MSL201 inv(A) @ b -> solve(A, b) ---------------------------------------------------------------

SOLVE = forms("MSL201", "A, b", "    return np.linalg.inv(A) @ b\n")


def _matrix(seed: int, n: int, condition: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * np.logspace(0, -np.log10(condition), n)) @ v.T


def _residual(A: np.ndarray, x: np.ndarray, b: np.ndarray) -> float:
    """||b - A x|| / (||A|| ||x||) in 50-digit arithmetic: the backward error a stable solver keeps at eps."""
    with mp.workdps(DIGITS):
        Am, xm, bm = mp.matrix(A.tolist()), mp.matrix(x.tolist()), mp.matrix(b.tolist())
        return float(mp.norm(bm - Am * xm) / (mp.mnorm(Am, 1) * mp.norm(xm)))


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 6))
def test_msl201_agrees_in_the_safe_range(seed: int, n: int) -> None:
    original, fixed = SOLVE
    A, b = _matrix(seed, n, 10.0), np.random.default_rng(seed + 1).standard_normal(n)
    assert np.linalg.norm(original(A, b) - fixed(A, b)) <= 1e-13 * np.linalg.norm(fixed(A, b))


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(4, 8))
def test_msl201_at_the_edge(seed: int, n: int) -> None:
    # b = A @ x with a moderate x: the inverse's rounding errors (~cond * eps) are not hidden by a huge x.
    original, fixed = SOLVE
    A = _matrix(seed, n, 1e14)
    b = A @ np.random.default_rng(seed + 1).standard_normal(n)
    assert _residual(A, fixed(A, b), b) <= 1e-15
    assert _residual(A, original(A, b), b) > 1e-15


# ---- MSL202 solve(X.T @ X, X.T @ y), inv(X.T @ X) @ X.T @ y -> lstsq(X, y, rcond=None)[0] -------------

# Every spelling the fix rewrites as a whole (the product chains too), each fixed by the tool.
LSTSQ = {
    "solve": forms("MSL202", "X, y", "    return np.linalg.solve(X.T @ X, X.T @ y)\n"),
    "inv-chain": forms("MSL202", "X, y", "    return np.linalg.inv(X.T @ X) @ X.T @ y\n"),
    "inv-dot-chain": forms("MSL202", "X, y", "    return np.linalg.inv(X.T.dot(X)).dot(X.T).dot(y)\n"),
    "inv-of-product": forms("MSL202", "X, y", "    return np.linalg.inv(X.T @ X) @ (X.T @ y)\n"),
}
# The scipy spelling (scipy.linalg.lstsq, whose default cutoff is eps, not numpy's eps * max(m, n)).
SCIPY_LSTSQ = forms("MSL202", "X, y", "    return scipy.linalg.inv(X.T @ X) @ X.T @ y\n", "import scipy.linalg")


def _design(seed: int, n: int, condition: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((3 * n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    X = (u * np.logspace(0, -np.log10(condition), n)) @ v.T
    # A consistent system (zero residual but for rounding): lstsq's error is then ~cond(X) * eps, while the
    # normal equations' is ~cond(X)^2 * eps. (A residual r adds cond(X)^2 * |r| / (|X| |w|) to both.)
    return X, X @ rng.uniform(-1, 1, n)


def _least_squares(X: np.ndarray, y: np.ndarray) -> mp.matrix:
    with mp.workdps(3 * DIGITS):  # the normal equations square cond(X): 150 digits is plenty for 1e10
        Xm, ym = mp.matrix(X.tolist()), mp.matrix(y.tolist())
        return mp.lu_solve(Xm.T * Xm, Xm.T * ym)


def _relative_distance(w: np.ndarray, reference: mp.matrix) -> float:
    with mp.workdps(DIGITS):
        return float(mp.norm(mp.matrix(w.tolist()) - reference) / mp.norm(reference))


@pytest.mark.parametrize("spelling", sorted(LSTSQ))
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5))
def test_msl202_agrees_in_the_safe_range(spelling: str, seed: int, n: int) -> None:
    original, fixed = LSTSQ[spelling]
    X, y = _design(seed, n, 10.0)
    assert fixed(X, y).shape == original(X, y).shape == (n,)
    assert np.linalg.norm(original(X, y) - fixed(X, y)) <= 1e-12 * np.linalg.norm(fixed(X, y))
    Y = np.column_stack([y, 2 * y])  # several right-hand sides: the solution keeps its (n, k) shape
    assert fixed(X, Y).shape == original(X, Y).shape == (n, 2)


@pytest.mark.parametrize("spelling", sorted(LSTSQ))
@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 5))
def test_msl202_at_the_edge(spelling: str, seed: int, n: int) -> None:
    original, fixed = LSTSQ[spelling]
    X, y = _design(seed, n, 1e10)  # cond(X.T @ X) = 1e20, past 1 / eps
    reference = _least_squares(X, y)
    assert _relative_distance(fixed(X, y), reference) <= 1e-4
    try:
        naive = _relative_distance(original(X, y), reference)
    except np.linalg.LinAlgError:
        naive = float("inf")  # singular to working precision
    assert naive > 1e-4


def _certified(name: str) -> np.ndarray:
    """The coefficients NIST certifies (computed in 500-digit arithmetic), from the lines the header names."""
    lines = (NIST / f"{name}.dat").read_text().splitlines()
    first, last = map(int, re.search(r"Certified Values\s+\(lines (\d+) to (\d+)\)", "\n".join(lines[:60])).groups())
    found = [re.match(r"\s*B\d+\s+(\S+)\s", line) for line in lines[first - 1:last]]
    return np.array([float(m.group(1)) for m in found if m])


def _digits(w: np.ndarray, certified: np.ndarray) -> float:
    """The StRD's accuracy measure: the fewest correct significant digits over the coefficients (the LRE)."""
    if not np.all(np.isfinite(w)):
        return 0.0
    return float(np.min(-np.log10(np.maximum(np.abs(w - certified) / np.abs(certified), 1e-17))))


def _strd(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, _, _ = read_regression(name)
    _, design = design_table(name)
    return design, y, _certified(name)


# (dataset, digits the fix keeps at least, digits the normal equations keep at most), float64, the numpy
# spelling `np.linalg.inv(X.T @ X) @ X.T @ y`; the figures measured are on the MSL202 catalogue page.
# The bounds leave half a digit or more for another LAPACK build.
STRD = [("Longley", 10.0, 7.5), ("Wampler1", 9.0, 4.5), ("Wampler2", 9.5, 9.0), ("Wampler3", 9.0, 4.5),
        ("Wampler4", 7.0, 4.5), ("Wampler5", 5.0, 4.5)]


@pytest.mark.parametrize(("name", "fixed_digits", "naive_digits"), STRD)
def test_msl202_on_nist_strd_certified_coefficients(name: str, fixed_digits: float, naive_digits: float) -> None:
    original, fixed = LSTSQ["inv-chain"]
    X, y, certified = _strd(name)
    assert _digits(fixed(X, y), certified) >= fixed_digits
    assert _digits(original(X, y), certified) <= naive_digits


def test_msl202_on_filip_only_scipy_keeps_digits() -> None:
    # Filip (degree-10 polynomial, cond(X) = 1.8e15): numpy's lstsq cuts singular values below
    # eps * max(m, n) * s_max and returns a rank-deficient solution; scipy's (cutoff eps) keeps 6 digits.
    X, y, certified = _strd("Filip")
    original, fixed = SCIPY_LSTSQ
    assert _digits(fixed(X, y), certified) >= 5.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # scipy's inv says the Gram matrix is singular to eps
        assert _digits(original(X, y), certified) < 1.0
    numpy_original, numpy_fixed = LSTSQ["inv-chain"]
    assert _digits(numpy_fixed(X, y), certified) < 1.0 and _digits(numpy_original(X, y), certified) < 1.0


def test_msl202_on_pontius_column_scales_favour_the_normal_equations() -> None:
    # Pontius (x and x**2, x up to 3e6): cond(X) = 1.4e13 comes from the column scales alone, which the LU of
    # the Gram matrix absorbs and the SVD does not; the fix keeps 6 digits where the normal equations keep 11.
    X, y, certified = _strd("Pontius")
    original, fixed = LSTSQ["inv-chain"]
    assert _digits(fixed(X, y), certified) >= 5.5
    assert _digits(original(X, y), certified) >= 10.5


# ---- MSL204 log(det(A)) -> slogdet(A)[1] ------------------------------------------------------------

LOGDET = forms("MSL204", "A", "    return np.log(np.linalg.det(A))\n")


def _triangular(seed: int, n: int, low: float, high: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.triu(rng.uniform(-1, 1, (n, n)), 1) + np.diag(rng.uniform(low, high, n))


def _log_det(A: np.ndarray) -> mp.mpf:
    with mp.workdps(DIGITS):
        return mp.fsum(mp.log(mp.mpf(float(d))) for d in np.diag(A))


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(2, 10))
def test_msl204_agrees_in_the_safe_range(seed: int, n: int) -> None:
    original, fixed = LOGDET
    A = _triangular(seed, n, 0.5, 2.0)
    assert abs(original(A) - fixed(A)) <= 1e-13 * max(1.0, abs(fixed(A)))


@pytest.mark.parametrize(("low", "high", "naive"), [(0.001, 0.01, -np.inf), (100.0, 1000.0, np.inf)])
@fuzz_settings(10)
@given(seed=st.integers(0, 2**32 - 1))
def test_msl204_at_the_edge(low: float, high: float, naive: float, seed: int) -> None:
    original, fixed = LOGDET
    A = _triangular(seed, 200, low, high)  # |det| between 1e-600 and 1e-400, or 1e400 and 1e600
    assert rel(fixed(A), _log_det(A)) <= 1e-13
    assert original(A) == naive
