"""The audit's figures exposed as plain data for charts (`Report.profiles`), against numpy/scipy/pandas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlstablint.report.json_report import render_json
from tests.data_support import run_audit

EPS = np.finfo(np.float64).eps


def _collinear_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, rows)
    b = rng.normal(0, 1, rows)
    return pd.DataFrame({"a": a * 1e4, "b": b, "c": a + b + rng.normal(0, 1e-3, rows), "d": rng.normal(5, 2, rows),
                         "y": rng.normal(0, 1, rows)})


def test_spectrum_rank_cutoff_and_belsley_match_numpy(tmp_path: Path) -> None:
    df = _collinear_table()
    report = run_audit(df, tmp_path, target="y", thresholds={"condition-index": 2.0})
    (profile,) = report.profiles
    cond = profile["conditioning"]
    X = np.column_stack([np.ones(len(df)), df[["a", "b", "c", "d"]].to_numpy()])
    s = np.linalg.svd(X, compute_uv=False)
    Xe = X / np.linalg.norm(X, axis=0)
    s_eq = np.linalg.svd(Xe, compute_uv=False)
    np.testing.assert_allclose(cond["singular_values"], s, rtol=1e-8)
    np.testing.assert_allclose(cond["singular_values_equilibrated"], s_eq, rtol=1e-8)
    assert cond["rank_tolerance"] == pytest.approx(s_eq[0] * max(X.shape) * EPS, rel=1e-8)
    # Belsley, Kuh & Welsch: eta_k = s_max / s_k; pi_jk = (v_jk / s_k)^2 / sum_k (v_jk / s_k)^2.
    _u, sv, vt = np.linalg.svd(Xe, full_matrices=False)
    np.testing.assert_allclose(cond["condition_indices"], sv[0] / sv, rtol=1e-6)
    phi = (vt.T / sv) ** 2
    pi = phi / phi.sum(axis=1, keepdims=True)
    vd = cond["variance_decomposition"]
    assert vd["columns"] == ["(intercept)", "a", "b", "c", "d"]
    expected = [(sv[0] / sv[k], pi[:, k]) for k in range(len(sv)) if sv[0] / sv[k] > 2.0]
    assert len(vd["indices"]) == len(expected) >= 1
    for eta, props, (want_eta, want_props) in zip(vd["indices"], vd["proportions"], expected, strict=True):
        assert eta == pytest.approx(want_eta, rel=1e-6)
        np.testing.assert_allclose(props, want_props, atol=1e-6)
    # The largest index puts a, b and c together (c = a/1e4 + b).
    top = vd["proportions"][int(np.argmax(vd["indices"]))]
    assert {vd["columns"][j] for j, p in enumerate(top) if p > 0.5} >= {"b", "c"}


def test_one_hot_groups_and_dropped_levels_are_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    level = rng.integers(0, 3, 300)
    df = pd.DataFrame({f"g_{k}": (level == k).astype(np.int64) for k in range(3)})
    df["x"] = rng.normal(0, 1, 300)
    cond = run_audit(df, tmp_path).profiles[0]["conditioning"]
    assert cond["one_hot_groups"] == [["g_0", "g_1", "g_2"]]
    counts = np.bincount(level, minlength=3)
    assert cond["dropped"]["one_hot"] == [f"g_{int(np.argmax(counts))}"]  # the most frequent level
    assert cond["cond"] == float("inf")
    kept = ["x", *[f"g_{k}" for k in range(3) if k != int(np.argmax(counts))]]
    X = np.column_stack([np.ones(300), *[df[c].to_numpy(float) for c in kept]])
    assert cond["cond_reduced"] == pytest.approx(np.linalg.cond(X), rel=1e-6)


def test_column_statistics_match_pandas(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"big": rng.normal(0, 1e5, 200), "small": rng.normal(0, 1e-3, 200),
                       "flag": (rng.random(200) < 0.02).astype(np.int64), "zero": np.zeros(200),
                       "hot": np.r_[np.full(10, 1000.0), rng.normal(0, 1, 190)],
                       "gaps": np.r_[[np.nan, np.inf], rng.normal(0, 1, 198)]})
    columns = {c["name"]: c for c in run_audit(df, tmp_path).profiles[0]["columns"]}
    for name in ("big", "small", "hot"):
        assert columns[name]["std"] == pytest.approx(df[name].std(ddof=1), rel=1e-9)
    assert columns["gaps"]["std"] == pytest.approx(df["gaps"].replace(np.inf, np.nan).std(ddof=1), rel=1e-9)
    assert (columns["gaps"]["null"] + columns["gaps"]["nan"], columns["gaps"]["posinf"]) == (1, 1)
    assert columns["zero"]["kind"] == "zero"
    assert columns["flag"]["kind"] == "binary" and columns["flag"]["ones"] == int(df["flag"].sum())
    assert columns["hot"]["above_float32"] == 10 and columns["hot"]["above_float64"] == 10


def test_duplicate_group_sizes_match_pandas_groupby(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    base = pd.DataFrame({"a": rng.integers(0, 6, 500), "b": rng.integers(0, 5, 500)})
    base["y"] = rng.normal(0, 1, 500)
    dup = run_audit(base, tmp_path, target="y").profiles[0]["duplicates"]
    sizes = base.groupby(["a", "b"]).size()
    want = sizes[sizes > 1].value_counts().sort_index()
    assert dup["group_sizes"] == [[int(s), int(c)] for s, c in want.items()]
    assert dup["duplicate_groups"] == int((sizes > 1).sum())
    assert dup["largest_group"] == int(sizes.max())


def test_drift_ks_statistics_and_bh_verdicts_match_scipy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    train = pd.DataFrame({"same": rng.normal(0, 1, 600), "shifted": rng.normal(0, 1, 600),
                          "wider": rng.normal(0, 1, 600)})
    test = pd.DataFrame({"same": rng.normal(0, 1, 400), "shifted": rng.normal(0.8, 1, 400),
                         "wider": rng.normal(0, 1.05, 400)})
    from tests.data_support import write_table

    test_path = write_table(test, tmp_path / "test.parquet")
    drift = run_audit(train, tmp_path, test_data=test_path).profiles[0]["drift"]
    tests = {t["column"]: t for t in drift["tests"]}
    pvals = []
    for name in ("same", "shifted", "wider"):
        res = stats.ks_2samp(train[name], test[name])
        assert tests[name]["ks"] == pytest.approx(res.statistic, rel=1e-12)
        pvals.append(res.pvalue)
    # Benjamini-Hochberg by hand: p_(i) * m / i, cumulative minimum from the largest.
    order = np.argsort(pvals)
    m = len(pvals)
    adjusted = np.empty(m)
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvals[i] * m / rank)
        adjusted[i] = running
    for name, want in zip(("same", "shifted", "wider"), adjusted, strict=True):
        assert tests[name]["p_adjusted"] == pytest.approx(want, rel=1e-9)
    assert tests["shifted"]["drifted"] and not tests["same"]["drifted"]


def test_profiles_stay_out_of_the_json_document(tmp_path: Path) -> None:
    report = run_audit(_collinear_table(), tmp_path, target="y")
    assert report.profiles
    assert set(json.loads(render_json(report))) == {"version", "findings", "errors", "dataset"}
