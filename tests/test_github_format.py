"""GitHub integration: `--format github` workflow commands, the composite action (action.yml) and
the example workflow in docs/github.md, checked against GitHub's documented formats and the
schemas SchemaStore publishes for actions and workflows (vendored by check-jsonschema)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlstablint.findings import Confirmation, Finding, Report, ToolError
from mlstablint.report.github import render_github
from tests.conftest import ROOT, run_cli
from tests.sarif_support import validate
from tests.test_cli import BAD, write
from tests.test_sarif import git_init

# GitHub's workflow command: `::LEVEL key=value,key=value::message` (values escaped, see below).
COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")
DOCS = ROOT / "docs" / "github.md"


def parse(line: str) -> tuple[str, dict[str, str], str]:
    m = COMMAND.match(line)
    assert m, line
    props = dict(item.split("=", 1) for item in m.group(2).split(",")) if m.group(2) else {}
    return m.group(1), props, m.group(3)


def unescape(text: str) -> str:
    """The Actions runner's unescaping of workflow-command values."""
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def test_annotations_match_the_findings(tmp_path: Path) -> None:
    repo = git_init(tmp_path / "repo")
    write(repo, {"src/bad.py": BAD})
    out = run_cli("check", "--select", "MSL", "--format", "github", ".", cwd=repo / "src")
    assert out.returncode == 1
    *commands, summary = out.stdout.splitlines()
    findings = json.loads(run_cli("check", "--select", "MSL", "--format", "json", ".", cwd=repo / "src").stdout)["findings"]
    assert len(commands) == len(findings) == 2
    for line, f in zip(commands, findings, strict=True):
        level, props, message = parse(line)
        assert level == "warning"
        # `file` is relative to the repository root (GitHub resolves it against the checkout).
        assert props == {"file": "src/bad.py", "line": str(f["line"]), "col": str(f["column"]),
                         "endLine": str(f["end_line"]), "endColumn": str(f["end_column"]), "title": f["rule"]}
        assert unescape(message) == f["message"]
    assert line.startswith("::warning file=src/bad.py,line=4,col=5,endLine=4,endColumn=")
    assert summary == "mlstablint: 2 findings (2 warnings) in 1 file checked; 0 inputs could not be checked."


def test_escaping_levels_errors_and_notes(tmp_path: Path) -> None:
    findings = [
        Finding("MSL101", "note", "100% sure, really:\nsecond line", "odd,na:me.py", 2, 3, 2, 9),
        Finding("MSL109", "error", "exp overflows.", "m.py", 1, 1, 1, 5,
                confirmation=Confirmation("confirmed", "exp-overflow", {}, "float32 gives inf.")),
    ]
    report = Report(findings=findings, errors=[ToolError("broken.py", "syntax error at line 1, column 7")],
                    notes=["no target given: label checks skipped"], files_checked=3).finalize()
    lines = render_github(report, cwd=tmp_path).splitlines()
    assert lines[0] == "::error file=m.py,line=1,col=1,endLine=1,endColumn=5,title=MSL109::exp overflows.%0A" \
                       "confirmed: float32 gives inf."
    assert lines[1] == ("::notice file=odd%2Cna%3Ame.py,line=2,col=3,endLine=2,endColumn=9,title=MSL101::"
                        "100%25 sure, really:%0Asecond line")
    _, props, message = parse(lines[1])
    assert unescape(props["file"]) == "odd,na:me.py" and unescape(message) == "100% sure, really:\nsecond line"
    assert lines[2] == "::error file=broken.py,title=mlstablint::broken.py: syntax error at line 1, column 7"
    assert lines[3] == "::notice title=mlstablint::no target given: label checks skipped"
    assert lines[4] == "mlstablint: 2 findings (1 error, 1 note) in 3 files checked; 1 input could not be checked."


def test_tool_errors_exit_2_with_github_format(tmp_path: Path) -> None:
    write(tmp_path, {"broken.py": "import numpy as np\ndef f(:\n"})
    out = run_cli("check", "--select", "MSL", "--format", "github", "broken.py", "missing.py", cwd=tmp_path)
    assert out.returncode == 2
    assert [parse(line)[0] for line in out.stdout.splitlines()[:-1]] == ["error", "error"]


# --- action.yml -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return doc


def step(action: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in action["runs"]["steps"] if s.get("name") == name]
    return found


def check_jsonschema(schema: str, path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_action_metadata_is_valid() -> None:
    check_jsonschema("vendor.github-actions", ROOT / "action.yml")


def test_action_runs_check_with_sarif_and_uploads_always(action: dict[str, Any]) -> None:
    assert action["runs"]["using"] == "composite"
    run = step(action, "Run mlstablint")
    assert "--format sarif --output" in run["run"] and "--category" in run["run"]
    # The check step never fails by itself, so that the upload runs; the last step fails afterwards.
    upload = step(action, "Upload SARIF to code scanning")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("always() && inputs.upload == 'true'")
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif-file }}"
    final = step(action, "Report the result")
    assert final["if"].startswith("always()")
    install = step(action, "Install mlstablint")
    assert "${{ github.action_path }}" in str(install["env"])
    # Inputs reach the scripts only through env, never pasted into the script text (no injection).
    for s in action["runs"]["steps"]:
        assert "${{" not in s.get("run", "")


def test_action_uses_only_existing_check_options(action: dict[str, Any]) -> None:
    help_text = run_cli("check", "--help").stdout
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", step(action, "Run mlstablint")["run"]))
    assert {"--format", "--output", "--category", "--data", "--target"} <= used
    assert {opt for opt in used if opt not in help_text} == set()
    assert "sarif" in help_text and "github" in help_text


def _fake_exe(tmp_path: Path, body: str) -> Path:
    exe = tmp_path / "fake-mlstablint"
    exe.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def _run_step(script: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = cwd / "github_output.txt"
    output.write_text("", encoding="utf-8")
    out = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NO_COLOR": "1", "GITHUB_OUTPUT": str(output), **env})
    values = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if line)
    return out, values


ACTION_INPUTS = {"INPUT_PATHS": ".", "INPUT_DATA": "", "INPUT_TARGET": "", "INPUT_ARGS": "",
                 "INPUT_CATEGORY": "mlstablint/", "INPUT_ANNOTATIONS": "false", "SARIF_FILE": "mlstablint.sarif"}


def test_action_check_step_end_to_end(tmp_path: Path, action: dict[str, Any]) -> None:
    """The check step's own script, run by bash as the runner would, with the real mlstablint."""
    repo = git_init(tmp_path / "repo")
    write(repo, {"src/bad.py": BAD})
    exe = _fake_exe(tmp_path, f'exec "{sys.executable}" -m mlstablint "$@"')
    env = {**ACTION_INPUTS, "MLSTABLINT": str(exe), "INPUT_PATHS": "src", "INPUT_ANNOTATIONS": "true",
           "INPUT_CATEGORY": "ci-code", "INPUT_ARGS": "--select MSL"}  # BAD's rules are opt-in
    out, outputs = _run_step(step(action, "Run mlstablint")["run"], repo, env)
    assert out.returncode == 0, out.stderr  # findings do not fail this step
    sarif = Path(outputs["sarif-file"])
    assert outputs["exit-code"] == "1" and outputs["sarif-written"] == "true"
    assert sarif.is_absolute() and sarif == repo / "mlstablint.sarif"
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert doc["runs"][0]["automationDetails"] == {"id": "ci-code/"}
    assert len(doc["runs"][0]["results"]) == 2
    assert out.stdout.startswith("::warning file=src/bad.py,line=3,")  # annotations were asked for
    validate(sarif)


def test_action_check_step_passes_inputs_as_arguments(tmp_path: Path, action: dict[str, Any]) -> None:
    argv = tmp_path / "argv.txt"
    exe = _fake_exe(tmp_path, f'printf "%s\\n" "$@" >> "{argv}"; exit 2')
    env = {**ACTION_INPUTS, "MLSTABLINT": str(exe), "INPUT_PATHS": "src\nlib *.py", "INPUT_DATA": "a.parquet b.csv",
           "INPUT_TARGET": "y", "INPUT_ARGS": "--select MSL1"}
    out, outputs = _run_step(step(action, "Run mlstablint")["run"], tmp_path, env)
    assert out.returncode == 0 and outputs["exit-code"] == "2" and "sarif-written" not in outputs
    assert argv.read_text(encoding="utf-8").splitlines() == [
        "check", "src", "lib", "*.py", "--data", "a.parquet", "--data", "b.csv", "--target", "y",
        "--select", "MSL1", "--format", "sarif", "--output", "mlstablint.sarif", "--category", "mlstablint/"]


@pytest.mark.parametrize("code,fail_on_findings,expected", [
    ("0", "true", 0), ("1", "true", 1), ("1", "false", 0), ("2", "false", 2)])
def test_action_fails_after_the_upload(tmp_path: Path, action: dict[str, Any], code: str, fail_on_findings: str,
                                       expected: int) -> None:
    out, _ = _run_step(step(action, "Report the result")["run"], tmp_path,
                       {"CODE": code, "FAIL_ON_FINDINGS": fail_on_findings})
    assert out.returncode == expected, out.stdout + out.stderr


# --- the example workflow in docs/github.md (the README copies it) ------------------------------

def example_workflow() -> str:
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- example-workflow -->\n```yaml\n(.*?)```\n<!-- /example-workflow -->", text, re.S)
    assert m, "docs/github.md lacks the example workflow block"
    return m.group(1)


def test_example_workflow_is_valid_and_uses_the_action(tmp_path: Path, action: dict[str, Any]) -> None:
    path = tmp_path / "mlstablint.yml"
    path.write_text(example_workflow(), encoding="utf-8")
    check_jsonschema("vendor.github-workflows", path)
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["security-events"] == "write"
    (uses,) = [s for s in job["steps"] if s.get("uses", "").startswith("mlstablint/mlstablint@")]
    assert set(uses["with"]) <= set(action["inputs"])
