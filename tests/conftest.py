from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlstablint.code.engine import FileChecker
from mlstablint.code.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def checker() -> FileChecker:
    return FileChecker({rule.id for rule in ALL_RULES})


def rules_fired(checker: FileChecker, source: str) -> list[str]:
    report = checker.check_source(source, "snippet.py")
    assert not report.errors, report.errors
    return [f.rule for f in report.findings]


def file_modes_binding() -> list[str]:
    """A command prefix under which file modes stop reads: root bypasses them through the
    CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH capabilities, which setpriv drops (CI runs as root)."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file modes do not stop reading")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a subprocess, as a user (or pre-commit) would."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "mlstablint", *args], cwd=cwd, env=full_env, capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def incident_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the incident fixture (code and data, with confirmation), written once per session by
    the real command line (tests/test_html_*.py; skipped when the html extra is not installed)."""
    for module in ("jinja2", "matplotlib", "markdown_it"):
        pytest.importorskip(module, reason="the html extra is not installed")
    out = tmp_path_factory.mktemp("html") / "incident.html"
    incident = ROOT / "fixtures" / "exploding_infinities"
    # `--select MSL`: the opt-in rules too, so the page shows every rule the incident's code trips.
    result = run_cli("check", "--select", "MSL", str(incident), "--data", str(incident / "train.parquet"), "--target", "y",
                     "--format", "html", "--output", str(out), "--no-cache", cwd=ROOT)
    assert result.returncode == 1, result.stderr
    assert out.is_file() and result.stdout == ""
    return out
