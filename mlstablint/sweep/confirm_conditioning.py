"""The conditioning sweep ("ols-conditioning"): OLS on the sampled design, by every common solver, in
float32 and float64, with and without a 10-ulp perturbation of X, against a mitigation arm.

It confirms MSL603 (one-hot trap), MSL604 (rank deficiency), MSL605 (ill-conditioning) and, when a
table is audited, the code's MSL201/202/203 (which name the solver: its arm is reported first).

Failing arms (5 solvers x 2 dtypes), each fitted on X and on X * (1 + 10 eps N(0, 1)) (seeded):

- `inv`: the normal equations by an explicit inverse, `np.linalg.inv(X.T @ X) @ (X.T @ y)`;
- `solve`: the normal equations by `np.linalg.solve(X.T @ X, X.T @ y)`;
- `pinv`: `np.linalg.pinv(X) @ y` at its default cutoff (rcond 1e-15);
- `lstsq-gelsd`, `lstsq-gelsy`: `scipy.linalg.lstsq(X, y, lapack_driver=...)` at their default cutoff.

numpy.linalg computes `inv`, `solve` and the SVD of `pinv` in float64 even for float32 input (and
rounds the result to float32); the products `X.T @ X`, `X @ w` and scipy's LAPACK drivers run in
the dtype itself. That is what a float32 pipeline gets, so the experiment does not change it.

Figures per arm: max |w|; the relative change ||w - w'|| / ||w|| under the perturbation; the rows
of the sample where exp(X @ w) overflows (in the arm's dtype); and the unseen-category probes that
overflow: copies of the sample's first row with one one-hot group set to all zeros (a category the
model never saw), whose prediction moves by the null-space component of w. Across arms: the spread,
max / min of max |w|.

Mitigation arm (per dtype, perturbed too): drop one column per one-hot group (its most frequent
level) and constant columns, standardise every column, ridge with alpha = 1 and an intercept
(`make_pipeline(StandardScaler(), Ridge(alpha=1.0))`, written out in numpy/scipy); its weights are
mapped back to the raw columns' units so that max |w| compares with the solver arms.

Verdict: a solver arm *fails* when it raises LinAlgError, returns non-finite weights, has
max |w| > 1e6 x the mitigation's max |w| (same dtype), moves by more than 1e-3 (relative) under
the perturbation, or overflows exp on a sampled row or an unseen-category probe. The finding is
`confirmed` when, in some dtype, at least one solver arm fails and the mitigation arm (which is
held to the same criteria except the ratio) does not; `not-confirmed` otherwise.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, Skip, Table, clean, fmt, needs_data, one_thread, synthetic_target, verdict

EXPERIMENT = "ols-conditioning"
SOLVERS = ("inv", "solve", "pinv", "lstsq-gelsd", "lstsq-gelsy")
DTYPES = ("float64", "float32")
ULPS = 10
RIDGE_ALPHA = 1.0
W_RATIO = 1e6
REL_CHANGE = 1e-3
WORKERS = 2
# Cells (rows x columns) of the design the solvers run on: the SVD-based arms cost rows x columns^2 each,
# and there are 12 of them. Rows beyond this come off the sample by its own bottom-k rule.
FIT_CELLS = 2_000_000
MIN_FIT_ROWS = 1000
SOLVER_LABEL = {"inv": "inv of the Gram", "solve": "solve of the normal equations", "pinv": "pinv",
                "lstsq-gelsd": "lstsq (gelsd)", "lstsq-gelsy": "lstsq (gelsy)"}
# The code's solver (MSL201/202/203 evidence) -> its arm.
CODE_SOLVER = {"inv": "inv", "solve": "solve", "pinv": "pinv", "lstsq": "lstsq-gelsd", "cho_solve": "solve",
               "lu_solve": "solve"}

F64 = NDArray[np.float64]
Array = NDArray[Any]


@dataclass
class Problem:
    """The sampled design as the sweep uses it."""

    X: F64  # complete rows, all-zero columns left out, intercept first when the audit has one
    y: F64
    columns: list[str]
    intercept: bool
    groups: list[list[int]]  # one-hot groups: indices into X's columns
    probes: F64  # unseen-category rows (one per group)
    target: str  # what y is
    table_rows: int
    sample_rows: int
    left_out_rows: int
    zero_columns: list[str]
    missing_columns: int = 0


@dataclass
class Fit:
    status: str = "not run"  # ok | singular | non-finite | not run
    w: Array | None = None
    b: float = 0.0  # the mitigation's intercept (the solver arms carry theirs in w)
    seconds: float = 0.0


@dataclass
class Arm:
    name: str
    dtype: str
    status: str
    max_abs_w: float | None = None
    relative_change: float | None = None
    exp_overflow_rows: int | None = None
    probe_overflow: int | None = None
    reasons: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {"status": self.status, "max_abs_w": self.max_abs_w, "relative_change": self.relative_change,
                "exp_overflow_rows": self.exp_overflow_rows, "unseen_category_overflow": self.probe_overflow,
                "fails": self.reasons}


@dataclass
class Result:
    figures: dict[str, Any]
    arms: dict[str, Arm]  # "solver/dtype" -> arm
    mitigation: dict[str, Arm]  # dtype -> arm
    status: str
    rows: int
    runs_missing: int
    seconds: dict[str, float]


# ------------------------------------------------------------------------------------------------
# Entry points


def confirm_conditioning(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    if table is None:
        return needs_data(EXPERIMENT)
    result = session.shared(EXPERIMENT, table, lambda: run(session, table))
    return _confirmation(result, lead=None)


def confirm_code_solver(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    if table is None:
        return needs_data(EXPERIMENT)
    result = session.shared(EXPERIMENT, table, lambda: run(session, table))
    name = str(finding.evidence.get("solver") or finding.evidence.get("inverse") or "")
    short = name.rsplit(".", 1)[-1]
    lead = CODE_SOLVER.get(short)
    if lead is None and finding.rule == "MSL201":
        lead = "inv"
    return _confirmation(result, lead=lead, solver_name=name or None)


# ------------------------------------------------------------------------------------------------
# The problem


def problem_of(session: Session, table: Table) -> Problem:
    full = session.sample(table)
    columns = len(full.columns) + (1 if full.intercept else 0)
    sample = full.subsample(max(MIN_FIT_ROWS, FIT_CELLS // max(1, columns)))
    if sample.rows < 2:
        raise Skip("the sample has fewer than 2 rows")
    X = sample.design()
    rng = np.random.default_rng([session.seed, 0x0C0D])
    if sample.y is not None and sample.target is not None and not sample.is_classification(table.max_classes):
        y, target = np.asarray(sample.y, dtype=np.float64), repr(sample.target)
    elif sample.labels is not None and sample.target is not None:
        y, target = sample.labels.astype(np.float64), f"{sample.target!r} (class codes)"
        y[sample.labels < 0] = np.nan
    else:
        y, target = rng.standard_normal(sample.rows), synthetic_target(sample.target)
    names = sample.design_columns
    # Columns with no finite value at all (MSL608's business) would empty every row: left out first.
    usable = np.isfinite(X).any(axis=0)
    missing_columns = int(np.count_nonzero(~usable))
    if missing_columns:
        X = X[:, usable]
        names = [names[j] for j in np.flatnonzero(usable)]
    complete = np.isfinite(X).all(axis=1) & np.isfinite(y)
    left_out = int(complete.size - complete.sum())
    if complete.sum() < 2:
        raise Skip("fewer than 2 sampled rows have finite features and target")
    if left_out:
        X, y = X[complete], y[complete]
    first = 1 if sample.intercept else 0
    nonzero = np.any(X != 0, axis=0)
    nonzero[:first] = True
    zero_columns = [names[j] for j in np.flatnonzero(~nonzero)]
    if zero_columns:
        X = X[:, nonzero]
        names = [n for n, keep in zip(names, nonzero, strict=True) if keep]
    X = np.ascontiguousarray(X)
    groups = _one_hot_groups(X, first)
    probes = np.repeat(X[:1], len(groups), axis=0)
    for i, g in enumerate(groups):
        probes[i, g] = 0.0
    return Problem(X=X, y=y, columns=names, intercept=sample.intercept, groups=groups, probes=probes,
                   target=target, table_rows=sample.table_rows, sample_rows=full.rows, left_out_rows=left_out,
                   zero_columns=zero_columns, missing_columns=missing_columns)


def _one_hot_groups(X: F64, first: int) -> list[list[int]]:
    """One-hot groups of the sample (the auditor's exact test on the sample's Gram matrix)."""
    from mlstablint.data.onehot import find_groups

    F = X[:, first:]
    binary = [j for j in range(F.shape[1])
              if np.all((F[:, j] == 0) | (F[:, j] == 1)) and 0 < np.count_nonzero(F[:, j]) < F.shape[0]]
    if not binary:
        return []
    B = F[:, binary]
    fb = np.empty((F.shape[0], len(binary) + 1))
    fb[:, 0] = 1.0
    fb[:, 1:] = B
    gram = fb.T @ fb
    found, _exhausted = find_groups(gram, list(range(len(binary))), F.shape[0])
    return [[binary[j] + first for j in g] for g in found]


# ------------------------------------------------------------------------------------------------
# The fits


def _solve(solver: str, X: Array, y: Array) -> Array:
    import scipy.linalg

    if solver == "inv":
        out: Array = np.linalg.inv(X.T @ X) @ (X.T @ y)
    elif solver == "solve":
        out = np.linalg.solve(X.T @ X, X.T @ y)
    elif solver == "pinv":
        out = np.linalg.pinv(X) @ y
    else:
        out = scipy.linalg.lstsq(X, y, lapack_driver=solver.split("-")[1])[0]
    return out


def _ridge(X: Array, y: Array, first: int, drop: list[int]) -> tuple[Array, float]:
    """Drop columns, standardise, ridge (alpha = RIDGE_ALPHA) with an intercept; weights in raw units
    (zeros for dropped columns; the design's own intercept column, if any, gets 0: the ridge has its own)."""
    import scipy.linalg

    dtype = X.dtype
    F = X[:, first:]
    mean = F.mean(axis=0)
    std = F.std(axis=0)
    keep = np.ones(F.shape[1], dtype=bool)
    keep[[j - first for j in drop]] = False
    keep &= std > 0
    Z = (F[:, keep] - mean[keep]) / std[keep]
    ym = y.mean()
    A = Z.T @ Z
    A[np.diag_indices_from(A)] += dtype.type(RIDGE_ALPHA)
    wz = scipy.linalg.solve(A, Z.T @ (y - ym), assume_a="pos")
    w = np.zeros(X.shape[1], dtype=dtype)
    w[first:][keep] = wz / std[keep]
    b = float(ym - mean[keep] @ w[first:][keep])
    return w, b


def run(session: Session, table: Table) -> Result:
    deadline = session.box()
    if time.monotonic() >= deadline:
        raise Skip(session.budget_message())
    problem: Problem = session.shared("ols-problem", table, lambda: problem_of(session, table))
    first = 1 if problem.intercept else 0
    # The most frequent level of each group is dropped by the mitigation.
    drop = [max(g, key=lambda j: (np.count_nonzero(problem.X[:, j]), -j)) for g in problem.groups]

    rng = np.random.default_rng([session.seed, 0x5EED])
    noise = rng.standard_normal(problem.X.shape, dtype=np.float32)
    data: dict[tuple[str, bool], Array] = {}
    for dtype in DTYPES:
        x = problem.X.astype(dtype)
        eps = np.finfo(dtype).eps
        data[dtype, False] = x
        data[dtype, True] = x * (1 + (ULPS * eps) * noise.astype(dtype))
    del noise
    ys = {dtype: problem.y.astype(dtype) for dtype in DTYPES}

    fits: dict[tuple[str, str, bool], Fit] = {}
    tasks: list[tuple[tuple[str, str, bool], Callable[[], tuple[Array, float]]]] = []

    def solver_task(solver: str, dtype: str, perturbed: bool) -> Callable[[], tuple[Array, float]]:
        return lambda: (_solve(solver, data[dtype, perturbed], ys[dtype]), 0.0)

    def ridge_task(dtype: str, perturbed: bool) -> Callable[[], tuple[Array, float]]:
        return lambda: _ridge(data[dtype, perturbed], ys[dtype], first, drop)

    def add(key: tuple[str, str, bool], fn: Callable[[], tuple[Array, float]]) -> None:
        fits[key] = Fit()
        tasks.append((key, fn))

    # Priority order: the mitigation (cheap, needed for any verdict), the normal equations (cheap),
    # then the SVD-based solvers unperturbed, then perturbed; float64 first, the slowest first within.
    for dtype in DTYPES:
        for perturbed in (False, True):
            add(("mitigation", dtype, perturbed), ridge_task(dtype, perturbed))
    for dtype in DTYPES:
        for solver in ("inv", "solve"):
            for perturbed in (False, True):
                add((solver, dtype, perturbed), solver_task(solver, dtype, perturbed))
    for perturbed in (False, True):
        for dtype in DTYPES:
            for solver in ("pinv", "lstsq-gelsy", "lstsq-gelsd"):
                add((solver, dtype, perturbed), solver_task(solver, dtype, perturbed))

    def work(key: tuple[str, str, bool], fn: Callable[[], tuple[Array, float]]) -> None:
        fit = fits[key]
        if time.monotonic() >= deadline:
            return
        t0 = time.monotonic()
        try:
            with np.errstate(all="ignore"):
                w, b = fn()
        except np.linalg.LinAlgError:
            fit.status = "singular"
        except ValueError:  # scipy: "array must not contain infs or NaNs" after an overflow
            fit.status = "non-finite"
        else:
            fit.w, fit.b = w, b
            fit.status = "ok" if np.isfinite(w).all() and np.isfinite(b) else "non-finite"
        fit.seconds = time.monotonic() - t0

    with one_thread():
        workers = max(1, min(WORKERS, os.cpu_count() or 1))
        if workers == 1:
            for key, fn in tasks:
                work(key, fn)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlstablint-sweep") as pool:
                list(pool.map(lambda item: work(*item), tasks))
    return _evaluate(problem, fits, data, table)


# ------------------------------------------------------------------------------------------------
# Figures and verdict


def _arm(name: str, dtype: str, fits: dict[tuple[str, str, bool], Fit], problem: Problem,
         data: dict[tuple[str, bool], Array]) -> Arm:
    fit, moved = fits[name, dtype, False], fits[name, dtype, True]
    arm = Arm(name, dtype, fit.status)
    if fit.status == "singular":
        arm.reasons.append("singular")
    if fit.w is None:
        if fit.status == "non-finite":
            arm.reasons.append("non-finite")
        return arm
    w = fit.w
    with np.errstate(all="ignore"):
        arm.max_abs_w = float(np.max(np.abs(w.astype(np.float64)), initial=abs(fit.b)))
        if moved.w is not None and np.isfinite(moved.w).all():
            norm = float(np.linalg.norm(w.astype(np.float64)))
            diff = float(np.linalg.norm(w.astype(np.float64) - moved.w.astype(np.float64)))
            arm.relative_change = diff / norm if norm > 0 else (0.0 if diff == 0 else float("inf"))
        elif moved.status in ("singular", "non-finite"):
            arm.relative_change = float("inf")
        x = data[dtype, False]
        if name == "mitigation":
            first = 1 if problem.intercept else 0
            b = np.asarray(fit.b, dtype=x.dtype)
            pred = x[:, first:] @ w[first:] + b
            probe_pred = problem.probes.astype(dtype)[:, first:] @ w[first:] + b
        else:
            pred = x @ w
            probe_pred = problem.probes.astype(dtype) @ w
        arm.exp_overflow_rows = int(np.count_nonzero(np.isinf(np.exp(pred))))
        arm.probe_overflow = int(np.count_nonzero(np.isinf(np.exp(probe_pred)))) if problem.groups else None
        if fit.status == "non-finite":
            arm.reasons.append("non-finite")
    if arm.relative_change is not None and arm.relative_change > REL_CHANGE:
        arm.reasons.append("perturbation")
    if arm.exp_overflow_rows or arm.probe_overflow:
        arm.reasons.append("exp overflow")
    return arm


def _evaluate(problem: Problem, fits: dict[tuple[str, str, bool], Fit], data: dict[tuple[str, bool], Array],
              table: Table) -> Result:
    mitigation = {d: _arm("mitigation", d, fits, problem, data) for d in DTYPES}
    arms: dict[str, Arm] = {}
    for dtype in DTYPES:
        ref = mitigation[dtype].max_abs_w
        for solver in SOLVERS:
            if fits[solver, dtype, False].status == "not run":
                continue
            arm = _arm(solver, dtype, fits, problem, data)
            if arm.max_abs_w is not None and ref is not None and arm.max_abs_w > W_RATIO * max(ref, 1e-300):
                arm.reasons.insert(0, "max|w|")
            arms[f"{solver}/{dtype}"] = arm
    missing = sum(1 for fit in fits.values() if fit.status == "not run")
    confirmed_in = [d for d in DTYPES
                    if fits["mitigation", d, False].status != "not run" and not mitigation[d].reasons
                    and any(a.reasons for a in arms.values() if a.dtype == d)]
    ran_mitigation = any(fits["mitigation", d, False].status != "not run" for d in DTYPES)
    if not ran_mitigation or not arms:
        raise Skip(f"the experiment's time box ended before its arms ran ({missing} of {len(fits)} fits not run)")
    sizes = [a.max_abs_w for a in arms.values() if a.max_abs_w is not None and a.max_abs_w > 0]
    spread = max(sizes) / min(sizes) if sizes else None
    figures: dict[str, Any] = {
        "rows": int(problem.X.shape[0]), "sample_rows": problem.sample_rows, "table_rows": problem.table_rows,
        "columns": int(problem.X.shape[1]),
        "target": problem.target, "one_hot_groups": len(problem.groups),
        "perturbation": f"X * (1 + {ULPS} * eps * N(0, 1)), eps of the arm's dtype",
        "blas_threads": 1,
        "arms": {key: arm.figures() for key, arm in arms.items()},
        "mitigation": {
            "recipe": f"drop 1 column per one-hot group ({len(problem.groups)}) and constant columns, standardise, "
                      f"ridge alpha={RIDGE_ALPHA:g} with intercept",
            **{d: arm.figures() for d, arm in mitigation.items()}},
        "spread_max_abs_w": spread,
        "thresholds": {"max_abs_w_ratio": W_RATIO, "relative_change": REL_CHANGE, "exp_overflow": 0},
        "confirmed_in": confirmed_in,
    }
    if problem.left_out_rows:
        figures["rows_left_out_non_finite"] = problem.left_out_rows
    if problem.zero_columns:
        figures["columns_all_zero_in_sample"] = len(problem.zero_columns)
    if problem.missing_columns:
        figures["columns_without_finite_value"] = problem.missing_columns
    if missing:
        figures["fits_not_run"] = missing
    seconds = {f"{k[0]}/{k[1]}{'+' if k[2] else ''}": fit.seconds for k, fit in fits.items()}
    return Result(figures=clean(figures), arms=arms, mitigation=mitigation,
                  status=verdict(bool(confirmed_in)), rows=int(problem.X.shape[0]), runs_missing=missing,
                  seconds=seconds)


def _details(arm: Arm, rows: int, groups: int) -> str:
    """max|w| and what failed, e.g. "max|w| 2.1e+17, exp(X@w) = inf on 1070/5952 rows" (or "..., stable")."""
    if arm.status == "singular":
        return "singular (LinAlgError)"
    if arm.max_abs_w is None:
        return "non-finite weights"
    parts = [f"max|w| {fmt(arm.max_abs_w)}"]
    if arm.exp_overflow_rows:
        parts.append(f"exp(X@w) = inf on {arm.exp_overflow_rows}/{rows} rows")
    if arm.probe_overflow:
        parts.append(f"{'and' if arm.exp_overflow_rows else 'exp = inf'} on {arm.probe_overflow}/{groups} "
                     f"unseen-category rows")
    if arm.relative_change is not None and arm.relative_change > REL_CHANGE:
        parts.append(_moves(arm.relative_change))
    if not arm.reasons:
        parts.append("stable")
    return ", ".join(parts)


def _moves(change: float | None) -> str:
    if change is not None and math.isinf(change):
        return f"singular or non-finite under a {ULPS}-ulp perturbation"
    return f"w moves {fmt(change)} under {ULPS} ulp"


def _key(arm: Arm) -> str:
    return f"{arm.name}/{arm.dtype}"


def _confirmation(result: Result, lead: str | None, solver_name: str | None = None) -> Confirmation:
    arms = result.arms
    groups = int(result.figures.get("one_hot_groups") or 0)
    rows = result.rows
    failing = [a for a in arms.values() if a.reasons]
    parts: list[str] = []
    shown: set[str] = set()
    if lead is not None:
        mine = [a for a in (arms.get(f"{lead}/{d}") for d in DTYPES) if a is not None]
        if mine:
            parts.append(f"the code's solver, {SOLVER_LABEL[lead]}: "
                         + "; ".join(f"{a.dtype} {_details(a, rows, groups)}" for a in mine))
            shown.update(_key(a) for a in mine)

    def severity(a: Arm) -> tuple[bool, int, float, float]:
        over = (a.exp_overflow_rows or 0) + (a.probe_overflow or 0)
        return (a.dtype != "float64", -over, -(a.max_abs_w or 0.0), -(a.relative_change or 0.0))

    worst = sorted((a for a in failing if _key(a) not in shown), key=severity)
    if worst:
        a = worst[0]
        parts.append(f"{SOLVER_LABEL[a.name]} ({a.dtype}): {_details(a, rows, groups)}")
        shown.add(_key(a))
    moved = sorted((a for a in failing if _key(a) not in shown and "perturbation" in a.reasons),
                   key=lambda a: -(a.relative_change or 0.0))
    if moved:
        a = moved[0]
        parts.append(f"{SOLVER_LABEL[a.name]} ({a.dtype}): {_moves(a.relative_change)}")
        shown.add(_key(a))
    calm = [a for a in arms.values() if not a.reasons and _key(a) not in shown]
    if calm and failing:
        best = sorted(calm, key=lambda a: (a.dtype != "float64", SOLVERS.index(a.name)))[0]
        parts.append(f"{SOLVER_LABEL[best.name]} ({best.dtype}): max|w| {fmt(best.max_abs_w)}, stable")
    parts.append(f"{len(failing)} of {len(arms)} solver arms fail")
    m, m32 = result.mitigation["float64"], result.mitigation["float32"]
    m_text = (f"mitigation (drop 1 dummy per group, standardise, ridge α={RIDGE_ALPHA:g}): "
              f"{_details(m, rows, groups) if m.reasons else f'max|w| {fmt(m.max_abs_w)}, no overflow, stable'}")
    if m32.reasons:
        m_text += f" (float32: {', '.join(m32.reasons)})"
    parts.append(m_text)
    if result.runs_missing:
        parts.append(f"{result.runs_missing} fits not run (time box)")
    figures = dict(result.figures)
    if lead is not None:
        figures = {"code_solver": solver_name, "code_arm": lead, **figures}
    return Confirmation(result.status, EXPERIMENT, figures, "; ".join(parts))  # type: ignore[arg-type]
