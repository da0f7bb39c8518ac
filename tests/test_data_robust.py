"""Bad input never produces a traceback: a one-line error and exit 2 for what cannot be audited,
a finding where the problem is a property of the data. Pickle-based files are refused unopened."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, run_cli

FIXTURE = ROOT / "fixtures" / "exploding_infinities" / "train.parquet"


def one_line_error(out, path: str, contains: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"mlstablint: error: {path}: "), lines[0]
    assert contains in lines[0], lines[0]


def make_cases(tmp: Path) -> dict[str, tuple[str, str]]:
    """name → (path argument, expected text of the one-line error)."""
    (tmp / "empty_dir").mkdir()
    (tmp / "corrupt.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 50)
    data = FIXTURE.read_bytes()
    (tmp / "truncated.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.float64())}),
                   tmp / "empty.parquet")
    (tmp / "empty.csv").write_text("")
    (tmp / "header_only.csv").write_text("x,y\n")
    pd.DataFrame({"city": ["a", "b"], "y": [1.0, 2.0]}).to_parquet(tmp / "text_only.parquet")
    pd.DataFrame({"x": [1.0, 2.0], "z": [3.0, 4.0]}).to_parquet(tmp / "no_target.parquet")
    with (tmp / "model.pkl").open("wb") as fh:
        pickle.dump({"x": [1, 2]}, fh)
    with (tmp / "disguised.parquet").open("wb") as fh:
        pickle.dump({"x": [1, 2]}, fh)
    (tmp / "model.joblib").write_bytes(b"\x80\x04\x95")
    np.save(tmp / "array.npy", np.arange(3))
    (tmp / "sheet.xlsx").write_bytes(b"PK\x03\x04rest")
    (tmp / "pickles").mkdir()
    (tmp / "pickles" / "part.pkl").write_bytes(pickle.dumps([1]))
    (tmp / "feather1.feather").write_bytes(b"FEA1" + b"\x00" * 32)
    return {
        "missing": ("nope.parquet", "no such file or directory"),
        "empty directory": ("empty_dir", "no data files in directory"),
        "corrupt": ("corrupt.parquet", "cannot read parquet"),
        "truncated": ("truncated.parquet", "cannot read parquet"),
        "empty table": ("empty.parquet", "the table has no rows"),
        "empty csv": ("empty.csv", "no rows"),
        "header-only csv": ("header_only.csv", "the table has no rows"),
        "no numeric column": ("text_only.parquet", "no numeric or boolean feature column"),
        "missing target": ("no_target.parquet", "target column 'y' not found"),
        "pickle": ("model.pkl", "refused"),
        "pickle by magic bytes": ("disguised.parquet", "refused"),
        "joblib": ("model.joblib", "refused"),
        "npy": ("array.npy", "refused"),
        "unknown format": ("sheet.xlsx", "unsupported data format"),
        "pickle in a directory": ("pickles", "refused"),
        "feather v1": ("feather1.feather", "Feather v1"),
    }


def test_each_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """All cases in one run (one process start): each gives exactly one line naming its input."""
    cases = make_cases(tmp_path)
    out = run_cli("audit", *[arg for arg, _ in cases.values()], "--target", "y", cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == len(cases), out.stderr
    by_path = {line.split(": ")[2]: line for line in lines}
    for name, (arg, contains) in cases.items():
        assert arg in by_path, f"case {name!r}: no error line"
        assert contains in by_path[arg], f"case {name!r}: {by_path[arg]}"


@pytest.mark.parametrize("case", ["missing", "corrupt", "truncated", "empty table", "pickle by magic bytes",
                                  "missing target", "no numeric column"])
def test_single_bad_input_exits_2(tmp_path: Path, case: str) -> None:
    arg, contains = make_cases(tmp_path)[case]
    one_line_error(run_cli("audit", arg, "--target", "y", cwd=tmp_path), arg, contains)


def test_errors_do_not_stop_other_tables(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [0, 1, 0]}).to_parquet(tmp_path / "good.parquet")
    out = run_cli("audit", "missing.csv", "good.parquet", "--target", "y", "--format", "json", cwd=tmp_path)
    assert out.returncode == 2
    doc = json.loads(out.stdout)
    assert doc["errors"] == [{"path": "missing.csv", "message": "no such file or directory"}]
    assert {f["rule"] for f in doc["findings"]} >= {"MSL601", "MSL602"}


def test_properties_of_the_data_are_findings_not_errors(tmp_path: Path) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "nothing": [np.nan] * 4, "y": [1.0, 2.0, 2.5, 4.0]})
    df.to_parquet(tmp_path / "t.parquet")
    out = run_cli("audit", "t.parquet", "--target", "y", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == ""
    finding = next(f for f in json.loads(out.stdout)["findings"] if f["rule"] == "MSL608")
    assert finding["evidence"]["all_missing"] == ["nothing"]


def test_mixed_type_csv_column_is_read_as_text(tmp_path: Path) -> None:
    rows = [f"{i},{i % 7}" for i in range(700_000)] + ["oops,3", "2.5,1"]  # past the first 4 MB block
    (tmp_path / "mixed.csv").write_text("a,b\n" + "\n".join(rows) + "\n")
    out = run_cli("audit", "mixed.csv", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert "column 'a' changes type within the file: read as numbers" in out.stdout
    assert "column 'a' changes type within the file: read as text" in out.stdout
    assert "left out of the design" in out.stdout and "'a' (string" in out.stdout


def test_ten_thousand_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    table = pa.table({f"c{i}": rng.normal(size=50) for i in range(10_050)})
    pq.write_table(table, tmp_path / "wide.parquet")
    out = run_cli("audit", "wide.parquet", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert "exceed max-design-columns" in out.stdout


def test_usage_errors(tmp_path: Path) -> None:
    FIXTURE_COPY = tmp_path / "t.parquet"
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(FIXTURE_COPY)
    out = run_cli("audit", "t.parquet", "--batch-size", "0", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.strip() == "mlstablint: error: --batch-size must be at least 1"
    out = run_cli("audit", cwd=tmp_path)
    assert out.returncode == 2 and "no data to audit" in out.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint.thresholds]\ncondd = 3\n")
    out = run_cli("audit", "t.parquet", cwd=tmp_path)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "unknown key 'condd'" in out.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint.thresholds]\ncond = 'big'\n")
    out = run_cli("audit", "t.parquet", cwd=tmp_path)
    assert out.returncode == 2 and "cond must be a number" in out.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint]\ntarget = 3\n")
    out = run_cli("audit", "t.parquet", cwd=tmp_path)
    assert out.returncode == 2 and "target must be a string" in out.stderr


@pytest.mark.parametrize("missing_test", [True, False])
def test_bad_test_table_is_named(tmp_path: Path, missing_test: bool) -> None:
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "w": [0.0, 1.0, 0.0]}).to_parquet(tmp_path / "train.parquet")
    if not missing_test:
        pd.DataFrame({"x": [1.0]}).to_parquet(tmp_path / "test.parquet")
    out = run_cli("audit", "train.parquet", "--test-data", "test.parquet", cwd=tmp_path)
    one_line_error(out, "test.parquet", "no such file" if missing_test else "lacks training feature column(s): 'w'")
