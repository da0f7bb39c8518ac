"""Failure signatures and the convergence test of one training run, decided epoch by epoch.

A run is fed to a `Monitor` one epoch at a time (the loss and the gradient norm at the start of the
epoch, the norm of the update the epoch applied, the parameter norm, and the floating-point warnings
numpy raised during the epoch). The monitor names the first signature it sees, in this order:

1. non-finite (the loss or the parameters hold inf or NaN):
   * **diverged** if the finite losses just before were rising (see `TREND_*`): the blow-up is the end of
     a divergence, e.g. "loss=inf at epoch 14";
   * **overflow** if numpy reported an overflow in that epoch (`exp` or a product went past the dtype's
     max), or the loss is ±inf without a NaN;
   * **nan** otherwise: an invalid operation (0·inf, inf - inf, 0/0, log of a negative) made a NaN
     without an overflow (typically `log(0)` of a probability that rounded to exactly 0 or 1);
2. **diverged** (finite): every loss of the last `DIVERGENCE_WINDOW` epochs is more than
   `DIVERGENCE_FACTOR` times the best (positive) loss seen before that window;
3. the loss has stopped improving: the best loss of the last `CONVERGENCE_WINDOW` epochs improves on the
   best loss before them by less than the tolerance (relative: `CONVERGENCE_TOL`, or `CONVERGENCE_RESOLUTION`
   machine epsilons of the loss's dtype if that is coarser: 9.8e-4 for a float16 loss, 7.8e-3 for bfloat16),
   and the window is steady (its spread is at most `CONVERGENCE_JITTER`, relative). Comparing the best of a
   window with the best before it, never one step with the next, is what makes the test resilient to noise:
   a single noisy step (a mini-batch spike, or a lucky step that barely moves) neither proves nor prevents
   convergence, and a loss that rounds to the same value for a step is not "flat". Then:
   * **stagnated** if, for the last `STAGNATION_WINDOW` epochs or more, every applied update was below the
     dtype's resolution (‖Δθ‖ ≤ `STAGNATION_RESOLUTION`·eps(dtype)·‖θ‖, updates rounded to exactly 0
     included) while the gradient stayed large (‖g‖ > `STAGNATION_GRAD_FRACTION`·‖g₀‖) or had mostly
     underflowed to 0 (≥ `STAGNATION_UNDERFLOW` of its components, where float64 has them non-zero): a
     false convergence, the optimiser wants to move and the arithmetic will not let it;
   * **converged** if the gradient norm has also fallen to `CONVERGENCE_GRAD_FRACTION`·‖g₀‖;
   * otherwise the run goes on (a flat loss with a large gradient is not an optimum);
4. **unconverged**: none of the above by the last epoch.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["converged", "diverged", "overflow", "nan", "stagnated", "unconverged"]
STATUSES: tuple[Status, ...] = ("converged", "diverged", "overflow", "nan", "stagnated", "unconverged")
FAILURES: tuple[Status, ...] = ("diverged", "overflow", "nan", "stagnated")

# Divergence: the loss must stay high for a whole window, so one bad step (a mini-batch spike) is not enough.
DIVERGENCE_WINDOW = 5  # epochs
DIVERGENCE_FACTOR = 10.0  # × the best loss before the window
# A run that turns non-finite "was diverging" if its last finite losses rose for this many epochs in a row...
TREND_EPOCHS = 1
# ... and the last of them was at least this factor above the best loss seen.
TREND_FACTOR = 2.0
# Stagnation: updates at or below this many machine epsilons of the parameter norm are lost to rounding.
STAGNATION_RESOLUTION = 1.0
STAGNATION_WINDOW = 10  # epochs in a row
# ... while the gradient norm is still above this fraction of its first value (not a stationary point).
STAGNATION_GRAD_FRACTION = 1e-2
# ... or while at least this share of the gradient's components underflowed to 0 (the gradient is small
# because the dtype could not hold it, not because the optimum is near).
STAGNATION_UNDERFLOW = 0.5
# Convergence: relative improvement of the best loss over the window, and the window's relative spread.
CONVERGENCE_WINDOW = 10  # epochs
CONVERGENCE_TOL = 1e-4
CONVERGENCE_JITTER = 0.05
# ... and the tolerance is never below this many machine epsilons of the dtype the loss is computed in.
CONVERGENCE_RESOLUTION = 1.0
# ... and the gradient must have shrunk to this fraction of its first value: a flat loss with a large gradient
# is a loss too coarse to show progress (float16 resolves 0.69 only to ±2.4e-4) or an oscillation, not an optimum.
CONVERGENCE_GRAD_FRACTION = 0.05

EPS = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-23, "float64": 2.0**-52}


def fmt(x: float) -> str:
    """A short human form of a number: 0.3121, 212, 2.4e7, 1e-3, inf, nan."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:  # 4 significant digits, no exponent: 0.3121, 4.373, 378.2, 13177
        text = f"{x:.4g}"
        return f"{x:.0f}" if "e" in text else text
    mantissa, exponent = f"{x:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def json_number(x: float) -> float | str:
    """A number for the lab's JSON: 6 significant digits; non-finite values as "inf", "-inf", "nan"."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(f"{x:.6g}")


@dataclass
class Verdict:
    status: Status
    epoch: int  # 1-based epoch at which the status was decided (0: before training)
    loss: float  # the loss at that epoch (non-finite allowed)
    reason: str  # the parenthetical of the text line, e.g. "loss=inf at epoch 14"


@dataclass
class Monitor:
    """Feed it one epoch at a time with `observe`; it returns a Verdict once a status is decided."""

    dtype: str  # the dtype of the weights (stagnation is measured against its resolution)
    convergence_tol: float = CONVERGENCE_TOL
    loss_dtype: str | None = None  # the dtype the loss is computed in (default: `dtype`)
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    update_norms: list[float] = field(default_factory=list)
    _stalled: int = 0
    _stalled_since: int = 0
    _underflow_stall: bool = False

    @property
    def tolerance(self) -> float:
        """The relative improvement below which the loss is flat: `convergence_tol`, but never finer than
        CONVERGENCE_RESOLUTION ulps of the loss's dtype (a float16 loss cannot show a 1e-4 improvement)."""
        return max(self.convergence_tol, CONVERGENCE_RESOLUTION * EPS[self.loss_dtype or self.dtype])

    def observe(self, loss: float, grad_norm: float, update_norm: float, param_norm: float,
                params_finite: bool, events: dict[str, int], underflow: float = 0.0) -> Verdict | None:
        """One epoch. `underflow` is the share of gradient components that underflowed to 0 in the compute
        dtype while their float64 value is not 0: a gradient that underflowed is not a small gradient."""
        self.losses.append(loss)
        self.grad_norms.append(grad_norm)
        self.update_norms.append(update_norm)
        epoch = len(self.losses)
        if not (math.isfinite(loss) and params_finite and math.isfinite(grad_norm)):
            return self._non_finite(epoch, loss, grad_norm, params_finite, events)
        finite = self.losses[:-1]
        if epoch > DIVERGENCE_WINDOW:
            before = min(finite[: epoch - DIVERGENCE_WINDOW])
            lowest = min(self.losses[epoch - DIVERGENCE_WINDOW:])
            if before > 0 and lowest > DIVERGENCE_FACTOR * before:
                return Verdict("diverged", epoch, loss,
                               f"loss={fmt(loss)} at epoch {epoch}, best {fmt(before)}")
        resolution = STAGNATION_RESOLUTION * EPS[self.dtype] * param_norm
        large = grad_norm > STAGNATION_GRAD_FRACTION * self.grad_norms[0]
        if update_norm <= resolution and (large or underflow >= STAGNATION_UNDERFLOW):
            if self._stalled == 0:
                self._stalled_since = epoch
                self._underflow_stall = not large
            self._stalled += 1
        else:
            self._stalled = 0
        if epoch > CONVERGENCE_WINDOW:
            best_before = min(self.losses[: epoch - CONVERGENCE_WINDOW])
            window = self.losses[epoch - CONVERGENCE_WINDOW:]
            scale = max(abs(best_before), 1e-300)
            improvement = (best_before - min(window)) / scale
            spread = (max(window) - min(window)) / max(abs(min(window)), 1e-300)
            if improvement < self.tolerance and spread <= CONVERGENCE_JITTER:
                if self._stalled >= STAGNATION_WINDOW:
                    cause = (f"gradients underflowed to 0 ({fmt(100 * underflow)} % of components)"
                             if self._underflow_stall else f"updates below {self.dtype} resolution")
                    return Verdict("stagnated", epoch, loss,
                                   f"{cause} since epoch {self._stalled_since}, "
                                   f"loss {fmt(loss)}, |grad| {fmt(grad_norm)}")
                if grad_norm <= CONVERGENCE_GRAD_FRACTION * self.grad_norms[0]:
                    return Verdict("converged", epoch, loss, f"epoch {epoch}, loss {fmt(loss)}")
                # A flat loss with a large gradient is not an optimum: the loss may be too coarse to show
                # the progress (float16), or the optimiser oscillates. Keep going.
        return None

    def finish(self) -> Verdict:
        """The verdict of a run that reached its last epoch undecided."""
        epoch = len(self.losses)
        loss = self.losses[-1] if self.losses else math.nan
        detail = ""
        if epoch > CONVERGENCE_WINDOW:
            best_before = min(self.losses[: epoch - CONVERGENCE_WINDOW])
            improvement = (best_before - min(self.losses[epoch - CONVERGENCE_WINDOW:])) / max(abs(best_before), 1e-300)
            detail = f", improvement {fmt(improvement)} over the last {CONVERGENCE_WINDOW} epochs"
            if improvement < self.tolerance:  # flat, but the gradient says it is not an optimum
                ratio = self.grad_norms[-1] / self.grad_norms[0] if self.grad_norms[0] else math.inf
                detail += f" but |grad| is still {fmt(ratio)} of its first value"
        return Verdict("unconverged", epoch, loss, f"epoch {epoch}, loss {fmt(loss)}{detail}")

    def _non_finite(self, epoch: int, loss: float, grad_norm: float, params_finite: bool,
                    events: dict[str, int]) -> Verdict:
        what = f"loss={fmt(loss)}" if not math.isfinite(loss) else (
            "parameters non-finite" if not params_finite else f"|grad|={fmt(grad_norm)}")
        if self._rising():
            return Verdict("diverged", epoch, loss, f"{what} at epoch {epoch}")
        order = ("overflow", "invalid", "divide", "underflow")
        warnings = ", ".join(f"{events[kind]} {kind}" for kind in order if events.get(kind))
        tail = f"; numpy warnings: {warnings}" if warnings else ""
        if events.get("overflow", 0) or (math.isinf(loss) and params_finite):
            return Verdict("overflow", epoch, loss, f"{what} at epoch {epoch}{tail}")
        return Verdict("nan", epoch, loss, f"{what} at epoch {epoch}{tail}")

    def _rising(self) -> bool:
        previous = self.losses[:-1]
        if len(previous) < TREND_EPOCHS + 1:
            return False
        tail = previous[-TREND_EPOCHS - 1:]
        if not all(math.isfinite(v) for v in tail):
            return False
        rising = all(b > a for a, b in itertools.pairwise(tail))
        best = min(v for v in previous if math.isfinite(v))
        return rising and tail[-1] > TREND_FACTOR * best


def overflow_at_cast(dtype: str, count: int, what: str) -> Verdict:
    """The verdict of a run whose data cannot even be represented in `dtype`."""
    return Verdict("overflow", 0, math.inf, f"{count} values of {what} beyond {dtype}'s range, before epoch 1")
