"""Nothing the user owns is written: every command leaves the input tree exactly as it was (contents,
modes, modification times, symlinks); only the `--output` file and `.mlstablint_cache/` may appear."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

Snapshot = dict[str, tuple[str, int, int, str]]  # path -> (kind, mode, mtime_ns, digest or link target)


def snapshot(root: Path) -> Snapshot:
    out: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                out[rel] = ("link", info.st_mode, 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir", info.st_mode, 0, "")  # a directory's mtime moves when the cache appears
            else:
                out[rel] = ("file", info.st_mode, info.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.mlstablint]\ntarget = "y"\n')
    (root / "src" / "pkg" / "model.py").write_text(
        "import numpy as np\nimport pandas as pd\n\ndf = pd.read_parquet('data/train.parquet')\n"
        "w = np.linalg.inv(X.T @ X) @ X.T @ y\np = np.exp(X @ w) - 1\n")
    (root / "src" / "pkg" / "broken.py").write_text("import numpy as np\ndef f(:\n")
    (root / "src" / "pkg" / "readonly.py").write_text("import numpy as np\ny = np.log(1 + x)\n")
    (root / "src" / "pkg" / "readonly.py").chmod(0o444)
    (root / "src" / "nb.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {},
                                                                  "source": ["import numpy as np\n", "z = np.exp(a) - 1"],
                                                                  "outputs": [], "execution_count": None}],
                                                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    os.symlink("pkg/model.py", root / "src" / "alias.py")
    (root / "data").mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    frame = pd.DataFrame({"x": np.r_[x, x[:5]], "big": np.r_[x, x[:5]] * 1e9, "y": np.r_[x > 0, ~(x[:5] > 0)]})
    frame.to_parquet(root / "data" / "train.parquet")
    frame.iloc[:30].to_csv(root / "data" / "test.csv", index=False)
    return root


COMMANDS: list[list[str]] = [
    *[["check", "src", "--format", fmt] for fmt in ("text", "json", "sarif", "github")],
    ["check", "src", "--no-cache", "--jobs", "2"],
    ["check", "src", "--data", "data/train.parquet", "--test-data", "data/test.csv", "--sweep-budget", "5"],
    *[["audit", "data/train.parquet", "--format", fmt, "--sweep-budget", "5"] for fmt in ("text", "json", "sarif")],
    ["audit", "data", "--no-confirm", "--batch-size", "7"],
    ["sweep", "--epochs", "20"],
    ["sweep", "--epochs", "20", "--data", "data/train.parquet", "--target", "y", "--format", "json"],
    ["rules"],
    ["rule", "MSL201"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_command_changes_nothing_in_the_tree(project: Path, command: list[str]) -> None:
    before = snapshot(project)
    out = run_cli(*command, cwd=project)
    assert out.returncode in (0, 1, 2) and "Traceback" not in out.stderr, out.stderr
    after = snapshot(project)
    for path, entry in before.items():
        assert after.get(path) == entry, f"{' '.join(command)} changed {path}"
    created = sorted(set(after) - set(before))
    assert all(p == ".mlstablint_cache" or p.startswith(".mlstablint_cache/") for p in created), created
    if created:
        assert (project / ".mlstablint_cache" / ".gitignore").read_text().splitlines()[-1] == "*"


@pytest.mark.parametrize("command", [["check", "src", "--format", "sarif", "--no-cache"],
                                     ["audit", "data/train.parquet", "--format", "json"],
                                     ["sweep", "--epochs", "20", "--format", "json"]])
def test_output_is_the_only_file_written(project: Path, command: list[str]) -> None:
    before = snapshot(project)
    out = run_cli(*command, "--output", "report.out", cwd=project)
    assert out.returncode in (0, 1, 2) and out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    after = snapshot(project)
    assert set(after) - set(before) == {"report.out"}
    assert all(after[p] == before[p] for p in before)
    assert (project / "report.out").stat().st_size > 0
