"""Confirmation micro-sweeps through the real command line: the incident fixture's conditioning findings
are confirmed with figures that agree with an independent numpy computation, the stable twin has no
confirmed finding, and --no-confirm, --sweep-budget and determinism behave as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from tests.conftest import ROOT, run_cli

# A budget far above the experiments' time: on a loaded machine the default time box could leave an arm unrun,
# and these tests are about what the experiments find, not about the budget (tested below).
# `--select MSL`: the opt-in code rules too (MSL101, MSL109, MSL202 have experiments of their own).
INCIDENT = ["check", "fixtures/exploding_infinities", "--data", "fixtures/exploding_infinities/train.parquet",
            "--target", "y", "--format", "json", "--sweep-budget", "3600", "--select", "MSL"]


@pytest.fixture(scope="module")
def incident() -> tuple[str, dict[str, Any]]:
    out = run_cli(*INCIDENT, cwd=ROOT)
    assert out.returncode == 1, out.stderr
    return out.stdout, json.loads(out.stdout)


def _by_rule(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        found.setdefault(f["rule"], []).append(f)
    return found


def test_incident_conditioning_findings_are_confirmed(incident: tuple[str, dict[str, Any]]) -> None:
    found = _by_rule(incident[1])
    assert {"MSL603", "MSL605", "MSL202", "MSL203"} <= set(found)
    for rule in ("MSL603", "MSL604", "MSL605", "MSL201", "MSL202", "MSL203"):
        for f in found.get(rule, []):
            c = f["confirmation"]
            assert c["status"] == "confirmed" and c["experiment"] == "ols-conditioning", (rule, c)
            arms = c["figures"]["arms"]
            assert set(arms) == {f"{s}/{d}" for s in ("inv", "solve", "pinv", "lstsq-gelsd", "lstsq-gelsy")
                                 for d in ("float64", "float32")}
            # The failing arm fails by the stated thresholds and the mitigation arm passes them.
            assert arms["inv/float64"]["max_abs_w"] > 1e10 and arms["inv/float64"]["exp_overflow_rows"] > 0
            assert arms["lstsq-gelsd/float64"]["max_abs_w"] < 1e3 and not arms["lstsq-gelsd/float64"]["fails"]
            for dtype in ("float64", "float32"):
                assert c["figures"]["mitigation"][dtype]["fails"] == []
            assert "mitigation" in c["summary"] and "\n" not in c["summary"]
    # The code's solver leads the summary of its finding.
    pinv = next(f for f in found["MSL203"] if f["evidence"]["solver"] == "numpy.linalg.pinv")["confirmation"]
    assert pinv["figures"]["code_arm"] == "pinv" and pinv["summary"].startswith("the code's solver, pinv")
    inv = found["MSL202"][0]["confirmation"]
    assert inv["figures"]["code_arm"] == "inv" and inv["summary"].startswith("the code's solver, inv of the Gram")


def test_incident_figures_agree_with_independent_numpy(incident: tuple[str, dict[str, Any]]) -> None:
    """Rebuild the experiment's rows (the seeded hash sample) and solve again with plain numpy."""
    from mlstablint.data.sample import sample_design

    c = _by_rule(incident[1])["MSL603"][0]["confirmation"]
    figures = c["figures"]
    sample = sample_design(ROOT / "fixtures/exploding_infinities/train.parquet", "y")
    assert sample.rows == figures["sample_rows"] == 20000
    sub = sample.subsample(figures["rows"])
    X, y = sub.design(), sub.y
    assert X.shape[0] == figures["rows"] and y is not None
    X = X[:, np.any(X != 0, axis=0) | (np.arange(X.shape[1]) == 0)]
    assert X.shape[1] == figures["columns"]
    # Every sampled row is a row of the table.
    table = pd.read_parquet(ROOT / "fixtures/exploding_infinities/train.parquet")
    rows = {r.tobytes() for r in table.drop(columns="y").to_numpy(dtype=np.float64)}
    assert all(r.tobytes() in rows for r in sub.X)

    with threadpool_limits(1):  # (speed only: the figures compared below do not depend on it)
        w_lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
        w_pinv = np.linalg.pinv(X) @ y
    arms = figures["arms"]
    assert abs(arms["lstsq-gelsd/float64"]["max_abs_w"] / np.abs(w_lstsq).max() - 1) < 1e-4
    assert abs(arms["pinv/float64"]["max_abs_w"] / np.abs(w_pinv).max() - 1) < 1e-4
    with np.errstate(all="ignore"):
        w_inv = np.linalg.inv(X.T @ X) @ (X.T @ y)
        assert np.abs(w_inv).max() > 1e10  # whatever the BLAS threads, the inverse explodes
        assert np.isinf(np.exp(X @ w_inv)).any()
        assert not np.isinf(np.exp(X @ w_lstsq)).any()


def test_incident_other_experiments(incident: tuple[str, dict[str, Any]]) -> None:
    found = _by_rule(incident[1])
    dup = found["MSL601"][0]["confirmation"]
    assert dup["status"] == "confirmed" and dup["experiment"] == "duplicate-optimism"
    assert max(m["optimism"] for m in dup["figures"]["models"].values()) > 0.01
    assert found["MSL602"][0]["confirmation"]["figures"]["label_noise_floor"]["mse_floor"] > 0
    scale = found["MSL606"][0]["confirmation"]
    assert scale["status"] == "confirmed" and scale["figures"]["standardised"]["converged"]
    values = found["MSL607"][0]["confirmation"]
    assert values["figures"]["columns"]["amount"]["float64"]["exp_inf"] > 0
    assert values["figures"]["columns"]["amount"]["float64"]["clipped_exp_inf"] == 0
    predictions = next(f["confirmation"] for f in found["MSL109"] if f["evidence"]["argument"] == "a linear predictor")
    assert predictions["experiment"] == "exp-of-predictions" and predictions["status"] == "confirmed"
    assert predictions["figures"]["arms"]["lstsq/float64"]["exp_inf"] == 0
    assert predictions["figures"]["arms"]["inv/float64"]["exp_inf"] > 0
    pattern = found["MSL101"][0]["confirmation"]
    assert pattern["experiment"] == "edge-of-dtype" and "synthetic inputs" in pattern["summary"]
    assert found["MSL610"][0]["confirmation"] is None  # no experiment: no confirmation


def test_confirmation_is_deterministic(incident: tuple[str, dict[str, Any]]) -> None:
    again = run_cli(*INCIDENT, cwd=ROOT)
    assert again.stdout == incident[0]


def test_stable_twin_has_no_confirmed_finding() -> None:
    out = run_cli("check", "fixtures/stable", "--data", "fixtures/stable/train.parquet", "--target", "y",
                  "--format", "json", "--select", "MSL", cwd=ROOT)
    doc = json.loads(out.stdout)
    assert not [f for f in doc["findings"] if (f["confirmation"] or {}).get("status") == "confirmed"]


# ------------------------------------------------------------------------------------------------
# A small generated table: the trap, duplicates, a huge column


def _small_table(path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 1200
    codes = rng.integers(0, 4, size=n)
    frame = pd.DataFrame({f"c{k}": (codes == k).astype(np.uint8) for k in range(4)})
    frame["amount"] = rng.uniform(1e5, 1e6, size=n).round(0)
    frame["x"] = rng.normal(size=n)
    frame.iloc[600:900] = frame.iloc[:300].to_numpy()  # duplicated feature rows
    frame["y"] = 0.001 * frame["x"] + rng.normal(0, 1, size=n)
    frame.to_parquet(path)
    return path


def test_no_confirm_and_default(tmp_path: Path) -> None:
    table = _small_table(tmp_path / "t.parquet")
    (tmp_path / "fit.py").write_text("import numpy as np\nimport pandas as pd\nX = pd.read_parquet('t.parquet')"
                                     ".to_numpy()\nw = np.linalg.pinv(X) @ X[:, 0]\np = np.log(1 + X[:, 1])\n")
    args = ["check", ".", "--data", table.name, "--target", "y", "--format", "json", "--select", "MSL"]
    off = json.loads(run_cli(*args, "--no-confirm", cwd=tmp_path).stdout)
    assert off["findings"] and all(f["confirmation"] is None for f in off["findings"])
    on = json.loads(run_cli(*args, cwd=tmp_path).stdout)
    statuses = {f["rule"]: (f["confirmation"] or {}).get("status") for f in on["findings"]}
    assert statuses["MSL603"] == "confirmed" and statuses["MSL101"] == "confirmed"
    assert statuses["MSL203"] == "confirmed"
    text = run_cli("check", ".", "--data", table.name, "--target", "y", cwd=tmp_path).stdout.splitlines()
    line = text.index(next(t for t in text if " MSL603 " in t))
    assert text[line + 1].startswith("    confirmed: ")


def test_sweep_budget_zero_skips_everything(tmp_path: Path) -> None:
    table = _small_table(tmp_path / "t.parquet")
    out = run_cli("audit", table.name, "--target", "y", "--format", "json", "--sweep-budget", "0", cwd=tmp_path)
    doc = json.loads(out.stdout)
    with_experiment = {"MSL601", "MSL602", "MSL603", "MSL604", "MSL605", "MSL606", "MSL607"}
    seen = set()
    for f in doc["findings"]:
        if f["rule"] in with_experiment:
            seen.add(f["rule"])
            assert f["confirmation"]["status"] == "skipped"
            assert f["confirmation"]["summary"] == "sweep budget of 0 s exhausted"
        else:
            assert f["confirmation"] is None
    assert {"MSL601", "MSL603", "MSL607"} <= seen


def test_sweep_budget_in_pyproject(tmp_path: Path) -> None:
    table = _small_table(tmp_path / "t.parquet")
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint]\nsweep-budget = 0\n")
    doc = json.loads(run_cli("audit", table.name, "--format", "json", cwd=tmp_path).stdout)
    assert all(f["confirmation"]["summary"] == "sweep budget of 0 s exhausted" for f in doc["findings"]
               if f["confirmation"] is not None)
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint]\nsweep-budget = -1\n")
    bad = run_cli("audit", table.name, cwd=tmp_path)
    assert bad.returncode == 2 and "sweep-budget" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("audit", table.name, "--sweep-budget", "-1", cwd=tmp_path).returncode == 2


def test_code_only_confirm_runs_the_pattern_experiments(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "import numpy as np\n\ndef f(X, y, x):\n    w = np.linalg.inv(X.T @ X) @ X.T @ y\n"
        "    return np.log(1 + x), np.sqrt(x**2 + y**2)\n")
    plain = json.loads(run_cli("check", "m.py", "--format", "json", cwd=tmp_path).stdout)
    assert all(f["confirmation"] is None for f in plain["findings"])  # pre-commit path: no experiments
    # MSL101, MSL114 and MSL202 are opt-in (outside the default set): selected by their ids.
    doc = json.loads(run_cli("check", "m.py", "--confirm", "--select", "ALL,MSL101,MSL114,MSL202", "--format", "json",
                             cwd=tmp_path).stdout)
    found = {f["rule"]: f["confirmation"] for f in doc["findings"]}
    assert found["MSL101"]["status"] == "confirmed" and found["MSL114"]["status"] == "confirmed"
    assert found["MSL101"]["figures"]["float64"]["naive"] == [float(np.log(1 + np.float64(1e-18)))]
    assert found["MSL101"]["figures"]["float64"]["stable"] == [float(np.log1p(np.float64(1e-18)))]
    assert found["MSL202"]["status"] == "skipped" and "needs --data" in found["MSL202"]["summary"]
