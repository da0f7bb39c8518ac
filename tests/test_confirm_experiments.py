"""The confirmation experiments through their API, against values computed independently in the test:
the pattern experiments' figures equal direct numpy/scipy evaluations, the sample keeps duplicate
groups whole, and each data experiment tells a table with the hazard from one without it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.special as sp

from mlstablint.data.sample import sample_design
from mlstablint.findings import Finding, Report
from mlstablint.sweep.confirm import EXPERIMENTS, Table, confirm
from mlstablint.sweep.confirm_patterns import PATTERNS
from tests.conftest import ROOT


def _finding(rule: str, path: str = "t.parquet", **evidence: Any) -> Finding:
    return Finding(rule, "warning", "m", path, 1, 1, 1, 1, evidence=evidence)


def _confirm(findings: list[Finding], table: Path | None = None, target: str | None = "y",
             budget: float = 120.0) -> None:
    tables = [Table(table, str(table), target, findings=list(findings))] if table is not None else []
    confirm(Report(findings=list(findings)), tables, budget)


# ------------------------------------------------------------------------------------------------
# Pattern experiments: the figures are what numpy and scipy return for the same inputs


def _f(value: Any) -> list[float]:
    return [float(v) for v in np.ravel(np.asarray(value, dtype=np.float64))]


def _direct(rule: str, dtype: str) -> tuple[list[float], list[float]]:
    """(naive, stable) evaluated here with numpy and scipy.special, independently of mlstablint."""
    t = np.dtype(dtype).type
    f64 = dtype == "float64"
    with np.errstate(all="ignore"):
        if rule == "MSL101":
            x = t(1e-18 if f64 else 1e-9)
            return _f(np.log(t(1) + x)), _f(np.log1p(x))
        if rule == "MSL102":
            x = t(1e-18 if f64 else 1e-9)
            return _f(np.exp(x) - t(1)), _f(np.expm1(x))
        if rule == "MSL103":
            x = np.array([1000, 1000] if f64 else [100, 100], dtype=dtype)
            return _f(np.log(np.sum(np.exp(x)))), _f(sp.logsumexp(x))
        if rule == "MSL104":
            x = np.array([0, -1000] if f64 else [0, -200], dtype=dtype)
            return _f(np.log(np.exp(x) / np.sum(np.exp(x)))), _f(sp.log_softmax(x))
        if rule == "MSL105":
            x = np.array([-750, 750] if f64 else [-110, 110], dtype=dtype)
            naive = [1 / (1 + np.exp(-x[0])), np.exp(x[1]) / (1 + np.exp(x[1]))]
            return _f(naive), _f(sp.expit(x))
        if rule == "MSL106":
            x = np.array([800 if f64 else 100], dtype=dtype)
            return _f(np.log(1 + np.exp(x))), _f(np.logaddexp(0, x))
        if rule == "MSL107":
            x = np.array([-800 if f64 else -120], dtype=dtype)
            return _f(np.log(sp.expit(x))), _f(sp.log_expit(x))
        if rule == "MSL108":
            x = np.array([1000, 999] if f64 else [100, 99], dtype=dtype)
            return _f(np.exp(x) / np.sum(np.exp(x))), _f(sp.softmax(x))
        if rule == "MSL109":
            x = np.array([710 if f64 else 89], dtype=dtype)
            limit = math.floor(math.log(float(np.finfo(dtype).max)))
            return _f(np.exp(x)), _f(np.exp(np.clip(x, -limit, limit)))
        if rule == "MSL110":
            p = np.array([0, 0.5, 1], dtype=dtype)
            return _f(np.log(p)), _f(np.log(np.clip(p, np.finfo(dtype).eps, 1)))
        if rule == "MSL111":
            x = np.array([0, 0.5], dtype=dtype)
            return _f(x * np.log(x)), _f(sp.xlogy(x, x))
        if rule == "MSL112":
            x = np.array([1e9 + 1, 1e9 + 2, 1e9 + 3] if f64 else [1e4 + 1, 1e4 + 2, 1e4 + 3], dtype=dtype)
            return _f(np.mean(x**2) - np.mean(x) ** 2), _f(np.var(x))
        if rule == "MSL113":
            x = np.array([1, np.nan], dtype=dtype)
            return [float(np.sum(x == np.nan))], [float(np.sum(np.isnan(x)))]
        if rule == "MSL114":
            x = np.array([1e200 if f64 else 1e20], dtype=dtype)
            return _f(np.sqrt(x**2 + x**2)), _f(np.hypot(x, x))
        if rule == "MSL204":
            a = (0.1 * np.eye(400 if f64 else 50)).astype(dtype)
            return _f(np.log(np.linalg.det(a))), _f(np.linalg.slogdet(a)[1])
    raise AssertionError(rule)


def _same(a: list[Any], b: list[float]) -> bool:
    """Figures (6 significant digits, ±inf as strings, NaN as null) against direct values."""
    def norm(v: Any) -> float:
        if v is None:
            return math.nan
        return {"inf": math.inf, "-inf": -math.inf}[v] if isinstance(v, str) else float(v)

    got = [norm(v) for v in a]
    return len(got) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == y
                                      or (math.isfinite(x) and abs(x - y) <= 1e-5 * abs(y))
                                      for x, y in zip(got, b, strict=True))


@pytest.mark.parametrize("rule", sorted(PATTERNS))
def test_pattern_figures_equal_direct_evaluation(rule: str) -> None:
    f = _finding(rule, "m.py")
    _confirm([f])
    c = f.confirmation
    assert c is not None and c.status == "confirmed" and c.experiment == "edge-of-dtype"
    assert c.summary.startswith("shown on synthetic inputs at the dtype's edge, not on your code or data")
    for dtype in ("float64", "float32"):
        naive, stable = _direct(rule, dtype)
        assert _same(c.figures[dtype]["naive"], naive), (dtype, c.figures[dtype], naive)
        assert _same(c.figures[dtype]["stable"], stable), (dtype, c.figures[dtype], stable)
        # The naive form is wrong or non-finite somewhere; the stable form is finite.
        assert all(isinstance(v, float) and math.isfinite(v) for v in c.figures[dtype]["stable"])


def test_findings_without_experiment_keep_no_confirmation() -> None:
    f = _finding("MSL610")
    g = _finding("MSL202", "m.py", solver="numpy.linalg.inv")
    _confirm([f, g])
    assert f.confirmation is None
    assert g.confirmation is not None and g.confirmation.status == "skipped"
    assert set(EXPERIMENTS) >= {"MSL101", "MSL201", "MSL601", "MSL603", "MSL606", "MSL607"}


def test_budget_exhausted_marks_skipped() -> None:
    f = _finding("MSL101", "m.py")
    _confirm([f], budget=0)
    assert f.confirmation is not None and f.confirmation.status == "skipped"
    assert f.confirmation.summary == "sweep budget of 0 s exhausted"


# ------------------------------------------------------------------------------------------------
# The sample


def _duplicated_table(path: Path, rows: int = 6000, distinct: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({"a": rng.integers(0, 1000, distinct), "b": rng.normal(size=distinct).round(3),
                         "c": rng.choice(["p", "q", "r"], distinct)})
    frame = base.iloc[rng.integers(0, distinct, rows)].reset_index(drop=True)
    frame["y"] = rng.normal(size=rows)
    frame.to_parquet(path)
    return frame


def test_sample_keeps_duplicate_groups_whole(tmp_path: Path) -> None:
    frame = _duplicated_table(tmp_path / "t.parquet")
    sample = sample_design(tmp_path / "t.parquet", "y", max_rows=1000, seed=3)
    assert 0 < sample.rows <= 1000
    features = frame[["a", "b", "c"]]
    in_table = features.groupby(["a", "b", "c"]).size()
    # The sample's design holds the numeric columns; text column "c" is in the row hash, not in X.
    got = pd.DataFrame(sample.X, columns=list(sample.columns)).astype({"a": "int64"})
    got["y"] = sample.y
    merged = frame.merge(got, on=["a", "b", "y"], how="inner")  # y is continuous: identifies each row
    assert len(merged) == sample.rows
    sampled = merged.groupby(["a", "b", "c"]).size()
    assert (sampled == in_table.loc[sampled.index]).all()  # every group wholly in (or absent)
    again = sample_design(tmp_path / "t.parquet", "y", max_rows=1000, seed=3)
    assert np.array_equal(again.X, sample.X) and again.y is not None and sample.y is not None
    assert np.array_equal(again.y, sample.y)
    other = sample_design(tmp_path / "t.parquet", "y", max_rows=1000, seed=4)
    assert not np.array_equal(other.X, sample.X)
    small = sample.subsample(300)
    assert small.rows <= 300
    sub = pd.DataFrame(small.X, columns=list(small.columns)).astype({"a": "int64"})
    sub["y"] = small.y
    sub_groups = frame.merge(sub, on=["a", "b", "y"]).groupby(["a", "b", "c"]).size()
    assert (sub_groups == in_table.loc[sub_groups.index]).all()


def test_sample_does_not_depend_on_batching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _duplicated_table(tmp_path / "t.parquet", rows=20000, distinct=5000)
    whole = sample_design(tmp_path / "t.parquet", "y", max_rows=700)
    import mlstablint.data.partials as partials_module
    import mlstablint.data.sample as sample_module

    monkeypatch.setattr(partials_module, "BLOCK_CELLS", 97 * 4)  # 97-row batches: many compactions
    batched = sample_design(tmp_path / "t.parquet", "y", max_rows=700)
    assert np.array_equal(whole.X, batched.X) and np.array_equal(whole.keys, batched.keys)
    assert whole.table_rows == batched.table_rows == 20000
    # Bottom-k by key: every kept key is below every key left out (checked against all the table's keys).
    from mlstablint.data.partials import make_layout, mix64, row_hashes
    from mlstablint.data.read import open_source

    source = open_source(tmp_path / "t.parquet")
    layout = make_layout(source.schema, "y", None)
    keys = []
    for batch in source.batches(layout.columns, 1 << 16):
        x, _ = sample_module.design_block(batch, layout.design)
        keys.append(mix64(row_hashes(layout, batch, x) ^ sample_module.seed_key(0)))
    every = np.concatenate(keys)
    assert np.count_nonzero(every <= whole.keys.max()) == whole.rows


# ------------------------------------------------------------------------------------------------
# Data experiments tell the hazard from its absence


def _regression(rows: int, distinct: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(distinct, 6)).round(4)
    signal = X @ np.array([1.0, -1.0, 0.5, 0.0, 0.0, 0.3])
    pick = rng.permutation(np.arange(rows) % distinct)
    frame = pd.DataFrame(X[pick], columns=[f"x{j}" for j in range(6)])
    frame["y"] = np.sin(2 * signal[pick]) + rng.normal(0, 0.3, size=rows)
    return frame


def test_duplicate_optimism_seen_only_with_duplicates(tmp_path: Path) -> None:
    dup, clean = tmp_path / "dup.parquet", tmp_path / "clean.parquet"
    _regression(3000, 1000).to_parquet(dup)
    _regression(3000, 3000).to_parquet(clean)
    f_dup = _finding("MSL601", str(dup))
    f_clean = _finding("MSL601", str(clean))
    _confirm([f_dup], dup)
    _confirm([f_clean], clean)
    assert f_dup.confirmation is not None and f_clean.confirmation is not None
    dup_models = f_dup.confirmation.figures["models"]
    clean_models = f_clean.confirmation.figures["models"]
    assert f_dup.confirmation.status == "confirmed"
    assert max(m["optimism"] for m in dup_models.values()) > 0.05
    assert f_clean.confirmation.status == "not-confirmed"
    assert all(m["optimism"] == 0.0 for m in clean_models.values())  # paired folds: identical splits
    assert f_clean.confirmation.figures["duplicated_rows"] == 0


def test_label_noise_floor_matches_a_direct_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.integers(0, 50, 800), "b": rng.integers(0, 4, 800)})
    frame["label"] = rng.integers(0, 3, 800)
    frame.to_parquet(tmp_path / "t.parquet")
    f = _finding("MSL602", str(tmp_path / "t.parquet"))
    _confirm([f], tmp_path / "t.parquet", target="label")
    assert f.confirmation is not None and f.confirmation.status == "confirmed"
    best = frame.groupby(["a", "b"])["label"].agg(lambda s: s.value_counts().max()).sum() / len(frame)
    assert f.confirmation.figures["label_noise_floor"]["best_achievable_accuracy"] == pytest.approx(best, rel=1e-5)


def test_conditioning_not_confirmed_on_the_stable_twin() -> None:
    path = ROOT / "fixtures/stable/train.parquet"
    f = _finding("MSL605", str(path))
    _confirm([f], path)
    assert f.confirmation is not None and f.confirmation.status == "not-confirmed", f.confirmation
    assert all(not arm["fails"] for arm in f.confirmation.figures["arms"].values())


def test_conditioning_without_target_uses_a_synthetic_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 3, 1500)
    frame = pd.DataFrame({f"d{k}": (codes == k).astype(float) for k in range(3)})
    frame["x"] = rng.normal(size=1500)
    frame.to_parquet(tmp_path / "t.parquet")
    f = _finding("MSL603", str(tmp_path / "t.parquet"))
    _confirm([f], tmp_path / "t.parquet", target=None)
    assert f.confirmation is not None and f.confirmation.status == "confirmed"
    assert "synthetic" in f.confirmation.figures["target"]
    assert f.confirmation.figures["one_hot_groups"] == 1


def test_scaling_experiment(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    z = rng.normal(size=(n, 3))
    wide = pd.DataFrame({"big": z[:, 0] * 1e6, "small": z[:, 1] * 1e-3, "mid": z[:, 2]})
    wide["y"] = z @ np.array([1.0, 1.0, 1.0]) + rng.normal(0, 0.1, n)
    wide.to_parquet(tmp_path / "wide.parquet")
    calm = pd.DataFrame({"a": z[:, 0], "b": z[:, 1], "c": z[:, 2], "y": wide["y"]})
    calm.to_parquet(tmp_path / "calm.parquet")
    f_wide, f_calm = _finding("MSL606", "w"), _finding("MSL606", "c")
    _confirm([f_wide], tmp_path / "wide.parquet")
    _confirm([f_calm], tmp_path / "calm.parquet")
    assert f_wide.confirmation is not None and f_wide.confirmation.status == "confirmed"
    assert f_calm.confirmation is not None and f_calm.confirmation.status == "not-confirmed"
    labels = wide.assign(y=(wide["y"] > 0).astype(int))
    labels.to_parquet(tmp_path / "labels.parquet")
    f_labels = _finding("MSL606", "l")
    _confirm([f_labels], tmp_path / "labels.parquet")
    assert f_labels.confirmation is not None
    assert f_labels.confirmation.figures["estimator"] == "LogisticRegression(lbfgs)"
    assert f_labels.confirmation.status == "confirmed"


def test_exp_of_values_counts_match_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"hot": rng.uniform(0, 1000, 500), "x": rng.normal(size=500)})
    frame.to_parquet(tmp_path / "t.parquet")
    f = _finding("MSL607", str(tmp_path / "t.parquet"), columns={"hot": {}})
    _confirm([f], tmp_path / "t.parquet", target=None)
    assert f.confirmation is not None and f.confirmation.status == "confirmed"
    hot = f.confirmation.figures["columns"]["hot"]
    with np.errstate(over="ignore"):
        assert hot["float64"]["exp_inf"] == int(np.isinf(np.exp(frame["hot"].to_numpy())).sum())
        assert hot["float32"]["exp_inf"] == int(np.isinf(np.exp(frame["hot"].to_numpy(np.float32))).sum())
    assert hot["float64"]["clipped_exp_inf"] == hot["float32"]["clipped_exp_inf"] == 0
