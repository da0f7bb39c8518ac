"""The incident table and its stable twin, `check --data` (both halves in one report, data findings
on the line that loads the table), configuration, notes, lean start-up, and the catalogue pages of
the data rules (their Example tables fire the rule, their Use instead tables do not)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlstablint.catalog import load_catalog
from mlstablint.data.audit import DATA_RULES
from tests.conftest import ROOT, run_cli
from tests.data_support import by_rule, options

INCIDENT = ROOT / "fixtures" / "exploding_infinities"
STABLE = ROOT / "fixtures" / "stable"
HAZARDS = {"MSL601", "MSL602", "MSL603", "MSL604", "MSL605", "MSL607"}


@pytest.fixture(scope="module")
def incident_report():
    from mlstablint.data.audit import audit

    return by_rule(audit([INCIDENT / "train.parquet"], options(target="y")))


@pytest.fixture(scope="module")
def incident_frame() -> pd.DataFrame:
    return pd.read_parquet(INCIDENT / "train.parquet")


def test_incident_duplicates_and_conflicts(incident_report, incident_frame) -> None:
    df = incident_frame
    features = [c for c in df.columns if c != "y"]
    dup = incident_report["MSL601"].evidence
    sizes = df.groupby(features).size()
    assert dup["duplicated_rows"] == int(df.duplicated(subset=features).sum()) == 6000
    assert dup["fraction"] == pytest.approx(0.3)
    assert dup["largest_group"] == int(sizes.max())
    conf = incident_report["MSL602"].evidence
    labels = df.groupby(features)["y"].nunique()
    assert conf["conflicting_groups"] == int((labels > 1).sum()) == 3456
    assert conf["rows_affected"] == int(sizes[labels > 1].sum())
    within = float(((df["y"] - df.groupby(features)["y"].transform("mean")) ** 2).sum())
    assert conf["mse_floor"] == pytest.approx(within / len(df), rel=1e-5)


def test_incident_one_hot_trap_and_conditioning(incident_report, incident_frame) -> None:
    trap = incident_report["MSL603"]
    assert trap.severity == "error"
    groups = {frozenset(g) for g in trap.evidence["groups"]}
    expected = {frozenset(c for c in incident_frame.columns if c.startswith(f"cat{k:02d}_")) for k in range(30)}
    assert trap.evidence["group_count"] == 30 and groups <= expected and len(groups) == 20  # 20 listed
    X = np.column_stack([np.ones(len(incident_frame)), incident_frame.drop(columns="y").to_numpy(float)])
    assert trap.evidence["rank"] == np.linalg.matrix_rank(X) == 306 and trap.evidence["columns"] == 336
    assert "MSL604" not in incident_report  # the trap explains every null direction
    cond = incident_report["MSL605"].evidence
    assert cond["cond"] == "inf" or cond["cond"] > 1e15
    # Without the trap (one level dropped per group) the design is still ill-conditioned, from scales only.
    assert cond["cond_without_exact_dependencies"] > 1e8
    assert cond["cond_equilibrated_without_exact_dependencies"] < 1000
    assert incident_report["MSL606"].evidence["largest"]["column"] == "amount"


def test_incident_overflow_counts(incident_report, incident_frame) -> None:
    cols = incident_report["MSL607"].evidence["columns"]
    assert set(cols) == {"amount", "duration_s"}
    for name in cols:
        assert cols[name]["above_float64"] == int((incident_frame[name] > 709.782712893384).sum())
        assert cols[name]["above_float32"] == int((incident_frame[name] > 88.72283905206835).sum())
    assert cols["duration_s"]["above_float64"] == 18389


def test_stable_twin_has_none_of_the_hazards() -> None:
    from mlstablint.data.audit import audit

    report = audit([STABLE / "train.parquet"], options(target="y"))
    assert not report.errors
    assert not HAZARDS & {f.rule for f in report.findings}


def test_check_with_data_puts_data_findings_on_the_loading_line() -> None:
    out = run_cli("check", "--select", "MSL", "fixtures/exploding_infinities", "--data", "fixtures/exploding_infinities/train.parquet",
                  "--target", "y", "--format", "json", cwd=ROOT)
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"version", "findings", "errors", "dataset"} and doc["errors"] == []
    keys = ["rule", "severity", "message", "path", "line", "column", "end_line", "end_column", "evidence",
            "confirmation", "fingerprint", "fix"]
    assert all(list(f) == keys for f in doc["findings"])
    rules = {f["rule"] for f in doc["findings"]}
    assert {"MSL109", "MSL202", "MSL203"} <= rules and HAZARDS - {"MSL604"} <= rules
    source = (INCIDENT / "pipeline.py").read_text().splitlines()
    for f in doc["findings"]:
        if f["rule"].startswith("MSL6"):
            assert f["path"] == "fixtures/exploding_infinities/pipeline.py"
            assert "read_parquet(DATA)" in source[f["line"] - 1]
            assert source[f["line"] - 1][f["column"] - 1:].startswith("read_parquet")
    order = [(f["path"], f["line"], f["column"], f["rule"]) for f in doc["findings"]]
    assert order == sorted(order)


def test_data_findings_stay_on_the_table_without_a_loading_line(tmp_path: Path) -> None:
    (tmp_path / "code.py").write_text("import numpy as np\n")
    pd.DataFrame({"x": [1.0, 1.0, 2.0]}).to_parquet(tmp_path / "t.parquet")
    out = run_cli("check", "code.py", "--data", "t.parquet", "--format", "json", cwd=tmp_path)
    finding = json.loads(out.stdout)["findings"][0]
    assert (finding["rule"], finding["path"], finding["line"], finding["column"]) == ("MSL601", "t.parquet", 1, 1)
    (tmp_path / "code.py").write_text("import pandas as pd\n\n\ndf = pd.read_parquet('t.parquet')\n")
    out = run_cli("check", "code.py", "--data", "t.parquet", "--format", "json", cwd=tmp_path)
    finding = json.loads(out.stdout)["findings"][0]
    assert (finding["path"], finding["line"], finding["column"]) == ("code.py", 4, 22)


def test_configuration_drives_the_data_half(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.mlstablint]
        data = ["data/train.parquet"]
        target = "label"
        [tool.mlstablint.thresholds]
        imbalance-ratio = 0.5
        rare-k = 0
    """))
    (tmp_path / "data").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    pd.DataFrame({"x": np.arange(10.0), "label": [0] * 7 + [1] * 3}).to_parquet(tmp_path / "data" / "train.parquet")
    out = run_cli("check", "src", "--format", "json", cwd=tmp_path)
    rules = [f["rule"] for f in json.loads(out.stdout)["findings"]]
    assert rules == ["MSL611"], out.stdout + out.stderr  # 3/7 < 0.5: configured threshold
    out = run_cli("audit", "--ignore", "MSL611", cwd=tmp_path)
    assert out.returncode == 0 and "All checks passed" in out.stdout


def test_text_output_and_notes(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1.0, 1.0, 2.0], "city": ["a", "a", "b"]}).to_parquet(tmp_path / "t.parquet")
    out = run_cli("audit", "t.parquet", cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("t.parquet:1:1: MSL601 1 of 3 rows (33.3 %) repeat the features of an earlier row")
    assert "note: t.parquet: no target given: label checks (MSL602, MSL611) skipped" in lines
    assert any(line.startswith("note: t.parquet: left out of the design (not numeric or boolean): 'city' (")
               and line.endswith("string, 2 distinct)") for line in lines), lines
    assert lines[-1] == "Found 1 finding (1 warning) in 1 file checked."


def test_check_without_data_stays_lean(tmp_path: Path) -> None:
    """Loading a configuration with data settings must not import the heavy libraries either."""
    (tmp_path / "pyproject.toml").write_text("[tool.mlstablint]\ntarget = 'y'\n[tool.mlstablint.thresholds]\n"
                                             "cond = 1e4\n")
    probe = ("import sys\nfrom pathlib import Path\nfrom mlstablint.config import load_config\n"
             "cfg = load_config(None, ['MSL101'], Path('.'))\nassert cfg.target == 'y', cfg\n"
             "print('HEAVY', sorted(m for m in ('pandas', 'scipy', 'pyarrow', 'numpy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


# ---------------------------------------------------------------------------------------------
# The catalogue pages of the data rules

CATALOG = load_catalog()
TARGETS = {"MSL601": "bought", "MSL602": "label", "MSL611": "fraud", "MSL612": "y", "MSL613": None}


def test_every_data_rule_has_a_page() -> None:
    assert sorted(r for r in CATALOG if r.startswith("MSL6")) == list(DATA_RULES)


def _audit_snippet(code: str, rule: str, tmp: Path) -> set[str]:
    from mlstablint.data.audit import audit

    namespace: dict[str, object] = {}
    exec(compile(code, f"<{rule} example>", "exec"), namespace)  # our own documentation, not user data
    train = namespace["train"]
    assert isinstance(train, pd.DataFrame)
    train.to_parquet(tmp / "train.parquet")
    kw: dict[str, object] = {}
    target = TARGETS.get(rule)
    if target and target in train.columns:
        kw["target"] = target
    if "test" in namespace:
        namespace["test"].to_parquet(tmp / "test.parquet")  # type: ignore[union-attr]
        kw["test_data"] = tmp / "test.parquet"
    report = audit([tmp / "train.parquet"], options(**kw))
    assert not report.errors, report.errors
    return {f.rule for f in report.findings}


@pytest.mark.parametrize("rule", list(DATA_RULES))
def test_data_page_examples(checker, tmp_path: Path, rule: str) -> None:
    doc = CATALOG[rule]
    for section, fires in (("Example", True), ("Use instead", False)):
        blocks = doc.code_blocks(section)
        assert blocks
        for code in blocks:
            assert not checker.check_source(code, "example.py").errors  # parses through the code checker
            assert (rule in _audit_snippet(code, rule, tmp_path)) is fires, (rule, section)
