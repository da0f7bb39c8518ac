"""The pre-commit hooks, tested with pre-commit itself: a temporary git repository's
.pre-commit-config.yaml points at a git copy of this checkout; pre-commit installs it into a fresh
hook environment (from PyPI, like a user's first run) and runs the hooks on the repository's files.
Slow: the hook environment is built once per module (`try-repo` would build it on every call)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_cli import BAD, CLEAN, write
from tests.test_sarif import git_init

HOOKS = ROOT / ".pre-commit-hooks.yaml"
GIT_IDENTITY = ["-c", "user.name=mlstablint tests", "-c", "user.email=tests@mlstablint.invalid",
                "-c", "commit.gpgsign=false"]
# What a pip install of the project needs (pyproject's wheel target), plus the hook manifest.
PACKAGE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "mlstablint", "rules")


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1800)


def test_manifest_is_valid(tmp_path: Path) -> None:
    out = pre_commit("validate-manifest", str(HOOKS), cwd=tmp_path, home=tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr


def test_hook_definitions() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert set(hooks) == {"mlstablint", "mlstablint-fix", "mlstablint-data"}
    code, data, fix = hooks["mlstablint"], hooks["mlstablint-data"], hooks["mlstablint-fix"]
    assert fix["entry"] == "mlstablint check --fix" and fix["types_or"] == code["types_or"]
    assert code["entry"] == "mlstablint check" and code["language"] == "python"
    assert code["types_or"] == ["python", "jupyter"] and code["require_serial"] is True
    assert code.get("pass_filenames", True) is True
    assert data["entry"] == "mlstablint audit" and data["language"] == "python"
    assert data["pass_filenames"] is False


def test_docs_example_config_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "github.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("repos:")]
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(block, encoding="utf-8")
    out = pre_commit("validate-config", str(config), cwd=tmp_path, home=tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr
    ids = {h["id"] for repo in yaml.safe_load(block)["repos"] for h in repo["hooks"]}
    assert ids == {h["id"] for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's package files committed to a temporary git repository, and the commit: the
    checkout's own HEAD need not hold the working tree's files."""
    repo = git_init(tmp_path_factory.mktemp("hook-repo") / "mlstablint")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")
    for name in PACKAGE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", *GIT_IDENTITY, "commit", "-q", "-m", "mlstablint"], cwd=repo, check=True,
                   capture_output=True)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True)
    return repo, rev.stdout.strip()


def project(path: Path, hook_repo: tuple[Path, str], files: dict[str, str]) -> Path:
    """A user's repository whose pre-commit configuration uses both hooks of `hook_repo`."""
    repo = git_init(path)
    url, rev = hook_repo
    config = {"repos": [{"repo": str(url), "rev": rev, "hooks": [
        {"id": "mlstablint"}, {"id": "mlstablint-fix", "args": ["--unsafe-fixes"]}, {"id": "mlstablint-data"}]}]}
    write(repo, {".pre-commit-config.yaml": yaml.safe_dump(config), **files})
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture()
def user_repo(tmp_path: Path, hook_repo: tuple[Path, str]) -> Path:
    return project(tmp_path / "project", hook_repo, {
        "src/bad.py": BAD, "src/clean.py": CLEAN, "src/broken.py": "import numpy as np\ndef f(:\n",
        "README.md": "not python\n",
        # BAD's rules (MSL101, MSL102) are opt-in: the project selects them as a user would.
        "pyproject.toml": '[tool.mlstablint]\nselect = ["MSL"]\n'})


def test_code_hook_fails_on_a_finding_and_shows_it(pre_commit_home: Path, user_repo: Path) -> None:
    out = pre_commit("run", "mlstablint", "--files", "src/bad.py", "src/clean.py", "README.md",
                     cwd=user_repo, home=pre_commit_home)
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"^mlstablint\.+Failed$", out.stdout, re.M), out.stdout
    assert "- exit code: 1" in out.stdout
    assert "src/bad.py:3:5: MSL101 " in out.stdout and "src/bad.py:4:5: MSL102 " in out.stdout
    assert "Found 2 findings (2 warnings) in 2 files checked." in out.stdout  # README.md was not passed


def test_code_hook_passes_on_clean_files(pre_commit_home: Path, user_repo: Path) -> None:
    out = pre_commit("run", "mlstablint", "--files", "src/clean.py", "README.md", cwd=user_repo,
                     home=pre_commit_home)
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"^mlstablint\.+Passed$", out.stdout, re.M), out.stdout


def test_code_hook_fails_on_a_tool_error(pre_commit_home: Path, user_repo: Path) -> None:
    out = pre_commit("run", "mlstablint", "--files", "src/broken.py", cwd=user_repo, home=pre_commit_home)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "- exit code: 2" in out.stdout
    assert "mlstablint: error: src/broken.py: syntax error at line 2" in out.stdout
    assert "Traceback" not in out.stdout


def test_fix_hook_rewrites_the_file_and_fails_the_commit(pre_commit_home: Path, user_repo: Path) -> None:
    out = pre_commit("run", "mlstablint-fix", "--files", "src/bad.py", "src/clean.py", cwd=user_repo,
                     home=pre_commit_home)
    assert out.returncode == 1, out.stdout + out.stderr  # pre-commit fails a hook that changed files
    assert "Fixed 2 findings." in out.stdout and "files were modified by this hook" in out.stdout
    fixed = (user_repo / "src" / "bad.py").read_text(encoding="utf-8")
    assert "np.log1p(" in fixed and "np.expm1(" in fixed
    again = pre_commit("run", "mlstablint-fix", "--files", "src/bad.py", cwd=user_repo, home=pre_commit_home)
    assert again.returncode == 0, again.stdout + again.stderr


CLEAN_TABLE = "a,b,y\n" + "".join(f"{i * 37 % 101 / 10},{i * 53 % 97 / 7:.4f},{i % 2}\n" for i in range(200))
DUPLICATED_TABLE = "a,b,y\n1,2,0\n1,2,1\n1,2,0\n3,4,1\n"


@pytest.mark.parametrize("table,expected", [(DUPLICATED_TABLE, 1), (CLEAN_TABLE, 0)])
def test_data_hook_reads_the_table_from_the_configuration(hook_repo: tuple[Path, str], pre_commit_home: Path,
                                                          tmp_path: Path, table: str, expected: int) -> None:
    repo = project(tmp_path / "project", hook_repo, {
        "pyproject.toml": '[tool.mlstablint]\ndata = ["data/train.csv"]\ntarget = "y"\n',
        "data/train.csv": table, "src/clean.py": CLEAN})
    out = pre_commit("run", "mlstablint-data", "--all-files", cwd=repo, home=pre_commit_home)
    assert out.returncode == expected, out.stdout + out.stderr
    if expected:
        assert re.search(r"^mlstablint \(data audit\)\.+Failed$", out.stdout, re.M), out.stdout
        assert "data/train.csv:1:1: MSL601 " in out.stdout
    else:
        assert re.search(r"^mlstablint \(data audit\)\.+Passed$", out.stdout, re.M), out.stdout
