"""The leakage experiment against known situations: a supervised selector fitted on pure noise before the
folds scores far above chance, inside the folds at chance (0.5 for balanced binary labels); a scaler on an
informative table leaks nothing measurable; oversampling before the folds inflates a tree's score."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlstablint.findings import Finding, Report
from mlstablint.sweep.confirm import Table, confirm


def _finding(rule: str, transformer: str | None) -> Finding:
    return Finding(rule, "warning", "m", "p.py", 1, 1, 1, 1, evidence={"transformer": transformer})


def _run(finding: Finding, table: Path | None = None) -> dict[str, Any]:
    tables = [Table(table, str(table), "y", findings=[finding])] if table is not None else []
    confirm(Report(findings=[finding]), tables, budget_s=120.0)
    assert finding.confirmation is not None
    return {"status": finding.confirmation.status, **finding.confirmation.figures,
            "summary": finding.confirmation.summary}


def test_selector_on_pure_noise_synthetic() -> None:
    out = _run(_finding("MSL301", "SelectKBest"))
    assert out["status"] == "confirmed", out["summary"]
    assert out["score_leak"] > 0.75
    assert abs(out["score_fix"] - 0.5) < 0.1  # chance level for balanced binary labels
    assert "synthetic" in out["summary"] and "no --data" in out["summary"]


def test_selector_on_a_pure_noise_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.standard_normal((300, 150)), columns=[f"f{i}" for i in range(150)])
    frame["y"] = rng.permutation(np.repeat([0, 1], 150))
    frame.to_parquet(tmp_path / "noise.parquet")
    out = _run(_finding("MSL301", "SelectKBest"), tmp_path / "noise.parquet")
    assert out["status"] == "confirmed", out["summary"]
    assert out["score_leak"] - out["score_fix"] == pytest.approx(out["optimism"], abs=1e-4)
    assert abs(out["score_fix"] - 0.5) < 0.1
    assert out["rows"] == 300 and out["columns"] == 150


def test_scaler_on_an_informative_table_is_not_confirmed(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    X = rng.standard_normal((1000, 5))
    frame = pd.DataFrame(X, columns=list("abcde"))
    frame["y"] = (X @ np.array([1.0, -1.0, 0.5, 0.0, 2.0]) + rng.normal(0, 0.5, 1000) > 0).astype(int)
    frame.to_parquet(tmp_path / "signal.parquet")
    out = _run(_finding("MSL301", "StandardScaler"), tmp_path / "signal.parquet")
    assert out["status"] == "not-confirmed", out["summary"]
    assert abs(out["optimism"]) < 0.01


def test_random_oversampling_before_the_folds() -> None:
    out = _run(_finding("MSL302", "RandomOverSampler"))
    assert out["status"] == "confirmed", out["summary"]
    # Noise features: inside the folds the tree is at chance; copies across folds are scored from memory.
    assert abs(out["score_fix"] - 0.5) < 0.1 and out["score_leak"] > 0.8


def test_copied_rows_before_the_folds() -> None:
    """Augmentation / duplication (MSL302 on `np.concatenate([X, X + noise])`): every row twice."""
    out = _run(_finding("MSL302", "copies"))
    assert out["status"] == "confirmed", out["summary"]
    # Noise features: a row's copy in the training fold lets the tree recall its label (balanced accuracy 1
    # for those rows); inside the folds it is at chance.
    assert abs(out["score_fix"] - 0.5) < 0.1 and out["score_leak"] > 0.8
    assert out["leak_arm"] == "every row copied before the folds"


def test_copied_rows_on_a_regression_table(tmp_path: Path) -> None:
    """A continuous target independent of the features: R² about 0 (or below) when the copies stay in the
    training folds, near 1 when a test row's copy is in training (the tree memorises it)."""
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(rng.standard_normal((400, 8)), columns=[f"f{i}" for i in range(8)])
    frame["y"] = rng.standard_normal(400)
    frame.to_parquet(tmp_path / "reg.parquet")
    out = _run(_finding("MSL302", "copies"), tmp_path / "reg.parquet")
    assert out["status"] == "confirmed", out["summary"]
    assert out["metric"] == "R²" and out["score_fix"] < 0.05 and out["score_leak"] > 0.5


def test_smote_needs_imbalanced_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imblearn", None)
    monkeypatch.setitem(sys.modules, "imblearn.over_sampling", None)
    out = _run(_finding("MSL302", "SMOTE"))
    assert out["status"] == "skipped" and "imbalanced-learn is not installed" in out["summary"]


def test_smote_arm() -> None:
    pytest.importorskip("imblearn", reason="imbalanced-learn is not installed")
    out = _run(_finding("MSL302", "SMOTE"))
    assert out["status"] in ("confirmed", "not-confirmed")
    assert out["leak_arm"] == "SMOTE before the folds"


def test_check_with_data_reports_both_scores(tmp_path: Path) -> None:
    """End to end: the code selects features before the split; the table is pure noise with balanced labels."""
    from tests.conftest import run_cli

    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.standard_normal((300, 150)), columns=[f"f{i}" for i in range(150)])
    frame["y"] = rng.permutation(np.repeat([0, 1], 150))
    frame.to_parquet(tmp_path / "train.parquet")
    (tmp_path / "fit.py").write_text(
        "import pandas as pd\nfrom sklearn.feature_selection import SelectKBest\n"
        "from sklearn.model_selection import cross_val_score\nfrom sklearn.linear_model import LogisticRegression\n"
        "df = pd.read_parquet('train.parquet')\nX = df.drop(columns='y')\n"
        "X_sel = SelectKBest(k=10).fit_transform(X, df['y'])\n"
        "print(cross_val_score(LogisticRegression(), X_sel, df['y']).mean())\n", encoding="utf-8")
    out = run_cli("check", "fit.py", "--data", "train.parquet", "--target", "y", "--format", "json", cwd=tmp_path)
    doc = json.loads(out.stdout)
    [finding] = [f for f in doc["findings"] if f["rule"] == "MSL301"]
    confirmation = finding["confirmation"]
    assert confirmation["status"] == "confirmed", confirmation["summary"]
    assert confirmation["figures"]["data"].startswith("300 sampled rows of train.parquet")
    figures = confirmation["figures"]
    assert abs(figures["score_fix"] - 0.5) < 0.1  # chance: the labels are independent of every column
    assert figures["score_leak"] - figures["score_fix"] > 0.05
    assert "of the score is leakage" in confirmation["summary"]
