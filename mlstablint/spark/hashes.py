"""Duplicate, conflict and overlap counts on the executors, from the local engine's row hashes.

Pass 1 (`engine`) computes each row's feature hash with the local engine's own code
(`partials.row_hashes`, inside `Partial.update`) and, with a target, the local engine's target key;
they leave the Python workers as one row per data row (`take_keys`), next to the partition's partial
(`blob_row`). `row_counts` shuffles them by feature hash, so that every duplicate group lies whole in
one partition, and counts each partition with the local engine's own function (`analyze.count_rows`);
the driver adds the per-partition counts. `overlap_counts` is a Spark semi-join. The hash values are
the local engine's, so the counts are too, and no row hash ever reaches the driver. Row identity: design
columns compared as float64 with every NaN and null one value and -0.0 equal to 0.0; other feature
columns compared by value, null being a value of its own. Two distinct rows share a 64-bit hash with
probability about n²/2⁶⁵ (3e-8 for a million rows, 3 % for a billion, when one pair would be counted
as a duplicate), on both engines alike. Spark has no unsigned 64-bit type: the hashes travel as the
same bits in a signed `bigint`, which groups and joins the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from mlstablint.data.analyze import OverlapCounts, RowCounts, count_rows, merge_counts
from mlstablint.data.partials import Layout, Partial

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_COUNT_FIELDS = ("rows", "distinct", "duplicate_groups", "largest_group", "conflicting_groups", "conflicting_rows",
                 "best_correct", "finite_targets")
# One partition's counts as a row: in Spark's words, and as the Arrow fields the executors write.
COUNT_SCHEMA = ", ".join(f"{name} bigint" for name in _COUNT_FIELDS) + (
    ", ss_within double, within_dof double, sizes array<bigint>, groups array<bigint>")


def count_fields() -> list[pa.Field]:
    return [*(pa.field(name, pa.int64()) for name in _COUNT_FIELDS), pa.field("ss_within", pa.float64()),
            pa.field("within_dof", pa.float64()), pa.field("sizes", pa.list_(pa.int64())),
            pa.field("groups", pa.list_(pa.int64()))]


def key_schema(layout: Layout) -> str:
    """Pass 1's output: `blob` (one partition's partial) on one row per partition, null on the others, which
    carry a data row's feature hash `h` and, with a target, its target key `k` (a numeric target's float64
    bits, NaN for missing: `partials.float_keys`)."""
    return "blob binary, h bigint" + (", k bigint" if layout.target is not None else "")


def take_keys(partial: Partial) -> pa.RecordBatch:
    """The row hashes and target keys `partial` has collected since the last call, as pass 1's rows; the
    partial keeps none of them (nor sends them to the driver)."""
    layout = partial.layout
    fh, tk = partial.hashes(), partial.targets()
    partial.feature_hashes, partial.target_keys = [], []
    columns: dict[str, pa.Array] = {"blob": pa.nulls(fh.size, pa.binary()), "h": pa.array(fh.view(np.int64))}
    if layout.target is not None:
        columns["k"] = pa.array(tk.view(np.int64))
    return pa.RecordBatch.from_pydict(columns)


def blob_row(layout: Layout, blob: bytes, spread: int) -> pa.RecordBatch:
    """Pass 1's row that carries a partition's encoded partial; its `h` is `spread`, so that shuffled by `h` the
    partials of many partitions go to as many different places as there are values of `spread`."""
    names = [f.split()[0] for f in key_schema(layout).split(", ")[1:]]
    return pa.RecordBatch.from_pydict({"blob": pa.array([blob], type=pa.binary()),
                                       "h": pa.array([spread], type=pa.int64()),
                                       **{name: pa.nulls(1, pa.int64()) for name in names if name != "h"}})


def keys(out: DataFrame) -> DataFrame:
    """The data rows' keys in pass 1's (persisted) output."""
    from pyspark.sql import functions as F

    return out.where(F.col("blob").isNull()).drop("blob")


def count_row(layout: Layout, hashes: list[np.ndarray], keys: list[np.ndarray]) -> dict[str, list[object]]:
    """The counts of one partition's data rows, which hold whole duplicate groups (shuffled by feature hash), as
    the columns of one row of COUNT_SCHEMA."""
    fh = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
    tk = (np.concatenate(keys) if keys else np.empty(0, dtype=np.uint64)) if layout.target is not None else None
    counts = count_rows(fh, tk, layout.target_numeric, complete=True)
    row: dict[str, list[object]] = {name: [getattr(counts, name)] for name in _COUNT_FIELDS}
    row["ss_within"], row["within_dof"] = [counts.ss_within], [counts.within_dof]
    row["sizes"] = [[size for size, _ in counts.group_sizes]]
    row["groups"] = [[groups for _, groups in counts.group_sizes]]
    return row


def total_counts(rows: list[Any]) -> RowCounts:
    """The table's counts: the per-partition rows of COUNT_SCHEMA (collected Spark rows) added up."""
    total = RowCounts(rows=0, distinct=0, duplicate_groups=0, largest_group=0, ss_within=0.0)
    for row in rows:
        part = RowCounts(**{name: int(row[name]) for name in _COUNT_FIELDS}, ss_within=float(row["ss_within"]),
                         within_dof=float(row["within_dof"]),
                         group_sizes=tuple(zip(map(int, row["sizes"]), map(int, row["groups"]), strict=True)))
        total = merge_counts(total, part)
    return total


def overlap_counts(train: DataFrame, test: DataFrame, test_rows: int) -> OverlapCounts:
    """Test rows whose feature hash occurs in the training table: a semi-join of the two tables' keys."""
    from pyspark.sql import functions as F

    inside = test.select("h").join(train.select("h").distinct(), "h", "left_semi").agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct("h").alias("distinct")).collect()[0]
    return OverlapCounts(test_rows=test_rows, overlapping_rows=int(inside["n"]),
                         distinct_overlapping=int(inside["distinct"]))
