"""Streaming equals whole-table: the same findings and figures whatever the batch size (one-row
batches included), partials merged in any grouping equal one pass, TSQR's R has X's singular
values, and nothing but the row hashes grows with the number of rows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlstablint.data.partials import Options, Partial, RFactor, make_layout
from mlstablint.report.json_report import render_json
from tests.data_support import ROOT, close, run_audit, write_table

sys.path.insert(0, str(ROOT / "fixtures" / "exploding_infinities"))
import make_data as incident

sys.path.pop(0)


def small_table() -> pd.DataFrame:
    """Every kind of finding on a table small enough for one-row batches."""
    rng = np.random.default_rng(7)
    n = 120
    df = pd.DataFrame({
        "amount": rng.uniform(1e5, 1e6, n).round(2),
        "rate": rng.gamma(2.0, 5e-4, n).round(6),
        "g_a": 0, "g_b": 0, "g_c": 0,
        "zero": 0.0,
        "x": rng.normal(size=n),
        "txt": rng.choice(["u", "v"], n),
    })
    level = rng.choice(3, n, p=[0.6, 0.37, 0.03])
    for k, col in enumerate(["g_a", "g_b", "g_c"]):
        df[col] = (level == k).astype(int)
    df.loc[5, "x"] = np.nan
    df["x2"] = 2 * df["x"] - df["rate"]
    df = pd.concat([df, df.iloc[:30]], ignore_index=True)
    df["y"] = rng.integers(0, 2, len(df))
    return df


def evidence_by_rule(report) -> dict[str, dict]:
    return {f.rule: json.loads(json.dumps(f.evidence)) for f in report.findings}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "arrow"])
def test_batch_size_does_not_change_findings(tmp_path: Path, fmt: str) -> None:
    df = small_table()
    reports = {b: run_audit(df, tmp_path, f"t.{fmt}", target="y", batch_size=b) for b in (1, 7, 1000)}
    rules = {b: sorted(f.rule for f in r.findings) for b, r in reports.items()}
    assert rules[1] == rules[7] == rules[1000]
    assert {"MSL601", "MSL602", "MSL603", "MSL604", "MSL605", "MSL606", "MSL607", "MSL608", "MSL609",
            "MSL610"} <= set(rules[1])
    base = evidence_by_rule(reports[1000])
    for b in (1, 7):
        other = evidence_by_rule(reports[b])
        for rule in base:
            assert close(base[rule], other[rule], rel=1e-4), (b, rule, base[rule], other[rule])
        assert [f.message for f in reports[b].findings] == [f.message for f in reports[1000].findings]


def test_incident_table_batches(tmp_path: Path) -> None:
    table = incident.make_table(3000, 1)
    reports = [run_audit(table, tmp_path, target="y", batch_size=b) for b in (97, 1000, 1 << 16)]
    base = evidence_by_rule(reports[-1])
    for report in reports[:-1]:
        other = evidence_by_rule(report)
        assert base.keys() == other.keys()
        for rule in base:
            assert close(base[rule], other[rule], rel=1e-4), rule


def test_json_is_deterministic(tmp_path: Path) -> None:
    df = small_table()
    outputs = {render_json(run_audit(df, tmp_path, target="y")) for _ in range(2)}
    assert len(outputs) == 1


def _partials(table: pa.Table, sizes: list[int]) -> list[Partial]:
    layout = make_layout(table.schema, "y", None)
    out, start = [], 0
    for size in sizes:
        p = Partial(layout, Options(sample_rows=50))
        for batch in table.slice(start, size).to_batches(max_chunksize=max(1, size // 3 or 1)):
            p.update(batch)
        out.append(p)
        start += size
    return out


def test_merge_in_any_grouping_equals_one_pass() -> None:
    table = pa.Table.from_pandas(small_table(), preserve_index=False)
    (whole,) = _partials(table, [table.num_rows])
    parts = _partials(table, [40, 1, 59, 50])
    left = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    parts = _partials(table, [40, 1, 59, 50])
    tree = parts[3].merge(parts[2]).merge(parts[1].merge(parts[0]))
    for merged in (left, tree):
        assert merged.rows == whole.rows
        np.testing.assert_array_equal(merged.count, whole.count)
        np.testing.assert_allclose(merged.mean, whole.mean, rtol=1e-12)
        np.testing.assert_allclose(merged.m2, whole.m2, rtol=1e-10)
        np.testing.assert_array_equal(merged.min, whole.min)
        np.testing.assert_allclose(merged.gram, whole.gram, rtol=1e-12)
        assert sorted(merged.hashes()) == sorted(whole.hashes())
        assert merged.class_counts == whole.class_counts
        np.testing.assert_array_equal(np.sort(merged.sample_keys), np.sort(whole.sample_keys))


def test_tsqr_r_has_the_singular_values_of_x() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 12)) * np.logspace(-4, 5, 12)
    x[:, 3] = x[:, 1] + 1e-9 * x[:, 2]
    acc = RFactor(12)
    for start in range(0, 5000, 333):
        acc.add(x[start:start + 333])
    other = RFactor(12)
    other.add(x[:10])
    s_x = np.linalg.svd(x, compute_uv=False)
    s_r = np.linalg.svd(acc.result(), compute_uv=False)
    assert np.all(np.abs(s_r - s_x) <= 1e-10 * s_x[0])  # backward stable: absolute accuracy ~eps·σmax
    assert acc.rows == 5000


def state_bytes(p: Partial) -> int:
    """Bytes held by a partial, the row-hash arrays excepted."""
    total = 0
    for name, value in vars(p).items():
        if name in ("feature_hashes", "target_keys"):
            continue
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, list):
            total += sum(v.nbytes for v in value if isinstance(v, np.ndarray))
    return total


def test_memory_does_not_grow_with_rows_beyond_the_hashes() -> None:
    sizes = {}
    for rows in (1000, 20000):
        table = incident.make_table(rows, 0)
        layout = make_layout(table.schema, "y", None)
        p = Partial(layout, Options())
        for batch in table.to_batches(max_chunksize=4096):
            p.update(batch)
        sizes[rows] = (state_bytes(p), p.hashes().nbytes + p.targets().nbytes)
    assert sizes[1000][0] == sizes[20000][0]
    assert sizes[20000][1] == 16 * 20000  # 8 bytes of feature hash and 8 of target key a row


def test_directory_of_parts_equals_one_file(tmp_path: Path) -> None:
    df = small_table()
    single = run_audit(df, tmp_path, "one.parquet", target="y")
    parts = tmp_path / "parts"
    for i, start in enumerate(range(0, len(df), 50)):
        write_table(df.iloc[start:start + 50], parts / f"part-{i:03d}.parquet")
    from mlstablint.data.audit import audit
    from tests.data_support import options

    split = audit([parts], options(target="y"))
    a, b = evidence_by_rule(single), evidence_by_rule(split)
    assert a.keys() == b.keys() and all(close(a[r], b[r], rel=1e-4) for r in a)
