"""Mixed-precision policies, each on a problem where it matters; the arithmetic checked against exact sums."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from mlstablint.sweep import lab, precision, synthetic
from mlstablint.sweep.lab import Arm, Problem
from mlstablint.sweep.precision_report import evaluate_policies


def test_float16_accumulation_rounds_every_partial_sum_and_acc32_rounds_once() -> None:
    # 40000 + 40000 - 40000 - 40000: the partial sum 80000 overflows float16 (max 65504), so a float16 tree sum
    # ends in inf - inf = NaN; summed in float32 it is exactly 0.
    values = np.array([40000.0, 40000.0, -40000.0, -40000.0], dtype=np.float16)
    ones = np.ones(4, dtype=np.float16)
    pure = precision.Arithmetic(precision.POLICIES["float16"])
    acc32 = precision.Arithmetic(precision.POLICIES["float16-acc32"])
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(pure.dot(values[None, :], ones)[0]) and np.isnan(pure.total(values))
    assert float(acc32.dot(values[None, :], ones)[0]) == 0.0 and float(acc32.total(values)) == 0.0
    # Swamping: 1 + 1023 × 2^-11 in bfloat16 (ulp of 1 is 2^-7). Left to right every small term would round
    # away (the sum stays 1); the tree adds the small terms among themselves first and lands within 2 ulps.
    small = np.concatenate([[1.0], np.full(1023, 2.0**-11)]).astype(ml_dtypes.bfloat16)
    bf = precision.Arithmetic(precision.POLICIES["bfloat16"])
    out = bf.dot(small[None, :], np.ones(1024, dtype=ml_dtypes.bfloat16))
    assert out.dtype == precision.dtype_of("bfloat16")
    exact = math.fsum([1.0] + [2.0**-11] * 1023)
    assert abs(float(out[0]) - exact) <= 2 * 2.0**-7 and float(out[0]) != 1.0


def test_master_weights_keep_updates_below_half_an_ulp() -> None:
    pure = precision.Arithmetic(precision.POLICIES["float16"])
    master = precision.Arithmetic(precision.POLICIES["float16-master32"])
    g = np.array([2.0**-13], dtype=np.float16)
    w16 = pure.step(np.array([1.0], dtype=np.float16), g, np.asarray(1.0, dtype=np.float16))
    w32 = master.step(np.array([1.0], dtype=np.float32), master.unscale(g), np.asarray(1.0, dtype=np.float32))
    assert float(w16[0]) == 1.0 and pure.stats.lost == 1
    assert float(w32[0]) == 1.0 - 2.0**-13 and master.stats.lost == 0


def _intercept_problem() -> Problem:
    # A large intercept (100): bfloat16's ulp there is 0.5, so the last steps towards it round away.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 4))
    y = 100 + X @ np.array([1.0, -2.0, 0.5, 1.5]) + rng.normal(size=2000)
    return Problem("linear_regression", X, y, ("a", "b", "c", "d"))


def test_bfloat16_stagnates_where_float32_master_weights_converge() -> None:
    problem = _intercept_problem()
    runs = {p: lab.train(problem, Arm(p, 0.1, 0.0)) for p in ("bfloat16", "float16-master32", "float64")}
    ref = lab.final_loss(problem, problem.X, runs["float64"])
    bf, mixed = runs["bfloat16"], runs["float16-master32"]
    assert bf.verdict.status == "stagnated" and "below bfloat16 resolution" in bf.verdict.reason
    assert bf.precision is not None and bf.precision.lost_update_fraction > 0.05
    assert lab.final_loss(problem, problem.X, bf) > 2 * ref
    assert mixed.verdict.status == "converged"
    assert mixed.precision is not None and mixed.precision.lost_update_fraction == 0
    assert lab.final_loss(problem, problem.X, mixed) == pytest.approx(ref, rel=1e-2)


def test_dynamic_loss_scaling_rescues_float16_gradient_underflow() -> None:
    # dLoss/dZ = r/n with r ≈ 1e-4 and n = 20 000 is ≈ 5e-9, below float16's smallest subnormal (6e-8).
    rng = np.random.default_rng(1)
    n = 20_000
    X = rng.normal(size=(n, 4))
    y = 1e-4 * (X @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.5 * rng.normal(size=n))
    problem = Problem("linear_regression", X, y, ("a", "b", "c", "d"))
    ref = lab.final_loss(problem, X, lab.train(problem, Arm("float64", 0.5, 0.0)))
    plain = lab.train(problem, Arm("float16-master32", 0.5, 0.0))
    dynamic = lab.train(problem, Arm("float16-master32-dynamic", 0.5, 0.0))
    assert plain.verdict.status == "stagnated" and "underflowed" in plain.verdict.reason
    assert plain.precision is not None and plain.precision.underflow_fraction > 0.1
    assert lab.final_loss(problem, X, plain) > 2 * ref
    assert dynamic.verdict.status == "converged"
    assert dynamic.precision is not None and dynamic.precision.underflow_fraction == 0
    assert dynamic.precision.final_loss_scale >= precision.DYNAMIC_INIT_SCALE
    assert lab.final_loss(problem, X, dynamic) == pytest.approx(ref, rel=1e-3)


def test_dynamic_scaling_backs_off_where_static_scaling_overflows() -> None:
    # Gradients near float16's max: scaled by 4096 they overflow. The static scale fails; the dynamic one halves.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 2)) * 30.0
    y = X @ np.array([20.0, -10.0])
    problem = Problem("linear_regression", X, y, ("a", "b"))
    static = lab.train(problem, Arm("float16-master32-static", 1e-4, 0.0), epochs=50)
    dynamic = lab.train(problem, Arm("float16-master32-dynamic", 1e-4, 0.0), epochs=50)
    assert static.verdict.status in ("overflow", "nan", "diverged")
    assert dynamic.verdict.status not in ("overflow", "nan", "diverged")
    assert dynamic.precision is not None and dynamic.precision.skipped_steps > 0
    assert dynamic.precision.final_loss_scale < precision.DYNAMIC_INIT_SCALE


def test_policy_report_names_the_cheapest_policy_that_matches_float64() -> None:
    problem = _intercept_problem()
    ref = lab.train(problem, Arm("float64", 0.1, 0.0))
    report = evaluate_policies(problem, [ref], problem.X, lab.standardise(problem.X), 300, None, 0, lab.train)
    assert report is not None
    outcomes = {o.policy: o for o in report.outcomes}
    assert list(outcomes) == list(precision.POLICIES)
    assert not outcomes["bfloat16"].matches and outcomes["bfloat16"].status == "stagnated"
    assert outcomes["float64"].matches and outcomes["float64"].relative_gap == 0
    cheapest = report.cheapest
    assert cheapest is not None
    # Every policy cheaper than the one named failed to match, and the one named is within the tolerance.
    order = list(precision.POLICIES)
    assert all(not outcomes[p].matches for p in order[: order.index(cheapest)])
    assert abs(outcomes[cheapest].relative_gap) <= report.tolerance
    assert math.isfinite(report.reference_loss)
    assert report.to_json()["cheapest_matching"] == cheapest


def test_sweep_runs_every_policy_given_on_the_command_line_values() -> None:
    problem = synthetic.make_problem(rows=300)
    result = lab.sweep(problem, ("precision",), {"precision": tuple(precision.POLICIES), "lr": (1.0,),
                                                 "scaling": ("standard",), "lambda": (0.01,)},
                       epochs=60, policies=False)
    assert [r.arm.dtype for r in result.runs] == list(precision.POLICIES)
    assert all(r.precision is not None and r.precision.policy == r.arm.dtype for r in result.runs)
