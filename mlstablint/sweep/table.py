"""Read a user's table for the lab: numeric columns only, a bounded seeded row sample, a required target.

The table is streamed in record batches by the data auditor's reader (parquet, CSV, Arrow IPC/Feather;
pickle-based formats refused), and a uniform sample of at most `MAX_ROWS` rows is kept while reading:
every row gets a seeded random key and the rows with the smallest keys survive, so memory stays bounded
by the sample and the result does not depend on how the file is split into batches. Feature columns
are the numeric (integer, floating, boolean, decimal) columns other than the target; other columns are
ignored and named in a note. Columns that are mostly missing are dropped; then rows with a missing or
non-finite value are dropped (both noted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlstablint.sweep.lab import Problem

MAX_ROWS = 20_000  # rows sampled from the table
MAX_CLASSES = 50  # softmax_regression refuses targets with more distinct values
MIN_ROWS = 10  # fewer usable rows than this is an error
# A feature column with less than this share of finite values is dropped rather than dropping its rows.
MIN_FINITE_SHARE = 0.5
BATCH_ROWS = 1 << 16


class TableError(Exception):
    """A one-line reason why the table cannot be swept."""


def _is_numeric(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
                or pa.types.is_decimal(t))


def _to_float(column: Any) -> npt.NDArray[np.float64]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type) or pa.types.is_decimal(column.type) or pa.types.is_integer(column.type):
        column = pc.cast(column, pa.float64())
    arr = column.to_numpy(zero_copy_only=False)
    return np.asarray(arr, dtype=np.float64)  # nulls become NaN


def read_table(path: Path, target: str, task: str, seed: int = 0, max_rows: int = MAX_ROWS) -> Problem:
    """The lab's problem from a table file: a seeded sample of ≤ max_rows rows, numeric features, the target."""
    from mlstablint.data.read import ColumnRetype, DataError, open_source

    column_types: dict[str, Any] = {}
    for _ in range(64):  # a CSV column that changes type later in the file is re-read with a wider type
        try:
            source = open_source(path, column_types)
            return _sample(source, target, task, seed, max_rows)
        except ColumnRetype as retype:
            column_types[retype.column] = retype.new_type
        except DataError as exc:
            raise TableError(f"{path}: {exc}") from None
    raise TableError(f"{path}: cannot settle the column types of this CSV file")


def _sample(source: Any, target: str, task: str, seed: int, max_rows: int) -> Problem:
    schema = source.schema
    names = list(schema.names)
    if target not in names:
        shown = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        raise TableError(f"{source.display}: no target column {target!r} (columns: {shown})")
    target_type = schema.field(target).type
    if task == "linear_regression" and not _is_numeric(target_type):
        raise TableError(f"{source.display}: target {target!r} is {target_type}, linear_regression needs a number")
    features = [n for n in names if n != target and _is_numeric(schema.field(n).type)]
    ignored = [n for n in names if n != target and n not in features]
    if not features:
        raise TableError(f"{source.display}: no numeric feature columns besides the target {target!r}")

    import pyarrow as pa

    rng = np.random.default_rng(seed)
    numeric_target = _is_numeric(target_type)
    kept_x = np.empty((0, len(features)))
    kept_y: npt.NDArray[Any] = np.empty(0, dtype=np.float64 if numeric_target else object)
    kept_key = np.empty(0)
    kept_row = np.empty(0, dtype=np.int64)
    total = 0
    for batch in source.batches([*features, target], BATCH_ROWS):
        n = batch.num_rows
        keys = rng.random(n)
        rows = np.arange(total, total + n)
        total += n
        if len(kept_key) >= max_rows:  # only rows that beat the current sample's largest key can enter
            threshold = np.partition(kept_key, max_rows - 1)[max_rows - 1]
            admit = np.flatnonzero(keys < threshold)
            if admit.size == 0:
                continue
            batch, keys, rows = batch.take(pa.array(admit)), keys[admit], rows[admit]
        x = np.column_stack([_to_float(batch.column(i)) for i in range(len(features))])
        ycol = batch.column(len(features))
        y = _to_float(ycol) if numeric_target else np.asarray(ycol.to_pylist(), dtype=object)
        kept_x = np.concatenate([kept_x, x])
        kept_y = np.concatenate([kept_y, y])
        kept_key = np.concatenate([kept_key, keys])
        kept_row = np.concatenate([kept_row, rows])
        if len(kept_key) > max_rows:
            best = np.argpartition(kept_key, max_rows - 1)[:max_rows]
            kept_x, kept_y, kept_key, kept_row = kept_x[best], kept_y[best], kept_key[best], kept_row[best]
    if total == 0:
        raise TableError(f"{source.display}: the table has no rows")
    order = np.argsort(kept_row, kind="stable")
    X, y_raw = kept_x[order], kept_y[order]
    notes = []
    if total > len(X):
        notes.append(f"sampled {len(X)} of {total} rows (seed {seed})")
    if ignored:
        notes.append(f"ignored {len(ignored)} non-numeric column(s): {', '.join(ignored[:5])}"
                     + (", …" if len(ignored) > 5 else ""))

    finite_share = np.isfinite(X).mean(axis=0) if len(X) else np.zeros(len(features))
    keep_cols = finite_share >= MIN_FINITE_SHARE
    if not np.all(keep_cols):
        dropped = [f for f, k in zip(features, keep_cols, strict=True) if not k]
        notes.append(f"dropped {len(dropped)} mostly missing column(s): {', '.join(dropped[:5])}"
                     + (", …" if len(dropped) > 5 else ""))
        features = [f for f, k in zip(features, keep_cols, strict=True) if k]
        X = X[:, keep_cols]
        if not features:
            raise TableError(f"{source.display}: every numeric feature column is mostly missing or non-finite")
    if numeric_target:
        y_missing = ~np.isfinite(y_raw.astype(np.float64))
    else:
        y_missing = np.array([v is None for v in y_raw], dtype=bool)
    good = np.all(np.isfinite(X), axis=1) & ~y_missing
    if not np.all(good):
        notes.append(f"dropped {int(np.count_nonzero(~good))} row(s) with a missing or non-finite value")
        X, y_raw = X[good], y_raw[good]
    if len(X) < MIN_ROWS:
        raise TableError(f"{source.display}: only {len(X)} usable rows (at least {MIN_ROWS} are needed)")

    classes: tuple[str, ...] = ()
    if task == "linear_regression":
        target_values: npt.NDArray[Any] = y_raw.astype(np.float64)
    else:
        labels = sorted({_label(v) for v in y_raw}, key=_label_order)
        if task == "logistic_regression" and len(labels) != 2:
            raise TableError(f"{source.display}: logistic_regression needs a target with 2 distinct values, "
                             f"{target!r} has {len(labels)}")
        if task == "softmax_regression" and not 2 <= len(labels) <= MAX_CLASSES:
            raise TableError(f"{source.display}: softmax_regression needs 2 to {MAX_CLASSES} classes, "
                             f"{target!r} has {len(labels)}")
        index = {label: i for i, label in enumerate(labels)}
        target_values = np.array([index[_label(v)] for v in y_raw], dtype=np.intp)
        classes = tuple(labels)
    return Problem(task, np.ascontiguousarray(X), target_values, tuple(features), classes, source.display, tuple(notes))


def _label_order(label: str) -> tuple[int, float, str]:
    """Numeric labels in numeric order (2 before 10), then the others as text."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _label(value: Any) -> str:
    """A class label as text: 1.0 and 1 are the same class."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
