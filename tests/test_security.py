"""Security contracts (docs/security.md): user code is never imported or executed, pickles are never
loaded, symlinks are never followed out of the given roots, and no absolute path leaks into any output."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_cli


def _marker_code(marker: Path) -> str:
    # Runs only if the file is imported or executed: it would create `marker`.
    return f"open({str(marker)!r}, 'w').write('ran')\nimport numpy as np\ny = np.exp(x) - 1\n"


class _Payload:
    """Unpickling this calls open(marker, 'w'): the file appears if the pickle is ever loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (self.marker, "w")


def test_user_code_is_never_imported_or_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    project = tmp_path / "project"
    project.mkdir()
    for name in ("evil.py", "conftest.py", "setup.py", "__init__.py", "__main__.py", "sitecustomize.py"):
        (project / name).write_text(_marker_code(marker))
    (project / "nb.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                                             "execution_count": None,
                                                             "source": _marker_code(marker)}],
                                                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [0, 1, 0]}).to_parquet(project / "train.parquet")
    for args in (["check", "--select", "MSL", "."], ["check", "--select", "MSL", ".", "--data", "train.parquet", "--target", "y", "--jobs", "2"],
                 ["audit", "train.parquet", "--target", "y"]):
        out = run_cli(*args, "--format", "json", cwd=project)
        assert out.returncode == 1, out.stderr
        assert not marker.exists(), f"{args} ran user code"
    found = {f["path"] for f in json.loads(run_cli("check", "--select", "MSL", ".", "--format", "json", cwd=project).stdout)["findings"]}
    assert found == {"evil.py", "conftest.py", "setup.py", "__init__.py", "__main__.py", "sitecustomize.py",
                     "nb.ipynb"}


@pytest.mark.parametrize("name", ["model.pkl", "model.joblib", "table.parquet", "table.csv", "parts"])
def test_pickles_are_never_loaded(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(pickle.dumps(_Payload(tmp_path / "probe")))  # the payload works: loading it writes a file
    assert (tmp_path / "probe").exists()
    if name == "parts":
        (tmp_path / "parts").mkdir()
        (tmp_path / "parts" / "part-0.parquet").write_bytes(payload)
    else:
        (tmp_path / name).write_bytes(payload)
    (tmp_path / "good.py").write_text("import numpy as np\n")
    for args in (["audit", name], ["check", "--select", "MSL", "good.py", "--data", name], ["sweep", "--data", name, "--target", "y"]):
        out = run_cli(*args, cwd=tmp_path)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert not marker.exists(), f"{args} loaded the pickle"
        if name != "table.csv":
            assert "refused: pickle-based files" in out.stderr or "parquet" in out.stderr, out.stderr


def test_symlinks_are_not_followed_out_of_the_roots(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("import numpy as np\ny = np.exp(x) - 1\n")
    pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [0, 1, 0]}).to_parquet(outside / "secret.parquet")
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "inside.py").write_text("import numpy as np\nz = np.log(1 + x)\n")
    os.symlink(outside / "secret.py", root / "link.py")
    os.symlink(outside, root / "linked_dir")
    os.symlink(root / "inside.py", root / "alias.py")  # within the root: checked under the link's name
    pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]}).to_parquet(root / "data" / "part-0.parquet")
    os.symlink(outside / "secret.parquet", root / "data" / "part-1.parquet")
    out = run_cli("check", "--select", "MSL", ".", "--format", "json", cwd=root)
    doc = json.loads(out.stdout)
    assert {f["path"] for f in doc["findings"]} == {"inside.py", "alias.py"}
    assert doc["errors"] == []
    out = run_cli("audit", "data", "--target", "y", "--format", "json", "--no-confirm", cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr  # the linked part (duplicates, conflicts) is not read


def test_no_absolute_path_in_any_output(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "a.py").write_text("import numpy as np\nimport pandas as pd\n"
                                          "df = pd.read_parquet('train.parquet')\ny = np.exp(x) - 1\n")
    (project / "src" / "bad.py").write_text("def f(:\n")
    pd.DataFrame({"x": [1.0, 1.0, 2.0, 5.0], "big": [1e9, 1e9, 3e9, 1.0], "y": [0, 1, 0, 1]}).to_parquet(
        project / "train.parquet")
    given = [str(project / "src"), str(project / "missing.py")]  # absolute arguments, on purpose
    home = str(Path.home())
    for fmt in ("text", "json", "sarif", "github"):
        for args in (["check", "--select", "MSL", *given, "--data", str(project / "train.parquet"), "--target", "y"],
                     ["audit", str(project / "train.parquet"), str(project / "nope.csv"), "--target", "y"]):
            out = run_cli(*args, "--format", fmt, "--sweep-budget", "3", cwd=project)
            assert out.returncode == 2, out.stderr
            for text in (out.stdout, out.stderr):
                assert str(tmp_path) not in text and home + "/" not in text, (fmt, args, text[:2000])
