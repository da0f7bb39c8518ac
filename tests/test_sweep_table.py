"""Reading --data for the lab: a bounded, seeded sample that does not depend on the batch size; numeric
columns only; clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlstablint.sweep import table
from mlstablint.sweep.table import TableError, read_table


@pytest.fixture()
def parquet(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 5000
    x = rng.normal(size=n)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "row": np.arange(n, dtype=np.int64),
        "x": x,
        "flag": rng.random(n) < 0.5,
        "mostly_null": pa.array([1.0 if i % 10 == 0 else None for i in range(n)]),
        "name": [f"n{i}" for i in range(n)],
        "y": (x > 0).astype(np.int8),
    }), path, row_group_size=700)
    return path


def test_sample_is_bounded_seeded_and_independent_of_batching(parquet: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    a = read_table(parquet, "y", "logistic_regression", seed=1, max_rows=800)
    monkeypatch.setattr(table, "BATCH_ROWS", 97)
    b = read_table(parquet, "y", "logistic_regression", seed=1, max_rows=800)
    c = read_table(parquet, "y", "logistic_regression", seed=2, max_rows=800)
    assert a.X.shape == (800, 3) and a.features == ("row", "x", "flag")
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    rows = a.X[:, 0]
    assert np.all(np.diff(rows) > 0)  # the sample keeps the table's order
    assert rows.min() < 500 and rows.max() > 4500  # ... and spans all of it
    assert a.classes == ("0", "1")
    assert "sampled 800 of 5000 rows (seed 1)" in a.notes
    assert any(note.startswith("ignored 1 non-numeric column(s): name") for note in a.notes)
    assert any(note.startswith("dropped 1 mostly missing column(s): mostly_null") for note in a.notes)


def test_targets_per_task(parquet: Path) -> None:
    assert read_table(parquet, "x", "linear_regression").y.dtype == np.float64
    with pytest.raises(TableError, match="linear_regression needs a number"):
        read_table(parquet, "name", "linear_regression")
    with pytest.raises(TableError, match="softmax_regression needs 2 to 50 classes"):
        read_table(parquet, "name", "softmax_regression")
    with pytest.raises(TableError, match="no target column 'nope'"):
        read_table(parquet, "nope", "logistic_regression")


def test_empty_and_non_numeric_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"x": pa.array([], pa.float64()), "y": pa.array([], pa.int64())}), empty)
    with pytest.raises(TableError, match="no rows"):
        read_table(empty, "y", "logistic_regression")
    text = tmp_path / "text.csv"
    text.write_text("a,y\nu,1\nv,0\n", encoding="utf-8")
    with pytest.raises(TableError, match="no numeric feature columns"):
        read_table(text, "y", "logistic_regression")
