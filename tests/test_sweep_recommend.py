"""The recommendation is derived from matched arms: each rule fires on the pairs that show it, and only then."""

from __future__ import annotations

import math

import numpy as np

from mlstablint.sweep import lab, synthetic
from mlstablint.sweep.lab import Arm, Run, SweepResult
from mlstablint.sweep.recommend import recommend
from mlstablint.sweep.signatures import Verdict


def _result(outcomes: dict[Arm, str], axes: tuple[str, ...], cond: float = 10.0) -> SweepResult:
    runs = []
    for arm, status in outcomes.items():
        loss = math.inf if status == "overflow" else 0.5
        runs.append(Run(arm, Verdict(status, 10, loss, "test"), {"loss": [], "grad_norm": [], "update_norm": []},
                        {}))
    return SweepResult("logistic_regression", "synthetic", axes, 300, None, 0, 100, 3, cond, 1.0, 4, runs)


def test_precision_rule_names_the_narrowest_dtype_that_is_enough() -> None:
    only_half = {Arm("float16", 0.1, 0.0): "overflow", Arm("float32", 0.1, 0.0): "converged",
                 Arm("float64", 0.1, 0.0): "converged"}
    assert recommend(_result(only_half, ("precision",))).items == ["use float32 or wider"]
    half_and_single = {**only_half, Arm("float32", 0.1, 0.0): "stagnated"}
    rec = recommend(_result(half_and_single, ("precision",)))
    assert rec.items == ["use float64"]
    assert rec.because[0].startswith("float64 converged where float32 stagnated")  # the widest dtype that failed
    assert rec.because[0].endswith("(lr=0.1 lambda=0; 2 matched pairs)")


def test_lr_rules_lower_raise_and_range() -> None:
    lower = {Arm("float64", 0.01, 0.0): "converged", Arm("float64", 0.2, 0.0): "converged",
             Arm("float64", 1.0, 0.0): "diverged"}
    assert recommend(_result(lower, ("lr",))).items == ["lower lr (≤ 0.2)"]
    raise_ = {Arm("float64", 0.01, 0.0): "unconverged", Arm("float64", 0.2, 0.0): "converged",
              Arm("float64", 1.0, 0.0): "converged"}
    assert recommend(_result(raise_, ("lr",))).items == ["raise lr (≥ 0.2)"]
    window = {Arm("float64", 0.01, 0.0): "stagnated", Arm("float64", 0.2, 0.0): "converged",
              Arm("float64", 1.0, 0.0): "diverged"}
    assert recommend(_result(window, ("lr",))).items == ["use lr=0.2"]


def test_l2_scaling_and_loss_rules() -> None:
    outcomes = {Arm("float64", 0.1, 0.0, "raw", "stable"): "diverged",
                Arm("float64", 0.1, 0.0, "standard", "stable"): "unconverged",
                Arm("float64", 0.1, 1e-3, "raw", "stable"): "diverged",
                Arm("float64", 0.1, 1e-3, "standard", "stable"): "converged",
                Arm("float64", 0.1, 0.0, "raw", "naive"): "nan",
                Arm("float64", 0.1, 0.0, "standard", "naive"): "nan",
                Arm("float64", 0.1, 1e-3, "raw", "naive"): "nan",
                Arm("float64", 0.1, 1e-3, "standard", "naive"): "nan"}
    rec = recommend(_result(outcomes, ("lambda", "scaling", "loss")))
    assert rec.items == ["scale features", "use the stable loss", "add L2 (lambda ≥ 1e-3)"]
    assert len(rec.because) == 3


def test_nothing_converged_blames_the_model_or_the_data_unless_runs_were_still_improving() -> None:
    failing = {Arm("float64", lr, 0.0): "diverged" for lr in (0.1, 1.0)}
    rec = recommend(_result(failing, ("lr",), cond=1e12))
    assert rec.items == ["the model or data is at fault: check the audit", "sweep scaling too"]
    slow = {Arm("float64", 0.1, 0.0): "unconverged", Arm("float64", 1.0, 0.0): "diverged"}
    assert recommend(_result(slow, ("lr",))).items[0] == "train longer (--epochs)"


def test_everything_converged_needs_no_change() -> None:
    fine = {Arm(dt, 0.1, 0.0): "converged" for dt in ("float32", "float64")}
    rec = recommend(_result(fine, ("precision",)))
    assert rec.items == ["no change needed"] and rec.text == "no change needed"


def test_recommendation_changes_when_the_data_changes() -> None:
    raw = synthetic.make_problem(rows=1000)
    standardised = lab.Problem(raw.task, lab.standardise(raw.X), raw.y, raw.features, raw.classes)
    a = lab.sweep(raw, epochs=150, probes=False, policies=False).recommendation
    b = lab.sweep(standardised, epochs=150, probes=False, policies=False).recommendation
    assert "scale features" in a.items and "scale features" not in b.items
    assert a.text != b.text
    # A table where nothing can be learnt and everything blows up: without the scaling control the rules step
    # aside; with it (the default), the control arms converge on standardised features and scaling is the answer.
    rng = np.random.default_rng(0)
    noise = lab.Problem("linear_regression", rng.normal(size=(300, 2)) * 1e6, rng.normal(size=300), ("a", "b"))
    c = lab.sweep(noise, ("precision", "lr"), controls=False, probes=False, policies=False).recommendation
    assert c.items == ["the model or data is at fault: check the audit", "sweep scaling too"]
    controlled = lab.sweep(noise, ("precision", "lr"), probes=False, policies=False)
    assert controlled.controls == ("scaling",)
    assert controlled.recommendation.items[0] == "scale features"
