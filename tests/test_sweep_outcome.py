"""The lab's promised outcome: the headline command converges somewhere, fails elsewhere, runs the scaling control
when it decides the verdict, and recommends from that evidence; lr edges against the closed-form stability bound of
gradient descent; the windowed convergence test against single noisy steps."""

from __future__ import annotations

import numpy as np
import pytest

from mlstablint.sweep import lab, signatures, synthetic
from mlstablint.sweep.lab import Arm, Problem
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def headline() -> str:
    out = run_cli("sweep", "--task", "logistic_regression", "--sweep", "precision,lr,lambda")
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_headline_command_converges_fails_and_recommends_scaling(headline: str) -> None:
    lines = headline.splitlines()
    runs = [line for line in lines if line.startswith("Run ")]
    statuses = [line.split(": ", 1)[1].split(" ", 1)[0] for line in runs]
    assert "converged" in statuses
    assert {"overflow", "diverged"} <= set(statuses)
    # The user swept no scaling: the lab said it ran the control, and every converged run is a control arm.
    control = [line for line in lines if line.startswith("Control: ")]
    assert len(control) == 1 and "from 1e15 to 1.149" in control[0] and "15 orders of magnitude" in control[0]
    converged = [line for line in runs if ": converged" in line]
    assert converged and all("scaling=standard [control]" in line for line in converged)
    rec = next(line for line in lines if line.startswith("Recommendation: "))
    assert rec.startswith("Recommendation: scale features")
    because = [line for line in lines if line.startswith("  because ")]
    assert "standardising lowers cond(X^T X) from 1e15 to 1.149" in because[0]
    assert "control arms the lab added" in because[0]
    # Each failure names its signature and its epoch.
    assert all(" at epoch " in line for line in runs if ": diverged" in line or ": overflow" in line)


def test_lr_edge_matches_the_closed_form_bound_of_gradient_descent() -> None:
    # Least squares by GD is stable iff lr < 2/λ_max(AᵀA/n): the probed edge must bracket that bound.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3)) * np.array([1.0, 3.0, 0.5])
    y = X @ np.array([1.0, -1.0, 2.0]) + rng.normal(0.0, 0.1, 400)
    problem = Problem("linear_regression", X, y, ("a", "b", "c"))
    A = np.column_stack([X, np.ones(len(X))])
    bound = 2.0 / np.linalg.eigvalsh(A.T @ A / len(A))[-1]
    assert lab.lr_bound(X, "linear_regression") == pytest.approx(bound, rel=1e-10)
    result = lab.sweep(problem, ("lr",), {"lr": (0.01, 1.0), "precision": ("float64",)}, epochs=200)
    (edge,) = result.lr_edges
    assert edge.probes and edge.edge is not None and edge.first_unstable is not None
    assert edge.edge <= bound * 1.02 and edge.first_unstable >= bound * 0.98
    assert edge.first_unstable / edge.edge <= lab.EDGE_RESOLUTION
    assert edge.unstable[0][:2] == (1.0, "diverged")


def _replay(losses: list[float], grads: list[float], updates: list[float]) -> signatures.Verdict:
    monitor = signatures.Monitor("float64")
    for loss, grad, update in zip(losses, grads, updates, strict=True):
        verdict = monitor.observe(loss, grad, update, 0.0, True, {})
        if verdict is not None:
            return verdict
    return monitor.finish()


def test_single_noisy_steps_on_a_mini_batch_run_do_not_flip_the_verdict() -> None:
    problem = synthetic.make_problem(rows=800)
    X = lab.standardise(problem.X)
    run = lab.train(problem, Arm("float64", 0.5, 0.01, "standard"), epochs=300, batch_size=8, seed=1, X=X)
    assert run.verdict.status == "converged"
    h = run.history
    losses = h["loss"]
    # The run is noisy: many epochs raise the loss, and a one-step test (|Δloss| < tol) would have declared
    # convergence well before the windowed test did.
    steps = np.diff(losses) / np.asarray(losses[:-1])
    assert (steps > 0).sum() >= 10
    assert (np.abs(steps[: run.verdict.epoch - signatures.CONVERGENCE_WINDOW - 1]) < signatures.CONVERGENCE_TOL).any()
    assert _replay(losses, h["grad_norm"], h["update_norm"]).epoch == run.verdict.epoch
    for t in range(signatures.CONVERGENCE_WINDOW, run.verdict.epoch - signatures.CONVERGENCE_WINDOW, 3):
        for factor in (1.5, 1.0 - 1e-9):  # a spike, and a step that (almost) does not move
            spiked = list(losses)
            spiked[t] = spiked[t] * factor if factor > 1 else spiked[t - 1] * factor
            verdict = _replay(spiked, h["grad_norm"], h["update_norm"])
            assert verdict.status == "converged", (t, factor, verdict)
            assert abs(verdict.epoch - run.verdict.epoch) <= 2 * signatures.CONVERGENCE_WINDOW, (t, factor, verdict)


def test_convergence_tolerance_follows_the_loss_dtype_resolution() -> None:
    assert signatures.Monitor("float64").tolerance == signatures.CONVERGENCE_TOL
    assert signatures.Monitor("float16").tolerance == pytest.approx(np.finfo(np.float16).eps)
    assert signatures.Monitor("float32", loss_dtype="bfloat16").tolerance == pytest.approx(2.0**-7)
