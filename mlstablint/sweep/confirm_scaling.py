"""The scaling experiment ("scaling-solver"): a scale-sensitive solver on the raw columns and on the
standardised columns. Confirms MSL606 (scale disparity) and, with a table, the code's MSL205.

On the sample (at most FIT_CELLS values, duplicate groups kept whole, rows with a missing value left
out), the same estimator is fitted twice, on X and on `StandardScaler().fit_transform(X)`:

- class labels: `LogisticRegression(solver="lbfgs", max_iter=100)`; figures: iterations (`n_iter_`),
  whether a ConvergenceWarning was raised, and the training log-loss;
- otherwise (a numeric target, or a synthetic N(0, 1) one when none is given): ridge by stochastic
  average gradient, `Ridge(alpha=1, solver="sag", max_iter=100, tol=1e-4, random_state=seed)`, whose
  step size is set by the largest row norm; figures: epochs (`n_iter_`), ConvergenceWarning,
  divergence (an overflow error or non-finite weights) and the training mean squared error.

Verdict: `confirmed` when the standardised fit converges (no warning, fewer iterations than the cap,
finite loss) and the raw fit does not (diverged, non-finite, warned, or hit the cap) or ends with a
loss more than 10 % above the standardised fit's; `not-confirmed` otherwise.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, Skip, Table, clean, fmt, needs_data, one_thread, synthetic_target, verdict

EXPERIMENT = "scaling-solver"
FIT_CELLS = 1_000_000
MIN_ROWS = 1000
MAX_ITER = 100
LOSS_MARGIN = 1.10


@dataclass
class Fit:
    converged: bool = False
    diverged: bool = False
    warned: bool = False
    iterations: int | None = None
    loss: float | None = None
    note: str = ""

    def figures(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "convergence_warning": self.warned, "diverged": self.diverged,
                "converged": self.converged, "loss": self.loss}

    def text(self) -> str:
        if self.diverged:
            return f"diverged{f' ({self.note})' if self.note else ''}"
        parts = [f"{self.iterations} iterations"]
        if self.warned:
            parts.append("ConvergenceWarning")
        elif self.iterations is not None and self.iterations >= MAX_ITER:
            parts.append("hit the cap")
        parts.append(f"loss {fmt(self.loss)}")
        return ", ".join(parts)


@dataclass
class Result:
    estimator: str
    loss: str
    raw: Fit
    scaled: Fit
    rows: int
    target: str
    confirmed: bool
    figures: dict[str, Any] = field(default_factory=dict)


def confirm_scale_disparity(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    if table is None:
        return needs_data(EXPERIMENT)
    result: Result = session.shared(EXPERIMENT, table, lambda: run(session, table))
    return Confirmation(verdict(result.confirmed), EXPERIMENT, result.figures, _summary(result))


def confirm_code_scaling(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    if table is None:
        return needs_data(EXPERIMENT)
    result: Result = session.shared(EXPERIMENT, table, lambda: run(session, table))
    estimator = str(finding.evidence.get("estimator") or "the estimator")
    figures = {"code_estimator": estimator, **result.figures}
    summary = f"{result.estimator} standing in for {estimator.rsplit('.', 1)[-1]}: {_summary(result)}"
    return Confirmation(verdict(result.confirmed), EXPERIMENT, figures, summary)


def _summary(result: Result) -> str:
    return (f"{result.estimator} on {result.rows} sampled rows ({result.target}): raw columns {result.raw.text()}; "
            f"standardised {result.scaled.text()} ({result.loss})")


def run(session: Session, table: Table) -> Result:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    full = session.sample(table)
    sample = full.subsample(max(MIN_ROWS, FIT_CELLS // max(1, len(full.columns))))
    classification = sample.is_classification(table.max_classes)
    rng = np.random.default_rng([session.seed, 0x5CA1E])
    if classification:
        assert sample.labels is not None
        y: NDArray[Any] = sample.labels
        has_y = y >= 0
        target = f"target {sample.target!r}"
    elif sample.y is not None and sample.target is not None:
        y, has_y, target = sample.y, np.isfinite(sample.y), f"target {sample.target!r}"
    else:
        y = rng.standard_normal(sample.rows)
        has_y, target = np.ones(sample.rows, dtype=bool), synthetic_target(sample.target)
    usable = np.isfinite(sample.X).any(axis=0)  # columns with no finite value would empty every row
    features = sample.X[:, usable]
    keep = np.isfinite(features).all(axis=1) & has_y
    X, y = features[keep], y[keep]
    if X.shape[0] < 10:
        raise Skip("fewer than 10 sampled rows have finite features and target")
    if classification and np.unique(y).size < 2:
        raise Skip("the sample holds a single class")
    deadline = session.box()
    if time.monotonic() >= deadline:
        raise Skip(session.budget_message())
    Z = StandardScaler().fit_transform(X)

    def fit(data: NDArray[np.float64]) -> Fit:
        out = Fit()
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            try:
                if classification:
                    model: Any = LogisticRegression(solver="lbfgs", max_iter=MAX_ITER)
                    model.fit(data, y)
                    out.iterations = int(np.max(model.n_iter_))
                    out.loss = _log_loss(model.predict_proba(data), y, model.classes_)
                else:
                    model = Ridge(alpha=1.0, solver="sag", max_iter=MAX_ITER, tol=1e-4, random_state=session.seed)
                    model.fit(data, y)
                    out.iterations = int(np.max(model.n_iter_))
                    pred = model.predict(data)
                    out.loss = float(np.mean((pred - y) ** 2))
            except (ValueError, FloatingPointError, OverflowError) as exc:
                out.diverged, out.note = True, str(exc).split("\n")[0][:80]
                return out
        out.warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        finite = out.loss is not None and np.isfinite(out.loss) and np.isfinite(model.coef_).all()
        if not finite:
            out.diverged, out.note = True, "non-finite weights or loss"
            out.loss = None if out.loss is None or not np.isfinite(out.loss) else out.loss
        out.converged = (not out.warned and not out.diverged and out.iterations is not None
                         and out.iterations < MAX_ITER)
        return out

    with one_thread():
        scaled = fit(Z)
        raw = fit(X) if time.monotonic() < deadline else None
    if raw is None:
        raise Skip("the experiment's time box ended before the raw fit")
    worse = (raw.loss is not None and scaled.loss is not None and raw.loss > LOSS_MARGIN * scaled.loss + 1e-12)
    confirmed = scaled.converged and (not raw.converged or worse)
    name = "LogisticRegression(lbfgs)" if classification else "Ridge(sag)"
    loss = "training log-loss" if classification else "training mean squared error"
    figures = clean({"estimator": name, "max_iter": MAX_ITER, "rows": int(X.shape[0]), "target": target,
                     "raw": raw.figures(), "standardised": scaled.figures(), "loss": loss,
                     "loss_margin": LOSS_MARGIN})
    return Result(estimator=name, loss=loss, raw=raw, scaled=scaled, rows=int(X.shape[0]), target=target,
                  confirmed=confirmed, figures=figures)


def _log_loss(proba: NDArray[np.float64], y: NDArray[Any], classes: NDArray[Any]) -> float:
    eps = np.finfo(np.float64).eps
    col = np.searchsorted(classes, y)
    picked = np.clip(proba[np.arange(y.size), col], eps, 1.0)
    return float(-np.mean(np.log(picked)))
