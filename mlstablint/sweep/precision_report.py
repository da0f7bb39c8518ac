"""Mixed-precision policy evaluation: every policy at the settings where float64 converged, against it.

The reference is the float64 run that converged to the lowest loss (ties: fewest epochs); each policy of
`precision.POLICIES` is trained at the same lr, lambda, scaling and loss form, from the same start, on the
same rows. A policy *matches* float64 when it did not fail (no divergence, overflow, NaN or stagnation) and
the float64 objective at its final weights is within `POLICY_RTOL` (relative) of the reference's: the
comparison is made in float64 on final weights, so a float16 loss's own rounding does not decide it. The
cheapest matching policy (in the order of `POLICIES`) is the recommendation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlstablint.sweep.precision import POLICIES
from mlstablint.sweep.signatures import FAILURES
from mlstablint.sweep.signatures import json_number as _num

if TYPE_CHECKING:
    from mlstablint.sweep.lab import F64, Problem, Run

POLICY_RTOL = 1e-2


@dataclass
class PolicyOutcome:
    policy: str
    status: str
    epoch: int
    reason: str
    final_loss: float  # float64 objective at the final weights
    relative_gap: float  # (final_loss - reference) / |reference|
    underflow_fraction: float
    lost_update_fraction: float
    skipped_steps: int
    final_loss_scale: float
    matches: bool

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "status": self.status, "epoch": self.epoch, "reason": self.reason,
                "final_loss": _num(self.final_loss), "relative_gap": _num(self.relative_gap),
                "underflow_fraction": round(self.underflow_fraction, 6),
                "lost_update_fraction": round(self.lost_update_fraction, 6), "skipped_steps": self.skipped_steps,
                "final_loss_scale": self.final_loss_scale, "matches_float64": self.matches}


@dataclass
class PolicyReport:
    reference: str  # the reference arm's settings, e.g. "lr=1 lambda=0.01 scaling=standard"
    reference_loss: float
    tolerance: float = POLICY_RTOL
    outcomes: list[PolicyOutcome] = field(default_factory=list)

    @property
    def cheapest(self) -> str | None:
        return next((o.policy for o in self.outcomes if o.matches), None)

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "reference_loss": _num(self.reference_loss),
                "tolerance": self.tolerance, "cheapest_matching": self.cheapest,
                "policies": [o.to_json() for o in self.outcomes]}


def evaluate_policies(problem: Problem, runs: Sequence[Run], X: F64, scaled: F64, epochs: int,
                      batch_size: int | None, seed: int, train: Callable[..., Run],
                      tolerance: float = POLICY_RTOL) -> PolicyReport | None:
    """Every policy at the best converged float64 arm's settings (None when no float64 arm converged)."""
    from mlstablint.sweep.lab import final_loss

    reference_runs = [r for r in runs if r.arm.dtype == "float64" and r.verdict.status == "converged"]
    if not reference_runs:
        return None
    best = min(reference_runs, key=lambda r: (r.verdict.loss, r.verdict.epoch))
    design = scaled if best.arm.scaling == "standard" else X
    trained = {name: train(problem, best.arm.replace("precision", name), epochs, batch_size, seed, X=design)
               for name in POLICIES}
    ref_loss = final_loss(problem, design, trained["float64"])
    report = PolicyReport(f"lr={best.arm.lr:g} lambda={best.arm.lam:g} scaling={best.arm.scaling} "
                          f"loss={best.arm.loss}", ref_loss, tolerance)
    for name, run in trained.items():
        loss = final_loss(problem, design, run)
        gap = (loss - ref_loss) / abs(ref_loss) if ref_loss else math.inf
        stats = run.precision
        ok = run.verdict.status not in FAILURES and math.isfinite(gap) and abs(gap) <= tolerance
        report.outcomes.append(PolicyOutcome(
            name, run.verdict.status, run.verdict.epoch, run.verdict.reason, loss, gap,
            stats.underflow_fraction if stats else 0.0, stats.lost_update_fraction if stats else 0.0,
            stats.skipped_steps if stats else 0, stats.final_loss_scale if stats else 1.0, ok))
    return report
