"""The stability lab: a numpy gradient-descent loop with explicit precision control, run over a sweep grid.

One *arm* is one configuration: precision policy (float16, bfloat16, float32, float64, or a mixed policy
of `precision.POLICIES`), learning rate, L2 strength (lambda), feature scaling (raw / standard) and loss form
(stable / naive). Every arm of a sweep trains the same model on the same rows from the same initial weights
with the same mini-batch order (matched seeds), so two arms differ only in the settings that the grid
varies. Each epoch logs the loss and the gradient norm at the start of the epoch and the norm of the
update the epoch applied; numpy's floating-point warnings are silenced and counted per run
(`np.errstate(call=...)`): they are evidence. `signatures.Monitor` names the outcome, `phases` the phases.

The arithmetic of an arm follows its policy (`precision.Arithmetic`): data, logits and gradients in the
compute dtype, sums in the accumulate dtype, weights in the master dtype, with loss scaling where the
policy has it. Norms for the log are computed in float64 from the dtype's values. The `mlp` task trains a
small network (`mlp`) under the same policies.

`sweep` runs the grid, then (when they apply) the scaling control arms, the lr-edge probes and the
precision-policy evaluation, and derives the recommendation (`recommend`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep import primitives as P
from mlstablint.sweep.precision import COST, Arithmetic, PrecisionStats, policy_of
from mlstablint.sweep.signatures import CONVERGENCE_TOL, Monitor, Verdict, fmt, json_number, overflow_at_cast

if TYPE_CHECKING:
    from mlstablint.sweep.recommend import Recommendation

F64 = npt.NDArray[np.float64]
Array = npt.NDArray[Any]

TASKS = ("logistic_regression", "linear_regression", "softmax_regression", "mlp")
AXES = ("precision", "lr", "lambda", "scaling", "loss")
DTYPES = ("float16", "bfloat16", "float32", "float64")  # the default precision axis (see POLICIES for all)
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
    net: Any = None  # mlp.Net: the network of the mlp task (None: its defaults)

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task in ("softmax_regression", "mlp") else 1


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
    precision: PrecisionStats | None = None  # what the precision policy did: underflow, lost updates, scale
    control: bool = False  # run automatically as a control arm (an axis the user did not sweep)
    phases: Any = None  # phases.Phases, named after the run
    layers: Any = None  # mlp.LayerTrace: per-layer statistics of the MLP task

    def to_json(self) -> dict[str, Any]:
        """The run as the lab's JSON report writes it (see `report`)."""
        return {
            "dtype": self.arm.dtype,
            "lr": self.arm.lr,
            "lambda": self.arm.lam,
            "scaling": self.arm.scaling,
            "loss_form": self.arm.loss,
            "status": self.verdict.status,
            "epoch": self.verdict.epoch,
            "loss": json_number(self.verdict.loss),
            "reason": self.verdict.reason,
            "fp_warnings": dict(self.warnings),
            "history": {key: [json_number(v) for v in self.history[key]]
                        for key in ("loss", "grad_norm", "update_norm")},
            "control": self.control,
            "precision": self.precision.to_json() if self.precision is not None else None,
            "phases": self.phases.to_json() if self.phases is not None else None,
            "layers": self.layers.to_json() if self.layers is not None else None,
        }


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
    controls: tuple[str, ...] = ()  # axes the lab added as control arms (e.g. scaling), see `sweep`
    control_reason: str = ""
    lr_bound: float = math.nan  # 2 / λ_max of the loss's curvature bound at the start, raw features
    lr_bound_scaled: float = math.nan  # the same on standardised features
    lr_edges: list[LrEdge] = field(default_factory=list)
    policies: Any = None  # precision_report.PolicyReport when precision was swept and float64 converged
    phase_summary: Any = None  # phases.LeadSummary over the runs that diverged

    def to_json(self) -> dict[str, Any]:
        from mlstablint.sweep.report import to_json

        return to_json(self)

    @property
    def compared(self) -> tuple[str, ...]:
        """The axes along which runs differ: the swept ones, then the control axes."""
        return self.axes + self.controls


@dataclass
class LrEdge:
    """The learning rates that stayed stable (no divergence, overflow or NaN) for one dtype at one setting
    of the other axes, and the edge: the largest stable lr below the smallest unstable one."""

    dtype: str
    settings: str  # the other axes, e.g. "lambda=0.01 scaling=standard"
    stable: list[float]
    unstable: list[tuple[float, str, int]]  # (lr, status, epoch)
    edge: float | None  # largest stable lr below every unstable one (None: no stable lr)
    first_unstable: float | None
    control: bool = False
    probes: list[tuple[float, str, int]] = field(default_factory=list)  # extra runs that located the edge
    arm: Arm | None = None  # one arm of the group (its lr aside), to run probes from

    def to_json(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "settings": self.settings, "stable": self.stable,
                "unstable": [{"lr": lr, "status": st, "epoch": ep} for lr, st, ep in self.unstable],
                "edge": self.edge, "first_unstable": self.first_unstable, "control": self.control,
                "probes": [{"lr": lr, "status": st, "epoch": ep} for lr, st, ep in self.probes]}

    def probe(self, run: Callable[[float], Run]) -> None:
        """Locate the edge with at most EDGE_PROBES extra runs: widen the grid until it holds a stable and an
        unstable lr (×EDGE_WIDEN up, ÷EDGE_NARROW down), then bisect geometrically between them."""
        lo, hi = self.edge, self.first_unstable
        for _ in range(EDGE_PROBES):
            if lo is not None and hi is not None and hi / lo <= EDGE_RESOLUTION:
                break
            lr = (lo * EDGE_WIDEN if hi is None else hi / EDGE_NARROW if lo is None  # type: ignore[operator]
                  else math.sqrt(lo * hi))
            out = run(lr)
            self.probes.append((lr, out.verdict.status, out.verdict.epoch))
            if out.verdict.status in UNSTABLE:
                hi = lr
            else:
                lo = lr
        self.edge, self.first_unstable = lo, hi


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

    def loss_and_residual(self, Z: Array, rows: Array | None = None, scale: float = 1.0) -> tuple[Array, Array]:
        """The mean data loss at logits/predictions Z and dLoss/dZ (already divided by the row count).

        The row count is cast to the dtype like everything else (≤ 20 000 rows, so exact in float16). A
        loss scale multiplies dLoss/dZ by `scale / n` (one constant in the dtype) instead of dividing by n.
        """
        Y = self.Y if rows is None else self.Y[rows]
        n = np.asarray(len(Z), dtype=self.dt)
        if self.task == "logistic_regression":
            if self.naive:
                loss, p = P.naive_binary_log_loss_from_logits(Y, Z), P.naive_sigmoid(Z)
            else:
                loss, p = P.binary_log_loss_from_logits(Y, Z), P.sigmoid(Z)
            r = p - Y
        elif self.task == "softmax_regression":
            yi = self.yidx if rows is None else self.yidx[rows]
            if self.naive:
                loss, p = P.naive_softmax_cross_entropy(yi, Z), P.naive_softmax(Z, axis=1)
            else:
                loss, p = P.softmax_cross_entropy(yi, Z), P.softmax(Z, axis=1)
            r = p - Y
        else:
            r = Z - Y
            if self.naive:  # the expanded square: cancels catastrophically when the residual is small
                loss = 0.5 * (np.mean(Z * Z) - 2 * np.mean(Z * Y) + np.mean(Y * Y))
            else:
                loss = 0.5 * np.mean(r * r)
            loss = np.asarray(loss, dtype=self.dt)
        if scale == 1.0:
            return loss, r / n
        return loss, r * np.asarray(scale / len(Z), dtype=self.dt)


class _Linear:
    """One arm's linear model under its precision policy: data gradients (scaled, compute dtype) and the
    float64 reference gradients that the underflow count compares them with."""

    def __init__(self, problem: Problem, arm: Arm, X: F64, arith: Arithmetic) -> None:
        self.arith, self.X64 = arith, X
        self.Xc = arith.cast(X)
        self.single = problem.task != "softmax_regression"
        # Policies that accumulate in float32 evaluate the loss and dLoss/dZ in float32 (as autocast does for
        # losses) and cast dLoss/dZ to the compute dtype as it enters the backward pass: that cast is where a
        # small gradient underflows, and what loss scaling is for.
        self.loss_dt = np.dtype(np.float32) if arith.policy.accumulate == "float32" else arith.compute
        y = problem.y if problem.task != "linear_regression" else np.asarray(problem.y).astype(arith.compute)
        self.model = _Model(problem.task, arm.loss, y, problem.n_outputs, self.loss_dt)
        self.ref = _Model(problem.task, "stable", problem.y, problem.n_outputs, np.dtype(np.float64)) \
            if arith.reference else None

    def gradients(self, W: Array, b: Array, rows: Array | None = None) -> tuple[Array, Array, Array]:
        """(loss, dL/dW, dL/db) of the data term at compute-dtype weights, scaled by the current loss scale;
        under dynamic scaling a non-finite gradient is recomputed at a halved scale."""
        arith = self.arith
        Xb = self.Xc if rows is None else self.Xc[rows]
        while True:
            Z = arith.dot(Xb, W) + b
            loss, R = self.model.loss_and_residual(Z.astype(self.loss_dt, copy=False), rows, arith.scale)
            R = R.astype(arith.compute, copy=False)
            gW, gb = arith.dot(Xb.T, R), arith.total(R, axis=0, keepdims=self.single)
            if arith.scaled_finite(gW, gb):
                return loss, gW, gb

    def count(self, W: Array, b: Array, gW: Array, gb: Array, rows: Array | None = None) -> None:
        if self.ref is None:
            self.arith.count(gW, None)
            self.arith.count(gb, None)
            return
        X64 = self.X64 if rows is None else self.X64[rows]
        _, R = self.ref.loss_and_residual(X64 @ W.astype(np.float64) + b.astype(np.float64), rows)
        self.arith.count(gW, X64.T @ R)
        self.arith.count(gb, np.sum(R, axis=0, keepdims=self.single))


def train(problem: Problem, arm: Arm, epochs: int = DEFAULT_EPOCHS, batch_size: int | None = None,
          seed: int = DEFAULT_SEED, X: F64 | None = None, keep_weights: bool = True,
          init: tuple[F64, F64] | None = None, convergence_tol: float = CONVERGENCE_TOL) -> Run:
    """Train one arm for at most `epochs` epochs and name the outcome.

    Starts from zero weights, or from `init` (weights, features × outputs, and intercepts). `X` overrides
    the problem's design (already scaled); otherwise the arm's scaling is applied here. `batch_size`
    switches to mini-batch GD with a batch order seeded by (seed, epoch), the same in every arm. Each
    epoch logs the full-data loss and gradient norm at its start and the norm of the update it applied.
    `convergence_tol` overrides the monitor's relative-improvement tolerance (tests use a tight one).
    The arm's precision is a policy (`precision.POLICIES`): the weights live in its master dtype, the
    forward and backward passes run in its compute dtype.
    """
    if X is None:
        X = standardise(problem.X) if arm.scaling == "standard" else problem.X
    if problem.task == "mlp":
        from mlstablint.sweep.mlp import to_run

        return to_run(problem, arm, X, epochs, batch_size, seed, convergence_tol)
    arith = Arithmetic(policy_of(arm.dtype))
    dt, mt = arith.compute, arith.master
    n, d = X.shape
    k = problem.n_outputs
    counter = _FPCounter()
    # Updates are lost in the master weights; the loss is resolved to its own dtype.
    monitor = Monitor(arith.policy.master, convergence_tol, loss_dtype=arith.policy.compute
                      if arith.policy.accumulate != "float32" else "float32")
    w0, b0 = (np.zeros((d, k)), np.zeros(k)) if init is None else (np.reshape(init[0], (d, k)), np.reshape(init[1], k))
    history: dict[str, list[float]] = {"loss": monitor.losses, "grad_norm": monitor.grad_norms,
                                       "update_norm": monitor.update_norms}
    verdict: Verdict | None = None
    with np.errstate(all="call", call=counter):
        lin = _Linear(problem, arm, X, arith)
        Wm, bm = arith.to_master(w0), arith.to_master(b0)
        lr, lam = np.asarray(arm.lr, dtype=mt), np.asarray(arm.lam, dtype=mt)
        lam_c = np.asarray(arm.lam, dtype=dt)
        if lin.single:  # one output column: keep W as a vector, b as (1,)
            Wm, bm = Wm[:, 0], bm[0:1]
        bad_x = int(np.count_nonzero(~np.isfinite(lin.Xc)))
        bad_y = int(np.count_nonzero(~np.isfinite(lin.model.Y)))
        if bad_x or bad_y:
            verdict = overflow_at_cast(arith.policy.compute, bad_x + bad_y, "the features" if bad_x else "the target")
            counter.close_epoch()
        for epoch in range(epochs if verdict is None else 0):
            W, b = arith.cast(Wm), arith.cast(bm)
            loss, gW, gb = lin.gradients(W, b)
            loss = loss + np.asarray(0.5, dtype=dt) * lam_c * np.sum(W * W)
            gWm, gbm = arith.unscale(gW) + lam * Wm, arith.unscale(gb)
            grad_norm = _norm(gWm, gbm)
            param_norm = _norm(Wm, bm)
            W_start, b_start = Wm, bm
            if batch_size is None or batch_size >= n:
                lin.count(W, b, gW, gb)
                Wm, bm = arith.step(Wm, gWm, lr), arith.step(bm, gbm, lr)
                arith.end_step()
            else:
                order = np.random.default_rng([seed, epoch]).permutation(n)
                for start in range(0, n, batch_size):
                    rows = order[start:start + batch_size]
                    W, b = arith.cast(Wm), arith.cast(bm)
                    _, gW, gb = lin.gradients(W, b, rows)
                    lin.count(W, b, gW, gb, rows)
                    Wm = arith.step(Wm, arith.unscale(gW) + lam * Wm, lr)
                    bm = arith.step(bm, arith.unscale(gb), lr)
                    arith.end_step()
            update_norm = _norm(Wm - W_start, bm - b_start)
            finite = bool(np.all(np.isfinite(Wm)) and np.all(np.isfinite(bm)))
            verdict = monitor.observe(float(loss), grad_norm, update_norm, param_norm, finite, counter.close_epoch(),
                                      arith.epoch_underflow())
            if verdict is not None:
                break
        if verdict is None:
            verdict = monitor.finish()
    weights = intercept = None
    if keep_weights:
        weights = np.asarray(Wm, dtype=np.float64).reshape(d, k)
        intercept = np.asarray(bm, dtype=np.float64).reshape(k)
    return Run(arm, verdict, history, counter.totals(), weights, intercept, precision=arith.stats)


def final_loss(problem: Problem, X: F64, run: Run) -> float:
    """The float64 objective (stable data loss + lambda/2·‖w‖²) at a run's final weights: the yardstick
    on which runs in different dtypes are compared (their own logged losses carry their dtype's rounding)."""
    if run.weights is None or run.intercept is None:
        return math.nan
    W = run.weights if problem.task == "softmax_regression" else run.weights[:, 0]
    b = run.intercept if problem.task == "softmax_regression" else run.intercept[0:1]
    with np.errstate(all="ignore"):
        model = _Model(problem.task, "stable", problem.y, problem.n_outputs, np.dtype(np.float64))
        loss, _ = model.loss_and_residual(X @ W + b)
        return float(loss) + 0.5 * run.arm.lam * float(np.sum(W * W))


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


# A control arm is run when the user did not sweep scaling, every arm used raw features, some arm failed,
# and standardising lowers cond(XᵀX) by at least this factor: then scaling may decide the verdict.
CONTROL_COND_RATIO = 1e3
UNSTABLE: tuple[str, ...] = ("diverged", "overflow", "nan")
# Locating the lr edge beyond the grid: extra runs per dtype, the steps outwards, the bracket to stop at.
EDGE_PROBES = 8
EDGE_WIDEN = 4.0
EDGE_NARROW = 10.0
EDGE_RESOLUTION = 2.0


def lr_bound(X: F64, task: str, lam: float = 0.0) -> float:
    """2 / L, with L the largest eigenvalue of a bound on the loss's Hessian (per mean row) at the start.

    Gradient descent on a quadratic is stable iff lr < 2/λ_max(H) (closed form for linear regression,
    H = AᵀA/n with A = [X | 1]); the logistic loss's Hessian is at most AᵀA/(4n) (σ' ≤ 1/4, attained at
    w = 0, where the lab starts), softmax cross-entropy's at most AᵀA/(2n). lambda adds to every eigenvalue.
    """
    A = np.column_stack([X, np.ones(len(X))])
    if not np.all(np.isfinite(A)):
        return math.nan
    top = float(np.linalg.svd(A, compute_uv=False)[0]) ** 2 / len(A)
    if task not in ("linear_regression", "logistic_regression", "softmax_regression"):
        return math.nan  # no closed-form curvature bound for a network
    factor = {"linear_regression": 1.0, "logistic_regression": 0.25, "softmax_regression": 0.5}[task]
    return 2.0 / (factor * top + lam)


def lr_edges(runs: Sequence[Run], compared: Sequence[str]) -> list[LrEdge]:
    """Per dtype and setting of the other compared axes, the stable lrs and the edge (see LrEdge)."""
    groups: dict[tuple[Any, ...], list[Run]] = {}
    for run in runs:
        key = (run.arm.dtype, *(run.arm.value(a) for a in AXES if a not in ("precision", "lr")))
        groups.setdefault(key, []).append(run)
    edges = []
    for members in groups.values():
        if len({r.arm.lr for r in members}) < 2:
            continue
        members = sorted(members, key=lambda r: r.arm.lr)
        stable = [r.arm.lr for r in members if r.verdict.status not in UNSTABLE]
        unstable: list[tuple[float, str, int]] = [(r.arm.lr, r.verdict.status, r.verdict.epoch) for r in members
                                                  if r.verdict.status in UNSTABLE]
        first_unstable = unstable[0][0] if unstable else None
        below = [lr for lr in stable if first_unstable is None or lr < first_unstable]
        arm = members[0].arm
        edges.append(LrEdge(arm.dtype, arm.label(compared, omit="lr").removeprefix(arm.dtype).strip(),
                            stable, unstable, max(below) if below else None, first_unstable,
                            members[0].control, arm=arm))
    return edges


def sweep(problem: Problem, axes: Sequence[str] = DEFAULT_SWEEP, values: dict[str, tuple[Any, ...]] | None = None,
          epochs: int = DEFAULT_EPOCHS, batch_size: int | None = None, seed: int = DEFAULT_SEED,
          controls: bool = True, probes: bool = True, policies: bool = True) -> SweepResult:
    """Run every arm of the grid on the problem and derive the recommendation.

    With `controls`, when scaling decides the verdict and was not swept (see CONTROL_COND_RATIO), every arm
    is run again on standardised features as a control, and the result says so. With `probes`, extra runs
    locate each dtype's lr edge (LrEdge.probe). With `policies`, when precision was swept and a float64 arm
    converged, every precision policy is evaluated at that arm's settings (precision_report).
    """
    from mlstablint.sweep.phases import lead_summary
    from mlstablint.sweep.precision_report import evaluate_policies
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
    trained = Problem(problem.task, X, y, problem.features, problem.classes, problem.source, tuple(notes),
                      problem.net)
    scaled = standardise(X)

    def run_arm(arm: Arm, control: bool = False) -> Run:
        out = train(trained, arm, epochs, batch_size, seed, X=scaled if arm.scaling == "standard" else X,
                    keep_weights=False)
        out.control = control
        return out

    runs = [run_arm(arm) for arm in arms]
    cond, rank = condition_number_xtx(X)
    cond_scaled, _ = condition_number_xtx(scaled)
    added: tuple[str, ...] = ()
    reason = ""
    ratio = cond / cond_scaled if cond_scaled > 0 else math.inf
    if (controls and "scaling" not in axes and all(a.scaling == "raw" for a in arms)
            and any(r.verdict.status != "converged" for r in runs) and ratio >= CONTROL_COND_RATIO):
        added = ("scaling",)
        reason = (f"scaling was not swept and standardising lowers cond(X^T X) from {fmt(cond)} to "
                  f"{fmt(cond_scaled)} ({_orders(ratio)}), so every arm was also run on standardised features "
                  f"as a control")
        runs += [run_arm(arm.replace("scaling", "standard"), control=True) for arm in arms]
    result = SweepResult(problem.task, problem.source, tuple(axes), epochs, batch_size, seed, rows, d,
                         cond, cond_scaled, rank, runs, tuple(notes),
                         values={a: tuple((values or {}).get(a, DEFAULT_VALUES[a])) for a in axes},
                         controls=added, control_reason=reason)
    result.lr_bound = lr_bound(X, problem.task)
    result.lr_bound_scaled = lr_bound(scaled, problem.task)
    if "lr" in axes:
        result.lr_edges = lr_edges(runs, result.compared)
        if probes:
            _probe_edges(result, run_arm)
    result.phase_summary = lead_summary(runs)
    if policies and "precision" in axes and problem.task != "mlp":
        result.policies = evaluate_policies(trained, runs, X, scaled, epochs, batch_size, seed, train)
    result.recommendation = recommend(result)
    return result


def _probe_edges(result: SweepResult, run_arm: Callable[[Arm], Run]) -> None:
    """Locate the lr edge of each dtype at the settings of the best converged run (float64 first), or of
    the first arm when nothing converged."""
    converged = [r for r in result.runs if r.verdict.status == "converged"]
    ref = min(converged, key=lambda r: (-COST[r.arm.dtype], r.verdict.loss)) if converged else result.runs[0]
    for edge in result.lr_edges:
        arm = edge.arm
        if arm is not None and all(arm.value(a) == ref.arm.value(a) for a in ("lambda", "loss")):
            edge.probe(functools.partial(_run_at_lr, run_arm, arm))


def _run_at_lr(run_arm: Callable[[Arm], Run], arm: Arm, lr: float) -> Run:
    return run_arm(arm.replace("lr", lr))


def _orders(ratio: float) -> str:
    """'15 orders of magnitude' for a ratio of 1e15; 'a factor 40' below 100."""
    if not math.isfinite(ratio):
        return "from rank-deficient to full rank"
    if ratio < 100:
        return f"a factor {fmt(ratio)}"
    return f"{math.log10(ratio):.0f} orders of magnitude"
