"""Fuzzing the data auditor: generated tables never crash it, and streaming does not change its answer.

Tables mix dtypes (floats with NaN/±inf, huge and tiny magnitudes, integers, booleans, text), are empty,
one row or one column, and have unicode and duplicate-looking column names. Each is written as parquet,
CSV or Arrow IPC and audited through the real reader with batches of 1, 3 and 65,536 rows: the JSON
reports must be byte-identical (statistics are summed over blocks fixed by row offset, not by batch). Examples per test: see tests/fuzz_support.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlstablint.data.audit import AuditOptions, audit
from mlstablint.findings import Report
from mlstablint.report import render
from tests.conftest import run_cli
from tests.fuzz_support import fuzz_settings

SPECIAL = [0.0, -0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 5e-324, 1e38, 3.4e38, 88.8, 710.0]
FLOATS = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True),
                   st.floats(-1e3, 1e3), st.integers(-3, 3).map(float))
NAMES = st.one_of(
    st.sampled_from(["x", "x ", "X", " x", "x.1", "x_1", "y", "é", "e\u0301", "Ω", "列", "🙂", "a,b", 'q"', "",
                     "__index_level_0__", "nan", "1"]),
    st.text(min_size=1, max_size=8),
)
KINDS = ["float64", "float32", "int64", "int8", "bool", "string", "onehot", "constant", "allnan"]


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, str | None]:
    rows = draw(st.sampled_from([0, 1, 2, 3, 7, 20]))
    width = draw(st.integers(1, 6))
    names = draw(st.lists(NAMES, min_size=width, max_size=width, unique=True))
    columns: dict[str, pa.Array] = {}
    for name in names:
        kind = draw(st.sampled_from(KINDS))
        if kind in ("float64", "float32"):
            values = draw(st.lists(FLOATS, min_size=rows, max_size=rows))
            with np.errstate(over="ignore"):
                array = np.array(values, dtype=kind)
            mask = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
            columns[name] = pa.array(array, mask=np.array(mask, dtype=bool) if any(mask) else None)
        elif kind in ("int64", "int8"):
            bound = 2**62 if kind == "int64" else 127
            columns[name] = pa.array(draw(st.lists(st.one_of(st.integers(-bound, bound), st.none()),
                                                   min_size=rows, max_size=rows)), type=getattr(pa, kind)())
        elif kind == "bool":
            columns[name] = pa.array(draw(st.lists(st.one_of(st.booleans(), st.none()), min_size=rows, max_size=rows)),
                                     type=pa.bool_())
        elif kind == "string":
            columns[name] = pa.array(draw(st.lists(st.one_of(st.text(max_size=5), st.none()), min_size=rows,
                                                   max_size=rows)), type=pa.string())
        elif kind == "onehot":
            columns[name] = pa.array(draw(st.lists(st.integers(0, 1), min_size=rows, max_size=rows)), type=pa.int64())
        elif kind == "constant":
            columns[name] = pa.array([draw(FLOATS)] * rows, type=pa.float64())
        else:
            columns[name] = pa.array([None] * rows, type=pa.float64())
    target = draw(st.one_of(st.none(), st.sampled_from(names)))
    return pa.table(columns), target


def _write(table: pa.Table, folder: Path, fmt: str) -> Path:
    path = folder / f"t.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=4)  # several row groups even for small tables
    elif fmt == "arrow":
        feather.write_feather(table, path, chunksize=5)
    else:
        pacsv.write_csv(table, path)
    return path


def _audit_json(path: Path, target: str | None, batch_size: int) -> tuple[Report, str]:
    report = audit([path], AuditOptions(target=target, batch_size=batch_size))
    return report, render(report, "json")


def _one_line_errors(report: Report) -> None:
    for error in report.errors:
        assert error.message and "\n" not in error.message, error


@fuzz_settings(80)
@given(case=tables(), fmt=st.sampled_from(["parquet", "csv", "arrow"]))
def test_generated_tables_never_crash_and_streaming_is_exact(case: tuple[pa.Table, str | None], fmt: str) -> None:
    table, target = case
    with tempfile.TemporaryDirectory() as folder:
        path = _write(table, Path(folder), fmt)
        results = [_audit_json(path, target, batch) for batch in (1 << 16, 3, 1)]
    whole_report, whole = results[0]
    _one_line_errors(whole_report)
    json.loads(whole)
    for _report, streamed in results[1:]:
        assert streamed == whole


@fuzz_settings(4, per_process=True)
@given(case=tables())
def test_generated_tables_through_the_command_line(tmp_path_factory: pytest.TempPathFactory,
                                                   case: tuple[pa.Table, str | None]) -> None:
    table, target = case
    folder = tmp_path_factory.mktemp("fuzzdata")
    _write(table, folder, "parquet")
    args: list[Any] = ["--debug", "audit", "t.parquet", "--format", "json", "--sweep-budget", "2"]
    if target is not None:
        args += ["--target", target]
    out = run_cli(*args, cwd=folder)
    assert out.returncode in (0, 1, 2) and "Traceback" not in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == len(json.loads(out.stdout)["errors"]), out.stderr
