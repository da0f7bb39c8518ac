"""`mlstablint sweep` as users run it: text shape, JSON determinism, --data, one-line errors, --plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlstablint.sweep import lab, synthetic
from tests.conftest import ROOT, run_cli

FAST = ("--epochs", "120")


def _write_tables(tmp: Path) -> tuple[Path, Path]:
    """The built-in table as parquet, raw and standardised (the same rows and target)."""
    problem = synthetic.make_problem()
    raw, std = tmp / "raw.parquet", tmp / "std.parquet"
    scaled = lab.standardise(problem.X)
    for path, X in ((raw, problem.X), (std, scaled)):
        columns = {name: X[:, i] for i, name in enumerate(problem.features)}
        pq.write_table(pa.table({**columns, "y": problem.y.astype(np.int64)}), path)
    return raw, std


def _no_constants(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name}")


@pytest.fixture(scope="module")
def default_text() -> str:
    out = run_cli("sweep", "--lr", "0.2,1", *FAST)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout


def test_default_sweep_text_shape(default_text: str) -> None:
    lines = default_text.splitlines()
    runs = [line for line in lines if line.startswith("Run ")]
    assert len(runs) == 4 * 2 * 2 * 2
    assert runs[0].startswith("Run float16 lr=0.2 lambda=0 scaling=raw: ")
    statuses = {line.split(": ", 1)[1].split(" ", 1)[0] for line in runs}
    assert {"overflow", "diverged", "stagnated", "converged"} <= statuses
    assert not any(line.startswith("Control: ") for line in lines)  # scaling was swept: no control needed
    assert any(line.startswith("Condition number(X^T X): 1e15") for line in lines)
    rec = [line for line in lines if line.startswith("Recommendation: ")]
    assert len(rec) == 1 and rec[0].startswith("Recommendation: scale features + ")
    assert "add L2 (lambda ≥ 0.01)" in rec[0]
    assert any(line.startswith("Run float64 lr=1 lambda=0.01 scaling=standard: converged (epoch ") for line in runs)
    assert any(line.startswith("Precision policies at lr=1 lambda=0.01 scaling=standard") for line in lines)
    assert any(line.startswith("Learning-rate edge") for line in lines)


def test_json_is_valid_stable_and_byte_deterministic(tmp_path: Path) -> None:
    args = ("sweep", "--task", "linear_regression", "--format", "json", "--precision", "float16,float64", *FAST)
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout, parse_constant=_no_constants)
    assert list(doc) == ["version", "task", "data", "settings", "condition_number_xtx",
                         "condition_number_xtx_scaled", "rank", "runs", "recommendation", "notes",
                         "controls", "control_reason", "lr_bound", "lr_bound_scaled", "lr_edges", "policies",
                         "divergence_onsets"]
    assert doc["task"] == "linear_regression" and doc["data"] == "synthetic"
    run_keys = ["dtype", "lr", "lambda", "scaling", "loss_form", "status", "epoch", "loss", "reason", "fp_warnings",
                "history", "control", "precision", "phases", "layers"]
    assert all(list(run) == run_keys for run in doc["runs"])
    assert all(list(run["history"]) == ["loss", "grad_norm", "update_norm"] for run in doc["runs"])
    assert all(len(run["history"]["loss"]) == run["epoch"] for run in doc["runs"])
    overflowed = [run for run in doc["runs"] if run["status"] == "overflow"]
    assert overflowed and all(isinstance(run["loss"], str) for run in overflowed if run["loss"] != run["loss"])
    assert set(doc["recommendation"]) == {"text", "because"}
    output = tmp_path / "sweep.json"
    assert run_cli(*args, "--output", str(output)).returncode == 0
    assert output.read_text(encoding="utf-8") == first.stdout


def test_recommendation_differs_between_raw_and_standardised_tables(tmp_path: Path) -> None:
    raw, std = _write_tables(tmp_path)
    docs = {}
    for path in (raw, std):
        out = run_cli("sweep", "--data", str(path), "--target", "y", "--format", "json", "--sweep",
                      "precision,lambda,scaling", "--lr", "1", *FAST)
        assert out.returncode == 0, out.stderr
        docs[path.name] = json.loads(out.stdout)
    raw_rec, std_rec = docs["raw.parquet"]["recommendation"], docs["std.parquet"]["recommendation"]
    assert raw_rec["text"] != std_rec["text"]
    assert raw_rec["text"].startswith("scale features") and "scale features" not in std_rec["text"]
    assert docs["raw.parquet"]["condition_number_xtx"] > 1e12 > 10 > docs["std.parquet"]["condition_number_xtx"]
    statuses = {run["status"] for run in docs["raw.parquet"]["runs"]}
    assert len(statuses & {"overflow", "nan", "diverged", "stagnated"}) >= 3 and "converged" in statuses


def test_csv_with_text_labels_and_extra_columns(tmp_path: Path) -> None:
    problem = synthetic.make_problem(rows=300)
    lines = ["a,b,city,label"] + [f"{x[0]},{x[5]},c{i % 3},{'yes' if y else 'no'}"
                                  for i, (x, y) in enumerate(zip(problem.X, problem.y, strict=True))]
    lines[5] = "nan,1,c,yes"
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = run_cli("sweep", "--data", "t.csv", "--target", "label", "--sweep", "scaling", *FAST, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "on t.csv (299 rows × 2 features" in out.stdout
    assert "Note: ignored 1 non-numeric column(s): city" in out.stdout
    assert "Note: dropped 1 row(s) with a missing or non-finite value" in out.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--task", "ridge"), "unknown task 'ridge'"),
    (("--sweep", "precision,momentum"), "unknown sweep axis 'momentum'"),
    (("--sweep", "lr,lr"), "names an axis twice"),
    (("--data", "missing.parquet", "--target", "y"), "missing.parquet: no such file or directory"),
    (("--data", "raw.parquet"), "--data needs --target"),
    (("--target", "y"), "--target needs --data"),
    (("--data", "raw.parquet", "--target", "nope"), "no target column 'nope'"),
    (("--data", "raw.parquet", "--target", "balance"), "logistic_regression needs a target with 2 distinct values"),
    (("--lr", "fast"), "--lr: 'fast' is not a number"),
    (("--precision", "float8"), "--precision: unknown value 'float8'"),
    (("--sweep", "lr", "--precision", "float32,float64"), "precision is not in --sweep"),
    (("--format", "sarif"), "unknown format 'sarif'"),
    (("--epochs", "0"), "--epochs must be between"),
    (("--data", "model.pkl", "--target", "y"), "refused: pickle-based files"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    _write_tables(tmp_path)
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    out = run_cli("sweep", *args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlstablint: error: ") and message in lines[0], out.stderr


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "curves.png"
    out = run_cli("sweep", "--sweep", "precision,scaling", "--lr", "1", *FAST, "--plot", str(png))
    assert out.returncode == 0, out.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_mlp_plot_adds_the_layer_heatmap(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    plain, layered = tmp_path / "plain.png", tmp_path / "layered.png"
    common = ("--sweep", "lr", "--lr", "0.5", "--scaling", "standard", "--epochs", "15")
    assert run_cli("sweep", *common, "--plot", str(plain)).returncode == 0
    out = run_cli("sweep", "--task", "mlp", *common, "--activation", "sigmoid", "--hidden", "8,8,8,8", "--init-gain",
                  "1,1,1000", "--plot", str(layered))
    assert out.returncode == 0, out.stderr
    # One loss panel in both; the MLP figure has a second row (the heatmap), so it is taller.
    with Image.open(plain) as a, Image.open(layered) as b:
        assert b.size[1] > 1.5 * a.size[1]


def test_plot_without_matplotlib_is_a_one_line_usage_error(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; sys.argv = ['mlstablint'] + sys.argv[1:]; "
            "from mlstablint.cli import main; main()")
    out = subprocess.run([sys.executable, "-c", code, "sweep", "--plot", str(tmp_path / "x.png")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2
    assert out.stderr.splitlines() == ["mlstablint: error: --plot needs matplotlib: pip install 'mlstablint[plot]'"]
    assert not (tmp_path / "x.png").exists()


def test_check_start_up_does_not_import_the_lab() -> None:
    code = "import sys, mlstablint.cli; print(sorted(m for m in sys.modules if m.startswith('mlstablint.sweep')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.stdout.strip() == "[]"
