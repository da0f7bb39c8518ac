"""Helpers of the data-auditor tests (tests/test_data_*.py): write a table, audit it through the real reader."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlstablint.data.analyze import Context
from mlstablint.data.audit import AuditOptions, analyse_table, audit
from mlstablint.data.thresholds import Thresholds
from mlstablint.findings import Report

ROOT = Path(__file__).resolve().parent.parent
NIST = ROOT / "tests" / "data" / "nist"  # NIST StRD, kept in the repository (see its README)


def write_table(table: pd.DataFrame | pa.Table, path: Path) -> Path:
    """Write parquet, CSV or Arrow IPC by the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(table, pd.DataFrame):
        if path.suffix == ".csv":
            table.to_csv(path, index=False)
            return path
        table = pa.Table.from_pandas(table, preserve_index=False)
    if path.suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    elif path.suffix in (".arrow", ".feather"):
        import pyarrow.feather as feather

        feather.write_feather(table, path)
    else:
        pq.write_table(table, path)
    return path


def options(**kw: Any) -> AuditOptions:
    thresholds = kw.pop("thresholds", None)
    opts = AuditOptions(**kw)
    if thresholds:
        opts.thresholds = Thresholds().with_overrides(thresholds)
    return opts


def run_audit(table: pd.DataFrame | pa.Table, tmp: Path, name: str = "train.parquet", **kw: Any) -> Report:
    return audit([write_table(table, tmp / name)], options(**kw))


def analyse(table: pd.DataFrame | pa.Table, tmp: Path, name: str = "train.parquet", **kw: Any) -> Context:
    return analyse_table(write_table(table, tmp / name), options(**kw))


def by_rule(report: Report) -> dict[str, Any]:
    out = {f.rule: f for f in report.findings}
    assert len(out) == len(report.findings), "one finding per rule and table"
    return out


def close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Recursive equality of JSON-like values, floats to a relative tolerance."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)
    return bool(a == b)
