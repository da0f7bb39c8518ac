"""Notebooks: code cells linted as one module, IPython syntax masked, locations at the right
cell, line and raw-file line — checked against where the text really is in the .ipynb file."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.sarif_support import validate

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def cell(cell_type: str, source: str, outputs: list[dict[str, object]] | None = None) -> dict[str, object]:
    lines = source.splitlines(keepends=True)
    out: dict[str, object] = {"cell_type": cell_type, "metadata": {}, "source": lines}
    if cell_type == "code":
        out.update(execution_count=None, outputs=outputs or [])
    return out


def notebook(*cells: dict[str, object]) -> str:
    doc = {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
           "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(doc, indent=1) + "\n"  # nbformat's own layout


def raw_line_of(raw: str, text: str) -> int:
    """Where a source line really is in the .ipynb file (the JSON-encoded text, found once)."""
    needle = json.dumps(text)[1:-1]
    hits = [i + 1 for i, line in enumerate(raw.splitlines()) if needle in line]
    assert len(hits) == 1, (text, hits)
    return hits[0]


IMAGE_OUTPUT = {"output_type": "display_data", "metadata": {},
                "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}
STREAM_OUTPUT = {"output_type": "stream", "name": "stdout", "text": ["np.log(1 + x) in an output is not code\n"]}

# `z` is computed (not a literal 1, which the value analysis proves exact), so `log(1 + z)` is a finding.
PIPELINE = notebook(
    cell("markdown", "# Training\nThe model uses `np.log(1 + x)` in prose: not code.\n"),
    cell("code", "import numpy as np\nimport pandas as pd\n%matplotlib inline\n"),
    cell("code", "%%time\ndf = pd.read_parquet('train.parquet')\nX = df.to_numpy()\n"),
    cell("code", "!pip install scipy\nw = np.linalg.pinv(X) @ df['y']\nnp.linalg.pinv?\n"
                 "pred = X @ w\ny_hat = np.exp(pred)\n", [IMAGE_OUTPUT, STREAM_OUTPUT]),
    cell("raw", "np.exp(X @ w)\n"),
    cell("code", "%%bash\necho np.log(1 + x)\n"),
    cell("code", "def oops(:\n    pass\n"),
    cell("code", "loss = np.log(1 + y_hat)  # first line of the cell\nz = y_hat * 1e-9\nlast = np.log(1 + z)\n"),
)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "analysis.ipynb").write_text(PIPELINE, encoding="utf-8")
    return tmp_path


def findings(project: Path, *args: str) -> tuple[int, dict[str, object]]:
    out = run_cli("check", "--select", "MSL", "--format", "json", *args, ".", cwd=project)
    assert "Traceback" not in out.stderr
    return out.returncode, json.loads(out.stdout)


def test_cells_are_one_module_and_locations_are_exact(project: Path) -> None:
    code, doc = findings(project)
    assert code == 2  # the unparsable cell is a tool error; the rest is still checked
    got = [(f["rule"], f["cell"], f["cell_line"], f["line"]) for f in doc["findings"]]  # type: ignore[index]
    raw = PIPELINE
    expected = [
        ("MSL203", 4, 2, raw_line_of(raw, "w = np.linalg.pinv(X) @ df['y']\n")),
        ("MSL109", 4, 5, raw_line_of(raw, "y_hat = np.exp(pred)\n")),
        ("MSL101", 8, 1, raw_line_of(raw, "loss = np.log(1 + y_hat)  # first line of the cell\n")),
        ("MSL101", 8, 3, raw_line_of(raw, "last = np.log(1 + z)")),
    ]
    assert sorted(got, key=lambda g: g[3]) == sorted(expected, key=lambda g: g[3])
    # Columns point into the raw JSON line at the flagged text.
    lines = raw.splitlines()
    for f in doc["findings"]:  # type: ignore[union-attr]
        raw_line = lines[f["line"] - 1]
        flagged = raw_line[f["column"] - 1: f["end_column"] - 1]
        assert flagged.startswith("np.") and flagged.endswith(")"), (raw_line, flagged)
    assert doc["errors"] == [{"path": "analysis.ipynb",
                              "message": "cell 7: syntax error at line 1: invalid syntax; the other cells are still checked"}]


def test_text_output_names_cell_and_line(project: Path) -> None:
    out = run_cli("check", "--select", "MSL101", ".", cwd=project)
    assert out.stdout.splitlines()[:2] == [
        "analysis.ipynb:cell 8:line 1:8: MSL101 `np.log(1 + y_hat)` loses precision for small |x| (1 + x rounds to 1 "
        "below 1.1e-16 in float64); use `np.log1p(y_hat)`.",
        "analysis.ipynb:cell 8:line 3:8: MSL101 `np.log(1 + z)` loses precision for small |x| (1 + x rounds to 1 "
        "below 1.1e-16 in float64); use `np.log1p(z)`.",
    ]
    assert "cell 7: syntax error" in out.stderr


def test_suppression_and_per_file_ignores_in_notebooks(tmp_path: Path) -> None:
    nb = notebook(cell("code", "import numpy as np\na = np.log(1 + x)  # noqa: MSL101\nb = np.exp(x) - 1\n"))
    (tmp_path / "nb.ipynb").write_text(nb, encoding="utf-8")
    _, doc = findings(tmp_path)
    assert [f["rule"] for f in doc["findings"]] == ["MSL102"]  # type: ignore[index]
    (tmp_path / "pyproject.toml").write_text('[tool.mlstablint]\nper-file-ignores = { "*.ipynb" = ["MSL102"] }\n')
    code, doc = findings(tmp_path)
    assert code == 0 and doc["findings"] == []


def test_empty_and_markdown_only_notebooks_are_clean(tmp_path: Path) -> None:
    (tmp_path / "empty.ipynb").write_text(notebook(), encoding="utf-8")
    (tmp_path / "prose.ipynb").write_text(notebook(cell("markdown", "np.log(1 + x)\n")), encoding="utf-8")
    code, doc = findings(tmp_path)
    assert code == 0 and doc == {"version": doc["version"], "findings": [], "errors": []}


def test_one_string_sources_and_crlf(tmp_path: Path) -> None:
    doc = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1,
                      "source": "import numpy as np\r\n\r\ny = np.exp(x) - 1"}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "one.ipynb").write_text(json.dumps(doc), encoding="utf-8")
    _, out = findings(tmp_path)
    (f,) = out["findings"]  # type: ignore[misc]
    assert (f["rule"], f["cell"], f["cell_line"], f["line"]) == ("MSL102", 1, 3, 1)


def test_invalid_notebooks_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (tmp_path / "list.ipynb").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "old.ipynb").write_text('{"worksheets": [], "nbformat": 3}', encoding="utf-8")
    (tmp_path / "ok.py").write_text("import numpy as np\ny = np.log(1 + x)\n", encoding="utf-8")
    out = run_cli("check", "--select", "MSL", "--format", "json", ".", cwd=tmp_path)
    doc = json.loads(out.stdout)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert [e["path"] for e in doc["errors"]] == ["broken.ipynb", "list.ipynb", "old.ipynb"]
    assert "nbformat 3" in doc["errors"][2]["message"]
    assert [f["path"] for f in doc["findings"]] == ["ok.py"]
    assert len(out.stderr.strip().splitlines()) == 3


def test_notebooks_are_never_modified(project: Path) -> None:
    before = hashlib.sha256((project / "analysis.ipynb").read_bytes()).hexdigest()
    for fmt in ("text", "json", "sarif", "github"):
        run_cli("check", "--select", "MSL", "--format", fmt, ".", cwd=project)
    assert hashlib.sha256((project / "analysis.ipynb").read_bytes()).hexdigest() == before
    # Nothing is written beside it but the result cache (which ignores itself in git).
    assert sorted(p.name for p in project.iterdir()) == [".mlstablint_cache", "analysis.ipynb"]


def test_sarif_points_at_the_raw_line_and_names_the_cell(project: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    out = run_cli("check", "--select", "MSL", "--format", "sarif", "--output", "nb.sarif", ".", cwd=project)
    assert out.returncode == 2
    log = json.loads((project / "nb.sarif").read_text())
    results = log["runs"][0]["results"]
    by_line = {r["locations"][0]["physicalLocation"]["region"]["startLine"]: r for r in results}
    last = by_line[raw_line_of(PIPELINE, "last = np.log(1 + z)")]
    assert last["message"]["text"].startswith("Cell 8, line 3: ")
    assert last["properties"]["cell"] == 8 and last["properties"]["cellLine"] == 3
    assert last["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "analysis.ipynb"
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("cell 7" in n["message"]["text"] for n in notes)
    validate(project / "nb.sarif")


def test_data_findings_land_on_the_notebook_cell_that_loads_the_table(tmp_path: Path) -> None:
    """`check --data` places data findings on the line that reads the table, inside the notebook."""
    import pandas as pd

    table = pd.DataFrame({"a": [1.0, 1.0, 2.0, 3.0], "b": [5.0, 5.0, 6.0, 7.0], "y": [0, 1, 0, 1]})
    table.to_parquet(tmp_path / "train.parquet")
    nb = notebook(cell("markdown", "# Load\n"),
                  cell("code", "import pandas as pd\n"),
                  cell("code", 'x = 1\ndf = pd.read_parquet("train.parquet")\n'))
    (tmp_path / "load.ipynb").write_text(nb, encoding="utf-8")
    out = run_cli("check", "--select", "MSL", "--format", "json", "--data", "train.parquet", "--target", "y", "load.ipynb", cwd=tmp_path)
    doc = json.loads(out.stdout)
    dup = [f for f in doc["findings"] if f["rule"] == "MSL601"]
    assert dup, doc
    (f,) = dup
    assert (f["path"], f["cell"], f["cell_line"]) == ("load.ipynb", 3, 2)
    assert f["line"] == raw_line_of(nb, 'df = pd.read_parquet("train.parquet")\n')
    raw_line = nb.splitlines()[f["line"] - 1]
    assert raw_line[f["column"] - 1: f["end_column"] - 1] == '\\"train.parquet\\"'
