"""Duplicate, conflict and overlap counts by Spark itself, on the local engine's row hashes.

Pass 1 (`engine`) computes each row's feature hash with the local engine's own code
(`partials.row_hashes`, inside `Partial.update`) and, with a target, the local engine's target key;
they leave the Python workers as one row per data row (`take_keys`), next to the partition's partial
(`blob_row`), and Spark aggregates them (`row_counts`, `overlap_counts`): the hash values are the
local engine's, so the counts are too, and no row hash ever reaches the driver. Row identity: design
columns compared as float64 with every NaN and null one value and -0.0 equal to 0.0; other feature
columns compared by value, null being a value of its own. Two distinct rows share a 64-bit hash with
probability about n²/2⁶⁵ (3e-8 for a million rows, 3 % for a billion, when one pair would be counted
as a duplicate), on both engines alike. Spark has no unsigned 64-bit type: the hashes travel as the
same bits in a signed `bigint`, which groups and joins the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from mlstablint.data.analyze import OverlapCounts, RowCounts
from mlstablint.data.partials import Layout, Partial

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def column(name: str) -> Column:
    """A column by its name as it is: dots and backticks in a name are not struct paths or quoting."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def columns(df: DataFrame, names: list[str] | tuple[str, ...]) -> DataFrame:
    """The named columns, renamed `_0`, `_1`...: `mapInArrow` cannot resolve a name with a dot in it
    (pyspark 4.3). The executors put the names back with `renamed`."""
    return df.select(*[column(n).alias(f"_{i}") for i, n in enumerate(names)])


def renamed(batches: Iterator[pa.RecordBatch], names: list[str] | tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield batch.rename_columns(list(names))


def key_schema(layout: Layout) -> str:
    """Pass 1's output: `blob` (one partition's partial) on one row per partition, null on the others, which
    carry a data row's feature hash `h`, its target key `k` (with a target) and, for a numeric target, the
    finite target value `v` (null when missing or infinite)."""
    fields = ["blob binary", "h bigint"]
    if layout.target is not None:
        fields.append("k bigint")
        if layout.target_numeric:
            fields.append("v double")
    return ", ".join(fields)


def take_keys(partial: Partial) -> pa.RecordBatch:
    """The row hashes and target keys `partial` has collected since the last call, as pass 1's rows; the
    partial keeps none of them (nor sends them to the driver)."""
    layout = partial.layout
    fh, tk = partial.hashes(), partial.targets()
    partial.feature_hashes, partial.target_keys = [], []
    columns: dict[str, pa.Array] = {"blob": pa.nulls(fh.size, pa.binary()), "h": pa.array(fh.view(np.int64))}
    if layout.target is not None:
        columns["k"] = pa.array(tk.view(np.int64))
        if layout.target_numeric:
            y = tk.view(np.float64)  # the target as float64, NaN for missing (partials.float_keys)
            columns["v"] = pa.array(y, mask=~np.isfinite(y))
    return pa.RecordBatch.from_pydict(columns)


def blob_row(layout: Layout, blob: bytes) -> pa.RecordBatch:
    """Pass 1's row that carries a partition's encoded partial."""
    types = {"h": pa.int64(), "k": pa.int64(), "v": pa.float64()}
    names = [f.split()[0] for f in key_schema(layout).split(", ")[1:]]
    return pa.RecordBatch.from_pydict({"blob": pa.array([blob], type=pa.binary()),
                                       **{name: pa.nulls(1, types[name]) for name in names}})


def keys(out: DataFrame) -> DataFrame:
    """The data rows' keys in pass 1's (persisted) output."""
    from pyspark.sql import functions as F

    return out.where(F.col("blob").isNull()).drop("blob")


def row_counts(keys: DataFrame, layout: Layout, floor: bool) -> RowCounts:
    """The counts `analyze.duplicates` needs: groupBy on the feature hash (and on hash + target key); with
    `floor`, a numeric target's within-group spread too (what its regression floor needs)."""
    from pyspark.sql import functions as F

    one = F.lit(1)
    if layout.target is None:
        groups = keys.groupBy("h").agg(F.count(one).alias("n"), F.lit(1).alias("labels"), F.count(one).alias("best"))
        return _group_counts(groups)
    groups = keys.groupBy("h", "k").count().groupBy("h").agg(
        F.sum("count").alias("n"), F.count(one).alias("labels"), F.max("count").alias("best"))
    counts = _group_counts(groups)
    if not (floor and layout.target_numeric and counts.conflicting_groups):
        return counts
    # A numeric target's floor: squared deviations from each duplicate group's mean of its finite targets.
    per_group = keys.groupBy("h").agg(F.count("v").alias("c"), F.var_pop("v").alias("var"))
    spread = per_group.agg(
        F.sum(F.when(F.col("c") >= 2, F.col("var") * F.col("c"))).alias("ss"),
        F.sum(F.when(F.col("c") >= 2, F.col("c") - 1)).alias("dof"), F.sum("c").alias("finite")).collect()[0]
    return replace(counts, ss_within=float(spread["ss"] or 0.0), within_dof=float(spread["dof"] or 0),
                   finite_targets=int(spread["finite"] or 0))


def _group_counts(groups: DataFrame) -> RowCounts:
    """RowCounts from one row per feature hash: its rows `n`, distinct targets `labels`, commonest `best`."""
    from pyspark.sql import functions as F

    conflicting = F.col("labels") > 1
    row = groups.agg(
        F.count(F.lit(1)).alias("distinct"), F.sum("n").alias("rows"),
        F.count(F.when(F.col("n") > 1, 1)).alias("dup"), F.max("n").alias("largest"),
        F.count(F.when(conflicting, 1)).alias("conflicting"),
        F.sum(F.when(conflicting, F.col("n"))).alias("conflicting_rows"), F.sum("best").alias("best"),
    ).collect()[0]
    return RowCounts(rows=int(row["rows"] or 0), distinct=int(row["distinct"]), duplicate_groups=int(row["dup"]),
                     largest_group=int(row["largest"] or 0), conflicting_groups=int(row["conflicting"]),
                     conflicting_rows=int(row["conflicting_rows"] or 0), best_correct=int(row["best"] or 0))


def overlap_counts(train: DataFrame, test: DataFrame, test_rows: int) -> OverlapCounts:
    """Test rows whose feature hash occurs in the training table: a semi-join of the two tables' keys."""
    from pyspark.sql import functions as F

    inside = test.select("h").join(train.select("h").distinct(), "h", "left_semi").agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct("h").alias("distinct")).collect()[0]
    return OverlapCounts(test_rows=test_rows, overlapping_rows=int(inside["n"]),
                         distinct_overlapping=int(inside["distinct"]))
