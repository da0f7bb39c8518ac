"""Hostile inputs, created here: each gets its own handling, one line naming the input, and the run goes on.

Every case runs with `--debug`, which makes the generic last-resort handler in `cli.main` re-raise: a case
that fell through to it would show a traceback and fail. Each case sits beside a good input whose finding
must still be reported. tests/test_data_robust.py holds more table cases (empty tables, Feather v1, npy...).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import file_modes_binding, run_cli

GOOD_CODE = "import numpy as np\ny = np.exp(x) - 1\n"  # MSL102 at line 2


def _deep_parens(tmp: Path) -> str:
    # CPython's tokenizer refuses 200 open brackets; libcst parses them and then recurses per level.
    (tmp / "parens.py").write_text("import numpy as np\ny = " + "np.exp(x) - (" * 400 + "1" + ")" * 400 + "\n")
    return "parens.py"


def _long_chain(tmp: Path) -> str:
    # 3,000 terms: libcst's native parse took 38 s (2,000 terms 12 s), and cannot be interrupted.
    (tmp / "chain.py").write_text("import numpy as np\ny = " + " + ".join(["np.exp(x) - 1"] * 3000) + "\n")
    return "chain.py"


def _nested_over_limit(tmp: Path) -> str:
    (tmp / "unary.py").write_text("import numpy as np\ny = " + "-" * 600 + "(np.exp(x) - 1)\n")
    return "unary.py"


def _symlink_loop(tmp: Path) -> str:
    os.symlink("loop.py", tmp / "loop.py")
    return "loop.py"


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "pipe.py")  # opening it would block until a writer comes
    return "pipe.py"


def _unreadable(tmp: Path) -> str:
    (tmp / "secret.py").write_text(GOOD_CODE)
    (tmp / "secret.py").chmod(0)
    return "secret.py"


def _unlistable(tmp: Path) -> str:
    (tmp / "locked").mkdir()
    (tmp / "locked" / "a.py").write_text(GOOD_CODE)
    (tmp / "locked").chmod(0)
    return "locked"


def _oversized(tmp: Path) -> str:
    (tmp / "pyproject.toml").write_text("[tool.mlstablint]\nmax-file-size = 1000\n")
    (tmp / "generated.py").write_text("import numpy as np\n" + "x = 1\n" * 500)
    return "generated.py"


def _write(name: str, data: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(data)
        return name

    return make


# name -> (make the input in a folder and return its path argument, text of its one error line)
CODE_CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "non-utf-8 without a cookie": (_write("latin.py", b"import numpy as np\ns = '\xe9t\xe9'\n"),
                                   "not valid utf-8 (UnicodeDecodeError at byte 24)"),
    "wrong coding cookie": (_write("cookie.py", b"# -*- coding: utf-8 -*-\ns = '\xff'\n"), "not valid utf-8"),
    "unknown coding cookie": (_write("klingon.py", b"# coding: klingon\nx = 1\n"), "cannot determine the encoding"),
    "NUL bytes": (_write("nul.py", b"import numpy as np\nx = 1\x00\n"), "source contains NUL bytes"),
    "syntax error": (_write("broken.py", b"import numpy as np\ndef f(:\n"), "syntax error at line 2"),
    "truncated source": (_write("cut.py", GOOD_CODE.encode()[:30]), "syntax error"),  # "... = np.exp("
    "400 nested brackets": (_deep_parens, "too deeply nested for the parser; file skipped"),
    "3,000-term expression": (_long_chain, "too deeply nested for the parser; file skipped"),
    "nesting over max-nesting": (_nested_over_limit, "skipped: syntax nested more than 500 deep (max-nesting)"),
    "symlink loop": (_symlink_loop, "broken or looping symlink; skipped"),
    "FIFO named .py": (_fifo, "not a regular file; skipped"),
    "invalid notebook": (_write("nb.ipynb", b'{"cells": [}'), "not valid notebook JSON"),
    "notebook not UTF-8": (_write("nb16.ipynb", '{"cells": []}'.encode("utf-16")), "not a notebook"),
    "notebook without cells": (_write("nocells.ipynb", b'{"metadata": {}}'), "not a notebook: no 'cells' list"),
    "over max-file-size": (_oversized, "skipped: 3,019 bytes is over max-file-size (1,000 bytes)"),
    "unreadable file": (_unreadable, "cannot read file: Permission denied"),
    "unlistable directory": (_unlistable, "cannot list directory: Permission denied"),
}
NEEDS_PERMISSIONS = {"unreadable file", "unlistable directory"}


def _expect_one_line(out_stderr: str, arg: str, contains: str) -> None:
    assert "Traceback" not in out_stderr, out_stderr
    lines = [line for line in out_stderr.splitlines() if line]
    assert len(lines) == 1, out_stderr
    assert lines[0].startswith(f"mlstablint: error: {arg}"), lines[0]
    assert contains in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(CODE_CASES))
def test_hostile_source_is_one_line_and_the_run_goes_on(tmp_path: Path, case: str) -> None:
    prefix = file_modes_binding() if case in NEEDS_PERMISSIONS else []
    make, walked_message = CODE_CASES[case]
    (tmp_path / "good.py").write_text(GOOD_CODE)
    arg = make(tmp_path)
    try:
        for walked in (False, True):  # given by name, and found by walking the folder
            args = ["."] if walked else [arg, "good.py"]
            out = run_cli("--debug", "check", "--select", "MSL", *args, "--format", "json", "--no-cache", cwd=tmp_path, prefix=prefix)
            assert out.returncode == 2, (out.returncode, out.stderr)
            contains = walked_message
            if not walked and case in ("symlink loop", "FIFO named .py"):
                contains = "not a regular file or directory"
            _expect_one_line(out.stderr, arg, contains)
            doc = json.loads(out.stdout)
            assert [(f["path"], f["rule"], f["line"]) for f in doc["findings"]] == [("good.py", "MSL102", 2)]
            assert [e["path"] for e in doc["errors"]] == [arg]
    finally:
        for path in tmp_path.iterdir():  # let pytest remove what the case locked
            if not path.is_symlink():
                path.chmod(0o755)


def test_bom_crlf_is_read_like_python(tmp_path: Path) -> None:
    (tmp_path / "win.py").write_bytes(b"\xef\xbb\xbfimport numpy as np\r\n\r\ny = np.exp(x) - 1\r\n")
    out = run_cli("--debug", "check", "--select", "MSL", "win.py", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == ""
    [finding] = json.loads(out.stdout)["findings"]
    assert (finding["rule"], finding["line"], finding["column"]) == ("MSL102", 3, 5)


def test_sixty_thousand_lines_and_400_unary_levels_are_checked(tmp_path: Path) -> None:
    body = "".join(f"v{i} = x[{i}] * 2\n" for i in range(60_000))
    (tmp_path / "long.py").write_text("import numpy as np\n" + body + "y = np.exp(x) - 1\n")
    (tmp_path / "deep.py").write_text("import numpy as np\ny = " + "-" * 250 + "(np.exp(x) - 1)\n")
    out = run_cli("--debug", "check", "--select", "MSL", ".", "--format", "json", "--no-cache", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    found = [(f["path"], f["rule"], f["line"]) for f in json.loads(out.stdout)["findings"]]
    assert found == [("deep.py", "MSL102", 2), ("long.py", "MSL102", 60_002)]


def test_hostile_sources_all_at_once_with_jobs(tmp_path: Path) -> None:
    """Every case in one folder, checked by worker processes: each named once, the good file still reported."""
    expected: dict[str, str] = {}
    for case, (make, contains) in CODE_CASES.items():
        if case == "over max-file-size":
            continue  # it needs its own pyproject.toml
        expected[make(tmp_path)] = contains
    (tmp_path / "good.py").write_text(GOOD_CODE)
    for i in range(20):  # enough files for the process pool to start
        (tmp_path / f"ok{i}.py").write_text("import numpy as np\n")
    try:
        out = run_cli("--debug", "check", "--select", "MSL", ".", "--jobs", "2", "--format", "json", "--no-cache", cwd=tmp_path,
                      prefix=file_modes_binding())
    finally:
        for path in tmp_path.iterdir():  # let pytest remove what the case locked
            if not path.is_symlink():
                path.chmod(0o755)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    errors = {e["path"]: e["message"] for e in json.loads(out.stdout)["errors"]}
    assert errors.keys() == expected.keys()
    for path, contains in expected.items():
        assert contains in errors[path], (path, errors[path])
    assert len(out.stderr.strip().splitlines()) == len(expected)
    assert [f["path"] for f in json.loads(out.stdout)["findings"]] == ["good.py"]


# ---- tables -------------------------------------------------------------------------------------------

def _good_table(tmp: Path) -> None:
    # Two identical feature rows with different labels: MSL601 (duplicates) and MSL602 (conflicting labels).
    pd.DataFrame({"x": [1.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1]}).to_parquet(tmp / "good.parquet")


def _truncated(tmp: Path) -> str:
    table = pa.table({"x": np.arange(1000.0), "y": np.arange(1000) % 2})
    pq.write_table(table, tmp / "whole.parquet")
    data = (tmp / "whole.parquet").read_bytes()
    (tmp / "cut.parquet").write_bytes(data[: len(data) // 2])
    (tmp / "whole.parquet").unlink()
    return "cut.parquet"


def _pickle_as(name: str) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(pickle.dumps({"x": [1.0, 2.0], "y": [0, 1]}))
        return name

    return make


def _missing_target(tmp: Path) -> str:
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_parquet(tmp / "notarget.parquet")
    return "notarget.parquet"


def _empty_dir(tmp: Path) -> str:
    (tmp / "parts").mkdir()
    return "parts"


def _data_fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "stream.csv")
    return "stream.csv"


def _data_loop(tmp: Path) -> str:
    os.symlink("loop.csv", tmp / "loop.csv")
    return "loop.csv"


def _unreadable_table(tmp: Path) -> str:
    (tmp / "locked.csv").write_text("x,y\n1,0\n")
    (tmp / "locked.csv").chmod(0)
    return "locked.csv"


DATA_CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "truncated parquet": (_truncated, "cannot read parquet: Parquet magic bytes not found"),
    "not parquet": (_write("notes.parquet", b"just some text\n" * 20), "cannot read parquet"),
    "ragged CSV": (_write("ragged.csv", b"x,y\n1,0\n2\n3,1,4\n"), "cannot read csv: CSV parse error: Expected 2 columns"),
    "pickle": (_pickle_as("model.pkl"), "refused: pickle-based files"),
    "joblib": (_pickle_as("model.joblib"), "refused: pickle-based files"),
    "pickle named parquet": (_pickle_as("sneaky.parquet"), "refused: pickle-based files"),
    "missing target": (_missing_target, "target column 'y' not found"),
    "empty directory": (_empty_dir, "no data files in directory"),
    "path that does not exist": (lambda tmp: "nowhere.parquet", "no such file or directory"),
    "FIFO named .csv": (_data_fifo, "not a regular file or directory"),
    "symlink loop": (_data_loop, "broken or looping symlink"),
    "unreadable table": (_unreadable_table, "Permission denied"),
}


@pytest.mark.parametrize("command", ["audit", "check"])
def test_hostile_tables_each_one_line_and_the_good_table_audited(tmp_path: Path, command: str) -> None:
    expected = {make(tmp_path): contains for make, contains in DATA_CASES.values()}
    _good_table(tmp_path)
    tables = [*expected, "good.parquet"]
    if command == "audit":
        args = ["audit", *tables]
    else:
        (tmp_path / "good.py").write_text(GOOD_CODE)
        args = ["check", "--select", "MSL", "good.py", *[a for t in tables for a in ("--data", t)]]
    try:
        out = run_cli("--debug", *args, "--target", "y", "--no-confirm", "--format", "json", cwd=tmp_path,
                      prefix=file_modes_binding())
    finally:
        for path in tmp_path.iterdir():
            if not path.is_symlink():
                path.chmod(0o755)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == len(expected), out.stderr
    by_path = {line.split(": ")[2]: line for line in lines}
    for arg, contains in expected.items():
        assert contains in by_path[arg], by_path.get(arg)
    found = {(f["path"], f["rule"]) for f in json.loads(out.stdout)["findings"]}
    assert {("good.parquet", "MSL601"), ("good.parquet", "MSL602")} <= found
    if command == "check":
        assert ("good.py", "MSL102") in found


def test_properties_of_hostile_tables_are_findings(tmp_path: Path) -> None:
    """3,000 columns, an all-NaN column, a column of mixed types, ±inf and huge values: audited, not errors."""
    rng = np.random.default_rng(0)
    columns = {f"c{i}": rng.normal(size=30) for i in range(3000)}
    columns["nothing"] = np.full(30, np.nan)
    columns["y"] = np.arange(30) % 2
    pq.write_table(pa.table(columns), tmp_path / "wide.parquet")
    (tmp_path / "mixed.csv").write_text("a,b,y\n1,1e300,0\nfoo,-inf,1\n2.5,inf,0\n3,2,1\n")
    out = run_cli("--debug", "audit", "wide.parquet", "mixed.csv", "--target", "y", "--no-confirm", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr == "", out.stderr
    assert "wide.parquet: 3001 design columns exceed max-design-columns (1000)" in out.stdout
    assert "wide.parquet:1:1: MSL608" in out.stdout  # the all-NaN column
    assert "mixed.csv:1:1: MSL608" in out.stdout  # the infinities
    assert "'a' (string" in out.stdout  # the mixed column is text, left out of the design


def test_out_of_memory_in_one_table_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-table MemoryError handler of data.audit: the other tables are still audited."""
    from mlstablint.data import audit as audit_module

    _good_table(tmp_path)
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(tmp_path / "huge.parquet")
    real = audit_module.audit_one

    def audit_one(path: Path, options: audit_module.AuditOptions):  # type: ignore[no-untyped-def]
        if path.name == "huge.parquet":
            raise MemoryError
        return real(path, options)

    monkeypatch.setattr(audit_module, "audit_one", audit_one)
    monkeypatch.chdir(tmp_path)
    report = audit_module.audit([Path("huge.parquet"), Path("good.parquet")], audit_module.AuditOptions(target="y"))
    assert [(e.path, e.message) for e in report.errors] == [("huge.parquet", "out of memory while auditing")]
    assert {f.rule for f in report.findings} >= {"MSL601", "MSL602"}


def test_values_near_1e300_are_not_a_false_dependency(tmp_path: Path) -> None:
    """Regression: column norms squared 1e300 to inf, so the auditor reported an exact linear dependency
    ("b ≈ -()") and printed numpy RuntimeWarnings. The equilibrated condition number does not depend on
    column scales: the table with b·1e290 must give numpy's value for the column-normalised [1 | b | c]."""
    b = np.array([1e10, 2.0, 3.0, 4.0, 5.0])
    c = np.array([1.0, 2.0, 1.0, 5.0, 5.0])
    pd.DataFrame({"b": b * 1e290, "c": c, "y": [0, 1, 0, 1, 1]}).to_csv(tmp_path / "huge.csv", index=False)
    out = run_cli("--debug", "audit", "huge.csv", "--target", "y", "--no-confirm", "--format", "json", cwd=tmp_path)
    assert out.stderr == "" and out.returncode == 1, out.stderr
    found = {f["rule"]: f for f in json.loads(out.stdout)["findings"]}
    assert "MSL604" not in found
    design = np.column_stack([np.ones(5), b, c])
    expected = np.linalg.cond(design / np.linalg.norm(design, axis=0))
    assert found["MSL605"]["evidence"]["cond_equilibrated"] == pytest.approx(expected, rel=1e-4)


def test_warnings_about_user_code_stay_off_stderr(tmp_path: Path) -> None:
    """Regression: `ast.parse` warns about invalid escapes ("\\d" in a regex): a DeprecationWarning on 3.11,
    a SyntaxWarning printed by default from 3.12. PYTHONWARNINGS=default shows both on any version."""
    (tmp_path / "regex.py").write_text('import numpy as np\nimport re\np = re.compile("\\d+")\nx = "a"()\n'
                                       "y = np.exp(x) - 1\n")
    out = run_cli("--debug", "check", "--select", "MSL", "regex.py", cwd=tmp_path, env={"PYTHONWARNINGS": "default"})
    assert out.returncode == 1 and out.stderr == "", out.stderr
    assert "regex.py:5:5: MSL102" in out.stdout
