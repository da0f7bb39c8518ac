"""The leakage experiment ("leakage-optimism"): the leak the code has and its fix, scored under the same
folds. Confirms MSL301 (preprocessing before the split) and MSL302 (oversampling before the split).

On the sample (at most LEAK_ROWS rows and LEAK_COLUMNS feature columns, rows with a missing feature or
target left out) or, without a table, on a synthetic one (below), two arms are cross-validated under the
same splits, REPEATS repeats of seeded FOLDS-fold splits (stratified for class labels):

- MSL301: the code's transformer (re-created by class name with default settings, `k`/`n_components`
  capped by the column count; a `StandardScaler` stands in for a pandas statistic or a class it does not
  know) fitted on all rows before cross-validation (the leak) vs inside each fold as a `Pipeline` in
  `cross_val_score` (the fix). Model: `LogisticRegression` for class labels (accuracy), `Ridge` otherwise (R²).
- MSL302 (class labels only): the minority classes oversampled to the majority's count before
  cross-validation (the leak) vs in the training folds only (the fix). Random oversampling with numpy, or
  imbalanced-learn's `SMOTE` when the code uses a SMOTE-family sampler (skipped with a note when
  imbalanced-learn is not installed). Model: an unpruned `DecisionTreeClassifier`; balanced accuracy.
  Augmentation or duplicated rows (transformer `copies`): every row stacked twice before the folds vs the
  training folds' rows only (exact copies stand in for augmented ones); a tree, balanced accuracy or R².

Optimism = mean(leak score - fix score) over the paired folds. Noise: the standard deviation of the
per-fold differences; the standard error is that over sqrt(number of folds). Verdict: `confirmed` when
the optimism exceeds both MIN_OPTIMISM and twice the standard error; `not-confirmed` otherwise.

Synthetic tables (no --data), where the leak is known to matter: MSL301 — pure noise, 200 rows, 2,000
features, balanced random labels; with a supervised selector fitted on all rows the score is far above
the chance level 0.5, inside the folds it is at chance. MSL302 — 600 rows, 20 noise features, 10 %
minority; copies of minority rows in both folds let the tree score them from memory.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mlstablint.findings import Confirmation, Finding
from mlstablint.sweep.confirm import Session, Skip, clean, fmt, one_thread, verdict

EXPERIMENT = "leakage-optimism"
LEAK_ROWS = 2000
LEAK_COLUMNS = 200
FOLDS = 5
REPEATS = 3
MIN_OPTIMISM = 0.01
COPIES = "copies"  # the `transformer` of MSL302 on stacked copies of rows (mlstablint.code.dataflow.COPIES)
SMOTE_FAMILY = frozenset({"SMOTE", "ADASYN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE", "SMOTENC", "SMOTEN",
                          "SMOTEENN", "SMOTETomek"})


@dataclass
class Arms:
    leak: list[float]
    fix: list[float]
    metric: str
    model: str
    arm_leak: str
    arm_fix: str
    rows: int
    columns: int
    data: str

    def figures(self) -> dict[str, Any]:
        diffs = np.array(self.leak) - np.array(self.fix)
        n = diffs.size
        sd = float(np.std(diffs, ddof=1)) if n > 1 else float("nan")
        return {"metric": self.metric, "model": self.model, "leak_arm": self.arm_leak, "fix_arm": self.arm_fix,
                "score_leak": float(np.mean(self.leak)), "score_fix": float(np.mean(self.fix)),
                "optimism": float(np.mean(diffs)), "fold_difference_std": sd,
                "standard_error": sd / np.sqrt(n) if n > 1 else float("nan"), "folds": n,
                "rows": self.rows, "columns": self.columns, "data": self.data}


def confirm_leakage(session: Session, finding: Finding) -> Confirmation:
    table = session.table_for(finding)
    transformer = str(finding.evidence.get("transformer") or "")
    with one_thread():
        if table is None:
            X, y, classification, data = _synthetic(finding.rule, session.seed)
        else:
            X, y, classification, data = _from_table(session, table)
        arms = (_preprocess_arms(X, y, classification, transformer, session, data) if finding.rule == "MSL301"
                else _oversample_arms(X, y, classification, transformer, session, data))
    figures = arms.figures()
    optimism, se = figures["optimism"], figures["standard_error"]
    ok = bool(np.isfinite(se) and optimism > MIN_OPTIMISM and optimism > 2 * se)
    summary = (f"{arms.metric} {fmt(figures['score_leak'])} with {arms.arm_leak}, {fmt(figures['score_fix'])} "
               f"with {arms.arm_fix}: {optimism:+.3g} of the score is leakage (per-fold differences: std "
               f"{fmt(figures['fold_difference_std'])}, standard error {fmt(se)} over {figures['folds']} paired "
               f"folds of {REPEATS}x{FOLDS}-fold CV; {arms.model} on {data})")
    return Confirmation(verdict(ok), EXPERIMENT, clean(figures), summary)


def _synthetic(rule: str, seed: int) -> tuple[NDArray[np.float64], NDArray[Any], bool, str]:
    rng = np.random.default_rng([seed, 0x1EA4])
    if rule == "MSL301":
        X = rng.standard_normal((200, 2000))
        y = np.repeat([0, 1], 100)
        rng.shuffle(y)
        return X, y, True, "a synthetic pure-noise table (200 rows, 2000 features, balanced labels; no --data)"
    X = rng.standard_normal((600, 20))
    y = (np.arange(600) < 60).astype(int)
    rng.shuffle(y)
    return X, y, True, "a synthetic noise table (600 rows, 20 features, 10 % minority; no --data)"


def _from_table(session: Session, table: Any) -> tuple[NDArray[np.float64], NDArray[Any], bool, str]:
    full = session.sample(table)
    sample = full.subsample(LEAK_ROWS)
    classification = sample.is_classification(table.max_classes)
    if classification:
        assert sample.labels is not None
        y: NDArray[Any] = sample.labels
        has_y = y >= 0
    elif sample.y is not None:
        y, has_y = sample.y, np.isfinite(sample.y)
    else:
        raise Skip("needs --target: the leak is measured on the score of a model of the target")
    X = sample.X[:, :LEAK_COLUMNS]
    keep = np.isfinite(X).all(axis=1) & has_y
    X, y = X[keep], y[keep]
    if X.shape[0] < 10 * FOLDS:
        raise Skip(f"fewer than {10 * FOLDS} sampled rows have finite features and target")
    return X, y, classification, f"{X.shape[0]} sampled rows of {sample.dataset}"


def _transformer(name: str, columns: int) -> tuple[Any, str]:
    from sklearn import decomposition, feature_selection, impute, preprocessing

    k = max(1, min(10, columns - 1))
    known: dict[str, Any] = {
        "StandardScaler": preprocessing.StandardScaler, "MinMaxScaler": preprocessing.MinMaxScaler,
        "MaxAbsScaler": preprocessing.MaxAbsScaler, "RobustScaler": preprocessing.RobustScaler,
        "QuantileTransformer": lambda: preprocessing.QuantileTransformer(n_quantiles=100),
        "PowerTransformer": preprocessing.PowerTransformer, "SimpleImputer": impute.SimpleImputer,
        "KNNImputer": impute.KNNImputer, "PCA": lambda: decomposition.PCA(n_components=k),
        "TruncatedSVD": lambda: decomposition.TruncatedSVD(n_components=k),
        "SelectKBest": lambda: feature_selection.SelectKBest(k=k),
        "SelectPercentile": lambda: feature_selection.SelectPercentile(percentile=1),
    }
    if name in known:
        return known[name](), name
    return preprocessing.StandardScaler(), f"StandardScaler (standing in for {name or 'the statistic'})"


def _splits(X: NDArray[Any], y: NDArray[Any], classification: bool, seed: int) -> list[tuple[Any, Any]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    out: list[tuple[Any, Any]] = []
    for r in range(REPEATS):
        cv: Any = (StratifiedKFold(FOLDS, shuffle=True, random_state=seed + r) if classification
                   else KFold(FOLDS, shuffle=True, random_state=seed + r))
        out.extend(cv.split(X, y))
    return out


def _preprocess_arms(X: NDArray[Any], y: NDArray[Any], classification: bool, name: str, session: Session,
                     data: str) -> Arms:
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.pipeline import make_pipeline

    step, label = _transformer(name, X.shape[1])
    model: Any = LogisticRegression(max_iter=500) if classification else Ridge(alpha=1.0)
    score = accuracy_score if classification else r2_score
    deadline = session.box()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        leaked = clone(step).fit_transform(X, y)
        leak: list[float] = []
        fix: list[float] = []
        for train, test in _splits(X, y, classification, session.seed):
            if time.monotonic() >= deadline and len(leak) >= FOLDS:
                break
            m = clone(model).fit(leaked[train], y[train])
            leak.append(float(score(y[test], m.predict(leaked[test]))))
            pipe = make_pipeline(clone(step), clone(model)).fit(X[train], y[train])
            fix.append(float(score(y[test], pipe.predict(X[test]))))
    if len(leak) < 2:
        raise Skip(session.budget_message())
    metric = "accuracy" if classification else "R²"
    return Arms(leak, fix, metric, type(model).__name__, f"{label} fitted on all rows",
                f"{label.split(' ')[0]} fitted per fold", X.shape[0],
                X.shape[1], data)


Resample = Callable[[NDArray[Any], NDArray[Any]], tuple[NDArray[Any], NDArray[Any]]]


def _oversample_arms(X: NDArray[Any], y: NDArray[Any], classification: bool, name: str, session: Session,
                     data: str) -> Arms:
    if name == COPIES:
        # Augmentation or duplication (`np.concatenate([X, X + noise])`): every row twice (exact copies stand in
        # for the code's augmented ones), any target.
        def twice(Xa: NDArray[Any], ya: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
            rows = np.concatenate([np.arange(ya.size), np.arange(ya.size)])
            return Xa[rows], ya[rows]

        return _resampled_arms(X, y, classification, twice, ("every row copied before the folds",
                                                             "the training folds' rows copied only"), session, data)
    if not classification:
        raise Skip("oversampling is measured on class labels; the target is not discrete")
    smote = name in SMOTE_FAMILY
    if smote:
        try:
            from imblearn.over_sampling import SMOTE  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            raise Skip("the code uses a SMOTE-family sampler and imbalanced-learn is not installed "
                       "(pip install 'mlstablint[leakage]')") from None
    rng = np.random.default_rng([session.seed, 0x0E5A])

    def oversample(Xa: NDArray[Any], ya: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
        if smote:
            counts = np.bincount(ya)
            neighbours = max(1, min(5, int(counts[counts > 0].min()) - 1))
            out: tuple[NDArray[Any], NDArray[Any]] = SMOTE(k_neighbors=neighbours,
                                                           random_state=session.seed).fit_resample(Xa, ya)
            return out
        classes, counts = np.unique(ya, return_counts=True)
        index = [np.flatnonzero(ya == c) for c in classes]
        extra = [rng.choice(ix, counts.max() - ix.size, replace=True) for ix in index]
        rows = np.concatenate([np.arange(ya.size), *extra])
        return Xa[rows], ya[rows]

    how = "SMOTE" if smote else "random oversampling"
    return _resampled_arms(X, y, True, oversample, (f"{how} before the folds", f"{how} of the training folds only"),
                           session, data)


def _resampled_arms(X: NDArray[Any], y: NDArray[Any], classification: bool, resample: Resample,
                    arms: tuple[str, str], session: Session, data: str) -> Arms:
    """An unpruned tree cross-validated on the rows resampled once before the folds (the leak) vs on each
    training fold resampled (the fix), validation folds left as drawn; balanced accuracy, or R²."""
    from sklearn.metrics import balanced_accuracy_score, r2_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    model: Any = (DecisionTreeClassifier(random_state=session.seed) if classification
                  else DecisionTreeRegressor(random_state=session.seed))
    score = balanced_accuracy_score if classification else r2_score
    deadline = session.box()
    leak: list[float] = []
    fix: list[float] = []
    Xo, yo = resample(X, y)
    for train, test in _splits(Xo, yo, classification, session.seed):
        if time.monotonic() >= deadline and len(leak) >= FOLDS:
            break
        m = model.fit(Xo[train], yo[train])
        leak.append(float(score(yo[test], m.predict(Xo[test]))))
    for train, test in _splits(X, y, classification, session.seed):
        if len(fix) >= len(leak):
            break
        Xt, yt = resample(X[train], y[train])
        m = model.fit(Xt, yt)
        fix.append(float(score(y[test], m.predict(X[test]))))
    if len(leak) < 2:
        raise Skip(session.budget_message())
    metric = "balanced accuracy" if classification else "R²"
    return Arms(leak, fix, metric, type(model).__name__, arms[0], arms[1], X.shape[0], X.shape[1], data)
