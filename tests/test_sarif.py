"""SARIF 2.1.0 for GitHub code scanning, checked against external truth: every log the tests write
passes tests/sarif_support.validate (the OASIS schema, our checks of GitHub's ingestion rules and
Microsoft's SARIF Multitool with its GitHub rules), and the properties GitHub relies on hold:
repo-relative percent-encoded URIs, explicit levels, stable fingerprints, byte-identical output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attr
import pytest
import sarif_om

from mlstablint import __version__
from mlstablint.catalog import load_catalog
from mlstablint.findings import Confirmation, Finding, Report, ToolError, data_fingerprint
from mlstablint.report.sarif import FINGERPRINT_KEY, INFORMATION_URI, MAX_DESCRIPTION, _clip, render_sarif
from tests.conftest import ROOT, run_cli
from tests.sarif_support import validate
from tests.test_cli import BAD, CLEAN, write

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)
    return path


def git_toplevel(cwd: Path) -> Path:
    out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, text=True,
                         check=True)
    return Path(out.stdout.strip())


def sarif_cli(cwd: Path, *args: str, output: str = "out.sarif") -> tuple[int, dict[str, Any], Path]:
    out = run_cli("check", "--select", "MSL", "--format", "sarif", "--output", output, *args, cwd=cwd)
    assert out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    path = cwd / output
    return out.returncode, json.loads(path.read_text(encoding="utf-8")), path


def render_to(report: Report, cwd: Path, name: str) -> tuple[dict[str, Any], Path]:
    text = render_sarif(report.finalize(), cwd=cwd)
    path = cwd / name
    path.write_text(text, encoding="utf-8")
    return json.loads(text), path


def check_results(doc: dict[str, Any]) -> None:
    """What GitHub needs of every result, beyond the validators."""
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"].endswith(".")
        assert len(res["locations"]) == 1
        phys = res["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        region = phys["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert 1 <= region["startLine"] <= region["endLine"] and region["startColumn"] >= 1
        assert list(res["partialFingerprints"]) == [FINGERPRINT_KEY]
        assert "evidence" in res["properties"]


def test_code_log_from_a_subdirectory_of_a_git_repository(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"src/ml pkg/train é.py": BAD})
    code, doc, path = sarif_cli(repo / "src", ".")
    assert code == 1
    validate(path)
    check_results(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and doc["version"] == "2.1.0"
    assert list(doc)[:2] == ["$schema", "version"] and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["semanticVersion"], driver["informationUri"]) == (
        "mlstablint", __version__, INFORMATION_URI)
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["automationDetails"] == {"id": "mlstablint/"}
    assert run["invocations"] == [{"executionSuccessful": True}]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    # Relative to the work-tree root that git reports, not to the current directory; percent-encoded UTF-8.
    assert uris == ["src/ml%20pkg/train%20%C3%A9.py"] * 2
    assert (git_toplevel(repo / "src") / unquote(uris[0])).is_file()
    # Regions are the findings' own 1-based positions (end column exclusive, as in SARIF).
    findings = json.loads(run_cli("check", "--select", "MSL", "--format", "json", ".", cwd=repo / "src").stdout)["findings"]
    assert [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"],
             r["partialFingerprints"][FINGERPRINT_KEY]) for r in run["results"]] == [
        (f["rule"], f["severity"], {"startLine": f["line"], "startColumn": f["column"], "endLine": f["end_line"],
                                    "endColumn": f["end_column"]}, f["fingerprint"]) for f in findings]
    text = path.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and "file:" not in text  # no absolute path leaks


def test_empty_log_has_an_empty_results_array(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"clean.py": CLEAN})
    code, doc, path = sarif_cli(repo, "clean.py")
    assert code == 0
    validate(path)
    run = doc["runs"][0]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["tool"]["driver"]["rules"]) == len(load_catalog())


def test_tool_errors_are_notifications_never_results(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"pkg/bad.py": BAD, "pkg/broken.py": "import numpy as np\ndef f(:\n",
                 "pkg/latin.py": b"import numpy as np\nx = '\xe9'\n"})
    code, doc, path = sarif_cli(repo / "pkg", ".", "missing.py")
    assert code == 2
    validate(path)
    check_results(doc)
    run = doc["runs"][0]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {
        "pkg/bad.py"}
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error"] * 3
    assert [n["locations"][0]["physicalLocation"]["artifactLocation"] for n in notes] == [
        {"uri": f"pkg/{name}", "uriBaseId": "%SRCROOT%"} for name in ("broken.py", "latin.py", "missing.py")]
    assert notes[0]["message"]["text"].startswith("pkg/broken.py: syntax error at line 2")
    assert notes[2]["message"]["text"] == "pkg/missing.py: no such file or directory."


def _unknown_rule() -> str:
    """An MSL6xx id without a catalogue page, whatever the catalogue holds when this runs."""
    catalog = load_catalog()
    return next(rid for rid in (f"MSL6{n:02d}" for n in range(99, 0, -1)) if rid not in catalog)


def _data_findings(rule: str) -> list[Finding]:
    on_table = Finding(
        rule=rule, severity="warning",
        message="12 rows of data/train set.parquet are duplicated with different labels; deduplicate them",
        path="data/train set.parquet", line=1, column=1, end_line=1, end_column=1,
        evidence={"dataset": "data/train set.parquet", "columns": ["b", "a"], "duplicates": 12},
    )
    on_loader = Finding(
        rule=rule, severity="error",
        message="The design matrix loaded here has condition number inf; drop one dummy per one-hot group.",
        path="pipeline.py", line=4, column=6, end_line=4, end_column=40,
        evidence={"dataset": "data/train set.parquet", "columns": ["x"], "condition_number": float("inf"),
                  "max_abs_weight": 1.5e15, "shape": (300, 2)},
        confirmation=Confirmation("confirmed", "ols-conditioning", {"max_abs_w": float("nan"), "overflow": True},
                                  "pinv in float32 gives weights of 1e15; exp(X @ w) overflows."),
        fingerprint="0123456789abcdef0123456789abcdef",
    )
    return [on_table, on_loader]


def test_data_only_log(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"data/train set.parquet": b"PAR1", "pipeline.py": "import pandas as pd\n\n\ndf = pd.read_parquet("
                 "'data/train set.parquet')\n"})
    rule = _unknown_rule()
    doc, path = render_to(Report(findings=_data_findings(rule), notes=["no target given: label checks skipped"]),
                          repo, "data.sarif")
    validate(path)
    check_results(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # A rule without a catalogue page still gets a descriptor, after the catalogue's rules.
    assert [r["id"] for r in rules] == [*load_catalog(), rule]
    assert rules[-1]["defaultConfiguration"] == {"level": "warning"}
    on_table, on_loader = run["results"]  # sorted by path
    loc = on_table["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "data/train%20set.parquet"
    assert loc["region"]["startLine"] == 1
    # Without a fingerprint of its own, a data finding gets dataset + rule + columns (in any order).
    assert on_table["partialFingerprints"][FINGERPRINT_KEY] == data_fingerprint(
        rule, "data/train set.parquet", ["a", "b"])
    loc = on_loader["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "pipeline.py"
    assert loc["region"] == {"startLine": 4, "startColumn": 6, "endLine": 4, "endColumn": 40}
    assert on_loader["partialFingerprints"][FINGERPRINT_KEY] == "0123456789abcdef0123456789abcdef"
    # Evidence and confirmation travel under properties; non-finite figures as strings (JSON has no inf).
    assert on_loader["properties"] == {
        "evidence": {"dataset": "data/train set.parquet", "columns": ["x"], "condition_number": "inf",
                     "max_abs_weight": 1.5e15, "shape": [300, 2]},
        "confirmation": {"status": "confirmed", "experiment": "ols-conditioning",
                         "figures": {"max_abs_w": "nan", "overflow": True},
                         "summary": "pinv in float32 gives weights of 1e15; exp(X @ w) overflows."},
    }
    assert on_table["message"]["text"].endswith("deduplicate them.")
    assert run["invocations"][0] == {"executionSuccessful": True, "toolExecutionNotifications": [
        {"message": {"text": "no target given: label checks skipped."}, "level": "note"}]}


def test_mixed_log_with_code_data_and_tool_errors(tmp_path: Path, checker: Any) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"src/m.py": BAD, "data/train set.parquet": b"PAR1", "pipeline.py": "\n" * 10,
                 "data/broken.csv": "a,b\n1\n"})
    report = checker.check_source(BAD, "src/m.py")
    assert report.findings and not report.errors
    report.findings.extend(_data_findings(_unknown_rule()))
    report.errors.append(ToolError("data/broken.csv", "cannot read table: expected 2 fields in line 2, saw 1"))
    doc, path = render_to(report, repo, "mixed.sarif")
    validate(path)
    check_results(doc)
    run = doc["runs"][0]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]] == [
        "data/train%20set.parquet", "pipeline.py", "src/m.py", "src/m.py"]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert run["invocations"][0]["toolExecutionNotifications"] == [{
        "message": {"text": "data/broken.csv: cannot read table: expected 2 fields in line 2, saw 1."},
        "level": "error",
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "data/broken.csv",
                                                                 "uriBaseId": "%SRCROOT%"}}}],
    }]


DUPLICATED_TABLE = "a,b,y\n1,2,0\n1,2,1\n1,2,0\n3,4,1\n"


def test_data_logs_from_the_command_line(tmp_path: Path) -> None:
    """Real data findings (the auditor's), alone and with code; a table that cannot be read."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"data/dup.csv": DUPLICATED_TABLE, "data/bad.parquet": b"PAR1garbagePAR1",
                 "src/load.py": "import pandas as pd\n\ndf = pd.read_csv('../data/dup.csv')\n", "src/m.py": BAD})
    # Data only, from `audit`: on the table's own path, line 1.
    out = run_cli("audit", "data/dup.csv", "--target", "y", "--format", "sarif", "--output", "audit.sarif",
                  "--category", "data", cwd=repo)
    assert out.returncode == 1, out.stderr
    audit_path = repo / "audit.sarif"
    audit_doc = json.loads(audit_path.read_text(encoding="utf-8"))
    # Code and data together, from `check --data` run in a subdirectory: the data findings move to
    # the line that loads the table; the unreadable table is a notification.
    out = run_cli("check", "--select", "MSL", ".", "--data", "../data/dup.csv", "--data", "../data/bad.parquet", "--target", "y",
                  "--format", "sarif", "--output", "../mixed.sarif", cwd=repo / "src")
    assert out.returncode == 2, out.stderr
    mixed_path = repo / "mixed.sarif"
    mixed_doc = json.loads(mixed_path.read_text(encoding="utf-8"))
    validate(audit_path, mixed_path)
    for doc in (audit_doc, mixed_doc):
        check_results(doc)
    run = audit_doc["runs"][0]
    assert run["automationDetails"] == {"id": "data/"}
    assert run["results"] and all(r["ruleId"].startswith("MSL6") for r in run["results"])
    for r in run["results"]:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "data/dup.csv" and loc["region"]["startLine"] == 1
    run = mixed_doc["runs"][0]
    data_results = [r for r in run["results"] if r["ruleId"].startswith("MSL6")]
    assert {r["ruleId"] for r in data_results} == {r["ruleId"] for r in audit_doc["runs"][0]["results"]}
    for r in data_results:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "src/load.py" and loc["region"]["startLine"] == 3
    assert {r["ruleId"] for r in run["results"]} > {r["ruleId"] for r in data_results}  # code findings too
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (error,) = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert error["message"]["text"].startswith("data/bad.parquet: cannot read")
    assert error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "data/bad.parquet"


def test_level_is_written_even_when_it_equals_the_schema_default(tmp_path: Path) -> None:
    """sarif-om's default level is "warning", and a serialiser that drops defaults drops it: a warning
    under an error-default rule would then be uploaded as an error (SARIF: a missing level means the
    rule's default configuration)."""
    assert attr.fields(sarif_om.Result).level.default == "warning"
    assert attr.fields(sarif_om.ReportingConfiguration).level.default == "warning"
    catalog = load_catalog()
    by_severity = {doc.severity: rid for rid, doc in reversed(catalog.items())}
    assert {"error", "warning"} <= set(by_severity), "the catalogue has error and warning rules"
    findings = [
        Finding(rule, severity, f"Forced {severity} under a {catalog[rule].severity} rule.", "m.py", i + 1, 1, i + 1, 2)
        for i, (rule, severity) in enumerate(
            (rule, severity) for default, rule in sorted(by_severity.items())
            for severity in ("error", "warning", "note") if severity != default)
    ]
    write(tmp_path, {"m.py": "x = 1\n" * len(findings)})
    doc, path = render_to(Report(findings=findings), tmp_path, "levels.sarif")
    validate(path)
    results = doc["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [(f.rule, f.severity) for f in findings]
    assert any(r["level"] == "warning" for r in results)
    for rule in doc["runs"][0]["tool"]["driver"]["rules"]:
        assert rule["defaultConfiguration"] == {"level": catalog[rule["id"]].severity}


def test_rule_metadata_follows_the_catalogue(tmp_path: Path) -> None:
    doc, path = render_to(Report(), tmp_path, "rules.sarif")
    validate(path)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    catalog = load_catalog()
    assert [r["id"] for r in rules] == sorted(catalog)
    for rule in rules:
        page = catalog[rule["id"]]
        assert rule["name"] == page.name
        for key in ("shortDescription", "fullDescription"):
            assert 0 < len(rule[key]["text"]) <= MAX_DESCRIPTION
        assert "`" not in rule["shortDescription"]["text"]  # plain text; the Markdown goes to .markdown
        assert rule["help"]["text"] and rule["help"]["markdown"] == page.markdown
        props = rule["properties"]
        assert set(props) == {"tags", "precision", "problem.severity"}  # no security-severity
        assert props["tags"] == list(page.tags) and len(props["tags"]) <= 20
        # The mapping documented in docs/github.md.
        data_rule = rule["id"].startswith("MSL6") and not page.confirmed_by
        assert props["precision"] == ({"error": "high", "warning": "medium", "note": "low"}[page.severity]
                                      if data_rule else "high")
        assert props["problem.severity"] == {"error": "error", "warning": "warning",
                                             "note": "recommendation"}[page.severity]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert INFORMATION_URI == project["urls"]["Homepage"]


def test_long_descriptions_are_clipped_at_a_word() -> None:
    text = "word " * 400
    clipped = _clip(text)
    assert len(clipped) <= MAX_DESCRIPTION and clipped.endswith("word…")
    assert _clip("short") == "short"


def test_output_is_byte_identical_across_runs_and_jobs(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    for i in range(24):
        write(repo, {f"pkg{i % 4}/m{i}.py": BAD if i % 3 else CLEAN + BAD.replace("x", f"x{i}")})
    outputs = set()
    for jobs, name in (("1", "a.sarif"), ("2", "b.sarif"), ("2", "c.sarif")):
        code, doc, path = sarif_cli(repo, "--jobs", jobs, ".", output=name)
        assert code == 1 and len(doc["runs"][0]["results"]) == 40
        outputs.add(path.read_bytes())
    assert len(outputs) == 1
    validate(repo / "a.sarif")


def test_fingerprints_survive_lines_inserted_above(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"m.py": BAD})
    _, before, before_path = sarif_cli(repo, "m.py", output="before.sarif")
    write(repo, {"m.py": "# a new header\n\nimport os\n" + BAD})
    _, after, after_path = sarif_cli(repo, "m.py", output="after.sarif")
    validate(before_path, after_path)

    def key(doc: dict[str, Any]) -> list[tuple[str, str, int]]:
        return [(r["ruleId"], r["partialFingerprints"][FINGERPRINT_KEY],
                 r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in doc["runs"][0]["results"]]

    assert [(rule, fp, line + 3) for rule, fp, line in key(before)] == key(after)


@pytest.mark.parametrize("given,expected", [("mlstablint-data", "mlstablint-data/"), ("ci/code/", "ci/code/")])
def test_category(tmp_path: Path, given: str, expected: str) -> None:
    write(tmp_path, {"m.py": BAD})
    _, doc, path = sarif_cli(tmp_path, "--category", given, "m.py")
    assert doc["runs"][0]["automationDetails"] == {"id": expected}
    validate(path)


def test_outside_a_git_repository_uris_are_relative_to_the_current_directory(tmp_path: Path) -> None:
    if subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True).returncode == 0:
        pytest.skip("the temporary folder lies inside a git work tree")
    write(tmp_path, {"proj/a b/m.py": BAD})
    _, doc, path = sarif_cli(tmp_path / "proj", ".")
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]} == {
        "a%20b/m.py"}
    validate(path)


def test_findings_outside_the_repository_become_a_notification(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(tmp_path, {"elsewhere/m.py": BAD, "repo/m.py": BAD})
    code, doc, path = sarif_cli(repo, "m.py", "../elsewhere/m.py")
    assert code == 1
    validate(path)
    run = doc["runs"][0]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]} == {"m.py"}
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and note["message"]["text"].startswith(
        "../elsewhere/m.py lies outside the repository root, so its 2 finding(s) are not in this SARIF log")


def test_notebook_cells_go_under_properties(tmp_path: Path) -> None:
    finding = Finding("MSL101", "warning", "Use log1p.", "nb.ipynb", 14, 9, 14, 22, cell=2, cell_line=3,
                      fingerprint="f" * 32)
    write(tmp_path, {"nb.ipynb": "{}\n" * 20})
    doc, path = render_to(Report(findings=[finding]), tmp_path, "nb.sarif")
    (result,) = doc["runs"][0]["results"]
    assert result["properties"] == {"evidence": {}, "cell": 2, "cellLine": 3}
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 14
    validate(path)
