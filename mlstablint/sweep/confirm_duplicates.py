"""The duplicates experiment ("duplicate-optimism"): how much duplicated rows inflate a cross-validated
score, and the label-noise floor of conflicting duplicates. Confirms MSL601 and MSL602.

On the sample (at most DUP_ROWS rows, duplicate groups kept whole, rows with a missing feature or
target left out), two simple models are scored by 5-fold cross-validation twice: random K-fold
(`KFold(5, shuffle=True, random_state=seed)`), where copies of a row land on both sides of a split,
and K-fold grouped by duplicate, where they cannot. The grouped folds are the random folds with every
duplicate group moved whole into the fold of its first row (`PredefinedSplit`): a paired design, so
that on a table without duplicates both splits are the same and the optimism is exactly 0, instead
of the partition-to-partition noise of two unrelated splits (`GroupKFold` would draw its own).
The models: a linear one (`StandardScaler` + `Ridge(alpha=1)`, or `RidgeClassifier(alpha=1)`) and a
memorising one (`DecisionTreeRegressor` / `DecisionTreeClassifier`, unpruned, `max_features="sqrt"`,
seeded: it grows until its leaves are pure, so a row's copy in the training folds predicts it). Scores are
R² for a numeric target and accuracy for class labels (the auditor's rule). The optimism of a model
is its random-K-fold mean score minus its grouped mean score.

The label-noise floor: for class labels, the best accuracy any function of the features can reach
on the sample (each duplicate group predicted by its majority label); for a numeric target, the
smallest mean squared error (the pooled within-group variance) and the largest R² it allows.

Verdicts: MSL601 is `confirmed` when the optimism of either model exceeds 0.01 (absolute, in score
units); MSL602 when the floor bites on the sample: best accuracy below 1, or a mean squared error
floor above 0. `not-confirmed` otherwise.
"""

from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, Skip, Table, clean, fmt, needs_data, one_thread, verdict

EXPERIMENT = "duplicate-optimism"
DUP_ROWS = 5000
FOLDS = 5
OPTIMISM = 0.01
WORKERS = 2


@dataclass
class Result:
    figures: dict[str, Any]
    classification: bool
    optimism: dict[str, float]
    scores: dict[str, tuple[float, float]]
    rows: int
    duplicated_rows: int
    floor_text: str
    floor_bites: bool


def confirm_duplicates(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    if table is None:
        return needs_data(EXPERIMENT)
    result: Result = session.shared(EXPERIMENT, table, lambda: run(session, table))
    models = "; ".join(f"{name}: random K-fold {fmt(result.scores[name][0])} vs grouped {fmt(result.scores[name][1])}"
                       f" (optimism {result.optimism[name]:+.3g})" for name in result.scores)
    metric = "accuracy" if result.classification else "R²"
    head = (f"{FOLDS}-fold {metric} on {result.rows} sampled rows ({result.duplicated_rows} duplicated): {models}")
    if finding.rule == "MSL602":
        ok = result.floor_bites
        summary = f"{result.floor_text}; {head}"
    else:
        ok = max(result.optimism.values()) > OPTIMISM
        summary = f"{head}; {result.floor_text}"
    return Confirmation(verdict(ok), EXPERIMENT, result.figures, summary)


def run(session: Session, table: Table) -> Result:
    from sklearn.linear_model import Ridge, RidgeClassifier
    from sklearn.model_selection import GroupKFold, KFold, PredefinedSplit, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sample = session.sample(table).subsample(DUP_ROWS)
    classification = sample.is_classification(table.max_classes)
    if classification:
        assert sample.labels is not None
        y: NDArray[Any] = sample.labels
        has_y = y >= 0
    elif sample.y is not None and sample.target is not None:
        y = sample.y
        has_y = np.isfinite(y)
    else:
        raise Skip("needs --target: the experiment scores a model of the target")
    usable = np.isfinite(sample.X).any(axis=0)  # columns with no finite value would empty every row
    features = sample.X[:, usable]
    keep = np.isfinite(features).all(axis=1) & has_y
    X, y, groups = features[keep], y[keep], sample.groups[keep]
    _, groups = np.unique(groups, return_inverse=True)
    n = int(X.shape[0])
    n_groups = int(groups.max()) + 1 if n else 0
    if n_groups < FOLDS:
        raise Skip(f"the sample has fewer than {FOLDS} distinct feature rows")
    duplicated = n - n_groups
    floor_figures, floor_text, floor_bites = _floor(y, groups, classification)

    if classification:
        models: dict[str, Any] = {
            "linear (RidgeClassifier)": make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0)),
            "memorising (DecisionTreeClassifier)": DecisionTreeClassifier(max_features="sqrt",
                                                                          random_state=session.seed)}
    else:
        models = {"linear (Ridge)": make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
                  "memorising (DecisionTreeRegressor)": DecisionTreeRegressor(max_features="sqrt",
                                                                              random_state=session.seed)}
    random_fold = np.empty(n, dtype=np.int64)
    for k, (_train, test) in enumerate(KFold(FOLDS, shuffle=True, random_state=session.seed).split(X)):
        random_fold[test] = k
    first_row = np.unique(groups, return_index=True)[1]
    grouped_fold = random_fold[first_row][groups]
    grouped: Any = PredefinedSplit(grouped_fold)
    if np.unique(grouped_fold).size < FOLDS:  # a fold emptied by the moves (tiny samples): draw groups anew
        grouped = GroupKFold(FOLDS)
    splits = {"random": PredefinedSplit(random_fold), "grouped": grouped}
    deadline = session.box()

    def score(item: tuple[str, str]) -> tuple[tuple[str, str], float | None]:
        name, split = item
        if time.monotonic() >= deadline:
            return item, None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                values = cross_val_score(models[name], X, y, cv=splits[split],
                                         groups=groups if split == "grouped" else None)
        return item, float(np.mean(values))

    tasks = [(name, split) for name in models for split in splits]
    with one_thread():
        workers = max(1, min(WORKERS, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlstablint-sweep") as pool:
            results = dict(pool.map(score, tasks))
    scores: dict[str, tuple[float, float]] = {}
    for name in models:
        a, b = results[name, "random"], results[name, "grouped"]
        if a is not None and b is not None:
            scores[name] = (a, b)
    if not scores:
        raise Skip("the experiment's time box ended before a model was scored")
    optimism = {name: a - b for name, (a, b) in scores.items()}
    figures = clean({
        "rows": n, "table_rows": sample.table_rows, "duplicate_groups": int(np.count_nonzero(np.bincount(groups) > 1)),
        "duplicated_rows": duplicated, "folds": FOLDS, "metric": "accuracy" if classification else "r2",
        "models": {name: {"random_kfold": a, "grouped_kfold": b, "optimism": a - b} for name, (a, b) in scores.items()},
        "optimism_threshold": OPTIMISM, "label_noise_floor": floor_figures,
    })
    return Result(figures=figures, classification=classification, optimism=optimism, scores=scores, rows=n,
                  duplicated_rows=duplicated, floor_text=floor_text, floor_bites=floor_bites)


def _floor(y: NDArray[Any], groups: NDArray[np.int64], classification: bool) -> tuple[dict[str, Any], str, bool]:
    n = int(y.size)
    if classification:
        labels = y.astype(np.int64)
        k = int(labels.max()) + 1
        counts = np.zeros((int(groups.max()) + 1, k), dtype=np.int64)
        np.add.at(counts, (groups, labels), 1)
        best = int(counts.max(axis=1).sum())
        accuracy = best / n
        conflicting = int(np.count_nonzero((counts > 0).sum(axis=1) > 1))
        return ({"best_achievable_accuracy": accuracy, "conflicting_groups": conflicting},
                f"label-noise floor on the sample: no model can be more than {100 * accuracy:.2f} % accurate "
                f"({conflicting} conflicting groups)", accuracy < 1.0)
    values = y.astype(np.float64)
    sums = np.bincount(groups, weights=values)
    sizes = np.bincount(groups)
    means = sums / np.maximum(sizes, 1)
    dev = values - means[groups]
    ss_within = float(dev @ dev)
    mse_floor = ss_within / n
    total = float(np.var(values))
    max_r2 = 1 - mse_floor / total if total > 0 else None
    conflicting = int(np.count_nonzero(np.bincount(groups, weights=(np.abs(dev) > 0).astype(np.float64)) > 0))
    text = (f"label-noise floor on the sample: mean squared error ≥ {fmt(mse_floor)} for any model "
            f"(R² ≤ {fmt(max_r2)}; {conflicting} conflicting groups)")
    return ({"mse_floor": mse_floor, "max_r2": max_r2, "target_variance": total, "conflicting_groups": conflicting},
            text, mse_floor > 0)
