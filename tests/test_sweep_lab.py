"""The lab's training loop against sklearn / numpy.linalg.lstsq, and each failure signature on a problem built
to show it. Tolerances are stated next to each comparison."""

from __future__ import annotations

import itertools
import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlstablint.sweep import lab, signatures, synthetic
from mlstablint.sweep.lab import Arm, Problem

# A converged float64 run must match the reference optimum to this absolute tolerance on every coefficient.
COEF_ATOL = 1e-5
TIGHT_TOL = 1e-14  # convergence tolerance for the comparisons (the default, 1e-4, is for the sweep's verdicts)


@pytest.fixture(scope="module")
def gaussian() -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(5)
    return rng.normal(size=(500, 3)), rng


def _sk_logistic(X: np.ndarray, y: np.ndarray, C: float) -> LogisticRegression:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation notes about `penalty` differ between sklearn versions
        return LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)


def test_float64_logistic_regression_matches_sklearn(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, rng = gaussian
    n = len(X)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ np.array([1.0, -2.0, 0.5]) + 0.3)))).astype(np.intp)
    problem = Problem("logistic_regression", X, y, ("a", "b", "c"), ("0", "1"))
    run = lab.train(problem, Arm("float64", 1.0, 0.0), epochs=5000, convergence_tol=TIGHT_TOL)
    assert run.verdict.status == "converged"
    sk = _sk_logistic(X, y, C=1e12)  # effectively unpenalised
    assert run.weights is not None and run.intercept is not None
    np.testing.assert_allclose(run.weights[:, 0], sk.coef_[0], atol=COEF_ATOL)
    np.testing.assert_allclose(run.intercept, sk.intercept_, atol=COEF_ATOL)
    # With L2: the lab minimises mean loss + lambda/2 ‖w‖², sklearn C·Σ loss + ½‖w‖², so lambda = 1 / (C·n).
    lam = 0.1
    run = lab.train(problem, Arm("float64", 1.0, lam), epochs=5000, convergence_tol=TIGHT_TOL)
    sk = _sk_logistic(X, y, C=1 / (lam * n))
    assert run.weights is not None and run.intercept is not None
    np.testing.assert_allclose(run.weights[:, 0], sk.coef_[0], atol=COEF_ATOL)
    np.testing.assert_allclose(run.intercept, sk.intercept_, atol=COEF_ATOL)


def test_float64_linear_regression_matches_lstsq(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, rng = gaussian
    y = X @ np.array([1.0, -2.0, 0.5]) + 2.0 + rng.normal(0.0, 0.1, len(X))
    run = lab.train(Problem("linear_regression", X, y, ("a", "b", "c")), Arm("float64", 0.5, 0.0), epochs=5000,
                    convergence_tol=TIGHT_TOL)
    assert run.verdict.status == "converged"
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    assert run.weights is not None and run.intercept is not None
    np.testing.assert_allclose(run.weights[:, 0], solution[:3], atol=1e-8)
    np.testing.assert_allclose(run.intercept, solution[3:], atol=1e-8)


def test_float64_softmax_regression_matches_sklearn(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, rng = gaussian
    n, k = len(X), 3
    y = np.argmax(X @ (1.5 * rng.normal(size=(3, k))) + rng.gumbel(size=(n, k)), axis=1)
    lam = 0.05  # L2 makes the multinomial optimum unique (the softmax is shift-invariant otherwise)
    problem = Problem("softmax_regression", X, y, ("a", "b", "c"), ("0", "1", "2"))
    run = lab.train(problem, Arm("float64", 1.0, lam), epochs=5000, convergence_tol=TIGHT_TOL)
    assert run.verdict.status == "converged"
    sk = _sk_logistic(X, y, C=1 / (lam * n))
    assert run.weights is not None and run.intercept is not None
    np.testing.assert_allclose(run.weights, sk.coef_.T, atol=COEF_ATOL)
    # Intercepts are not penalised, so only their differences are identified: compare centred values.
    np.testing.assert_allclose(run.intercept - run.intercept.mean(), sk.intercept_ - sk.intercept_.mean(),
                               atol=COEF_ATOL)


# ---------------------------------------------------------------------------------------------- signatures


def test_too_large_lr_on_a_quadratic_is_diverged(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, rng = gaussian
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0.0, 0.1, len(X))
    problem = Problem("linear_regression", X, y, ("a", "b", "c"))
    run = lab.train(problem, Arm("float64", 3.0, 0.0))  # the Hessian's top eigenvalue is ≈ 1.2: 3 > 2 / 1.2
    assert run.verdict.status == "diverged"
    losses = run.history["loss"]
    assert all(b > a for a, b in itertools.pairwise(losses))  # rising every epoch
    assert run.verdict.epoch == signatures.DIVERGENCE_WINDOW + 2
    assert lab.train(problem, Arm("float64", 0.5, 0.0)).verdict.status == "converged"  # the same problem, smaller lr


def test_float16_overflow_is_named_overflow() -> None:
    run = lab.train(synthetic.make_problem(), Arm("float16", 0.2, 0.0))
    assert run.verdict.status == "overflow"
    assert run.warnings["overflow"] > 0
    assert run.verdict.epoch <= 3


def test_values_beyond_float16_range_overflow_before_training() -> None:
    X = np.array([[1.0], [70000.0], [3.0], [4.0]])
    run = lab.train(Problem("linear_regression", X, np.arange(4.0), ("x",)), Arm("float16", 0.1, 0.0))
    assert run.verdict.status == "overflow" and run.verdict.epoch == 0
    assert "beyond float16's range" in run.verdict.reason


def test_naive_loss_nan_is_named_nan(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, _ = gaussian
    y = (X[:, 0] > 0).astype(np.intp)  # separable: predictions saturate to exactly 0 or 1 in float32
    problem = Problem("logistic_regression", X, y, ("a", "b", "c"), ("0", "1"))
    naive = lab.train(problem, Arm("float32", 1.0, 0.0, loss="naive"))
    assert naive.verdict.status == "nan"
    assert naive.warnings["invalid"] > 0 and naive.warnings["overflow"] == 0
    stable = lab.train(problem, Arm("float32", 1.0, 0.0, loss="stable"))  # the matched stable arm stays finite
    assert stable.verdict.status not in signatures.FAILURES
    assert len(stable.history["loss"]) > len(naive.history["loss"])


def test_tiny_lr_in_float16_is_stagnated(gaussian: tuple[np.ndarray, np.random.Generator]) -> None:
    X, rng = gaussian
    y = 50.0 + X[:, 0] + rng.normal(0.0, 0.1, len(X))
    problem = Problem("linear_regression", X, y, ("a", "b", "c"))
    init = (np.zeros(3), np.array([40.0]))  # lr·grad ≈ 1e-3 is below half an ulp of 40 in float16 (0.0156)
    run = lab.train(problem, Arm("float16", 1e-4, 0.0), init=init)
    assert run.verdict.status == "stagnated"
    assert run.intercept is not None and run.intercept[0] == 40.0  # never moved: every update rounded away
    assert run.verdict.reason.startswith("updates below float16 resolution")
    # The same tiny lr in float64 keeps moving: slow, not stuck.
    assert lab.train(problem, Arm("float64", 1e-4, 0.0), init=init).verdict.status == "unconverged"


def test_monitor_windowed_convergence_ignores_one_noisy_step() -> None:
    monitor = signatures.Monitor("float64")
    losses = [1.0 / (1 + t) for t in range(30)] + [0.0323] * 5 + [0.2] + [0.0323] * 5
    verdicts = [monitor.observe(v, v, 0.1, 1.0, True, {}) for v in losses]  # the gradient shrinks with the loss
    assert all(v is None for v in verdicts)  # a spike is neither divergence nor a converged plateau
    for _ in range(signatures.CONVERGENCE_WINDOW):
        verdict = monitor.observe(0.0323, 0.0323, 0.1, 1.0, True, {})
    assert verdict is not None and verdict.status == "converged"


def test_monitor_flat_loss_with_a_large_gradient_is_not_converged() -> None:
    # float16 cannot show a loss change below its resolution (0.69 ± 2.4e-4): flat is not optimal.
    monitor = signatures.Monitor("float16")
    for _ in range(50):
        assert monitor.observe(0.6929, 0.3, 1e-4, 0.01, True, {}) is None
    verdict = monitor.finish()
    assert verdict.status == "unconverged" and "|grad| is still 1 of its first value" in verdict.reason


def test_monitor_non_finite_after_a_rise_is_diverged_and_without_one_is_overflow_or_nan() -> None:
    rising = signatures.Monitor("float32")
    for v in (1.0, 5.0, 80.0):
        assert rising.observe(v, 1.0, 1.0, 1.0, True, {}) is None
    verdict = rising.observe(float("inf"), 1.0, 1.0, 1.0, False, {"overflow": 1})
    assert verdict is not None and (verdict.status, verdict.reason) == ("diverged", "loss=inf at epoch 4")
    flat = signatures.Monitor("float32")
    flat.observe(0.7, 1.0, 1.0, 1.0, True, {})
    verdict = flat.observe(float("nan"), 1.0, 1.0, 1.0, True, {"overflow": 1, "invalid": 2})
    assert verdict is not None and verdict.status == "overflow"
    flat = signatures.Monitor("float32")
    flat.observe(0.7, 1.0, 1.0, 1.0, True, {})
    verdict = flat.observe(float("nan"), 1.0, 1.0, 1.0, True, {"divide": 1, "invalid": 1})
    assert verdict is not None and verdict.status == "nan"


# ---------------------------------------------------------------------------------------------- the sweep


@pytest.fixture(scope="module")
def default_sweep() -> lab.SweepResult:
    return lab.sweep(synthetic.make_problem(), probes=False, policies=False)


def test_builtin_table_reproduces_three_signatures_and_a_converged_run(default_sweep: lab.SweepResult) -> None:
    statuses = Counter(run.verdict.status for run in default_sweep.runs)
    assert len(set(statuses) & set(signatures.FAILURES)) >= 3, statuses
    assert statuses["converged"] >= 1
    assert {"overflow", "diverged", "stagnated"} <= set(statuses)
    assert len(default_sweep.runs) == 4 * 3 * 2 * 2
    assert default_sweep.condition_number > 1e12 and default_sweep.condition_number_scaled < 10
    assert "scale features" in default_sweep.recommendation.items


def test_builtin_tables_of_the_other_tasks_also_fail_in_several_ways() -> None:
    result = lab.sweep(synthetic.make_problem("linear_regression"), probes=False, policies=False)
    statuses = {run.verdict.status for run in result.runs}
    assert {"overflow", "diverged", "converged"} <= statuses, statuses
    result = lab.sweep(synthetic.make_problem("softmax_regression"), ("precision", "scaling"), {"lr": (1.0,)},
                       epochs=150, policies=False)
    statuses = {run.verdict.status for run in result.runs}
    assert "overflow" in statuses and "converged" in statuses, statuses


def test_arms_are_matched_and_runs_reproducible() -> None:
    problem = synthetic.make_problem(rows=600)
    std = lab.standardise(problem.X)
    a = lab.train(problem, Arm("float32", 0.5, 0.0, "standard"), epochs=40, batch_size=64, seed=3, X=std)
    b = lab.train(problem, Arm("float64", 0.5, 0.0, "standard"), epochs=40, batch_size=64, seed=3, X=std)
    again = lab.train(problem, Arm("float32", 0.5, 0.0, "standard"), epochs=40, batch_size=64, seed=3, X=std)
    other = lab.train(problem, Arm("float64", 0.5, 0.0, "standard"), epochs=40, batch_size=64, seed=4, X=std)
    assert a.history == again.history
    # Same batch order across dtypes: the float32 and float64 trajectories agree to float32 precision...
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-4)
    # ... while another seed (another batch order) moves the trajectory by more than that.
    assert not np.allclose(b.history["loss"], other.history["loss"], rtol=1e-4)


def test_grid_keeps_unswept_axes_fixed() -> None:
    arms = lab.grid(("lr",), {"lr": (0.1, 1.0), "precision": ("float32",)})
    assert arms == [Arm("float32", 0.1, 0.0), Arm("float32", 1.0, 0.0)]
    with pytest.raises(ValueError):
        lab.grid(("lr",), {"precision": ("float32", "float64")})


def test_condition_number_is_inf_for_a_rank_deficient_design() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    cond, rank = lab.condition_number_xtx(np.column_stack([a, 2 * a]))
    assert cond == float("inf") and rank == 2
    X = rng.normal(size=(200, 3))
    cond, rank = lab.condition_number_xtx(X)
    A = np.column_stack([X, np.ones(200)])
    assert rank == 4 and cond == pytest.approx(np.linalg.cond(A.T @ A), rel=1e-6)
