"""The stability lab: a numpy gradient-descent loop with explicit dtype control, run over a sweep grid.

One *arm* is one configuration: dtype (float16 / float32 / float64), learning rate, L2 strength
(lambda), feature scaling (raw / standard) and loss form (stable / naive). Every arm of a sweep trains
the same model on the same rows from the same initial weights with the same mini-batch order (matched
seeds), so two arms differ only in the settings that the grid varies. Each epoch logs the loss and the
gradient norm at the start of the epoch and the norm of the update the epoch applied; numpy's
floating-point warnings are silenced and counted per run (`np.errstate(call=...)`): they are evidence.
`signatures.Monitor` names the outcome.

All arithmetic of an arm happens in its dtype: the data, the weights, the learning rate and lambda are
cast once, and every elementwise operation stays in that dtype. numpy's float16 matrix products
accumulate in float32 and round the result to float16, like GPU mixed-precision kernels; the lab keeps
that behaviour (it is what float16 training does). Norms for the log are computed in float64 from the
dtype's values.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep import primitives as P
from mlstablint.sweep.signatures import CONVERGENCE_TOL, Monitor, Verdict, overflow_at_cast

if TYPE_CHECKING:
    from mlstablint.sweep.recommend import Recommendation

F64 = npt.NDArray[np.float64]
Array = npt.NDArray[Any]

TASKS = ("logistic_regression", "linear_regression", "softmax_regression")
AXES = ("precision", "lr", "lambda", "scaling", "loss")
DTYPES = ("float16", "float32", "float64")
SCALINGS = ("raw", "standard")
LOSS_FORMS = ("stable", "naive")
# The values an axis takes when it is swept (each overridable on the command line)...
DEFAULT_VALUES: dict[str, tuple[Any, ...]] = {
    "precision": DTYPES,
    "lr": (0.01, 0.2, 1.0),
    "lambda": (0.0, 1e-2),
    "scaling": SCALINGS,
    "loss": LOSS_FORMS,
}
# ... and the value it keeps when it is not.
FIXED_VALUES: dict[str, Any] = {"precision": "float64", "lr": 0.01, "lambda": 0.0, "scaling": "raw", "loss": "stable"}
DEFAULT_SWEEP = ("precision", "lr", "lambda", "scaling")
DEFAULT_EPOCHS = 300
DEFAULT_SEED = 0
# Bound on the work of a sweep, in multiply-adds of the matrix products (≈ 2 per row, feature and class per
# epoch): larger tables are trained on a seeded row sample of at least MIN_TRAIN_ROWS rows.
WORK_BUDGET = 4e9
MIN_TRAIN_ROWS = 1000


@dataclass(frozen=True)
class Problem:
    """A design matrix (float64, rows × features), its target and where it came from."""

    task: str
    X: F64
    y: Array  # float64 for regression; class indices (intp) for classification
    features: tuple[str, ...]
    classes: tuple[str, ...] = ()  # class labels (as text) for classification
    source: str = "synthetic"
    notes: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "softmax_regression" else 1


@dataclass(frozen=True)
class Arm:
    dtype: str
    lr: float
    lam: float
    scaling: str = "raw"
    loss: str = "stable"

    def value(self, axis: str) -> Any:
        return {"precision": self.dtype, "lr": self.lr, "lambda": self.lam, "scaling": self.scaling,
                "loss": self.loss}[axis]

    def replace(self, axis: str, value: Any) -> Arm:
        values = {a: self.value(a) for a in AXES}
        values[axis] = value
        return Arm(values["precision"], values["lr"], values["lambda"], values["scaling"], values["loss"])

    def label(self, swept: Sequence[str] = (), omit: str | None = None) -> str:
        """"float64 lr=0.01 lambda=1e-3" (+ scaling / loss when swept), without the `omit` axis."""
        parts = [("precision", self.dtype), ("lr", f"lr={fmt_hyper(self.lr)}"),
                 ("lambda", f"lambda={fmt_hyper(self.lam)}")]
        if "scaling" in swept:
            parts.append(("scaling", f"scaling={self.scaling}"))
        if "loss" in swept:
            parts.append(("loss", f"loss={self.loss}"))
        return " ".join(text for axis, text in parts if axis != omit)


@dataclass
class Run:
    arm: Arm
    verdict: Verdict
    history: dict[str, list[float]]  # "loss", "grad_norm", "update_norm": one value per epoch
    warnings: dict[str, int]  # numpy floating-point warnings over the run: divide, invalid, overflow, underflow
    weights: F64 | None = None  # final weights (features × outputs) in float64, in the arm's feature space
    intercept: F64 | None = None


@dataclass
class SweepResult:
    task: str
    source: str
    axes: tuple[str, ...]
    epochs: int
    batch_size: int | None
    seed: int
    rows: int
    features: int
    condition_number: float  # cond([X | 1]ᵀ[X | 1]) of the raw training rows (inf if rank-deficient)
    condition_number_scaled: float  # the same after standardising the features
    rank: int  # rank of [X | 1] (of features + 1 columns)
    runs: list[Run]
    notes: tuple[str, ...] = ()
    recommendation: Recommendation = field(default_factory=lambda: _empty_recommendation())
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # the values of each swept axis


def _empty_recommendation() -> Recommendation:
    from mlstablint.sweep.recommend import Recommendation

    return Recommendation()


def fmt_hyper(x: float) -> str:
    """A hyper-parameter as people write it: 0, 0.01, 0.2, 1, 1e-3, 2.5e-4."""
    if x == 0:
        return "0"
    if 1e-2 <= abs(x) < 1e4:
        return f"{x:g}"
    mantissa, exponent = f"{x:.6e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def condition_number_xtx(X: F64) -> tuple[float, int]:
    """(cond(AᵀA), rank(A)) for A = [X | 1], from the singular values of A (never forming AᵀA).

    cond = (σ_max/σ_min)²; a numerically rank-deficient A (σ_min ≤ max(rows, cols)·eps·σ_max, numpy's
    `matrix_rank` tolerance) has cond = inf: beyond that the ratio measures rounding, not the data.
    """
    A = np.column_stack([X, np.ones(len(X))])
    if not np.all(np.isfinite(A)):
        return math.inf, 0
    s = np.linalg.svd(A, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return math.inf, 0
    tol = max(A.shape) * np.finfo(np.float64).eps * s[0]
    rank = int(np.count_nonzero(s > tol))
    if rank < A.shape[1]:
        return math.inf, rank
    return float((s[0] / s[-1]) ** 2), rank


def standardise(X: F64) -> F64:
    """(X - mean) / std per column in float64; constant columns are only centred."""
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return np.asarray((X - mu) / sd, dtype=np.float64)


_FP_KINDS = {"divide by zero": "divide", "overflow": "overflow", "underflow": "underflow", "invalid value": "invalid"}


class _FPCounter:
    """The `np.errstate(call=...)` handler: counts floating-point warnings per kind, per epoch and per run."""

    def __init__(self) -> None:
        self.epoch: Counter[str] = Counter()
        self.total: Counter[str] = Counter()

    def __call__(self, kind: str, flag: int) -> None:
        self.epoch[_FP_KINDS.get(kind, kind)] += 1

    def close_epoch(self) -> dict[str, int]:
        events = dict(self.epoch)
        self.total.update(self.epoch)
        self.epoch.clear()
        return events

    def totals(self) -> dict[str, int]:
        self.total.update(self.epoch)
        self.epoch.clear()
        return {k: int(self.total.get(k, 0)) for k in ("divide", "invalid", "overflow", "underflow")}


def _norm(*arrays: Array) -> float:
    total = 0.0
    with np.errstate(all="ignore"):
        for a in arrays:
            total += float(np.sum(np.square(a.astype(np.float64))))
    return math.sqrt(total) if not math.isnan(total) else math.nan


class _Model:
    """Loss and gradient of one task in one dtype (every array and scalar already in that dtype)."""

    def __init__(self, task: str, loss_form: str, y: Array, n_outputs: int, dt: np.dtype[Any]) -> None:
        self.task, self.naive, self.dt = task, loss_form == "naive", dt
        self.yidx = np.asarray(y)
        if task == "softmax_regression":
            self.Y = np.eye(n_outputs, dtype=dt)[self.yidx.astype(np.intp)]
        else:
            self.Y = np.asarray(y).astype(dt)

    def loss_and_residual(self, Z: Array, rows: Array | None = None) -> tuple[Array, Array]:
        """The mean data loss at logits/predictions Z and dLoss/dZ (already divided by the row count).

        The row count is cast to the dtype like everything else (≤ 20 000 rows, so exact in float16).
        """
        Y = self.Y if rows is None else self.Y[rows]
        n = np.asarray(len(Z), dtype=self.dt)
        if self.task == "logistic_regression":
            if self.naive:
                loss, p = P.naive_binary_log_loss_from_logits(Y, Z), P.naive_sigmoid(Z)
            else:
                loss, p = P.binary_log_loss_from_logits(Y, Z), P.sigmoid(Z)
            return loss, (p - Y) / n
        if self.task == "softmax_regression":
            yi = self.yidx if rows is None else self.yidx[rows]
            if self.naive:
                loss, p = P.naive_softmax_cross_entropy(yi, Z), P.naive_softmax(Z, axis=1)
            else:
                loss, p = P.softmax_cross_entropy(yi, Z), P.softmax(Z, axis=1)
            return loss, (p - Y) / n
        r = Z - Y
        if self.naive:  # the expanded square: cancels catastrophically when the residual is small
            loss = 0.5 * (np.mean(Z * Z) - 2 * np.mean(Z * Y) + np.mean(Y * Y))
        else:
            loss = 0.5 * np.mean(r * r)
        return np.asarray(loss, dtype=self.dt), r / n


def train(problem: Problem, arm: Arm, epochs: int = DEFAULT_EPOCHS, batch_size: int | None = None,
          seed: int = DEFAULT_SEED, X: F64 | None = None, keep_weights: bool = True,
          init: tuple[F64, F64] | None = None, convergence_tol: float = CONVERGENCE_TOL) -> Run:
    """Train one arm for at most `epochs` epochs and name the outcome.

    Starts from zero weights, or from `init` (weights, features × outputs, and intercepts). `X` overrides
    the problem's design (already scaled); otherwise the arm's scaling is applied here. `batch_size`
    switches to mini-batch GD with a batch order seeded by (seed, epoch), the same in every arm. Each
    epoch logs the full-data loss and gradient norm at its start and the norm of the update it applied.
    `convergence_tol` overrides the monitor's relative-improvement tolerance (tests use a tight one).
    """
    if X is None:
        X = standardise(problem.X) if arm.scaling == "standard" else problem.X
    dt = np.dtype(arm.dtype)
    n, d = X.shape
    k = problem.n_outputs
    counter = _FPCounter()
    monitor = Monitor(arm.dtype, convergence_tol)
    w0, b0 = (np.zeros((d, k)), np.zeros(k)) if init is None else (np.reshape(init[0], (d, k)), np.reshape(init[1], k))
    history: dict[str, list[float]] = {"loss": monitor.losses, "grad_norm": monitor.grad_norms,
                                       "update_norm": monitor.update_norms}
    verdict: Verdict | None = None
    with np.errstate(all="call", call=counter):
        Xd = X.astype(dt)
        model = _Model(problem.task, arm.loss, problem.y, k, dt)
        W, b = w0.astype(dt), b0.astype(dt)
        lr, lam = np.asarray(arm.lr, dtype=dt), np.asarray(arm.lam, dtype=dt)
        single = problem.task != "softmax_regression"  # one output column: keep W as a vector, b as (1,)
        if single:
            W, b = W[:, 0], b[0:1]
        bad_x = int(np.count_nonzero(~np.isfinite(Xd)))
        bad_y = int(np.count_nonzero(~np.isfinite(model.Y)))
        if bad_x or bad_y:
            verdict = overflow_at_cast(arm.dtype, bad_x + bad_y, "the features" if bad_x else "the target")
            counter.close_epoch()
        for epoch in range(epochs if verdict is None else 0):
            Z = Xd @ W + b
            loss, R = model.loss_and_residual(Z)
            loss = loss + np.asarray(0.5, dtype=dt) * lam * np.sum(W * W)
            gW = Xd.T @ R + lam * W
            gb = np.sum(R, axis=0, keepdims=single)
            grad_norm = _norm(gW, gb)
            param_norm = _norm(W, b)
            W_start, b_start = W, b
            if batch_size is None or batch_size >= n:
                W, b = W - lr * gW, b - lr * gb
            else:
                order = np.random.default_rng([seed, epoch]).permutation(n)
                for start in range(0, n, batch_size):
                    rows = order[start:start + batch_size]
                    Xb = Xd[rows]
                    _, Rb = model.loss_and_residual(Xb @ W + b, rows)
                    W = W - lr * (Xb.T @ Rb + lam * W)
                    b = b - lr * np.sum(Rb, axis=0, keepdims=single)
            update_norm = _norm(W - W_start, b - b_start)
            finite = bool(np.all(np.isfinite(W)) and np.all(np.isfinite(b)))
            verdict = monitor.observe(float(loss), grad_norm, update_norm, param_norm, finite, counter.close_epoch())
            if verdict is not None:
                break
        if verdict is None:
            verdict = monitor.finish()
    weights = intercept = None
    if keep_weights:
        weights = np.asarray(W, dtype=np.float64).reshape(d, k)
        intercept = np.asarray(b, dtype=np.float64).reshape(k)
    return Run(arm, verdict, history, counter.totals(), weights, intercept)


def grid(axes: Sequence[str], values: dict[str, tuple[Any, ...]] | None = None) -> list[Arm]:
    """Every arm of the sweep, the first axis outermost.

    A swept axis takes `values[axis]` (default DEFAULT_VALUES); an axis that is not swept keeps its
    FIXED_VALUES entry, or the single value given for it in `values`.
    """
    values = values or {}
    settings: dict[str, Any] = {}
    for axis in AXES:
        if axis not in axes and axis in values:
            if len(values[axis]) != 1:
                raise ValueError(f"{axis} is not swept, so it takes one value (got {len(values[axis])})")
            settings[axis] = values[axis][0]
        else:
            settings[axis] = FIXED_VALUES[axis]
    arms = []
    for combo in itertools.product(*(values.get(a, DEFAULT_VALUES[a]) for a in axes)):
        s = {**settings, **dict(zip(axes, combo, strict=True))}
        arms.append(Arm(s["precision"], float(s["lr"]), float(s["lambda"]), s["scaling"], s["loss"]))
    return arms


def train_rows(n: int, d: int, k: int, arms: int, epochs: int) -> int:
    """Rows to train on: all of them unless the sweep's work would exceed WORK_BUDGET."""
    per_row = 2.0 * (d + 1) * k * epochs * max(arms, 1)
    return int(min(n, max(MIN_TRAIN_ROWS, WORK_BUDGET // per_row)))


def sweep(problem: Problem, axes: Sequence[str] = DEFAULT_SWEEP, values: dict[str, tuple[Any, ...]] | None = None,
          epochs: int = DEFAULT_EPOCHS, batch_size: int | None = None, seed: int = DEFAULT_SEED) -> SweepResult:
    """Run every arm of the grid on the problem and derive the recommendation."""
    from mlstablint.sweep.recommend import recommend

    arms = grid(axes, values)
    n, d = problem.X.shape
    notes = list(problem.notes)
    rows = train_rows(n, d, problem.n_outputs, len(arms), epochs)
    X, y = problem.X, problem.y
    if rows < n:
        keep = np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))
        X, y = X[keep], y[keep]
        notes.append(f"trained on a seeded sample of {rows} of {n} rows (work budget)")
    trained = Problem(problem.task, X, y, problem.features, problem.classes, problem.source, tuple(notes))
    scaled = standardise(X)
    runs = [train(trained, arm, epochs, batch_size, seed, X=scaled if arm.scaling == "standard" else X,
                  keep_weights=False) for arm in arms]
    cond, rank = condition_number_xtx(X)
    cond_scaled, _ = condition_number_xtx(scaled)
    result = SweepResult(problem.task, problem.source, tuple(axes), epochs, batch_size, seed, rows, d,
                         cond, cond_scaled, rank, runs, tuple(notes),
                         values={a: tuple((values or {}).get(a, DEFAULT_VALUES[a])) for a in axes})
    result.recommendation = recommend(result)
    return result
