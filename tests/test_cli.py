"""The command line as users and CI see it: exit codes, formats, configuration, suppression,
errors that name the input, determinism across --jobs, and a lean start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

BAD = "import numpy as np\n\ny = np.log(1 + x)\nz = np.exp(x) - 1\n"
# MSL101 and MSL102 are opt-in (outside the default set): the tests of the command line select them.
OPT_IN = ("--select", "MSL1")
CLEAN = "import numpy as np\n\ny = np.log1p(x)\n"


def write(tmp: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return tmp


def test_exit_codes(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD, "clean.py": CLEAN})
    assert run_cli("check", "clean.py", cwd=tmp_path).returncode == 0
    assert run_cli("check", *OPT_IN, "bad.py", cwd=tmp_path).returncode == 1
    assert run_cli("check", "bad.py", cwd=tmp_path).returncode == 0  # the default set: no finding
    assert run_cli("check", "--format", "yaml", "bad.py", cwd=tmp_path).returncode == 2
    assert run_cli("check", "--select", "NOPE", "bad.py", cwd=tmp_path).returncode == 2


def test_text_output_has_ruff_shape(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/bad.py": BAD})
    out = run_cli("check", *OPT_IN, ".", cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("pkg/bad.py:3:5: MSL101 ")
    assert lines[1].startswith("pkg/bad.py:4:5: MSL102 ")
    assert lines[-2] == "Found 2 findings (2 warnings) in 1 file checked."
    # Both have unsafe fixes (log1p, expm1), which ruff's way hides unless asked for.
    assert lines[-1] == "No fixes available: 2 hidden fixes can be enabled with the `--unsafe-fixes` option."
    assert "\033[" not in out.stdout  # no colour when not a TTY


def test_json_document(tmp_path: Path) -> None:
    write(tmp_path, {"b.py": BAD, "a.py": BAD, "broken.py": "def f(:\n", "latin.py": b"x = '\xe9'\n"})
    out = run_cli("check", *OPT_IN, "--format", "json", ".", cwd=tmp_path)
    assert out.returncode == 2  # tool errors win over findings
    doc = json.loads(out.stdout)
    assert set(doc) == {"version", "findings", "errors"}
    keys = ["rule", "severity", "message", "path", "line", "column", "end_line", "end_column", "evidence",
            "confirmation", "fingerprint", "fix"]
    assert all(list(f) == keys for f in doc["findings"])
    assert [(f["path"], f["line"], f["rule"]) for f in doc["findings"]] == [
        ("a.py", 3, "MSL101"), ("a.py", 4, "MSL102"), ("b.py", 3, "MSL101"), ("b.py", 4, "MSL102")]
    assert all(f["confirmation"] is None and len(f["fingerprint"]) == 32 for f in doc["findings"])
    assert [e["path"] for e in doc["errors"]] == ["broken.py", "latin.py"]
    assert "syntax error at line 1" in doc["errors"][0]["message"]
    assert "utf-8" in doc["errors"][1]["message"]
    # Each error is one line on stderr naming the file; never a traceback.
    assert "Traceback" not in out.stderr
    assert sorted(out.stderr.splitlines()) == sorted(
        f"mlstablint: error: {e['path']}: {e['message']}" for e in doc["errors"])


def test_output_file_and_missing_path(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD})
    out = run_cli("check", *OPT_IN, "bad.py", "missing.py", "--format", "json", "--output", "report.json", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["errors"] == [{"path": "missing.py", "message": "no such file or directory"}]
    assert len(doc["findings"]) == 2


def test_select_ignore_and_prefixes(tmp_path: Path) -> None:
    write(tmp_path, {"bad.py": BAD})

    def rules(*args: str) -> list[str]:
        out = run_cli("check", "--format", "json", *args, "bad.py", cwd=tmp_path)
        return [f["rule"] for f in json.loads(out.stdout)["findings"]]

    assert rules("--select", "MSL101") == ["MSL101"]
    assert rules("--ignore", "MSL1") == []
    assert rules("--select", "MSL1", "--ignore", "MSL102") == ["MSL101"]
    assert rules("--select", "MSL102,msl101") == ["MSL101", "MSL102"]


def test_pyproject_configuration_and_cli_override(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": textwrap.dedent("""
            [tool.mlstablint]
            select = ["MSL1"]
            ignore = ["MSL102"]
            exclude = ["generated"]
            per-file-ignores = { "tests/*" = ["MSL1"] }
        """),
        "src/bad.py": BAD, "tests/test_bad.py": BAD, "generated/bad.py": BAD,
    })
    out = run_cli("check", "--format", "json", ".", cwd=tmp_path / "src")
    # Run from a subdirectory: the nearest pyproject.toml above still applies.
    assert [(f["path"], f["rule"]) for f in json.loads(out.stdout)["findings"]] == [("bad.py", "MSL101")]
    out = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    assert [(f["path"], f["rule"]) for f in json.loads(out.stdout)["findings"]] == [("src/bad.py", "MSL101")]
    out = run_cli("check", "--format", "json", "--ignore", "MSL201", ".", cwd=tmp_path)
    assert [(f["path"], f["rule"]) for f in json.loads(out.stdout)["findings"]] == [
        ("src/bad.py", "MSL101"), ("src/bad.py", "MSL102")]


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.mlstablint]\nselet = ['MSL1']\n", "bad.py": BAD})
    out = run_cli("check", "bad.py", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("unknown [tool.mlstablint] key(s): selet")
    assert len(out.stderr.strip().splitlines()) == 1
    write(tmp_path, {"pyproject.toml": "[tool.mlstablint\n"})
    out = run_cli("check", "bad.py", cwd=tmp_path)
    assert out.returncode == 2 and "cannot read configuration" in out.stderr and "Traceback" not in out.stderr


def test_explicit_config_file(tmp_path: Path) -> None:
    write(tmp_path, {"lint.toml": "[tool.mlstablint]\nselect = ['MSL102']\n", "bad.py": BAD})
    out = run_cli("check", "--config", "lint.toml", "--format", "json", "bad.py", cwd=tmp_path)
    assert [f["rule"] for f in json.loads(out.stdout)["findings"]] == ["MSL102"]


def test_noqa_and_ignore_comments(tmp_path: Path) -> None:
    write(tmp_path, {"s.py": textwrap.dedent("""
        import numpy as np
        a = np.log(1 + x)  # noqa: MSL101
        b = np.log(1 + x)  # noqa: E501, MSL101
        c = np.log(1 + x)  # mlstablint: ignore[MSL101]
        d = np.log(1 + x)  # noqa
        e = np.log(1 + x)  # noqa: MSL102
        f = np.log(1 + x)  # mlstablint: ignore[MSL102, MSL113]
    """)})
    out = run_cli("check", *OPT_IN, "--format", "json", "s.py", cwd=tmp_path)
    assert [f["line"] for f in json.loads(out.stdout)["findings"]] == [7, 8]


def test_directory_walk_skips_environments_and_caches(tmp_path: Path) -> None:
    files = {f"{d}/bad.py": BAD for d in (".git", ".venv", "build", "dist", "__pycache__", ".tox", "node_modules")}
    files.update({"myenv/pyvenv.cfg": "home = /usr\n", "myenv/lib/bad.py": BAD, "src/bad.py": BAD})
    write(tmp_path, files)
    out = run_cli("check", *OPT_IN, "--format", "json", ".", cwd=tmp_path)
    assert {f["path"] for f in json.loads(out.stdout)["findings"]} == {"src/bad.py"}


def test_jobs_do_not_change_the_output(tmp_path: Path) -> None:
    for i in range(40):
        write(tmp_path, {f"pkg{i % 5}/m{i}.py": BAD if i % 3 else CLEAN + BAD.replace("+ x", f"+ v{i}")})
    outputs = {run_cli("check", *OPT_IN, "--format", "json", "--jobs", str(j), ".", cwd=tmp_path).stdout
               for j in (1, 2, 4)}
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())["findings"]) == 80


def test_fingerprints_survive_unrelated_lines_moving(tmp_path: Path) -> None:
    write(tmp_path, {"m.py": BAD})
    before = json.loads(run_cli("check", *OPT_IN, "--format", "json", "m.py", cwd=tmp_path).stdout)["findings"]
    write(tmp_path, {"m.py": "# a new header comment\n\n\n" + BAD})
    after = json.loads(run_cli("check", *OPT_IN, "--format", "json", "m.py", cwd=tmp_path).stdout)["findings"]
    assert before
    assert [f["line"] + 3 for f in before] == [f["line"] for f in after]
    assert [f["fingerprint"] for f in before] == [f["fingerprint"] for f in after]


def test_fingerprints_do_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.mlstablint]\nselect = [\"MSL1\"]\n", "src/m.py": BAD})
    from_root = json.loads(run_cli("check", "--format", "json", "src", cwd=tmp_path).stdout)["findings"]
    from_src = json.loads(run_cli("check", "--format", "json", ".", cwd=tmp_path / "src").stdout)["findings"]
    assert [f["path"] for f in from_root] == ["src/m.py"] * 2 and [f["path"] for f in from_src] == ["m.py"] * 2
    assert [f["fingerprint"] for f in from_root] == [f["fingerprint"] for f in from_src]


def test_rules_and_rule_commands() -> None:
    out = run_cli("rules")
    assert out.returncode == 0
    ids = [line.split()[0] for line in out.stdout.splitlines()]
    assert ids[:2] == ["MSL101", "MSL102"] and "MSL205" in ids
    page = run_cli("rule", "msl109")
    assert page.returncode == 0 and page.stdout.startswith("# MSL109 unguarded-exp")
    assert "## Example" in page.stdout and "## Use instead" in page.stdout
    missing = run_cli("rule", "MSL999")
    assert missing.returncode == 2 and missing.stderr.strip() == (
        "mlstablint: error: unknown rule 'MSL999' (see `mlstablint rules`)")


def test_code_path_does_not_import_heavy_libraries(tmp_path: Path) -> None:
    """pre-commit runs `check` on every commit: pandas/scipy/sklearn must not load on the code path."""
    write(tmp_path, {"bad.py": BAD})
    probe = (
        "import sys\nfrom mlstablint.cli import app\n"
        "try:\n    app(['check', '--select', 'MSL1', 'bad.py'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('pandas', 'scipy', 'sklearn', 'pyarrow', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("folder,selected,expected", [
    ("exploding_infinities", "ALL", {"MSL203"}),  # the default set
    ("exploding_infinities", "MSL", {"MSL109", "MSL202", "MSL203"}),  # with the opt-in rules
    ("stable", "MSL", set()),
])
def test_fixtures(folder: str, selected: str, expected: set[str]) -> None:
    out = run_cli("check", "--format", "json", "--select", selected, f"fixtures/{folder}", cwd=ROOT)
    rules = {f["rule"] for f in json.loads(out.stdout)["findings"]}
    assert expected <= rules
    if not expected:
        assert rules == set() and out.returncode == 0
    else:
        assert out.returncode == 1
